//! 大气 upload (`POST /air/import`): only registered air stations take data;
//! a file naming another code is refused whole, with the codes and rows.
//! A station without the days HJ 663 requires is not ranked: 数据不足 in
//! the rankings API, on 大气 and in the 月调度.

mod common;

use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{OrgKind, Role};

const AIR: &str = "station,time,so2,no2,co,o3,pm10,pm25\n\
    PY001,2020-03-10 08:00,10,20,0.5,50,80,60\n\
    PY009,2020-03-10 08:00,10,20,0.5,50,80,20\n\
    PY009,2020-03-10 09:00,10,20,0.5,50,80,20\n";

async fn upload(c: &reqwest::Client, app: &common::TestApp) -> (u16, String) {
    let resp = c
        .post(app.url("/air/import?name=air.csv"))
        .body(AIR)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn register(c: &reqwest::Client, app: &common::TestApp, code: &str) {
    register_in(c, app, code, "原武镇").await;
}

async fn register_in(c: &reqwest::Client, app: &common::TestApp, code: &str, town: &str) {
    let csv = format!("站点编码,站点名称,类型,乡镇\n{code},{code}站,空气站,{town}\n");
    let resp = c
        .post(app.url("/api/v1/sites/import"))
        .header("x-filename", "sites.csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

on_both_backends!(an_air_upload_with_an_unregistered_station_is_refused_with_its_rows);
/// Issue 13 item 2: a typo (`PY009`) no longer creates a phantom station.
async fn an_air_upload_with_an_unregistered_station_is_refused_with_its_rows(db: TestDb) {
    let app = spawn_on(db).await;
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = app.login("office").await;
    register(&c, &app, "PY001").await;

    let (status, body) = upload(&c, &app).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("未导入任何数据"), "{body}");
    assert!(body.contains("“PY009”未登记（第 3、4 行）"), "{body}");
    assert!(!body.contains("PY001”"), "{body}");
    assert!(
        app.db
            .monitoring()
            .site_by_code("PY009")
            .await
            .unwrap()
            .is_none()
    );

    // Registered first, the same file is taken whole: nothing of the refused
    // upload was stored (all 18 values are new).
    register(&c, &app, "PY009").await;
    let (status, body) = upload(&c, &app).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("导入 3 行（写入/更新 18 个值，未变 0 个）"),
        "{body}"
    );

    // A registered code of another kind is not an air station.
    let csv = "站点编码,站点名称,类型\nPY010,某厂排口,废气排口\n";
    let resp = c
        .post(app.url("/api/v1/sites/import"))
        .header("x-filename", "sites.csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = c
        .post(app.url("/air/import?name=stack.csv"))
        .body("station,time,so2,no2,co,o3,pm10,pm25\nPY010,2020-03-10 08:00,10,20,0.5,50,80,60\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("“PY010”已登记为废气排口，不是空气站（第 2 行）"),
        "{body}"
    );
}

/// Hours of `code` for every day of `days` of July 2020 (PM2.5 `pm25`).
fn july(code: &str, days: std::ops::RangeInclusive<u32>, pm25: u32) -> String {
    let mut s = String::new();
    for d in days {
        for h in 1..=24 {
            let end = chrono::NaiveDate::from_ymd_opt(2020, 7, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                + chrono::Duration::hours(h);
            s.push_str(&format!(
                "{code},{},8,20,0.6,60,{},{pm25}\n",
                end.format("%Y-%m-%d %H:%M"),
                pm25 * 3 / 2
            ));
        }
    }
    s
}

on_both_backends!(a_station_without_a_months_valid_days_is_not_ranked);
/// Issue 13 item 2: a station with one day of data (the phantom of a typo)
/// no longer tops the rankings: it shows 数据不足 and takes no rank.
async fn a_station_without_a_months_valid_days_is_not_ranked(db: TestDb) {
    let app = spawn_on(db).await;
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = app.login("office").await;
    register(&c, &app, "PY001").await;
    register_in(&c, &app, "PY009", "师寨镇").await;
    // PY001 every day of July, PY009 one very clean day.
    let csv = format!(
        "station,time,so2,no2,co,o3,pm10,pm25\n{}{}",
        july("PY001", 1..=31, 50),
        july("PY009", 31..=31, 10)
    );
    let table = gongjian_tabular::read_csv_bytes("july.csv", csv.as_bytes()).unwrap();
    gongjian_app::air::import_table(&app.db, &gongjian_storage::Actor::cli(), &table)
        .await
        .unwrap();

    let r: serde_json::Value = c
        .get(app.url("/api/v1/rankings?month=2020-07"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = r["stations"]["month"]["rows"].as_array().unwrap();
    let row = |code: &str| {
        rows.iter()
            .find(|x| x["name"].as_str().unwrap().contains(code))
            .unwrap()
            .clone()
    };
    assert_eq!(row("PY001")["rank"], 1);
    assert_eq!(row("PY001")["sufficient"], true);
    assert_eq!(row("PY009")["rank"], serde_json::Value::Null);
    assert_eq!(row("PY009")["sufficient"], false);
    assert_eq!(row("PY009")["note"], "数据不足");
    assert!(row("PY009")["index"].is_string());
    // Its township, with no other station, is not ranked either.
    let towns = r["townships"]["month"]["rows"].as_array().unwrap();
    let town = |n: &str| towns.iter().find(|x| x["name"] == n).unwrap().clone();
    assert_eq!(town("原武镇")["rank"], 1);
    assert_eq!(town("师寨镇")["rank"], serde_json::Value::Null);
    assert_eq!(town("师寨镇")["note"], "数据不足");

    let page = c
        .get(app.url("/air?month=2020-07"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<td>数据不足</td><td>PY009站（PY009）</td>"),
        "{page}"
    );

    let report: serde_json::Value = c
        .get(app.url("/api/v1/reports/2020-07"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stations = report["station_ranking_month"]["rows"].as_array().unwrap();
    assert_eq!(stations[0]["name"], "PY001站（PY001）");
    assert_eq!(stations[0]["rank"], 1);
    assert_eq!(stations[1]["note"], "数据不足");
    let html = c
        .get(app.url("/reports?month=2020-07"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("数据不足"), "{html}");
}
