use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::{Actor, AuditEntry, Db, StorageError, now};

crate::db::area!(
    /// The hash-chained audit log.
    Audit,
    audit
);

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

/// The `prev_hash` of the first row of the chain.
/// The kinds of record the audit log names, as officials read them
/// (code, label). The log keeps the code; pages show the label.
pub const AUDIT_ENTITIES: &[(&str, &str)] = &[
    ("accountability", "问责记录"),
    ("alarm", "报警"),
    ("alarm_rules", "报警规则"),
    ("assignment", "任务分工"),
    ("campaign", "攻坚方案"),
    ("case", "督办单"),
    ("device", "数采仪"),
    ("emergency_list", "应急减排清单"),
    ("emergency_warning", "重污染天气预警"),
    ("enterprise_record", "一企一档"),
    ("fire_point", "火点"),
    ("hj212_device", "数采仪（MN）"),
    ("hj212_peer", "数采仪连接地址"),
    ("notify_channel", "推送渠道"),
    ("notify_delivery", "消息推送"),
    ("notify_subscriptions", "接收设置"),
    ("organisation", "单位"),
    ("report", "月调度"),
    ("season_list", "错峰生产清单"),
    ("series", "监测数据"),
    ("session", "登录会话"),
    ("site", "站点"),
    ("site_production_line", "站点所属生产线"),
    ("task", "任务"),
    ("task_ledger", "任务台账"),
    ("task_report", "进展报送"),
    ("user", "用户"),
];

/// The actions the audit log records (code, label).
pub const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("accept", "签收/通过"),
    ("answer", "反馈整改"),
    ("attach", "补交附件"),
    ("cancel", "撤销"),
    ("close", "销号"),
    ("confirm", "确认"),
    ("create", "新建"),
    ("delete", "删除"),
    ("disable", "停用"),
    ("enable", "启用"),
    ("escalate", "提级督办"),
    ("explain", "说明"),
    ("export", "导出"),
    ("extend", "延期"),
    ("failed", "推送失败"),
    ("hj212.auth_lockout", "数采仪密码错误锁定"),
    ("import", "导入"),
    ("load", "载入"),
    ("login", "登录"),
    ("login_failed", "登录失败"),
    ("login_locked", "登录（账号已锁定）"),
    ("login_throttled", "登录（过于频繁）"),
    ("logout", "退出"),
    ("publish", "发布"),
    ("reopen", "重新打开"),
    ("reply", "乡镇反馈"),
    ("return", "退回"),
    ("sent", "已推送"),
    ("set_factors", "设置监测因子"),
    ("set_password", "设置密码"),
    ("set_state", "变更状态"),
    ("sign_off", "办结"),
    ("submit", "报送"),
    ("test", "测试"),
    ("update", "修改"),
    ("verify", "核查"),
    ("void", "作废"),
];

/// The label of an audit code from `table`, or the code itself when the
/// table does not know it (a record written by a newer version).
pub fn audit_label<'a>(table: &[(&str, &'a str)], code: &'a str) -> &'a str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| *l)
}

pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Key of the PostgreSQL transaction-scoped advisory lock that serializes
/// appends, so that two transactions never chain onto the same row.
/// (SQLite has one writer; a stale reader cannot upgrade to write in WAL.)
const CHAIN_LOCK_KEY: i64 = 0x6a69_616e_5f61_7564; // "jian_aud"

/// The fields of a row that its hash covers (everything but `id`: the
/// order of the chain is carried by `prev_hash`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct ChainFields {
    at: i64,
    actor_user_id: Option<i64>,
    actor_name: String,
    client_addr: String,
    action: String,
    entity: String,
    entity_id: String,
    before_json: Option<String>,
    after_json: Option<String>,
}

impl ChainFields {
    /// SHA-256 (lower-case hex) of a canonical encoding: a version tag, then
    /// each value as `N` (NULL) or `S<byte length>:<bytes>`, so that no two
    /// different rows encode alike.
    fn hash(&self, prev_hash: &str) -> String {
        fn put(h: &mut Sha256, value: Option<&str>) {
            match value {
                None => h.update(b"N"),
                Some(v) => {
                    h.update(format!("S{}:", v.len()).as_bytes());
                    h.update(v.as_bytes());
                }
            }
        }
        let mut h = Sha256::new();
        h.update(b"gongjian-audit-v1\n");
        put(&mut h, Some(prev_hash));
        put(&mut h, Some(&self.at.to_string()));
        put(&mut h, self.actor_user_id.map(|v| v.to_string()).as_deref());
        for v in [
            &self.actor_name,
            &self.client_addr,
            &self.action,
            &self.entity,
            &self.entity_id,
        ] {
            put(&mut h, Some(v));
        }
        put(&mut h, self.before_json.as_deref());
        put(&mut h, self.after_json.as_deref());
        hex::encode(h.finalize())
    }
}

/// A row of the chain as stored ([`CHAIN_COLUMNS`]).
#[derive(sqlx::FromRow)]
struct ChainRow {
    id: i64,
    #[sqlx(flatten)]
    fields: ChainFields,
    prev_hash: Option<String>,
    hash: Option<String>,
}

const CHAIN_COLUMNS: &str = "id, at, actor_user_id, actor_name, client_addr, action, entity, \
     entity_id, before_json, after_json, prev_hash, hash";

/// Take the chain lock for the rest of the transaction (PostgreSQL).
async fn lock_chain(conn: &mut AnyConnection) -> Result<(), StorageError> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHAIN_LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Append one audit entry on the given connection, inside the caller's
/// transaction so that the change and its record commit together. The
/// entry is chained to the last one.
pub(crate) async fn append(
    conn: &mut AnyConnection,
    actor: &Actor,
    record: AuditRecord<'_>,
) -> Result<(), StorageError> {
    lock_chain(conn).await?;
    let prev: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    let prev = prev.unwrap_or_else(|| AUDIT_GENESIS.to_owned());
    let fields = ChainFields {
        at: now(),
        actor_user_id: actor.user_id,
        actor_name: actor.name.clone(),
        client_addr: actor.client_addr.clone(),
        action: record.action.to_owned(),
        entity: record.entity.to_owned(),
        entity_id: record.entity_id,
        before_json: record.before.map(|v| v.to_string()),
        after_json: record.after.map(|v| v.to_string()),
    };
    let hash = fields.hash(&prev);
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor_name, client_addr, action, entity, \
         entity_id, before_json, after_json, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(fields.at)
    .bind(fields.actor_user_id)
    .bind(&fields.actor_name)
    .bind(&fields.client_addr)
    .bind(&fields.action)
    .bind(&fields.entity)
    .bind(&fields.entity_id)
    .bind(&fields.before_json)
    .bind(&fields.after_json)
    .bind(&prev)
    .bind(&hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Chain the rows written before migration 0007, once: only while no row
/// has a hash yet, so that a row slipped in later without one is never
/// legitimised. Returns how many rows were chained.
pub(crate) async fn chain_legacy_rows(db: &Db) -> Result<u64, StorageError> {
    let mut tx = db.write.begin().await?;
    lock_chain(&mut tx).await?;
    // Cheap on every start: the newest row has a hash once the chain exists.
    let last: Option<Option<String>> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
    if !matches!(last, Some(None)) {
        return Ok(0);
    }
    let hashed: Option<i64> =
        sqlx::query_scalar("SELECT id FROM audit_log WHERE hash IS NOT NULL LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
    if hashed.is_some() {
        // A row without a hash after the chain began: tampering, which
        // `audit verify` reports; never chain it.
        return Ok(0);
    }
    let rows = sqlx::query_as::<_, ChainRow>(&format!(
        "SELECT {CHAIN_COLUMNS} FROM audit_log ORDER BY id"
    ))
    .fetch_all(&mut *tx)
    .await?;
    let mut prev = AUDIT_GENESIS.to_owned();
    for row in &rows {
        let hash = row.fields.hash(&prev);
        sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE id = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        prev = hash;
    }
    tx.commit().await?;
    if !rows.is_empty() {
        tracing::info!(rows = rows.len(), "audit log: existing entries chained");
    }
    Ok(rows.len() as u64)
}

/// The outcome of walking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    /// Rows checked (all of them when the chain is intact).
    pub rows: u64,
    /// Hash of the last row: note it elsewhere to detect a cut-off tail.
    pub head: Option<String>,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// `audit_log.id` of the first row that does not verify.
    pub id: i64,
    /// What differs, in Chinese, for the operator.
    pub problem: String,
}

#[derive(Debug)]
enum LinkCheck {
    Ok(String),
    Broken(String),
}

fn check_link(
    fields: &ChainFields,
    prev: &str,
    stored_prev: Option<&str>,
    stored: Option<&str>,
) -> LinkCheck {
    let (Some(stored_prev), Some(stored)) = (stored_prev, stored) else {
        return LinkCheck::Broken("该条记录没有哈希（绕过程序直接写入）".into());
    };
    if stored_prev != prev {
        return LinkCheck::Broken(format!(
            "链接断开：记录的上一条哈希 {stored_prev} 与实际上一条的哈希 {prev} 不符（其前有记录被删除、插入或改写）"
        ));
    }
    let computed = fields.hash(prev);
    if computed != stored {
        return LinkCheck::Broken(format!(
            "内容被改动：按字段重算的哈希 {computed} 与记录的哈希 {stored} 不符"
        ));
    }
    LinkCheck::Ok(computed)
}

impl Audit<'_> {
    /// Walk the whole audit chain from the first row and stop at the first
    /// row whose link or content does not verify.
    pub async fn verify(&self) -> Result<AuditVerification, StorageError> {
        const PAGE: i64 = 2000;
        let mut prev = AUDIT_GENESIS.to_owned();
        let mut rows = 0u64;
        let mut last_id = i64::MIN;
        loop {
            let page = sqlx::query_as::<_, ChainRow>(&format!(
                "SELECT {CHAIN_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"
            ))
            .bind(last_id)
            .bind(PAGE)
            .fetch_all(&self.read)
            .await?;
            for row in &page {
                let id = row.id;
                match check_link(
                    &row.fields,
                    &prev,
                    row.prev_hash.as_deref(),
                    row.hash.as_deref(),
                ) {
                    LinkCheck::Ok(hash) => prev = hash,
                    LinkCheck::Broken(problem) => {
                        return Ok(AuditVerification {
                            rows,
                            head: (rows > 0).then_some(prev),
                            broken: Some(BrokenLink { id, problem }),
                        });
                    }
                }
                rows += 1;
                last_id = id;
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        Ok(AuditVerification {
            rows,
            head: (rows > 0).then_some(prev),
            broken: None,
        })
    }
}

/// A row of the log as [`Audit::list`] reads it: the chained fields and
/// the id.
#[derive(sqlx::FromRow)]
struct AuditEntryRow {
    id: i64,
    #[sqlx(flatten)]
    fields: ChainFields,
}

impl From<AuditEntryRow> for AuditEntry {
    fn from(r: AuditEntryRow) -> AuditEntry {
        // Unparseable JSON reads as absent, as it always has.
        let parse = |text: Option<String>| {
            text.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        };
        let f = r.fields;
        AuditEntry {
            id: r.id,
            at: f.at,
            actor_user_id: f.actor_user_id,
            actor_name: f.actor_name,
            client_addr: f.client_addr,
            action: f.action,
            entity: f.entity,
            entity_id: f.entity_id,
            before: parse(f.before_json),
            after: parse(f.after_json),
        }
    }
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

impl Audit<'_> {
    /// Record an action that is not a row change (login, export, …).
    pub async fn record(&self, actor: &Actor, record: AuditRecord<'_>) -> Result<(), StorageError> {
        // A transaction of its own: the chain lock lives as long as one.
        let mut tx = self.write.begin().await?;
        append(&mut tx, actor, record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Audit entries matching the filter, newest first.
    pub async fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StorageError> {
        // Each optional condition is written as "($n IS NULL OR col = $n)" so
        // the statement text stays fixed and portable across both backends.
        let rows = sqlx::query_as::<_, AuditEntryRow>(
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
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}
