//! The HJ 212 listener against a real socket on 127.0.0.1:0 and a fresh
//! database, on SQLite and on PostgreSQL.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gongjian_hj212::{Flag, Message, Packet, StreamDecoder, Version};
use gongjian_ingest::simulator::{self, LoggerSpec, SimConfig, SimKind, SimStats};
use gongjian_ingest::{Metrics, Service, Settings};
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, Db, Device, NewSite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

struct Server {
    addr: SocketAddr,
    db: Db,
    metrics: Arc<Metrics>,
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
    _t: TestDb,
}

async fn start(t: TestDb, settings: Settings) -> Server {
    let db = t.db.clone();
    let site = db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "S1".into(),
                name: "1号排口".into(),
                kind: "stack_gas".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    db.monitoring()
        .upsert_device(&Actor::cli(), &Device::new("MN0001", "123456", site.id))
        .await
        .unwrap();
    db.monitoring()
        .upsert_device(&Actor::cli(), &Device::new("MN0002", "123456", site.id))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = Service::new(db.clone(), settings);
    let metrics = service.metrics();
    // The rollup job (gongjian_app::jobs) is not part of the listener: run
    // its pass here as serve does, every 100 ms.
    let rollup_db = db.clone();
    tokio::spawn(async move {
        loop {
            let _ = gongjian_ingest::run_rollups(&rollup_db).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let (stop, mut rx) = watch::channel(false);
    let handle = tokio::spawn(async move {
        service
            .run(listener, async move {
                let _ = rx.changed().await;
            })
            .await
            .unwrap();
    });
    Server {
        addr,
        db,
        metrics,
        stop,
        handle,
        _t: t,
    }
}

fn settings() -> Settings {
    Settings {
        device_cache_ttl: Duration::from_millis(50),
        ..Settings::default()
    }
}

fn upload(mn: &str, pw: &str, qn: &str, cn: &str, datatime: &str, so2: &str) -> Vec<u8> {
    Message::new("31", cn, pw, mn)
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

/// Per-connection read state, so frames that arrive together are all seen.
#[derive(Default)]
struct Rx {
    dec: StreamDecoder,
    buf: gongjian_hj212::bytes::BytesMut,
}

thread_local! {
    static RX: std::cell::RefCell<std::collections::HashMap<SocketAddr, Rx>> = Default::default();
}

/// Read frames until one arrives or the timeout passes.
async fn read_frame(s: &mut TcpStream, within: Duration) -> Option<Packet> {
    let key = s.local_addr().unwrap();
    let Rx { mut dec, mut buf } = RX.with(|m| m.borrow_mut().remove(&key)).unwrap_or_default();
    let out = read_with(s, within, &mut dec, &mut buf).await;
    RX.with(|m| m.borrow_mut().insert(key, Rx { dec, buf }));
    out
}

async fn read_with(
    s: &mut TcpStream,
    within: Duration,
    dec: &mut StreamDecoder,
    buf: &mut gongjian_hj212::bytes::BytesMut,
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

async fn rtd_rows(db: &Db, start: i64) -> usize {
    db.monitoring()
        .series_points(1, "a21026", "rtd", start, start + 1)
        .await
        .unwrap()
        .len()
}

// 2024-01-02 08:00:00 Beijing.
const DT: &str = "20240102080000";
const T: i64 = 1_704_153_600;

on_both_backends!(ack_after_commit_with_own_qn_and_split_frames);
async fn ack_after_commit_with_own_qn_and_split_frames(db: TestDb) {
    let srv = start(db, settings()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let frame = upload("MN0001", "123456", "20240102080000123", "2011", DT, "12.5");
    // One frame split over three writes.
    s.write_all(&frame[..7]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    s.write_all(&frame[7..50]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    s.write_all(&frame[50..]).await.unwrap();
    let ack = read_frame(&mut s, Duration::from_secs(5))
        .await
        .expect("ack");
    assert_eq!(ack.cn(), Some("9014"));
    assert_eq!(ack.qn(), Some("20240102080000123"), "the frame's own QN");
    assert_eq!(ack.mn(), Some("MN0001"));
    assert!(!ack.ack_requested(), "answers never ask for an answer");
    // The row exists when the ack arrives.
    assert!(
        srv.db
            .monitoring()
            .upload_stored("MN0001", "2011", DT, 0)
            .await
            .unwrap()
    );
    let pts = srv
        .db
        .monitoring()
        .series_points(1, "a21026", "rtd", T, T + 1)
        .await
        .unwrap();
    assert_eq!(pts.len(), 1);
    assert_eq!(pts[0].value.as_deref(), Some("12.5"));
    assert_eq!(pts[0].converted.as_deref(), Some("20.0"));

    // Two frames glued in one write, no CR LF between them.
    let mut two = upload(
        "MN0001",
        "123456",
        "20240102080030001",
        "2011",
        "20240102080030",
        "1",
    );
    two.truncate(two.len() - 2);
    two.extend(upload(
        "MN0001",
        "123456",
        "20240102080100001",
        "2011",
        "20240102080100",
        "2",
    ));
    s.write_all(&two).await.unwrap();
    let a = read_frame(&mut s, Duration::from_secs(5)).await.unwrap();
    let b = read_frame(&mut s, Duration::from_secs(5)).await.unwrap();
    assert_eq!(a.qn(), Some("20240102080030001"));
    assert_eq!(b.qn(), Some("20240102080100001"));
    assert_eq!(rtd_rows(&srv.db, T + 30).await, 1);
    assert_eq!(rtd_rows(&srv.db, T + 60).await, 1);
    let _ = srv.stop.send(true);
    srv.handle.await.unwrap();
}

on_both_backends!(retransmission_is_idempotent_and_backfill_accepted);
async fn retransmission_is_idempotent_and_backfill_accepted(db: TestDb) {
    let srv = start(db, settings()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    for qn in [
        "20240102080000001",
        "20240102080010001",
        "20240102080020001",
    ] {
        // A resend carries the same DataTime; the logger may change the QN.
        s.write_all(&upload("MN0001", "123456", qn, "2011", DT, "12.5"))
            .await
            .unwrap();
        let ack = read_frame(&mut s, Duration::from_secs(5)).await.unwrap();
        assert_eq!(ack.qn(), Some(qn), "each resend is acked with its own QN");
    }
    let health = srv.db.monitoring().device_health(0).await.unwrap();
    let d = health.iter().find(|h| h.mn == "MN0001").unwrap();
    assert_eq!(d.duplicates, 2);
    assert_eq!(d.frames, 3);
    assert_eq!(rtd_rows(&srv.db, T).await, 1);
    // Backfill of a period a year earlier.
    s.write_all(&upload(
        "MN0001",
        "123456",
        "20240102080030001",
        "2011",
        "20230102080000",
        "3",
    ))
    .await
    .unwrap();
    assert_eq!(
        read_frame(&mut s, Duration::from_secs(5))
            .await
            .unwrap()
            .cn(),
        Some("9014")
    );
    assert!(
        srv.db
            .monitoring()
            .upload_stored("MN0001", "2011", "20230102080000", 0)
            .await
            .unwrap()
    );
    assert_eq!(Metrics::get(&srv.metrics.uploads_duplicate), 2);
}

on_both_backends!(unknown_mn_and_wrong_pw_are_quarantined_not_stored);
async fn unknown_mn_and_wrong_pw_are_quarantined_not_stored(db: TestDb) {
    let srv = start(db, settings()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(&upload(
        "NOBODY",
        "123456",
        "20240102080000001",
        "2011",
        DT,
        "1",
    ))
    .await
    .unwrap();
    s.write_all(&upload(
        "MN0001",
        "000000",
        "20240102080000002",
        "2011",
        DT,
        "1",
    ))
    .await
    .unwrap();
    assert!(
        read_frame(&mut s, Duration::from_millis(500))
            .await
            .is_none(),
        "no ack for quarantined frames"
    );
    // Quarantine is written asynchronously: wait for it.
    let mut q = Vec::new();
    for _ in 0..50 {
        q = srv.db.monitoring().quarantine(10).await.unwrap();
        if q.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut reasons: Vec<_> = q.iter().map(|e| e.reason.as_str()).collect();
    reasons.sort();
    assert_eq!(reasons, ["unknown_mn", "wrong_pw"]);
    assert_eq!(rtd_rows(&srv.db, T).await, 0);
    assert!(
        !srv.db
            .monitoring()
            .upload_stored("MN0001", "2011", DT, 0)
            .await
            .unwrap()
    );
    let health = srv.db.monitoring().device_health(0).await.unwrap();
    let d = health.iter().find(|h| h.mn == "MN0001").unwrap();
    assert_eq!(d.auth_failures, 1);
    assert_eq!(d.quarantined, 1);
    assert_eq!(Metrics::get(&srv.metrics.frames_quarantined), 2);
}

on_both_backends!(malformed_flood_does_not_disturb_another_connection);
async fn malformed_flood_does_not_disturb_another_connection(db: TestDb) {
    let srv = start(db, settings()).await;
    let addr = srv.addr;
    let flood = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut junk = Vec::new();
        for i in 0..2000u32 {
            junk.extend_from_slice(b"##9999");
            junk.extend_from_slice(&i.to_le_bytes());
            junk.extend_from_slice(b"\x00\xff garbage ##12ab ##0010QN=1;CP=&&&&ZZZZ\r\n");
        }
        for _ in 0..20 {
            if s.write_all(&junk).await.is_err() {
                break;
            }
        }
    });
    let mut good = TcpStream::connect(srv.addr).await.unwrap();
    for i in 0..20 {
        let dt = format!("202401020800{:02}", i * 2);
        let qn = format!("{dt}001");
        good.write_all(&upload("MN0002", "123456", &qn, "2011", &dt, "5"))
            .await
            .unwrap();
        let ack = read_frame(&mut good, Duration::from_secs(5)).await.unwrap();
        assert_eq!(ack.qn(), Some(qn.as_str()));
    }
    flood.await.unwrap();
    assert!(
        Metrics::get(&srv.metrics.frames_rejected_parse)
            + Metrics::get(&srv.metrics.frames_rejected_crc)
            > 0
    );
}

on_both_backends!(connection_limit_refuses_extra_connections);
async fn connection_limit_refuses_extra_connections(db: TestDb) {
    let srv = start(
        db,
        Settings {
            max_connections: 1,
            ..settings()
        },
    )
    .await;
    let mut first = TcpStream::connect(srv.addr).await.unwrap();
    first
        .write_all(&upload(
            "MN0001",
            "123456",
            "20240102080000001",
            "2011",
            DT,
            "1",
        ))
        .await
        .unwrap();
    assert!(
        read_frame(&mut first, Duration::from_secs(5))
            .await
            .is_some()
    );
    let mut second = TcpStream::connect(srv.addr).await.unwrap();
    let mut b = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut b))
        .await
        .expect("closed promptly")
        .unwrap_or(0);
    assert_eq!(n, 0, "the extra connection is closed");
    assert_eq!(Metrics::get(&srv.metrics.connections_refused), 1);
    // Once the first goes away, a new one is served.
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(srv.addr).await.unwrap();
    third
        .write_all(&upload(
            "MN0001",
            "123456",
            "20240102080030001",
            "2011",
            "20240102080030",
            "1",
        ))
        .await
        .unwrap();
    assert!(
        read_frame(&mut third, Duration::from_secs(5))
            .await
            .is_some()
    );
}

on_both_backends!(idle_connections_are_closed);
async fn idle_connections_are_closed(db: TestDb) {
    let srv = start(
        db,
        Settings {
            idle_timeout: Duration::from_millis(300),
            ..settings()
        },
    )
    .await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let mut b = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut b))
        .await
        .expect("closed by the server")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert_eq!(Metrics::get(&srv.metrics.idle_timeouts), 1);
}

on_both_backends!(time_sync_on_connect_when_configured);
async fn time_sync_on_connect_when_configured(db: TestDb) {
    let srv = start(db, settings()).await;
    let mut d = srv.db.monitoring().device("MN0002").await.unwrap().unwrap();
    d.time_sync_on_connect = true;
    srv.db
        .monitoring()
        .upsert_device(&Actor::cli(), &d)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await; // device cache TTL
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(&upload(
        "MN0002",
        "123456",
        "20240102080000001",
        "2011",
        DT,
        "1",
    ))
    .await
    .unwrap();
    let first = read_frame(&mut s, Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.cn(), Some("1012"));
    assert!(first.cp("SystemTime").is_some());
    let ack = read_frame(&mut s, Duration::from_secs(5)).await.unwrap();
    assert_eq!(ack.cn(), Some("9014"));
}

on_both_backends!(simulator_produces_minute_and_valid_hourly_series);
async fn simulator_produces_minute_and_valid_hourly_series(db: TestDb) {
    let srv = start(db, settings()).await;
    // Two simulated hours at 7200x, no faults, and no 2061 from the logger:
    // the platform rolls the hours up itself.
    let start = T; // on the hour
    let mut cfg = SimConfig::new(srv.addr);
    cfg.speed = 7200.0;
    cfg.start = start;
    cfg.until = Some(start + 2 * 3600);
    cfg.send_hourly = false;
    cfg.exceedance_probability = 0.0;
    cfg.calibration_probability = 0.0;
    cfg.outage_probability = 0.0;
    cfg.ack_timeout = Duration::from_secs(5);
    let stats = Arc::new(SimStats::default());
    let (_stop, rx) = watch::channel(false);
    simulator::run(
        vec![LoggerSpec {
            mn: "MN0001".into(),
            pw: "123456".into(),
            kind: SimKind::Stack,
            scripted: None,
            power: None,
        }],
        cfg,
        stats.clone(),
        rx,
    )
    .await;
    assert_eq!(SimStats::get(&stats.unacked), 0);
    let mins = srv
        .db
        .monitoring()
        .series_points(1, "a21026", "min", start, start + 3600)
        .await
        .unwrap();
    assert_eq!(mins.len(), 6, "six 10-minute records in the first hour");
    let mut hours = Vec::new();
    for _ in 0..50 {
        hours = srv
            .db
            .monitoring()
            .series_points(1, "a21026", "hour", start, start + 7200)
            .await
            .unwrap();
        if hours.len() == 2 && hours.iter().all(|h| h.flag == "N") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hours.len(), 2, "{hours:?}");
    for h in &hours {
        assert_eq!(h.source, "rollup");
        assert_eq!(h.flag, "N", "60 of 60 minutes: valid");
        assert!(h.value.is_some() && h.converted.is_some());
    }
    // The hour's value is the mean of its minute records.
    let mean: f64 = mins
        .iter()
        .map(|m| m.value.as_deref().unwrap().parse::<f64>().unwrap())
        .sum::<f64>()
        / 6.0;
    let got: f64 = hours[0].value.as_deref().unwrap().parse().unwrap();
    assert!((mean - got).abs() < 1e-3, "{mean} vs {got}");
    // Real-time values every 30 s: 240 in two hours.
    let rtd = srv
        .db
        .monitoring()
        .series_points(1, "a21026", "rtd", start, start + 7200)
        .await
        .unwrap();
    assert_eq!(rtd.len(), 240);
}

on_both_backends!(logger_hour_is_authoritative_and_disagreement_recorded);
async fn logger_hour_is_authoritative_and_disagreement_recorded(db: TestDb) {
    let srv = start(db, settings()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    // Six minute records (10-min interval) of 10, and a logger hour of 12.
    for i in 0..6 {
        let dt = format!("2024010208{i}000");
        let m = Message::new("31", "2051", "123456", "MN0001")
            .with_qn(&format!("{dt}001"))
            .with_flag(Flag::new(Version::V2017, false, true))
            .group([("DataTime", dt.as_str())])
            .group([("a21026-Avg", "10"), ("a21026-Flag", "N")])
            .encode()
            .unwrap();
        s.write_all(&m).await.unwrap();
        assert!(read_frame(&mut s, Duration::from_secs(5)).await.is_some());
    }
    let m = Message::new("31", "2061", "123456", "MN0001")
        .with_qn("20240102090000001")
        .with_flag(Flag::new(Version::V2017, false, true))
        .group([("DataTime", DT)])
        .group([("a21026-Avg", "12"), ("a21026-Flag", "N")])
        .encode()
        .unwrap();
    s.write_all(&m).await.unwrap();
    assert!(read_frame(&mut s, Duration::from_secs(5)).await.is_some());
    let mut d = Vec::new();
    for _ in 0..50 {
        d = srv
            .db
            .monitoring()
            .rollup_disagreements(None, 10)
            .await
            .unwrap();
        if !d.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].logger_value.as_deref(), Some("12"));
    assert_eq!(d[0].rollup_value.as_deref(), Some("10"));
    let h = srv
        .db
        .monitoring()
        .series_points(1, "a21026", "hour", T, T + 1)
        .await
        .unwrap();
    assert_eq!(h[0].value.as_deref(), Some("12"));
    assert_eq!(h[0].source, "hj212");
}

on_both_backends!(item_1_script_in_a_data_flag_is_quarantined_naming_the_field);
/// Issue #10 item 1: a registered device sends a script in a data flag. The
/// frame is quarantined with a reason naming the field; nothing reaches the
/// series (where the chart would have shown it).
async fn item_1_script_in_a_data_flag_is_quarantined_naming_the_field(db: TestDb) {
    let srv = start(db, settings()).await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let evil = Message::new("31", "2011", "123456", "MN0001")
        .with_qn("20240102080000001")
        .with_flag(Flag::new(Version::V2017, false, true))
        .group([("DataTime", DT)])
        .group([
            ("a21026-Rtd", "12.5"),
            ("a21026-Flag", "<img src=x onerror=alert(1)>"),
        ])
        .encode()
        .unwrap();
    s.write_all(&evil).await.unwrap();
    assert!(
        read_frame(&mut s, Duration::from_millis(500))
            .await
            .is_none(),
        "a quarantined upload is not acknowledged"
    );
    let mut q = Vec::new();
    for _ in 0..100 {
        q = srv.db.monitoring().quarantine(10).await.unwrap();
        if !q.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(q[0].reason, "a21026-Flag 取值非法");
    assert_eq!(q[0].mn.as_deref(), Some("MN0001"));
    assert_eq!(rtd_rows(&srv.db, T).await, 0, "nothing stored in series");
    assert!(
        !srv.db
            .monitoring()
            .upload_stored("MN0001", "2011", DT, 0)
            .await
            .unwrap()
    );
    // The same device with a protocol flag on the same connection is stored.
    s.write_all(&upload(
        "MN0001",
        "123456",
        "20240102080000002",
        "2011",
        DT,
        "7",
    ))
    .await
    .unwrap();
    let ack = read_frame(&mut s, Duration::from_secs(5)).await.unwrap();
    assert_eq!(ack.qn(), Some("20240102080000002"));
    let points = srv
        .db
        .monitoring()
        .series_points(1, "a21026", "rtd", T, T + 1)
        .await
        .unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].flag, "N");
}

on_both_backends!(connection_state_is_written_by_the_writer);
async fn connection_state_is_written_by_the_writer(db: TestDb) {
    let srv = start(db, settings()).await;
    assert_eq!(
        srv.db
            .monitoring()
            .device_connection_times("MN0001")
            .await
            .unwrap(),
        (None, None)
    );
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let frame = upload("MN0001", "123456", "20240102080000124", "2011", DT, "12.5");
    s.write_all(&frame).await.unwrap();
    assert!(read_frame(&mut s, Duration::from_secs(5)).await.is_some());
    // Queued before the frame's job: committed by the time the ack arrives.
    let (connected, disconnected) = srv
        .db
        .monitoring()
        .device_connection_times("MN0001")
        .await
        .unwrap();
    assert!(connected.is_some());
    assert_eq!(disconnected, None);
    drop(s);
    let mut times = (None, None);
    for _ in 0..50 {
        times = srv
            .db
            .monitoring()
            .device_connection_times("MN0001")
            .await
            .unwrap();
        if times.1.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(times.1 >= connected, "disconnect recorded: {times:?}");
}

on_both_backends!(vendor_electricity_fields_are_stored_through_the_field_map);
/// Issue 15 item 3: an electricity-use monitor's vendor form (ST 80,
/// `100000-Pt`, `100000-Ept`, hj212.md §9) has no HJ 212-2017 field kind;
/// `[hj212.field_map]` names the factor each key is stored as. A key the
/// map does not name is dropped as before.
async fn vendor_electricity_fields_are_stored_through_the_field_map(db: TestDb) {
    let map = [("100000-Pt", "Pt"), ("100000-Ept", "Ept")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let srv = start(
        db,
        Settings {
            field_map: Arc::new(map),
            ..settings()
        },
    )
    .await;
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    let frame = Message::new("80", "2011", "123456", "MN0001")
        .with_qn("20240102080000001")
        .with_flag(Flag::new(Version::V2017, false, true))
        .group([("DataTime", DT)])
        .group([
            ("100000-Pt", "12.5"),
            ("100000-Ept", "3456.70"),
            ("100000-Ia", "20.1"),
        ])
        .group([("100001-Pt", "99")])
        .encode()
        .unwrap();
    s.write_all(&frame).await.unwrap();
    let ack = read_frame(&mut s, Duration::from_secs(5)).await.unwrap();
    assert_eq!(ack.cn(), Some("9014"));
    let value = |factor: &'static str| {
        let db = srv.db.clone();
        async move {
            db.monitoring()
                .series_points(1, factor, "rtd", T, T + 1)
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.value.unwrap_or_default())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(value("Pt").await, ["12.5"], "100001-Pt is not mapped");
    assert_eq!(value("Ept").await, ["3456.70"], "kept exactly as sent");
    assert!(value("Ia").await.is_empty());
    assert!(value("100000").await.is_empty());
}
