//! Outbound notifications: the channels the administrator configures, each
//! user's choices, and the delivery queue (also the delivery log). A case
//! step queues its deliveries in the same transaction as its inbox
//! messages ([`enqueue`]); the service layer's job sends them and records
//! each outcome here. The channel settings are opaque JSON to this module.

use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use crate::audit::{AuditRecord, append};
use crate::{Actor, Rule, StorageError, now, validate};

crate::db::area!(
    /// Outbound notification channels, subscriptions and deliveries.
    Notify,
    notify
);

/// A configured channel as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub personal: bool,
    /// JSON; secrets included.
    #[serde(skip)]
    pub settings: String,
    /// Group channels: the kinds it posts (empty: all).
    pub events: Vec<String>,
    pub enabled: bool,
    pub updated_at: i64,
}

/// A channel to save.
#[derive(Debug, Clone)]
pub struct NewChannel {
    pub name: String,
    pub kind: String,
    pub personal: bool,
    pub settings: String,
    /// The settings with secrets masked, for the audit log.
    pub settings_for_audit: serde_json::Value,
    pub events: Vec<String>,
    pub enabled: bool,
}

/// A user's choice for a personal channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Subscription {
    pub channel_id: i64,
    pub address: String,
    /// The kinds sent there (empty: all).
    pub events: Vec<String>,
}

/// A delivery due to be sent, with its channel's settings.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub channel_id: i64,
    #[sqlx(rename = "settings")]
    pub channel_settings: String,
    pub address: String,
    pub kind: String,
    pub title: String,
    pub link: String,
    pub happened_at: i64,
    pub attempts: i64,
}

/// A row of the delivery log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub channel_id: i64,
    pub channel: String,
    pub user_id: Option<i64>,
    pub address: String,
    pub kind: String,
    pub title: String,
    /// pending | sent | failed
    pub state: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// The notification kinds a user or a group channel can choose, with
/// their Chinese names.
pub const NOTIFY_KINDS: [(&str, &str); 11] = [
    ("case_new", "新督办单"),
    ("case_answered", "督办单已反馈，待核查"),
    ("case_verified", "督办单已核查，待销号"),
    ("case_return", "督办单被退回"),
    ("case_close", "督办单已销号"),
    ("case_reopen", "督办单重新打开"),
    ("case_overdue", "督办单逾期"),
    ("fire_push", "火点待核实"),
    ("fire_replied", "火点核实已反馈"),
    ("emergency_warning", "重污染天气预警"),
    ("test", "测试消息"),
];

fn bad(detail: impl Into<String>) -> StorageError {
    StorageError::rule(Rule::Notify, detail)
}

fn events_text(events: &[String]) -> Result<String, StorageError> {
    for e in events {
        if !NOTIFY_KINDS.iter().any(|(k, _)| k == e) {
            return Err(bad(format!(
                "未知的消息类型「{}」",
                e.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok(events.join(","))
}

fn events_of(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn wants(events: &str, kind: &str) -> bool {
    events.is_empty() || events.split(',').any(|e| e == kind)
}

/// A row of `notify_channels`: booleans are 0/1, the events a
/// comma-separated list.
#[derive(sqlx::FromRow)]
struct ChannelDbRow {
    id: i64,
    name: String,
    kind: String,
    personal: i64,
    settings: String,
    events: String,
    enabled: i64,
    updated_at: i64,
}

impl From<ChannelDbRow> for ChannelRow {
    fn from(r: ChannelDbRow) -> ChannelRow {
        ChannelRow {
            id: r.id,
            name: r.name,
            kind: r.kind,
            personal: r.personal != 0,
            settings: r.settings,
            events: events_of(&r.events),
            enabled: r.enabled != 0,
            updated_at: r.updated_at,
        }
    }
}

/// A row of `notify_subscriptions`, the events a comma-separated list.
#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    channel_id: i64,
    address: String,
    events: String,
}

impl From<SubscriptionRow> for Subscription {
    fn from(r: SubscriptionRow) -> Subscription {
        Subscription {
            channel_id: r.channel_id,
            address: r.address,
            events: events_of(&r.events),
        }
    }
}

/// Most deliveries a notification can queue per channel (a message to a
/// whole organisation on a personal channel).
const PER_CHANNEL_MAX: usize = 200;

/// Queues the deliveries of one notification: once to each enabled group
/// channel that posts `kind`, and to each of `users` who chose `kind` on
/// an enabled personal channel. Called in the transaction that writes the
/// inbox messages, so a step and its deliveries are stored together.
pub(crate) async fn enqueue(
    conn: &mut AnyConnection,
    users: &[i64],
    kind: &str,
    title: &str,
    link: &str,
) -> Result<(), StorageError> {
    let channels = sqlx::query_as::<_, ChannelDbRow>(
        "SELECT id, name, kind, personal, settings, events, enabled, updated_at FROM notify_channels WHERE enabled = 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let at = now();
    for channel in channels.into_iter().map(ChannelRow::from) {
        let mut targets: Vec<(Option<i64>, String)> = Vec::new();
        if channel.personal {
            let subs = sqlx::query_as::<_, (i64, String, String)>(
                "SELECT user_id, address, events FROM notify_subscriptions WHERE channel_id = $1",
            )
            .bind(channel.id)
            .fetch_all(&mut *conn)
            .await?;
            for (user, address, events) in subs {
                if users.contains(&user) && wants(&events, kind) {
                    targets.push((Some(user), address));
                }
            }
        } else if wants(&channel.events.join(","), kind) {
            targets.push((None, String::new()));
        }
        for (user, address) in targets.into_iter().take(PER_CHANNEL_MAX) {
            sqlx::query(
                "INSERT INTO notify_deliveries (channel_id, user_id, address, kind, title, link, happened_at, \
                 state, attempts, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $7, $7)",
            )
            .bind(channel.id)
            .bind(user)
            .bind(&address)
            .bind(kind)
            .bind(title)
            .bind(link)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A pending delivery as [`Notify::claim_due_deliveries`] reads it: the
/// delivery, and the time its lease is compared against.
#[derive(sqlx::FromRow)]
struct DueRow {
    #[sqlx(flatten)]
    delivery: DueDelivery,
    next_at: i64,
}

const DELIVERY_COLUMNS: &str = "d.id, d.channel_id, c.name AS channel, d.user_id, d.address, d.kind, d.title, \
     d.state, d.attempts, d.next_at, d.last_error, d.created_at, d.sent_at";

impl Notify<'_> {
    pub async fn notify_channels(&self) -> Result<Vec<ChannelRow>, StorageError> {
        let rows = sqlx::query_as::<_, ChannelDbRow>(
            "SELECT id, name, kind, personal, settings, events, enabled, updated_at FROM notify_channels ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(ChannelRow::from).collect())
    }

    pub async fn notify_channel(&self, id: i64) -> Result<ChannelRow, StorageError> {
        let row = sqlx::query_as::<_, ChannelDbRow>(
            "SELECT id, name, kind, personal, settings, events, enabled, updated_at FROM notify_channels WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "notify_channel",
            key: id.to_string(),
        })?;
        Ok(row.into())
    }

    /// Creates (`id` None) or changes a channel, audited with its settings
    /// masked. Returns its id.
    pub async fn save_notify_channel(
        &self,
        actor: &Actor,
        id: Option<i64>,
        c: &NewChannel,
    ) -> Result<i64, StorageError> {
        let name = c.name.trim();
        validate::line("通道名称", name, validate::NAME_MAX)?;
        if name.is_empty() {
            return Err(bad("请填写通道名称"));
        }
        let events = events_text(&c.events)?;
        let before = match id {
            Some(id) => Some(self.notify_channel(id).await?),
            None => None,
        };
        if let Some(b) = &before
            && b.kind != c.kind
        {
            return Err(bad("通道类型不能修改，请新建通道"));
        }
        let at = now();
        let mut tx = self.write.begin().await?;
        let id = match id {
            Some(id) => {
                sqlx::query(
                    "UPDATE notify_channels SET name = $1, settings = $2, events = $3, enabled = $4, updated_at = $5 WHERE id = $6",
                )
                .bind(name)
                .bind(&c.settings)
                .bind(&events)
                .bind(i64::from(c.enabled))
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => sqlx::query_scalar(
                "INSERT INTO notify_channels (name, kind, personal, settings, events, enabled, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            )
            .bind(name)
            .bind(&c.kind)
            .bind(i64::from(c.personal))
            .bind(&c.settings)
            .bind(&events)
            .bind(i64::from(c.enabled))
            .bind(at)
            .fetch_one(&mut *tx)
            .await?,
        };
        let after = json!({"name": name, "kind": c.kind, "settings": c.settings_for_audit,
            "events": c.events, "enabled": c.enabled});
        let record = match &before {
            Some(b) => AuditRecord::new("update", "notify_channel", id)
                .before(&json!({"name": b.name, "events": b.events, "enabled": b.enabled}))
                .after(&after),
            None => AuditRecord::new("create", "notify_channel", id).after(&after),
        };
        append(&mut tx, actor, record).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The personal channels `user_id` chose.
    pub async fn notify_subscriptions(
        &self,
        user_id: i64,
    ) -> Result<Vec<Subscription>, StorageError> {
        let rows = sqlx::query_as::<_, SubscriptionRow>(
            "SELECT channel_id, address, events FROM notify_subscriptions WHERE user_id = $1 ORDER BY channel_id",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Subscription::from).collect())
    }

    /// Replaces `user_id`'s choices by `subs` (addresses checked by the
    /// caller for their channel's kind), audited.
    pub async fn save_notify_subscriptions(
        &self,
        actor: &Actor,
        user_id: i64,
        subs: &[Subscription],
    ) -> Result<(), StorageError> {
        let channels = self.notify_channels().await?;
        for s in subs {
            let Some(c) = channels.iter().find(|c| c.id == s.channel_id) else {
                return Err(bad("所选通道不存在"));
            };
            if !c.personal {
                return Err(bad(format!("「{}」是群通道，由管理员设置推送内容", c.name)));
            }
            validate::line("接收地址", &s.address, 254)?;
            events_text(&s.events)?;
        }
        let before = self.notify_subscriptions(user_id).await?;
        let at = now();
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM notify_subscriptions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for s in subs {
            sqlx::query(
                "INSERT INTO notify_subscriptions (user_id, channel_id, address, events, updated_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(user_id)
            .bind(s.channel_id)
            .bind(s.address.trim())
            .bind(events_text(&s.events)?)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        append(
            &mut tx,
            actor,
            AuditRecord::new("update", "notify_subscriptions", user_id)
                .before(&json!(before))
                .after(&json!(subs)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues one test message on a channel (to `address` on a personal
    /// channel), sent by the next delivery run.
    pub async fn queue_test_delivery(
        &self,
        actor: &Actor,
        channel_id: i64,
        address: &str,
        title: &str,
    ) -> Result<i64, StorageError> {
        let c = self.notify_channel(channel_id).await?;
        validate::line("接收地址", address, 254)?;
        let at = now();
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO notify_deliveries (channel_id, user_id, address, kind, title, link, happened_at, \
             state, attempts, next_at, created_at) VALUES ($1, $2, $3, 'test', $4, '/', $5, 'pending', 0, $5, $5) RETURNING id",
        )
        .bind(c.id)
        .bind(actor.user_id)
        .bind(if c.personal { address } else { "" })
        .bind(title)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("test", "notify_channel", c.id).after(&json!({"delivery": id})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claims up to `limit` pending deliveries due at `at` on enabled
    /// channels: each is leased until `lease_until`, so two servers never
    /// send the same one.
    pub async fn claim_due_deliveries(
        &self,
        at: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StorageError> {
        let rows = sqlx::query_as::<_, DueRow>(
            "SELECT d.id, d.channel_id, c.settings, d.address, d.kind, d.title, d.link, d.happened_at, d.attempts, d.next_at \
             FROM notify_deliveries d JOIN notify_channels c ON c.id = d.channel_id \
             WHERE d.state = 'pending' AND d.next_at <= $1 AND c.enabled = 1 ORDER BY d.next_at, d.id LIMIT $2",
        )
        .bind(at)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::new();
        for DueRow { delivery, next_at } in rows {
            let claimed = sqlx::query(
                "UPDATE notify_deliveries SET next_at = $1 WHERE id = $2 AND state = 'pending' AND next_at = $3",
            )
            .bind(lease_until)
            .bind(delivery.id)
            .bind(next_at)
            .execute(&self.write)
            .await?
            .rows_affected();
            if claimed == 1 {
                out.push(delivery);
            }
        }
        Ok(out)
    }

    /// Records a delivery's attempt: sent, or failed with the reason and
    /// either the time of the next attempt or (None) given up. A final
    /// outcome is audited.
    pub async fn record_delivery(
        &self,
        id: i64,
        outcome: Result<(), String>,
        retry_at: Option<i64>,
    ) -> Result<(), StorageError> {
        let at = now();
        let mut tx = self.write.begin().await?;
        let (state, error) = match &outcome {
            Ok(()) => ("sent", String::new()),
            Err(e) if retry_at.is_some() => ("pending", e.chars().take(500).collect()),
            Err(e) => ("failed", e.chars().take(500).collect()),
        };
        sqlx::query(
            "UPDATE notify_deliveries SET state = $1, attempts = attempts + 1, last_error = $2, \
             next_at = $3, sent_at = $4 WHERE id = $5",
        )
        .bind(state)
        .bind(&error)
        .bind(retry_at.unwrap_or(at))
        .bind(outcome.is_ok().then_some(at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if state != "pending" {
            append(
                &mut tx,
                &Actor::system("notify"),
                AuditRecord::new(
                    if state == "sent" { "sent" } else { "failed" },
                    "notify_delivery",
                    id,
                )
                .after(&json!({"error": error})),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The delivery log, newest first.
    pub async fn notify_deliveries(&self, limit: i64) -> Result<Vec<DeliveryRow>, StorageError> {
        Ok(sqlx::query_as::<_, DeliveryRow>(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM notify_deliveries d JOIN notify_channels c ON c.id = d.channel_id \
             ORDER BY d.id DESC LIMIT $1"
        ))
        .bind(limit.clamp(1, 5000))
        .fetch_all(&self.read)
        .await?)
    }
}
