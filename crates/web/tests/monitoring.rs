//! Sites and devices (污染源): registration through the API, who sees what,
//! the GBK-safe site import and the export, and latest values coloured
//! against their limits on the site list.

mod common;

use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{IngestBatch, OrgKind, Role, SeriesValue, Upload};
use serde_json::{Value, json};

const HEADER: &str =
    "站点编码,站点名称,类型,所属企业,乡镇,经度,纬度,MN,密码,协议版本,对时,分钟间隔,监测因子\n";

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

async fn import(
    c: &reqwest::Client,
    app: &common::TestApp,
    name: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let me: Value = c
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    c.post(app.url("/api/v1/sites/import"))
        .header("x-filename", name)
        .header(
            "x-csrf-token",
            me["csrf_token"].as_str().unwrap_or_default(),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

on_both_backends!(sites_are_registered_imported_exported_and_seen_by_their_owners_only);
async fn sites_are_registered_imported_exported_and_seen_by_their_owners_only(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("viewer", Role::Viewer, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("qiye", Role::Enterprise, "示范热电", OrgKind::Enterprise)
        .await;
    app.user(
        "zhifa",
        Role::Department,
        "区行政综合执法局",
        OrgKind::Department,
    )
    .await;
    app.org("别家化工", OrgKind::Enterprise).await;
    let office = app.login("office").await;

    // A file with one bad row (unknown kind) is refused whole, with the line.
    let bad = format!(
        "{HEADER}G01,示范热电1号排口,废气排口,示范热电,,113.96,35.11,MN0000000000000000000001,pw-1,2017,是,10,a21026:二氧化硫:mg/m3:35;a19001:氧气含量:%:\n\
         G02,别家化工排口,锅炉,别家化工,,,,,,,,,\n"
    );
    let r = import(&office, &app, "站点.csv", gbk(&bad)).await;
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    let detail = err["detail"].as_str().unwrap();
    assert!(
        detail.contains("站点.csv, line 3") && detail.contains("锅炉"),
        "{err}"
    );
    let none: Value = office
        .get(app.url("/api/v1/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        none.as_array().unwrap().len(),
        0,
        "nothing of a bad file is stored"
    );

    // The corrected file (GBK, as Excel writes it) is imported.
    let good = bad.replace("锅炉", "废气排口");
    // (A browser sends the name percent-encoded.)
    let r = import(&office, &app, "%E7%AB%99%E7%82%B9.csv", gbk(&good)).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let sites: Value = office
        .get(app.url("/api/v1/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sites.as_array().unwrap().len(), 2);
    let g01 = sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "G01")
        .unwrap()
        .clone();
    let g01_id = g01["id"].as_i64().unwrap();
    assert_eq!(g01["devices"][0]["mn"], "MN0000000000000000000001");
    assert_eq!(g01["devices"][0]["time_sync_on_connect"], true);
    let so2 = g01["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["factor"] == "a21026")
        .unwrap();
    assert_eq!(so2["limit_value"], "35");
    // GBK has no "³": files from Excel write mg/m3.
    assert_eq!(so2["unit"], "mg/m3");

    // Registration through the API; an enterprise may not register.
    let created = office
        .post(app.url("/api/v1/sites"))
        .json(&json!({"code": "W01", "name": "天然渠韩董庄断面", "kind": "地表水断面",
                      "factors": [{"factor": "w21003", "name": "氨氮", "unit": "mg/L", "limit_value": "1.0"}]}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let qiye = app.login("qiye").await;
    let refused = qiye
        .post(app.url("/api/v1/sites"))
        .json(&json!({"code": "X1", "name": "私建", "kind": "stack_gas"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    // Owners see their own sites only; departments see none.
    let mine: Value = qiye
        .get(app.url("/api/v1/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["G01"]);
    let other = sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "G02")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = qiye
        .get(app.url(&format!("/api/v1/sites/{other}")))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 403 || r.status() == 404, "{}", r.status());
    let zhifa = app.login("zhifa").await;
    let theirs: Value = zhifa
        .get(app.url("/api/v1/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(theirs.as_array().unwrap().is_empty());

    // The export round-trips the import layout; passwords only for the office.
    let csv = office
        .get(app.url("/api/v1/sites.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with('\u{feff}') || csv.starts_with("站点编码"),
        "{csv}"
    );
    assert!(csv.contains("pw-1"));
    assert!(csv.contains("a21026:二氧化硫:mg/m3:35"));
    let viewer = app.login("viewer").await;
    let csv = viewer
        .get(app.url("/api/v1/sites.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("G01") && !csv.contains("pw-1"), "{csv}");
    let xlsx = office
        .get(app.url("/api/v1/sites.xlsx"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let table = gongjian_tabular::read_xlsx_bytes("sites.xlsx", &xlsx).unwrap();
    assert_eq!(table.rows().count(), 3);

    // A latest value over its limit is marked on the site list.
    app.db
        .monitoring()
        .commit_ingest(&IngestBatch {
            uploads: vec![Upload {
                mn: "MN0000000000000000000001".into(),
                cn: "2051".into(),
                datatime: "20250101001000".into(),
                pno: 0,
                site_id: g01_id,
                values: vec![SeriesValue {
                    factor: "a21026".into(),
                    kind: "min",
                    period_start: 1_735_660_800,
                    value: Some("41.2".into()),
                    converted: Some("52.5".into()),
                    flag: "N".into(),
                }],
            }],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    let page = qiye
        .get(app.url("/sources"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("class=\"v-over\""), "{page}");
    assert!(
        page.contains("二氧化硫 52.5"),
        "the converted value is judged and shown"
    );

    // Issue 13 item 18: the site page shows the latest values, reloads
    // them, and opens on real-time data while the site has no hours.
    let get = |path: String| {
        let c = qiye.clone();
        async move { c.get(path).send().await.unwrap().text().await.unwrap() }
    };
    let site_page = get(app.url(&format!("/sources/sites/{g01_id}"))).await;
    assert!(site_page.contains("id=\"latest-values\""), "{site_page}");
    assert!(site_page.contains(">52.5</span>"), "{site_page}");
    assert!(
        site_page.contains("N（正常）") && site_page.contains("分钟 2025-01-01"),
        "{site_page}"
    );
    assert!(
        site_page.contains(&format!("hx-get=\"/sources/sites/{g01_id}/latest\""))
            && site_page.contains("every 30s"),
        "{site_page}"
    );
    assert!(
        site_page.contains("<option value=\"rtd\" selected>"),
        "no hours yet: {site_page}"
    );
    let fragment = get(app.url(&format!("/sources/sites/{g01_id}/latest"))).await;
    assert!(
        fragment.contains(">52.5</span>") && !fragment.contains("<html"),
        "{fragment}"
    );
    let now = gongjian_storage::now();
    app.db
        .monitoring()
        .store_rollups(&[gongjian_storage::RollupValue {
            site_id: g01_id,
            factor: "a21026".into(),
            kind: "hour",
            period_start: now - now % 3600 - 3600,
            value: Some("20".into()),
            converted: None,
            flag: "N".into(),
            day_start: None,
        }])
        .await
        .unwrap();
    let site_page = get(app.url(&format!("/sources/sites/{g01_id}"))).await;
    assert!(
        site_page.contains("<option value=\"hour\" selected>"),
        "{site_page}"
    );
    let health = qiye
        .get(app.url("/api/v1/devices/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 403, "device health is the office's");
}

on_both_backends!(stack_registered_through_the_form_gets_st_31);
/// Issue 13 item 20: a stack registered through the site form gets the HJ 212
/// system code 31 (大气环境污染源), not 32 (地表水环境污染源); the form lets the
/// office choose another code, and the API and the import default by kind.
async fn stack_registered_through_the_form_gets_st_31(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let office = app.login("office").await;
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let post = |code: &'static str, kind: &'static str, mn: &'static str, st: &'static str| {
        let office = office.clone();
        let csrf = csrf.clone();
        let url = app.url("/sources/sites");
        async move {
            office
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("code", code),
                    ("name", code),
                    ("kind", kind),
                    ("mn", mn),
                    ("pw", "logger-pw"),
                    ("protocol", "2017"),
                    ("st", st),
                    ("min_interval", "10"),
                    ("factors", "a21026,二氧化硫,mg/m³,35"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // The form's default (blank ST) for a stack: 31.
    let r = post("G31", "stack_gas", "MN0000000000000000000031", "").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let d = app
        .db
        .monitoring()
        .device("MN0000000000000000000031")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.st, "31");
    // The office chooses 51 (烟气排放过程监控).
    let r = post("G51", "stack_gas", "MN0000000000000000000051", "51").await;
    assert_eq!(r.status(), 303);
    let d = app
        .db
        .monitoring()
        .device("MN0000000000000000000051")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.st, "51");
    // A wastewater outfall defaults to 32.
    let r = post("W32", "waste_water", "MN0000000000000000000032", "").await;
    assert_eq!(r.status(), 303);
    let d = app
        .db
        .monitoring()
        .device("MN0000000000000000000032")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.st, "32");
    // The edit form shows the chosen code selected, among the labelled codes.
    let g51 = app
        .db
        .monitoring()
        .device("MN0000000000000000000051")
        .await
        .unwrap()
        .unwrap()
        .site_id;
    let page = office
        .get(app.url(&format!("/sources/sites/{g51}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<option value=\"51\" selected>51 烟气排放过程监控</option>"),
        "{page}"
    );
    assert!(page.contains("31 大气环境污染源（废气）"));
    // The API without an ST: the default of the kind.
    let r = office
        .post(app.url("/api/v1/sites"))
        .header("x-csrf-token", csrf.as_str())
        .json(
            &json!({"code": "G-API", "name": "接口登记排口", "kind": "stack_gas",
                      "device": {"mn": "MN00000000000000000000A1", "pw": "logger-pw"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let d = app
        .db
        .monitoring()
        .device("MN00000000000000000000A1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.st, "31");
}

on_both_backends!(site_registration_is_one_transaction_and_keeps_the_form);
/// Issue 13 item 5: registering a site is one transaction — a refusal leaves
/// no site and no data logger, so saving again does not say "已存在"; the
/// form comes back with every typed value and each error next to its field;
/// an empty number field gets a Chinese message, not axum's "Failed to
/// deserialize form body".
async fn site_registration_is_one_transaction_and_keeps_the_form(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let office = app.login("office").await;
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let post = |fields: Vec<(&'static str, String)>| {
        let office = office.clone();
        let url = app.url("/sources/sites");
        let mut all = vec![("csrf", csrf.clone())];
        all.extend(fields);
        async move { office.post(url).form(&all).send().await.unwrap() }
    };
    let site = |code: &str, mn: &str, min: &str, factors: &str| {
        vec![
            ("id", String::new()),
            ("code", code.to_owned()),
            ("name", "示范热电2号排口".to_owned()),
            ("kind", "stack_gas".to_owned()),
            ("organisation_id", String::new()),
            ("township_id", "0".to_owned()),
            ("longitude", "113.96".to_owned()),
            ("latitude", "35.11".to_owned()),
            ("mn", mn.to_owned()),
            ("pw", "logger-pw".to_owned()),
            ("protocol", "2017".to_owned()),
            ("st", String::new()),
            ("min_interval", min.to_owned()),
            ("factors", factors.to_owned()),
        ]
    };
    let nothing_stored = |code: &'static str, mn: &'static str| {
        let db = app.db.clone();
        async move {
            assert!(
                db.monitoring().site_by_code(code).await.unwrap().is_none(),
                "site {code}"
            );
            assert!(
                db.monitoring().device(mn).await.unwrap().is_none(),
                "device {mn}"
            );
        }
    };

    // A limit that is not a number: nothing stored, the error next to the
    // factors, every typed value kept (not the password).
    let r = post(site(
        "G02",
        "MN0000000000000000000002",
        "10",
        "a21026,二氧化硫,mg/m³,abc",
    ))
    .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="err-factors""#), "{page}");
    for kept in [
        r#"value="G02""#,
        r#"value="示范热电2号排口""#,
        r#"value="113.96""#,
        r#"value="MN0000000000000000000002""#,
        "a21026,二氧化硫,mg/m³,abc",
    ] {
        assert!(page.contains(kept), "{kept} kept");
    }
    assert!(!page.contains("logger-pw"));
    nothing_stored("G02", "MN0000000000000000000002").await;

    // An empty number field: a Chinese message next to it.
    let r = post(site(
        "G02",
        "MN0000000000000000000002",
        "",
        "a21026,二氧化硫,mg/m³,35",
    ))
    .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(!page.contains("Failed to deserialize"), "{page}");
    let err = page
        .split(r#"id="err-min_interval""#)
        .nth(1)
        .expect("error next to the field");
    assert!(err.contains("分钟数据间隔"), "{err}");
    let mut bad_lon = site("G02", "MN0000000000000000000002", "10", "");
    bad_lon[6].1 = "东经113".into();
    let page = post(bad_lon).await.text().await.unwrap();
    assert!(page.contains(r#"id="err-longitude""#) && page.contains("经度须为数字"));
    nothing_stored("G02", "MN0000000000000000000002").await;

    // A logger MN already registered at another site: refused as a whole,
    // the new site is not created either.
    let r = post(site(
        "G01",
        "MN0000000000000000000001",
        "10",
        "a21026,二氧化硫,mg/m³,35",
    ))
    .await;
    assert_eq!(r.status(), 303);
    let r = post(site(
        "G02",
        "MN0000000000000000000001",
        "10",
        "a21026,二氧化硫,mg/m³,35",
    ))
    .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    let err = page
        .split(r#"id="err-mn""#)
        .nth(1)
        .expect("MN error next to the field");
    assert!(err.contains("已登记"), "{err}");
    assert!(
        app.db
            .monitoring()
            .site_by_code("G02")
            .await
            .unwrap()
            .is_none()
    );
    let g01 = app
        .db
        .monitoring()
        .site_by_code("G01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.db
            .monitoring()
            .device("MN0000000000000000000001")
            .await
            .unwrap()
            .unwrap()
            .site_id,
        g01.id
    );
    // The same through the API.
    let r = office
        .post(app.url("/api/v1/sites"))
        .header("x-csrf-token", csrf.as_str())
        .json(
            &json!({"code": "G03", "name": "接口排口", "kind": "stack_gas",
                      "device": {"mn": "MN0000000000000000000001", "pw": "x"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        app.db
            .monitoring()
            .site_by_code("G03")
            .await
            .unwrap()
            .is_none()
    );

    // Corrected, the registration goes through (no "已存在").
    let r = post(site(
        "G02",
        "MN0000000000000000000002",
        "10",
        "a21026,二氧化硫,mg/m³,35",
    ))
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // A code already taken: next to the code field.
    let r = post(site("G02", "MN0000000000000000000009", "10", "")).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    let err = page.split(r#"id="err-code""#).nth(1).expect("code error");
    assert!(err.contains("已存在"), "{err}");
    assert!(
        app.db
            .monitoring()
            .device("MN0000000000000000000009")
            .await
            .unwrap()
            .is_none()
    );
}

on_both_backends!(air_stations_get_a_class_in_the_form_the_import_and_the_export);
/// Issue 13 item 3: the office classes an air station (国控 … 微站) and may
/// set what it counts for; the class is shown on the site list and page,
/// read by the site import (refused on a stack, or when unknown, with the
/// row) and written by the export, which imports back unchanged.
async fn air_stations_get_a_class_in_the_form_the_import_and_the_export(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.org("原武镇", OrgKind::Township).await;
    let office = app.login("office").await;
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;

    // The form: a provincial station, counted by its class.
    let r = office
        .post(app.url("/sources/sites"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("code", "P01"),
            ("name", "区政府省控站"),
            ("kind", "air_station"),
            ("station_class", "provincial"),
            ("assessment", "class"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let p01 = app
        .db
        .monitoring()
        .site_by_code("P01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        p01.station_class,
        Some(gongjian_campaign::StationClass::Provincial)
    );
    let page = office
        .get(app.url(&format!("/sources/sites/{}", p01.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("空气站 · 省控站 · 计入区考核"), "{page}");
    let edit = office
        .get(app.url(&format!("/sources/sites/{}/edit", p01.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        edit.contains("<option value=\"provincial\" selected>省控站</option>"),
        "{edit}"
    );
    // 大气's station list says each station's class too.
    let air = office
        .get(app.url("/air"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(air.contains("<td>省控站 · 计入区考核</td>"), "{air}");

    // The import: class and scope columns, by label.
    let header = "站点编码,站点名称,类型,所属企业,乡镇,经度,纬度,站点类别,考核范围\n";
    let file = format!(
        "{header}T01,原武镇站,空气站,,原武镇,,,乡镇站,区考核、乡镇排名\n\
         M01,工业园微站,空气站,,原武镇,,,微站,\n"
    );
    let r = import(&office, &app, "站点.csv", file.into_bytes()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let t01 = app
        .db
        .monitoring()
        .site_by_code("T01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        t01.station_class,
        Some(gongjian_campaign::StationClass::Township)
    );
    assert_eq!(t01.assessment, gongjian_campaign::ScopeSetting::Both);
    let m01 = app
        .db
        .monitoring()
        .site_by_code("M01")
        .await
        .unwrap()
        .unwrap();
    assert!(!m01.scope().any(), "a micro station counts for nothing");

    // A class on a stack, and an unknown class: refused with the row.
    for (row, why) in [
        ("G01,排口,废气排口,,,,,国控站,\n", "只有空气站有站点类别"),
        ("A09,某站,空气站,,,,,区控站,\n", "站点类别“区控站”无效"),
    ] {
        let r = import(
            &office,
            &app,
            "坏.csv",
            format!("{header}{row}").into_bytes(),
        )
        .await;
        assert_eq!(r.status(), 400);
        let err: Value = r.json().await.unwrap();
        let detail = err["detail"].as_str().unwrap();
        assert!(detail.contains("line 2") && detail.contains(why), "{err}");
    }
    assert!(
        app.db
            .monitoring()
            .site_by_code("A09")
            .await
            .unwrap()
            .is_none()
    );

    // The list shows the classes; the export writes them and imports back.
    let list = office
        .get(app.url("/sources"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("微站/小型站 · 不参与考核"), "{list}");
    let csv = office
        .get(app.url("/api/v1/sites.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("站点类别,考核范围"), "{csv}");
    assert!(csv.contains("乡镇站,区考核、乡镇排名"), "{csv}");
    assert!(csv.contains("省控站,按站点类别"), "{csv}");
    let r = import(&office, &app, "导出.csv", csv.into_bytes()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let again = app
        .db
        .monitoring()
        .site_by_code("T01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.station_class, t01.station_class);
    assert_eq!(again.assessment, t01.assessment);
}

on_both_backends!(the_office_links_a_treatment_meter_to_the_production_it_serves);
/// Issue 15 item 3: on a power meter's page the office sets its circuit
/// (产污/治污) and, for a treatment circuit, the enterprise's production
/// meters it serves. A refused choice comes back on the page with the
/// reason and what was chosen; an enterprise user may read but not set.
async fn the_office_links_a_treatment_meter_to_the_production_it_serves(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let firm = app.org("示范铸造有限公司", OrgKind::Enterprise).await;
    app.user(
        "qiye",
        Role::Enterprise,
        "示范铸造有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let office = app.login("office").await;
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let mut ids = Vec::new();
    for (code, name) in [("PW1", "1号熔炼炉用电"), ("PW2", "除尘风机用电")] {
        let site = app
            .db
            .monitoring()
            .create_site(
                &gongjian_storage::Actor::cli(),
                &gongjian_storage::NewSite {
                    code: code.into(),
                    name: name.into(),
                    kind: "power".into(),
                    organisation_id: Some(firm),
                    ..gongjian_storage::NewSite::default()
                },
            )
            .await
            .unwrap();
        ids.push(site.id);
    }
    let (line, fan) = (ids[0], ids[1]);
    let post = |site: i64, fields: Vec<(&'static str, String)>| {
        let office = office.clone();
        let url = app.url(&format!("/sources/sites/{site}/circuit"));
        async move { office.post(url).form(&fields).send().await.unwrap() }
    };

    // The fan cannot serve the line before the line is production: refused
    // on the page, the choice kept.
    let r = post(
        fan,
        vec![
            ("csrf", csrf.clone()),
            ("circuit", "treatment".into()),
            ("serves", line.to_string()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("治污设施只能对应同一企业的产污设施"),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"treatment\" selected>"),
        "{page}"
    );

    let r = post(
        line,
        vec![("csrf", csrf.clone()), ("circuit", "production".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post(
        fan,
        vec![
            ("csrf", csrf.clone()),
            ("circuit", "treatment".into()),
            ("serves", line.to_string()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let circuits = app.db.power().circuits().await.unwrap();
    assert_eq!(circuits[&fan].serves, vec![line]);
    let page = office
        .get(app.url(&format!("/sources/sites/{fan}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("用电类型：<strong>治污设施</strong>"),
        "{page}"
    );
    assert!(page.contains("1号熔炼炉用电</a>"), "{page}");
    assert!(page.contains("学习中：已有 0 天数据"), "{page}");
    assert!(
        page.contains(&format!("name=\"serves\" value=\"{line}\" checked")),
        "{page}"
    );

    // The enterprise reads its meter's card but has no form and may not post.
    let qiye = app.login("qiye").await;
    let page = qiye
        .get(app.url(&format!("/sources/sites/{fan}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("用电类型：<strong>治污设施</strong>"),
        "{page}"
    );
    assert!(!page.contains("保存用电类型"), "{page}");
    let qcsrf = common::csrf_token(&qiye, &app.url("/api/v1/me")).await;
    let r = qiye
        .post(app.url(&format!("/sources/sites/{fan}/circuit")))
        .form(&[("csrf", qcsrf.as_str()), ("circuit", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(app.db.power().circuits().await.unwrap().len(), 2);
}
