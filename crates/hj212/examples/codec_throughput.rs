//! Codec throughput on one core: decode (framing, CRC, charset, header, CP, items)
//! of a buffer of typical minute (2051) frames, repeated; prints the median run.
//! Rates are per second of this thread's CPU time (one core), so they hold on a
//! shared machine. Used by bench/hj212_codec.sh.
//! Usage: codec_throughput [runs] [seconds-per-run]

use std::time::{Duration, Instant};

use gongjian_hj212::bytes::BytesMut;
use gongjian_hj212::{Message, Options, StreamDecoder, parse_frame};

/// Water outfall minute data, the standard's C.16 example (335 bytes on the wire).
const WATER_2051: &[u8] = b"##0325QN=20160801085000001;ST=32;CN=2051;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801084000;w00000-Cou=10.5,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N;w01018-Cou=10.5,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&6180\r\n";

/// Stack CEMS minute data: SO2, NOx, dust with converted values, plus O2, flow,
/// temperature, pressure, velocity, humidity (the typical flue-gas 2051).
fn cems_2051() -> Vec<u8> {
    let mut m = Message::new("31", "2051", "123456", "320509703697203A00000001")
        .with_qn("20240601085000001")
        .with_flag(gongjian_hj212::Flag(5))
        .group([("DataTime", "20240601084000")]);
    for code in ["a21026", "a21002", "a34013"] {
        m = m.group([
            (format!("{code}-Min"), "12.31".to_owned()),
            (format!("{code}-Avg"), "15.62".to_owned()),
            (format!("{code}-Max"), "19.04".to_owned()),
            (format!("{code}-ZsMin"), "14.20".to_owned()),
            (format!("{code}-ZsAvg"), "18.03".to_owned()),
            (format!("{code}-ZsMax"), "21.98".to_owned()),
            (format!("{code}-Cou"), "0.152".to_owned()),
            (format!("{code}-Flag"), "N".to_owned()),
        ]);
    }
    for code in ["a19001", "a00000", "a01012", "a01013", "a01011", "a01014"] {
        m = m.group([
            (format!("{code}-Min"), "9.10".to_owned()),
            (format!("{code}-Avg"), "9.80".to_owned()),
            (format!("{code}-Max"), "10.40".to_owned()),
            (format!("{code}-Flag"), "N".to_owned()),
        ]);
    }
    m.encode().expect("valid message")
}

/// CPU time of this thread in seconds (Linux `/proc/thread-self/schedstat`), so the
/// figure is per core even when the machine is shared; `None` elsewhere.
fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn measure(name: &str, frame: &[u8], runs: usize, per_run: Duration) {
    assert!(parse_frame(frame, &Options::default()).is_ok());
    const FRAMES: usize = 1000;
    let stream: Vec<u8> = frame.repeat(FRAMES);
    let mut rates = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let cpu0 = thread_cpu_secs();
        let mut frames = 0usize;
        let mut items = 0usize;
        while start.elapsed() < per_run {
            let mut dec = StreamDecoder::new(Options::default());
            let mut buf = BytesMut::from(&stream[..]);
            while let Some(d) = dec.decode(&mut buf) {
                let p = d.expect("valid frame");
                items += p.items().len();
                frames += 1;
            }
        }
        let wall = start.elapsed().as_secs_f64();
        let secs = match (cpu0, thread_cpu_secs()) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => wall,
        };
        std::hint::black_box(items);
        rates.push(frames as f64 / secs);
    }
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = rates[rates.len() / 2];
    let mbps = median * frame.len() as f64 / 1e6;
    println!(
        "{name}: {} bytes/frame, median of {runs} runs: {:.0} frames/s, {:.1} MB/s (min {:.0}, max {:.0} frames/s)",
        frame.len(),
        median,
        mbps,
        rates[0],
        rates[rates.len() - 1]
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(11);
    let secs: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0.5);
    let per_run = Duration::from_secs_f64(secs);
    measure("2051 water (C.16 example)", WATER_2051, runs, per_run);
    measure("2051 stack CEMS (9 factors)", &cems_2051(), runs, per_run);
}
