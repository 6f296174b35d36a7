//! From measurement to action, the pure part: alarm rules as data
//! ([`rules`]), the screens that find alarm episodes in a site's hourly
//! series ([`screens`]), and the state machine of a 督办 case ([`case`]).
//!
//! Nothing here reads a clock or a database: the service layer loads a
//! site's recent hours, calls [`evaluate`], and reconciles the episodes
//! with the alarms it has stored (an open alarm of the same site, factor
//! and rule is extended, not repeated).
#![forbid(unsafe_code)]

pub mod case;
pub mod power;
pub mod rules;
pub mod screens;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use case::{CaseAction, CaseError, CaseState};
pub use rules::{Rule, RuleKind, RuleSet, Severity, Supervisor};

/// One hourly value of a factor (HJ 212 hour data or the platform's
/// rollup), as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hour {
    /// Unix seconds (UTC) of the hour's start.
    pub start: i64,
    pub value: Option<Decimal>,
    /// The 折算 value where one applies.
    pub converted: Option<Decimal>,
    /// HJ 212 data flag (N, F, M, S, D, C, T, B).
    pub flag: String,
}

impl Hour {
    /// The value a limit is judged on: the converted value where one
    /// exists (the limit is set on it), else the measured value.
    pub fn judged(&self) -> Option<Decimal> {
        self.converted.or(self.value)
    }

    /// Flag N: a valid hour for judging (HJ 75/76).
    pub fn valid(&self) -> bool {
        self.flag.trim().eq_ignore_ascii_case("N")
    }
}

/// The hours of one factor at a site, in ascending order of `start`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FactorHours {
    /// HJ 212 code, e.g. a21026 (SO₂).
    pub factor: String,
    /// Chinese name, e.g. 二氧化硫.
    pub name: String,
    pub unit: String,
    /// The site's limit for this factor, if one is set.
    pub limit: Option<Decimal>,
    pub hours: Vec<Hour>,
    /// Hours whose value reported by the logger (HJ 212 hour data) differs
    /// from the platform's own rollup of the logger's minute data, in
    /// ascending order of `start`.
    #[serde(default)]
    pub disagreements: Vec<Disagreement>,
}

/// An hour the logger reported differently from the platform's rollup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    /// Unix seconds of the hour's start.
    pub start: i64,
    pub logger_value: Option<Decimal>,
    pub logger_flag: String,
    pub rollup_value: Option<Decimal>,
    pub rollup_flag: String,
}

/// What [`evaluate`] needs of one site.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SiteHours {
    pub site_id: i64,
    /// Site kind code (air_station, stack_gas, waste_water, …).
    pub kind: String,
    pub factors: Vec<FactorHours>,
    /// When the site's logger last sent a frame (Unix seconds), if ever.
    pub last_frame_at: Option<i64>,
}

impl SiteHours {
    pub fn factor(&self, code: &str) -> Option<&FactorHours> {
        self.factors.iter().find(|f| f.factor == code)
    }
}

/// A value kept with an alarm: what raised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Unix seconds of the hour's start (or of the event).
    pub at: i64,
    pub factor: String,
    pub value: String,
    pub flag: String,
}

/// Most evidence values kept per episode (the first ones: what raised it).
pub const EVIDENCE_MAX: usize = 48;

/// A run of time in which a rule's condition held at a site (and factor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The rule's code ([`Rule::code`]).
    pub rule: String,
    pub kind: RuleKind,
    /// The factor it concerns; empty for site-wide rules (no data).
    pub factor: String,
    /// Start of the first hour in the condition (Unix seconds).
    pub started_at: i64,
    /// Start of the last hour in the condition.
    pub last_at: i64,
    /// The condition still holds at the latest hour evaluated: the alarm
    /// stays open. Otherwise it ended at `last_at + 3600`.
    pub ongoing: bool,
    /// Hours in the condition.
    pub hours: u32,
    /// The worst value (largest for exceedances).
    pub peak: Option<Decimal>,
    /// 超标倍数 (C − L)/L of the peak, for exceedances.
    pub multiple: Option<Decimal>,
    /// The values that raised it (at most [`EVIDENCE_MAX`]).
    pub evidence: Vec<Evidence>,
    /// One line in Chinese, e.g. "二氧化硫折算浓度连续 3 小时超过限值 35 mg/m³，最高 52（超标 0.49 倍）".
    pub summary: String,
}

/// Every episode the enabled rules find at `site`, as of `now` (Unix
/// seconds; only the no-data rule reads it).
pub fn evaluate(site: &SiteHours, rules: &RuleSet, now: i64) -> Vec<Episode> {
    rules
        .rules
        .iter()
        .filter(|r| r.enabled && r.applies_to_kind(&site.kind))
        .flat_map(|r| screens::run(r, site, now))
        .collect()
}
