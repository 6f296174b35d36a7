//! 一张图 over the API (issue 14 item 7): the layers carry a station by its
//! AQI level, a source with an open alarm in red, cases with positions and
//! the plan's outlines; an enterprise sees only its own sources and cases.

mod common;
#[path = "common/map_fixture.rs"]
mod map_fixture;

use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{OrgKind, Role};
use map_fixture::{FIRM_A, HOSTILE, map_fixture};
use serde_json::{Value, json};

fn layer<'a>(map: &'a Value, key: &str) -> &'a Vec<Value> {
    map["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["key"] == key)
        .unwrap_or_else(|| panic!("no layer {key}: {map}"))["points"]
        .as_array()
        .unwrap()
}

fn point(points: &[Value], id: i64) -> Option<&Value> {
    points.iter().find(|p| p["id"] == id)
}

on_both_backends!(the_map_shows_each_layer_and_each_role_its_own);
async fn the_map_shows_each_layer_and_each_role_its_own(db: TestDb) {
    let app = spawn_on(db).await;
    let f = map_fixture(&app).await;

    let anonymous = reqwest::get(app.url("/api/v1/map")).await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let office = app.login("office").await;
    let map: Value = office
        .get(app.url("/api/v1/map"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // No tile URL configured: no base layer, outlines from the plan.
    assert!(map["tiles"].is_null(), "{}", map["tiles"]);
    let outlines = map["boundaries"]["features"].as_array().unwrap();
    assert_eq!(outlines.len(), 5, "the district and its four townships");
    assert!(map["boundaries_note"].as_str().unwrap().contains("示意"));

    let station = point(layer(&map, "air"), f.station).expect("the station");
    assert_eq!(station["color"], "#00E400", "{station}");
    assert_eq!(station["status"], "AQI 50 · 优");
    assert_eq!(station["link"], format!("/sources/sites/{}", f.station));
    assert_eq!(
        (station["lon"].as_f64(), station["lat"].as_f64()),
        (Some(113.97), Some(35.08))
    );

    let sources = layer(&map, "sources");
    let alarmed = point(sources, f.alarmed).expect("the alarmed source");
    assert_eq!(alarmed["color"], "#d32f2f", "{alarmed}");
    assert_eq!(alarmed["status"], "报警中 1 条");
    assert_eq!(
        alarmed["name"], HOSTILE,
        "names are data, escaped by the page"
    );
    let quiet = point(sources, f.quiet).expect("the quiet source");
    assert_eq!(quiet["color"], "#2e7d32", "{quiet}");

    let cases = layer(&map, "cases");
    let a = point(cases, f.case_a).expect("case A");
    assert_eq!(
        (a["lon"].as_f64(), a["lat"].as_f64()),
        (Some(113.91), Some(35.11))
    );
    assert_eq!(a["link"], format!("/cases/{}", f.case_a));
    assert_eq!(a["status"], "待签收");
    assert!(point(cases, f.case_b).is_some());

    // Enterprise A: its source and its case only; air quality for all.
    let firm = app.login("firm-a").await;
    let mine: Value = firm
        .get(app.url("/api/v1/map"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = |key: &str| -> Vec<i64> {
        layer(&mine, key)
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids("sources"), [f.alarmed]);
    assert_eq!(ids("cases"), [f.case_a]);
    assert_eq!(ids("air"), [f.station]);
    assert!(ids("fires").is_empty());
    assert_eq!(
        point(layer(&mine, "sources"), f.alarmed).unwrap()["color"],
        "#d32f2f"
    );

    // The page is there for every role, with its layer toggles.
    let page = firm.get(app.url("/map")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("一张图") && html.contains("value=\"sources\""),
        "{html}"
    );
    assert!(html.contains("/static/vendor/leaflet/leaflet.js"));
    let licence = reqwest::get(app.url("/static/vendor/leaflet/LICENSE"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(licence.contains("BSD 2-Clause"));
}

// Issue 14 items 5 and 7: a fire point arrives with its position, which is
// checked against the district outline (as a case's is) and drawn on the
// map's 火点 layer for the office and its own township only.
on_both_backends!(flavor = "multi_thread"; fire_points_are_placed_and_positions_outside_the_district_refused);
async fn fire_points_are_placed_and_positions_outside_the_district_refused(db: TestDb) {
    let app = spawn_on(db).await;
    map_fixture(&app).await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    app.user("shizhai", Role::Township, "师寨镇", OrgKind::Township)
        .await;
    let office = app.login("office").await;
    let today = gongjian_storage::today_cst().to_string();
    let fire = |place: &str, lon: Option<&str>, lat: Option<&str>| {
        json!({"township": "原武镇", "date": today, "place": place, "kind": "straw",
               "note": "卫星遥感", "push_days": 2, "longitude": lon, "latitude": lat})
    };
    let r = office
        .post(app.url("/api/v1/fire-points"))
        .json(&fire("王村东地块", Some("113.6812"), Some("35.1437")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let stored: Value = r.json().await.unwrap();
    let id = stored["id"].as_i64().unwrap();
    assert_eq!(
        (&stored["longitude"], &stored["latitude"]),
        (&json!("113.6812"), &json!("35.1437"))
    );

    for (body, says) in [
        (
            fire("北京", Some("116.40"), Some("39.90")),
            "不在平原示范区范围内",
        ),
        (fire("半个坐标", Some("113.68"), None), "同时填写"),
        (fire("海上", Some("150"), Some("35.1")), "经度"),
    ] {
        let r = office
            .post(app.url("/api/v1/fire-points"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let text = r.text().await.unwrap();
        assert!(text.contains(says), "{says}: {text}");
    }
    let all: Value = office
        .get(app.url("/api/v1/fire-points"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        all["points"].as_array().unwrap().len(),
        1,
        "a refused point leaves nothing behind"
    );

    // An imported file may carry 经度 and 纬度 columns, held to the same
    // outline: a row outside refuses the file.
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let import = |csv: String| {
        office
            .post(app.url("/api/v1/fire-points/import"))
            .header("x-csrf-token", csrf.clone())
            .body(csv)
            .send()
    };
    let header = "乡镇,日期,位置,类型,备注,经度,纬度\n";
    let inside = format!("原武镇,{today},小宋庄路边,秸秆,卫星,113.7215,35.0862\n");
    let r = import(format!(
        "{header}{inside}原武镇,{today},北京,秸秆,,116.40,39.90\n"
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let res: Value = r.json().await.unwrap();
    assert_eq!(res["rejected"][0]["row"], 3, "{res}");
    assert!(
        res["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("不在平原示范区范围内"),
        "{res}"
    );
    let r = import(format!("{header}{inside}")).await.unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let all: Value = office
        .get(app.url("/api/v1/fire-points"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let imported = all["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["place"] == "小宋庄路边")
        .expect("the imported point");
    assert_eq!(
        (&imported["longitude"], &imported["latitude"]),
        (&json!("113.7215"), &json!("35.0862"))
    );

    // A case (a patrol) is held to the same outline.
    let firm = app
        .db
        .organisations()
        .organisation_by_name(FIRM_A)
        .await
        .unwrap()
        .unwrap()
        .id;
    let r = office
        .post(app.url("/api/v1/cases"))
        .json(
            &json!({"title": "外地问题", "source": "patrol", "organisation_id": firm,
                      "longitude": "116.40", "latitude": "39.90"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("不在平原示范区范围内"));

    let url = app.url("/api/v1/map");
    let map = |c: reqwest::Client| {
        let url = url.clone();
        async move {
            let v: Value = c.get(url).send().await.unwrap().json().await.unwrap();
            layer(&v, "fires").clone()
        }
    };
    let fires = map(office.clone()).await;
    let p = point(&fires, id).expect("the pushed point is drawn");
    assert_eq!(p["color"], "#f57c00", "{p}");
    assert_eq!(p["status"], "待乡镇核实");
    assert_eq!(p["link"], format!("/ledger#fp-{id}"));
    assert_eq!(
        (p["lon"].as_f64(), p["lat"].as_f64()),
        (Some(113.6812), Some(35.1437))
    );
    let own = app.login("yuanwu").await;
    assert!(point(&map(own).await, id).is_some(), "its township sees it");
    let other = app.login("shizhai").await;
    assert!(
        point(&map(other).await, id).is_none(),
        "another township does not"
    );
}

/// With `map.tile_url` set, the answer carries the base layer and the
/// Content-Security-Policy lets images come from that host, and only that.
#[tokio::test]
async fn a_configured_tile_host_reaches_the_page_and_the_policy() {
    let test_db = gongjian_storage::testing::sqlite().await;
    let mut config = gongjian_config::Config::default();
    config.map.tile_url = "http://10.1.2.3:8080/tianditu/{z}/{x}/{y}.png".into();
    config.map.attribution = "<b>天地图</b>".into();
    let state = gongjian_web::AppState::new(
        test_db.db.clone(),
        gongjian_web::WebSettings::from_config(&config),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        gongjian_web::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let db = &test_db.db;
    let actor = gongjian_storage::Actor::cli();
    let office_org = db
        .organisations()
        .create_organisation(
            &actor,
            "区环境攻坚办",
            gongjian_storage::OrgKind::Office,
            None,
        )
        .await
        .unwrap()
        .id;
    db.accounts()
        .create_user(
            &actor,
            &gongjian_storage::NewUser {
                username: "office".into(),
                display_name: String::new(),
                password: common::PASSWORD.into(),
                role: gongjian_storage::Role::Office,
                organisation_id: office_org,
                must_change_password: false,
            },
        )
        .await
        .unwrap();
    let office = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let url = |p: &str| format!("http://{addr}{p}");
    let login = office
        .post(url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "office", "password": common::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success(), "{}", login.status());
    let r = office.get(url("/api/v1/map")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("img-src 'self' data: blob: http://10.1.2.3:8080;"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let map: Value = r.json().await.unwrap();
    assert_eq!(
        map["tiles"]["url"],
        "http://10.1.2.3:8080/tianditu/{z}/{x}/{y}.png"
    );
    // Passed as data; the page escapes it before Leaflet sees it.
    assert_eq!(map["tiles"]["attribution"], "<b>天地图</b>");
    // No campaign in force: points only, and the map says why.
    assert!(map["boundaries"].is_null());
    assert!(map["boundaries_note"].as_str().unwrap().contains("没有"));
}
