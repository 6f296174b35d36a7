//! What a use case can fail with. Callers map each variant to their own
//! surface (an API error code, a page message, a command's exit status).

use gongjian_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The plan compiled into the binary does not parse (a build defect).
    #[error("内置方案无效：{0}")]
    EmbeddedPlan(String),
    /// No campaign in force or closed covers the year.
    #[error("{year} 年没有执行中或已结束的攻坚方案{}", years_note(.years))]
    NoCampaign { year: i32, years: Vec<i64> },
    #[error("没有攻坚方案 {0}")]
    UnknownCampaign(String),
    /// Loaded before the platform kept plan files: load it again.
    #[error("攻坚方案 {0} 载入时未保存方案原文，请用 gongjian plan load 重新载入该方案")]
    PlanNotStored(String),
    #[error("攻坚方案 {0} 保存的原文无法解析：{1}")]
    StoredPlan(String, String),
    /// A file the user gave cannot be read as what it claims to be.
    #[error("{0}")]
    InvalidFile(String),
    /// The user may not do this (to this object).
    #[error("{0}")]
    Forbidden(String),
}

impl AppError {
    /// What a user reads: Chinese for every variant (a storage error's
    /// `Display` is English, for logs).
    pub fn user_message(&self) -> String {
        match self {
            AppError::Storage(e) => e.user_message(),
            other => other.to_string(),
        }
    }
}

fn years_note(years: &[i64]) -> String {
    if years.is_empty() {
        "（尚未载入任何方案：gongjian plan load 目录）".to_owned()
    } else {
        let list: Vec<String> = years.iter().map(ToString::to_string).collect();
        format!("（已有方案的年份：{}）", list.join("、"))
    }
}
