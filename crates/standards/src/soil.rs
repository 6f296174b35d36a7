//! Soil: GB 15618-2018 (farmland, 农用地) and GB 36600-2018 (construction
//! land, 建设用地) risk screening and intervention values.
//!
//! * Farmland: [`assess_farmland`] compares a sample with the screening values
//!   of its pH band and land use (Table 1, Table 2) and the intervention values
//!   of its pH band (Table 3), and gives the management class
//!   优先保护 / 安全利用 / 严格管控.
//! * Construction land: [`assess_construction`] compares a sample with the
//!   screening and intervention values of first- or second-class land
//!   (Table 1, the 45 basic items, and the metals/inorganics of Table 2).
//!
//! All values are mg/kg dry weight. Comparisons are exact; a value equal to a
//! screening or intervention value is *at* it (not above). Indices
//! Pᵢ = C/S are published rounded half-even to two decimals.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

/// Rule set of farmland results.
pub const FARMLAND_RULES: &str = "GB 15618-2018（2018-06-22 发布，2018-08-01 起实施）";
/// Rule set of construction-land results.
pub const CONSTRUCTION_RULES: &str = "GB 36600-2018（2018-06-22 发布，2018-08-01 起实施）";

/// Decimal places of a published index Pᵢ.
pub const INDEX_DP: u32 = 2;

/// Errors in soil input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoilError {
    #[error("pH {0} is outside 0–14")]
    PhOutOfRange(Decimal),
    #[error("{item}: negative content {value}")]
    Negative { item: String, value: Decimal },
    #[error("unknown soil item {0:?}")]
    UnknownItem(String),
    #[error("unknown land use {0:?}")]
    UnknownLand(String),
}

fn index(c: Decimal, s: Decimal) -> Decimal {
    (c / s)
        .round_dp_with_strategy(INDEX_DP, RoundingStrategy::MidpointNearestEven)
        .normalize()
}

// ---------------------------------------------------------------------------
// GB 15618-2018 farmland
// ---------------------------------------------------------------------------

/// The four pH bands of GB 15618. A boundary value belongs to the lower band
/// (5.5 → first, 6.5 → second, 7.5 → third).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PhBand {
    /// pH ≤ 5.5
    #[serde(rename = "pH≤5.5")]
    UpTo5_5,
    /// 5.5 < pH ≤ 6.5
    #[serde(rename = "5.5<pH≤6.5")]
    Over5_5To6_5,
    /// 6.5 < pH ≤ 7.5
    #[serde(rename = "6.5<pH≤7.5")]
    Over6_5To7_5,
    /// pH > 7.5
    #[serde(rename = "pH>7.5")]
    Over7_5,
}

impl PhBand {
    /// The band of a measured soil pH (0–14).
    pub fn of(ph: Decimal) -> Result<PhBand, SoilError> {
        if ph < Decimal::ZERO || ph > dec!(14) {
            return Err(SoilError::PhOutOfRange(ph));
        }
        Ok(if ph <= dec!(5.5) {
            PhBand::UpTo5_5
        } else if ph <= dec!(6.5) {
            PhBand::Over5_5To6_5
        } else if ph <= dec!(7.5) {
            PhBand::Over6_5To7_5
        } else {
            PhBand::Over7_5
        })
    }

    fn idx(self) -> usize {
        self as usize
    }
}

/// Farmland use, as far as it selects a screening value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FarmlandUse {
    /// 水田.
    Paddy,
    /// 果园 (the "orchard" column for Cu; "other" for Cd, Hg, As, Pb, Cr).
    Orchard,
    /// 其他 (dry land etc.).
    Other,
    /// 水旱轮作: the stricter of the paddy and other values.
    PaddyUplandRotation,
}

impl FarmlandUse {
    pub fn label(self) -> &'static str {
        match self {
            Self::Paddy => "水田",
            Self::Orchard => "果园",
            Self::Other => "其他",
            Self::PaddyUplandRotation => "水旱轮作",
        }
    }
}

impl FromStr for FarmlandUse {
    type Err = SoilError;
    fn from_str(s: &str) -> Result<Self, SoilError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "paddy" | "水田" => Self::Paddy,
            "orchard" | "果园" => Self::Orchard,
            "other" | "dryland" | "旱地" | "其他" => Self::Other,
            "rotation" | "paddy_upland_rotation" | "水旱轮作" => Self::PaddyUplandRotation,
            _ => return Err(SoilError::UnknownLand(s.to_string())),
        })
    }
}

/// Items of GB 15618 Tables 1 and 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FarmItem {
    Cd,
    Hg,
    As,
    Pb,
    /// Total chromium.
    Cr,
    Cu,
    Ni,
    Zn,
    /// 六六六总量 (Table 2).
    Hch,
    /// 滴滴涕总量 (Table 2).
    Ddt,
    /// 苯并[a]芘 (Table 2).
    Bap,
}

impl FarmItem {
    pub const ALL: [FarmItem; 11] = [
        Self::Cd,
        Self::Hg,
        Self::As,
        Self::Pb,
        Self::Cr,
        Self::Cu,
        Self::Ni,
        Self::Zn,
        Self::Hch,
        Self::Ddt,
        Self::Bap,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Cd => "cd",
            Self::Hg => "hg",
            Self::As => "as",
            Self::Pb => "pb",
            Self::Cr => "cr",
            Self::Cu => "cu",
            Self::Ni => "ni",
            Self::Zn => "zn",
            Self::Hch => "hch",
            Self::Ddt => "ddt",
            Self::Bap => "bap",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Cd => "镉",
            Self::Hg => "汞",
            Self::As => "砷",
            Self::Pb => "铅",
            Self::Cr => "铬",
            Self::Cu => "铜",
            Self::Ni => "镍",
            Self::Zn => "锌",
            Self::Hch => "六六六总量",
            Self::Ddt => "滴滴涕总量",
            Self::Bap => "苯并[a]芘",
        }
    }

    /// Whether the item has intervention values (Cd, Hg, As, Pb, Cr) and can
    /// therefore put a sample into 严格管控.
    pub fn has_intervention(self) -> bool {
        matches!(self, Self::Cd | Self::Hg | Self::As | Self::Pb | Self::Cr)
    }
}

impl fmt::Display for FarmItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for FarmItem {
    type Err = SoilError;
    fn from_str(s: &str) -> Result<Self, SoilError> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|i| i.code().eq_ignore_ascii_case(t) || i.name_zh() == t)
            .ok_or_else(|| SoilError::UnknownItem(s.to_string()))
    }
}

/// GB 15618 Table 1 row: [pH≤5.5, 5.5–6.5, 6.5–7.5, >7.5].
type Row4 = [Decimal; 4];

fn screening_row(item: FarmItem, paddy: bool, orchard: bool) -> Row4 {
    use FarmItem::*;
    match (item, paddy) {
        (Cd, true) => [dec!(0.3), dec!(0.4), dec!(0.6), dec!(0.8)],
        (Cd, false) => [dec!(0.3), dec!(0.3), dec!(0.3), dec!(0.6)],
        (Hg, true) => [dec!(0.5), dec!(0.5), dec!(0.6), dec!(1.0)],
        (Hg, false) => [dec!(1.3), dec!(1.8), dec!(2.4), dec!(3.4)],
        (As, true) => [dec!(30), dec!(30), dec!(25), dec!(20)],
        (As, false) => [dec!(40), dec!(40), dec!(30), dec!(25)],
        (Pb, true) => [dec!(80), dec!(100), dec!(140), dec!(240)],
        (Pb, false) => [dec!(70), dec!(90), dec!(120), dec!(170)],
        (Cr, true) => [dec!(250), dec!(250), dec!(300), dec!(350)],
        (Cr, false) => [dec!(150), dec!(150), dec!(200), dec!(250)],
        // Cu: the orchard column, and "other" for everything else (paddy too).
        (Cu, _) if orchard => [dec!(150), dec!(150), dec!(200), dec!(200)],
        (Cu, _) => [dec!(50), dec!(50), dec!(100), dec!(100)],
        (Ni, _) => [dec!(60), dec!(70), dec!(100), dec!(190)],
        (Zn, _) => [dec!(200), dec!(200), dec!(250), dec!(300)],
        (Hch, _) => [dec!(0.10); 4],
        (Ddt, _) => [dec!(0.10); 4],
        (Bap, _) => [dec!(0.55); 4],
    }
}

/// GB 15618 risk screening value (Tables 1 and 2) for `item` on land `use_`
/// in pH band `band`.
pub fn farmland_screening(item: FarmItem, use_: FarmlandUse, band: PhBand) -> Decimal {
    let i = band.idx();
    match use_ {
        FarmlandUse::Paddy => screening_row(item, true, false)[i],
        FarmlandUse::Orchard => screening_row(item, false, true)[i],
        FarmlandUse::Other => screening_row(item, false, false)[i],
        FarmlandUse::PaddyUplandRotation => {
            screening_row(item, true, false)[i].min(screening_row(item, false, false)[i])
        }
    }
}

/// GB 15618 Table 3 risk intervention value (Cd, Hg, As, Pb, Cr only).
pub fn farmland_intervention(item: FarmItem, band: PhBand) -> Option<Decimal> {
    use FarmItem::*;
    let row: Row4 = match item {
        Cd => [dec!(1.5), dec!(2.0), dec!(3.0), dec!(4.0)],
        Hg => [dec!(2.0), dec!(2.5), dec!(4.0), dec!(6.0)],
        As => [dec!(200), dec!(150), dec!(120), dec!(100)],
        Pb => [dec!(400), dec!(500), dec!(700), dec!(1000)],
        Cr => [dec!(800), dec!(850), dec!(1000), dec!(1300)],
        _ => return None,
    };
    Some(row[band.idx()])
}

/// Where a content stands against the screening and intervention values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// ≤ screening value.
    AtOrBelowScreening,
    /// GB 36600 footnote a (As, Co, V): above screening but not above the
    /// local background value given by the caller.
    WithinBackground,
    /// > screening value (and ≤ intervention value, or no intervention value).
    AboveScreening,
    /// > intervention value.
    AboveIntervention,
}

fn risk(c: Decimal, screening: Decimal, intervention: Option<Decimal>) -> Risk {
    match intervention {
        Some(g) if c > g => Risk::AboveIntervention,
        _ if c > screening => Risk::AboveScreening,
        _ => Risk::AtOrBelowScreening,
    }
}

/// The farmland management class of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FarmlandClass {
    /// 优先保护类: Cd, Hg, As, Pb and Cr each ≤ its screening value (Cu, Ni,
    /// Zn and the Table 2 organics may be above theirs: closer monitoring).
    PriorityProtection,
    /// 安全利用类: some of Cd/Hg/As/Pb/Cr > screening, none > intervention.
    SafeUse,
    /// 严格管控类: some Cd/Hg/As/Pb/Cr > its intervention value.
    StrictControl,
}

impl FarmlandClass {
    pub fn label(self) -> &'static str {
        match self {
            Self::PriorityProtection => "优先保护类",
            Self::SafeUse => "安全利用类",
            Self::StrictControl => "严格管控类",
        }
    }
}

/// A farmland sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FarmlandSample {
    /// Soil pH of the same sample.
    pub ph: Decimal,
    pub land_use: FarmlandUse,
    /// Total contents, mg/kg.
    pub values: BTreeMap<FarmItem, Decimal>,
}

/// One farmland item against the standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FarmItemResult {
    pub item: FarmItem,
    pub value: Decimal,
    pub screening: Decimal,
    pub intervention: Option<Decimal>,
    /// Pᵢ = C/S (two decimals).
    pub p_screening: Decimal,
    /// Pᵢ,c = C/G (two decimals) where an intervention value exists.
    pub p_intervention: Option<Decimal>,
    pub risk: Risk,
}

/// The farmland assessment of a sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FarmlandAssessment {
    pub rules: String,
    pub ph_band: PhBand,
    pub land_use: FarmlandUse,
    pub class: FarmlandClass,
    pub items: Vec<FarmItemResult>,
    /// Items above their screening value.
    pub above_screening: Vec<FarmItem>,
    /// Items above their intervention value.
    pub above_intervention: Vec<FarmItem>,
    /// Cu, Ni, Zn and the Table 2 organics above screening: GB 15618 asks
    /// for closer monitoring of soil and produce; they do not decide the
    /// class (neither 安全利用 nor 严格管控).
    pub strengthen_monitoring: Vec<FarmItem>,
}

/// Assess a farmland sample (GB 15618-2018 Tables 1–3).
///
/// The class uses the soil-only mapping of GB 15618-2018 §5.1–5.2 and the
/// classification guide (环办土壤〔2019〕53号), which rest on the five items
/// with intervention values, Cd, Hg, As, Pb and Cr: all five ≤ screening →
/// 优先保护; some of them > screening and none > intervention → 安全利用;
/// some > intervention → 严格管控. Cu, Ni, Zn and the Table 2 organics
/// above screening only ask for closer monitoring (`strengthen_monitoring`)
/// and leave the class as the five give it. (The product-based adjustment
/// of the guide is not applied.)
pub fn assess_farmland(sample: &FarmlandSample) -> Result<FarmlandAssessment, SoilError> {
    let band = PhBand::of(sample.ph)?;
    let mut items = Vec::with_capacity(sample.values.len());
    for (&item, &value) in &sample.values {
        if value < Decimal::ZERO {
            return Err(SoilError::Negative {
                item: item.code().to_string(),
                value,
            });
        }
        let screening = farmland_screening(item, sample.land_use, band);
        let intervention = farmland_intervention(item, band);
        items.push(FarmItemResult {
            item,
            value,
            screening,
            intervention,
            p_screening: index(value, screening),
            p_intervention: intervention.map(|g| index(value, g)),
            risk: risk(value, screening, intervention),
        });
    }
    let above_screening: Vec<FarmItem> = items
        .iter()
        .filter(|r| r.risk >= Risk::AboveScreening)
        .map(|r| r.item)
        .collect();
    let above_intervention: Vec<FarmItem> = items
        .iter()
        .filter(|r| r.risk == Risk::AboveIntervention)
        .map(|r| r.item)
        .collect();
    let strengthen_monitoring = above_screening
        .iter()
        .copied()
        .filter(|i| !i.has_intervention())
        .collect();
    let class = if !above_intervention.is_empty() {
        FarmlandClass::StrictControl
    } else if above_screening.iter().any(|i| i.has_intervention()) {
        FarmlandClass::SafeUse
    } else {
        FarmlandClass::PriorityProtection
    };
    Ok(FarmlandAssessment {
        rules: FARMLAND_RULES.to_string(),
        ph_band: band,
        land_use: sample.land_use,
        class,
        items,
        above_screening,
        above_intervention,
        strengthen_monitoring,
    })
}

// ---------------------------------------------------------------------------
// GB 36600-2018 construction land
// ---------------------------------------------------------------------------

/// Construction-land class by planned use (GB 36600 terms; GB 50137 codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandClass {
    /// 第一类用地: residential, schools (A33), medical (A5), welfare (A6),
    /// community and children's parks.
    First,
    /// 第二类用地: industrial, logistics, commercial, roads, utilities, etc.
    Second,
}

impl LandClass {
    pub fn label(self) -> &'static str {
        match self {
            Self::First => "第一类用地",
            Self::Second => "第二类用地",
        }
    }
    fn idx(self) -> usize {
        match self {
            Self::First => 0,
            Self::Second => 1,
        }
    }
}

impl FromStr for LandClass {
    type Err = SoilError;
    fn from_str(s: &str) -> Result<Self, SoilError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "class1" | "first" | "1" | "第一类用地" | "第一类" => Self::First,
            "class2" | "second" | "2" | "第二类用地" | "第二类" => Self::Second,
            _ => return Err(SoilError::UnknownLand(s.to_string())),
        })
    }
}

/// One item of GB 36600 with its values (mg/kg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConstructionItem {
    /// Table (1 = basic items, 2 = other items).
    pub table: u8,
    /// Row number within Table 1 (1…45); for Table 2 the order here.
    pub number: u8,
    /// Short code (CSV column name).
    pub code: &'static str,
    pub name_zh: &'static str,
    /// Screening values [first class, second class].
    pub screening: [Decimal; 2],
    /// Intervention values [first class, second class].
    pub intervention: [Decimal; 2],
    /// Footnote a: above screening but within the local background value →
    /// not managed as contaminated (As, Co, V).
    pub background_rule: bool,
}

const fn ci(
    table: u8,
    number: u8,
    code: &'static str,
    name_zh: &'static str,
    s: [Decimal; 2],
    g: [Decimal; 2],
    background_rule: bool,
) -> ConstructionItem {
    ConstructionItem {
        table,
        number,
        code,
        name_zh,
        screening: s,
        intervention: g,
        background_rule,
    }
}

/// GB 36600-2018 Table 1 (45 basic items) and the metals/inorganics of
/// Table 2.
pub const CONSTRUCTION_ITEMS: &[ConstructionItem] = &[
    ci(
        1,
        1,
        "as",
        "砷",
        [dec!(20), dec!(60)],
        [dec!(120), dec!(140)],
        true,
    ),
    ci(
        1,
        2,
        "cd",
        "镉",
        [dec!(20), dec!(65)],
        [dec!(47), dec!(172)],
        false,
    ),
    ci(
        1,
        3,
        "cr6",
        "铬（六价）",
        [dec!(3.0), dec!(5.7)],
        [dec!(30), dec!(78)],
        false,
    ),
    ci(
        1,
        4,
        "cu",
        "铜",
        [dec!(2000), dec!(18000)],
        [dec!(8000), dec!(36000)],
        false,
    ),
    ci(
        1,
        5,
        "pb",
        "铅",
        [dec!(400), dec!(800)],
        [dec!(800), dec!(2500)],
        false,
    ),
    ci(
        1,
        6,
        "hg",
        "汞",
        [dec!(8), dec!(38)],
        [dec!(33), dec!(82)],
        false,
    ),
    ci(
        1,
        7,
        "ni",
        "镍",
        [dec!(150), dec!(900)],
        [dec!(600), dec!(2000)],
        false,
    ),
    ci(
        1,
        8,
        "ccl4",
        "四氯化碳",
        [dec!(0.9), dec!(2.8)],
        [dec!(9), dec!(36)],
        false,
    ),
    ci(
        1,
        9,
        "chcl3",
        "氯仿",
        [dec!(0.3), dec!(0.9)],
        [dec!(5), dec!(10)],
        false,
    ),
    ci(
        1,
        10,
        "ch3cl",
        "氯甲烷",
        [dec!(12), dec!(37)],
        [dec!(21), dec!(120)],
        false,
    ),
    ci(
        1,
        11,
        "11dca",
        "1,1-二氯乙烷",
        [dec!(3), dec!(9)],
        [dec!(20), dec!(100)],
        false,
    ),
    ci(
        1,
        12,
        "12dca",
        "1,2-二氯乙烷",
        [dec!(0.52), dec!(5)],
        [dec!(6), dec!(21)],
        false,
    ),
    ci(
        1,
        13,
        "11dce",
        "1,1-二氯乙烯",
        [dec!(12), dec!(66)],
        [dec!(40), dec!(200)],
        false,
    ),
    ci(
        1,
        14,
        "c12dce",
        "顺-1,2-二氯乙烯",
        [dec!(66), dec!(596)],
        [dec!(200), dec!(2000)],
        false,
    ),
    ci(
        1,
        15,
        "t12dce",
        "反-1,2-二氯乙烯",
        [dec!(10), dec!(54)],
        [dec!(31), dec!(163)],
        false,
    ),
    ci(
        1,
        16,
        "dcm",
        "二氯甲烷",
        [dec!(94), dec!(616)],
        [dec!(300), dec!(2000)],
        false,
    ),
    ci(
        1,
        17,
        "12dcp",
        "1,2-二氯丙烷",
        [dec!(1), dec!(5)],
        [dec!(5), dec!(47)],
        false,
    ),
    ci(
        1,
        18,
        "1112teca",
        "1,1,1,2-四氯乙烷",
        [dec!(2.6), dec!(10)],
        [dec!(26), dec!(100)],
        false,
    ),
    ci(
        1,
        19,
        "1122teca",
        "1,1,2,2-四氯乙烷",
        [dec!(1.6), dec!(6.8)],
        [dec!(14), dec!(50)],
        false,
    ),
    ci(
        1,
        20,
        "pce",
        "四氯乙烯",
        [dec!(11), dec!(53)],
        [dec!(34), dec!(183)],
        false,
    ),
    ci(
        1,
        21,
        "111tca",
        "1,1,1-三氯乙烷",
        [dec!(701), dec!(840)],
        [dec!(840), dec!(840)],
        false,
    ),
    ci(
        1,
        22,
        "112tca",
        "1,1,2-三氯乙烷",
        [dec!(0.6), dec!(2.8)],
        [dec!(5), dec!(15)],
        false,
    ),
    ci(
        1,
        23,
        "tce",
        "三氯乙烯",
        [dec!(0.7), dec!(2.8)],
        [dec!(7), dec!(20)],
        false,
    ),
    ci(
        1,
        24,
        "123tcp",
        "1,2,3-三氯丙烷",
        [dec!(0.05), dec!(0.5)],
        [dec!(0.5), dec!(5)],
        false,
    ),
    ci(
        1,
        25,
        "vc",
        "氯乙烯",
        [dec!(0.12), dec!(0.43)],
        [dec!(1.2), dec!(4.3)],
        false,
    ),
    ci(
        1,
        26,
        "benzene",
        "苯",
        [dec!(1), dec!(4)],
        [dec!(10), dec!(40)],
        false,
    ),
    ci(
        1,
        27,
        "chlorobenzene",
        "氯苯",
        [dec!(68), dec!(270)],
        [dec!(200), dec!(1000)],
        false,
    ),
    ci(
        1,
        28,
        "12dcb",
        "1,2-二氯苯",
        [dec!(560), dec!(560)],
        [dec!(560), dec!(560)],
        false,
    ),
    ci(
        1,
        29,
        "14dcb",
        "1,4-二氯苯",
        [dec!(5.6), dec!(20)],
        [dec!(56), dec!(200)],
        false,
    ),
    ci(
        1,
        30,
        "ethylbenzene",
        "乙苯",
        [dec!(7.2), dec!(28)],
        [dec!(72), dec!(280)],
        false,
    ),
    ci(
        1,
        31,
        "styrene",
        "苯乙烯",
        [dec!(1290), dec!(1290)],
        [dec!(1290), dec!(1290)],
        false,
    ),
    ci(
        1,
        32,
        "toluene",
        "甲苯",
        [dec!(1200), dec!(1200)],
        [dec!(1200), dec!(1200)],
        false,
    ),
    ci(
        1,
        33,
        "mpxylene",
        "间二甲苯+对二甲苯",
        [dec!(163), dec!(570)],
        [dec!(500), dec!(570)],
        false,
    ),
    ci(
        1,
        34,
        "oxylene",
        "邻二甲苯",
        [dec!(222), dec!(640)],
        [dec!(640), dec!(640)],
        false,
    ),
    ci(
        1,
        35,
        "nitrobenzene",
        "硝基苯",
        [dec!(34), dec!(76)],
        [dec!(190), dec!(760)],
        false,
    ),
    ci(
        1,
        36,
        "aniline",
        "苯胺",
        [dec!(92), dec!(260)],
        [dec!(211), dec!(663)],
        false,
    ),
    ci(
        1,
        37,
        "2cp",
        "2-氯酚",
        [dec!(250), dec!(2256)],
        [dec!(500), dec!(4500)],
        false,
    ),
    ci(
        1,
        38,
        "baa",
        "苯并[a]蒽",
        [dec!(5.5), dec!(15)],
        [dec!(55), dec!(151)],
        false,
    ),
    ci(
        1,
        39,
        "bap",
        "苯并[a]芘",
        [dec!(0.55), dec!(1.5)],
        [dec!(5.5), dec!(15)],
        false,
    ),
    ci(
        1,
        40,
        "bbf",
        "苯并[b]荧蒽",
        [dec!(5.5), dec!(15)],
        [dec!(55), dec!(151)],
        false,
    ),
    ci(
        1,
        41,
        "bkf",
        "苯并[k]荧蒽",
        [dec!(55), dec!(151)],
        [dec!(550), dec!(1500)],
        false,
    ),
    ci(
        1,
        42,
        "chrysene",
        "䓛",
        [dec!(490), dec!(1293)],
        [dec!(4900), dec!(12900)],
        false,
    ),
    ci(
        1,
        43,
        "dbaha",
        "二苯并[a,h]蒽",
        [dec!(0.55), dec!(1.5)],
        [dec!(5.5), dec!(15)],
        false,
    ),
    ci(
        1,
        44,
        "ip",
        "茚并[1,2,3-cd]芘",
        [dec!(5.5), dec!(15)],
        [dec!(55), dec!(151)],
        false,
    ),
    ci(
        1,
        45,
        "naphthalene",
        "萘",
        [dec!(25), dec!(70)],
        [dec!(255), dec!(700)],
        false,
    ),
    ci(
        2,
        1,
        "sb",
        "锑",
        [dec!(20), dec!(180)],
        [dec!(40), dec!(360)],
        false,
    ),
    ci(
        2,
        2,
        "be",
        "铍",
        [dec!(15), dec!(29)],
        [dec!(98), dec!(290)],
        false,
    ),
    ci(
        2,
        3,
        "co",
        "钴",
        [dec!(20), dec!(70)],
        [dec!(190), dec!(350)],
        true,
    ),
    ci(
        2,
        4,
        "mehg",
        "甲基汞",
        [dec!(5.0), dec!(45)],
        [dec!(10), dec!(120)],
        false,
    ),
    ci(
        2,
        5,
        "v",
        "钒",
        [dec!(165), dec!(752)],
        [dec!(330), dec!(1500)],
        true,
    ),
    ci(
        2,
        6,
        "cn",
        "氰化物",
        [dec!(22), dec!(135)],
        [dec!(44), dec!(270)],
        false,
    ),
];

/// Look up a construction-land item by code or Chinese name.
pub fn construction_item(code_or_name: &str) -> Option<&'static ConstructionItem> {
    let t = code_or_name.trim();
    CONSTRUCTION_ITEMS
        .iter()
        .find(|i| i.code.eq_ignore_ascii_case(t) || i.name_zh == t)
}

/// A construction-land sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstructionSample {
    pub land_class: LandClass,
    /// Contents by item code, mg/kg.
    pub values: BTreeMap<String, Decimal>,
    /// Local soil background values (GB 36600 Appendix A) by item code, for
    /// the footnote-a items (As, Co, V). Optional.
    #[serde(default)]
    pub background: BTreeMap<String, Decimal>,
}

/// One construction-land item against the standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstructionItemResult {
    pub code: String,
    pub name_zh: String,
    pub value: Decimal,
    pub screening: Decimal,
    pub intervention: Decimal,
    /// C/S (two decimals).
    pub p_screening: Decimal,
    /// C/G (two decimals).
    pub p_intervention: Decimal,
    pub risk: Risk,
}

/// What GB 36600 asks for, by the worst item of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstructionVerdict {
    /// All items ≤ screening (or within background): risk negligible.
    Negligible,
    /// Some item > screening: detailed investigation and risk assessment.
    InvestigateFurther,
    /// Some item > intervention: risk control or remediation.
    ControlOrRemediate,
}

impl ConstructionVerdict {
    pub fn label(self) -> &'static str {
        match self {
            Self::Negligible => "风险可忽略",
            Self::InvestigateFurther => "超筛选值，需详细调查和风险评估",
            Self::ControlOrRemediate => "超管制值，需风险管控或修复",
        }
    }
}

/// The construction-land assessment of a sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstructionAssessment {
    pub rules: String,
    pub land_class: LandClass,
    pub verdict: ConstructionVerdict,
    pub items: Vec<ConstructionItemResult>,
    pub above_screening: Vec<String>,
    pub above_intervention: Vec<String>,
}

/// Assess a construction-land sample against GB 36600-2018 for its land
/// class. Items are reported in table order.
pub fn assess_construction(
    sample: &ConstructionSample,
) -> Result<ConstructionAssessment, SoilError> {
    let k = sample.land_class.idx();
    let mut found: Vec<(&ConstructionItem, Decimal)> = Vec::new();
    for (code, &value) in &sample.values {
        let item = construction_item(code).ok_or_else(|| SoilError::UnknownItem(code.clone()))?;
        if value < Decimal::ZERO {
            return Err(SoilError::Negative {
                item: code.clone(),
                value,
            });
        }
        found.push((item, value));
    }
    for code in sample.background.keys() {
        if construction_item(code).is_none() {
            return Err(SoilError::UnknownItem(code.clone()));
        }
    }
    found.sort_by_key(|(i, _)| (i.table, i.number));
    let mut items = Vec::with_capacity(found.len());
    for (item, value) in found {
        let s = item.screening[k];
        let g = item.intervention[k];
        let mut r = risk(value, s, Some(g));
        if item.background_rule && r >= Risk::AboveScreening {
            let bg = sample
                .background
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(item.code))
                .map(|(_, v)| *v);
            if bg.is_some_and(|b| value <= b) {
                r = Risk::WithinBackground;
            }
        }
        items.push(ConstructionItemResult {
            code: item.code.to_string(),
            name_zh: item.name_zh.to_string(),
            value,
            screening: s,
            intervention: g,
            p_screening: index(value, s),
            p_intervention: index(value, g),
            risk: r,
        });
    }
    let above_screening: Vec<String> = items
        .iter()
        .filter(|r| r.risk >= Risk::AboveScreening)
        .map(|r| r.code.clone())
        .collect();
    let above_intervention: Vec<String> = items
        .iter()
        .filter(|r| r.risk == Risk::AboveIntervention)
        .map(|r| r.code.clone())
        .collect();
    let verdict = if !above_intervention.is_empty() {
        ConstructionVerdict::ControlOrRemediate
    } else if !above_screening.is_empty() {
        ConstructionVerdict::InvestigateFurther
    } else {
        ConstructionVerdict::Negligible
    };
    Ok(ConstructionAssessment {
        rules: CONSTRUCTION_RULES.to_string(),
        land_class: sample.land_class,
        verdict,
        items,
        above_screening,
        above_intervention,
    })
}
