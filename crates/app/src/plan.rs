//! Which plan a number is judged against: the campaign loaded for that
//! year, parsed from the files stored with its latest revision (and cached
//! by their digest, so a request costs one small query). The 2020 plan of
//! the seed document is also compiled in, as demo and test material only:
//! no page, API or command evaluates against it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use gongjian_campaign::{Campaign, Source};
use gongjian_storage::{CampaignInfo, Db};

const PLAN_FILES: &[(&str, &str)] = &[
    (
        "plan.toml",
        include_str!("../../../plans/pingyuan-2020/plan.toml"),
    ),
    (
        "organisations.toml",
        include_str!("../../../plans/pingyuan-2020/organisations.toml"),
    ),
    (
        "air.toml",
        include_str!("../../../plans/pingyuan-2020/air.toml"),
    ),
    (
        "water.toml",
        include_str!("../../../plans/pingyuan-2020/water.toml"),
    ),
    (
        "soil.toml",
        include_str!("../../../plans/pingyuan-2020/soil.toml"),
    ),
    (
        "limits.toml",
        include_str!("../../../plans/pingyuan-2020/limits.toml"),
    ),
    (
        "assessment.toml",
        include_str!("../../../plans/pingyuan-2020/assessment.toml"),
    ),
    (
        "boundaries.geojson",
        include_str!("../../../plans/pingyuan-2020/boundaries.geojson"),
    ),
];

/// The 2020 plan compiled into the binary.
pub fn embedded_plan() -> Result<Campaign, crate::AppError> {
    let sources: Vec<Source<'_>> = PLAN_FILES
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    gongjian_campaign::parse(&sources).map_err(|e| crate::AppError::EmbeddedPlan(e.to_string()))
}

/// A campaign and its plan as loaded.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    pub info: CampaignInfo,
    pub plan: Arc<Campaign>,
}

/// The plan `year`'s numbers are judged against (the campaign in force,
/// else the latest closed one), or None when no campaign covers the year.
pub async fn campaign_for_year(db: &Db, year: i32) -> Result<Option<LoadedPlan>, crate::AppError> {
    match db.campaigns().campaign_for_year(year).await? {
        Some(info) => Ok(Some(loaded(db, info).await?)),
        None => Ok(None),
    }
}

/// Like [`campaign_for_year`], but a year without a campaign is an error
/// that names the years that have one.
pub async fn require_campaign_for_year(db: &Db, year: i32) -> Result<LoadedPlan, crate::AppError> {
    if let Some(p) = campaign_for_year(db, year).await? {
        return Ok(p);
    }
    let mut years: Vec<i64> = db
        .campaigns()
        .list()
        .await?
        .iter()
        .filter(|c| c.state != gongjian_storage::CampaignState::Draft)
        .map(|c| c.year)
        .collect();
    years.sort_unstable();
    years.dedup();
    Err(crate::AppError::NoCampaign { year, years })
}

/// The campaign with `key` and its plan.
pub async fn campaign_by_key(db: &Db, key: &str) -> Result<LoadedPlan, crate::AppError> {
    let info = db
        .campaigns()
        .campaign_by_key(key)
        .await?
        .ok_or_else(|| crate::AppError::UnknownCampaign(key.to_owned()))?;
    loaded(db, info).await
}

/// The years that have a campaign in force or closed, newest first: what a
/// year selector offers.
pub async fn campaign_years(db: &Db) -> Result<Vec<i32>, crate::AppError> {
    let mut years: Vec<i32> = db
        .campaigns()
        .list()
        .await?
        .iter()
        .filter(|c| c.state != gongjian_storage::CampaignState::Draft)
        .filter_map(|c| i32::try_from(c.year).ok())
        .collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    years.dedup();
    Ok(years)
}

async fn loaded(db: &Db, info: CampaignInfo) -> Result<LoadedPlan, crate::AppError> {
    let not_stored = || crate::AppError::PlanNotStored(info.key.clone());
    let digest = db
        .campaigns()
        .plan_sources_digest(info.id)
        .await?
        .ok_or_else(not_stored)?;
    if let Some(plan) = cache().lock().ok().and_then(|c| c.get(&digest).cloned()) {
        return Ok(LoadedPlan { info, plan });
    }
    let files = db
        .campaigns()
        .plan_sources(info.id)
        .await?
        .ok_or_else(not_stored)?;
    let plan = Arc::new(
        gongjian_campaign::parse_files(&files)
            .map_err(|e| crate::AppError::StoredPlan(info.key.clone(), e.to_string()))?,
    );
    if let Ok(mut c) = cache().lock() {
        // A handful of campaigns per platform; bound it anyway.
        if c.len() >= 16 {
            c.clear();
        }
        c.insert(digest, plan.clone());
    }
    Ok(LoadedPlan { info, plan })
}

/// Parsed plans by the digest of their files: content-addressed, so two
/// databases in one process never see each other's plan under one key.
fn cache() -> &'static Mutex<HashMap<String, Arc<Campaign>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Campaign>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Why next year's plan or a task table was not written into the platform.
#[derive(Debug)]
pub enum PlanEditRefused {
    /// The task table, or the plan with it, has problems: every one, in Chinese.
    Problems(Vec<String>),
    /// Any other refusal (unknown or closed campaign, key taken, a storage rule).
    App(crate::AppError),
}

impl From<crate::AppError> for PlanEditRefused {
    fn from(e: crate::AppError) -> Self {
        PlanEditRefused::App(e)
    }
}

impl From<gongjian_storage::StorageError> for PlanEditRefused {
    fn from(e: gongjian_storage::StorageError) -> Self {
        PlanEditRefused::App(e.into())
    }
}

impl PlanEditRefused {
    /// What the office reads: the refusal, then each problem on its own line.
    pub fn lines(&self) -> Vec<String> {
        match self {
            PlanEditRefused::Problems(p) => p.clone(),
            PlanEditRefused::App(e) => vec![e.user_message()],
        }
    }
}

/// Copy campaign `key` as next year's plan (`year`): every date and year
/// moved, key and title renamed (`gongjian_campaign::copy_to_year`, as
/// `gongjian plan copy` does), checked, and loaded as a 草稿 with its first
/// revision, audited. The office then edits and publishes it.
pub async fn copy_campaign(
    db: &Db,
    actor: &gongjian_storage::Actor,
    key: &str,
    year: i32,
) -> Result<gongjian_storage::LoadOutcome, PlanEditRefused> {
    if !(2000..=2100).contains(&year) {
        return Err(PlanEditRefused::Problems(vec![
            "年份须在 2000 至 2100 之间".to_owned(),
        ]));
    }
    let from = campaign_by_key(db, key).await?;
    if i64::from(year) == from.info.year {
        return Err(PlanEditRefused::Problems(vec![format!(
            "攻坚方案 {} 已是 {year} 年的方案，请选择另一年份",
            from.info.key
        )]));
    }
    let files = gongjian_campaign::copy_to_year(&from.plan, year);
    let copied = gongjian_campaign::parse_files(&files).map_err(|e| {
        PlanEditRefused::Problems(e.diagnostics.iter().map(ToString::to_string).collect())
    })?;
    Ok(db.campaigns().load_new_draft(actor, &copied).await?)
}

/// Add a task table (序号, 任务内容, 牵头单位, 配合单位, 完成时限, 指标/目标值;
/// XLSX, or CSV in UTF-8 or GBK) to campaign `key` as plan `plan_id` titled
/// `title`, and load the result as the campaign's next revision, audited.
/// Returns the load and how many tasks the table added.
/// A table with any bad row, or one that would make the plan fail its
/// check, is refused whole with every problem; a closed campaign is
/// read-only.
pub async fn import_task_table(
    db: &Db,
    actor: &gongjian_storage::Actor,
    key: &str,
    table: &gongjian_tabular::Table,
    plan_id: &str,
    title: &str,
) -> Result<(gongjian_storage::LoadOutcome, usize), PlanEditRefused> {
    let loaded = campaign_by_key(db, key).await?;
    if loaded.info.state == gongjian_storage::CampaignState::Closed {
        return Err(PlanEditRefused::Problems(vec![format!(
            "攻坚方案 {} 已结束（归档只读），不能再导入任务",
            loaded.info.key
        )]));
    }
    let added = gongjian_campaign::add_task_table(
        &loaded.plan,
        plan_id,
        title,
        table.headers(),
        &table.line_cells(),
    )
    .map_err(|refused| {
        let mut lines = vec![format!("任务表未导入：{refused}，方案未改动")];
        lines.extend(refused.problems());
        PlanEditRefused::Problems(lines)
    })?;
    let outcome = db.campaigns().load_campaign(actor, &added.campaign).await?;
    Ok((outcome, added.added))
}

/// Why an edit of a draft in the app's forms was not stored: every problem,
/// each with the form field it belongs to (empty: the plan as a whole).
#[derive(Debug)]
pub struct EditProblems(pub Vec<gongjian_campaign::FieldError>);

impl EditProblems {
    fn general(message: String) -> Self {
        EditProblems(vec![gongjian_campaign::FieldError {
            field: String::new(),
            message,
        }])
    }

    /// The problem of `field`, for the page to show next to it.
    pub fn of(&self, field: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|p| p.field == field)
            .map(|p| p.message.as_str())
            .collect()
    }
}

/// Edit draft campaign `key` as the office does in the forms of 编辑方案: the
/// current revision's plan files with the edit applied
/// (`gongjian_campaign::apply_edit`), checked exactly as `plan check`
/// checks a folder, and stored as the campaign's next revision through the
/// same path as `plan load` (revisions, changes, assignments), audited as
/// `update` on `campaign` with what changed. `revision` is the revision the form was made
/// from: a campaign changed since is refused, as is one that is not a
/// 草稿 (published and archived campaigns are read-only). Nothing is stored
/// when anything is refused.
pub async fn edit_campaign(
    db: &Db,
    actor: &gongjian_storage::Actor,
    key: &str,
    revision: Option<i64>,
    edit: &gongjian_campaign::PlanEdit,
) -> Result<gongjian_storage::LoadOutcome, EditProblems> {
    let loaded = campaign_by_key(db, key)
        .await
        .map_err(|e| EditProblems::general(e.user_message()))?;
    if loaded.info.state != gongjian_storage::CampaignState::Draft {
        return Err(EditProblems::general(format!(
            "攻坚方案 {} {}，只读：只有草稿可以在应用中修改",
            loaded.info.key,
            match loaded.info.state {
                gongjian_storage::CampaignState::Closed => "已结束（归档）",
                _ => "已发布（执行中）",
            }
        )));
    }
    // The revision the form was made from guards against overwriting an
    // edit made since; a form without it is refused, not taken as current.
    let Some(revision) = revision else {
        return Err(EditProblems::general(
            "表单缺少方案版本号，请刷新页面后重新填写".to_owned(),
        ));
    };
    let edited = gongjian_campaign::apply_edit(&loaded.plan, edit)
        .map_err(|refused| EditProblems(refused.problems))?;
    db.campaigns()
        .store_edit(actor, &edited, revision, &edit.describe())
        .await
        .map_err(|e| EditProblems::general(crate::AppError::from(e).user_message()))
}
