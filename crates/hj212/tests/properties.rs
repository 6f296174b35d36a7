//! Property tests: serialize → parse round-trips; arbitrary bytes never panic the
//! decoder, and it always resyncs to a valid frame that follows them.

use bytes::BytesMut;
use gongjian_hj212::{Charset, Flag, Message, Options, StreamDecoder, parse_frame};
use proptest::prelude::*;

fn header_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.]{0,24}"
}

fn value() -> impl Strategy<Value = String> {
    // Signed decimals, flags, timestamps, Chinese text (no separators, no "//" log
    // delimiters, no edge spaces).
    prop_oneof![
        "-?[0-9]{1,8}(\\.[0-9]{1,6})?",
        "[A-Z]{0,4}",
        "[0-9]{14}",
        "[清洗管路数据正常]{1,6}",
        Just(String::new()),
    ]
}

fn entry() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        // Group-level key.
        ("[A-Z][A-Za-z]{0,11}", value()),
        // Item key CODE-FIELD, with a value its field allows.
        ("[a-zA-Z0-9]{1,6}", item_field_and_value())
            .prop_map(|(c, (f, v))| (format!("{c}-{f}"), v)),
    ]
}

/// An item field with a value the codec accepts for it (flags from the
/// standard's table, decimals in value fields, free text in the others).
fn item_field_and_value() -> impl Strategy<Value = (String, String)> {
    let number = || prop_oneof!["-?[0-9]{1,8}(\\.[0-9]{1,6})?", Just(String::new())];
    prop_oneof![
        (
            "(Rtd|ZsRtd|Avg|Min|Max|ZsAvg|ZsMin|ZsMax|Cou|RS|RT)",
            number()
        ),
        (Just("Flag".to_owned()), "[NFMSDCTBP]?"),
        (Just("EFlag".to_owned()), "[A-Z0-9]{0,4}"),
        (Just("SampleTime".to_owned()), "([0-9]{14})?"),
        (Just("Info".to_owned()), value()),
        (
            "[A-Za-z_]{1,8}".prop_filter("a vendor field", |f| {
                gongjian_hj212::FieldKind::of(f) == gongjian_hj212::FieldKind::Other
            }),
            value()
        ),
    ]
}

prop_compose! {
    fn message()(
        qn in proptest::option::of("[0-9]{13,17}"),
        st in "[0-9A-Z]{2}",
        cn in "[0-9]{4}",
        pw in header_value(),
        mn in header_value(),
        flag in proptest::option::of(any::<u8>()),
        split in proptest::option::of((1u16..=9999).prop_flat_map(|n| (Just(n), 1..=n))),
        cp in proptest::collection::vec(proptest::collection::vec(entry(), 1..5), 0..6),
    ) -> Message {
        Message { qn, st, cn, pw, mn, flag: flag.map(Flag), packet_no: split, cp }
    }
}

fn decode_all(opts: Options, chunks: &[&[u8]]) -> Vec<gongjian_hj212::Decoded> {
    let mut dec = StreamDecoder::new(opts);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        while let Some(d) = dec.decode(&mut buf) {
            out.push(d);
        }
    }
    while let Some(d) = dec.decode_eof(&mut buf) {
        out.push(d);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn serialize_then_parse_round_trips(m in message(), gbk in any::<bool>()) {
        let charset = if gbk { Charset::Gbk } else { Charset::Utf8 };
        let mut bytes = BytesMut::new();
        m.encode_into(charset, &mut bytes).unwrap();
        // Parse with the device's charset: some short GBK byte sequences are also
        // valid UTF-8 (路 = C2 B7 = "·"), so auto-detection cannot be exact.
        let opts = Options { charset, ..Options::default() };
        let p = parse_frame(&bytes, &opts)
            .unwrap_or_else(|r| panic!("{}: {:?}", r.message(), String::from_utf8_lossy(&bytes)));
        prop_assert_eq!(p.qn(), m.qn.as_deref());
        prop_assert_eq!(p.st(), Some(m.st.as_str()));
        prop_assert_eq!(p.cn(), Some(m.cn.as_str()));
        prop_assert_eq!(p.pw(), Some(m.pw.as_str()));
        prop_assert_eq!(p.mn(), Some(m.mn.as_str()));
        prop_assert_eq!(p.flag(), m.flag);
        prop_assert_eq!(p.pnum().zip(p.pno()), m.packet_no);
        let got: Vec<(usize, String, String)> =
            p.cp_all().map(|(g, k, v)| (g, k.to_owned(), v.to_owned())).collect();
        let want: Vec<(usize, String, String)> = m
            .cp
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.iter().map(move |(k, v)| (g, k.clone(), v.clone())))
            .collect();
        prop_assert_eq!(got, want);
        // The stream decoder agrees, however the bytes are split.
        let cut = bytes.len() / 3;
        let out = decode_all(opts, &[&bytes[..cut], &bytes[cut..]]);
        prop_assert_eq!(out.len(), 1);
        let q = out.into_iter().next().unwrap().unwrap();
        prop_assert_eq!(q.data(), p.data());
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(0usize..3000, 0..8),
        max in prop_oneof![Just(9999usize), 0usize..2000],
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for c in cuts.into_iter().chain([bytes.len()]) {
            chunks.push(&bytes[last..c]);
            last = c;
        }
        let opts = Options { max_data_len: max, ..Options::default() };
        let _ = decode_all(opts.clone(), &chunks);
        let _ = parse_frame(&bytes, &opts);
    }

    #[test]
    fn arbitrary_bytes_with_frame_like_noise_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(b"##".to_vec()),
                "[0-9]{4}".prop_map(String::into_bytes),
                Just(b"CP=&&".to_vec()),
                Just(b"&&".to_vec()),
                Just(b"\r\n".to_vec()),
                "[0-9A-Fa-f]{4}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..40),
            ],
            0..40,
        ),
    ) {
        let bytes: Vec<u8> = parts.concat();
        let _ = decode_all(Options::default(), &[&bytes]);
        let _ = parse_frame(&bytes, &Options::default());
    }

    #[test]
    fn decoder_resyncs_to_a_valid_frame_after_garbage(
        garbage in proptest::collection::vec(any::<u8>(), 0..2000),
        m in message(),
        split in 0usize..4000,
        trailing_crlf in any::<bool>(),
    ) {
        let mut frame = m.encode().unwrap();
        if !trailing_crlf {
            frame.truncate(frame.len() - 2);
        }
        let mut stream = garbage.clone();
        stream.extend_from_slice(&frame);
        let at = split.min(stream.len());
        let out = decode_all(Options::default(), &[&stream[..at], &stream[at..]]);
        let want = parse_frame(&frame, &Options::default()).unwrap();
        prop_assert!(
            out.iter().any(|d| matches!(d, Ok(p) if p.raw() == want.raw())),
            "valid frame not found after {} garbage bytes", garbage.len()
        );
    }

    #[test]
    fn decoder_resyncs_after_frame_like_noise(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(b"##".to_vec()),
                "[0-9]{4}".prop_map(String::into_bytes),
                Just(b"QN=1;CN=2011;MN=x;CP=&&".to_vec()),
                Just(b"&&".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"#".to_vec()),
                "[0-9A-Fa-f]{4}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..20),
            ],
            0..30,
        ),
        m in message(),
        split in 0usize..2000,
    ) {
        let frame = m.encode().unwrap();
        let mut stream: Vec<u8> = parts.concat();
        stream.extend_from_slice(&frame);
        let at = split.min(stream.len());
        let out = decode_all(Options::default(), &[&stream[..at], &stream[at..]]);
        let want = parse_frame(&frame, &Options::default()).unwrap();
        prop_assert!(out.iter().any(|d| matches!(d, Ok(p) if p.raw() == want.raw())));
    }
}
