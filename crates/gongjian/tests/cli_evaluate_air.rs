//! Black-box tests of `gongjian evaluate air`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .args(["evaluate", "air"])
        .args(args)
        .output()
        .expect("run gongjian")
}

/// Runs successfully and returns the JSON written to stdout.
fn run_json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One station, one day (2026-03-10) of 24 hours: PM2.5 76 in every hour,
/// other items constant; plus a second station with PM2.5 40.
fn two_station_csv() -> String {
    let mut s = String::from("station,time,so2,no2,co,o3,pm10,pm25\n");
    for (st, pm25) in [("城关", 76), ("东区", 40)] {
        for h in 1..=24 {
            let time = if h == 24 {
                "2026-03-11 00:00".to_owned()
            } else {
                format!("2026-03-10 {h:02}:00")
            };
            writeln!(s, "{st},{time},10,30,0.8,100,60,{pm25}").unwrap();
        }
    }
    s
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn json_daily_rows_summary_region_and_ranking() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "air.csv", two_station_csv().as_bytes());
    let v = run_json(&["--input", &input]);
    let st = &v["stations"][0];
    assert_eq!(st["station"], "城关");
    let day = &st["daily"][0];
    assert_eq!(day["date"], "2026-03-10");
    assert_eq!(day["rules"], "HJ 633-2026");
    assert_eq!(day["pm25"], "76");
    assert_eq!(day["o3_8h_max"], "100");
    assert_eq!(day["aqi"], 115);
    assert_eq!(day["category"], "轻度污染");
    assert_eq!(day["primary"][0], "PM2.5");
    assert_eq!(day["valid"], true);
    let summary = &st["summary"];
    assert_eq!(summary["kind"], "custom");
    assert_eq!(summary["aqi_days"]["good_days"], 0);
    assert_eq!(summary["aqi_days"]["polluted_days"], 1);
    // Region: (76 + 40) / 2 = 58 → 2026 IAQI 50 + 2·23 = 96.
    assert_eq!(v["region"]["daily"][0]["pm25"], "58");
    assert_eq!(v["region"]["daily"][0]["aqi"], 96);
    // Ranking: the cleaner station first.
    assert_eq!(v["ranking"][1]["station"], "东区");
    assert_eq!(v["ranking"][1]["rank"], 1);
    assert_eq!(v["ranking"][0]["rank"], 2);
}

#[test]
fn forced_rules_and_gbk_input() {
    let dir = tempfile::tempdir().unwrap();
    let text = two_station_csv();
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let input = write(dir.path(), "gbk.csv", &gbk);
    let out = run(&["--input", &input, "--rules", "2012"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stations"][0]["station"], "城关");
    let day = &v["stations"][0]["daily"][0];
    assert_eq!(day["rules"], "HJ 633-2012");
    assert_eq!(day["aqi"], 102);
}

#[test]
fn csv_and_xlsx_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "air.csv", two_station_csv().as_bytes());
    let csv_out = dir.path().join("out.csv");
    let out = run(&[
        "--input",
        &input,
        "--format",
        "csv",
        "--output",
        csv_out.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let daily = std::fs::read_to_string(&csv_out).unwrap();
    assert!(daily.starts_with("station,date,rules,"));
    assert!(daily.contains("城关,2026-03-10,HJ 633-2026,"));
    let summary = std::fs::read_to_string(dir.path().join("out.summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 4, "two stations + region + header");

    let xlsx_out = dir.path().join("out.xlsx");
    let out = run(&[
        "--input",
        &input,
        "--format",
        "xlsx",
        "--output",
        xlsx_out.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = gongjian_tabular::read_path(&xlsx_out).unwrap();
    assert_eq!(t.headers()[0], "station");
    assert_eq!(t.len(), 3);

    // xlsx input is accepted too.
    let sheet = gongjian_tabular::Sheet {
        name: "in".into(),
        headers: ["station", "time", "pm25"].map(String::from).to_vec(),
        rows: (1..=24)
            .map(|h| {
                vec![
                    "A".into(),
                    format!("2026-03-10 {h:02}:00").into(),
                    gongjian_tabular::Cell::Int(40),
                ]
            })
            .collect(),
    };
    let xin = dir.path().join("in.xlsx");
    gongjian_tabular::write_xlsx_path(&xin, &[sheet]).unwrap();
    let out = run(&["--input", xin.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stations"][0]["daily"][0]["pm25"], "40");
}

fn expect_error(csv: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "bad.csv", csv.as_bytes());
    let out = run(&["--input", &input]);
    assert!(!out.status.success(), "should fail: {csv}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv"), "{err}");
    for n in needles {
        assert!(err.contains(n), "`{n}` not in: {err}");
    }
}

#[test]
fn bad_input_names_file_line_and_column() {
    let head = "station,time,so2,no2,co,o3,pm10,pm25\n";
    expect_error(
        "station,time,so2,nox\nA,2026-03-10 01:00,1,2\n",
        &["line 1", "column 4 (nox)", "unknown column"],
    );
    expect_error(
        &format!("{head}A,2026-03-10 01:00,1,2,0.5,3,4,5\nA,2026-03-10 02:00,1,x2,0.5,3,4,5\n"),
        &["line 3", "column 4 (no2)", "x2"],
    );
    expect_error(
        &format!("{head}A,2026-03-10 02:00,1,2,0.5,3,4,5\nA,2026-03-10 01:00,1,2,0.5,3,4,5\n"),
        &["line 3", "column 2 (time)", "line 2"],
    );
    expect_error(
        &format!("{head}A,2026-03-10 01:00,1,2,0.5,3,4,-5\n"),
        &["line 2", "column 8 (pm25)", "negative"],
    );
    expect_error(
        &format!("{head}A,2026-03-10 01:30,1,2,0.5,3,4,5\n"),
        &["line 2", "column 2 (time)"],
    );
    expect_error(&format!("{head}A,2026-03-10 01:00,1,2\n"), &["line 2"]);
}

/// Issue 13 item 23: a day whose AQI is not published has no primary
/// pollutant judgement at all (`null`), unlike a clean day (`[]`).
#[test]
fn unpublished_day_has_null_primary() {
    let mut csv = String::from("station,time,so2,no2,co,o3,pm10,pm25\n");
    for h in 1..=5 {
        writeln!(csv, "城关,2026-03-10 {h:02}:00,10,30,0.8,100,60,76").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "air.csv", csv.as_bytes());
    let v = run_json(&["--input", &input]);
    let day = &v["stations"][0]["daily"][0];
    assert_eq!(day["published"], false);
    assert!(day["primary"].is_null(), "{day}");
}
