//! Air Quality Index — HJ 633-2012 and HJ 633-2026.
//!
//! * [`iaqi`]: the individual index of one indicator (式1, ceiling).
//! * [`hourly`]: the real-time (hourly) report from the six 1-h values, PM
//!   scored on the daily table (HJ 633-2026 §5.2; CNEMC practice before).
//! * [`daily`]: the daily report (2012: seven indicators including the O₃
//!   daily maximum 1-h value; 2026: six).
//!
//! All arithmetic is exact: concentrations are decimals, the interpolation is
//! done on integers and rounded up exactly. Under HJ 633-2026 concentrations
//! are first rounded half-even (GB/T 8170) to integers (CO to one decimal),
//! §4.2.2–4.2.3; HJ 633-2012 has no such clause and uses the value as given.

use std::fmt;

use rust_decimal::Decimal;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};

use crate::rules::AqiRules;

/// One column of the IAQI table (pollutant × averaging period).
#[allow(non_camel_case_types)] // `So2_24h` reads better than `So224h`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Indicator {
    /// SO₂ 24-h / daily mean, µg/m³.
    So2_24h,
    /// SO₂ 1-h mean, µg/m³ (real-time report only).
    So2_1h,
    /// NO₂ 24-h / daily mean, µg/m³.
    No2_24h,
    /// NO₂ 1-h mean, µg/m³ (real-time report only).
    No2_1h,
    /// CO 24-h / daily mean, mg/m³.
    Co_24h,
    /// CO 1-h mean, mg/m³ (real-time report only).
    Co_1h,
    /// O₃ 1-h value, µg/m³ (hourly report; 2012 daily report: daily max 1-h).
    O3_1h,
    /// O₃ 8-h moving average, µg/m³ (daily report: daily max 8-h).
    O3_8h,
    /// PM10 24-h / daily table, µg/m³ (the hourly report scores 1-h values on it).
    Pm10_24h,
    /// PM2.5 24-h / daily table, µg/m³ (the hourly report scores 1-h values on it).
    Pm25_24h,
}

impl Indicator {
    /// All indicators, in table order.
    pub const ALL: [Indicator; 10] = [
        Indicator::So2_24h,
        Indicator::So2_1h,
        Indicator::No2_24h,
        Indicator::No2_1h,
        Indicator::Co_24h,
        Indicator::Co_1h,
        Indicator::O3_1h,
        Indicator::O3_8h,
        Indicator::Pm10_24h,
        Indicator::Pm25_24h,
    ];

    fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// Code as used in the validation cases, e.g. `"PM25_24H"`.
    pub fn case_code(self) -> &'static str {
        match self {
            Indicator::So2_24h => "SO2_24H",
            Indicator::So2_1h => "SO2_1H",
            Indicator::No2_24h => "NO2_24H",
            Indicator::No2_1h => "NO2_1H",
            Indicator::Co_24h => "CO_24H",
            Indicator::Co_1h => "CO_1H",
            Indicator::O3_1h => "O3_1H",
            Indicator::O3_8h => "O3_8H",
            Indicator::Pm10_24h => "PM10_24H",
            Indicator::Pm25_24h => "PM25_24H",
        }
    }

    /// Short name used in published lists: `SO2`, `NO2`, `CO`, `O3_1h`,
    /// `O3_8h`, `PM10`, `PM2.5`.
    pub fn name(self) -> &'static str {
        match self {
            Indicator::So2_24h | Indicator::So2_1h => "SO2",
            Indicator::No2_24h | Indicator::No2_1h => "NO2",
            Indicator::Co_24h | Indicator::Co_1h => "CO",
            Indicator::O3_1h => "O3_1h",
            Indicator::O3_8h => "O3_8h",
            Indicator::Pm10_24h => "PM10",
            Indicator::Pm25_24h => "PM2.5",
        }
    }

    /// The name used on the national publishing platform.
    pub fn name_cn(self) -> &'static str {
        match self {
            Indicator::So2_24h | Indicator::So2_1h => "二氧化硫",
            Indicator::No2_24h | Indicator::No2_1h => "二氧化氮",
            Indicator::Co_24h | Indicator::Co_1h => "一氧化碳",
            Indicator::O3_1h => "臭氧1小时",
            Indicator::O3_8h => "臭氧8小时",
            Indicator::Pm10_24h => "颗粒物(PM10)",
            Indicator::Pm25_24h => "细颗粒物(PM2.5)",
        }
    }

    /// Decimal places a concentration is rounded to before the IAQI under
    /// HJ 633-2026 §4.2.2 (CO one decimal in mg/m³, the rest integers).
    pub fn digits(self) -> u32 {
        match self {
            Indicator::Co_24h | Indicator::Co_1h => 1,
            _ => 0,
        }
    }

    /// The breakpoint table: (concentration, IAQI) pairs, ascending.
    fn table(self, rules: AqiRules) -> &'static [(u32, u16)] {
        match (self, rules) {
            (Indicator::So2_24h, _) => &SO2_24H,
            (Indicator::So2_1h, _) => &SO2_1H,
            (Indicator::No2_24h, _) => &NO2_24H,
            (Indicator::No2_1h, _) => &NO2_1H,
            (Indicator::Co_24h, _) => &CO_24H,
            (Indicator::Co_1h, _) => &CO_1H,
            (Indicator::O3_1h, _) => &O3_1H,
            (Indicator::O3_8h, _) => &O3_8H,
            (Indicator::Pm10_24h, AqiRules::Hj633_2012) => &PM10_2012,
            (Indicator::Pm10_24h, AqiRules::Hj633_2026) => &PM10_2026,
            (Indicator::Pm25_24h, AqiRules::Hj633_2012) => &PM25_2012,
            (Indicator::Pm25_24h, AqiRules::Hj633_2026) => &PM25_2026,
        }
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// HJ 633-2012 Table 1 and HJ 633-2026 Table 3 (identical except PM).
// µg/m³; CO mg/m³.
const SO2_24H: [(u32, u16); 8] = [
    (0, 0),
    (50, 50),
    (150, 100),
    (475, 150),
    (800, 200),
    (1600, 300),
    (2100, 400),
    (2620, 500),
];
const SO2_1H: [(u32, u16); 5] = [(0, 0), (150, 50), (500, 100), (650, 150), (800, 200)];
const NO2_24H: [(u32, u16); 8] = [
    (0, 0),
    (40, 50),
    (80, 100),
    (180, 150),
    (280, 200),
    (565, 300),
    (750, 400),
    (940, 500),
];
const NO2_1H: [(u32, u16); 8] = [
    (0, 0),
    (100, 50),
    (200, 100),
    (700, 150),
    (1200, 200),
    (2340, 300),
    (3090, 400),
    (3840, 500),
];
const CO_24H: [(u32, u16); 8] = [
    (0, 0),
    (2, 50),
    (4, 100),
    (14, 150),
    (24, 200),
    (36, 300),
    (48, 400),
    (60, 500),
];
const CO_1H: [(u32, u16); 8] = [
    (0, 0),
    (5, 50),
    (10, 100),
    (35, 150),
    (60, 200),
    (90, 300),
    (120, 400),
    (150, 500),
];
const O3_1H: [(u32, u16); 8] = [
    (0, 0),
    (160, 50),
    (200, 100),
    (300, 150),
    (400, 200),
    (800, 300),
    (1000, 400),
    (1200, 500),
];
const O3_8H: [(u32, u16); 6] = [
    (0, 0),
    (100, 50),
    (160, 100),
    (215, 150),
    (265, 200),
    (800, 300),
];
const PM10_2012: [(u32, u16); 8] = [
    (0, 0),
    (50, 50),
    (150, 100),
    (250, 150),
    (350, 200),
    (420, 300),
    (500, 400),
    (600, 500),
];
const PM10_2026: [(u32, u16); 8] = [
    (0, 0),
    (50, 50),
    (120, 100),
    (250, 150),
    (350, 200),
    (420, 300),
    (500, 400),
    (600, 500),
];
const PM25_2012: [(u32, u16); 8] = [
    (0, 0),
    (35, 50),
    (75, 100),
    (115, 150),
    (150, 200),
    (250, 300),
    (350, 400),
    (500, 500),
];
const PM25_2026: [(u32, u16); 8] = [
    (0, 0),
    (35, 50),
    (60, 100),
    (115, 150),
    (150, 200),
    (250, 300),
    (350, 400),
    (500, 500),
];

/// Why an IAQI is not the plain table interpolation.
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum IaqiNote {
    /// Concentration above the top breakpoint: IAQI 500 (the standard does
    /// not define it; 超出上限).
    AboveScale,
    /// HJ 633-2026 Table 3 note b: SO₂ 1-h > 800 µg/m³ → IAQI 200.
    So2Over800Fixed,
    /// HJ 633-2026 Table 3 note c: O₃ 8-h > 800 µg/m³ → IAQI 300.
    O3Over800Fixed,
    /// HJ 633-2012 Table 1 note 2: SO₂ 1-h > 800 µg/m³ → the SO₂ IAQI is
    /// reported from the 24-h mean.
    FromSo2_24h,
    /// HJ 633-2012 Table 1 note 3: O₃ 8-h > 800 µg/m³ → the O₃ IAQI is
    /// reported from the 1-h value.
    FromO3_1h,
}

/// An individual AQI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iaqi {
    /// The index, an integer 0–500 (rounded up).
    pub value: u16,
    /// Set when a special rule produced the value.
    pub note: Option<IaqiNote>,
}

/// Result of scoring one concentration on its own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IaqiOutcome {
    /// An index.
    Index(Iaqi),
    /// HJ 633-2012: no IAQI from this value; the report takes the index of
    /// the named indicator instead (SO₂ 1-h > 800 → SO₂ 24-h; O₃ 8-h > 800 →
    /// O₃ 1-h).
    UseOther(Indicator),
}

/// Errors of AQI computation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AqiError {
    /// A concentration below zero.
    #[error("{indicator}: concentration {value} is negative (浓度不能为负)")]
    Negative {
        /// The indicator.
        indicator: Indicator,
        /// The value given.
        value: Decimal,
    },
}

/// Round a concentration half-even (GB/T 8170) to the indicator's digits.
pub fn round_concentration(indicator: Indicator, c: Decimal) -> Decimal {
    let dp = indicator.digits();
    if c.scale() <= dp {
        c
    } else {
        c.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointNearestEven)
    }
}

/// The concentration that enters the IAQI formula under `rules`
/// (rounded under HJ 633-2026, as given under HJ 633-2012).
pub fn scored_concentration(rules: AqiRules, indicator: Indicator, c: Decimal) -> Decimal {
    match rules {
        AqiRules::Hj633_2012 => c,
        AqiRules::Hj633_2026 => round_concentration(indicator, c),
    }
}

/// The IAQI of one indicator (HJ 633 式1, rounded up).
///
/// ```
/// use gongjian_standards::aqi::{iaqi, Indicator, IaqiOutcome};
/// use gongjian_standards::rules::AqiRules;
/// use rust_decimal_macros::dec;
/// // CO 24-h 2.2 mg/m³ is exactly 55 (a binary float gives 55.000000000000004 → 56).
/// let IaqiOutcome::Index(i) = iaqi(AqiRules::Hj633_2012, Indicator::Co_24h, dec!(2.2)).unwrap()
///     else { panic!() };
/// assert_eq!(i.value, 55);
/// ```
pub fn iaqi(rules: AqiRules, indicator: Indicator, c: Decimal) -> Result<IaqiOutcome, AqiError> {
    if c.is_sign_negative() && !c.is_zero() {
        return Err(AqiError::Negative {
            indicator,
            value: c,
        });
    }
    let c = scored_concentration(rules, indicator, c);
    let table = indicator.table(rules);
    let (top_bp, _) = table[table.len() - 1];
    let m = c.mantissa();
    let s = c.scale();
    // Exact comparison with the top breakpoint: m / 10^s > top.
    let Some(pow) = pow10(s) else {
        // Scale beyond i128 range cannot occur for rust_decimal (≤ 28).
        return Ok(IaqiOutcome::Index(Iaqi {
            value: 500,
            note: Some(IaqiNote::AboveScale),
        }));
    };
    if m > i128::from(top_bp) * pow {
        return Ok(match (indicator, rules) {
            (Indicator::So2_1h, AqiRules::Hj633_2012) => IaqiOutcome::UseOther(Indicator::So2_24h),
            (Indicator::O3_8h, AqiRules::Hj633_2012) => IaqiOutcome::UseOther(Indicator::O3_1h),
            (Indicator::So2_1h, AqiRules::Hj633_2026) => IaqiOutcome::Index(Iaqi {
                value: 200,
                note: Some(IaqiNote::So2Over800Fixed),
            }),
            (Indicator::O3_8h, AqiRules::Hj633_2026) => IaqiOutcome::Index(Iaqi {
                value: 300,
                note: Some(IaqiNote::O3Over800Fixed),
            }),
            _ => IaqiOutcome::Index(Iaqi {
                value: 500,
                note: Some(IaqiNote::AboveScale),
            }),
        });
    }
    Ok(IaqiOutcome::Index(Iaqi {
        value: interpolate(table, m, s, pow),
        note: None,
    }))
}

fn pow10(s: u32) -> Option<i128> {
    10i128.checked_pow(s)
}

/// Ceiling of the piecewise-linear interpolation for C = m / 10^s with
/// 0 ≤ C ≤ top breakpoint. Exact integer arithmetic.
#[inline]
fn interpolate(table: &[(u32, u16)], m: i128, s: u32, pow: i128) -> u16 {
    // Fast path in u64 for ordinary concentrations (scale ≤ 9, < 10^15).
    if s <= 9 && (0..1_000_000_000_000_000).contains(&m) {
        let m = m as u64;
        let pow = pow as u64;
        for w in table.windows(2) {
            let (bl, il) = (u64::from(w[0].0), u64::from(w[0].1));
            let (bh, ih) = (u64::from(w[1].0), u64::from(w[1].1));
            if m <= bh * pow {
                let num = (ih - il) * (m - bl * pow);
                let den = (bh - bl) * pow;
                return (il + num.div_ceil(den)) as u16;
            }
        }
    } else {
        for w in table.windows(2) {
            let (bl, il) = (i128::from(w[0].0), i128::from(w[0].1));
            let (bh, ih) = (i128::from(w[1].0), i128::from(w[1].1));
            if m <= bh * pow {
                let num = (ih - il) * (m - bl * pow);
                let den = (bh - bl) * pow;
                let q = num / den + i128::from(num % den != 0);
                return (il + q) as u16;
            }
        }
    }
    0
}

/// AQI level (级别) with its category and colour (HJ 633-2012 Table 2,
/// HJ 633-2026 Table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// 一级 优, 0–50.
    Excellent = 1,
    /// 二级 良, 51–100.
    Good = 2,
    /// 三级 轻度污染, 101–150.
    LightlyPolluted = 3,
    /// 四级 中度污染, 151–200.
    ModeratelyPolluted = 4,
    /// 五级 重度污染, 201–300.
    HeavilyPolluted = 5,
    /// 六级 严重污染, > 300.
    SeverelyPolluted = 6,
}

impl Level {
    /// The level of an AQI value.
    pub fn of(aqi: u16) -> Level {
        match aqi {
            0..=50 => Level::Excellent,
            51..=100 => Level::Good,
            101..=150 => Level::LightlyPolluted,
            151..=200 => Level::ModeratelyPolluted,
            201..=300 => Level::HeavilyPolluted,
            _ => Level::SeverelyPolluted,
        }
    }
    /// Level number 1–6.
    pub fn number(self) -> u8 {
        self as u8
    }
    /// 级别, e.g. `二级`.
    pub fn name_cn(self) -> &'static str {
        ["一级", "二级", "三级", "四级", "五级", "六级"][self as usize - 1]
    }
    /// 类别, e.g. `良`.
    pub fn category(self) -> &'static str {
        ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"][self as usize - 1]
    }
    /// Colour as hex RGB, e.g. `#FFFF00`.
    pub fn color(self) -> &'static str {
        [
            "#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023",
        ][self as usize - 1]
    }
    /// Colour name, e.g. `黄色`.
    pub fn color_name(self) -> &'static str {
        ["绿色", "黄色", "橙色", "红色", "紫色", "褐红色"][self as usize - 1]
    }
}

/// A small set of indicators (no allocation); serialises as a list of names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct IndicatorSet(u16);

impl IndicatorSet {
    /// The empty set.
    pub const EMPTY: IndicatorSet = IndicatorSet(0);
    /// Add an indicator.
    pub fn insert(&mut self, i: Indicator) {
        self.0 |= i.bit();
    }
    /// Membership.
    pub fn contains(self, i: Indicator) -> bool {
        self.0 & i.bit() != 0
    }
    /// True when empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Number of members.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// Members in table order.
    pub fn iter(self) -> impl Iterator<Item = Indicator> {
        Indicator::ALL
            .into_iter()
            .filter(move |i| self.contains(*i))
    }
}

impl Serialize for IndicatorSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for i in self.iter() {
            seq.serialize_element(i.name())?;
        }
        seq.end()
    }
}

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// Real-time (hourly) report.
    Hourly,
    /// Daily report.
    Daily,
}

/// Inputs of the real-time report: 1-h means (µg/m³, CO mg/m³).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourlyInput {
    /// SO₂ 1-h.
    pub so2: Option<Decimal>,
    /// NO₂ 1-h.
    pub no2: Option<Decimal>,
    /// CO 1-h.
    pub co: Option<Decimal>,
    /// O₃ 1-h.
    pub o3: Option<Decimal>,
    /// PM10 1-h (scored on the daily table).
    pub pm10: Option<Decimal>,
    /// PM2.5 1-h (scored on the daily table).
    pub pm25: Option<Decimal>,
    /// SO₂ 24-h mean; used only for the HJ 633-2012 rule "SO₂ 1-h > 800 →
    /// report the SO₂ IAQI from the 24-h mean". Not an indicator itself.
    pub so2_24h: Option<Decimal>,
}

/// Inputs of the daily report (µg/m³, CO mg/m³).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyInput {
    /// SO₂ daily mean.
    pub so2: Option<Decimal>,
    /// NO₂ daily mean.
    pub no2: Option<Decimal>,
    /// CO daily mean.
    pub co: Option<Decimal>,
    /// PM10 daily mean.
    pub pm10: Option<Decimal>,
    /// PM2.5 daily mean.
    pub pm25: Option<Decimal>,
    /// O₃ daily maximum 8-h moving average.
    pub o3_8h: Option<Decimal>,
    /// O₃ daily maximum 1-h value (an indicator under HJ 633-2012 only).
    pub o3_1h_max: Option<Decimal>,
}

/// One indicator of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The indicator (table column).
    pub indicator: Indicator,
    /// The concentration as scored (after HJ 633-2026 rounding), if present.
    pub concentration: Option<Decimal>,
    /// The IAQI, if it could be computed.
    pub iaqi: Option<Iaqi>,
}

/// An AQI report (real-time or daily).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AqiReport {
    /// The rule set that produced it.
    pub rules: AqiRules,
    /// Real-time or daily.
    pub kind: ReportKind,
    /// The indicators of the report, in report order (absent ones with
    /// `iaqi: None`).
    #[serde(serialize_with = "ser_entries")]
    entries: [Option<Entry>; 7],
    /// Max of the available IAQIs (computed even when not published).
    pub aqi: Option<u16>,
    /// Whether the AQI, level and primary pollutant are published. All
    /// indicators present → yes; some missing → only when AQI > 100
    /// (HJ 633-2026 §5.3.1; applied to 2012 data as well, see docs).
    pub published: bool,
    /// Indicators without an IAQI.
    pub missing: IndicatorSet,
    /// Primary pollutant(s): the indicators whose integer IAQI equals the
    /// AQI, when AQI > 50.
    pub primary: IndicatorSet,
    /// HJ 633-2012 超标污染物 (IAQI > 100); always empty under 2026, where the
    /// definition was deleted.
    pub exceedance: IndicatorSet,
}

fn ser_entries<S: Serializer>(entries: &[Option<Entry>; 7], s: S) -> Result<S::Ok, S::Error> {
    let n = entries.iter().flatten().count();
    let mut map = s.serialize_map(Some(n))?;
    for e in entries.iter().flatten() {
        map.serialize_entry(e.indicator.case_code(), e)?;
    }
    map.end()
}

impl AqiReport {
    /// The report's indicators in order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().flatten()
    }

    /// The entry of one indicator, if it belongs to this report.
    pub fn entry(&self, indicator: Indicator) -> Option<&Entry> {
        self.entries().find(|e| e.indicator == indicator)
    }

    /// The IAQI value of one indicator, if computed.
    pub fn iaqi(&self, indicator: Indicator) -> Option<u16> {
        self.entry(indicator).and_then(|e| e.iaqi).map(|i| i.value)
    }

    /// The published AQI (`None` = `NA`).
    pub fn published_aqi(&self) -> Option<u16> {
        self.aqi.filter(|_| self.published)
    }

    /// Level of the AQI (computed, whether published or not).
    pub fn level(&self) -> Option<Level> {
        self.aqi.map(Level::of)
    }

    /// True when every indicator has an IAQI.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// Whether this AQI is above 100 (a polluted hour/day), when that can be
    /// determined: true if the available IAQIs already exceed 100; false only
    /// when complete and ≤ 100.
    pub fn is_polluted(&self) -> Option<bool> {
        match self.aqi {
            Some(a) if a > 100 => Some(true),
            Some(_) if self.is_complete() => Some(false),
            _ => None,
        }
    }
}

fn score(rules: AqiRules, indicator: Indicator, c: Option<Decimal>) -> Result<Entry, AqiError> {
    let Some(c) = c else {
        return Ok(Entry {
            indicator,
            concentration: None,
            iaqi: None,
        });
    };
    let iaqi = match iaqi(rules, indicator, c)? {
        IaqiOutcome::Index(i) => Some(i),
        IaqiOutcome::UseOther(_) => None, // resolved by the caller
    };
    Ok(Entry {
        indicator,
        concentration: Some(scored_concentration(rules, indicator, c)),
        iaqi,
    })
}

/// Resolve the 2012 "use the other averaging period" rule for `entry`.
fn fallback(
    rules: AqiRules,
    entry: &mut Entry,
    other: Indicator,
    other_c: Option<Decimal>,
    note: IaqiNote,
) -> Result<(), AqiError> {
    if entry.iaqi.is_some() || entry.concentration.is_none() {
        return Ok(());
    }
    if let Some(c) = other_c
        && let IaqiOutcome::Index(i) = iaqi(rules, other, c)?
    {
        entry.iaqi = Some(Iaqi {
            value: i.value,
            note: Some(note),
        });
    }
    Ok(())
}

fn assemble(rules: AqiRules, kind: ReportKind, entries: [Option<Entry>; 7]) -> AqiReport {
    let mut aqi: Option<u16> = None;
    let mut missing = IndicatorSet::EMPTY;
    for e in entries.iter().flatten() {
        match e.iaqi {
            Some(i) => aqi = Some(aqi.map_or(i.value, |a| a.max(i.value))),
            None => missing.insert(e.indicator),
        }
    }
    let mut primary = IndicatorSet::EMPTY;
    let mut exceedance = IndicatorSet::EMPTY;
    if let Some(a) = aqi {
        for e in entries.iter().flatten() {
            let Some(i) = e.iaqi else { continue };
            if a > 50 && i.value == a {
                primary.insert(e.indicator);
            }
            if rules == AqiRules::Hj633_2012 && i.value > 100 {
                exceedance.insert(e.indicator);
            }
        }
    }
    let published = match aqi {
        None => false,
        Some(a) => missing.is_empty() || a > 100,
    };
    AqiReport {
        rules,
        kind,
        entries,
        aqi,
        published,
        missing,
        primary,
        exceedance,
    }
}

/// The real-time (hourly) report: SO₂, NO₂, CO, O₃ 1-h on the 1-h tables;
/// PM10, PM2.5 1-h values on the daily table.
pub fn hourly(rules: AqiRules, input: &HourlyInput) -> Result<AqiReport, AqiError> {
    let mut so2 = score(rules, Indicator::So2_1h, input.so2)?;
    if rules == AqiRules::Hj633_2012 {
        fallback(
            rules,
            &mut so2,
            Indicator::So2_24h,
            input.so2_24h,
            IaqiNote::FromSo2_24h,
        )?;
    }
    let entries = [
        Some(so2),
        Some(score(rules, Indicator::No2_1h, input.no2)?),
        Some(score(rules, Indicator::Co_1h, input.co)?),
        Some(score(rules, Indicator::O3_1h, input.o3)?),
        Some(score(rules, Indicator::Pm10_24h, input.pm10)?),
        Some(score(rules, Indicator::Pm25_24h, input.pm25)?),
        None,
    ];
    Ok(assemble(rules, ReportKind::Hourly, entries))
}

/// The daily report. HJ 633-2012: SO₂, NO₂, CO, PM10, PM2.5 24-h means, O₃
/// daily max 1-h and daily max 8-h (seven indicators). HJ 633-2026: the same
/// without the O₃ 1-h (six); `o3_1h_max` is then ignored.
pub fn daily(rules: AqiRules, input: &DailyInput) -> Result<AqiReport, AqiError> {
    let mut o3_8h = score(rules, Indicator::O3_8h, input.o3_8h)?;
    let o3_1h = match rules {
        AqiRules::Hj633_2012 => {
            fallback(
                rules,
                &mut o3_8h,
                Indicator::O3_1h,
                input.o3_1h_max,
                IaqiNote::FromO3_1h,
            )?;
            Some(score(rules, Indicator::O3_1h, input.o3_1h_max)?)
        }
        AqiRules::Hj633_2026 => None,
    };
    let entries = [
        Some(score(rules, Indicator::So2_24h, input.so2)?),
        Some(score(rules, Indicator::No2_24h, input.no2)?),
        Some(score(rules, Indicator::Co_24h, input.co)?),
        Some(score(rules, Indicator::Pm10_24h, input.pm10)?),
        Some(score(rules, Indicator::Pm25_24h, input.pm25)?),
        o3_1h,
        Some(o3_8h),
    ];
    Ok(assemble(rules, ReportKind::Daily, entries))
}
