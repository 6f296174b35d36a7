//! 问责 records (issue 12 item 6): the 约谈, 通报 and 问责 the office enters
//! for a month of the campaign in force — who may enter and void them,
//! the form checked field by field (so a page can show each reason next to
//! its field and keep what was typed), and the month's records as the
//! 月调度 report lists them. The storage checks the same rules again inside
//! its transaction and audits every write.

use chrono::{Datelike, NaiveDate};
use gongjian_storage::{
    ACCOUNTABILITY_DOCUMENT_MAX, ACCOUNTABILITY_REASON_MAX, AccountabilityKind,
    AccountabilityRecord, Actor, Db, NewAccountability, Role, Rule, StorageError, User,
};
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::targets::{month_key, parse_month};

/// Who enters and voids 问责 records: the office and administrators.
pub fn may_record(user: &User) -> bool {
    matches!(user.role, Role::Office | Role::Admin)
}

fn refuse_others(user: &User) -> Result<(), AppError> {
    if may_record(user) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "只有攻坚办可以登记或作废问责记录".into(),
        ))
    }
}

/// The form as typed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecordForm {
    /// The organisation's id, as the select sends it.
    #[serde(default)]
    pub organisation: String,
    /// `interview` / `notice` / `accountability` (or 约谈 / 通报 / 问责).
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub reason: String,
    /// 文号 (optional).
    #[serde(default)]
    pub document_number: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub decided_on: String,
}

/// A refused field: (field name, reason in Chinese).
pub type FieldError = (&'static str, String);

/// The form checked on its own (without the database): every refused
/// field with its reason, or the record for `campaign_key` and `month`.
pub fn check(
    campaign_key: &str,
    month: &str,
    form: &RecordForm,
    today: NaiveDate,
) -> Result<NewAccountability, Vec<FieldError>> {
    let mut errors = Vec::new();
    let organisation_id = match form.organisation.trim() {
        "" => {
            errors.push(("organisation", "请选择被问责单位".to_owned()));
            0
        }
        t => t.parse::<i64>().unwrap_or_else(|_| {
            errors.push(("organisation", "被问责单位选择有误".to_owned()));
            0
        }),
    };
    let kind = match form.kind.trim() {
        "" => {
            errors.push(("kind", "请选择问责方式（约谈、通报或问责）".to_owned()));
            None
        }
        t => AccountabilityKind::parse(t).or_else(|| {
            errors.push(("kind", "问责方式应为约谈、通报或问责".to_owned()));
            None
        }),
    };
    let reason = form.reason.trim();
    if reason.is_empty() {
        errors.push(("reason", "请填写问责事由".to_owned()));
    } else if let Err(e) =
        gongjian_storage::validate::text("问责事由", reason, ACCOUNTABILITY_REASON_MAX)
    {
        errors.push(("reason", detail(&e)));
    }
    let document = form.document_number.trim();
    if let Err(e) = gongjian_storage::validate::line("文号", document, ACCOUNTABILITY_DOCUMENT_MAX)
    {
        errors.push(("document_number", detail(&e)));
    }
    let decided_on = match form.decided_on.trim() {
        "" => {
            errors.push(("decided_on", "请选择决定日期".to_owned()));
            None
        }
        t => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(d) if d > today => {
                errors.push(("decided_on", format!("决定日期不能晚于今天（{today}）")));
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(("decided_on", "决定日期应为日期（年-月-日）".to_owned()));
                None
            }
        },
    };
    match (kind, decided_on) {
        (Some(kind), Some(decided_on)) if errors.is_empty() => Ok(NewAccountability {
            campaign_key: campaign_key.to_owned(),
            month: month.to_owned(),
            organisation_id,
            kind,
            reason: reason.to_owned(),
            document_number: document.to_owned(),
            decided_on,
        }),
        _ => Err(errors),
    }
}

/// A storage refusal's detail, without the rule's heading.
fn detail(e: &StorageError) -> String {
    match e {
        StorageError::Rule { detail, .. } => detail.clone(),
        other => other.user_message(),
    }
}

/// Records what `form` says for `month` (`YYYY-MM`) of campaign
/// `campaign_key`: office and admin only, the month within the campaign's
/// year, the organisation one that exists. Refused fields come back with
/// their reasons and nothing is stored; a refusal that is not one field's
/// (the campaign closed, the month outside its year) is an error.
pub async fn record(
    db: &Db,
    user: &User,
    actor: &Actor,
    campaign_key: &str,
    month: &str,
    form: &RecordForm,
) -> Result<Result<AccountabilityRecord, Vec<FieldError>>, AppError> {
    refuse_others(user)?;
    let campaign = db
        .campaigns()
        .campaign_by_key(campaign_key)
        .await?
        .ok_or_else(|| AppError::UnknownCampaign(campaign_key.to_owned()))?;
    let Some(first) = parse_month(month) else {
        return Err(StorageError::rule(Rule::ReportMonth, "月份应为 YYYY-MM").into());
    };
    if i64::from(first.year()) != campaign.year {
        return Err(StorageError::rule(
            Rule::Accountability,
            format!(
                "月份 {month} 不在攻坚方案 {campaign_key} 的年度（{} 年）内",
                campaign.year
            ),
        )
        .into());
    }
    let mut new = match check(campaign_key, month, form, gongjian_storage::today_cst()) {
        Ok(n) => n,
        Err(errors) => return Ok(Err(errors)),
    };
    new.month = month_key(first);
    match db.organisations().organisation(new.organisation_id).await {
        Ok(_) => {}
        Err(StorageError::NotFound { .. }) => {
            return Ok(Err(vec![(
                "organisation",
                format!("单位 #{} 不存在", new.organisation_id),
            )]));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Ok(db.accountability().record(actor, &new).await?))
}

/// Voids record `id` with `reason` (office and admin only).
pub async fn void(
    db: &Db,
    user: &User,
    actor: &Actor,
    id: i64,
    reason: &str,
) -> Result<AccountabilityRecord, AppError> {
    refuse_others(user)?;
    Ok(db.accountability().void(actor, id, reason).await?)
}

/// Every record of `month` of the campaign, voided ones included (the page
/// shows them struck through); who recorded and voided it as people read
/// it (攻坚办值班员（区环境攻坚办）), not the login name.
pub async fn month_records(
    db: &Db,
    campaign_key: &str,
    month: &str,
) -> Result<Vec<AccountabilityRecord>, AppError> {
    let mut records = db.accountability().list(campaign_key, Some(month)).await?;
    let names: Vec<&str> = records
        .iter()
        .flat_map(|r| std::iter::once(r.created_by.as_str()).chain(r.voided_by.as_deref()))
        .collect();
    let labels = db.accounts().people_labels(&names).await?;
    let label = |name: &str| labels.get(name).cloned().unwrap_or_else(|| name.to_owned());
    for r in &mut records {
        r.created_by = label(&r.created_by);
        r.voided_by = r.voided_by.as_deref().map(label);
    }
    Ok(records)
}

/// A live record as the 月调度 report lists it (page, print, XLSX; frozen
/// with a published version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountabilityLine {
    pub organisation: String,
    /// 约谈 / 通报 / 问责.
    pub kind: String,
    pub reason: String,
    /// 文号, empty when none.
    pub document_number: String,
    pub decided_on: NaiveDate,
    /// Who entered it.
    pub recorded_by: String,
}

/// The report's lines of `month`: the live records, voided ones left out.
pub async fn report_lines(
    db: &Db,
    campaign_key: &str,
    month: &str,
) -> Result<Vec<AccountabilityLine>, AppError> {
    Ok(month_records(db, campaign_key, month)
        .await?
        .into_iter()
        .filter(|r| !r.voided())
        .map(|r| AccountabilityLine {
            organisation: r.organisation,
            kind: r.kind.label().to_owned(),
            reason: r.reason,
            document_number: r.document_number.unwrap_or_default(),
            decided_on: r.decided_on,
            recorded_by: r.created_by,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_form_is_checked_field_by_field() {
        let today = day("2020-08-10");
        let errors = check("k", "2020-07", &RecordForm::default(), today).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.0).collect();
        assert_eq!(fields, vec!["organisation", "kind", "reason", "decided_on"]);
        assert_eq!(errors[2].1, "请填写问责事由");

        let bad = RecordForm {
            organisation: "x".into(),
            kind: "warning".into(),
            reason: "超".repeat(501),
            document_number: "号".repeat(101),
            decided_on: "2020-08-11".into(),
        };
        let errors = check("k", "2020-07", &bad, today).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.0).collect();
        assert_eq!(
            fields,
            vec![
                "organisation",
                "kind",
                "reason",
                "document_number",
                "decided_on"
            ]
        );
        assert!(errors[2].1.contains("最多 500 个字符"), "{:?}", errors[2]);

        let ok = RecordForm {
            organisation: "7".into(),
            kind: "约谈".into(),
            reason: " 排名末位 ".into(),
            document_number: String::new(),
            decided_on: "2020-08-03".into(),
        };
        let new = check("pingyuan-2020", "2020-07", &ok, today).unwrap();
        assert_eq!(new.kind, AccountabilityKind::Interview);
        assert_eq!(new.reason, "排名末位");
        assert_eq!(new.organisation_id, 7);
        assert_eq!(new.decided_on, day("2020-08-03"));
    }
}
