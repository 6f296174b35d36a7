//! Fuzz the HJ 212 decoder: arbitrary bytes, fed in arbitrary read sizes, with
//! arbitrary per-device options. Invariants: no panic; the decoder drains its buffer
//! at EOF; every accepted packet's answers serialize and parse back with its QN.
#![no_main]

use gongjian_hj212::bytes::BytesMut;
use gongjian_hj212::{Charset, CrcPolicy, Options, StreamDecoder, parse_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&cfg, rest)) = input.split_first() else {
        return;
    };
    let Some((&chunk, data)) = rest.split_first() else {
        return;
    };
    let opts = Options {
        max_data_len: if cfg & 0x80 != 0 {
            1024
        } else {
            gongjian_hj212::MAX_DATA_LEN
        },
        crc: match cfg & 3 {
            0 => CrcPolicy::Strict,
            1 => CrcPolicy::AcceptModbus,
            _ => CrcPolicy::Ignore,
        },
        charset: match (cfg >> 2) & 3 {
            0 => Charset::Auto,
            1 => Charset::Utf8,
            _ => Charset::Gbk,
        },
        lenient_length: cfg & 0x10 != 0,
    };
    let chunk = usize::from(chunk).max(1);

    let mut dec = StreamDecoder::new(opts.clone());
    let mut buf = BytesMut::new();
    let check = |d: gongjian_hj212::Decoded| {
        if let Ok(p) = d {
            let ack = p
                .data_ack()
                .encode()
                .expect("answers are always serializable");
            let back = parse_frame(&ack, &Options::default()).expect("our ack parses back");
            assert_eq!(back.qn(), p.qn());
        }
    };
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(d) = dec.decode(&mut buf) {
            check(d);
        }
    }
    while let Some(d) = dec.decode_eof(&mut buf) {
        check(d);
    }
    assert!(buf.is_empty());
    let _ = parse_frame(data, &opts);
});
