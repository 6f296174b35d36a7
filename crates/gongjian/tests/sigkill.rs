//! Kill `gongjian serve` with SIGKILL in the middle of an HJ 212 stream,
//! restart it, and prove that every frame it acknowledged is stored: the
//! listener acknowledges only after the commit.

mod common;
use common::{Store, free_port, on_both_stores, spawn_serve_on, wait_listening};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gongjian_hj212::{Flag, Message, Options, StreamDecoder, Version};
use gongjian_storage::{Actor, Db, DbOptions, Device, NewSite};
use std::io::{Read, Write};

fn frame(i: usize, conn: usize) -> (String, String, Vec<u8>) {
    // Each frame its own minute-of-history DataTime so every ack maps to one row.
    let t = 1_704_153_600 + (conn * 1_000_000 + i) as i64 * 60;
    let dt = chrono::DateTime::from_timestamp(t + 8 * 3600, 0)
        .unwrap()
        .format("%Y%m%d%H%M%S")
        .to_string();
    let qn = format!("{dt}{:03}", conn);
    let bytes = Message::new("31", "2051", "123456", "KILLTEST0001")
        .with_qn(&qn)
        .with_flag(Flag::new(Version::V2017, false, true))
        .group([("DataTime", dt.as_str())])
        .group([("a21026-Avg", "12.5"), ("a21026-Flag", "N")])
        .group([("a21002-Avg", "30.1"), ("a21002-Flag", "N")])
        .encode()
        .unwrap();
    (qn, dt, bytes)
}

on_both_stores!(every_acknowledged_frame_survives_sigkill);

fn every_acknowledged_frame_survives_sigkill(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = store.url(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let site_id = rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        let site = db
            .monitoring()
            .create_site(
                &Actor::cli(),
                &NewSite {
                    code: "K1".into(),
                    name: "kill test".into(),
                    kind: "stack_gas".into(),
                    ..NewSite::default()
                },
            )
            .await
            .unwrap();
        db.monitoring()
            .upsert_device(
                &Actor::cli(),
                &Device::new("KILLTEST0001", "123456", site.id),
            )
            .await
            .unwrap();
        db.close().await;
        site.id
    });

    let (http, hj) = (free_port(), free_port());
    let addr: SocketAddr = format!("127.0.0.1:{hj}").parse().unwrap();
    let mut child = spawn_serve_on(&store, dir.path(), http, hj);
    wait_listening(addr);

    // Four connections stream pipelined frames (no waiting for acks) and
    // record every ack they get.
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let sent_dt: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let mut threads = Vec::new();
    for conn in 0..4 {
        let acked = acked.clone();
        let sent_dt = sent_dt.clone();
        threads.push(std::thread::spawn(move || {
            let s = std::net::TcpStream::connect(addr).unwrap();
            let mut reader = s.try_clone().unwrap();
            let writer = std::thread::spawn(move || {
                let mut s = s;
                for i in 0..100_000 {
                    let (qn, dt, bytes) = frame(i, conn);
                    sent_dt.lock().unwrap().insert(qn, dt);
                    if s.write_all(&bytes).is_err() {
                        break;
                    }
                }
            });
            let mut dec = StreamDecoder::new(Options::default());
            let mut buf = gongjian_hj212::bytes::BytesMut::new();
            let mut chunk = [0u8; 8192];
            loop {
                match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                while let Some(d) = dec.decode(&mut buf) {
                    if let Ok(p) = d
                        && p.cn() == Some("9014")
                    {
                        let qn = p.qn().unwrap_or("").to_owned();
                        acked.lock().unwrap().insert(qn, String::new());
                    }
                }
            }
            let _ = writer.join();
        }));
    }
    // Let a good number of acks arrive, then kill mid-stream.
    let start = Instant::now();
    while acked.lock().unwrap().len() < 2000 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "too few acks before the kill: {}",
            acked.lock().unwrap().len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.wait().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().keys().cloned().collect();
    let sent = sent_dt.lock().unwrap().clone();
    assert!(acked.len() >= 2000);
    assert!(
        acked.len() < sent.len(),
        "the kill must land mid-stream ({} acked of {} sent)",
        acked.len(),
        sent.len()
    );

    // Restart on the same data directory (recovery of the WAL), then check.
    let mut child = spawn_serve_on(&store, dir.path(), http, hj);
    wait_listening(addr);
    rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        let mut missing = Vec::new();
        for qn in &acked {
            let dt = &sent[qn];
            if !db
                .monitoring()
                .upload_stored("KILLTEST0001", "2051", dt, 0)
                .await
                .unwrap()
            {
                missing.push(qn.clone());
            }
        }
        assert!(
            missing.is_empty(),
            "{} of {} acknowledged frames lost, e.g. {:?}",
            missing.len(),
            acked.len(),
            &missing[..missing.len().min(5)]
        );
        // And their values are in the series.
        let t0 = 1_704_153_600;
        let n = db
            .monitoring()
            .series_points(site_id, "a21026", "min", t0, t0 + 4_000_000 * 60)
            .await
            .unwrap()
            .len();
        assert!(n >= acked.len(), "{n} minute rows for {} acks", acked.len());
        db.close().await;
    });
    child.kill().unwrap();
    child.wait().unwrap();
}
