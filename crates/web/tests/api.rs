//! Black-box tests of the JSON API and the access rules, against the real
//! application on port 0 with a fresh database per test.

mod common;

use common::{PASSWORD, client, spawn_on};
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{OrgKind, Role};
use serde_json::{Value, json};

on_both_backends!(healthz_and_metrics_answer);
async fn healthz_and_metrics_answer(db: TestDb) {
    let app = spawn_on(db).await;
    let body: Value = reqwest::get(app.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("gongjian_http_requests_total{class=\"2xx\"}"));
    assert!(metrics.contains("gongjian_database_up 1"));
}

on_both_backends!(login_me_logout);
async fn login_me_logout(db: TestDb) {
    let app = spawn_on(db).await;
    app.user(
        "zhifa",
        Role::Department,
        "区行政综合执法局",
        OrgKind::Department,
    )
    .await;
    let c = app.login("zhifa").await;
    let me: Value = c
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["username"], "zhifa");
    assert_eq!(me["user"]["organisation_name"], "区行政综合执法局");
    assert!(me["user"].get("password_hash").is_none());
    let out = c.post(app.url("/api/v1/auth/logout")).send().await.unwrap();
    assert_eq!(out.status(), 200);
    let after = c.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(after.status(), 401);
    let body: Value = after.json().await.unwrap();
    assert_eq!(body["code"], "E1001");
}

on_both_backends!(wrong_password_gets_one_generic_error_then_locks);
async fn wrong_password_gets_one_generic_error_then_locks(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("li", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = client();
    let mut bodies = Vec::new();
    for (user, pass) in [("li", "nope-nope"), ("ghost", "nope-nope")] {
        let r = c
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": user, "password": pass}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        bodies.push(r.json::<Value>().await.unwrap());
    }
    // Unknown user and wrong password look the same.
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0]["code"], "E1002");
    for _ in 0..4 {
        c.post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "li", "password": "nope-nope"}))
            .send()
            .await
            .unwrap();
    }
    // Five failures of this account from this address: even the right
    // password is refused now.
    let r = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "li", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

on_both_backends!(malformed_json_is_a_clear_error_and_changes_nothing);
async fn malformed_json_is_a_clear_error_and_changes_nothing(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = app.login("admin").await;
    let before = app.db.accounts().users().await.unwrap().len();
    let r = c
        .post(app.url("/api/v1/users"))
        .header("content-type", "application/json")
        .body("{\"username\": \"x\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "E1005");
    assert!(body["message"].as_str().unwrap().contains("无效"));
    // A form post to the JSON API is refused too (no cross-site form CSRF).
    let r = c
        .post(app.url("/api/v1/users"))
        .form(&[("username", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(app.db.accounts().users().await.unwrap().len(), before);
}

on_both_backends!(department_user_is_confined_to_its_organisation);
/// The access matrix of the foundation: a department user can neither read
/// nor change another organisation's records and cannot reach user
/// administration or the audit log.
async fn department_user_is_confined_to_its_organisation(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user(
        "zhifa",
        Role::Department,
        "区行政综合执法局",
        OrgKind::Department,
    )
    .await;
    let own = app.org("区行政综合执法局", OrgKind::Department).await;
    let other = app.org("区农业农村局", OrgKind::Department).await;
    let c = app.login("zhifa").await;

    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        (status, body["code"].as_str().unwrap_or("").to_owned())
    };
    let forbidden = (403, "E1003".to_owned());
    for path in [
        "/api/v1/users",
        "/api/v1/users/1",
        "/api/v1/audit",
        "/api/v1/audit.csv",
    ] {
        assert_eq!(
            code(c.get(app.url(path)).send().await.unwrap()).await,
            forbidden,
            "GET {path}"
        );
    }
    let r = c
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": "sneaky", "password": "password1", "role": "admin", "organisation_id": own}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, forbidden);
    let r = c
        .patch(app.url("/api/v1/users/1"))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, forbidden);
    // Organisations: own visible, other neither listed, readable nor writable.
    let list: Vec<Value> = c
        .get(app.url("/api/v1/organisations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], own);
    let r = c
        .get(app.url(&format!("/api/v1/organisations/{other}")))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, forbidden);
    let r = c
        .put(app.url(&format!("/api/v1/organisations/{other}")))
        .json(&json!({"name": "改名", "kind": "department"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, forbidden);
    let r = c
        .put(app.url(&format!("/api/v1/organisations/{own}")))
        .json(&json!({"name": "改名", "kind": "department"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, forbidden);
    assert_eq!(
        app.db
            .organisations()
            .organisation(other)
            .await
            .unwrap()
            .name,
        "区农业农村局"
    );
    // Pages: user administration is a 403 page.
    let r = c.get(app.url("/system/users")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("无权访问"));
}

on_both_backends!(viewer_reads_everything_and_changes_nothing);
async fn viewer_reads_everything_and_changes_nothing(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("viewer", Role::Viewer, "区环境攻坚办", OrgKind::Office)
        .await;
    let other = app.org("区农业农村局", OrgKind::Department).await;
    let c = app.login("viewer").await;
    let list: Vec<Value> = c
        .get(app.url("/api/v1/organisations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    let r = c
        .put(app.url(&format!("/api/v1/organisations/{other}")))
        .json(&json!({"name": "改名", "kind": "department"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

on_both_backends!(admin_writes_are_audited_with_actor_and_address);
async fn admin_writes_are_audited_with_actor_and_address(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let org = app.org("区农业农村局", OrgKind::Department).await;
    let c = app.login("admin").await;
    let r = c
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": "nongye", "display_name": "农业农村局联络员", "password": "initial-pass", "role": "department", "organisation_id": org}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["must_change_password"], true);
    let id = created["id"].as_i64().unwrap();
    let r = c
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .json(&json!({"display_name": "农业局联络员"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log: Vec<Value> = c
        .get(app.url("/api/v1/audit?entity=user"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let update = log
        .iter()
        .find(|e| e["action"] == "update")
        .expect("update audited");
    assert_eq!(update["actor_name"], "admin");
    assert_eq!(update["client_addr"], "127.0.0.1");
    assert_eq!(update["before"]["display_name"], "农业农村局联络员");
    assert_eq!(update["after"]["display_name"], "农业局联络员");
    assert!(
        log.iter()
            .any(|e| e["action"] == "create" && e["entity_id"] == id.to_string().as_str())
    );
    // The audit log has no route that edits or deletes.
    let r = c.delete(app.url("/api/v1/audit")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    // CSV export carries the same rows, with a BOM for Excel.
    let csv = c
        .get(app.url("/api/v1/audit.csv?entity=user"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]));
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(text.starts_with("序号,时间,操作人"));
    assert!(text.contains("农业局联络员"));
}

on_both_backends!(new_user_must_change_password_first);
async fn new_user_must_change_password_first(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let org = app.org("原武镇", OrgKind::Township).await;
    let admin = app.login("admin").await;
    admin
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": "yuanwu", "password": "initial-pass", "role": "township", "organisation_id": org}))
        .send()
        .await
        .unwrap();
    let c = app.login_with("yuanwu", "initial-pass").await;
    let r = c
        .get(app.url("/api/v1/organisations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "E1008");
    let r = c
        .post(app.url("/api/v1/me/password"))
        .json(&json!({"current": "wrong-one", "new": "brand-new-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "E1009");
    let r = c
        .post(app.url("/api/v1/me/password"))
        .json(&json!({"current": "initial-pass", "new": "brand-new-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The change ended the session; log in with the new password.
    let c = client();
    c.post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "yuanwu", "password": "brand-new-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.get(app.url("/api/v1/organisations"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

on_both_backends!(expired_session_is_refused);
async fn expired_session_is_refused(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = client();
    let r = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "office", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    app.db
        .sessions()
        .age_session(&token, 31 * 60)
        .await
        .unwrap();
    let r = c.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

on_both_backends!(page_forms_need_the_csrf_token);
async fn page_forms_need_the_csrf_token(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = app.login("admin").await;
    let org = app.org("区财政局", OrgKind::Department).await;
    let r = c
        .post(app.url("/system/users"))
        .form(&[
            ("csrf", "forged"),
            ("username", "caizheng"),
            ("password", "initial-pass"),
            ("role", "department"),
            ("organisation_id", &org.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("请求校验失败"));
    assert!(
        app.db
            .accounts()
            .user_by_username("caizheng")
            .await
            .unwrap()
            .is_none()
    );
    // With the session's token it works.
    let me: Value = c
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["csrf_token"].as_str().unwrap();
    let r = c
        .post(app.url("/system/users"))
        .form(&[
            ("csrf", csrf),
            ("username", "caizheng"),
            ("password", "initial-pass"),
            ("role", "department"),
            ("organisation_id", &org.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        app.db
            .accounts()
            .user_by_username("caizheng")
            .await
            .unwrap()
            .is_some()
    );
}

on_both_backends!(login_page_rejects_forged_csrf_and_wrong_password_in_chinese);
async fn login_page_rejects_forged_csrf_and_wrong_password_in_chinese(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = client();
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", "forged"),
            ("username", "office"),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The refusal issued a fresh token; the old one is gone.
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("username", "office"),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("username", "office"),
            ("password", "wrong-pass"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    let page = c
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("username", "office"),
            ("password", PASSWORD),
            ("next", "//evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
}

on_both_backends!(unknown_paths_are_404_in_the_right_format);
async fn unknown_paths_are_404_in_the_right_format(db: TestDb) {
    let app = spawn_on(db).await;
    let r = reqwest::get(app.url("/api/v1/nothing-here")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "E1004");
    let r = reqwest::get(app.url("/nothing-here")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("页面不存在"));
    // Issue 13 item 6: a missing record is named in Chinese, not as
    // "case 9999 not found".
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let office = app.login("office").await;
    let r = office
        .get(app.url("/api/v1/cases/9999"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["detail"], "督办单“9999”不存在", "{body}");
    // Anonymous visitors are sent to the login page.
    let r = client().get(app.url("/system/audit")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
}

on_both_backends!(static_assets_are_embedded);
async fn static_assets_are_embedded(db: TestDb) {
    let app = spawn_on(db).await;
    for path in [
        "/static/app.css",
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
    ] {
        let r = reqwest::get(app.url(path)).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.bytes().await.unwrap().len() > 100);
    }
}

/// A concrete URL for a documented path template.
fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{month}", "2020-01")
        .replace("{version}", "1")
}

on_both_backends!(openapi_matches_the_routes);
/// Router and document agree in both directions: every documented
/// operation is routed (an unauthenticated call never gets 404 or 405), and
/// every method the router answers on a documented path is documented (the
/// others answer 405). The router and the document are built from one route
/// table (`gongjian_web::api::table`), whose only way to add a route is a
/// documented handler.
async fn openapi_matches_the_routes(db: TestDb) {
    let app = spawn_on(db).await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let c = client();
    let mut listed = 0;
    for (path, ops) in paths {
        assert!(path.starts_with("/api/v1/"), "{path}");
        let ops = ops.as_object().unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = c
                .request(m, app.url(&concrete(path)))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            if ops.contains_key(method) {
                listed += 1;
                assert!(
                    s != 404 && s != 405,
                    "{method} {path} is documented but answers {s}"
                );
            } else {
                assert_eq!(s, 405, "{method} {path} is routed but not documented");
            }
        }
    }
    // The whole API: 84 operations on 71 paths (with the warning notice
    // upload and the season verification).
    assert_eq!(listed, 84);
    assert_eq!(paths.len(), 71);
}

on_both_backends!(openapi_describes_parameters_bodies_and_errors);
/// The document describes every operation from the Rust types: each path
/// parameter of the template, the body of each write, the error body with
/// the stable codes, and a content type for every success response.
async fn openapi_describes_parameters_bodies_and_errors(db: TestDb) {
    let app = spawn_on(db).await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes: Vec<&str> = gongjian_web::error::ErrorCode::all()
        .iter()
        .map(|c| c.code())
        .collect();
    let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("the error codes are listed")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed, codes);
    assert_eq!(
        doc["components"]["schemas"]["Error"]["properties"]["code"]["$ref"],
        "#/components/schemas/ErrorCode"
    );
    let mut without_body = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let wanted: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .collect();
        for (method, op) in ops.as_object().unwrap() {
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(declared, wanted, "path parameters of {method} {path}");
            assert_eq!(
                op["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Error",
                "error response of {method} {path}"
            );
            let ok = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(s, _)| s.starts_with('2'))
                .unwrap_or_else(|| panic!("{method} {path} has no success response"));
            assert!(
                ok.1["content"].as_object().is_some_and(|c| !c.is_empty()),
                "{method} {path}: success response without a content type"
            );
            if method != "get" && op.get("requestBody").is_none() {
                without_body.push(format!("{method} {path}"));
            }
        }
    }
    without_body.sort();
    assert_eq!(
        without_body,
        [
            // One click: the case takes everything from the alarm.
            "post /api/v1/alarms/{id}/case",
            "post /api/v1/auth/logout",
            // The enterprise confirms what it was told; nothing to send.
            "post /api/v1/emergency/warnings/{id}/confirm",
            "post /api/v1/tasks/{id}/sign-off",
        ]
    );
    // Publishing takes an optional 期数 and 文号.
    let publish = &doc["paths"]["/api/v1/reports/{month}/publish"]["post"]["requestBody"];
    assert!(
        publish["content"]["application/json"].is_object(),
        "{publish}"
    );
    let report = &doc["paths"]["/api/v1/reports/{month}"]["get"]["parameters"][0];
    assert_eq!(report["schema"]["pattern"], r"^[0-9]{4}-(0[1-9]|1[0-2])$");
    let create =
        &doc["paths"]["/api/v1/assignments/{id}/reports"]["post"]["requestBody"]["content"];
    assert!(create["application/json"].is_object());
    assert!(create["multipart/form-data"].is_object());
    let xlsx = &doc["paths"]["/api/v1/reports/{month}/xlsx"]["get"]["responses"]["200"]["content"];
    assert!(xlsx["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"].is_object());
}

on_both_backends!(targets_refuse_a_year_out_of_range);
/// Found by the schema fuzzer (scripts/api-fuzz.sh): a year far outside the
/// calendar the platform works in closed the connection; it is refused.
async fn targets_refuse_a_year_out_of_range(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = app.login("admin").await;
    for year in ["-2147483648", "1999", "2101"] {
        let r = c
            .get(app.url(&format!("/api/v1/targets?year={year}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "year {year}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "E1005");
    }
}

on_both_backends!(unparsable_parameters_answer_the_json_error);
/// Found by the schema fuzzer: a path or query parameter that does not parse
/// answered axum's plain text; every API error is the JSON error body.
async fn unparsable_parameters_answer_the_json_error(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = app.login("admin").await;
    for path in [
        "/api/v1/tasks/9223372036854775808",
        "/api/v1/reports/2020-01/versions/x",
        "/api/v1/audit?to=a&to=b",
        "/api/v1/targets?year=abc",
    ] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 400, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "E1005", "{path}");
    }
}

on_both_backends!(unknown_organisation_ids_are_invalid_input);
/// Found by the schema fuzzer: an organisation id that names no
/// organisation was a server error (E5000); it is the client's (E1005).
async fn unknown_organisation_ids_are_invalid_input(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let c = app.login("admin").await;
    let r = c
        .post(app.url("/api/v1/organisations"))
        .json(&json!({"name": "某单位", "kind": "office", "parent_id": 999_999}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "E1005");
    let r = c
        .post(app.url("/api/v1/sites"))
        .json(&json!({"code": "S1", "name": "站点", "kind": "air_station", "organisation_id": 999_999}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "E1005");
}

on_both_backends!(user_role_must_match_organisation_kind);
/// Issue 13 item 13: user administration refuses a role that does not match
/// the organisation's kind (a 乡镇 user on 区财政局, an 企业 user on 原武镇),
/// through the API (E2303, Chinese detail) and the page form (the error next
/// to the form, the typed values kept).
async fn user_role_must_match_organisation_kind(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let finance = app.org("区财政局", OrgKind::Department).await;
    let yuanwu = app.org("原武镇", OrgKind::Township).await;
    let c = app.login("admin").await;

    for (username, role, org) in [
        ("xiang", "township", finance),
        ("qiye", "enterprise", yuanwu),
    ] {
        let r = c
            .post(app.url("/api/v1/users"))
            .json(&json!({"username": username, "password": "initial-pass", "role": role, "organisation_id": org}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{username}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "E2303", "{body}");
        assert_eq!(body["message"], "角色与所属单位的类型不符");
        assert!(body["detail"].as_str().unwrap().contains("单位"), "{body}");
        assert!(
            app.db
                .accounts()
                .user_by_username(username)
                .await
                .unwrap()
                .is_none()
        );
    }
    // A matching user, then a PATCH that would move it to a department.
    let r = c
        .post(app.url("/api/v1/users"))
        .json(&json!({"username": "yuanwu", "password": "initial-pass", "role": "township", "organisation_id": yuanwu}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = c
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .json(&json!({"organisation_id": finance}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "E2303");
    assert_eq!(
        app.db.accounts().user(id).await.unwrap().organisation_id,
        yuanwu
    );

    // The page form: refused with the Chinese reason next to the form, and
    // what was typed is still there (not the password).
    let me: Value = c
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["csrf_token"].as_str().unwrap();
    let r = c
        .post(app.url("/system/users"))
        .form(&[
            ("csrf", csrf),
            ("username", "caizheng.xiang"),
            ("display_name", "财政局<乡镇>"),
            ("password", "initial-pass"),
            ("role", "township"),
            ("organisation_id", &finance.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"user-error\""), "{page}");
    assert!(page.contains("角色与所属单位的类型不符"), "{page}");
    assert!(page.contains("value=\"caizheng.xiang\""));
    assert!(!page.contains("财政局<乡镇>"), "typed name escaped");
    assert!(
        page.contains("value=\"财政局&#60;乡镇&#62;\""),
        "typed name kept: {page}"
    );
    assert!(!page.contains("initial-pass"));
    assert!(page.contains("<option value=\"township\" selected>"));
    assert!(page.contains(&format!("<option value=\"{finance}\" selected>")));
    assert!(page.contains("<optgroup label=\"乡镇/街道\">"));
    assert!(
        app.db
            .accounts()
            .user_by_username("caizheng.xiang")
            .await
            .unwrap()
            .is_none()
    );
}
