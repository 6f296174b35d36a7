//! Seasonal production control (季节性生产调控, 错峰生产; issue 15 item 6):
//! the heating season's list as imported, with the season's dates. An
//! entry is kept as the JSON of `gongjian_emergency::SeasonEntry`, parsed
//! and checked by the service layer before it gets here. A new import is
//! a new list; the newest list of a season is the one in force for it.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditRecord, append};
use crate::{Actor, Rule, StorageError, now, validate};

crate::db::area!(
    /// Seasonal production control: the heating season's 错峰生产 lists.
    Seasons,
    seasons
);

/// One entry of a season list to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSeasonEntry {
    pub enterprise: String,
    pub credit_code: Option<String>,
    /// The entry as the service layer parsed it.
    pub entry: serde_json::Value,
}

/// A stored season list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeasonList {
    pub id: i64,
    /// 采暖季, e.g. `2026-2027`.
    pub season: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub source_name: String,
    pub entries: i64,
    pub imported_by: String,
    pub imported_at: i64,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredSeasonEntry {
    pub id: i64,
    pub enterprise: String,
    pub credit_code: Option<String>,
    pub entry: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: i64,
    season: String,
    starts_on: String,
    ends_on: String,
    source_name: String,
    entries: i64,
    imported_by: String,
    imported_at: i64,
}

impl TryFrom<ListRow> for SeasonList {
    type Error = StorageError;

    fn try_from(r: ListRow) -> Result<SeasonList, StorageError> {
        let date = |text: &str, what: &str| {
            text.parse::<NaiveDate>()
                .map_err(|e| StorageError::Corrupt(format!("season_lists.{what} {text:?}: {e}")))
        };
        Ok(SeasonList {
            id: r.id,
            starts_on: date(&r.starts_on, "starts_on")?,
            ends_on: date(&r.ends_on, "ends_on")?,
            season: r.season,
            source_name: r.source_name,
            entries: r.entries,
            imported_by: r.imported_by,
            imported_at: r.imported_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    enterprise: String,
    credit_code: Option<String>,
    entry: String,
}

const LIST_COLUMNS: &str =
    "id, season, starts_on, ends_on, source_name, entries, imported_by, imported_at";

fn bad(detail: impl Into<String>) -> StorageError {
    StorageError::rule(Rule::Emergency, detail)
}

impl Seasons<'_> {
    /// Store a season's list (all entries in one transaction); it is the
    /// list in force for the season from now on.
    pub async fn import_season_list(
        &self,
        actor: &Actor,
        season: &str,
        dates: (NaiveDate, NaiveDate),
        source_name: &str,
        entries: &[NewSeasonEntry],
    ) -> Result<SeasonList, StorageError> {
        let season = season.trim();
        validate::line("采暖季", season, validate::CODE_MAX)?;
        validate::line("文件名", source_name, validate::SHORT_TEXT_MAX)?;
        if season.is_empty() {
            return Err(bad("请填写采暖季（如 2026-2027）"));
        }
        if dates.1 < dates.0 {
            return Err(bad("调控期结束日期早于开始日期"));
        }
        if entries.is_empty() {
            return Err(bad("清单中没有企业"));
        }
        for e in entries {
            validate::line("企业名称", e.enterprise.trim(), validate::NAME_MAX)?;
        }
        let at = now();
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO season_lists (season, starts_on, ends_on, source_name, entries, \
             imported_by, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(season)
        .bind(dates.0.to_string())
        .bind(dates.1.to_string())
        .bind(source_name)
        .bind(entries.len() as i64)
        .bind(&actor.name)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO season_entries (list_id, enterprise, credit_code, entry) \
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
            AuditRecord::new("import", "season_list", id).after(&json!({
                "season": season, "starts_on": dates.0, "ends_on": dates.1,
                "source": source_name, "entries": entries.len(),
                "enterprises": entries.iter().map(|e| &e.enterprise).collect::<Vec<_>>(),
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(SeasonList {
            id,
            season: season.to_owned(),
            starts_on: dates.0,
            ends_on: dates.1,
            source_name: source_name.to_owned(),
            entries: entries.len() as i64,
            imported_by: actor.name.clone(),
            imported_at: at,
        })
    }

    /// The list in force on `day`: the newest import whose dates cover it
    /// (a corrected re-import wins whatever its dates); else (between
    /// seasons) the newest list of the season that began last before `day`.
    pub async fn season_list_for(
        &self,
        day: NaiveDate,
    ) -> Result<Option<(SeasonList, Vec<StoredSeasonEntry>)>, StorageError> {
        let covering = sqlx::query_as::<_, ListRow>(&format!(
            "SELECT {LIST_COLUMNS} FROM season_lists WHERE starts_on <= $1 AND ends_on >= $1 \
             ORDER BY id DESC LIMIT 1"
        ))
        .bind(day.to_string())
        .fetch_optional(&self.read)
        .await?;
        let row = match covering {
            Some(r) => Some(r),
            None => {
                sqlx::query_as::<_, ListRow>(&format!(
                    "SELECT {LIST_COLUMNS} FROM season_lists WHERE starts_on <= $1 \
                     ORDER BY starts_on DESC, id DESC LIMIT 1"
                ))
                .bind(day.to_string())
                .fetch_optional(&self.read)
                .await?
            }
        };
        let Some(list) = row.map(SeasonList::try_from).transpose()? else {
            return Ok(None);
        };
        let entries = self.season_entries(list.id).await?;
        Ok(Some((list, entries)))
    }

    /// A list by id with its entries.
    pub async fn season_list(
        &self,
        id: i64,
    ) -> Result<(SeasonList, Vec<StoredSeasonEntry>), StorageError> {
        let list = sqlx::query_as::<_, ListRow>(&format!(
            "SELECT {LIST_COLUMNS} FROM season_lists WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "season_list",
            key: id.to_string(),
        })?
        .try_into()?;
        let entries = self.season_entries(id).await?;
        Ok((list, entries))
    }

    /// Every list imported, newest first (at most 200).
    pub async fn season_lists(&self) -> Result<Vec<SeasonList>, StorageError> {
        sqlx::query_as::<_, ListRow>(&format!(
            "SELECT {LIST_COLUMNS} FROM season_lists ORDER BY id DESC LIMIT 200"
        ))
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(SeasonList::try_from)
        .collect()
    }

    async fn season_entries(&self, list_id: i64) -> Result<Vec<StoredSeasonEntry>, StorageError> {
        sqlx::query_as::<_, EntryRow>(
            "SELECT id, enterprise, credit_code, entry FROM season_entries \
             WHERE list_id = $1 ORDER BY id",
        )
        .bind(list_id)
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(|r| {
            Ok(StoredSeasonEntry {
                id: r.id,
                enterprise: r.enterprise,
                credit_code: r.credit_code,
                entry: serde_json::from_str(&r.entry)
                    .map_err(|e| StorageError::Corrupt(format!("season_entries.entry: {e}")))?,
            })
        })
        .collect()
    }
}
