//! Black box: `gongjian import air` of a year's file, then `gongjian targets
//! --json` shows that year's annual means, good days and allowance against
//! the loaded 2020 plan's targets (docs/cli/targets.md).

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

/// One station, all of 2020: PM2.5 50 µg/m³ January–June and 70 July–
/// December (PM10 = 1.5×): annual means 60.05 → 60 and 90.08 → 90; every
/// day 良 (AQI 72 and 94). One row with a bad value is rejected.
fn year_csv() -> String {
    let mut s = String::from("station,time,so2,no2,co,o3,pm10,pm25\n");
    let start = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let july = chrono::NaiveDate::from_ymd_opt(2020, 7, 1).unwrap();
    for day in 0..366 {
        let d = start + chrono::Duration::days(day);
        let pm25: u32 = if d < july { 50 } else { 70 };
        for h in 1..=24 {
            let end = d.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(h);
            s.push_str(&format!(
                "S1,{},8,20,0.6,60,{},{}\n",
                end.format("%Y-%m-%d %H:%M"),
                pm25 * 3 / 2,
                pm25
            ));
        }
    }
    s.push_str("S1,2020-12-31 23:30,8,20,0.6,60,105,七十\n");
    s
}

/// Register air stations with `gongjian sites import` (an air import takes
/// only registered stations).
fn register(store: &Store, dir: &Path, codes: &[&str]) {
    let file = dir.join("stations.csv");
    let mut csv = String::from("站点编码,站点名称,类型\n");
    for c in codes {
        csv.push_str(&format!("{c},{c}站,空气站\n"));
    }
    std::fs::write(&file, csv).unwrap();
    let out = gongjian_on(store, dir, &["sites", "import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

on_both_stores!(a_year_imported_from_a_file_is_measured_against_the_2020_targets);
fn a_year_imported_from_a_file_is_measured_against_the_2020_targets(store: Store) {
    let gongjian = |dir: &Path, args: &[&str]| gongjian_on(&store, dir, args);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("2020.csv");
    std::fs::write(&file, year_csv()).unwrap();
    register(&store, dir.path(), &["S1"]);

    let out = gongjian(
        dir.path(),
        &["import", "air", file.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(2), "rows were rejected");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["accepted"], 8784);
    assert_eq!(summary["rejected"].as_array().unwrap().len(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2020.csv:8786:"), "{stderr}");

    // Importing again changes nothing.
    let again = gongjian(
        dir.path(),
        &["import", "air", file.to_str().unwrap(), "--json"],
    );
    let summary: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(summary["written"], 0);

    // Targets come from the campaign loaded for the year.
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans/pingyuan-2020");
    let loaded = gongjian(dir.path(), &["plan", "load", plan.to_str().unwrap()]);
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let out = gongjian(dir.path(), &["targets", "--year", "2020", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let target = |key: &str| rows.iter().find(|t| t["key"] == key).unwrap().clone();
    let pm25 = target("air-pm25");
    assert_eq!(pm25["ytd"], "60");
    assert_eq!(pm25["on_track"], true);
    assert_eq!(pm25["allowance"]["state"], "final");
    assert_eq!(pm25["allowance"]["met"], true);
    assert_eq!(pm25["rules"][0], "HJ 633-2012");
    assert_eq!(target("air-pm10")["ytd"], "90");
    let good = target("air-good-days");
    assert_eq!(good["ytd"], 366);
    assert_eq!(good["on_track"], true);
    // Water sections without data and reported targets say why they are empty.
    assert!(target("water-tianranqu")["ytd"].is_null());
    assert!(target("water-drinking-source")["note"].is_string());
    for key in [
        "indicator",
        "value",
        "unit",
        "current",
        "ytd",
        "last_year",
        "on_track",
        "allowance",
        "rules",
    ] {
        assert!(pm25.get(key).is_some(), "{key} missing from {pm25}");
    }
}

on_both_stores!(a_gbk_export_with_chinese_headers_is_imported_and_bad_rows_say_everything);
/// Issue 13 item 14: `gongjian import air` reads a GBK platform export with
/// Chinese headers and units (站点名称, 站点编码, 监测时间, PM2.5(μg/m3)…;
/// GBK has no ³),
/// and a refused row lists every problem it has.
fn a_gbk_export_with_chinese_headers_is_imported_and_bad_rows_say_everything(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("省平台导出.csv");
    let csv = "城市,站点名称,站点编码,监测时间,SO2(μg/m3),NO2(μg/m3),CO(mg/m3),O3(μg/m3),PM10(μg/m3),PM2.5(μg/m3),AQI,首要污染物\r\n\
               新乡市,原武镇站,1001A,2020-03-10 08:00,10,20,0.5,50,80,60,81,PM2.5\r\n\
               新乡市,原武镇站,1001A,2020-03-10 09:00,10,20,0.5,50,80,61,81,PM2.5\r\n\
               新乡市,原武镇站,1001A,2020-03-10 10:00,十,20,0.5,50,-80,61,81,PM2.5\r\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv);
    std::fs::write(&file, &gbk).unwrap();
    register(&store, dir.path(), &["1001A"]);
    let out = gongjian_on(
        &store,
        dir.path(),
        &["import", "air", file.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.status.code(), Some(2), "a row was refused");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["accepted"], 2);
    assert_eq!(summary["stations"], serde_json::json!(["1001A"]));
    let rejected = summary["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["line"], 4);
    let problems: Vec<&str> = rejected[0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(problems, ["SO2(μg/m3)", "PM10(μg/m3)"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SO2(μg/m3)：“十”不是有效数字")
            && stderr.contains("PM10(μg/m3)：-80 为负值"),
        "{stderr}"
    );
}

on_both_stores!(an_unregistered_station_code_refuses_the_whole_air_file);
/// Issue 13 item 2: a typo in a station code (`PY009`) refuses the file with
/// the code and its rows; nothing is imported and no station is created;
/// registered with `gongjian sites import`, the same file is taken.
fn an_unregistered_station_code_refuses_the_whole_air_file(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("air.csv");
    std::fs::write(
        &file,
        "station,time,so2,no2,co,o3,pm10,pm25\n\
         PY001,2020-03-10 08:00,10,20,0.5,50,80,60\n\
         PY009,2020-03-10 08:00,10,20,0.5,50,80,20\n\
         PY009,2020-03-10 09:00,10,20,0.5,50,80,20\n",
    )
    .unwrap();
    register(&store, dir.path(), &["PY001"]);
    let import = || {
        gongjian_on(
            &store,
            dir.path(),
            &["import", "air", file.to_str().unwrap(), "--json"],
        )
    };
    let out = import();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("“PY009”未登记（第 3、4 行）"), "{stderr}");
    assert!(stderr.contains("未导入任何数据"), "{stderr}");
    assert!(stderr.contains("gongjian sites import"), "{stderr}");

    register(&store, dir.path(), &["PY001", "PY009"]);
    let out = import();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["accepted"], 3);
    // Nothing of the refused run was stored: every value is new.
    assert_eq!(summary["written"], 18);
    assert_eq!(summary["unchanged"], 0);
}
