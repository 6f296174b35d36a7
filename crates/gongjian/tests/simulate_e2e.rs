//! Black box, end to end: `gongjian serve` with its HJ 212 listener, and a
//! virtual logger from `gongjian simulate` sending 2051 minute data for a
//! few simulated hours (fast-forwarded). The minute series and the hourly
//! series the platform rolls up (HJ 75/76: ≥ 45 valid minutes, mean of the
//! minutes) must be visible through the API, the site page and the CSV
//! export.

mod common;
use common::{Store, free_port, on_both_stores, wait_listening};

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};

const PASSWORD: &str = "office-pass-2020";

/// `gongjian ARGS…` on `dir`, pointed at `store` (its `--config` goes after
/// the subcommand's arguments).
fn gongjian(store: &Store, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    c.env("GONGJIAN_LOG_LEVEL", "warn")
        .env("GONGJIAN_DATA_DIR", dir)
        .args(args);
    store.apply(&mut c);
    c
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap()).unwrap()
}

on_both_stores!(simulated_minutes_become_valid_hours_visible_in_the_api_and_pages);

fn simulated_minutes_become_valid_hours_visible_in_the_api_and_pages(store: Store) {
    block_on(simulate_and_look(store));
}

/// Run a test's body on a two-thread runtime (the server and the
/// simulator are processes; the body only waits and reads).
fn block_on<F: std::future::Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(body);
}

async fn simulate_and_look(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let db_url = store.url(dir.path());
    let (http, hj212) = (free_port(), free_port());

    // One stack logger registered as a device with its own site.
    // (`simulate` opens no configured database: it registers in the URL
    // given, so it is not pointed at the store.)
    let reg = gongjian(&Store::sqlite(), dir.path(), &[])
        .args(["simulate", "--target", "127.0.0.1:1", "--loggers", "1"])
        .args(["--kind", "stack", "--duration", "0", "--register", &db_url])
        .args(["--mn-prefix", "E2E"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&reg.stderr);
    assert!(stderr.contains("registered 1 loggers"), "{stderr}");
    let mut add = gongjian(
        &store,
        dir.path(),
        &[
            "user",
            "add",
            "--role",
            "office",
            "--org",
            "区环境攻坚办",
            "--org-kind",
            "office",
            "--password-stdin",
            "office",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    use std::io::Write;
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success());

    let _server = Server(
        gongjian(
            &store,
            dir.path(),
            &[
                "serve",
                "--http",
                &format!("127.0.0.1:{http}"),
                "--hj212",
                &format!("127.0.0.1:{hj212}"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    wait_listening(SocketAddr::from(([127, 0, 0, 1], hj212)));
    wait_listening(SocketAddr::from(([127, 0, 0, 1], http)));

    // 2025-01-01 00:00–02:40 Beijing time at 1200× (8 s): sixteen 10-minute
    // windows, no 2061 from the logger, no calibration, outage or exceedance.
    let sim = gongjian(&Store::sqlite(), dir.path(), &[])
        .args(["simulate", "--target", &format!("127.0.0.1:{hj212}")])
        .args(["--loggers", "1", "--kind", "stack", "--mn-prefix", "E2E"])
        .args([
            "--speed",
            "1200",
            "--duration",
            "8",
            "--start",
            "20250101000000",
        ])
        .args([
            "--no-hourly",
            "--exceedance",
            "0",
            "--calibration",
            "0",
            "--outage",
            "0",
        ])
        .output()
        .unwrap();
    assert!(
        sim.status.success(),
        "{}",
        String::from_utf8_lossy(&sim.stderr)
    );

    let base = format!("http://127.0.0.1:{http}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "office", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let sites: Value = client
        .get(format!("{base}/api/v1/sites"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let site = sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"].as_str().unwrap_or_default().starts_with("E2E"))
        .unwrap_or_else(|| panic!("no E2E site in {sites}"));
    let id = site["id"].as_i64().unwrap();
    let series = |kind: &'static str| {
        let client = client.clone();
        let url =
            format!("{base}/api/v1/sites/{id}/series?kind={kind}&from=2025-01-01&to=2025-01-01");
        async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let so2 = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|s| s["factor"] == "a21026")
            .cloned()
    };

    // The rollup task runs every 2 s; give it (and a loaded machine) time.
    let start = Instant::now();
    let hours = loop {
        let h = series("hour").await;
        if let Some(s) = so2(&h)
            && s["points"].as_array().unwrap().len() >= 2
        {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no hourly rollup: {h}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let minutes = so2(&series("min").await).expect("minute series");
    let mins = minutes["points"].as_array().unwrap();
    assert!(mins.len() >= 12, "{} minute values", mins.len());
    assert_eq!(minutes["unit"], "mg/m³");

    // The first hour (00:00–01:00 CST = 2024-12-31 16:00 UTC): six valid
    // 10-minute records stand for 60 minutes → a valid hour, their mean.
    let hour0 = 1_735_660_800;
    let h0 = hours["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["period_start"] == hour0)
        .unwrap_or_else(|| panic!("no hour 00 in {hours}"));
    assert_eq!(h0["flag"], "N");
    assert_eq!(h0["source"], "rollup");
    let in_hour: Vec<Decimal> = mins
        .iter()
        .filter(|p| (hour0..hour0 + 3600).contains(&p["period_start"].as_i64().unwrap()))
        .map(|p| dec(&p["value"]))
        .collect();
    assert_eq!(in_hour.len(), 6);
    let mean = in_hour.iter().sum::<Decimal>() / Decimal::from(6);
    assert!(
        (dec(&h0["value"]) - mean).abs() < Decimal::new(1, 3),
        "hour {} vs mean of minutes {mean}",
        h0["value"]
    );

    // The site page draws the series; the CSV export carries unit, period and flag.
    let page = client
        .get(format!("{base}/sources/sites/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csv = client
        .get(format!(
            "{base}/api/v1/sites/{id}/series.csv?kind=hour&from=2025-01-01&to=2025-01-01"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("mg/m³"), "{csv}");
    assert!(
        csv.contains("2025-01-01 01:00") || csv.contains("2025-01-01 00:00"),
        "{csv}"
    );
    let health: Value = client
        .get(format!("{base}/api/v1/devices/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(health.to_string().contains("E2E"), "{health}");

    // The listener's counters are on the web /metrics.
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let frames: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("gongjian_hj212_frames_received_total "))
        .unwrap_or_else(|| panic!("no HJ 212 counters in /metrics:\n{metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!(frames >= 16, "{frames} frames counted");
}

on_both_stores!(simulated_power_meters_show_a_night_switch_off_and_a_cut_in_a_warning);

/// Issue 15 item 7: `simulate --kind power` registers enterprises with a
/// production and a treatment meter (circuits linked), sends the ST 80
/// vendor form that `[hj212.field_map]` stores as `Pt`/`Ept`, and plays the
/// scenario: enterprise 1 cuts production to 60 % on a warning day,
/// enterprise 2 switches its treatment off from 22:00 while production runs.
fn simulated_power_meters_show_a_night_switch_off_and_a_cut_in_a_warning(store: Store) {
    block_on(simulate_power(store));
}

async fn simulate_power(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let db_url = store.url(dir.path());
    let hj212 = free_port();
    let warn = gongjian(
        &store,
        dir.path(),
        &[
            "emergency",
            "warn",
            "--level",
            "橙色",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-01",
        ],
    )
    .output()
    .unwrap();
    assert!(
        warn.status.success(),
        "{}",
        String::from_utf8_lossy(&warn.stderr)
    );
    let reg = gongjian(&Store::sqlite(), dir.path(), &[])
        .args(["simulate", "--target", "127.0.0.1:1", "--loggers", "4"])
        .args(["--kind", "power", "--duration", "0", "--register", &db_url])
        .args(["--mn-prefix", "PWR"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&reg.stderr);
    assert!(stderr.contains("registered 4 loggers"), "{stderr}");
    let _server = Server(
        gongjian(
            &store,
            dir.path(),
            &[
                "serve",
                "--http",
                &format!("127.0.0.1:{}", free_port()),
                "--hj212",
                &format!("127.0.0.1:{hj212}"),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    wait_listening(SocketAddr::from(([127, 0, 0, 1], hj212)));
    // 2024-12-31 21:00 to about 2025-01-01 02:00 Beijing time at 3600×.
    let sim = gongjian(&Store::sqlite(), dir.path(), &[])
        .args(["simulate", "--target", &format!("127.0.0.1:{hj212}")])
        .args(["--loggers", "4", "--kind", "power", "--mn-prefix", "PWR"])
        .args(["--speed", "3600", "--duration", "6"])
        .args(["--start", "20241231210000", "--register", &db_url])
        .args(["--outage", "0"])
        .output()
        .unwrap();
    assert!(
        sim.status.success(),
        "{}",
        String::from_utf8_lossy(&sim.stderr)
    );

    let db = gongjian_storage::Db::connect(&db_url, &gongjian_storage::DbOptions::default())
        .await
        .unwrap();
    let sites = db.monitoring().sites().await.unwrap();
    let site = |i: usize| {
        let code = format!("PWR{i:0>21}");
        sites
            .iter()
            .find(|s| s.code == code)
            .unwrap_or_else(|| panic!("{code} in {sites:?}"))
            .clone()
    };
    let (prod1, prod2, treat2) = (site(0), site(2), site(3));
    assert_eq!(prod1.kind, "power");
    let circuits = db.power().circuits().await.unwrap();
    assert_eq!(circuits[&treat2.id].serves, [prod2.id], "{circuits:?}");
    // Hourly Pt (kW) of an hour starting at `hh`:00 Beijing time.
    let hour_kw = |site: i64, day: &'static str, hh: i64| {
        let db = db.clone();
        async move {
            let d = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
            let at = gongjian_standards::cst::day_start_utc(d) + hh * 3600;
            db.monitoring()
                .series_points(site, "Pt", "hour", at, at + 1)
                .await
                .unwrap()
                .first()
                .and_then(|p| p.value.clone())
        }
    };
    let kw = |v: Option<String>| -> f64 { v.expect("an hourly value").parse().unwrap() };
    assert!((kw(hour_kw(prod1.id, "2024-12-31", 21).await) - 200.0).abs() < 0.1);
    assert!(
        (kw(hour_kw(prod1.id, "2025-01-01", 0).await) - 120.0).abs() < 0.1,
        "cut to 60 %"
    );
    assert!((kw(hour_kw(prod2.id, "2025-01-01", 0).await) - 150.0).abs() < 0.1);
    assert!((kw(hour_kw(treat2.id, "2024-12-31", 21).await) - 30.0).abs() < 0.1);
    assert_eq!(
        kw(hour_kw(treat2.id, "2024-12-31", 22).await),
        0.0,
        "switched off at night"
    );
    // The counter is stored too, and rises with the load.
    let ept = db
        .monitoring()
        .series_points(prod1.id, "Ept", "hour", 0, i64::MAX)
        .await
        .unwrap();
    assert!(ept.len() >= 3, "{ept:?}");
    db.close().await;
}
