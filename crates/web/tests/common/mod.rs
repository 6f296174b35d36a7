//! Spawn the real application on 127.0.0.1:0 with a fresh database. Tests
//! take the database as a `TestDb` and are run on both backends by
//! `gongjian_storage::on_both_backends!`.
#![allow(dead_code)]

use std::net::SocketAddr;

use gongjian_storage::testing::{self, TestDb};
use gongjian_storage::{Actor, Db, NewUser, OrgKind, Role};
use gongjian_web::{AppState, WebSettings};

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    _db: TestDb,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub const PASSWORD: &str = "correct-horse";

pub fn settings() -> WebSettings {
    WebSettings::from_config(&gongjian_config::Config::default())
}

/// The application on a fresh SQLite database, for the browser tests (which
/// run on one backend: the browser is what they test).
pub async fn spawn_app() -> TestApp {
    spawn_on(testing::sqlite().await).await
}

pub async fn spawn_on(test_db: TestDb) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(test_db.db.clone(), settings());
    tokio::spawn(async move {
        gongjian_web::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        addr,
        db: test_db.db.clone(),
        _db: test_db,
        _shutdown: tx,
    }
}

impl TestApp {
    /// Loads the repository's 2020 plan (as `gongjian plan load` does): the
    /// campaign that 2020's targets, sections and reports are judged against.
    pub async fn load_plan(&self) {
        let plan = gongjian_app::plan::embedded_plan().unwrap();
        self.db
            .campaigns()
            .load_campaign(&Actor::cli(), &plan)
            .await
            .unwrap();
    }

    /// Loads this year's copy of the 2020 plan (as `gongjian plan copy` and
    /// `plan load` would) and returns its year: a campaign in force today.
    pub async fn load_this_years_plan(&self) -> i32 {
        use chrono::Datelike;
        let year = gongjian_storage::today_cst().year();
        let files =
            gongjian_campaign::copy_to_year(&gongjian_app::plan::embedded_plan().unwrap(), year);
        let plan = gongjian_campaign::parse_files(&files).unwrap();
        self.db
            .campaigns()
            .load_campaign(&Actor::cli(), &plan)
            .await
            .unwrap();
        year
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn org(&self, name: &str, kind: OrgKind) -> i64 {
        match self
            .db
            .organisations()
            .organisation_by_name(name)
            .await
            .unwrap()
        {
            Some(o) => o.id,
            None => {
                self.db
                    .organisations()
                    .create_organisation(&Actor::cli(), name, kind, None)
                    .await
                    .unwrap()
                    .id
            }
        }
    }

    pub async fn user(&self, username: &str, role: Role, org: &str, kind: OrgKind) -> i64 {
        let org_id = self.org(org, kind).await;
        self.db
            .accounts()
            .create_user(
                &Actor::cli(),
                &NewUser {
                    username: username.into(),
                    display_name: String::new(),
                    password: PASSWORD.into(),
                    role,
                    organisation_id: org_id,
                    must_change_password: false,
                },
            )
            .await
            .unwrap()
            .id
    }

    /// A client with its own cookie jar, logged in through the API, that
    /// sends the session's CSRF token (from `GET /api/v1/me`) with every
    /// request, as the platform's own pages do.
    pub async fn login(&self, username: &str) -> reqwest::Client {
        self.login_with(username, PASSWORD).await
    }

    /// [`TestApp::login`] with another password.
    pub async fn login_with(&self, username: &str, password: &str) -> reqwest::Client {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let plain = client_with(jar.clone(), reqwest::header::HeaderMap::new());
        let resp = plain
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "login as {username}");
        let token = csrf_token(&plain, &self.url("/api/v1/me")).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-csrf-token", token.parse().unwrap());
        client_with(jar, headers)
    }
}

/// The session's CSRF token, as the API tells a signed-in client.
pub async fn csrf_token(client: &reqwest::Client, me_url: &str) -> String {
    let me: serde_json::Value = client
        .get(me_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["csrf_token"].as_str().expect("csrf_token").to_owned()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client sharing a cookie jar, sending `headers` with every request.
pub fn client_with(
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    headers: reqwest::header::HeaderMap,
) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
