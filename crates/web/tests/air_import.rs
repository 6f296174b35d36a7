//! 大气 upload (`POST /air/import`): only registered air stations take data;
//! a file naming another code is refused whole, with the codes and rows.

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
    let csv = format!("站点编码,站点名称,类型,乡镇\n{code},{code}站,空气站,原武镇\n");
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
    assert!(app.db.site_by_code("PY009").await.unwrap().is_none());

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
