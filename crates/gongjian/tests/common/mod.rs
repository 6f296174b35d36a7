//! What the black-box tests of the real binary share: a free port, the
//! `serve` command on a data directory, and waiting until it listens.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `gongjian serve` on `dir` (SQLite) with both listeners on loopback.
pub fn serve_command(dir: &Path, http: u16, hj212: u16) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.args(["serve", "--data-dir"])
        .arg(dir)
        .args(["--http", &format!("127.0.0.1:{http}")])
        .args(["--hj212", &format!("127.0.0.1:{hj212}")])
        .env_remove("GONGJIAN_DATABASE_URL")
        .env("GONGJIAN_LOG_LEVEL", "warn");
    cmd
}

/// [`serve_command`] started with its output discarded.
pub fn spawn_serve(dir: &Path, http: u16, hj212: u16) -> Child {
    serve_command(dir, http, hj212)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gongjian serve")
}

/// Block until `addr` accepts a connection (a minute at most).
pub fn wait_listening(addr: SocketAddr) {
    let start = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "server did not listen on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
