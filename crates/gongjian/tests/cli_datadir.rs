//! Issue #10 items 18 and 19, black box: one `serve` per data directory,
//! and the directory, the database and the backups private to the owner.

mod common;
use common::{free_port, serve_command};

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A running `serve`, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &Path) -> (Server, SocketAddr) {
    // A free port can be taken by another test between the probe and the
    // bind: then this server exits and the port answers for someone else.
    // Regression: the check below once ran against another test's server.
    for _ in 0..5 {
        let (http, hj) = (free_port(), free_port());
        let child = serve_command(dir, http, hj)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn gongjian serve");
        let mut server = Server(child);
        let addr: SocketAddr = format!("127.0.0.1:{http}").parse().unwrap();
        let began = Instant::now();
        loop {
            if server.0.try_wait().unwrap().is_some() {
                break;
            }
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // Listening, and still ours.
                if server.0.try_wait().unwrap().is_none() {
                    return (server, addr);
                }
                break;
            }
            assert!(
                began.elapsed() < Duration::from_secs(60),
                "server did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("gongjian serve exited on start five times (ports taken?)");
}

/// Run to completion, or fail the test after a generous liveness limit.
fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gongjian");
    let began = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if began.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gongjian did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn item_18_second_serve_on_the_same_data_dir_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, addr) = start(dir.path());
    let out = run_with_timeout(
        serve_command(dir.path(), free_port(), free_port()),
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "second serve started");
    assert!(
        stderr.contains("正被另一个 gongjian 进程")
            && stderr.contains(&format!("PID {}", first.0.id())),
        "{stderr}"
    );
    assert!(first.0.try_wait().unwrap().is_none(), "first serve stopped");
    assert!(std::net::TcpStream::connect(addr).is_ok());

    // migrate is refused the same way while it runs.
    let mut migrate = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    migrate
        .args(["migrate", "--data-dir"])
        .arg(dir.path())
        .env_remove("GONGJIAN_DATABASE_URL");
    let out = run_with_timeout(migrate, Duration::from_secs(60));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("正被另一个 gongjian 进程"));
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn item_19_data_dir_database_and_backups_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    // A directory left world-readable by an earlier version, with an old
    // world-readable attachment in it: fixed at start.
    let old = dir.join("attachments").join("ab");
    std::fs::create_dir_all(&old).unwrap();
    let old_file = old.join("ab".to_owned() + &"0".repeat(62));
    std::fs::write(&old_file, b"old attachment").unwrap();
    for (p, m) in [
        (&dir, 0o755),
        (&dir.join("attachments"), 0o755),
        (&old, 0o755),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }
    std::fs::set_permissions(&old_file, std::fs::Permissions::from_mode(0o644)).unwrap();

    {
        let (_server, _) = start(&dir);
        // While serving, the database runs in WAL mode with -wal and -shm.
        for name in ["gongjian.db", "gongjian.db-wal", "gongjian.db-shm"] {
            let p = dir.join(name);
            if p.exists() || name == "gongjian.db" {
                assert_eq!(mode(&p), 0o600, "{name}");
            }
        }
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("attachments")), 0o700);
        assert_eq!(mode(&old), 0o700);
        assert_eq!(mode(&old_file), 0o600);
        assert_eq!(mode(&dir.join("gongjian.lock")), 0o600);

        let out = Command::new(env!("CARGO_BIN_EXE_gongjian"))
            .args(["backup", "--data-dir"])
            .arg(&dir)
            .env_remove("GONGJIAN_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let backups = dir.join("backups");
    assert_eq!(mode(&backups), 0o700);
    let archives: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    assert_eq!(mode(&archives[0]), 0o600);
}
