//! The validated, normalised campaign: every organisation reference resolved
//! to one canonical name, every date real, every number exact.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A whole campaign: one district's plans for one year.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    /// Stable key of the campaign, e.g. `pingyuan-2020`.
    pub key: String,
    pub name: String,
    /// The district, as the plan names it (e.g. 平原示范区).
    pub district: String,
    pub year: i32,
    pub document: Option<String>,
    pub issued: Option<NaiveDate>,
    /// Canonical name of the issuing organisation.
    pub issuer: Option<String>,
    pub organisations: Vec<Organisation>,
    pub plans: Vec<Plan>,
    pub targets: Vec<Target>,
    pub tasks: Vec<Task>,
    pub sections: Vec<Section>,
    pub limit_sets: Vec<LimitSet>,
    /// The monthly scoring scheme (月考核), when the plan defines one.
    pub assessment: Option<Assessment>,
    /// Monthly control values per township (air task 35).
    pub controls: Vec<MonthlyControl>,
    /// The files the plan was parsed from, in the order given: stored with
    /// each revision so the platform evaluates and exports exactly what was
    /// loaded.
    pub sources: Vec<PlanFile>,
}

/// The monthly assessment (月考核/月扣款) of a campaign: every organisation
/// starts the month at `base` points; each rule adds its points (negative
/// for deductions) per occurrence.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub base: Decimal,
    pub rules: Vec<AssessmentRule>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentRule {
    pub kind: AssessmentKind,
    pub applies: Applies,
    /// One figure per occurrence, or (for [`AssessmentKind::AirRank`]) one
    /// per rank, 1st first; ranks beyond the list score 0.
    pub points: Vec<Decimal>,
    /// How the plan words the rule.
    pub note: Option<String>,
}

/// What a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssessmentKind {
    /// The township's rank by the month's comprehensive air index.
    AirRank,
    /// Each µg/m³ of the month's PM2.5 above the township's control value.
    Pm25Control,
    /// Each overdue part at the time of the report.
    Overdue,
    /// Each progress report returned in the month.
    Returned,
    /// Each fire point in the township in the month.
    FirePoint,
    /// Each water section of the township not at its class (year to date).
    Section,
    /// Each 督办 case past its deadline and not closed at the end of the
    /// month: the organisation's own, and for a township also those of the
    /// enterprises in its territory (属地管理).
    CaseOverdue,
}

impl AssessmentKind {
    pub const ALL: [AssessmentKind; 7] = [
        AssessmentKind::AirRank,
        AssessmentKind::Pm25Control,
        AssessmentKind::Overdue,
        AssessmentKind::Returned,
        AssessmentKind::FirePoint,
        AssessmentKind::Section,
        AssessmentKind::CaseOverdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssessmentKind::AirRank => "air-rank",
            AssessmentKind::Pm25Control => "pm25-control",
            AssessmentKind::Overdue => "overdue",
            AssessmentKind::Returned => "returned",
            AssessmentKind::FirePoint => "fire-point",
            AssessmentKind::Section => "section",
            AssessmentKind::CaseOverdue => "case-overdue",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AssessmentKind::AirRank => "空气质量月排名",
            AssessmentKind::Pm25Control => "PM2.5 月控制值",
            AssessmentKind::Overdue => "任务逾期",
            AssessmentKind::Returned => "报送被退回",
            AssessmentKind::FirePoint => "秸秆焚烧火点",
            AssessmentKind::Section => "水质断面未达标",
            AssessmentKind::CaseOverdue => "督办单逾期",
        }
    }

    /// Whether the rule is about a township's territory (air, fire
    /// points, sections) rather than anyone's tasks.
    pub fn territorial(self) -> bool {
        !matches!(
            self,
            AssessmentKind::Overdue | AssessmentKind::Returned | AssessmentKind::CaseOverdue
        )
    }
}

/// Whom a rule scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Applies {
    Townships,
    Departments,
    All,
}

impl Applies {
    pub fn as_str(self) -> &'static str {
        match self {
            Applies::Townships => "townships",
            Applies::Departments => "departments",
            Applies::All => "all",
        }
    }

    pub fn includes(self, kind: OrgKind) -> bool {
        match self {
            Applies::Townships => kind == OrgKind::Township,
            Applies::Departments => kind == OrgKind::Department,
            Applies::All => matches!(kind, OrgKind::Township | OrgKind::Department),
        }
    }
}

/// A township's monthly PM2.5 control values, January to December (µg/m³).
#[derive(Debug, Clone, PartialEq)]
pub struct MonthlyControl {
    pub township: String,
    /// µg/m³, January to December.
    pub pm25: Vec<Decimal>,
    /// Electricity use of the township's monitored enterprises (kWh), and
    /// the emissions of its monitored stacks (t), January to December,
    /// where the plan sets them (air task 35: PM2.5, 排放量, 用电量).
    pub electricity_kwh: Option<Vec<Decimal>>,
    pub so2_t: Option<Vec<Decimal>>,
    pub nox_t: Option<Vec<Decimal>>,
    pub pm_t: Option<Vec<Decimal>>,
}

/// One file of a plan folder (`plan.toml`, `air.toml`, …) and its text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanFile {
    pub name: String,
    pub text: String,
}

/// Organisation kinds of the campaign: 攻坚办, 部门, 乡镇/街道, 企业 and
/// bodies outside the district administration (电力公司, 投资集团, a city
/// bureau). Stored and serialised as its ASCII name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgKind {
    /// The campaign office (攻坚办).
    Office,
    /// A district department (部门).
    Department,
    /// A township or sub-district (乡镇/街道).
    Township,
    /// An enterprise.
    Enterprise,
    /// A body outside the district administration.
    External,
}

impl OrgKind {
    pub const ALL: [OrgKind; 5] = [
        OrgKind::Office,
        OrgKind::Department,
        OrgKind::Township,
        OrgKind::Enterprise,
        OrgKind::External,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::Office => "office",
            OrgKind::Department => "department",
            OrgKind::Township => "township",
            OrgKind::Enterprise => "enterprise",
            OrgKind::External => "external",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgKind::Office => "攻坚办",
            OrgKind::Department => "部门",
            OrgKind::Township => "乡镇/街道",
            OrgKind::Enterprise => "企业",
            OrgKind::External => "外部单位",
        }
    }

    /// The stored name, or `outside` as plan files spell an external body.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "outside" => Some(OrgKind::External),
            t => OrgKind::ALL.into_iter().find(|k| k.as_str() == t),
        }
    }
}

/// An organisation kind that is none of [`OrgKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的单位类型“{0}”")]
pub struct UnknownOrgKind(pub String);

impl std::str::FromStr for OrgKind {
    type Err = UnknownOrgKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrgKind::parse(s).ok_or_else(|| UnknownOrgKind(s.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Stable ASCII key; survives renaming.
    pub key: String,
    /// The one spelling used everywhere after normalisation.
    pub name: String,
    pub kind: OrgKind,
    pub full_name: Option<String>,
    /// Other spellings found in the plan text; they resolve to `name`.
    pub aliases: Vec<String>,
}

/// How task numbers are unique inside a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbering {
    /// Numbered 1..n through the whole plan (the air plan); tasks have no group.
    Plan,
    /// Numbered 1..n inside each group (the water and soil plans).
    Group,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `air`, `water`, `soil`, …
    pub id: String,
    pub title: String,
    pub numbering: Numbering,
    pub groups: Vec<Group>,
    /// Townships that carry out every task unless a task says otherwise
    /// ("以下均需各地政府落实，不再列出").
    pub default_townships: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// A numbered task of 三、主要任务.
    Task,
    /// A duty assigned in 四、工作要求.
    Duty,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Task => "task",
            TaskKind::Duty => "duty",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `二`, or `四(四)` for a 工作要求 paragraph.
    pub id: String,
    pub title: String,
    pub kind: TaskKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    Le,
    Lt,
    Ge,
    Gt,
    Eq,
}

impl Comparator {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparator::Le => "<=",
            Comparator::Lt => "<",
            Comparator::Ge => ">=",
            Comparator::Gt => ">",
            Comparator::Eq => "=",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "<=" | "≤" => Comparator::Le,
            "<" => Comparator::Lt,
            ">=" | "≥" => Comparator::Ge,
            ">" => Comparator::Gt,
            "=" | "==" => Comparator::Eq,
            _ => return None,
        })
    }

    /// Whether `actual` satisfies `actual <cmp> threshold`.
    pub fn holds(self, actual: Decimal, threshold: Decimal) -> bool {
        match self {
            Comparator::Le => actual <= threshold,
            Comparator::Lt => actual < threshold,
            Comparator::Ge => actual >= threshold,
            Comparator::Gt => actual > threshold,
            Comparator::Eq => actual == threshold,
        }
    }
}

/// Where a target applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    District,
    Township(String),
    Station(String),
    Section(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::District => f.write_str("district"),
            Scope::Township(n) => write!(f, "township:{n}"),
            Scope::Station(n) => write!(f, "station:{n}"),
            Scope::Section(n) => write!(f, "section:{n}"),
        }
    }
}

/// How a target's actual value is obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// Computed from monitoring data through the standards engine; the
    /// statistic names what to compute (see docs/plan-format.md).
    Data { statistic: Statistic },
    /// Taken from figures reported by the responsible organisations.
    Reported,
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measure::Data { statistic } => write!(f, "data:{statistic}"),
            Measure::Reported => f.write_str("reported"),
        }
    }
}

/// The statistics the standards engine is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statistic {
    /// HJ 663 calendar-year mean of a pollutant's daily values.
    AnnualMean(String),
    /// Days with AQI ≤ 100 (优良天数).
    GoodDays,
    /// Days with AQI > 200 (重度及以上污染天数).
    HeavyPollutionDays,
    /// GB 3838 single-factor class of a section over the period.
    SectionClass,
}

impl Statistic {
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(p) = s.strip_prefix("annual-mean:") {
            return (!p.is_empty()).then(|| Statistic::AnnualMean(p.to_owned()));
        }
        Some(match s {
            "good-days" => Statistic::GoodDays,
            "heavy-pollution-days" => Statistic::HeavyPollutionDays,
            "section-class" => Statistic::SectionClass,
            _ => return None,
        })
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statistic::AnnualMean(p) => write!(f, "annual-mean:{p}"),
            Statistic::GoodDays => f.write_str("good-days"),
            Statistic::HeavyPollutionDays => f.write_str("heavy-pollution-days"),
            Statistic::SectionClass => f.write_str("section-class"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Stable key, e.g. `air-pm25`.
    pub key: String,
    pub plan: String,
    pub indicator: String,
    pub scope: Scope,
    pub comparator: Comparator,
    /// The threshold; `None` when the plan states it only in words
    /// (`value_text`) or relative to a baseline period (`baseline`).
    pub value: Option<Decimal>,
    pub value_text: Option<String>,
    /// The year the value is compared with ("明显减少" against 2019) and,
    /// when the plan states it, that year's figure.
    pub baseline: Option<Baseline>,
    pub unit: String,
    pub period: String,
    pub measured: Measure,
    /// A reported target: the task whose indicator of the same name
    /// measures it (its lead's accepted value). `None`: any task of the
    /// campaign with an indicator of that name.
    pub task: Option<String>,
    pub as_written: Option<String>,
}

impl Target {
    /// The threshold in words without its comparator: `62`, the plan's
    /// words, `12（2019 年值）` or `2019 年值`; empty when there is none.
    pub fn threshold_text(&self) -> String {
        match (&self.value, &self.value_text, &self.baseline) {
            (Some(v), _, _) => v.to_string(),
            (None, Some(text), _) => text.clone(),
            (None, None, Some(b)) => b.threshold_text(),
            (None, None, None) => String::new(),
        }
    }

    /// The figure compared with: the plan's value, else a stated baseline's.
    pub fn threshold(&self) -> Option<Decimal> {
        self.value
            .or_else(|| self.baseline.as_ref().and_then(|b| b.value))
    }
}

/// A target's baseline: `baseline = "2019"` (the year's figure measured
/// from stored data) or `baseline = { year = 2019, value = "12" }` (the
/// figure stated by the plan, used as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub year: i32,
    pub value: Option<Decimal>,
}

impl Baseline {
    /// `12（2019 年值）`, or `2019 年值` when the figure is measured.
    pub fn threshold_text(&self) -> String {
        match self.value {
            Some(v) => format!("{v}（{} 年值）", self.year),
            None => format!("{} 年值", self.year),
        }
    }
}

impl fmt::Display for Baseline {
    /// `2019`, or `2019:12` with a stated value (the stored form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            None => write!(f, "{}", self.year),
            Some(v) => write!(f, "{}:{v}", self.year),
        }
    }
}

impl serde::Serialize for Baseline {
    /// A year alone serializes as the string `"2019"`, as plans written
    /// before stated values did, so their stored content stays equal.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        match self.value {
            None => s.serialize_str(&self.year.to_string()),
            Some(v) => {
                let mut st = s.serialize_struct("Baseline", 2)?;
                st.serialize_field("year", &self.year)?;
                st.serialize_field("value", &v.to_string())?;
                st.end()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Stable key: `air-15`, `water-二-3`, `air-四(四)-2`.
    pub key: String,
    pub plan: String,
    pub group: Option<String>,
    /// The heading a continuously numbered task sits under (air: `一`..`十`).
    pub chapter: Option<String>,
    pub number: String,
    pub kind: TaskKind,
    pub title: String,
    pub summary: String,
    pub lead: Vec<String>,
    /// The text names no lead for this task; `lead` is a reading (see the file's comment).
    pub lead_inferred: bool,
    pub cooperating: Vec<String>,
    pub townships: Vec<String>,
    pub milestones: Vec<Milestone>,
    pub indicators: Vec<Indicator>,
    pub limit_sets: Vec<String>,
    /// Paragraphs of the task that carry their own responsibility line.
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub title: String,
    pub lead: Vec<String>,
    pub cooperating: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub date: NaiveDate,
    pub what: String,
    /// The deadline as the plan words it ("2020 年 4 月底前").
    pub as_written: Option<String>,
    /// One month of a `monthly` duty: met by a progress report in its month,
    /// not by finishing the task.
    pub recurring: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    pub name: String,
    pub comparator: Comparator,
    pub value: Decimal,
    pub unit: String,
    pub as_written: Option<String>,
    /// Whether the responsible organisations report a value of it (报送值):
    /// true for a progress measure (a rate reached, a count done); false
    /// for a figure the plan sets that is not one (a penalty per fire
    /// point, a size or applicability criterion, a retention period, an
    /// emission limit), written `report = false` in the plan.
    pub report: bool,
}

pub use gongjian_standards::water::WaterClass;

/// A monitored surface-water section of the water plan's annex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub number: u32,
    /// The assessed area: a township's canonical name, or the district's name.
    pub township: String,
    pub river: String,
    pub section: String,
    pub basin: String,
    pub target_class: WaterClass,
}

/// Named emission limits (e.g. task 22's boiler retrofits) that stack sites
/// refer to by name.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitSet {
    /// e.g. `pingyuan-2020-gas`.
    pub name: String,
    pub title: String,
    /// Key of the task that sets these limits.
    pub task: Option<String>,
    /// Reference O2 in percent.
    pub reference_o2: Decimal,
    pub deadline: Option<NaiveDate>,
    pub applies_to: String,
    pub limits: Vec<Limit>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    pub pollutant: String,
    /// HJ 212-2017 code, e.g. `a34013`.
    pub code: Option<String>,
    /// mg/m³ at the reference O2.
    pub value: Decimal,
}

impl Campaign {
    pub fn organisation(&self, name: &str) -> Option<&Organisation> {
        self.organisations.iter().find(|o| o.name == name)
    }

    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    pub fn task(&self, key: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.key == key)
    }

    /// Task counts per plan (in plan order): numbered tasks, duties, and
    /// numbered tasks per group (in group order).
    pub fn counts(&self) -> Vec<PlanCount> {
        self.plans
            .iter()
            .map(|p| {
                let of_plan = || self.tasks.iter().filter(move |t| t.plan == p.id);
                let groups = p
                    .groups
                    .iter()
                    .map(|g| {
                        // Continuously numbered plans count by chapter.
                        let n = of_plan()
                            .filter(|t| t.group.as_ref().or(t.chapter.as_ref()) == Some(&g.id))
                            .count();
                        (g.id.clone(), g.kind, n)
                    })
                    .filter(|(_, _, n)| *n > 0)
                    .collect();
                PlanCount {
                    plan: p.id.clone(),
                    tasks: of_plan().filter(|t| t.kind == TaskKind::Task).count(),
                    duties: of_plan().filter(|t| t.kind == TaskKind::Duty).count(),
                    groups,
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCount {
    pub plan: String,
    pub tasks: usize,
    pub duties: usize,
    /// (group id, kind, tasks in it), groups with tasks only. For a plan
    /// numbered through the plan, its chapters count as groups here.
    pub groups: Vec<(String, TaskKind, usize)>,
}
