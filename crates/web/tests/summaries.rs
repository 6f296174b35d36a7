//! Water sections from section data, exceedance hours of monitored sources
//! and fire-point deductions reach the 月调度 report (JSON, page, XLSX), the
//! 水 page and the overview; enterprises do not see other sources on the
//! overview.

mod common;

use chrono::NaiveDate;
use common::spawn_on;
use gongjian_standards::cst::day_start_utc;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{
    Actor, FireKind, NewFirePoint, NewSite, OrgKind, Role, RollupValue, SiteFactor,
};
use serde_json::Value;

fn factor(code: &str, name: &str, unit: &str, limit: Option<&str>) -> SiteFactor {
    SiteFactor {
        factor: code.into(),
        name: name.into(),
        unit: unit.into(),
        limit_value: limit.map(str::to_owned),
    }
}

fn value(
    site_id: i64,
    factor: &str,
    kind: &'static str,
    start: i64,
    v: &str,
    flag: &str,
) -> RollupValue {
    RollupValue {
        site_id,
        factor: factor.into(),
        kind,
        period_start: start,
        value: Some(v.into()),
        converted: (kind == "hour").then(|| v.to_owned()),
        flag: flag.into(),
        day_start: None,
    }
}

/// 示范热电's stack outlet with an SO₂ limit of 35 mg/m³ (converted).
async fn stack_site(app: &common::TestApp) -> gongjian_storage::Site {
    let enterprise = app.org("示范热电", OrgKind::Enterprise).await;
    let stack = app
        .db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "G01".into(),
                name: "示范热电1号排口".into(),
                kind: "stack_gas".into(),
                organisation_id: Some(enterprise),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    app.db
        .monitoring()
        .set_site_factors(
            &Actor::cli(),
            stack.id,
            &[factor("a21026", "二氧化硫", "mg/m³", Some("35"))],
        )
        .await
        .unwrap();
    stack
}

/// July 2020: 韩董庄 (target Ⅲ) has NH₃-N 1.2 on three valid days (Ⅳ) and
/// 5.0 on a day flagged D (not counted), COD 18 (Ⅲ); a stack of 示范热电
/// has SO₂ 40 and 52.5 against 35 on valid hours and 70 in calibration;
/// 原武镇 has one straw fire point.
async fn july_2020(app: &common::TestApp) {
    let actor = Actor::cli();
    let db = &app.db;
    let water = db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "W01".into(),
                name: "天然渠韩董庄断面".into(),
                kind: "surface_water".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    db.monitoring()
        .set_site_factors(
            &actor,
            water.id,
            &[
                factor("w21003", "氨氮", "mg/L", None),
                factor("w01018", "化学需氧量", "mg/L", None),
            ],
        )
        .await
        .unwrap();
    let stack = stack_site(app).await;
    let day = |d: u32| day_start_utc(NaiveDate::from_ymd_opt(2020, 7, d).unwrap());
    let mut rows = Vec::new();
    for d in 1..=3 {
        rows.push(value(water.id, "w21003", "day", day(d), "1.2", "N"));
        rows.push(value(water.id, "w01018", "day", day(d), "18", "N"));
    }
    rows.push(value(water.id, "w21003", "day", day(4), "5.0", "D"));
    rows.push(value(stack.id, "a21026", "hour", day(5) + 3600, "40", "N"));
    rows.push(value(
        stack.id,
        "a21026",
        "hour",
        day(5) + 7200,
        "52.5",
        "N",
    ));
    rows.push(value(stack.id, "a21026", "hour", day(5) + 10800, "70", "C"));
    rows.push(value(stack.id, "a21026", "hour", day(5) + 14400, "30", "N"));
    db.monitoring().store_rollups(&rows).await.unwrap();
    let township = app.org("原武镇", OrgKind::Township).await;
    db.campaigns()
        .add_fire_point(
            &actor,
            &NewFirePoint {
                township_id: township,
                occurred_on: NaiveDate::from_ymd_opt(2020, 7, 9).unwrap(),
                place: "原武镇东村麦田".into(),
                kind: FireKind::Straw,
                note: String::new(),
                attachments: Vec::new(),
                reply_due: None,
                longitude: None,
                latitude: None,
            },
        )
        .await
        .unwrap();
}

on_both_backends!(the_monthly_report_carries_water_classes_exceedances_and_fire_points);
async fn the_monthly_report_carries_water_classes_exceedances_and_fire_points(db: TestDb) {
    let app = spawn_on(db).await;
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    july_2020(&app).await;
    let c = app.login("office").await;
    let r: Value = c
        .get(app.url("/api/v1/reports/2020-07"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let sections = r["water_sections"].as_array().unwrap();
    let hdz = sections.iter().find(|s| s["section"] == "韩董庄").unwrap();
    assert_eq!(hdz["site"], "天然渠韩董庄断面");
    assert_eq!(hdz["month_class"], "Ⅳ", "{hdz}");
    assert_eq!(hdz["ytd_class"], "Ⅳ");
    assert_eq!(hdz["compliant"], false);
    assert_eq!(hdz["samples"], 3, "the day flagged D is not a sample");
    assert_eq!(hdz["failing"][0], "氨氮 1.2（Ⅳ类，超标0.2倍）");
    let other = sections.iter().find(|s| s["section"] != "韩董庄").unwrap();
    assert!(other["month_class"].is_null());
    assert_eq!(other["note"], "未登记监测断面");

    let e = r["exceedances"].as_array().unwrap();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["enterprise"], "示范热电");
    assert_eq!(e[0]["valid_hours"], 3);
    assert_eq!(e[0]["hours_over"], 2);
    assert_eq!(e[0]["max_value"], "52.5");
    assert_eq!(e[0]["max_multiple"], "0.5");

    let fire = r["fire_points"].as_array().unwrap();
    assert_eq!(fire.len(), 1);
    assert_eq!(fire[0]["township"], "原武镇");
    assert_eq!(fire[0]["amount"], "500000");
    assert_eq!(r["fire_points_total"], "500000");

    // The page and the XLSX show the same tables.
    let page = c
        .get(app.url("/reports?month=2020-07"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in ["示范热电1号排口", "Ⅳ", "秸秆焚烧火点扣款", "500000"] {
        assert!(page.contains(needle), "page lacks {needle}");
    }
    // (The XLSX export is built from the same sheets as the page.)
    for title in [
        "水质断面与目标",
        "各单位任务调度",
        "重点排污单位在线监测超标情况",
    ] {
        assert!(page.contains(title), "page lacks {title}");
    }

    // 水 shows the section's classes for the month.
    let water = c
        .get(app.url("/water?month=2020-07"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(water.contains("氨氮 1.2（Ⅳ类，超标0.2倍）"), "{water}");
}

on_both_backends!(the_overview_shows_device_and_exceedance_blocks_only_to_the_office);
async fn the_overview_shows_device_and_exceedance_blocks_only_to_the_office(db: TestDb) {
    let app = spawn_on(db).await;
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("qiye", Role::Enterprise, "别家企业", OrgKind::Enterprise)
        .await;
    let now = gongjian_storage::now();
    let stack = stack_site(&app).await;
    let hour = now - now % 3600 - 3600;
    app.db
        .monitoring()
        .store_rollups(&[value(stack.id, "a21026", "hour", hour, "80", "N")])
        .await
        .unwrap();

    let office = app.login("office").await;
    let html = office
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"exceedances\""), "{html}");
    assert!(html.contains("示范热电1号排口"));
    assert!(html.contains("id=\"overdue-none\""));

    let qiye = app.login("qiye").await;
    let html = qiye
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("示范热电1号排口"),
        "another enterprise's source leaked"
    );
    assert!(html.contains("仅对攻坚办可见"));
}

on_both_backends!(a_section_class_target_is_measured_from_the_section_data);
async fn a_section_class_target_is_measured_from_the_section_data(db: TestDb) {
    let app = spawn_on(db).await;
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    july_2020(&app).await;
    let c = app.login("office").await;
    let t: Value = c
        .get(app.url("/api/v1/targets?year=2020"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let target = |key: &str| {
        t["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["key"] == key)
            .unwrap()
            .clone()
    };
    // 天然渠 at 韩董庄 must be Ⅲ or better; the year's data say Ⅳ.
    let hdz = target("water-tianranqu");
    assert_eq!(hdz["ytd"], "Ⅳ", "{hdz}");
    assert_eq!(hdz["on_track"], false);
    assert!(hdz["note"].as_str().unwrap().contains("氨氮"));
    // A section without a monitoring site has no value and no verdict.
    let other = target("water-section-2");
    assert!(other["ytd"].is_null());
    assert!(other["on_track"].is_null());
    // Reported targets wait for accepted reports.
    let reported = target("water-drinking-source");
    assert!(reported["ytd"].is_null());
    assert!(
        reported["note"]
            .as_str()
            .unwrap()
            .contains("尚无通过审核的报送值")
    );
}
