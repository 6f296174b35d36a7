//! Issue 15 item 3 over the API: electricity-meter readings pushed as JSON
//! by the power company's system and imported from spreadsheets, all or
//! nothing, stored as the HJ 212 writer stores a logger's data.

mod common;

use chrono::Duration;
use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, Device, NewSite, OrgKind, Role};
use serde_json::{Value, json};

/// Registers the office, a township user and a power meter `PWR-1` (with
/// a data logger `88888880000001`) and an air station `AIR-1`; returns the
/// meter's site id.
async fn setup(app: &common::TestApp) -> i64 {
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    app.user("viewer", Role::Viewer, "区环境攻坚办", OrgKind::Office)
        .await;
    let firm = app.org("示范铸造有限公司", OrgKind::Enterprise).await;
    let actor = Actor::cli();
    let meter = app
        .db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "PWR-1".into(),
                name: "示范铸造用电监控".into(),
                kind: "power".into(),
                organisation_id: Some(firm),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    app.db
        .monitoring()
        .upsert_device(&actor, &Device::new("88888880000001", "123456", meter.id))
        .await
        .unwrap();
    app.db
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
    meter.id
}

fn yesterday() -> chrono::NaiveDate {
    gongjian_storage::today_cst() - Duration::days(1)
}

/// A day of hourly readings from yesterday 00:00 to today 00:00: the
/// counter rising 175 kWh an hour at 175 kW.
fn day_of_readings(meter: &str) -> Vec<Value> {
    let day = yesterday();
    (0..=24)
        .map(|h| {
            let at = day.and_hms_opt(0, 0, 0).unwrap() + Duration::hours(h);
            json!({
                "meter": meter,
                "at": at.format("%Y-%m-%d %H:%M").to_string(),
                "Pt": 175,
                "Ept": format!("{}.0", 1000 + 175 * h),
            })
        })
        .collect()
}

async fn series(client: &reqwest::Client, app: &common::TestApp, id: i64) -> Vec<Value> {
    let day = yesterday();
    let r = client
        .get(app.url(&format!(
            "/api/v1/sites/{id}/series?kind=hour&from={day}&to={day}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().await.unwrap()
}

fn points<'a>(series: &'a [Value], factor: &str) -> &'a [Value] {
    series
        .iter()
        .find(|s| s["factor"] == factor)
        .and_then(|s| s["points"].as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
}

on_both_backends!(a_pushed_day_of_readings_is_stored_as_logger_data);
async fn a_pushed_day_of_readings_is_stored_as_logger_data(db: TestDb) {
    let app = spawn_on(db).await;
    let meter = setup(&app).await;
    let office = app.login("office").await;
    let mut readings = day_of_readings("PWR-1");
    // The meter named by its logger's MN is the same meter.
    readings[5]["meter"] = json!("88888880000001");
    let r = office
        .post(app.url("/api/v1/power/readings"))
        .json(&json!({ "readings": readings }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["refused"], false, "{out}");
    assert_eq!(out["stored"], 25, "{out}");
    assert_eq!(out["written"], 50, "{out}");
    assert_eq!(out["meters"], json!(["PWR-1"]));

    let s = series(&office, &app, meter).await;
    let ept = points(&s, "Ept");
    let pt = points(&s, "Pt");
    assert_eq!((ept.len(), pt.len()), (24, 24), "{s:?}");
    assert_eq!(ept[0]["value"], "1000.0");
    assert_eq!(ept[23]["value"], "5025.0");
    assert_eq!(pt[3]["value"], "175");
    assert_eq!(ept[0]["source"], "import");
    // Queued for rollups as a logger's hours are.
    assert!(app.db.monitoring().pending_rollup_count().await.unwrap() > 0);
    // Audited as one import.
    let audit = app
        .db
        .audit()
        .list(&gongjian_storage::AuditFilter {
            limit: 1000,
            ..gongjian_storage::AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "import" && e.entity == "series"),
        "{audit:?}"
    );

    // The same push again stores nothing new; a corrected value replaces.
    let mut again = day_of_readings("PWR-1");
    again[2]["Pt"] = json!("180.5");
    let out: Value = office
        .post(app.url("/api/v1/power/readings"))
        .json(&json!({ "readings": again }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (out["written"].clone(), out["unchanged"].clone()),
        (json!(1), json!(49)),
        "{out}"
    );
    let s = series(&office, &app, meter).await;
    assert_eq!(points(&s, "Pt")[2]["value"], "180.5");
}

on_both_backends!(a_batch_with_one_bad_row_is_refused_whole);
async fn a_batch_with_one_bad_row_is_refused_whole(db: TestDb) {
    let app = spawn_on(db).await;
    let meter = setup(&app).await;
    let office = app.login("office").await;
    let mut readings = day_of_readings("PWR-1");
    readings[2]["Pt"] = json!("abc");
    readings[6]["meter"] = json!("AIR-1");
    let r = office
        .post(app.url("/api/v1/power/readings"))
        .json(&json!({ "readings": readings }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let out: Value = r.json().await.unwrap();
    assert_eq!(out["refused"], true);
    assert_eq!(out["stored"], 0);
    let messages: Vec<&str> = out["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "第 3 行「Pt」：“abc”不是数字",
            "第 7 行「meter」：“AIR-1”已登记为空气站，不是用电监控点",
        ]
    );
    assert!(series(&office, &app, meter).await.is_empty());

    // A future reading, and a body that is not a list of readings.
    let tomorrow = gongjian_storage::today_cst() + Duration::days(1);
    let r = office
        .post(app.url("/api/v1/power/readings"))
        .json(
            &json!({"readings": [{"meter": "PWR-1", "at": format!("{tomorrow} 08:00"), "Ept": 1}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let out: Value = r.json().await.unwrap();
    assert!(
        out["messages"][0]
            .as_str()
            .unwrap()
            .contains("不能是将来的时间"),
        "{out}"
    );
    let r = office
        .post(app.url("/api/v1/power/readings"))
        .json(&json!({"rows": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(series(&office, &app, meter).await.is_empty());
}

on_both_backends!(a_gbk_csv_is_imported);
async fn a_gbk_csv_is_imported(db: TestDb) {
    let app = spawn_on(db).await;
    let meter = setup(&app).await;
    let office = app.login("office").await;
    let day = yesterday();
    let mut csv = String::from("电表,时间,有功功率(kW),有功电能(kWh),户名\n");
    for h in 0..24 {
        csv.push_str(&format!(
            "PWR-1,{day} {h:02}:00,120,{},示范铸造\n",
            2000 + 120 * h
        ));
    }
    let (gbk, _, bad) = encoding_rs::GBK.encode(&csv);
    assert!(!bad);
    let r = office
        .post(app.url("/api/v1/power/readings/import"))
        .header("x-filename", "%E7%94%A8%E7%94%B5.csv")
        .body(gbk.into_owned())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let out: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["stored"], 24, "{out}");
    assert_eq!(out["source"], "用电.csv");
    let s = series(&office, &app, meter).await;
    assert_eq!(points(&s, "Ept").len(), 24);
    assert_eq!(points(&s, "Ept")[1]["value"], "2120");

    // A bad row of a file is named by its line and column header.
    let bad = format!("电表,时间,有功电能(kWh)\nPWR-1,{day} 01:00,-5\n");
    let r = office
        .post(app.url("/api/v1/power/readings/import"))
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let out: Value = r.json().await.unwrap();
    assert_eq!(
        out["messages"][0],
        "第 2 行「有功电能(kWh)」：-5 为负值，不能为负"
    );
}

on_both_backends!(only_the_office_and_admins_store_readings);
async fn only_the_office_and_admins_store_readings(db: TestDb) {
    let app = spawn_on(db).await;
    let meter = setup(&app).await;
    for user in ["yuanwu", "viewer"] {
        let client = app.login(user).await;
        let r = client
            .post(app.url("/api/v1/power/readings"))
            .json(&json!({ "readings": day_of_readings("PWR-1") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{user}");
        let r = client
            .post(app.url("/api/v1/power/readings/import"))
            .body("电表,时间,有功电能(kWh)\nPWR-1,2026-01-01 01:00,5\n")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{user}");
    }
    // Without a session.
    let r = common::client()
        .post(app.url("/api/v1/power/readings"))
        .json(&json!({ "readings": day_of_readings("PWR-1") }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let office = app.login("office").await;
    assert!(series(&office, &app, meter).await.is_empty());
    // Both routes are in the OpenAPI document with their bodies.
    let doc: Value = common::client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/api/v1/power/readings", "/api/v1/power/readings/import"] {
        assert!(
            doc["paths"][path]["post"]["requestBody"]["content"].is_object(),
            "{path}"
        );
    }
}

on_both_backends!(the_office_uploads_readings_on_the_page);
/// The same import on a page (污染源 → 导入用电数据): a file with a bad row
/// is refused whole with the row named (escaped), nothing stored; the good
/// file is stored and counted; a township may not open the page.
async fn the_office_uploads_readings_on_the_page(db: TestDb) {
    let app = spawn_on(db).await;
    let meter = setup(&app).await;
    let office = app.login("office").await;
    let page = office
        .get(app.url("/sources"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"power-readings-link\""), "{page}");
    let day = yesterday();
    let post = |bytes: Vec<u8>| {
        let office = office.clone();
        let url = app.url("/sources/power-readings");
        let me = app.url("/api/v1/me");
        async move {
            let csrf = common::csrf_token(&office, &me).await;
            let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("用电数据.csv"),
            );
            office.post(url).multipart(form).send().await.unwrap()
        }
    };
    let bad =
        format!("电表,时间,有功电能(kWh)\nPWR-1,{day} 00:00,100\n<b>PWR-9</b>,{day} 01:00,5\n");
    let r = post(bad.into_bytes()).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"readings-problems\""), "{page}");
    assert!(page.contains("第 3 行"), "{page}");
    assert!(!page.contains("<b>PWR-9</b>"), "escaped: {page}");
    assert!(points(&series(&office, &app, meter).await, "Ept").is_empty());

    let mut csv = String::from("电表,时间,有功电能(kWh)\n");
    for h in 0..24 {
        csv.push_str(&format!("PWR-1,{day} {h:02}:00,{}\n", 1000 + 50 * h));
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let r = post(gbk.into_owned()).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("已保存：用电数据.csv"), "{page}");
    assert!(page.contains("共 24 行"), "{page}");
    assert_eq!(points(&series(&office, &app, meter).await, "Ept").len(), 24);

    let township = app.login("yuanwu").await;
    let r = township
        .get(app.url("/sources/power-readings"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
