//! Outbound notifications as use cases: the administrator's channels (with
//! their secrets kept out of every answer), each user's choices, and the
//! delivery run that sends what case steps queued, retrying with backoff.

use std::time::Duration;

use gongjian_config::NotifyConfig;
use gongjian_notify::{Channel, Message, check_address, send};
use gongjian_storage::{Actor, ChannelRow, Db, NewChannel, Rule, StorageError, Subscription};
use serde::Serialize;

use crate::AppError;

fn bad(detail: impl Into<String>) -> AppError {
    AppError::Storage(StorageError::rule(Rule::Notify, detail))
}

/// A stored channel's settings.
pub fn channel_of(row: &ChannelRow) -> Result<Channel, AppError> {
    serde_json::from_str(&row.settings)
        .map_err(|e| bad(format!("通道「{}」的设置无法读取：{e}", row.name)))
}

/// A channel as the administrator sees it: settings with secrets masked.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    #[serde(flatten)]
    pub row: ChannelRow,
    pub kind_label: &'static str,
    pub settings: Channel,
}

pub async fn channels(db: &Db) -> Result<Vec<ChannelView>, AppError> {
    db.notify()
        .notify_channels()
        .await?
        .into_iter()
        .map(|row| {
            let settings = channel_of(&row)?.masked();
            Ok(ChannelView {
                kind_label: gongjian_notify::kind_label(&row.kind),
                row,
                settings,
            })
        })
        .collect()
}

/// Creates (`id` None) or changes a channel. A secret sent back masked
/// keeps the stored one; settings with a problem are refused whole.
pub async fn save_channel(
    db: &Db,
    actor: &Actor,
    id: Option<i64>,
    name: &str,
    settings: Channel,
    events: Vec<String>,
    enabled: bool,
) -> Result<i64, AppError> {
    let settings = match id {
        Some(id) => {
            settings.keeping_secrets_of(&channel_of(&db.notify().notify_channel(id).await?)?)
        }
        None => settings,
    };
    let problems = settings.problems();
    if !problems.is_empty() {
        return Err(bad(problems.join("；")));
    }
    let new = NewChannel {
        name: name.to_owned(),
        kind: settings.kind().to_owned(),
        personal: settings.personal(),
        settings: serde_json::to_string(&settings).expect("plain settings"),
        settings_for_audit: serde_json::to_value(settings.masked()).expect("plain settings"),
        events,
        enabled,
    };
    Ok(db.notify().save_notify_channel(actor, id, &new).await?)
}

/// Saves a user's choices, each address checked for its channel's kind.
pub async fn save_subscriptions(
    db: &Db,
    actor: &Actor,
    user_id: i64,
    subs: Vec<Subscription>,
) -> Result<(), AppError> {
    let channels = db.notify().notify_channels().await?;
    let mut problems = Vec::new();
    for s in &subs {
        if let Some(c) = channels.iter().find(|c| c.id == s.channel_id)
            && let Err(e) = check_address(&c.kind, s.address.trim())
        {
            problems.push(format!("{}：{e}", c.name));
        }
    }
    if !problems.is_empty() {
        return Err(bad(problems.join("；")));
    }
    Ok(db
        .notify()
        .save_notify_subscriptions(actor, user_id, &subs)
        .await?)
}

/// What one delivery run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryRun {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// Seconds before attempt `attempts + 1`: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i64) -> i64 {
    (30i64 << attempts.clamp(0, 7)).min(3600)
}

/// Most deliveries one run sends.
const BATCH: i64 = 100;

/// Sends every due delivery once and records each outcome. A failed send
/// is retried after [`backoff`] until `max_attempts`, then marked failed;
/// it never touches the case it came from.
pub async fn run_deliveries(
    db: &Db,
    config: &NotifyConfig,
    now: i64,
) -> Result<DeliveryRun, AppError> {
    let timeout = Duration::from_secs(config.timeout_seconds.max(1));
    // Leased past the longest a send can take: another server skips them.
    let lease = now + config.timeout_seconds.max(1) as i64 * 2 + 60;
    let due = db.notify().claim_due_deliveries(now, lease, BATCH).await?;
    let mut run = DeliveryRun::default();
    let base = config.public_url.trim_end_matches('/');
    for d in due {
        let message = Message {
            kind: d.kind.clone(),
            title: d.title.clone(),
            link: if base.is_empty() {
                d.link.clone()
            } else {
                format!("{base}{}", d.link)
            },
            at: d.happened_at,
        };
        let outcome = match serde_json::from_str::<Channel>(&d.channel_settings) {
            Ok(channel) => send(&channel, &d.address, &message, timeout)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("通道设置无法读取：{e}")),
        };
        let attempts = d.attempts + 1;
        let retry_at = (outcome.is_err() && attempts < i64::from(config.max_attempts.max(1)))
            .then(|| now + backoff(d.attempts));
        match &outcome {
            Ok(()) => run.sent += 1,
            Err(e) => {
                tracing::warn!(delivery = d.id, channel = d.channel_id, attempts, error = %e, "notification not delivered");
                if retry_at.is_some() {
                    run.retrying += 1;
                } else {
                    run.failed += 1;
                }
            }
        }
        db.notify().record_delivery(d.id, outcome, retry_at).await?;
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_half_a_minute_to_an_hour() {
        let waits: Vec<i64> = (0..9).map(backoff).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }
}
