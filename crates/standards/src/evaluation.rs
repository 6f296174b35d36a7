//! Ambient-air evaluation: GB 3095 (limits, data validity) and HJ 663
//! (statistics, compliance), with the city comprehensive index of
//! 环办监测〔2018〕19号.
//!
//! The pipeline is made of small functions on plain data:
//!
//! 1. [`daily_records`]: one station's hourly means (hour-end times) →
//!    daily means (≥ 20 h), O₃ daily max 8-h (windows ending 08–24, ≥ 6 of 8
//!    hours each; ≥ 14 windows or exceeding the limit), O₃ daily max 1-h and the
//!    daily AQI, each day under the rule set of its date (or a forced one).
//! 2. [`combine_stations`]: several stations' days → the district/township
//!    day (arithmetic mean of the stations' valid daily values).
//! 3. [`summarize`]: days → period statistics: means, percentiles,
//!    compliance, exceedance multiples, daily compliance rates, good days and
//!    their ratio, heavy-pollution days and the comprehensive index.
//! 4. [`comprehensive_index`], [`change_rate`], [`rank`]: ranking helpers.
//!
//! Reporting digits: SO₂, NO₂, O₃, PM10, PM2.5 integers (µg/m³), CO one
//! decimal (mg/m³), rounded half-even (GB/T 8170). Daily values are rounded
//! once, as published; period statistics are computed from the published
//! daily values and rounded once more at the end.

use std::collections::BTreeMap;
use std::ops::{Index, IndexMut};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aqi::{self, AqiReport, DailyInput};
use crate::exact::{div_round_half_even, percentile, round_half_even};
use crate::rules::{AirRules, AqiRules, Edition, LimitSet};

/// The six basic pollutants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pollutant {
    /// SO₂, µg/m³.
    So2,
    /// NO₂, µg/m³.
    No2,
    /// CO, mg/m³.
    Co,
    /// O₃, µg/m³.
    O3,
    /// PM10, µg/m³.
    Pm10,
    /// PM2.5, µg/m³.
    Pm25,
}

impl Pollutant {
    /// All six in the usual order.
    pub const ALL: [Pollutant; 6] = [
        Pollutant::So2,
        Pollutant::No2,
        Pollutant::Co,
        Pollutant::O3,
        Pollutant::Pm10,
        Pollutant::Pm25,
    ];

    /// Column code (`so2`, `no2`, `co`, `o3`, `pm10`, `pm25`).
    pub fn code(self) -> &'static str {
        match self {
            Pollutant::So2 => "so2",
            Pollutant::No2 => "no2",
            Pollutant::Co => "co",
            Pollutant::O3 => "o3",
            Pollutant::Pm10 => "pm10",
            Pollutant::Pm25 => "pm25",
        }
    }

    /// Reporting digits (CO 1 decimal, others integers).
    pub fn digits(self) -> u32 {
        if self == Pollutant::Co { 1 } else { 0 }
    }

    /// The percentile of the annual evaluation (HJ 663): SO₂/NO₂ 98th,
    /// PM10/PM2.5/CO 95th, O₃ (daily max 8-h) 90th.
    pub fn annual_percentile(self) -> u32 {
        match self {
            Pollutant::So2 | Pollutant::No2 => 98,
            Pollutant::Co | Pollutant::Pm10 | Pollutant::Pm25 => 95,
            Pollutant::O3 => 90,
        }
    }

    /// Whether an annual mean limit exists (SO₂, NO₂, PM10, PM2.5).
    pub fn has_annual_mean(self) -> bool {
        !matches!(self, Pollutant::Co | Pollutant::O3)
    }
}

/// A value per pollutant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PerPollutant<T> {
    /// SO₂.
    pub so2: T,
    /// NO₂.
    pub no2: T,
    /// CO.
    pub co: T,
    /// O₃.
    pub o3: T,
    /// PM10.
    pub pm10: T,
    /// PM2.5.
    pub pm25: T,
}

impl<T> Index<Pollutant> for PerPollutant<T> {
    type Output = T;
    fn index(&self, p: Pollutant) -> &T {
        match p {
            Pollutant::So2 => &self.so2,
            Pollutant::No2 => &self.no2,
            Pollutant::Co => &self.co,
            Pollutant::O3 => &self.o3,
            Pollutant::Pm10 => &self.pm10,
            Pollutant::Pm25 => &self.pm25,
        }
    }
}

impl<T> IndexMut<Pollutant> for PerPollutant<T> {
    fn index_mut(&mut self, p: Pollutant) -> &mut T {
        match p {
            Pollutant::So2 => &mut self.so2,
            Pollutant::No2 => &mut self.no2,
            Pollutant::Co => &mut self.co,
            Pollutant::O3 => &mut self.o3,
            Pollutant::Pm10 => &mut self.pm10,
            Pollutant::Pm25 => &mut self.pm25,
        }
    }
}

/// GB 3095 functional-zone class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ZoneClass {
    /// Class 1 (nature reserves, parks …).
    One,
    /// Class 2 (residential, commercial, industrial, rural …). Default.
    #[default]
    Two,
}

/// Averaging period of a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Averaging {
    /// Annual mean.
    Annual,
    /// 24-h / daily mean (O₃: daily max 8-h).
    Daily,
    /// 1-h mean.
    OneHour,
}

/// The GB 3095 basic-item limit (µg/m³; CO mg/m³). For O₃, `Daily` is the
/// daily max 8-h limit. `None` where the standard sets none (CO and O₃
/// annual).
pub fn limit(set: LimitSet, class: ZoneClass, p: Pollutant, avg: Averaging) -> Option<Decimal> {
    use Averaging::*;
    use LimitSet::*;
    use Pollutant::*;
    let one = class == ZoneClass::One;
    let v: u32 = match (p, avg) {
        (Co, Annual) | (O3, Annual) => return None,
        (So2, Annual) => match (set, one) {
            (_, true) => 20,
            (Gb3095_2026Final, false) => 20,
            _ => 60,
        },
        (So2, Daily) => match (set, one) {
            (_, true) => 50,
            (Gb3095_2026Final, false) => 50,
            _ => 150,
        },
        (So2, OneHour) => match (set, one) {
            (_, true) => 150,
            (Gb3095_2026Final, false) => 150,
            _ => 500,
        },
        (No2, Annual) => match set {
            Gb3095_2026Final => 30,
            _ => 40,
        },
        (No2, Daily) => match set {
            Gb3095_2026Final => 50,
            _ => 80,
        },
        (No2, OneHour) => 200,
        (Co, Daily) => return Some(Decimal::from(4)),
        (Co, OneHour) => return Some(Decimal::from(10)),
        (O3, Daily) => {
            if one {
                100
            } else {
                160
            }
        }
        (O3, OneHour) => {
            if one {
                160
            } else {
                200
            }
        }
        (Pm10, Annual) => match (set, one) {
            (Gb3095_2026Final, true) => 20,
            (_, true) => 40,
            (Gb3095_2012, false) => 70,
            (Gb3095_2026Transition, false) => 60,
            (Gb3095_2026Final, false) => 50,
        },
        (Pm10, Daily) => match (set, one) {
            (_, true) => 50,
            (Gb3095_2012, false) => 150,
            (Gb3095_2026Transition, false) => 120,
            (Gb3095_2026Final, false) => 100,
        },
        (Pm25, Annual) => match (set, one) {
            (Gb3095_2026Final, true) => 10,
            (_, true) => 15,
            (Gb3095_2012, false) => 35,
            (Gb3095_2026Transition, false) => 30,
            (Gb3095_2026Final, false) => 25,
        },
        (Pm25, Daily) => match (set, one) {
            (Gb3095_2026Final, true) => 25,
            (_, true) => 35,
            (Gb3095_2012, false) => 75,
            (Gb3095_2026Transition, false) => 60,
            (Gb3095_2026Final, false) => 50,
        },
        (Pm10, OneHour) | (Pm25, OneHour) => return None,
    };
    Some(Decimal::from(v))
}

/// One hour of one station: the hour's **end** time (local) and the 1-h
/// means. `None` = missing or invalid (GB 3095 Table 4: a valid hour needs
/// ≥ 45 min of sampling; the caller passes `None` for invalid hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRecord {
    /// End of the hour: `2026-03-10T01:00` is 00:00–01:00 of 10 March;
    /// `2026-03-11T00:00` is the 24th hour of 10 March.
    pub end: NaiveDateTime,
    /// 1-h means, µg/m³ (CO mg/m³).
    pub values: PerPollutant<Option<Decimal>>,
}

/// Errors of the evaluation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// Hour records must be strictly increasing in time.
    #[error(
        "record {index}: time {time} is not after the previous record ({previous}) (时间顺序错误)"
    )]
    OutOfOrder {
        /// 0-based index in the input slice.
        index: usize,
        /// Its time.
        time: NaiveDateTime,
        /// The previous time.
        previous: NaiveDateTime,
    },
    /// Hour-end times must be on the hour.
    #[error("record {index}: time {time} is not on the hour (须为整点)")]
    NotOnTheHour {
        /// 0-based index.
        index: usize,
        /// Its time.
        time: NaiveDateTime,
    },
    /// A concentration below zero.
    #[error("record {index}: {pollutant:?} {value} is negative (浓度不能为负)")]
    Negative {
        /// 0-based index.
        index: usize,
        /// Pollutant.
        pollutant: Pollutant,
        /// The value.
        value: Decimal,
    },
}

/// Options of the evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// Force an edition instead of choosing by date.
    pub force: Option<Edition>,
    /// GB 3095 zone class for limits (default class 2).
    pub class: ZoneClass,
    /// Comprehensive-index variant (default: the 2018 regulation).
    pub index: IndexVariant,
}

/// A daily statistic with its validity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyValue {
    /// The published (rounded) value; `None` when invalid or absent.
    pub value: Option<Decimal>,
    /// Number of valid hours (daily means, O₃ 1-h max) or of valid 8-h
    /// windows (O₃ daily max 8-h) behind it.
    pub count: u8,
}

/// One day of one station (or of a region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyRecord {
    /// The natural day (hours ending 01:00 … 24:00).
    pub date: NaiveDate,
    /// Rule sets applied to this day.
    pub rules: AirRules,
    /// SO₂, NO₂, CO, PM10, PM2.5 daily means; for O₃ the daily max 8-h.
    pub values: PerPollutant<DailyValue>,
    /// O₃ daily max 1-h (a daily-report indicator under HJ 633-2012 only).
    pub o3_max_1h: DailyValue,
    /// The daily AQI report.
    pub aqi: AqiReport,
}

impl DailyRecord {
    /// The daily value of a pollutant (O₃ = daily max 8-h), if valid.
    pub fn value(&self, p: Pollutant) -> Option<Decimal> {
        self.values[p].value
    }
}

/// Hours of one day in slots 0..24 (slot h = hour ending h+1).
type DaySlots = PerPollutant<[Option<Decimal>; 24]>;

/// The natural day an hour-end time belongs to, and its slot (0 = hour
/// ending 01:00, 23 = hour ending 24:00).
pub fn day_of_hour_end(end: NaiveDateTime) -> (NaiveDate, usize) {
    let start = end - Duration::hours(1);
    (start.date(), start.hour() as usize)
}

/// Check one station's hours: strictly increasing, on the hour, no negative
/// value.
pub fn check_hours(hours: &[HourRecord]) -> Result<(), EvalError> {
    for (index, h) in hours.iter().enumerate() {
        if h.end.minute() != 0 || h.end.second() != 0 || h.end.nanosecond() != 0 {
            return Err(EvalError::NotOnTheHour { index, time: h.end });
        }
        if index > 0 && h.end <= hours[index - 1].end {
            return Err(EvalError::OutOfOrder {
                index,
                time: h.end,
                previous: hours[index - 1].end,
            });
        }
        for p in Pollutant::ALL {
            if let Some(v) = h.values[p]
                && v.is_sign_negative()
                && !v.is_zero()
            {
                return Err(EvalError::Negative {
                    index,
                    pollutant: p,
                    value: v,
                });
            }
        }
    }
    Ok(())
}

/// One station's hours (strictly increasing) → one record per day that has
/// at least one hour.
pub fn daily_records(hours: &[HourRecord], opts: &Options) -> Result<Vec<DailyRecord>, EvalError> {
    check_hours(hours)?;
    let mut out = Vec::with_capacity(hours.len() / 24 + 1);
    let mut i = 0;
    while i < hours.len() {
        let (date, _) = day_of_hour_end(hours[i].end);
        let mut slots: DaySlots = PerPollutant::default();
        while i < hours.len() {
            let (d, slot) = day_of_hour_end(hours[i].end);
            if d != date {
                break;
            }
            for p in Pollutant::ALL {
                slots[p][slot] = hours[i].values[p];
            }
            i += 1;
        }
        out.push(evaluate_day(date, &slots, opts));
    }
    Ok(out)
}

/// Minimum valid hours for a daily mean (GB 3095 Table 4).
pub const MIN_HOURS_PER_DAY: u8 = 20;
/// Minimum valid hours in an 8-h window (GB 3095 Table 4).
pub const MIN_HOURS_PER_8H: u8 = 6;
/// Minimum valid 8-h windows for the O₃ daily max 8-h (HJ 663).
pub const MIN_8H_WINDOWS: u8 = 14;

fn evaluate_day(date: NaiveDate, slots: &DaySlots, opts: &Options) -> DailyRecord {
    let rules = AirRules::select(opts.force, date);
    let mut values: PerPollutant<DailyValue> = PerPollutant::default();
    for p in [
        Pollutant::So2,
        Pollutant::No2,
        Pollutant::Co,
        Pollutant::Pm10,
        Pollutant::Pm25,
    ] {
        values[p] = daily_mean(&slots[p], p.digits());
    }
    let o3_limit_8h = limit(rules.limits, opts.class, Pollutant::O3, Averaging::Daily);
    let o3_limit_1h = limit(rules.limits, opts.class, Pollutant::O3, Averaging::OneHour);
    values.o3 = o3_daily_max_8h(&slots.o3, o3_limit_8h);
    let o3_max_1h = o3_daily_max_1h(&slots.o3, o3_limit_1h);
    let aqi = daily_aqi(rules.aqi, &values, &o3_max_1h);
    DailyRecord {
        date,
        rules,
        values,
        o3_max_1h,
        aqi,
    }
}

/// The daily AQI from published daily values.
pub fn daily_aqi(
    rules: AqiRules,
    values: &PerPollutant<DailyValue>,
    o3_max_1h: &DailyValue,
) -> AqiReport {
    let input = DailyInput {
        so2: values.so2.value,
        no2: values.no2.value,
        co: values.co.value,
        pm10: values.pm10.value,
        pm25: values.pm25.value,
        o3_8h: values.o3.value,
        o3_1h_max: o3_max_1h.value,
    };
    // Values were checked non-negative: the AQI cannot fail.
    aqi::daily(rules, &input).unwrap_or_else(|_| unreachable_report(rules))
}

fn unreachable_report(rules: AqiRules) -> AqiReport {
    aqi::daily(rules, &DailyInput::default()).expect("empty input is always valid")
}

/// Daily mean of 24 hourly slots: valid with ≥ 20 valid hours; rounded
/// half-even to `digits`.
pub fn daily_mean(slots: &[Option<Decimal>; 24], digits: u32) -> DailyValue {
    let mut sum = Decimal::ZERO;
    let mut n: u8 = 0;
    for v in slots.iter().flatten() {
        sum += *v;
        n += 1;
    }
    DailyValue {
        value: (n >= MIN_HOURS_PER_DAY).then(|| div_round_half_even(sum, Decimal::from(n), digits)),
        count: n,
    }
}

/// The exact 8-h moving average ending at slot `end` (inclusive; windows
/// inside the day end at slots 7..=23, i.e. 08:00 … 24:00), valid with ≥ 6
/// hours.
fn window_8h(slots: &[Option<Decimal>; 24], end: usize) -> Option<(Decimal, u8)> {
    let mut sum = Decimal::ZERO;
    let mut n = 0u8;
    for v in slots[end + 1 - 8..=end].iter().flatten() {
        sum += *v;
        n += 1;
    }
    (n >= MIN_HOURS_PER_8H).then_some((sum, n))
}

/// O₃ daily max 8-h: the largest valid 8-h moving average among the windows
/// ending 08:00 … 24:00; valid with ≥ 14 valid windows, or with fewer when
/// the (rounded) maximum exceeds `limit_8h`.
pub fn o3_daily_max_8h(slots: &[Option<Decimal>; 24], limit_8h: Option<Decimal>) -> DailyValue {
    // The best window as an exact fraction (sum, n); compared by
    // cross-multiplication, rounded once at the end.
    let mut best: Option<(Decimal, u8)> = None;
    let mut windows = 0u8;
    for end in 7..24 {
        if let Some((sum, n)) = window_8h(slots, end) {
            windows += 1;
            let better = match best {
                None => true,
                Some((bs, bn)) => sum * Decimal::from(bn) > bs * Decimal::from(n),
            };
            if better {
                best = Some((sum, n));
            }
        }
    }
    let value = best.map(|(sum, n)| div_round_half_even(sum, Decimal::from(n), 0));
    let valid =
        windows >= MIN_8H_WINDOWS || matches!((value, limit_8h), (Some(v), Some(l)) if v > l);
    DailyValue {
        value: value.filter(|_| valid),
        count: windows,
    }
}

/// O₃ daily max 1-h: the largest valid hourly value; valid with ≥ 20 valid
/// hours, or with fewer when it exceeds `limit_1h` (project rule, mirroring
/// the 8-h rule; the 2012 texts do not spell it out).
pub fn o3_daily_max_1h(slots: &[Option<Decimal>; 24], limit_1h: Option<Decimal>) -> DailyValue {
    let mut best: Option<Decimal> = None;
    let mut n = 0u8;
    for v in slots.iter().flatten() {
        n += 1;
        best = Some(best.map_or(*v, |b: Decimal| b.max(*v)));
    }
    let value = best.map(|b| round_half_even(b, 0));
    let valid = n >= MIN_HOURS_PER_DAY || matches!((value, limit_1h), (Some(v), Some(l)) if v > l);
    DailyValue {
        value: value.filter(|_| valid),
        count: n,
    }
}

/// District / township days: for each date, the arithmetic mean of the
/// stations' valid daily values (rounded to the reporting digits; `count` =
/// number of stations averaged), and the AQI of those means. A regional
/// value needs at least one valid station value.
pub fn combine_stations(stations: &[&[DailyRecord]], opts: &Options) -> Vec<DailyRecord> {
    let mut by_date: BTreeMap<NaiveDate, Vec<&DailyRecord>> = BTreeMap::new();
    for days in stations {
        for d in *days {
            by_date.entry(d.date).or_default().push(d);
        }
    }
    by_date
        .into_iter()
        .map(|(date, days)| {
            let rules = AirRules::select(opts.force, date);
            let mean_of = |get: &dyn Fn(&DailyRecord) -> Option<Decimal>, digits| {
                let vals: Vec<Decimal> = days.iter().filter_map(|d| get(d)).collect();
                let n = vals.len();
                DailyValue {
                    value: (n > 0).then(|| {
                        div_round_half_even(vals.iter().sum(), Decimal::from(n as u64), digits)
                    }),
                    count: u8::try_from(n).unwrap_or(u8::MAX),
                }
            };
            let mut values: PerPollutant<DailyValue> = PerPollutant::default();
            for p in Pollutant::ALL {
                values[p] = mean_of(&|d| d.value(p), p.digits());
            }
            let o3_max_1h = mean_of(&|d| d.o3_max_1h.value, 0);
            let aqi = daily_aqi(rules.aqi, &values, &o3_max_1h);
            DailyRecord {
                date,
                rules,
                values,
                o3_max_1h,
                aqi,
            }
        })
        .collect()
}

/// Kind of a statistics period; decides the coverage rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// A calendar year: ≥ 324 valid days and every month ≥ 27 (Feb ≥ 25).
    Year,
    /// A calendar month: ≥ 27 valid days (February ≥ 25).
    Month,
    /// 1 January to a date: every complete month ≥ 27 (Feb ≥ 25); the current
    /// month is not judged.
    YearToDate,
    /// Any other span: no coverage rule in GB 3095 (`coverage_ok` = null).
    Custom,
}

impl PeriodKind {
    /// The kind of the span `from..=to`.
    pub fn of(from: NaiveDate, to: NaiveDate) -> PeriodKind {
        if from.day() == 1 && from.month() == 1 && to == last_of_month(from.year(), 12) {
            PeriodKind::Year
        } else if from.day() == 1 && to == last_of_month(from.year(), from.month()) {
            PeriodKind::Month
        } else if from.day() == 1 && from.month() == 1 && to.year() == from.year() {
            PeriodKind::YearToDate
        } else {
            PeriodKind::Custom
        }
    }
}

fn last_of_month(y: i32, m: u32) -> NaiveDate {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

/// Minimum valid days in a month (GB 3095 Table 4: 27, February 25).
pub fn min_days_in_month(month: u32) -> u32 {
    if month == 2 { 25 } else { 27 }
}

/// Minimum valid days in a year (GB 3095 Table 4).
pub const MIN_DAYS_PER_YEAR: u32 = 324;

/// Coverage check of a set of valid days against the rule of `kind`.
pub fn coverage_ok(
    kind: PeriodKind,
    from: NaiveDate,
    to: NaiveDate,
    valid: &[NaiveDate],
) -> Option<bool> {
    let mut per_month: BTreeMap<(i32, u32), u32> = BTreeMap::new();
    for d in valid {
        *per_month.entry((d.year(), d.month())).or_default() += 1;
    }
    let months_ok = |upto: Option<(i32, u32)>| {
        let mut d = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from);
        while d <= to {
            let key = (d.year(), d.month());
            if upto.is_some_and(|u| key >= u) {
                break;
            }
            if per_month.get(&key).copied().unwrap_or(0) < min_days_in_month(d.month()) {
                return false;
            }
            d = last_of_month(d.year(), d.month())
                .succ_opt()
                .unwrap_or(NaiveDate::MAX);
        }
        true
    };
    match kind {
        PeriodKind::Year => Some(valid.len() as u32 >= MIN_DAYS_PER_YEAR && months_ok(None)),
        PeriodKind::Month => Some(months_ok(None)),
        PeriodKind::YearToDate => {
            let complete = to == last_of_month(to.year(), to.month());
            let upto = if complete {
                None
            } else {
                Some((to.year(), to.month()))
            };
            Some(months_ok(upto))
        }
        PeriodKind::Custom => None,
    }
}

/// Statistics of one pollutant over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollutantSummary {
    /// The pollutant.
    pub pollutant: Pollutant,
    /// Number of valid daily values (O₃: valid daily max 8-h).
    pub valid_days: u32,
    /// Coverage rule of the period met (`None` = the period has no rule).
    pub coverage_ok: Option<bool>,
    /// Mean of the valid daily values, rounded (O₃: of the daily max 8-h;
    /// CO: of the daily means — informative for both).
    pub mean: Option<Decimal>,
    /// The HJ 663 percentile used for the annual evaluation.
    pub percentile: u32,
    /// Its value, rounded.
    pub percentile_value: Option<Decimal>,
    /// Annual-mean limit (SO₂, NO₂, PM10, PM2.5).
    pub limit_mean: Option<Decimal>,
    /// 24-h limit (O₃: daily max 8-h limit).
    pub limit_daily: Option<Decimal>,
    /// (mean − limit) / limit when above, 2 decimals.
    pub mean_exceedance_multiple: Option<Decimal>,
    /// (percentile − 24-h limit) / limit when above, 2 decimals.
    pub percentile_exceedance_multiple: Option<Decimal>,
    /// Meets the annual evaluation: mean ≤ annual limit (where one exists)
    /// and percentile ≤ 24-h limit. `None` when a statistic is missing or
    /// the coverage rule fails.
    pub compliant: Option<bool>,
    /// Days whose daily value is ≤ the 24-h limit.
    pub days_meeting: u32,
    /// days_meeting / valid_days × 100, 1 decimal.
    pub daily_compliance_rate: Option<Decimal>,
    /// Largest daily value and its exceedance multiple (2 decimals) if above.
    pub max_daily: Option<Decimal>,
    /// (max daily − limit) / limit when above.
    pub max_daily_exceedance_multiple: Option<Decimal>,
}

/// Day counts by AQI.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AqiDays {
    /// Days whose AQI class is determined (all indicators present, or
    /// AQI > 100 from those present).
    pub valid_days: u32,
    /// 优良天: AQI ≤ 100.
    pub good_days: u32,
    /// good_days / valid_days × 100, 1 decimal.
    pub good_ratio: Option<Decimal>,
    /// AQI > 100.
    pub polluted_days: u32,
    /// 重污染: AQI > 200.
    pub heavy_days: u32,
    /// 严重污染: AQI > 300.
    pub severe_days: u32,
    /// Days per level 1–6 (index 0 = level 1).
    pub by_level: [u32; 6],
    /// Days where a pollutant was primary, by short name.
    pub primary_days: BTreeMap<String, u32>,
}

/// Comprehensive-index variant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexVariant {
    /// 环办监测〔2018〕19号: Σ Cᵢ/Sᵢ, Sᵢ = GB 3095-2012 class 2 (SO₂ 60,
    /// NO₂ 40, PM10 70, PM2.5 35 annual; CO 4 24-h; O₃ 160 8-h).
    #[default]
    Hj2018,
    /// UNVERIFIED "2026" variant seen in one third-party code base:
    /// Σ wᵢ·Cᵢ/Sᵢ with w(PM2.5) = 3, w(NO₂) = w(O₃) = 2, others 1 and
    /// S(PM10) = 60, S(PM2.5) = 30. Only on explicit request.
    Weighted2026Unverified,
}

impl IndexVariant {
    fn denominator(self, p: Pollutant) -> Decimal {
        let v: u32 = match (self, p) {
            (_, Pollutant::So2) => 60,
            (_, Pollutant::No2) => 40,
            (_, Pollutant::Co) => 4,
            (_, Pollutant::O3) => 160,
            (IndexVariant::Hj2018, Pollutant::Pm10) => 70,
            (IndexVariant::Hj2018, Pollutant::Pm25) => 35,
            (IndexVariant::Weighted2026Unverified, Pollutant::Pm10) => 60,
            (IndexVariant::Weighted2026Unverified, Pollutant::Pm25) => 30,
        };
        Decimal::from(v)
    }
    fn weight(self, p: Pollutant) -> Decimal {
        Decimal::from(match (self, p) {
            (IndexVariant::Hj2018, _) => 1u32,
            (_, Pollutant::Pm25) => 3,
            (_, Pollutant::No2 | Pollutant::O3) => 2,
            _ => 1,
        })
    }
}

/// The comprehensive index of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComprehensiveIndex {
    /// Variant used.
    pub variant: IndexVariant,
    /// Single indices Iᵢ = Cᵢ/Sᵢ (× weight in the weighted variant), 3 decimals.
    pub single: PerPollutant<Decimal>,
    /// Σ, computed exactly and rounded to 2 decimals.
    pub total: Decimal,
    /// Pollutant(s) with the largest single index.
    pub largest: Vec<Pollutant>,
}

/// Comprehensive index from the six period concentrations Cᵢ: SO₂, NO₂,
/// PM10, PM2.5 period means; CO 24-h 95th percentile; O₃ daily max 8-h 90th
/// percentile (all as reported). `None` if any is missing.
pub fn comprehensive_index(
    c: &PerPollutant<Option<Decimal>>,
    variant: IndexVariant,
) -> Option<ComprehensiveIndex> {
    // Exact sum of fractions over the common denominator Π Sᵢ would be large;
    // instead sum the exact products Cᵢ·wᵢ·(L/Sᵢ) over L = lcm of the Sᵢ.
    let l = Decimal::from(lcm_all(Pollutant::ALL.map(|p| variant.denominator(p))));
    let mut num = Decimal::ZERO;
    let mut single = PerPollutant::default();
    for p in Pollutant::ALL {
        let ci = c[p]?;
        let s = variant.denominator(p);
        let w = variant.weight(p);
        num += ci * w * (l / s); // l / s is an exact integer
        single[p] = div_round_half_even(ci * w, s, 3);
    }
    let total = div_round_half_even(num, l, 2);
    // Largest single index: compare exact values Cᵢ·wᵢ·L/Sᵢ.
    let exact =
        |p: Pollutant| c[p].unwrap_or_default() * variant.weight(p) * (l / variant.denominator(p));
    let max = Pollutant::ALL
        .into_iter()
        .map(exact)
        .max()
        .unwrap_or_default();
    let largest = Pollutant::ALL
        .into_iter()
        .filter(|&p| exact(p) == max)
        .collect();
    Some(ComprehensiveIndex {
        variant,
        single,
        total,
        largest,
    })
}

fn lcm_all(values: [Decimal; 6]) -> u64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    values.iter().fold(1u64, |acc, v| {
        let v = u64::try_from(v.mantissa()).unwrap_or(1).max(1);
        acc / gcd(acc, v) * v
    })
}

/// Change rate ΔI = (current − base) / base × 100 %, 1 decimal (from the
/// reported 2-decimal indices). `None` when base is zero.
pub fn change_rate(current: Decimal, base: Decimal) -> Option<Decimal> {
    (base > Decimal::ZERO)
        .then(|| div_round_half_even((current - base) * Decimal::ONE_HUNDRED, base, 1))
}

/// Competition ranking ("1, 2, 2, 4"), ascending: the smallest value ranks
/// first; equal values share a rank (并列). Returns ranks in input order.
pub fn rank(values: &[Decimal]) -> Vec<u32> {
    values
        .iter()
        .map(|v| 1 + values.iter().filter(|w| *w < v).count() as u32)
        .collect()
}

/// Statistics of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodSummary {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Period kind (coverage rule).
    pub kind: PeriodKind,
    /// Limit set used for compliance: the one in force on the last day
    /// (or forced).
    pub limits: LimitSet,
    /// AQI rule sets of the days included (two when the period spans
    /// 2026-03-01).
    pub aqi_rules: Vec<AqiRules>,
    /// Per pollutant.
    pub pollutants: Vec<PollutantSummary>,
    /// All six compliant → true; any not → false; otherwise unknown.
    pub compliant: Option<bool>,
    /// Day counts by AQI.
    pub aqi_days: AqiDays,
    /// Comprehensive index (needs all six Cᵢ).
    pub comprehensive_index: Option<ComprehensiveIndex>,
}

impl PeriodSummary {
    /// The summary of one pollutant.
    pub fn pollutant(&self, p: Pollutant) -> &PollutantSummary {
        &self.pollutants[p as usize]
    }
}

/// Mean of a pollutant's valid daily values, rounded to the reporting digits.
pub fn period_mean(days: &[DailyRecord], p: Pollutant) -> Option<Decimal> {
    let vals: Vec<Decimal> = days.iter().filter_map(|d| d.value(p)).collect();
    (!vals.is_empty()).then(|| {
        div_round_half_even(
            vals.iter().sum(),
            Decimal::from(vals.len() as u64),
            p.digits(),
        )
    })
}

/// A percentile of a pollutant's valid daily values, rounded.
pub fn period_percentile(days: &[DailyRecord], p: Pollutant, pct: u32) -> Option<Decimal> {
    let mut vals: Vec<Decimal> = days.iter().filter_map(|d| d.value(p)).collect();
    vals.sort();
    percentile(&vals, pct).map(|v| round_half_even(v, p.digits()))
}

/// Day counts by AQI (good days, ratio, polluted, heavy …).
pub fn aqi_days(days: &[DailyRecord]) -> AqiDays {
    let mut out = AqiDays::default();
    for d in days {
        let (Some(a), Some(polluted)) = (d.aqi.aqi, d.aqi.is_polluted()) else {
            continue;
        };
        out.valid_days += 1;
        if !polluted {
            out.good_days += 1;
        } else {
            out.polluted_days += 1;
        }
        if a > 200 {
            out.heavy_days += 1;
        }
        if a > 300 {
            out.severe_days += 1;
        }
        out.by_level[aqi::Level::of(a).number() as usize - 1] += 1;
        for p in d.aqi.primary.iter() {
            *out.primary_days.entry(p.name().to_owned()).or_default() += 1;
        }
    }
    out.good_ratio = (out.valid_days > 0).then(|| {
        div_round_half_even(
            Decimal::from(out.good_days) * Decimal::ONE_HUNDRED,
            Decimal::from(out.valid_days),
            1,
        )
    });
    out
}

fn multiple(c: Option<Decimal>, s: Option<Decimal>) -> Option<Decimal> {
    match (c, s) {
        (Some(c), Some(s)) if s > Decimal::ZERO && c > s => Some(div_round_half_even(c - s, s, 2)),
        _ => None,
    }
}

/// Statistics of the days `from..=to` (days outside are ignored).
pub fn summarize(
    days: &[DailyRecord],
    from: NaiveDate,
    to: NaiveDate,
    opts: &Options,
) -> PeriodSummary {
    let days: Vec<DailyRecord> = days
        .iter()
        .filter(|d| d.date >= from && d.date <= to)
        .cloned()
        .collect();
    let kind = PeriodKind::of(from, to);
    let limits = AirRules::select(opts.force, to).limits;
    let mut aqi_rules: Vec<AqiRules> = days.iter().map(|d| d.rules.aqi).collect();
    aqi_rules.sort();
    aqi_rules.dedup();
    let pollutants: Vec<PollutantSummary> = Pollutant::ALL
        .into_iter()
        .map(|p| pollutant_summary(&days, p, kind, from, to, limits, opts.class))
        .collect();
    let compliant = if pollutants.iter().any(|s| s.compliant == Some(false)) {
        Some(false)
    } else if pollutants.iter().all(|s| s.compliant == Some(true)) {
        Some(true)
    } else {
        None
    };
    let mut ci: PerPollutant<Option<Decimal>> = PerPollutant::default();
    for s in &pollutants {
        ci[s.pollutant] = match s.pollutant {
            Pollutant::Co | Pollutant::O3 => s.percentile_value,
            _ => s.mean,
        };
    }
    PeriodSummary {
        from,
        to,
        kind,
        limits,
        aqi_rules,
        compliant,
        aqi_days: aqi_days(&days),
        comprehensive_index: comprehensive_index(&ci, opts.index),
        pollutants,
    }
}

fn pollutant_summary(
    days: &[DailyRecord],
    p: Pollutant,
    kind: PeriodKind,
    from: NaiveDate,
    to: NaiveDate,
    limits: LimitSet,
    class: ZoneClass,
) -> PollutantSummary {
    let valid: Vec<NaiveDate> = days
        .iter()
        .filter(|d| d.value(p).is_some())
        .map(|d| d.date)
        .collect();
    let coverage = coverage_ok(kind, from, to, &valid);
    let mean = period_mean(days, p);
    let pct = p.annual_percentile();
    let percentile_value = period_percentile(days, p, pct);
    let limit_mean = limit(limits, class, p, Averaging::Annual);
    let limit_daily = limit(limits, class, p, Averaging::Daily);
    let compliant = if coverage == Some(false) {
        None
    } else {
        let mean_ok = if p.has_annual_mean() {
            match (mean, limit_mean) {
                (Some(m), Some(l)) => Some(m <= l),
                _ => None,
            }
        } else {
            Some(true)
        };
        let pct_ok = match (percentile_value, limit_daily) {
            (Some(v), Some(l)) => Some(v <= l),
            _ => None,
        };
        match (mean_ok, pct_ok) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        }
    };
    let days_meeting = match limit_daily {
        Some(l) => days
            .iter()
            .filter(|d| d.value(p).is_some_and(|v| v <= l))
            .count() as u32,
        None => 0,
    };
    let valid_days = valid.len() as u32;
    let max_daily = days.iter().filter_map(|d| d.value(p)).max();
    PollutantSummary {
        pollutant: p,
        valid_days,
        coverage_ok: coverage,
        mean,
        percentile: pct,
        percentile_value,
        limit_mean,
        limit_daily,
        mean_exceedance_multiple: if p.has_annual_mean() {
            multiple(mean, limit_mean)
        } else {
            None
        },
        percentile_exceedance_multiple: multiple(percentile_value, limit_daily),
        compliant,
        days_meeting,
        daily_compliance_rate: (valid_days > 0).then(|| {
            div_round_half_even(
                Decimal::from(days_meeting) * Decimal::ONE_HUNDRED,
                Decimal::from(valid_days),
                1,
            )
        }),
        max_daily,
        max_daily_exceedance_multiple: multiple(max_daily, limit_daily),
    }
}

/// Year-to-date statistics: 1 January of `date`'s year to `date`.
pub fn year_to_date(days: &[DailyRecord], date: NaiveDate, opts: &Options) -> PeriodSummary {
    let from = NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date);
    summarize(days, from, date, opts)
}

/// Parse an hour-end time: `YYYY-MM-DD HH[:MM[:SS]]` or `YYYY-MM-DDTHH…`
/// (`/` also accepted between date parts; one-digit month/day/hour
/// accepted). Hour `24:00` is midnight of the next day; minutes and seconds
/// must be zero. `None` when malformed.
pub fn parse_hour_end(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let b = s.as_bytes();
    let mut i = 0;
    let sep = |i: &mut usize, allowed: &[u8]| -> Option<()> {
        if *i < b.len() && allowed.contains(&b[*i]) {
            *i += 1;
            Some(())
        } else {
            None
        }
    };
    let next = |i: &mut usize, max: usize| -> Option<u32> {
        let start = *i;
        let mut v: u32 = 0;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - start < max {
            v = v * 10 + u32::from(b[*i] - b'0');
            *i += 1;
        }
        (*i > start).then_some(v)
    };
    let year = next(&mut i, 4)?;
    sep(&mut i, b"-/")?;
    let month = next(&mut i, 2)?;
    sep(&mut i, b"-/")?;
    let day = next(&mut i, 2)?;
    sep(&mut i, b"T ")?;
    let hour = next(&mut i, 2)?;
    let mut minute = 0;
    let mut second = 0;
    if i < b.len() {
        sep(&mut i, b":")?;
        minute = next(&mut i, 2)?;
        if i < b.len() {
            sep(&mut i, b":")?;
            second = next(&mut i, 2)?;
        }
    }
    if i != b.len() || minute != 0 || second != 0 || hour > 24 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(date.and_hms_opt(0, 0, 0)? + Duration::hours(i64::from(hour)))
}
