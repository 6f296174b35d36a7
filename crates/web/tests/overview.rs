//! The overview and the target API show the annual mean computed from an
//! imported year; a published report does not change when new data arrive.

mod common;

use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, OrgKind, Role};
use serde_json::Value;

/// One station, all of 2020: PM2.5 50 Jan–Jun, 70 Jul–Dec (PM10 = 1.5×).
/// Daily means 50 × 182 days and 70 × 184 days: annual mean
/// 21980 / 366 = 60.05 → 60; PM10 32970 / 366 = 90.08 → 90.
fn year_csv(dec31_pm25: Option<u32>) -> String {
    let mut s = String::from("station,time,so2,no2,co,o3,pm10,pm25\n");
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for day in 0..366 {
        let d = start + chrono::Duration::days(day);
        let mut pm25: u32 = if d.format("%m").to_string().as_str() <= "06" {
            50
        } else {
            70
        };
        if let (Some(v), "12-31") = (dec31_pm25, d.format("%m-%d").to_string().as_str()) {
            pm25 = v;
        }
        for h in 1..=24 {
            let end = d.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(h);
            s.push_str(&format!(
                "S1,{},8,20,0.6,60,{},{}\n",
                end.format("%Y-%m-%d %H:%M"),
                pm25 * 3 / 2,
                pm25
            ));
        }
    }
    s
}

async fn import(app: &common::TestApp, csv: &str) {
    // An air import takes only registered stations.
    if app
        .db
        .monitoring()
        .site_by_code("S1")
        .await
        .unwrap()
        .is_none()
    {
        app.db
            .monitoring()
            .create_site(
                &Actor::cli(),
                &gongjian_storage::NewSite {
                    code: "S1".into(),
                    name: "S1".into(),
                    kind: "air_station".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let table = gongjian_tabular::read_csv_bytes("year.csv", csv.as_bytes()).unwrap();
    let out = gongjian_app::air::import_table(&app.db, &Actor::cli(), &table)
        .await
        .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
}

fn target<'a>(v: &'a Value, key: &str) -> &'a Value {
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == key)
        .unwrap()
}

on_both_backends!(overview_and_api_show_the_annual_mean_and_published_reports_stay_frozen);
async fn overview_and_api_show_the_annual_mean_and_published_reports_stay_frozen(db: TestDb) {
    let app = spawn_on(db).await;
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = app.login("office").await;
    import(&app, &year_csv(None)).await;

    let t: Value = c
        .get(app.url("/api/v1/targets?year=2020"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pm25 = target(&t, "air-pm25");
    assert_eq!(pm25["ytd"], "60");
    assert_eq!(pm25["on_track"], true);
    assert_eq!(pm25["allowance"]["state"], "final");
    assert_eq!(pm25["allowance"]["met"], true);
    assert_eq!(pm25["rules"][0], "HJ 633-2012");
    assert_eq!(target(&t, "air-pm10")["ytd"], "90");
    // Daily AQI: PM2.5 50 → 72 (良), 70 → 94 (良): all 366 days good.
    assert_eq!(target(&t, "air-good-days")["ytd"], 366);

    let html = c
        .get(app.url("/?year=2020"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<td class=\"ytd\">60</td>"), "{html}");
    assert!(html.contains("<td class=\"ytd\">90</td>"));
    // The targets name the campaign they come from (issue 12), and a year
    // without one says so instead of showing another year's targets.
    assert!(html.contains("目标值取自《平原示范区 2020 年"), "{html}");
    // 月调度 is in the menu (issue 13 item 17), and a target reads as its
    // requirement.
    assert!(html.contains("href=\"/reports\""), "{html}");
    assert!(html.contains("≤ 62 µg/m³"), "{html}");
    // What a director checks each morning (issue 13 item 15): the township
    // ranking, reports waiting for review, this month's fire points.
    assert!(html.contains("乡镇排名"), "{html}");
    assert!(html.contains("id=\"to-review\""), "{html}");
    assert!(html.contains("本月秸秆焚烧火点"), "{html}");
    let charts: Value = c
        .get(app.url("/overview/charts.json?year=2020"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let day = &charts["days"][0];
    assert!(day["color"].as_str().unwrap().starts_with('#'), "{charts}");
    assert!(html.contains("<strong>2020 年</strong>"), "{html}");
    let other = c
        .get(app.url("/?year=2019"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        other.contains("2019 年没有执行中或已结束的攻坚方案"),
        "{other}"
    );
    assert!(!other.contains("<td class=\"ytd\">"), "{other}");

    // Publish December, then late data arrive for 31 December.
    let p: Value = c
        .post(app.url("/api/v1/reports/2020-12/publish"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["version"], 1);
    import(&app, &year_csv(Some(500))).await;
    let live: Value = c
        .get(app.url("/api/v1/reports/2020-12"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // (21980 − 70 + 500) / 366 = 61.23 → 61
    assert_eq!(target(&live, "air-pm25")["ytd"], "61");
    let v1: Value = c
        .get(app.url("/api/v1/reports/2020-12/versions/1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(target(&v1["payload"], "air-pm25")["ytd"], "60");
    // Issue 13 item 17: 期数 and 文号 given at publication are printed in
    // the version's masthead and its XLSX titles; a 文号 that is not one
    // short line is refused with its rule's code and nothing is published.
    let long = "号".repeat(41);
    let r = c
        .post(app.url("/api/v1/reports/2020-12/publish"))
        .json(&serde_json::json!({"document_number": long}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    assert_eq!(err["code"], "E2602", "{err}");
    let p2: Value = c
        .post(app.url("/api/v1/reports/2020-12/publish"))
        .json(
            &serde_json::json!({"issue": "第 12 期", "document_number": "平示攻坚办〔2020〕30 号"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p2["version"], 2, "{p2}");
    let v2: Value = c
        .get(app.url("/api/v1/reports/2020-12/versions/2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v2["payload"]["document_number"], "平示攻坚办〔2020〕30 号");
    let page = c
        .get(app.url("/reports/2020-12/v/2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("第 12 期 · 平示攻坚办〔2020〕30 号</p>"),
        "{page}"
    );
    // The live page offers the month's 期数 in the publish form.
    let live_page = c
        .get(app.url("/reports?month=2020-12"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        live_page.contains("name=\"issue\" value=\"第 12 期\"")
            && live_page.contains("name=\"document_number\""),
        "{live_page}"
    );
    let xlsx = c
        .get(app.url("/api/v1/reports/2020-12/xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    // A viewer sees published versions too.
    app.user("viewer", Role::Viewer, "区环境攻坚办", OrgKind::Office)
        .await;
    let v = app.login("viewer").await;
    let page = v.get(app.url("/reports/2020-12/v/1")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let r = v
        .post(app.url("/api/v1/reports/2020-12/publish"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// `days` of hourly rows for `station` from `first`, with PM2.5 `pm25(day)`
/// (PM10 = 1.5×, the other pollutants low).
fn month_rows(
    station: &str,
    first: chrono::NaiveDate,
    days: i64,
    pm25: impl Fn(i64) -> u32,
) -> String {
    let mut s = String::new();
    for day in 0..days {
        let d = first + chrono::Duration::days(day);
        let v = pm25(day);
        for h in 1..=24 {
            let end = d.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(h);
            s.push_str(&format!(
                "{station},{},8,20,0.6,60,{},{}\n",
                end.format("%Y-%m-%d %H:%M"),
                v * 3 / 2,
                v
            ));
        }
    }
    s
}

on_both_backends!(the_directors_card_shows_good_day_ratio_year_on_year_and_dashes_not_zeros);
/// Issue 13 item 15: 总览's township ranking gives each township's good-day
/// ratio and its change on the same month last year (同比); a township with
/// no data last year shows "—" for 同比, one with no data this month "—"
/// for its figures and 数据不足 for its rank (never 0); the heavy-pollution
/// target without a complete baseline year reads 无基准.
async fn the_directors_card_shows_good_day_ratio_year_on_year_and_dashes_not_zeros(db: TestDb) {
    let app = spawn_on(db).await;
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = app.login("office").await;
    let orgs = app.db.organisations().list().await.unwrap();
    let town = |name: &str| orgs.iter().find(|o| o.name == name).map(|o| o.id);
    for (code, township) in [("Y1", "原武镇"), ("S2", "师寨镇"), ("L3", "祝楼乡")] {
        assert!(town(township).is_some(), "{township} is in the plan");
        app.db
            .monitoring()
            .create_site(
                &Actor::cli(),
                &gongjian_storage::NewSite {
                    code: code.into(),
                    name: format!("{township}站"),
                    kind: "air_station".into(),
                    township_id: town(township),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let dec = |y| chrono::NaiveDate::from_ymd_opt(y, 12, 1).unwrap();
    let nov = chrono::NaiveDate::from_ymd_opt(2020, 11, 1).unwrap();
    let mut csv = String::from("station,time,so2,no2,co,o3,pm10,pm25\n");
    // 原武镇: December 2019 at 60, December 2020 at 30 (every day good).
    csv.push_str(&month_rows("Y1", dec(2019), 31, |_| 60));
    csv.push_str(&month_rows("Y1", dec(2020), 31, |_| 30));
    // 师寨镇: December 2020 only, 10 days of light pollution (PM2.5 100).
    csv.push_str(&month_rows("S2", dec(2020), 31, |d| {
        if d < 10 { 100 } else { 30 }
    }));
    // 祝楼乡: November 2020 only.
    csv.push_str(&month_rows("L3", nov, 30, |_| 30));
    let table = gongjian_tabular::read_csv_bytes("towns.csv", csv.as_bytes()).unwrap();
    let out = gongjian_app::air::import_table(&app.db, &Actor::cli(), &table)
        .await
        .unwrap();
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);

    let page = c
        .get(app.url("/?year=2020"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ranking = page
        .split("id=\"township-ranking\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no township ranking: {page}"));
    let row = |name: &str| -> Vec<String> {
        let tr = ranking
            .split("<tr>")
            .find(|r| r.contains(&format!("<td>{name}</td>")))
            .unwrap_or_else(|| panic!("{name} not ranked: {ranking}"));
        tr.split("<td>")
            .skip(1)
            .map(|c| c.split("</td>").next().unwrap_or("").to_owned())
            .collect()
    };
    // 排名, 乡镇, 综合指数, PM2.5, 优良率, 同比
    let y1 = row("原武镇");
    assert_eq!(y1[3], "30");
    assert_eq!(y1[4], "100.0%", "{y1:?}");
    assert!(
        y1[5].starts_with('-') && y1[5].ends_with('%'),
        "cleaner than last December: {y1:?}"
    );
    let s2 = row("师寨镇");
    assert_eq!(s2[4], "67.7%", "21 good days of 31: {s2:?}");
    assert_eq!(s2[5], "—", "no December 2019 to compare with: {s2:?}");
    let l3 = row("祝楼乡");
    assert_eq!(l3[0], "数据不足", "{l3:?}");
    assert_eq!(
        &l3[2..],
        ["—", "—", "—", "—"],
        "no data is a dash, never 0: {l3:?}"
    );
    // The ranking's 同比 is the ranking's own change rate, shown signed.
    let data = gongjian_app::air::air_data(&app.db, &gongjian_app::air::AirCache::default(), 2020)
        .await
        .unwrap();
    let r = gongjian_app::targets::township_month_ranking(
        &data,
        chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap(),
    );
    let rate = r
        .rows
        .iter()
        .find(|x| x.name == "原武镇")
        .unwrap()
        .change_rate
        .unwrap();
    assert_eq!(y1[5], format!("{rate}%"));
    // 2019 has one month of data: no baseline for the heavy-pollution days.
    assert!(page.contains("无基准"), "{page}");
}
