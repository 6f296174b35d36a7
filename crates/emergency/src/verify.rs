//! Verification of a warning day, 限排不限产 ("limit emissions, not
//! production"): the enterprise's electricity use and emissions on the day
//! against its baseline (emergency.md §5; supervision-rules.md §5, alarm C).
//!
//! Every comparison is decided in exact decimal arithmetic by comparing
//! products, never a rounded quotient: a day exactly at its limit is met,
//! a day a hair over it is not. Ratios in [`Check::NotMet`] are for
//! display only, rounded to 0.01 towards the side the verdict is on, so a
//! failed check never shows a figure that looks compliant.
//!
//! A check that cannot be made is [`Check::Unverifiable`] with the reason,
//! and such a day is never 达标 ([`day_verdict`]): an enterprise cannot pass
//! by sending no data.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::rules::RuleSet;

/// Seconds in a day (Beijing time has no daylight saving).
pub const DAY_SECONDS: i64 = 86_400;

/// A day's energy is computed only when the readings cover at least this
/// much of it: 18 hours, three quarters. The part that is not covered is
/// filled at the covered part's mean rate, so the gaps may hide at most
/// 6 hours of production: less than one 8-hour shift, which is how a
/// plant would run around an order. Below that the day is 无法核查.
pub const MIN_COVERAGE_SECONDS: i64 = 18 * 3600;

/// A power sample stands for the time until the next one only when that
/// is at most an hour: hourly records are the coarsest HJ 212 loggers
/// send, and supervision-rules.md §5 (alarm D) counts an hour without data
/// as a communication fault.
pub const MAX_SAMPLE_GAP_SECONDS: i64 = 3600;

/// One reading of an electricity meter (HJ 212 power-monitor data or an
/// import).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeterReading {
    /// Unix seconds (UTC) of the reading.
    pub at: i64,
    /// Active power (kW), `Pt`: for an hourly record, the hour's mean.
    pub power_kw: Option<Decimal>,
    /// Cumulative active energy (kWh), `Ept`: the meter's counter.
    pub energy_kwh: Option<Decimal>,
}

/// The energy (kWh) a meter recorded in one day.
///
/// `readings` are that day's, from 00:00 to 24:00 local time; include the
/// reading at the next midnight when there is one, it closes the day. Order
/// does not matter; a repeated time counts once (the first).
///
/// 1. From the cumulative counter (`Ept`), last − first, when at least two
///    readings span [`MIN_COVERAGE_SECONDS`] and the counter never goes
///    down: a counter that goes down was reset or replaced, and its
///    difference means nothing.
/// 2. Else from power (`Pt`): Σ P·Δt, each sample standing for the time
///    until the next if that is at most [`MAX_SAMPLE_GAP_SECONDS`], when
///    the samples cover at least [`MIN_COVERAGE_SECONDS`].
///
/// Either way a span short of the day is scaled to 24 hours at its own
/// mean rate (neither counting a gap as zero, which would reward cutting
/// the data, nor as full load). `None` when neither way has the coverage.
pub fn daily_energy(readings: &[MeterReading]) -> Option<Decimal> {
    energy_over(readings, DAY_SECONDS, MIN_COVERAGE_SECONDS)
}

/// The energy of a span of `span_seconds` (a day, or a stagger's stop
/// window) from the readings within it, as [`daily_energy`] computes a
/// day's: needing `min_coverage` seconds covered, scaled to the span.
pub(crate) fn energy_over(
    readings: &[MeterReading],
    span_seconds: i64,
    min_coverage: i64,
) -> Option<Decimal> {
    let mut sorted: Vec<&MeterReading> = readings.iter().collect();
    // Stable sort: of readings at the same time, the first given is kept.
    sorted.sort_by_key(|r| r.at);
    sorted.dedup_by_key(|r| r.at);
    let coverage = min_coverage.max(1);
    from_counter(&sorted, coverage, span_seconds)
        .or_else(|| from_power(&sorted, coverage, span_seconds))
}

fn from_counter(sorted: &[&MeterReading], min_coverage: i64, span_seconds: i64) -> Option<Decimal> {
    let counter: Vec<(i64, Decimal)> = sorted
        .iter()
        .filter_map(|r| r.energy_kwh.map(|e| (r.at, e)))
        .collect();
    let (&(t0, e0), &(t1, e1)) = (counter.first()?, counter.last()?);
    let monotonic = counter.windows(2).all(|w| w[1].1 >= w[0].1) && e0 >= Decimal::ZERO;
    let span = t1 - t0;
    if !monotonic || span < min_coverage {
        return None;
    }
    scale_to(e1 - e0, span, span_seconds)
}

fn from_power(sorted: &[&MeterReading], min_coverage: i64, span_seconds: i64) -> Option<Decimal> {
    let mut kw_seconds = Decimal::ZERO;
    let mut covered = 0i64;
    for pair in sorted.windows(2) {
        let dt = pair[1].at - pair[0].at;
        // A negative power is a wiring or sign fault: not a measurement.
        let Some(p) = pair[0].power_kw.filter(|p| !p.is_sign_negative()) else {
            continue;
        };
        if dt <= 0 || dt > MAX_SAMPLE_GAP_SECONDS {
            continue;
        }
        kw_seconds = kw_seconds.checked_add(p.checked_mul(Decimal::from(dt))?)?;
        covered += dt;
    }
    if covered < min_coverage {
        return None;
    }
    // kW·s → kWh over the covered span, then scaled to the whole span.
    scale_to(kw_seconds / Decimal::from(3600), covered, span_seconds)
}

/// `energy` over `covered` seconds, as the worth of `span` seconds.
fn scale_to(energy: Decimal, covered: i64, span: i64) -> Option<Decimal> {
    if covered == span {
        return Some(energy);
    }
    energy
        .checked_mul(Decimal::from(span))?
        .checked_div(Decimal::from(covered))
}

/// The baseline daily figure (electricity kWh/d or an emission kg/d)
/// verification compares with (emergency.md §5): the list's own value
/// when it gives one; else the mean of the last `rules.baseline_days` of
/// `normal_days` (daily figures of normal production days without a
/// warning, oldest first, days without data left out), needing at least
/// `rules.baseline_min_days` of them. `None`: no baseline, the check is
/// 无法核查.
pub fn baseline(
    listed: Option<Decimal>,
    normal_days: &[Decimal],
    rules: &RuleSet,
) -> Option<Decimal> {
    if listed.is_some() {
        return listed;
    }
    let recent = &normal_days[normal_days.len().saturating_sub(rules.baseline_days)..];
    if recent.len() < rules.baseline_min_days.max(1) {
        return None;
    }
    let mut sum = Decimal::ZERO;
    for d in recent {
        sum = sum.checked_add(*d)?;
    }
    sum.checked_div(Decimal::from(recent.len()))
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Check {
    /// The requirement holds.
    Met,
    /// It does not. `actual_ratio` is the measured figure in percent: for
    /// electricity, the day's use as a share of baseline (rounded up); for
    /// a reduction, the reduction achieved (rounded down).
    NotMet { actual_ratio: Decimal },
    /// It could not be checked; `why` says why, in Chinese.
    Unverifiable { why: String },
}

fn unverifiable(why: &str) -> Check {
    Check::Unverifiable { why: why.into() }
}

/// `num / den × 100` rounded to 0.01 with `strategy`.
fn percent(num: Decimal, den: Decimal, strategy: RoundingStrategy) -> Option<Decimal> {
    num.checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(den)
        .map(|q| q.round_dp_with_strategy(2, strategy))
}

/// Electricity use of a unit under a stop or limit order (supervision-rules
/// §5, alarm C; emergency.md §5): met when the day's energy is at most
/// `allowed_pct` % of the baseline, E·100 ≤ B·allowed. `allowed_pct` comes
/// from [`RuleSet::allowed_load_pct`]: the load limit of a limit, the
/// residual of a stop.
pub fn electricity_check(
    day_energy: Option<Decimal>,
    baseline: Option<Decimal>,
    allowed_pct: Decimal,
) -> Check {
    let Some(e) = day_energy else {
        return unverifiable("当日用电数据不足（有效覆盖不足 18 小时或电表读数异常），无法核查");
    };
    let Some(b) = baseline else {
        return unverifiable("无基准用电量：清单未给出，且正常生产日的用电数据不足");
    };
    if e.is_sign_negative() && !e.is_zero() {
        return unverifiable("当日用电量为负值，数据异常");
    }
    if b <= Decimal::ZERO {
        return unverifiable("基准用电量为 0，无法计算用电比例");
    }
    match (
        e.checked_mul(Decimal::ONE_HUNDRED),
        b.checked_mul(allowed_pct),
    ) {
        (Some(lhs), Some(rhs)) if lhs <= rhs => Check::Met,
        (Some(_), Some(_)) => Check::NotMet {
            actual_ratio: percent(e, b, RoundingStrategy::ToPositiveInfinity)
                .unwrap_or(Decimal::MAX),
        },
        _ => unverifiable("数值超出计算范围"),
    }
}

/// The reduction of one pollutant (限排不限产, emergency.md §5): met when
/// (B − A)/B ≥ required %, decided as (B − A)·100 ≥ required·B. `B` is the
/// baseline daily emission (kg/d), `A` the day's actual emission (kg).
pub fn reduction_check(
    baseline_kg: Option<Decimal>,
    actual_kg: Option<Decimal>,
    required_pct: Decimal,
) -> Check {
    let (b, a) = match reduction_inputs(baseline_kg, actual_kg) {
        Ok(x) => x,
        Err(check) => return check,
    };
    match (
        (b - a).checked_mul(Decimal::ONE_HUNDRED),
        required_pct.checked_mul(b),
    ) {
        (Some(lhs), Some(rhs)) if lhs >= rhs => Check::Met,
        (Some(_), Some(_)) => Check::NotMet {
            actual_ratio: percent(b - a, b, RoundingStrategy::ToNegativeInfinity)
                .unwrap_or(Decimal::MIN),
        },
        _ => unverifiable("数值超出计算范围"),
    }
}

/// The reduction of one pollutant against a reduction in kg/d the list
/// states (日减排量): met when B − A ≥ required.
pub fn reduction_kg_check(
    baseline_kg: Option<Decimal>,
    actual_kg: Option<Decimal>,
    required_kg: Decimal,
) -> Check {
    let (b, a) = match reduction_inputs(baseline_kg, actual_kg) {
        Ok(x) => x,
        Err(check) => return check,
    };
    if b - a >= required_kg {
        Check::Met
    } else {
        Check::NotMet {
            actual_ratio: percent(b - a, b, RoundingStrategy::ToNegativeInfinity)
                .unwrap_or(Decimal::MIN),
        }
    }
}

fn reduction_inputs(
    baseline_kg: Option<Decimal>,
    actual_kg: Option<Decimal>,
) -> Result<(Decimal, Decimal), Check> {
    let Some(a) = actual_kg else {
        return Err(unverifiable("当日排放数据不足，无法核查"));
    };
    let Some(b) = baseline_kg else {
        return Err(unverifiable(
            "无基准排放量：清单未给出，且正常生产日的排放数据不足",
        ));
    };
    if a.is_sign_negative() && !a.is_zero() {
        return Err(unverifiable("当日排放量为负值，数据异常"));
    }
    if b <= Decimal::ZERO {
        return Err(unverifiable("基准排放量为 0，无法计算减排比例"));
    }
    Ok((b, a))
}

/// What a pollutant's reduction must reach on a warning day: a percentage
/// (the list's 减排比例 or the level's default) or the list's 日减排量.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Required {
    /// At least this percent of the baseline.
    Percent(Decimal),
    /// At least this many kg/d below the baseline.
    Kg(Decimal),
}

impl Required {
    /// [`reduction_check`] or [`reduction_kg_check`], as the requirement is.
    pub fn check(self, baseline_kg: Option<Decimal>, actual_kg: Option<Decimal>) -> Check {
        match self {
            Required::Percent(p) => reduction_check(baseline_kg, actual_kg, p),
            Required::Kg(kg) => reduction_kg_check(baseline_kg, actual_kg, kg),
        }
    }
}

/// A day's emission from CEMS needs this many usable hours (valid or
/// stopped): HJ 76-2017 Appendix B counts a day valid with at least 20
/// valid hours, and a day short of that is not a measurement.
pub const MIN_STACK_HOURS: usize = 20;

/// What one stack hour is worth for verification, from its HJ 212 flag
/// (HJ 212-2017 table 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HourState {
    /// `N`: a measurement.
    Valid,
    /// `F` (停运): the source is stopped, so it emits nothing. A plant that
    /// obeys a stop order reports this; counting it as missing would make
    /// compliance unverifiable.
    Stopped,
    /// Anything else (calibration, maintenance, fault, set value, over
    /// range, communication fault): not a measurement.
    Invalid,
}

impl HourState {
    pub fn from_flag(flag: &str) -> HourState {
        match flag.trim() {
            "N" => HourState::Valid,
            "F" => HourState::Stopped,
            _ => HourState::Invalid,
        }
    }
}

/// One hour of one pollutant at one stack (HJ 212 hourly data, 2061).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackHour {
    /// Unix seconds (UTC) of the hour's start.
    pub at: i64,
    pub state: HourState,
    /// Measured hourly mean concentration (mg/m³, dry, standard
    /// conditions; `-Avg`): what the mass is computed from (HJ 75 eq. 33).
    pub concentration: Option<Decimal>,
    /// The O₂-converted concentration (`-ZsAvg`), judged against the limit.
    pub converted: Option<Decimal>,
    /// Hourly mean flue-gas flow (`a00000-Avg`, m³/s, dry standard).
    pub flow_m3_s: Option<Decimal>,
}

/// The day's emission of one pollutant at one stack (kg), HJ 75-2017
/// eq. 33 summed over the hours (cems.md §4): each valid hour
/// C (mg/m³) × Q (m³/s × 3600) × 10⁻⁶, a stopped hour 0. At least
/// [`MIN_STACK_HOURS`] usable hours are needed, else `None` (无法核查); the
/// hours without a usable record are filled at the usable hours' mean
/// (HJ 75's substitution in its simplest form), neither as zero, which
/// would reward cutting the data, nor as full load. A repeated hour counts
/// once (the first given); a record not on the hour is not an hour.
pub fn daily_emission_kg(hours: &[StackHour]) -> Option<Decimal> {
    let mut seen = std::collections::HashSet::new();
    let mut kg = Decimal::ZERO;
    let mut usable = 0usize;
    for h in hours {
        // Hourly records start on the hour (China time is UTC+8, whole
        // hours): anything else is not one of the day's 24 hours.
        if h.at.rem_euclid(3600) != 0 || !seen.insert(h.at) {
            continue;
        }
        match h.state {
            HourState::Stopped => usable += 1,
            HourState::Valid => {
                let (Some(c), Some(q)) = (h.concentration, h.flow_m3_s) else {
                    continue;
                };
                if c.is_sign_negative() || q.is_sign_negative() {
                    continue;
                }
                let hour_kg = c
                    .checked_mul(q)?
                    .checked_mul(Decimal::from(3600))?
                    .checked_div(Decimal::from(1_000_000))?;
                kg = kg.checked_add(hour_kg)?;
                usable += 1;
            }
            HourState::Invalid => {}
        }
    }
    if usable < MIN_STACK_HOURS {
        return None;
    }
    kg.checked_mul(Decimal::from(24))?
        .checked_div(Decimal::from(usable.min(24)))
}

/// The hourly converted concentrations of a warning day against the
/// emission limit (emergency.md §5: "check hourly converted concentrations
/// against limits, so that dilution or bypass cannot produce apparent
/// reductions"). Met when no valid hour's converted concentration (the
/// measured one where the logger sends no converted value) is above
/// `limit`; not met with the highest hour as a percent of the limit
/// (rounded up). A day with no hours at all is 无法核查; a day stopped
/// throughout is met.
pub fn limit_check(hours: &[StackHour], limit: Decimal) -> Check {
    if limit <= Decimal::ZERO {
        return unverifiable("排放限值未设置或为 0，无法核对小时浓度");
    }
    let concentrations: Vec<Decimal> = hours
        .iter()
        .filter(|h| h.state == HourState::Valid)
        .filter_map(|h| h.converted.or(h.concentration))
        .collect();
    if concentrations.is_empty() && !hours.iter().any(|h| h.state == HourState::Stopped) {
        return unverifiable("当日无有效小时浓度数据，无法核对是否超标");
    }
    match concentrations.into_iter().max() {
        Some(max) if max > limit => Check::NotMet {
            actual_ratio: percent(max, limit, RoundingStrategy::ToPositiveInfinity)
                .unwrap_or(Decimal::MAX),
        },
        _ => Check::Met,
    }
}

/// The verdict on an enterprise's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 达标: every check was made and met.
    Compliant,
    /// 未落实: a check was not met.
    NotImplemented,
    /// 无法核查: no check failed, but one (or all) could not be made.
    Unverifiable,
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Compliant => "compliant",
            Verdict::NotImplemented => "not_implemented",
            Verdict::Unverifiable => "unverifiable",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Compliant => "达标",
            Verdict::NotImplemented => "未落实",
            Verdict::Unverifiable => "无法核查",
        }
    }
}

/// The day's verdict from its checks: any not met → 未落实 (a failure
/// measured is a failure, whatever else is missing); else any that could
/// not be made → 无法核查; else 达标. No checks at all is 无法核查: an
/// enterprise with no data is never 达标 (issue 15).
pub fn day_verdict(checks: &[Check]) -> Verdict {
    if checks.iter().any(|c| matches!(c, Check::NotMet { .. })) {
        Verdict::NotImplemented
    } else if checks.is_empty()
        || checks
            .iter()
            .any(|c| matches!(c, Check::Unverifiable { .. }))
    {
        Verdict::Unverifiable
    } else {
        Verdict::Compliant
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    /// 2020-01-14 00:00 CST.
    const DAY: i64 = 1_578_931_200;

    fn counter(at: i64, kwh: Decimal) -> MeterReading {
        MeterReading {
            at,
            power_kw: None,
            energy_kwh: Some(kwh),
        }
    }

    fn power(at: i64, kw: Decimal) -> MeterReading {
        MeterReading {
            at,
            power_kw: Some(kw),
            energy_kwh: None,
        }
    }

    #[test]
    fn energy_from_the_counter_is_last_minus_first() {
        // Hourly Ept 00:00 … 24:00, 50 kWh an hour from 120 000.5.
        let readings: Vec<_> = (0..=24)
            .map(|h| counter(DAY + h * 3600, dec!(120000.5) + Decimal::from(50 * h)))
            .collect();
        assert_eq!(daily_energy(&readings), Some(dec!(1200)));
        // Shuffled input gives the same.
        let mut reversed = readings.clone();
        reversed.reverse();
        assert_eq!(daily_energy(&reversed), Some(dec!(1200)));
        // 00:00 … 20:00 only (20 h): scaled to the day at its own rate.
        assert_eq!(daily_energy(&readings[..=20]), Some(dec!(1200)));
    }

    #[test]
    fn energy_from_power_is_the_sum_of_p_dt() {
        // 5-minute samples: 100 kW for the first 12 hours, 40 kW after,
        // and the closing sample at midnight.
        let readings: Vec<_> = (0..=288)
            .map(|i| power(DAY + i * 300, if i < 144 { dec!(100) } else { dec!(40) }))
            .collect();
        assert_eq!(daily_energy(&readings), Some(dec!(1680)));
        // Hourly means, 00:00 … 23:00 without the closing sample: 23 hours
        // covered at 60 kW, scaled to 24 h.
        let hourly: Vec<_> = (0..24).map(|h| power(DAY + h * 3600, dec!(60))).collect();
        assert_eq!(daily_energy(&hourly), Some(dec!(1440)));
    }

    #[test]
    fn a_meter_reset_falls_back_to_power_or_is_unverifiable() {
        let mut readings: Vec<_> = (0..=24)
            .map(|h| counter(DAY + h * 3600, dec!(5000) + Decimal::from(50 * h)))
            .collect();
        // The meter is replaced at 10:00: the counter restarts from 0.
        for (h, r) in readings.iter_mut().enumerate().skip(10) {
            r.energy_kwh = Some(Decimal::from(50 * (h as i64 - 10)));
        }
        assert_eq!(daily_energy(&readings), None);
        let e = electricity_check(daily_energy(&readings), Some(dec!(1200)), dec!(50));
        assert!(matches!(e, Check::Unverifiable { .. }), "{e:?}");
        // With power in the same records the day is still measured.
        for r in &mut readings {
            r.power_kw = Some(dec!(50));
        }
        assert_eq!(daily_energy(&readings), Some(dec!(1200)));
    }

    #[test]
    fn too_few_readings_are_unverifiable() {
        // Counter over 17 h 59 min: short of 18 h.
        let short = [
            counter(DAY, dec!(0)),
            counter(DAY + 18 * 3600 - 60, dec!(900)),
        ];
        assert_eq!(daily_energy(&short), None);
        // Exactly 18 h is enough.
        let enough = [counter(DAY, dec!(0)), counter(DAY + 18 * 3600, dec!(900))];
        assert_eq!(daily_energy(&enough), Some(dec!(1200)));
        // One reading.
        assert_eq!(daily_energy(&[counter(DAY, dec!(7))]), None);
        assert_eq!(daily_energy(&[]), None);
        // Power every 2 hours: each gap is over an hour, nothing is covered.
        let sparse: Vec<_> = (0..=12).map(|i| power(DAY + i * 7200, dec!(80))).collect();
        assert_eq!(daily_energy(&sparse), None);
        // Hourly power missing 08:00–15:00: 15 hours covered.
        let holed: Vec<_> = (0..24)
            .filter(|h| !(8..15).contains(h))
            .map(|h| power(DAY + h * 3600, dec!(80)))
            .collect();
        assert_eq!(daily_energy(&holed), None);
        let check = electricity_check(daily_energy(&holed), Some(dec!(1000)), dec!(70));
        assert!(matches!(check, Check::Unverifiable { .. }));
    }

    #[test]
    fn baseline_prefers_the_list_then_needs_enough_days() {
        let rules = RuleSet::henan_2019();
        let days: Vec<Decimal> = (1..=40).map(Decimal::from).collect();
        assert_eq!(baseline(Some(dec!(999)), &days, &rules), Some(dec!(999)));
        // The last 30: 11 … 40, mean 25.5.
        assert_eq!(baseline(None, &days, &rules), Some(dec!(25.5)));
        assert_eq!(baseline(None, &days[..14], &rules), Some(dec!(7.5)));
        assert_eq!(baseline(None, &days[..13], &rules), None);
        assert_eq!(baseline(None, &[], &rules), None);
    }

    #[test]
    fn load_limit_is_exact() {
        // Limit 70 % of 1 234.5 kWh = 864.15 kWh.
        let b = Some(dec!(1234.5));
        assert_eq!(
            electricity_check(Some(dec!(864.15)), b, dec!(70)),
            Check::Met
        );
        assert_eq!(
            electricity_check(Some(dec!(864.1500001)), b, dec!(70)),
            Check::NotMet {
                actual_ratio: dec!(70.01)
            }
        );
        assert_eq!(electricity_check(Some(dec!(0)), b, dec!(0)), Check::Met);
        // A stop: at most the residual.
        let rules = RuleSet::henan_2019();
        assert_eq!(
            electricity_check(Some(dec!(100)), Some(dec!(1000)), rules.stop_residual_pct),
            Check::Met
        );
        assert!(matches!(
            electricity_check(
                Some(dec!(100.01)),
                Some(dec!(1000)),
                rules.stop_residual_pct
            ),
            Check::NotMet { .. }
        ));
        assert!(matches!(
            electricity_check(Some(dec!(10)), None, dec!(70)),
            Check::Unverifiable { .. }
        ));
        assert!(matches!(
            electricity_check(Some(dec!(10)), Some(dec!(0)), dec!(70)),
            Check::Unverifiable { .. }
        ));
    }

    #[test]
    fn reduction_is_exact() {
        let b = Some(dec!(100));
        // 19.99 % achieved against 20 %: not met, shown as 19.99.
        assert_eq!(
            reduction_check(b, Some(dec!(80.01)), dec!(20)),
            Check::NotMet {
                actual_ratio: dec!(19.99)
            }
        );
        assert_eq!(reduction_check(b, Some(dec!(80)), dec!(20)), Check::Met);
        // A thirds-baseline: (3 − 2.4)/3 = 20 % exactly, no rounding.
        assert_eq!(
            reduction_check(Some(dec!(3)), Some(dec!(2.4)), dec!(20)),
            Check::Met
        );
        // Just short: the display rounds down, never up to 20.00.
        assert_eq!(
            reduction_check(Some(dec!(3)), Some(dec!(2.40000001)), dec!(20)),
            Check::NotMet {
                actual_ratio: dec!(19.99)
            }
        );
        // More emitted than the baseline.
        assert_eq!(
            reduction_check(b, Some(dec!(120)), dec!(20)),
            Check::NotMet {
                actual_ratio: dec!(-20)
            }
        );
        assert!(matches!(
            reduction_check(b, None, dec!(20)),
            Check::Unverifiable { .. }
        ));
        assert!(matches!(
            reduction_check(None, Some(dec!(1)), dec!(20)),
            Check::Unverifiable { .. }
        ));
        // A stated kg/d reduction.
        assert_eq!(Required::Kg(dec!(35)).check(b, Some(dec!(65))), Check::Met);
        assert!(matches!(
            Required::Kg(dec!(35)).check(b, Some(dec!(65.1))),
            Check::NotMet { .. }
        ));
        assert_eq!(
            Required::Percent(dec!(20)).check(b, Some(dec!(80))),
            Check::Met
        );
    }

    #[test]
    fn verdict_is_never_compliant_with_an_unverifiable_check() {
        let na = unverifiable("无数据");
        let bad = Check::NotMet {
            actual_ratio: dec!(95),
        };
        assert_eq!(day_verdict(&[Check::Met, Check::Met]), Verdict::Compliant);
        assert_eq!(
            day_verdict(&[Check::Met, na.clone()]),
            Verdict::Unverifiable
        );
        assert_eq!(
            day_verdict(&[na.clone(), Check::Met]),
            Verdict::Unverifiable
        );
        assert_eq!(day_verdict(&[]), Verdict::Unverifiable);
        assert_eq!(
            day_verdict(&[na, bad.clone(), Check::Met]),
            Verdict::NotImplemented
        );
        assert_eq!(day_verdict(&[bad]), Verdict::NotImplemented);
        assert_eq!(Verdict::Compliant.label(), "达标");
        assert_eq!(Verdict::NotImplemented.label(), "未落实");
        assert_eq!(Verdict::Unverifiable.label(), "无法核查");
    }

    fn hour(at: i64, state: HourState, c: Decimal, zs: Decimal, q: Decimal) -> StackHour {
        StackHour {
            at,
            state,
            concentration: Some(c),
            converted: Some(zs),
            flow_m3_s: Some(q),
        }
    }

    #[test]
    fn daily_emission_sums_hours_of_concentration_times_flow() {
        // 24 valid hours at 30 mg/m³ and 10 m³/s: 30 × 36 000 × 10⁻⁶
        // = 1.08 kg an hour, 25.92 kg a day.
        let hours: Vec<StackHour> = (0..24)
            .map(|h| {
                hour(
                    DAY + h * 3600,
                    HourState::Valid,
                    dec!(30),
                    dec!(40),
                    dec!(10),
                )
            })
            .collect();
        assert_eq!(daily_emission_kg(&hours), Some(dec!(25.92)));
        // A stopped hour emits nothing and still counts as covered.
        let mut stopped = hours.clone();
        stopped[0].state = HourState::Stopped;
        assert_eq!(daily_emission_kg(&stopped), Some(dec!(24.84)));
        // Four calibration hours are filled at the mean of the other 20.
        let mut calibrated = hours.clone();
        for h in calibrated.iter_mut().take(4) {
            h.state = HourState::Invalid;
            h.concentration = Some(dec!(0));
        }
        assert_eq!(daily_emission_kg(&calibrated), Some(dec!(25.92)));
        // Five missing: 19 usable hours are not a day.
        assert_eq!(daily_emission_kg(&hours[5..]), None);
        // A repeated hour counts once.
        let mut repeated = hours.clone();
        repeated.push(hours[0]);
        assert_eq!(daily_emission_kg(&repeated), Some(dec!(25.92)));
        // A record not on the hour is not a 25th hour (review regression).
        let mut odd = hours.clone();
        odd.push(hour(
            DAY + 1800,
            HourState::Valid,
            dec!(30),
            dec!(40),
            dec!(10),
        ));
        assert_eq!(daily_emission_kg(&odd), Some(dec!(25.92)));
    }

    #[test]
    fn limit_check_judges_the_highest_valid_converted_hour() {
        let mut hours: Vec<StackHour> = (0..24)
            .map(|h| {
                hour(
                    DAY + h * 3600,
                    HourState::Valid,
                    dec!(20),
                    dec!(35),
                    dec!(10),
                )
            })
            .collect();
        // Exactly at the limit is met.
        assert_eq!(limit_check(&hours, dec!(35)), Check::Met);
        // Diluted: the measured concentration falls, the converted one
        // shows the truth.
        hours[7].concentration = Some(dec!(5));
        hours[7].converted = Some(dec!(35.01));
        assert_eq!(
            limit_check(&hours, dec!(35)),
            Check::NotMet {
                actual_ratio: dec!(100.03)
            }
        );
        // An invalid hour is not judged.
        hours[7].state = HourState::Invalid;
        assert_eq!(limit_check(&hours, dec!(35)), Check::Met);
        // No hours: cannot say; stopped all day: nothing to exceed.
        assert!(matches!(
            limit_check(&[], dec!(35)),
            Check::Unverifiable { .. }
        ));
        let stopped: Vec<StackHour> = (0..24)
            .map(|h| {
                hour(
                    DAY + h * 3600,
                    HourState::Stopped,
                    dec!(0),
                    dec!(0),
                    dec!(0),
                )
            })
            .collect();
        assert_eq!(limit_check(&stopped, dec!(35)), Check::Met);
        assert_eq!(HourState::from_flag(" F"), HourState::Stopped);
        assert_eq!(HourState::from_flag("C"), HourState::Invalid);
    }
}
