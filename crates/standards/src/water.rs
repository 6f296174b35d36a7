//! Surface water: GB 3838-2002 Table 1 and the single-factor evaluation of
//! 《地表水环境质量评价办法（试行）》(环办〔2011〕22号).
//!
//! The data types are plain serde data so the platform can hand over section
//! data read from its database and store the results as they are:
//!
//! * [`classify`] — the class of one item value (Table 1, boundaries inclusive);
//! * [`assess`] — a sample (or a set of period means): per-item classes, the
//!   section class from the 21 evaluation items, the qualitative description,
//!   the main pollutants and the compliance with a target class;
//! * [`SectionData`] with [`evaluate_month`], [`evaluate_months`] and
//!   [`evaluate_year_to_date`] — period means and their assessment.
//!
//! Comparisons are exact (rust_decimal); nothing is rounded before it is
//! compared with a limit (GB/T 8170-2008 §4.3: with no method named by the
//! standard, the whole value is compared). Only exceedance multiples are
//! rounded for publication (two decimals, half-even).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use rust_decimal::{Decimal, RoundingStrategy};
use rust_decimal_macros::dec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The rule set every water result names.
pub const RULES: &str = "GB 3838-2002（2002-06-01 起实施）；环办〔2011〕22号（2011-03-09）";

/// Decimal places of a published exceedance multiple.
pub const MULTIPLE_DP: u32 = 2;

// ---------------------------------------------------------------------------
// Classes
// ---------------------------------------------------------------------------

/// Water-quality class. Ordered from best (Ⅰ) to worst (劣Ⅴ).
///
/// Serialized as `"Ⅰ"`…`"Ⅴ"`, `"劣Ⅴ"`; parsed from those, from ASCII Roman
/// numerals (`III`, `worse-than-V`), digits (`3`, `6` = 劣Ⅴ) and with a
/// trailing `类` (`Ⅲ类`, `V类`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WaterClass {
    I,
    II,
    III,
    IV,
    V,
    /// 劣Ⅴ: worse than class Ⅴ.
    WorseThanV,
}

impl WaterClass {
    /// The five classes that have limits, best first.
    pub const LIMITED: [WaterClass; 5] = [Self::I, Self::II, Self::III, Self::IV, Self::V];
    /// All six results, best first.
    pub const ALL: [WaterClass; 6] = [
        Self::I,
        Self::II,
        Self::III,
        Self::IV,
        Self::V,
        Self::WorseThanV,
    ];

    /// Index into a Table 1 row (0 = Ⅰ … 4 = Ⅴ); `None` for 劣Ⅴ.
    pub fn limit_index(self) -> Option<usize> {
        match self {
            Self::I => Some(0),
            Self::II => Some(1),
            Self::III => Some(2),
            Self::IV => Some(3),
            Self::V => Some(4),
            Self::WorseThanV => None,
        }
    }

    /// 1…6 (6 = 劣Ⅴ).
    pub fn number(self) -> u8 {
        self.limit_index().map_or(6, |i| i as u8 + 1)
    }

    /// The Chinese label: `Ⅰ`…`Ⅴ`, `劣Ⅴ`.
    pub fn label(self) -> &'static str {
        match self {
            Self::I => "Ⅰ",
            Self::II => "Ⅱ",
            Self::III => "Ⅲ",
            Self::IV => "Ⅳ",
            Self::V => "Ⅴ",
            Self::WorseThanV => "劣Ⅴ",
        }
    }

    /// Qualitative description of a section of this class (22号; shared spec water.md §3.3 table).
    pub fn status(self) -> Status {
        match self {
            Self::I | Self::II => Status::Excellent,
            Self::III => Status::Good,
            Self::IV => Status::Light,
            Self::V => Status::Moderate,
            Self::WorseThanV => Status::Heavy,
        }
    }
}

impl fmt::Display for WaterClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A water class could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a water class: {0:?} (expected Ⅰ…Ⅴ, 劣Ⅴ, I…V or 1…6)")]
pub struct ParseClassError(pub String);

impl FromStr for WaterClass {
    type Err = ParseClassError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_suffix('类').unwrap_or(t).trim();
        let t = t.strip_prefix("Class").unwrap_or(t).trim();
        let upper = t.to_ascii_uppercase();
        let class = match upper.as_str() {
            "Ⅰ" | "I" | "1" => Self::I,
            "Ⅱ" | "II" | "2" => Self::II,
            "Ⅲ" | "III" | "3" => Self::III,
            "Ⅳ" | "IV" | "4" => Self::IV,
            "Ⅴ" | "V" | "5" => Self::V,
            "劣Ⅴ" | "劣V" | "6" | "WORSE-THAN-V" | ">V" => Self::WorseThanV,
            _ => return Err(ParseClassError(s.to_string())),
        };
        Ok(class)
    }
}

impl Serialize for WaterClass {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for WaterClass {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// 水质状况 — the qualitative description of a section class, with its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 优 (Ⅰ–Ⅱ), blue.
    Excellent,
    /// 良好 (Ⅲ), green.
    Good,
    /// 轻度污染 (Ⅳ), yellow.
    Light,
    /// 中度污染 (Ⅴ), orange.
    Moderate,
    /// 重度污染 (劣Ⅴ), red.
    Heavy,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Self::Excellent => "优",
            Self::Good => "良好",
            Self::Light => "轻度污染",
            Self::Moderate => "中度污染",
            Self::Heavy => "重度污染",
        }
    }

    /// Colour name used in national reports (蓝/绿/黄/橙/红).
    pub fn colour(self) -> &'static str {
        match self {
            Self::Excellent => "blue",
            Self::Good => "green",
            Self::Light => "yellow",
            Self::Moderate => "orange",
            Self::Heavy => "red",
        }
    }
}

// ---------------------------------------------------------------------------
// Items and Table 1
// ---------------------------------------------------------------------------

/// Rivers or lakes/reservoirs: they differ in the TP column (and TN is only
/// a reference item for lakes/reservoirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaterBody {
    #[default]
    River,
    LakeReservoir,
}

/// The 24 basic items of GB 3838-2002 Table 1, in table order.
///
/// Serialized by their short code (`ph`, `do`, `codmn`, …), which is also the
/// CSV column name of `gongjian evaluate water`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Item {
    /// 1 水温 (°C) — man-made change limit only.
    Temp,
    /// 2 pH (dimensionless).
    Ph,
    /// 3 溶解氧 DO.
    Do,
    /// 4 高锰酸盐指数.
    Codmn,
    /// 5 化学需氧量 COD.
    Cod,
    /// 6 五日生化需氧量 BOD₅.
    Bod5,
    /// 7 氨氮 NH₃-N.
    Nh3n,
    /// 8 总磷 TP (as P).
    Tp,
    /// 9 总氮 TN (lakes/reservoirs, as N).
    Tn,
    /// 10 铜.
    Cu,
    /// 11 锌.
    Zn,
    /// 12 氟化物 (as F⁻).
    F,
    /// 13 硒.
    Se,
    /// 14 砷.
    As,
    /// 15 汞.
    Hg,
    /// 16 镉.
    Cd,
    /// 17 铬（六价）.
    Cr6,
    /// 18 铅.
    Pb,
    /// 19 氰化物.
    Cn,
    /// 20 挥发酚.
    Vp,
    /// 21 石油类.
    Oil,
    /// 22 阴离子表面活性剂.
    Las,
    /// 23 硫化物.
    S,
    /// 24 粪大肠菌群 (个/L).
    Fecal,
}

impl Item {
    /// All 24 items in Table 1 order.
    pub const ALL: [Item; 24] = [
        Item::Temp,
        Item::Ph,
        Item::Do,
        Item::Codmn,
        Item::Cod,
        Item::Bod5,
        Item::Nh3n,
        Item::Tp,
        Item::Tn,
        Item::Cu,
        Item::Zn,
        Item::F,
        Item::Se,
        Item::As,
        Item::Hg,
        Item::Cd,
        Item::Cr6,
        Item::Pb,
        Item::Cn,
        Item::Vp,
        Item::Oil,
        Item::Las,
        Item::S,
        Item::Fecal,
    ];

    /// The 21 evaluation items of 22号 (Table 1 without water temperature,
    /// total nitrogen and fecal coliform).
    pub fn evaluation_items() -> impl Iterator<Item = Item> {
        Self::ALL.into_iter().filter(|i| i.is_evaluation_item())
    }

    /// Whether the item takes part in the section class (22号; shared spec water.md §3.1).
    pub fn is_evaluation_item(self) -> bool {
        !matches!(self, Item::Temp | Item::Tn | Item::Fecal)
    }

    /// Table 1 row number (1…24).
    pub fn number(self) -> u8 {
        Self::ALL
            .iter()
            .position(|&i| i == self)
            .map_or(0, |p| p as u8 + 1)
    }

    /// Short code (CSV column name).
    pub fn code(self) -> &'static str {
        match self {
            Item::Temp => "temp",
            Item::Ph => "ph",
            Item::Do => "do",
            Item::Codmn => "codmn",
            Item::Cod => "cod",
            Item::Bod5 => "bod5",
            Item::Nh3n => "nh3n",
            Item::Tp => "tp",
            Item::Tn => "tn",
            Item::Cu => "cu",
            Item::Zn => "zn",
            Item::F => "f",
            Item::Se => "se",
            Item::As => "as",
            Item::Hg => "hg",
            Item::Cd => "cd",
            Item::Cr6 => "cr6",
            Item::Pb => "pb",
            Item::Cn => "cn",
            Item::Vp => "vp",
            Item::Oil => "oil",
            Item::Las => "las",
            Item::S => "s",
            Item::Fecal => "fecal",
        }
    }

    /// Chinese name as in Table 1.
    pub fn name_zh(self) -> &'static str {
        match self {
            Item::Temp => "水温",
            Item::Ph => "pH值",
            Item::Do => "溶解氧",
            Item::Codmn => "高锰酸盐指数",
            Item::Cod => "化学需氧量",
            Item::Bod5 => "五日生化需氧量",
            Item::Nh3n => "氨氮",
            Item::Tp => "总磷",
            Item::Tn => "总氮",
            Item::Cu => "铜",
            Item::Zn => "锌",
            Item::F => "氟化物",
            Item::Se => "硒",
            Item::As => "砷",
            Item::Hg => "汞",
            Item::Cd => "镉",
            Item::Cr6 => "铬（六价）",
            Item::Pb => "铅",
            Item::Cn => "氰化物",
            Item::Vp => "挥发酚",
            Item::Oil => "石油类",
            Item::Las => "阴离子表面活性剂",
            Item::S => "硫化物",
            Item::Fecal => "粪大肠菌群",
        }
    }

    /// Unit of the Table 1 limits.
    pub fn unit(self) -> &'static str {
        match self {
            Item::Temp => "°C",
            Item::Ph => "",
            Item::Fecal => "个/L",
            _ => "mg/L",
        }
    }

    /// Whether 22号 computes an exceedance multiple for the item (not for
    /// water temperature, pH and DO).
    pub fn has_multiple(self) -> bool {
        !matches!(self, Item::Temp | Item::Ph | Item::Do)
    }

    /// The item an HJ 212-2017 water factor code measures, and the factor
    /// that turns the protocol's unit into the unit of Table 1: HJ 212 sends
    /// the total metals (w20111 汞, w20115 镉, w20117 六价铬, w20119 砷,
    /// w20120 铅, w20128 硒) and w20142/w20143 in µg/L, while GB 3838 limits
    /// them in mg/L. `None` for codes that are not a Table 1 item.
    pub fn from_hj212(code: &str) -> Option<(Item, Decimal)> {
        let per_mille = dec!(0.001);
        let one = Decimal::ONE;
        Some(match code.trim() {
            "w01010" => (Item::Temp, one),
            "w01001" => (Item::Ph, one),
            "w01009" => (Item::Do, one),
            "w01019" => (Item::Codmn, one),
            "w01018" => (Item::Cod, one),
            "w01017" => (Item::Bod5, one),
            "w21003" => (Item::Nh3n, one),
            "w21011" => (Item::Tp, one),
            "w21001" => (Item::Tn, one),
            "w20122" | "w20138" => (Item::Cu, one),
            "w20123" | "w20139" => (Item::Zn, one),
            "w21017" => (Item::F, one),
            "w20128" => (Item::Se, per_mille),
            "w20140" => (Item::Se, one),
            "w20119" => (Item::As, per_mille),
            "w20141" => (Item::As, one),
            "w20111" | "w20142" => (Item::Hg, per_mille),
            "w20115" | "w20143" => (Item::Cd, per_mille),
            "w20117" => (Item::Cr6, per_mille),
            "w20120" => (Item::Pb, per_mille),
            "w20144" => (Item::Pb, one),
            "w21016" => (Item::Cn, one),
            "w23002" => (Item::Vp, one),
            "w22001" => (Item::Oil, one),
            "w19002" => (Item::Las, one),
            "w21019" => (Item::S, one),
            "w02003" => (Item::Fecal, one),
            _ => return None,
        })
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An item code could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a GB 3838 item code: {0:?}")]
pub struct ParseItemError(pub String);

impl FromStr for Item {
    type Err = ParseItemError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Item::ALL
            .into_iter()
            .find(|i| i.code().eq_ignore_ascii_case(t) || i.name_zh() == t)
            .ok_or_else(|| ParseItemError(s.to_string()))
    }
}

/// How an item's value is compared with Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Criterion {
    /// Water temperature: the man-made change of the weekly mean must be
    /// within +`max_rise` / −`max_drop` °C (all classes). Not classifiable
    /// from one value.
    TemperatureChange {
        max_rise: Decimal,
        max_drop: Decimal,
    },
    /// pH: `min ≤ value ≤ max` meets every class; outside is 劣Ⅴ.
    Range { min: Decimal, max: Decimal },
    /// DO: `value ≥ limits[k]` meets class k+1.
    AtLeast { limits: [Decimal; 5] },
    /// Ordinary items: `value ≤ limits[k]` meets class k+1.
    AtMost { limits: [Decimal; 5] },
}

impl Criterion {
    /// The Ⅰ…Ⅴ limits of a one-sided criterion.
    pub fn limits(&self) -> Option<&[Decimal; 5]> {
        match self {
            Criterion::AtLeast { limits } | Criterion::AtMost { limits } => Some(limits),
            _ => None,
        }
    }

    /// The limit of `class` (Ⅰ…Ⅴ) of a one-sided criterion.
    pub fn limit(&self, class: WaterClass) -> Option<Decimal> {
        Some(self.limits()?[class.limit_index()?])
    }
}

/// GB 3838-2002 Table 1 row for `item` in a water body of type `body`.
pub fn criterion(item: Item, body: WaterBody) -> Criterion {
    let at_most = |l: [Decimal; 5]| Criterion::AtMost { limits: l };
    match item {
        Item::Temp => Criterion::TemperatureChange {
            max_rise: dec!(1),
            max_drop: dec!(2),
        },
        Item::Ph => Criterion::Range {
            min: dec!(6),
            max: dec!(9),
        },
        // Class Ⅰ: 饱和率 90 % (或 7.5); the platform uses 7.5 mg/L.
        Item::Do => Criterion::AtLeast {
            limits: [dec!(7.5), dec!(6), dec!(5), dec!(3), dec!(2)],
        },
        Item::Codmn => at_most([dec!(2), dec!(4), dec!(6), dec!(10), dec!(15)]),
        Item::Cod => at_most([dec!(15), dec!(15), dec!(20), dec!(30), dec!(40)]),
        Item::Bod5 => at_most([dec!(3), dec!(3), dec!(4), dec!(6), dec!(10)]),
        Item::Nh3n => at_most([dec!(0.15), dec!(0.5), dec!(1.0), dec!(1.5), dec!(2.0)]),
        Item::Tp => match body {
            WaterBody::River => at_most([dec!(0.02), dec!(0.1), dec!(0.2), dec!(0.3), dec!(0.4)]),
            WaterBody::LakeReservoir => {
                at_most([dec!(0.01), dec!(0.025), dec!(0.05), dec!(0.1), dec!(0.2)])
            }
        },
        Item::Tn => at_most([dec!(0.2), dec!(0.5), dec!(1.0), dec!(1.5), dec!(2.0)]),
        Item::Cu => at_most([dec!(0.01), dec!(1.0), dec!(1.0), dec!(1.0), dec!(1.0)]),
        Item::Zn => at_most([dec!(0.05), dec!(1.0), dec!(1.0), dec!(2.0), dec!(2.0)]),
        Item::F => at_most([dec!(1.0), dec!(1.0), dec!(1.0), dec!(1.5), dec!(1.5)]),
        Item::Se => at_most([dec!(0.01), dec!(0.01), dec!(0.01), dec!(0.02), dec!(0.02)]),
        Item::As => at_most([dec!(0.05), dec!(0.05), dec!(0.05), dec!(0.1), dec!(0.1)]),
        Item::Hg => at_most([
            dec!(0.00005),
            dec!(0.00005),
            dec!(0.0001),
            dec!(0.001),
            dec!(0.001),
        ]),
        Item::Cd => at_most([
            dec!(0.001),
            dec!(0.005),
            dec!(0.005),
            dec!(0.005),
            dec!(0.01),
        ]),
        Item::Cr6 => at_most([dec!(0.01), dec!(0.05), dec!(0.05), dec!(0.05), dec!(0.1)]),
        Item::Pb => at_most([dec!(0.01), dec!(0.01), dec!(0.05), dec!(0.05), dec!(0.1)]),
        Item::Cn => at_most([dec!(0.005), dec!(0.05), dec!(0.2), dec!(0.2), dec!(0.2)]),
        Item::Vp => at_most([dec!(0.002), dec!(0.002), dec!(0.005), dec!(0.01), dec!(0.1)]),
        Item::Oil => at_most([dec!(0.05), dec!(0.05), dec!(0.05), dec!(0.5), dec!(1.0)]),
        Item::Las => at_most([dec!(0.2), dec!(0.2), dec!(0.2), dec!(0.3), dec!(0.3)]),
        Item::S => at_most([dec!(0.05), dec!(0.1), dec!(0.2), dec!(0.5), dec!(1.0)]),
        Item::Fecal => at_most([dec!(200), dec!(2000), dec!(10000), dec!(20000), dec!(40000)]),
    }
}

/// Class of one value of `item` (GB 3838 Table 1, 22号; shared spec water.md §3.3): the best class
/// whose limit the value meets, boundaries inclusive (`≤` the limit; DO `≥`);
/// pH 6–9 inclusive is Ⅰ, outside 劣Ⅴ; beyond the Ⅴ limit 劣Ⅴ.
///
/// `None` for water temperature, which has no per-value class (see
/// [`temperature_change_meets`]).
pub fn classify(item: Item, body: WaterBody, value: Decimal) -> Option<WaterClass> {
    match criterion(item, body) {
        Criterion::TemperatureChange { .. } => None,
        Criterion::Range { min, max } => Some(if min <= value && value <= max {
            WaterClass::I
        } else {
            WaterClass::WorseThanV
        }),
        Criterion::AtLeast { limits } => Some(first_met(&limits, |l| value >= l)),
        Criterion::AtMost { limits } => Some(first_met(&limits, |l| value <= l)),
    }
}

fn first_met(limits: &[Decimal; 5], meets: impl Fn(Decimal) -> bool) -> WaterClass {
    WaterClass::LIMITED
        .into_iter()
        .zip(limits.iter())
        .find(|&(_, &l)| meets(l))
        .map_or(WaterClass::WorseThanV, |(c, _)| c)
}

/// Whether a man-made water-temperature change meets Table 1 item 1: weekly
/// mean maximum rise ≤ 1 °C and weekly mean maximum drop ≤ 2 °C. `change` is
/// the signed change (positive = warmer).
pub fn temperature_change_meets(change: Decimal) -> bool {
    if change >= Decimal::ZERO {
        change <= dec!(1)
    } else {
        -change <= dec!(2)
    }
}

/// 超标倍数 = (C − S)/S, unrounded; `None` when the item has no multiple
/// (temperature, pH, DO) or the value does not exceed `limit`.
pub fn exceedance_ratio(item: Item, value: Decimal, limit: Decimal) -> Option<Decimal> {
    if !item.has_multiple() || value <= limit || limit <= Decimal::ZERO {
        return None;
    }
    Some((value - limit) / limit)
}

fn publish_multiple(r: Decimal) -> Decimal {
    r.round_dp_with_strategy(MULTIPLE_DP, RoundingStrategy::MidpointNearestEven)
        .normalize()
}

// ---------------------------------------------------------------------------
// Measurements and assessment
// ---------------------------------------------------------------------------

/// One measured value. `below_detection` marks a result under the detection
/// limit; `value` is then the detection limit itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measurement {
    pub value: Decimal,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub below_detection: bool,
}

impl Measurement {
    pub fn new(value: Decimal) -> Self {
        Self {
            value,
            below_detection: false,
        }
    }

    /// A result below the detection limit `limit`.
    pub fn below_detection(limit: Decimal) -> Self {
        Self {
            value: limit,
            below_detection: true,
        }
    }
}

impl From<Decimal> for Measurement {
    fn from(value: Decimal) -> Self {
        Self::new(value)
    }
}

/// Item values of one sample or of one period mean.
pub type Values = BTreeMap<Item, Measurement>;

/// The result for one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    pub item: Item,
    pub value: Decimal,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub below_detection: bool,
    /// `None` only for water temperature.
    pub class: Option<WaterClass>,
    /// Whether the item takes part in the section class (the 21 items).
    pub evaluated: bool,
    /// Exceedance multiple against the Class Ⅲ limit (national method),
    /// rounded to two decimals; `None` when not above Ⅲ or not applicable.
    pub multiple_vs_iii: Option<Decimal>,
}

/// A main pollutant (主要污染指标) of a section worse than Ⅲ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MainPollutant {
    pub item: Item,
    pub class: WaterClass,
    /// Multiple against the Class Ⅲ limit; `None` for pH and DO.
    pub multiple: Option<Decimal>,
}

/// An item that fails the target class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailingItem {
    pub item: Item,
    pub value: Decimal,
    pub class: WaterClass,
    /// The target-class limit (for pH the range is 6–9 and this is `None`).
    pub limit: Option<Decimal>,
    /// (C − S)/S against the target-class limit, two decimals; `None` for pH
    /// and DO (22号: no multiple) and for results below detection.
    pub multiple: Option<Decimal>,
}

/// Compliance with a target (functional) class — GB 3838 §5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetCompliance {
    pub target: WaterClass,
    /// 达标: the class from the evaluated items is the target or better.
    pub compliant: bool,
    /// Evaluated items worse than the target, in Table 1 order.
    pub failing: Vec<FailingItem>,
}

/// The assessment of one sample or one period mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub rules: String,
    pub water_body: WaterBody,
    /// Worst class among the evaluated items present; `None` if none of the
    /// 21 evaluation items has a value.
    pub class: Option<WaterClass>,
    pub status: Option<Status>,
    /// Evaluation items with a value.
    pub evaluated: Vec<Item>,
    /// Evaluation items of the 21 without a value.
    pub missing: Vec<Item>,
    /// Items whose class equals the section class (the worst items).
    pub worst: Vec<Item>,
    /// Up to three main pollutants when the class is worse than Ⅲ, ordered by
    /// class, then by multiple vs Ⅲ (pH/DO, without a multiple, after items
    /// of the same class that have one), then Table 1 order.
    pub main_pollutants: Vec<MainPollutant>,
    pub items: Vec<ItemResult>,
    pub target: Option<TargetCompliance>,
}

/// Assess one sample (or one set of period means) of a water body.
///
/// * every present item gets its Table 1 class; the section class is the worst
///   class of the **21 evaluation items** present (temperature, TN and fecal
///   coliform are reported but not used);
/// * a result below detection is classified by its detection limit (it meets
///   a class when the detection limit does) and gets no multiple;
/// * the target compliance compares the same evaluated items with `target`.
pub fn assess(body: WaterBody, values: &Values, target: Option<WaterClass>) -> Assessment {
    let mut items = Vec::with_capacity(values.len());
    let mut class: Option<WaterClass> = None;
    for (&item, m) in values {
        let c = classify(item, body, m.value);
        let evaluated = item.is_evaluation_item();
        if evaluated {
            class = class.max(c);
        }
        let limit_iii = criterion(item, body).limit(WaterClass::III);
        let ratio = match (m.below_detection, limit_iii) {
            (false, Some(l)) => exceedance_ratio(item, m.value, l),
            _ => None,
        };
        items.push(ItemResult {
            item,
            value: m.value,
            below_detection: m.below_detection,
            class: c,
            evaluated,
            multiple_vs_iii: ratio.map(publish_multiple),
        });
    }
    let evaluated: Vec<Item> = items
        .iter()
        .filter(|r| r.evaluated)
        .map(|r| r.item)
        .collect();
    let missing: Vec<Item> = Item::evaluation_items()
        .filter(|i| !values.contains_key(i))
        .collect();
    let worst = match class {
        Some(c) => items
            .iter()
            .filter(|r| r.evaluated && r.class == Some(c))
            .map(|r| r.item)
            .collect(),
        None => Vec::new(),
    };

    let main_pollutants = if class.is_some_and(|c| c > WaterClass::III) {
        let mut cands: Vec<(WaterClass, Option<Decimal>, Item)> = items
            .iter()
            .filter(|r| r.evaluated)
            .filter_map(|r| {
                let c = r.class?;
                if c <= WaterClass::III {
                    return None;
                }
                let ratio = if r.below_detection {
                    None
                } else {
                    criterion(r.item, body)
                        .limit(WaterClass::III)
                        .and_then(|l| exceedance_ratio(r.item, r.value, l))
                };
                Some((c, ratio, r.item))
            })
            .collect();
        // Worst class first; within a class the larger multiple first, items
        // without a multiple after; then Table 1 order.
        cands.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| match (a.1, b.1) {
                    (Some(x), Some(y)) => y.cmp(&x),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                })
                .then_with(|| a.2.cmp(&b.2))
        });
        cands
            .into_iter()
            .take(3)
            .map(|(c, ratio, item)| MainPollutant {
                item,
                class: c,
                multiple: ratio.map(publish_multiple),
            })
            .collect()
    } else {
        Vec::new()
    };

    let target = match (target, class) {
        (Some(t), Some(c)) => {
            let failing = items
                .iter()
                .filter(|r| r.evaluated && r.class.is_some_and(|ic| ic > t))
                .map(|r| {
                    let limit = criterion(r.item, body).limit(t);
                    let multiple = match (r.below_detection, limit) {
                        (false, Some(l)) => {
                            exceedance_ratio(r.item, r.value, l).map(publish_multiple)
                        }
                        _ => None,
                    };
                    FailingItem {
                        item: r.item,
                        value: r.value,
                        class: r.class.unwrap_or(WaterClass::WorseThanV),
                        limit,
                        multiple,
                    }
                })
                .collect();
            Some(TargetCompliance {
                target: t,
                compliant: c <= t,
                failing,
            })
        }
        _ => None,
    };

    Assessment {
        rules: RULES.to_string(),
        water_body: body,
        class,
        status: class.map(WaterClass::status),
        evaluated,
        missing,
        worst,
        main_pollutants,
        items,
        target,
    }
}

// ---------------------------------------------------------------------------
// Period means
// ---------------------------------------------------------------------------

/// Arithmetic mean of each item over several samples (22号; shared spec water.md §3.2: several
/// samplings in a period → arithmetic mean).
///
/// A result below detection enters the mean as half its detection limit
/// (环办监测函〔2020〕82号 point 7). When *every* value of an item is below
/// detection the mean is reported as below detection with the largest
/// detection limit.
pub fn period_means<'a>(samples: impl IntoIterator<Item = &'a Values>) -> Values {
    let mut acc: BTreeMap<Item, (Decimal, u32, u32, Decimal)> = BTreeMap::new();
    for values in samples {
        for (&item, m) in values {
            let e = acc
                .entry(item)
                .or_insert((Decimal::ZERO, 0, 0, Decimal::ZERO));
            if m.below_detection {
                e.0 += m.value / dec!(2);
                e.2 += 1;
                e.3 = e.3.max(m.value);
            } else {
                e.0 += m.value;
            }
            e.1 += 1;
        }
    }
    acc.into_iter()
        .map(|(item, (sum, n, nd, max_dl))| {
            let m = if nd == n {
                Measurement::below_detection(max_dl)
            } else {
                Measurement::new((sum / Decimal::from(n)).normalize())
            };
            (item, m)
        })
        .collect()
}

/// One sampling of a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub time: NaiveDateTime,
    pub values: Values,
}

/// A section's data as the platform holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionData {
    pub section: String,
    #[serde(default)]
    pub water_body: WaterBody,
    /// Target (assessment) class, e.g. Ⅲ for 韩董庄.
    pub target: Option<WaterClass>,
    pub samples: Vec<Sample>,
}

/// The assessment of a section over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodAssessment {
    pub section: String,
    /// First and last calendar day of the period.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Number of samples used.
    pub samples: usize,
    /// Number of months with data (the monthly means averaged for a
    /// year-to-date result).
    pub months: usize,
    /// The period means that were classified.
    pub means: Values,
    pub assessment: Assessment,
}

fn month_bounds(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let from = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some((from, next.pred_opt()?))
}

impl SectionData {
    fn samples_in(&self, year: i32, month: u32) -> Vec<&Values> {
        self.samples
            .iter()
            .filter(|s| s.time.year() == year && s.time.month() == month)
            .map(|s| &s.values)
            .collect()
    }
}

/// The monthly result of a section: the mean of the month's samples,
/// classified. `None` when the month has no sample (or is not a month).
pub fn evaluate_month(section: &SectionData, year: i32, month: u32) -> Option<PeriodAssessment> {
    let (from, to) = month_bounds(year, month)?;
    let samples = section.samples_in(year, month);
    if samples.is_empty() {
        return None;
    }
    let means = period_means(samples.iter().copied());
    let assessment = assess(section.water_body, &means, section.target);
    Some(PeriodAssessment {
        section: section.section.clone(),
        from,
        to,
        samples: samples.len(),
        months: 1,
        means,
        assessment,
    })
}

/// Every month with data, in calendar order.
pub fn evaluate_months(section: &SectionData) -> Vec<PeriodAssessment> {
    let mut months: Vec<(i32, u32)> = section
        .samples
        .iter()
        .map(|s| (s.time.year(), s.time.month()))
        .collect();
    months.sort_unstable();
    months.dedup();
    months
        .into_iter()
        .filter_map(|(y, m)| evaluate_month(section, y, m))
        .collect()
}

/// The year-to-date result (January through `through_month` of `year`): the
/// arithmetic mean of the monthly means (22号: the annual value is the mean of
/// the year's monthly results), then classified. Months without data are
/// skipped. `None` when no month in the range has data.
pub fn evaluate_year_to_date(
    section: &SectionData,
    year: i32,
    through_month: u32,
) -> Option<PeriodAssessment> {
    let (_, to) = month_bounds(year, through_month)?;
    let from = NaiveDate::from_ymd_opt(year, 1, 1)?;
    evaluate_range(section, from, to)
}

/// The result over every month from the month of `from` to the month of
/// `to` (inclusive): the mean of the monthly means, then classified, as for
/// [`evaluate_year_to_date`]. The reported period is the whole calendar
/// months. `None` when no month in the range has data.
pub fn evaluate_range(
    section: &SectionData,
    from: NaiveDate,
    to: NaiveDate,
) -> Option<PeriodAssessment> {
    let (first, _) = month_bounds(from.year(), from.month())?;
    let (_, last) = month_bounds(to.year(), to.month())?;
    let mut monthly = Vec::new();
    let mut n = 0;
    let (mut y, mut m) = (first.year(), first.month());
    while (y, m) <= (last.year(), last.month()) {
        let samples = section.samples_in(y, m);
        if !samples.is_empty() {
            n += samples.len();
            monthly.push(period_means(samples.iter().copied()));
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    if monthly.is_empty() {
        return None;
    }
    let means = period_means(monthly.iter());
    let assessment = assess(section.water_body, &means, section.target);
    Some(PeriodAssessment {
        section: section.section.clone(),
        from: first,
        to: last,
        samples: n,
        months: monthly.len(),
        means,
        assessment,
    })
}

/// The result over all the section's data (every month with samples): the
/// mean of the monthly means, classified.
pub fn evaluate_all(section: &SectionData) -> Option<PeriodAssessment> {
    let from = section.samples.iter().map(|s| s.time.date()).min()?;
    let to = section.samples.iter().map(|s| s.time.date()).max()?;
    evaluate_range(section, from, to)
}
