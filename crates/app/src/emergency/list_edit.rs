//! Editing the reduction list in forms (预警应急 → 编辑清单, issue 15: the
//! list is "imported from the XLSX the city issues …, edited in forms,
//! versioned per heating season, audited").
//!
//! A row is checked by the import's own rules
//! (`gongjian_emergency::list_form`: the row laid out as a one-row sheet
//! and read by `parse_list`, then checked against the list's other rows).
//! Saving never changes a stored list: it stores a new version of the
//! season's list — a copy of the list in force with the one row changed,
//! added or removed — which is in force from then on, so the versions
//! before it stay for the record and every reader of "the list in force"
//! (verification, measures, recipients) reads the new one. Each save is
//! audited as `update emergency_list` with the row before and after.

use gongjian_emergency::ListEntry;
use gongjian_emergency::list_form::{FieldErrors, parse_form_row, row_conflicts};
use gongjian_storage::{Actor, Db, EmergencyList, NewListEntry, StorageError};
use serde::Serialize;

use crate::AppError;

/// The list in force with its rows by stored id.
#[derive(Debug, Clone)]
pub struct EditableList {
    pub list: EmergencyList,
    /// (stored entry id, the row).
    pub rows: Vec<(i64, ListEntry)>,
}

/// The list in force, if any was imported.
pub async fn editable_list(db: &Db) -> Result<Option<EditableList>, AppError> {
    let Some((list, entries)) = db.emergency().emergency_list_in_force().await? else {
        return Ok(None);
    };
    let rows = entries
        .into_iter()
        .map(|s| {
            serde_json::from_value::<ListEntry>(s.entry)
                .map(|e| (s.id, e))
                .map_err(|e| StorageError::Corrupt(format!("emergency entry: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(EditableList { list, rows }))
}

fn refused(detail: impl Into<String>) -> AppError {
    AppError::Storage(StorageError::rule(
        gongjian_storage::Rule::Emergency,
        detail,
    ))
}

/// The list in force, which must be version `base` (the one the form was
/// opened on).
async fn base_list(db: &Db, base: i64) -> Result<EditableList, AppError> {
    match editable_list(db).await? {
        None => Err(refused("尚未导入应急减排清单")),
        Some(l) if l.list.id != base => Err(refused(format!(
            "现行清单已更新为第 {} 版，请刷新页面后在新版本上修改",
            l.list.id
        ))),
        Some(l) => Ok(l),
    }
}

/// What a save does to the list in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowChange {
    /// Change the row with this stored id.
    Edit(i64),
    /// Add a row (新增企业).
    Add,
}

fn clipped(name: &str) -> String {
    let mut out: String = name.chars().take(60).collect();
    if name.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn stored(e: &ListEntry) -> Result<NewListEntry, AppError> {
    Ok(NewListEntry {
        enterprise: e.enterprise.clone(),
        credit_code: e.credit_code.clone(),
        entry: serde_json::to_value(e).map_err(|err| refused(err.to_string()))?,
    })
}

/// The saved version, and the import's notes on the row (a 限产 percentage
/// read as a cut …).
#[derive(Debug, Clone)]
pub struct Saved {
    pub list: EmergencyList,
    pub notes: Vec<String>,
}

/// Save one row typed in the form (`values`: form key → text) as a new
/// version of list `base`. `Ok(Err(..))`: refused fields with their
/// reasons, nothing stored.
pub async fn save_row(
    db: &Db,
    actor: &Actor,
    base: i64,
    change: RowChange,
    values: &[(String, String)],
) -> Result<Result<Saved, FieldErrors>, AppError> {
    let current = base_list(db, base).await?;
    let (mut entry, notes) = match parse_form_row(values) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(Err(errors)),
    };
    let (before, others): (Option<&ListEntry>, Vec<ListEntry>) = match change {
        RowChange::Edit(id) => {
            let Some((_, old)) = current.rows.iter().find(|(i, _)| *i == id) else {
                return Err(refused("该行不在现行清单中，请刷新页面"));
            };
            entry.line = old.line;
            (
                Some(old),
                current
                    .rows
                    .iter()
                    .filter(|(i, _)| *i != id)
                    .map(|(_, e)| e.clone())
                    .collect(),
            )
        }
        RowChange::Add => {
            entry.line = current.rows.iter().map(|(_, e)| e.line).max().unwrap_or(1) + 1;
            (None, current.rows.iter().map(|(_, e)| e.clone()).collect())
        }
    };
    let conflicts = row_conflicts(&entry, &others);
    if !conflicts.is_empty() {
        return Ok(Err(conflicts));
    }
    if before == Some(&entry) {
        return Ok(Err(vec![(
            String::new(),
            "没有修改任何内容，清单未保存新版本".to_owned(),
        )]));
    }
    let mut rows = Vec::with_capacity(current.rows.len() + 1);
    for (id, e) in &current.rows {
        match change {
            RowChange::Edit(edited) if edited == *id => rows.push(stored(&entry)?),
            _ => rows.push(stored(e)?),
        }
    }
    if change == RowChange::Add {
        rows.push(stored(&entry)?);
    }
    let source = match change {
        RowChange::Edit(_) => format!("页面编辑：修改 {}", clipped(&entry.enterprise)),
        RowChange::Add => format!("页面编辑：新增 {}", clipped(&entry.enterprise)),
    };
    let list = db
        .emergency()
        .save_list_version(
            actor,
            base,
            &source,
            &rows,
            &serde_json::to_value(before).unwrap_or_default(),
            &serde_json::to_value(&entry).unwrap_or_default(),
        )
        .await?;
    Ok(Ok(Saved { list, notes }))
}

/// Remove the row with stored id `id` from list `base`: a new version
/// without it.
pub async fn delete_row(
    db: &Db,
    actor: &Actor,
    base: i64,
    id: i64,
) -> Result<EmergencyList, AppError> {
    let current = base_list(db, base).await?;
    let Some((_, old)) = current.rows.iter().find(|(i, _)| *i == id) else {
        return Err(refused("该行不在现行清单中，请刷新页面"));
    };
    if current.rows.len() == 1 {
        return Err(refused(
            "清单至少保留一行；如需整体更换，请导入新的清单文件",
        ));
    }
    let rows = current
        .rows
        .iter()
        .filter(|(i, _)| *i != id)
        .map(|(_, e)| stored(e))
        .collect::<Result<Vec<_>, _>>()?;
    let source = format!(
        "页面编辑：删除 {}{}",
        clipped(&old.enterprise),
        old.production_line
            .as_deref()
            .map(|l| format!("（{}）", clipped(l)))
            .unwrap_or_default()
    );
    Ok(db
        .emergency()
        .save_list_version(
            actor,
            base,
            &source,
            &rows,
            &serde_json::to_value(old).unwrap_or_default(),
            &serde_json::Value::Null,
        )
        .await?)
}

/// One version of the season's list, as the history reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub id: i64,
    /// The file imported, or 页面编辑：修改 … .
    pub source: String,
    pub rows: i64,
    /// Who, as people read it (name and unit, or 命令行/系统).
    pub by: String,
    pub at: i64,
    pub in_force: bool,
}

/// The versions of the season of the list in force, newest first.
pub async fn history(db: &Db) -> Result<Vec<Version>, AppError> {
    let Some((list, _)) = db.emergency().emergency_list_in_force().await? else {
        return Ok(Vec::new());
    };
    let versions = db.emergency().emergency_lists(&list.season).await?;
    let names: Vec<&str> = versions.iter().map(|v| v.imported_by.as_str()).collect();
    let labels = db.accounts().people_labels(&names).await?;
    Ok(versions
        .iter()
        .map(|v| Version {
            id: v.id,
            source: v.source_name.clone(),
            rows: v.entries,
            by: labels
                .get(&v.imported_by)
                .cloned()
                .unwrap_or_else(|| v.imported_by.clone()),
            at: v.imported_at,
            in_force: v.id == list.id,
        })
        .collect())
}
