//! Issue #10 item 6: every state-changing route refuses a cross-site
//! request. The test keeps the list of state-changing routes, checks it
//! against the route registrations in the crate's source, and sends to each
//! route (1) a request carrying only the session cookie — no token, no
//! Origin — and (2) a request with the session's token but from another
//! origin (`Origin: http://127.0.0.1:<other port>`, or `Sec-Fetch-Site:
//! same-site`). Each must be refused and change nothing.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{PASSWORD, spawn_on};
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{AuditFilter, OrgKind, Role};
use serde_json::{Value, json};

/// How a route's body is sent.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Body {
    /// API: JSON (or nothing).
    Json,
    /// API: multipart form.
    Multipart,
    /// API or page: the file as the raw request body.
    Raw,
    /// Page: URL-encoded form with the token in its `csrf` field.
    Form,
    /// Page: multipart form with the token in its `csrf` field.
    PageMultipart,
    /// Page: raw body posted by the page's script, token in the header.
    PageRaw,
}

/// Every state-changing route: method, path as registered, body.
const STATE_CHANGING: &[(&str, &str, Body)] = &[
    ("POST", "/api/v1/auth/login", Body::Json),
    ("POST", "/api/v1/emergency/warnings", Body::Json),
    ("POST", "/api/v1/emergency/warnings/{id}/change", Body::Json),
    ("POST", "/api/v1/emergency/warnings/{id}/lift", Body::Json),
    (
        "POST",
        "/api/v1/emergency/warnings/{id}/confirm",
        Body::Json,
    ),
    (
        "POST",
        "/api/v1/emergency/warnings/{id}/notice",
        Body::Multipart,
    ),
    ("POST", "/api/v1/auth/logout", Body::Json),
    ("POST", "/api/v1/me/password", Body::Json),
    ("POST", "/api/v1/users", Body::Json),
    ("PATCH", "/api/v1/users/{id}", Body::Json),
    ("POST", "/api/v1/users/{id}/password", Body::Json),
    ("POST", "/api/v1/organisations", Body::Json),
    ("PUT", "/api/v1/organisations/{id}", Body::Json),
    ("POST", "/api/v1/sites", Body::Json),
    ("POST", "/api/v1/sites/import", Body::Raw),
    ("PUT", "/api/v1/sites/{id}", Body::Json),
    ("POST", "/api/v1/tasks/import", Body::Raw),
    ("POST", "/api/v1/tasks/{id}/sign-off", Body::Json),
    ("POST", "/api/v1/assignments/{id}/reports", Body::Multipart),
    ("POST", "/api/v1/task-reports/{id}/review", Body::Json),
    ("POST", "/api/v1/fire-points", Body::Multipart),
    ("POST", "/api/v1/fire-points/import", Body::Raw),
    ("POST", "/api/v1/power/readings", Body::Json),
    ("POST", "/api/v1/power/readings/import", Body::Raw),
    ("POST", "/api/v1/fire-points/{id}/void", Body::Json),
    ("POST", "/api/v1/reports/{month}/publish", Body::Json),
    ("POST", "/login", Body::Form),
    ("POST", "/logout", Body::Form),
    ("POST", "/account/password", Body::Form),
    ("POST", "/system/organisations", Body::Form),
    ("POST", "/system/users", Body::Form),
    ("POST", "/system/users/{id}/toggle", Body::Form),
    ("POST", "/system/users/{id}/reset", Body::Form),
    ("POST", "/tasks/import", Body::PageMultipart),
    ("POST", "/tasks/{id}/sign-off", Body::Form),
    (
        "POST",
        "/tasks/assignments/{id}/report",
        Body::PageMultipart,
    ),
    ("POST", "/tasks/reports/{id}/review", Body::Form),
    (
        "POST",
        "/tasks/reports/{id}/attachments",
        Body::PageMultipart,
    ),
    ("POST", "/tasks/assign", Body::Form),
    ("POST", "/tasks/{id}/extend", Body::Form),
    ("POST", "/tasks/assignments/{id}/cancel", Body::Form),
    ("POST", "/ledger/fire-points", Body::PageMultipart),
    ("POST", "/ledger/import", Body::PageMultipart),
    ("POST", "/ledger/fire-points/{id}/void", Body::Form),
    ("POST", "/sources/sites", Body::Form),
    ("POST", "/sources/sites/{id}/circuit", Body::Form),
    ("POST", "/sources/sites/{id}/line", Body::Form),
    ("POST", "/sources/import", Body::PageRaw),
    ("POST", "/air/import", Body::PageRaw),
    ("POST", "/reports/{month}/publish", Body::Form),
    ("POST", "/emergency/warnings", Body::Form),
    ("POST", "/emergency/list", Body::PageMultipart),
    ("POST", "/emergency/season/list", Body::PageMultipart),
    ("POST", "/sources/power-readings", Body::PageMultipart),
    ("POST", "/campaigns/{key}/state", Body::Form),
    ("POST", "/campaigns/{key}/copy", Body::Form),
    ("POST", "/campaigns/{key}/tasks", Body::PageMultipart),
    ("POST", "/campaigns/{key}/edit/targets/{target}", Body::Form),
    ("POST", "/campaigns/{key}/edit/new", Body::Form),
    ("POST", "/campaigns/{key}/edit/tasks/{task}", Body::Form),
    (
        "POST",
        "/campaigns/{key}/edit/tasks/{task}/delete",
        Body::Form,
    ),
    ("POST", "/campaigns/{key}/edit/groups/{plan}", Body::Form),
    (
        "POST",
        "/campaigns/{key}/edit/groups/{plan}/{group}",
        Body::Form,
    ),
    (
        "POST",
        "/campaigns/{key}/edit/assessment/{index}",
        Body::Form,
    ),
    (
        "POST",
        "/campaigns/{key}/edit/sections/{section}",
        Body::Form,
    ),
    ("POST", "/campaigns/{key}/edit/controls", Body::Form),
    (
        "POST",
        "/campaigns/{key}/edit/controls/{township}",
        Body::Form,
    ),
    (
        "POST",
        "/campaigns/{key}/edit/controls/{township}/delete",
        Body::Form,
    ),
    ("POST", "/enterprises/{id}/record", Body::Form),
    ("POST", "/emergency/warnings/{id}/change", Body::Form),
    ("POST", "/emergency/warnings/{id}/lift", Body::Form),
    ("POST", "/emergency/warnings/{id}/receipt", Body::Form),
    ("POST", "/emergency/warnings/{id}/cases", Body::Form),
    (
        "POST",
        "/emergency/warnings/{id}/notice",
        Body::PageMultipart,
    ),
    ("POST", "/emergency/list/rows", Body::Form),
    ("POST", "/emergency/list/rows/{id}", Body::Form),
    ("POST", "/emergency/list/rows/{id}/delete", Body::Form),
    ("POST", "/api/v1/alarms/{id}/case", Body::Json),
    ("POST", "/api/v1/alarms/{id}/explain", Body::Json),
    ("PUT", "/api/v1/alarm-rules", Body::Json),
    ("POST", "/api/v1/cases", Body::Json),
    ("POST", "/api/v1/cases/{id}/actions", Body::Json),
    ("POST", "/api/v1/notifications/read", Body::Json),
    ("POST", "/alarms/{id}/case", Body::Form),
    ("POST", "/alarms/{id}/explain", Body::PageMultipart),
    ("POST", "/alarms/rules", Body::Form),
    ("POST", "/cases/new", Body::PageMultipart),
    ("POST", "/cases/{id}/act", Body::PageMultipart),
    ("POST", "/inbox/read", Body::Form),
    ("POST", "/api/v1/notify-channels", Body::Json),
    ("PUT", "/api/v1/notify-channels/{id}", Body::Json),
    ("POST", "/api/v1/notify-channels/{id}/test", Body::Json),
    ("PUT", "/api/v1/me/notify", Body::Json),
    ("POST", "/system/notify", Body::Form),
    ("POST", "/system/notify/{id}/test", Body::Form),
    ("POST", "/inbox/settings", Body::Form),
    ("POST", "/api/v1/fire-points/{id}/reply", Body::Json),
    ("POST", "/api/v1/fire-points/{id}/confirm", Body::Json),
    (
        "POST",
        "/ledger/fire-points/{id}/reply",
        Body::PageMultipart,
    ),
    ("POST", "/ledger/fire-points/{id}/confirm", Body::Form),
    ("POST", "/reports/{month}/accountability", Body::Form),
    (
        "POST",
        "/reports/{month}/accountability/{id}/void",
        Body::Form,
    ),
];

/// The routes that start a session: no session to take a token from, so
/// only the origin checks apply (the login page also has its own
/// double-submit token).
const LOGIN_ROUTES: [&str; 2] = ["/api/v1/auth/login", "/login"];

/// Every state-changing route, as (method, full path): the API's from its
/// one route table (the OpenAPI document is built from it), the pages' from
/// every `.route("…", …)` registration with a POST, PUT, PATCH or DELETE
/// handler in `src/` outside `src/api/`.
fn registered_state_changing_routes() -> BTreeSet<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut found = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if file.strip_prefix(&src).unwrap().starts_with("api") {
            continue;
        }
        let prefix = "";
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            let call = &rest[at + ".route(".len()..];
            // The arguments, up to the parenthesis that closes the call.
            let mut depth = 1;
            let end = call
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap_or(call.len());
            let args = &call[..end];
            rest = &call[end..];
            let Some(path) = args.split('"').nth(1) else {
                continue;
            };
            for method in ["post", "put", "patch", "delete"] {
                let called = args.match_indices(&format!("{method}(")).any(|(i, _)| {
                    !args[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if called {
                    found.insert((method.to_uppercase(), format!("{prefix}{path}")));
                }
            }
        }
    }
    let doc = serde_json::to_value(gongjian_web::api::openapi()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                found.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

#[test]
fn item_6_the_list_holds_every_state_changing_route() {
    let registered = registered_state_changing_routes();
    let listed: BTreeSet<(String, String)> = STATE_CHANGING
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    // The scan itself must find the routes it is meant to find.
    assert!(registered.contains(&("POST".into(), "/api/v1/sites/import".into())));
    assert!(registered.contains(&("PATCH".into(), "/api/v1/users/{id}".into())));
    assert!(registered.contains(&("POST".into(), "/tasks/import".into())));
    let missing: Vec<_> = registered.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "state-changing routes not covered by this test: {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&registered).collect();
    assert!(
        stale.is_empty(),
        "listed routes that no longer exist: {stale:?}"
    );
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "1").replace("{month}", "2020-12")
}

/// A request to `path` with exactly the given cookie and headers, and the
/// route's kind of body; `csrf` goes in the form field for page forms and
/// in the header otherwise.
fn request(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    body: Body,
    cookie: &str,
    csrf: Option<&str>,
) -> reqwest::RequestBuilder {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http
        .request(method, format!("{base}{}", concrete(path)))
        .header("cookie", cookie);
    let in_header = matches!(
        body,
        Body::Json | Body::Multipart | Body::Raw | Body::PageRaw
    );
    if let (Some(token), true) = (csrf, in_header) {
        req = req.header("x-csrf-token", token);
    }
    let field = csrf.filter(|_| !in_header);
    match body {
        Body::Json => req.json(&json!({})),
        Body::Raw | Body::PageRaw => req
            .header("x-filename", "sites.csv")
            .body("code,name\nX1,站\n"),
        Body::Multipart | Body::PageMultipart => {
            // A file as the page's upload form sends one, so that only the
            // token is missing.
            let file = reqwest::multipart::Part::bytes(b"code,name\n".to_vec()).file_name("a.csv");
            let mut form = reqwest::multipart::Form::new()
                .text("text", "x")
                .part("file", file);
            if let Some(token) = field {
                form = form.text("csrf", token.to_owned());
            }
            req.multipart(form)
        }
        Body::Form => {
            let mut fields = vec![("name", "x")];
            if let Some(token) = field {
                fields.push(("csrf", token));
            }
            req.form(&fields)
        }
    }
}

async fn audit_rows(app: &common::TestApp) -> usize {
    app.db
        .audit()
        .list(&AuditFilter {
            limit: 100_000,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .len()
}

/// A refusal by the CSRF defence: 403 (or, for a page form whose fields
/// cannot be read without the token, 422), never a success.
fn assert_refused(what: &str, status: reqwest::StatusCode, body: &str) {
    assert!(
        status == 403 || status == 422,
        "{what}: expected a refusal, got {status}: {body}"
    );
}

on_both_backends!(item_6_every_state_changing_route_refuses_cross_site_requests);
async fn item_6_every_state_changing_route_refuses_cross_site_requests(db: TestDb) {
    let app = spawn_on(db).await;
    // December 2020's report is judged against the 2020 campaign.
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let base = format!("http://{}", app.addr);
    // One session, held as a bare cookie, and its token.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = plain
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "office", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me: Value = plain
        .get(format!("{base}/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = me["csrf_token"].as_str().unwrap().to_owned();
    let other_origin = format!("http://127.0.0.1:{}", app.addr.port().wrapping_add(1));

    let before = audit_rows(&app).await;
    for &(method, path, body) in STATE_CHANGING {
        let what = format!("{method} {path}");
        if !LOGIN_ROUTES.contains(&path) {
            // (1) Only the cookie: no token, no Origin, no Sec-Fetch-Site.
            let r = request(&plain, &base, method, path, body, &cookie, None)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            assert_refused(&format!("{what} with only the cookie"), status, &text);
            if path.starts_with("/api/") {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["code"], "E1007", "{what}: {text}");
            }
        }
        // (2) The token, but sent from another origin of the same host.
        let r = request(&plain, &base, method, path, body, &cookie, Some(&token))
            .header("origin", &other_origin)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, 403, "{what} from {other_origin}: {text}");
        if path.starts_with("/api/") {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["code"], "E1010", "{what}: {text}");
        } else {
            assert!(text.contains("跨站请求被拒绝"), "{what}: {text}");
        }
        // (3) The token, and the browser says the page is same-site only.
        let r = request(&plain, &base, method, path, body, &cookie, Some(&token))
            .header("sec-fetch-site", "same-site")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{what} with Sec-Fetch-Site: same-site");
        // `Origin: null` (a sandboxed frame, a data: URL) is refused too.
        let r = request(&plain, &base, method, path, body, &cookie, Some(&token))
            .header("origin", "null")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{what} with Origin: null");
    }

    // Nothing changed: no audit row (every write appends one), the report
    // is not published, the session was not ended.
    assert_eq!(audit_rows(&app).await, before, "a refused request wrote");
    let published = || async {
        let v: Value = plain
            .get(format!("{base}/api/v1/reports/2020-12/published"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["versions"].as_array().unwrap().len()
    };
    assert_eq!(
        published().await,
        0,
        "a refused request published the report"
    );
    let still = plain
        .get(format!("{base}/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200, "a refused logout ended the session");

    // The same requests from the platform's own pages go through: the
    // token, and the browser's own origin.
    let own_origin = base.clone();
    let r = plain
        .post(format!("{base}/api/v1/reports/2020-12/publish"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &token)
        .header("origin", &own_origin)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(published().await, 1);
    let r = plain
        .post(format!("{base}/api/v1/auth/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &token)
        .header("origin", &own_origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let gone = plain
        .get(format!("{base}/api/v1/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 401);
}

on_both_backends!(item_6_login_from_another_origin_starts_no_session);
async fn item_6_login_from_another_origin_starts_no_session(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let other_origin = format!("http://127.0.0.1:{}", app.addr.port().wrapping_add(1));
    let r = common::client()
        .post(app.url("/api/v1/auth/login"))
        .header("origin", &other_origin)
        .json(&json!({"username": "office", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "E1010");
    // From the platform's own origin (and from scripts that send none) the
    // login works.
    let r = common::client()
        .post(app.url("/api/v1/auth/login"))
        .header("origin", format!("http://{}", app.addr))
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"username": "office", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
