//! Alarm rules as data: what each screen looks for, with its parameters,
//! the site kinds and factors it applies to, its severity and whether it
//! opens a 督办 case by itself. The platform ships [`RuleSet::defaults`];
//! the office edits a copy, and every saved set is a new version (stored
//! and audited by the service layer).

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

/// What a rule screens for. Each has one screen in [`crate::screens`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// The judged (折算) hourly value over the site's limit for
    /// `min_hours` consecutive valid hours.
    Exceedance,
    /// The daily mean of valid hours (China Standard Time day, at least
    /// `min_hours` valid hours) over the site's limit.
    DailyExceedance,
    /// No frame from the site's logger for `threshold` minutes.
    NoData,
    /// Constant value (恒值): `min_hours` consecutive valid hours whose
    /// max − min ≤ `threshold` (in the factor's unit).
    Constant,
    /// Zero value (零值) for `min_hours` consecutive valid hours.
    Zero,
    /// A negative value below −`threshold` (the zero-drift tolerance).
    Negative,
    /// Over the measuring range: hours flagged T.
    OverRange,
    /// Sudden drop (突降): an hour below (1 − `threshold`) × the median of
    /// the previous 24 valid hours.
    AbruptDrop,
    /// Isolated spike: above median + `threshold` × MAD of the previous 24
    /// valid hours.
    Spike,
    /// O₂ dilution (稀释): O₂ (a19001) above `threshold` % for `min_hours`
    /// consecutive valid hours while the judged value is within the limit.
    Dilution,
    /// Too many calibration/maintenance/fault hours (C, M, D) in one China
    /// Standard Time day: at least `min_hours`.
    FlagRatio,
    /// An air station's hourly value above `threshold` × the district mean
    /// of the other stations for `min_hours` consecutive hours (a local
    /// source near the station).
    Hotspot,
    /// The logger's reported hourly value disagrees with the platform's
    /// rollup of its minute data: relative difference above `threshold`
    /// (0.1 = 10 %), or a valid (N) hour the minutes cannot make valid,
    /// for `min_hours` consecutive hours (谁出数谁负责, air task 46).
    LoggerMismatch,
    /// The day's transmission rate (hours received ÷ 24, China Standard
    /// Time day, complete days only) below `threshold` (0.9 = 90 %).
    TransmissionRate,
    /// A township sliding down the air-quality ranking: its rank by the
    /// comprehensive index over the last `min_hours` / 24 days at least
    /// `threshold` places below its rank over the days before. Raised on
    /// the township's first assessed station.
    RankingSlide,
    /// 治污未同步 (用电监控): a production circuit running while the
    /// treatment circuit serving it is off, for `min_hours` hours. Raised
    /// on the treatment meter (see [`crate::power`]).
    TreatmentOff,
    /// 空转/降频: the treatment circuit running below `threshold` (0.5) ×
    /// its learned normal load while production is at normal load, for
    /// `min_hours` hours.
    TreatmentIdle,
    /// 夜间用电异常: a day's night-time mean load above `threshold` (1.5) ×
    /// its daytime mean.
    NightUse,
}

impl RuleKind {
    pub const ALL: [RuleKind; 18] = [
        RuleKind::Exceedance,
        RuleKind::DailyExceedance,
        RuleKind::NoData,
        RuleKind::Constant,
        RuleKind::Zero,
        RuleKind::Negative,
        RuleKind::OverRange,
        RuleKind::AbruptDrop,
        RuleKind::Spike,
        RuleKind::Dilution,
        RuleKind::FlagRatio,
        RuleKind::Hotspot,
        RuleKind::LoggerMismatch,
        RuleKind::TransmissionRate,
        RuleKind::RankingSlide,
        RuleKind::TreatmentOff,
        RuleKind::TreatmentIdle,
        RuleKind::NightUse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Exceedance => "exceedance",
            RuleKind::DailyExceedance => "daily_exceedance",
            RuleKind::NoData => "no_data",
            RuleKind::Constant => "constant",
            RuleKind::Zero => "zero",
            RuleKind::Negative => "negative",
            RuleKind::OverRange => "over_range",
            RuleKind::AbruptDrop => "abrupt_drop",
            RuleKind::Spike => "spike",
            RuleKind::Dilution => "dilution",
            RuleKind::FlagRatio => "flag_ratio",
            RuleKind::Hotspot => "hotspot",
            RuleKind::LoggerMismatch => "logger_mismatch",
            RuleKind::TransmissionRate => "transmission_rate",
            RuleKind::RankingSlide => "ranking_slide",
            RuleKind::TreatmentOff => "treatment_off",
            RuleKind::TreatmentIdle => "treatment_idle",
            RuleKind::NightUse => "night_use",
        }
    }

    pub fn parse(s: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The category an official reads: 超标, 离线, 数据异常 (fraud screens),
    /// 热点, 用电异常.
    pub fn category(self) -> &'static str {
        match self {
            RuleKind::Exceedance | RuleKind::DailyExceedance => "超标",
            RuleKind::NoData | RuleKind::TransmissionRate => "离线",
            RuleKind::Hotspot | RuleKind::RankingSlide => "热点",
            RuleKind::TreatmentOff | RuleKind::TreatmentIdle | RuleKind::NightUse => "用电异常",
            _ => "数据异常",
        }
    }

    /// Whether the rule judges against the site's limit (and so applies
    /// only to factors that have one).
    pub fn needs_limit(self) -> bool {
        matches!(
            self,
            RuleKind::Exceedance | RuleKind::DailyExceedance | RuleKind::Dilution
        )
    }
}

/// How serious an alarm (and its case) is; sets the case deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 一般.
    Minor,
    /// 较重.
    Major,
    /// 严重.
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Minor, Severity::Major, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Minor => "一般",
            Severity::Major => "较重",
            Severity::Critical => "严重",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One alarm rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Stable code, unique in a set (alarms refer to it), e.g. `stack_exceedance`.
    pub code: String,
    pub kind: RuleKind,
    /// Chinese name shown to officials, e.g. 小时浓度超标.
    pub name: String,
    /// Site kinds it applies to; empty = all.
    #[serde(default)]
    pub site_kinds: Vec<String>,
    /// Factors (HJ 212 codes) it applies to; empty = every factor (with a
    /// limit, for rules judged against one).
    #[serde(default)]
    pub factors: Vec<String>,
    /// Consecutive hours (or hours per day) the condition must hold.
    #[serde(default)]
    pub min_hours: u32,
    /// The rule's number (see [`RuleKind`]: minutes, a tolerance, a ratio).
    #[serde(default)]
    pub threshold: Option<Decimal>,
    pub severity: Severity,
    /// Opens a 督办 case by itself when it fires.
    #[serde(default)]
    pub auto_case: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl Rule {
    pub fn applies_to_kind(&self, kind: &str) -> bool {
        self.site_kinds.is_empty() || self.site_kinds.iter().any(|k| k == kind)
    }

    pub fn applies_to_factor(&self, factor: &str) -> bool {
        self.factors.is_empty() || self.factors.iter().any(|f| f == factor)
    }

    /// `threshold` or the given default.
    pub fn threshold_or(&self, default: Decimal) -> Decimal {
        self.threshold.unwrap_or(default)
    }

    /// `min_hours`, at least 1.
    pub fn hours(&self) -> u32 {
        self.min_hours.max(1)
    }
}

/// A version of the rules in force, with the case settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Days to rectify a case, by severity (一般, 较重, 严重).
    pub case_days: [u32; 3],
    /// A new alarm of the same site, factor and rule within this many days
    /// of its case being closed reopens that case instead of a new one.
    pub reopen_window_days: u32,
    /// The department that supervises each category of case (扬尘污染 →
    /// 区城乡建设管理局 …): an overdue case is escalated to it as well as
    /// to the office. Sets saved before this existed have none.
    #[serde(default)]
    pub supervisors: Vec<Supervisor>,
}

/// The department supervising one category of 督办 case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supervisor {
    /// A case category (散乱污企业, 扬尘污染, …).
    pub category: String,
    /// The department's name as the plan spells it.
    pub organisation: String,
}

/// Site kinds with emission limits (the sources).
const SOURCES: [&str; 3] = ["stack_gas", "waste_water", "vocs"];
/// Site kinds whose loggers report every hour or faster.
const ONLINE: [&str; 8] = [
    "air_station",
    "stack_gas",
    "waste_water",
    "surface_water",
    "dust",
    "vocs",
    "fume",
    "power",
];

fn kinds(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[allow(clippy::too_many_arguments)]
fn rule(
    code: &str,
    kind: RuleKind,
    name: &str,
    site_kinds: &[&str],
    factors: &[&str],
    min_hours: u32,
    threshold: Option<Decimal>,
    severity: Severity,
    auto_case: bool,
) -> Rule {
    Rule {
        code: code.into(),
        kind,
        name: name.into(),
        site_kinds: kinds(site_kinds),
        factors: factors.iter().map(|s| s.to_string()).collect(),
        min_hours,
        threshold,
        severity,
        auto_case,
        enabled: true,
    }
}

impl RuleSet {
    /// The defaults shipped: `../shared/spec/supervision-rules.md` §1 and
    /// §6 (design defaults pending local documents), HJ 75/76 validity.
    pub fn defaults() -> RuleSet {
        use RuleKind::*;
        use Severity::*;
        RuleSet {
            rules: vec![
                rule(
                    "source_exceedance",
                    Exceedance,
                    "小时浓度超标",
                    &SOURCES,
                    &[],
                    3,
                    None,
                    Major,
                    true,
                ),
                rule(
                    "source_daily_exceedance",
                    DailyExceedance,
                    "日均浓度超标",
                    &SOURCES,
                    &[],
                    20,
                    None,
                    Major,
                    false,
                ),
                rule(
                    "dust_pm10",
                    Exceedance,
                    "扬尘 PM10 小时超标",
                    &["dust"],
                    &["a34002"],
                    1,
                    None,
                    Minor,
                    false,
                ),
                rule(
                    "fume_exceedance",
                    Exceedance,
                    "油烟浓度超标",
                    &["fume"],
                    &[],
                    1,
                    None,
                    Minor,
                    false,
                ),
                rule(
                    "offline",
                    NoData,
                    "数据中断（离线）",
                    &ONLINE,
                    &[],
                    0,
                    Some(dec!(120)),
                    Minor,
                    false,
                ),
                rule(
                    "constant",
                    Constant,
                    "恒值（数据长时间不变）",
                    &SOURCES,
                    &[],
                    6,
                    Some(dec!(0.1)),
                    Major,
                    false,
                ),
                rule("zero", Zero, "零值", &SOURCES, &[], 1, None, Minor, false),
                rule(
                    "negative",
                    Negative,
                    "负值",
                    &SOURCES,
                    &[],
                    1,
                    Some(dec!(0)),
                    Minor,
                    false,
                ),
                rule(
                    "over_range",
                    OverRange,
                    "超量程（T 标记）",
                    &SOURCES,
                    &[],
                    1,
                    None,
                    Minor,
                    false,
                ),
                rule(
                    "abrupt_drop",
                    AbruptDrop,
                    "浓度突降",
                    &SOURCES,
                    &[],
                    1,
                    Some(dec!(0.5)),
                    Minor,
                    false,
                ),
                rule(
                    "spike",
                    Spike,
                    "孤立尖峰",
                    &SOURCES,
                    &[],
                    1,
                    Some(dec!(5)),
                    Minor,
                    false,
                ),
                rule(
                    "dilution",
                    Dilution,
                    "氧含量异常（疑似稀释）",
                    &["stack_gas"],
                    &[],
                    3,
                    Some(dec!(19)),
                    Major,
                    false,
                ),
                rule(
                    "flag_ratio",
                    FlagRatio,
                    "校准/维护/故障标记过多",
                    &SOURCES,
                    &[],
                    6,
                    None,
                    Minor,
                    false,
                ),
                rule(
                    "logger_mismatch",
                    LoggerMismatch,
                    "数采仪小时值与平台计算值不符",
                    &SOURCES,
                    &[],
                    1,
                    Some(dec!(0.1)),
                    Major,
                    false,
                ),
                rule(
                    "transmission_rate",
                    TransmissionRate,
                    "日数据传输率不足",
                    &ONLINE,
                    &[],
                    0,
                    Some(dec!(0.9)),
                    Minor,
                    false,
                ),
                rule(
                    "ranking_slide",
                    RankingSlide,
                    "乡镇空气质量排名明显下滑",
                    &["air_station"],
                    &[],
                    168,
                    Some(dec!(3)),
                    Minor,
                    false,
                ),
                rule(
                    "treatment_off",
                    TreatmentOff,
                    "治污设施未同步运行",
                    &["power"],
                    &[],
                    1,
                    None,
                    Major,
                    true,
                ),
                rule(
                    "treatment_idle",
                    TreatmentIdle,
                    "治污设施空转或降频",
                    &["power"],
                    &[],
                    2,
                    Some(dec!(0.5)),
                    Major,
                    false,
                ),
                rule(
                    "night_use",
                    NightUse,
                    "夜间用电异常",
                    &["power"],
                    &[],
                    0,
                    Some(dec!(1.5)),
                    Minor,
                    false,
                ),
                rule(
                    "station_hotspot",
                    Hotspot,
                    "站点 PM2.5 明显高于全区均值",
                    &["air_station"],
                    &["a34004"],
                    3,
                    Some(dec!(1.5)),
                    Minor,
                    false,
                ),
            ],
            case_days: [7, 3, 1],
            reopen_window_days: 30,
            // Lead departments of the plans' tasks for each kind of problem;
            // 区行政综合执法局 acts as the environment authority.
            supervisors: [
                ("散乱污企业", "区科技与工信局"),
                ("扬尘污染", "区城乡建设管理局"),
                ("露天焚烧", "区农业农村局"),
                ("餐饮油烟", "区行政综合执法局"),
                ("入河排污口", "区行政综合执法局"),
                ("黑臭水体", "区城乡建设管理局"),
                ("超标排放", "区行政综合执法局"),
                ("自动监控异常", "区行政综合执法局"),
            ]
            .into_iter()
            .map(|(category, organisation)| Supervisor {
                category: category.into(),
                organisation: organisation.into(),
            })
            .collect(),
        }
    }

    /// A set saved before a rule kind existed gains that kind's default
    /// rules (disabled ones stay as saved: the editor switches rules on and
    /// off, it does not remove them, so a kind absent from a saved set is
    /// one the set never knew). Returns the codes added.
    pub fn add_missing_kinds(&mut self) -> Vec<String> {
        let mut added = Vec::new();
        for rule in RuleSet::defaults().rules {
            let known = self.rules.iter().any(|r| r.kind == rule.kind);
            let taken = self.rules.iter().any(|r| r.code == rule.code);
            if !known && !taken {
                added.push(rule.code.clone());
                self.rules.push(rule);
            }
        }
        added
    }

    /// The department supervising cases of `category`, if one is set.
    pub fn supervisor(&self, category: &str) -> Option<&str> {
        self.supervisors
            .iter()
            .find(|s| s.category == category.trim())
            .map(|s| s.organisation.as_str())
    }

    pub fn rule(&self, code: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.code == code)
    }

    /// Days to rectify a case of `severity`.
    pub fn case_days(&self, severity: Severity) -> u32 {
        self.case_days[severity as usize]
    }

    /// Every problem of the set, in Chinese (empty: the set can be saved).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.rules {
            let code_ok = !r.code.is_empty()
                && r.code.len() <= 40
                && r.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !code_ok {
                out.push(format!(
                    "规则代码「{}」应为 1–40 位小写字母、数字或下划线",
                    r.code
                ));
            }
            if !seen.insert(r.code.as_str()) {
                out.push(format!("规则代码「{}」重复", r.code));
            }
            if r.name.trim().is_empty() || r.name.chars().count() > 60 {
                out.push(format!("规则「{}」的名称应为 1–60 个字", r.code));
            }
            if r.min_hours > 24 * 31 {
                out.push(format!("规则「{}」的持续小时数不能超过 744", r.name));
            }
            if let Some(t) = r.threshold
                && t < Decimal::ZERO
            {
                out.push(format!("规则「{}」的阈值不能为负数", r.name));
            }
            if r.kind == RuleKind::NoData && r.threshold.is_none_or(|t| t < Decimal::ONE) {
                out.push(format!("规则「{}」需填写离线分钟数（≥ 1）", r.name));
            }
        }
        if self.case_days.iter().any(|d| *d == 0 || *d > 365) {
            out.push("督办期限应为 1–365 天".into());
        }
        let mut categories = std::collections::BTreeSet::new();
        for sup in &self.supervisors {
            let ok = |t: &str| !t.trim().is_empty() && t.chars().count() <= 64;
            if !ok(&sup.category) || !ok(&sup.organisation) {
                out.push("督办类别和主管部门均应为 1–64 个字".into());
            }
            if !categories.insert(sup.category.trim()) {
                out.push(format!("督办类别「{}」的主管部门重复", sup.category));
            }
        }
        if self.reopen_window_days > 365 {
            out.push("重新打开的时间窗口不能超过 365 天".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_round_trip_through_json() {
        let set = RuleSet::defaults();
        assert!(set.problems().is_empty(), "{:?}", set.problems());
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(serde_json::from_str::<RuleSet>(&json).unwrap(), set);
    }

    #[test]
    fn a_set_saved_before_the_power_rules_gains_them_and_keeps_its_own() {
        let mut saved = RuleSet::defaults();
        saved.rules.retain(|r| {
            !matches!(
                r.kind,
                RuleKind::TreatmentOff | RuleKind::TreatmentIdle | RuleKind::NightUse
            )
        });
        saved.rules[0].enabled = false;
        let added = saved.add_missing_kinds();
        assert_eq!(added, vec!["treatment_off", "treatment_idle", "night_use"]);
        assert!(!saved.rules[0].enabled, "the saved choice stays");
        assert!(saved.add_missing_kinds().is_empty(), "once only");
        assert!(saved.problems().is_empty());
    }

    #[test]
    fn a_duplicate_code_and_a_missing_offline_threshold_are_reported() {
        let mut set = RuleSet::defaults();
        let mut copy = set.rules[0].clone();
        copy.name = "副本".into();
        set.rules.push(copy);
        set.rules
            .iter_mut()
            .find(|r| r.kind == RuleKind::NoData)
            .unwrap()
            .threshold = None;
        let p = set.problems();
        assert!(p.iter().any(|m| m.contains("重复")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("离线分钟数")), "{p:?}");
    }
}
