//! End to end in a real browser: Debian's headless Chromium driven through
//! chromedriver. Skipped, with a message, when either is not installed
//! (`.ci/run` installs them). The server is the real application on port 0.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{PASSWORD, spawn_app};
use fantoccini::{Client, ClientBuilder, Locator};
use gongjian_storage::{OrgKind, Role};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start chromedriver, or `None` when the browser is not installed.
async fn start_browser() -> Option<(Driver, Client)> {
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        eprintln!(
            "skipped: {CHROMIUM} or {CHROMEDRIVER} not installed (apt install chromium chromium-driver)"
        );
        return None;
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1366,900",
                format!("--user-data-dir={}", driver._profile.path().display()),
            ]
        }),
    );
    let mut last_err = None;
    for _ in 0..50 {
        match ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(client) => return Some((driver, client)),
            Err(e) => {
                last_err = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    panic!("chromedriver did not start: {last_err:?}");
}

async fn fill(c: &Client, css: &str, text: &str) {
    let el = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Wait (up to 30 s: pages are slow in debug builds on a loaded machine)
/// until the browser is on `path` and the element `css` is present.
async fn wait_for(c: &Client, path: &str, css: &str) {
    for _ in 0..300 {
        let on_path = c
            .current_url()
            .await
            .map(|u| u.path() == path)
            .unwrap_or(false);
        if on_path && c.find(Locator::Css(css)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = c
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    panic!("timed out waiting for {css} on {path}; browser is at {url}");
}

async fn log_in(c: &Client, base: &str, username: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "#username", username).await;
    fill(c, "#password", password).await;
    click(c, "#login").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_creates_department_user_who_is_refused_user_administration() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    app.org("区农业农村局", OrgKind::Department).await;
    let base = format!("http://{}", app.addr);

    log_in(&c, &base, "admin", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    let who = c
        .find(Locator::Id("who"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(who.contains("系统管理员"), "{who}");

    c.goto(&format!("{base}/system/users")).await.unwrap();
    fill(&c, "#new-username", "nongye").await;
    fill(&c, "#new-display", "农业农村局联络员").await;
    fill(&c, "#new-password", "initial-pass").await;
    c.find(Locator::Css("#new-role"))
        .await
        .unwrap()
        .select_by_value("department")
        .await
        .unwrap();
    c.find(Locator::Css("#new-org"))
        .await
        .unwrap()
        .select_by_label("区农业农村局")
        .await
        .unwrap();
    click(&c, "#create-user").await;
    wait_for(&c, "/system/users", ".flash.ok").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("已创建"), "user not created");
    assert!(page.contains("nongye"));

    click(&c, "#logout").await;
    wait_for(&c, "/login", "#username").await;

    // The new user must set a password first.
    log_in(&c, &base, "nongye", "initial-pass").await;
    wait_for(&c, "/account/password", "#current").await;
    fill(&c, "#current", "initial-pass").await;
    fill(&c, "#new", "nongye-2020!").await;
    fill(&c, "#confirm", "nongye-2020!").await;
    click(&c, "#save-password").await;
    wait_for(&c, "/login", "#username").await;
    log_in(&c, &base, "nongye", "nongye-2020!").await;
    wait_for(&c, "/", "#who").await;
    let who = c
        .find(Locator::Id("who"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(who.contains("区农业农村局"), "{who}");

    c.goto(&format!("{base}/system/users")).await.unwrap();
    wait_for(&c, "/system/users", "#error-heading").await;
    let heading = c
        .find(Locator::Id("error-heading"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(heading.contains("403"), "{heading}");
    c.close().await.unwrap();
}

/// A year of one station's hours, 2020: PM2.5 50 µg/m³ January–June and 70
/// July–December (PM10 = 1.5×): annual mean (50×182 + 70×184)/366 = 60.05
/// → 60 µg/m³, PM10 90.08 → 90.
fn year_2020_csv() -> String {
    let mut s = String::from("station,time,so2,no2,co,o3,pm10,pm25\n");
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    for day in 0..366 {
        let d = start + chrono::Duration::days(day);
        let pm25: u32 = if d < chrono::NaiveDate::from_ymd_opt(2020, 7, 1).unwrap() {
            50
        } else {
            70
        };
        for h in 1..=24 {
            let end = d.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(h);
            s.push_str(&format!(
                "B01,{},8,20,0.6,60,{},{}\n",
                end.format("%Y-%m-%d %H:%M"),
                pm25 * 3 / 2,
                pm25
            ));
        }
    }
    s
}

/// The text of the 年累计 cell of the target row whose indicator contains
/// `indicator`, read by the page's own script.
async fn ytd_of(c: &Client, indicator: &str) -> String {
    let v = c
        .execute(
            "for (const tr of document.querySelectorAll('#targets tr')) { \
               if (tr.cells[0] && tr.cells[0].textContent.includes(arguments[0])) \
                 return tr.querySelector('td.ytd').textContent.trim(); } return null;",
            vec![serde_json::json!(indicator)],
        )
        .await
        .unwrap();
    v.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_uploaded_in_the_browser_shows_its_annual_mean_on_the_dashboard() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let base = format!("http://{}", app.addr);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("2020年站点小时数据.csv");
    std::fs::write(&file, year_2020_csv()).unwrap();

    log_in(&c, &base, "office", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/air")).await.unwrap();
    c.find(Locator::Css("#air-file"))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    click(&c, "#air-upload").await;
    wait_for(&c, "/air", "#import-result").await;
    let result = c
        .find(Locator::Id("import-result"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(result.contains("导入 8784 行"), "{result}");

    c.goto(&format!("{base}/?year=2020")).await.unwrap();
    wait_for(&c, "/", "#targets").await;
    assert_eq!(ytd_of(&c, "PM2.5").await, "60");
    assert_eq!(ytd_of(&c, "PM10").await, "90");
    // The 30-day chart is drawn from the same data (ECharts renders a canvas).
    let mut drawn = false;
    for _ in 0..100 {
        if c.find(Locator::Css("#chart-30d canvas")).await.is_ok() {
            drawn = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(drawn, "the 30-day chart was not drawn");
    // A phone-sized screen still shows the targets (the grid reflows).
    c.set_window_size(390, 844).await.unwrap();
    assert!(
        c.find(Locator::Css("#targets"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
}
