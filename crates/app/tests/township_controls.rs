//! Issue 12 item 5 (air task 35: 逐月下达 PM2.5、排放量、用电量三项控制指标):
//! a township's month of electricity use (its enterprises' meters) and
//! emissions (its stacks, HJ 75-accounted) against the plan's control
//! values; a month with an unmeasured day is shown with its days, not
//! judged. On SQLite and PostgreSQL.

mod common;
use common::{power_meter, readings};

use chrono::NaiveDate;
use gongjian_app::controls::township_controls;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, NewSite, OrgKind, RollupValue, SiteFactor, on_both_backends};
use gongjian_targets::RulesUsed;
use gongjian_targets::ranking::Ranking;
use rust_decimal::Decimal;

on_both_backends!(a_townships_month_is_set_against_its_control_values);
async fn a_townships_month_is_set_against_its_control_values(t: TestDb) {
    let db = t.db.clone();
    let actor = Actor::cli();
    let month = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
    let township = db
        .organisations()
        .create_organisation(&actor, "原武镇", OrgKind::Township, None)
        .await
        .unwrap();
    let firm = db
        .organisations()
        .create_organisation(
            &actor,
            "示范铸造有限公司",
            OrgKind::Enterprise,
            Some(township.id),
        )
        .await
        .unwrap();
    // The foundry's meter (in 原武镇 through its enterprise): 100 kWh an
    // hour, 2,400 a day, 7,200 over the three days counted.
    let meter = power_meter(&db, firm.id, "PWR-1").await;
    let mut rows = readings(meter, month, 3, |_| 100);
    // A stack in the township: NOx 100 mg/m³ at 10 m³/s all hours (3.6 kg
    // an hour, 86.4 kg a day) from 40 days before the month; the third
    // day misses six hours, substituted by the highest valid hour (3.6).
    let stack = db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "DA-1".into(),
                name: "1号排口".into(),
                kind: "stack_gas".into(),
                organisation_id: Some(firm.id),
                township_id: Some(township.id),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    db.monitoring()
        .set_site_factors(
            &actor,
            stack.id,
            &[
                SiteFactor {
                    factor: "a21002".into(),
                    name: "氮氧化物".into(),
                    unit: "mg/m3".into(),
                    limit_value: Some("200".into()),
                },
                SiteFactor {
                    factor: "a00000".into(),
                    name: "烟气流量".into(),
                    unit: "m3/s".into(),
                    limit_value: None,
                },
            ],
        )
        .await
        .unwrap();
    let start = gongjian_standards::cst::day_start_utc(month) - 40 * 86_400;
    let end = gongjian_standards::cst::day_start_utc(last) + 86_400;
    let gap = gongjian_standards::cst::day_start_utc(last);
    let mut at = start;
    while at < end {
        if !(gap..gap + 6 * 3600).contains(&at) {
            for (factor, value) in [("a21002", "100"), ("a00000", "10")] {
                rows.push(RollupValue {
                    site_id: stack.id,
                    factor: factor.into(),
                    kind: "hour",
                    period_start: at,
                    value: Some(value.into()),
                    converted: None,
                    flag: "N".into(),
                    day_start: None,
                });
            }
        }
        at += 3600;
    }
    db.monitoring().store_rollups(&rows).await.unwrap();

    let mut plan = gongjian_app::plan::embedded_plan().unwrap();
    let control = plan
        .controls
        .iter_mut()
        .find(|c| c.township == "原武镇")
        .unwrap();
    let mut monthly = vec![Decimal::from(1_000_000); 12];
    monthly[10] = Decimal::from(7_000); // November: 7,000 kWh
    control.electricity_kwh = Some(monthly);
    let mut nox = vec![Decimal::ONE; 12];
    nox[10] = "0.3".parse().unwrap(); // November: 0.3 t
    control.nox_t = Some(nox);
    let ranking = Ranking {
        from: month,
        to: last,
        rows: Vec::new(),
        rules: RulesUsed::default(),
    };
    let lines = township_controls(&db, &plan, month, last, &ranking)
        .await
        .unwrap();
    let line = lines.iter().find(|l| l.township == "原武镇").unwrap();
    let e = line.electricity_kwh.as_ref().unwrap();
    assert_eq!(e.actual, Some(Decimal::from(7_200)));
    assert_eq!((e.days_measured, e.days), (3, 3));
    assert_eq!(e.over, Some(true));
    let n = line.nox_t.as_ref().unwrap();
    // 3 × 86.4 kg = 0.2592 t → 0.259 t (the gap's six hours at 3.6 kg).
    assert_eq!(n.actual, Some("0.259".parse().unwrap()), "{n:?}");
    assert_eq!(n.over, Some(false));
    assert!(line.so2_t.is_none());
    // No PM2.5 in the ranking: not judged.
    assert_eq!(line.pm25.over, None);

    // A day without meter data: the month is not judged, its days shown.
    let lines = township_controls(
        &db,
        &plan,
        month,
        NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
        &ranking,
    )
    .await
    .unwrap();
    let e = lines[0..]
        .iter()
        .find(|l| l.township == "原武镇")
        .unwrap()
        .electricity_kwh
        .clone()
        .unwrap();
    assert_eq!(
        (e.actual, e.days_measured, e.days, e.over),
        (None, 3, 5, None)
    );
}
