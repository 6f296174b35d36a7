//! The words of the emergency response: warning levels, performance
//! grades (绩效分级), exemption bases, kinds of measure and the four
//! pollutants whose reductions are required.
//!
//! Every enum has a stable lowercase `code` (stored, in the API and in
//! serde), a Chinese `label` (what officials read) and a `parse` that takes
//! the code, the label or the variants written in the lists cities issue.

use std::ops::{Index, IndexMut};

use serde::{Deserialize, Serialize};

/// Text as spreadsheets write it, made comparable: trimmed, full-width
/// ASCII made half-width, inner spaces removed, ASCII lower case.
pub(crate) fn fold(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            // Full-width ASCII block (Ａ, －, ％ …) → ASCII.
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            // Minus sign, en and em dashes: "B−", "B–" are written for B-.
            '\u{2212}' | '\u{2013}' | '\u{2014}' => '-',
            c => c,
        })
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A heavy-pollution-weather warning level (预警级别). Blue was removed in
/// the 2018 revision of the Henan plan (emergency.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WarningLevel {
    /// 黄色预警, response level Ⅲ.
    Yellow,
    /// 橙色预警, response level Ⅱ.
    Orange,
    /// 红色预警, response level Ⅰ.
    Red,
}

impl WarningLevel {
    /// In rising order of severity.
    pub const ALL: [WarningLevel; 3] = [
        WarningLevel::Yellow,
        WarningLevel::Orange,
        WarningLevel::Red,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            WarningLevel::Yellow => "yellow",
            WarningLevel::Orange => "orange",
            WarningLevel::Red => "red",
        }
    }

    /// 黄色 / 橙色 / 红色.
    pub fn label(self) -> &'static str {
        match self {
            WarningLevel::Yellow => "黄色",
            WarningLevel::Orange => "橙色",
            WarningLevel::Red => "红色",
        }
    }

    /// The code, the label, the one-character form (黄), the label with
    /// 预警 (黄色预警) or the response level (Ⅲ级, Ⅲ级响应, 三级).
    pub fn parse(text: &str) -> Option<WarningLevel> {
        let t = fold(text);
        let t = t.strip_suffix("响应").unwrap_or(&t);
        let t = t.strip_suffix("预警").unwrap_or(t);
        WarningLevel::ALL.into_iter().find(|l| {
            let (short, roman, number) = match l {
                WarningLevel::Yellow => ("黄", "Ⅲ级", "三级"),
                WarningLevel::Orange => ("橙", "Ⅱ级", "二级"),
                WarningLevel::Red => ("红", "Ⅰ级", "一级"),
            };
            t == l.code() || t == l.label() || t == short || t == roman || t == number
        })
    }
}

/// The performance grade of an enterprise (绩效分级). 648号 (2019) graded
/// 15 industries A/B/C; the 2020 guide (340号) grades 39 industries
/// A/B/B-/C/D and the others 引领性 / 非引领性 (emergency.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    A,
    B,
    /// B- (B 级中的 B-).
    BMinus,
    C,
    D,
    /// 引领性: treated like A.
    Leading,
    /// 非引领性: the guide's prescribed measures.
    NonLeading,
}

impl Grade {
    pub const ALL: [Grade; 7] = [
        Grade::A,
        Grade::B,
        Grade::BMinus,
        Grade::C,
        Grade::D,
        Grade::Leading,
        Grade::NonLeading,
    ];

    /// The stored code: a, b, b_minus, c, d, leading, non_leading.
    pub fn code(self) -> &'static str {
        match self {
            Grade::A => "a",
            Grade::B => "b",
            Grade::BMinus => "b_minus",
            Grade::C => "c",
            Grade::D => "d",
            Grade::Leading => "leading",
            Grade::NonLeading => "non_leading",
        }
    }

    /// A级 … D级, 引领性, 非引领性.
    pub fn label(self) -> &'static str {
        match self {
            Grade::A => "A级",
            Grade::B => "B级",
            Grade::BMinus => "B-级",
            Grade::C => "C级",
            Grade::D => "D级",
            Grade::Leading => "引领性",
            Grade::NonLeading => "非引领性",
        }
    }

    /// The code, the label or a variant (A, a级, B－, B-级企业, 引领性企业,
    /// 非引领). 未分级 is not a grade: it gives `None`, as unknown text does.
    pub fn parse(text: &str) -> Option<Grade> {
        let t = fold(text);
        let t = t.strip_suffix("企业").unwrap_or(&t);
        let t = t.strip_suffix('级').unwrap_or(t);
        Grade::ALL.into_iter().find(|g| {
            t == g.code()
                || t == fold(g.label()).trim_end_matches('级')
                || match g {
                    Grade::Leading => t == "引领",
                    Grade::NonLeading => t == "非引领",
                    _ => false,
                }
        })
    }

    /// A and 引领性: no mandatory measures during a warning, only voluntary
    /// reduction (自主减排) (emergency.md §4.2: "A: no mandatory measures";
    /// "引领性 is treated like A").
    pub fn needs_no_measures(self) -> bool {
        matches!(self, Grade::A | Grade::Leading)
    }
}

/// Why an enterprise's measures differ from its grade's (Henan's
/// exemptions, emergency.md §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exemption {
    /// 民生保障: co-processing of municipal or hazardous waste, medicine
    /// and other livelihood support.
    Livelihood,
    /// 以热定产: district heating; the maximum load follows heat demand.
    HeatDemand,
    /// 以量定产: military products and exports; the maximum load is fixed
    /// by the order volume.
    OrderVolume,
    /// 战略性新兴产业: no measures, voluntary reduction.
    StrategicEmerging,
    /// 其他 (the notice names the basis).
    Other,
}

impl Exemption {
    pub const ALL: [Exemption; 5] = [
        Exemption::Livelihood,
        Exemption::HeatDemand,
        Exemption::OrderVolume,
        Exemption::StrategicEmerging,
        Exemption::Other,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Exemption::Livelihood => "livelihood",
            Exemption::HeatDemand => "heat_demand",
            Exemption::OrderVolume => "order_volume",
            Exemption::StrategicEmerging => "strategic_emerging",
            Exemption::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Exemption::Livelihood => "民生保障",
            Exemption::HeatDemand => "以热定产",
            Exemption::OrderVolume => "以量定产",
            Exemption::StrategicEmerging => "战略性新兴产业",
            Exemption::Other => "其他",
        }
    }

    /// The code, the label, or a 保障类型 as lists write it (emergency.md
    /// §8): 供暖/供热 → 以热定产 (district heating follows heat demand,
    /// §4.3 item 2); 垃圾焚烧, 危废处置, 医药 → 民生保障; 出口, 军工 →
    /// 以量定产 (§4.3 item 4).
    pub fn parse(text: &str) -> Option<Exemption> {
        let t = fold(text);
        let t = t.strip_suffix("企业").unwrap_or(&t);
        let t = t.strip_suffix('类').unwrap_or(t);
        let alias = |e: Exemption| -> &'static [&'static str] {
            match e {
                Exemption::Livelihood => &["民生", "民生保障", "垃圾焚烧", "危废处置", "医药"],
                Exemption::HeatDemand => &["供暖", "供热", "集中供热", "集中供暖"],
                Exemption::OrderVolume => &["出口", "军工", "军品", "出口订单"],
                Exemption::StrategicEmerging => &["战略新兴产业", "战略性新兴", "战略新兴"],
                Exemption::Other => &[],
            }
        };
        Exemption::ALL
            .into_iter()
            .find(|e| t == e.code() || t == e.label() || alias(*e).contains(&t))
    }
}

/// What a measure does to a production unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeasureKind {
    /// 停产: the unit or process stops.
    Stop,
    /// 限产: the unit runs at no more than a load limit.
    Limit,
    /// 错峰/轮产: the unit stops in set hours or takes turns with others.
    Stagger,
}

impl MeasureKind {
    pub const ALL: [MeasureKind; 3] = [MeasureKind::Stop, MeasureKind::Limit, MeasureKind::Stagger];

    pub fn code(self) -> &'static str {
        match self {
            MeasureKind::Stop => "stop",
            MeasureKind::Limit => "limit",
            MeasureKind::Stagger => "stagger",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MeasureKind::Stop => "停产",
            MeasureKind::Limit => "限产",
            MeasureKind::Stagger => "错峰生产",
        }
    }

    /// The code, the label, or 错峰, 轮产, 停产, 限产 as a 措施类型 cell.
    pub fn parse(text: &str) -> Option<MeasureKind> {
        let t = fold(text);
        MeasureKind::ALL.into_iter().find(|k| {
            t == k.code()
                || t == k.label()
                || match k {
                    MeasureKind::Stagger => {
                        ["错峰", "轮产", "错峰轮产", "错峰/轮产"].contains(&t.as_str())
                    }
                    MeasureKind::Stop => ["停", "停止生产"].contains(&t.as_str()),
                    MeasureKind::Limit => ["限", "限制生产"].contains(&t.as_str()),
                }
        })
    }
}

/// A pollutant whose reduction the plans require (SO₂, NOx, PM, VOCs:
/// emergency.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pollutant {
    So2,
    Nox,
    /// 颗粒物 (particulate matter, as the lists total it).
    Pm,
    Vocs,
}

impl Pollutant {
    pub const ALL: [Pollutant; 4] = [
        Pollutant::So2,
        Pollutant::Nox,
        Pollutant::Pm,
        Pollutant::Vocs,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Pollutant::So2 => "so2",
            Pollutant::Nox => "nox",
            Pollutant::Pm => "pm",
            Pollutant::Vocs => "vocs",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Pollutant::So2 => "二氧化硫",
            Pollutant::Nox => "氮氧化物",
            Pollutant::Pm => "颗粒物",
            Pollutant::Vocs => "VOCs",
        }
    }
}

/// One value per [`Pollutant`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PerPollutant<T> {
    pub so2: T,
    pub nox: T,
    pub pm: T,
    pub vocs: T,
}

impl<T: Copy> PerPollutant<T> {
    /// The same value for all four.
    pub const fn all(value: T) -> Self {
        PerPollutant {
            so2: value,
            nox: value,
            pm: value,
            vocs: value,
        }
    }
}

impl<T> Index<Pollutant> for PerPollutant<T> {
    type Output = T;
    fn index(&self, p: Pollutant) -> &T {
        match p {
            Pollutant::So2 => &self.so2,
            Pollutant::Nox => &self.nox,
            Pollutant::Pm => &self.pm,
            Pollutant::Vocs => &self.vocs,
        }
    }
}

impl<T> IndexMut<Pollutant> for PerPollutant<T> {
    fn index_mut(&mut self, p: Pollutant) -> &mut T {
        match p {
            Pollutant::So2 => &mut self.so2,
            Pollutant::Nox => &mut self.nox,
            Pollutant::Pm => &mut self.pm,
            Pollutant::Vocs => &mut self.vocs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_labels_round_trip() {
        for l in WarningLevel::ALL {
            assert_eq!(WarningLevel::parse(l.code()), Some(l));
            assert_eq!(WarningLevel::parse(l.label()), Some(l));
            let json = serde_json::to_string(&l).unwrap();
            assert_eq!(json, format!("\"{}\"", l.code()));
            assert_eq!(serde_json::from_str::<WarningLevel>(&json).unwrap(), l);
        }
        for g in Grade::ALL {
            assert_eq!(Grade::parse(g.code()), Some(g));
            assert_eq!(Grade::parse(g.label()), Some(g));
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(json, format!("\"{}\"", g.code()));
            assert_eq!(serde_json::from_str::<Grade>(&json).unwrap(), g);
        }
        for e in Exemption::ALL {
            assert_eq!(Exemption::parse(e.code()), Some(e));
            assert_eq!(Exemption::parse(e.label()), Some(e));
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.code()));
            assert_eq!(serde_json::from_str::<Exemption>(&json).unwrap(), e);
        }
        for k in MeasureKind::ALL {
            assert_eq!(MeasureKind::parse(k.code()), Some(k));
            assert_eq!(MeasureKind::parse(k.label()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.code()));
            assert_eq!(serde_json::from_str::<MeasureKind>(&json).unwrap(), k);
        }
        for p in Pollutant::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.code()));
        }
    }

    #[test]
    fn spreadsheet_variants_parse() {
        assert_eq!(
            WarningLevel::parse(" 橙色预警 "),
            Some(WarningLevel::Orange)
        );
        assert_eq!(WarningLevel::parse("红"), Some(WarningLevel::Red));
        assert_eq!(WarningLevel::parse("Ⅲ级响应"), Some(WarningLevel::Yellow));
        assert_eq!(WarningLevel::parse("YELLOW"), Some(WarningLevel::Yellow));
        assert_eq!(WarningLevel::parse("蓝色"), None);
        assert_eq!(Grade::parse("B－"), Some(Grade::BMinus));
        assert_eq!(Grade::parse("b-级企业"), Some(Grade::BMinus));
        assert_eq!(Grade::parse("Ｂ"), Some(Grade::B));
        assert_eq!(Grade::parse("A级"), Some(Grade::A));
        assert_eq!(Grade::parse("引领性企业"), Some(Grade::Leading));
        assert_eq!(Grade::parse("非引领"), Some(Grade::NonLeading));
        assert_eq!(Grade::parse("未分级"), None);
        assert_eq!(Grade::parse("E"), None);
        assert_eq!(Exemption::parse("供暖"), Some(Exemption::HeatDemand));
        assert_eq!(Exemption::parse("出口"), Some(Exemption::OrderVolume));
        assert_eq!(Exemption::parse("垃圾焚烧"), Some(Exemption::Livelihood));
        assert_eq!(
            Exemption::parse("战略性新兴产业企业"),
            Some(Exemption::StrategicEmerging)
        );
        assert_eq!(Exemption::parse("随便"), None);
        assert_eq!(MeasureKind::parse("轮产"), Some(MeasureKind::Stagger));
        assert!(Grade::A.needs_no_measures() && Grade::Leading.needs_no_measures());
        assert!(!Grade::BMinus.needs_no_measures() && !Grade::NonLeading.needs_no_measures());
    }
}
