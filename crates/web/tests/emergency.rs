//! Issue 15 over the API: a warning's verification, as the command line
//! gives it, for the office; other roles are refused.

mod common;

use chrono::{Duration, NaiveDate};
use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, NewSite, OrgKind, Role, RollupValue};
use serde_json::Value;

const LIST: &str = "企业名称,行业类别,绩效分级,正常工况日用电量(kWh),黄色预警减排措施,黄色负荷上限(%),\
橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
示范铸造有限公司,铸造,C,4800,限产,80,限产,70,停产\n";

on_both_backends!(the_office_reads_a_warnings_verification);
async fn the_office_reads_a_warnings_verification(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    let actor = Actor::cli();
    let firm = app.org("示范铸造有限公司", OrgKind::Enterprise).await;
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
    // The warning day uses 4,200 kWh: 87.5 % of the listed 4,800 (> 70 %).
    let day = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
    let start = gongjian_standards::cst::day_start_utc(day);
    let rows: Vec<RollupValue> = (0..=24)
        .map(|h| RollupValue {
            site_id: meter.id,
            factor: "Ept".into(),
            kind: "hour",
            period_start: start + h * 3600,
            value: Some((1000 + 175 * h).to_string()),
            converted: None,
            flag: "N".into(),
            day_start: None,
        })
        .collect();
    app.db.monitoring().store_rollups(&rows).await.unwrap();
    let table = gongjian_tabular::read_csv_bytes("清单.csv", LIST.as_bytes()).unwrap();
    gongjian_app::emergency::import_list(&app.db, &actor, "2026-2027", &table)
        .await
        .unwrap();
    let w = gongjian_app::emergency::issue_warning(
        &app.db,
        &actor,
        "orange",
        day,
        Some(day + Duration::days(0)),
        "",
    )
    .await
    .unwrap();

    let office = app.login("office").await;
    let v: Value = office
        .get(app.url(&format!("/api/v1/emergency/warnings/{}/verification", w.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d = &v["days"][0];
    assert_eq!(d["enterprise"], "示范铸造有限公司", "{v}");
    assert_eq!(d["verdict_label"], "未落实", "{v}");
    assert_eq!(d["energy_kwh"], "4200", "{v}");
    assert!(d["detail"].as_str().unwrap().contains("87.5%"), "{v}");
    let list: Value = office
        .get(app.url("/api/v1/emergency/warnings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["level"], "orange");
    // 预警应急: the warning and its verified days on the page.
    let page = office
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("level-orange\">橙色</span>"), "{page}");
    assert!(
        page.contains("<td>示范铸造有限公司</td><td>限产</td><td>4200</td><td>4800</td><td>70%</td><td class=\"bad\">未落实</td>"),
        "{page}"
    );

    // The office issues a warning from the page; a refused one comes back
    // with what was typed and the reason next to the field.
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let r = office
        .post(app.url("/emergency/warnings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("level", "red"),
            ("starts_on", ""),
            ("document", "新环攻坚办〔2026〕50号"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"err-starts_on\""), "{page}");
    assert!(page.contains("value=\"新环攻坚办〔2026〕50号\""), "{page}");
    let r = office
        .post(app.url("/emergency/warnings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("level", "red"),
            ("starts_on", "2026-12-20"),
            ("document", "新环攻坚办〔2026〕50号"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("&ok=issued"),
        "{:?}",
        r.headers()
    );
    assert_eq!(app.db.emergency().warnings().await.unwrap().len(), 2);

    // The enterprise sees the warnings with its own measures for each.
    app.user(
        "qiye",
        Role::Enterprise,
        "示范铸造有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let firm_user = app.login("qiye").await;
    let page = firm_user
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<strong>限产</strong> 限产（负荷不超过 70%）"),
        "{page}"
    );
    assert!(page.contains("<strong>停产</strong> 停产"), "{page}");
    assert!(
        !page.contains("id=\"verification\""),
        "no one else's verification: {page}"
    );
    assert!(!page.contains("id=\"issue-form\""), "{page}");

    let township = app.login("yuanwu").await;
    let r = township
        .get(app.url(&format!("/api/v1/emergency/warnings/{}/verification", w.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = township.get(app.url("/emergency")).send().await.unwrap();
    assert_eq!(r.status(), 403);
}
