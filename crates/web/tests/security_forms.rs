//! Issue #10, item 20: every text a person types is bounded (one check in
//! the storage layer, so pages, API and command line agree), and page forms
//! answer every error as an HTML page in Chinese, never as plain text.

mod common;

use common::{TestApp, spawn_on};
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, OrgKind, Role};
use serde_json::{Value, json};

/// An admin logged in, with the session's CSRF token (sent as the
/// `X-CSRF-Token` header on API writes and as the `csrf` field on forms).
async fn admin(app: &TestApp) -> (reqwest::Client, String) {
    signed_in(app, "admin", Role::Admin).await
}

/// `user` of the office with `role`, logged in, with the CSRF token.
async fn signed_in(app: &TestApp, user: &str, role: Role) -> (reqwest::Client, String) {
    app.user(user, role, "区环境攻坚办", OrgKind::Office).await;
    let client = app.login(user).await;
    let me: Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    (client, csrf)
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn post_json(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let resp = client
        .post(app.url(path))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

on_both_backends!(item_20_a_megabyte_organisation_name_is_refused_on_page_and_api);
async fn item_20_a_megabyte_organisation_name_is_refused_on_page_and_api(db: TestDb) {
    let app = spawn_on(db).await;
    let (client, csrf) = admin(&app).await;
    let huge = "x".repeat(1024 * 1024);
    let before = app.db.organisations().list().await.unwrap().len();

    // The page form: the organisations page again, with the reason.
    let resp = client
        .post(app.url("/system/organisations"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", huge.as_str()),
            ("kind", "township"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(content_type(&resp).starts_with("text/html"));
    let page = resp.text().await.unwrap();
    assert!(page.contains("单位名称过长：最多 100 个字符"), "page");
    assert!(page.len() < 200_000, "the name is not echoed back");

    // The API: E1005 with the same reason.
    let (status, body) = post_json(
        &app,
        &client,
        &csrf,
        "/api/v1/organisations",
        json!({"name": huge, "kind": "township"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "E2001", "a text rule has its own code");
    assert!(
        body["detail"].as_str().unwrap().contains("单位名称过长"),
        "{body}"
    );
    // And the same storage check for the command line.
    let err = app
        .db
        .organisations()
        .create_organisation(&Actor::cli(), &huge, OrgKind::Township, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("单位名称过长"), "{err}");

    // A name with a line break is refused too; one of 100 characters is fine.
    let (status, body) = post_json(
        &app,
        &client,
        &csrf,
        "/api/v1/organisations",
        json!({"name": "原武镇\n<script>", "kind": "township"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["detail"].as_str().unwrap().contains("控制字符"),
        "{body}"
    );
    assert_eq!(app.db.organisations().list().await.unwrap().len(), before);
    let (status, _) = post_json(
        &app,
        &client,
        &csrf,
        "/api/v1/organisations",
        json!({"name": "镇".repeat(100), "kind": "township"}),
    )
    .await;
    assert_eq!(status, 201);

    // Issue 13 item 7: a refused name comes back typed, with the reason
    // next to the field (a duplicate, named in Chinese).
    app.db
        .organisations()
        .create_organisation(&Actor::cli(), "测试镇", OrgKind::Township, None)
        .await
        .unwrap();
    let resp = client
        .post(app.url("/system/organisations"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "测试镇"),
            ("kind", "township"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.unwrap();
    assert!(page.contains("value=\"测试镇\""), "the name is kept");
    assert!(
        page.contains("<option value=\"township\" selected>"),
        "the kind is kept"
    );
    assert!(
        page.contains("单位“测试镇”已存在</span>"),
        "the reason is next to the field: {}",
        page.split("err-name")
            .nth(2)
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>()
    );
}

on_both_backends!(item_20_a_malformed_form_gets_a_chinese_html_page);
async fn item_20_a_malformed_form_gets_a_chinese_html_page(db: TestDb) {
    let app = spawn_on(db).await;
    let (client, csrf) = admin(&app).await;
    // Missing fields, a field of the wrong type, and no form at all.
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "/system/organisations",
            format!("csrf={csrf}"),
            "application/x-www-form-urlencoded",
        ),
        (
            "/system/users",
            format!("csrf={csrf}&username=a&password=b&role=viewer&organisation_id=abc"),
            "application/x-www-form-urlencoded",
        ),
        ("/system/organisations", "{}".to_owned(), "application/json"),
        (
            "/login",
            "username=x".to_owned(),
            "application/x-www-form-urlencoded",
        ),
    ];
    for (path, body, ctype) in cases {
        let resp = client
            .post(app.url(path))
            .header("content-type", ctype)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        assert!(status.is_client_error(), "{path} {body}: {status}");
        let ct = content_type(&resp);
        assert!(ct.starts_with("text/html"), "{path} {body}: {ct}");
        let page = resp.text().await.unwrap();
        assert!(page.contains("<html"), "{path}: a whole page: {page}");
        assert!(
            page.contains("提交的表单内容无效") || page.contains("提交的内容类型不正确"),
            "{path} {body}: {page}"
        );
        assert!(!page.contains("Failed to deserialize"), "{path}: {page}");
    }
    // A logged-in user keeps the menu on the error page.
    let resp = client
        .post(app.url("/system/organisations"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().contains("系统"));
}

on_both_backends!(item_20_other_text_fields_are_bounded);
async fn item_20_other_text_fields_are_bounded(db: TestDb) {
    let app = spawn_on(db).await;
    let (client, csrf) = admin(&app).await;
    let org = app.org("原武镇", OrgKind::Township).await;
    let long = |n: usize| "字".repeat(n);

    // A user's display name (API and page).
    let (status, body) = post_json(
        &app,
        &client,
        &csrf,
        "/api/v1/users",
        json!({"username": "zhang", "display_name": long(101), "password": "correct-horse-battery",
               "role": "township", "organisation_id": org}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("姓名过长"),
        "{body}"
    );
    let display = long(101);
    let resp = client
        .post(app.url("/system/users"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "zhang"),
            ("display_name", display.as_str()),
            ("password", "correct-horse-battery"),
            ("role", "township"),
            ("organisation_id", &org.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("姓名过长"));
    assert!(
        app.db
            .accounts()
            .user_by_username("zhang")
            .await
            .unwrap()
            .is_none()
    );

    // A site: code, name, device password, factor name; nothing stored.
    let site = |code: String, name: String, pw: String, factor: String| {
        json!({"code": code, "name": name, "kind": "stack_gas",
               "device": {"mn": "88888880000001", "pw": pw},
               "factors": [{"factor": "a21026", "name": factor}]})
    };
    for (body, reason) in [
        (
            site(
                "x".repeat(65),
                "一号排口".into(),
                "123456".into(),
                "SO2".into(),
            ),
            "站点编码过长",
        ),
        (
            site("S1".into(), long(101), "123456".into(), "SO2".into()),
            "站点名称过长",
        ),
        (
            site("S1".into(), "一号排口".into(), "p".repeat(65), "SO2".into()),
            "数采仪密码过长",
        ),
        (
            site("S1".into(), "一号排口".into(), "123456".into(), long(101)),
            "因子名称过长",
        ),
    ] {
        let (status, answer) = post_json(&app, &client, &csrf, "/api/v1/sites", body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["detail"].as_str().unwrap().contains(reason),
            "{reason}: {answer}"
        );
    }
    assert!(app.db.monitoring().sites().await.unwrap().is_empty());
    assert!(app.db.monitoring().devices().await.unwrap().is_empty());

    // A fire point: place and note.
    for (place, note, reason) in [
        (long(201), String::new(), "火点位置过长"),
        ("大堤村南".to_owned(), long(2001), "备注过长"),
    ] {
        let (status, answer) = post_json(
            &app,
            &client,
            &csrf,
            "/api/v1/fire-points",
            json!({"township": "原武镇", "date": "2020-06-06", "place": place,
                   "kind": "straw", "note": note}),
        )
        .await;
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer["detail"].as_str().unwrap().contains(reason),
            "{reason}: {answer}"
        );
    }
    assert!(
        app.db
            .campaigns()
            .fire_points(None)
            .await
            .unwrap()
            .is_empty()
    );
    // Within the bounds it is stored.
    let (status, answer) = post_json(
        &app,
        &client,
        &csrf,
        "/api/v1/fire-points",
        json!({"township": "原武镇", "date": "2020-06-06", "place": long(200),
               "kind": "straw", "note": long(2000)}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
}

on_both_backends!(item_7_the_password_form_says_what_is_wrong_next_to_the_field);
/// Issue 13 item 7: the password form puts each refusal next to its field:
/// a wrong current password, a new password the policy refuses, and a
/// confirmation that differs; no password is sent back, nothing changes.
async fn item_7_the_password_form_says_what_is_wrong_next_to_the_field(db: TestDb) {
    let app = spawn_on(db).await;
    let (client, csrf) = admin(&app).await;
    let post = |current: &str, new: &str, confirm: &str| {
        let form = [
            ("csrf", csrf.clone()),
            ("current", current.to_owned()),
            ("new", new.to_owned()),
            ("confirm", confirm.to_owned()),
        ];
        let req = client.post(app.url("/account/password")).form(&form);
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 400);
            r.text().await.unwrap()
        }
    };
    let page = post("not-my-password", "a-new-long-pass-1", "a-new-long-pass-1").await;
    assert!(page.contains("id=\"err-current\""), "{page}");
    assert!(!page.contains("a-new-long-pass-1"), "no password sent back");
    let page = post(common::PASSWORD, "12345678", "12345678").await;
    assert!(page.contains("id=\"err-new\""), "{page}");
    let page = post(common::PASSWORD, "a-new-long-pass-1", "a-new-long-pass-2").await;
    assert!(
        page.contains("id=\"err-confirm\" role=\"alert\">两次输入的新密码不一致"),
        "{page}"
    );
    // The password is unchanged: the old one still logs in.
    app.login("admin").await;
}

on_both_backends!(item_7_the_alarm_rule_editor_keeps_what_was_typed);
/// Issue 13 item 7: a refused save of the rule editor comes back with
/// every value as typed (not the stored ones) and the refusal in the row
/// of the rule it concerns; nothing is saved.
async fn item_7_the_alarm_rule_editor_keeps_what_was_typed(db: TestDb) {
    let app = spawn_on(db).await;
    let (client, csrf) = signed_in(&app, "office", Role::Office).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("zero.enabled", "on"),
        ("zero.min_hours", "5"),
        ("zero.threshold", "很多"),
        ("zero.severity", "major"),
        ("case_days.minor", "12"),
        ("note", "试改"),
    ];
    let r = client
        .post(app.url("/alarms/rules"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("name=\"zero.threshold\" value=\"很多\""),
        "{page}"
    );
    assert!(
        page.contains("name=\"zero.min_hours\" value=\"5\""),
        "{page}"
    );
    assert!(
        page.contains("name=\"case_days.minor\" value=\"12\""),
        "{page}"
    );
    assert!(
        page.contains("<span class=\"field-error\" role=\"alert\">零值：阈值“很多”应为数字</span>"),
        "{page}"
    );
    let stored = app.db.alarms().alarm_rules().await.unwrap();
    assert_eq!(stored.id, 0, "nothing saved");
}
