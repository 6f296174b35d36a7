//! Helpers of the emergency tests: meters and their hourly counters.
#![allow(dead_code)]

use chrono::NaiveDate;
use gongjian_storage::{Actor, Db, NewSite, RollupValue};

/// Hourly counter readings of `days` days from `first`, `kwh(day)` kWh an
/// hour on each day (0-based), closed by the next midnight's reading.
pub fn readings(
    site: i64,
    first: NaiveDate,
    days: i64,
    kwh: impl Fn(i64) -> u64,
) -> Vec<RollupValue> {
    let start = gongjian_standards::cst::day_start_utc(first);
    let mut counter = 10_000u64;
    let mut rows = Vec::new();
    for h in 0..=days * 24 {
        rows.push(gongjian_storage::testing::energy_hour(
            site,
            start + h * 3600,
            counter,
        ));
        counter += kwh(h / 24);
    }
    rows
}

/// A power meter (用电监控) `code` of organisation `org`; its site id.
pub async fn power_meter(db: &Db, org: i64, code: &str) -> i64 {
    db.monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: code.into(),
                name: format!("{code} 用电监控"),
                kind: "power".into(),
                organisation_id: Some(org),
                ..NewSite::default()
            },
        )
        .await
        .unwrap()
        .id
}
