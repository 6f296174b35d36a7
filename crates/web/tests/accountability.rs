//! Issue 12 item 6: 问责 records (约谈、通报、问责) entered by the office on
//! the 月调度 page, shown there for their month and exported with the
//! month's report; a township cannot enter one, a refused form keeps what
//! was typed with the Chinese reason next to the field and stores nothing,
//! and a void is kept and audited.

mod common;

use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{AuditFilter, OrgKind, Role};
use serde_json::Value;

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The rows of the exported report's 问责 sheet, as text.
async fn exported_rows(client: &reqwest::Client, url: &str) -> Vec<Vec<String>> {
    use calamine::Reader;
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("问责记录").expect("a 问责记录 sheet");
    sheet
        .rows()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect()
}

async fn stored(app: &common::TestApp, key: &str) -> usize {
    app.db.accountability().list(key, None).await.unwrap().len()
}

on_both_backends!(the_office_records_and_voids_an_interview_on_the_monthly_report);
async fn the_office_records_and_voids_an_interview_on_the_monthly_report(db: TestDb) {
    let app = spawn_on(db).await;
    // July 2020 is judged against the 2020 campaign, in force.
    app.load_plan().await;
    let key = gongjian_app::plan::embedded_plan().unwrap().key;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    let yuanwu_id = app.org("原武镇", OrgKind::Township).await.to_string();
    let office = app.login("office").await;
    let township = app.login("yuanwu").await;
    let office_csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let township_csrf = common::csrf_token(&township, &app.url("/api/v1/me")).await;
    let page = |c: &reqwest::Client, month: &str| {
        let c = c.clone();
        let url = app.url(&format!("/reports?month={month}"));
        async move {
            let r = c.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };

    // The office sees the section and its form; the month has no record.
    let html = page(&office, "2020-07").await;
    assert!(html.contains("问责记录（约谈、通报、问责）"), "section");
    assert!(html.contains(r#"id="accountability-form""#), "form");
    assert!(html.contains("本月无问责记录"));
    assert!(html.contains(r#"action="/reports/2020-07/accountability""#));

    let reason = "7 月 PM2.5 月均浓度超控制值，<b>排名末位</b>";
    let form = |csrf: &str, reason: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("organisation".to_owned(), yuanwu_id.clone()),
            ("kind".to_owned(), "interview".to_owned()),
            ("reason".to_owned(), reason.to_owned()),
            (
                "document_number".to_owned(),
                "平攻坚办〔2020〕31号".to_owned(),
            ),
            ("decided_on".to_owned(), "2020-08-03".to_owned()),
        ]
    };
    let post = |c: &reqwest::Client, path: &str, fields: Vec<(String, String)>| {
        let c = c.clone();
        let url = app.url(path);
        async move { c.post(url).form(&fields).send().await.unwrap() }
    };

    // A township cannot record one, nor sees the form.
    let r = post(
        &township,
        "/reports/2020-07/accountability",
        form(&township_csrf, reason),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("403 无权访问"));
    assert_eq!(stored(&app, &key).await, 0);
    assert!(
        !page(&township, "2020-07")
            .await
            .contains("accountability-form")
    );

    // An empty reason is refused next to the field, the rest kept.
    let r = post(
        &office,
        "/reports/2020-07/accountability",
        form(&office_csrf, "   "),
    )
    .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"<span class="field-error" id="err-reason">请填写问责事由</span>"#),
        "reason refused next to its field"
    );
    assert!(
        html.contains(r#"value="平攻坚办〔2020〕31号""#),
        "文号 kept"
    );
    assert!(html.contains(r#"value="2020-08-03""#), "date kept");
    assert!(
        html.contains(&format!(
            r#"<option value="{yuanwu_id}" selected>原武镇</option>"#
        )),
        "organisation kept"
    );
    assert!(html.contains(r#"<option value="interview" selected>约谈</option>"#));
    assert_eq!(stored(&app, &key).await, 0, "nothing stored");

    // The office records a 约谈 for 原武镇 in July.
    let r = post(
        &office,
        "/reports/2020-07/accountability",
        form(&office_csrf, reason),
    )
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(
        location(&r),
        "/reports?month=2020-07&ok=accountability#accountability"
    );
    let records = app.db.accountability().list(&key, None).await.unwrap();
    assert_eq!(records.len(), 1);
    let id = records[0].id;
    assert_eq!(records[0].month, "2020-07");

    // It shows on July's 月调度 (escaped), for the office and the township,
    // and not on August's.
    for c in [&office, &township] {
        let html = page(c, "2020-07").await;
        let row = html
            .split(&format!(r#"id="accountability-{id}""#))
            .nth(1)
            .expect("the record's row")
            .split("</tr>")
            .next()
            .unwrap()
            .to_owned();
        for text in [
            "原武镇",
            "约谈",
            "平攻坚办〔2020〕31号",
            "2020-08-03",
            "office（区环境攻坚办）",
        ] {
            assert!(row.contains(text), "{text} in {row}");
        }
        assert!(
            row.contains("&#60;b&#62;排名末位&#60;/b&#62;")
                || row.contains("&lt;b&gt;排名末位&lt;/b&gt;"),
            "escaped: {row}"
        );
        assert!(!html.contains("<b>排名末位</b>"));
    }
    assert!(!page(&office, "2020-08").await.contains("排名末位"));

    // The month's export carries it, as does the report's JSON.
    let rows = exported_rows(&office, &app.url("/api/v1/reports/2020-07/xlsx")).await;
    let line = rows
        .iter()
        .find(|r| r.first().map(String::as_str) == Some("原武镇"))
        .unwrap_or_else(|| panic!("原武镇 in the export: {rows:?}"));
    assert_eq!(line[1], "约谈");
    assert_eq!(line[3], "平攻坚办〔2020〕31号");
    assert_eq!(line[4], "2020-08-03");
    let json: Value = office
        .get(app.url("/api/v1/reports/2020-07"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["accountability"][0]["organisation"], "原武镇");
    assert_eq!(json["accountability"][0]["kind"], "约谈");

    // Voiding: a township is refused, a void needs a reason, then the
    // record stays struck through and leaves the export.
    let void_path = format!("/reports/2020-07/accountability/{id}/void");
    let void_form = |csrf: &str, reason: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("reason".to_owned(), reason.to_owned()),
        ]
    };
    let r = post(&township, &void_path, void_form(&township_csrf, "不服")).await;
    assert_eq!(r.status(), 403);
    let r = post(&office, &void_path, void_form(&office_csrf, " ")).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("作废须填写理由"));
    assert!(!app.db.accountability().get(id).await.unwrap().voided());
    let r = post(&office, &void_path, void_form(&office_csrf, "单位录入有误")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        "/reports?month=2020-07&ok=accountability_void#accountability"
    );
    let html = page(&office, "2020-07").await;
    assert!(
        html.contains("已作废：单位录入有误（office（区环境攻坚办），"),
        "voided shown"
    );
    assert_eq!(stored(&app, &key).await, 1, "kept, not deleted");
    let rows = exported_rows(&office, &app.url("/api/v1/reports/2020-07/xlsx")).await;
    assert!(
        !rows
            .iter()
            .any(|r| r.first().map(String::as_str) == Some("原武镇")),
        "a voided record is not exported: {rows:?}"
    );

    // Both writes are in the audit log, by the office.
    let audit = app
        .db
        .audit()
        .list(&AuditFilter {
            entity: Some("accountability".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let mut actions: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.entity_id.as_str(),
                e.actor_name.as_str(),
            )
        })
        .collect();
    actions.sort_unstable();
    let id_text = id.to_string();
    assert_eq!(
        actions,
        vec![
            ("create", id_text.as_str(), "office"),
            ("void", id_text.as_str(), "office")
        ]
    );
    let void = audit.iter().find(|e| e.action == "void").unwrap();
    assert_eq!(void.after.as_ref().unwrap()["void_reason"], "单位录入有误");
}
