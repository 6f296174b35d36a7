//! Issue #10 item 5, black box: the real `gongjian serve` closes connections
//! that never finish their request head, refuses connections beyond its
//! global and per-address caps, answers 408 to a request whose body never
//! arrives, keeps serving fresh clients and keeps the HJ 212 port accepting
//! meanwhile; and it refuses to start when its connection limits do not fit
//! in the open-file limit.

mod common;
use common::{Store, free_port, on_both_stores, serve_command, serve_command_on};

use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_listening(addr: SocketAddr) {
    let start = Instant::now();
    while TcpStream::connect(addr).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "server did not listen on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A connection to `server` from the loopback address `from` (127.0.0.x).
async fn connect_from(from: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((from, 0)))
        .unwrap_or_else(|e| panic!("bind {from:?}: {e}"));
    socket.connect(server).await.unwrap()
}

/// A connection that sends half a request head and then nothing.
async fn slow_header(from: [u8; 4], server: SocketAddr) -> TcpStream {
    let mut s = connect_from(from, server).await;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: gongjian\r\nX-Slow: ")
        .await
        .unwrap();
    s
}

/// Wait (up to `limit`, a liveness bound) until the server closes `s`;
/// return whatever it sent before closing.
async fn closed_by_server(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let result = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        result.is_ok(),
        "the server kept the connection open for {limit:?}"
    );
    got
}

/// One whole request on a fresh connection from `from`; the answer's text.
async fn get(from: [u8; 4], server: SocketAddr, path: &str) -> String {
    let mut s = connect_from(from, server).await;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: gongjian\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut out))
        .await
        .expect("no answer within 60 s")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn metric(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {line_start} in /metrics:\n{text}"))
}

const HEADER_TIMEOUT_SECS: u64 = 15;
const PER_ADDRESS: usize = 10;
const GLOBAL: usize = 20;

on_both_stores!(item_5_slow_headers_are_closed_and_connections_capped_while_hj212_accepts);

fn item_5_slow_headers_are_closed_and_connections_capped_while_hj212_accepts(store: Store) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(slow_headers_and_caps(store));
}

async fn slow_headers_and_caps(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let (http, hj) = (free_port(), free_port());
    let web: SocketAddr = format!("127.0.0.1:{http}").parse().unwrap();
    let hj212: SocketAddr = format!("127.0.0.1:{hj}").parse().unwrap();
    let _server = Server(
        serve_command_on(&store, dir.path(), http, hj)
            .env(
                "GONGJIAN_HTTP_HEADER_READ_TIMEOUT_SECS",
                HEADER_TIMEOUT_SECS.to_string(),
            )
            .env("GONGJIAN_HTTP_REQUEST_TIMEOUT_SECS", "3")
            .env("GONGJIAN_HTTP_MAX_CONNECTIONS", GLOBAL.to_string())
            .env(
                "GONGJIAN_HTTP_MAX_CONNECTIONS_PER_ADDRESS",
                PER_ADDRESS.to_string(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn gongjian serve"),
    );
    wait_listening(web).await;
    wait_listening(hj212).await;

    // A request whose body never comes is answered 408 after the request
    // timeout (3 s), well before the header timeout.
    let mut body = connect_from([127, 0, 0, 9], web).await;
    body.write_all(
        b"POST /login HTTP/1.1\r\nHost: gongjian\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=a",
    )
    .await
    .unwrap();
    let answer = closed_by_server(&mut body, Duration::from_secs(HEADER_TIMEOUT_SECS * 4)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The per-address cap: 127.0.0.1 fills its share; one more is refused.
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..PER_ADDRESS {
        slow.push(slow_header([127, 0, 0, 1], web).await);
    }
    let mut over = slow_header([127, 0, 0, 1], web).await;
    closed_by_server(&mut over, Duration::from_secs(HEADER_TIMEOUT_SECS * 4)).await;
    // Another address is still served meanwhile.
    let health = get([127, 0, 0, 2], web, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    // The global cap: 127.0.0.2 fills the rest; 127.0.0.3 is refused.
    for _ in 0..GLOBAL - PER_ADDRESS {
        slow.push(slow_header([127, 0, 0, 2], web).await);
    }
    let mut over = slow_header([127, 0, 0, 3], web).await;
    closed_by_server(&mut over, Duration::from_secs(HEADER_TIMEOUT_SECS * 4)).await;
    assert!(
        started.elapsed() < Duration::from_secs(HEADER_TIMEOUT_SECS),
        "the machine is too slow for this test: the caps were not full long enough"
    );

    // The HJ 212 port accepts while the web side is full.
    let mut logger = TcpStream::connect(hj212).await.expect("HJ 212 accepts");
    logger.write_all(b"##").await.unwrap();

    // Every slow connection is closed by the server after the header timeout
    // (a generous liveness bound: four times the timeout).
    for s in &mut slow {
        closed_by_server(s, Duration::from_secs(HEADER_TIMEOUT_SECS * 4)).await;
    }
    // Fresh connections are served again, from the address that was capped.
    let health = get([127, 0, 0, 1], web, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let metrics = get([127, 0, 0, 1], web, "/metrics").await;
    assert!(
        metric(
            &metrics,
            "gongjian_http_connections_refused_total{cap=\"per_address\"}"
        ) >= 1,
        "{metrics}"
    );
    assert!(
        metric(
            &metrics,
            "gongjian_http_connections_refused_total{cap=\"global\"}"
        ) >= 1,
        "{metrics}"
    );
    assert!(metric(&metrics, "gongjian_http_requests_timed_out_total") >= 1);
    // And the HJ 212 port still accepts.
    TcpStream::connect(hj212).await.expect("HJ 212 accepts");
}

#[test]
fn item_5_serve_refuses_to_start_when_the_limits_exceed_the_open_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let out = serve_command(dir.path(), free_port(), free_port())
        .env("GONGJIAN_HTTP_MAX_CONNECTIONS", "100000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gongjian serve");
    let mut server = Server(out);
    // It must exit by itself; a server that started is killed after 60 s.
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "serve started although its limits exceed the open-file limit"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("RLIMIT_NOFILE"), "{stderr}");
    assert!(stderr.contains("http.max_connections"), "{stderr}");
    assert!(
        !dir.path().join("gongjian.db").exists(),
        "the database was created before the check"
    );
}
