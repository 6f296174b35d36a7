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
