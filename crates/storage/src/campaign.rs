//! The campaign workflow: plans loaded from `plans/<name>/` with revisions,
//! targets and tasks, one assignment per responsible organisation, progress
//! reports and their review, deadlines, the office's sign-off, and the
//! straw-burning fire-point ledger (月扣款). See docs/campaign.md.
//!
//! Every write a person makes takes an [`Actor`] and appends an audit entry
//! in the same transaction. Deadline reminders and overdue marking are
//! machine writes (no per-row audit) but each status change is kept in
//! `task_status_history`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use gongjian_campaign::{Campaign, PlanDiff, Stored, StoredItem};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::AnyConnection;

use crate::audit::{AuditRecord, append};
use crate::{Actor, OrgKind, StorageError, now, validate};

crate::db::area!(
    /// Campaigns: plans, tasks, assignments, reports, reviews, deadlines and fire points.
    Campaigns,
    campaigns
);

// ---------------------------------------------------------------- statuses

/// Status of a task or of one organisation's assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// 未启动
    NotStarted,
    /// 推进中
    InProgress,
    /// 待审核 (a report awaits review, or a task awaits the office's sign-off)
    PendingReview,
    /// 已完成
    Done,
    /// 逾期
    Overdue,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::NotStarted,
        TaskStatus::InProgress,
        TaskStatus::PendingReview,
        TaskStatus::Done,
        TaskStatus::Overdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::NotStarted => "not_started",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::PendingReview => "pending_review",
            TaskStatus::Done => "done",
            TaskStatus::Overdue => "overdue",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::NotStarted => "未启动",
            TaskStatus::InProgress => "推进中",
            TaskStatus::PendingReview => "待审核",
            TaskStatus::Done => "已完成",
            TaskStatus::Overdue => "逾期",
        }
    }
}

impl FromStr for TaskStatus {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.label() == s)
            .ok_or_else(|| {
                StorageError::rule(crate::Rule::TaskState, format!("未知的任务状态“{s}”"))
            })
    }
}

/// How an organisation is responsible for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentRole {
    /// 牵头
    Lead,
    /// 配合
    Cooperating,
    /// 乡镇落实
    Township,
}

impl AssignmentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentRole::Lead => "lead",
            AssignmentRole::Cooperating => "cooperating",
            AssignmentRole::Township => "township",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AssignmentRole::Lead => "牵头",
            AssignmentRole::Cooperating => "配合",
            AssignmentRole::Township => "乡镇落实",
        }
    }
}

impl FromStr for AssignmentRole {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            AssignmentRole::Lead,
            AssignmentRole::Cooperating,
            AssignmentRole::Township,
        ]
        .into_iter()
        .find(|k| k.as_str() == s || k.label() == s)
        .ok_or_else(|| StorageError::rule(crate::Rule::TaskState, format!("未知的分工角色“{s}”")))
    }
}

/// Kind of a straw-burning fire point and its deduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FireKind {
    /// 秸秆 — 500,000 元 per point.
    Straw,
    /// 垃圾 — 100,000 元.
    Rubbish,
    /// 树叶 — 100,000 元.
    Leaves,
    /// 杂草 — 100,000 元.
    Weeds,
}

impl FireKind {
    pub const ALL: [FireKind; 4] = [
        FireKind::Straw,
        FireKind::Rubbish,
        FireKind::Leaves,
        FireKind::Weeds,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FireKind::Straw => "straw",
            FireKind::Rubbish => "rubbish",
            FireKind::Leaves => "leaves",
            FireKind::Weeds => "weeds",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FireKind::Straw => "秸秆",
            FireKind::Rubbish => "垃圾",
            FireKind::Leaves => "树叶",
            FireKind::Weeds => "杂草",
        }
    }

    /// Whether an indicator of the plan (in 元/火点) sets this kind's
    /// deduction: 秸秆 for straw, 生活垃圾/枯枝落叶/杂草 for the others
    /// (air task 15: "秸秆焚烧 50 万元/火点 … 露天焚烧生活垃圾、枯枝落叶和杂草
    /// 10 万元/火点").
    fn priced_by(self, indicator: &str) -> bool {
        match self {
            FireKind::Straw => indicator.contains("秸秆"),
            _ => {
                !indicator.contains("秸秆")
                    && ["垃圾", "枯枝落叶", "杂草", "露天焚烧"]
                        .iter()
                        .any(|w| indicator.contains(w))
            }
        }
    }
}

/// The deduction per fire point of `kind` set by the campaign of `year`
/// (the one in force, else the archived one): an indicator in 元/火点 of
/// its active tasks. `None` when the plan sets none.
pub(crate) async fn fire_amount(
    conn: &mut AnyConnection,
    year: i32,
    kind: FireKind,
) -> Result<Option<Decimal>, StorageError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.name, i.value FROM task_indicators i \
         JOIN campaign_tasks t ON t.id = i.task_id \
         JOIN campaigns c ON c.id = t.campaign_id \
         WHERE c.year = $1 AND c.state <> 'draft' AND t.active = 1 AND i.unit = '元/火点' \
         ORDER BY CASE c.state WHEN 'active' THEN 0 ELSE 1 END, c.id DESC, i.seq",
    )
    .bind(i64::from(year))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .find(|(name, _)| kind.priced_by(name))
        .and_then(|(_, value)| Decimal::from_str(value.trim()).ok()))
}

impl FromStr for FireKind {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        FireKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.label() == s)
            .ok_or_else(|| {
                StorageError::rule(
                    crate::Rule::FirePoint,
                    format!("未知的火点类型“{s}”（应为 秸秆/垃圾/树叶/杂草）"),
                )
            })
    }
}

// ---------------------------------------------------------------- records

/// How a plan comes to be stored: a load (`plan load`, a task table), a new
/// draft (a copy), or an edit of a draft in the app's forms.
#[derive(Debug, Clone, Copy)]
enum LoadMode<'a> {
    Load,
    NewDraft,
    Edit { revision: i64, what: &'a str },
}

/// What one `load_campaign` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadOutcome {
    pub campaign_id: i64,
    pub campaign_key: String,
    /// The revision now current.
    pub revision: i64,
    /// Whether this load created a new revision (false: nothing changed).
    pub changed: bool,
    /// Human-readable differences from the previous revision.
    pub changes: Vec<String>,
    pub tasks: usize,
    pub targets: usize,
    pub assignments: usize,
    pub organisations_created: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignInfo {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub district: String,
    pub year: i64,
    pub revision: i64,
    pub state: CampaignState,
}

/// Where a campaign is in its life: written as a draft, in force, or closed
/// (archived: read-only history, never marked overdue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Draft,
    Active,
    Closed,
}

impl CampaignState {
    pub const ALL: [CampaignState; 3] = [
        CampaignState::Draft,
        CampaignState::Active,
        CampaignState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Active => "active",
            CampaignState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<CampaignState> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The label users see.
    pub fn label(self) -> &'static str {
        match self {
            CampaignState::Draft => "草稿",
            CampaignState::Active => "执行中",
            CampaignState::Closed => "已结束",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    pub number: i64,
    pub digest: String,
    pub changes: Vec<String>,
    pub loaded_at: i64,
    pub loaded_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TargetRecord {
    pub id: i64,
    pub key: String,
    pub plan: String,
    pub indicator: String,
    pub scope: String,
    pub comparator: String,
    pub value: Option<String>,
    pub value_text: Option<String>,
    pub baseline: Option<String>,
    pub unit: String,
    pub period: String,
    pub measured: String,
    pub as_written: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRecord {
    pub id: i64,
    pub campaign_id: i64,
    pub key: String,
    pub plan: String,
    pub group: Option<String>,
    pub chapter: Option<String>,
    pub number: String,
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub status: TaskStatus,
    pub status_label: &'static str,
    pub status_reason: String,
    pub status_at: i64,
    pub signed_off_at: Option<i64>,
    pub signed_off_by: Option<String>,
    /// Lead organisations' names.
    pub lead: Vec<String>,
    /// Earliest milestone date not yet passed, else the last one.
    pub next_due: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct MilestoneRecord {
    pub id: i64,
    pub due: String,
    pub what: String,
    pub as_written: Option<String>,
    /// 1: one month of a `monthly` duty (met by a report in its month).
    pub recurring: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorRecord {
    pub name: String,
    pub comparator: String,
    pub value: String,
    pub unit: String,
    /// Whether organisations report a value of it (a progress measure);
    /// false for a figure the plan sets (a penalty, a criterion, a limit).
    pub reported: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssignmentRecord {
    pub id: i64,
    pub task_id: i64,
    pub task_key: String,
    pub task_title: String,
    pub plan: String,
    pub group: Option<String>,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub role: AssignmentRole,
    pub role_label: &'static str,
    pub status: TaskStatus,
    pub status_label: &'static str,
    pub status_reason: String,
    pub status_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ReportValue {
    pub indicator: String,
    pub value: String,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AttachmentRecord {
    pub id: i64,
    pub sha256: String,
    pub content_type: String,
    pub size: i64,
    pub file_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRecord {
    pub id: i64,
    pub assignment_id: i64,
    pub task_id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub text: String,
    pub claims_complete: bool,
    pub submitted_by: String,
    pub submitted_at: i64,
    /// submitted | accepted | returned
    pub review: String,
    pub review_comment: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<i64>,
    pub values: Vec<ReportValue>,
    pub attachments: Vec<AttachmentRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    pub assignment_id: Option<i64>,
    pub organisation_name: Option<String>,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub actor_name: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskDetail {
    pub task: TaskRecord,
    pub cooperating: Vec<String>,
    pub townships: Vec<String>,
    pub milestones: Vec<MilestoneRecord>,
    pub indicators: Vec<IndicatorRecord>,
    pub assignments: Vec<AssignmentRecord>,
    /// Newest first.
    pub reports: Vec<ReportRecord>,
    /// Oldest first.
    pub history: Vec<StatusChange>,
}

/// A file already stored (by the caller) under the attachments directory.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttachment {
    pub sha256: String,
    pub content_type: String,
    pub size: i64,
    pub file_name: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewReport {
    pub text: String,
    /// The organisation says its part is done; acceptance then completes
    /// the assignment.
    pub claims_complete: bool,
    /// (indicator name, value).
    pub values: Vec<(String, Decimal)>,
    pub attachments: Vec<NewAttachment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    Accept,
    /// Accept with the reviewer's comment, kept on the report like a
    /// return's; a blank comment is the same as [`Review::Accept`].
    AcceptWithComment(String),
    /// Return to the organisation with a comment (required).
    Return(String),
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub campaign_id: Option<i64>,
    pub plan: Option<String>,
    pub group: Option<String>,
    /// Tasks this organisation has an active assignment on.
    pub organisation_id: Option<i64>,
    pub status: Option<TaskStatus>,
    /// Tasks with a milestone on or before this date (`YYYY-MM-DD`).
    pub due_before: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Reminder {
    pub task_id: i64,
    #[sqlx(rename = "key")]
    pub task_key: String,
    #[sqlx(rename = "title")]
    pub task_title: String,
    pub due: String,
    pub what: String,
    /// due_soon | overdue
    pub kind: String,
    pub raised_at: i64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DeadlineRun {
    pub reminders_raised: usize,
    pub assignments_marked_overdue: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewFirePoint {
    pub township_id: i64,
    pub occurred_on: NaiveDate,
    pub place: String,
    pub kind: FireKind,
    pub note: String,
    pub attachments: Vec<NewAttachment>,
    /// Pushed to the township to verify (属实/不属实) by this day; None:
    /// the office's own finding, confirmed on entry.
    pub reply_due: Option<NaiveDate>,
    /// WGS 84 position as received (checked by the caller), if known.
    pub longitude: Option<String>,
    pub latitude: Option<String>,
}

/// Where a fire point stands in its verification.
pub const FIRE_VERIFICATIONS: [(&str, &str); 4] = [
    ("pending", "待乡镇核实"),
    ("replied", "乡镇已反馈，待确认"),
    ("confirmed", "属实"),
    ("dismissed", "不属实"),
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirePointRecord {
    pub id: i64,
    pub township_id: i64,
    pub township: String,
    pub occurred_on: String,
    pub month: String,
    pub place: String,
    pub kind: FireKind,
    pub kind_label: &'static str,
    pub amount: String,
    pub note: String,
    pub source: String,
    pub created_by: String,
    pub attachments: Vec<AttachmentRecord>,
    /// When the office voided the entry (Unix seconds); a voided entry
    /// stays in the ledger but counts in no total or deduction.
    pub voided_at: Option<i64>,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
    /// pending | replied | confirmed | dismissed ([`FIRE_VERIFICATIONS`]).
    pub verification: String,
    /// The township's answer is due by this day (pushed points).
    pub reply_due: Option<String>,
    /// The township's verdict: "true" (属实) or "false" (不属实).
    pub reply_verdict: Option<String>,
    pub reply_note: Option<String>,
    pub replied_by: Option<String>,
    pub replied_at: Option<i64>,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<i64>,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
}

impl FirePointRecord {
    pub fn voided(&self) -> bool {
        self.voided_at.is_some()
    }

    /// Counts toward the township's deduction: confirmed and not voided.
    pub fn counts(&self) -> bool {
        !self.voided() && self.verification == "confirmed"
    }

    pub fn verification_label(&self) -> &'static str {
        FIRE_VERIFICATIONS
            .iter()
            .find(|(k, _)| *k == self.verification)
            .map(|(_, l)| *l)
            .unwrap_or("未知")
    }

    /// Waiting for the township's answer past its deadline on `today`.
    pub fn reply_overdue(&self, today: NaiveDate) -> bool {
        self.verification == "pending"
            && !self.voided()
            && self
                .reply_due
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .is_some_and(|d| d < today)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct FireTotal {
    pub township: String,
    pub month: String,
    pub points: i64,
    pub straw_points: i64,
    pub other_points: i64,
    /// 元, exact.
    pub amount: String,
}

/// One row of a progress import: a report on one assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedProgress {
    pub assignment_id: i64,
    pub report: NewReport,
}

// ---------------------------------------------------------------- helpers

/// Today's date in China Standard Time.
pub fn today_cst() -> NaiveDate {
    gongjian_standards::cst::local_date(crate::now())
}

async fn record_status(
    conn: &mut AnyConnection,
    task_id: i64,
    assignment_id: Option<i64>,
    from: TaskStatus,
    to: TaskStatus,
    reason: &str,
    actor: &str,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO task_status_history (task_id, assignment_id, from_status, to_status, \
         reason, actor_name, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(task_id)
    .bind(assignment_id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(reason)
    .bind(actor)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

/// Move an assignment to `to` (if it is not already there), recording why.
pub(crate) async fn set_assignment_status(
    conn: &mut AnyConnection,
    assignment_id: i64,
    to: TaskStatus,
    reason: &str,
    actor: &str,
) -> Result<bool, StorageError> {
    let (task_id, from): (i64, String) =
        sqlx::query_as("SELECT task_id, status FROM task_assignments WHERE id = $1")
            .bind(assignment_id)
            .fetch_one(&mut *conn)
            .await?;
    let from: TaskStatus = from.parse()?;
    if from == to {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE task_assignments SET status = $1, status_reason = $2, status_at = $3 WHERE id = $4",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(now())
    .bind(assignment_id)
    .execute(&mut *conn)
    .await?;
    record_status(conn, task_id, Some(assignment_id), from, to, reason, actor).await?;
    Ok(true)
}

/// Derive a task's status from its assignments and sign-off:
/// signed off → 已完成; a report awaiting review → 待审核; an assignment
/// overdue → 逾期; every assignment done → 待审核 (awaiting sign-off); any
/// movement → 推进中; else 未启动.
pub(crate) async fn recompute_task(
    conn: &mut AnyConnection,
    task_id: i64,
    actor: &str,
) -> Result<TaskStatus, StorageError> {
    let (from, signed): (String, Option<i64>) =
        sqlx::query_as("SELECT status, signed_off_at FROM campaign_tasks WHERE id = $1")
            .bind(task_id)
            .fetch_one(&mut *conn)
            .await?;
    let from: TaskStatus = from.parse()?;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.status, o.name FROM task_assignments a JOIN organisations o ON o.id = a.organisation_id \
         WHERE a.task_id = $1 AND a.active = 1",
    )
    .bind(task_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut statuses = Vec::new();
    for (status, name) in rows {
        statuses.push((status.parse::<TaskStatus>()?, name));
    }
    let names = |s: TaskStatus| {
        statuses
            .iter()
            .filter(|(x, _)| *x == s)
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join("、")
    };
    let any = |s: TaskStatus| statuses.iter().any(|(x, _)| *x == s);
    let (to, reason) = if signed.is_some() {
        (TaskStatus::Done, "攻坚办已销号".to_owned())
    } else if any(TaskStatus::PendingReview) {
        (
            TaskStatus::PendingReview,
            format!("待审核：{}", names(TaskStatus::PendingReview)),
        )
    } else if any(TaskStatus::Overdue) {
        (
            TaskStatus::Overdue,
            format!("逾期：{}", names(TaskStatus::Overdue)),
        )
    } else if !statuses.is_empty() && statuses.iter().all(|(s, _)| *s == TaskStatus::Done) {
        (
            TaskStatus::PendingReview,
            "各责任单位均已完成，待攻坚办销号".to_owned(),
        )
    } else if statuses.iter().any(|(s, _)| *s != TaskStatus::NotStarted) {
        (
            TaskStatus::InProgress,
            format!(
                "推进中：{}",
                statuses
                    .iter()
                    .filter(|(s, _)| *s != TaskStatus::NotStarted)
                    .map(|(_, n)| n.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        )
    } else {
        (TaskStatus::NotStarted, "尚无进展报告".to_owned())
    };
    if to != from {
        sqlx::query(
            "UPDATE campaign_tasks SET status = $1, status_reason = $2, status_at = $3 WHERE id = $4",
        )
        .bind(to.as_str())
        .bind(&reason)
        .bind(now())
        .bind(task_id)
        .execute(&mut *conn)
        .await?;
        record_status(conn, task_id, None, from, to, &reason, actor).await?;
    }
    Ok(to)
}

const TASK_COLUMNS: &str = "t.id, t.campaign_id, t.key, t.plan, t.group_id, t.chapter, t.number, \
    t.kind, t.title, t.summary, t.status, t.status_reason, t.status_at, t.signed_off_at, t.signed_off_by";

/// A row of [`TASK_COLUMNS`].
#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    campaign_id: i64,
    key: String,
    plan: String,
    group_id: Option<String>,
    chapter: Option<String>,
    number: String,
    kind: String,
    title: String,
    summary: String,
    status: String,
    status_reason: String,
    status_at: i64,
    signed_off_at: Option<i64>,
    signed_off_by: Option<String>,
}

impl TryFrom<TaskRow> for TaskRecord {
    type Error = StorageError;
    fn try_from(r: TaskRow) -> Result<Self, StorageError> {
        let status: TaskStatus = r.status.parse()?;
        Ok(TaskRecord {
            id: r.id,
            campaign_id: r.campaign_id,
            key: r.key,
            plan: r.plan,
            group: r.group_id,
            chapter: r.chapter,
            number: r.number,
            kind: r.kind,
            title: r.title,
            summary: r.summary,
            status,
            status_label: status.label(),
            status_reason: r.status_reason,
            status_at: r.status_at,
            signed_off_at: r.signed_off_at,
            signed_off_by: r.signed_off_by,
            lead: Vec::new(),
            next_due: None,
        })
    }
}

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.task_id, t.key AS task_key, t.title AS task_title, \
    t.plan, t.group_id, a.organisation_id, o.name AS organisation_name, a.role, a.status, \
    a.status_reason, a.status_at FROM task_assignments a \
    JOIN campaign_tasks t ON t.id = a.task_id JOIN organisations o ON o.id = a.organisation_id";

/// A row of [`ASSIGNMENT_SELECT`].
#[derive(sqlx::FromRow)]
struct AssignmentRow {
    id: i64,
    task_id: i64,
    task_key: String,
    task_title: String,
    plan: String,
    group_id: Option<String>,
    organisation_id: i64,
    organisation_name: String,
    role: String,
    status: String,
    status_reason: String,
    status_at: i64,
}

impl TryFrom<AssignmentRow> for AssignmentRecord {
    type Error = StorageError;
    fn try_from(r: AssignmentRow) -> Result<Self, StorageError> {
        let status: TaskStatus = r.status.parse()?;
        let role: AssignmentRole = r.role.parse()?;
        Ok(AssignmentRecord {
            id: r.id,
            task_id: r.task_id,
            task_key: r.task_key,
            task_title: r.task_title,
            plan: r.plan,
            group: r.group_id,
            organisation_id: r.organisation_id,
            organisation_name: r.organisation_name,
            role,
            role_label: role.label(),
            status,
            status_label: status.label(),
            status_reason: r.status_reason,
            status_at: r.status_at,
        })
    }
}

const REPORT_SELECT: &str = "SELECT r.id, r.assignment_id, r.task_id, a.organisation_id, \
    o.name AS organisation_name, r.text, r.claims_complete, r.submitted_by, r.submitted_at, \
    r.review, r.review_comment, r.reviewed_by, r.reviewed_at FROM task_reports r \
    JOIN task_assignments a ON a.id = r.assignment_id JOIN organisations o ON o.id = a.organisation_id";

/// A row of [`REPORT_SELECT`].
#[derive(sqlx::FromRow)]
struct ReportRow {
    id: i64,
    assignment_id: i64,
    task_id: i64,
    organisation_id: i64,
    organisation_name: String,
    text: String,
    claims_complete: i64,
    submitted_by: String,
    submitted_at: i64,
    review: String,
    review_comment: Option<String>,
    reviewed_by: Option<String>,
    reviewed_at: Option<i64>,
}

impl From<ReportRow> for ReportRecord {
    fn from(r: ReportRow) -> Self {
        ReportRecord {
            id: r.id,
            assignment_id: r.assignment_id,
            task_id: r.task_id,
            organisation_id: r.organisation_id,
            organisation_name: r.organisation_name,
            text: r.text,
            claims_complete: r.claims_complete != 0,
            submitted_by: r.submitted_by,
            submitted_at: r.submitted_at,
            review: r.review,
            review_comment: r.review_comment,
            reviewed_by: r.reviewed_by,
            reviewed_at: r.reviewed_at,
            values: Vec::new(),
            attachments: Vec::new(),
        }
    }
}

/// [`TASK_COLUMNS`] and the task's content.
#[derive(sqlx::FromRow)]
struct TaskContentRow {
    #[sqlx(flatten)]
    task: TaskRow,
    content: String,
}

/// A report awaiting review with its task (the report is read again whole).
#[derive(sqlx::FromRow)]
struct AwaitingReviewRow {
    id: i64,
    task_key: String,
    task_title: String,
}

/// An assignment as a report on it needs it: whether it is still in force.
#[derive(sqlx::FromRow)]
struct AssignmentStateRow {
    task_id: i64,
    active: i64,
    task_active: i64,
    signed_off_at: Option<i64>,
    campaign_key: String,
    state: String,
}

#[derive(sqlx::FromRow)]
struct IndicatorRow {
    name: String,
    comparator: String,
    value: String,
    unit: String,
    reported: i64,
}

impl From<IndicatorRow> for IndicatorRecord {
    fn from(r: IndicatorRow) -> Self {
        IndicatorRecord {
            name: r.name,
            comparator: r.comparator,
            value: r.value,
            unit: r.unit,
            reported: r.reported != 0,
        }
    }
}

#[derive(sqlx::FromRow)]
struct StatusChangeRow {
    assignment_id: Option<i64>,
    name: Option<String>,
    from_status: String,
    to_status: String,
    reason: String,
    actor_name: String,
    at: i64,
}

impl TryFrom<StatusChangeRow> for StatusChange {
    type Error = StorageError;
    fn try_from(r: StatusChangeRow) -> Result<Self, StorageError> {
        Ok(StatusChange {
            assignment_id: r.assignment_id,
            organisation_name: r.name,
            from: r.from_status.parse::<TaskStatus>()?.label().to_owned(),
            to: r.to_status.parse::<TaskStatus>()?.label().to_owned(),
            reason: r.reason,
            actor_name: r.actor_name,
            at: r.at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RevisionRow {
    number: i64,
    digest: String,
    /// The change lines as a JSON array.
    changes: String,
    loaded_at: i64,
    loaded_by: String,
}

impl From<RevisionRow> for Revision {
    fn from(r: RevisionRow) -> Self {
        Revision {
            number: r.number,
            digest: r.digest,
            changes: serde_json::from_str(&r.changes).unwrap_or_default(),
            loaded_at: r.loaded_at,
            loaded_by: r.loaded_by,
        }
    }
}

/// A fire point without its attachments; `name` is the township's.
#[derive(sqlx::FromRow)]
struct FirePointRow {
    id: i64,
    township_id: i64,
    name: String,
    occurred_on: String,
    month: String,
    place: String,
    kind: String,
    amount: String,
    note: String,
    source: String,
    created_by: String,
    voided_at: Option<i64>,
    voided_by: Option<String>,
    void_reason: Option<String>,
    verification: String,
    reply_due: Option<String>,
    reply_verdict: Option<String>,
    reply_note: Option<String>,
    replied_by: Option<String>,
    replied_at: Option<i64>,
    confirmed_by: Option<String>,
    confirmed_at: Option<i64>,
    longitude: Option<String>,
    latitude: Option<String>,
}

/// An attachment and what it belongs to.
#[derive(sqlx::FromRow)]
struct OwnedAttachmentRow {
    #[sqlx(flatten)]
    attachment: AttachmentRecord,
    report_id: Option<i64>,
    fire_point_id: Option<i64>,
}

/// What an attachment belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttachmentOwner {
    Report(i64),
    FirePoint(i64),
    CaseEvent(i64),
    Alarm(i64),
    /// The city's notice of a heavy-pollution warning.
    Warning(i64),
}

pub(crate) async fn insert_attachments(
    conn: &mut AnyConnection,
    owner: AttachmentOwner,
    files: &[NewAttachment],
) -> Result<(), StorageError> {
    let (report_id, fire_point_id, case_event_id, alarm_id, warning_id) = match owner {
        AttachmentOwner::Report(id) => (Some(id), None, None, None, None),
        AttachmentOwner::FirePoint(id) => (None, Some(id), None, None, None),
        AttachmentOwner::CaseEvent(id) => (None, None, Some(id), None, None),
        AttachmentOwner::Alarm(id) => (None, None, None, Some(id), None),
        AttachmentOwner::Warning(id) => (None, None, None, None, Some(id)),
    };
    for f in files {
        if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StorageError::rule(
                crate::Rule::Attachment,
                format!(
                    "附件 {}：校验值“{}”不是 SHA-256 十六进制摘要",
                    f.file_name, f.sha256
                ),
            ));
        }
        sqlx::query(
            "INSERT INTO attachments (report_id, fire_point_id, case_event_id, alarm_id, \
             warning_id, sha256, content_type, size, file_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(report_id)
        .bind(fire_point_id)
        .bind(case_event_id)
        .bind(alarm_id)
        .bind(warning_id)
        .bind(&f.sha256)
        .bind(&f.content_type)
        .bind(f.size)
        .bind(&f.file_name)
        .bind(now())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Attachments as the audit log keeps them: by checksum, so the entry
/// proves which file was handed in.
pub(crate) fn attachments_json(files: &[NewAttachment]) -> Value {
    json!(files
        .iter()
        .map(|a| json!({"sha256": a.sha256, "file_name": a.file_name, "content_type": a.content_type, "size": a.size}))
        .collect::<Vec<_>>())
}

// ---------------------------------------------------------------- loading

const CAMPAIGN_INFO: &str = "SELECT c.id, c.key, c.name, c.district, c.year, c.state, \
     (SELECT MAX(number) FROM campaign_revisions r WHERE r.campaign_id = c.id) AS revision \
     FROM campaigns c";

/// A row of [`CAMPAIGN_INFO`].
#[derive(sqlx::FromRow)]
struct CampaignInfoRow {
    id: i64,
    key: String,
    name: String,
    district: String,
    year: i64,
    state: String,
    revision: Option<i64>,
}

impl TryFrom<CampaignInfoRow> for CampaignInfo {
    type Error = StorageError;
    fn try_from(r: CampaignInfoRow) -> Result<Self, StorageError> {
        Ok(CampaignInfo {
            id: r.id,
            key: r.key,
            name: r.name,
            district: r.district,
            year: r.year,
            revision: r.revision.unwrap_or(0),
            state: campaign_state(&r.state)?,
        })
    }
}

fn campaign_state(s: &str) -> Result<CampaignState, StorageError> {
    CampaignState::parse(s).ok_or_else(|| StorageError::Corrupt(format!("campaign state {s:?}")))
}

impl Campaigns<'_> {
    /// Load a validated plan. Idempotent: loading the same plan again changes
    /// nothing and returns `changed: false`. A plan that differs from the
    /// current revision creates a new revision (earlier ones are kept) and
    /// lists what changed. Organisations are matched to the platform's by
    /// the plan's key (after a first load) or by name, and created when
    /// missing. Tasks and targets that left the plan are deactivated, not
    /// deleted, so their reports stay.
    pub async fn load_campaign(
        &self,
        actor: &Actor,
        plan: &Campaign,
    ) -> Result<LoadOutcome, StorageError> {
        self.load(actor, plan, LoadMode::Load).await
    }

    /// Load a plan that is new to the platform as a 草稿, whatever else is
    /// in force for its year: next year's plan, copied in the app, is
    /// edited before it is published. Refused when the key is taken.
    pub async fn load_new_draft(
        &self,
        actor: &Actor,
        plan: &Campaign,
    ) -> Result<LoadOutcome, StorageError> {
        self.load(actor, plan, LoadMode::NewDraft).await
    }

    /// Store a 草稿's plan edited in the app's forms as its next revision,
    /// exactly as a load does, and audit it (`update` on `campaign`, with
    /// `what` the office changed). Refused unless the campaign is a draft
    /// whose current revision is still `revision` (the one edited), so two
    /// edits never overwrite each other.
    pub async fn store_edit(
        &self,
        actor: &Actor,
        plan: &Campaign,
        revision: i64,
        what: &str,
    ) -> Result<LoadOutcome, StorageError> {
        self.load(actor, plan, LoadMode::Edit { revision, what })
            .await
    }

    async fn load(
        &self,
        actor: &Actor,
        plan: &Campaign,
        mode: LoadMode<'_>,
    ) -> Result<LoadOutcome, StorageError> {
        let new_draft = matches!(mode, LoadMode::NewDraft);
        let at = now();
        let mut tx = self.write.begin().await?;
        let existing: Option<(i64, String)> =
            sqlx::query_as("SELECT id, state FROM campaigns WHERE key = $1")
                .bind(&plan.key)
                .fetch_optional(&mut *tx)
                .await?;
        let mut closed = false;
        if matches!(mode, LoadMode::Edit { .. }) && existing.is_none() {
            return Err(StorageError::rule(
                crate::Rule::CampaignState,
                format!("攻坚方案 {} 不存在", plan.key),
            ));
        }
        let campaign_id: i64 = match existing {
            Some(_) if new_draft => {
                return Err(StorageError::rule(
                    crate::Rule::CampaignState,
                    format!("攻坚方案 {} 已存在，不能再作为新方案载入", plan.key),
                ));
            }
            Some((id, state)) => {
                let state = campaign_state(&state)?;
                closed = state == CampaignState::Closed;
                if matches!(mode, LoadMode::Edit { .. }) && state != CampaignState::Draft {
                    return Err(StorageError::rule(
                        crate::Rule::CampaignState,
                        format!(
                            "攻坚方案 {} {}，只读：只有草稿可以在应用中修改",
                            plan.key,
                            if closed {
                                "已结束（归档）"
                            } else {
                                "已发布（执行中）"
                            }
                        ),
                    ));
                }
                sqlx::query(
                    "UPDATE campaigns SET name = $1, district = $2, year = $3 WHERE id = $4",
                )
                .bind(&plan.name)
                .bind(&plan.district)
                .bind(i64::from(plan.year))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                // A second plan for a district and year already in force is
                // loaded as a draft; publishing it means closing the other.
                let in_force = sqlx::query(
                    "SELECT 1 AS x FROM campaigns WHERE district = $1 AND year = $2 AND state = 'active'",
                )
                .bind(&plan.district)
                .bind(i64::from(plan.year))
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
                let state = if in_force || new_draft {
                    CampaignState::Draft
                } else {
                    CampaignState::Active
                };
                sqlx::query_scalar(
                    "INSERT INTO campaigns (key, name, district, year, created_at, state) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(&plan.key)
                .bind(&plan.name)
                .bind(&plan.district)
                .bind(i64::from(plan.year))
                .bind(at)
                .bind(state.as_str())
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let last: Option<(i64, String)> = sqlx::query_as(
            "SELECT number, digest FROM campaign_revisions WHERE campaign_id = $1 ORDER BY number DESC LIMIT 1",
        )
        .bind(campaign_id)
        .fetch_optional(&mut *tx)
        .await?;
        let last_number = last.as_ref().map_or(0, |(number, _)| *number);
        if let LoadMode::Edit { revision, .. } = mode
            && revision != last_number
        {
            return Err(StorageError::rule(
                crate::Rule::CampaignState,
                format!(
                    "攻坚方案 {} 已有第 {last_number} 版（刚被他人修改），本次修改基于第 {revision} 版，未保存：请重新打开编辑页",
                    plan.key
                ),
            ));
        }

        // What is stored of the plan, compared with it.
        let stored_targets: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT key, content, active FROM campaign_targets WHERE campaign_id = $1",
        )
        .bind(campaign_id)
        .fetch_all(&mut *tx)
        .await?;
        let stored_tasks: Vec<(i64, String, String, i64)> = sqlx::query_as(
            // 交办 are the office's, not the plan's: a load never touches them.
            "SELECT id, key, content, active FROM campaign_tasks WHERE campaign_id = $1 AND kind <> 'adhoc'",
        )
        .bind(campaign_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut task_ids: BTreeMap<String, i64> = BTreeMap::new();
        let mut stored = Stored {
            last_digest: last.map(|(_, digest)| digest),
            ..Stored::default()
        };
        for (key, content, active) in stored_targets {
            let active = active == 1;
            stored.targets.insert(key, StoredItem { content, active });
        }
        for (id, key, content, active) in stored_tasks {
            let active = active == 1;
            task_ids.insert(key.clone(), id);
            stored.tasks.insert(key, StoredItem { content, active });
        }
        let diff = PlanDiff::of(plan, &stored);

        if closed && !diff.unchanged {
            tx.rollback().await?;
            return Err(StorageError::rule(
                crate::Rule::CampaignState,
                format!("攻坚方案 {} 已结束（归档只读），不能再修改", plan.key),
            ));
        }
        if diff.unchanged {
            tx.rollback().await?;
            // Revisions loaded before the plan text was kept get it now.
            sqlx::query(
                "UPDATE campaign_revisions SET sources = $1, sources_digest = $2 \
                 WHERE campaign_id = $3 AND number = $4 AND sources IS NULL",
            )
            .bind(&diff.sources)
            .bind(&diff.sources_digest)
            .bind(campaign_id)
            .bind(last_number)
            .execute(&self.write)
            .await?;
            return Ok(LoadOutcome {
                campaign_id,
                campaign_key: plan.key.clone(),
                revision: last_number,
                changed: false,
                changes: Vec::new(),
                tasks: plan.tasks.len(),
                targets: plan.targets.len(),
                assignments: diff.assignments,
                organisations_created: Vec::new(),
            });
        }
        let revision = last_number + 1;

        // Organisations: by plan key, else by name, else created.
        let mut org_ids: HashMap<String, i64> = HashMap::new();
        let mut created = Vec::new();
        for o in &plan.organisations {
            let mapped: Option<i64> = sqlx::query_scalar(
                "SELECT organisation_id FROM campaign_organisations WHERE campaign_id = $1 AND key = $2",
            )
            .bind(campaign_id)
            .bind(&o.key)
            .fetch_optional(&mut *tx)
            .await?;
            let id: i64 = if let Some(id) = mapped {
                id
            } else {
                let by_name: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM organisations WHERE name = $1")
                        .bind(&o.name)
                        .fetch_optional(&mut *tx)
                        .await?;
                let id: i64 = match by_name {
                    Some(id) => id,
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO organisations (name, kind, parent_id, created_at) VALUES ($1, $2, NULL, $3) RETURNING id",
                        )
                        .bind(&o.name)
                        .bind(o.kind.as_str())
                        .bind(at)
                        .fetch_one(&mut *tx)
                        .await?;
                        append(
                            &mut tx,
                            actor,
                            AuditRecord::new("create", "organisation", id).after(&json!({
                                "id": id, "name": o.name, "kind": o.kind.as_str(),
                                "from_plan": plan.key})),
                        )
                        .await?;
                        created.push(o.name.clone());
                        id
                    }
                };
                sqlx::query(
                    "INSERT INTO campaign_organisations (campaign_id, key, organisation_id) VALUES ($1, $2, $3)",
                )
                .bind(campaign_id)
                .bind(&o.key)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                id
            };
            org_ids.insert(o.name.clone(), id);
        }

        // Targets: new, changed or back in the plan are written.
        for (t, entry) in plan.targets.iter().zip(&diff.targets) {
            if !entry.change.writes() {
                continue;
            }
            sqlx::query(
                "INSERT INTO campaign_targets (campaign_id, key, plan, indicator, scope, comparator, value, \
                 value_text, baseline, unit, period, measured, as_written, content, active, revision) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15) \
                 ON CONFLICT (campaign_id, key) DO UPDATE SET plan = $3, indicator = $4, scope = $5, \
                 comparator = $6, value = $7, value_text = $8, baseline = $9, unit = $10, period = $11, \
                 measured = $12, as_written = $13, content = $14, active = 1, revision = $15",
            )
            .bind(campaign_id)
            .bind(&entry.key)
            .bind(&t.plan)
            .bind(&t.indicator)
            .bind(t.scope.to_string())
            .bind(t.comparator.as_str())
            .bind(t.value.map(|v| v.to_string()))
            .bind(&t.value_text)
            .bind(t.baseline.as_ref().map(ToString::to_string))
            .bind(&t.unit)
            .bind(&t.period)
            .bind(t.measured.to_string())
            .bind(&t.as_written)
            .bind(&entry.content)
            .bind(revision)
            .execute(&mut *tx)
            .await?;
        }
        for key in &diff.deactivate_targets {
            sqlx::query(
                "UPDATE campaign_targets SET active = 0, revision = $1 WHERE campaign_id = $2 AND key = $3",
            )
            .bind(revision)
            .bind(campaign_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        }

        // Tasks: likewise, with their milestones, indicators and assignments.
        let mut assignments = 0usize;
        for (t, entry) in plan.tasks.iter().zip(&diff.tasks) {
            if !entry.change.writes() {
                assignments += gongjian_campaign::assignment_count(t);
                continue;
            }
            let key = &entry.key;
            let task_id: i64 = sqlx::query_scalar(
                "INSERT INTO campaign_tasks (campaign_id, key, plan, group_id, chapter, number, kind, title, \
                 summary, content, active, revision, status, status_reason, status_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, 'not_started', '', $12) \
                 ON CONFLICT (campaign_id, key) DO UPDATE SET plan = $3, group_id = $4, chapter = $5, \
                 number = $6, kind = $7, title = $8, summary = $9, content = $10, active = 1, revision = $11 \
                 RETURNING id",
            )
            .bind(campaign_id)
            .bind(key)
            .bind(&t.plan)
            .bind(&t.group)
            .bind(&t.chapter)
            .bind(&t.number)
            .bind(t.kind.as_str())
            .bind(&t.title)
            .bind(&t.summary)
            .bind(&entry.content)
            .bind(revision)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;

            // Milestones by position; reminders of removed ones go with them.
            sqlx::query(
                "DELETE FROM task_reminders WHERE milestone_id IN \
                 (SELECT id FROM task_milestones WHERE task_id = $1 AND seq >= $2)",
            )
            .bind(task_id)
            .bind(t.milestones.len() as i64)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM task_milestones WHERE task_id = $1 AND seq >= $2")
                .bind(task_id)
                .bind(t.milestones.len() as i64)
                .execute(&mut *tx)
                .await?;
            for (seq, m) in t.milestones.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO task_milestones (task_id, seq, due, what, as_written, recurring) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (task_id, seq) DO UPDATE SET due = $3, what = $4, as_written = $5, recurring = $6",
                )
                .bind(task_id)
                .bind(seq as i64)
                .bind(m.date.to_string())
                .bind(&m.what)
                .bind(&m.as_written)
                .bind(i64::from(m.recurring))
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM task_indicators WHERE task_id = $1")
                .bind(task_id)
                .execute(&mut *tx)
                .await?;
            for (seq, i) in t.indicators.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO task_indicators (task_id, seq, name, comparator, value, unit, reported) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(task_id)
                .bind(seq as i64)
                .bind(&i.name)
                .bind(i.comparator.as_str())
                .bind(i.value.to_string())
                .bind(&i.unit)
                .bind(i64::from(i.report))
                .execute(&mut *tx)
                .await?;
            }

            // Assignments: one per responsible organisation.
            let mut wanted: Vec<(i64, AssignmentRole)> = Vec::new();
            for (names, role) in [
                (&t.lead, AssignmentRole::Lead),
                (&t.cooperating, AssignmentRole::Cooperating),
                (&t.townships, AssignmentRole::Township),
            ] {
                for n in names {
                    let id = *org_ids.get(n).ok_or_else(|| {
                        StorageError::rule(
                            crate::Rule::Plan,
                            format!("任务 {key}：单位“{n}”不在方案的单位名单中"),
                        )
                    })?;
                    if !wanted.iter().any(|(w, _)| *w == id) {
                        wanted.push((id, role));
                    }
                }
            }
            sqlx::query("UPDATE task_assignments SET active = 0 WHERE task_id = $1")
                .bind(task_id)
                .execute(&mut *tx)
                .await?;
            for (org, role) in &wanted {
                sqlx::query(
                    "INSERT INTO task_assignments (task_id, organisation_id, role, active, status, status_reason, status_at, created_at) \
                     VALUES ($1, $2, $3, 1, 'not_started', '', $4, $4) \
                     ON CONFLICT (task_id, organisation_id) DO UPDATE SET role = $3, active = 1",
                )
                .bind(task_id)
                .bind(org)
                .bind(role.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            assignments += wanted.len();
            recompute_task(&mut tx, task_id, &actor.name).await?;
        }
        for key in &diff.deactivate_tasks {
            let id = *task_ids.get(key).ok_or_else(|| {
                StorageError::Corrupt(format!("campaign task {key} vanished during the load"))
            })?;
            sqlx::query("UPDATE campaign_tasks SET active = 0, revision = $1 WHERE id = $2")
                .bind(revision)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE task_assignments SET active = 0 WHERE task_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let changes = diff.changes(&created);
        sqlx::query(
            "INSERT INTO campaign_revisions (campaign_id, number, digest, snapshot, changes, loaded_at, loaded_by, sources, sources_digest) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(campaign_id)
        .bind(revision)
        .bind(&diff.digest)
        .bind(&diff.snapshot)
        .bind(serde_json::to_string(&changes).unwrap_or_default())
        .bind(at)
        .bind(&actor.name)
        .bind(&diff.sources)
        .bind(&diff.sources_digest)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            actor,
            match mode {
                LoadMode::Edit { what, .. } => AuditRecord::new("update", "campaign", &plan.key)
                    .after(&json!({
                        "revision": revision, "digest": diff.digest, "edit": what,
                        "changes": changes})),
                _ => AuditRecord::new("load", "campaign", &plan.key).after(&json!({
                    "revision": revision, "digest": diff.digest, "changes": changes})),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(LoadOutcome {
            campaign_id,
            campaign_key: plan.key.clone(),
            revision,
            changed: true,
            changes,
            tasks: plan.tasks.len(),
            targets: plan.targets.len(),
            assignments,
            organisations_created: created,
        })
    }

    pub async fn list(&self) -> Result<Vec<CampaignInfo>, StorageError> {
        let rows: Vec<CampaignInfoRow> =
            sqlx::query_as(&format!("{CAMPAIGN_INFO} ORDER BY c.year DESC, c.id"))
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(CampaignInfo::try_from).collect()
    }

    pub async fn campaign_by_key(&self, key: &str) -> Result<Option<CampaignInfo>, StorageError> {
        let row: Option<CampaignInfoRow> =
            sqlx::query_as(&format!("{CAMPAIGN_INFO} WHERE c.key = $1"))
                .bind(key)
                .fetch_optional(&self.read)
                .await?;
        row.map(CampaignInfo::try_from).transpose()
    }

    /// The campaign whose plan `year`'s numbers are judged against: the one
    /// in force, else the most recently closed one (a finished year keeps
    /// its plan). A draft never is.
    pub async fn campaign_for_year(&self, year: i32) -> Result<Option<CampaignInfo>, StorageError> {
        let row: Option<CampaignInfoRow> = sqlx::query_as(&format!(
            "{CAMPAIGN_INFO} WHERE c.year = $1 AND c.state IN ('active', 'closed') \
             ORDER BY CASE c.state WHEN 'active' THEN 0 ELSE 1 END, COALESCE(c.state_changed_at, 0) DESC, c.id DESC LIMIT 1"
        ))
        .bind(i64::from(year))
        .fetch_optional(&self.read)
        .await?;
        row.map(CampaignInfo::try_from).transpose()
    }

    /// The digest of the plan files of a campaign's latest revision (None
    /// when that revision was loaded before the files were kept).
    pub async fn plan_sources_digest(
        &self,
        campaign_id: i64,
    ) -> Result<Option<String>, StorageError> {
        let digest: Option<Option<String>> = sqlx::query_scalar(
            "SELECT sources_digest FROM campaign_revisions WHERE campaign_id = $1 \
             ORDER BY number DESC LIMIT 1",
        )
        .bind(campaign_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(digest.flatten())
    }

    /// The plan files of a campaign's latest revision, as loaded.
    pub async fn plan_sources(
        &self,
        campaign_id: i64,
    ) -> Result<Option<Vec<gongjian_campaign::PlanFile>>, StorageError> {
        let sources: Option<Option<String>> = sqlx::query_scalar(
            "SELECT sources FROM campaign_revisions WHERE campaign_id = $1 \
             ORDER BY number DESC LIMIT 1",
        )
        .bind(campaign_id)
        .fetch_optional(&self.read)
        .await?;
        let Some(text) = sources.flatten() else {
            return Ok(None);
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StorageError::Corrupt(format!("campaign_revisions.sources: {e}")))
    }

    /// Move a campaign to `to`. Allowed: 草稿 → 执行中, 执行中 → 已结束, and
    /// 已结束 → 执行中 to reopen a campaign closed by mistake. Refused when
    /// another campaign of the same district and year is already in force.
    pub async fn set_campaign_state(
        &self,
        actor: &Actor,
        key: &str,
        to: CampaignState,
    ) -> Result<CampaignInfo, StorageError> {
        let mut tx = self.write.begin().await?;
        let (id, district, year, state): (i64, String, i64, String) =
            sqlx::query_as("SELECT id, district, year, state FROM campaigns WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StorageError::NotFound {
                    entity: "campaign",
                    key: key.to_owned(),
                })?;
        let from = campaign_state(&state)?;
        let allowed = matches!(
            (from, to),
            (CampaignState::Draft, CampaignState::Active)
                | (CampaignState::Active, CampaignState::Closed)
                | (CampaignState::Closed, CampaignState::Active)
        );
        if !allowed {
            return Err(StorageError::rule(
                crate::Rule::CampaignState,
                format!(
                    "攻坚方案 {key} 当前为「{}」，不能改为「{}」",
                    from.label(),
                    to.label()
                ),
            ));
        }
        if to == CampaignState::Active {
            let other: Option<String> = sqlx::query_scalar(
                "SELECT key FROM campaigns WHERE district = $1 AND year = $2 AND state = 'active' AND id <> $3",
            )
            .bind(&district)
            .bind(year)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(other) = other {
                return Err(StorageError::rule(
                    crate::Rule::CampaignState,
                    format!("{district} {year} 年已有执行中的攻坚方案 {other}，请先结束它"),
                ));
            }
        }
        sqlx::query("UPDATE campaigns SET state = $1, state_changed_at = $2 WHERE id = $3")
            .bind(to.as_str())
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("set_state", "campaign", key)
                .before(&json!({"state": from.as_str()}))
                .after(&json!({"state": to.as_str()})),
        )
        .await?;
        tx.commit().await?;
        self.list()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or_else(|| StorageError::Corrupt(format!("campaign {key} vanished")))
    }

    /// Revisions of a campaign, oldest first.
    pub async fn campaign_revisions(&self, key: &str) -> Result<Vec<Revision>, StorageError> {
        let rows: Vec<RevisionRow> = sqlx::query_as(
            "SELECT r.number, r.digest, r.changes, r.loaded_at, r.loaded_by FROM campaign_revisions r \
             JOIN campaigns c ON c.id = r.campaign_id WHERE c.key = $1 ORDER BY r.number",
        )
        .bind(key)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Revision::from).collect())
    }

    /// Active targets, in plan order.
    pub async fn campaign_targets(
        &self,
        campaign_id: Option<i64>,
    ) -> Result<Vec<TargetRecord>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT id, key, plan, indicator, scope, comparator, value, value_text, baseline, unit, \
             period, measured, as_written FROM campaign_targets \
             WHERE active = 1 AND ($1 IS NULL OR campaign_id = $1) ORDER BY id",
        )
        .bind(campaign_id)
        .fetch_all(&self.read)
        .await?)
    }

    // ------------------------------------------------------------ reading

    /// Active tasks matching the filter, in plan order.
    pub async fn tasks(&self, filter: &TaskFilter) -> Result<Vec<TaskRecord>, StorageError> {
        let rows: Vec<TaskRow> = sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS} FROM campaign_tasks t WHERE t.active = 1 \
             AND ($1 IS NULL OR t.campaign_id = $1) \
             AND ($2 IS NULL OR t.plan = $2) \
             AND ($3 IS NULL OR t.group_id = $3) \
             AND ($4 IS NULL OR t.status = $4) \
             AND ($5 IS NULL OR EXISTS (SELECT 1 FROM task_assignments a WHERE a.task_id = t.id \
                  AND a.active = 1 AND a.organisation_id = $5)) \
             AND ($6 IS NULL OR EXISTS (SELECT 1 FROM task_milestones m WHERE m.task_id = t.id AND m.due <= $6)) \
             ORDER BY t.id"
        ))
        .bind(filter.campaign_id)
        .bind(filter.plan.as_deref())
        .bind(filter.group.as_deref())
        .bind(filter.status.map(TaskStatus::as_str))
        .bind(filter.organisation_id)
        .bind(filter.due_before.as_deref())
        .fetch_all(&self.read)
        .await?;
        let mut tasks = rows
            .into_iter()
            .map(TaskRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let leads: Vec<(i64, String)> = sqlx::query_as(
            "SELECT a.task_id, o.name FROM task_assignments a JOIN organisations o ON o.id = a.organisation_id \
             WHERE a.active = 1 AND a.role = 'lead' ORDER BY a.id",
        )
        .fetch_all(&self.read)
        .await?;
        let mut lead_map: HashMap<i64, Vec<String>> = HashMap::new();
        for (task_id, name) in leads {
            lead_map.entry(task_id).or_default().push(name);
        }
        let dues: Vec<(i64, String)> =
            sqlx::query_as("SELECT task_id, due FROM task_milestones ORDER BY due")
                .fetch_all(&self.read)
                .await?;
        let today = today_cst().to_string();
        let mut due_map: HashMap<i64, String> = HashMap::new();
        for (id, due) in dues {
            let entry = due_map.entry(id).or_insert_with(|| due.clone());
            // Keep the first future date; else the latest past one.
            if *entry < today {
                *entry = due;
            }
        }
        for t in &mut tasks {
            t.lead = lead_map.remove(&t.id).unwrap_or_default();
            t.next_due = due_map.remove(&t.id);
        }
        Ok(tasks)
    }

    pub async fn task_id_by_key(
        &self,
        campaign_id: Option<i64>,
        key: &str,
    ) -> Result<i64, StorageError> {
        sqlx::query_scalar(
            "SELECT id FROM campaign_tasks WHERE key = $1 AND ($2 IS NULL OR campaign_id = $2) \
             ORDER BY active DESC, id DESC LIMIT 1",
        )
        .bind(key)
        .bind(campaign_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "task",
            key: key.to_owned(),
        })
    }

    /// Everything about one task.
    pub async fn task_detail(&self, task_id: i64) -> Result<TaskDetail, StorageError> {
        let row: TaskContentRow = sqlx::query_as(&format!(
            "SELECT {TASK_COLUMNS}, t.content FROM campaign_tasks t WHERE t.id = $1"
        ))
        .bind(task_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "task",
            key: task_id.to_string(),
        })?;
        let mut task = TaskRecord::try_from(row.task)?;
        let content: Value = serde_json::from_str(&row.content).unwrap_or(Value::Null);
        let names = |k: &str| -> Vec<String> {
            content[k]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        task.lead = names("lead");
        let milestones: Vec<MilestoneRecord> = sqlx::query_as(
            "SELECT id, due, what, as_written, recurring FROM task_milestones WHERE task_id = $1 ORDER BY seq",
        )
        .bind(task_id)
        .fetch_all(&self.read)
        .await?;
        let today = today_cst().to_string();
        task.next_due = milestones
            .iter()
            .find(|m| m.due >= today)
            .or(milestones.last())
            .map(|m| m.due.clone());
        let indicators = self.task_indicators(task_id).await?;
        let assignments = sqlx::query_as::<_, AssignmentRow>(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.task_id = $1 AND a.active = 1 ORDER BY a.id"
        ))
        .bind(task_id)
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(AssignmentRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
        let reports = self.reports_where("r.task_id = $1", task_id).await?;
        let history = sqlx::query_as::<_, StatusChangeRow>(
            "SELECT h.assignment_id, o.name, h.from_status, h.to_status, h.reason, h.actor_name, h.at \
             FROM task_status_history h LEFT JOIN task_assignments a ON a.id = h.assignment_id \
             LEFT JOIN organisations o ON o.id = a.organisation_id WHERE h.task_id = $1 ORDER BY h.id",
        )
        .bind(task_id)
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(StatusChange::try_from)
        .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(TaskDetail {
            cooperating: names("cooperating"),
            townships: names("townships"),
            task,
            milestones,
            indicators,
            assignments,
            reports,
            history,
        })
    }

    pub async fn task_indicators(
        &self,
        task_id: i64,
    ) -> Result<Vec<IndicatorRecord>, StorageError> {
        Ok(sqlx::query_as::<_, IndicatorRow>(
            "SELECT name, comparator, value, unit, reported FROM task_indicators WHERE task_id = $1 ORDER BY seq",
        )
        .bind(task_id)
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(IndicatorRecord::from)
        .collect())
    }

    async fn reports_where(
        &self,
        condition: &str,
        id: i64,
    ) -> Result<Vec<ReportRecord>, StorageError> {
        let rows: Vec<ReportRow> = sqlx::query_as(&format!(
            "{REPORT_SELECT} WHERE {condition} ORDER BY r.id DESC"
        ))
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        let mut reports: Vec<ReportRecord> = rows.into_iter().map(ReportRecord::from).collect();
        for r in &mut reports {
            r.values = sqlx::query_as(
                "SELECT indicator, value, unit FROM report_values WHERE report_id = $1 ORDER BY indicator",
            )
            .bind(r.id)
            .fetch_all(&self.read)
            .await?;
            r.attachments = sqlx::query_as(
                "SELECT id, sha256, content_type, size, file_name FROM attachments WHERE report_id = $1 ORDER BY id",
            )
            .bind(r.id)
            .fetch_all(&self.read)
            .await?;
        }
        Ok(reports)
    }

    pub async fn report(&self, report_id: i64) -> Result<ReportRecord, StorageError> {
        self.reports_where("r.id = $1", report_id)
            .await?
            .pop()
            .ok_or_else(|| StorageError::NotFound {
                entity: "report",
                key: report_id.to_string(),
            })
    }

    /// Add files to a report still waiting for review (a file refused when
    /// it was submitted, a photo taken later). Once the report is reviewed
    /// its content is what was judged: nothing can be added.
    pub async fn add_report_attachments(
        &self,
        actor: &Actor,
        report_id: i64,
        files: &[NewAttachment],
    ) -> Result<ReportRecord, StorageError> {
        let mut tx = self.write.begin().await?;
        let review: Option<String> =
            sqlx::query_scalar("SELECT review FROM task_reports WHERE id = $1")
                .bind(report_id)
                .fetch_optional(&mut *tx)
                .await?;
        match review.as_deref() {
            None => {
                return Err(StorageError::NotFound {
                    entity: "report",
                    key: report_id.to_string(),
                });
            }
            Some("submitted") => {}
            Some(_) => {
                return Err(StorageError::rule(
                    crate::Rule::Review,
                    format!("进展报告 #{report_id} 已审核，不能再补交附件"),
                ));
            }
        }
        if files.is_empty() {
            return Err(StorageError::rule(
                crate::Rule::Attachment,
                "没有可补交的附件",
            ));
        }
        insert_attachments(&mut tx, AttachmentOwner::Report(report_id), files).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("attach", "task_report", report_id)
                .after(&json!({"attachments": attachments_json(files)})),
        )
        .await?;
        tx.commit().await?;
        self.report(report_id).await
    }

    pub async fn reports_of_assignment(
        &self,
        assignment_id: i64,
    ) -> Result<Vec<ReportRecord>, StorageError> {
        self.reports_where("r.assignment_id = $1", assignment_id)
            .await
    }

    /// Active assignments, optionally of one organisation, in task order.
    pub async fn assignments(
        &self,
        organisation_id: Option<i64>,
        campaign_id: Option<i64>,
    ) -> Result<Vec<AssignmentRecord>, StorageError> {
        sqlx::query_as::<_, AssignmentRow>(&format!(
            "{ASSIGNMENT_SELECT} WHERE a.active = 1 AND t.active = 1 \
             AND ($1 IS NULL OR a.organisation_id = $1) AND ($2 IS NULL OR t.campaign_id = $2) \
             ORDER BY t.id, a.id"
        ))
        .bind(organisation_id)
        .bind(campaign_id)
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(AssignmentRecord::try_from)
        .collect()
    }

    pub async fn assignment(&self, id: i64) -> Result<AssignmentRecord, StorageError> {
        let row: AssignmentRow = sqlx::query_as(&format!("{ASSIGNMENT_SELECT} WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StorageError::NotFound {
                entity: "assignment",
                key: id.to_string(),
            })?;
        row.try_into()
    }

    /// Reports waiting for review by a reviewer, oldest first, each with its
    /// task's key and title: for `None` (the office) every submitted report;
    /// for an organisation, the submitted reports of the other parts of the
    /// tasks it leads. Reports of cancelled parts, withdrawn tasks and closed
    /// campaigns (which refuse reviews) are left out.
    pub async fn reports_awaiting_review(
        &self,
        reviewer_organisation: Option<i64>,
    ) -> Result<Vec<(ReportRecord, String, String)>, StorageError> {
        let rows: Vec<AwaitingReviewRow> = sqlx::query_as(&format!(
            "SELECT q.*, t.key AS task_key, t.title AS task_title FROM ({REPORT_SELECT} \
             WHERE r.review = 'submitted' AND a.active = 1) q \
             JOIN campaign_tasks t ON t.id = q.task_id JOIN campaigns c ON c.id = t.campaign_id \
             WHERE t.active = 1 AND c.state <> 'closed' \
             AND ($1 IS NULL OR (q.organisation_id <> $1 AND EXISTS (SELECT 1 FROM task_assignments l \
                 WHERE l.task_id = q.task_id AND l.organisation_id = $1 AND l.role = 'lead' AND l.active = 1))) \
             ORDER BY q.submitted_at, q.id"
        ))
        .bind(reviewer_organisation)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push((self.report(row.id).await?, row.task_key, row.task_title));
        }
        Ok(out)
    }

    /// Whether `organisation_id` leads task `task_id`.
    pub async fn leads_task(
        &self,
        task_id: i64,
        organisation_id: i64,
    ) -> Result<bool, StorageError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM task_assignments WHERE task_id = $1 AND organisation_id = $2 \
             AND role = 'lead' AND active = 1",
        )
        .bind(task_id)
        .bind(organisation_id)
        .fetch_one(&self.read)
        .await?;
        Ok(n > 0)
    }

    /// Task counts per status (for the list's header), over the filter.
    pub async fn task_counts(
        &self,
        filter: &TaskFilter,
    ) -> Result<Vec<(TaskStatus, usize)>, StorageError> {
        let mut f = filter.clone();
        f.status = None;
        let tasks = self.tasks(&f).await?;
        Ok(TaskStatus::ALL
            .into_iter()
            .map(|s| (s, tasks.iter().filter(|t| t.status == s).count()))
            .collect())
    }

    // ------------------------------------------------------------ workflow

    /// Submit a progress report on an assignment. The caller checks that the
    /// person may report on it (their organisation's assignment). Indicator
    /// values must name the task's indicators.
    pub async fn submit_report(
        &self,
        actor: &Actor,
        assignment_id: i64,
        report: &NewReport,
    ) -> Result<ReportRecord, StorageError> {
        let mut tx = self.write.begin().await?;
        let id = submit_in(&mut tx, actor, assignment_id, report).await?;
        tx.commit().await?;
        self.report(id).await
    }

    /// Import many progress rows in one transaction: all or nothing.
    pub async fn import_progress(
        &self,
        actor: &Actor,
        rows: &[ImportedProgress],
    ) -> Result<Vec<i64>, StorageError> {
        let mut tx = self.write.begin().await?;
        let mut ids = Vec::with_capacity(rows.len());
        for r in rows {
            ids.push(submit_in(&mut tx, actor, r.assignment_id, &r.report).await?);
        }
        append(
            &mut tx,
            actor,
            AuditRecord::new("import", "task_report", ids.len()).after(&json!({"reports": ids})),
        )
        .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Accept a report, or return it with a comment. Accepting a report that
    /// claims completion completes the assignment.
    pub async fn review_report(
        &self,
        actor: &Actor,
        report_id: i64,
        review: &Review,
    ) -> Result<ReportRecord, StorageError> {
        let before = self.report(report_id).await?;
        let state: String = sqlx::query_scalar(
            "SELECT c.state FROM task_assignments a JOIN campaign_tasks t ON t.id = a.task_id \
             JOIN campaigns c ON c.id = t.campaign_id WHERE a.id = $1",
        )
        .bind(before.assignment_id)
        .fetch_one(&self.read)
        .await?;
        if campaign_state(&state)? == CampaignState::Closed {
            return Err(StorageError::rule(
                crate::Rule::CampaignState,
                format!("报告 #{report_id} 所属攻坚方案已结束（归档只读），不能再审核"),
            ));
        }
        if before.review != "submitted" {
            return Err(StorageError::rule(
                crate::Rule::Review,
                format!(
                    "报告 #{report_id} 已审核（{}），不能重复审核",
                    if before.review == "accepted" {
                        "已通过"
                    } else {
                        "已退回"
                    }
                ),
            ));
        }
        let (state, comment) = match review {
            Review::Accept => ("accepted", None),
            Review::AcceptWithComment(c) => {
                let c = c.trim();
                if c.is_empty() {
                    ("accepted", None)
                } else {
                    validate::text("审核意见", c, validate::TEXT_MAX)?;
                    ("accepted", Some(c.to_owned()))
                }
            }
            Review::Return(c) => {
                let c = c.trim();
                if c.is_empty() {
                    return Err(StorageError::rule(
                        crate::Rule::Review,
                        "退回报告须填写意见",
                    ));
                }
                validate::text("审核意见", c, validate::TEXT_MAX)?;
                ("returned", Some(c.to_owned()))
            }
        };
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "UPDATE task_reports SET review = $1, review_comment = $2, reviewed_by = $3, reviewed_at = $4 \
             WHERE id = $5 AND review = 'submitted'",
        )
        .bind(state)
        .bind(&comment)
        .bind(&actor.name)
        .bind(now())
        .bind(report_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StorageError::Conflict {
                entity: "report review",
                key: report_id.to_string(),
            });
        }
        // Other reports of this assignment still waiting keep it 待审核.
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM task_reports WHERE assignment_id = $1 AND review = 'submitted'",
        )
        .bind(before.assignment_id)
        .fetch_one(&mut *tx)
        .await?;
        let (to, reason) = match review {
            Review::Accept | Review::AcceptWithComment(_) if before.claims_complete => (
                TaskStatus::Done,
                format!("报告 #{report_id} 审核通过，确认完成"),
            ),
            Review::Accept | Review::AcceptWithComment(_) => (
                TaskStatus::InProgress,
                format!("报告 #{report_id} 审核通过"),
            ),
            Review::Return(_) => (
                TaskStatus::InProgress,
                format!(
                    "报告 #{report_id} 被退回：{}",
                    comment.clone().unwrap_or_default()
                ),
            ),
        };
        if waiting == 0 || to == TaskStatus::Done {
            set_assignment_status(&mut tx, before.assignment_id, to, &reason, &actor.name).await?;
        }
        recompute_task(&mut tx, before.task_id, &actor.name).await?;
        let after = json!({"id": report_id, "review": state, "comment": comment});
        append(
            &mut tx,
            actor,
            AuditRecord::new(
                if state == "accepted" {
                    "accept"
                } else {
                    "return"
                },
                "task_report",
                report_id,
            )
            .before(&json!({"id": report_id, "review": before.review}))
            .after(&after),
        )
        .await?;
        tx.commit().await?;
        self.report(report_id).await
    }

    /// The office signs a task off (销号). Refused unless every active
    /// assignment is complete.
    pub async fn sign_off_task(
        &self,
        actor: &Actor,
        task_id: i64,
    ) -> Result<TaskRecord, StorageError> {
        let detail = self.task_detail(task_id).await?;
        if detail.task.signed_off_at.is_some() {
            return Err(StorageError::rule(
                crate::Rule::TaskState,
                format!("任务 {} 已销号", detail.task.key),
            ));
        }
        let open: Vec<String> = detail
            .assignments
            .iter()
            .filter(|a| a.status != TaskStatus::Done)
            .map(|a| format!("{}（{}）", a.organisation_name, a.status_label))
            .collect();
        if !open.is_empty() || detail.assignments.is_empty() {
            return Err(StorageError::rule(
                crate::Rule::TaskState,
                format!(
                    "任务 {} 不能销号：尚未完成的责任单位：{}",
                    detail.task.key,
                    if open.is_empty() {
                        "无责任单位".to_owned()
                    } else {
                        open.join("、")
                    }
                ),
            ));
        }
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE campaign_tasks SET signed_off_at = $1, signed_off_by = $2 WHERE id = $3",
        )
        .bind(now())
        .bind(&actor.name)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        recompute_task(&mut tx, task_id, &actor.name).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("sign_off", "task", &detail.task.key)
                .before(&json!({"status": detail.task.status.as_str()}))
                .after(&json!({"status": "done"})),
        )
        .await?;
        tx.commit().await?;
        Ok(self.task_detail(task_id).await?.task)
    }

    /// Raise reminders for milestones due within `remind_days` of `today`,
    /// and mark assignments overdue whose task has a milestone before
    /// `today` and that are not complete (or awaiting review). Each reminder
    /// is raised once. A machine write: status changes are kept in the
    /// history with actor `system:deadlines`.
    pub async fn run_deadlines(
        &self,
        today: NaiveDate,
        remind_days: u32,
    ) -> Result<DeadlineRun, StorageError> {
        let today_s = today.to_string();
        let horizon = (today + chrono::Duration::days(i64::from(remind_days))).to_string();
        let actor = "system:deadlines";
        let mut run = DeadlineRun::default();
        let mut tx = self.write.begin().await?;
        let due: Vec<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT m.id, m.due, m.task_id, m.recurring FROM task_milestones m JOIN campaign_tasks t ON t.id = m.task_id \
             JOIN campaigns c ON c.id = t.campaign_id \
             WHERE t.active = 1 AND t.signed_off_at IS NULL AND c.state = 'active' AND m.due <= $1",
        )
        .bind(&horizon)
        .fetch_all(&mut *tx)
        .await?;
        let mut overdue_tasks = BTreeSet::new();
        // Per task, the due days of its monthly duty that have passed.
        let mut passed_months: BTreeMap<i64, Vec<NaiveDate>> = BTreeMap::new();
        for (id, d, task_id, recurring) in due {
            let kind = if d < today_s { "overdue" } else { "due_soon" };
            if recurring != 0 {
                if kind == "overdue" {
                    // Judged per part below; a month met is no 逾期 reminder.
                    if let Ok(day) = NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
                        passed_months.entry(task_id).or_default().push(day);
                    }
                    continue;
                }
            } else if kind == "overdue" {
                overdue_tasks.insert((task_id, d.clone()));
            }
            let res = sqlx::query(
                "INSERT INTO task_reminders (milestone_id, kind, raised_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (milestone_id, kind) DO NOTHING",
            )
            .bind(id)
            .bind(kind)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            run.reminders_raised += res.rows_affected() as usize;
        }
        let mut touched = BTreeSet::new();
        // A monthly duty asks one progress report a month of each lead part
        // (the 调度 or 通报 is the lead's; the others report as usual), for
        // the months whose day ended after the part was given: a part with
        // fewer reports (returned ones do not count) than months passed is
        // 逾期. A late report, once in, meets the month it was late for and
        // the next month asks its own.
        for (task_id, days) in &passed_months {
            let parts: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT a.id, a.created_at, \
                 (SELECT COUNT(*) FROM task_reports r WHERE r.assignment_id = a.id AND r.review <> 'returned') \
                 FROM task_assignments a WHERE a.task_id = $1 AND a.active = 1 AND a.role = 'lead' \
                 AND a.status IN ('not_started', 'in_progress')",
            )
            .bind(task_id)
            .fetch_all(&mut *tx)
            .await?;
            for (aid, created_at, reports) in parts {
                let asked: Vec<&NaiveDate> = days
                    .iter()
                    .filter(|d| {
                        d.succ_opt().is_some_and(|next| {
                            gongjian_standards::cst::day_start_utc(next) > created_at
                        })
                    })
                    .collect();
                let Some(latest) = asked.iter().max() else {
                    continue;
                };
                if reports >= asked.len() as i64 {
                    continue;
                }
                let reason = format!(
                    "每月节点 {latest} 已过，本月未报送进展（应报 {} 次，已报 {reports} 次）",
                    asked.len()
                );
                if set_assignment_status(&mut tx, aid, TaskStatus::Overdue, &reason, actor).await? {
                    run.assignments_marked_overdue += 1;
                }
                touched.insert(*task_id);
            }
        }
        for (task_id, d) in &overdue_tasks {
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM task_assignments WHERE task_id = $1 AND active = 1 \
                 AND status IN ('not_started', 'in_progress')",
            )
            .bind(task_id)
            .fetch_all(&mut *tx)
            .await?;
            for aid in ids {
                if set_assignment_status(
                    &mut tx,
                    aid,
                    TaskStatus::Overdue,
                    &format!("节点 {d} 已过，未完成"),
                    actor,
                )
                .await?
                {
                    run.assignments_marked_overdue += 1;
                }
            }
            touched.insert(*task_id);
        }
        for task_id in touched {
            recompute_task(&mut tx, task_id, actor).await?;
        }
        tx.commit().await?;
        Ok(run)
    }

    /// Reminders raised, newest first, optionally for one organisation's
    /// assignments.
    pub async fn reminders(
        &self,
        organisation_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Reminder>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT t.id AS task_id, t.key, t.title, m.due, m.what, r.kind, r.raised_at \
             FROM task_reminders r JOIN task_milestones m ON m.id = r.milestone_id \
             JOIN campaign_tasks t ON t.id = m.task_id \
             WHERE t.active = 1 AND t.signed_off_at IS NULL AND ($1 IS NULL OR EXISTS (SELECT 1 FROM task_assignments a \
               WHERE a.task_id = t.id AND a.active = 1 AND a.organisation_id = $1 AND a.status <> 'done')) \
             ORDER BY m.due DESC, r.id DESC LIMIT $2",
        )
        .bind(organisation_id)
        .bind(limit.max(1))
        .fetch_all(&self.read)
        .await?)
    }

    // ------------------------------------------------------------ fire points

    /// Record one straw-burning fire point (air task 15) with its deduction.
    pub async fn add_fire_point(
        &self,
        actor: &Actor,
        point: &NewFirePoint,
    ) -> Result<FirePointRecord, StorageError> {
        let mut tx = self.write.begin().await?;
        let id = insert_fire_point(&mut tx, actor, point, "manual").await?;
        tx.commit().await?;
        self.fire_point(id).await
    }

    /// The deduction per point of each kind in `year`'s campaign (see
    /// [`FireKind`]); `None` where the plan sets none.
    pub async fn fire_amounts(
        &self,
        year: i32,
    ) -> Result<Vec<(FireKind, Option<Decimal>)>, StorageError> {
        let mut conn = self.read.acquire().await?;
        let mut out = Vec::new();
        for kind in FireKind::ALL {
            out.push((kind, fire_amount(&mut conn, year, kind).await?));
        }
        Ok(out)
    }

    /// Record many fire points in one transaction (an import): all or nothing.
    pub async fn import_fire_points(
        &self,
        actor: &Actor,
        points: &[NewFirePoint],
    ) -> Result<Vec<i64>, StorageError> {
        let mut tx = self.write.begin().await?;
        let mut ids = Vec::with_capacity(points.len());
        for p in points {
            ids.push(insert_fire_point(&mut tx, actor, p, "import").await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// The live (not voided) entry already recorded for the point's
    /// township, day and place, if any: what [`Campaigns::add_fire_point`] refuses.
    pub async fn fire_point_duplicate(
        &self,
        point: &NewFirePoint,
    ) -> Result<Option<i64>, StorageError> {
        let mut conn = self.read.acquire().await?;
        live_duplicate(&mut conn, point).await
    }

    /// Void a fire point (office): it stays in the ledger with the reason,
    /// who and when, and no longer counts in the totals and deductions.
    /// Audited; a voided point cannot be voided again.
    pub async fn void_fire_point(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<FirePointRecord, StorageError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(StorageError::rule(
                crate::Rule::FirePoint,
                "作废火点须填写原因",
            ));
        }
        validate::text("作废原因", reason, validate::SHORT_TEXT_MAX)?;
        let before = self.fire_point(id).await?;
        let mut tx = self.write.begin().await?;
        let t = now();
        let n = sqlx::query(
            "UPDATE fire_points SET voided_at = $1, voided_by = $2, void_reason = $3 \
             WHERE id = $4 AND voided_at IS NULL",
        )
        .bind(t)
        .bind(&actor.name)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StorageError::rule(
                crate::Rule::FirePoint,
                format!("火点 #{id} 已作废，不能再次作废"),
            ));
        }
        append(
            &mut tx,
            actor,
            AuditRecord::new("void", "fire_point", id)
                .before(&json!({
                    "id": id, "township_id": before.township_id, "occurred_on": before.occurred_on,
                    "place": before.place, "kind": before.kind.as_str(), "amount": before.amount,
                }))
                .after(&json!({
                    "id": id, "voided_at": t, "voided_by": actor.name, "void_reason": reason,
                })),
        )
        .await?;
        tx.commit().await?;
        self.fire_point(id).await
    }

    /// The township's answer to a pushed point: 属实 (`verdict` true) or
    /// 不属实, with a note and photos. Only a point waiting for it; the
    /// office is told. Audited. (Who may answer is the caller's check.)
    pub async fn reply_fire_point(
        &self,
        actor: &Actor,
        id: i64,
        verdict: bool,
        note: &str,
        files: &[NewAttachment],
    ) -> Result<FirePointRecord, StorageError> {
        let note = note.trim();
        validate::text("核实说明", note, validate::TEXT_MAX)?;
        if !verdict && note.is_empty() {
            return Err(StorageError::rule(
                crate::Rule::FirePoint,
                "反馈不属实须说明理由（如：现场为炊烟、工业热源等）",
            ));
        }
        let before = self.fire_point(id).await?;
        let t = now();
        let mut tx = self.write.begin().await?;
        let n = sqlx::query(
            "UPDATE fire_points SET verification = 'replied', reply_verdict = $1, reply_note = $2, \
             replied_by = $3, replied_at = $4 WHERE id = $5 AND verification = 'pending' AND voided_at IS NULL",
        )
        .bind(if verdict { "true" } else { "false" })
        .bind(note)
        .bind(&actor.name)
        .bind(t)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StorageError::rule(
                crate::Rule::FirePoint,
                format!(
                    "火点 #{id} 当前为「{}」，不能反馈核实结果",
                    if before.voided() {
                        "已作废"
                    } else {
                        before.verification_label()
                    }
                ),
            ));
        }
        insert_attachments(&mut tx, AttachmentOwner::FirePoint(id), files).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("reply", "fire_point", id)
                .before(&json!({"verification": before.verification}))
                .after(
                    &json!({"verification": "replied", "verdict": verdict, "note": note,
                    "attachments": attachments_json(files)}),
                ),
        )
        .await?;
        crate::cases::notify(
            &mut tx,
            &[],
            true,
            "fire_replied",
            &format!(
                "{} 反馈火点 {} {}：{}，待确认",
                before.township,
                before.occurred_on,
                before.place,
                if verdict { "属实" } else { "不属实" }
            ),
            "/ledger",
        )
        .await?;
        tx.commit().await?;
        self.fire_point(id).await
    }

    /// The office's decision on a pushed point, with or without the
    /// township's answer: 属实 (it counts toward the deduction) or 不属实.
    /// Audited; a decided or voided point cannot be decided again.
    pub async fn confirm_fire_point(
        &self,
        actor: &Actor,
        id: i64,
        verdict: bool,
        note: &str,
    ) -> Result<FirePointRecord, StorageError> {
        let note = note.trim();
        validate::text("确认说明", note, validate::TEXT_MAX)?;
        let before = self.fire_point(id).await?;
        let state = if verdict { "confirmed" } else { "dismissed" };
        let t = now();
        let mut tx = self.write.begin().await?;
        let n = sqlx::query(
            "UPDATE fire_points SET verification = $1, confirmed_by = $2, confirmed_at = $3 \
             WHERE id = $4 AND verification IN ('pending', 'replied') AND voided_at IS NULL",
        )
        .bind(state)
        .bind(&actor.name)
        .bind(t)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StorageError::rule(
                crate::Rule::FirePoint,
                format!(
                    "火点 #{id} 当前为「{}」，不能再确认",
                    if before.voided() {
                        "已作废"
                    } else {
                        before.verification_label()
                    }
                ),
            ));
        }
        append(
            &mut tx,
            actor,
            AuditRecord::new("confirm", "fire_point", id)
                .before(&json!({"verification": before.verification, "reply_verdict": before.reply_verdict}))
                .after(&json!({"verification": state, "note": note})),
        )
        .await?;
        tx.commit().await?;
        self.fire_point(id).await
    }

    pub async fn fire_point(&self, id: i64) -> Result<FirePointRecord, StorageError> {
        self.fire_points_where("f.id = $1", Some(id))
            .await?
            .pop()
            .ok_or_else(|| StorageError::NotFound {
                entity: "fire point",
                key: id.to_string(),
            })
    }

    /// Fire points, optionally of one township, newest first.
    pub async fn fire_points(
        &self,
        township_id: Option<i64>,
    ) -> Result<Vec<FirePointRecord>, StorageError> {
        self.fire_points_where("($1 IS NULL OR f.township_id = $1)", township_id)
            .await
    }

    async fn fire_points_where(
        &self,
        condition: &str,
        id: Option<i64>,
    ) -> Result<Vec<FirePointRecord>, StorageError> {
        let rows: Vec<FirePointRow> = sqlx::query_as(&format!(
            "SELECT f.id, f.township_id, o.name, f.occurred_on, f.month, f.place, f.kind, f.amount, \
             f.note, f.source, f.created_by, f.voided_at, f.voided_by, f.void_reason, \
             f.verification, f.reply_due, f.reply_verdict, f.reply_note, f.replied_by, f.replied_at, \
             f.confirmed_by, f.confirmed_at, f.longitude, f.latitude \
             FROM fire_points f JOIN organisations o ON o.id = f.township_id \
             WHERE {condition} ORDER BY f.occurred_on DESC, f.id DESC"
        ))
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let kind: FireKind = r.kind.parse()?;
            let attachments = sqlx::query_as(
                "SELECT id, sha256, content_type, size, file_name FROM attachments WHERE fire_point_id = $1 ORDER BY id",
            )
            .bind(r.id)
            .fetch_all(&self.read)
            .await?;
            out.push(FirePointRecord {
                id: r.id,
                township_id: r.township_id,
                township: r.name,
                occurred_on: r.occurred_on,
                month: r.month,
                place: r.place,
                kind,
                kind_label: kind.label(),
                amount: r.amount,
                note: r.note,
                source: r.source,
                created_by: r.created_by,
                attachments,
                voided_at: r.voided_at,
                voided_by: r.voided_by,
                void_reason: r.void_reason,
                verification: r.verification,
                reply_due: r.reply_due,
                reply_verdict: r.reply_verdict,
                reply_note: r.reply_note,
                replied_by: r.replied_by,
                replied_at: r.replied_at,
                confirmed_by: r.confirmed_by,
                confirmed_at: r.confirmed_at,
                longitude: r.longitude,
                latitude: r.latitude,
            });
        }
        Ok(out)
    }

    /// Totals per township per month (exact 元), months newest first;
    /// only confirmed points count (not voided, not waiting for or
    /// dismissed by verification).
    pub async fn fire_point_totals(&self) -> Result<Vec<FireTotal>, StorageError> {
        let points = self.fire_points(None).await?;
        let mut totals: BTreeMap<(String, String), (i64, i64, i64, Decimal)> = BTreeMap::new();
        for p in points.iter().filter(|p| p.counts()) {
            let e = totals
                .entry((p.month.clone(), p.township.clone()))
                .or_insert((0, 0, 0, Decimal::ZERO));
            e.0 += 1;
            if p.kind == FireKind::Straw {
                e.1 += 1;
            } else {
                e.2 += 1;
            }
            e.3 += Decimal::from_str(&p.amount)
                .map_err(|e| StorageError::Corrupt(format!("fire point {}: amount {e}", p.id)))?;
        }
        let mut out: Vec<FireTotal> = totals
            .into_iter()
            .map(|((month, township), (n, s, o, a))| FireTotal {
                township,
                month,
                points: n,
                straw_points: s,
                other_points: o,
                amount: a.to_string(),
            })
            .collect();
        out.sort_by(|a, b| b.month.cmp(&a.month).then(a.township.cmp(&b.township)));
        Ok(out)
    }

    /// Attachments by checksum (to serve a file the caller may read).
    pub async fn attachment(
        &self,
        id: i64,
    ) -> Result<(AttachmentRecord, Option<i64>, Option<i64>), StorageError> {
        let row: OwnedAttachmentRow = sqlx::query_as(
            "SELECT id, sha256, content_type, size, file_name, report_id, fire_point_id FROM attachments WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "attachment",
            key: id.to_string(),
        })?;
        Ok((row.attachment, row.report_id, row.fire_point_id))
    }
}

async fn submit_in(
    conn: &mut AnyConnection,
    actor: &Actor,
    assignment_id: i64,
    report: &NewReport,
) -> Result<i64, StorageError> {
    let text = report.text.trim();
    if text.is_empty() && report.values.is_empty() {
        return Err(StorageError::rule(
            crate::Rule::Progress,
            "进展报告内容为空：请填写进展情况或指标数值",
        ));
    }
    validate::text("进展情况", text, validate::LONG_TEXT_MAX)?;
    for (name, _) in &report.values {
        validate::line("指标名称", name, validate::NAME_MAX)?;
    }
    let a: AssignmentStateRow = sqlx::query_as(
        "SELECT a.task_id, a.active, t.active AS task_active, t.signed_off_at, c.key AS campaign_key, c.state \
         FROM task_assignments a JOIN campaign_tasks t ON t.id = a.task_id \
         JOIN campaigns c ON c.id = t.campaign_id WHERE a.id = $1",
    )
    .bind(assignment_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StorageError::NotFound {
        entity: "assignment",
        key: assignment_id.to_string(),
    })?;
    let task_id = a.task_id;
    if a.active == 0 || a.task_active == 0 {
        return Err(StorageError::rule(
            crate::Rule::TaskState,
            format!("责任分工 #{assignment_id} 已不在现行计划中"),
        ));
    }
    if a.signed_off_at.is_some() {
        return Err(StorageError::rule(
            crate::Rule::TaskState,
            format!("责任分工 #{assignment_id} 所属任务已销号，不再接受报告"),
        ));
    }
    if campaign_state(&a.state)? == CampaignState::Closed {
        return Err(StorageError::rule(
            crate::Rule::CampaignState,
            format!(
                "攻坚方案 {} 已结束（归档只读），不再接受进展报告",
                a.campaign_key
            ),
        ));
    }
    let indicators: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT name, unit, reported FROM task_indicators WHERE task_id = $1")
            .bind(task_id)
            .fetch_all(&mut *conn)
            .await?;
    // Only the indicators the organisations report; the plan's other
    // figures (penalties, criteria, limits) are not progress values.
    let mut units: HashMap<String, String> = HashMap::new();
    let mut not_reported = BTreeSet::new();
    for (name, unit, reported) in indicators {
        if reported != 0 {
            units.insert(name, unit);
        } else {
            not_reported.insert(name);
        }
    }
    let mut seen = BTreeSet::new();
    for (name, _) in &report.values {
        if not_reported.contains(name) {
            return Err(StorageError::rule(
                crate::Rule::Progress,
                format!("“{name}”是方案规定的标准或条件，不是报送指标，无需填报数值"),
            ));
        }
        if !units.contains_key(name) {
            let mut known: Vec<&String> = units.keys().collect();
            known.sort();
            return Err(StorageError::rule(
                crate::Rule::Progress,
                format!(
                    "指标 {name:?} 不是本任务的指标（本任务的报送指标：{}）",
                    if known.is_empty() {
                        "无".to_owned()
                    } else {
                        known
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join("、")
                    }
                ),
            ));
        }
        if !seen.insert(name) {
            return Err(StorageError::rule(
                crate::Rule::Progress,
                format!("指标 {name:?} 填写了两次"),
            ));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO task_reports (assignment_id, task_id, text, claims_complete, submitted_by, submitted_at, review) \
         VALUES ($1, $2, $3, $4, $5, $6, 'submitted') RETURNING id",
    )
    .bind(assignment_id)
    .bind(task_id)
    .bind(text)
    .bind(i64::from(report.claims_complete))
    .bind(&actor.name)
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    for (name, value) in &report.values {
        sqlx::query(
            "INSERT INTO report_values (report_id, indicator, value, unit) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(name)
        .bind(value.normalize().to_string())
        .bind(&units[name])
        .execute(&mut *conn)
        .await?;
    }
    insert_attachments(conn, AttachmentOwner::Report(id), &report.attachments).await?;
    set_assignment_status(
        conn,
        assignment_id,
        TaskStatus::PendingReview,
        &format!("提交进展报告 #{id}"),
        &actor.name,
    )
    .await?;
    recompute_task(conn, task_id, &actor.name).await?;
    append(
        conn,
        actor,
        AuditRecord::new("submit", "task_report", id).after(&json!({
            "id": id, "assignment_id": assignment_id, "task_id": task_id, "text": text,
            "claims_complete": report.claims_complete,
            "values": report.values.iter().map(|(n, v)| json!({"indicator": n, "value": v.normalize().to_string()})).collect::<Vec<_>>(),
            "attachments": attachments_json(&report.attachments),
        })),
    )
    .await?;
    Ok(id)
}

/// Key of the PostgreSQL advisory lock that serializes fire-point entries
/// ("jian_fir").
const FIRE_POINT_LOCK_KEY: i64 = 0x6a69_616e_5f66_6972;

/// A place as compared for duplicates: without spaces (ASCII and
/// ideographic) and ASCII case, so “大堤村 北地块” is “大堤村北地块”.
fn place_key(place: &str) -> String {
    place
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The id of a live entry with the same township, day and place as `p`.
async fn live_duplicate(
    conn: &mut AnyConnection,
    p: &NewFirePoint,
) -> Result<Option<i64>, StorageError> {
    let key = place_key(&p.place);
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, place FROM fire_points \
         WHERE township_id = $1 AND occurred_on = $2 AND voided_at IS NULL ORDER BY id",
    )
    .bind(p.township_id)
    .bind(p.occurred_on.to_string())
    .fetch_all(&mut *conn)
    .await?;
    for (id, place) in rows {
        if place_key(&place) == key {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

async fn insert_fire_point(
    conn: &mut AnyConnection,
    actor: &Actor,
    p: &NewFirePoint,
    source: &str,
) -> Result<i64, StorageError> {
    let place = p.place.trim();
    if place.is_empty() {
        return Err(StorageError::rule(
            crate::Rule::FirePoint,
            "火点位置不能为空",
        ));
    }
    validate::line("火点位置", place, validate::SHORT_TEXT_MAX)?;
    validate::text("备注", p.note.trim(), validate::TEXT_MAX)?;
    let kind: String = sqlx::query_scalar("SELECT kind FROM organisations WHERE id = $1")
        .bind(p.township_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "organisation",
            key: p.township_id.to_string(),
        })?;
    if kind != OrgKind::Township.as_str() {
        return Err(StorageError::rule(
            crate::Rule::FirePoint,
            format!("单位 #{} 不是乡镇/街道，火点须记在乡镇名下", p.township_id),
        ));
    }
    // One live entry per township, day and place: the same point recorded
    // twice would double the township's deduction. Serialized on
    // PostgreSQL so two concurrent entries cannot both pass the check
    // (SQLite has one writer).
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FIRE_POINT_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(existing) = live_duplicate(conn, p).await? {
        let township: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
            .bind(p.township_id)
            .fetch_one(&mut *conn)
            .await?;
        return Err(StorageError::rule(
            crate::Rule::FirePointDuplicate,
            format!(
                "{township} {} 在“{place}”的火点已登记（第 {existing} 号），不能重复登记；如需更正，请先作废原记录",
                p.occurred_on
            ),
        ));
    }
    let month = format!("{:04}-{:02}", p.occurred_on.year(), p.occurred_on.month());
    // A year whose plan sets no amount records 0: the point still counts.
    let amount = fire_amount(conn, p.occurred_on.year(), p.kind)
        .await?
        .unwrap_or_default()
        .to_string();
    if let Some(due) = p.reply_due
        && due < p.occurred_on
    {
        return Err(StorageError::rule(
            crate::Rule::FirePoint,
            "核实期限不能早于火点日期",
        ));
    }
    let in_range = |v: &Option<String>, bound: f64| {
        v.as_deref().is_none_or(|t| {
            t.trim()
                .parse::<f64>()
                .is_ok_and(|x| x.is_finite() && x.abs() <= bound)
        })
    };
    if p.longitude.is_some() != p.latitude.is_some()
        || !in_range(&p.longitude, 180.0)
        || !in_range(&p.latitude, 90.0)
    {
        return Err(StorageError::rule(
            crate::Rule::FirePoint,
            "火点坐标应同时填写经度（−180 至 180）和纬度（−90 至 90）",
        ));
    }
    let verification = if p.reply_due.is_some() {
        "pending"
    } else {
        "confirmed"
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO fire_points (township_id, occurred_on, month, place, kind, amount, note, source, created_by, created_at, \
         verification, reply_due, longitude, latitude) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(p.township_id)
    .bind(p.occurred_on.to_string())
    .bind(&month)
    .bind(place)
    .bind(p.kind.as_str())
    .bind(&amount)
    .bind(p.note.trim())
    .bind(source)
    .bind(&actor.name)
    .bind(now())
    .bind(verification)
    .bind(p.reply_due.map(|d| d.to_string()))
    .bind(p.longitude.as_deref().map(str::trim))
    .bind(p.latitude.as_deref().map(str::trim))
    .fetch_one(&mut *conn)
    .await?;
    insert_attachments(conn, AttachmentOwner::FirePoint(id), &p.attachments).await?;
    append(
        conn,
        actor,
        AuditRecord::new("create", "fire_point", id).after(&json!({
            "id": id, "township_id": p.township_id, "occurred_on": p.occurred_on.to_string(),
            "place": place, "kind": p.kind.as_str(), "amount": amount, "source": source,
            "attachments": attachments_json(&p.attachments),
            "verification": verification, "reply_due": p.reply_due.map(|d| d.to_string()),
            "longitude": p.longitude, "latitude": p.latitude,
        })),
    )
    .await?;
    if let Some(due) = p.reply_due {
        crate::cases::notify(
            conn,
            &[Some(p.township_id)],
            false,
            "fire_push",
            &format!(
                "火点待核实：{} {}（{}），请于 {due} 前反馈属实或不属实",
                p.occurred_on,
                place,
                p.kind.label()
            ),
            "/ledger",
        )
        .await?;
    }
    Ok(id)
}
