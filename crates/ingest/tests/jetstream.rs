//! The NATS path end to end: the HJ 212 listener with the JetStream sink
//! (what `gongjian gateway` runs) on 127.0.0.1:0, loggers on real sockets,
//! and JetStream writers (what `gongjian serve --ingest nats` runs)
//! committing to a fresh SQLite and PostgreSQL database.
//!
//! Needs NATS with JetStream at `GONGJIAN_TEST_NATS_URL` (default
//! nats://127.0.0.1:4222; `.ci/run` starts `nats-server -js`). Without it
//! the tests are listed as skipped (a failure under `CI=true`). Each test
//! uses its own stream, subjects and durable consumer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use futures::StreamExt;
use gongjian_hj212::{Flag, Message, Packet, StreamDecoder, Version};
use gongjian_ingest::jetstream::{JetStreamSettings, WireJob, Writer};
use gongjian_ingest::{Metrics, Service, Settings, Sink};
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::{TestDb, skip};
use gongjian_storage::{Actor, Db, Device, IngestBatch, NewSite, Streamed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

const NATS_ENV: &str = "GONGJIAN_TEST_NATS_URL";

/// The NATS URL when a server answers there; `None` (listed as skipped, a
/// failure under `CI=true`) otherwise.
async fn nats_url() -> Option<String> {
    let url = std::env::var(NATS_ENV).unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    match async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(url.as_str())
        .await
    {
        Ok(client) => {
            drop(client);
            Some(url)
        }
        Err(e) => {
            skip(&format!(
                "NATS not reachable at {url} ({e}); start `nats-server -js` or set {NATS_ENV}"
            ));
            None
        }
    }
}

/// Settings with a stream, subjects and durable consumer of this test alone.
fn unique_settings(url: &str) -> JetStreamSettings {
    let tag = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
    JetStreamSettings {
        url: url.to_owned(),
        stream: format!("GJTEST_{tag}"),
        subject_prefix: format!("gjtest.{tag}.hj212"),
        durable: format!("gjtest-writer-{tag}"),
        max_batch: 64,
        // Short, so a message a crashed writer held comes back within the test.
        ack_wait: Duration::from_secs(1),
        ..JetStreamSettings::default()
    }
}

/// Deletes the test's stream when dropped.
struct StreamGuard {
    js: jetstream::Context,
    name: String,
}

impl StreamGuard {
    async fn new(settings: &JetStreamSettings) -> StreamGuard {
        let js = gongjian_ingest::jetstream::connect(settings, "gjtest")
            .await
            .unwrap();
        StreamGuard {
            js,
            name: settings.stream.clone(),
        }
    }

    async fn delete(self) {
        let _ = self.js.delete_stream(&self.name).await;
    }
}

const LOGGERS: usize = 6;

async fn register(db: &Db) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for i in 0..LOGGERS {
        let site = db
            .monitoring()
            .create_site(
                &Actor::cli(),
                &NewSite {
                    code: format!("JS{i}"),
                    name: format!("{i}号排口"),
                    kind: "stack_gas".into(),
                    ..NewSite::default()
                },
            )
            .await
            .unwrap();
        let mn = format!("JSMN{i:010}");
        db.monitoring()
            .upsert_device(&Actor::cli(), &Device::new(&mn, "123456", site.id))
            .await
            .unwrap();
        out.push((mn, site.id));
    }
    out
}

struct Gateway {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

async fn start_gateway(db: &Db, settings: &JetStreamSettings, create_stream: bool) -> Gateway {
    let js = gongjian_ingest::jetstream::connect(settings, "gjtest-gateway")
        .await
        .unwrap();
    if create_stream {
        gongjian_ingest::jetstream::ensure_stream(&js, settings)
            .await
            .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = Service::with_sink(
        db.clone(),
        Settings {
            device_cache_ttl: Duration::from_millis(50),
            ..Settings::default()
        },
        Sink::JetStream {
            context: Box::new(js),
            subject_prefix: settings.subject_prefix.clone(),
        },
    );
    let (stop, mut rx) = watch::channel(false);
    let handle = tokio::spawn(async move {
        service
            .run(listener, async move {
                let _ = rx.changed().await;
            })
            .await
            .unwrap();
    });
    Gateway { addr, stop, handle }
}

struct RunningWriter {
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

async fn start_writer(db: &Db, settings: &JetStreamSettings) -> RunningWriter {
    let writer = Writer::connect(settings).await.unwrap();
    let (stop, mut rx) = watch::channel(false);
    let db = db.clone();
    let handle = tokio::spawn(async move {
        writer
            .run(db, Arc::new(Metrics::default()), async move {
                let _ = rx.changed().await;
            })
            .await
            .unwrap();
    });
    RunningWriter { stop, handle }
}

impl RunningWriter {
    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("writer stops")
            .unwrap();
    }
}

fn upload(mn: &str, qn: &str, datatime: &str, so2: &str) -> Vec<u8> {
    Message::new("31", "2011", "123456", mn)
        .with_qn(qn)
        .with_flag(Flag::new(Version::V2017, false, true))
        .group([("DataTime", datatime)])
        .group([
            ("a21026-Rtd", so2),
            ("a21026-ZsRtd", "20.0"),
            ("a21026-Flag", "N"),
        ])
        .group([("a19001-Rtd", "9.1"), ("a19001-Flag", "N")])
        .encode()
        .unwrap()
}

async fn read_frame(
    s: &mut TcpStream,
    dec: &mut StreamDecoder,
    buf: &mut gongjian_hj212::bytes::BytesMut,
    within: Duration,
) -> Option<Packet> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(Ok(p)) = dec.decode(buf) {
            return Some(p);
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

// 2024-01-02 08:00:00 Beijing.
const T: i64 = 1_704_153_600;

/// One logger sending `frames` real-time uploads (30 s apart from `first`),
/// each waiting for its 9014; returns the DataTimes acknowledged.
async fn logger(addr: SocketAddr, mn: String, first: usize, frames: usize) -> Vec<String> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut dec = StreamDecoder::default();
    let mut buf = gongjian_hj212::bytes::BytesMut::new();
    let mut acked = Vec::new();
    for n in first..first + frames {
        let datatime = gongjian_ingest::unix_to_datatime(T + 30 * n as i64);
        let qn = format!("{datatime}{:03}", n % 1000);
        s.write_all(&upload(&mn, &qn, &datatime, &format!("{}.5", n)))
            .await
            .unwrap();
        let Some(ack) = read_frame(&mut s, &mut dec, &mut buf, Duration::from_secs(5)).await else {
            break;
        };
        if ack.cn() == Some("9014") && ack.qn() == Some(qn.as_str()) {
            acked.push(datatime);
        }
    }
    acked
}

/// Every logger sends `frames` frames concurrently; MN → acked DataTimes.
async fn swarm(
    addr: SocketAddr,
    devices: &[(String, i64)],
    first: usize,
    frames: usize,
) -> BTreeMap<String, Vec<String>> {
    let tasks: Vec<_> = devices
        .iter()
        .map(|(mn, _)| {
            let mn = mn.clone();
            tokio::spawn(async move { (mn.clone(), logger(addr, mn, first, frames).await) })
        })
        .collect();
    let mut out = BTreeMap::new();
    for t in tasks {
        let (mn, acked) = t.await.unwrap();
        out.insert(mn, acked);
    }
    out
}

/// Wait until every acknowledged upload is in the ledger.
async fn wait_stored(db: &Db, acked: &BTreeMap<String, Vec<String>>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for (mn, times) in acked {
        for dt in times {
            loop {
                if db
                    .monitoring()
                    .upload_stored(mn, "2011", dt, 0)
                    .await
                    .unwrap()
                {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "acknowledged frame {mn} {dt} never stored"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Wait until the stream holds nothing (work queue: every message acked).
async fn wait_drained(js: &jetstream::Context, stream: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut s = js.get_stream(stream).await.unwrap();
        let info = s.info().await.unwrap();
        if info.state.messages == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stream still holds {} messages",
            info.state.messages
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each acknowledged frame exactly once: one series row per factor and
/// DataTime, one raw-archive row and one counted frame per frame sent, no
/// duplicates counted.
async fn assert_exactly_once(
    db: &Db,
    devices: &[(String, i64)],
    acked: &BTreeMap<String, Vec<String>>,
    sent_per_logger: usize,
) {
    let mut frames_total = 0;
    for (mn, site) in devices {
        let times = &acked[mn];
        assert_eq!(
            times.len(),
            sent_per_logger,
            "{mn}: every frame acknowledged"
        );
        let rows = db
            .monitoring()
            .series_points(*site, "a21026", "rtd", T, T + 30 * 10_000)
            .await
            .unwrap();
        assert_eq!(rows.len(), times.len(), "{mn}: one series row per frame");
        frames_total += times.len();
    }
    assert_eq!(
        db.monitoring().raw_frame_count().await.unwrap() as usize,
        frames_total,
        "one raw-archive row per frame"
    );
    for h in db.monitoring().device_health(0).await.unwrap() {
        let n = acked[&h.mn].len() as i64;
        assert_eq!(h.frames, n, "{}: frames counted once", h.mn);
        assert_eq!(h.values_stored, 2 * n, "{}: values counted once", h.mn);
        assert_eq!(h.duplicates, 0, "{}: no duplicate counted", h.mn);
    }
}

on_both_backends!(flavor = "multi_thread", worker_threads = 4; gateway_writer_exactly_once_across_restart_and_redelivery);
async fn gateway_writer_exactly_once_across_restart_and_redelivery(t: TestDb) {
    let Some(url) = nats_url().await else { return };
    let settings = unique_settings(&url);
    let guard = StreamGuard::new(&settings).await;
    let db = t.db.clone();
    let devices = register(&db).await;
    let gw = start_gateway(&db, &settings, true).await;

    // 1. Gateway and writer: every acknowledged frame is stored.
    let writer = start_writer(&db, &settings).await;
    let first = swarm(gw.addr, &devices, 0, 15).await;
    wait_stored(&db, &first).await;
    wait_drained(&guard.js, &settings.stream).await;
    writer.stop().await;

    // 2. No writer: the gateway still acknowledges (the stream holds the
    //    frames), nothing reaches the database yet.
    let second = swarm(gw.addr, &devices, 15, 15).await;
    let (mn, dt) = (&devices[0].0, &second[&devices[0].0][0]);
    assert!(
        !db.monitoring()
            .upload_stored(mn, "2011", dt, 0)
            .await
            .unwrap(),
        "no writer runs: acknowledged by the gateway, not yet stored"
    );

    // 3. A writer that crashes between its commit and its acks: it fetches
    //    and commits everything, acknowledges nothing.
    let stream = guard.js.get_stream(&settings.stream).await.unwrap();
    let consumer: jetstream::consumer::PullConsumer =
        stream.get_consumer(&settings.durable).await.unwrap();
    let mut batch = IngestBatch::default();
    let mut fetched = 0;
    let mut seen = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while batch.streamed.len() < LOGGERS * 15 && tokio::time::Instant::now() < deadline {
        let mut msgs = consumer
            .fetch()
            .max_messages(500)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .unwrap();
        while let Some(Ok(m)) = msgs.next().await {
            fetched += 1;
            // A message held longer than ack_wait may come twice.
            let seq = m.info().unwrap().stream_sequence;
            if !seen.insert(seq) {
                continue;
            }
            let w = WireJob::decode(&m.payload).unwrap();
            batch.quarantine.extend(w.quarantine);
            // As a writer commits them: each upload with its stream
            // sequence, which recognises the redelivery below.
            match w.upload {
                Some(upload) => batch.streamed.push(Streamed {
                    seq: seq as i64,
                    upload,
                    raw: w.raw,
                    counter: w.counter,
                }),
                None => {
                    batch.raw.extend(w.raw);
                    if let Some((mn, c)) = w.counter {
                        batch.counters.entry(mn).or_default().add(&c);
                    }
                }
            }
        }
    }
    assert_eq!(
        batch.streamed.len(),
        LOGGERS * 15,
        "fetched {fetched} messages"
    );
    db.monitoring().commit_ingest(&batch).await.unwrap();
    drop(consumer);

    // 4. A new writer gets them again after ack_wait: nothing is stored twice.
    let writer = start_writer(&db, &settings).await;
    wait_drained(&guard.js, &settings.stream).await;
    writer.stop().await;
    let mut all = first.clone();
    for (mn, times) in &second {
        all.get_mut(mn).unwrap().extend(times.iter().cloned());
    }
    wait_stored(&db, &all).await;
    assert_exactly_once(&db, &devices, &all, 30).await;

    let _ = gw.stop.send(true);
    let _ = gw.handle.await;
    guard.delete().await;
}

on_both_backends!(flavor = "multi_thread", worker_threads = 4; two_gateways_two_writers_share_the_stream);
async fn two_gateways_two_writers_share_the_stream(t: TestDb) {
    let Some(url) = nats_url().await else { return };
    let settings = unique_settings(&url);
    let guard = StreamGuard::new(&settings).await;
    let db = t.db.clone();
    let devices = register(&db).await;
    let gw1 = start_gateway(&db, &settings, true).await;
    let gw2 = start_gateway(&db, &settings, false).await;
    let w1 = start_writer(&db, &settings).await;
    let w2 = start_writer(&db, &settings).await;
    let (a, b) = devices.split_at(LOGGERS / 2);
    let (r1, r2) = tokio::join!(swarm(gw1.addr, a, 0, 20), swarm(gw2.addr, b, 0, 20));
    let mut acked = r1;
    acked.extend(r2);
    wait_stored(&db, &acked).await;
    wait_drained(&guard.js, &settings.stream).await;
    assert_exactly_once(&db, &devices, &acked, 20).await;
    w1.stop().await;
    w2.stop().await;
    for gw in [gw1, gw2] {
        let _ = gw.stop.send(true);
        let _ = gw.handle.await;
    }
    guard.delete().await;
}

/// Ack after PubAck: with no stream on the subjects, JetStream confirms
/// nothing and the logger gets no answer (it resends); nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconfirmed_publish_is_not_acknowledged() {
    let Some(url) = nats_url().await else { return };
    let t = gongjian_storage::testing::sqlite().await;
    let settings = unique_settings(&url);
    let devices = register(&t.db).await;
    let gw = start_gateway(&t.db, &settings, false).await;
    let acked = logger(gw.addr, devices[0].0.clone(), 0, 1).await;
    assert!(acked.is_empty(), "acknowledged without a PubAck: {acked:?}");
    assert_eq!(t.db.monitoring().raw_frame_count().await.unwrap(), 0);
    let _ = gw.stop.send(true);
    let _ = gw.handle.await;
}
