//! Heavy-pollution emergency response (issue 15): the season's reduction
//! list (应急减排清单) and the warnings (预警) issued against it.
//!
//! The list is stored as imported: one row per enterprise entry with the
//! entry as JSON (`gongjian_emergency::ListEntry`, parsed and checked by
//! the service layer before it gets here). A new import is a new list; the
//! newest list is the one in force, the older ones stay for the record.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditRecord, append};
use crate::{Actor, Rule, StorageError, now, validate};

crate::db::area!(
    /// Heavy-pollution emergency response: reduction lists and warnings.
    Emergency,
    emergency
);

/// One entry of a list to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewListEntry {
    pub enterprise: String,
    pub credit_code: Option<String>,
    /// The entry as the service layer parsed it.
    pub entry: serde_json::Value,
}

/// A stored list.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct EmergencyList {
    pub id: i64,
    /// 采暖季, e.g. `2026-2027`.
    pub season: String,
    pub source_name: String,
    pub entries: i64,
    pub imported_by: String,
    pub imported_at: i64,
}

/// A stored entry of a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEntry {
    pub id: i64,
    pub enterprise: String,
    pub credit_code: Option<String>,
    pub entry: serde_json::Value,
}

/// A warning to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWarning {
    /// `yellow`, `orange` or `red`.
    pub level: String,
    pub starts_on: NaiveDate,
    /// The last day in force (inclusive); `None` until lifted.
    pub ends_on: Option<NaiveDate>,
    /// The city's notice, e.g. 新环攻坚办〔2026〕45 号.
    pub document_number: String,
}

/// A stored warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub id: i64,
    pub level: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub document_number: String,
    pub issued_by: String,
    pub issued_at: i64,
}

fn bad(detail: impl Into<String>) -> StorageError {
    StorageError::rule(Rule::Emergency, detail)
}

fn date(text: &str, what: &str) -> Result<NaiveDate, StorageError> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("emergency_warnings.{what} {text:?}")))
}

/// A row of `emergency_warnings` ([`WARNING_COLUMNS`]): dates are TEXT.
#[derive(sqlx::FromRow)]
struct WarningRow {
    id: i64,
    level: String,
    starts_on: String,
    ends_on: Option<String>,
    document_number: String,
    issued_by: String,
    issued_at: i64,
}

impl TryFrom<WarningRow> for Warning {
    type Error = StorageError;

    fn try_from(r: WarningRow) -> Result<Warning, StorageError> {
        Ok(Warning {
            id: r.id,
            level: r.level,
            starts_on: date(&r.starts_on, "starts_on")?,
            ends_on: r
                .ends_on
                .as_deref()
                .map(|e| date(e, "ends_on"))
                .transpose()?,
            document_number: r.document_number,
            issued_by: r.issued_by,
            issued_at: r.issued_at,
        })
    }
}

/// A row of `emergency_entries`: the entry is JSON text.
#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    enterprise: String,
    credit_code: Option<String>,
    entry: String,
}

impl TryFrom<EntryRow> for StoredEntry {
    type Error = StorageError;

    fn try_from(r: EntryRow) -> Result<StoredEntry, StorageError> {
        Ok(StoredEntry {
            id: r.id,
            enterprise: r.enterprise,
            credit_code: r.credit_code,
            entry: serde_json::from_str(&r.entry)
                .map_err(|e| StorageError::Corrupt(format!("emergency_entries.entry: {e}")))?,
        })
    }
}

const WARNING_COLUMNS: &str =
    "id, level, starts_on, ends_on, document_number, issued_by, issued_at";

impl Emergency<'_> {
    /// Store a season's list (all entries in one transaction) and return
    /// it; it is the list in force from now on.
    pub async fn import_emergency_list(
        &self,
        actor: &Actor,
        season: &str,
        source_name: &str,
        entries: &[NewListEntry],
    ) -> Result<EmergencyList, StorageError> {
        let season = season.trim();
        validate::line("采暖季", season, validate::CODE_MAX)?;
        validate::line("文件名", source_name, validate::SHORT_TEXT_MAX)?;
        if season.is_empty() {
            return Err(bad("请填写采暖季（如 2026-2027）"));
        }
        if entries.is_empty() {
            return Err(bad("清单中没有企业"));
        }
        for e in entries {
            validate::line("企业名称", e.enterprise.trim(), validate::NAME_MAX)?;
        }
        let mut tx = self.write.begin().await?;
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO emergency_lists (season, source_name, entries, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(season)
        .bind(source_name)
        .bind(entries.len() as i64)
        .bind(&actor.name)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO emergency_entries (list_id, enterprise, credit_code, entry) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(e.enterprise.trim())
            .bind(e.credit_code.as_deref())
            .bind(e.entry.to_string())
            .execute(&mut *tx)
            .await?;
        }
        append(
            &mut tx,
            actor,
            AuditRecord::new("import", "emergency_list", id).after(&json!({
                "season": season, "source": source_name, "entries": entries.len(),
                "enterprises": entries.iter().map(|e| &e.enterprise).collect::<Vec<_>>(),
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(EmergencyList {
            id,
            season: season.to_owned(),
            source_name: source_name.to_owned(),
            entries: entries.len() as i64,
            imported_by: actor.name.clone(),
            imported_at: at,
        })
    }

    /// The list in force (the newest) with its entries, if any was imported.
    pub async fn emergency_list_in_force(
        &self,
    ) -> Result<Option<(EmergencyList, Vec<StoredEntry>)>, StorageError> {
        let Some(list) = sqlx::query_as::<_, EmergencyList>(
            "SELECT id, season, source_name, entries, imported_by, imported_at \
             FROM emergency_lists ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        let entries = sqlx::query_as::<_, EntryRow>(
            "SELECT id, enterprise, credit_code, entry FROM emergency_entries \
             WHERE list_id = $1 ORDER BY id",
        )
        .bind(list.id)
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(StoredEntry::try_from)
        .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(Some((list, entries)))
    }

    /// Issue a warning.
    pub async fn issue_warning(
        &self,
        actor: &Actor,
        w: &NewWarning,
    ) -> Result<Warning, StorageError> {
        if !["yellow", "orange", "red"].contains(&w.level.as_str()) {
            return Err(bad(format!("预警级别“{}”应为 黄色、橙色 或 红色", w.level)));
        }
        if w.ends_on.is_some_and(|e| e < w.starts_on) {
            return Err(bad("预警解除日期早于启动日期"));
        }
        validate::line("预警文号", w.document_number.trim(), validate::NAME_MAX)?;
        let mut tx = self.write.begin().await?;
        let row = sqlx::query_as::<_, WarningRow>(&format!(
            "INSERT INTO emergency_warnings (level, starts_on, ends_on, document_number, \
             issued_by, issued_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {WARNING_COLUMNS}"
        ))
        .bind(&w.level)
        .bind(w.starts_on.to_string())
        .bind(w.ends_on.map(|d| d.to_string()))
        .bind(w.document_number.trim())
        .bind(&actor.name)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        let warning = Warning::try_from(row)?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("create", "emergency_warning", warning.id).after(&warning),
        )
        .await?;
        tx.commit().await?;
        Ok(warning)
    }

    pub async fn warning(&self, id: i64) -> Result<Warning, StorageError> {
        sqlx::query_as::<_, WarningRow>(&format!(
            "SELECT {WARNING_COLUMNS} FROM emergency_warnings WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "warning",
            key: id.to_string(),
        })?
        .try_into()
    }

    /// Every warning, newest first.
    pub async fn warnings(&self) -> Result<Vec<Warning>, StorageError> {
        let rows = sqlx::query_as::<_, WarningRow>(&format!(
            "SELECT {WARNING_COLUMNS} FROM emergency_warnings ORDER BY starts_on DESC, id DESC"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Warning::try_from).collect()
    }
}
