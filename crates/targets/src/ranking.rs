//! Ranking of townships / stations by the comprehensive index of
//! 环办监测〔2018〕19号 and by its change rate against the same period of the
//! previous year (both ascending, ties share the rank), all through the
//! standards engine.

use chrono::NaiveDate;
use gongjian_standards::evaluation::{self, DailyRecord, Options, summarize};
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
            let change_rate = match (index, base_index) {
                (Some(c), Some(b)) => evaluation::change_rate(c, b),
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
            }
        })
        .collect();
    assign(&mut rows, |r| r.index, |r, k| r.rank = Some(k));
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
