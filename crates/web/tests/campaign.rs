//! The campaign workflow through the real application on port 0: a
//! department reports, the office accepts, and it shows in the task page,
//! the XLSX ledger and the audit log; access rules; attachments; import.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, Db, NewUser, Role};
use gongjian_web::attachments::CampaignSettings;
use gongjian_web::{AppState, WebSettings};
use serde_json::{Value, json};

const PASSWORD: &str = "correct-horse";

struct App {
    base: String,
    db: Db,
    _db: TestDb,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn spawn(test_db: TestDb) -> App {
    let db = test_db.db.clone();
    let plan = gongjian_app::plan::embedded_plan().unwrap();
    db.campaigns()
        .load_campaign(&Actor::cli(), &plan)
        .await
        .unwrap();
    for (username, role, org) in [
        ("office", Role::Office, "区环境攻坚办"),
        ("nongye", Role::Department, "区农业农村局"),
        ("zhifa", Role::Department, "区行政综合执法局"),
        ("yuanwu", Role::Township, "原武镇"),
        ("shizhai", Role::Township, "师寨镇"),
        ("viewer", Role::Viewer, "区环境攻坚办"),
    ] {
        add_user(&db, username, role, org).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(
        db.clone(),
        WebSettings::from_config(&gongjian_config::Config::default()),
    )
    .with_campaign(CampaignSettings {
        data_dir: dir.path().to_owned(),
        attachment_max_bytes: 1024,
        reminder_days: 7,
        ..CampaignSettings::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        gongjian_web::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    App {
        base: format!("http://{addr}"),
        db,
        _db: test_db,
        _dir: dir,
        _shutdown: tx,
    }
}

async fn add_user(db: &Db, username: &str, role: Role, org: &str) {
    let org = db
        .organisations()
        .organisation_by_name(org)
        .await
        .unwrap()
        .unwrap();
    db.accounts()
        .create_user(
            &Actor::cli(),
            &NewUser {
                username: username.into(),
                display_name: username.into(),
                password: PASSWORD.into(),
                role,
                organisation_id: org.id,
                must_change_password: false,
            },
        )
        .await
        .unwrap();
}

struct Client {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Client {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// An API write with the session's token in the X-CSRF-Token header.
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

async fn login(app: &App, username: &str) -> Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "login {username}: {}", r.status());
    let me: Value = http
        .get(format!("{}/api/v1/me", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    Client {
        http,
        base: app.base.clone(),
        csrf,
    }
}

/// The value of the first hidden `csrf` field of a page's forms.
fn form_csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .expect("a form with a csrf field")
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

/// Every number that follows `prefix` on a page, in order (ids in links
/// and form actions).
fn ids_after(html: &str, prefix: &str) -> Vec<i64> {
    html.split(prefix)
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

/// Log in through the login page as a browser does (its form and its
/// double-submit token); the client's CSRF token is then taken from a page.
async fn page_login(app: &App, username: &str) -> Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |path: &str| format!("{}{path}", app.base);
    let login = http.get(url("/login")).send().await.unwrap();
    let login = login.text().await.unwrap();
    let r = http
        .post(url("/login"))
        .form(&[
            ("csrf", form_csrf(&login).as_str()),
            ("username", username),
            ("password", PASSWORD),
            ("next", "/tasks/mine"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "page login {username}");
    let page = http.get(url("/tasks/mine")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf = form_csrf(&page.text().await.unwrap());
    Client {
        http,
        base: app.base.clone(),
        csrf,
    }
}

impl Client {
    /// A page's HTML, which must answer 200.
    async fn page(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().await.unwrap()
    }

    /// Submit a page's URL-encoded form with the session's CSRF token.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.http
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// Submit a page's multipart form; the caller adds the CSRF field, as
    /// the page's hidden input does.
    async fn upload(&self, path: &str, form: reqwest::multipart::Form) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    async fn download(&self, path: &str) -> Vec<u8> {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        assert_eq!(
            r.headers()["x-content-type-options"],
            "nosniff",
            "served as a download"
        );
        r.bytes().await.unwrap().to_vec()
    }
}

fn location(r: &reqwest::Response) -> &str {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn file(bytes: &[u8], name: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned())
}

const PDF: &[u8] = b"%PDF-1.4\n%evidence\n1 0 obj<<>>endobj\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-fire-photo";
const EXE: &[u8] = b"MZ\x90\x00\x03rest-of-an-exe";

async fn task_id(app: &App, key: &str) -> i64 {
    app.db.campaigns().task_id_by_key(None, key).await.unwrap()
}

async fn assignment(app: &App, key: &str, org: &str) -> i64 {
    let d = app
        .db
        .campaigns()
        .task_detail(task_id(app, key).await)
        .await
        .unwrap();
    d.assignments
        .iter()
        .find(|a| a.organisation_name == org)
        .unwrap()
        .id
}

fn ledger_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Float(f) => format!("{}", *f as i64),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

on_both_backends!(department_reports_office_accepts_everywhere_visible);
async fn department_reports_office_accepts_everywhere_visible(db: TestDb) {
    let app = spawn(db).await;
    let nongye = login(&app, "nongye").await;
    let office = login(&app, "office").await;
    let lead = assignment(&app, "air-15", "区农业农村局").await;
    let tid = task_id(&app, "air-15").await;

    // The department sees only tasks it has a part in.
    let mine = nongye.json("/api/v1/tasks").await;
    let keys: Vec<&str> = mine["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"air-15"));
    let all = office.json("/api/v1/tasks").await;
    assert!(all["count"].as_u64().unwrap() > mine["count"].as_u64().unwrap());
    assert_eq!(all["counts"]["not_started"], all["count"]);

    let r = nongye
        .post(
            &format!("/api/v1/assignments/{lead}/reports"),
            json!({"text": "秸秆综合利用率已达 90.3%，分工完成", "claims_complete": true,
                   "values": {"秸秆综合利用率": "90.3"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let submitted: Value = r.json().await.unwrap();
    let report_id = submitted["report"]["id"].as_i64().unwrap();
    assert_eq!(submitted["report"]["values"][0]["value"], "90.3");

    // Only the office (or the task's lead for other parts) reviews.
    let self_review = nongye
        .post(
            &format!("/api/v1/task-reports/{report_id}/review"),
            json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(self_review.status(), 403);
    let accepted = office
        .post(
            &format!("/api/v1/task-reports/{report_id}/review"),
            json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(accepted.status(), 200);

    // The task page (as the department) shows the report, the value and the review.
    let page = nongye
        .get(&format!("/tasks/{tid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("秸秆综合利用率已达 90.3%"),
        "report text on the page"
    );
    assert!(page.contains("90.3 %"), "indicator value over time");
    assert!(page.contains("已通过"));
    assert!(page.contains("强化秸秆禁烧工作"));
    let list = office
        .get("/tasks?plan=air&status=in_progress")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("强化秸秆禁烧工作"), "filtered list");
    let mine_page = nongye.get("/tasks/mine").await.text().await.unwrap();
    assert!(
        mine_page.contains("已完成"),
        "my tasks shows the finished part"
    );

    // The XLSX ledger: one row per assignment, the accepted report in it.
    let x = office.get("/api/v1/tasks.xlsx").await;
    assert_eq!(x.status(), 200);
    let rows = ledger_rows(&x.bytes().await.unwrap());
    assert_eq!(rows[0][0], "分工编号");
    let row = rows
        .iter()
        .find(|r| r[0] == lead.to_string())
        .expect("the assignment's row");
    assert_eq!(row[1], "air-15");
    assert_eq!(row[6], "区农业农村局");
    assert_eq!(row[7], "牵头");
    assert_eq!(row[10], "已完成");
    assert!(row[12].contains("90.3%"));
    assert_eq!(row[13], "秸秆综合利用率=90.3");
    assert_eq!(row[14], "通过");
    let total = app
        .db
        .campaigns()
        .assignments(None, None)
        .await
        .unwrap()
        .len();
    assert_eq!(rows.len(), total + 1);
    // A department's export holds its own rows only.
    let own = ledger_rows(
        &nongye
            .get("/api/v1/tasks.xlsx")
            .await
            .bytes()
            .await
            .unwrap(),
    );
    assert!(own.iter().skip(1).all(|r| r[6] == "区农业农村局"));

    // The audit log records the submission and the acceptance by person.
    let audit = office.json("/api/v1/audit?entity=task_report").await;
    let entries = audit
        .as_array()
        .unwrap_or_else(|| audit["entries"].as_array().unwrap());
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "submit" && e["actor_name"] == "nongye")
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "accept" && e["actor_name"] == "office")
    );

    // Sign-off is refused while other parts are open.
    let refused = office
        .post(&format!("/api/v1/tasks/{tid}/sign-off"), json!({}))
        .await;
    // A state conflict with its own rule code, not the generic E1005.
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "E2401");
    assert_eq!(body["message"], "任务当前状态不允许此操作");
    assert!(body["detail"].as_str().unwrap().contains("原武镇"));
}

on_both_backends!(reports_on_another_organisations_assignment_are_refused);
async fn reports_on_another_organisations_assignment_are_refused(db: TestDb) {
    let app = spawn(db).await;
    let zhifa = login(&app, "zhifa").await;
    let viewer = login(&app, "viewer").await;
    let nongye_part = assignment(&app, "air-15", "区农业农村局").await;
    let r = zhifa
        .post(
            &format!("/api/v1/assignments/{nongye_part}/reports"),
            json!({"text": "冒名报送"}),
        )
        .await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "E1003");
    let v = viewer
        .post(
            &format!("/api/v1/assignments/{nongye_part}/reports"),
            json!({"text": "只读"}),
        )
        .await;
    assert_eq!(v.status(), 403);
    assert!(
        app.db
            .campaigns()
            .reports_of_assignment(nongye_part)
            .await
            .unwrap()
            .is_empty()
    );
    // A township cannot open a task it has no part in.
    let yuanwu = login(&app, "yuanwu").await;
    let foreign = app
        .db
        .campaigns()
        .tasks(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.key == "air-四(四)-1" || t.plan == "soil")
        .unwrap();
    let d = app.db.campaigns().task_detail(foreign.id).await.unwrap();
    if !d
        .assignments
        .iter()
        .any(|a| a.organisation_name == "原武镇")
    {
        assert_eq!(
            yuanwu
                .get(&format!("/api/v1/tasks/{}", foreign.id))
                .await
                .status(),
            403
        );
    }
}

on_both_backends!(forbidden_attachment_is_refused_and_the_report_kept);
async fn forbidden_attachment_is_refused_and_the_report_kept(db: TestDb) {
    let app = spawn(db).await;
    let yuanwu = login(&app, "yuanwu").await;
    let part = assignment(&app, "air-15", "原武镇").await;
    let form = reqwest::multipart::Form::new()
        .text("text", "6 月处置火点 1 处，附照片")
        .text("value:0", "88.5")
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"MZ\x90\x00\x03rest-of-an-exe".to_vec())
                .file_name("照片.exe"),
        )
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n%minimal\n".to_vec())
                .file_name("处置记录.pdf"),
        )
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(
                vec![0xFF, 0xD8, 0xFF]
                    .into_iter()
                    .chain(vec![0u8; 2000])
                    .collect::<Vec<u8>>(),
            )
            .file_name("大图.jpg"),
        );
    // Without the CSRF header a multipart upload is refused.
    let no_csrf = yuanwu
        .http
        .post(yuanwu.url(&format!("/api/v1/assignments/{part}/reports")))
        .multipart(reqwest::multipart::Form::new().text("text", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let r = yuanwu
        .http
        .post(yuanwu.url(&format!("/api/v1/assignments/{part}/reports")))
        .header("x-csrf-token", &yuanwu.csrf)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    let rejected: Vec<&str> = body["rejected_attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected[0].contains("照片.exe") && rejected[0].contains("类型不允许"));
    assert!(rejected[1].contains("大图.jpg") && rejected[1].contains("超过上限"));
    assert_eq!(body["report"]["text"], "6 月处置火点 1 处，附照片");
    let atts = body["report"]["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0]["content_type"], "application/pdf");
    let att_id = atts[0]["id"].as_i64().unwrap();
    let file = yuanwu.get(&format!("/api/v1/attachments/{att_id}")).await;
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF-1.4"));
    // Another department may not fetch it.
    let zhifa = login(&app, "zhifa").await;
    assert_eq!(
        zhifa
            .get(&format!("/api/v1/attachments/{att_id}"))
            .await
            .status(),
        403
    );

    // Through the page form: the text stays on the page after a bad value.
    let page_form = reqwest::multipart::Form::new()
        .text("csrf", yuanwu.csrf.clone())
        .text("text", "页面报送的进展，不应丢失")
        .text("value:0", "八十九");
    let page = yuanwu
        .http
        .post(yuanwu.url(&format!("/tasks/assignments/{part}/report")))
        .multipart(page_form)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let html = page.text().await.unwrap();
    assert!(html.contains("不是数字"), "clear error");
    assert!(
        html.contains("页面报送的进展，不应丢失"),
        "text kept in the form"
    );
}

on_both_backends!(ledger_import_rejects_bad_rows_and_imports_none_unless_asked);
async fn ledger_import_rejects_bad_rows_and_imports_none_unless_asked(db: TestDb) {
    let app = spawn(db).await;
    let nongye = login(&app, "nongye").await;
    let bytes = nongye
        .get("/api/v1/tasks.xlsx")
        .await
        .bytes()
        .await
        .unwrap();
    let rows = ledger_rows(&bytes);
    let part15 = assignment(&app, "air-15", "区农业农村局").await.to_string();
    // Fill two rows: one good, one with a value that is not a number.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let mut good_done = false;
    let mut bad_done = false;
    for (out, (i, r)) in (0u32..).zip(rows.iter().enumerate()) {
        let mut r = r.clone();
        r.resize(19, String::new());
        if i > 0 && r[0] == part15 && !good_done {
            r[16] = "导入的进展".into();
            r[17] = "秸秆综合利用率=91".into();
            good_done = true;
        } else if i > 0 && !bad_done && r[0] != part15 {
            r[16] = "坏行".into();
            r[17] = "某指标=abc".into();
            bad_done = true;
        }
        for (c, v) in r.iter().enumerate() {
            ws.write_string(out, c as u16, v).unwrap();
        }
    }
    let upload = wb.save_to_buffer().unwrap();
    let send = |valid_only: bool| {
        let body = upload.clone();
        let nongye = &nongye;
        async move {
            nongye
                .http
                .post(nongye.url(&format!(
                    "/api/v1/tasks/import{}",
                    if valid_only { "?valid_only=1" } else { "" }
                )))
                .header("x-csrf-token", &nongye.csrf)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = send(false).await;
    assert_eq!(r.status(), 422);
    let res: Value = r.json().await.unwrap();
    assert_eq!(res["imported"], 0);
    assert_eq!(res["refused"], true);
    let rejected = res["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1);
    assert!(rejected[0]["row"].as_u64().unwrap() >= 2);
    assert!(rejected[0]["reason"].as_str().unwrap().contains("某指标"));
    let lead: i64 = part15.parse().unwrap();
    assert!(
        app.db
            .campaigns()
            .reports_of_assignment(lead)
            .await
            .unwrap()
            .is_empty()
    );

    let r = send(true).await;
    assert_eq!(r.status(), 200);
    let res: Value = r.json().await.unwrap();
    assert_eq!(res["imported"], 1);
    let reports = app
        .db
        .campaigns()
        .reports_of_assignment(lead)
        .await
        .unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].values[0].value, "91");

    // A wrong header is refused with the column named.
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet().write_string(0, 0, "编号").unwrap();
    let r = nongye
        .http
        .post(nongye.url("/api/v1/tasks/import"))
        .header("x-csrf-token", &nongye.csrf)
        .body(wb.save_to_buffer().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("分工编号"));
}

on_both_backends!(fire_point_ledger_totals_per_township_per_month);
async fn fire_point_ledger_totals_per_township_per_month(db: TestDb) {
    let app = spawn(db).await;
    let office = login(&app, "office").await;
    for (t, d, k) in [
        ("原武镇", "2020-06-03", "秸秆"),
        ("原武镇", "2020-06-09", "杂草"),
        ("师寨镇", "2020-06-10", "straw"),
    ] {
        let r = office
            .post(
                "/api/v1/fire-points",
                json!({"township": t, "date": d, "place": "村北地块", "kind": k}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let bad = office
        .post(
            "/api/v1/fire-points",
            json!({"township": "原武镇", "date": "2020-02-30", "place": "x", "kind": "秸秆"}),
        )
        .await;
    assert_eq!(bad.status(), 400);
    let nongye = login(&app, "nongye").await;
    let denied = nongye
        .post(
            "/api/v1/fire-points",
            json!({"township": "原武镇", "date": "2020-06-01", "place": "x", "kind": "秸秆"}),
        )
        .await;
    assert_eq!(denied.status(), 403);

    let csv = "乡镇,日期,位置,类型,备注\n祝楼乡,2020-10-01,祝楼村东,树叶,\n不存在镇,2020-10-02,某地,秸秆,\n";
    let r = office
        .http
        .post(office.url("/api/v1/fire-points/import"))
        .header("x-csrf-token", &office.csrf)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let res: Value = r.json().await.unwrap();
    assert_eq!(res["rejected"][0]["row"], 3);
    assert!(
        res["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("不存在镇")
    );

    let ledger = office.json("/api/v1/fire-points").await;
    let totals = ledger["totals"].as_array().unwrap();
    let june = totals
        .iter()
        .find(|t| t["township"] == "原武镇" && t["month"] == "2020-06")
        .unwrap();
    assert_eq!(june["amount"], "600000");
    assert_eq!(june["points"], 2);
    let page = office.get("/ledger").await.text().await.unwrap();
    assert!(page.contains("600000"));
    let yuanwu = login(&app, "yuanwu").await;
    let own = yuanwu.json("/api/v1/fire-points").await;
    assert!(
        own["points"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["township"] == "原武镇")
    );
}

on_both_backends!(fire_point_duplicates_refused_and_entries_voided);
/// Issue 13 item 4: the fire-point ledger refuses the same point twice (same
/// township, day and place) with a clear Chinese message — through the API,
/// the page form and an import — and the office voids an entry with a
/// reason: audited, shown struck through, left out of totals and deductions.
async fn fire_point_duplicates_refused_and_entries_voided(db: TestDb) {
    use reqwest::multipart::Form;
    let app = spawn(db).await;
    let office = login(&app, "office").await;
    let point = json!({"township": "原武镇", "date": "2020-10-05", "place": "大堤村北地块", "kind": "秸秆"});
    let r = office.post("/api/v1/fire-points", point.clone()).await;
    assert_eq!(r.status(), 201);
    let first: Value = r.json().await.unwrap();
    let first_id = first["id"].as_i64().unwrap();
    assert_eq!(first["voided_at"], Value::Null);

    // API: the same point again.
    let r = office.post("/api/v1/fire-points", point.clone()).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "E2502", "{body}");
    assert_eq!(body["message"], "该火点已登记，不能重复登记");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("原武镇")
            && detail.contains("2020-10-05")
            && detail.contains("大堤村北地块"),
        "{detail}"
    );

    // Page form: refused, the message shown and the values kept.
    let desk = page_login(&app, "office").await;
    let r = desk
        .upload(
            "/ledger/fire-points",
            Form::new()
                .text("csrf", desk.csrf.clone())
                .text("township", "原武镇")
                .text("date", "2020-10-05")
                .text("place", "大堤村 北地块")
                .text("kind", "straw")
                .text("note", "第二次上报"),
        )
        .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    let error = html.split(r#"id="error">"#).nth(1).unwrap();
    assert!(error.contains("不能重复登记"), "{error}");
    assert!(html.contains(r#"value="第二次上报""#));

    // Import: a row already in the ledger and a row repeated in the file are
    // each refused on their line; nothing is imported.
    let csv = "乡镇,日期,位置,类型,备注\n原武镇,2020-10-05,大堤村北地块,秸秆,\n师寨镇,2020-10-07,师寨村西,杂草,\n师寨镇,2020-10-07,师寨村西,杂草,\n";
    let r = office
        .http
        .post(office.url("/api/v1/fire-points/import"))
        .header("x-csrf-token", &office.csrf)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let res: Value = r.json().await.unwrap();
    let rejected = res["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{res}");
    assert_eq!(rejected[0]["row"], 2);
    assert!(rejected[0]["reason"].as_str().unwrap().contains("已登记"));
    assert_eq!(rejected[1]["row"], 4);
    assert!(
        rejected[1]["reason"]
            .as_str()
            .unwrap()
            .contains("与第 3 行"),
        "{res}"
    );
    assert_eq!(app.db.campaigns().fire_points(None).await.unwrap().len(), 1);

    // A second, distinct point the same month.
    let r = office
        .post(
            "/api/v1/fire-points",
            json!({"township": "原武镇", "date": "2020-10-06", "place": "大堤村北地块", "kind": "杂草"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let october = |ledger: &Value| {
        ledger["totals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["township"] == "原武镇" && t["month"] == "2020-10")
            .map(|t| t["amount"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        october(&office.json("/api/v1/fire-points").await).as_deref(),
        Some("600000")
    );

    // Voiding: office only, with a reason.
    let nongye = login(&app, "nongye").await;
    let r = nongye
        .post(
            &format!("/api/v1/fire-points/{first_id}/void"),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = office
        .post(
            &format!("/api/v1/fire-points/{first_id}/void"),
            json!({"reason": " "}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        r.json::<Value>().await.unwrap()["detail"]
            .as_str()
            .unwrap()
            .contains("原因")
    );
    // Through the page, as the ledger's form does.
    let ledger = desk.page("/ledger").await;
    assert!(ledger.contains(&format!(r#"action="/ledger/fire-points/{first_id}/void""#)));
    let r = desk
        .submit(
            &format!("/ledger/fire-points/{first_id}/void"),
            &[("reason", "经核实为<重复>上报")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/ledger?ok=voided");
    let ledger = desk.page("/ledger?ok=voided").await;
    assert!(ledger.contains("火点已作废"));
    let row = ledger
        .split(&format!(r#"<tr id="fp-{first_id}""#))
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.starts_with(r#" class="voided""#), "{row}");
    assert!(
        row.contains("<s>500000</s>") && row.contains("已作废"),
        "{row}"
    );
    assert!(row.contains("经核实为&#60;重复&#62;上报"), "{row}");
    assert!(!row.contains("<重复>"));
    // Out of the totals and the deduction; kept in the ledger.
    let after = office.json("/api/v1/fire-points").await;
    assert_eq!(october(&after).as_deref(), Some("100000"));
    let voided = after["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == first_id)
        .unwrap();
    assert_eq!(voided["void_reason"], "经核实为<重复>上报");
    assert_eq!(voided["voided_by"], "office");
    // The township sees it voided too.
    let yuanwu = page_login(&app, "yuanwu").await;
    let own = yuanwu.page("/ledger").await;
    assert!(own.contains("已作废") && !own.contains(r#"/void""#));
    // Not twice; audited.
    let r = office
        .post(
            &format!("/api/v1/fire-points/{first_id}/void"),
            json!({"reason": "再次"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let log = office
        .json("/api/v1/audit?entity=fire_point&action=void")
        .await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["entity_id"] == first_id.to_string().as_str()
                && e["after"]["void_reason"] == "经核实为<重复>上报"),
        "{log}"
    );
    // The corrected point can be recorded again once the wrong one is void.
    let r = office.post("/api/v1/fire-points", point).await;
    assert_eq!(r.status(), 201);
}

on_both_backends!(fire_point_evidence_through_api_and_page);
async fn fire_point_evidence_through_api_and_page(db: TestDb) {
    use reqwest::multipart::Form;
    let app = spawn(db).await;
    let office = login(&app, "office").await;

    // The API takes the point as multipart with its evidence files; like
    // report uploads it needs the session's CSRF token in a header.
    let no_csrf = office
        .http
        .post(office.url("/api/v1/fire-points"))
        .multipart(Form::new().text("township", "原武镇"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let form = Form::new()
        .text("township", "原武镇")
        .text("date", "2020-06-05")
        .text("place", "大堤村北地块")
        .text("kind", "秸秆")
        .text("note", "无人机巡查发现")
        .part("attachment", file(PNG, "火点照片.png"))
        .part("attachment", file(PDF, "现场笔录.pdf"));
    let r = office
        .http
        .post(office.url("/api/v1/fire-points"))
        .header("x-csrf-token", &office.csrf)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let point: Value = r.json().await.unwrap();
    assert_eq!(point["amount"], "500000");
    let atts = point["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0]["content_type"], "image/png");
    assert_eq!(atts[1]["file_name"], "现场笔录.pdf");
    let (png_id, pdf_id) = (
        atts[0]["id"].as_i64().unwrap(),
        atts[1]["id"].as_i64().unwrap(),
    );
    assert_eq!(
        office
            .download(&format!("/api/v1/attachments/{png_id}"))
            .await,
        PNG
    );
    // The point's township may fetch it; another township or a department may not.
    let yuanwu = login(&app, "yuanwu").await;
    assert_eq!(
        yuanwu.download(&format!("/attachments/{pdf_id}")).await,
        PDF
    );
    for other in ["shizhai", "zhifa"] {
        let c = login(&app, other).await;
        let r = c.get(&format!("/api/v1/attachments/{pdf_id}")).await;
        assert_eq!(r.status(), 403, "{other}");
    }

    // A forbidden type or an oversize file refuses the whole point, every
    // refused file named.
    let before = app.db.campaigns().fire_points(None).await.unwrap().len();
    let big_jpeg: Vec<u8> = [0xFF, 0xD8, 0xFF].into_iter().chain([0u8; 2000]).collect();
    let bad = Form::new()
        .text("township", "原武镇")
        .text("date", "2020-06-06")
        .text("place", "大堤村南")
        .text("kind", "straw")
        .part("attachment", file(PNG, "照片.png"))
        .part("attachment", file(EXE, "照片.exe"))
        .part("attachment", file(&big_jpeg, "大图.jpg"));
    let r = office
        .http
        .post(office.url("/api/v1/fire-points"))
        .header("x-csrf-token", &office.csrf)
        .multipart(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "E1005");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("照片.exe") && detail.contains("类型不允许"),
        "{detail}"
    );
    assert!(
        detail.contains("大图.jpg") && detail.contains("超过上限"),
        "{detail}"
    );
    assert!(detail.contains("火点未登记"), "{detail}");
    assert_eq!(
        app.db.campaigns().fire_points(None).await.unwrap().len(),
        before
    );
    // Points are deducted from a township's budget: no other organisation.
    let r = office
        .post(
            "/api/v1/fire-points",
            json!({"township": "区农业农村局", "date": "2020-06-06", "place": "x", "kind": "秸秆"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("不是乡镇"));

    // The page form is multipart with evidence; the ledger links the files.
    let desk = page_login(&app, "office").await;
    let ledger = desk.page("/ledger").await;
    assert!(ledger.contains(r#"action="/ledger/fire-points" enctype="multipart/form-data""#));
    assert!(ledger.contains(r#"type="file" name="attachment" multiple"#));
    let r = desk
        .upload(
            "/ledger/fire-points",
            Form::new()
                .text("csrf", desk.csrf.clone())
                .text("township", "师寨镇")
                .text("date", "2020-06-12")
                .text("place", "师寨村东")
                .text("kind", "weeds")
                .text("note", "")
                .part("attachment", file(PDF, "师寨火点.pdf")),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/ledger?ok=added");
    let ledger = desk.page("/ledger?ok=added").await;
    assert!(ledger.contains("火点已登记") && ledger.contains("师寨火点.pdf"));
    let stored = app.db.campaigns().fire_points(None).await.unwrap();
    let shizhai_point = stored.iter().find(|p| p.place == "师寨村东").unwrap();
    assert_eq!(shizhai_point.amount, "100000");
    let att = shizhai_point.attachments[0].id;
    assert!(ids_after(&ledger, r#"href="/attachments/"#).contains(&att));
    assert_eq!(desk.download(&format!("/attachments/{att}")).await, PDF);
    let shizhai = page_login(&app, "shizhai").await;
    assert_eq!(shizhai.download(&format!("/attachments/{att}")).await, PDF);
    let own = shizhai.page("/ledger").await;
    assert!(own.contains("师寨火点.pdf") && !own.contains("现场笔录.pdf"));

    // A forbidden file through the page: the message names it, nothing is
    // stored, and the form comes back with the values as typed.
    let r = desk
        .upload(
            "/ledger/fire-points",
            Form::new()
                .text("csrf", desk.csrf.clone())
                .text("township", "祝楼乡")
                .text("date", "2020-06-20")
                .text("place", "祝楼村南")
                .text("kind", "leaves")
                .text("note", "群众举报")
                .part("attachment", file(EXE, "证据.exe")),
        )
        .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    let error = html.split(r#"id="error">"#).nth(1).unwrap();
    assert!(
        error.contains("证据.exe") && error.contains("类型不允许") && error.contains("火点未登记"),
        "{error}"
    );
    for kept in [
        r#"value="祝楼村南""#,
        r#"value="群众举报""#,
        r#"value="2020-06-20""#,
        r#"<option value="祝楼乡" selected>"#,
        r#"<option value="leaves" selected>"#,
    ] {
        assert!(html.contains(kept), "{kept} kept in the form");
    }
    assert!(
        app.db
            .campaigns()
            .fire_points(None)
            .await
            .unwrap()
            .iter()
            .all(|p| p.place != "祝楼村南")
    );
}

on_both_backends!(task_page_charts_accepted_indicator_values_over_time);
async fn task_page_charts_accepted_indicator_values_over_time(db: TestDb) {
    let app = spawn(db).await;
    let nongye = login(&app, "nongye").await;
    let office = login(&app, "office").await;
    let lead = assignment(&app, "air-15", "区农业农村局").await;
    let tid = task_id(&app, "air-15").await;
    let report = |value: &str| json!({"text": format!("秸秆综合利用率 {value}%"), "values": {"秸秆综合利用率": value}});
    let path = format!("/api/v1/assignments/{lead}/reports");
    for value in ["88.5", "90.3"] {
        let r = nongye.post(&path, report(value)).await;
        assert_eq!(r.status(), 201);
        let id = r.json::<Value>().await.unwrap()["report"]["id"]
            .as_i64()
            .unwrap();
        let review = format!("/api/v1/task-reports/{id}/review");
        let accepted = office.post(&review, json!({"decision": "accept"})).await;
        assert_eq!(accepted.status(), 200);
    }
    // Awaiting review: not yet a confirmed figure.
    assert_eq!(nongye.post(&path, report("99.9")).await.status(), 201);

    let series = nongye
        .json(&format!("/api/v1/tasks/{tid}/indicators"))
        .await;
    let series = series.as_array().unwrap();
    let (index, rate) = series
        .iter()
        .enumerate()
        .find(|(_, s)| s["name"] == "秸秆综合利用率")
        .unwrap();
    assert_eq!(rate["comparator"], ">=");
    assert_eq!(rate["threshold"], "89");
    assert_eq!(rate["unit"], "%");
    let points = rate["points"].as_array().unwrap();
    let values: Vec<&str> = points
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["88.5", "90.3"], "accepted values, oldest first");
    assert!(points[0]["at"].as_i64() <= points[1]["at"].as_i64());
    assert_eq!(points[0]["organisation"], "区农业农村局");

    // The page draws a chart for it and tables the same values.
    let page = nongye
        .get(&format!("/tasks/{tid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!(r#"id="indicator-charts" data-task="{tid}""#)));
    assert!(page.contains(&format!(r#"id="indicator-chart-{index}""#)));
    assert!(page.contains(r#"<script src="/static/tasks.js">"#));
    let table = page
        .split(r#"id="indicators""#)
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert!(table.contains("88.5 %") && table.contains("90.3 %"));
    assert!(!table.contains("99.9"), "pending value left out");
    let js = nongye.get("/static/tasks.js").await;
    assert_eq!(js.status(), 200);
    let js = js.text().await.unwrap();
    assert!(js.contains("/indicators") && js.contains("markLine"));

    // A township that does not lead the task sees only its own part's values.
    let yuanwu = login(&app, "yuanwu").await;
    let own = yuanwu
        .json(&format!("/api/v1/tasks/{tid}/indicators"))
        .await;
    assert!(
        own.as_array()
            .unwrap()
            .iter()
            .all(|s| s["points"].as_array().unwrap().is_empty())
    );
}

on_both_backends!(review_and_sign_off_through_the_pages);
/// The report → review → sign-off flow through the HTML forms, as a
/// browser drives it: page login, CSRF token from the page, multipart
/// report, review and sign-off forms; then the task page, the XLSX ledger
/// and the audit log tell the same story.
async fn review_and_sign_off_through_the_pages(db: TestDb) {
    use reqwest::multipart::Form;
    let app = spawn(db).await;
    // air-6: 区行政综合执法局 leads, the four townships carry it out.
    let tid = task_id(&app, "air-6").await;
    let detail = app.db.campaigns().task_detail(tid).await.unwrap();
    let lead = assignment(&app, "air-6", "区行政综合执法局").await;
    let townships: Vec<(i64, String)> = detail
        .assignments
        .iter()
        .filter(|a| a.id != lead)
        .map(|a| (a.id, a.organisation_name.clone()))
        .collect();
    assert!(!townships.is_empty());
    for (i, (_, org)) in townships.iter().enumerate() {
        if org != "原武镇" && org != "师寨镇" {
            add_user(&app.db, &format!("town{i}"), Role::Township, org).await;
        }
    }
    let username = |org: &str, i: usize| match org {
        "原武镇" => "yuanwu".to_owned(),
        "师寨镇" => "shizhai".to_owned(),
        _ => format!("town{i}"),
    };

    let zhifa = page_login(&app, "zhifa").await;
    let office = page_login(&app, "office").await;
    let task_page = format!("/tasks/{tid}");
    let page = zhifa.page(&task_page).await;
    assert_eq!(
        form_csrf(&page),
        zhifa.csrf,
        "the page's forms carry the token"
    );
    let report_action = format!("/tasks/assignments/{lead}/report");
    assert!(page.contains(&format!(r#"action="{report_action}""#)));
    let report = |c: &Client, text: &str, value: &str, complete: bool| {
        let mut form = Form::new()
            .text("csrf", c.csrf.clone())
            .text("text", text.to_owned())
            .text("value:0", value.to_owned());
        if complete {
            form = form.text("claims_complete", "1");
        }
        form
    };
    // The office's review queue on the task page: one pending report.
    let pending = |html: &str| ids_after(html, r#"action="/tasks/reports/"#);

    // A department cannot report on another organisation's part through the page.
    let (yuanwu_part, _) = townships.iter().find(|(_, o)| o == "原武镇").unwrap();
    let r = zhifa
        .upload(
            &format!("/tasks/assignments/{yuanwu_part}/report"),
            report(&zhifa, "冒名报送", "100", true),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("403 无权访问"));
    assert!(
        app.db
            .campaigns()
            .reports_of_assignment(*yuanwu_part)
            .await
            .unwrap()
            .is_empty()
    );

    // First report with a value and an attachment; the office returns it.
    let r = zhifa
        .upload(
            &report_action,
            report(&zhifa, "已清理整顿 95 家，附清单", "95", false)
                .part("attachment", file(PDF, "排污许可清单.pdf")),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{task_page}?ok=reported"));
    let queue = pending(&office.page(&task_page).await);
    assert_eq!(queue.len(), 1);
    let returned_id = queue[0];
    let comment = "请补充尚未发证单位的整改计划";
    let r = office
        .submit(
            &format!("/tasks/reports/{returned_id}/review"),
            &[("decision", "return"), ("comment", comment)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{task_page}?ok=returned"));

    // Second report claims the part complete; the office accepts it.
    let r = zhifa
        .upload(
            &report_action,
            report(&zhifa, "所有固定污染源已纳入排污许可管理", "100", true),
        )
        .await;
    assert_eq!(r.status(), 303);
    let queue = pending(&office.page(&task_page).await);
    assert_eq!(queue.len(), 1);
    let accepted_id = queue[0];
    assert_ne!(accepted_id, returned_id);
    let r = office
        .submit(
            &format!("/tasks/reports/{accepted_id}/review"),
            &[("decision", "accept"), ("comment", "")],
        )
        .await;
    assert_eq!(location(&r), format!("{task_page}?ok=accepted"));

    // Sign-off is refused while the townships' parts are open.
    let page = office.page(&task_page).await;
    assert!(!page.contains(r#"id="sign-off""#));
    let r = office.submit(&format!("{task_page}/sign-off"), &[]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("不能销号"));

    // Each township reports its part done through the page; the office accepts.
    for (i, (part, org)) in townships.iter().enumerate() {
        let town = page_login(&app, &username(org, i)).await;
        let r = town
            .upload(
                &format!("/tasks/assignments/{part}/report"),
                report(&town, &format!("{org}辖区排污许可已全部核发"), "100", true),
            )
            .await;
        assert_eq!(r.status(), 303, "{org}");
        let queue = pending(&office.page(&task_page).await);
        assert_eq!(queue.len(), 1, "{org}");
        let r = office
            .submit(
                &format!("/tasks/reports/{}/review", queue[0]),
                &[
                    ("decision", "accept"),
                    ("comment", &format!("{org}台账齐全")),
                ],
            )
            .await;
        assert_eq!(location(&r), format!("{task_page}?ok=accepted"), "{org}");
        // Issue #13 item 9: the acceptance's comment is kept and shown.
        assert!(
            office.page(&task_page).await.contains(&format!(
                "审核意见（office（区环境攻坚办））：{org}台账齐全"
            )),
            "{org}"
        );
    }
    let page = office.page(&task_page).await;
    assert!(page.contains(r#"id="sign-off""#));
    let r = office.submit(&format!("{task_page}/sign-off"), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{task_page}?ok=signed"));

    // The task page: 已完成, the review comment, the attachment, the values.
    let page = zhifa.page(&task_page).await;
    assert!(page.contains(r#"<span class="tag" id="task-status">已完成</span>"#));
    assert!(page.contains("由 office（区环境攻坚办） 销号"));
    assert!(page.contains(&format!("审核意见（office（区环境攻坚办））：{comment}")));
    assert!(
        !page.contains(r#"id="report-form""#),
        "no reports after sign-off"
    );
    let mut files = ids_after(&page, r#"href="/attachments/"#);
    files.dedup(); // a PDF is linked twice: download and 在线查看
    assert_eq!(files.len(), 1);
    assert_eq!(
        zhifa.download(&format!("/attachments/{}", files[0])).await,
        PDF
    );
    let table = page
        .split(r#"id="indicators""#)
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert!(
        table.contains("100 %") && !table.contains("95 %"),
        "{table}"
    );

    // The XLSX ledger from the page, read back with gongjian-tabular.
    let x = office.get("/tasks/ledger.xlsx").await;
    assert_eq!(x.status(), 200);
    let ledger =
        gongjian_tabular::read_xlsx_bytes("任务台账.xlsx", &x.bytes().await.unwrap()).unwrap();
    let col = |name: &str| {
        ledger
            .column(name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    let row = ledger
        .rows()
        .find(|r| r.get(col("分工编号")) == lead.to_string())
        .expect("the assignment's row");
    assert_eq!(row.get(col("任务编号")), "air-6");
    assert_eq!(row.get(col("责任单位")), "区行政综合执法局");
    assert_eq!(row.get(col("分工状态")), "已完成");
    assert_eq!(row.get(col("审核结果")), "通过");
    assert_eq!(
        row.get(col("最新指标值")),
        "固定污染源纳入排污许可管理比例=100"
    );

    // The audit log: the return with its comment, the acceptance, the sign-off.
    let api = |path: String| {
        let office = &office;
        async move { office.json(&path).await.as_array().unwrap().clone() }
    };
    let reviews = api("/api/v1/audit?entity=task_report".into()).await;
    let returned = reviews
        .iter()
        .find(|e| e["action"] == "return" && e["entity_id"] == returned_id.to_string().as_str())
        .expect("the return in the audit log");
    assert_eq!(returned["actor_name"], "office");
    assert_eq!(returned["after"]["comment"], comment);
    assert!(
        reviews
            .iter()
            .any(|e| e["action"] == "accept" && e["entity_id"] == accepted_id.to_string().as_str())
    );
    let sign_off = api("/api/v1/audit?entity=task&action=sign_off".into()).await;
    assert_eq!(sign_off.len(), 1);
    assert_eq!(sign_off[0]["entity_id"], "air-6");
    assert_eq!(sign_off[0]["actor_name"], "office");
    let audit_page = office
        .page("/system/audit?entity=task&action=sign_off")
        .await;
    // Issue 13 item 6: actions and objects read in Chinese, the code kept
    // as the cell's title.
    assert!(
        audit_page.contains("<td title=\"sign_off\">办结</td>")
            && audit_page.contains("<td title=\"task\">任务 air-6</td>"),
        "{audit_page}"
    );
    assert!(
        audit_page.contains("<option value=\"sign_off\" selected>办结</option>"),
        "the filter is a Chinese list"
    );
    assert!(!audit_page.contains("create / update / login"));
}

on_both_backends!(a_reported_target_is_measured_by_the_accepted_report);
/// A target the plan marks `reported` takes its value from the accepted
/// report of the task indicator with the same name — not before acceptance.
async fn a_reported_target_is_measured_by_the_accepted_report(db: TestDb) {
    let app = spawn(db).await;
    let zhifa = login(&app, "zhifa").await;
    let office = login(&app, "office").await;
    let target = |v: &Value| {
        v["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"] == "water-drinking-source")
            .unwrap()
            .clone()
    };
    let before = target(&office.json("/api/v1/targets?year=2020").await);
    assert!(before["ytd"].is_null());

    let part = assignment(&app, "water-三-3", "区行政综合执法局").await;
    let r = zhifa
        .post(
            &format!("/api/v1/assignments/{part}/reports"),
            json!({"text": "取水水质全部达标", "values": {"集中式饮用水水源地取水水质达标率": "100"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["report"]["id"]
        .as_i64()
        .unwrap();
    let pending = target(&office.json("/api/v1/targets?year=2020").await);
    assert!(pending["ytd"].is_null(), "a report not yet accepted counts");

    let ok = office
        .post(
            &format!("/api/v1/task-reports/{id}/review"),
            json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let after = target(&office.json("/api/v1/targets?year=2020").await);
    assert_eq!(after["ytd"], "100", "{after}");
    assert_eq!(after["on_track"], true);
    assert!(after["note"].as_str().unwrap().contains("区行政综合执法局"));

    // Issue 12: a cooperating part's later value does not replace the
    // lead's.
    let nongye = login(&app, "nongye").await;
    let part = assignment(&app, "water-三-3", "区农业农村局").await;
    let r = nongye
        .post(
            &format!("/api/v1/assignments/{part}/reports"),
            json!({"text": "配合排查", "values": {"集中式饮用水水源地取水水质达标率": "90"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["report"]["id"]
        .as_i64()
        .unwrap();
    let ok = office
        .post(
            &format!("/api/v1/task-reports/{id}/review"),
            json!({"decision": "accept"}),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let after = target(&office.json("/api/v1/targets?year=2020").await);
    assert_eq!(after["ytd"], "100", "the lead's value: {after}");

    // Issue 12: another year's campaign does not take 2020's value.
    use chrono::Datelike;
    let year = gongjian_storage::today_cst().year();
    let files =
        gongjian_campaign::copy_to_year(&gongjian_app::plan::embedded_plan().unwrap(), year);
    let current = gongjian_campaign::parse_files(&files).unwrap();
    app.db
        .campaigns()
        .load_campaign(&Actor::cli(), &current)
        .await
        .unwrap();
    let this_year = target(&office.json(&format!("/api/v1/targets?year={year}")).await);
    assert!(this_year["ytd"].is_null(), "{this_year}");
}

on_both_backends!(the_task_list_shows_this_years_campaign_unless_another_is_chosen);
/// Issue 12: with 2020 archived and this year's campaign in force, 任务
/// lists this year's tasks; another campaign, or all of them, on request.
async fn the_task_list_shows_this_years_campaign_unless_another_is_chosen(db: TestDb) {
    use chrono::Datelike;
    let app = spawn(db).await;
    let year = gongjian_storage::today_cst().year();
    let files =
        gongjian_campaign::copy_to_year(&gongjian_app::plan::embedded_plan().unwrap(), year);
    let current = gongjian_campaign::parse_files(&files).unwrap();
    app.db
        .campaigns()
        .load_campaign(&Actor::cli(), &current)
        .await
        .unwrap();
    app.db
        .campaigns()
        .set_campaign_state(
            &Actor::cli(),
            "pingyuan-2020",
            gongjian_storage::CampaignState::Closed,
        )
        .await
        .unwrap();
    let office = login(&app, "office").await;
    let list = |q: &'static str| {
        let office = &office;
        async move {
            office
                .http
                .get(format!("{}/api/v1/tasks{q}", office.base))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let this_year = list("").await;
    assert_eq!(this_year["campaign"], current.key);
    let n = this_year["count"].as_u64().unwrap();
    assert_eq!(n as usize, current.tasks.len());
    let old = list("?campaign=pingyuan-2020").await;
    assert_eq!(old["count"].as_u64().unwrap(), n);
    assert!(
        old["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["campaign_id"] != this_year["tasks"][0]["campaign_id"])
    );
    assert_eq!(
        list("?campaign=all").await["count"].as_u64().unwrap(),
        2 * n
    );
    let r = office
        .http
        .get(format!("{}/api/v1/tasks?campaign=nope", office.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The page offers the campaigns and marks the one shown.
    let html = office
        .http
        .get(format!("{}/tasks", office.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("<option value=\"{}\" selected>", current.key)),
        "{html}"
    );
    assert!(html.contains("（已结束）"), "{html}");

    // 我的任务, the assignments and the plan targets follow the same rule:
    // this year's by default, another campaign or all on request.
    let nongye = login(&app, "nongye").await;
    let get = |path: String| {
        let http = nongye.http.clone();
        let url = format!("{}{path}", nongye.base);
        async move { http.get(url).send().await.unwrap() }
    };
    let count = |v: Value| v.as_array().unwrap().len();
    let mine_now = count(
        get("/api/v1/assignments".into())
            .await
            .json()
            .await
            .unwrap(),
    );
    let mine_2020 = count(
        get("/api/v1/assignments?campaign=pingyuan-2020".into())
            .await
            .json()
            .await
            .unwrap(),
    );
    let mine_all = count(
        get("/api/v1/assignments?campaign=all".into())
            .await
            .json()
            .await
            .unwrap(),
    );
    assert!(mine_now > 0);
    assert_eq!((mine_2020, mine_all), (mine_now, 2 * mine_now));
    let targets_now = count(
        get("/api/v1/plan-targets".into())
            .await
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(targets_now, current.targets.len());
    let targets_all = count(
        get("/api/v1/plan-targets?campaign=all".into())
            .await
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(targets_all, 2 * targets_now);
    assert_eq!(
        get("/api/v1/assignments?campaign=nope".into())
            .await
            .status(),
        404
    );
    let page = get("/tasks/mine".into()).await.text().await.unwrap();
    assert!(
        page.contains(&format!("<option value=\"{}\" selected>", current.key)),
        "{page}"
    );
    let rows_now = page.matches("<tr").count();
    let page_all = get("/tasks/mine?campaign=all".into())
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page_all.matches("<tr").count() > rows_now,
        "all campaigns list more parts"
    );
}

on_both_backends!(only_reported_indicators_take_values);
/// Issue 13 item 11: a figure of the plan that is not a progress measure
/// (air-15's deduction per fire point, `report = false`) takes no 报送值:
/// the API refuses a report that gives one and so does the progress
/// import, each saying why; the indicator series marks it.
async fn only_reported_indicators_take_values(db: TestDb) {
    let app = spawn(db).await;
    let nongye = login(&app, "nongye").await;
    let lead = assignment(&app, "air-15", "区农业农村局").await;
    let tid = task_id(&app, "air-15").await;

    let series = nongye
        .json(&format!("/api/v1/tasks/{tid}/indicators"))
        .await;
    let reported: Vec<(&str, bool)> = series
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["reported"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reported,
        [
            ("秸秆综合利用率", true),
            ("秸秆焚烧扣减地方财力", false),
            ("露天焚烧生活垃圾、枯枝落叶和杂草扣减地方财力", false),
        ]
    );

    let r = nongye
        .post(
            &format!("/api/v1/assignments/{lead}/reports"),
            json!({"text": "本月进展", "values": {"秸秆焚烧扣减地方财力": "500000"}}),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert!(
        app.db
            .campaigns()
            .reports_of_assignment(lead)
            .await
            .unwrap()
            .is_empty()
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "E2403");
    assert!(
        body["detail"].as_str().unwrap().contains("不是报送指标"),
        "{body}"
    );

    // The progress import: the same refusal, with the row.
    let rows = ledger_rows(
        &nongye
            .get("/api/v1/tasks.xlsx")
            .await
            .bytes()
            .await
            .unwrap(),
    );
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let mut out = 0u32;
    for (i, r) in rows.iter().enumerate() {
        let mut r = r.clone();
        r.resize(19, String::new());
        if i > 0 && r[0] != lead.to_string() {
            continue;
        }
        if i > 0 {
            r[16] = "导入的进展".into();
            r[17] = "秸秆综合利用率=91；秸秆焚烧扣减地方财力=500000".into();
        }
        for (c, v) in r.iter().enumerate() {
            ws.write_string(out, c as u16, v).unwrap();
        }
        out += 1;
    }
    assert_eq!(out, 2);
    let r = nongye
        .http
        .post(nongye.url("/api/v1/tasks/import"))
        .header("x-csrf-token", &nongye.csrf)
        .body(wb.save_to_buffer().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let res: Value = r.json().await.unwrap();
    let rejected = res["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1, "{res}");
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .contains("秸秆焚烧扣减地方财力”是任务 air-15 的方案标准或条件"),
        "{res}"
    );
    assert!(
        app.db
            .campaigns()
            .reports_of_assignment(lead)
            .await
            .unwrap()
            .is_empty()
    );
}

on_both_backends!(report_attachments_show_inline_redirect_after_post_and_can_be_added_until_review);
/// Issue 13 item 10: a report whose attachment was refused is still kept,
/// and the page then leaves the POST URL (303 to the task, the count of
/// refused files said there); files can be added to the report until it is
/// reviewed (补交附件), not after; images get a thumbnail and PDFs a view
/// in the browser, served inline with their own strict policy, while other
/// files and the API stay downloads.
async fn report_attachments_show_inline_redirect_after_post_and_can_be_added_until_review(
    db: TestDb,
) {
    let app = spawn(db).await;
    let yuanwu = page_login(&app, "yuanwu").await;
    let part = assignment(&app, "air-15", "原武镇").await;
    let task = task_id(&app, "air-15").await;
    let r = yuanwu
        .upload(
            &format!("/tasks/assignments/{part}/report"),
            reqwest::multipart::Form::new()
                .text("csrf", yuanwu.csrf.clone())
                .text("text", "处置火点 1 处")
                .part("attachment", file(PNG, "现场.png"))
                .part("attachment", file(EXE, "照片.exe")),
        )
        .await;
    assert_eq!(r.status(), 303, "redirect after post");
    let to = location(&r).to_owned();
    assert!(
        to.starts_with(&format!("/tasks/{task}?ok=reported&refused=1#report-")),
        "{to}"
    );
    let page = yuanwu.page(to.split('#').next().unwrap()).await;
    assert!(page.contains("有 1 个附件未被接受"), "{page}");
    let report: i64 = to.rsplit("#report-").next().unwrap().parse().unwrap();
    let png = ids_after(&page, "<img class=\"thumb\" src=\"/attachments/")[0];
    assert!(
        page.contains(&format!("/tasks/reports/{report}/attachments")),
        "补交附件 form"
    );

    // The thumbnail is served inline, under its own policy; a download is
    // a download.
    let inline = yuanwu.get(&format!("/attachments/{png}?inline=1")).await;
    assert_eq!(inline.status(), 200);
    assert!(
        inline.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    assert_eq!(inline.headers()["content-type"], "image/png");
    let csp = inline.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    let plain = yuanwu.get(&format!("/attachments/{png}")).await;
    assert!(
        plain.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );

    // 补交: a PDF added to the waiting report gets an in-browser view; an
    // Office file never is inline.
    let r = yuanwu
        .upload(
            &format!("/tasks/reports/{report}/attachments"),
            reqwest::multipart::Form::new()
                .text("csrf", yuanwu.csrf.clone())
                .part("attachment", file(PDF, "处置记录.pdf")),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        location(&r).contains("ok=attached&refused=0"),
        "{}",
        location(&r)
    );
    let page = yuanwu.page(&format!("/tasks/{task}?ok=attached")).await;
    assert!(page.contains("附件已补交"), "{page}");
    let pdf = *ids_after(&page, "/attachments/").iter().max().unwrap();
    assert!(
        page.contains(&format!(
            "/attachments/{pdf}?inline=1\" target=\"_blank\" rel=\"noopener\">在线查看"
        )),
        "{page}"
    );
    let records = app.db.campaigns().report(report).await.unwrap();
    assert_eq!(records.attachments.len(), 2);

    // Another organisation may not add files to it.
    let zhifa = page_login(&app, "zhifa").await;
    let r = zhifa
        .upload(
            &format!("/tasks/reports/{report}/attachments"),
            reqwest::multipart::Form::new()
                .text("csrf", zhifa.csrf.clone())
                .part("attachment", file(PDF, "别人的.pdf")),
        )
        .await;
    assert_eq!(r.status(), 403);

    // Once reviewed, nothing can be added.
    let office = login(&app, "office").await;
    let r = office
        .post(
            &format!("/api/v1/task-reports/{report}/review"),
            json!({"decision": "accept"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = yuanwu
        .upload(
            &format!("/tasks/reports/{report}/attachments"),
            reqwest::multipart::Form::new()
                .text("csrf", yuanwu.csrf.clone())
                .part("attachment", file(PDF, "迟到的.pdf")),
        )
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("已审核，不能再补交附件"), "{html}");
    assert_eq!(
        app.db
            .campaigns()
            .report(report)
            .await
            .unwrap()
            .attachments
            .len(),
        2
    );
}

on_both_backends!(the_office_closes_a_years_campaign_on_the_campaigns_page);
/// Issue 12: 攻坚方案 lists the loaded campaigns with their state and load
/// history; the office closes a year's campaign (ticking 确认), which is
/// then archived; a department may not see or change it.
async fn the_office_closes_a_years_campaign_on_the_campaigns_page(db: TestDb) {
    use chrono::Datelike;
    let app = spawn(db).await;
    let year = gongjian_storage::today_cst().year();
    let files =
        gongjian_campaign::copy_to_year(&gongjian_app::plan::embedded_plan().unwrap(), year);
    let current = gongjian_campaign::parse_files(&files).unwrap();
    app.db
        .campaigns()
        .load_campaign(&Actor::cli(), &current)
        .await
        .unwrap();
    let office = page_login(&app, "office").await;
    let page = office
        .http
        .get(format!("{}/campaigns", office.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"c-pingyuan-2020\""), "{page}");
    assert!(
        page.contains(&format!("id=\"c-{}\"", current.key)),
        "{page}"
    );
    assert!(page.contains("首次载入"), "the load history: {page}");
    let post = |to: &'static str, confirm: &'static str| {
        let http = office.http.clone();
        let url = format!("{}/campaigns/pingyuan-2020/state", office.base);
        let csrf = office.csrf.clone();
        async move {
            http.post(url)
                .form(&[("csrf", csrf.as_str()), ("to", to), ("confirm", confirm)])
                .send()
                .await
                .unwrap()
        }
    };
    let r = post("closed", "").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("请勾选“确认”"));
    let r = post("closed", "1").await;
    assert_eq!(r.status(), 303);
    let closed = app
        .db
        .campaigns()
        .campaign_by_key("pingyuan-2020")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.state, gongjian_storage::CampaignState::Closed);
    // Closing it again is refused with the reason.
    let r = post("closed", "1").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("不能改为"));
    let nongye = page_login(&app, "nongye").await;
    let r = nongye
        .http
        .get(format!("{}/campaigns", nongye.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = nongye
        .http
        .post(format!("{}/campaigns/pingyuan-2020/state", nongye.base))
        .form(&[
            ("csrf", nongye.csrf.as_str()),
            ("to", "active"),
            ("confirm", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// A task table in the offices' layout, as XLSX.
fn task_table_xlsx(rows: &[[&str; 6]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let headers = [
        "序号",
        "任务内容",
        "牵头单位",
        "配合单位",
        "完成时限",
        "指标/目标值",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

on_both_backends!(the_office_copies_next_years_plan_and_imports_a_task_table_in_the_app);
/// Issue 12 item 3: the office copies the 2020 campaign to 2026 on 攻坚方案
/// (a 草稿 with its dates moved), adds a task table — a GBK CSV with one
/// bad row is refused whole with its row and column and the campaign is
/// unchanged; the XLSX loads as a new revision — and a department may do
/// neither; a closed campaign takes no table.
async fn the_office_copies_next_years_plan_and_imports_a_task_table_in_the_app(db: TestDb) {
    let app = spawn(db).await;
    let office = page_login(&app, "office").await;
    let campaigns = app.db.campaigns();

    // A year that is not a number, then the copy.
    let r = office
        .submit("/campaigns/pingyuan-2020/copy", &[("year", "二〇二六")])
        .await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("请填写新方案的年份"), "{page}");
    assert!(page.contains("value=\"二〇二六\""), "kept as typed: {page}");
    let r = office
        .submit("/campaigns/pingyuan-2020/copy", &[("year", "2026")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/campaigns?ok=copied#c-pingyuan-2026");
    let copied = campaigns
        .campaign_by_key("pingyuan-2026")
        .await
        .unwrap()
        .expect("the copy is a campaign");
    assert_eq!(copied.year, 2026);
    assert_eq!(copied.state, gongjian_storage::CampaignState::Draft);
    assert_eq!(copied.revision, 1);
    let plan = gongjian_app::plan::campaign_by_key(&app.db, "pingyuan-2026")
        .await
        .unwrap();
    let tasks_before = plan.plan.tasks.len();
    assert!(
        plan.plan
            .tasks
            .iter()
            .flat_map(|t| &t.milestones)
            .all(|m| chrono::Datelike::year(&m.date) != 2020),
        "every date moved off 2020"
    );
    // Copying to the same year again is refused: the key is taken.
    let r = office
        .submit("/campaigns/pingyuan-2020/copy", &[("year", "2026")])
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("已存在"));

    // A GBK CSV with an unknown lead unit in row 3: refused whole.
    let csv = "序号,任务内容,牵头单位,配合单位,完成时限,指标/目标值\n\
               1,开展秋冬季建筑工地扬尘专项检查。,区城乡建设管理局,原武镇,2026年11月底前,\n\
               2,推进散煤清零。,区不存在局,,年底前,\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv);
    let form = reqwest::multipart::Form::new()
        .text("csrf", office.csrf.clone())
        .text("plan_id", "autumn")
        .text("title", "2026 年秋冬季攻坚行动")
        .part("file", file(&gbk, "任务表.csv"));
    let r = office.upload("/campaigns/pingyuan-2026/tasks", form).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("第 3 行「牵头单位」：“区不存在局” 不在方案的单位名单中"),
        "{page}"
    );
    assert!(!page.contains("第 2 行"), "only the bad row: {page}");
    assert!(page.contains("value=\"autumn\""), "kept as typed: {page}");
    let unchanged = campaigns
        .campaign_by_key("pingyuan-2026")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.revision, 1, "nothing loaded");

    // The good table, as XLSX: a new revision with three more tasks.
    let good = task_table_xlsx(&[
        [
            "1",
            "开展秋冬季建筑工地扬尘专项检查，每月通报检查结果。",
            "区城乡建设管理局",
            "行政执法局、原武镇",
            "2026年11月底前",
            "",
        ],
        [
            "2",
            "推进散煤清零，完成清洁取暖改造。",
            "区发展改革局",
            "",
            "年底前",
            "新增清洁取暖户数≥1200户",
        ],
        [
            "3",
            "加强秸秆禁烧巡查，落实网格化监管。",
            "农业农村局",
            "原武镇",
            "2026-10-31",
            "秸秆综合利用率≥90%",
        ],
    ]);
    let form = || {
        reqwest::multipart::Form::new()
            .text("csrf", office.csrf.clone())
            .text("plan_id", "autumn")
            .text("title", "2026 年秋冬季攻坚行动")
            .part("file", file(&good, "任务表.xlsx"))
    };
    let r = office
        .upload("/campaigns/pingyuan-2026/tasks", form())
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/campaigns?ok=tasks&added=3#c-pingyuan-2026");
    let loaded = campaigns
        .campaign_by_key("pingyuan-2026")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.revision, 2);
    let plan = gongjian_app::plan::campaign_by_key(&app.db, "pingyuan-2026")
        .await
        .unwrap();
    assert_eq!(plan.plan.tasks.len(), tasks_before + 3);
    let page = office.page("/campaigns?ok=tasks&added=3").await;
    assert!(page.contains("新增 3 项任务"), "{page}");
    assert!(page.contains("第 2 版"), "{page}");
    // The same plan identifier again is refused: the file exists.
    let r = office
        .upload("/campaigns/pingyuan-2026/tasks", form())
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("方案中已有 autumn"));

    // A department may do neither.
    let nongye = page_login(&app, "nongye").await;
    let r = nongye
        .submit("/campaigns/pingyuan-2020/copy", &[("year", "2027")])
        .await;
    assert_eq!(r.status(), 403);
    let form = reqwest::multipart::Form::new()
        .text("csrf", nongye.csrf.clone())
        .text("plan_id", "winter")
        .text("title", "冬季")
        .part("file", file(&good, "任务表.xlsx"));
    let r = nongye.upload("/campaigns/pingyuan-2026/tasks", form).await;
    assert_eq!(r.status(), 403);
    assert!(
        campaigns
            .campaign_by_key("pingyuan-2027")
            .await
            .unwrap()
            .is_none()
    );

    // A closed campaign is read-only.
    campaigns
        .set_campaign_state(
            &Actor::cli(),
            "pingyuan-2020",
            gongjian_storage::CampaignState::Closed,
        )
        .await
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf", office.csrf.clone())
        .text("plan_id", "winter")
        .text("title", "冬季")
        .part("file", file(&good, "任务表.xlsx"));
    let r = office.upload("/campaigns/pingyuan-2020/tasks", form).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("已结束"));
}
