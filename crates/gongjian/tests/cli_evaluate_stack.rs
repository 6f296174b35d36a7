//! Black-box tests of `gongjian evaluate stack` (contract:
//! docs/cli/evaluate-water-soil-stack.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BOILER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/stack_gas_boiler.csv"
);

fn gongjian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .args(args)
        .output()
        .expect("run gongjian")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `evaluate stack` of minute records `csv` against the plan's gas-boiler
/// limits, with `extra` options; the JSON it prints.
fn gas_boiler_json(csv: &str, extra: &[&str]) -> Value {
    json_of(&gas_boiler("minutes.csv", csv, extra))
}

/// `evaluate stack` of `csv`, written to a file called `name`, against the
/// plan's gas-boiler limits.
fn gas_boiler(name: &str, csv: &str, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), name, csv);
    let mut args = vec![
        "evaluate",
        "stack",
        "--input",
        p.to_str().unwrap(),
        "--limits",
        "pingyuan-2020-gas",
    ];
    args.extend_from_slice(extra);
    gongjian(&args)
}

#[test]
fn gas_boiler_hours_validity_and_exceedances() {
    let v = json_of(&gongjian(&[
        "evaluate",
        "stack",
        "--input",
        BOILER,
        "--limits",
        "pingyuan-2020-gas",
    ]));
    assert_eq!(v["limit_set"]["name"], "pingyuan-2020-gas");
    assert_eq!(v["limit_set"]["reference_o2"], "3.5");
    let hours = v["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 3);
    assert_eq!(hours[0]["hour_end"], "2020-11-02T09:00");
    // Hour 1: SO2 20 at 7 % O2 → 25 > 10 (1.5×); NOx 30 and PM 5 equal their limits.
    let so2 = &hours[0]["pollutants"]["so2"];
    assert_eq!(so2["converted"], "25");
    assert_eq!(so2["exceeds"], true);
    assert_eq!(so2["multiple"], "1.5");
    assert_eq!(so2["rate_kg_h"], "0.2");
    assert_eq!(hours[0]["pollutants"]["nox"]["exceeds"], false);
    assert_eq!(hours[0]["pollutants"]["pm"]["exceeds"], false);
    // Hour 2: 45 normal + 15 calibration minutes → valid, mean of the 45.
    let so2 = &hours[1]["pollutants"]["so2"];
    assert_eq!(so2["measured"]["valid"], true);
    assert_eq!(so2["measured"]["valid_minutes"], 45);
    assert_eq!(so2["measured"]["flags"]["C"], 15);
    assert_eq!(so2["measured"]["mean"], "8");
    // Hour 3: 44 normal minutes → invalid, not judged; NOx 28 → 35 > 30.
    let so2 = &hours[2]["pollutants"]["so2"];
    assert_eq!(so2["measured"]["valid"], false);
    assert_eq!(so2["status"], "invalid_pollutant");
    assert_eq!(so2["converted"], Value::Null);
    assert_eq!(hours[2]["pollutants"]["nox"]["multiple"], "0.17");

    let ev = v["exceedances"].as_array().unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0]["pollutant"], "so2");
    assert_eq!(ev[0]["start"], "2020-11-02T08:00");
    assert_eq!(ev[0]["hours"], 1);
    assert_eq!(ev[1]["pollutant"], "nox");
    assert_eq!(v["summary"]["so2"]["valid_hours"], 2);
    assert_eq!(v["summary"]["so2"]["exceeding_hours"], 1);
    // Day: only 3 hours → not a valid day; totals still summed.
    let day = &v["days"][0]["pollutants"]["so2"];
    assert_eq!(day["valid"], false);
    assert_eq!(day["total_kg"], "0.28");
}

#[test]
fn limit_set_choice_and_reference_override() {
    // GB 13271 special limits for gas: SO2 50, NOx 150 → nothing exceeds.
    let v = json_of(&gongjian(&[
        "evaluate",
        "stack",
        "--input",
        BOILER,
        "--limits",
        "gb13271-gas-special",
    ]));
    assert_eq!(v["exceedances"].as_array().unwrap().len(), 0);
    assert_eq!(v["hours"][0]["pollutants"]["so2"]["limit"], "50");
    // Judged on measured values: SO2 20 > 10.
    let v = json_of(&gongjian(&[
        "evaluate",
        "stack",
        "--input",
        BOILER,
        "--limits",
        "pingyuan-2020-gas",
        "--reference-o2",
        "measured",
    ]));
    assert_eq!(v["hours"][0]["pollutants"]["so2"]["converted"], "20");
    assert_eq!(v["hours"][0]["pollutants"]["so2"]["multiple"], "1");
    // Unknown set: the message lists the known ones.
    let out = gongjian(&["evaluate", "stack", "--input", BOILER, "--limits", "gas"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pingyuan-2020-gas") && err.contains("henan-2019-kiln-builtup"),
        "{err}"
    );
}

#[test]
fn csv_and_xlsx_output() {
    let out = gongjian(&[
        "evaluate",
        "stack",
        "--input",
        BOILER,
        "--limits",
        "pingyuan-2020-gas",
        "--format",
        "csv",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("hour_end,o2,o2_valid_minutes,flow,"));
    assert!(lines[0].contains("so2_converted"));
    assert!(
        lines[1].contains(",20,60,1,N60,25,0.2,10,1,1.5,valid,"),
        "{}",
        lines[1]
    );
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("stack.xlsx");
    let out = gongjian(&[
        "evaluate",
        "stack",
        "--input",
        BOILER,
        "--limits",
        "pingyuan-2020-gas",
        "--format",
        "xlsx",
        "--output",
        x.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(&std::fs::read(&x).unwrap()[..2], b"PK");
}

#[test]
fn wet_basis_and_flags() {
    // 50 minutes wet SO2 18.4, O2 6.44, moisture 8 % → dry 20 at 7 % → 25;
    // 10 minutes flagged D (fault) are left out.
    let mut csv = String::from("time,o2,so2,moisture,flag\n");
    for m in 0..60 {
        let flag = if m < 50 { "N" } else { "D" };
        csv.push_str(&format!("2020-11-02 08:{m:02},6.44,18.4,8,{flag}\n"));
    }
    let v = gas_boiler_json(&csv, &["--basis", "wet"]);
    let so2 = &v["hours"][0]["pollutants"]["so2"];
    assert_eq!(so2["measured"]["mean"], "20");
    assert_eq!(so2["measured"]["valid_minutes"], 50);
    assert_eq!(so2["measured"]["flags"]["D"], 10);
    assert_eq!(so2["converted"], "25");
}

fn expect_error(csv: &str, needles: &[&str]) {
    let out = gas_boiler("stack_bad.csv", csv, &[]);
    assert!(!out.status.success(), "should fail: {csv}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("stack_bad.csv"), "{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in {err}");
    }
}

#[test]
fn bad_input_names_file_line_and_column() {
    expect_error(
        "time,o2,so2,co\n2020-11-02 08:00,7,1,1\n",
        &["line 1, column 4 (co)", "unknown column"],
    );
    expect_error(
        "time,o2,so2\n2020-11-02 08:00,7,1\n2020-11-02 08:01,7,x\n",
        &["line 3, column 3 (so2)", "not a number"],
    );
    expect_error(
        "time,o2,so2\n2020-11-02 08:01,7,1\n2020-11-02 08:00,7,1\n",
        &["line 3, column 1 (time)", "out of order"],
    );
    expect_error(
        "time,o2,so2\n2020-11-02 08:00,7,1\n2020-11-02 08:00,7,1\n",
        &["line 3, column 1 (time)"],
    );
    expect_error(
        "time,o2,so2\n2020-11-02 08:00,7,-3\n",
        &["line 2, column 3 (so2)", "below zero"],
    );
    expect_error(
        "time,o2,so2,flag\n2020-11-02 08:00,7,1,X\n",
        &["line 2, column 4 (flag)", "flag"],
    );
    expect_error(
        "time,o2,so2,so2_flag\n2020-11-02 08:00,7,1,Q\n",
        &["line 2, column 4 (so2_flag)"],
    );
    expect_error(
        "time,o2,so2\n2020-11-02 08:00,22,1\n",
        &["line 2, column 2 (o2)"],
    );
    // The plan's gas set converts to 3.5 % O2: an o2 column is required.
    expect_error("time,so2\n2020-11-02 08:00,1\n", &["o2"]);
}

/// Issue 13 item 24: O2 50 minutes at 15 and 10 at 16, SO2 mean 10/3 gives a
/// converted value of exactly 10, the gas-boiler limit: not an exceedance,
/// however the repeating means are written out.
#[test]
fn converted_equal_to_limit_is_not_an_exceedance() {
    let mut csv = String::from("time,o2,so2,flag\n");
    for m in 0..60 {
        let o2 = if m < 50 { 15 } else { 16 };
        let so2 = if m < 20 { "5" } else { "2.5" };
        csv.push_str(&format!("2020-11-02 08:{m:02},{o2},{so2},N\n"));
    }
    let v = gas_boiler_json(&csv, &[]);
    let so2 = &v["hours"][0]["pollutants"]["so2"];
    assert_eq!(so2["converted"], "10");
    assert_eq!(so2["exceeds"], false, "{so2}");
    assert_eq!(so2["multiple"], Value::Null);
    assert_eq!(v["exceedances"].as_array().unwrap().len(), 0);
}

/// Issue 13 item 24: 10-minute records (HJ 212 `MinInterval` 10) each cover
/// ten minutes: six valid means cover the hour, five (50 minutes) still make
/// a valid hour under the 45-minute rule, four (40) do not.
#[test]
fn ten_minute_records_cover_the_hour() {
    let mut csv = String::from("time,o2,so2,flow,flag\n");
    // 08:00–09:00: six valid 10-minute means.
    for m in (0..60).step_by(10) {
        csv.push_str(&format!("2020-11-02 08:{m:02},7,20,10000,N\n"));
    }
    // 09:00–10:00: five valid, one in calibration.
    for m in (0..60).step_by(10) {
        let flag = if m == 50 { "C" } else { "N" };
        csv.push_str(&format!("2020-11-02 09:{m:02},7,8,10000,{flag}\n"));
    }
    // 10:00–11:00: four valid, two with a fault.
    for m in (0..60).step_by(10) {
        let flag = if m >= 40 { "D" } else { "N" };
        csv.push_str(&format!("2020-11-02 10:{m:02},7,8,10000,{flag}\n"));
    }
    let out = gas_boiler("ten.csv", &csv, &[]);
    let v = json_of(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("10 分钟"), "{err}");
    assert_eq!(v["record_minutes"], 10);
    let hours = v["hours"].as_array().unwrap();
    assert_eq!(hours.len(), 3);
    let so2 = &hours[0]["pollutants"]["so2"];
    assert_eq!(so2["measured"]["valid"], true, "{so2}");
    assert_eq!(so2["measured"]["valid_minutes"], 60);
    assert_eq!(so2["measured"]["minutes"], 60);
    assert_eq!(so2["measured"]["mean"], "20");
    assert_eq!(so2["converted"], "25");
    assert_eq!(so2["exceeds"], true);
    assert_eq!(hours[0]["o2"]["valid"], true);
    let so2 = &hours[1]["pollutants"]["so2"];
    assert_eq!(so2["measured"]["valid"], true);
    assert_eq!(so2["measured"]["valid_minutes"], 50);
    assert_eq!(so2["measured"]["flags"]["C"], 10);
    assert_eq!(so2["converted"], "10");
    let so2 = &hours[2]["pollutants"]["so2"];
    assert_eq!(so2["measured"]["valid"], false);
    assert_eq!(so2["measured"]["valid_minutes"], 40);
    assert_eq!(so2["status"], "invalid_pollutant");
    assert_eq!(v["summary"]["so2"]["valid_hours"], 2);

    // The interval can be given; a record off the 10-minute grid is refused.
    let v = gas_boiler_json(&csv, &["--interval", "10"]);
    assert_eq!(
        v["hours"][1]["pollutants"]["so2"]["measured"]["valid"],
        true
    );
    let bad = csv.replace("2020-11-02 09:30", "2020-11-02 09:35");
    let out = gas_boiler("ten.csv", &bad, &["--interval", "10"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("09:35"));
    // Hourly records are not minute data: refused, not silently invalid.
    let hourly = "time,o2,so2\n2020-11-02 08:00,7,20\n2020-11-02 09:00,7,20\n";
    let out = gas_boiler("hourly.csv", hourly, &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--interval"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 13 item 24: the plan's gas-boiler limits bind from 2020-10-01; an
/// hour of 2020-09-30 is converted but not judged against them.
#[test]
fn hours_before_the_limit_set_is_in_force_are_not_judged() {
    let mut csv = String::from("time,o2,so2,flow\n");
    for m in 0..60 {
        csv.push_str(&format!("2020-09-30 23:{m:02},7,20,10000\n"));
    }
    for m in 0..60 {
        csv.push_str(&format!("2020-10-01 00:{m:02},7,20,10000\n"));
    }
    let v = gas_boiler_json(&csv, &[]);
    assert_eq!(v["hours_before_valid_from"], 1);
    let before = &v["hours"][0]["pollutants"]["so2"];
    assert_eq!(v["hours"][0]["hour_end"], "2020-10-01T00:00");
    assert_eq!(before["converted"], "25");
    assert_eq!(before["limit"], Value::Null, "{before}");
    assert_eq!(before["exceeds"], false);
    assert_eq!(before["multiple"], Value::Null);
    assert_eq!(before["status"], "not_in_force");
    let after = &v["hours"][1]["pollutants"]["so2"];
    assert_eq!(after["limit"], "10");
    assert_eq!(after["exceeds"], true);
    assert_eq!(after["status"], "valid");
    let ev = v["exceedances"].as_array().unwrap();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["start"], "2020-10-01T00:00");
    assert_eq!(v["summary"]["so2"]["exceeding_hours"], 1);
    assert_eq!(v["summary"]["so2"]["judged_hours"], 1);
    assert_eq!(v["days"][0]["pollutants"]["so2"]["limit"], Value::Null);
    assert_eq!(v["days"][0]["pollutants"]["so2"]["exceeding_hours"], 0);
}

/// Issue 13 item 24: without any emission rate (no flow column) the totals
/// are unknown: null, not "0".
#[test]
fn total_kg_without_any_rate_is_null() {
    let mut csv = String::from("time,o2,so2\n");
    for m in 0..60 {
        csv.push_str(&format!("2020-11-02 08:{m:02},7,20\n"));
    }
    let v = gas_boiler_json(&csv, &[]);
    assert_eq!(v["hours"][0]["pollutants"]["so2"]["rate_kg_h"], Value::Null);
    assert_eq!(
        v["summary"]["so2"]["total_kg"],
        Value::Null,
        "{}",
        v["summary"]
    );
    assert_eq!(v["days"][0]["pollutants"]["so2"]["total_kg"], Value::Null);
    // With a flow, the total is the sum of the hourly rates.
    let mut csv = String::from("time,o2,so2,flow\n");
    for m in 0..60 {
        csv.push_str(&format!("2020-11-02 08:{m:02},7,20,10000\n"));
    }
    let v = gas_boiler_json(&csv, &[]);
    assert_eq!(v["summary"]["so2"]["total_kg"], "0.2");
    assert_eq!(v["days"][0]["pollutants"]["so2"]["total_kg"], "0.2");
}
