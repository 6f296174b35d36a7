//! The one-document JSON view printed by `gongjian plan show --json`.
//!
//! The shape is a contract (docs/plan-format.md): organisations, targets,
//! tasks and sections, names normalised, decimals as strings so they stay
//! exact, dates as `YYYY-MM-DD`.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::Campaign;

#[derive(Debug, Serialize)]
pub struct PlanJson<'a> {
    pub organisations: Vec<OrganisationJson<'a>>,
    pub targets: Vec<TargetJson<'a>>,
    pub tasks: Vec<TaskJson<'a>>,
    pub sections: Vec<SectionJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct OrganisationJson<'a> {
    pub name: &'a str,
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct TargetJson<'a> {
    pub plan: &'a str,
    pub indicator: &'a str,
    pub scope: String,
    pub comparator: &'static str,
    pub value: Option<Decimal>,
    pub unit: &'a str,
    pub period: &'a str,
    pub measured: String,
    /// The task whose indicator measures a reported target, when named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct TaskJson<'a> {
    pub plan: &'a str,
    pub group: Option<&'a str>,
    pub number: &'a str,
    pub title: &'a str,
    pub lead: &'a [String],
    pub cooperating: &'a [String],
    pub townships: &'a [String],
    pub milestones: Vec<MilestoneJson<'a>>,
    pub indicators: Vec<IndicatorJson<'a>>,
}

#[derive(Debug, Serialize)]
pub struct MilestoneJson<'a> {
    pub date: String,
    pub what: &'a str,
    /// One month of a `monthly` duty; absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub recurring: bool,
}

#[derive(Debug, Serialize)]
pub struct IndicatorJson<'a> {
    pub name: &'a str,
    pub comparator: &'static str,
    pub value: Decimal,
    pub unit: &'a str,
    /// Whether organisations report a value of it (`report` in the plan).
    pub report: bool,
}

#[derive(Debug, Serialize)]
pub struct SectionJson<'a> {
    pub township: &'a str,
    pub river: &'a str,
    pub section: &'a str,
    pub basin: &'a str,
    pub target_class: &'static str,
}

impl Campaign {
    /// The normalised JSON view of the whole plan.
    pub fn to_json(&self) -> PlanJson<'_> {
        PlanJson {
            organisations: self
                .organisations
                .iter()
                .map(|o| OrganisationJson {
                    name: &o.name,
                    kind: o.kind.as_str(),
                })
                .collect(),
            targets: self
                .targets
                .iter()
                .map(|t| TargetJson {
                    plan: &t.plan,
                    indicator: &t.indicator,
                    scope: t.scope.to_string(),
                    comparator: t.comparator.as_str(),
                    value: t.value,
                    unit: &t.unit,
                    period: &t.period,
                    measured: t.measured.to_string(),
                    task: t.task.as_deref(),
                })
                .collect(),
            tasks: self
                .tasks
                .iter()
                .map(|t| TaskJson {
                    plan: &t.plan,
                    group: t.group.as_deref(),
                    number: &t.number,
                    title: &t.title,
                    lead: &t.lead,
                    cooperating: &t.cooperating,
                    townships: &t.townships,
                    milestones: t
                        .milestones
                        .iter()
                        .map(|m| MilestoneJson {
                            date: m.date.format("%Y-%m-%d").to_string(),
                            what: &m.what,
                            recurring: m.recurring,
                        })
                        .collect(),
                    indicators: t
                        .indicators
                        .iter()
                        .map(|i| IndicatorJson {
                            name: &i.name,
                            comparator: i.comparator.as_str(),
                            value: i.value,
                            unit: &i.unit,
                            report: i.report,
                        })
                        .collect(),
                })
                .collect(),
            sections: self
                .sections
                .iter()
                .map(|s| SectionJson {
                    township: &s.township,
                    river: &s.river,
                    section: &s.section,
                    basin: &s.basin,
                    target_class: s.target_class.label(),
                })
                .collect(),
        }
    }
}
