//! The accounted (核算) daily emission of SO₂, NOx and particulate matter at
//! one stack, with HJ 75-2017's substitution for invalid hours (cems.md §4,
//! §5.3). Emergency-reduction verification uses the accounted series
//! (cems.md §4: "enterprise emission budgets, emergency-reduction
//! verification and permit 实际排放量 use the accounted series"):
//!
//! - a valid hour (`N`, with a measured concentration and a valid flow) is
//!   C × Q × 3600 × 10⁻⁶ kg (HJ 75-2017 eq. 33);
//! - a stopped hour (`F`) emits nothing;
//! - any other hour, or an hour without a record, is invalid and its
//!   emission is substituted by the **maximum** hourly emission among the
//!   valid hours before the invalid run began: the last 180 of them when
//!   the quarter's valid-data capture rate α ≥ 90 % and the run is at most
//!   24 hours, the last 720 when α ≥ 90 % and the run is longer, the last
//!   2160 when 75 % ≤ α < 90 %. Below 75 % the standard gives no rule: the
//!   day cannot be accounted (人工核定).
//!
//! α = (quarter hours − stopped hours − invalid hours) / (quarter hours −
//! stopped hours), over the quarter's hours up to the end of the day. The
//! run is taken from the records available (those up to the end of the
//! day): an invalid run that goes on the next day is counted as far as the
//! day's end. The standard's out-of-control case (substitute from before
//! the last calibration) needs the calibration times, which HJ 212 data do
//! not carry: the run's start is used for both cases. Substituted values
//! are quantities only: concentrations for the limit check stay measured.

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::verify::{HourState, StackHour};

const HOUR: i64 = 3600;

/// The day's accounted emission and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountedDay {
    pub kg: Decimal,
    pub measured_hours: u32,
    pub stopped_hours: u32,
    pub substituted_hours: u32,
    /// The quarter's valid-data capture rate (%, rounded down to 0.01).
    pub capture_rate_pct: Decimal,
}

/// One hour's emission (kg) from a valid record with both a measured
/// concentration and a flow, else `None` (the hour is invalid).
fn hour_kg(h: &StackHour) -> Option<Decimal> {
    let (c, q) = (h.concentration?, h.flow_m3_s?);
    if c.is_sign_negative() || q.is_sign_negative() {
        return None;
    }
    c.checked_mul(q)?
        .checked_mul(Decimal::from(HOUR))?
        .checked_div(Decimal::from(1_000_000))
}

#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Valid(Decimal),
    Stopped,
    Invalid,
}

/// The accounted emission (kg) of the day that starts at `day_start`
/// (Unix seconds, a China midnight), from the stack's hourly records of
/// one pollutant between `window_start` and the day's end: they must reach
/// back to the quarter's start (`quarter_start`) and 2160 hours before the
/// day, as far as the stack has data. `Err` says in Chinese why the day
/// cannot be accounted.
/// `settled`: the day is old enough for its data to be complete (a
/// logger's backlog arrives within a day or two). An hour without any
/// record on a day not yet settled makes the day `Err` (数据尚未上传齐全)
/// rather than substituted at the peak: substitution would turn data that
/// is merely late into a failed verification.
pub fn accounted_day(
    hours: &[StackHour],
    window_start: i64,
    quarter_start: i64,
    day_start: i64,
    settled: bool,
) -> Result<AccountedDay, String> {
    let day_end = day_start + 86_400;
    let mut records: HashMap<i64, Slot> = HashMap::new();
    for h in hours {
        if h.at.rem_euclid(HOUR) != 0 || h.at < window_start || h.at >= day_end {
            continue;
        }
        let slot = match h.state {
            HourState::Valid => hour_kg(h).map_or(Slot::Invalid, Slot::Valid),
            HourState::Stopped => Slot::Stopped,
            HourState::Invalid => Slot::Invalid,
        };
        // A repeated hour counts once: the first given.
        records.entry(h.at).or_insert(slot);
    }
    let slot = |at: i64| records.get(&at).copied().unwrap_or(Slot::Invalid);
    let first = window_start.div_euclid(HOUR) * HOUR;
    if !settled {
        let missing = (0..24)
            .filter(|k| !records.contains_key(&(day_start + k * HOUR)))
            .count();
        if missing > 0 {
            return Err(format!(
                "当日有 {missing} 小时尚无数据（可能尚未上传），暂不按 HJ 75-2017 替代，待数据齐全后核查"
            ));
        }
    }
    // The capture rate counts from the stack's first record (or the
    // quarter's start, if later): hours before a stack reported at all are
    // not its invalid hours.
    let first_record = records.keys().min().copied().unwrap_or(day_start);
    let quarter_first = quarter_start.max(first).max(first_record.min(day_start));

    let (mut total, mut stopped, mut invalid) = (0i64, 0i64, 0i64);
    let mut at = quarter_first;
    while at < day_end {
        total += 1;
        match slot(at) {
            Slot::Stopped => stopped += 1,
            Slot::Invalid => invalid += 1,
            Slot::Valid(_) => {}
        }
        at += HOUR;
    }
    let running = total - stopped;
    let capture = if running == 0 {
        Decimal::ONE_HUNDRED
    } else {
        (Decimal::from(running - invalid) * Decimal::ONE_HUNDRED / Decimal::from(running))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero)
    };
    let rate_ok_90 = (running - invalid) * 100 >= running * 90;
    let rate_ok_75 = (running - invalid) * 100 >= running * 75;

    let mut out = AccountedDay {
        kg: Decimal::ZERO,
        measured_hours: 0,
        stopped_hours: 0,
        substituted_hours: 0,
        capture_rate_pct: capture,
    };
    let mut at = day_start;
    while at < day_end {
        match slot(at) {
            Slot::Valid(kg) => {
                out.kg += kg;
                out.measured_hours += 1;
            }
            Slot::Stopped => out.stopped_hours += 1,
            Slot::Invalid => {
                // The invalid run this hour belongs to, within the records.
                let mut start = at;
                while start - HOUR >= first && slot(start - HOUR) == Slot::Invalid {
                    start -= HOUR;
                }
                let mut end = at + HOUR;
                while end < day_end && slot(end) == Slot::Invalid {
                    end += HOUR;
                }
                let run_hours = (end - start) / HOUR;
                let lookback = if rate_ok_90 {
                    if run_hours <= 24 { 180 } else { 720 }
                } else if rate_ok_75 {
                    2160
                } else {
                    return Err(format!(
                        "本季度有效数据捕集率 {capture}%，低于 75%，HJ 75-2017 未规定替代方法，需人工核定排放量"
                    ));
                };
                let mut max: Option<Decimal> = None;
                let mut seen = 0;
                let mut back = start - HOUR;
                while back >= first && seen < lookback {
                    if let Slot::Valid(kg) = slot(back) {
                        max = Some(max.map_or(kg, |m| m.max(kg)));
                        seen += 1;
                    }
                    back -= HOUR;
                }
                let Some(substitute) = max else {
                    return Err("缺失时段之前没有有效小时数据，无法按 HJ 75-2017 替代".to_owned());
                };
                // Every hour of the run gets the same substitute.
                let mut h = at;
                while h < end {
                    out.kg += substitute;
                    out.substituted_hours += 1;
                    h += HOUR;
                }
                at = end;
                continue;
            }
        }
        at += HOUR;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const DAY: i64 = 1_700_000_000 / 86_400 * 86_400 - 8 * HOUR;

    /// A valid hour: C mg/m³ at Q m³/s, C × Q × 3600 × 10⁻⁶ kg.
    fn valid(at: i64, c: Decimal, q: Decimal) -> StackHour {
        StackHour {
            at,
            state: HourState::Valid,
            concentration: Some(c),
            converted: None,
            flow_m3_s: Some(q),
        }
    }

    fn flagged(at: i64, state: HourState) -> StackHour {
        StackHour {
            at,
            state,
            concentration: Some(dec!(1)),
            converted: None,
            flow_m3_s: Some(dec!(1)),
        }
    }

    /// `days` days of valid hours before DAY at 100 mg/m³ × 10 m³/s
    /// (3.6 kg an hour), one hour at 200 mg/m³ (7.2 kg) `peak_back` hours
    /// before DAY.
    fn history(days: i64, peak_back: i64) -> Vec<StackHour> {
        (1..=days * 24)
            .map(|k| {
                let c = if k == peak_back { dec!(200) } else { dec!(100) };
                valid(DAY - k * HOUR, c, dec!(10))
            })
            .collect()
    }

    #[test]
    fn a_whole_valid_day_is_the_sum_of_its_hours() {
        let mut h = history(10, 0);
        h.extend((0..24).map(|k| valid(DAY + k * HOUR, dec!(50), dec!(10))));
        let d = accounted_day(&h, DAY - 10 * 86_400, DAY - 10 * 86_400, DAY, true).unwrap();
        assert_eq!(d.kg, dec!(43.2));
        assert_eq!((d.measured_hours, d.substituted_hours), (24, 0));
        assert_eq!(d.capture_rate_pct, dec!(100));
    }

    #[test]
    fn a_short_gap_takes_the_highest_of_the_180_valid_hours_before_it() {
        // The 7.2 kg peak is 100 h back: within 180.
        let mut h = history(30, 100);
        h.extend(
            (0..24)
                .filter(|k| !(3..6).contains(k))
                .map(|k| valid(DAY + k * HOUR, dec!(50), dec!(10))),
        );
        h.push(flagged(DAY + 3 * HOUR, HourState::Invalid));
        let d = accounted_day(&h, DAY - 30 * 86_400, DAY - 30 * 86_400, DAY, true).unwrap();
        // 21 × 1.8 + 3 × 7.2
        assert_eq!(d.kg, dec!(59.4));
        assert_eq!(d.substituted_hours, 3);
    }

    #[test]
    fn beyond_180_hours_back_the_peak_does_not_count_for_a_short_gap() {
        let mut h = history(30, 200);
        h.extend((0..23).map(|k| valid(DAY + k * HOUR, dec!(50), dec!(10))));
        let d = accounted_day(&h, DAY - 30 * 86_400, DAY - 30 * 86_400, DAY, true).unwrap();
        // 23 × 1.8 + 1 × 3.6 (the missing last hour: the max of 180 h).
        assert_eq!(d.kg, dec!(45.0));
    }

    #[test]
    fn a_gap_longer_than_24_hours_looks_back_720_valid_hours() {
        // Peak 200 h before DAY; the run starts 10 h before DAY and goes
        // on all day: 34 h > 24, so 720 h back, which reaches the peak.
        let mut h = history(40, 200);
        h.retain(|x| x.at < DAY - 10 * HOUR);
        let d = accounted_day(&h, DAY - 40 * 86_400, DAY - 40 * 86_400, DAY, true).unwrap();
        assert_eq!(d.kg, dec!(172.8)); // 24 × 7.2
        assert_eq!(d.substituted_hours, 24);
    }

    #[test]
    fn a_capture_rate_below_90_looks_back_2160_and_below_75_is_refused() {
        // Quarter of 10 days; 2 whole invalid days before DAY plus DAY:
        // α = 7/10 = 70 % → refused.
        let mut h = history(10, 0);
        h.retain(|x| x.at < DAY - 2 * 86_400);
        let err = accounted_day(&h, DAY - 10 * 86_400, DAY - 10 * 86_400, DAY, true).unwrap_err();
        assert!(err.contains("低于 75%"), "{err}");
        // One invalid day in a 9-day quarter (α = 90 % exactly) with a run
        // of 24 h: 180 back.
        let h = history(9, 0);
        let d = accounted_day(&h, DAY - 9 * 86_400, DAY - 9 * 86_400, DAY, true).unwrap();
        assert_eq!(d.capture_rate_pct, dec!(90));
        assert_eq!(d.kg, dec!(86.4)); // 24 × 3.6
        // 87.8 % (5 invalid days of 41): 2160 back, which reaches the peak
        // 804 valid hours before the run (720 would not).
        let mut h = history(40, 900);
        h.retain(|x| x.at < DAY - 4 * 86_400);
        let d = accounted_day(&h, DAY - 40 * 86_400, DAY - 40 * 86_400, DAY, true).unwrap();
        assert_eq!(d.capture_rate_pct, dec!(87.80));
        assert_eq!(d.kg, dec!(172.8)); // 24 × 7.2
    }

    #[test]
    fn a_day_not_yet_settled_waits_for_its_missing_hours() {
        let mut h = history(10, 0);
        h.extend((0..23).map(|k| valid(DAY + k * HOUR, dec!(50), dec!(10))));
        let err = accounted_day(&h, DAY - 10 * 86_400, DAY - 10 * 86_400, DAY, false).unwrap_err();
        assert!(err.contains("1 小时尚无数据"), "{err}");
        // An hour flagged invalid is a record: substituted even when fresh.
        h.push(flagged(DAY + 23 * HOUR, HourState::Invalid));
        let d = accounted_day(&h, DAY - 10 * 86_400, DAY - 10 * 86_400, DAY, false).unwrap();
        assert_eq!(d.substituted_hours, 1);
    }

    #[test]
    fn hours_before_a_stacks_first_record_do_not_lower_its_capture_rate() {
        // Data only for the 5 days before DAY in a 40-day-old quarter, and
        // a 2-hour gap on DAY: α over its own 5 days, not the quarter.
        let mut h = history(5, 0);
        h.extend((2..24).map(|k| valid(DAY + k * HOUR, dec!(100), dec!(10))));
        let d = accounted_day(&h, DAY - 40 * 86_400, DAY - 40 * 86_400, DAY, true).unwrap();
        assert_eq!(d.capture_rate_pct, dec!(98.61)); // 142 of 144 hours
        assert_eq!(d.kg, dec!(86.4));
    }

    #[test]
    fn stopped_hours_emit_nothing_and_leave_the_capture_rate_alone() {
        let mut h = history(10, 0);
        h.extend((0..24).map(|k| flagged(DAY + k * HOUR, HourState::Stopped)));
        let d = accounted_day(&h, DAY - 10 * 86_400, DAY - 10 * 86_400, DAY, true).unwrap();
        assert_eq!(d.kg, Decimal::ZERO);
        assert_eq!(d.stopped_hours, 24);
        assert_eq!(d.capture_rate_pct, dec!(100));
    }

    #[test]
    fn without_any_valid_hour_before_the_gap_the_day_is_refused() {
        let h: Vec<StackHour> = (12..24)
            .map(|k| valid(DAY + k * HOUR, dec!(50), dec!(10)))
            .collect();
        let err = accounted_day(&h, DAY, DAY, DAY, true).unwrap_err();
        assert!(
            err.contains("没有有效小时数据") || err.contains("低于 75%"),
            "{err}"
        );
    }
}
