//! Electricity-use monitoring (用电监控, air task 44; issue 15 item 3): a
//! power meter's circuit (产污/治污) and the production circuits a
//! treatment circuit serves, the idle and normal load learned from its
//! last [`HISTORY_DAYS`] days, and the links the alarm run screens
//! (治污未同步, 空转/降频; the rules are `gongjian_alarms::power`).

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use gongjian_alarms::power::{
    self, Circuit, ENERGY_FACTOR, HISTORY_DAYS, Learned, Meter, POWER_FACTOR, TreatmentLink,
};
use gongjian_alarms::{FactorHours, Hour};
use gongjian_storage::{Actor, CircuitRecord, Db};
use rust_decimal::Decimal;

use crate::AppError;

/// The factors a power meter is registered with: the energy counter and
/// the active power (no limits: the rules compare circuits, not values).
pub fn meter_site_factors() -> Vec<gongjian_storage::SiteFactor> {
    [
        (ENERGY_FACTOR, "有功电能", "kWh"),
        (POWER_FACTOR, "有功功率", "kW"),
    ]
    .into_iter()
    .map(|(factor, name, unit)| gongjian_storage::SiteFactor {
        factor: factor.into(),
        name: name.into(),
        unit: unit.into(),
        limit_value: None,
    })
    .collect()
}

/// A meter's hourly data of both factors from `from` (Unix s) to `to`.
async fn meter_factors(
    db: &Db,
    site_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<FactorHours>, AppError> {
    let mut out = Vec::new();
    for factor in [ENERGY_FACTOR, POWER_FACTOR] {
        let points = db
            .monitoring()
            .series_points(site_id, factor, "hour", from, to)
            .await?;
        out.push(FactorHours {
            factor: factor.into(),
            hours: points
                .into_iter()
                .map(|p| Hour {
                    start: p.period_start,
                    value: p
                        .value
                        .as_deref()
                        .and_then(|v| Decimal::from_str(v.trim()).ok()),
                    converted: None,
                    flag: p.flag,
                })
                .collect(),
            ..FactorHours::default()
        });
    }
    Ok(out)
}

/// What the meter's last [`HISTORY_DAYS`] days say of its load, as of `now`.
pub async fn learned(db: &Db, site_id: i64, now: i64) -> Result<Learned, AppError> {
    let from = now - HISTORY_DAYS * 86_400;
    let factors = meter_factors(db, site_id, from, now).await?;
    Ok(power::learn(&power::hourly_load(&factors)))
}

/// Every meter's circuit, by site id.
pub async fn circuits(db: &Db) -> Result<BTreeMap<i64, CircuitRecord>, AppError> {
    Ok(db.power().circuits().await?)
}

/// The production line of every meter or stack tied to one, by site id.
pub async fn production_lines(db: &Db) -> Result<BTreeMap<i64, String>, AppError> {
    Ok(db.power().production_lines().await?)
}

/// Tie a power meter or stack to the production line `line` of its
/// enterprise, as the reduction list names it ("" unties it): a plant
/// listed line by line is then verified line by line.
pub async fn set_production_line(
    db: &Db,
    actor: &Actor,
    site_id: i64,
    line: &str,
) -> Result<(), AppError> {
    Ok(db.power().set_production_line(actor, site_id, line).await?)
}

/// Set what a meter feeds (`None` clears it) and, for a treatment circuit,
/// the production meters it serves.
pub async fn set_circuit(
    db: &Db,
    actor: &Actor,
    site_id: i64,
    circuit: Option<Circuit>,
    serves: &[i64],
) -> Result<(), AppError> {
    Ok(db
        .power()
        .set_circuit(actor, site_id, circuit, serves)
        .await?)
}

/// The treatment circuits with the production they serve, each meter with
/// its learned load and its hours since `from` (Unix s), for the alarm run.
pub async fn treatment_links(
    db: &Db,
    from: i64,
    now: i64,
    names: &HashMap<i64, String>,
) -> Result<Vec<TreatmentLink>, AppError> {
    let circuits = circuits(db).await?;
    let mut meters: HashMap<i64, Meter> = HashMap::new();
    let mut links = Vec::new();
    for c in circuits
        .values()
        .filter(|c| c.circuit == Circuit::Treatment && !c.serves.is_empty())
    {
        for &id in std::iter::once(&c.site_id).chain(&c.serves) {
            if meters.contains_key(&id) {
                continue;
            }
            let history = meter_factors(db, id, now - HISTORY_DAYS * 86_400, now).await?;
            let load = power::hourly_load(&history);
            meters.insert(
                id,
                Meter {
                    site_id: id,
                    name: names.get(&id).cloned().unwrap_or_default(),
                    learned: power::learn(&load),
                    hours: load.into_iter().filter(|h| h.start >= from).collect(),
                },
            );
        }
        links.push(TreatmentLink {
            treatment: meters[&c.site_id].clone(),
            production: c.serves.iter().map(|p| meters[p].clone()).collect(),
        });
    }
    Ok(links)
}
