//! Target arithmetic: how far the district is from the campaign plan's
//! measured targets, on plain data. Pure: no I/O, no async.
//!
//! Every statistic goes through the standards engine
//! (`gongjian_standards::evaluation` / `water`): this crate only chooses
//! periods, compares with targets and solves for the allowance.
//!
//! * [`air`]: annual means (year to date, same period last year, month to
//!   date, the allowance for the rest of the year), good days and heavy
//!   pollution days.
//! * [`ranking`]: township / station ranking by the comprehensive index of
//!   环办监测〔2018〕19号 and by its change rate against the same period of
//!   the previous year, with ties.
//! * [`water`]: section class per month and year to date against the target
//!   class, with failing items.
#![forbid(unsafe_code)]

pub mod air;
pub mod import;
pub mod ranking;
pub mod water;

use chrono::{Datelike, NaiveDate};
use gongjian_standards::evaluation::DailyRecord;
use serde::Serialize;

/// The rule sets behind a set of days: each day is evaluated with the rules
/// in force on its own date, so a year crossing 2026-03-01 lists both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RulesUsed {
    /// AQI rule sets (HJ 633).
    pub aqi: Vec<String>,
    /// Limit sets (GB 3095).
    pub limits: Vec<String>,
    /// Evaluation rule sets (HJ 663).
    pub evaluation: Vec<String>,
}

impl RulesUsed {
    /// The rule sets of the given days, each listed once, oldest first.
    pub fn of(days: &[DailyRecord]) -> RulesUsed {
        let mut aqi: Vec<_> = days.iter().map(|d| d.rules.aqi).collect();
        let mut limits: Vec<_> = days.iter().map(|d| d.rules.limits).collect();
        let mut evaluation: Vec<_> = days.iter().map(|d| d.rules.evaluation).collect();
        aqi.sort();
        aqi.dedup();
        limits.sort();
        limits.dedup();
        evaluation.sort();
        evaluation.dedup();
        RulesUsed {
            aqi: aqi.into_iter().map(|r| r.code().to_owned()).collect(),
            // Shown in 月调度 and on 大气: the Chinese name.
            limits: limits.into_iter().map(|r| r.label().to_owned()).collect(),
            evaluation: evaluation
                .into_iter()
                .map(|r| r.code().to_owned())
                .collect(),
        }
    }

    /// All codes in one list (AQI, limits, evaluation).
    pub fn all(&self) -> Vec<String> {
        self.aqi
            .iter()
            .chain(&self.limits)
            .chain(&self.evaluation)
            .cloned()
            .collect()
    }
}

/// 1 January of `date`'s year.
pub fn year_start(date: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date)
}

/// 31 December of `year`.
pub fn year_end(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// The same calendar day one year earlier (29 February → 28 February).
pub fn same_day_last_year(date: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year() - 1, date.month(), date.day())
        .or_else(|| NaiveDate::from_ymd_opt(date.year() - 1, date.month(), 28))
        .unwrap_or(date)
}

/// Days after `as_of` up to 31 December of its year (0 on 31 December).
pub fn days_remaining(as_of: NaiveDate) -> u32 {
    (year_end(as_of.year()) - as_of).num_days().max(0) as u32
}

/// Days in `year` (365 or 366).
pub fn days_in_year(year: i32) -> u32 {
    (year_end(year) - NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN)).num_days()
        as u32
        + 1
}
