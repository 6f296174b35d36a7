//! Issue #10, item 2, against the real binary: a 1,534-byte XLSX that
//! declares cells at A1 and XFD1048576 used to abort `gongjian serve`
//! (web and HJ 212 listener together) with "memory allocation of
//! 549755813888 bytes failed". Every import now refuses it with a Chinese
//! error, stores nothing, and the server stays up on both ports.

mod common;
use common::{free_port, spawn_serve, wait_listening};

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Child;
use std::time::Duration;

use gongjian_hj212::{Flag, Message, Options, StreamDecoder, Version};
use gongjian_storage::{Actor, Db, DbOptions, Device, NewSite, NewUser, OrgKind, Role};
use serde_json::{Value, json};

const SPARSE_BOMB: &[u8] = include_bytes!("../../tabular/tests/data/sparse_bomb.xlsx");
const PASSWORD: &str = "Sparse-Bomb-Test-2026";

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    fn assert_alive(&mut self) {
        assert!(
            self.0.try_wait().unwrap().is_none(),
            "gongjian serve died: {:?}",
            self.0.try_wait()
        );
    }
}

/// A logged-in API client: cookie jar, CSRF token, and the server's origin.
struct Session {
    http: reqwest::Client,
    origin: String,
    csrf: String,
}

impl Session {
    async fn login(origin: &str, username: &str) -> Session {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let r = http
            .post(format!("{origin}/api/v1/auth/login"))
            .header("origin", origin)
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login as {username}");
        let me: Value = http
            .get(format!("{origin}/api/v1/me"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let csrf = me["csrf_token"].as_str().expect("csrf_token").to_owned();
        Session {
            http,
            origin: origin.to_owned(),
            csrf,
        }
    }

    /// POST the bytes as the request body, with the CSRF token and Origin.
    async fn upload(&self, path: &str, body: &[u8]) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.origin))
            .header("origin", &self.origin)
            .header("x-csrf-token", &self.csrf)
            .header("x-filename", "sparse_bomb.xlsx")
            .header(
                "content-type",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .body(body.to_vec())
            .send()
            .await
            .expect("the server answers the upload (it must not die)");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn json(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.origin))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }
}

/// One HJ 212 frame from the registered logger, answered with 9014.
fn hj212_answers(addr: SocketAddr) -> bool {
    let dt = "20260101080000";
    let bytes = Message::new("31", "2051", "123456", "BOMBTEST0001")
        .with_qn("20260101080000001")
        .with_flag(Flag::new(Version::V2017, false, true))
        .group([("DataTime", dt)])
        .group([("a21026-Avg", "12.5"), ("a21026-Flag", "N")])
        .encode()
        .unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(&bytes).unwrap();
    let mut dec = StreamDecoder::new(Options::default());
    let mut buf = gongjian_hj212::bytes::BytesMut::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some(d) = dec.decode(&mut buf) {
            if let Ok(p) = d
                && p.cn() == Some("9014")
            {
                return true;
            }
        }
    }
}

async fn prepare(url: &str) {
    let db = Db::connect(url, &DbOptions::default()).await.unwrap();
    db.migrate().await.unwrap();
    let cli = Actor::cli();
    let org = |name: &'static str, kind: OrgKind| {
        let (db, cli) = (&db, &cli);
        async move {
            match db.organisations().organisation_by_name(name).await.unwrap() {
                Some(o) => o,
                None => db
                    .organisations()
                    .create_organisation(cli, name, kind, None)
                    .await
                    .unwrap(),
            }
        }
    };
    let township = org("原武镇", OrgKind::Township).await;
    let office = org("区攻坚办", OrgKind::Office).await;
    for (username, role, org) in [
        ("township1", Role::Township, township.id),
        ("office1", Role::Office, office.id),
    ] {
        db.accounts()
            .create_user(
                &cli,
                &NewUser {
                    username: username.into(),
                    display_name: String::new(),
                    password: PASSWORD.into(),
                    role,
                    organisation_id: org,
                    must_change_password: false,
                },
            )
            .await
            .unwrap();
    }
    let site = db
        .monitoring()
        .create_site(
            &cli,
            &NewSite {
                code: "B1".into(),
                name: "炸弹测试站".into(),
                kind: "stack_gas".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    db.monitoring()
        .upsert_device(&cli, &Device::new("BOMBTEST0001", "123456", site.id))
        .await
        .unwrap();
    db.close().await;
}

#[test]
fn item_2_sparse_bomb_upload_is_refused_and_the_server_stays_up() {
    assert_eq!(SPARSE_BOMB.len(), 1534);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gongjian.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(prepare(&url));

    let (http, hj) = (free_port(), free_port());
    let web_addr: SocketAddr = format!("127.0.0.1:{http}").parse().unwrap();
    let hj_addr: SocketAddr = format!("127.0.0.1:{hj}").parse().unwrap();
    let mut server = Server(spawn_serve(dir.path(), http, hj));
    wait_listening(web_addr);
    wait_listening(hj_addr);
    let origin = format!("http://{web_addr}");

    rt.block_on(async {
        let township = Session::login(&origin, "township1").await;
        let office = Session::login(&origin, "office1").await;
        let sites_before = office.json("/api/v1/sites").await;

        // The task ledger import, as the township user of the report.
        let (status, body) = township.upload("/api/v1/tasks/import", SPARSE_BOMB).await;
        assert!((400..500).contains(&status), "{status} {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("表格过大"), "{body}");
        server.assert_alive();

        // The site import (攻坚办 only; the township user is refused first).
        let (status, _) = township.upload("/api/v1/sites/import", SPARSE_BOMB).await;
        assert_eq!(status, 403);
        let (status, body) = office.upload("/api/v1/sites/import", SPARSE_BOMB).await;
        assert!((400..500).contains(&status), "{status} {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("表格过大"),
            "{body}"
        );
        server.assert_alive();

        // The fire-point import takes the same reader.
        let (status, body) = office
            .upload("/api/v1/fire-points/import", SPARSE_BOMB)
            .await;
        assert!((400..500).contains(&status), "{status} {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("表格过大"),
            "{body}"
        );
        server.assert_alive();

        // Nothing stored was touched, and the web port still answers.
        assert_eq!(office.json("/api/v1/sites").await, sites_before);
    });
    server.assert_alive();
    assert!(hj212_answers(hj_addr), "the HJ 212 port must still answer");
    server.assert_alive();
}
