//! Black box: `gongjian sites import FILE` registers stations from a file in
//! the layout of 站点导入/站点导出 (docs/cli/sites.md), so scripts can
//! register stations before importing their data.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Store, on_both_stores};
use serde_json::Value;

fn gongjian_on(store: &Store, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("GONGJIAN_LOG_LEVEL", "warn");
    store.apply(&mut cmd).output().expect("run gongjian")
}

const GOOD: &str = "站点编码,站点名称,类型,所属企业,乡镇,经度,纬度,MN,密码,协议版本,对时,分钟间隔,监测因子\n\
    PY001,原武镇站,空气站,,原武镇,113.71,35.05,,,,,,\n\
    PY002,师寨镇站,air_station,,师寨镇,,,,,,,,\n";

on_both_stores!(sites_import_registers_stations_from_the_export_layout);
/// Issue 13 item 2: the command line registers sites as 站点导入 does; one
/// bad row and nothing is stored; a second import updates.
fn sites_import_registers_stations_from_the_export_layout(store: Store) {
    let gongjian = |dir: &Path, args: &[&str]| gongjian_on(&store, dir, args);
    let dir = tempfile::tempdir().unwrap();
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans/pingyuan-2020");
    let loaded = gongjian(dir.path(), &["plan", "load", plan.to_str().unwrap()]);
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );

    // A bad row (unknown township, unknown kind) refuses the whole file.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("{GOOD}PY009,无名站,空气站,,不存在镇,,,,,,,,\n"),
    )
    .unwrap();
    let out = gongjian(dir.path(), &["sites", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.csv, line 4"), "{stderr}");
    assert!(stderr.contains("单位“不存在镇”不存在"), "{stderr}");
    assert!(stderr.contains("未导入任何站点"), "{stderr}");

    let file = dir.path().join("站点.csv");
    std::fs::write(&file, GOOD).unwrap();
    let out = gongjian(
        dir.path(),
        &["sites", "import", file.to_str().unwrap(), "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Nothing of the refused file was stored: both are new now.
    assert_eq!(summary["created"], 2);
    assert_eq!(summary["updated"], 0);
    assert_eq!(summary["codes"], serde_json::json!(["PY001", "PY002"]));

    let out = gongjian(dir.path(), &["sites", "import", file.to_str().unwrap()]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("新建 0 个站点，更新 2 个"), "{stdout}");

    // An unknown site kind names its row and column.
    let kind = dir.path().join("kind.csv");
    std::fs::write(&kind, "站点编码,站点名称,类型\nPY003,祝楼乡站,气象站\n").unwrap();
    let out = gongjian(dir.path(), &["sites", "import", kind.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kind.csv, line 2"), "{stderr}");
    assert!(stderr.contains("站点类型“气象站”无效"), "{stderr}");
}

on_both_stores!(a_national_hourly_file_imports_the_registered_stations_only);
/// Issue 13 item 14: the national real-time publication lists every station
/// of the country. Its registered stations are imported, the others are
/// counted and passed over; a file with none of the district's stations is
/// refused with a message saying so.
fn a_national_hourly_file_imports_the_registered_stations_only(store: Store) {
    let gongjian = |dir: &Path, args: &[&str]| gongjian_on(&store, dir, args);
    let dir = tempfile::tempdir().unwrap();
    let national =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/national_hourly_2026031008.csv");
    let national = national.to_str().unwrap();

    let out = gongjian(dir.path(), &["import", "air", national]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("没有本区已登记的空气站"), "{stderr}");

    let sites = dir.path().join("站点.csv");
    std::fs::write(
        &sites,
        "站点编码,站点名称,类型,站点类别\n1783A,市监测站,空气站,国控站\n",
    )
    .unwrap();
    let out = gongjian(dir.path(), &["sites", "import", sites.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gongjian(dir.path(), &["import", "air", national, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(o["stations"], serde_json::json!(["1783A"]), "{o}");
    assert_eq!(o["accepted"], 1, "{o}");
    let skipped = o["skipped"].as_array().unwrap();
    assert!(
        !skipped.is_empty() && !skipped.contains(&"1783A".into()),
        "{o}"
    );
    let text = gongjian(dir.path(), &["import", "air", national]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains(&format!("跳过本区未登记的站点 {} 个", skipped.len())),
        "{stdout}"
    );
}
