//! Issue 15 item 6 on the web: the office imports the heating season's
//! 错峰生产 list on 预警应急 → 错峰生产 (a bad file refused whole, nothing
//! stored), the page and the API show each listed enterprise's days
//! verified from its production meter, an enterprise sees only its own
//! row, a township is refused.

mod common;

use chrono::Duration;
use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, NewSite, OrgKind, Role};
use serde_json::Value;

const LIST: &str = "企业名称,行业类别,错峰生产措施,负荷上限(%),正常工况日用电量(kWh)\n\
示范铸造有限公司,铸造,限产,80,4800\n\
示范水泥有限公司,建材,停产,,2000\n";

const BAD_LIST: &str = "企业名称,错峰生产措施,负荷上限(%),错峰时段\n\
示范铸造有限公司,限产,120,\n\
<b>坏</b>水泥,错峰生产,,夜间\n";

async fn post_list(
    app: &common::TestApp,
    client: &reqwest::Client,
    (from, to): (&str, &str),
    bytes: Vec<u8>,
) -> reqwest::Response {
    let csrf = common::csrf_token(client, &app.url("/api/v1/me")).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("season", "2026-2027")
        .text("starts_on", from.to_owned())
        .text("ends_on", to.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("错峰生产清单.csv"),
        );
    client
        .post(app.url("/emergency/season/list"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

on_both_backends!(the_office_imports_the_season_list_and_reads_its_verification);
async fn the_office_imports_the_season_list_and_reads_its_verification(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    app.user(
        "shuini",
        Role::Enterprise,
        "示范水泥有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let firm = app.org("示范铸造有限公司", OrgKind::Enterprise).await;
    let meter = app
        .db
        .monitoring()
        .create_site(
            &Actor::cli(),
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
    // Three days before today at 150 kWh an hour (3,600 a day, 75 % of
    // 4,800: within the 80 % limit), the day before yesterday at 180
    // (90 %), and the closing reading.
    let today = gongjian_app::now_local().date();
    let first = today - Duration::days(3);
    let mut rows = Vec::new();
    let mut counter = 1_000u64;
    for k in 0..=3 {
        let day = first + Duration::days(k);
        let start = gongjian_standards::cst::day_start_utc(day);
        let per_hour = if k == 1 { 180 } else { 150 };
        for h in 0..24 {
            if k == 3 && h > 0 {
                break;
            }
            rows.push(gongjian_storage::testing::energy_hour(
                meter.id,
                start + h * 3600,
                counter,
            ));
            counter += per_hour;
        }
    }
    app.db.monitoring().store_rollups(&rows).await.unwrap();
    let season = (first, first + Duration::days(100));
    let (from, to) = (season.0.to_string(), season.1.to_string());

    let office = app.login("office").await;
    let page = office
        .get(app.url("/emergency/season"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"no-list\""), "{page}");
    assert!(page.contains("id=\"season-form\""), "{page}");

    // A bad file is refused whole, its cell text escaped, nothing stored.
    let r = post_list(&app, &office, (&from, &to), BAD_LIST.as_bytes().to_vec()).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"season-problems\""), "{page}");
    assert!(page.contains("整个文件未导入"), "{page}");
    assert!(page.contains("第 2 行「负荷上限(%)」"), "{page}");
    assert!(page.contains("第 3 行「错峰时段」"), "{page}");
    assert!(!page.contains("<b>坏</b>"), "escaped: {page}");
    assert!(page.contains("原有清单不变"), "{page}");
    assert!(app.db.seasons().season_lists().await.unwrap().is_empty());

    // The good file loads and the page verifies the last days.
    let r = post_list(&app, &office, (&from, &to), LIST.as_bytes().to_vec()).await;
    assert_eq!(r.status(), 303);
    let next = r.headers()["location"].to_str().unwrap().to_owned();
    let page = office
        .get(app.url(&next))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("已导入 2026-2027 采暖季错峰生产清单"),
        "{page}"
    );
    assert!(page.contains("id=\"season-verification\""), "{page}");
    assert!(page.contains("限产（负荷 ≤ 80%）"), "{page}");
    assert!(page.contains("达标 2 · 未落实 1 · 无法核查 0"), "{page}");
    assert!(page.contains("4800（清单）"), "{page}");
    assert!(page.contains("id=\"season-failed\""), "{page}");
    assert!(page.contains("超过允许的 80%"), "{page}");
    let audit = app
        .db
        .audit()
        .list(&gongjian_storage::AuditFilter {
            entity: Some("season_list".into()),
            limit: 100,
            ..gongjian_storage::AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);

    // The API gives the same verdicts.
    let v: Value = office
        .get(app.url(&format!(
            "/api/v1/emergency/season/verification?from={}&to={}",
            first,
            first + Duration::days(2)
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let foundry = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["enterprise"] == "示范铸造有限公司")
        .unwrap();
    let verdicts: Vec<&str> = foundry["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["verdict_label"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["达标", "未落实", "达标"]);

    // The cement works (no meter) sees only its own row, 无法核查.
    let cement = app.login("shuini").await;
    let page = cement
        .get(app.url("/emergency/season"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("示范水泥有限公司"), "{page}");
    assert!(!page.contains("示范铸造有限公司"), "{page}");
    assert!(!page.contains("id=\"season-form\""), "{page}");
    assert!(page.contains("无法核查"), "{page}");
    let v: Value = cement
        .get(app.url("/api/v1/emergency/season/verification"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 1);

    // A township may neither read nor import.
    let township = app.login("yuanwu").await;
    let r = township
        .get(app.url("/emergency/season"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post_list(&app, &township, (&from, &to), LIST.as_bytes().to_vec()).await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.db.seasons().season_lists().await.unwrap().len(), 1);
}

on_both_backends!(the_office_ties_a_meter_to_a_production_line_on_its_page);
/// Issue 15 item 4: a meter (or stack) page ties it to the production line
/// the lists name; a name too long is refused next to the field, what was
/// typed kept and nothing stored.
async fn the_office_ties_a_meter_to_a_production_line_on_its_page(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let firm = app.org("示范钢铁有限公司", OrgKind::Enterprise).await;
    let meter = app
        .db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "PWR-SJ".into(),
                name: "烧结机用电监控".into(),
                kind: "power".into(),
                organisation_id: Some(firm),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    let office = app.login("office").await;
    let page_url = app.url(&format!("/sources/sites/{}", meter.id));
    let page = office
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"line\""), "{page}");
    assert!(page.contains("未对应生产线"), "{page}");
    let post = |line: String| {
        let office = office.clone();
        let url = app.url(&format!("/sources/sites/{}/line", meter.id));
        let me = app.url("/api/v1/me");
        async move {
            let csrf = common::csrf_token(&office, &me).await;
            office
                .post(url)
                .form(&[("csrf", csrf), ("line", line)])
                .send()
                .await
                .unwrap()
        }
    };
    let r = post("烧结<机>".into()).await;
    assert_eq!(r.status(), 303);
    let page = office
        .get(&page_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<strong>烧结&#60;机&#62;</strong>")
            || page.contains("<strong>烧结&lt;机&gt;</strong>"),
        "{page}"
    );
    let r = post("长".repeat(101)).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("生产线名称"), "{page}");
    assert_eq!(
        app.db.power().production_lines().await.unwrap()[&meter.id],
        "烧结<机>"
    );
}
