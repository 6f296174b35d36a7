//! Every entry of `tests/data/hj212_vectors.jsonl` (copied from the shared spec):
//! positive entries parse to their `expected` fields; negative entries (CRC or length
//! wrong) are rejected with the specific error, and their content still parses.

use bytes::BytesMut;
use gongjian_hj212::report::Report;
use gongjian_hj212::{Options, StreamDecoder, crc, parse_frame};
use serde_json::Value;

const VECTORS: &str = include_str!("data/hj212_vectors.jsonl");

struct Vector {
    line: usize,
    bytes: Vec<u8>,
    v: Value,
}

fn vectors() -> Vec<Vector> {
    VECTORS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
            let text = v["packet"].as_str().expect("packet");
            let bytes = match v.get("encoding").and_then(Value::as_str) {
                Some("gbk") => {
                    let (b, _, unmappable) = encoding_rs::GBK.encode(text);
                    assert!(!unmappable);
                    b.into_owned()
                }
                None | Some("utf-8") => text.as_bytes().to_vec(),
                Some(other) => panic!("line {}: unknown encoding {other}", i + 1),
            };
            Vector {
                line: i + 1,
                bytes,
                v,
            }
        })
        .collect()
}

/// Compare a report with `expected`: every expected key must match; header fields
/// absent from `expected` must be null, and absent items/cp must be empty.
fn check_expected(line: usize, report: &Value, expected: &Value) {
    let exp = expected.as_object().expect("expected object");
    for key in [
        "qn", "st", "cn", "pw", "mn", "flag", "pnum", "pno", "datatime",
    ] {
        let want = exp.get(key).cloned().unwrap_or(Value::Null);
        assert_eq!(report[key], want, "line {line}: field {key}");
    }
    let want_items = exp.get("items").cloned().unwrap_or(Value::Array(vec![]));
    let got_items = report["items"].as_array().expect("items");
    let want_items = want_items.as_array().expect("expected items");
    assert_eq!(got_items.len(), want_items.len(), "line {line}: item count");
    for (n, (got, want)) in got_items.iter().zip(want_items).enumerate() {
        for key in ["code", "field", "value", "flag", "polid"] {
            let w = want.get(key).cloned().unwrap_or(Value::Null);
            assert_eq!(got[key], w, "line {line}: item {n} {key}");
        }
    }
    let want_cp = exp
        .get("cp")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    assert_eq!(report["cp"], want_cp, "line {line}: cp");
    if let Some(u) = exp.get("cp_unterminated") {
        assert_eq!(
            report["cp_unterminated"], *u,
            "line {line}: cp_unterminated"
        );
    }
}

fn expected_error_kinds(v: &Value) -> Vec<&'static str> {
    let mut kinds = Vec::new();
    if v["len_ok"] == Value::Bool(false) {
        kinds.push("length_mismatch");
    }
    if v["crc_ok"] == Value::Bool(false) {
        let sent = v["crc_sent"].as_str().unwrap().to_ascii_uppercase();
        let mb = v["crc_modbus"].as_str().unwrap().to_ascii_uppercase();
        let mb_swapped = format!("{}{}", &mb[2..], &mb[..2]);
        kinds.push(if sent == mb || sent == mb_swapped {
            "crc_modbus"
        } else {
            "crc_mismatch"
        });
    }
    kinds
}

#[test]
fn vector_file_is_complete() {
    let all = vectors();
    assert_eq!(all.len(), 61);
    assert!(
        all.iter()
            .filter(|v| !expected_error_kinds(&v.v).is_empty())
            .count()
            >= 10
    );
}

#[test]
fn every_vector_parses_to_expected() {
    for vec in vectors() {
        let decoded = parse_frame(&vec.bytes, &Options::default());
        let report = serde_json::to_value(Report::new(&decoded)).unwrap();
        check_expected(vec.line, &report, &vec.v["expected"]);
        assert_eq!(
            report["crc_ok"], vec.v["crc_ok"],
            "line {}: crc_ok",
            vec.line
        );
    }
}

#[test]
fn positive_vectors_are_accepted_and_negative_ones_rejected_with_specific_errors() {
    for vec in vectors() {
        let kinds = expected_error_kinds(&vec.v);
        let decoded = parse_frame(&vec.bytes, &Options::default());
        let unterminated = vec.v["expected"]
            .get("cp_unterminated")
            .is_some_and(|u| u == true);
        match (&decoded, kinds.is_empty() && !unterminated) {
            (Ok(_), true) => {}
            (Err(r), true) => panic!("line {}: rejected: {}", vec.line, r.message()),
            (Ok(_), false) => panic!("line {}: accepted, expected {kinds:?}", vec.line),
            (Err(r), false) => {
                let got: Vec<_> = r.errors().iter().map(|e| e.kind()).collect();
                assert_eq!(
                    got[0],
                    kinds[0],
                    "line {}: main error {:?} (all: {got:?})",
                    vec.line,
                    r.message()
                );
                for k in &kinds {
                    assert!(got.contains(k), "line {}: missing {k} in {got:?}", vec.line);
                }
                if unterminated {
                    assert!(got.contains(&"unterminated_cp"), "line {}", vec.line);
                }
            }
        }
    }
}

#[test]
fn modbus_diagnosis_names_the_algorithm_and_byte_order() {
    for vec in vectors() {
        if expected_error_kinds(&vec.v).contains(&"crc_modbus") {
            let r = parse_frame(&vec.bytes, &Options::default()).unwrap_err();
            let msg = r.message();
            assert!(msg.contains("CRC-16/MODBUS"), "line {}: {msg}", vec.line);
            let sent = vec.v["crc_sent"].as_str().unwrap().to_ascii_uppercase();
            let order = if sent == vec.v["crc_modbus"].as_str().unwrap().to_ascii_uppercase() {
                "high byte first"
            } else {
                "low byte first"
            };
            assert!(msg.contains(order), "line {}: {msg}", vec.line);
        }
    }
}

#[test]
fn legacy_modbus_option_accepts_modbus_vectors_only() {
    let opts = Options {
        crc: gongjian_hj212::CrcPolicy::AcceptModbus,
        ..Options::default()
    };
    for vec in vectors() {
        let kinds = expected_error_kinds(&vec.v);
        if kinds == ["crc_modbus"] {
            let p = parse_frame(&vec.bytes, &opts)
                .unwrap_or_else(|r| panic!("line {}: {}", vec.line, r.message()));
            assert!(!p.warnings().is_empty());
        } else if kinds.contains(&"crc_mismatch") {
            assert!(parse_frame(&vec.bytes, &opts).is_err(), "line {}", vec.line);
        }
    }
}

#[test]
fn crc_fields_of_the_vector_file_agree_with_our_crc() {
    for vec in vectors() {
        let raw = &vec.bytes;
        let data = &raw[6..raw.len() - 4];
        assert_eq!(
            format!("{:04X}", crc::hj212(data)),
            vec.v["crc_hj212"].as_str().unwrap(),
            "line {}",
            vec.line
        );
        assert_eq!(
            format!("{:04X}", crc::modbus(data)),
            vec.v["crc_modbus"].as_str().unwrap(),
            "line {}",
            vec.line
        );
    }
}

#[test]
fn version_detection_matches_the_vector_labels() {
    for vec in vectors() {
        let label = vec.v["version"].as_str().unwrap().trim_end_matches('?');
        if label.is_empty() {
            continue;
        }
        let decoded = parse_frame(&vec.bytes, &Options::default());
        let p = match &decoded {
            Ok(p) => p,
            Err(r) => r.partial().unwrap(),
        };
        let flag_version = p.version().map(|v| v.as_str());
        // Flag=8/9 packets are labelled "?" in the file; everything else must agree.
        assert_eq!(flag_version, Some(label), "line {}", vec.line);
    }
}

#[test]
fn all_vectors_as_one_glued_stream_keep_sync() {
    // Concatenate every vector with no separator: the stream decoder must yield one
    // result per frame; valid ones accepted, and every valid frame found.
    let all = vectors();
    let mut stream = Vec::new();
    for v in &all {
        stream.extend_from_slice(&v.bytes);
    }
    let mut dec = StreamDecoder::new(Options::default());
    let mut buf = BytesMut::from(&stream[..]);
    let mut accepted = Vec::new();
    while let Some(d) = dec.decode(&mut buf) {
        if let Ok(p) = d {
            accepted.push(p.raw().clone());
        }
    }
    while let Some(d) = dec.decode_eof(&mut buf) {
        if let Ok(p) = d {
            accepted.push(p.raw().clone());
        }
    }
    let want: Vec<_> = all
        .iter()
        .filter(|v| {
            expected_error_kinds(&v.v).is_empty()
                && v.v["expected"].get("cp_unterminated").is_none()
        })
        .map(|v| v.bytes.clone())
        .collect();
    let got: Vec<Vec<u8>> = accepted.iter().map(|b| b.to_vec()).collect();
    assert_eq!(got, want);
}

#[test]
fn all_vectors_with_crlf_in_stream_mode_report_the_same_errors_as_line_mode() {
    let all = vectors();
    let mut stream = Vec::new();
    for v in &all {
        stream.extend_from_slice(&v.bytes);
        stream.extend_from_slice(b"\r\n");
    }
    let mut dec = StreamDecoder::new(Options::default());
    let mut buf = BytesMut::from(&stream[..]);
    let mut results = Vec::new();
    while let Some(d) = dec.decode(&mut buf) {
        results.push(d);
    }
    while let Some(d) = dec.decode_eof(&mut buf) {
        results.push(d);
    }
    assert_eq!(results.len(), all.len(), "one result per frame");
    for (v, r) in all.iter().zip(&results) {
        let line = parse_frame(&v.bytes, &Options::default());
        let kinds = |d: &gongjian_hj212::Decoded| match d {
            Ok(_) => vec![],
            Err(r) => r.errors().iter().map(|e| e.kind()).collect::<Vec<_>>(),
        };
        assert_eq!(kinds(r), kinds(&line), "line {}", v.line);
    }
    assert_eq!(dec.stats().garbage_bytes, 0);
}
