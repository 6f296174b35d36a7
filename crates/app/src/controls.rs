//! 乡镇月度控制指标 (air task 35: "逐月下达 PM2.5、排放量、用电量三项控制
//! 指标"): each township's month against the control values the plan's
//! `[[control]]` sets — PM2.5 from the township ranking (its designated
//! stations), and, where the plan sets them, the electricity use of the
//! township's monitored enterprises and the emissions of its monitored
//! stacks, measured as the emergency verification measures a day.
//!
//! A site belongs to a township by its own township, else by its
//! enterprise's. A month's electricity is the sum of its meters' days; its
//! emissions the sum of its stacks' accounted days (HJ 75-2017
//! substitution, `gongjian_emergency::substitution`). A figure whose days
//! could not all be measured is shown with the days that were, never as a
//! whole month, and is not judged.

use chrono::{Datelike, NaiveDate};
use gongjian_campaign::Campaign;
use gongjian_emergency::Pollutant;
use gongjian_storage::{Db, Site};
use gongjian_targets::ranking::Ranking;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::emergency::stacks;

/// One figure of a township's month against its control value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlFigure {
    /// The month's figure, when every day of it (up to the report's last
    /// day) was measured.
    pub actual: Option<Decimal>,
    pub control: Decimal,
    /// Days measured / days counted.
    pub days_measured: u32,
    pub days: u32,
    /// `Some(true)` above the control value; `None`: not judged.
    pub over: Option<bool>,
}

impl ControlFigure {
    fn new(actual: Option<Decimal>, control: Decimal, days_measured: u32, days: u32) -> Self {
        ControlFigure {
            over: actual.map(|a| a > control),
            actual,
            control,
            days_measured,
            days,
        }
    }
}

/// A township's month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlLine {
    pub township: String,
    /// µg/m³.
    pub pm25: ControlFigure,
    /// kWh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub electricity_kwh: Option<ControlFigure>,
    /// t.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub so2_t: Option<ControlFigure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nox_t: Option<ControlFigure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pm_t: Option<ControlFigure>,
}

/// The townships' month `month` (its first day) up to `last` (the
/// report's last day), from `ranking` (the month's township ranking).
pub async fn township_controls(
    db: &Db,
    plan: &Campaign,
    month: NaiveDate,
    last: NaiveDate,
    ranking: &Ranking,
) -> Result<Vec<ControlLine>, AppError> {
    if plan.controls.is_empty() {
        return Ok(Vec::new());
    }
    let m = month.month0() as usize;
    let days: Vec<NaiveDate> = month
        .iter_days()
        .take_while(|d| d.month() == month.month() && *d <= last)
        .collect();
    let orgs = db.organisations().list().await?;
    let sites = db.monitoring().sites().await?;
    let factors = db.monitoring().all_site_factors().await?;
    let township_of = |s: &Site| -> Option<i64> {
        s.township_id.or_else(|| {
            let org = orgs.iter().find(|o| Some(o.id) == s.organisation_id)?;
            org.parent_id
        })
    };
    let mut out = Vec::new();
    for c in &plan.controls {
        let township_id = orgs.iter().find(|o| o.name == c.township).map(|o| o.id);
        let pm25 = ranking
            .rows
            .iter()
            .find(|r| r.name == c.township)
            .and_then(|r| r.pm25);
        let own: Vec<&Site> = sites
            .iter()
            .filter(|s| township_id.is_some() && township_of(s) == township_id)
            .collect();
        let mut line = ControlLine {
            township: c.township.clone(),
            pm25: ControlFigure::new(
                pm25,
                c.pm25[m],
                if pm25.is_some() { days.len() as u32 } else { 0 },
                days.len() as u32,
            ),
            electricity_kwh: None,
            so2_t: None,
            nox_t: None,
            pm_t: None,
        };
        if let Some(control) = &c.electricity_kwh {
            let meters: Vec<i64> = own
                .iter()
                .filter(|s| s.kind == "power")
                .map(|s| s.id)
                .collect();
            let (mut total, mut measured) = (Decimal::ZERO, 0u32);
            for &d in &days {
                if let Some(e) = crate::emergency::day_energy(db, &meters, d).await? {
                    total += e;
                    measured += 1;
                }
            }
            line.electricity_kwh = Some(month_figure(total, measured, &days, control[m], 0));
        }
        let stacks = stacks::of(&own, &factors);
        let mut cache = stacks::HourCache::new(month, last.max(month));
        for (pollutant, control, slot) in [
            (Pollutant::So2, &c.so2_t, &mut line.so2_t),
            (Pollutant::Nox, &c.nox_t, &mut line.nox_t),
            (Pollutant::Pm, &c.pm_t, &mut line.pm_t),
        ] {
            let Some(control) = control else { continue };
            let (mut kg, mut measured) = (Decimal::ZERO, 0u32);
            if stacks.iter().any(|s| s.measures(pollutant)) {
                for &d in &days {
                    if let Ok(v) =
                        stacks::day_emission(db, &mut cache, &stacks, pollutant, d).await?
                    {
                        kg += v;
                        measured += 1;
                    }
                }
            }
            // kg → t, to 0.001 t.
            *slot = Some(month_figure(
                kg / Decimal::from(1000),
                measured,
                &days,
                control[m],
                3,
            ));
        }
        out.push(line);
    }
    Ok(out)
}

/// The month's figure when every counted day was measured.
fn month_figure(
    total: Decimal,
    measured: u32,
    days: &[NaiveDate],
    control: Decimal,
    dp: u32,
) -> ControlFigure {
    let complete = measured as usize == days.len() && !days.is_empty();
    ControlFigure::new(
        complete.then(|| total.round_dp(dp).normalize()),
        control,
        measured,
        days.len() as u32,
    )
}
