//! Issue #10, item 1: every byte of a frame is hostile. The codec accepts only
//! the protocol's values in the fields that reach storage or a screen, and names
//! the field when it refuses one.

use gongjian_hj212::{FrameError, Options, crc, parse_frame};

fn frame(data: &str) -> Vec<u8> {
    let mut f = format!("##{:04}{data}", data.len()).into_bytes();
    f.extend_from_slice(format!("{:04X}\r\n", crc::hj212(data.as_bytes())).as_bytes());
    f
}

fn minute(cp: &str) -> Vec<u8> {
    frame(&format!(
        "QN=20240102080000001;ST=31;CN=2051;PW=123456;MN=MN0001;Flag=5;CP=&&DataTime=20240102080000;{cp}&&"
    ))
}

/// The error naming `key`, if the frame was refused for it.
fn refusal_for(bytes: &[u8], key: &str) -> Option<FrameError> {
    let r = parse_frame(bytes, &Options::default()).err()?;
    r.errors()
        .iter()
        .find(|e| match e {
            FrameError::InvalidValue { key: k, .. } => k == key,
            FrameError::InvalidField { field, .. } => *field == key,
            _ => false,
        })
        .cloned()
}

#[test]
fn item_1_data_flag_outside_the_protocol_table_is_refused_naming_the_field() {
    let evil = minute("a21026-Rtd=12.5,a21026-Flag=<img src=x onerror=alert(1)>");
    let r = parse_frame(&evil, &Options::default()).unwrap_err();
    assert_eq!(r.crc_ok(), Some(true), "the frame itself is intact");
    assert_eq!(r.error().kind(), "invalid_value");
    match r.error() {
        FrameError::InvalidValue { key, .. } => assert_eq!(key, "a21026-Flag"),
        other => panic!("{other:?}"),
    }
    // The partial parse keeps MN and PW so the listener can authenticate the
    // sender and quarantine the frame.
    let p = r.partial().unwrap();
    assert_eq!((p.mn(), p.pw()), (Some("MN0001"), Some("123456")));

    // Every flag of HJ 212-2017 §8.5 and the 2005 `P` is accepted; nothing else.
    for flag in ["N", "F", "M", "S", "D", "C", "T", "B", "P"] {
        let ok = minute(&format!("a21026-Rtd=1,a21026-Flag={flag}"));
        assert!(parse_frame(&ok, &Options::default()).is_ok(), "{flag}");
    }
    for flag in ["n", "X", "NN", "Ｎ", "\"", "<", "N<"] {
        let bad = minute(&format!("a21026-Rtd=1,a21026-Flag={flag}"));
        assert!(refusal_for(&bad, "a21026-Flag").is_some(), "{flag:?}");
    }
    // An absent or empty flag stays allowed (the listener stores N).
    assert!(parse_frame(&minute("a21026-Rtd=1,a21026-Flag="), &Options::default()).is_ok());
}

#[test]
fn item_1_free_text_fields_that_reach_storage_are_bounded_and_charset_checked() {
    // Values of measured fields are decimals.
    assert!(
        refusal_for(
            &minute("a21026-Rtd=<script>alert(1)</script>"),
            "a21026-Rtd"
        )
        .is_some()
    );
    assert!(refusal_for(&minute("a21026-Avg=1e9"), "a21026-Avg").is_some());
    assert!(refusal_for(&minute("a21026-ZsAvg=12 .5"), "a21026-ZsAvg").is_some());
    // Factor codes are short ASCII identifiers.
    let r = parse_frame(&minute("a<b>-Rtd=1"), &Options::default()).unwrap_err();
    assert!(r.message().contains("factor code"), "{}", r.message());
    let long = format!("{}-Rtd=1", "a".repeat(200));
    let r = parse_frame(&minute(&long), &Options::default()).unwrap_err();
    assert!(
        r.message().len() < 400,
        "the error quotes a bounded key: {}",
        r.message()
    );
    // EFlag, SampleTime, SN.
    assert!(refusal_for(&minute("a21026-EFlag=<i>"), "a21026-EFlag").is_some());
    assert!(refusal_for(&minute("a21026-EFlag=ABCDEFGHIJ"), "a21026-EFlag").is_some());
    assert!(refusal_for(&minute("a01013-SampleTime=yesterday"), "a01013-SampleTime").is_some());
    assert!(refusal_for(&minute("i12001-SN=<svg/onload=1>"), "i12001-SN").is_some());
    // Free text (Info log) may be long and Chinese, but has no control characters.
    assert!(parse_frame(&minute("i11001-Info=//清洗管路//"), &Options::default()).is_ok());
    assert!(refusal_for(&minute("i11001-Info=a\u{1b}[31m"), "i11001-Info").is_some());
    // Header identifiers that are stored (MN, CN, QN) are bounded ASCII.
    let bad_mn = frame("QN=1;ST=31;CN=2051;PW=123456;MN=<b>x</b>;Flag=5;CP=&&&&");
    assert!(refusal_for(&bad_mn, "MN").is_some());
    let long_mn = frame(&format!("ST=31;CN=2051;PW=1;MN={};CP=&&&&", "M".repeat(65)));
    let e = refusal_for(&long_mn, "MN").unwrap();
    assert!(e.to_string().len() < 200, "{e}");
    let bad_cn = frame("ST=31;CN=20<1;PW=1;MN=M;CP=&&&&");
    assert!(refusal_for(&bad_cn, "CN").is_some());
    let bad_qn = frame("QN=1'--;ST=31;CN=2051;PW=1;MN=M;CP=&&&&");
    assert!(refusal_for(&bad_qn, "QN").is_some());
    // A real minute frame stays accepted.
    let good = minute(
        "a21026-Rtd=12.5,a21026-ZsRtd=20.0,a21026-Flag=N,a21026-EFlag=A01;a01013-SampleTime=20240102080000",
    );
    assert!(parse_frame(&good, &Options::default()).is_ok());
}
