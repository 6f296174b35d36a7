//! Black-box tests of `gongjian aqi` (the contract in docs/cli/aqi-evaluate-air.md).

use std::process::Command;

use serde_json::{Value, json};

fn aqi(args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .arg("aqi")
        .args(args)
        .output()
        .expect("run gongjian");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let v = if out.status.success() {
        serde_json::from_str(stdout.trim()).expect("one JSON object")
    } else {
        Value::Null
    };
    (out.status.success(), v, stderr)
}

#[test]
fn hourly_2026_by_date() {
    let (ok, v, _) = aqi(&[
        "--report",
        "hourly",
        "--time",
        "2026-03-10T08",
        "so2=10",
        "no2=40",
        "co=0.8",
        "o3=120",
        "pm10=80",
        "pm25=76",
    ]);
    assert!(ok);
    assert_eq!(v["rules"], "HJ 633-2026");
    assert_eq!(v["aqi"], 115);
    assert_eq!(v["published"], true);
    assert_eq!(v["level"], 3);
    assert_eq!(v["category"], "轻度污染");
    assert_eq!(v["color"], "#FF7E00");
    assert_eq!(v["primary"], json!(["PM2.5"]));
    assert_eq!(
        v["iaqi"],
        json!({"so2": 4, "no2": 20, "co": 8, "o3": 38, "pm10": 72, "pm25": 115})
    );
    assert!(v.get("exceedance").is_none(), "no exceedance under 2026");
}

#[test]
fn rules_switch_at_the_first_hour_of_march_2026() {
    // The hour ending 2026-03-01T00 is the last hour of 28 February → 2012.
    let (_, v, _) = aqi(&["--report", "hourly", "--time", "2026-03-01T00", "pm25=70"]);
    assert_eq!(v["rules"], "HJ 633-2012");
    let (_, v, _) = aqi(&["--report", "hourly", "--time", "2026-03-01T01", "pm25=70"]);
    assert_eq!(v["rules"], "HJ 633-2026");
}

#[test]
fn daily_2012_with_exceedance_and_forced_2026() {
    let args = [
        "--report",
        "daily",
        "--time",
        "2025-12-01",
        "so2=5",
        "no2=20",
        "pm10=200",
        "co=1.0",
        "o3_max1h=300",
        "o3_8h=180",
        "pm25=120",
    ];
    let (ok, v, _) = aqi(&args);
    assert!(ok);
    assert_eq!(v["rules"], "HJ 633-2012");
    assert_eq!(v["aqi"], 158);
    assert_eq!(v["category"], "中度污染");
    assert_eq!(v["exceedance"], json!(["O3_1h", "O3_8h", "PM10", "PM2.5"]));
    assert_eq!(v["iaqi"]["o3_max1h"], 150);

    let mut forced = args.to_vec();
    forced.extend(["--rules", "2026"]);
    let (_, v, _) = aqi(&forced);
    assert_eq!(v["rules"], "HJ 633-2026");
    assert!(v.get("exceedance").is_none());
    assert!(
        v["iaqi"].get("o3_max1h").is_none(),
        "O3 1-h is not a 2026 daily item"
    );
}

#[test]
fn float_trap_and_tie() {
    let (_, v, _) = aqi(&["--report", "daily", "--time", "2025-06-01", "co=2.2"]);
    assert_eq!(v["iaqi"]["co"], 55);
    let (_, v, _) = aqi(&[
        "--report",
        "daily",
        "--time",
        "2026-06-01",
        "so2=8",
        "no2=30",
        "pm10=120",
        "co=0.9",
        "o3_8h=150",
        "pm25=60",
    ]);
    assert_eq!(v["aqi"], 100);
    assert_eq!(v["primary"], json!(["PM10", "PM2.5"]));
}

#[test]
fn missing_items_follow_2026_5_3() {
    let (ok, v, _) = aqi(&["--report", "daily", "--time", "2026-03-10", "pm25=40"]);
    assert!(ok);
    assert_eq!(v["aqi"], Value::Null);
    assert_eq!(v["published"], false);
    assert_eq!(v["category"], Value::Null);
    assert_eq!(v["iaqi"]["pm25"], 60);
    assert_eq!(v["iaqi"]["so2"], Value::Null);
    let (_, v, _) = aqi(&["--report", "daily", "--time", "2026-03-10", "pm25=80"]);
    assert_eq!(v["aqi"], 119);
    assert_eq!(v["published"], true);
}

#[test]
fn above_scale_is_flagged() {
    let (_, v, _) = aqi(&["--report", "hourly", "--time", "2026-04-01T10", "pm10=900"]);
    assert_eq!(v["iaqi"]["pm10"], 500);
    assert!(v["notes"]["pm10"].as_str().unwrap().contains("above_scale"));
}

#[test]
fn bad_input_is_rejected() {
    for args in [
        vec!["--report", "hourly", "--time", "2026-03-10T08", "pm25=abc"],
        vec!["--report", "hourly", "--time", "2026-03-10T08", "pm25=-3"],
        vec!["--report", "hourly", "--time", "2026-03-10T08", "nox=3"],
        vec!["--report", "hourly", "--time", "2026-03-10T08", "o3_8h=3"],
        vec!["--report", "daily", "--time", "2026-03-10", "o3=3"],
        vec![
            "--report",
            "hourly",
            "--time",
            "2026-03-10T08",
            "pm25=1",
            "pm25=2",
        ],
        vec!["--report", "hourly", "--time", "tomorrow", "pm25=1"],
        vec![
            "--report",
            "hourly",
            "--time",
            "2026-03-10T08",
            "--rules",
            "2018",
            "pm25=1",
        ],
    ] {
        let (ok, _, stderr) = aqi(&args);
        assert!(!ok, "{args:?} should fail");
        assert!(!stderr.trim().is_empty(), "{args:?} needs a message");
    }
}
