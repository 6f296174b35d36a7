//! Air targets measured from data: annual means, good days, heavy days.
//!
//! Inputs are the district's (or a township's) daily records, built from
//! station hours by the standards engine ([`station_days`] and
//! [`region_days`]). Each day carries the rule set of its own date.

use chrono::{Datelike, NaiveDate};
use gongjian_standards::evaluation::{
    self, DailyRecord, EvalError, HourRecord, Options, Pollutant, summarize,
};
use gongjian_standards::exact::round_half_even;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::{RulesUsed, days_in_year, days_remaining, same_day_last_year, year_start};

/// One station's daily records from its hours (strictly increasing hour-end
/// times, local), each day under its own date's rules.
pub fn station_days(hours: &[HourRecord]) -> Result<Vec<DailyRecord>, EvalError> {
    evaluation::daily_records(hours, &Options::default())
}

/// District / township days: per date, the mean of the stations' valid
/// daily values (HJ 663: a city's value is the mean of its stations).
pub fn region_days(stations: &[&[DailyRecord]]) -> Vec<DailyRecord> {
    evaluation::combine_stations(stations, &Options::default())
}

/// A pollutant from the plan's statistic name (`PM2.5`, `PM10`, `SO2`,
/// `NO2`, `CO`, `O3`).
pub fn pollutant_named(name: &str) -> Option<Pollutant> {
    let n = name
        .trim()
        .to_ascii_uppercase()
        .replace(['.', '₂', '₃', '_'], "");
    Some(match n.as_str() {
        "PM25" => Pollutant::Pm25,
        "PM10" => Pollutant::Pm10,
        "SO2" => Pollutant::So2,
        "NO2" => Pollutant::No2,
        "CO" => Pollutant::Co,
        "O3" => Pollutant::O3,
        _ => return None,
    })
}

/// What the rest of the year may still average for an annual-mean target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Allowance {
    /// The remaining days (every one assumed valid) may average at most
    /// `max_average` (exact quotient, floored to 1 decimal) — their sum at
    /// most `max_total` — and the reported annual mean still meets the target.
    Remaining {
        /// Days after the as-of date to 31 December.
        days: u32,
        /// Largest admissible sum of the remaining daily values.
        max_total: Decimal,
        /// `max_total / days`, floored to 1 decimal.
        max_average: Decimal,
    },
    /// Even if every remaining day were 0 the annual mean would miss the
    /// target (已无余量).
    Lost {
        /// Days after the as-of date.
        days: u32,
    },
    /// The year is over (or no day remains): the value is final.
    Final {
        /// Whether the final value meets the target.
        met: bool,
    },
}

/// Largest total of the remaining `days` daily values (each a multiple of
/// 10^-digits, like every published daily value) such that the reported
/// annual mean — the mean of all valid daily values, rounded half-even to
/// `digits` (GB/T 8170) — is ≤ `target`.
///
/// With `u = 10^-digits`, `t = ⌊target⌋ₐ/u` and `n` = valid days so far +
/// `days`, the reported mean `round(S/n)` is ≤ `t·u` iff
/// `2S/u < (2t + 1)·n`, or `2S/u = (2t + 1)·n` with `t` even (a tie rounds
/// to the even neighbour). The largest admissible total in units is
/// therefore `⌊(2t+1)n/2⌋` (t even) or `⌈(2t+1)n/2⌉ − 1` (t odd), and the
/// remaining days may add that minus what is already summed.
pub fn annual_mean_allowance(
    sum_so_far: Decimal,
    valid_so_far: u32,
    days: u32,
    target: Decimal,
    digits: u32,
) -> Allowance {
    let unit = Decimal::new(1, digits);
    let t = (target / unit).floor(); // a target between two steps acts as the lower one
    let n = Decimal::from(valid_so_far + days);
    let two = Decimal::TWO;
    let twice = (two * t + Decimal::ONE) * n;
    let max_units = if t % two == Decimal::ZERO {
        (twice / two).floor()
    } else {
        (twice / two).ceil() - Decimal::ONE
    };
    let max_sum = max_units * unit;
    if days == 0 {
        let met = valid_so_far > 0 && sum_so_far <= max_sum;
        return Allowance::Final { met };
    }
    let max_total = max_sum - sum_so_far;
    if max_total < Decimal::ZERO {
        return Allowance::Lost { days };
    }
    let max_average = (max_total / Decimal::from(days))
        .round_dp_with_strategy(1, RoundingStrategy::ToNegativeInfinity);
    Allowance::Remaining {
        days,
        max_total,
        max_average,
    }
}

/// Progress of an annual-mean target (≤ `target`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnnualMeanProgress {
    /// The pollutant.
    pub pollutant: Pollutant,
    /// The last day counted.
    pub as_of: NaiveDate,
    /// The target (annual mean ≤ target).
    pub target: Decimal,
    /// Month to date: mean of the month's valid daily values.
    pub current: Option<Decimal>,
    /// Year to date: mean of the valid daily values since 1 January.
    pub ytd: Option<Decimal>,
    /// Valid days so far this year.
    pub valid_days: u32,
    /// Exact sum of those daily values.
    pub sum: Decimal,
    /// Same period last year (1 January to the same day).
    pub last_year: Option<Decimal>,
    /// Year-to-date mean meets the target and an allowance remains.
    pub on_track: Option<bool>,
    /// What the rest of the year may still average.
    pub allowance: Allowance,
    /// Rule sets of the days counted this year.
    pub rules: RulesUsed,
}

/// Progress of an annual-mean target for `pollutant` from region `days`
/// (all years available), counting days up to `as_of`.
pub fn annual_mean(
    days: &[DailyRecord],
    pollutant: Pollutant,
    target: Decimal,
    as_of: NaiveDate,
) -> AnnualMeanProgress {
    let opts = Options::default();
    let from = year_start(as_of);
    let this_year: Vec<DailyRecord> = days
        .iter()
        .filter(|d| d.date >= from && d.date <= as_of)
        .cloned()
        .collect();
    let ytd_summary = summarize(&this_year, from, as_of, &opts);
    let ytd = ytd_summary.pollutant(pollutant).mean;
    let vals: Vec<Decimal> = this_year
        .iter()
        .filter_map(|d| d.value(pollutant))
        .collect();
    let sum: Decimal = vals.iter().sum();
    let month_from = NaiveDate::from_ymd_opt(as_of.year(), as_of.month(), 1).unwrap_or(as_of);
    let current = summarize(&this_year, month_from, as_of, &opts)
        .pollutant(pollutant)
        .mean;
    let ly_to = same_day_last_year(as_of);
    let last_year = summarize(days, year_start(ly_to), ly_to, &opts)
        .pollutant(pollutant)
        .mean;
    let allowance = annual_mean_allowance(
        sum,
        vals.len() as u32,
        days_remaining(as_of),
        target,
        pollutant.digits(),
    );
    let on_track = ytd.map(|m| {
        m <= target
            && !matches!(
                allowance,
                Allowance::Lost { .. } | Allowance::Final { met: false }
            )
    });
    AnnualMeanProgress {
        pollutant,
        as_of,
        target,
        current,
        ytd,
        valid_days: vals.len() as u32,
        sum,
        last_year,
        on_track,
        allowance,
        rules: RulesUsed::of(&this_year),
    }
}

/// Progress of a good-days target (≥ `target` days with AQI ≤ 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoodDaysProgress {
    /// Last day counted.
    pub as_of: NaiveDate,
    /// Target good days in the year.
    pub target: u32,
    /// Good days this month.
    pub current: u32,
    /// Good days this year so far.
    pub ytd: u32,
    /// Polluted days (AQI > 100) this year so far: the days "used".
    pub polluted: u32,
    /// Days since 1 January without a determined daily AQI.
    pub undetermined: u32,
    /// Good days in the same period last year.
    pub last_year: u32,
    /// Days after `as_of` to 31 December.
    pub days_remaining: u32,
    /// Days of the rest of the year that may still be polluted (or lack
    /// data) with the target still met: `ytd + days_remaining − target`;
    /// negative = lost.
    pub still_allowed_polluted: i64,
    /// Good-day ratio so far projected on the year meets the target
    /// (`ytd × days_in_year ≥ target × elapsed`) and the target is not lost.
    pub on_track: bool,
    /// Good-day ratio so far (%), 1 decimal.
    pub ratio: Option<Decimal>,
    /// Rule sets of the days counted (the good-day test uses each day's AQI
    /// rules: after 2026-03-01 the same concentrations score worse).
    pub rules: RulesUsed,
}

fn in_range(days: &[DailyRecord], from: NaiveDate, to: NaiveDate) -> Vec<DailyRecord> {
    days.iter()
        .filter(|d| d.date >= from && d.date <= to)
        .cloned()
        .collect()
}

/// Progress of a good-days target from region `days`.
pub fn good_days(days: &[DailyRecord], target: u32, as_of: NaiveDate) -> GoodDaysProgress {
    let from = year_start(as_of);
    let this_year = in_range(days, from, as_of);
    let counts = evaluation::aqi_days(&this_year);
    let month_from = NaiveDate::from_ymd_opt(as_of.year(), as_of.month(), 1).unwrap_or(as_of);
    let current = evaluation::aqi_days(&in_range(&this_year, month_from, as_of)).good_days;
    let ly_to = same_day_last_year(as_of);
    let last_year = evaluation::aqi_days(&in_range(days, year_start(ly_to), ly_to)).good_days;
    let elapsed = (as_of - from).num_days() as u32 + 1;
    let remaining = days_remaining(as_of);
    let still = i64::from(counts.good_days) + i64::from(remaining) - i64::from(target);
    let on_track = still >= 0
        && u64::from(counts.good_days) * u64::from(days_in_year(as_of.year()))
            >= u64::from(target) * u64::from(elapsed);
    GoodDaysProgress {
        as_of,
        target,
        current,
        ytd: counts.good_days,
        polluted: counts.polluted_days,
        undetermined: elapsed - counts.valid_days,
        last_year,
        days_remaining: remaining,
        still_allowed_polluted: still,
        on_track,
        ratio: counts.good_ratio,
        rules: RulesUsed::of(&this_year),
    }
}

/// What heavy-pollution days are compared with: the baseline year's total,
/// as the plan states it or measured from that year's stored days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeavyBaseline {
    pub year: i32,
    /// The plan's figure; `None`: counted from the year's data.
    pub stated: Option<u32>,
}

impl HeavyBaseline {
    /// The year before `as_of`'s, measured (a plan that names no year).
    pub fn previous_year(as_of: NaiveDate) -> Self {
        HeavyBaseline {
            year: as_of.year() - 1,
            stated: None,
        }
    }
}

/// Heavy-pollution days (AQI > 200) this year against last year's total
/// (the plan's "明显减少": fewer than the baseline year).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeavyDaysProgress {
    /// Last day counted.
    pub as_of: NaiveDate,
    /// Heavy days this month.
    pub current: u32,
    /// Heavy days this year so far.
    pub ytd: u32,
    /// Heavy days in the same period last year.
    pub last_year: u32,
    /// The baseline year.
    pub baseline_year: i32,
    /// Heavy days in the whole baseline year (the target: fewer than this):
    /// the plan's figure, else counted; `None` when the plan states none
    /// and that year's data does not cover it as GB 3095 requires.
    pub baseline_total: Option<u32>,
    /// The baseline total is the plan's figure, not counted from data.
    pub baseline_stated: bool,
    /// Heavy days still allowed this year (`baseline_total − 1 − ytd`, or
    /// `−ytd` after a baseline year without heavy days).
    pub still_allowed: Option<i64>,
    /// The baseline total not reached and, when the baseline is last year's
    /// measured days, `ytd ≤ last_year`.
    pub on_track: Option<bool>,
    /// Rule sets of the days counted.
    pub rules: RulesUsed,
}

/// Heavy-pollution days against the baseline year.
pub fn heavy_days(
    days: &[DailyRecord],
    as_of: NaiveDate,
    baseline: HeavyBaseline,
) -> HeavyDaysProgress {
    let from = year_start(as_of);
    let this_year = in_range(days, from, as_of);
    let ytd = evaluation::aqi_days(&this_year).heavy_days;
    let month_from = NaiveDate::from_ymd_opt(as_of.year(), as_of.month(), 1).unwrap_or(as_of);
    let current = evaluation::aqi_days(&in_range(&this_year, month_from, as_of)).heavy_days;
    let ly_to = same_day_last_year(as_of);
    let last_year = evaluation::aqi_days(&in_range(days, year_start(ly_to), ly_to)).heavy_days;
    let baseline_total = baseline.stated.or_else(|| {
        let from = NaiveDate::from_ymd_opt(baseline.year, 1, 1)?;
        let year = in_range(days, from, crate::year_end(baseline.year));
        baseline_year_complete(&year, baseline.year).then(|| evaluation::aqi_days(&year).heavy_days)
    });
    // The same period of last year is a second test only when last year's
    // own days are the baseline; a stated figure replaces the data.
    let against_last_year = baseline.year == ly_to.year() && baseline.stated.is_none();
    // "明显减少" (fewer than last year) cannot mean fewer than none: after a
    // year without heavy days the target is to stay at none.
    let still_allowed = baseline_total.map(|b| i64::from(b.saturating_sub(1)) - i64::from(ytd));
    HeavyDaysProgress {
        as_of,
        current,
        ytd,
        last_year,
        baseline_year: baseline.year,
        baseline_total,
        baseline_stated: baseline.stated.is_some(),
        still_allowed,
        on_track: still_allowed.map(|s| s >= 0 && (!against_last_year || ytd <= last_year)),
        rules: RulesUsed::of(&this_year),
    }
}

/// Whether a year's days are enough to count its heavy days: the coverage
/// GB 3095 requires of an annual statistic (≥ 324 days with an AQI, every
/// month ≥ 27, February ≥ 25). A partial year would give a baseline that is
/// too low ("fewer than 0 days") instead of no baseline.
fn baseline_year_complete(days: &[DailyRecord], year: i32) -> bool {
    let (Some(from), Some(to)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return false;
    };
    let valid: Vec<NaiveDate> = days
        .iter()
        .filter(|d| d.aqi.aqi.is_some())
        .map(|d| d.date)
        .collect();
    evaluation::coverage_ok(evaluation::PeriodKind::Year, from, to, &valid) == Some(true)
}

/// The region's latest day with data and its AQI (for headline displays).
pub fn latest_day(days: &[DailyRecord]) -> Option<&DailyRecord> {
    days.iter().rev().find(|d| d.aqi.aqi.is_some())
}

/// Round a reported mean for display (half-even, the pollutant's digits).
pub fn reported(p: Pollutant, v: Decimal) -> Decimal {
    round_half_even(v, p.digits())
}
