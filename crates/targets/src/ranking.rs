//! Ranking of townships / stations by the comprehensive index of
//! 环办监测〔2018〕19号 and by its change rate against the same period of the
//! previous year (both ascending, ties share the rank), all through the
//! standards engine.
//!
//! A unit is ranked only with the data GB 3095 Table 4 / HJ 663 require of
//! the period for every one of the six pollutants (see [`has_coverage`]);
//! otherwise its row says 数据不足 and it takes no rank (nor a change rank,
//! which also needs the coverage of the same period last year).

use chrono::{Datelike, NaiveDate};
use gongjian_standards::evaluation::{
    self, DailyRecord, Options, PeriodSummary, Pollutant, min_days_in_month, summarize,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{RulesUsed, same_day_last_year};

/// One unit (township or station) to rank: its daily records over at least
/// the period and the same period of the previous year.
#[derive(Debug, Clone)]
pub struct Unit<'a> {
    /// Display name.
    pub name: String,
    /// Its days (station days, or a township's combined days).
    pub days: &'a [DailyRecord],
}

/// One row of a ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankRow {
    /// Unit name.
    pub name: String,
    /// Comprehensive index of the period (2 decimals); `None` when a
    /// pollutant has no value.
    pub index: Option<Decimal>,
    /// Rank by index (1 = best; ties share); `None` without an index.
    pub rank: Option<u32>,
    /// Pollutant(s) with the largest single index (首要污染物 of the period).
    pub largest: Vec<String>,
    /// Index of the same period last year.
    pub base_index: Option<Decimal>,
    /// Change rate (%), 1 decimal.
    pub change_rate: Option<Decimal>,
    /// Rank by change rate (1 = most improved; ties share).
    pub change_rank: Option<u32>,
    /// All six pollutants met class 2 in the period (such units are left
    /// out of deterioration lists by the 2017 change-ranking scheme).
    pub compliant: Option<bool>,
    /// PM2.5 mean of the period.
    pub pm25: Option<Decimal>,
    /// Good-day ratio of the period (%).
    pub good_ratio: Option<Decimal>,
    /// The unit has the valid days the period requires ([`has_coverage`]);
    /// without them it is not ranked (数据不足). Reports frozen before this
    /// field existed were ranked: it reads as `true` there.
    #[serde(default = "ranked_before")]
    pub sufficient: bool,
    /// 数据不足 when the unit is not ranked for want of data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn ranked_before() -> bool {
    true
}

impl RankRow {
    /// The rank as shown: the number, 数据不足 (not ranked for want of
    /// data) or — (no index).
    pub fn rank_text(&self) -> String {
        match self.rank {
            Some(k) => k.to_string(),
            None if !self.sufficient => INSUFFICIENT.to_owned(),
            None => "—".to_owned(),
        }
    }
}

/// What a unit without the required data shows instead of a rank.
pub const INSUFFICIENT: &str = "数据不足";

/// Whether `days` cover `from..=to` as GB 3095-2012/2026 Table 4 and HJ 663
/// require of a period statistic, for every one of the six pollutants (O₃:
/// daily maximum 8-h values): in each calendar month of the span at least
/// 27 valid daily values (February 25) — for a month the span covers only
/// in part (the month still running), no more days missing so far than the
/// whole month may miss (31-day month 4, 30-day 3, February 3, in a leap
/// year 4), i.e. the month can still meet the rule — and over a whole
/// calendar year at least 324.
pub fn has_coverage(days: &[DailyRecord], from: NaiveDate, to: NaiveDate) -> bool {
    if from > to {
        return false;
    }
    covered(&summarize(days, from, to, &Options::default()), days)
}

/// [`has_coverage`] of the span of `summary`, computed from `days`.
fn covered(summary: &PeriodSummary, days: &[DailyRecord]) -> bool {
    let (from, to) = (summary.from, summary.to);
    if from > to {
        return false;
    }
    Pollutant::ALL
        .into_iter()
        .all(|p| summary.pollutant(p).coverage_ok != Some(false) && months_ok(days, p, from, to))
}

fn months_ok(days: &[DailyRecord], p: Pollutant, from: NaiveDate, to: NaiveDate) -> bool {
    let mut start = from;
    while start <= to {
        let (y, m) = (start.year(), start.month());
        let first_next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)
        };
        let Some(first_next) = first_next else {
            return false;
        };
        let Some(last_of_month) = first_next.pred_opt() else {
            return false;
        };
        let end = last_of_month.min(to);
        let month_len = i64::from(last_of_month.day());
        let allowed_missing = month_len - i64::from(min_days_in_month(m));
        let span = (end - start).num_days() + 1;
        let valid = days
            .iter()
            .filter(|d| d.date >= start && d.date <= end && d.value(p).is_some())
            .count() as i64;
        if span - valid > allowed_missing {
            return false;
        }
        start = first_next;
    }
    true
}

/// A ranking of units over `from..=to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranking {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Rows ordered by rank (units without an index last, by name).
    pub rows: Vec<RankRow>,
    /// Rule sets of the days.
    pub rules: RulesUsed,
}

/// Rank `units` over `from..=to`, comparing with the same span one year
/// earlier.
pub fn rank_units(units: &[Unit<'_>], from: NaiveDate, to: NaiveDate) -> Ranking {
    let opts = Options::default();
    let (bfrom, bto) = (same_day_last_year(from), same_day_last_year(to));
    let mut rows: Vec<RankRow> = units
        .iter()
        .map(|u| {
            let cur = summarize(u.days, from, to, &opts);
            let base = summarize(u.days, bfrom, bto, &opts);
            let index = cur.comprehensive_index.as_ref().map(|c| c.total);
            let base_index = base.comprehensive_index.as_ref().map(|c| c.total);
            let sufficient = covered(&cur, u.days);
            let change_rate = match (index, base_index) {
                (Some(c), Some(b)) if sufficient && covered(&base, u.days) => {
                    evaluation::change_rate(c, b)
                }
                _ => None,
            };
            RankRow {
                name: u.name.clone(),
                index,
                rank: None,
                largest: cur
                    .comprehensive_index
                    .as_ref()
                    .map(|c| c.largest.iter().map(|p| p.code().to_owned()).collect())
                    .unwrap_or_default(),
                base_index,
                change_rate,
                change_rank: None,
                compliant: cur.compliant,
                pm25: cur.pollutant(evaluation::Pollutant::Pm25).mean,
                good_ratio: cur.aqi_days.good_ratio,
                sufficient,
                note: (!sufficient).then(|| INSUFFICIENT.to_owned()),
            }
        })
        .collect();
    assign(
        &mut rows,
        |r| r.index.filter(|_| r.sufficient),
        |r, k| r.rank = Some(k),
    );
    assign(&mut rows, |r| r.change_rate, |r, k| r.change_rank = Some(k));
    rows.sort_by(|a, b| {
        (a.rank.is_none(), a.rank, &a.name).cmp(&(b.rank.is_none(), b.rank, &b.name))
    });
    let all: Vec<DailyRecord> = units
        .iter()
        .flat_map(|u| u.days.iter().filter(|d| d.date >= from && d.date <= to))
        .cloned()
        .collect();
    Ranking {
        from,
        to,
        rows,
        rules: RulesUsed::of(&all),
    }
}

fn assign(
    rows: &mut [RankRow],
    get: impl Fn(&RankRow) -> Option<Decimal>,
    set: impl Fn(&mut RankRow, u32),
) {
    let idx: Vec<usize> = (0..rows.len())
        .filter(|&i| get(&rows[i]).is_some())
        .collect();
    let vals: Vec<Decimal> = idx.iter().filter_map(|&i| get(&rows[i])).collect();
    let ranks = evaluation::rank(&vals);
    for (i, k) in idx.into_iter().zip(ranks) {
        set(&mut rows[i], k);
    }
}
