//! The ingest commit path alone (issue 16): `commit_ingest` of batches
//! shaped as the listener's writer takes them — one minute frame (CN 2051)
//! of each of LOGGERS loggers, VALUES values a frame, with its raw frame
//! and counters — and no protocol server around it, so the figures are the
//! storage layer's share of the platform's cost.
//!
//! Prints, for SQLite and (with `GONGJIAN_BENCH_POSTGRES_URL`, a server on
//! which databases may be created and dropped) for PostgreSQL on the
//! native driver's `UNNEST` path and on the portable multi-row path: values
//! stored per second of wall time and this process's CPU µs per value
//! (PostgreSQL's own CPU is in its server processes, not counted), then the
//! native/portable ratio. `bench/commit.sh` adds the plain-`sqlite3`
//! baseline's ratio.
//!
//!   cargo bench -p gongjian-storage --bench commit_ingest [-- LOGGERS VALUES SECONDS]

use std::time::{Duration, Instant};

use gongjian_storage::{
    Actor, CounterDelta, Db, DbOptions, IngestBatch, NewSite, RawFrame, SeriesValue, Upload,
    testing,
};

const FACTORS: [&str; 10] = [
    "a21026", "a21002", "a34013", "a01011", "a01012", "a01013", "a01014", "a19001", "a21005",
    "a24088",
];

struct Shape {
    loggers: usize,
    values: usize,
    seconds: u64,
}

struct Figures {
    values: u64,
    wall: Duration,
    cpu: Duration,
}

impl Figures {
    fn per_second(&self) -> f64 {
        self.values as f64 / self.wall.as_secs_f64()
    }
    fn cpu_us_per_value(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.values as f64
    }
}

/// User + system CPU time of this process (Linux `/proc`, 100 ticks a
/// second), or zero elsewhere.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

async fn sites(db: &Db, n: usize) -> Vec<i64> {
    let actor = Actor::cli();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let site = NewSite {
            code: format!("B{i:05}"),
            name: format!("压测排口{i}"),
            kind: "stack_gas".into(),
            ..NewSite::default()
        };
        ids.push(db.monitoring().create_site(&actor, &site).await.unwrap().id);
    }
    ids
}

/// One tick: every logger's minute frame for minute `k`.
fn batch(shape: &Shape, sites: &[i64], k: i64) -> IngestBatch {
    let start = 1_767_225_600 + k * 60; // 2026-01-01 08:00 CST onwards
    let datatime = format!("2026{:010}", k); // unique per minute; not parsed here
    let mut b = IngestBatch::default();
    for (i, &site_id) in sites.iter().enumerate() {
        let mn = format!("BENCH{i:09}");
        let values: Vec<SeriesValue> = FACTORS[..shape.values]
            .iter()
            .enumerate()
            .map(|(j, f)| SeriesValue {
                factor: (*f).into(),
                kind: "min",
                period_start: start,
                value: Some(format!(
                    "{}.{:03}",
                    10 + (k as usize + i + j) % 90,
                    (i * 7 + j) % 1000
                )),
                converted: (j < 3).then(|| format!("{}.{}", 20 + (i + j) % 50, j)),
                flag: "N".into(),
            })
            .collect();
        b.raw.push(RawFrame {
            peer: "127.0.0.1:40000".into(),
            mn: Some(mn.clone()),
            cn: Some("2051".into()),
            // About the size of a real 5-factor minute frame.
            frame: vec![b'#'; 120 + 40 * shape.values],
            outcome: "ok",
            error: None,
        });
        b.counters.insert(
            mn.clone(),
            CounterDelta {
                frames: 1,
                last_frame_at: Some(start),
                last_peer: Some("127.0.0.1:40000".into()),
                ..CounterDelta::default()
            },
        );
        b.uploads.push(Upload {
            mn,
            cn: "2051".into(),
            datatime: datatime.clone(),
            pno: 0,
            site_id,
            values,
        });
    }
    b
}

async fn run(label: &str, db: &Db, shape: &Shape) -> Figures {
    let sites = sites(db, shape.loggers).await;
    // Warm up: caches, prepared statements, the first pages.
    db.monitoring()
        .commit_ingest(&batch(shape, &sites, 0))
        .await
        .unwrap();
    let (wall0, cpu0) = (Instant::now(), cpu_time());
    let mut values = 0u64;
    let mut k = 1;
    while wall0.elapsed() < Duration::from_secs(shape.seconds) {
        let b = batch(shape, &sites, k);
        let out = db.monitoring().commit_ingest(&b).await.unwrap();
        assert_eq!(out.len(), shape.loggers);
        values += (shape.loggers * shape.values) as u64;
        k += 1;
    }
    let f = Figures {
        values,
        wall: wall0.elapsed(),
        cpu: cpu_time() - cpu0,
    };
    println!(
        "{label}: {} values in {:.1} s: {:.0} values/s, {:.1} µs CPU (this process) per value, {} batches",
        f.values,
        f.wall.as_secs_f64(),
        f.per_second(),
        f.cpu_us_per_value(),
        k - 1
    );
    f
}

async fn postgres(shape: &Shape, native: bool) -> Option<Figures> {
    let (url, _drop) = testing::postgres_empty().await?;
    let db = Db::connect(
        &url,
        &DbOptions {
            pg_native_ingest: native,
            ..DbOptions::default()
        },
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    let label = if native {
        "postgres (native, UNNEST)"
    } else {
        "postgres (Any, multi-row)"
    };
    let f = run(label, &db, shape).await;
    db.close().await;
    Some(f)
}

fn main() {
    // `cargo bench` passes `--bench`; positional numbers are ours.
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let shape = Shape {
        loggers: args.first().copied().unwrap_or(2000) as usize,
        values: (args.get(1).copied().unwrap_or(5) as usize).clamp(1, FACTORS.len()),
        seconds: args.get(2).copied().unwrap_or(10),
    };
    println!(
        "commit_ingest: {} loggers a batch, {} values a frame, {} s a run",
        shape.loggers, shape.values, shape.seconds
    );
    let postgres_url = std::env::var("GONGJIAN_BENCH_POSTGRES_URL").ok();
    if let Some(url) = &postgres_url {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var(testing::POSTGRES_ENV, url) };
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = testing::sqlite().await;
        let s = run("sqlite", &t.db, &shape).await;
        println!("sqlite_values_per_second {:.0}", s.per_second());
        println!("sqlite_cpu_us_per_value {:.2}", s.cpu_us_per_value());
        if postgres_url.is_some() {
            let native = postgres(&shape, true).await;
            let any = postgres(&shape, false).await;
            if let (Some(n), Some(a)) = (native, any) {
                println!(
                    "postgres native/portable: {:.2}× the values per second",
                    n.per_second() / a.per_second()
                );
            }
        } else {
            println!("GONGJIAN_BENCH_POSTGRES_URL not set: PostgreSQL not measured");
        }
    });
}
