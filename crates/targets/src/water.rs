//! Water targets: a section's class per month and year to date against its
//! target class, with the failing items (GB 3838-2002 through the standards
//! engine).

use gongjian_standards::water::{self, FailingItem, SectionData, WaterClass};
use serde::Serialize;

/// One period's result of a section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionPeriod {
    /// Month number (1–12), or 0 for year to date.
    pub month: u32,
    /// Samples behind it.
    pub samples: usize,
    /// Class (`Ⅲ`, `劣Ⅴ`…); `None` when no evaluation item has a value.
    pub class: Option<String>,
    /// Meets the target class.
    pub compliant: Option<bool>,
    /// Items worse than the target class (value, class, limit, multiple).
    pub failing: Vec<FailingItem>,
}

/// A section's progress against its target class in one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionProgress {
    /// Section name.
    pub section: String,
    /// Target class label.
    pub target: Option<String>,
    /// Months with data.
    pub months: Vec<SectionPeriod>,
    /// The latest month with data ("current").
    pub current: Option<SectionPeriod>,
    /// Year to date through `through_month` (mean of the monthly means).
    pub ytd: Option<SectionPeriod>,
    /// Same period of the previous year.
    pub last_year: Option<SectionPeriod>,
    /// Year-to-date class meets the target.
    pub on_track: Option<bool>,
    /// Rules applied.
    pub rules: &'static str,
}

fn period(month: u32, p: &water::PeriodAssessment) -> SectionPeriod {
    let t = p.assessment.target.as_ref();
    SectionPeriod {
        month,
        samples: p.samples,
        class: p.assessment.class.map(|c| c.to_string()),
        compliant: t.map(|t| t.compliant),
        failing: t.map(|t| t.failing.clone()).unwrap_or_default(),
    }
}

/// A section's months, year to date and same period last year.
pub fn section_progress(section: &SectionData, year: i32, through_month: u32) -> SectionProgress {
    let months: Vec<SectionPeriod> = (1..=through_month)
        .filter_map(|m| water::evaluate_month(section, year, m).map(|p| period(m, &p)))
        .collect();
    let ytd = water::evaluate_year_to_date(section, year, through_month).map(|p| period(0, &p));
    let last_year =
        water::evaluate_year_to_date(section, year - 1, through_month).map(|p| period(0, &p));
    SectionProgress {
        section: section.section.clone(),
        target: section.target.map(|c: WaterClass| c.to_string()),
        current: months.last().cloned(),
        on_track: ytd.as_ref().and_then(|y| y.compliant),
        months,
        ytd,
        last_year,
        rules: water::RULES,
    }
}
