//! The TOML shape of a plan file, as deserialised by serde, before names are
//! resolved and values checked. Every field that can be wrong carries its span
//! so that validation errors point at a line.

use serde::Deserialize;
use toml::Spanned;

/// One plan file. Every table is optional; a plan directory is the union of
/// its files.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub campaign: Option<Spanned<RawCampaign>>,
    #[serde(default)]
    pub organisation: Vec<Spanned<RawOrganisation>>,
    pub plan: Option<Spanned<RawPlan>>,
    #[serde(default)]
    pub group: Vec<Spanned<RawGroup>>,
    #[serde(default)]
    pub target: Vec<Spanned<RawTarget>>,
    #[serde(default)]
    pub task: Vec<Spanned<RawTask>>,
    #[serde(default)]
    pub section: Vec<Spanned<RawSection>>,
    #[serde(default)]
    pub limit_set: Vec<Spanned<RawLimitSet>>,
    pub assessment: Option<Spanned<RawAssessment>>,
    #[serde(default)]
    pub control: Vec<Spanned<RawControl>>,
}

/// `[assessment]`: the monthly scoring scheme (月考核).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAssessment {
    pub base: Spanned<RawScalar>,
    #[serde(default)]
    pub rule: Vec<Spanned<RawAssessmentRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAssessmentRule {
    pub kind: Spanned<String>,
    pub applies: Option<Spanned<String>>,
    pub points: Spanned<RawPoints>,
    pub note: Option<String>,
}

/// One figure, or one per rank.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawPoints {
    One(RawScalar),
    Many(Vec<RawScalar>),
}

/// `[[control]]`: a township's monthly control values (air task 35).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawControl {
    pub township: Spanned<String>,
    pub pm25: Spanned<Vec<RawScalar>>,
    /// Monthly electricity use of the township's monitored enterprises (kWh).
    pub electricity_kwh: Option<Spanned<Vec<RawScalar>>>,
    /// Monthly emissions of the township's monitored stacks (t).
    pub so2_t: Option<Spanned<Vec<RawScalar>>>,
    pub nox_t: Option<Spanned<Vec<RawScalar>>>,
    pub pm_t: Option<Spanned<Vec<RawScalar>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCampaign {
    pub key: Spanned<String>,
    pub name: String,
    pub district: String,
    pub year: Spanned<i64>,
    pub document: Option<String>,
    pub issued: Option<Spanned<String>>,
    pub issuer: Option<Spanned<String>>,
    pub plans: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrganisation {
    pub key: Spanned<String>,
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub full_name: Option<String>,
    #[serde(default)]
    pub aliases: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlan {
    pub id: Spanned<String>,
    pub title: String,
    pub numbering: Spanned<String>,
    #[serde(default)]
    pub default_townships: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    pub id: Spanned<String>,
    pub title: String,
    /// `task` (三、主要任务) or `duty` (四、工作要求).
    pub kind: Option<Spanned<String>>,
}

/// A number or a string. Decimal values are best written as strings
/// (`"36.5"`) so that they stay exact; integers may be bare.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawScalar {
    Int(i64),
    Float(f64),
    Str(String),
}

/// `baseline = "2019"`, `baseline = 2019` or
/// `baseline = { year = 2019, value = "12" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawBaseline {
    Year(RawScalar),
    Stated(RawStatedBaseline),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatedBaseline {
    pub year: RawScalar,
    pub value: Option<RawScalar>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub key: Spanned<String>,
    pub plan: Option<Spanned<String>>,
    pub indicator: Spanned<String>,
    pub scope: Spanned<String>,
    pub comparator: Spanned<String>,
    pub value: Option<Spanned<RawScalar>>,
    pub value_text: Option<String>,
    pub baseline: Option<Spanned<RawBaseline>>,
    pub unit: String,
    pub period: String,
    pub measured: Spanned<String>,
    pub statistic: Option<Spanned<String>>,
    /// A reported target: the key of the task whose indicator measures it.
    pub task: Option<Spanned<String>>,
    pub as_written: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTask {
    pub number: Spanned<RawScalar>,
    pub group: Option<Spanned<String>>,
    pub chapter: Option<Spanned<String>>,
    pub title: Spanned<String>,
    pub summary: String,
    #[serde(default)]
    pub lead: Vec<Spanned<String>>,
    #[serde(default)]
    pub lead_inferred: bool,
    #[serde(default)]
    pub cooperating: Vec<Spanned<String>>,
    pub townships: Option<Vec<Spanned<String>>>,
    /// A recurring monthly deadline, expanded into one milestone a month.
    pub monthly: Option<RawMonthly>,
    #[serde(default)]
    pub milestones: Vec<RawMilestone>,
    #[serde(default)]
    pub indicators: Vec<RawIndicator>,
    #[serde(default)]
    pub limit_sets: Vec<Spanned<String>>,
    #[serde(default)]
    pub parts: Vec<RawPart>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPart {
    pub title: String,
    #[serde(default)]
    pub lead: Vec<Spanned<String>>,
    #[serde(default)]
    pub cooperating: Vec<Spanned<String>>,
}

/// `monthly = { day = 5, what = "报送上月进展", from = 2, to = 12 }`: a
/// duty due every month of the campaign's year (工作要求, 月调度).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonthly {
    /// Day of the month it is due; past a month's end: the month's last day.
    pub day: Spanned<i64>,
    pub what: String,
    /// First and last month (default 1 and 12).
    pub from: Option<Spanned<i64>>,
    pub to: Option<Spanned<i64>>,
    pub as_written: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMilestone {
    pub date: Spanned<String>,
    pub what: String,
    pub as_written: Option<String>,
    /// The plan really sets this deadline outside its year.
    #[serde(default)]
    pub outside_year: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndicator {
    pub name: Spanned<String>,
    pub comparator: Spanned<String>,
    pub value: Spanned<RawScalar>,
    pub unit: String,
    pub as_written: Option<String>,
    /// `false` for a figure of the plan that is not a progress measure.
    pub report: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSection {
    pub number: Spanned<i64>,
    pub township: Spanned<String>,
    pub river: String,
    pub section: Spanned<String>,
    pub basin: String,
    pub target_class: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimitSet {
    pub name: Spanned<String>,
    pub title: String,
    pub task: Option<Spanned<String>>,
    pub reference_o2: Spanned<RawScalar>,
    pub deadline: Option<Spanned<String>>,
    pub applies_to: String,
    pub limits: Vec<RawLimit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimit {
    pub pollutant: Spanned<String>,
    pub code: Option<String>,
    pub value: Spanned<RawScalar>,
}
