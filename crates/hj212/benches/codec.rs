//! Criterion benches of the codec on one core: stream decode of typical minute
//! (2051) frames, single-frame parse, the CRC alone, and building a 9014 ack.
//! `bench/hj212_codec.sh` prints frames/s and MB/s from the same workload.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gongjian_hj212::bytes::BytesMut;
use gongjian_hj212::{Options, StreamDecoder, crc, parse_frame};

/// The standard's C.16 minute example (water outfall), 337 bytes with CR LF.
const WATER_2051: &[u8] = b"##0325QN=20160801085000001;ST=32;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801084000;w00000-Cou=10.5,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=10.5,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&6180\r\n";

const FRAMES: usize = 1000;

fn decode_stream(c: &mut Criterion) {
    let stream = WATER_2051.repeat(FRAMES);
    let mut g = c.benchmark_group("hj212_decode");
    g.throughput(Throughput::Elements(FRAMES as u64));
    g.bench_function("stream_2051_x1000", |b| {
        b.iter(|| {
            let mut dec = StreamDecoder::new(Options::default());
            let mut buf = BytesMut::from(&stream[..]);
            let mut items = 0;
            while let Some(d) = dec.decode(&mut buf) {
                items += d.expect("valid").items().len();
            }
            black_box(items)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("hj212_bytes");
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("stream_2051_x1000", |b| {
        b.iter(|| {
            let mut dec = StreamDecoder::new(Options::default());
            let mut buf = BytesMut::from(&stream[..]);
            let mut n = 0;
            while let Some(d) = dec.decode(&mut buf) {
                n += usize::from(d.is_ok());
            }
            black_box(n)
        })
    });
    g.finish();
}

fn single(c: &mut Criterion) {
    let opts = Options::default();
    c.bench_function("parse_frame_2051", |b| {
        b.iter(|| parse_frame(black_box(WATER_2051), &opts).map(|p| p.items().len()))
    });
    let data = &WATER_2051[6..WATER_2051.len() - 6];
    c.bench_function("crc_hj212_325_bytes", |b| {
        b.iter(|| crc::hj212(black_box(data)))
    });
    let p = parse_frame(WATER_2051, &opts).expect("valid");
    c.bench_function("build_9014_ack", |b| {
        b.iter(|| black_box(&p).data_ack().encode().expect("valid"))
    });
}

criterion_group!(benches, decode_stream, single);
criterion_main!(benches);
