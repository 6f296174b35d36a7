//! 问责 records (issue 12 item 6): the 约谈, 通报 and 问责 the office
//! decides against an organisation in a month of a campaign — "月部署、
//! 月考核、月通报、月扣款、月问责" — with the reason, the document number
//! (文号) and the day it was decided. They are listed in the month's 月调度
//! and exported with it. A record is never deleted: the office voids it
//! with a reason, and a voided record stays (shown struck through) but is
//! left out of every report. Every write is audited (entity
//! `accountability`).

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditRecord, append};
use crate::{Actor, Rule, StorageError, now, today_cst, validate};

crate::db::area!(
    /// 问责 records (约谈、通报、问责) of a campaign's months.
    Accountability,
    accountability
);

/// What the office decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountabilityKind {
    /// 约谈: the organisation's head is summoned to a talk.
    Interview,
    /// 通报: named in a circular (通报批评).
    Notice,
    /// 问责: officials held to account.
    Accountability,
}

impl AccountabilityKind {
    pub const ALL: [AccountabilityKind; 3] = [
        AccountabilityKind::Interview,
        AccountabilityKind::Notice,
        AccountabilityKind::Accountability,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountabilityKind::Interview => "interview",
            AccountabilityKind::Notice => "notice",
            AccountabilityKind::Accountability => "accountability",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AccountabilityKind::Interview => "约谈",
            AccountabilityKind::Notice => "通报",
            AccountabilityKind::Accountability => "问责",
        }
    }

    /// The code (`interview`) or the Chinese label (约谈).
    pub fn parse(s: &str) -> Option<AccountabilityKind> {
        let s = s.trim();
        AccountabilityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || k.label() == s)
    }
}

/// The longest reason (事由) a record takes, in characters.
pub const ACCOUNTABILITY_REASON_MAX: usize = 500;
/// The longest document number (文号), in characters.
pub const ACCOUNTABILITY_DOCUMENT_MAX: usize = 100;

/// A record as the office enters it.
#[derive(Debug, Clone)]
pub struct NewAccountability {
    /// The campaign the month belongs to (`pingyuan-2026`).
    pub campaign_key: String,
    /// `YYYY-MM`, a month of the campaign's year.
    pub month: String,
    pub organisation_id: i64,
    pub kind: AccountabilityKind,
    /// 事由: why, as the decision says it.
    pub reason: String,
    /// 文号; empty when the decision has none.
    pub document_number: String,
    /// The day it was decided (not after today).
    pub decided_on: NaiveDate,
}

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountabilityRecord {
    pub id: i64,
    pub campaign_key: String,
    pub month: String,
    pub organisation_id: i64,
    pub organisation: String,
    pub kind: AccountabilityKind,
    pub reason: String,
    pub document_number: Option<String>,
    pub decided_on: NaiveDate,
    pub created_by: String,
    pub created_at: i64,
    pub voided_at: Option<i64>,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
}

impl AccountabilityRecord {
    pub fn voided(&self) -> bool {
        self.voided_at.is_some()
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    campaign_key: String,
    month: String,
    organisation_id: i64,
    organisation: String,
    kind: String,
    reason: String,
    document_number: Option<String>,
    decided_on: String,
    created_by: String,
    created_at: i64,
    voided_at: Option<i64>,
    voided_by: Option<String>,
    void_reason: Option<String>,
}

impl TryFrom<Row> for AccountabilityRecord {
    type Error = StorageError;

    fn try_from(r: Row) -> Result<AccountabilityRecord, StorageError> {
        let corrupt = |what: &str, v: &str| {
            StorageError::Corrupt(format!("accountability_records.{what} {v:?} (#{})", r.id))
        };
        Ok(AccountabilityRecord {
            kind: AccountabilityKind::ALL
                .into_iter()
                .find(|k| k.as_str() == r.kind)
                .ok_or_else(|| corrupt("kind", &r.kind))?,
            decided_on: r
                .decided_on
                .parse()
                .map_err(|_| corrupt("decided_on", &r.decided_on))?,
            id: r.id,
            campaign_key: r.campaign_key,
            month: r.month,
            organisation_id: r.organisation_id,
            organisation: r.organisation,
            reason: r.reason,
            document_number: r.document_number,
            created_by: r.created_by,
            created_at: r.created_at,
            voided_at: r.voided_at,
            voided_by: r.voided_by,
            void_reason: r.void_reason,
        })
    }
}

const SELECT: &str = "SELECT r.id, r.campaign_key, r.month, r.organisation_id, \
     o.name AS organisation, r.kind, r.reason, r.document_number, r.decided_on, \
     r.created_by, r.created_at, r.voided_at, r.voided_by, r.void_reason \
     FROM accountability_records r JOIN organisations o ON o.id = r.organisation_id";

fn invalid(detail: impl Into<String>) -> StorageError {
    StorageError::rule(Rule::Accountability, detail)
}

/// The first day of a `YYYY-MM` month.
fn parse_month(month: &str) -> Option<NaiveDate> {
    let m = month.trim();
    if m.len() != 7 || m.as_bytes()[4] != b'-' {
        return None;
    }
    NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok()
}

/// The campaign a record is written against must be in force.
async fn campaign_in_force(conn: &mut sqlx::AnyConnection, key: &str) -> Result<i64, StorageError> {
    let (year, state): (i64, String) =
        sqlx::query_as("SELECT year, state FROM campaigns WHERE key = $1")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StorageError::NotFound {
                entity: "campaign",
                key: key.to_owned(),
            })?;
    match state.as_str() {
        "active" => Ok(year),
        "closed" => Err(StorageError::rule(
            Rule::CampaignState,
            format!(
                "攻坚方案 {key} 已结束，问责记录不能再登记或作废；如需补记，请先重新启用该方案"
            ),
        )),
        _ => Err(StorageError::rule(
            Rule::CampaignState,
            format!("攻坚方案 {key} 尚未发布，不能登记问责记录"),
        )),
    }
}

impl Accountability<'_> {
    /// Records a 约谈, 通报 or 问责 (audited `create` on `accountability`).
    pub async fn record(
        &self,
        actor: &Actor,
        new: &NewAccountability,
    ) -> Result<AccountabilityRecord, StorageError> {
        let reason = new.reason.trim();
        if reason.is_empty() {
            return Err(invalid("请填写问责事由"));
        }
        validate::text("问责事由", reason, ACCOUNTABILITY_REASON_MAX)?;
        let document = new.document_number.trim();
        validate::line("文号", document, ACCOUNTABILITY_DOCUMENT_MAX)?;
        let Some(first) = parse_month(&new.month) else {
            return Err(StorageError::rule(
                Rule::ReportMonth,
                format!(
                    "月份“{}”应为 YYYY-MM",
                    new.month.chars().take(20).collect::<String>()
                ),
            ));
        };
        let today = today_cst();
        if new.decided_on > today {
            return Err(invalid(format!(
                "决定日期 {} 晚于今天（{today}）",
                new.decided_on
            )));
        }
        let mut tx = self.write.begin().await?;
        let year = campaign_in_force(&mut tx, &new.campaign_key).await?;
        if i64::from(first.year()) != year {
            return Err(invalid(format!(
                "月份 {} 不在攻坚方案 {} 的年度（{year} 年）内",
                new.month.trim(),
                new.campaign_key
            )));
        }
        let organisation: String =
            sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
                .bind(new.organisation_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StorageError::NotFound {
                    entity: "organisation",
                    key: new.organisation_id.to_string(),
                })?;
        let month = new.month.trim();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accountability_records (campaign_key, month, organisation_id, kind, \
             reason, document_number, decided_on, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&new.campaign_key)
        .bind(month)
        .bind(new.organisation_id)
        .bind(new.kind.as_str())
        .bind(reason)
        .bind((!document.is_empty()).then_some(document))
        .bind(new.decided_on.to_string())
        .bind(&actor.name)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("create", "accountability", id).after(&json!({
                "campaign": new.campaign_key, "month": month,
                "organisation": organisation, "kind": new.kind.as_str(),
                "reason": reason, "document_number": document,
                "decided_on": new.decided_on.to_string()})),
        )
        .await?;
        let record = fetch(&mut tx, id).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Voids a record with the reason (audited `void` on `accountability`,
    /// before and after). The record stays, marked 已作废.
    pub async fn void(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<AccountabilityRecord, StorageError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(invalid("作废须填写理由"));
        }
        validate::text("作废理由", reason, ACCOUNTABILITY_REASON_MAX)?;
        let mut tx = self.write.begin().await?;
        let before = fetch(&mut tx, id).await?;
        if before.voided() {
            return Err(invalid(format!("问责记录 #{id} 已作废")));
        }
        campaign_in_force(&mut tx, &before.campaign_key).await?;
        let at = now();
        sqlx::query(
            "UPDATE accountability_records SET voided_at = $1, voided_by = $2, void_reason = $3 \
             WHERE id = $4",
        )
        .bind(at)
        .bind(&actor.name)
        .bind(reason)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after = fetch(&mut tx, id).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("void", "accountability", id)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// One record.
    pub async fn get(&self, id: i64) -> Result<AccountabilityRecord, StorageError> {
        let mut conn = self.read.acquire().await?;
        fetch(&mut conn, id).await
    }

    /// The records of a campaign, of one month or all, voided ones
    /// included: by month, then the day decided, then as entered.
    pub async fn list(
        &self,
        campaign_key: &str,
        month: Option<&str>,
    ) -> Result<Vec<AccountabilityRecord>, StorageError> {
        let rows: Vec<Row> = match month {
            Some(m) => {
                sqlx::query_as(&format!(
                    "{SELECT} WHERE r.campaign_key = $1 AND r.month = $2 \
                     ORDER BY r.decided_on, r.id"
                ))
                .bind(campaign_key)
                .bind(m)
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query_as(&format!(
                    "{SELECT} WHERE r.campaign_key = $1 ORDER BY r.month, r.decided_on, r.id"
                ))
                .bind(campaign_key)
                .fetch_all(&self.read)
                .await?
            }
        };
        rows.into_iter()
            .map(AccountabilityRecord::try_from)
            .collect()
    }
}

async fn fetch(
    conn: &mut sqlx::AnyConnection,
    id: i64,
) -> Result<AccountabilityRecord, StorageError> {
    sqlx::query_as::<_, Row>(&format!("{SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "accountability",
            key: id.to_string(),
        })?
        .try_into()
}
