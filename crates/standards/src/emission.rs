//! Stack emissions: CEMS data processing (HJ 75-2017, HJ 76-2017 Appendix B),
//! O₂-converted concentrations (折算, GB 13271-2014 §5.2), emission rates and
//! totals, and named emission-limit sets (GB 13271-2014, the 2020 Pingyuan
//! plan's task 22, the Henan 2019 industrial-kiln programme).
//!
//! Layers, each usable on its own (the HJ 212 ingestion calls the rollups):
//!
//! * formula helpers: [`to_reference_o2`], [`wet_to_dry`],
//!   [`actual_to_standard`], [`flow_to_dry_standard`], [`ppm_to_mg`],
//!   [`nox_as_no2`], [`emission_rate_kg_h`];
//! * rollups with HJ 212 data flags: [`minutes_to_hour`] (≥ 45 valid
//!   minutes; [`records_to_hour`] for 2- … 30-minute records, e.g. 10-minute
//!   data, where each valid record covers its window), [`hours_to_day`]
//!   (≥ 20 valid hours), [`days_to_month`] (≥ 25 valid days, February ≥ 23);
//! * a whole stack: [`hourly`] / [`hourly_at`] (minute records → hourly
//!   measured, converted values, emission rates, exceedances; hours before
//!   the limit set is in force are not judged), [`record_interval`],
//!   [`exceedance_events`], [`daily`], [`monthly`];
//! * limit sets addressable by name: [`limit_set`], [`builtin_limit_sets`].
//!
//! Arithmetic is exact (rust_decimal). Exceedance compares the unrounded
//! converted hourly mean with the limit (GB/T 8170-2008 §4.3.3, whole-value
//! comparison); multiples are published rounded half-even to two decimals.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The data-processing rule set every stack result names.
pub const RULES: &str = "HJ 75-2017 / HJ 76-2017（2018-03-01 起实施）";

/// Errors of the emission engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmissionError {
    #[error("O2 {0}% is outside 0 ≤ O2 < 21")]
    O2OutOfRange(Decimal),
    #[error("moisture fraction {0} is outside 0 ≤ x < 1")]
    MoistureOutOfRange(Decimal),
    #[error("absolute pressure {0} Pa is not positive")]
    PressureNotPositive(Decimal),
    #[error("temperature {0} °C is at or below absolute zero")]
    TemperatureOutOfRange(Decimal),
    #[error("{0} minute values given for one hour (at most 60)")]
    TooManyMinutes(usize),
    #[error(
        "record interval of {0} minutes is not an HJ 212 minute-data interval (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30)"
    )]
    BadInterval(u32),
    #[error(
        "records are {interval}-minute means but {time} is not the start of a {interval}-minute window"
    )]
    Misaligned { time: NaiveDateTime, interval: u32 },
    #[error(
        "records {earlier} and {later} are {seconds} s apart: not minute data (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 minutes)"
    )]
    IrregularInterval {
        earlier: NaiveDateTime,
        later: NaiveDateTime,
        seconds: i64,
    },
    #[error("minute records out of order: {later} does not follow {earlier}")]
    OutOfOrder {
        earlier: NaiveDateTime,
        later: NaiveDateTime,
    },
    #[error("negative {what} {value} at {time}")]
    Negative {
        what: String,
        value: Decimal,
        time: NaiveDateTime,
    },
    #[error("unknown HJ 212 data flag {0:?} (expected one of N F M S D C T B)")]
    UnknownFlag(String),
    #[error("unknown pollutant {0:?}")]
    UnknownPollutant(String),
}

/// An exact quotient `num / den` (`den > 0`). Hourly means and converted
/// concentrations are kept as quotients because their decimal expansions
/// repeat: a 28-digit quotient equal to the limit can read as above it, and a
/// multiple of exactly 0.005 can round up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotient {
    pub num: Decimal,
    pub den: Decimal,
}

impl Quotient {
    /// A finite decimal, exactly.
    pub fn exact(v: Decimal) -> Self {
        Self {
            num: v,
            den: Decimal::ONE,
        }
    }

    /// The value as a decimal, for display (rounded to 28 digits).
    pub fn value(self) -> Decimal {
        self.num / self.den
    }
}

/// Rounds a non-negative quotient half-even to two decimals from its exact
/// value: the floor of 100·num/den is corrected by exact products, and the
/// remainder decides, so no intermediate rounding can move a midpoint.
fn round_multiple(q: Quotient) -> Decimal {
    let scaled = q.num * dec!(100);
    let mut whole = (scaled / q.den).floor();
    while whole * q.den > scaled {
        whole -= Decimal::ONE;
    }
    while (whole + Decimal::ONE) * q.den <= scaled {
        whole += Decimal::ONE;
    }
    let twice_rest = (scaled - whole * q.den) * dec!(2);
    let up = match twice_rest.cmp(&q.den) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => whole % dec!(2) != Decimal::ZERO,
    };
    if up {
        whole += Decimal::ONE;
    }
    (whole / dec!(100)).normalize()
}

// ---------------------------------------------------------------------------
// Formulas (HJ 75-2017 appendix; GB 13271-2014 §5.2)
// ---------------------------------------------------------------------------

/// Molar masses (g/mol) for volume → mass conversion.
pub const M_SO2: Decimal = dec!(64);
pub const M_NO2: Decimal = dec!(46);
pub const M_NO: Decimal = dec!(30);
/// Molar volume at standard conditions (L/mol).
pub const MOLAR_VOLUME: Decimal = dec!(22.4);
/// Standard pressure (Pa) and temperature (K).
pub const P_STD: Decimal = dec!(101325);
pub const T_STD: Decimal = dec!(273);

fn check_o2(o2: Decimal) -> Result<(), EmissionError> {
    if o2 < Decimal::ZERO || o2 >= dec!(21) {
        return Err(EmissionError::O2OutOfRange(o2));
    }
    Ok(())
}

fn check_moisture(x: Decimal) -> Result<(), EmissionError> {
    if x < Decimal::ZERO || x >= Decimal::ONE {
        return Err(EmissionError::MoistureOutOfRange(x));
    }
    Ok(())
}

/// 折算 (GB 13271-2014 §5.2, HJ 75 eq. 28): ρ = ρ′ × (21 − O₂,ref)/(21 − O₂,meas),
/// O₂ in % on a dry basis.
pub fn to_reference_o2(
    measured: Decimal,
    o2_measured: Decimal,
    o2_reference: Decimal,
) -> Result<Decimal, EmissionError> {
    check_o2(o2_measured)?;
    check_o2(o2_reference)?;
    Ok(measured * (dec!(21) - o2_reference) / (dec!(21) - o2_measured))
}

/// Wet → dry (HJ 75 eq. 19): C_dry = C_wet/(1 − X_sw), `moisture` as a
/// volume fraction (0.08 = 8 %). Also valid for O₂ in %.
pub fn wet_to_dry(wet: Decimal, moisture: Decimal) -> Result<Decimal, EmissionError> {
    check_moisture(moisture)?;
    Ok(wet / (Decimal::ONE - moisture))
}

fn check_conditions(
    ambient_pa: Decimal,
    static_pa: Decimal,
    temp_c: Decimal,
) -> Result<(), EmissionError> {
    if ambient_pa + static_pa <= Decimal::ZERO {
        return Err(EmissionError::PressureNotPositive(ambient_pa + static_pa));
    }
    if T_STD + temp_c <= Decimal::ZERO {
        return Err(EmissionError::TemperatureOutOfRange(temp_c));
    }
    Ok(())
}

/// Actual → standard conditions (HJ 75 eq. 18):
/// C_sn = C_s × 101325/(B_a + P_s) × (273 + t_s)/273.
pub fn actual_to_standard(
    c: Decimal,
    ambient_pa: Decimal,
    static_pa: Decimal,
    temp_c: Decimal,
) -> Result<Decimal, EmissionError> {
    check_conditions(ambient_pa, static_pa, temp_c)?;
    Ok(c * P_STD / (ambient_pa + static_pa) * (T_STD + temp_c) / T_STD)
}

/// Dry standard flow (HJ 75 eq. 31):
/// Q_sn = Q_s × 273/(273 + t_s) × (B_a + P_s)/101325 × (1 − X_sw).
pub fn flow_to_dry_standard(
    q_actual: Decimal,
    temp_c: Decimal,
    ambient_pa: Decimal,
    static_pa: Decimal,
    moisture: Decimal,
) -> Result<Decimal, EmissionError> {
    check_conditions(ambient_pa, static_pa, temp_c)?;
    check_moisture(moisture)?;
    Ok(
        q_actual * T_STD / (T_STD + temp_c) * (ambient_pa + static_pa) / P_STD
            * (Decimal::ONE - moisture),
    )
}

/// µmol/mol → mg/m³ at standard conditions (HJ 75 eq. 20): M/22.4 × C_v.
pub fn ppm_to_mg(ppm: Decimal, molar_mass: Decimal) -> Decimal {
    molar_mass / MOLAR_VOLUME * ppm
}

/// NOx as NO₂ from mass concentrations (HJ 75 eq. 21): NO × 46/30 + NO₂.
pub fn nox_as_no2(no_mg: Decimal, no2_mg: Decimal) -> Decimal {
    no_mg * M_NO2 / M_NO + no2_mg
}

/// Emission rate (HJ 75 eq. 33): G (kg/h) = C (mg/m³, measured, dry,
/// standard) × Q_sn (m³/h) × 10⁻⁶. Use the measured, not the converted,
/// concentration.
pub fn emission_rate_kg_h(c_mg_m3: Decimal, q_m3_h: Decimal) -> Decimal {
    c_mg_m3 * q_m3_h / dec!(1000000)
}

// ---------------------------------------------------------------------------
// Flags and validity
// ---------------------------------------------------------------------------

/// HJ 212-2017 data flags (数据标记, table 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// 正常 — instrument working normally.
    N,
    /// 停运 — stopped.
    F,
    /// 维护 — maintenance.
    M,
    /// 手工输入的设定值 — manually entered set value.
    S,
    /// 故障 — instrument fault.
    D,
    /// 校准 — calibration.
    C,
    /// 超测定上限 — above the measuring range.
    T,
    /// 通讯异常 — communication fault.
    B,
}

impl Flag {
    pub const ALL: [Flag; 8] = [
        Flag::N,
        Flag::F,
        Flag::M,
        Flag::S,
        Flag::D,
        Flag::C,
        Flag::T,
        Flag::B,
    ];

    /// The flag as officials read it (HJ 212-2017 table 8).
    pub fn label(self) -> &'static str {
        match self {
            Flag::N => "正常",
            Flag::F => "停运",
            Flag::M => "维护",
            Flag::S => "手工输入",
            Flag::D => "故障",
            Flag::C => "校准",
            Flag::T => "超量程",
            Flag::B => "通讯异常",
        }
    }

    pub fn as_char(self) -> char {
        match self {
            Flag::N => 'N',
            Flag::F => 'F',
            Flag::M => 'M',
            Flag::S => 'S',
            Flag::D => 'D',
            Flag::C => 'C',
            Flag::T => 'T',
            Flag::B => 'B',
        }
    }
}

/// A stored flag's text as officials read it: "校准" for `C`; "未知标记"
/// for anything else.
pub fn flag_label(flag: &str) -> &'static str {
    flag.parse::<Flag>().map_or("未知标记", Flag::label)
}

/// "C（校准）": the code with its meaning, where both matter (tables of
/// values a logger sent).
pub fn flag_with_label(flag: &str) -> String {
    format!("{}（{}）", flag.trim(), flag_label(flag))
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

impl FromStr for Flag {
    type Err = EmissionError;
    fn from_str(s: &str) -> Result<Self, EmissionError> {
        let t = s.trim();
        Flag::ALL
            .into_iter()
            .find(|f| t.len() == 1 && t.eq_ignore_ascii_case(&f.to_string()))
            .ok_or_else(|| EmissionError::UnknownFlag(s.to_string()))
    }
}

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Validity thresholds and flag policy. Defaults: HJ 76-2017 Appendix B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Valid minutes for a valid hour (HJ 76: ≥ 45).
    pub min_minutes_per_hour: u32,
    /// Valid hours for a valid day (HJ 76: ≥ 20).
    pub min_hours_per_day: u32,
    /// Valid days for a valid month (HJ 76: ≥ 25).
    pub min_days_per_month: u32,
    /// Valid days for a valid February (HJ 76: ≥ 23).
    pub min_days_february: u32,
    /// Count `S` (manually entered) minutes as valid. Default false.
    pub accept_manual: bool,
    /// Hourly O₂ at or above this (%): the source is treated as not burning;
    /// no converted value and no exceedance for that hour. `None` disables
    /// the cut. Default 19 (a platform choice, not a standard value).
    pub o2_stop_cutoff: Option<Decimal>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_minutes_per_hour: 45,
            min_hours_per_day: 20,
            min_days_per_month: 25,
            min_days_february: 23,
            accept_manual: false,
            o2_stop_cutoff: Some(dec!(19)),
        }
    }
}

impl Thresholds {
    /// Whether a minute with this flag and a value counts as valid: `N`, and
    /// `S` only when [`Thresholds::accept_manual`] is set.
    pub fn flag_valid(&self, flag: Flag) -> bool {
        flag == Flag::N || (flag == Flag::S && self.accept_manual)
    }
}

/// One minute value of one parameter as received (HJ 212 `-Avg` + `-Flag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteValue {
    pub value: Option<Decimal>,
    pub flag: Flag,
}

impl MinuteValue {
    pub fn normal(value: Decimal) -> Self {
        Self {
            value: Some(value),
            flag: Flag::N,
        }
    }
}

/// An hourly value rolled up from minutes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HourValue {
    /// Mean of the valid minutes; `None` unless the hour is valid.
    pub mean: Option<Decimal>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    pub valid_minutes: u32,
    /// Minute records present for the hour.
    pub minutes: u32,
    pub valid: bool,
    /// Minutes per flag (e.g. T minutes kept as evidence of a saturated high
    /// reading, F minutes for the stopped time).
    pub flags: BTreeMap<Flag, u32>,
    /// Sum of the valid records: with `valid_records`, the exact mean.
    #[serde(skip)]
    pub sum: Decimal,
    /// Valid records (each covering the record interval; with 1-minute
    /// records, the same as `valid_minutes`).
    #[serde(skip)]
    pub valid_records: u32,
}

impl HourValue {
    /// The mean as an exact quotient; `None` unless the hour is valid.
    pub fn exact_mean(&self) -> Option<Quotient> {
        self.valid.then(|| Quotient {
            num: self.sum,
            den: Decimal::from(self.valid_records),
        })
    }
}

/// The minute-data intervals HJ 212-2017 allows (`MinInterval`, minutes).
pub const RECORD_INTERVALS: [u32; 11] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];

fn check_interval(interval: u32) -> Result<(), EmissionError> {
    if RECORD_INTERVALS.contains(&interval) {
        Ok(())
    } else {
        Err(EmissionError::BadInterval(interval))
    }
}

/// The interval (minutes) of a file of minute-data records: the shortest gap
/// between consecutive records, which must be one of [`RECORD_INTERVALS`]
/// (a missing record only lengthens some gaps). Fewer than two records: 1.
/// Records must be in strictly increasing time order.
pub fn record_interval(records: &[MinuteRecord]) -> Result<u32, EmissionError> {
    let Some((earlier, later)) = records
        .windows(2)
        .map(|w| (w[0].time, w[1].time))
        .min_by_key(|(a, b)| *b - *a)
    else {
        return Ok(1);
    };
    let seconds = (later - earlier).num_seconds();
    if seconds <= 0 {
        return Err(EmissionError::OutOfOrder { earlier, later });
    }
    if seconds % 60 != 0 {
        return Err(EmissionError::IrregularInterval {
            earlier,
            later,
            seconds,
        });
    }
    let minutes = u32::try_from(seconds / 60).unwrap_or(u32::MAX);
    if !RECORD_INTERVALS.contains(&minutes) {
        return Err(EmissionError::IrregularInterval {
            earlier,
            later,
            seconds,
        });
    }
    Ok(minutes)
}

/// Minute → hour (HJ 76-2017 App. B, HJ 75-2017 有效小时均值): the hour is
/// valid when it has at least `min_minutes_per_hour` valid minutes; its value
/// is the arithmetic mean of the valid minutes. A minute is valid when its
/// flag is valid (see [`Thresholds::flag_valid`]) and it has a value.
pub fn minutes_to_hour(
    minutes: &[MinuteValue],
    th: &Thresholds,
) -> Result<HourValue, EmissionError> {
    records_to_hour(minutes, 1, th)
}

/// [`minutes_to_hour`] of records that are each the mean of `interval`
/// minutes (HJ 212 `MinInterval`, e.g. 10-minute data): a valid record
/// covers `interval` valid minutes, so the hour is valid when the valid
/// records cover at least `min_minutes_per_hour` minutes (five or six valid
/// 10-minute means; four cover only 40). The value is the arithmetic mean
/// of the valid records (equal windows, equal weights). `minutes`,
/// `valid_minutes` and the flag counts are in minutes.
pub fn records_to_hour(
    records: &[MinuteValue],
    interval: u32,
    th: &Thresholds,
) -> Result<HourValue, EmissionError> {
    check_interval(interval)?;
    if records.len() * interval as usize > 60 {
        return Err(EmissionError::TooManyMinutes(
            records.len() * interval as usize,
        ));
    }
    let mut h = HourValue {
        minutes: records.len() as u32 * interval,
        ..HourValue::default()
    };
    let mut sum = Decimal::ZERO;
    for m in records {
        *h.flags.entry(m.flag).or_insert(0) += interval;
        if let (true, Some(v)) = (th.flag_valid(m.flag), m.value) {
            sum += v;
            h.valid_records += 1;
            h.valid_minutes += interval;
            h.min = Some(h.min.map_or(v, |x| x.min(v)));
            h.max = Some(h.max.map_or(v, |x| x.max(v)));
        }
    }
    h.sum = sum;
    h.valid = h.valid_minutes >= th.min_minutes_per_hour && h.valid_records > 0;
    if h.valid {
        h.mean = Some(sum / Decimal::from(h.valid_records));
    }
    Ok(h)
}

/// A rolled-up day or month value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodValue {
    /// Mean of the valid members; `None` unless the period is valid.
    pub mean: Option<Decimal>,
    pub valid_members: u32,
    pub required: u32,
    pub valid: bool,
}

fn roll(values: &[Option<Decimal>], required: u32) -> PeriodValue {
    let valid: Vec<Decimal> = values.iter().flatten().copied().collect();
    let n = valid.len() as u32;
    let ok = n >= required && n > 0;
    PeriodValue {
        mean: ok.then(|| valid.iter().sum::<Decimal>() / Decimal::from(n)),
        valid_members: n,
        required,
        valid: ok,
    }
}

/// Hour → day: valid with at least `min_hours_per_day` valid hours; the mean
/// of the valid hourly values (never of minutes). `None` = invalid hour.
pub fn hours_to_day(hours: &[Option<Decimal>], th: &Thresholds) -> PeriodValue {
    roll(hours, th.min_hours_per_day)
}

/// Day → month: valid with at least `min_days_per_month` valid days
/// (`min_days_february` in February); the mean of the valid daily values.
pub fn days_to_month(days: &[Option<Decimal>], month: u32, th: &Thresholds) -> PeriodValue {
    let required = if month == 2 {
        th.min_days_february
    } else {
        th.min_days_per_month
    };
    roll(days, required)
}

// ---------------------------------------------------------------------------
// Pollutants and limit sets
// ---------------------------------------------------------------------------

/// Regulated stack pollutants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pollutant {
    /// 颗粒物 / 烟尘 (HJ 212 a34013).
    Pm,
    /// 二氧化硫 (a21026).
    So2,
    /// 氮氧化物, as NO₂ (a21002).
    Nox,
    /// 汞及其化合物 (not a CEMS factor; limit data only).
    Hg,
}

impl Pollutant {
    /// The CEMS pollutants, in output order.
    pub const CEMS: [Pollutant; 3] = [Pollutant::Pm, Pollutant::So2, Pollutant::Nox];

    pub fn code(self) -> &'static str {
        match self {
            Self::Pm => "pm",
            Self::So2 => "so2",
            Self::Nox => "nox",
            Self::Hg => "hg",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Pm => "颗粒物",
            Self::So2 => "二氧化硫",
            Self::Nox => "氮氧化物",
            Self::Hg => "汞及其化合物",
        }
    }

    /// HJ 212-2017 factor code where the platform receives it.
    pub fn hj212_code(self) -> Option<&'static str> {
        match self {
            Self::Pm => Some("a34013"),
            Self::So2 => Some("a21026"),
            Self::Nox => Some("a21002"),
            Self::Hg => None,
        }
    }
}

impl fmt::Display for Pollutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Pollutant {
    type Err = EmissionError;
    fn from_str(s: &str) -> Result<Self, EmissionError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "pm" | "dust" | "颗粒物" | "烟尘" | "a34013" => Self::Pm,
            "so2" | "二氧化硫" | "a21026" => Self::So2,
            "nox" | "氮氧化物" | "a21002" => Self::Nox,
            "hg" | "汞" | "汞及其化合物" => Self::Hg,
            _ => return Err(EmissionError::UnknownPollutant(s.to_string())),
        })
    }
}

/// A named set of hourly emission limits (mg/m³, dry flue gas, standard
/// conditions, at the reference O₂).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitSet {
    pub name: String,
    pub title: String,
    /// Standard / document and clause.
    pub source: String,
    /// Reference O₂ (%); `None` = judged on the measured concentration.
    pub reference_o2: Option<Decimal>,
    pub limits: BTreeMap<Pollutant, Decimal>,
    /// First day the limits bind (`None` when the source gives no date).
    pub valid_from: Option<NaiveDate>,
    /// Scope and caveats.
    pub note: String,
}

impl LimitSet {
    /// The same set with another reference O₂ (e.g. a kiln's industry
    /// standard), recorded in the note.
    pub fn with_reference_o2(mut self, o2: Option<Decimal>) -> Self {
        self.note.push_str(&format!(
            " Reference O2 overridden by the caller: {}.",
            o2.map_or("measured".to_string(), |v| format!("{v}%"))
        ));
        self.reference_o2 = o2;
        self
    }
}

fn set(
    name: &str,
    title: &str,
    source: &str,
    reference_o2: Option<Decimal>,
    limits: &[(Pollutant, Decimal)],
    valid_from: Option<(i32, u32, u32)>,
    note: &str,
) -> LimitSet {
    LimitSet {
        name: name.to_string(),
        title: title.to_string(),
        source: source.to_string(),
        reference_o2,
        limits: limits.iter().copied().collect(),
        valid_from: valid_from.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)),
        note: note.to_string(),
    }
}

/// Every built-in limit set, addressable by [`LimitSet::name`].
pub fn builtin_limit_sets() -> Vec<LimitSet> {
    use Pollutant::*;
    let gb = "GB 13271-2014 《锅炉大气污染物排放标准》";
    let existing_note = "Existing boilers: from 2015-10-01 for >10 t/h steam or >7 MW hot-water boilers, \
                         from 2016-07-01 for the others. Biomass-briquette, coal-water-slurry etc. boilers use the coal limits.";
    let mut v = vec![
        set(
            "gb13271-coal-existing",
            "在用燃煤锅炉",
            &format!("{gb} 表1"),
            Some(dec!(9)),
            &[
                (Pm, dec!(80)),
                (So2, dec!(400)),
                (Nox, dec!(400)),
                (Hg, dec!(0.05)),
            ],
            Some((2015, 10, 1)),
            existing_note,
        ),
        set(
            "gb13271-coal-existing-southwest",
            "在用燃煤锅炉（广西、重庆、四川、贵州）",
            &format!("{gb} 表1 注"),
            Some(dec!(9)),
            &[
                (Pm, dec!(80)),
                (So2, dec!(550)),
                (Nox, dec!(400)),
                (Hg, dec!(0.05)),
            ],
            Some((2015, 10, 1)),
            existing_note,
        ),
        set(
            "gb13271-oil-existing",
            "在用燃油锅炉",
            &format!("{gb} 表1"),
            Some(dec!(3.5)),
            &[(Pm, dec!(60)), (So2, dec!(300)), (Nox, dec!(400))],
            Some((2015, 10, 1)),
            existing_note,
        ),
        set(
            "gb13271-gas-existing",
            "在用燃气锅炉",
            &format!("{gb} 表1"),
            Some(dec!(3.5)),
            &[(Pm, dec!(30)), (So2, dec!(100)), (Nox, dec!(400))],
            Some((2015, 10, 1)),
            existing_note,
        ),
    ];
    let new_note = "New boilers: from 2014-07-01.";
    let special_note = "Special limits (大气污染物特别排放限值): area and timing set by the MEE or the provincial government.";
    for (fuel, zh, o2, table, t, pm, so2, nox, hg, from, note) in [
        (
            "coal",
            "燃煤",
            dec!(9),
            "表2",
            "新建",
            dec!(50),
            dec!(300),
            dec!(300),
            true,
            Some((2014, 7, 1)),
            new_note,
        ),
        (
            "oil",
            "燃油",
            dec!(3.5),
            "表2",
            "新建",
            dec!(30),
            dec!(200),
            dec!(250),
            false,
            Some((2014, 7, 1)),
            new_note,
        ),
        (
            "gas",
            "燃气",
            dec!(3.5),
            "表2",
            "新建",
            dec!(20),
            dec!(50),
            dec!(200),
            false,
            Some((2014, 7, 1)),
            new_note,
        ),
        (
            "coal",
            "燃煤",
            dec!(9),
            "表3",
            "特别排放限值",
            dec!(30),
            dec!(200),
            dec!(200),
            true,
            None,
            special_note,
        ),
        (
            "oil",
            "燃油",
            dec!(3.5),
            "表3",
            "特别排放限值",
            dec!(30),
            dec!(100),
            dec!(200),
            false,
            None,
            special_note,
        ),
        (
            "gas",
            "燃气",
            dec!(3.5),
            "表3",
            "特别排放限值",
            dec!(20),
            dec!(50),
            dec!(150),
            false,
            None,
            special_note,
        ),
    ] {
        let kind = if table == "表2" { "new" } else { "special" };
        let mut limits = vec![(Pm, pm), (So2, so2), (Nox, nox)];
        if hg {
            limits.push((Hg, dec!(0.05)));
        }
        v.push(set(
            &format!("gb13271-{fuel}-{kind}"),
            &format!("{zh}锅炉（{t}）"),
            &format!("{gb} {table}"),
            Some(o2),
            &limits,
            from,
            note,
        ));
    }
    let plan = "平原示范区2020年大气污染防治攻坚战实施方案 任务22（强化锅炉污染治理）";
    v.extend([
        set(
            "pingyuan-2020-gas",
            "燃气锅炉及燃气直燃机低氮改造",
            plan,
            Some(dec!(3.5)),
            &[(Pm, dec!(5)), (So2, dec!(10)), (Nox, dec!(30))],
            Some((2020, 10, 1)),
            "Retrofit deadline 2020-09-30 (2020年9月底前).",
        ),
        set(
            "pingyuan-2020-gas-new",
            "新建燃气锅炉",
            plan,
            Some(dec!(3.5)),
            &[(Nox, dec!(30))],
            None,
            "New gas boilers: NOx only (新建燃气锅炉氮氧化物排放浓度不高于30毫克/立方米).",
        ),
        set(
            "pingyuan-2020-oil",
            "燃油（含醇基燃料）锅炉低氮改造",
            plan,
            Some(dec!(3.5)),
            &[(Pm, dec!(10)), (So2, dec!(20)), (Nox, dec!(80))],
            Some((2020, 10, 1)),
            "Retrofit deadline 2020-09-30.",
        ),
        set(
            "pingyuan-2020-coal-35-65",
            "35-65蒸吨/时燃煤锅炉超低排放改造",
            plan,
            Some(dec!(9)),
            &[(Pm, dec!(10)), (So2, dec!(35)), (Nox, dec!(50))],
            Some((2020, 11, 1)),
            "Retrofit deadline 2020-10-31.",
        ),
        set(
            "pingyuan-2020-biomass",
            "生物质锅炉超低排放改造",
            plan,
            Some(dec!(9)),
            &[(Pm, dec!(10)), (So2, dec!(35)), (Nox, dec!(50))],
            Some((2020, 11, 1)),
            "Retrofit deadline 2020-10-31; biomass power plants use pingyuan-2020-biomass-power.",
        ),
        set(
            "pingyuan-2020-biomass-power",
            "生物质电厂超低排放改造",
            plan,
            Some(dec!(6)),
            &[(Pm, dec!(10)), (So2, dec!(35)), (Nox, dec!(50))],
            Some((2020, 11, 1)),
            "Retrofit deadline 2020-10-31; reference O2 6 % (生物质电厂6%).",
        ),
        set(
            "henan-2019-kiln-builtup",
            "建成区工业炉窑（有色、玻璃、耐材、铁合金、陶瓷、砖瓦、刚玉、石灰、铸造、化工）",
            "《河南省2019年工业炉窑治理专项方案》(豫环攻坚办〔2019〕25号)",
            None,
            &[(Pm, dec!(10)), (So2, dec!(35)), (Nox, dec!(50))],
            Some((2021, 1, 1)),
            "The programme names no reference O2: judged on the measured concentration unless the caller \
             sets the kiln's industry reference O2.",
        ),
    ]);
    v
}

/// The built-in limit set called `name` (case-insensitive).
pub fn limit_set(name: &str) -> Option<LimitSet> {
    builtin_limit_sets()
        .into_iter()
        .find(|s| s.name.eq_ignore_ascii_case(name.trim()))
}

/// Exceedance of one hourly converted concentration: strictly above the
/// limit; multiple (C − L)/L rounded half-even to two decimals.
pub fn exceedance(converted: Decimal, limit: Decimal) -> Option<Decimal> {
    exceedance_exact(Quotient::exact(converted), limit)
}

/// [`exceedance`] of an exact quotient C = num/den: C > L is decided as
/// num > L·den, and the multiple is rounded from (num − L·den)/(L·den).
pub fn exceedance_exact(converted: Quotient, limit: Decimal) -> Option<Decimal> {
    let bound = limit * converted.den;
    (limit > Decimal::ZERO && converted.num > bound).then(|| {
        round_multiple(Quotient {
            num: converted.num - bound,
            den: bound,
        })
    })
}

/// 折算 of exact hourly means: C̄ × (21 − O₂,ref)/(21 − Ō₂) as one quotient.
fn to_reference_o2_exact(c: Quotient, o2: Quotient, reference: Decimal) -> Quotient {
    Quotient {
        num: c.num * (dec!(21) - reference) * o2.den,
        den: c.den * (dec!(21) * o2.den - o2.num),
    }
}

// ---------------------------------------------------------------------------
// A whole stack
// ---------------------------------------------------------------------------

/// Basis of the concentrations and O₂ in the minute records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Dry flue gas (the DAS output; the default).
    #[default]
    Dry,
    /// Wet flue gas: converted with the minute's moisture before averaging.
    Wet,
}

/// One minute of a stack's CEMS data. Concentrations mg/m³ at standard
/// conditions, O₂ %, flow m³/h (dry, standard), temperature °C, moisture %.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteRecord {
    /// Start of the minute (local time).
    pub time: NaiveDateTime,
    pub o2: Option<MinuteValue>,
    pub flow: Option<MinuteValue>,
    pub temperature: Option<Decimal>,
    pub moisture: Option<Decimal>,
    pub pollutants: BTreeMap<Pollutant, MinuteValue>,
}

/// Why an hour has no converted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HourStatus {
    /// Converted value computed and judged.
    Valid,
    /// Fewer valid minutes than required for the pollutant.
    InvalidPollutant,
    /// Fewer valid O₂ minutes than required (needed for 折算).
    InvalidO2,
    /// Hourly O₂ at or above the stop cut-off: not burning.
    Stopped,
    /// Converted value computed, but the hour lies before the limit set's
    /// `valid_from`: the limits did not bind yet, so it is not judged.
    NotInForce,
}

/// One pollutant in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollutantHour {
    pub measured: HourValue,
    /// Converted to the limit set's reference O₂ (the measured mean when the
    /// set judges measured values).
    pub converted: Option<Decimal>,
    /// kg/h from the measured mean and the hourly flow.
    pub rate_kg_h: Option<Decimal>,
    /// The limit the hour is judged against; `None` when the set has none
    /// for the pollutant or is not yet in force on the hour's day.
    pub limit: Option<Decimal>,
    pub exceeds: bool,
    pub multiple: Option<Decimal>,
    pub status: HourStatus,
}

/// One clock hour, labelled by its end (13:00 = [12:00, 13:00)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRecord {
    pub hour_end: NaiveDateTime,
    pub o2: HourValue,
    pub flow: HourValue,
    pub temperature: Option<Decimal>,
    pub moisture: Option<Decimal>,
    pub pollutants: BTreeMap<Pollutant, PollutantHour>,
}

/// The hour-end label of the clock hour containing `t`.
pub fn hour_end_of(t: NaiveDateTime) -> NaiveDateTime {
    let start = t.date().and_hms_opt(t.hour(), 0, 0).unwrap_or(t);
    start + Duration::hours(1)
}

fn mean(vals: &[Decimal]) -> Option<Decimal> {
    (!vals.is_empty()).then(|| vals.iter().sum::<Decimal>() / Decimal::from(vals.len()))
}

fn to_dry(
    v: MinuteValue,
    basis: Basis,
    moisture_pct: Option<Decimal>,
) -> Result<MinuteValue, EmissionError> {
    match (basis, v.value) {
        (Basis::Dry, _) | (_, None) => Ok(v),
        (Basis::Wet, Some(x)) => match moisture_pct {
            Some(m) => Ok(MinuteValue {
                value: Some(wet_to_dry(x, m / dec!(100))?),
                flag: v.flag,
            }),
            // No moisture: the dry value is unknown, the minute is missing.
            None => Ok(MinuteValue {
                value: None,
                flag: v.flag,
            }),
        },
    }
}

/// Minute records of one stack → hourly records (HJ 76-2017 App. B).
///
/// Records must be in strictly increasing time order. Per hour and parameter
/// the valid minutes are averaged ([`minutes_to_hour`]); the converted
/// concentration is computed from the **hourly** means:
/// C_ref = C̄ × (21 − O₂,ref)/(21 − Ō₂). It exists only when the pollutant hour
/// and the O₂ hour are valid and Ō₂ is below the stop cut-off (or when the
/// set judges measured concentrations). An hour exceeds when the converted
/// value is above the set's limit; an hour of a day before the set's
/// `valid_from` is not judged ([`HourStatus::NotInForce`], no limit).
pub fn hourly(
    records: &[MinuteRecord],
    limits: &LimitSet,
    th: &Thresholds,
    basis: Basis,
) -> Result<Vec<HourRecord>, EmissionError> {
    hourly_at(records, 1, limits, th, basis)
}

/// [`hourly`] of records that are each the mean of `interval` minutes
/// (see [`records_to_hour`]; [`record_interval`] finds it in a file). Every
/// record must start a window: with 10-minute data, 08:00, 08:10, …
pub fn hourly_at(
    records: &[MinuteRecord],
    interval: u32,
    limits: &LimitSet,
    th: &Thresholds,
    basis: Basis,
) -> Result<Vec<HourRecord>, EmissionError> {
    check_interval(interval)?;
    if interval > 1
        && let Some(r) = records
            .iter()
            .find(|r| r.time.second() != 0 || r.time.minute() % interval != 0)
    {
        return Err(EmissionError::Misaligned {
            time: r.time,
            interval,
        });
    }
    for w in records.windows(2) {
        if w[1].time <= w[0].time {
            return Err(EmissionError::OutOfOrder {
                earlier: w[0].time,
                later: w[1].time,
            });
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < records.len() {
        let end = hour_end_of(records[i].time);
        let mut j = i;
        while j < records.len() && hour_end_of(records[j].time) == end {
            j += 1;
        }
        out.push(one_hour(&records[i..j], end, interval, limits, th, basis)?);
        i = j;
    }
    Ok(out)
}

fn one_hour(
    recs: &[MinuteRecord],
    hour_end: NaiveDateTime,
    interval: u32,
    limits: &LimitSet,
    th: &Thresholds,
    basis: Basis,
) -> Result<HourRecord, EmissionError> {
    let mut o2m = Vec::new();
    let mut flowm = Vec::new();
    let mut temps = Vec::new();
    let mut moist = Vec::new();
    let mut pol: BTreeMap<Pollutant, Vec<MinuteValue>> = BTreeMap::new();
    for r in recs {
        let neg = |what: &str, v: Option<Decimal>| -> Result<(), EmissionError> {
            match v {
                Some(x) if x < Decimal::ZERO => Err(EmissionError::Negative {
                    what: what.to_string(),
                    value: x,
                    time: r.time,
                }),
                _ => Ok(()),
            }
        };
        neg("o2", r.o2.and_then(|v| v.value))?;
        neg("flow", r.flow.and_then(|v| v.value))?;
        neg("moisture", r.moisture)?;
        if let Some(o2) = r.o2 {
            o2m.push(to_dry(o2, basis, r.moisture)?);
        }
        if let Some(f) = r.flow {
            flowm.push(f);
        }
        temps.extend(r.temperature);
        moist.extend(r.moisture);
        for (&p, &v) in &r.pollutants {
            neg(p.code(), v.value)?;
            pol.entry(p)
                .or_default()
                .push(to_dry(v, basis, r.moisture)?);
        }
    }
    let o2 = records_to_hour(&o2m, interval, th)?;
    let flow = records_to_hour(&flowm, interval, th)?;
    let in_force = limits
        .valid_from
        .is_none_or(|from| day_of_hour(hour_end) >= from);
    // Not burning: hourly O2 at/above the cut-off, or at/above 21 % where
    // 折算 is undefined.
    let stopped = match (o2.mean, limits.reference_o2) {
        (Some(v), Some(_)) => v >= dec!(21) || th.o2_stop_cutoff.is_some_and(|cut| v >= cut),
        _ => false,
    };
    let mut pollutants = BTreeMap::new();
    for (p, mins) in pol {
        let measured = records_to_hour(&mins, interval, th)?;
        let limit = limits.limits.get(&p).copied().filter(|_| in_force);
        let (exact, status) = match (measured.exact_mean(), limits.reference_o2) {
            (None, _) => (None, HourStatus::InvalidPollutant),
            (Some(c), None) => (Some(c), HourStatus::Valid),
            (Some(c), Some(reference)) => match o2.exact_mean() {
                None => (None, HourStatus::InvalidO2),
                Some(_) if stopped => (None, HourStatus::Stopped),
                Some(o2v) => {
                    check_o2(reference)?;
                    (
                        Some(to_reference_o2_exact(c, o2v, reference)),
                        HourStatus::Valid,
                    )
                }
            },
        };
        let status = match status {
            HourStatus::Valid if !in_force => HourStatus::NotInForce,
            other => other,
        };
        let converted = exact.map(Quotient::value);
        let multiple = match (exact, limit) {
            (Some(c), Some(l)) => exceedance_exact(c, l),
            _ => None,
        };
        let rate_kg_h = match (measured.mean, flow.mean) {
            (Some(c), Some(q)) => Some(emission_rate_kg_h(c, q)),
            _ => None,
        };
        pollutants.insert(
            p,
            PollutantHour {
                measured,
                converted,
                rate_kg_h,
                limit,
                exceeds: multiple.is_some(),
                multiple,
                status,
            },
        );
    }
    Ok(HourRecord {
        hour_end,
        o2,
        flow,
        temperature: mean(&temps),
        moisture: mean(&moist),
        pollutants,
    })
}

/// A run of consecutive exceeding hours of one pollutant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceedanceEvent {
    pub pollutant: Pollutant,
    /// Start of the first exceeding hour.
    pub start: NaiveDateTime,
    /// End of the last exceeding hour.
    pub end: NaiveDateTime,
    /// Duration in hours.
    pub hours: u32,
    pub limit: Decimal,
    /// Highest converted hourly value.
    pub peak: Decimal,
    /// Mean of the converted hourly values of the event.
    pub mean: Decimal,
    /// Multiple of the peak, (peak − L)/L, two decimals: the largest hourly
    /// multiple, which was rounded from the exact peak.
    pub max_multiple: Decimal,
}

/// Merge consecutive exceeding hours (hour ends one hour apart) into events,
/// per pollutant, ordered by pollutant then start.
pub fn exceedance_events(hours: &[HourRecord]) -> Vec<ExceedanceEvent> {
    let mut events: Vec<ExceedanceEvent> = Vec::new();
    for p in [Pollutant::Pm, Pollutant::So2, Pollutant::Nox, Pollutant::Hg] {
        let mut cur: Option<(ExceedanceEvent, Decimal)> = None;
        for h in hours {
            let hit = h.pollutants.get(&p).filter(|ph| ph.exceeds);
            match (hit, cur.as_mut()) {
                (Some(ph), Some((ev, sum))) if ev.end == h.hour_end - Duration::hours(1) => {
                    let c = ph.converted.unwrap_or_default();
                    ev.end = h.hour_end;
                    ev.hours += 1;
                    ev.peak = ev.peak.max(c);
                    ev.max_multiple = ev.max_multiple.max(ph.multiple.unwrap_or_default());
                    *sum += c;
                }
                (Some(ph), _) => {
                    if let Some(done) = cur.take() {
                        events.push(finish(done));
                    }
                    let c = ph.converted.unwrap_or_default();
                    let l = ph.limit.unwrap_or_default();
                    cur = Some((
                        ExceedanceEvent {
                            pollutant: p,
                            start: h.hour_end - Duration::hours(1),
                            end: h.hour_end,
                            hours: 1,
                            limit: l,
                            peak: c,
                            mean: c,
                            max_multiple: ph.multiple.unwrap_or_default(),
                        },
                        c,
                    ));
                }
                (None, _) => {
                    if let Some(done) = cur.take() {
                        events.push(finish(done));
                    }
                }
            }
        }
        if let Some(done) = cur.take() {
            events.push(finish(done));
        }
    }
    events
}

fn finish((mut ev, sum): (ExceedanceEvent, Decimal)) -> ExceedanceEvent {
    ev.mean = sum / Decimal::from(ev.hours);
    ev
}

/// One pollutant on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollutantDay {
    /// Mean of the valid measured hourly means.
    pub measured: PeriodValue,
    /// Mean of the valid converted hourly values.
    pub converted: PeriodValue,
    /// Σ hourly emission (kg) over hours with a rate (measured-only total);
    /// `None` when no hour has a rate (no flow, or no valid hour).
    pub total_kg: Option<Decimal>,
    pub limit: Option<Decimal>,
    /// The valid daily converted mean is above the limit.
    pub exceeds: bool,
    pub multiple: Option<Decimal>,
    pub exceeding_hours: u32,
}

/// One calendar day (hours ending 01:00 … 24:00).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRecord {
    pub date: NaiveDate,
    pub pollutants: BTreeMap<Pollutant, PollutantDay>,
}

/// The sum of the values present; `None` when none is (an emission total of
/// hours without a rate is unknown, not zero).
pub fn sum_some(values: impl IntoIterator<Item = Option<Decimal>>) -> Option<Decimal> {
    values
        .into_iter()
        .flatten()
        .fold(None, |acc, v| Some(acc.unwrap_or_default() + v))
}

/// The calendar day an hour (labelled by its end) belongs to.
pub fn day_of_hour(hour_end: NaiveDateTime) -> NaiveDate {
    (hour_end - Duration::hours(1)).date()
}

/// Hourly records → days (hour → day rollup with ≥ `min_hours_per_day`).
pub fn daily(hours: &[HourRecord], th: &Thresholds) -> Vec<DayRecord> {
    let mut by_day: BTreeMap<NaiveDate, Vec<&HourRecord>> = BTreeMap::new();
    for h in hours {
        by_day.entry(day_of_hour(h.hour_end)).or_default().push(h);
    }
    by_day
        .into_iter()
        .map(|(date, hs)| {
            let mut ps: BTreeMap<Pollutant, Vec<&PollutantHour>> = BTreeMap::new();
            for h in &hs {
                for (&p, ph) in &h.pollutants {
                    ps.entry(p).or_default().push(ph);
                }
            }
            let pollutants = ps
                .into_iter()
                .map(|(p, phs)| {
                    let measured: Vec<Option<Decimal>> =
                        phs.iter().map(|x| x.measured.mean).collect();
                    let converted: Vec<Option<Decimal>> = phs.iter().map(|x| x.converted).collect();
                    let measured = hours_to_day(&measured, th);
                    let converted = hours_to_day(&converted, th);
                    let limit = phs.iter().find_map(|x| x.limit);
                    let multiple = match (converted.mean, limit) {
                        (Some(c), Some(l)) => exceedance(c, l),
                        _ => None,
                    };
                    let day = PollutantDay {
                        measured,
                        converted,
                        total_kg: sum_some(phs.iter().map(|x| x.rate_kg_h)),
                        limit,
                        exceeds: multiple.is_some(),
                        multiple,
                        exceeding_hours: phs.iter().filter(|x| x.exceeds).count() as u32,
                    };
                    (p, day)
                })
                .collect();
            DayRecord { date, pollutants }
        })
        .collect()
}

/// One pollutant in one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollutantMonth {
    pub measured: PeriodValue,
    pub converted: PeriodValue,
    /// Σ daily totals, tonnes; `None` when no day has a total.
    pub total_t: Option<Decimal>,
    pub exceeding_hours: u32,
}

/// One calendar month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthRecord {
    pub year: i32,
    pub month: u32,
    pub pollutants: BTreeMap<Pollutant, PollutantMonth>,
}

/// Days → months (day → month rollup with ≥ 25 valid days, February ≥ 23).
pub fn monthly(days: &[DayRecord], th: &Thresholds) -> Vec<MonthRecord> {
    let mut by_month: BTreeMap<(i32, u32), Vec<&DayRecord>> = BTreeMap::new();
    for d in days {
        by_month
            .entry((d.date.year(), d.date.month()))
            .or_default()
            .push(d);
    }
    by_month
        .into_iter()
        .map(|((year, month), ds)| {
            let mut ps: BTreeMap<Pollutant, Vec<&PollutantDay>> = BTreeMap::new();
            for d in &ds {
                for (&p, pd) in &d.pollutants {
                    ps.entry(p).or_default().push(pd);
                }
            }
            let pollutants = ps
                .into_iter()
                .map(|(p, pds)| {
                    let m: Vec<Option<Decimal>> = pds.iter().map(|x| x.measured.mean).collect();
                    let c: Vec<Option<Decimal>> = pds.iter().map(|x| x.converted.mean).collect();
                    let kg = sum_some(pds.iter().map(|x| x.total_kg));
                    (
                        p,
                        PollutantMonth {
                            measured: days_to_month(&m, month, th),
                            converted: days_to_month(&c, month, th),
                            total_t: kg.map(|kg| kg / dec!(1000)),
                            exceeding_hours: pds.iter().map(|x| x.exceeding_hours).sum(),
                        },
                    )
                })
                .collect();
            MonthRecord {
                year,
                month,
                pollutants,
            }
        })
        .collect()
}
