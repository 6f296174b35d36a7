//! Issue #10, item 15: uploads are streamed to disk within their limits
//! (never held whole in memory), a file past the limit is deleted as soon as
//! the limit is passed, and one user cannot run more than a few uploads at
//! once. The fire-point evidence upload and the progress report share the
//! multipart reader (`api::campaign::read_multipart`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, Db, NewUser, OrgKind, Role};
use gongjian_web::attachments::{CampaignSettings, UploadGate};
use gongjian_web::{AppState, WebSettings};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ATTACHMENT_MAX: u64 = 64 * 1024;
const BOUNDARY: &str = "gongjian-test-boundary";

struct App {
    addr: std::net::SocketAddr,
    db: Db,
    data: PathBuf,
    gate: Arc<UploadGate>,
    _db: TestDb,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A logged-in office user: the session cookie and its CSRF token.
struct Office {
    cookie: String,
    csrf: String,
    http: reqwest::Client,
}

async fn spawn(test_db: TestDb) -> App {
    let db = test_db.db.clone();
    db.organisations()
        .create_organisation(&Actor::cli(), "原武镇", OrgKind::Township, None)
        .await
        .unwrap();
    let office = db
        .organisations()
        .create_organisation(&Actor::cli(), "区环境攻坚办", OrgKind::Office, None)
        .await
        .unwrap();
    for name in ["office", "office2"] {
        db.accounts()
            .create_user(
                &Actor::cli(),
                &NewUser {
                    username: name.into(),
                    display_name: String::new(),
                    password: common::PASSWORD.into(),
                    role: Role::Office,
                    organisation_id: office.id,
                    must_change_password: false,
                },
            )
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(
        db.clone(),
        WebSettings::from_config(&gongjian_config::Config::default()),
    )
    .with_campaign(CampaignSettings {
        data_dir: dir.path().to_owned(),
        attachment_max_bytes: ATTACHMENT_MAX,
        upload_request_max_bytes: 1024 * 1024,
        uploads_per_user: 2,
        uploads_total: 16,
        ..CampaignSettings::default()
    });
    let gate = state.uploads.clone();
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
        gate,
        _db: test_db,
        _dir: dir,
        _shutdown: tx,
    }
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn incoming(&self) -> PathBuf {
        self.data.join("attachments").join(".incoming")
    }

    async fn login(&self, username: &str) -> Office {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = http
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": common::PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let cookie = resp
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let me: Value = http
            .get(self.url("/api/v1/me"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Office {
            cookie,
            csrf: me["csrf_token"].as_str().unwrap().to_owned(),
            http,
        }
    }
}

/// Files in `dir` (none if it does not exist).
fn files_in(dir: &Path) -> Vec<(PathBuf, u64)> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .map(|e| (e.path(), e.metadata().map(|m| m.len()).unwrap_or(0)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Every stored attachment file (outside the incoming directory).
fn stored_files(data: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = data.join("attachments");
    if let Ok(rd) = std::fs::read_dir(&root) {
        for e in rd.filter_map(|e| e.ok()) {
            if e.file_name() != ".incoming" {
                out.extend(files_in(&e.path()).into_iter().map(|(p, _)| p));
            }
        }
    }
    out
}

/// Wait (for liveness, not speed) until `cond` holds.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A PNG-looking file of `len` bytes with varied content.
fn png(len: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut x: u32 = 12345;
    while v.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        v.push((x >> 16) as u8);
    }
    v
}

/// A place no earlier upload of this test binary used: the ledger refuses
/// the same township, day and place twice (issue 13 item 4).
fn fresh_place() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    format!(
        "大堤村南 {} 号地块",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// The fire-point fields before the evidence file, and after it.
fn multipart_parts(file_name: &str) -> (Vec<u8>, Vec<u8>) {
    let mut head = String::new();
    let place = fresh_place();
    for (k, v) in [
        ("township", "原武镇"),
        ("date", "2020-06-06"),
        ("place", place.as_str()),
        ("kind", "straw"),
    ] {
        head.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    head.push_str(&format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"{file_name}\"\r\nContent-Type: image/png\r\n\r\n"
    ));
    (
        head.into_bytes(),
        format!("\r\n--{BOUNDARY}--\r\n").into_bytes(),
    )
}

/// Start a fire-point upload over a raw connection: the headers, the
/// fields, and the first `sent` bytes of a file of `file_len` bytes. The
/// caller sends the rest (or drops the connection).
async fn start_upload(app: &App, who: &Office, file_len: usize, first: &[u8]) -> TcpStream {
    let (head, tail) = multipart_parts("火点.png");
    let total = head.len() + file_len + tail.len();
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let req = format!(
        "POST /api/v1/fire-points HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nX-CSRF-Token: {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {total}\r\n\r\n",
        app.addr, who.cookie, who.csrf
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(&head).await.unwrap();
    s.write_all(first).await.unwrap();
    s.flush().await.unwrap();
    s
}

/// Finish a raw upload and read the answer's status line and body.
async fn finish_upload(mut s: TcpStream, rest: &[u8]) -> (u16, String) {
    let (_, tail) = multipart_parts("火点.png");
    s.write_all(rest).await.unwrap();
    s.write_all(&tail).await.unwrap();
    s.flush().await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read until the body is complete (the server keeps the connection).
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut chunk))
            .await
            .expect("an answer")
            .unwrap();
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= len {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn fire_form(file: Vec<u8>, name: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("township", "原武镇")
        .text("date", "2020-06-06")
        .text("place", fresh_place())
        .text("kind", "straw")
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(file).file_name(name.to_owned()),
        )
}

async fn post_fire_point(app: &App, who: &Office, file: Vec<u8>) -> (u16, Value) {
    let resp = who
        .http
        .post(app.url("/api/v1/fire-points"))
        .header("cookie", &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .multipart(fire_form(file, "火点.png"))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

on_both_backends!(item_15_uploads_stream_to_disk_and_an_over_limit_file_is_deleted_at_once);
async fn item_15_uploads_stream_to_disk_and_an_over_limit_file_is_deleted_at_once(db: TestDb) {
    let app = spawn(db).await;
    let office = app.login("office").await;
    let file = png(ATTACHMENT_MAX as usize + 32 * 1024);
    // Half the limit sent: it is already on disk, in the incoming directory.
    let half = ATTACHMENT_MAX as usize / 2;
    let conn = start_upload(&app, &office, file.len(), &file[..half]).await;
    until("the first half written to a temporary file", || {
        files_in(&app.incoming())
            .iter()
            .any(|(_, len)| *len as usize >= half - 8 * 1024)
    })
    .await;
    // Past the limit, with the request still open: the file is gone.
    let mut conn = conn;
    conn.write_all(&file[half..half + ATTACHMENT_MAX as usize])
        .await
        .unwrap();
    conn.flush().await.unwrap();
    until("the temporary file deleted past the limit", || {
        files_in(&app.incoming()).is_empty()
    })
    .await;
    let (status, body) = finish_upload(conn, &file[half + ATTACHMENT_MAX as usize..]).await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("火点.png") && detail.contains("超过上限 64.0 KB"),
        "{detail}"
    );
    assert!(detail.contains("火点未登记"), "{detail}");
    assert!(
        app.db
            .campaigns()
            .fire_points(None)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(files_in(&app.incoming()).is_empty());
    assert!(stored_files(&app.data).is_empty());

    // A body past the request limit (1 MB) is cut off: refused, nothing kept.
    let big = png(2 * 1024 * 1024);
    let resp = office
        .http
        .post(app.url("/api/v1/fire-points"))
        .header("cookie", &office.cookie)
        .header("x-csrf-token", &office.csrf)
        .multipart(fire_form(big, "大图.png"))
        .send()
        .await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 400);
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains("超过总大小上限"),
            "{body}"
        );
    }
    until("no upload running", || app.gate.running() == 0).await;
    assert!(files_in(&app.incoming()).is_empty());
    assert!(stored_files(&app.data).is_empty());
    assert!(
        app.db
            .campaigns()
            .fire_points(None)
            .await
            .unwrap()
            .is_empty()
    );
}

on_both_backends!(item_15_one_user_runs_at_most_two_uploads_at_once);
async fn item_15_one_user_runs_at_most_two_uploads_at_once(db: TestDb) {
    let app = spawn(db).await;
    let office = app.login("office").await;
    let file = png(32 * 1024);
    // Two uploads held open by the same user.
    let a = start_upload(&app, &office, file.len(), &file[..1024]).await;
    let b = start_upload(&app, &office, file.len(), &file[..1024]).await;
    until("two uploads running", || app.gate.running() == 2).await;
    // A third through the API, and one through the page form: 429.
    let (status, body) = post_fire_point(&app, &office, file.clone()).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["code"], "E1429");
    assert_eq!(body["message"], "同时上传的文件过多，请稍后再试");
    let page = office
        .http
        .post(app.url("/ledger/fire-points"))
        .header("cookie", &office.cookie)
        .multipart(fire_form(file.clone(), "火点.png").text("csrf", office.csrf.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 429);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("同时上传的文件过多，请稍后再试")
    );
    // Another user is not held up by them.
    let other = app.login("office2").await;
    let (status, body) = post_fire_point(&app, &other, file.clone()).await;
    assert_eq!(status, 201, "{body}");
    // One held upload finishes, the other is dropped mid-way: both slots
    // come back and the dropped one leaves no temporary file.
    let (status, body) = finish_upload(a, &file[1024..]).await;
    assert_eq!(status, 201, "{body}");
    drop(b);
    until("both slots free", || app.gate.running() == 0).await;
    until("the dropped upload's temporary file deleted", || {
        files_in(&app.incoming()).is_empty()
    })
    .await;
    let (status, body) = post_fire_point(&app, &office, png(1000)).await;
    assert_eq!(status, 201, "{body}");
}

on_both_backends!(item_15_a_normal_upload_is_stored_byte_for_byte);
async fn item_15_a_normal_upload_is_stored_byte_for_byte(db: TestDb) {
    let app = spawn(db).await;
    let office = app.login("office").await;
    let file = png(ATTACHMENT_MAX as usize); // exactly at the limit
    let (status, body) = post_fire_point(&app, &office, file.clone()).await;
    assert_eq!(status, 201, "{body}");
    let att = &body["attachments"][0];
    let sha = hex::encode(Sha256::digest(&file));
    assert_eq!(att["sha256"], sha.as_str());
    assert_eq!(att["size"], file.len() as i64);
    assert_eq!(att["content_type"], "image/png");
    assert_eq!(att["file_name"], "火点.png");
    let on_disk = app.data.join("attachments").join(&sha[..2]).join(&sha);
    assert_eq!(std::fs::read(&on_disk).unwrap(), file);
    let id = att["id"].as_i64().unwrap();
    let got = office
        .http
        .get(app.url(&format!("/api/v1/attachments/{id}")))
        .header("cookie", &office.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), file);
    // The same file again is kept once; nothing is left in incoming.
    let (status, _) = post_fire_point(&app, &office, file.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(stored_files(&app.data), vec![on_disk]);
    assert!(files_in(&app.incoming()).is_empty());
    // An Office document whose parts are named far into the file is typed
    // by its content as it streams past.
    let mut xlsx = b"PK\x03\x04".to_vec();
    xlsx.extend(png(40_000).into_iter().skip(8));
    xlsx.extend_from_slice(b"[Content_Types].xml....xl/workbook.xml");
    let resp = office
        .http
        .post(app.url("/api/v1/fire-points"))
        .header("cookie", &office.cookie)
        .header("x-csrf-token", &office.csrf)
        .multipart(fire_form(xlsx, "台账.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["attachments"][0]["content_type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
}
