//! Issue 15 item 3, electricity-use monitoring: a treatment circuit linked
//! to the production circuit it serves; three weeks of ordinary days teach
//! both meters their load; then the treatment stops while production runs
//! and the alarm run raises 治污设施未同步运行 on the treatment meter, with
//! a 督办 case (the rule opens one by itself). The links refuse what does
//! not fit. On SQLite and PostgreSQL.

use gongjian_alarms::power::Circuit;
use gongjian_app::alarms::run_alarms;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{
    Actor, AlarmFilter, NewSite, OrgKind, RollupValue, StorageError, on_both_backends,
};

const HOUR: i64 = 3600;

async fn meter(db: &gongjian_storage::Db, org: i64, code: &str, name: &str) -> i64 {
    db.monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: code.into(),
                name: name.into(),
                kind: "power".into(),
                organisation_id: Some(org),
                ..NewSite::default()
            },
        )
        .await
        .unwrap()
        .id
}

/// Hourly energy-counter readings from `from`, one hour apart, each hour
/// using `kw(i)` kWh.
fn counter(site: i64, from: i64, hours: i64, kw: impl Fn(i64) -> i64) -> Vec<RollupValue> {
    let mut reading = 10_000;
    (0..=hours)
        .map(|i| {
            let row = RollupValue {
                site_id: site,
                factor: "Ept".into(),
                kind: "hour",
                period_start: from + i * HOUR,
                value: Some(reading.to_string()),
                converted: None,
                flag: "N".into(),
                day_start: None,
            };
            reading += kw(i);
            row
        })
        .collect()
}

on_both_backends!(production_running_with_its_treatment_off_raises_an_alarm_and_a_case);
async fn production_running_with_its_treatment_off_raises_an_alarm_and_a_case(db: TestDb) {
    let db = db.db.clone();
    let actor = Actor::cli();
    let firm = db
        .organisations()
        .create_organisation(&actor, "示范铸造有限公司", OrgKind::Enterprise, None)
        .await
        .unwrap();
    let other = db
        .organisations()
        .create_organisation(&actor, "另一家企业", OrgKind::Enterprise, None)
        .await
        .unwrap();
    let line = meter(&db, firm.id, "P-LINE", "1号熔炼炉").await;
    let fan = meter(&db, firm.id, "P-FAN", "除尘风机").await;
    let elsewhere = meter(&db, other.id, "P-ELSE", "另一家企业生产线").await;
    let set = |site, circuit, serves: Vec<i64>| {
        let db = db.clone();
        async move {
            db.power()
                .set_circuit(&Actor::cli(), site, circuit, &serves)
                .await
        }
    };

    // Refusals: serving a meter not yet set as production, another
    // enterprise's meter, and a production meter that "serves".
    let refused = |r: Result<(), StorageError>| match r {
        Err(e) => e.user_message(),
        Ok(()) => panic!("accepted"),
    };
    assert!(refused(set(fan, Some(Circuit::Treatment), vec![line]).await).contains("产污设施"));
    set(line, Some(Circuit::Production), vec![]).await.unwrap();
    set(elsewhere, Some(Circuit::Production), vec![])
        .await
        .unwrap();
    assert!(
        refused(set(fan, Some(Circuit::Treatment), vec![elsewhere]).await).contains("同一企业")
    );
    assert!(refused(set(line, Some(Circuit::Production), vec![fan]).await).contains("治污设施"));
    set(fan, Some(Circuit::Treatment), vec![line])
        .await
        .unwrap();
    // A production meter still served cannot be cleared.
    assert!(refused(set(line, None, vec![]).await).contains("取消对应"));
    let circuits = db.power().circuits().await.unwrap();
    assert_eq!(circuits[&fan].serves, vec![line]);
    assert_eq!(circuits[&line].circuit, Circuit::Production);

    // Three weeks: the line works 08–20 at 100 kW, idles at 10 kW; the fan
    // runs 40 kW while the line works and 10 kW otherwise. In the last
    // hours the fan stops (0 kW) for 3 hours while the line works.
    let now = gongjian_storage::now();
    let end = now - now.rem_euclid(HOUR) - HOUR;
    let hours = 21 * 24;
    let from = end - hours * HOUR;
    let working = |i: i64| (8..20).contains(&((from / HOUR + i + 8).rem_euclid(24)));
    let off = |i: i64| (hours - 5..hours - 2).contains(&i);
    let mut rows = counter(line, from, hours, |i| {
        if working(i) || off(i) { 100 } else { 10 }
    });
    rows.extend(counter(fan, from, hours, |i| {
        if off(i) {
            0
        } else if working(i) {
            40
        } else {
            10
        }
    }));
    db.monitoring().store_rollups(&rows).await.unwrap();

    let run = run_alarms(&db, now).await.unwrap();
    assert!(run.opened >= 1, "{run:?}");
    let alarms = db
        .alarms()
        .list(&AlarmFilter {
            site_id: Some(fan),
            ..AlarmFilter::default()
        })
        .await
        .unwrap();
    let off_alarm = alarms
        .iter()
        .find(|a| a.rule == "treatment_off")
        .unwrap_or_else(|| panic!("no treatment_off alarm: {alarms:?}"));
    assert_eq!(off_alarm.hours, 3, "{off_alarm:?}");
    assert_eq!(off_alarm.started_at, from + (hours - 5) * HOUR);
    assert!(
        off_alarm
            .summary
            .contains("1号熔炼炉（100 kW）运行而治污设施除尘风机停运"),
        "{}",
        off_alarm.summary
    );
    assert!(off_alarm.case_id.is_some(), "the rule opens a case");
    // The production meter raises nothing of the kind.
    let on_line = db
        .alarms()
        .list(&AlarmFilter {
            site_id: Some(line),
            ..AlarmFilter::default()
        })
        .await
        .unwrap();
    assert!(
        !on_line.iter().any(|a| a.rule.starts_with("treatment")),
        "{on_line:?}"
    );
    // The page's learning line: both meters have three weeks.
    let learned = gongjian_app::power::learned(&db, fan, now).await.unwrap();
    assert!(learned.profile().is_some(), "{learned:?}");
    assert!(
        learned.describe().contains("正常负荷 40 kW"),
        "{}",
        learned.describe()
    );

    // A second run changes nothing: the alarm is the same one.
    let again = run_alarms(&db, now).await.unwrap();
    assert_eq!(again.opened, 0, "{again:?}");
}
