//! Storage errors. A refused write names the business rule it broke: each
//! [`Rule`] has a stable code and a Chinese message (one table, here), so an
//! API client can tell a weak password from a task that is already signed
//! off without reading free text.

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot connect to database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("{entity} {key} not found")]
    NotFound { entity: &'static str, key: String },
    #[error("{entity} {key} already exists")]
    Conflict { entity: &'static str, key: String },
    /// A write refused by a business rule; `detail` says what, in Chinese.
    #[error("{detail}")]
    Rule { rule: Rule, detail: String },
    /// Stored data that cannot be read back (a defect or tampering, never
    /// the user's input).
    #[error("stored data unreadable: {0}")]
    Corrupt(String),
    #[error("filesystem error: {0}")]
    Io(#[from] std::io::Error),
}

/// The business rules a write can break. Codes never change once published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A name, note or other text is too long or has control characters.
    Text,
    /// A monitoring site, its factors, limits or data logger.
    Site,
    /// An organisation's name or kind.
    Organisation,
    /// A user name or role.
    Account,
    /// The password policy.
    Password,
    /// A user's role does not match the kind of their organisation.
    RoleOrganisation,
    /// The task or assignment is not in a state that allows this.
    TaskState,
    /// A progress report was already reviewed, or a return lacks a comment.
    Review,
    /// A progress report is empty or its indicator values are wrong.
    Progress,
    /// An attachment's record is inconsistent.
    Attachment,
    /// A 交办 (ad-hoc task): its deadline, organisations or a change to it.
    Assignment,
    /// A 问责 record (约谈、通报、问责): its month, reason or a void of it.
    Accountability,
    /// A fire point (place, township, kind), or a void of one.
    FirePoint,
    /// The same township, day and place is already in the fire-point ledger.
    FirePointDuplicate,
    /// A report month is not `YYYY-MM`.
    ReportMonth,
    /// A published report's 期数 or 文号 is not one short line.
    ReportNumber,
    /// The plan being loaded refers to something it does not define.
    Plan,
    /// The campaign's state (草稿/执行中/已结束) does not allow this.
    CampaignState,
    /// An alarm rule set (a code, a threshold, a case deadline).
    AlarmRules,
    /// A 督办 case's fields (title, organisation, deadline, note).
    Case,
    /// The case's state does not allow this action, or the user may not take it.
    CaseState,
    /// A notification channel's settings or a user's address for it.
    Notify,
    /// The emergency reduction list or a warning (issue 15).
    Emergency,
    /// The database URL, backup target or other operator setting.
    Setup,
}

impl Rule {
    pub const ALL: [Rule; 24] = [
        Rule::Text,
        Rule::Site,
        Rule::Organisation,
        Rule::Account,
        Rule::Password,
        Rule::RoleOrganisation,
        Rule::TaskState,
        Rule::Review,
        Rule::Progress,
        Rule::Attachment,
        Rule::Assignment,
        Rule::Accountability,
        Rule::FirePoint,
        Rule::FirePointDuplicate,
        Rule::ReportMonth,
        Rule::ReportNumber,
        Rule::Plan,
        Rule::CampaignState,
        Rule::AlarmRules,
        Rule::Case,
        Rule::CaseState,
        Rule::Notify,
        Rule::Emergency,
        Rule::Setup,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Rule::Text => "E2001",
            Rule::Site => "E2101",
            Rule::Organisation => "E2201",
            Rule::Account => "E2301",
            Rule::Password => "E2302",
            Rule::RoleOrganisation => "E2303",
            Rule::TaskState => "E2401",
            Rule::Review => "E2402",
            Rule::Progress => "E2403",
            Rule::Attachment => "E2404",
            Rule::Assignment => "E2405",
            Rule::Accountability => "E2406",
            Rule::FirePoint => "E2501",
            Rule::FirePointDuplicate => "E2502",
            Rule::ReportMonth => "E2601",
            Rule::ReportNumber => "E2602",
            Rule::Plan => "E2701",
            Rule::CampaignState => "E2702",
            Rule::AlarmRules => "E2801",
            Rule::Case => "E2802",
            Rule::CaseState => "E2803",
            Rule::Notify => "E2804",
            Rule::Emergency => "E2805",
            Rule::Setup => "E2901",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Rule::Text => "填写的文字不符合要求",
            Rule::Site => "监测点信息有误",
            Rule::Organisation => "单位信息有误",
            Rule::Account => "账号信息不符合要求",
            Rule::Password => "密码不符合安全要求",
            Rule::RoleOrganisation => "角色与所属单位的类型不符",
            Rule::TaskState => "任务当前状态不允许此操作",
            Rule::Review => "报告审核不符合要求",
            Rule::Progress => "进展报告内容有误",
            Rule::Attachment => "附件信息有误",
            Rule::Assignment => "交办内容不符合要求",
            Rule::Accountability => "问责记录不符合要求",
            Rule::FirePoint => "火点记录有误",
            Rule::FirePointDuplicate => "该火点已登记，不能重复登记",
            Rule::ReportMonth => "月份格式应为 YYYY-MM",
            Rule::ReportNumber => "期数或文号不符合要求",
            Rule::Plan => "方案内容有误",
            Rule::CampaignState => "攻坚方案状态不允许此操作",
            Rule::AlarmRules => "报警规则设置有误",
            Rule::Case => "督办单内容有误",
            Rule::CaseState => "督办单当前状态不允许此操作",
            Rule::Notify => "消息推送设置有误",
            Rule::Emergency => "应急减排清单或预警有误",
            Rule::Setup => "运行配置有误",
        }
    }
}

impl StorageError {
    /// A write refused by `rule`, with what exactly was wrong.
    pub fn rule(rule: Rule, detail: impl Into<String>) -> StorageError {
        StorageError::Rule {
            rule,
            detail: detail.into(),
        }
    }

    /// The rule broken, if this is a refused write.
    pub fn broken_rule(&self) -> Option<Rule> {
        match self {
            StorageError::Rule { rule, .. } => Some(*rule),
            _ => None,
        }
    }

    /// What a user reads for a missing or duplicate record: "站点“PY009”不存在",
    /// "用户“yuanwu”已存在"; `None` for other errors. (The `Display` text is
    /// English, for logs.)
    pub fn chinese(&self) -> Option<String> {
        let (entity, key, what) = match self {
            StorageError::NotFound { entity, key } => (*entity, key, "不存在"),
            StorageError::Conflict { entity, key } => (*entity, key, "已存在"),
            _ => return None,
        };
        let label = match entity {
            "accountability" => "问责记录",
            "alarm" => "报警",
            "assignment" => "任务分工",
            "attachment" => "附件",
            "campaign" => "攻坚方案",
            "case" => "督办单",
            "device" => "数采仪",
            "notify_channel" => "推送渠道",
            "organisation" => "单位",
            "report" => "进展报送",
            "season_list" => "错峰生产清单",
            "site" => "站点",
            "task" => "任务",
            "user" => "用户",
            "warning" => "预警",
            _ => "记录",
        };
        let key: String = key.chars().take(64).collect();
        Some(format!("{label}“{key}”{what}"))
    }

    /// What a user reads for this error, in Chinese, whatever the variant
    /// (the `Display` text is English, for logs).
    pub fn user_message(&self) -> String {
        match self {
            StorageError::NotFound { .. } | StorageError::Conflict { .. } => {
                self.chinese().unwrap_or_default()
            }
            StorageError::Rule { rule, detail } => format!("{}：{detail}", rule.message()),
            StorageError::Connect { .. } => {
                "数据库无法连接，请检查 database.url 或 --database".into()
            }
            StorageError::Migrate(_) => "数据库结构升级失败".into(),
            StorageError::Sql(_) => "数据库操作失败".into(),
            StorageError::Corrupt(_) => "已保存的数据无法读取（数据损坏或被改动）".into(),
            StorageError::Io(_) => "文件读写失败".into(),
        }
    }

    /// Map a unique-constraint violation to `Conflict`, leave others alone.
    pub(crate) fn unique(err: sqlx::Error, entity: &'static str, key: &str) -> StorageError {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            return StorageError::Conflict {
                entity,
                key: key.to_owned(),
            };
        }
        StorageError::Sql(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_duplicate_records_read_in_chinese() {
        let missing = StorageError::NotFound {
            entity: "task",
            key: "9999".into(),
        };
        assert_eq!(missing.chinese().as_deref(), Some("任务“9999”不存在"));
        let taken = StorageError::Conflict {
            entity: "site",
            key: "PY001".into(),
        };
        assert_eq!(taken.chinese().as_deref(), Some("站点“PY001”已存在"));
        assert_eq!(StorageError::Corrupt("x".into()).chinese(), None);
    }

    #[test]
    fn rule_codes_are_unique_and_every_rule_has_a_chinese_message() {
        let mut codes: Vec<&str> = Rule::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Rule::ALL.len());
        for r in Rule::ALL {
            assert!(
                r.message()
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{r:?}"
            );
        }
    }
}
