//! Black-box tests of `gongjian hj212 parse` (contract: docs/cli/hj212.md).

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const VECTORS: &str = include_str!("../../hj212/tests/data/hj212_vectors.jsonl");

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gongjian"))
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gongjian");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

struct Vector {
    bytes: Vec<u8>,
    v: Value,
}

fn vectors() -> Vec<Vector> {
    VECTORS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let text = v["packet"].as_str().unwrap();
            let bytes = if v.get("encoding").and_then(Value::as_str) == Some("gbk") {
                encoding_rs::GBK.encode(text).0.into_owned()
            } else {
                text.as_bytes().to_vec()
            };
            Vector { bytes, v }
        })
        .collect()
}

fn is_negative(v: &Value) -> bool {
    v["crc_ok"] == false || v["len_ok"] == false || v["expected"].get("cp_unterminated").is_some()
}

fn expected_kind(v: &Value) -> &'static str {
    if v["len_ok"] == false {
        return "length_mismatch";
    }
    let sent = v["crc_sent"].as_str().unwrap().to_ascii_uppercase();
    let mb = v["crc_modbus"].as_str().unwrap().to_ascii_uppercase();
    if sent == mb || sent == format!("{}{}", &mb[2..], &mb[..2]) {
        "crc_modbus"
    } else {
        "crc_mismatch"
    }
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn check_expected(n: usize, got: &Value, expected: &Value) {
    let exp = expected.as_object().unwrap();
    for key in [
        "qn", "st", "cn", "pw", "mn", "flag", "pnum", "pno", "datatime",
    ] {
        assert_eq!(
            got[key],
            exp.get(key).cloned().unwrap_or(Value::Null),
            "vector {n}: {key}"
        );
    }
    let want = exp.get("items").cloned().unwrap_or(Value::Array(vec![]));
    let want = want.as_array().unwrap();
    let items = got["items"].as_array().unwrap();
    assert_eq!(items.len(), want.len(), "vector {n}: items");
    for (g, w) in items.iter().zip(want) {
        for key in ["code", "field", "value", "flag"] {
            assert_eq!(g[key], w[key], "vector {n}: item {key}");
        }
        if let Some(p) = w.get("polid") {
            assert_eq!(&g["polid"], p, "vector {n}: polid");
        }
    }
    let cp = exp
        .get("cp")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    assert_eq!(got["cp"], cp, "vector {n}: cp");
}

#[test]
fn every_vector_one_per_line_parses_to_expected_and_negatives_are_rejected() {
    let all = vectors();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frames.txt");
    let mut file = Vec::new();
    for v in &all {
        file.extend_from_slice(&v.bytes);
        file.extend_from_slice(b"\r\n");
    }
    file.extend_from_slice(b"\n   \n"); // blank lines are skipped
    std::fs::write(&path, &file).unwrap();
    let out = bin()
        .args(["hj212", "parse", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "some vectors are negative");
    let got = lines(&out);
    assert_eq!(got.len(), all.len());
    for (n, (g, v)) in got.iter().zip(&all).enumerate() {
        assert_eq!(g["line"], n + 1);
        check_expected(n + 1, g, &v.v["expected"]);
        assert_eq!(g["crc_ok"], v.v["crc_ok"], "vector {}: crc_ok", n + 1);
        if is_negative(&v.v) {
            assert_eq!(g["ok"], false, "vector {}", n + 1);
            let msg = g["error"].as_str().expect("error message");
            assert!(!msg.is_empty());
            let first = g["error_kinds"][0].as_str().unwrap();
            if v.v["crc_ok"] == false || v.v["len_ok"] == false {
                assert_eq!(first, expected_kind(&v.v), "vector {}: {msg}", n + 1);
            }
        } else {
            assert_eq!(g["ok"], true, "vector {}: {}", n + 1, g["error"]);
            assert_eq!(g["error"], Value::Null);
            assert!(["2005", "2017", "2025"].contains(&g["version"].as_str().unwrap()));
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("61 frames"), "{stderr}");
}

#[test]
fn only_valid_frames_exit_zero_from_stdin() {
    let mut input = Vec::new();
    for v in vectors().iter().filter(|v| !is_negative(&v.v)) {
        input.extend_from_slice(&v.bytes);
        input.push(b'\n');
    }
    let out = run_with_stdin(&["hj212", "parse", "-"], &input);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(lines(&out).iter().all(|l| l["ok"] == true));
    // No argument also means stdin.
    let out = run_with_stdin(&["hj212", "parse"], &input);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn stream_mode_separates_glued_frames_and_skips_garbage() {
    let all = vectors();
    let mut stream = b"\x00\x01\x00\x00\x00\x06\x01\x03garbage".to_vec();
    for v in &all {
        stream.extend_from_slice(&v.bytes);
    }
    let out = run_with_stdin(&["hj212", "parse", "--stream"], &stream);
    assert_eq!(out.status.code(), Some(1));
    let got = lines(&out);
    let accepted: Vec<&Value> = got.iter().filter(|g| g["ok"] == true).collect();
    let positives: Vec<&Vector> = all.iter().filter(|v| !is_negative(&v.v)).collect();
    assert_eq!(accepted.len(), positives.len());
    for (g, v) in accepted.iter().zip(&positives) {
        assert_eq!(
            g["qn"],
            v.v["expected"].get("qn").cloned().unwrap_or(Value::Null)
        );
        assert_eq!(g["cn"], v.v["expected"]["cn"]);
        assert_eq!(g["line"], Value::Null);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("15 garbage bytes"), "{stderr}");
}

#[test]
fn stream_of_valid_frames_split_oddly_exits_zero() {
    let positives: Vec<Vector> = vectors()
        .into_iter()
        .filter(|v| !is_negative(&v.v))
        .collect();
    let mut stream = Vec::new();
    for (i, v) in positives.iter().enumerate() {
        stream.extend_from_slice(&v.bytes);
        if i % 2 == 0 {
            stream.extend_from_slice(b"\r\n");
        }
    }
    let out = run_with_stdin(&["hj212", "parse", "--stream"], &stream);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&out).len(), positives.len());
}

#[test]
fn legacy_modbus_option() {
    let frame = b"##0086QN=20170516010101001;ST=22;CN=1072;PW=123456;MN=ABCDEFG1234567;Flag=3;CP=&&PW=654321&&E476\n";
    let out = run_with_stdin(&["hj212", "parse"], frame);
    assert_eq!(out.status.code(), Some(1));
    let g = &lines(&out)[0];
    assert_eq!(g["error_kinds"][0], "crc_modbus");
    assert!(g["error"].as_str().unwrap().contains("CRC-16/MODBUS"));
    let out = run_with_stdin(&["hj212", "parse", "--crc", "modbus"], frame);
    assert_eq!(out.status.code(), Some(0));
    let g = &lines(&out)[0];
    assert_eq!(g["ok"], true);
    assert_eq!(g["cp"]["PW"], "654321");
    assert!(!g["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn max_len_option_rejects_over_long_frames() {
    let v = &vectors()[2]; // declared 1025
    let mut input = v.bytes.clone();
    input.push(b'\n');
    let out = run_with_stdin(&["hj212", "parse", "--max-len", "1024"], &input);
    assert_eq!(out.status.code(), Some(1));
    let g = &lines(&out)[0];
    assert!(
        g["error_kinds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "too_long")
    );
}

#[test]
fn line_that_is_not_a_frame_names_the_line() {
    let out = run_with_stdin(&["hj212", "parse"], b"\nhello\n");
    assert_eq!(out.status.code(), Some(1));
    let g = &lines(&out)[0];
    assert_eq!(g["line"], 2);
    assert_eq!(g["error_kinds"][0], "no_header");
    assert_eq!(g["crc_ok"], Value::Null);
    assert_eq!(g["cn"], Value::Null);
}

#[test]
fn unreadable_input_exits_two() {
    let out = bin()
        .args(["hj212", "parse", "/nonexistent/frames.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/frames.txt"));
}
