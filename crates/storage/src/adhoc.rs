//! 交办: ad-hoc tasks the office (or a department) assigns outside the plan
//! — 督察 findings, 信访, 巡查, the 月调度 meeting, a superior's instruction —
//! with a source, a document number, a deadline per assignment, and the
//! changes an office makes to them afterwards (a deadline extended, a part
//! cancelled), each with its reason and audited.
//!
//! An ad-hoc task is a task of the campaign in force (`kind = 'adhoc'`,
//! `plan = 'adhoc'`, key `jb-N`), so lists, 我的任务, reports, review,
//! deadlines and sign-off treat it like any other; `plan load` leaves it
//! alone.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditRecord, append};
use crate::campaign::{TaskStatus, recompute_task, set_assignment_status};
use crate::{Actor, Rule, StorageError, now, today_cst, validate};

crate::db::area!(
    /// Ad-hoc assignments (交办/督办) outside the loaded plan.
    Adhoc,
    adhoc
);

/// Where a 交办 comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdhocSource {
    /// 督察反馈: findings of a central or provincial inspection.
    Inspection,
    /// 信访投诉: a complaint from the public.
    Petition,
    /// 日常巡查: found on patrol.
    Patrol,
    /// 月调度会议: decided at the monthly scheduling meeting.
    Meeting,
    /// 上级交办: assigned by the city or province.
    Superior,
    /// 其他.
    Other,
}

impl AdhocSource {
    pub const ALL: [AdhocSource; 6] = [
        AdhocSource::Inspection,
        AdhocSource::Petition,
        AdhocSource::Patrol,
        AdhocSource::Meeting,
        AdhocSource::Superior,
        AdhocSource::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdhocSource::Inspection => "inspection",
            AdhocSource::Petition => "petition",
            AdhocSource::Patrol => "patrol",
            AdhocSource::Meeting => "meeting",
            AdhocSource::Superior => "superior",
            AdhocSource::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AdhocSource::Inspection => "督察反馈",
            AdhocSource::Petition => "信访投诉",
            AdhocSource::Patrol => "日常巡查",
            AdhocSource::Meeting => "月调度会议",
            AdhocSource::Superior => "上级交办",
            AdhocSource::Other => "其他",
        }
    }

    pub fn parse(s: &str) -> Option<AdhocSource> {
        AdhocSource::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A 交办 as the office writes it.
#[derive(Debug, Clone)]
pub struct NewAdhocTask {
    pub title: String,
    /// What is to be done, as the notice says it.
    pub summary: String,
    pub source: AdhocSource,
    /// 文号, e.g. 平攻坚办〔2026〕15号; may be empty.
    pub document: String,
    /// 办结时限: the deadline of every part.
    pub due: NaiveDate,
    /// The organisations that must act (each gets one part).
    pub organisations: Vec<i64>,
    /// The organisation issuing it (the office, or a department for work
    /// of its own tasks): it may later extend the deadline or cancel a part.
    pub issuer: i64,
}

/// How many organisations one 交办 may name.
pub const ADHOC_MAX_ORGANISATIONS: usize = 100;

fn invalid(detail: impl Into<String>) -> StorageError {
    StorageError::rule(Rule::Assignment, detail)
}

impl Adhoc<'_> {
    /// Creates a 交办 in the campaign in force for the deadline's year (else
    /// this year's): one task, one milestone (办结时限), one part per
    /// organisation. Returns the task id.
    pub async fn create_adhoc_task(
        &self,
        actor: &Actor,
        t: &NewAdhocTask,
    ) -> Result<i64, StorageError> {
        let title = t.title.trim();
        if title.is_empty() {
            return Err(invalid("请填写交办事项标题"));
        }
        validate::line("交办事项", title, validate::SHORT_TEXT_MAX)?;
        let summary = t.summary.trim();
        validate::text("具体要求", summary, validate::LONG_TEXT_MAX)?;
        let document = t.document.trim();
        validate::line("文号", document, validate::NAME_MAX)?;
        let today = today_cst();
        if t.due < today {
            return Err(invalid(format!("办结时限 {} 早于今天（{today}）", t.due)));
        }
        let mut orgs = t.organisations.clone();
        orgs.sort_unstable();
        orgs.dedup();
        if orgs.is_empty() {
            return Err(invalid("请至少选择一个责任单位"));
        }
        if orgs.len() > ADHOC_MAX_ORGANISATIONS {
            return Err(invalid(format!(
                "一次交办最多 {ADHOC_MAX_ORGANISATIONS} 个责任单位"
            )));
        }

        let mut tx = self.write.begin().await?;
        let mut campaign = None;
        for year in [t.due.year(), today.year()] {
            campaign = sqlx::query_as::<_, (i64, String)>(
                "SELECT id, key FROM campaigns WHERE state = 'active' AND year = $1 ORDER BY id LIMIT 1",
            )
            .bind(i64::from(year))
            .fetch_optional(&mut *tx)
            .await?;
            if campaign.is_some() {
                break;
            }
        }
        let Some((campaign_id, campaign_key)) = campaign else {
            return Err(StorageError::rule(
                Rule::CampaignState,
                format!(
                    "{} 年没有执行中的攻坚方案，不能交办：请先载入并发布本年度方案",
                    t.due.year()
                ),
            ));
        };
        let mut names = Vec::with_capacity(orgs.len());
        for id in &orgs {
            let name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| invalid(format!("责任单位 #{id} 不存在")))?;
            names.push(name);
        }
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM campaign_tasks WHERE campaign_id = $1 AND kind = 'adhoc'",
        )
        .bind(campaign_id)
        .fetch_one(&mut *tx)
        .await?;
        let number = n + 1;
        let key = format!("jb-{number}");
        let at = now();
        let content = json!({
            "source": t.source.as_str(),
            "document": document,
            "issued_by": actor.name,
            "issuer_org": t.issuer,
            "lead": names,
        });
        let task_id: i64 = sqlx::query_scalar(
            "INSERT INTO campaign_tasks (campaign_id, key, plan, group_id, chapter, number, kind, title, summary, \
             content, active, revision, status, status_reason, status_at) \
             VALUES ($1, $2, 'adhoc', NULL, $3, $4, 'adhoc', $5, $6, $7, 1, 0, 'not_started', '', $8) RETURNING id",
        )
        .bind(campaign_id)
        .bind(&key)
        .bind(t.source.label())
        .bind(number.to_string())
        .bind(title)
        .bind(summary)
        .bind(content.to_string())
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO task_milestones (task_id, seq, due, what, as_written) VALUES ($1, 1, $2, '办结时限', $3)",
        )
        .bind(task_id)
        .bind(t.due.to_string())
        .bind((!document.is_empty()).then_some(document))
        .execute(&mut *tx)
        .await?;
        for id in &orgs {
            sqlx::query(
                "INSERT INTO task_assignments (task_id, organisation_id, role, active, status, status_reason, status_at, created_at) \
                 VALUES ($1, $2, 'lead', 1, 'not_started', '', $3, $3)",
            )
            .bind(task_id)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        recompute_task(&mut tx, task_id, &actor.name).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("create", "task", &key).after(&json!({
                "campaign": campaign_key,
                "title": title, "source": t.source.as_str(), "document": document,
                "due": t.due.to_string(), "organisations": names})),
        )
        .await?;
        tx.commit().await?;
        Ok(task_id)
    }

    /// Moves a 交办's deadline to `due`, with the reason. Parts marked
    /// overdue only because of the old deadline are back in progress.
    pub async fn extend_adhoc_deadline(
        &self,
        actor: &Actor,
        task_id: i64,
        due: NaiveDate,
        reason: &str,
    ) -> Result<(), StorageError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(invalid("延期须填写理由"));
        }
        validate::text("延期理由", reason, validate::TEXT_MAX)?;
        let mut tx = self.write.begin().await?;
        let (key, old) = adhoc_open(&mut tx, task_id).await?;
        if due <= old {
            return Err(invalid(format!("新的办结时限须晚于原时限 {old}")));
        }
        sqlx::query("UPDATE task_milestones SET due = $1 WHERE task_id = $2 AND seq = 1")
            .bind(due.to_string())
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        // The old deadline's reminders no longer apply; the new one raises its own.
        sqlx::query(
            "DELETE FROM task_reminders WHERE milestone_id IN (SELECT id FROM task_milestones WHERE task_id = $1)",
        )
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        if due >= today_cst() {
            let overdue: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM task_assignments WHERE task_id = $1 AND active = 1 AND status = 'overdue'",
            )
            .bind(task_id)
            .fetch_all(&mut *tx)
            .await?;
            for id in overdue {
                set_assignment_status(
                    &mut tx,
                    id,
                    TaskStatus::InProgress,
                    &format!("办结时限延至 {due}：{reason}"),
                    &actor.name,
                )
                .await?;
            }
        }
        recompute_task(&mut tx, task_id, &actor.name).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("extend", "task", &key)
                .before(&json!({"due": old.to_string()}))
                .after(&json!({"due": due.to_string(), "reason": reason})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cancels one part of a 交办 (the organisation no longer has to act),
    /// with the reason. Its reports stay; the task's status is recomputed
    /// from the parts that remain.
    pub async fn cancel_adhoc_part(
        &self,
        actor: &Actor,
        assignment_id: i64,
        reason: &str,
    ) -> Result<(), StorageError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(invalid("撤销须填写理由"));
        }
        validate::text("撤销理由", reason, validate::TEXT_MAX)?;
        let mut tx = self.write.begin().await?;
        let (task_id, active, org) = sqlx::query_as::<_, (i64, i64, String)>(
            "SELECT a.task_id, a.active, o.name FROM task_assignments a \
             JOIN organisations o ON o.id = a.organisation_id WHERE a.id = $1",
        )
        .bind(assignment_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "assignment",
            key: assignment_id.to_string(),
        })?;
        let (key, _) = adhoc_open(&mut tx, task_id).await?;
        if active == 0 {
            return Err(invalid(format!("责任分工 #{assignment_id} 已撤销")));
        }
        let remaining: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM task_assignments WHERE task_id = $1 AND active = 1",
        )
        .bind(task_id)
        .fetch_one(&mut *tx)
        .await?;
        if remaining <= 1 {
            return Err(invalid(
                "这是该交办事项唯一的责任单位：撤销整个事项请联系攻坚办",
            ));
        }
        sqlx::query(
            "UPDATE task_assignments SET active = 0, status_reason = $1, status_at = $2 WHERE id = $3",
        )
        .bind(format!("已撤销：{reason}"))
        .bind(now())
        .bind(assignment_id)
        .execute(&mut *tx)
        .await?;
        recompute_task(&mut tx, task_id, &actor.name).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("cancel", "assignment", assignment_id)
                .after(&json!({"task": key, "organisation": org, "reason": reason})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The 交办 metadata of a task (source, document number, who issued
    /// it), or None for a task of the plan.
    pub async fn adhoc_info(&self, task_id: i64) -> Result<Option<AdhocInfo>, StorageError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT kind, content FROM campaign_tasks WHERE id = $1")
                .bind(task_id)
                .fetch_optional(&self.read)
                .await?;
        let Some((kind, content)) = row else {
            return Ok(None);
        };
        if kind != "adhoc" {
            return Ok(None);
        }
        let content: serde_json::Value = serde_json::from_str(&content)
            .map_err(|e| StorageError::Corrupt(format!("campaign_tasks.content: {e}")))?;
        let text = |k: &str| content[k].as_str().unwrap_or_default().to_owned();
        Ok(Some(AdhocInfo {
            source: AdhocSource::parse(&text("source")).unwrap_or(AdhocSource::Other),
            document: text("document"),
            issued_by: text("issued_by"),
            issuer_org: content["issuer_org"].as_i64(),
        }))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdhocInfo {
    pub source: AdhocSource,
    pub document: String,
    pub issued_by: String,
    pub issuer_org: Option<i64>,
}

/// What [`adhoc_open`] reads of a task, its campaign and its deadline.
#[derive(sqlx::FromRow)]
struct OpenAdhocRow {
    key: String,
    kind: String,
    signed_off_at: Option<i64>,
    /// The campaign's state.
    state: String,
    /// The first milestone's date (TEXT), if any.
    due: Option<String>,
}

/// The key and deadline of an open 交办 (not signed off, campaign in force).
async fn adhoc_open(
    conn: &mut sqlx::AnyConnection,
    task_id: i64,
) -> Result<(String, NaiveDate), StorageError> {
    let row = sqlx::query_as::<_, OpenAdhocRow>(
        "SELECT t.key, t.kind, t.signed_off_at, c.state, m.due FROM campaign_tasks t \
         JOIN campaigns c ON c.id = t.campaign_id \
         LEFT JOIN task_milestones m ON m.task_id = t.id AND m.seq = 1 WHERE t.id = $1",
    )
    .bind(task_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StorageError::NotFound {
        entity: "task",
        key: task_id.to_string(),
    })?;
    let key = row.key;
    if row.kind != "adhoc" {
        return Err(invalid(format!(
            "任务 {key} 属于攻坚方案：方案任务的时限和分工在方案中修改"
        )));
    }
    if row.signed_off_at.is_some() {
        return Err(StorageError::rule(
            Rule::TaskState,
            format!("交办事项 {key} 已销号"),
        ));
    }
    if row.state != "active" {
        return Err(StorageError::rule(
            Rule::CampaignState,
            format!("交办事项 {key} 所属攻坚方案不在执行中"),
        ));
    }
    let due = row
        .due
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| StorageError::Corrupt(format!("交办事项 {key} 没有办结时限")))?;
    Ok((key, due))
}
