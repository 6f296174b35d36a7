//! Issue #10, items 3, 4 and 7, against the real binary: `gongjian serve` on
//! free loopback ports, with the HJ 212 limits made small through
//! `GONGJIAN_HJ212_…` variables so each test runs in seconds.
//!
//! * item 3: frames failing before authentication are archived only up to a
//!   sample cap, and a connection sending garbage is closed;
//! * item 4: connections per address are limited, a connection that never
//!   authenticates is closed at the deadline, and junk does not keep it open;
//! * item 7: wrong device passwords lock the MN and the address out (the right
//!   password is refused until the lockout ends) and leave an audit entry.

mod common;
use common::{Store, free_port, on_both_stores};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gongjian_hj212::{Flag, Message, Options, Packet, StreamDecoder, Version, bytes::BytesMut};
use gongjian_storage::{Actor, AuditFilter, Db, DbOptions, Device, NewSite};

const PW: &str = "123456";

on_both_stores!(
    item_3_unauthenticated_frames_are_sampled_and_garbage_connections_dropped,
    item_4_connections_per_address_are_limited,
    item_4_unauthenticated_and_junk_connections_are_closed_at_the_deadline,
    item_7_device_password_guessing_is_throttled,
);

/// `gongjian serve` on a data directory; killed on drop.
struct Server {
    child: Child,
    hj212: SocketAddr,
    url: String,
    _store: Store,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Register devices `SEC0001`… with password [`PW`], then start the server
/// with the given `[hj212]` overrides.
fn serve(store: Store, dir: &Path, devices: usize, env: &[(&str, &str)]) -> Server {
    let url = store.url(dir);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        let site = db
            .monitoring()
            .create_site(
                &Actor::cli(),
                &NewSite {
                    code: "SEC1".into(),
                    name: "security test".into(),
                    kind: "stack_gas".into(),
                    ..NewSite::default()
                },
            )
            .await
            .unwrap();
        for i in 1..=devices {
            db.monitoring()
                .upsert_device(&Actor::cli(), &Device::new(&mn(i), PW, site.id))
                .await
                .unwrap();
        }
        db.close().await;
    });
    let (http, hj) = (free_port(), free_port());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--http", &format!("127.0.0.1:{http}")])
        .args(["--hj212", &format!("127.0.0.1:{hj}")])
        .env("GONGJIAN_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    store.apply(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("spawn gongjian serve");
    let hj212: SocketAddr = format!("127.0.0.1:{hj}").parse().unwrap();
    let server = Server {
        child,
        hj212,
        url,
        _store: store,
    };
    let start = Instant::now();
    while TcpStream::connect_timeout(&hj212, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "server did not listen on {hj212}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let the server see the probe connection go.
    std::thread::sleep(Duration::from_millis(300));
    server
}

fn mn(i: usize) -> String {
    format!("SEC{i:04}")
}

fn db_query<T>(url: &str, f: impl AsyncFnOnce(&Db) -> T) -> T {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = Db::connect(url, &DbOptions::default()).await.unwrap();
        let out = f(&db).await;
        db.close().await;
        out
    })
}

/// A 2011 upload asking for an ack.
fn upload(mn: &str, pw: &str, n: usize) -> (String, Vec<u8>) {
    let qn = format!("20240102080000{n:03}");
    let dt = format!("202401020{:01}{:02}00", 8 + n / 60 % 2, n % 60);
    let bytes = Message::new("31", "2011", pw, mn)
        .with_qn(&qn)
        .with_flag(Flag::new(Version::V2017, false, true))
        .group([("DataTime", dt.as_str())])
        .group([("a21026-Rtd", "12.5"), ("a21026-Flag", "N")])
        .encode()
        .unwrap();
    (qn, bytes)
}

/// A 1013 time-calibration request: 9013 when the password is right, 9011
/// QnRtn=3 when it is not.
fn time_request(mn: &str, pw: &str, n: usize) -> Vec<u8> {
    Message::new("31", "1013", pw, mn)
        .with_qn(&format!("20240102090000{n:03}"))
        .with_flag(Flag::new(Version::V2017, false, true))
        .encode()
        .unwrap()
}

/// A logger's socket with a frame decoder for the answers.
struct Logger {
    s: TcpStream,
    dec: StreamDecoder,
    buf: BytesMut,
}

enum Read1 {
    Frame(Box<Packet>),
    Closed,
    Nothing,
}

impl Logger {
    fn connect(addr: SocketAddr) -> Logger {
        Logger {
            s: TcpStream::connect(addr).unwrap(),
            dec: StreamDecoder::new(Options::default()),
            buf: BytesMut::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> bool {
        self.s.write_all(bytes).is_ok()
    }

    /// The next answer frame, the end of the connection, or nothing within `within`.
    fn read(&mut self, within: Duration) -> Read1 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(Ok(p)) = self.dec.decode(&mut self.buf) {
                return Read1::Frame(Box::new(p));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Read1::Nothing;
            }
            self.s.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) => return Read1::Closed,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Read1::Nothing;
                }
                Err(_) => return Read1::Closed,
            }
        }
    }

    /// Read (and drop) until the server closes the connection; false if it
    /// is still open after `within`.
    fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            match self.read(deadline.saturating_duration_since(Instant::now())) {
                Read1::Closed => return true,
                Read1::Nothing => return false,
                Read1::Frame(_) => {}
            }
        }
    }

    /// Send an upload and wait for its 9014.
    fn acked(&mut self, mn: &str, n: usize) -> bool {
        let (qn, bytes) = upload(mn, PW, n);
        if !self.send(&bytes) {
            return false;
        }
        matches!(self.read(Duration::from_secs(10)),
            Read1::Frame(p) if p.cn() == Some("9014") && p.qn() == Some(qn.as_str()))
    }
}

/// A complete upload of a registered device whose CRC is wrong: the decoder
/// reports it as a rejected frame (plain junk without a length is dropped
/// silently).
fn bad_crc_frame(n: usize) -> Vec<u8> {
    let (_, mut f) = upload("SEC0001", PW, n);
    let at = f.len() - 6;
    f[at] = if f[at] == b'0' { b'1' } else { b'0' };
    f
}

/// Frames that fail before authentication: garbage with a length over the
/// limit, a bad CRC, an unknown MN.
fn garbage_frames(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        match i % 3 {
            0 => out.extend_from_slice(b"##9999QN=1;ST=31;CN=2011;MN=x;CP=&&&&\r\n"),
            1 => out.extend_from_slice(&bad_crc_frame(i % 100)),
            _ => out.extend_from_slice(&upload("NOBODY", PW, i % 100).1),
        }
    }
    out
}

fn item_3_unauthenticated_frames_are_sampled_and_garbage_connections_dropped(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let srv = serve(
        store,
        dir.path(),
        1,
        &[
            ("GONGJIAN_HJ212_UNAUTH_RAW_PER_PEER_HOUR", "40"),
            ("GONGJIAN_HJ212_UNAUTH_RAW_PER_HOUR", "1000"),
            ("GONGJIAN_HJ212_MAX_BAD_FRAMES", "5"),
            ("GONGJIAN_HJ212_MAX_GARBAGE_BYTES", "4096"),
        ],
    );
    // 30 connections × 300 bad frames: each connection is closed by the server.
    let batch = garbage_frames(300);
    let mut sent = 0;
    for c in 0..30 {
        let mut l = Logger::connect(srv.hj212);
        if l.send(&batch) {
            sent += 300;
        }
        assert!(
            l.closed_within(Duration::from_secs(15)),
            "connection {c} sending bad frames was not closed"
        );
    }
    assert!(sent >= 300, "frames were sent");
    // Pure garbage without any frame header: closed after MAX_GARBAGE_BYTES.
    let mut l = Logger::connect(srv.hj212);
    let _ = l.send(&vec![b'x'; 200_000]);
    assert!(
        l.closed_within(Duration::from_secs(15)),
        "a connection sending bytes without any frame was not closed"
    );
    // A registered logger still gets in and is acknowledged.
    let mut good = Logger::connect(srv.hj212);
    assert!(good.acked("SEC0001", 1), "the real logger is served");
    // Its frame is archived; garbage only up to the per-peer sample cap.
    let (raw, quarantined) = db_query(&srv.url, async |db| {
        for _ in 0..50 {
            if db.monitoring().raw_frame_count().await.unwrap() > 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Give the writer time to commit anything still queued.
        tokio::time::sleep(Duration::from_millis(500)).await;
        (
            db.monitoring().raw_frame_count().await.unwrap(),
            db.monitoring().quarantine(10_000).await.unwrap().len(),
        )
    });
    assert!(raw > 1, "some unauthenticated frames are sampled");
    // 40 per clock hour, the good logger's frame, and a second hour's 40 if
    // the test happens to run across an hour boundary.
    assert!(
        raw <= 2 * 40 + 1,
        "{raw} raw rows for {sent} frames sent: the sample cap (40 per peer and hour) is not held"
    );
    assert!(quarantined <= 2 * 40, "{quarantined} quarantine rows");
}

fn item_4_connections_per_address_are_limited(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let srv = serve(
        store,
        dir.path(),
        8,
        &[("GONGJIAN_HJ212_MAX_CONNECTIONS_PER_ADDR", "6")],
    );
    // Six real loggers from 127.0.0.1 hold the address's slots.
    let mut held: Vec<Logger> = (1..=6)
        .map(|i| {
            let mut l = Logger::connect(srv.hj212);
            assert!(l.acked(&mn(i), i), "logger {i} served");
            l
        })
        .collect();
    // Extra connections from the same address are closed at once, silent or not.
    for _ in 0..4 {
        let mut extra = Logger::connect(srv.hj212);
        assert!(
            extra.closed_within(Duration::from_secs(10)),
            "a connection over the per-address limit was kept"
        );
    }
    let mut seventh = Logger::connect(srv.hj212);
    assert!(
        !seventh.acked(&mn(7), 7),
        "over the limit, even a real logger"
    );
    // The held loggers are unaffected.
    for (i, l) in held.iter_mut().enumerate() {
        assert!(
            l.acked(&mn(i + 1), 100 + i),
            "held logger {} still served",
            i + 1
        );
    }
    // A slot freed is a slot for a new logger.
    drop(held.pop());
    let start = Instant::now();
    loop {
        let mut l = Logger::connect(srv.hj212);
        if l.acked(&mn(8), 8) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "a freed slot was not given to a new logger"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn item_4_unauthenticated_and_junk_connections_are_closed_at_the_deadline(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let srv = serve(
        store,
        dir.path(),
        2,
        &[
            ("GONGJIAN_HJ212_AUTH_TIMEOUT_SECS", "2"),
            ("GONGJIAN_HJ212_IDLE_TIMEOUT_SECS", "4"),
            ("GONGJIAN_HJ212_MAX_BAD_FRAMES", "100000"),
        ],
    );
    let addr = srv.hj212;
    // A silent connection, one that dribbles rejected frames (bad CRC) before
    // any valid frame, and one that authenticates and then only dribbles them.
    let dribble = |mut l: Logger, authenticate: bool| {
        std::thread::spawn(move || {
            if authenticate {
                assert!(l.acked("SEC0002", 1));
            }
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) {
                if !l.send(&bad_crc_frame(7)) {
                    return true;
                }
                if let Read1::Closed = l.read(Duration::from_millis(300)) {
                    return true;
                }
            }
            false
        })
    };
    let mut silent = Logger::connect(addr);
    let junk = dribble(Logger::connect(addr), false);
    let junk_after_auth = dribble(Logger::connect(addr), true);
    // Meanwhile a real logger keeps its connection past the deadlines by
    // sending valid frames.
    let mut real = Logger::connect(addr);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(7) {
        n += 1;
        assert!(real.acked("SEC0001", n), "the real logger was cut off");
        std::thread::sleep(Duration::from_millis(700));
    }
    assert!(
        silent.closed_within(Duration::from_secs(30)),
        "a silent connection outlived the authentication deadline"
    );
    assert!(
        junk.join().unwrap(),
        "rejected frames kept an unauthenticated connection open"
    );
    assert!(
        junk_after_auth.join().unwrap(),
        "rejected frames reset the idle timer of an authenticated connection"
    );
}

fn item_7_device_password_guessing_is_throttled(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let srv = serve(
        store,
        dir.path(),
        1,
        &[
            ("GONGJIAN_HJ212_AUTH_MAX_FAILURES", "3"),
            ("GONGJIAN_HJ212_AUTH_LOCKOUT_SECS", "8"),
            ("GONGJIAN_HJ212_AUTH_LOCKOUT_MAX_SECS", "60"),
        ],
    );
    let mut l = Logger::connect(srv.hj212);
    let answer = |l: &mut Logger, pw: &str, n: usize| -> (String, Option<String>) {
        assert!(l.send(&time_request("SEC0001", pw, n)), "connection kept");
        loop {
            match l.read(Duration::from_secs(10)) {
                Read1::Frame(p) if p.cn() == Some("1012") => continue, // time sync
                Read1::Frame(p) => {
                    return (
                        p.cn().unwrap_or("").to_owned(),
                        p.cp("QnRtn").map(str::to_owned),
                    );
                }
                _ => panic!("no answer to request {n}"),
            }
        }
    };
    // The right password works at first.
    assert_eq!(answer(&mut l, PW, 0).0, "9013");
    // Three wrong passwords are refused as the standard says (9011 QnRtn=3).
    for n in 1..=3 {
        assert_eq!(
            answer(&mut l, "000000", n),
            ("9011".to_owned(), Some("3".to_owned()))
        );
    }
    // Now locked: the right password is refused too.
    assert_eq!(
        answer(&mut l, PW, 4),
        ("9011".to_owned(), Some("3".to_owned())),
        "the right password was accepted during the lockout"
    );
    // The office is alarmed: an audit entry for the lockout.
    let entries = db_query(&srv.url, async |db| {
        db.audit()
            .list(&AuditFilter {
                action: Some("hj212.auth_lockout".into()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap()
    });
    assert!(
        entries
            .iter()
            .any(|e| e.entity == "hj212_device" && e.entity_id == "SEC0001"),
        "no audit entry for the device lockout: {entries:?}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e.entity == "hj212_peer" && e.entity_id == "127.0.0.1"),
        "no audit entry for the address lockout: {entries:?}"
    );
    // After the lockout ends, the right password works again.
    let start = Instant::now();
    let mut n = 5;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        n += 1;
        if answer(&mut l, PW, n).0 == "9013" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the lockout never ended"
        );
    }
}
