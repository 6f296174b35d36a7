//! Rollups (minute → hour, hour → day) through the HJ 75/76 validity rules of
//! `gongjian_standards::emission`. The rollup job that runs them
//! periodically is `gongjian_app::jobs`.
//!
//! Minute records arrive every `min_interval` minutes (2051, commonly 10):
//! each record stands for that many minutes of the hour, so it is counted
//! that many times when the ≥ 45 valid-minute rule is applied (the mean is
//! unchanged because every record has the same weight).
//!
//! Flags: a valid period is `N`; an invalid one carries the most frequent
//! non-`N` flag of its members, or `B` (通讯异常: data missing) when the
//! members were valid but too few.
//!
//! Stored means (issue 13 item 24). Exceedance hours and alarms judge the
//! stored text of a period against the site's limit, which may be set or
//! changed after the period is rolled up, so the decision cannot be taken
//! here. Instead each mean is stored with as many decimals as make every
//! later comparison with a limit of up to four decimals decide as the exact
//! mean of the minutes (or hours) would: [`decisive_mean`] (proof there).
//! Rounding to a fixed four decimals did not: 35.0000483 was stored as 35
//! and not judged over a limit of 35, and 10/3 as 3.3333, not over 3.3333.
//! The day is the mean of the stored hours (HJ 76) under the same rule, and
//! the 折算 means likewise.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use gongjian_standards::cst::local_day_start;
use gongjian_standards::emission::{
    Flag, HourValue, MinuteValue, Thresholds, hours_to_day, minutes_to_hour,
};
use gongjian_standards::exact::{LIMIT_DECIMALS, decisive_mean, div_round_half_even};
use gongjian_storage::{Db, PendingRollup, RollupValue, SeriesPoint};
use rust_decimal::Decimal;

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

/// A period's mean as its exact parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mean {
    sum: Decimal,
    count: u32,
}

impl Mean {
    /// The mean as stored: exact for judging against limits.
    fn stored(self) -> Decimal {
        decisive_mean(self.sum, self.count)
    }

    fn text(self) -> String {
        self.stored().to_string()
    }

    /// Whether `reported` (a logger's own value of the period) is this mean
    /// at the logger's precision, and at least four decimals: the precision
    /// the platform compared at when it stored four decimals, so a logger
    /// reporting 52.5167 for 52.516667 still agrees and one reporting 52.52
    /// still does not.
    fn reported_as(self, reported: &str) -> bool {
        Decimal::from_str(reported.trim()).is_ok_and(|r| {
            let dp = r.scale().max(LIMIT_DECIMALS);
            div_round_half_even(self.sum, Decimal::from(self.count), dp) == r
        })
    }

    /// The text to store, or to compare with the logger's value of the
    /// period when the logger sent one (the logger's is kept; see
    /// `Monitoring::store_rollups`): the logger's own text when it agrees.
    fn text_against(self, logger: Option<&str>) -> String {
        match logger {
            Some(l) if self.reported_as(l) => l.to_owned(),
            _ => self.text(),
        }
    }
}

/// A rolled-up period: the measured and 折算 means and the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rolled {
    value: Option<Mean>,
    converted: Option<Mean>,
    flag: Flag,
}

impl Rolled {
    fn texts(&self) -> (Option<String>, Option<String>, String) {
        (
            self.value.map(Mean::text),
            self.converted.map(Mean::text),
            self.flag.to_string(),
        )
    }
}

fn roll_hour(points: &[SeriesPoint], interval: i64, th: &Thresholds) -> Rolled {
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
    // The exact mean: the sum of the valid minutes over their count.
    let mean = |h: &HourValue| {
        h.valid.then_some(Mean {
            sum: h.sum,
            count: h.valid_records,
        })
    };
    let measured = minutes_to_hour(&expand(false), th).unwrap_or_default();
    let flag = if measured.valid {
        Flag::N
    } else {
        invalid_flag(&measured.flags)
    };
    let converted = if points.iter().any(|p| p.converted.is_some()) {
        minutes_to_hour(&expand(true), th)
            .ok()
            .and_then(|h| mean(&h))
    } else {
        None
    };
    Rolled {
        value: mean(&measured),
        converted,
        flag,
    }
}

fn roll_day(points: &[SeriesPoint], th: &Thresholds) -> Rolled {
    let valid = |p: &SeriesPoint, conv: bool| -> Option<Decimal> {
        if !th.flag_valid(flag_of(&p.flag)) {
            return None;
        }
        let t = if conv { &p.converted } else { &p.value };
        t.as_deref().and_then(|t| Decimal::from_str(t.trim()).ok())
    };
    // The mean of the valid stored hours (HJ 76), kept exact as sum and
    // count; `None` unless the day is valid.
    let mean = |conv: bool| {
        let hours: Vec<Option<Decimal>> = points.iter().map(|p| valid(p, conv)).collect();
        let day = hours_to_day(&hours, th);
        day.valid.then(|| Mean {
            sum: hours.iter().flatten().sum(),
            count: day.valid_members,
        })
    };
    let value = mean(false);
    let mut counts = BTreeMap::new();
    for p in points {
        *counts.entry(flag_of(&p.flag)).or_insert(0u32) += 1;
    }
    let flag = if value.is_some() {
        Flag::N
    } else {
        invalid_flag(&counts)
    };
    let converted = if points.iter().any(|p| p.converted.is_some()) {
        mean(true)
    } else {
        None
    };
    Rolled {
        value,
        converted,
        flag,
    }
}

/// Roll minute records of one hour (each standing for `interval` minutes)
/// into an hour value: `(value, converted, flag)`, the means stored
/// exactly for judging (see the module notes).
pub fn rollup_hour(
    points: &[SeriesPoint],
    interval: i64,
    th: &Thresholds,
) -> (Option<String>, Option<String>, String) {
    roll_hour(points, interval, th).texts()
}

/// Roll hourly values of one day into a day value (the mean of the valid
/// hours, stored exactly for judging as the hours are).
pub fn rollup_day(
    points: &[SeriesPoint],
    th: &Thresholds,
) -> (Option<String>, Option<String>, String) {
    roll_day(points, th).texts()
}

/// The value the logger itself sent for the period (HJ 212 2061/2031), if
/// any, when `ours` is a mean four decimals cannot hold (otherwise our text
/// compares with the logger's exactly as before, and no read is needed).
async fn logger_value(
    db: &Db,
    p: &PendingRollup,
    ours: Option<Mean>,
) -> Result<Option<String>, gongjian_storage::StorageError> {
    if ours.is_none_or(|m| m.stored().scale() <= LIMIT_DECIMALS) {
        return Ok(None);
    }
    Ok(db
        .monitoring()
        .series_points(
            p.site_id,
            &p.factor,
            &p.kind,
            p.period_start,
            p.period_start + 1,
        )
        .await?
        .into_iter()
        .find(|s| s.source == "hj212")
        .and_then(|s| s.value))
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
                .monitoring()
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
            let rolled = roll_hour(&pts, interval, th);
            let logger = logger_value(db, p, rolled.value).await?;
            let (_, converted, flag) = rolled.texts();
            let value = rolled.value.map(|m| m.text_against(logger.as_deref()));
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
                .monitoring()
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
            let rolled = roll_day(&pts, th);
            let logger = logger_value(db, p, rolled.value).await?;
            let (_, converted, flag) = rolled.texts();
            let value = rolled.value.map(|m| m.text_against(logger.as_deref()));
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

/// Queue rows read (and values stored) per transaction of a rollup pass.
const BATCH: i64 = 500;

/// Compute every queued rollup once and store the results. The queue rows
/// are released in the transaction that stores their results, so a process
/// killed at any point loses no period: the next pass finds them again
/// (docs/decisions/0003). Returns how many values were stored.
pub async fn run_rollups(db: &Db) -> Result<usize, gongjian_storage::StorageError> {
    run_rollups_with(db, || std::future::ready(())).await
}

/// [`run_rollups`] with `between` awaited after each batch is computed and
/// before it is stored: the fault-injection point of the kill test, which
/// stops the process there.
#[doc(hidden)]
pub async fn run_rollups_with<F, Fut>(
    db: &Db,
    between: F,
) -> Result<usize, gongjian_storage::StorageError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let th = Thresholds::default();
    let intervals: HashMap<i64, i64> = db
        .monitoring()
        .devices()
        .await?
        .into_iter()
        .map(|d| (d.site_id, d.min_interval))
        .collect();
    let mut total = 0;
    loop {
        let pending = db.monitoring().pending_rollups(BATCH).await?;
        if pending.is_empty() {
            break;
        }
        let mut out = Vec::with_capacity(pending.len());
        for p in &pending {
            match compute(db, p, &intervals, &th).await {
                Ok(Some(v)) => out.push(v),
                Ok(None) => {}
                // Stored data that cannot be read (a damaged series block):
                // this period is left as it is and released, so the rest of
                // the queue is rolled up.
                Err(gongjian_storage::StorageError::Corrupt(e)) => {
                    tracing::error!(error = %e, site = p.site_id, factor = %p.factor,
                        period = p.period_start, "rollup skipped: its data cannot be read");
                }
                Err(e) => return Err(e),
            }
        }
        between().await;
        let released = db
            .monitoring()
            .store_rollups_and_release(&out, &pending)
            .await?;
        total += out.len();
        // A short batch was the whole queue; a batch of which nothing could
        // be released (all queued again meanwhile) waits for the next pass.
        if (pending.len() as i64) < BATCH || released == 0 {
            break;
        }
    }
    Ok(total)
}
