//! Black-box tests of `gongjian evaluate soil` (contract:
//! docs/cli/evaluate-water-soil-stack.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/soil_samples.csv");

fn gongjian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .args(args)
        .output()
        .expect("run gongjian")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn farmland_and_construction_samples() {
    let out = gongjian(&["evaluate", "soil", "--input", SAMPLES]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = v["samples"].as_array().unwrap();
    assert_eq!(s.len(), 6);
    let by = |name: &str| s.iter().find(|x| x["sample"] == name).unwrap();

    // T01: paddy pH 6.8 — Cd 0.7 > 0.6 and Zn 260 > 250 → 安全利用类.
    let t01 = by("T01");
    assert_eq!(t01["standard"], "farmland");
    assert_eq!(t01["ph_band"], "6.5<pH≤7.5");
    assert_eq!(t01["class_label"], "安全利用类");
    assert_eq!(t01["items"]["cd"]["screening"], "0.6");
    assert_eq!(t01["items"]["cd"]["intervention"], "3.0");
    assert_eq!(t01["items"]["cd"]["p_screening"], "1.17");
    assert_eq!(t01["strengthen_monitoring"], serde_json::json!(["zn"]));
    // T02: dry land at pH 5.5 exactly (first band), every value at screening.
    let t02 = by("T02");
    assert_eq!(t02["ph_band"], "pH≤5.5");
    assert_eq!(t02["class_label"], "优先保护类");
    // T03: paddy pH 8.1, Cd 4.5 > 4.0 → 严格管控类.
    assert_eq!(by("T03")["class_label"], "严格管控类");
    assert_eq!(by("T03")["above_intervention"], serde_json::json!(["cd"]));
    // T04: orchard, Cu 150 at pH 7.0 → orchard screening 200.
    assert_eq!(by("T04")["items"]["cu"]["screening"], "200");
    assert_eq!(by("T04")["class_label"], "优先保护类");
    // J01: first-class land, As 25 > 20 but ≤ background 30.
    let j01 = by("J01");
    assert_eq!(j01["standard"], "construction");
    assert_eq!(j01["items"]["as"]["risk"], "within_background");
    assert_eq!(j01["verdict"], "negligible");
    // J02: second-class land, Cd 66 > 65, benzene 41 > 40 (intervention).
    let j02 = by("J02");
    assert_eq!(j02["verdict"], "control_or_remediate");
    assert_eq!(j02["above_screening"], serde_json::json!(["cd", "benzene"]));
    assert_eq!(j02["items"]["benzene"]["intervention"], "40");

    let out = gongjian(&["evaluate", "soil", "--input", SAMPLES, "--format", "csv"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("line,sample,standard,land,ph_band,result"));
    assert!(text.contains("4,T03,GB 15618-2018,水田,pH>7.5,严格管控类,cd,cd,"));
    assert_eq!(text.lines().count(), 7);
}

fn expect_error(csv: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "soil_bad.csv", csv);
    let out = gongjian(&["evaluate", "soil", "--input", p.to_str().unwrap()]);
    assert!(!out.status.success(), "should fail: {csv}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("soil_bad.csv"), "{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in {err}");
    }
}

#[test]
fn bad_input_names_file_line_and_column() {
    expect_error(
        "sample,land,ph,cd,zinc\nA,paddy,6,0.1,1\n",
        &["line 1, column 5 (zinc)", "unknown column"],
    );
    expect_error(
        "sample,land,ph,cd\nA,paddy,6,abc\n",
        &["line 2, column 4 (cd)", "not a number"],
    );
    expect_error(
        "sample,land,ph,cd\nA,paddy,6,-0.1\n",
        &["line 2, column 4 (cd)", "below zero"],
    );
    expect_error(
        "sample,land,ph,cd\nA,paddy,,0.1\n",
        &["line 2, column 3 (ph)", "pH"],
    );
    expect_error(
        "sample,land,ph,cd\nA,forest,6,0.1\n",
        &["line 2, column 2 (land)", "unknown land"],
    );
    expect_error(
        "sample,land,ph,cr6\nA,paddy,6,1\n",
        &["line 2, column 4 (cr6)", "GB 15618"],
    );
    expect_error(
        "sample,land,ph,zn\nA,class1,,1\n",
        &["line 2, column 4 (zn)", "GB 36600"],
    );
    expect_error("sample,ph,cd\nA,6,1\n", &["land"]);
}

/// Issue 13 item 24 (soil): GB 15618-2018 §5.1–5.2 ties 安全利用类 to the five
/// items with intervention values (Cd, Hg, As, Pb, Cr). A farmland sample
/// with only Cu, Ni or Zn (or HCH, DDT, BaP) above screening stays in the
/// class the five give it and is listed for closer monitoring.
#[test]
fn only_cd_hg_as_pb_cr_decide_safe_use() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "soil.csv",
        "sample,land,ph,cd,hg,as,pb,cr,cu,ni,zn,hch,ddt,bap\n\
         CU,旱地,6.0,0.2,0.5,20,50,100,80,,,,,\n\
         NI,旱地,6.0,0.2,0.5,20,50,100,,80,,,,\n\
         ZN,水田,7.0,0.2,0.3,20,50,100,,,300,,,\n\
         ORG,旱地,6.0,0.2,0.5,20,50,100,,,,0.2,0.3,0.6\n\
         PB,旱地,6.0,0.2,0.5,20,95,100,80,,,,,\n",
    );
    let out = gongjian(&["evaluate", "soil", "--input", p.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = v["samples"].as_array().unwrap();
    let by = |name: &str| s.iter().find(|x| x["sample"] == name).unwrap();
    for (name, items) in [
        ("CU", serde_json::json!(["cu"])),
        ("NI", serde_json::json!(["ni"])),
        ("ZN", serde_json::json!(["zn"])),
        ("ORG", serde_json::json!(["hch", "ddt", "bap"])),
    ] {
        let x = by(name);
        assert_eq!(x["class"], "priority_protection", "{name}: {x}");
        assert_eq!(x["class_label"], "优先保护类", "{name}");
        assert_eq!(x["above_screening"], items, "{name}");
        assert_eq!(x["strengthen_monitoring"], items, "{name}");
    }
    // Pb 95 > 90 (pH 6.0, dry land) is one of the five: 安全利用类, and Cu is
    // still listed for monitoring.
    let pb = by("PB");
    assert_eq!(pb["class_label"], "安全利用类");
    assert_eq!(pb["strengthen_monitoring"], serde_json::json!(["cu"]));
}
