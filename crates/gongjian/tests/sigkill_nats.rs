//! The NATS path under SIGKILL, black-box with the real binary: loggers on
//! real sockets stream minute data through `gongjian gateway` into a
//! JetStream stream that `gongjian serve --ingest nats` (the writer) commits.
//! One test kills the gateway mid-stream and starts another on the same
//! port, the other kills the writer mid-stream and starts another on the
//! same durable consumer. The loggers behave as real ones do: a frame
//! without its 9014 is sent again after a reconnect. Afterwards every frame
//! a logger saw acknowledged is stored exactly once, counted against the
//! loggers' own lists of acknowledged frames.
//!
//! Each test runs on the data directory's SQLite file and on a fresh
//! PostgreSQL database (`GONGJIAN_TEST_POSTGRES_URL`), with a stream,
//! subjects and durable consumer of its own. Needs NATS with JetStream at
//! `GONGJIAN_TEST_NATS_URL` (default nats://127.0.0.1:4222; `.ci/run` starts
//! `nats-server -js`); without it the tests are listed as skipped (a
//! failure under `CI=true`).

mod common;
use common::{Store, free_port, on_both_stores, wait_listening};

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gongjian_hj212::{Flag, Message, Options, StreamDecoder, Version};
use gongjian_ingest::jetstream::JetStreamSettings;
use gongjian_storage::testing::skip;
use gongjian_storage::{Actor, Db, DbOptions, Device, NewSite};

const NATS_ENV: &str = "GONGJIAN_TEST_NATS_URL";

/// Loggers, each its own device and socket.
const LOGGERS: usize = 8;
/// Minute frames each logger sends.
const FRAMES: usize = 300;
/// Frames a logger sends before it waits for their 9014s.
const WINDOW: usize = 4;
/// A logger's pace: one new frame per this interval, so the stream lasts a
/// few seconds and the kill lands in its middle.
const PACE: Duration = Duration::from_millis(12);
/// How long a logger waits for an acknowledgement before it reconnects and
/// sends again what is unacknowledged.
const ACK_TIMEOUT: Duration = Duration::from_secs(3);
/// Seconds before JetStream redelivers a message the killed writer held.
const ACK_WAIT_SECS: u64 = 2;

// 2024-01-02 08:00:00 Beijing (00:00 UTC).
const T: i64 = 1_704_153_600;

/// The `a21026` minute value of frame `i`.
fn value(i: usize) -> f64 {
    i as f64 + 0.5
}

/// Frame `i` of logger `mn`: its minute (Unix s), DataTime, QN and bytes.
/// The 9014 asked for carries the QN.
fn frame(mn: &str, i: usize) -> (i64, String, String, Vec<u8>) {
    let t = T + i as i64 * 60;
    let dt = chrono::DateTime::from_timestamp(t + 8 * 3600, 0)
        .unwrap()
        .format("%Y%m%d%H%M%S")
        .to_string();
    let qn = format!("{dt}000");
    let v = format!("{:.1}", value(i));
    let bytes = Message::new("31", "2051", "123456", mn)
        .with_qn(&qn)
        .with_flag(Flag::new(Version::V2017, false, true))
        .group([("DataTime", dt.as_str())])
        .group([("a21026-Avg", v.as_str()), ("a21026-Flag", "N")])
        .group([("a21002-Avg", "30.1"), ("a21002-Flag", "N")])
        .encode()
        .unwrap();
    (t, dt, qn, bytes)
}

/// What one logger saw.
#[derive(Debug, Default)]
struct LoggerReport {
    mn: String,
    /// Frames whose 9014 arrived, in the order they arrived.
    acked: Vec<usize>,
    /// Transmissions of a frame already sent once.
    resent: usize,
    /// Connections opened after the first.
    reconnects: usize,
}

/// A logger: sends `FRAMES` minute frames, at most `WINDOW` of them
/// unacknowledged, each answered by a 9014 with its QN. When the connection
/// breaks or no answer comes within `ACK_TIMEOUT` it reconnects (retrying
/// until the listener is back) and sends again every frame still
/// unacknowledged, as a logger with a retransmission buffer does. Gives up
/// at `deadline`.
fn logger(
    addr: SocketAddr,
    mn: String,
    progress: Arc<AtomicUsize>,
    deadline: Instant,
) -> LoggerReport {
    let frames: Vec<(String, Vec<u8>)> = (0..FRAMES)
        .map(|i| {
            let (_, _, qn, bytes) = frame(&mn, i);
            (qn, bytes)
        })
        .collect();
    let mut report = LoggerReport {
        mn: mn.clone(),
        ..LoggerReport::default()
    };
    let mut outstanding: Vec<usize> = Vec::new();
    let mut next = 0usize;
    let mut connections = 0usize;
    'connection: while (next < FRAMES || !outstanding.is_empty()) && Instant::now() < deadline {
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        connections += 1;
        if connections > 1 {
            report.reconnects += 1;
        }
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        for &i in &outstanding {
            if s.write_all(&frames[i].1).is_err() {
                continue 'connection;
            }
            report.resent += 1;
        }
        let mut dec = StreamDecoder::new(Options::default());
        let mut buf = gongjian_hj212::bytes::BytesMut::new();
        let mut chunk = [0u8; 8192];
        let mut waiting_since = Instant::now();
        let mut last_send = Instant::now() - PACE;
        loop {
            if Instant::now() >= deadline {
                break 'connection;
            }
            if outstanding.len() < WINDOW && next < FRAMES && last_send.elapsed() >= PACE {
                if outstanding.is_empty() {
                    waiting_since = Instant::now();
                }
                outstanding.push(next);
                next += 1;
                last_send = Instant::now();
                if s.write_all(&frames[next - 1].1).is_err() {
                    continue 'connection;
                }
            }
            if next >= FRAMES && outstanding.is_empty() {
                break 'connection;
            }
            match s.read(&mut chunk) {
                Ok(0) => continue 'connection,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if !outstanding.is_empty() && waiting_since.elapsed() > ACK_TIMEOUT {
                        continue 'connection;
                    }
                    continue;
                }
                Err(_) => continue 'connection,
            }
            while let Some(d) = dec.decode(&mut buf) {
                let Ok(p) = d else { continue };
                if p.cn() != Some("9014") {
                    continue;
                }
                let qn = p.qn().unwrap_or("");
                if let Some(pos) = outstanding.iter().position(|&i| frames[i].0 == qn) {
                    report.acked.push(outstanding.remove(pos));
                    progress.fetch_add(1, Ordering::SeqCst);
                    waiting_since = Instant::now();
                }
            }
        }
    }
    report
}

/// A child process killed (SIGKILL) when dropped; its output goes to a file
/// that is printed when the test fails.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &'static str, mut cmd: Command, log_dir: &Path) -> Proc {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, Ordering::SeqCst);
        let log = log_dir.join(format!("{name}-{n}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Proc { name, child, log }
    }

    /// SIGKILL (std's `kill` on Unix), and reap it.
    fn sigkill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    /// Fails when the process has already exited (it could not start).
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "{} exited with {status}:\n{}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- output of {} ---\n{}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// The stream, subjects and durable consumer of one test run.
struct Names {
    stream: String,
    subject_prefix: String,
    durable: String,
}

impl Names {
    fn unique() -> Names {
        let tag = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        Names {
            stream: format!("GJKILL_{tag}"),
            subject_prefix: format!("gjkill.{tag}.hj212"),
            durable: format!("gjkill-writer-{tag}"),
        }
    }

    /// `cmd` on the test's store, stream and NATS server.
    fn apply(&self, cmd: &mut Command, store: &Store, dir: &Path, nats: &str) {
        cmd.arg("--data-dir")
            .arg(dir)
            .args(["--nats", nats])
            .env("GONGJIAN_LOG_LEVEL", "warn")
            .env_remove("GONGJIAN_INGEST_SOURCE")
            .env_remove("GONGJIAN_INGEST_REPLICAS")
            .env("GONGJIAN_INGEST_STREAM", &self.stream)
            .env("GONGJIAN_INGEST_SUBJECT_PREFIX", &self.subject_prefix)
            .env("GONGJIAN_INGEST_DURABLE", &self.durable)
            .env("GONGJIAN_INGEST_MAX_BATCH", "64")
            .env("GONGJIAN_INGEST_ACK_WAIT_SECS", ACK_WAIT_SECS.to_string());
        store.apply(cmd);
    }

    /// `gongjian gateway` listening for HJ 212 on `hj212`.
    fn gateway(&self, store: &Store, dir: &Path, nats: &str, hj212: SocketAddr) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
        cmd.arg("gateway").args(["--hj212", &hj212.to_string()]);
        self.apply(&mut cmd, store, dir, nats);
        Proc::spawn("gateway", cmd, dir)
    }

    /// `gongjian serve --ingest nats`: a writer, without an HJ 212 listener.
    fn writer(&self, store: &Store, dir: &Path, nats: &str) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
        cmd.arg("serve")
            .args(["--ingest", "nats"])
            .args(["--http", &format!("127.0.0.1:{}", free_port())]);
        self.apply(&mut cmd, store, dir, nats);
        Proc::spawn("writer", cmd, dir)
    }
}

/// Which process the test kills mid-stream.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Victim {
    Gateway,
    Writer,
}

on_both_stores!(
    acked_frames_survive_gateway_sigkill,
    acked_frames_survive_writer_sigkill
);

fn acked_frames_survive_gateway_sigkill(store: Store) {
    sigkill_mid_stream(store, Victim::Gateway);
}

fn acked_frames_survive_writer_sigkill(store: Store) {
    sigkill_mid_stream(store, Victim::Writer);
}

/// Poll `f` every 50 ms until it returns `Some`, failing with `what` after
/// `within`.
fn wait_for<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(
            start.elapsed() < within,
            "timed out after {within:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sigkill_mid_stream(store: Store, victim: Victim) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The skip convention of crates/ingest/tests/jetstream.rs.
    let nats = std::env::var(NATS_ENV).unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let names = Names::unique();
    let js = match rt.block_on(gongjian_ingest::jetstream::connect(
        &JetStreamSettings {
            url: nats.clone(),
            stream: names.stream.clone(),
            ..JetStreamSettings::default()
        },
        "gjtest-sigkill",
    )) {
        Ok(js) => js,
        Err(e) => {
            skip(&format!(
                "NATS not reachable at {nats} ({e}); start `nats-server -js` or set {NATS_ENV}"
            ));
            return;
        }
    };

    // The test's stream goes when the test ends, passed or failed (after
    // the processes, which are declared later and dropped first).
    let _stream = OnDrop(|| {
        let _ = rt.block_on(js.delete_stream(&names.stream));
    });

    let dir = tempfile::tempdir().unwrap();
    let url = store.url(dir.path());
    let db = rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        db
    });
    // The gateway reads devices; it never migrates.
    let devices: Vec<(String, i64)> = rt.block_on(async {
        let mut out = Vec::new();
        for i in 0..LOGGERS {
            let site = db
                .monitoring()
                .create_site(
                    &Actor::cli(),
                    &NewSite {
                        code: format!("NK{i}"),
                        name: format!("{i}号排口"),
                        kind: "stack_gas".into(),
                        ..NewSite::default()
                    },
                )
                .await
                .unwrap();
            let mn = format!("NATSKILL{i:08}");
            db.monitoring()
                .upsert_device(&Actor::cli(), &Device::new(&mn, "123456", site.id))
                .await
                .unwrap();
            out.push((mn, site.id));
        }
        out
    });
    let stored_total = || -> usize {
        rt.block_on(async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM hj212_uploads")
                .fetch_one(db.read_pool())
                .await
                .unwrap() as usize
        })
    };

    let hj: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut gateway = names.gateway(&store, dir.path(), &nats, hj);
    wait_listening(hj);
    gateway.assert_running();
    let mut writer = names.writer(&store, dir.path(), &nats);

    let total = LOGGERS * FRAMES;
    let progress = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(45);
    let loggers: Vec<_> = devices
        .iter()
        .map(|(mn, _)| {
            let (mn, progress) = (mn.clone(), progress.clone());
            std::thread::spawn(move || logger(hj, mn, progress, deadline))
        })
        .collect();

    // Kill mid-stream: a good part acknowledged (and, for the writer, stored),
    // and much still to come.
    let acked_at_kill;
    let stored_at_kill;
    match victim {
        Victim::Gateway => {
            wait_for(Duration::from_secs(30), "acks before the kill", || {
                (progress.load(Ordering::SeqCst) >= total * 3 / 10).then_some(())
            });
            gateway.sigkill();
            acked_at_kill = progress.load(Ordering::SeqCst);
            stored_at_kill = stored_total();
            // An outage: the loggers' reconnects are refused for a moment.
            std::thread::sleep(Duration::from_millis(500));
            gateway = names.gateway(&store, dir.path(), &nats, hj);
            wait_listening(hj);
            gateway.assert_running();
        }
        Victim::Writer => {
            wait_for(Duration::from_secs(30), "commits before the kill", || {
                writer.assert_running();
                (stored_total() >= total * 3 / 10).then_some(())
            });
            writer.sigkill();
            acked_at_kill = progress.load(Ordering::SeqCst);
            stored_at_kill = stored_total();
            // What the killed writer held: delivered, not acknowledged.
            let held = rt.block_on(async {
                let s = js.get_stream(&names.stream).await.unwrap();
                s.consumer_info(&names.durable)
                    .await
                    .unwrap()
                    .num_ack_pending
            });
            eprintln!("the killed writer held {held} unacknowledged messages");
            // Without a writer the gateway still acknowledges (the stream
            // holds the frames); let a good number arrive, then start another
            // writer on the same durable consumer.
            wait_for(Duration::from_secs(30), "acks without a writer", || {
                (progress.load(Ordering::SeqCst) >= (acked_at_kill + total / 10).min(total))
                    .then_some(())
            });
            writer = names.writer(&store, dir.path(), &nats);
        }
    }
    assert!(
        acked_at_kill < total,
        "the kill must land mid-stream: all {total} frames were acknowledged before it"
    );
    if victim == Victim::Writer {
        assert!(
            stored_at_kill < total,
            "the kill must land mid-stream: all {total} frames were stored before it"
        );
    }

    let reports: Vec<LoggerReport> = loggers.into_iter().map(|t| t.join().unwrap()).collect();
    let resent: usize = reports.iter().map(|r| r.resent).sum();
    let reconnects: usize = reports.iter().map(|r| r.reconnects).sum();
    eprintln!(
        "{victim:?} killed with {acked_at_kill} of {total} frames acknowledged and \
         {stored_at_kill} stored; {reconnects} reconnects, {resent} frames sent again"
    );
    if victim == Victim::Gateway {
        assert!(
            reconnects >= LOGGERS,
            "every logger reconnected ({reconnects})"
        );
    }
    // The loggers' own lists: every frame was acknowledged once in the end
    // (the new gateway or writer took over).
    let resent_by: BTreeMap<String, usize> =
        reports.iter().map(|r| (r.mn.clone(), r.resent)).collect();
    let acked: BTreeMap<String, Vec<usize>> = reports
        .into_iter()
        .map(|r| {
            let mut a = r.acked;
            a.sort_unstable();
            (r.mn, a)
        })
        .collect();
    for (mn, a) in &acked {
        assert_eq!(
            a,
            &(0..FRAMES).collect::<Vec<_>>(),
            "{mn}: every frame acknowledged once"
        );
    }

    // Every acknowledged frame reaches the database...
    wait_for(
        Duration::from_secs(40),
        "every acknowledged frame in hj212_uploads",
        || {
            writer.assert_running();
            (stored_total() >= total).then_some(())
        },
    );
    // ...and the stream empties: every message committed and acknowledged
    // (work-queue retention), redeliveries of what the killed process held
    // included.
    let pending = || -> u64 {
        rt.block_on(async {
            let mut s = js.get_stream(&names.stream).await.unwrap();
            s.info().await.unwrap().state.messages
        })
    };
    wait_for(Duration::from_secs(30), "the stream drained", || {
        (pending() == 0).then_some(())
    });

    // Exactly once, per logger, against its list of acknowledged frames.
    rt.block_on(async {
        let m = db.monitoring();
        let health: BTreeMap<String, _> = m
            .device_health(0)
            .await
            .unwrap()
            .into_iter()
            .map(|h| (h.mn.clone(), h))
            .collect();
        for (mn, site) in &devices {
            let mut missing = Vec::new();
            for &i in &acked[mn] {
                let (_, dt, _, _) = frame(mn, i);
                if !m.upload_stored(mn, "2051", &dt, 0).await.unwrap() {
                    missing.push(dt);
                }
            }
            assert!(
                missing.is_empty(),
                "{mn}: {} of {} acknowledged frames lost, e.g. {:?}",
                missing.len(),
                acked[mn].len(),
                &missing[..missing.len().min(5)]
            );
            let uploads: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM hj212_uploads WHERE mn = $1")
                    .bind(mn)
                    .fetch_one(db.read_pool())
                    .await
                    .unwrap();
            assert_eq!(uploads as usize, FRAMES, "{mn}: one ledger row per frame");
            // One minute row per frame, at its minute, with its value.
            let rows = m
                .series_points(*site, "a21026", "min", T, T + 60 * FRAMES as i64 + 1)
                .await
                .unwrap();
            let got: Vec<(i64, f64)> = rows
                .iter()
                .map(|p| {
                    let v = p.value.as_deref().unwrap_or("NaN").parse().unwrap();
                    (p.period_start, v)
                })
                .collect();
            let want: Vec<(i64, f64)> = acked[mn]
                .iter()
                .map(|&i| (frame(mn, i).0, value(i)))
                .collect();
            assert_eq!(got, want, "{mn}: one series row per acknowledged frame");
            // Rows, and the values the writer's `series_packing` job has
            // already moved into day blocks (the frames' days are past).
            let all: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM series WHERE site_id = $1 AND kind = 'min') + \
                 (SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT) FROM series_blocks \
                  WHERE site_id = $1 AND kind = 'min')",
            )
            .bind(*site)
            .fetch_one(db.read_pool())
            .await
            .unwrap();
            assert_eq!(
                all as usize,
                2 * FRAMES,
                "{mn}: two minute values per frame"
            );
            // Counted once: the values of each stored upload, and each
            // transmission once (a frame sent again counts as a duplicate,
            // as in `serve`); every counted frame is archived once.
            let h = &health[mn];
            assert_eq!(
                h.values_stored,
                2 * FRAMES as i64,
                "{mn}: values counted once"
            );
            assert_eq!(
                h.frames - h.duplicates,
                FRAMES as i64,
                "{mn}: frames {} minus duplicates {} is the frames stored",
                h.frames,
                h.duplicates
            );
            let raw: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM hj212_raw WHERE mn = $1 AND cn = '2051'")
                    .bind(mn)
                    .fetch_one(db.read_pool())
                    .await
                    .unwrap();
            assert_eq!(raw, h.frames, "{mn}: one raw-archive row per counted frame");
            if resent_by[mn] == 0 {
                // Each frame went out once: a redelivery by JetStream is
                // neither archived nor counted again.
                assert_eq!(
                    (h.frames, h.duplicates, raw),
                    (FRAMES as i64, 0, FRAMES as i64),
                    "{mn}: sent each frame once; (frames, duplicates, raw rows)"
                );
            }
        }
    });

    drop(gateway);
    drop(writer);
    rt.block_on(db.close());
}

/// Runs its closure when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}
