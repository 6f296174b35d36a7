//! Issue #13 item 22, black box: `demo` refuses a database URL instead of
//! silently running on (and deleting) its own SQLite file.

use std::path::Path;
use std::process::{Command, Output};

fn demo(dir: &Path, extra: &[&str], env_url: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.args(["demo", "--no-serve", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env_remove("GONGJIAN_DATABASE_URL")
        .env("GONGJIAN_LOG_LEVEL", "warn");
    if let Some(url) = env_url {
        cmd.env("GONGJIAN_DATABASE_URL", url);
    }
    cmd.output().expect("run gongjian demo")
}

/// `gongjian ARGS --data-dir DIR`, which must succeed; its stdout.
fn run_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("GONGJIAN_DATABASE_URL")
        .env("GONGJIAN_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PROD: &str = "postgres://postgres@127.0.0.1:5432/prod";

/// Run `demo` over a previous demo database and check it was refused and
/// left that database alone.
fn assert_refused(extra: &[&str], env_url: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gongjian.db");
    std::fs::write(&db, b"previous demo").unwrap();
    let out = demo(dir.path(), extra, env_url);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "demo accepted a database URL");
    assert!(
        stderr.contains("不接受数据库地址") && stderr.contains("gongjian serve"),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("演示数据已就绪"),
        "demo ran anyway"
    );
    assert_eq!(std::fs::read(&db).unwrap(), b"previous demo");
}

#[test]
fn item_22_demo_refuses_database_flag() {
    assert_refused(&["--database", PROD], None);
}

#[test]
fn item_22_demo_refuses_database_environment() {
    assert_refused(&[], Some(PROD));
}

/// Issue 12 item 8 and issue 13 item 21: the demo is a working office of
/// this year — 2020 archived, this year's example campaign in force and
/// judged from this year's data — and two starts show the same figures.
#[test]
fn demo_runs_this_years_campaign_with_the_same_figures_on_every_start() {
    use chrono::Datelike;
    // The demo works in China Standard Time.
    let year = (chrono::Utc::now() + chrono::Duration::hours(8))
        .year()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let gongjian = |args: &[&str]| run_in(dir.path(), args);
    let figures = |targets: &str| -> Vec<serde_json::Value> {
        let rows: Vec<serde_json::Value> = serde_json::from_str(targets).unwrap();
        rows.iter()
            .map(|t| serde_json::json!([t["key"], t["value"], t["ytd"], t["last_year"]]))
            .collect()
    };
    let first = demo(dir.path(), &[], None);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let listed = gongjian(&["plan", "list"]);
    assert!(
        listed.contains(&format!("pingyuan-{year}\t{year}\t执行中")),
        "{listed}"
    );
    assert!(listed.contains("（示例）"), "{listed}");
    assert!(listed.contains("pingyuan-2020\t2020\t已结束"), "{listed}");
    let this_year = figures(&gongjian(&["targets", "--json"]));
    let pm25 = this_year.iter().find(|t| t[0] == "air-pm25").unwrap();
    assert_ne!(
        pm25[2],
        serde_json::Value::Null,
        "this year's PM2.5 is measured"
    );

    let second = demo(dir.path(), &["--fresh"], None);
    assert!(second.status.success());
    assert_eq!(figures(&gongjian(&["targets", "--json"])), this_year);
}

/// Issue 13 item 21: a second `demo` keeps what was done in the first (it
/// serves the same database again); only `--fresh` rebuilds it.
#[test]
fn item_21_demo_keeps_its_database_unless_asked_for_a_fresh_one() {
    use chrono::Datelike;
    let year = (chrono::Utc::now() + chrono::Duration::hours(8)).year();
    let key = format!("pingyuan-{year}");
    let dir = tempfile::tempdir().unwrap();
    let plan = |args: &[&str]| {
        let mut all = vec!["plan"];
        all.extend_from_slice(args);
        run_in(dir.path(), &all)
    };
    assert!(demo(dir.path(), &[], None).status.success());
    plan(&["close", &key]);

    let again = demo(dir.path(), &[], None);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        said.contains("沿用上次的演示数据") && said.contains("--fresh"),
        "{said}"
    );
    assert!(
        said.contains("乡镇/街道") && !said.contains("township"),
        "roles are printed in Chinese: {said}"
    );
    assert!(
        plan(&["list"]).contains(&format!("{key}\t{year}\t已结束")),
        "the office's change was kept"
    );

    let fresh = demo(dir.path(), &["--fresh"], None);
    assert!(fresh.status.success());
    assert!(String::from_utf8_lossy(&fresh.stdout).contains("演示数据已就绪"));
    assert!(
        plan(&["list"]).contains(&format!("{key}\t{year}\t执行中")),
        "a fresh demo is rebuilt"
    );
}
