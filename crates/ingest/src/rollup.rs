//! Rollups (minute → hour, hour → day) through the HJ 75/76 validity rules of
//! `gongjian_standards::emission`, and the raw-archive retention task.
//!
//! Minute records arrive every `min_interval` minutes (2051, commonly 10):
//! each record stands for that many minutes of the hour, so it is counted
//! that many times when the ≥ 45 valid-minute rule is applied (the mean is
//! unchanged because every record has the same weight).
//!
//! Flags: a valid period is `N`; an invalid one carries the most frequent
//! non-`N` flag of its members, or `B` (通讯异常: data missing) when the
//! members were valid but too few.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use gongjian_standards::cst::local_day_start;
use gongjian_standards::emission::{Flag, MinuteValue, Thresholds, hours_to_day, minutes_to_hour};
use gongjian_storage::{Db, PendingRollup, RollupValue, SeriesPoint};
use rust_decimal::Decimal;
use tokio::sync::watch;

use crate::events::{InternalEvent, Metrics, RollupsComputed};
use crate::server::Settings;

fn flag_of(s: &str) -> Flag {
    // Unknown vendor flags are not valid data.
    Flag::from_str(s).unwrap_or(Flag::D)
}

fn invalid_flag(counts: &BTreeMap<Flag, u32>) -> Flag {
    counts
        .iter()
        .filter(|(f, _)| **f != Flag::N)
        .max_by_key(|(_, n)| **n)
        .map(|(f, _)| *f)
        .unwrap_or(Flag::B)
}

fn fmt(d: Decimal) -> String {
    d.round_dp(4).normalize().to_string()
}

/// Roll minute records of one hour (each standing for `interval` minutes)
/// into an hour value: `(value, converted, flag)`.
pub fn rollup_hour(
    points: &[SeriesPoint],
    interval: i64,
    th: &Thresholds,
) -> (Option<String>, Option<String>, String) {
    let weight = interval.clamp(1, 60) as usize;
    let expand = |conv: bool| -> Vec<MinuteValue> {
        let mut out = Vec::new();
        for p in points {
            let text = if conv { &p.converted } else { &p.value };
            let value = text
                .as_deref()
                .and_then(|t| Decimal::from_str(t.trim()).ok());
            let flag = flag_of(&p.flag);
            for _ in 0..weight {
                if out.len() < 60 {
                    out.push(MinuteValue { value, flag });
                }
            }
        }
        out
    };
    let measured = minutes_to_hour(&expand(false), th).unwrap_or_default();
    let flag = if measured.valid {
        Flag::N
    } else {
        invalid_flag(&measured.flags)
    };
    let converted = if points.iter().any(|p| p.converted.is_some()) {
        minutes_to_hour(&expand(true), th).ok().and_then(|h| h.mean)
    } else {
        None
    };
    (measured.mean.map(fmt), converted.map(fmt), flag.to_string())
}

/// Roll hourly values of one day into a day value.
pub fn rollup_day(
    points: &[SeriesPoint],
    th: &Thresholds,
) -> (Option<String>, Option<String>, String) {
    let valid = |p: &SeriesPoint, conv: bool| -> Option<Decimal> {
        if !th.flag_valid(flag_of(&p.flag)) {
            return None;
        }
        let t = if conv { &p.converted } else { &p.value };
        t.as_deref().and_then(|t| Decimal::from_str(t.trim()).ok())
    };
    let hours: Vec<Option<Decimal>> = points.iter().map(|p| valid(p, false)).collect();
    let day = hours_to_day(&hours, th);
    let mut counts = BTreeMap::new();
    for p in points {
        *counts.entry(flag_of(&p.flag)).or_insert(0u32) += 1;
    }
    let flag = if day.valid {
        Flag::N
    } else {
        invalid_flag(&counts)
    };
    let conv = if points.iter().any(|p| p.converted.is_some()) {
        let c: Vec<Option<Decimal>> = points.iter().map(|p| valid(p, true)).collect();
        hours_to_day(&c, th).mean
    } else {
        None
    };
    (day.mean.map(fmt), conv.map(fmt), flag.to_string())
}

async fn compute(
    db: &Db,
    p: &PendingRollup,
    intervals: &HashMap<i64, i64>,
    th: &Thresholds,
) -> Result<Option<RollupValue>, gongjian_storage::StorageError> {
    match p.kind.as_str() {
        "hour" => {
            let pts = db
                .series_points(
                    p.site_id,
                    &p.factor,
                    "min",
                    p.period_start,
                    p.period_start + 3600,
                )
                .await?;
            if pts.is_empty() {
                return Ok(None);
            }
            let interval = intervals.get(&p.site_id).copied().unwrap_or(10);
            let (value, converted, flag) = rollup_hour(&pts, interval, th);
            Ok(Some(RollupValue {
                site_id: p.site_id,
                factor: p.factor.clone(),
                kind: "hour",
                period_start: p.period_start,
                value,
                converted,
                flag,
                day_start: Some(local_day_start(p.period_start)),
            }))
        }
        "day" => {
            let pts = db
                .series_points(
                    p.site_id,
                    &p.factor,
                    "hour",
                    p.period_start,
                    p.period_start + 86_400,
                )
                .await?;
            if pts.is_empty() {
                return Ok(None);
            }
            let (value, converted, flag) = rollup_day(&pts, th);
            Ok(Some(RollupValue {
                site_id: p.site_id,
                factor: p.factor.clone(),
                kind: "day",
                period_start: p.period_start,
                value,
                converted,
                flag,
                day_start: None,
            }))
        }
        _ => Ok(None),
    }
}

/// Compute every pending rollup once. Returns how many were stored.
pub(crate) async fn run_once(db: &Db) -> Result<usize, gongjian_storage::StorageError> {
    let th = Thresholds::default();
    let intervals: HashMap<i64, i64> = db
        .devices()
        .await?
        .into_iter()
        .map(|d| (d.site_id, d.min_interval))
        .collect();
    let mut total = 0;
    loop {
        let pending = db.take_pending_rollups(500).await?;
        if pending.is_empty() {
            break;
        }
        let mut out = Vec::with_capacity(pending.len());
        for p in &pending {
            if let Some(v) = compute(db, p, &intervals, &th).await? {
                out.push(v);
            }
        }
        db.store_rollups(&out).await?;
        total += out.len();
    }
    Ok(total)
}

/// Rollups every `rollup_interval`; raw-archive retention hourly.
pub(crate) async fn background(
    db: Db,
    settings: Settings,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(settings.rollup_interval);
    let mut last_purge: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = tick.tick() => {}
        }
        match run_once(&db).await {
            Ok(n) if n > 0 => RollupsComputed { count: n }.emit(&metrics),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "hj212 rollup failed"),
        }
        if settings.raw_retention_days > 0
            && last_purge.is_none_or(|t| t.elapsed() > Duration::from_secs(3600))
        {
            last_purge = Some(tokio::time::Instant::now());
            let before = gongjian_storage::now() - i64::from(settings.raw_retention_days) * 86_400;
            match db.purge_raw_before(before).await {
                Ok(n) if n > 0 => tracing::info!(rows = n, "hj212 raw archive retention"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "hj212 retention failed"),
            }
        }
    }
}
