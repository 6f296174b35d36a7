//! End to end in a real browser: Debian's headless Chromium driven through
//! chromedriver. Skipped, with a message, when either is not installed
//! (`.ci/run` installs them). The server is the real application on port 0.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{PASSWORD, spawn_app};
use fantoccini::{Client, ClientBuilder, Locator};
use gongjian_storage::{
    Actor, Device, IngestBatch, NewSite, OrgKind, Role, SeriesValue, SiteFactor, Upload,
};

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
    // Two rustls providers are compiled into this test: choose one, or the
    // WebDriver client cannot pick and panics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        gongjian_storage::testing::skip(&format!(
            "{CHROMIUM} or {CHROMEDRIVER} not installed (apt install chromium chromium-driver)"
        ));
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
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let base = format!("http://{}", app.addr);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("2020年站点小时数据.csv");
    std::fs::write(&file, year_2020_csv()).unwrap();
    // An air upload takes only registered stations.
    app.db
        .monitoring()
        .create_site(
            &gongjian_storage::Actor::cli(),
            &gongjian_storage::NewSite {
                code: "B01".into(),
                name: "B01".into(),
                kind: "air_station".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();

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

/// Poll `script` (returning a value) until it is not null, for up to 30 s.
async fn wait_value(c: &Client, script: &str) -> serde_json::Value {
    for _ in 0..300 {
        let v = c.execute(script, vec![]).await.unwrap();
        if !v.is_null() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {script}");
}

/// Save a screenshot of the site page's chart with its tooltip open to
/// `$GONGJIAN_SCREENSHOTS/name` when that variable names a directory (not in CI).
async fn screenshot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("GONGJIAN_SCREENSHOTS") {
        c.execute(
            "document.querySelector('#charts .chart').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .unwrap();
        // Let the line's animation finish, then open the tooltip again.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        wait_value(c, SHOW_TIP).await;
        std::fs::create_dir_all(&dir).unwrap();
        let png = c.screenshot().await.unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

const XSS_FLAG: &str = r#"<img src=x onerror="window.__xss=1">"#;

/// Show the chart tooltip of the site page at the point with the hostile
/// flag and return the tooltip's text (null until the chart is drawn).
const SHOW_TIP: &str = r#"
  var div = document.querySelector('#charts .chart');
  var chart = div && window.echarts && echarts.getInstanceByDom(div);
  if (!chart) return null;
  var opt = chart.getOption();
  var n = opt.series[0].data.length;
  chart.dispatchAction({ type: 'showTip', seriesIndex: 0, dataIndex: n - 1 });
  var tips = Array.prototype.filter.call(div.querySelectorAll('div'), function (d) {
    return d.textContent.indexOf('标记') >= 0 && d.children.length < 20;
  });
  if (tips.length === 0) return null;
  var tip = tips[tips.length - 1];
  return { text: tip.textContent, imgs: tip.querySelectorAll('img').length,
           xss: typeof window.__xss, xss2: typeof window.__xss2 };
"#;

/// Issue #10 item 1: a script in a logger's flag (and in a factor's name and
/// unit), stored directly through the storage API as if the codec had let it
/// through, is shown as text in the chart tooltip and never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_1_a_script_in_a_logger_flag_shows_as_text_in_the_chart_tooltip() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let site = app
        .db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "X1".into(),
                name: "示范热电 1号锅炉".into(),
                kind: "stack_gas".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    app.db
        .monitoring()
        .upsert_device(
            &Actor::cli(),
            &Device::new("XSSTEST000000000000000001", "123456", site.id),
        )
        .await
        .unwrap();
    app.db
        .monitoring()
        .set_site_factors(
            &Actor::cli(),
            site.id,
            &[SiteFactor {
                factor: "a21026".into(),
                name: "二氧化硫<b>粗</b>".into(),
                // Within the 32-character unit bound, still a live handler if parsed as HTML.
                unit: "<img src=x onerror=__xss2=1>".into(),
                limit_value: Some("50".into()),
            }],
        )
        .await
        .unwrap();
    // Three hours ending an hour ago, the last one with the hostile flag.
    let hour = gongjian_storage::now() / 3600 * 3600 - 3 * 3600;
    let values = (0..3)
        .map(|i| SeriesValue {
            factor: "a21026".into(),
            kind: "hour",
            period_start: hour + i * 3600,
            value: Some(format!("{}", 30 + i * 5)),
            converted: None,
            flag: if i == 2 { XSS_FLAG.into() } else { "N".into() },
        })
        .collect();
    app.db
        .monitoring()
        .commit_ingest(&IngestBatch {
            uploads: vec![Upload {
                mn: "XSSTEST000000000000000001".into(),
                cn: "2061".into(),
                datatime: "20250101000000".into(),
                pno: 0,
                site_id: site.id,
                values,
            }],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);

    log_in(&c, &base, "admin", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.set_window_size(1920, 1080).await.unwrap();
    let path = format!("/sources/sites/{}", site.id);
    c.goto(&format!("{base}{path}")).await.unwrap();
    wait_for(&c, &path, "#charts").await;
    let tip = wait_value(&c, SHOW_TIP).await;
    let text = tip["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("标记: {XSS_FLAG}")),
        "the flag is shown literally: {text}"
    );
    assert!(text.contains("a21026: 40"), "{text}");
    assert_eq!(tip["imgs"], 0, "no element built from data: {tip}");
    // Give an injected image time to fail and its handler time to run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tip = wait_value(&c, SHOW_TIP).await;
    assert_eq!(tip["xss"], "undefined", "the flag ran as script");
    assert_eq!(tip["xss2"], "undefined", "the unit ran as script");
    screenshot(&c, "site_tooltip_1920x1080.png").await;

    // A phone: the same tooltip, still text.
    c.set_window_size(390, 844).await.unwrap();
    c.refresh().await.unwrap();
    wait_for(&c, &path, "#charts").await;
    let tip = wait_value(&c, SHOW_TIP).await;
    assert!(tip["text"].as_str().unwrap().contains(XSS_FLAG), "{tip}");
    assert_eq!(tip["xss"], "undefined");
    screenshot(&c, "site_tooltip_390x844.png").await;
    c.close().await.unwrap();
}

const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
];

fn assert_security_headers(what: &str, r: &reqwest::Response) {
    let h = r.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap();
    for part in [
        "default-src 'self'",
        "script-src 'self';",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{what}: CSP {csp:?} lacks {part}");
    }
    let script_src = csp.split(';').find(|d| d.contains("script-src")).unwrap();
    assert!(
        !script_src.contains("unsafe"),
        "{what}: scripts must not be unsafe-inline/eval: {csp}"
    );
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            h.get(*name).map(|v| v.to_str().unwrap()),
            Some(*value),
            "{what}: {name}"
        );
    }
    assert!(h.contains_key("permissions-policy"), "{what}");
}

/// Issue #10 item 14: the security headers are on a page, an API answer,
/// an asset, an error and a 404; in the browser the policy blocks an
/// injected inline handler, an injected inline script and eval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_14_security_headers_on_every_response_and_csp_blocks_inline_script() {
    let app = spawn_app().await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    let anon = common::client();
    let admin = app.login("admin").await;
    for (what, r) in [
        (
            "login page",
            anon.get(app.url("/login")).send().await.unwrap(),
        ),
        (
            "page",
            admin.get(app.url("/system/users")).send().await.unwrap(),
        ),
        (
            "API",
            admin.get(app.url("/api/v1/me")).send().await.unwrap(),
        ),
        (
            "API error",
            anon.get(app.url("/api/v1/me")).send().await.unwrap(),
        ),
        (
            "asset",
            anon.get(app.url("/static/app.js")).send().await.unwrap(),
        ),
        (
            "404",
            anon.get(app.url("/no/such/page")).send().await.unwrap(),
        ),
        (
            "health",
            anon.get(app.url("/healthz")).send().await.unwrap(),
        ),
    ] {
        assert_security_headers(what, &r);
        if what != "asset" {
            assert_eq!(
                r.headers().get("cache-control").unwrap(),
                "no-store",
                "{what}"
            );
        }
    }

    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let base = format!("http://{}", app.addr);
    log_in(&c, &base, "admin", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    let out = c
        .execute_async(
            r#"var done = arguments[arguments.length - 1];
               var img = document.createElement('img');
               img.setAttribute('onerror', 'window.__handler = 1');
               img.addEventListener('error', function () {
                 var s = document.createElement('script');
                 s.textContent = 'window.__inline = 1';
                 document.body.appendChild(s);
                 var evalBlocked = false;
                 try { window['ev' + 'al']('1'); } catch (e) { evalBlocked = true; }
                 setTimeout(function () {
                   done({ errored: true, handler: typeof window.__handler,
                          inline: typeof window.__inline, evalBlocked: evalBlocked });
                 }, 300);
               });
               img.src = '/static/no-such-image.png';
               document.body.appendChild(img);"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(out["errored"], true, "{out}");
    assert_eq!(out["handler"], "undefined", "inline handler ran: {out}");
    assert_eq!(out["inline"], "undefined", "inline script ran: {out}");
    assert_eq!(out["evalBlocked"], true, "eval ran: {out}");
    c.close().await.unwrap();
}

/// Issue 12 item 4: the office issues a 交办 with a deadline to 原武镇 in
/// the form; the township's user finds it in 我的任务 and reports on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_assigns_adhoc_work_that_the_township_sees_and_reports_on() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.load_this_years_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    let base = format!("http://{}", app.addr);
    let due = (gongjian_storage::today_cst() + chrono::Duration::days(5)).to_string();

    log_in(&c, &base, "office", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/tasks")).await.unwrap();
    click(&c, "#new-assignment").await;
    wait_for(&c, "/tasks/assign", "#assign-form").await;
    // Sent with nothing chosen: each problem next to its field, the typed text kept.
    fill(&c, "#a-title", "核查群众反映的夜间施工扬尘").await;
    click(&c, "#assign-submit").await;
    wait_for(&c, "/tasks/assign", "#err-organisations").await;
    assert!(c.find(Locator::Css("#err-due")).await.is_ok());
    let kept = c
        .find(Locator::Css("#a-title"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("核查群众反映的夜间施工扬尘"));

    fill(&c, "#a-summary", "现场核查并反馈处理结果。").await;
    fill(&c, "#a-document", "平攻坚办〔2026〕15号").await;
    c.execute(
        "document.querySelector('#a-source').value = 'petition';\
         document.querySelector('#a-due').value = arguments[0];\
         var box = Array.prototype.find.call(document.querySelectorAll('#a-orgs label.check'),\
           function (l) { return l.textContent.trim() === '原武镇'; });\
         box.querySelector('input').click();",
        vec![serde_json::json!(due)],
    )
    .await
    .unwrap();
    click(&c, "#assign-submit").await;
    for _ in 0..300 {
        if c.find(Locator::Css("#adhoc-info")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let info = c
        .find(Locator::Css("#adhoc-info"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        info.contains("信访投诉") && info.contains("平攻坚办〔2026〕15号"),
        "{info}"
    );
    let task_url = c.current_url().await.unwrap().path().to_owned();
    click(&c, "#logout").await;

    log_in(&c, &base, "yuanwu", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/tasks/mine")).await.unwrap();
    let link = c
        .find(Locator::LinkText("核查群众反映的夜间施工扬尘"))
        .await
        .expect("the 交办 is in 我的任务");
    link.click().await.unwrap();
    wait_for(&c, &task_url, "#report-form").await;
    fill(&c, "#r-text", "已现场核查，工地已停止夜间施工并覆盖裸土。").await;
    click(&c, "#submit-report").await;
    for _ in 0..300 {
        if c.find(Locator::Css(".flash.ok")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = c
        .find(Locator::Css("#task-status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(status, "待审核");
}

/// Issue 13 item 8: a department that leads a task has its own 待我审核
/// queue in 我的任务: the reports of the task's other parts, not its own
/// and not those of tasks it does not lead; it reviews one from there and
/// the queue empties.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_department_reviews_other_parts_from_its_own_queue() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.load_plan().await;
    let zhifa_id = app
        .user(
            "zhifa",
            Role::Department,
            "区行政综合执法局",
            OrgKind::Department,
        )
        .await;
    let yuanwu_id = app
        .user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    let zhifa_org = app
        .db
        .organisations()
        .organisation_by_name("区行政综合执法局")
        .await
        .unwrap()
        .unwrap()
        .id;
    let yuanwu_org = app
        .db
        .organisations()
        .organisation_by_name("原武镇")
        .await
        .unwrap()
        .unwrap()
        .id;
    let actor = |name: &str, id: i64| Actor {
        user_id: Some(id),
        name: name.into(),
        client_addr: "127.0.0.1".into(),
    };
    let report = |text: &str| gongjian_storage::NewReport {
        text: text.into(),
        claims_complete: false,
        values: Vec::new(),
        attachments: Vec::new(),
    };
    // air-6: 区行政综合执法局 leads, 原武镇 carries out a part.
    let tid = app
        .db
        .campaigns()
        .task_id_by_key(None, "air-6")
        .await
        .unwrap();
    let parts = app
        .db
        .campaigns()
        .task_detail(tid)
        .await
        .unwrap()
        .assignments;
    let lead_part = parts
        .iter()
        .find(|a| a.organisation_id == zhifa_org)
        .unwrap()
        .id;
    let town_part = parts
        .iter()
        .find(|a| a.organisation_id == yuanwu_org)
        .unwrap()
        .id;
    app.db
        .campaigns()
        .submit_report(
            &actor("yuanwu", yuanwu_id),
            town_part,
            &report("原武镇已完成散乱污企业排查整治"),
        )
        .await
        .unwrap();
    app.db
        .campaigns()
        .submit_report(
            &actor("zhifa", zhifa_id),
            lead_part,
            &report("执法局本单位的进展"),
        )
        .await
        .unwrap();
    // A task 原武镇 has a part in that 区行政综合执法局 does not lead.
    let other = app
        .db
        .campaigns()
        .assignments(Some(yuanwu_org), None)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.task_id != tid && a.organisation_id == yuanwu_org)
        .unwrap();
    assert!(
        !app.db
            .campaigns()
            .leads_task(other.task_id, zhifa_org)
            .await
            .unwrap()
    );
    app.db
        .campaigns()
        .submit_report(
            &actor("yuanwu", yuanwu_id),
            other.id,
            &report("别的牵头单位审核的报告"),
        )
        .await
        .unwrap();

    let base = format!("http://{}", app.addr);
    log_in(&c, &base, "zhifa", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/tasks/mine")).await.unwrap();
    wait_for(&c, "/tasks/mine", "#review-queue").await;
    let heading = c
        .find(Locator::Css("#review-queue"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "待我审核");
    let queue = c
        .find(Locator::Css("#pending"))
        .await
        .expect("the queue lists the township's report")
        .text()
        .await
        .unwrap();
    assert!(queue.contains("原武镇已完成散乱污企业排查整治"), "{queue}");
    assert!(queue.contains("原武镇"), "{queue}");
    assert!(!queue.contains("执法局本单位的进展"), "{queue}");
    assert!(!queue.contains("别的牵头单位审核的报告"), "{queue}");

    // From the queue to the report, and accept it there.
    click(&c, "#pending tbody tr td a").await;
    wait_for(
        &c,
        &format!("/tasks/{tid}"),
        "form[action$='/review'] button[value='accept']",
    )
    .await;
    click(&c, "form[action$='/review'] button[value='accept']").await;
    for _ in 0..300 {
        if c.find(Locator::Css(".flash.ok")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.goto(&format!("{base}/tasks/mine")).await.unwrap();
    wait_for(&c, "/tasks/mine", "#review-queue").await;
    assert!(c.find(Locator::Css("#pending")).await.is_err());
    assert!(c.source().await.unwrap().contains("没有待审核的报告"));
    c.close().await.unwrap();
}

/// A user with a display name, as the administrator creates one.
async fn named_user(
    app: &common::TestApp,
    username: &str,
    display_name: &str,
    role: Role,
    org: &str,
    kind: OrgKind,
) -> i64 {
    let organisation_id = app.org(org, kind).await;
    app.db
        .accounts()
        .create_user(
            &Actor::cli(),
            &gongjian_storage::NewUser {
                username: username.into(),
                display_name: display_name.into(),
                password: PASSWORD.into(),
                role,
                organisation_id,
                must_change_password: false,
            },
        )
        .await
        .unwrap()
        .id
}

/// Issue 13 item 12: a report, its review, the task's history and the
/// audit log name people by display name and organisation
/// ("原武镇联络员（原武镇）"), not by login name; the audit log keeps the
/// login name beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_history_and_audit_log_name_people_not_logins() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.load_plan().await;
    named_user(
        &app,
        "office",
        "攻坚办王科长",
        Role::Office,
        "区环境攻坚办",
        OrgKind::Office,
    )
    .await;
    named_user(
        &app,
        "admin",
        "",
        Role::Admin,
        "区环境攻坚办",
        OrgKind::Office,
    )
    .await;
    let yuanwu = named_user(
        &app,
        "yuanwu",
        "原武镇联络员",
        Role::Township,
        "原武镇",
        OrgKind::Township,
    )
    .await;
    let yuanwu_org = app.org("原武镇", OrgKind::Township).await;
    let tid = app
        .db
        .campaigns()
        .task_id_by_key(None, "air-6")
        .await
        .unwrap();
    let part = app
        .db
        .campaigns()
        .task_detail(tid)
        .await
        .unwrap()
        .assignments
        .into_iter()
        .find(|a| a.organisation_id == yuanwu_org)
        .unwrap()
        .id;
    let report = app
        .db
        .campaigns()
        .submit_report(
            &Actor {
                user_id: Some(yuanwu),
                name: "yuanwu".into(),
                client_addr: "127.0.0.1".into(),
            },
            part,
            &gongjian_storage::NewReport {
                text: "原武镇散乱污企业已全部整治".into(),
                claims_complete: true,
                values: Vec::new(),
                attachments: Vec::new(),
            },
        )
        .await
        .unwrap();

    let base = format!("http://{}", app.addr);
    log_in(&c, &base, "office", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    let task_page = format!("/tasks/{tid}");
    c.goto(&format!("{base}{task_page}")).await.unwrap();
    let card = format!("#report-{}", report.id);
    wait_for(&c, &task_page, &card).await;
    fill(&c, &format!("{card} input[name='comment']"), "材料齐全").await;
    click(&c, &format!("{card} button[value='accept']")).await;
    for _ in 0..300 {
        if c.find(Locator::Css(".flash.ok")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = c
        .find(Locator::Css(&card))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("原武镇联络员（原武镇）"), "{text}");
    assert!(
        text.contains("审核意见（攻坚办王科长（区环境攻坚办））：材料齐全"),
        "{text}"
    );
    assert!(
        !text.contains("yuanwu") && !text.contains("office"),
        "{text}"
    );
    let history = c
        .find(Locator::Css("#history"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(history.contains("原武镇联络员（原武镇）"), "{history}");
    assert!(
        history.contains("攻坚办王科长（区环境攻坚办）"),
        "{history}"
    );
    assert!(!history.contains("yuanwu"), "{history}");
    click(&c, "#logout").await;
    wait_for(&c, "/login", "#username").await;

    // The audit log: the person first, the login name kept beside it.
    log_in(&c, &base, "admin", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/system/audit?entity=task_report"))
        .await
        .unwrap();
    wait_for(&c, "/system/audit", "td.audit-actor").await;
    let actors: Vec<String> = {
        let mut out = Vec::new();
        for cell in c.find_all(Locator::Css("td.audit-actor")).await.unwrap() {
            out.push(cell.text().await.unwrap());
        }
        out
    };
    assert!(
        actors
            .iter()
            .any(|a| a.starts_with("原武镇联络员（原武镇）") && a.contains("登录名：yuanwu")),
        "{actors:?}"
    );
    assert!(
        actors
            .iter()
            .any(|a| a.starts_with("攻坚办王科长（区环境攻坚办）") && a.contains("登录名：office")),
        "{actors:?}"
    );
    c.close().await.unwrap();
}

/// Issue 13 item 1: with HJ 212 loggers the running hour is stored before
/// it is valid (no value, flag B until 45 valid minutes) and the last hour
/// may have been invalid too; 总览's 当前小时空气质量 shows the latest
/// complete, valid hour and says how old it is, instead of NA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_the_latest_complete_valid_hour_and_its_age() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let site = app
        .db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "PY001".into(),
                name: "原武镇站".into(),
                kind: "air_station".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    app.db
        .monitoring()
        .upsert_device(
            &Actor::cli(),
            &Device::new("AIRTEST000000000000000001", "123456", site.id),
        )
        .await
        .unwrap();
    let running = gongjian_storage::now() / 3600 * 3600;
    let valid = running - 2 * 3600;
    // SO2 10, NO2 20, CO 0.5, O3 60, PM10 50, PM2.5 35: hourly AQI 50 (优).
    let factors = [
        ("a21026", "10"),
        ("a21004", "20"),
        ("a21005", "0.5"),
        ("a05024", "60"),
        ("a34002", "50"),
        ("a34004", "35"),
    ];
    let mut values = Vec::new();
    for (start, ok) in [(valid, true), (running - 3600, false), (running, false)] {
        for (factor, v) in factors {
            values.push(SeriesValue {
                factor: factor.into(),
                kind: "hour",
                period_start: start,
                value: ok.then(|| v.to_owned()),
                converted: None,
                flag: if ok { "N".into() } else { "B".into() },
            });
        }
    }
    app.db
        .monitoring()
        .commit_ingest(&IngestBatch {
            uploads: vec![Upload {
                mn: "AIRTEST000000000000000001".into(),
                cn: "2061".into(),
                datatime: "20250101000000".into(),
                pno: 0,
                site_id: site.id,
                values,
            }],
            ..IngestBatch::default()
        })
        .await
        .unwrap();

    let base = format!("http://{}", app.addr);
    log_in(&c, &base, "office", PASSWORD).await;
    wait_for(&c, "/", "#district-aqi").await;
    let aqi = c
        .find(Locator::Css("#district-aqi"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(aqi, "50", "the valid hour, not the running one");
    let card = c
        .find(Locator::XPath(
            "//h2[contains(., '当前小时空气质量')]/parent::div",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let end = gongjian_standards::cst::hour_end_local(valid)
        .format("%Y-%m-%d %H:00")
        .to_string();
    assert!(card.contains(&end), "{card}");
    assert!(card.contains("小时前"), "the age is said: {card}");
    assert!(card.contains("原武镇站 50 优"), "{card}");
    c.close().await.unwrap();
}

/// Issue 13 item 11: the report form asks only for the indicators that are
/// reported. air-15 carries 秸秆综合利用率 (reported) and two deductions
/// per fire point (`report = false` in the plan): the form asks for the
/// rate only, the indicator table says the deductions need no report, and
/// a report with the rate is stored with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_form_asks_only_for_reported_indicators() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.load_plan().await;
    app.user(
        "nongye",
        Role::Department,
        "区农业农村局",
        OrgKind::Department,
    )
    .await;
    let tid = app
        .db
        .campaigns()
        .task_id_by_key(None, "air-15")
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    log_in(&c, &base, "nongye", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    let path = format!("/tasks/{tid}");
    c.goto(&format!("{base}{path}")).await.unwrap();
    wait_for(&c, &path, "#report-form").await;
    let form = c
        .find(Locator::Css("#report-form"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("秸秆综合利用率（%）"), "{form}");
    assert!(!form.contains("扣减地方财力"), "{form}");
    let inputs = c
        .find_all(Locator::Css("#report-form input[name^='value:']"))
        .await
        .unwrap();
    assert_eq!(inputs.len(), 1);
    let table = c
        .find(Locator::Css("#indicators"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(table.contains("秸秆焚烧扣减地方财力"), "{table}");
    assert_eq!(
        c.find_all(Locator::Css("#indicators .not-reported"))
            .await
            .unwrap()
            .len(),
        2,
        "{table}"
    );

    fill(&c, "#r-text", "秸秆综合利用率已达 90.3%").await;
    fill(&c, "#report-form input[name^='value:']", "90.3").await;
    click(&c, "#submit-report").await;
    for _ in 0..300 {
        if c.find(Locator::Css(".flash.ok")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let detail = app.db.campaigns().task_detail(tid).await.unwrap();
    assert_eq!(detail.reports.len(), 1);
    let values: Vec<(String, String)> = detail.reports[0]
        .values
        .iter()
        .map(|v| (v.indicator.clone(), v.value.clone()))
        .collect();
    assert_eq!(values, vec![("秸秆综合利用率".into(), "90.3".into())]);
    c.close().await.unwrap();
}

/// Issue 13 item 19: no page scrolls sideways, on a phone (390×844) or a
/// wall screen (1920×1080), for any role that uses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_19_no_page_scrolls_sideways_on_a_phone_or_a_wall_screen() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.load_plan().await;
    app.load_this_years_plan().await;
    for (user, role, org, kind) in [
        ("office", Role::Office, "区环境攻坚办", OrgKind::Office),
        ("admin", Role::Admin, "区环境攻坚办", OrgKind::Office),
        ("yuanwu", Role::Township, "原武镇", OrgKind::Township),
        (
            "zhifa",
            Role::Department,
            "区行政综合执法局",
            OrgKind::Department,
        ),
        ("viewer", Role::Viewer, "区环境攻坚办", OrgKind::Office),
        (
            "qiye",
            Role::Enterprise,
            "平原示范热电有限公司",
            OrgKind::Enterprise,
        ),
    ] {
        app.user(user, role, org, kind).await;
    }
    let task = app
        .db
        .campaigns()
        .task_id_by_key(None, "air-15")
        .await
        .unwrap();
    // A stack of the enterprise with its factors, and a case for it: the
    // detail pages officials and the enterprise open most.
    let actor = Actor::cli();
    let firm = app.org("平原示范热电有限公司", OrgKind::Enterprise).await;
    let town = app.org("原武镇", OrgKind::Township).await;
    let site = app
        .db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "PY-STACK-01".into(),
                name: "平原示范热电 1号锅炉排口（脱硫脱硝除尘一体化超低排放改造后）".into(),
                kind: "stack_gas".into(),
                organisation_id: Some(firm),
                township_id: Some(town),
                longitude: Some("113.9612".into()),
                latitude: Some("35.1100".into()),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    // The season's reduction list: 预警应急's list and its row-by-row
    // editing pages are swept too.
    let list = "企业名称,统一社会信用代码,行业类别,绩效分级,生产线（工序）名称,黄色预警减排措施,黄色负荷上限(%),橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
平原示范热电有限公司,91410700MA44XY2K18,热力生产和供应,B,1号锅炉（脱硫脱硝除尘一体化超低排放改造后）,限产,80,限产,70,停产\n";
    let table = gongjian_tabular::read_csv_bytes("清单.csv", list.as_bytes()).unwrap();
    gongjian_app::emergency::import_list(&app.db, &actor, "2026-2027", &table)
        .await
        .unwrap();
    let case = app
        .db
        .cases()
        .create_case(
            &actor,
            &gongjian_storage::NewCase {
                title: "1号锅炉排口二氧化硫小时浓度连续超标".into(),
                source: "alarm".into(),
                category: "超标排放".into(),
                severity: gongjian_alarms::Severity::Major,
                description:
                    "二氧化硫折算浓度连续 3 小时超过限值 35 mg/m³，最高 52.6（超标 0.5 倍）".into(),
                site_id: Some(site.id),
                alarm_id: None,
                rule: None,
                factor: None,
                organisation_id: firm,
                township_id: Some(town),
                due_on: gongjian_storage::today_cst() + chrono::Duration::days(3),
                contact: None,
                longitude: Some("113.9612".into()),
                latitude: Some("35.1100".into()),
                attachments: Vec::new(),
            },
        )
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    let common = [
        "/".to_owned(),
        "/air".into(),
        "/water".into(),
        "/sources".into(),
        "/tasks".into(),
        "/tasks/mine".into(),
        "/campaigns".into(),
        format!("/tasks/{task}"),
        "/ledger".into(),
        "/reports".into(),
        "/account/password".into(),
        "/alarms".into(),
        "/alarms/rules".into(),
        "/cases".into(),
        "/inbox".into(),
        "/inbox/settings".into(),
        "/map".into(),
        format!("/sources/sites/{}", site.id),
        format!("/cases/{case}"),
        // Error pages say what happened in Chinese too.
        "/tasks/999999".into(),
        "/cases/999999".into(),
        "/no-such-page".into(),
        "/reports?month=2020-13".into(),
        "/system/audit".into(),
    ];
    let office_only = [
        "/cases/new",
        "/tasks/assign",
        "/sources/health",
        "/sources/sites/new",
        "/system/organisations",
        "/system/users",
        "/system/notify",
        "/emergency",
        "/emergency/list",
        "/emergency/list/new",
        "/emergency/season",
        "/sources/power-readings",
        "/sources/sites/{site}/edit",
    ];
    let mut wide = Vec::new();
    let mut english = Vec::new();
    for user in ["office", "admin", "yuanwu", "zhifa", "viewer", "qiye"] {
        c.set_window_size(1366, 900).await.unwrap();
        log_in(&c, &base, user, PASSWORD).await;
        wait_for(&c, "/", "#who").await;
        let mut pages: Vec<String> = common.to_vec();
        if matches!(user, "office" | "admin") {
            pages.extend(
                office_only
                    .iter()
                    .map(|p| p.replace("{site}", &site.id.to_string())),
            );
        }
        for (w, h) in [(390, 844), (1920, 1080)] {
            c.set_window_size(w, h).await.unwrap();
            for page in &pages {
                c.goto(&format!("{base}{page}")).await.unwrap();
                let v = wait_value(
                    &c,
                    "return document.readyState === 'complete' \
                       ? [document.documentElement.scrollWidth, window.innerWidth] : null;",
                )
                .await;
                let (scroll, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
                if scroll > inner {
                    wide.push(format!("{user} {w}×{h} {page}: {scroll} > {inner}"));
                }
                // Item 6, on the same walk: what the page says is Chinese.
                if w == 1920 {
                    let text = c
                        .execute(
                            "const raw = 'code, pre, kbd, samp, [translate=no]'; \
                             document.querySelectorAll(raw).forEach(e => e.style.display = 'none'); \
                             return document.title + '\\n' + document.body.innerText + '\\n' + \
                               Array.from(document.querySelectorAll('[placeholder],a[title],button[title],input[title],img[alt],[aria-label]')) \
                                 .filter(e => !e.closest('[translate=no]')) \
                                 .map(e => (e.getAttribute('placeholder') || '') + ' ' + \
                                   (e.getAttribute('title') || '') + ' ' + (e.getAttribute('alt') || '') + ' ' + \
                                   (e.getAttribute('aria-label') || '')) \
                                 .join('\\n');",
                            vec![],
                        )
                        .await
                        .unwrap();
                    for word in english_words(text.as_str().unwrap_or("")) {
                        english.push(format!("{user} {page}: {word}"));
                    }
                }
            }
        }
        click(&c, "#logout").await;
        wait_for(&c, "/login", "#username").await;
    }
    assert!(
        wide.is_empty(),
        "pages wider than the window:\n{}",
        wide.join("\n")
    );
    english.sort();
    english.dedup();
    assert!(
        english.is_empty(),
        "English words on pages (item 6):\n{}",
        english.join("\n")
    );
}

/// Words a Chinese page may carry in Latin letters: pollutant and unit
/// symbols, standard and protocol names, file formats, and the login names
/// of the test's accounts (data, like any name typed in). Codes, raw
/// records and technical examples are marked as such on the pages
/// (`<code>`, `<pre>`, `translate="no"`) and are not read.
const LATIN_ALLOWED: &[&str] = &[
    "PM",
    "SO",
    "NO",
    "CO",
    "O",
    "AQI",
    "IAQI",
    "VOCs",
    "VOC",
    "HJ",
    "GB",
    "MN",
    "ST",
    "CN",
    "QN",
    "PW",
    "CEMS",
    "DCS",
    "XLSX",
    "CSV",
    "PDF",
    "JPG",
    "PNG",
    "GIF",
    "WebP",
    "Office",
    "UTF",
    "GBK",
    "TOML",
    "KB",
    "MB",
    "GB",
    "mg",
    "kg",
    "km",
    "NA",
    "ID",
    "API",
    "SMTP",
    "SMS",
    "Webhook",
    "CRC",
    "JSON",
    "STARTTLS",
    "URL",
    "HTTP",
    "HTTPS",
    "Email",
    "email",
    "m",
    "t",
    "h",
    "min",
    "kWh",
    "kW",
    "NOx",
    "pH",
    "COD",
    "BOD",
    "TP",
    "TN",
    "NH",
    "Cd",
    "Hg",
    "As",
    "Pb",
    "Cr",
    "Cu",
    "Ni",
    "Zn",
    "Ept",
    "EPT",
    "office",
    "admin",
    "yuanwu",
    "zhifa",
    "viewer",
    "qiye",
    "PY",
    "STACK",
    "Mock",
    "ECharts",
    "Leaflet",
    "OpenStreetMap",
    "x",
    "y",
    "z",
];

/// The Latin-letter words of `text` that are not in [`LATIN_ALLOWED`]: a
/// word is a run of ASCII letters not joined to a digit (so `a21026`,
/// `PM2.5` and `GB 3095-2012`'s number are not words).
fn english_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
    {
        if token.is_empty() || token.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        for word in token.split(|c: char| !c.is_ascii_alphabetic()) {
            if word.len() >= 2 && !LATIN_ALLOWED.contains(&word) {
                out.push(word.to_owned());
            }
        }
    }
    out
}

#[test]
fn english_words_finds_words_not_codes_units_or_standards() {
    assert_eq!(
        english_words("PM2.5 35 µg/m³，GB 3095-2012，a21026 二氧化硫；site PY009 already exists"),
        ["site", "already", "exists"]
    );
    assert!(english_words("HJ 212-2017 · MN 001 · XLSX · AQI 120").is_empty());
}

/// Issue 14: a township official records a problem on a phone (390×844):
/// a photo from the camera input, the position from the browser (stubbed
/// here), the category and the unit; it becomes a 督办 case with the photo,
/// in the township's list and the office's, and nothing scrolls sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patrol_on_a_phone_records_a_problem_with_a_photo_and_a_position() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    let base = format!("http://{}", app.addr);
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("现场.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82").unwrap();

    c.set_window_size(390, 844).await.unwrap();
    log_in(&c, &base, "yuanwu", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/cases/new")).await.unwrap();
    wait_for(&c, "/cases/new", "#case-form").await;
    // The browser's position, as a phone's GPS would give it.
    c.execute(
        "navigator.geolocation.getCurrentPosition = function (ok) {\
           ok({ coords: { longitude: 113.971234, latitude: 35.087654, accuracy: 12 } }); };",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#locate").await;
    let status = wait_value(
        &c,
        "var t = document.querySelector('#geo-status').textContent;\
         return t.indexOf('精度') >= 0 ? t : null;",
    )
    .await;
    assert!(status.as_str().unwrap().contains("12 米"), "{status}");
    c.find(Locator::Css("#c-photo"))
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    fill(&c, "#c-title", "大宋庄村北地块露天焚烧秸秆").await;
    fill(&c, "#c-desc", "约 2 亩麦秸正在焚烧，已通知村干部。").await;
    c.execute(
        "document.querySelector('#c-category').value = '露天焚烧';",
        vec![],
    )
    .await
    .unwrap();
    let wide = wait_value(
        &c,
        "return [document.documentElement.scrollWidth, window.innerWidth];",
    )
    .await;
    assert!(
        wide[0].as_i64() <= wide[1].as_i64(),
        "form scrolls sideways: {wide}"
    );
    click(&c, "#case-submit").await;
    for _ in 0..300 {
        if c.find(Locator::Css("#case-state")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let state = c
        .find(Locator::Css("#case-state"))
        .await
        .unwrap_or_else(|_| panic!("no case page after submit"))
        .text()
        .await
        .unwrap();
    assert_eq!(state, "待签收");
    let unit = c
        .find(Locator::Css("#case-unit"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        unit, "原武镇",
        "a township's patrol is its own case by default"
    );
    let page = c.source().await.unwrap();
    assert!(page.contains("113.971234, 35.087654"), "position kept");
    let shown = wait_value(
        &c,
        "var img = document.querySelector('.photos img');\
         return img && img.complete ? img.naturalWidth : null;",
    )
    .await;
    assert_eq!(shown, 1, "the photo is served back");
    let case_url = c.current_url().await.unwrap().path().to_owned();

    c.goto(&format!("{base}/cases")).await.unwrap();
    wait_for(&c, "/cases", "#cases").await;
    c.find(Locator::LinkText("大宋庄村北地块露天焚烧秸秆"))
        .await
        .expect("the case is in the township's list");
    click(&c, "#logout").await;
    log_in(&c, &base, "office", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/cases")).await.unwrap();
    wait_for(&c, "/cases", "#cases").await;
    c.find(Locator::LinkText("大宋庄村北地块露天焚烧秸秆"))
        .await
        .expect("and in the office's");
    // A bad position is refused in Chinese and nothing is stored.
    c.goto(&format!("{base}/cases/new")).await.unwrap();
    wait_for(&c, "/cases/new", "#case-form").await;
    fill(&c, "#c-title", "位置错误的记录").await;
    c.execute(
        "document.querySelector('#c-lon').value = '200';\
         document.querySelector('#c-unit').selectedIndex = 1;",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#case-submit").await;
    wait_for(&c, "/cases/new", "#err-position").await;
    let error = c
        .find(Locator::Css("#err-position"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        error.contains("经度"),
        "the refusal is next to the position: {error}"
    );
    let kept = c
        .find(Locator::Css("#c-title"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("位置错误的记录"));
    assert_eq!(
        app.db
            .cases()
            .list(&Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let _ = case_url;
}

#[path = "common/map_fixture.rs"]
mod map_fixture;

/// Issue 14 item 7: 一张图 draws the plan's outlines and every layer's
/// markers with nothing from outside the platform (no tile URL set, every
/// resource from the application's origin), shows a hostile name as text,
/// hides a layer with its checkbox, and fits a phone and a wall screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_draws_outlines_and_markers_offline() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    map_fixture::map_fixture(&app).await;
    let base = format!("http://{}", app.addr);
    log_in(&c, &base, "office", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    for (w, h) in [(1920, 1080), (390, 844)] {
        c.set_window_size(w, h).await.unwrap();
        c.goto(&format!("{base}/map")).await.unwrap();
        wait_for(&c, "/map", "#map[data-state=ready]").await;
        let drawn = c
            .execute(
                "return [document.querySelectorAll('#map.leaflet-container').length, \
                   document.querySelectorAll('#map path.map-boundary').length, \
                   document.querySelectorAll('#map path.map-marker').length, \
                   document.querySelectorAll('#map .leaflet-tile').length, \
                   document.documentElement.scrollWidth, window.innerWidth, \
                   document.getElementById('map').getBoundingClientRect().height];",
                vec![],
            )
            .await
            .unwrap();
        let n = |i: usize| drawn[i].as_f64().unwrap();
        assert_eq!(n(0), 1.0, "Leaflet took the box: {drawn}");
        assert_eq!(n(1), 5.0, "the district and four townships: {drawn}");
        assert_eq!(n(2), 5.0, "station, two sources, two cases: {drawn}");
        assert_eq!(n(3), 0.0, "no base layer configured: {drawn}");
        assert!(n(4) <= n(5), "{w}×{h} scrolls sideways: {drawn}");
        assert!(n(6) >= 250.0, "{w}×{h}: the map has room: {drawn}");
        let foreign = c
            .execute(
                "return performance.getEntriesByType('resource').map(e => e.name) \
                   .filter(n => !n.startsWith(location.origin + '/'));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(foreign, serde_json::json!([]), "nothing from outside");
        if let Ok(dir) = std::env::var("GONGJIAN_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).unwrap();
            let png = c.screenshot().await.unwrap();
            std::fs::write(format!("{dir}/map-{w}x{h}.png"), png).unwrap();
        }
    }
    // Every source's popup: the hostile name arrives as text, not markup.
    let popups = c
        .execute(
            "return Array.from(document.querySelectorAll('#map path.map-marker-sources')).map(p => { \
               p.dispatchEvent(new MouseEvent('click', {bubbles: true})); \
               const box = document.querySelector('.leaflet-popup-content'); \
               return box ? [box.textContent, box.querySelectorAll('img').length, \
                 box.querySelector('a') ? box.querySelector('a').getAttribute('href') : ''] : null; });",
            vec![],
        )
        .await
        .unwrap();
    let popups = popups.as_array().unwrap();
    assert_eq!(popups.len(), 2, "{popups:?}");
    let hostile = popups
        .iter()
        .find(|p| {
            p[0].as_str()
                .is_some_and(|t| t.contains(map_fixture::HOSTILE))
        })
        .unwrap_or_else(|| panic!("no popup shows the name as text: {popups:?}"));
    assert!(
        hostile[0].as_str().unwrap().contains("报警中 1 条"),
        "{hostile}"
    );
    assert!(popups.iter().all(|p| p[1] == 0), "markup ran: {popups:?}");
    assert!(
        hostile[2].as_str().unwrap().starts_with("/sources/sites/"),
        "{hostile}"
    );
    // The sources layer's checkbox hides its markers.
    click(&c, "#map-layers input[value=sources]").await;
    let left = wait_value(
        &c,
        "const n = document.querySelectorAll('#map path.map-marker-sources').length; \
         return n === 0 ? document.querySelectorAll('#map path.map-marker').length : null;",
    )
    .await;
    assert_eq!(left, 3);
    c.close().await.unwrap();
}

/// Issue 13 items 3, 5, 10 and 17 in a browser, as the office and a
/// township use them: the office registers a national station with its
/// class through the form (saved whole, the class on its page), a township
/// reports with a photo that shows as a thumbnail and can add files until
/// the report is reviewed, and the office publishes 月调度 with its 期数 and
/// 文号, printed at the top of the published version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_classes_a_station_sees_report_photos_and_numbers_a_report() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.load_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    let base = format!("http://{}", app.addr);

    // Item 3 and 5: a national station registered through the form.
    log_in(&c, &base, "office", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/sources/sites/new")).await.unwrap();
    wait_for(&c, "/sources/sites/new", "select[name=station_class]").await;
    fill(&c, "input[name=code]", "GK-1001A").await;
    fill(&c, "input[name=name]", "区政府国控站").await;
    c.execute(
        "document.querySelector('select[name=kind]').value = 'air_station';\
         document.querySelector('select[name=station_class]').value = 'national';",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "form[action='/sources/sites'] button[type=submit]").await;
    for _ in 0..300 {
        if c.current_url().await.unwrap().path() != "/sources/sites/new"
            && c.current_url().await.unwrap().path() != "/sources/sites"
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = c.source().await.unwrap();
    assert!(page.contains("空气站 · 国控站 · 计入区考核"), "{page}");
    let site = app
        .db
        .monitoring()
        .site_by_code("GK-1001A")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        site.station_class,
        Some(gongjian_campaign::StationClass::National)
    );
    click(&c, "#logout").await;
    wait_for(&c, "/login", "#username").await;

    // Item 10: a report with a photo, shown as a thumbnail.
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("秸秆处置现场.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82").unwrap();
    let tid = app
        .db
        .campaigns()
        .task_id_by_key(None, "air-15")
        .await
        .unwrap();
    let path = format!("/tasks/{tid}");
    log_in(&c, &base, "yuanwu", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}{path}")).await.unwrap();
    wait_for(&c, &path, "#report-form").await;
    fill(&c, "#r-text", "本月处置火点 1 处，附现场照片").await;
    c.find(Locator::Css("#report-form input[type=file]"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    click(&c, "#submit-report").await;
    let shown = wait_value(
        &c,
        "var img = document.querySelector('img.thumb');\
         return img && img.complete ? img.naturalWidth : null;",
    )
    .await;
    assert_eq!(shown, 1, "the photo is shown as a thumbnail");
    assert!(
        c.find(Locator::Css("form.attach-form")).await.is_ok(),
        "files can be added until the report is reviewed"
    );
    click(&c, "#logout").await;
    wait_for(&c, "/login", "#username").await;

    // Item 17: 期数 and 文号 at publication.
    log_in(&c, &base, "office", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/reports?month=2020-07"))
        .await
        .unwrap();
    wait_for(&c, "/reports", "#publish").await;
    fill(&c, "input[name=issue]", "第 7 期").await;
    fill(&c, "input[name=document_number]", "平示攻坚办〔2020〕18 号").await;
    click(&c, "#publish").await;
    wait_for(&c, "/reports/2020-07/v/1", "#report-masthead").await;
    let masthead = c
        .find(Locator::Css("#report-masthead"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        masthead.contains("第 7 期") && masthead.contains("平示攻坚办〔2020〕18 号"),
        "{masthead}"
    );
}

/// Issue 15: the office issues an orange warning on 预警应急 in the
/// browser, and an enterprise on the reduction list opens the same page and
/// reads its own measures for that level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_issues_a_warning_and_the_enterprise_reads_its_measures() {
    let Some((_driver, c)) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user(
        "qiye",
        Role::Enterprise,
        "平原示范铸造有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let list = "企业名称,行业类别,绩效分级,正常工况日用电量(kWh),黄色预警减排措施,黄色负荷上限(%),\
橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
平原示范铸造有限公司,铸造,C,4800,熔炼工序限产,80,熔炼工序限产,60,全厂停产\n";
    let table = gongjian_tabular::read_csv_bytes("清单.csv", list.as_bytes()).unwrap();
    gongjian_app::emergency::import_list(&app.db, &Actor::cli(), "2026-2027", &table)
        .await
        .unwrap();
    let base = format!("http://{}", app.addr);
    log_in(&c, &base, "office", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/emergency")).await.unwrap();
    wait_for(&c, "/emergency", "#issue-form").await;
    c.execute(
        "document.querySelector('#w-level').value = 'orange';\
         document.querySelector('#w-from').value = '2026-12-20';",
        vec![],
    )
    .await
    .unwrap();
    fill(&c, "#w-doc", "新环攻坚办〔2026〕45号").await;
    click(&c, "#issue-warning").await;
    wait_for(&c, "/emergency", ".flash.ok").await;
    let table = c
        .find(Locator::Css("#warnings"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        table.contains("橙色") && table.contains("新环攻坚办〔2026〕45号"),
        "{table}"
    );
    click(&c, "#logout").await;
    wait_for(&c, "/login", "#username").await;

    log_in(&c, &base, "qiye", PASSWORD).await;
    wait_for(&c, "/", "#who").await;
    c.goto(&format!("{base}/emergency")).await.unwrap();
    wait_for(&c, "/emergency", ".own-measures").await;
    let own = c
        .find(Locator::Css(".own-measures"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        own.contains("熔炼工序限产") && own.contains("负荷不超过 60%"),
        "the orange measure, not the yellow one: {own}"
    );
}
