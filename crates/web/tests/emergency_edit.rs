//! Issue 15: the city's notice attached to a warning (read by those who
//! see the warning), and the reduction list edited in forms, each save a
//! new version of the season's list.

mod common;

use std::path::{Path, PathBuf};

use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, AuditFilter, Db, NewUser, OrgKind, Role};
use gongjian_web::attachments::CampaignSettings;
use gongjian_web::{AppState, WebSettings};
use serde_json::Value;

const ATTACHMENT_MAX: u64 = 64 * 1024;

const LIST: &str = "企业名称,统一社会信用代码,行业类别,绩效分级,正常工况日用电量(kWh),正常工况日排放量NOx(kg/d),\
黄色预警减排措施,黄色负荷上限(%),橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
示范铸造有限公司,91410700MA44XY2K18,铸造,C,4800,100,限产,80,限产,70,停产\n\
长青包装印刷有限公司,,包装印刷,B,900,,限产,90,限产,80,停产\n";

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

/// The application with its attachments under a temporary directory and
/// a small attachment limit.
struct App {
    addr: std::net::SocketAddr,
    db: Db,
    data: PathBuf,
    _db: TestDb,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl App {
    async fn spawn(test_db: TestDb) -> App {
        let db = test_db.db.clone();
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(
            db.clone(),
            WebSettings::from_config(&gongjian_config::Config::default()),
        )
        .with_campaign(CampaignSettings {
            data_dir: dir.path().to_owned(),
            attachment_max_bytes: ATTACHMENT_MAX,
            upload_request_max_bytes: 1024 * 1024,
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
            addr,
            db,
            data: dir.path().to_owned(),
            _db: test_db,
            _dir: dir,
            _shutdown: tx,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn user(&self, username: &str, role: Role, org: &str, kind: OrgKind) {
        let orgs = self.db.organisations();
        let org_id = match orgs.organisation_by_name(org).await.unwrap() {
            Some(o) => o.id,
            None => {
                orgs.create_organisation(&Actor::cli(), org, kind, None)
                    .await
                    .unwrap()
                    .id
            }
        };
        self.db
            .accounts()
            .create_user(
                &Actor::cli(),
                &NewUser {
                    username: username.into(),
                    display_name: String::new(),
                    password: common::PASSWORD.into(),
                    role,
                    organisation_id: org_id,
                    must_change_password: false,
                },
            )
            .await
            .unwrap();
    }

    /// A signed-in client sending the session's CSRF token as a header,
    /// and the token (for page forms).
    async fn login(&self, username: &str) -> (reqwest::Client, String) {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let plain = common::client_with(jar.clone(), reqwest::header::HeaderMap::new());
        let r = plain
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": common::PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login as {username}");
        let token = common::csrf_token(&plain, &self.url("/api/v1/me")).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-csrf-token", token.parse().unwrap());
        (common::client_with(jar, headers), token)
    }

    async fn import_list(&self) {
        let table = gongjian_tabular::read_csv_bytes("清单.csv", LIST.as_bytes()).unwrap();
        gongjian_app::emergency::import_list(&self.db, &Actor::cli(), "2026-2027", &table)
            .await
            .unwrap();
    }
}

/// Files kept under the attachments directory (the incoming directory's
/// leftovers included).
fn stored_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join("attachments"), &mut out);
    out
}

fn part(bytes: &[u8], name: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned())
}

async fn notices(db: &Db) -> Vec<(i64, gongjian_storage::AttachmentRecord)> {
    db.emergency().warning_notices().await.unwrap()
}

on_both_backends!(a_warnings_notice_is_read_by_those_told_of_it_and_a_bad_file_is_refused);
/// The office issues a warning with the city's notice (the issue form
/// is multipart); the enterprise told of it downloads the notice from
/// 预警应急, an unrelated enterprise and a township are refused. A file
/// of a type not allowed, or past the size limit, is refused with the
/// reason in Chinese and nothing is stored — on issue, on a later upload
/// and over the API; the lifting notice goes with the lift. Audited.
async fn a_warnings_notice_is_read_by_those_told_of_it_and_a_bad_file_is_refused(db: TestDb) {
    let app = App::spawn(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user(
        "qiye",
        Role::Enterprise,
        "示范铸造有限公司",
        OrgKind::Enterprise,
    )
    .await;
    app.user(
        "other",
        Role::Enterprise,
        "无关化工有限公司",
        OrgKind::Enterprise,
    )
    .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    app.user("guancha", Role::Viewer, "区环境攻坚办", OrgKind::Office)
        .await;
    app.import_list().await;
    let (office, csrf) = app.login("office").await;

    // A notice of a type not allowed refuses the issue: nothing stored.
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("level", "orange")
        .text("starts_on", "2026-12-20")
        .text("document", "新环攻坚办〔2026〕50号")
        .part("notice", part(b"MZ\x90\0\x03\0\0\0", "通知.exe"));
    let r = office
        .post(app.url("/emergency/warnings"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"err-notice\""), "{page}");
    assert!(page.contains("文件类型不允许"), "{page}");
    assert!(page.contains("预警未发布"), "{page}");
    assert!(page.contains("value=\"新环攻坚办〔2026〕50号\""), "{page}");
    assert!(app.db.emergency().warnings().await.unwrap().is_empty());
    assert!(
        stored_files(&app.data).is_empty(),
        "{:?}",
        stored_files(&app.data)
    );

    // Past the size limit: refused, nothing stored.
    let mut big = PDF.to_vec();
    big.resize(ATTACHMENT_MAX as usize + 1, b' ');
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("level", "orange")
        .text("starts_on", "2026-12-20")
        .part("notice", part(&big, "通知.pdf"));
    let r = office
        .post(app.url("/emergency/warnings"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("超过上限"), "{page}");
    assert!(app.db.emergency().warnings().await.unwrap().is_empty());
    assert!(stored_files(&app.data).is_empty());

    // Issued with the notice.
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("level", "orange")
        .text("starts_on", "2026-12-20")
        .text("document", "新环攻坚办〔2026〕50号")
        .part("notice", part(PDF, "关于启动橙色预警的通知.pdf"));
    let r = office
        .post(app.url("/emergency/warnings"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let warnings = app.db.emergency().warnings().await.unwrap();
    assert_eq!(warnings.len(), 1);
    let w = &warnings[0];
    let found = notices(&app.db).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, w.id);
    let notice = &found[0].1;
    assert_eq!(notice.file_name, "关于启动橙色预警的通知.pdf");
    assert_eq!(notice.content_type, "application/pdf");

    // Listed under the warning with its download link.
    let page = office
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = format!("href=\"/attachments/{}\"", notice.id);
    assert!(page.contains(&link), "{page}");
    assert!(page.contains("关于启动橙色预警的通知.pdf"), "{page}");

    // The enterprise told of the warning sees and downloads it.
    let (firm, _) = app.login("qiye").await;
    let page = firm
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&link), "{page}");
    let r = firm
        .get(app.url(&format!("/attachments/{}", notice.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.unwrap()[..], PDF);
    let r = firm
        .get(app.url(&format!("/api/v1/attachments/{}", notice.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // So does a viewer.
    let (viewer, _) = app.login("guancha").await;
    let r = viewer
        .get(app.url(&format!("/api/v1/attachments/{}", notice.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // An enterprise not told of it, and a township, are refused.
    let (other, _) = app.login("other").await;
    let page = other
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&link), "{page}");
    for client in [&other, &app.login("yuanwu").await.0] {
        let r = client
            .get(app.url(&format!("/api/v1/attachments/{}", notice.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let body: Value = r.json().await.unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("预警通知文件"),
            "{body}"
        );
        let r = client
            .get(app.url(&format!("/attachments/{}", notice.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }

    // A later upload on the page: a bad type is refused whole.
    let before = stored_files(&app.data).len();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file", part(PDF, "补充通知.pdf"))
        .part(
            "file",
            part(b"<html><script>alert(1)</script>", "通知.html"),
        );
    let r = office
        .post(app.url(&format!("/emergency/warnings/{}/notice", w.id)))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("通知.html 的文件类型不允许"), "{page}");
    assert!(!page.contains("<script>alert(1)"), "escaped: {page}");
    assert_eq!(notices(&app.db).await.len(), 1);
    assert_eq!(stored_files(&app.data).len(), before);
    // The enterprise may not upload.
    let (_, firm_csrf) = app.login("qiye").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", firm_csrf)
        .part("file", part(PDF, "企业上传.pdf"));
    let r = firm
        .post(app.url(&format!("/emergency/warnings/{}/notice", w.id)))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Over the API: a bad file is refused in Chinese, a good one stored.
    let form = reqwest::multipart::Form::new().part("file", part(b"plain text", "说明.txt"));
    let r = office
        .post(app.url(&format!("/api/v1/emergency/warnings/{}/notice", w.id)))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("文件类型不允许"),
        "{body}"
    );
    assert_eq!(notices(&app.db).await.len(), 1);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0u8; 32]);
    let form = reqwest::multipart::Form::new().part("file", part(&png, "通知照片.png"));
    let r = office
        .post(app.url(&format!("/api/v1/emergency/warnings/{}/notice", w.id)))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["notice"].as_array().unwrap().len(), 2, "{body}");

    // The lifting notice goes with the lift.
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("on", "2026-12-22")
        .text("document", "新环攻坚办〔2026〕52号")
        .part("notice", part(PDF, "解除通知.pdf"));
    let r = office
        .post(app.url(&format!("/emergency/warnings/{}/lift", w.id)))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let names: Vec<String> = notices(&app.db)
        .await
        .into_iter()
        .filter(|(wid, _)| *wid == w.id)
        .map(|(_, a)| a.file_name)
        .collect();
    assert_eq!(
        names,
        ["关于启动橙色预警的通知.pdf", "通知照片.png", "解除通知.pdf"]
    );
    assert!(
        app.db
            .emergency()
            .warning(w.id)
            .await
            .unwrap()
            .lifted_at
            .is_some()
    );

    // Audited: each notice as `attach` of the warning, by checksum.
    let audit = app
        .db
        .audit()
        .list(&AuditFilter {
            entity: Some("emergency_warning".into()),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let attached: Vec<_> = audit.iter().filter(|a| a.action == "attach").collect();
    assert_eq!(attached.len(), 3, "{audit:?}");
    assert!(
        attached
            .iter()
            .any(|a| format!("{:?}", a.after).contains(&notice.sha256)),
        "{attached:?}"
    );
}

/// The fields of row `entry_id` as the edit form shows them, with
/// `changes` applied, and the page's hidden list version.
async fn edit_form_values(
    app: &App,
    client: &reqwest::Client,
    entry_id: i64,
    changes: &[(&str, &str)],
) -> Vec<(String, String)> {
    let page = client
        .get(app.url(&format!("/emergency/list/rows/{entry_id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, entries) = app
        .db
        .emergency()
        .emergency_list_in_force()
        .await
        .unwrap()
        .unwrap();
    let stored = entries.iter().find(|e| e.id == entry_id).unwrap();
    let entry: gongjian_emergency::ListEntry =
        serde_json::from_value(stored.entry.clone()).unwrap();
    let mut values = gongjian_emergency::list_form::form_values(&entry);
    // The page shows each stored value in its field.
    for (k, v) in &values {
        if !v.is_empty() && !k.ends_with("_kind") && k != "grade" {
            assert!(
                page.contains(&format!("name=\"{k}\" value=\"{v}\"")),
                "{k}={v}: {page}"
            );
        }
    }
    for (k, v) in changes {
        match values.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = (*v).to_owned(),
            None => values.push(((*k).to_owned(), (*v).to_owned())),
        }
    }
    values
}

on_both_backends!(the_office_edits_a_list_row_and_a_new_version_is_in_force);
/// The office edits the orange load limit of a row on the list page: a
/// new version of the season's list is in force with the change, the old
/// version is kept, the change audited with the row before and after,
/// and the history lists both. A bad credit code is refused with the
/// import's reason next to the field, what was typed kept, nothing
/// changed. A row is added and one removed, each a version. A township
/// user and a viewer are refused.
async fn the_office_edits_a_list_row_and_a_new_version_is_in_force(db: TestDb) {
    let app = App::spawn(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    app.user("guancha", Role::Viewer, "区环境攻坚办", OrgKind::Office)
        .await;
    app.import_list().await;
    let (first, entries) = app
        .db
        .emergency()
        .emergency_list_in_force()
        .await
        .unwrap()
        .unwrap();
    let foundry = entries
        .iter()
        .find(|e| e.enterprise == "示范铸造有限公司")
        .unwrap()
        .id;
    let (office, csrf) = app.login("office").await;

    // The list page: every row with 编辑 / 删除, 新增企业, the history.
    let page = office
        .get(app.url("/emergency/list"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("href=\"/emergency/list/rows/{foundry}\"")),
        "{page}"
    );
    assert!(page.contains("id=\"add-row\""), "{page}");
    assert!(page.contains("长青包装印刷有限公司"), "{page}");
    assert!(page.contains("id=\"versions\""), "{page}");
    let page = office
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("href=\"/emergency/list\""),
        "linked from 预警应急: {page}"
    );

    // A bad credit code: refused with the reason, typed value kept.
    let mut values = edit_form_values(
        &app,
        &office,
        foundry,
        &[("credit_code", "91410700MA44XY2K19"), ("orange_load", "60")],
    )
    .await;
    values.push(("csrf".into(), csrf.clone()));
    values.push(("list".into(), first.id.to_string()));
    let r = office
        .post(app.url(&format!("/emergency/list/rows/{foundry}")))
        .form(&values)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"err-credit_code\""), "{page}");
    assert!(
        page.contains("校验位不符：按 GB 32100-2015 应为“8”"),
        "{page}"
    );
    assert!(page.contains("value=\"91410700MA44XY2K19\""), "{page}");
    assert!(page.contains("name=\"orange_load\" value=\"60\""), "{page}");
    let (still, _) = app
        .db
        .emergency()
        .emergency_list_in_force()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.id, first.id, "nothing changed");

    // The orange load limit 70 → 60.
    let mut values = edit_form_values(&app, &office, foundry, &[("orange_load", "60")]).await;
    values.push(("csrf".into(), csrf.clone()));
    values.push(("list".into(), first.id.to_string()));
    let r = office
        .post(app.url(&format!("/emergency/list/rows/{foundry}")))
        .form(&values)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (second, entries) = app
        .db
        .emergency()
        .emergency_list_in_force()
        .await
        .unwrap()
        .unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(second.season, "2026-2027");
    assert_eq!(second.source_name, "页面编辑：修改 示范铸造有限公司");
    assert_eq!(second.entries, 2);
    let row = entries
        .iter()
        .find(|e| e.enterprise == "示范铸造有限公司")
        .unwrap();
    assert_eq!(row.entry["orange"]["load_limit_pct"], "60", "{}", row.entry);
    assert_eq!(row.entry["yellow"]["load_limit_pct"], "80", "{}", row.entry);
    assert_eq!(row.entry["line"], 2, "the row keeps its line");
    // The measures the enterprise reads follow the version in force.
    let own = gongjian_app::emergency::measures_of(&app.db, "示范铸造有限公司", "orange")
        .await
        .unwrap();
    assert_eq!(own[0].load_limit_pct, Some(rust_decimal::Decimal::from(60)));
    // The old version is kept.
    let versions = app
        .db
        .emergency()
        .emergency_lists("2026-2027")
        .await
        .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );
    let audit = app
        .db
        .audit()
        .list(&AuditFilter {
            entity: Some("emergency_list".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let update = audit
        .iter()
        .find(|a| a.action == "update")
        .expect("audited");
    let text = format!("{:?} {:?}", update.before, update.after);
    assert!(text.contains("\"70\"") && text.contains("\"60\""), "{text}");
    let page = office
        .get(app.url("/emergency/list"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("页面编辑：修改 示范铸造有限公司"), "{page}");
    assert!(page.contains(&format!("第 {} 版", first.id)), "{page}");

    // A form opened on the old version is refused: nothing changes.
    let mut values = edit_form_values(&app, &office, row.id, &[("orange_load", "50")]).await;
    values.push(("csrf".into(), csrf.clone()));
    values.push(("list".into(), first.id.to_string()));
    let r = office
        .post(app.url(&format!("/emergency/list/rows/{}", row.id)))
        .form(&values)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("现行清单已更新"));

    // 新增企业, then 删除 it: each a version.
    let add = [
        ("csrf", csrf.as_str()),
        ("list", &second.id.to_string()),
        ("enterprise", "新乡市星辰化工有限公司"),
        ("credit_code", "124107000052713654"),
        ("grade", "B-级"),
        ("yellow_kind", "错峰生产"),
        ("yellow_hours", "22:00-06:00"),
        ("orange_text", "限产"),
        ("orange_load", "50"),
        ("red_text", "停产"),
    ];
    let r = office
        .post(app.url("/emergency/list/rows"))
        .form(&add)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (third, entries) = app
        .db
        .emergency()
        .emergency_list_in_force()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.entries, 3);
    assert_eq!(third.source_name, "页面编辑：新增 新乡市星辰化工有限公司");
    let added = entries
        .iter()
        .find(|e| e.enterprise.contains("星辰"))
        .unwrap();
    assert_eq!(added.entry["line"], 4);
    let r = office
        .post(app.url(&format!("/emergency/list/rows/{}/delete", added.id)))
        .form(&[("csrf", csrf.as_str()), ("list", &third.id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (fourth, _) = app
        .db
        .emergency()
        .emergency_list_in_force()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fourth.entries, 2);
    assert!(
        fourth
            .source_name
            .starts_with("页面编辑：删除 新乡市星辰化工有限公司")
    );

    // Others are refused, and the list is unchanged.
    for who in ["yuanwu", "guancha"] {
        let (client, token) = app.login(who).await;
        for path in [
            "/emergency/list".to_owned(),
            "/emergency/list/new".to_owned(),
            format!("/emergency/list/rows/{foundry}"),
        ] {
            let r = client.get(app.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), 403, "{who} GET {path}");
        }
        let r = client
            .post(app.url("/emergency/list/rows"))
            .form(&[
                ("csrf", token.as_str()),
                ("list", &fourth.id.to_string()),
                ("enterprise", "乡镇企业"),
                ("red_text", "停产"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{who}");
    }
    let page = app
        .login("guancha")
        .await
        .0
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("id=\"edit-list\""), "hidden from a viewer");
    let (now, _) = app
        .db
        .emergency()
        .emergency_list_in_force()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.id, fourth.id);
}
