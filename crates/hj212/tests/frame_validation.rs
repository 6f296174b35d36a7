//! One test per protocol bug seen in the field or in peer implementations
//! (../shared/spec/hj212.md §12, hj212-peers.md "Tricky points").

use bytes::BytesMut;
use gongjian_hj212::build::frame_bytes;
use gongjian_hj212::{
    Charset, CrcPolicy, Decoded, FrameError, Options, StreamDecoder, Warning, crc, parse_frame,
};

const ACK: &str =
    "QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&";
const MINUTE: &str = "QN=20160801085000001;ST=32;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801084000;w00000-Cou=10.5,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=10.5,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&";

/// `##LLLL<data><CRC>` without CR LF.
fn frame(data: &str) -> Vec<u8> {
    frame_raw(data.as_bytes())
}

fn frame_raw(data: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    frame_bytes(data, &mut b).unwrap();
    let mut v = b.to_vec();
    v.truncate(v.len() - 2);
    v
}

fn crlf(mut v: Vec<u8>) -> Vec<u8> {
    v.extend_from_slice(b"\r\n");
    v
}

/// Feed `chunks` one read at a time, then EOF; collect every result.
fn decode_reads(opts: Options, chunks: &[&[u8]]) -> (Vec<Decoded>, StreamDecoder) {
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
    assert!(buf.is_empty(), "decoder must drain its buffer at EOF");
    (out, dec)
}

fn cns(results: &[Decoded]) -> Vec<String> {
    results
        .iter()
        .map(|d| match d {
            Ok(p) => p.cn().unwrap_or("?").to_owned(),
            Err(r) => format!("ERR:{}", r.error().kind()),
        })
        .collect()
}

#[test]
fn several_frames_in_one_read() {
    let mut read = crlf(frame(MINUTE));
    read.extend(crlf(frame(ACK)));
    read.extend(crlf(frame(MINUTE)));
    let (out, _) = decode_reads(Options::default(), &[&read]);
    assert_eq!(cns(&out), ["2051", "9014", "2051"]);
}

#[test]
fn frame_split_across_reads_at_every_byte() {
    let whole = crlf(frame(MINUTE));
    for cut in 1..whole.len() {
        let (out, _) = decode_reads(Options::default(), &[&whole[..cut], &whole[cut..]]);
        assert_eq!(cns(&out), ["2051"], "cut at {cut}");
    }
    // And one byte per read.
    let bytes: Vec<&[u8]> = whole.chunks(1).collect();
    let (out, dec) = decode_reads(Options::default(), &bytes);
    assert_eq!(cns(&out), ["2051"]);
    assert_eq!(dec.stats().garbage_bytes, 0);
}

#[test]
fn frames_without_crlf_between_them() {
    // The netty StringDecoder bug: glued frames must still be separated by length.
    let mut read = frame(ACK);
    read.extend(frame(MINUTE));
    read.extend(frame(ACK));
    read.extend(frame(MINUTE));
    let (out, dec) = decode_reads(Options::default(), &[&read]);
    assert_eq!(cns(&out), ["9014", "2051", "9014", "2051"]);
    assert_eq!(dec.stats().garbage_bytes, 0);
}

#[test]
fn frame_is_yielded_without_waiting_for_its_crlf() {
    // A logger that omits CR LF waits for our ack: the frame must come out at once.
    let mut dec = StreamDecoder::new(Options::default());
    let mut buf = BytesMut::from(&frame(MINUTE)[..]);
    assert!(matches!(dec.decode(&mut buf), Some(Ok(_))));
    // A late CR LF is not garbage.
    buf.extend_from_slice(b"\r\n");
    assert!(dec.decode(&mut buf).is_none());
    assert_eq!(dec.stats().garbage_bytes, 0);
}

#[test]
fn garbage_before_header_is_skipped_and_counted() {
    let modbus_poll: &[u8] = &[
        0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0B,
    ];
    let mut read = modbus_poll.to_vec();
    read.extend_from_slice(b"1623QN=20200101;garbage#"); // a read that lost its "##"
    read.extend(crlf(frame(MINUTE)));
    let (out, dec) = decode_reads(Options::default(), &[&read]);
    assert_eq!(cns(&out), ["2051"]);
    assert_eq!(dec.stats().garbage_bytes, (modbus_poll.len() + 24) as u64);
}

#[test]
fn extra_hash_before_header() {
    let mut read = b"###".to_vec();
    read.extend(frame(ACK));
    let (out, _) = decode_reads(Options::default(), &[&read]);
    assert_eq!(cns(&out), ["9014"]);
}

#[test]
fn header_hash_split_across_reads() {
    // srdgame's framer keeps a trailing '#': so must we.
    let f = frame(ACK);
    let (out, dec) = decode_reads(Options::default(), &[b"xx#", &f[1..]]);
    assert_eq!(cns(&out), ["9014"]);
    assert_eq!(dec.stats().garbage_bytes, 2);
}

#[test]
fn zero_filled_buffer_on_disconnect_is_not_parsed() {
    // HJ212Virtual parsed a NUL-filled read buffer past the bytes read.
    let mut read = crlf(frame(ACK));
    read.extend(std::iter::repeat_n(0u8, 4096));
    let (out, dec) = decode_reads(Options::default(), &[&read]);
    assert_eq!(cns(&out), ["9014"]);
    assert_eq!(dec.stats().garbage_bytes, 4096);
}

#[test]
fn over_nominal_length_is_accepted_with_a_warning() {
    for len in [1025usize, 1623] {
        let mut data = MINUTE.trim_end_matches("&&").to_owned();
        let pad = len - data.len() - "&&".len() - ";i21001-Info=//".len() - 2;
        data.push_str(";i21001-Info=//");
        data.push_str(&"x".repeat(pad));
        data.push_str("//&&");
        assert_eq!(data.len(), len);
        let f = frame(&data);
        let p = parse_frame(&f, &Options::default()).unwrap();
        assert!(p.warnings().contains(&Warning::OverNominalLength(len)));
        let (out, _) = decode_reads(Options::default(), &[&f]);
        assert_eq!(cns(&out), ["2051"]);
    }
}

#[test]
fn configured_max_length_rejects_and_resyncs() {
    let opts = Options {
        max_data_len: 200,
        ..Options::default()
    };
    let mut read = crlf(frame(MINUTE)); // 319 bytes of data
    read.extend(crlf(frame(ACK)));
    let (out, _) = decode_reads(opts.clone(), &[&read]);
    assert_eq!(cns(&out), ["ERR:too_long", "9014"]);
    let e = parse_frame(&frame(MINUTE), &opts).unwrap_err();
    assert!(matches!(e.error(), FrameError::TooLong { max: 200, .. }));
}

#[test]
fn length_counts_bytes_not_characters() {
    // caoyiliang / IceCoffee counted characters: wrong for Chinese.
    let data = "QN=20160801085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20100301145000;PolId=w01018;i11001-Info=//清洗管路//&&";
    let f = frame(data);
    assert_eq!(&f[2..6], b"0152"); // 140 chars, 152 bytes
    let p = parse_frame(&f, &Options::default()).unwrap();
    assert_eq!(p.items().next().unwrap().value, "//清洗管路//");
    // A sender that counted characters: rejected as a length mismatch, not a CRC error.
    let mut wrong = f.clone();
    wrong[2..6].copy_from_slice(format!("{:04}", data.chars().count()).as_bytes());
    let e = parse_frame(&wrong, &Options::default()).unwrap_err();
    assert_eq!(
        e.error(),
        &FrameError::LengthMismatch {
            declared: data.chars().count(),
            actual: data.len()
        }
    );
}

#[test]
fn gbk_frame_length_and_crc_are_over_gbk_bytes() {
    let text = "QN=20160801085857223;ST=32;CN=3020;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20100301145000;PolId=w01018;i11001-Info=//清洗管路//&&";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let f = frame_raw(&gbk);
    assert!(f.starts_with(b"##0148"));
    assert!(f.ends_with(b"DEC1"));
    let p = parse_frame(&f, &Options::default()).unwrap();
    assert_eq!(p.charset(), Charset::Gbk);
    assert_eq!(p.items().next().unwrap().value, "//清洗管路//");
    // With the device pinned to UTF-8 the same bytes are a charset error.
    let strict = Options {
        charset: Charset::Utf8,
        ..Options::default()
    };
    assert_eq!(
        parse_frame(&f, &strict).unwrap_err().error().kind(),
        "charset"
    );
}

#[test]
fn crc_is_over_unsigned_bytes() {
    // binghuang / tang0-0 used signed char: bytes >= 0x80 must not sign-extend.
    let (gbk, _, _) = encoding_rs::GBK.encode("清洗");
    assert_eq!(crc::hj212(&gbk), crc::hj212_bitwise(&gbk));
}

#[test]
fn crc_is_compared_case_insensitively() {
    // IceCoffee compared against upper case; devices send cc01, 7d00, 1dc0.
    let mut f = frame(ACK);
    let n = f.len();
    f[n - 4..].make_ascii_lowercase();
    assert!(parse_frame(&f, &Options::default()).is_ok());
    let (out, _) = decode_reads(Options::default(), &[&f]);
    assert_eq!(cns(&out), ["9014"]);
}

#[test]
fn crc_0000_is_a_real_crc() {
    let f = b"##0451QN=20200428120745080;ST=31;CN=2011;PW=123456;MN=MYHJ00000000000080011128;Flag=4;CP=&&DataTime=20200428120300;a24088-Rtd=0.000,a24088-Flag=D;a24087-Rtd=0.000,a24087-Flag=D;a25005-Rtd=0.000,a25005-Flag=D;a25003-Rtd=0.000,a25003-Flag=D;a25002-Rtd=0.000,a25002-Flag=D;a05002-Rtd=0.000,a05002-Flag=D;a01014-Rtd=0.000,a01014-Flag=D;a01013-Rtd=0.000,a01013-Flag=D;a01012-Rtd=0.000,a01012-Flag=D;a01011-Rtd=0.000,a01011-Flag=D;a00000-Rtd=0.000,a00000-Flag=D&&0000";
    assert!(parse_frame(f, &Options::default()).is_ok());
    let mut bad = f.to_vec();
    let n = bad.len();
    bad[n - 4..].copy_from_slice(b"0001");
    assert_eq!(
        parse_frame(&bad, &Options::default())
            .unwrap_err()
            .error()
            .kind(),
        "crc_mismatch"
    );
}

#[test]
fn crc_excludes_header_length_and_crlf() {
    let f = frame(ACK);
    let data = &f[6..f.len() - 4];
    assert_eq!(data, ACK.as_bytes());
    assert_eq!(&f[f.len() - 4..], &crc::format(crc::hj212(ACK.as_bytes())));
}

#[test]
fn modbus_crc_is_diagnosed_and_accepted_only_when_configured() {
    let mut f = frame(ACK);
    let n = f.len();
    let mb = crc::modbus(ACK.as_bytes());
    f[n - 4..].copy_from_slice(&crc::format(mb.swap_bytes()));
    let e = parse_frame(&f, &Options::default()).unwrap_err();
    assert!(matches!(
        e.error(),
        FrameError::ModbusCrc {
            order: crc::ByteOrder::LowFirst,
            ..
        }
    ));
    let legacy = Options {
        crc: CrcPolicy::AcceptModbus,
        ..Options::default()
    };
    let p = parse_frame(&f, &legacy).unwrap();
    assert!(p.crc_ok());
    let (out, _) = decode_reads(legacy, &[&f]);
    assert_eq!(cns(&out), ["9014"]);
}

#[test]
fn crc_off_for_commissioning_accepts_fake_crc_with_a_warning() {
    // Simulators hard-code "&&B381".
    let mut f = frame(ACK);
    let n = f.len();
    f[n - 4..].copy_from_slice(b"B381");
    let off = Options {
        crc: CrcPolicy::Ignore,
        ..Options::default()
    };
    let p = parse_frame(&f, &off).unwrap();
    assert!(!p.crc_ok());
    assert!(matches!(p.warnings()[0], Warning::CrcNotChecked { .. }));
}

#[test]
fn bad_crc_does_not_stall_the_decoder() {
    // flash520 returned an error without consuming bytes: the session stalled.
    let mut bad = frame(MINUTE);
    let n = bad.len();
    bad[n - 4..].copy_from_slice(b"FFFF");
    let mut read = bad.clone();
    read.extend(frame(ACK));
    let (out, _) = decode_reads(Options::default(), &[&read]);
    assert_eq!(cns(&out), ["ERR:crc_mismatch", "9014"]);
    // The rejection carries the raw bytes and the parsed content for quarantine.
    let Err(r) = &out[0] else { unreachable!() };
    assert_eq!(r.raw().as_ref(), &bad[..]);
    assert_eq!(r.partial().unwrap().mn(), Some("010000A8900016F000169DC0"));
}

#[test]
fn length_field_too_long_with_crlf_is_a_length_mismatch_and_next_frame_survives() {
    let data = MINUTE;
    let mut f = frame(data);
    f[2..6].copy_from_slice(format!("{:04}", data.len() + 7).as_bytes());
    let mut read = crlf(f);
    read.extend(crlf(frame(ACK)));
    let (out, _) = decode_reads(Options::default(), &[&read]);
    assert_eq!(cns(&out), ["ERR:length_mismatch", "9014"]);
    // Lenient mode accepts it when the CRC matches at the true end.
    let lenient = Options {
        lenient_length: true,
        ..Options::default()
    };
    let (out, _) = decode_reads(lenient, &[&read]);
    assert_eq!(cns(&out), ["2051", "9014"]);
}

#[test]
fn length_field_too_short_is_a_length_mismatch() {
    let data = MINUTE;
    let mut f = frame(data);
    f[2..6].copy_from_slice(format!("{:04}", data.len() - 3).as_bytes());
    let e = parse_frame(&f, &Options::default()).unwrap_err();
    assert_eq!(
        e.error(),
        &FrameError::LengthMismatch {
            declared: data.len() - 3,
            actual: data.len()
        }
    );
    let mut read = crlf(f);
    read.extend(frame(ACK));
    let (out, _) = decode_reads(Options::default(), &[&read]);
    assert_eq!(cns(&out), ["ERR:length_mismatch", "9014"]);
}

#[test]
fn truncated_frame_at_end_of_stream() {
    let f = frame(MINUTE);
    let (out, _) = decode_reads(Options::default(), &[&f[..100]]);
    assert_eq!(cns(&out), ["ERR:truncated"]);
}

#[test]
fn bare_lf_and_missing_line_end() {
    let mut read = frame(ACK);
    read.push(b'\n');
    read.extend(frame(ACK));
    let (out, dec) = decode_reads(Options::default(), &[&read]);
    assert_eq!(cns(&out), ["9014", "9014"]);
    assert_eq!(dec.stats().garbage_bytes, 0);
    let mut line = frame(ACK);
    line.push(b'\n');
    assert!(parse_frame(&line, &Options::default()).is_ok());
}

#[test]
fn ack_carries_the_frames_own_qn() {
    // liaogang555 generated a fresh QN for 9014; the logger could not match it.
    let p = parse_frame(&frame(MINUTE), &Options::default()).unwrap();
    assert!(p.ack_requested());
    let ack = parse_frame(&p.data_ack().encode().unwrap(), &Options::default()).unwrap();
    assert_eq!(ack.qn(), Some("20160801085000001"));
    assert_eq!(ack.cn(), Some("9014"));
    assert_eq!(ack.flag_str(), Some("4"));
}

#[test]
fn datatime_with_milliseconds_is_kept_as_sent() {
    // xiaoyao9184 #5: 17-digit DataTime must not fail the parse.
    let p = parse_frame(
        &frame("ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;011-Rtd=231.0,011-Flag=N&&"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(p.datatime(), Some("20160824003817000"));
}

#[test]
fn unknown_st_and_cn_are_passed_through() {
    let p = parse_frame(
        &frame("QN=1;ST=99;CN=9021;PW=;MN=x;Flag=5;CP=&&&&"),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        (p.st(), p.cn(), p.pw()),
        (Some("99"), Some("9021"), Some(""))
    );
}

#[test]
fn comma_rewriting_does_not_merge_groups() {
    // skylakezf rewrote ',' to ';' and lost which flag belongs to which value.
    let p = parse_frame(
        &frame("ST=22;CN=2011;MN=x;Flag=4;CP=&&a21026-Rtd=1,a21026-Flag=N;a21002-Rtd=2,a21002-Flag=D&&"),
        &Options::default(),
    )
    .unwrap();
    let v: Vec<_> = p.items().map(|i| (i.code, i.flag, i.group)).collect();
    assert_eq!(v, [("a21026", Some("N"), 0), ("a21002", Some("D"), 1)]);
}

#[test]
fn code_table_copy_in_tests_matches_the_embedded_one() {
    assert_eq!(
        include_str!("data/hj212_pollutant_codes_2017.csv"),
        include_str!("../data/pollutant_codes_2017.csv")
    );
}
