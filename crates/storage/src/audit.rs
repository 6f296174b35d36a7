use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::{Actor, AuditEntry, Db, StorageError, now};

/// What to record: the action and the entity's state before and after.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl<'a> AuditRecord<'a> {
    pub fn new(action: &'a str, entity: &'a str, entity_id: impl ToString) -> Self {
        AuditRecord {
            action,
            entity,
            entity_id: entity_id.to_string(),
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, value: &impl Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: &impl Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

/// Append one audit entry on the given connection, inside the caller's
/// transaction so that the change and its record commit together.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    actor: &Actor,
    record: AuditRecord<'_>,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor_name, client_addr, action, entity, \
         entity_id, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(now())
    .bind(actor.user_id)
    .bind(&actor.name)
    .bind(&actor.client_addr)
    .bind(record.action)
    .bind(record.entity)
    .bind(&record.entity_id)
    .bind(record.before.map(|v| v.to_string()))
    .bind(record.after.map(|v| v.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub entity: Option<String>,
    pub action: Option<String>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub to: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

impl Db {
    /// Record an action that is not a row change (login, export, …).
    pub async fn audit(&self, actor: &Actor, record: AuditRecord<'_>) -> Result<(), StorageError> {
        let mut conn = self.write.acquire().await?;
        append(&mut conn, actor, record).await
    }

    /// Audit entries matching the filter, newest first.
    pub async fn audit_list(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StorageError> {
        // Each optional condition is written as "($n IS NULL OR col = $n)" so
        // the statement text stays fixed and portable across both backends.
        let rows = sqlx::query(
            "SELECT id, at, actor_user_id, actor_name, client_addr, action, entity, entity_id, \
             before_json, after_json FROM audit_log \
             WHERE ($1 IS NULL OR actor_name = $1) \
               AND ($2 IS NULL OR entity = $2) \
               AND ($3 IS NULL OR action = $3) \
               AND ($4 IS NULL OR at >= $4) \
               AND ($5 IS NULL OR at < $5) \
             ORDER BY id DESC LIMIT $6 OFFSET $7",
        )
        .bind(filter.actor.as_deref())
        .bind(filter.entity.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.from)
        .bind(filter.to)
        .bind(if filter.limit > 0 { filter.limit } else { 100 })
        .bind(filter.offset.max(0))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                let parse = |col: &str| -> Result<Option<serde_json::Value>, StorageError> {
                    let text: Option<String> = row.try_get(col)?;
                    Ok(text.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()))
                };
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor_user_id: row.try_get("actor_user_id")?,
                    actor_name: row.try_get("actor_name")?,
                    client_addr: row.try_get("client_addr")?,
                    action: row.try_get("action")?,
                    entity: row.try_get("entity")?,
                    entity_id: row.try_get("entity_id")?,
                    before: parse("before_json")?,
                    after: parse("after_json")?,
                })
            })
            .collect()
    }
}
