//! Air station classes and the assessment scope they give.
//!
//! A district holds stations of several networks: national (国控) and
//! provincial (省控) stations by which the district itself is assessed,
//! city stations (市控), the township stations (乡镇站) by which the
//! townships are ranked, and micro or small sensors (微站/小型站) used to
//! find hot spots, which assess nobody. A station counts for the district's
//! targets, for the township ranking, for both or for neither: by default
//! as its class says, or as the office sets it for that station (a district
//! without a national or provincial station is assessed on its township
//! stations, for example).

use serde::{Deserialize, Serialize};

/// The monitoring network an air station belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StationClass {
    National,
    Provincial,
    City,
    Township,
    Micro,
}

impl StationClass {
    pub const ALL: [StationClass; 5] = [
        StationClass::National,
        StationClass::Provincial,
        StationClass::City,
        StationClass::Township,
        StationClass::Micro,
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            StationClass::National => "national",
            StationClass::Provincial => "provincial",
            StationClass::City => "city",
            StationClass::Township => "township",
            StationClass::Micro => "micro",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StationClass::National => "国控站",
            StationClass::Provincial => "省控站",
            StationClass::City => "市控站",
            StationClass::Township => "乡镇站",
            StationClass::Micro => "微站/小型站",
        }
    }

    /// The code, the label, or the short forms written in spreadsheets
    /// (国控, 省控点, 微站, 小型站, …).
    pub fn parse(text: &str) -> Option<StationClass> {
        let t = text.trim();
        let t = t
            .strip_suffix('站')
            .or_else(|| t.strip_suffix('点'))
            .unwrap_or(t);
        StationClass::ALL.into_iter().find(|c| {
            c.code() == t
                || c.label().trim_end_matches('站') == t
                || match c {
                    StationClass::Township => t == "乡镇" || t == "乡镇站",
                    StationClass::Micro => ["微", "小型", "微站/小型", "微型"].contains(&t),
                    _ => false,
                }
        })
    }

    /// What a station of this class counts for unless set otherwise.
    pub fn default_scope(self) -> StationScope {
        match self {
            StationClass::National | StationClass::Provincial | StationClass::City => {
                StationScope::DISTRICT
            }
            StationClass::Township => StationScope::TOWNSHIP,
            StationClass::Micro => StationScope::NONE,
        }
    }
}

/// What a station's data is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StationScope {
    /// The district's targets and figures (PM2.5, PM10, good days, …).
    pub district: bool,
    /// The township ranking (its township's daily values).
    pub township: bool,
}

impl StationScope {
    pub const NONE: StationScope = StationScope {
        district: false,
        township: false,
    };
    pub const DISTRICT: StationScope = StationScope {
        district: true,
        township: false,
    };
    pub const TOWNSHIP: StationScope = StationScope {
        district: false,
        township: true,
    };
    pub const BOTH: StationScope = StationScope {
        district: true,
        township: true,
    };

    /// Whether the station is in any ranking or target at all.
    pub fn any(self) -> bool {
        self.district || self.township
    }

    pub fn label(self) -> &'static str {
        match (self.district, self.township) {
            (true, true) => "区考核、乡镇排名",
            (true, false) => "区考核",
            (false, true) => "乡镇排名",
            (false, false) => "不参与考核",
        }
    }
}

/// The scope the office set for one station, or `ByClass`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeSetting {
    #[default]
    #[serde(rename = "class")]
    ByClass,
    District,
    Township,
    Both,
    None,
}

impl ScopeSetting {
    pub const ALL: [ScopeSetting; 5] = [
        ScopeSetting::ByClass,
        ScopeSetting::District,
        ScopeSetting::Township,
        ScopeSetting::Both,
        ScopeSetting::None,
    ];

    /// The stored code; `ByClass` is stored as no value.
    pub fn code(self) -> Option<&'static str> {
        match self {
            ScopeSetting::ByClass => None,
            ScopeSetting::District => Some("district"),
            ScopeSetting::Township => Some("township"),
            ScopeSetting::Both => Some("both"),
            ScopeSetting::None => Some("none"),
        }
    }

    /// The form value (`class` for `ByClass`).
    pub fn form_value(self) -> &'static str {
        self.code().unwrap_or("class")
    }

    pub fn label(self) -> &'static str {
        match self {
            ScopeSetting::ByClass => "按站点类别",
            ScopeSetting::District => "区考核",
            ScopeSetting::Township => "乡镇排名",
            ScopeSetting::Both => "区考核、乡镇排名",
            ScopeSetting::None => "不参与考核",
        }
    }

    /// A stored code, a form value or a label; empty is `ByClass`.
    pub fn parse(text: &str) -> Option<ScopeSetting> {
        let t = text.trim();
        if t.is_empty() || t == "class" || t == "默认" {
            return Some(ScopeSetting::ByClass);
        }
        let t = t.replace(['和', '，', ',', '、', ' '], "");
        ScopeSetting::ALL
            .into_iter()
            .find(|s| s.code() == Some(t.as_str()) || s.label().replace('、', "") == t)
    }
}

/// What a station counts for: `setting` when the office set one, else its
/// class's default. A station registered before classes existed (no class)
/// counts for both, as every station did then, until it is classified.
pub fn station_scope(class: Option<StationClass>, setting: ScopeSetting) -> StationScope {
    match setting {
        ScopeSetting::District => StationScope::DISTRICT,
        ScopeSetting::Township => StationScope::TOWNSHIP,
        ScopeSetting::Both => StationScope::BOTH,
        ScopeSetting::None => StationScope::NONE,
        ScopeSetting::ByClass => class.map_or(StationScope::BOTH, StationClass::default_scope),
    }
}

/// “乡镇站 · 计入乡镇排名”, “微站/小型站 · 不参与考核”, “未分类 · 计入区考核、乡镇排名”:
/// an air station's class and what it counts for, as pages show it.
pub fn class_and_scope_label(class: Option<StationClass>, setting: ScopeSetting) -> String {
    let scope = station_scope(class, setting);
    let class = class.map_or("未分类", StationClass::label);
    if scope.any() {
        format!("{class} · 计入{}", scope.label())
    } else {
        format!("{class} · {}", scope.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_read_from_codes_labels_and_short_forms() {
        for c in StationClass::ALL {
            assert_eq!(StationClass::parse(c.code()), Some(c));
            assert_eq!(StationClass::parse(c.label()), Some(c));
        }
        assert_eq!(StationClass::parse("国控"), Some(StationClass::National));
        assert_eq!(
            StationClass::parse(" 省控点 "),
            Some(StationClass::Provincial)
        );
        assert_eq!(StationClass::parse("乡镇"), Some(StationClass::Township));
        assert_eq!(StationClass::parse("小型站"), Some(StationClass::Micro));
        assert_eq!(StationClass::parse("微站"), Some(StationClass::Micro));
        assert_eq!(StationClass::parse("区控"), None);
        assert_eq!(StationClass::parse(""), None);
    }

    #[test]
    fn each_class_counts_where_its_network_is_used() {
        let by_class = |c| station_scope(Some(c), ScopeSetting::ByClass);
        assert_eq!(by_class(StationClass::National), StationScope::DISTRICT);
        assert_eq!(by_class(StationClass::Provincial), StationScope::DISTRICT);
        assert_eq!(by_class(StationClass::City), StationScope::DISTRICT);
        assert_eq!(by_class(StationClass::Township), StationScope::TOWNSHIP);
        assert_eq!(by_class(StationClass::Micro), StationScope::NONE);
        // Unclassified stations keep counting everywhere.
        assert_eq!(
            station_scope(None, ScopeSetting::ByClass),
            StationScope::BOTH
        );
        // The office's setting wins over the class.
        assert_eq!(
            station_scope(Some(StationClass::Township), ScopeSetting::Both),
            StationScope::BOTH
        );
        assert_eq!(
            station_scope(Some(StationClass::National), ScopeSetting::None),
            StationScope::NONE
        );
    }

    #[test]
    fn settings_read_from_codes_form_values_and_labels() {
        for s in ScopeSetting::ALL {
            assert_eq!(ScopeSetting::parse(s.form_value()), Some(s));
            assert_eq!(ScopeSetting::parse(s.label()), Some(s));
        }
        assert_eq!(ScopeSetting::parse(""), Some(ScopeSetting::ByClass));
        assert_eq!(
            ScopeSetting::parse("区考核和乡镇排名"),
            Some(ScopeSetting::Both)
        );
        assert_eq!(ScopeSetting::parse("全部"), None);
    }
}
