//! Black-box tests of `gongjian evaluate water` (contract:
//! docs/cli/evaluate-water-soil-stack.md).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const ANNEX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/water_annex_2020.csv"
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

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn section<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["section"] == name)
        .unwrap()
}

#[test]
fn annex_sections_and_samples() {
    let v = json_of(&gongjian(&["evaluate", "water", "--input", ANNEX]));
    assert!(v["rules"].as_str().unwrap().contains("GB 3838-2002"));
    assert_eq!(v["samples"].as_array().unwrap().len(), 11);
    assert_eq!(v["sections"].as_array().unwrap().len(), 7);

    let h = section(&v, "韩董庄");
    assert_eq!(h["target"], "Ⅲ");
    assert_eq!(h["class"], "Ⅲ");
    assert_eq!(h["status"], "良好");
    assert_eq!(h["compliant"], true);
    assert_eq!(h["means"]["nh3n"], "0.95");
    assert_eq!(h["months"], 3);
    let monthly: Vec<(&str, &str)> = h["monthly"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["month"].as_str().unwrap(), m["class"].as_str().unwrap()))
        .collect();
    assert_eq!(
        monthly,
        vec![("2020-01", "Ⅲ"), ("2020-02", "Ⅲ"), ("2020-03", "Ⅳ")]
    );
    let mar = &h["monthly"][2];
    assert_eq!(mar["compliant"], false);
    assert_eq!(mar["failing"][0]["item"], "nh3n");
    assert_eq!(mar["failing"][0]["multiple"], "0.05");

    let y = section(&v, "杨大寨村");
    assert_eq!(y["target"], "Ⅴ");
    assert_eq!(y["class"], "劣Ⅴ");
    assert_eq!(y["status"], "重度污染");
    let main: Vec<&str> = y["main_pollutants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["item"].as_str().unwrap())
        .collect();
    assert_eq!(main, vec!["nh3n", "cod", "do"]);
    let failing: Vec<(&str, &Value)> = y["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["item"].as_str().unwrap(), &f["multiple"]))
        .collect();
    assert_eq!(
        failing,
        vec![
            ("do", &Value::Null),
            ("cod", &Value::from("0.12")),
            ("nh3n", &Value::from("0.25"))
        ]
    );

    let yz = section(&v, "杨庄村");
    assert_eq!(yz["class"], "Ⅱ");
    assert_eq!(yz["status"], "优");
    assert_eq!(yz["means"]["cr6"], "0.004L");
    assert_eq!(section(&v, "东磁村")["failing"][0]["item"], "ph");

    // A sample row keeps its line number.
    let s = &v["samples"][3];
    assert_eq!(s["line"], 5);
    assert_eq!(s["section"], "韩董庄");
    assert_eq!(s["class"], "Ⅲ");
}

#[test]
fn csv_and_xlsx_output() {
    let out = gongjian(&["evaluate", "water", "--input", ANNEX, "--format", "csv"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("level,section,time,line,samples,class,status,target,compliance"));
    let rows: Vec<&str> = lines.collect();
    // 11 samples + 10 section-months + 7 sections.
    assert_eq!(rows.len(), 28);
    assert!(
        rows.iter()
            .any(|r| r.starts_with("section,韩董庄,2020-01-01/2020-03-31,,4,Ⅲ,良好,Ⅲ,达标"))
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("month,韩董庄,2020-03,,2,Ⅳ,轻度污染,Ⅲ,超标,nh3n"))
    );

    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("water.xlsx");
    let out = gongjian(&[
        "evaluate",
        "water",
        "--input",
        ANNEX,
        "--format",
        "xlsx",
        "--output",
        xlsx.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&xlsx).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    // The workbook reads back as an input table with the same header.
    let json = gongjian(&["evaluate", "water", "--input", xlsx.to_str().unwrap()]);
    assert!(!json.status.success(), "a result sheet is not valid input");
    let err = String::from_utf8_lossy(&json.stderr);
    assert!(err.contains("level"), "{err}");
}

#[test]
fn gbk_input_and_custom_target_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = "section,time,目标,nh3n,do\n韩董庄,2020-05-06 10:00,Ⅲ类,1.5,5\n韩董庄,2020-06-06,Ⅲ类,1.0,4.9\n";
    let (gbk, _, bad) = encoding_rs::GBK.encode(text);
    assert!(!bad);
    let p = write(dir.path(), "gbk.csv", &gbk);
    let v = json_of(&gongjian(&[
        "evaluate",
        "water",
        "--input",
        p.to_str().unwrap(),
        "--target-column",
        "目标",
    ]));
    let s = section(&v, "韩董庄");
    assert_eq!(s["target"], "Ⅲ");
    // Means: NH3-N (1.5 + 1.0)/2 = 1.25 → Ⅳ; DO (5 + 4.9)/2 = 4.95 → Ⅳ.
    assert_eq!(s["means"]["nh3n"], "1.25");
    assert_eq!(s["class"], "Ⅳ");
    assert_eq!(v["samples"][0]["class"], "Ⅳ");
    assert_eq!(v["samples"][0]["failing"][0]["multiple"], "0.5");

    // An explicit target column that is absent is an error.
    let out = gongjian(&[
        "evaluate",
        "water",
        "--input",
        p.to_str().unwrap(),
        "--target-column",
        "goal",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("goal"));
}

fn expect_error(csv: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad.csv", csv.as_bytes());
    let out = gongjian(&["evaluate", "water", "--input", p.to_str().unwrap()]);
    assert!(!out.status.success(), "should fail: {csv}");
    assert!(out.stdout.is_empty(), "no partial output");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv"), "{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in {err}");
    }
}

#[test]
fn bad_input_names_file_line_and_column() {
    expect_error(
        "section,time,cod,xyz\nA,2020-01-01,10,1\n",
        &["line 1, column 4 (xyz)", "unknown column"],
    );
    expect_error(
        "section,time,cod\nA,2020-01-01,10\nA,2020-02-01,ten\n",
        &["line 3, column 3 (cod)", "not a number"],
    );
    expect_error(
        "section,time,cod\nA,2020-02-01,10\nB,2020-01-01,10\nA,2020-01-15,10\n",
        &["line 4, column 2 (time)", "out of order"],
    );
    expect_error(
        "section,time,cod\nA,2020-01-01,-1\n",
        &["line 2, column 3 (cod)", "below zero"],
    );
    expect_error(
        "section,time,ph\nA,2020-01-01,15\n",
        &["line 2, column 3 (ph)"],
    );
    expect_error(
        "section,time,target,cod\nA,2020-01-01,Ⅵ,10\n",
        &["line 2, column 3 (target)"],
    );
    expect_error(
        "section,time,target,cod\nA,2020-01-01,Ⅲ,10\nA,2020-02-01,Ⅳ,10\n",
        &["line 3, column 3 (target)"],
    );
    expect_error(
        "section,time,cod\nA,yesterday,10\n",
        &["line 2, column 2 (time)"],
    );
    // Every problem is reported, not only the first.
    expect_error(
        "section,time,cod,nh3n\nA,2020-01-01,x,1\nA,2020-02-01,1,-2\nA,2020-03-01,1,y\n",
        &[
            "3 处输入错误",
            "line 2, column 3",
            "line 3, column 4",
            "line 4, column 4",
        ],
    );
}
