//! The CEMS side of a warning day's verification: an enterprise's stacks
//! (sites of kind `stack_gas`), the day's emission of a pollutant over all
//! of them, and the hours judged against each stack's limit.

use std::collections::HashMap;

use chrono::NaiveDate;
use gongjian_emergency::{HourState, Pollutant, Required, StackHour, daily_emission_kg};
use gongjian_standards::cst;
use gongjian_storage::{Db, Site, SiteFactor, StorageError};
use rust_decimal::Decimal;

/// HJ 212-2017 flue-gas flow (m³/s in real-time and hourly means).
pub const FLOW_FACTOR: &str = "a00000";

/// The HJ 212-2017 code a stack reports `pollutant` under; VOCs as 非甲烷总烃
/// (a24088), the sum CEMS for VOCs measure.
pub fn factor_code(pollutant: Pollutant) -> &'static str {
    match pollutant {
        Pollutant::So2 => "a21026",
        Pollutant::Nox => "a21002",
        Pollutant::Pm => "a34013",
        Pollutant::Vocs => "a24088",
    }
}

/// One stack of an enterprise with its registered factors.
pub struct Stack {
    pub site_id: i64,
    pub name: String,
    factors: Vec<SiteFactor>,
}

impl Stack {
    /// Whether the stack is registered to measure `pollutant`.
    pub fn measures(&self, pollutant: Pollutant) -> bool {
        self.factors
            .iter()
            .any(|f| f.factor.trim() == factor_code(pollutant))
    }

    /// The registered limit of `pollutant` (mg/m³, converted), when it is
    /// set and a number.
    pub fn limit(&self, pollutant: Pollutant) -> Option<Decimal> {
        self.factors
            .iter()
            .find(|f| f.factor.trim() == factor_code(pollutant))
            .and_then(|f| f.limit_value.as_deref())
            .and_then(|l| l.trim().parse().ok())
    }
}

/// The stacks among an enterprise's sites.
pub fn of(sites: &[&Site], factors: &HashMap<i64, Vec<SiteFactor>>) -> Vec<Stack> {
    sites
        .iter()
        .filter(|s| s.kind == "stack_gas")
        .map(|s| Stack {
            site_id: s.id,
            name: s.name.clone(),
            factors: factors.get(&s.id).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The hourly records of `pollutant` at `site` on `day` (China Standard
/// Time), each joined with the hour's flow. The flow counts only where its
/// own flag is `N`: a flow in calibration cannot carry a mass.
pub async fn hours(
    db: &Db,
    site: i64,
    pollutant: Pollutant,
    day: NaiveDate,
) -> Result<Vec<StackHour>, StorageError> {
    let from = cst::day_start_utc(day);
    let to = from + 86_400;
    let monitoring = db.monitoring();
    let concentration = monitoring
        .series_points(site, factor_code(pollutant), "hour", from, to)
        .await?;
    let flow: HashMap<i64, Option<Decimal>> = monitoring
        .series_points(site, FLOW_FACTOR, "hour", from, to)
        .await?
        .into_iter()
        .map(|p| {
            let valid = HourState::from_flag(&p.flag) == HourState::Valid;
            let value = p.value.as_deref().and_then(|v| v.trim().parse().ok());
            (p.period_start, value.filter(|_| valid))
        })
        .collect();
    let number = |v: &Option<String>| v.as_deref().and_then(|v| v.trim().parse().ok());
    Ok(concentration
        .iter()
        .map(|p| StackHour {
            at: p.period_start,
            state: HourState::from_flag(&p.flag),
            concentration: number(&p.value),
            converted: number(&p.converted),
            flow_m3_s: flow.get(&p.period_start).copied().flatten(),
        })
        .collect())
}

/// The day's emission of `pollutant` over every stack that measures it
/// (kg); `None` when any of them has no measurable day: a plant cannot
/// look cleaner by one stack's logger going quiet.
pub async fn day_emission(
    db: &Db,
    stacks: &[Stack],
    pollutant: Pollutant,
    day: NaiveDate,
) -> Result<Option<Decimal>, StorageError> {
    let mut total = Decimal::ZERO;
    let mut any = false;
    for stack in stacks.iter().filter(|s| s.measures(pollutant)) {
        match daily_emission_kg(&hours(db, stack.site_id, pollutant, day).await?) {
            Some(kg) => total += kg,
            None => return Ok(None),
        }
        any = true;
    }
    Ok(any.then_some(total))
}

/// The requirement as officials read it.
pub fn required_text(required: Required) -> String {
    match required {
        Required::Percent(p) => format!("减排 ≥ {}%", p.normalize()),
        Required::Kg(kg) => format!("日减排 ≥ {} kg", kg.normalize()),
    }
}
