//! Issue 15 item 4: a plant listed line by line is verified line by line
//! from the meters and stacks tied to each production line — not every
//! line against the whole plant's meters. On SQLite and PostgreSQL.

use chrono::{Duration, NaiveDate};
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, NewSite, OrgKind, RollupValue, on_both_backends};

/// Hourly counter readings of `days` days from `first`, `kwh(day)` kWh an
/// hour on each day (0-based), closed by the next midnight's reading.
fn readings(site: i64, first: NaiveDate, days: i64, kwh: impl Fn(i64) -> u64) -> Vec<RollupValue> {
    let start = gongjian_standards::cst::day_start_utc(first);
    let mut counter = 10_000u64;
    let mut rows = Vec::new();
    for h in 0..=days * 24 {
        rows.push(RollupValue {
            site_id: site,
            factor: "Ept".into(),
            kind: "hour",
            period_start: start + h * 3600,
            value: Some(counter.to_string()),
            converted: None,
            flag: "N".into(),
            day_start: None,
        });
        counter += kwh(h / 24);
    }
    rows
}

on_both_backends!(each_production_line_is_verified_from_its_own_meter);
async fn each_production_line_is_verified_from_its_own_meter(t: TestDb) {
    let db = t.db.clone();
    let actor = Actor::cli();
    let warning_day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let org = db
        .organisations()
        .create_organisation(&actor, "示范钢铁有限公司", OrgKind::Enterprise, None)
        .await
        .unwrap();
    let meter = |code: &'static str| {
        let db = db.clone();
        let actor = actor.clone();
        async move {
            db.monitoring()
                .create_site(
                    &actor,
                    &NewSite {
                        code: code.into(),
                        name: format!("{code} 用电监控"),
                        kind: "power".into(),
                        organisation_id: Some(org.id),
                        ..NewSite::default()
                    },
                )
                .await
                .unwrap()
                .id
        }
    };
    let sinter = meter("PWR-SJ").await;
    let pellet = meter("PWR-QT").await;
    // 20 normal days at 100 kWh an hour on both; in the warning the
    // sintering line stops (4 kWh an hour), the pellet line runs on.
    let first = warning_day - Duration::days(20);
    let mut rows = readings(sinter, first, 21, |d| if d >= 20 { 4 } else { 100 });
    rows.extend(readings(pellet, first, 21, |_| 100));
    db.monitoring().store_rollups(&rows).await.unwrap();
    let list = "企业名称,生产线名称,绩效分级,黄色预警减排措施,橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
示范钢铁有限公司,烧结,C,停产,停产,,停产\n\
示范钢铁有限公司,球团,C,负荷不超过 80%,限产,70,停产\n\
示范钢铁有限公司,高炉,C,负荷不超过 80%,限产,70,停产\n";
    let table = gongjian_tabular::read_csv_bytes("清单.csv", list.as_bytes()).unwrap();
    gongjian_app::emergency::import_list(&db, &actor, "2026-2027", &table)
        .await
        .unwrap();
    let w = gongjian_app::emergency::issue_warning(
        &db,
        &actor,
        "orange",
        warning_day,
        Some(warning_day),
        "",
    )
    .await
    .unwrap();
    let today = warning_day + Duration::days(2);
    let verdict = |v: &gongjian_app::emergency::WarningVerification, line: u64| {
        let d = v.days.iter().find(|d| d.line == line).unwrap();
        (d.verdict_label, d.detail.clone())
    };

    // Untied, every line is set against both meters: the stop of the
    // sintering line looks like a 52 % day for each line.
    let v = gongjian_app::emergency::verify_warning(&db, w.id, today)
        .await
        .unwrap();
    assert_eq!(verdict(&v, 2).0, "未落实", "{:?}", verdict(&v, 2));

    // Tied to their lines, each line is judged on its own meter; the blast
    // furnace has none while the plant's meters are tied: 无法核查.
    gongjian_app::power::set_production_line(&db, &actor, sinter, "烧结")
        .await
        .unwrap();
    gongjian_app::power::set_production_line(&db, &actor, pellet, " 球团 ")
        .await
        .unwrap();
    let v = gongjian_app::emergency::verify_warning(&db, w.id, today)
        .await
        .unwrap();
    assert_eq!(verdict(&v, 2).0, "达标", "{:?}", verdict(&v, 2));
    let (label, detail) = verdict(&v, 3);
    assert_eq!(label, "未落实");
    assert!(detail.contains("用电为基准的 100%"), "{detail}");
    let (label, detail) = verdict(&v, 4);
    assert_eq!(label, "无法核查");
    assert!(detail.contains("生产线“高炉”"), "{detail}");

    // Untying is audited like tying; an air station cannot be tied.
    gongjian_app::power::set_production_line(&db, &actor, pellet, "")
        .await
        .unwrap();
    assert!(
        !db.power()
            .production_lines()
            .await
            .unwrap()
            .contains_key(&pellet)
    );
    let station = db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "AIR-1".into(),
                name: "空气站".into(),
                kind: "air_station".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    let err = gongjian_app::power::set_production_line(&db, &actor, station.id, "烧结")
        .await
        .unwrap_err();
    assert!(
        err.user_message().contains("只有用电监控点和废气排口"),
        "{}",
        err.user_message()
    );
}
