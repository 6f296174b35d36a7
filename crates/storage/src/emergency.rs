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
use crate::campaign::{AttachmentOwner, attachments_json, insert_attachments};
use crate::{Actor, AttachmentRecord, NewAttachment, Rule, StorageError, now, validate};

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
    /// The warning this one raised or lowered.
    pub previous_id: Option<i64>,
    /// `issue`, `raise` or `lower`.
    pub change: String,
    /// When it was lifted early (Unix s), by whom and under which notice.
    pub lifted_at: Option<i64>,
    pub lifted_by: Option<String>,
    pub lift_document: Option<String>,
}

/// An enterprise told of a warning, and whether it confirmed receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Receipt {
    pub warning_id: i64,
    pub organisation_id: i64,
    pub organisation: String,
    pub notified_at: i64,
    pub confirmed_at: Option<i64>,
    pub confirmed_by: Option<String>,
}

/// The levels in order of severity.
const LEVELS: [&str; 3] = ["yellow", "orange", "red"];

fn level_rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| *l == level)
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
    previous_id: Option<i64>,
    change: String,
    lifted_at: Option<i64>,
    lifted_by: Option<String>,
    lift_document: Option<String>,
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
            previous_id: r.previous_id,
            change: r.change,
            lifted_at: r.lifted_at,
            lifted_by: r.lifted_by,
            lift_document: r.lift_document,
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

const WARNING_COLUMNS: &str = "id, level, starts_on, ends_on, document_number, issued_by, \
     issued_at, previous_id, change, lifted_at, lifted_by, lift_document";

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
        check_list(season, source_name, entries)?;
        let mut tx = self.write.begin().await?;
        let (id, at) = insert_list(&mut tx, actor, season, source_name, entries).await?;
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

    /// Issue a warning and tell `recipients` (the listed enterprises'
    /// organisations), who are to confirm receipt.
    pub async fn issue_warning(
        &self,
        actor: &Actor,
        w: &NewWarning,
        recipients: &[i64],
        notice: &[NewAttachment],
    ) -> Result<Warning, StorageError> {
        if level_rank(&w.level).is_none() {
            return Err(bad(format!("预警级别“{}”应为 黄色、橙色 或 红色", w.level)));
        }
        if w.ends_on.is_some_and(|e| e < w.starts_on) {
            return Err(bad("预警解除日期早于启动日期"));
        }
        validate::line("预警文号", w.document_number.trim(), validate::NAME_MAX)?;
        let mut tx = self.write.begin().await?;
        let warning = insert_warning(&mut tx, actor, w, None, "issue").await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("create", "emergency_warning", warning.id).after(&warning),
        )
        .await?;
        attach_notice(&mut tx, actor, warning.id, notice).await?;
        tell(&mut tx, &warning, recipients, "发布").await?;
        tx.commit().await?;
        Ok(warning)
    }

    /// Raise or lower warning `id` to `level` from `from`: the warning ends
    /// the day before and a new one at the new level takes over (until the
    /// old one's planned end, if it had one); `recipients` are told again.
    /// `notice`: the change notice's files, attached to the new warning.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_warning(
        &self,
        actor: &Actor,
        id: i64,
        level: &str,
        from: NaiveDate,
        document_number: &str,
        recipients: &[i64],
        notice: &[NewAttachment],
    ) -> Result<Warning, StorageError> {
        let (Some(new_rank), document) = (level_rank(level), document_number.trim()) else {
            return Err(bad(format!("预警级别“{level}”应为 黄色、橙色 或 红色")));
        };
        validate::line("预警文号", document, validate::NAME_MAX)?;
        let mut tx = self.write.begin().await?;
        let old = warning_in(&mut tx, id).await?;
        let old_rank = level_rank(&old.level).unwrap_or(0);
        let change = match new_rank.cmp(&old_rank) {
            std::cmp::Ordering::Greater => "raise",
            std::cmp::Ordering::Less => "lower",
            std::cmp::Ordering::Equal => {
                return Err(bad("新级别与原预警级别相同，无需调整"));
            }
        };
        in_force_on(&old, from, "调整")?;
        if from <= old.starts_on {
            return Err(bad(format!(
                "调整日期应晚于原预警启动日期 {}",
                old.starts_on
            )));
        }
        sqlx::query("UPDATE emergency_warnings SET ends_on = $1 WHERE id = $2")
            .bind((from - chrono::Duration::days(1)).to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let new = insert_warning(
            &mut tx,
            actor,
            &NewWarning {
                level: level.to_owned(),
                starts_on: from,
                ends_on: old.ends_on,
                document_number: document.to_owned(),
            },
            Some(id),
            change,
        )
        .await?;
        let after = warning_in(&mut tx, id).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("update", "emergency_warning", id)
                .before(&old)
                .after(&after),
        )
        .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("create", "emergency_warning", new.id).after(&new),
        )
        .await?;
        attach_notice(&mut tx, actor, new.id, notice).await?;
        let what = if change == "raise" {
            "升级"
        } else {
            "降级"
        };
        tell(&mut tx, &new, recipients, what).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Lift warning `id` from `on` (its last day is the day before) under
    /// `document_number`, telling the enterprises that were told of it.
    pub async fn lift_warning(
        &self,
        actor: &Actor,
        id: i64,
        on: NaiveDate,
        document_number: &str,
        notice: &[NewAttachment],
    ) -> Result<Warning, StorageError> {
        let document = document_number.trim();
        validate::line("解除文号", document, validate::NAME_MAX)?;
        let mut tx = self.write.begin().await?;
        let old = warning_in(&mut tx, id).await?;
        in_force_on(&old, on, "解除")?;
        if on <= old.starts_on {
            return Err(bad(format!("解除日期应晚于预警启动日期 {}", old.starts_on)));
        }
        sqlx::query(
            "UPDATE emergency_warnings SET ends_on = $1, lifted_at = $2, lifted_by = $3, \
             lift_document = $4 WHERE id = $5",
        )
        .bind((on - chrono::Duration::days(1)).to_string())
        .bind(now())
        .bind(&actor.name)
        .bind(document)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after = warning_in(&mut tx, id).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("update", "emergency_warning", id)
                .before(&old)
                .after(&after),
        )
        .await?;
        attach_notice(&mut tx, actor, id, notice).await?;
        let told: Vec<i64> = sqlx::query_scalar(
            "SELECT organisation_id FROM emergency_receipts WHERE warning_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let title = format!("重污染天气{}预警自 {on} 起解除", level_label(&after.level));
        let told: Vec<Option<i64>> = told.into_iter().map(Some).collect();
        crate::cases::notify(
            &mut tx,
            &told,
            false,
            "emergency_warning",
            &title,
            "/emergency",
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The enterprises told of warning `id`, unconfirmed first.
    pub async fn receipts(&self, id: i64) -> Result<Vec<Receipt>, StorageError> {
        Ok(sqlx::query_as::<_, Receipt>(
            "SELECT r.warning_id, r.organisation_id, o.name AS organisation, r.notified_at, \
             r.confirmed_at, r.confirmed_by FROM emergency_receipts r \
             JOIN organisations o ON o.id = r.organisation_id WHERE r.warning_id = $1 \
             ORDER BY CASE WHEN r.confirmed_at IS NULL THEN 0 ELSE 1 END, o.name",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Confirm receipt of warning `id` for `organisation_id` (once; a
    /// second confirmation changes nothing). Refused if it was not told.
    pub async fn confirm_receipt(
        &self,
        actor: &Actor,
        id: i64,
        organisation_id: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.write.begin().await?;
        let told: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT confirmed_at FROM emergency_receipts \
             WHERE warning_id = $1 AND organisation_id = $2",
        )
        .bind(id)
        .bind(organisation_id)
        .fetch_optional(&mut *tx)
        .await?;
        match told {
            None => return Err(bad("本单位不在该预警的通知名单中")),
            Some(Some(_)) => return Ok(()),
            Some(None) => {}
        }
        sqlx::query(
            "UPDATE emergency_receipts SET confirmed_at = $1, confirmed_by = $2 \
             WHERE warning_id = $3 AND organisation_id = $4",
        )
        .bind(now())
        .bind(&actor.name)
        .bind(id)
        .bind(organisation_id)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("accept", "emergency_warning", id).after(&json!({
                "warning": id, "organisation": organisation_id, "receipt": true})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Attach the city's notice files to warning `id` (an issue, change or
    /// lifting notice handed in later), audited as `attach`.
    pub async fn add_warning_notice(
        &self,
        actor: &Actor,
        id: i64,
        files: &[NewAttachment],
    ) -> Result<(), StorageError> {
        if files.is_empty() {
            return Err(bad("请选择通知文件"));
        }
        let mut tx = self.write.begin().await?;
        warning_in(&mut tx, id).await?;
        attach_notice(&mut tx, actor, id, files).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The notice files of every warning, by warning, oldest first.
    pub async fn warning_notices(&self) -> Result<Vec<(i64, AttachmentRecord)>, StorageError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            warning_id: i64,
            #[sqlx(flatten)]
            attachment: AttachmentRecord,
        }
        Ok(sqlx::query_as::<_, Row>(
            "SELECT warning_id, id, sha256, content_type, size, file_name FROM attachments \
             WHERE warning_id IS NOT NULL ORDER BY warning_id, id",
        )
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(|r| (r.warning_id, r.attachment))
        .collect())
    }

    /// Which warning an attachment is the notice of, if it is one's.
    pub async fn attachment_warning(
        &self,
        attachment_id: i64,
    ) -> Result<Option<i64>, StorageError> {
        Ok(
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT warning_id FROM attachments WHERE id = $1",
            )
            .bind(attachment_id)
            .fetch_optional(&self.read)
            .await?
            .flatten(),
        )
    }

    /// Whether `organisation_id` was told of warning `id`.
    pub async fn was_told(&self, id: i64, organisation_id: i64) -> Result<bool, StorageError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM emergency_receipts WHERE warning_id = $1 AND organisation_id = $2",
        )
        .bind(id)
        .bind(organisation_id)
        .fetch_one(&self.read)
        .await?;
        Ok(n > 0)
    }

    /// Store a new version of the list in force, edited in forms: a copy
    /// of list `base_id` (which must still be the list in force) with
    /// `entries` as its rows, for the same season; audited as `update
    /// emergency_list` with the row `before` and `after` the change.
    pub async fn save_list_version(
        &self,
        actor: &Actor,
        base_id: i64,
        source_name: &str,
        entries: &[NewListEntry],
        before: &serde_json::Value,
        after: &serde_json::Value,
    ) -> Result<EmergencyList, StorageError> {
        let mut tx = self.write.begin().await?;
        let newest: Option<(i64, String)> =
            sqlx::query_as("SELECT id, season FROM emergency_lists ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let season = match newest {
            Some((id, season)) if id == base_id => season,
            Some((id, _)) => {
                return Err(bad(format!(
                    "现行清单已更新为第 {id} 版，请刷新页面后在新版本上修改"
                )));
            }
            None => return Err(bad("尚未导入应急减排清单")),
        };
        check_list(&season, source_name, entries)?;
        let (id, at) = insert_list(&mut tx, actor, &season, source_name, entries).await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("update", "emergency_list", id)
                .before(&json!({"list": base_id, "season": season, "row": before}))
                .after(&json!({
                    "list": id, "season": season, "source": source_name,
                    "entries": entries.len(), "row": after,
                })),
        )
        .await?;
        tx.commit().await?;
        Ok(EmergencyList {
            id,
            season,
            source_name: source_name.to_owned(),
            entries: entries.len() as i64,
            imported_by: actor.name.clone(),
            imported_at: at,
        })
    }

    /// The versions of a season's list, newest first (at most 200).
    pub async fn emergency_lists(&self, season: &str) -> Result<Vec<EmergencyList>, StorageError> {
        Ok(sqlx::query_as::<_, EmergencyList>(
            "SELECT id, season, source_name, entries, imported_by, imported_at \
             FROM emergency_lists WHERE season = $1 ORDER BY id DESC LIMIT 200",
        )
        .bind(season)
        .fetch_all(&self.read)
        .await?)
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

/// A list's season, source and rows as they may be stored.
fn check_list(
    season: &str,
    source_name: &str,
    entries: &[NewListEntry],
) -> Result<(), StorageError> {
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
    Ok(())
}

/// Insert a list and its rows; its id and time.
async fn insert_list(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    season: &str,
    source_name: &str,
    entries: &[NewListEntry],
) -> Result<(i64, i64), StorageError> {
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
    .fetch_one(&mut *conn)
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
        .execute(&mut *conn)
        .await?;
    }
    Ok((id, at))
}

/// Store `files` as the notice of warning `id`, audited (nothing when
/// there are none).
async fn attach_notice(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    id: i64,
    files: &[NewAttachment],
) -> Result<(), StorageError> {
    if files.is_empty() {
        return Ok(());
    }
    insert_attachments(conn, AttachmentOwner::Warning(id), files).await?;
    append(
        conn,
        actor,
        AuditRecord::new("attach", "emergency_warning", id)
            .after(&json!({"warning": id, "notice": attachments_json(files)})),
    )
    .await
}

fn level_label(level: &str) -> &'static str {
    match level {
        "yellow" => "黄色",
        "orange" => "橙色",
        "red" => "红色",
        _ => "",
    }
}

/// A warning may be changed or lifted on `day` only while in force then.
fn in_force_on(w: &Warning, day: NaiveDate, what: &str) -> Result<(), StorageError> {
    if w.lifted_at.is_some() {
        return Err(bad(format!("预警 #{} 已解除，不能再{what}", w.id)));
    }
    if let Some(end) = w.ends_on
        && day > end
    {
        return Err(bad(format!(
            "预警 #{} 截至 {end}，{day} 已不在生效期内，不能{what}",
            w.id
        )));
    }
    Ok(())
}

async fn warning_in(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Warning, StorageError> {
    sqlx::query_as::<_, WarningRow>(&format!(
        "SELECT {WARNING_COLUMNS} FROM emergency_warnings WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StorageError::NotFound {
        entity: "warning",
        key: id.to_string(),
    })?
    .try_into()
}

async fn insert_warning(
    conn: &mut sqlx::AnyConnection,
    actor: &Actor,
    w: &NewWarning,
    previous_id: Option<i64>,
    change: &str,
) -> Result<Warning, StorageError> {
    sqlx::query_as::<_, WarningRow>(&format!(
        "INSERT INTO emergency_warnings (level, starts_on, ends_on, document_number, \
         issued_by, issued_at, previous_id, change) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         RETURNING {WARNING_COLUMNS}"
    ))
    .bind(&w.level)
    .bind(w.starts_on.to_string())
    .bind(w.ends_on.map(|d| d.to_string()))
    .bind(w.document_number.trim())
    .bind(&actor.name)
    .bind(now())
    .bind(previous_id)
    .bind(change)
    .fetch_one(&mut *conn)
    .await?
    .try_into()
}

/// Record that `recipients` were told of `w` and notify their users
/// (in-app and through the notification channels).
async fn tell(
    conn: &mut sqlx::AnyConnection,
    w: &Warning,
    recipients: &[i64],
    what: &str,
) -> Result<(), StorageError> {
    let at = now();
    let mut told: Vec<Option<i64>> = Vec::new();
    for &org in recipients {
        if told.contains(&Some(org)) {
            continue;
        }
        sqlx::query(
            "INSERT INTO emergency_receipts (warning_id, organisation_id, notified_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(w.id)
        .bind(org)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        told.push(Some(org));
    }
    let title = format!(
        "重污染天气{}预警{what}（{} 起）：请查看本企业减排措施并确认接收",
        level_label(&w.level),
        w.starts_on
    );
    let link = format!("/emergency#w{}", w.id);
    crate::cases::notify(conn, &told, false, "emergency_warning", &title, &link).await
}
