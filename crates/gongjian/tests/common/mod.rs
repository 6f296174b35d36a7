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

/// Where the binary under test keeps its data: the SQLite file in its data
/// directory, or a fresh PostgreSQL database (`gj_test_*`, dropped with this
/// value) named as `[database] url` in a configuration file.
pub struct Store {
    config: Option<(tempfile::TempDir, std::path::PathBuf)>,
    pub postgres_url: Option<String>,
    _drop: Option<gongjian_storage::testing::DropDatabase>,
}

impl Store {
    pub fn sqlite() -> Store {
        Store {
            config: None,
            postgres_url: None,
            _drop: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (a recorded skip; a failure
    /// under `CI=true`) when `GONGJIAN_TEST_POSTGRES_URL` is not set.
    pub fn postgres() -> Option<Store> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (url, guard) = rt.block_on(gongjian_storage::testing::postgres_empty())?;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gongjian.toml");
        std::fs::write(&path, format!("[database]\nurl = {url:?}\n")).unwrap();
        Some(Store {
            config: Some((dir, path)),
            postgres_url: Some(url),
            _drop: Some(guard),
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres_url.is_some()
    }

    /// Point `cmd` (any `gongjian` subcommand that opens the database) at
    /// this store.
    pub fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env_remove("GONGJIAN_DATABASE_URL");
        if let Some((_, path)) = &self.config {
            cmd.arg("--config").arg(path);
        }
        cmd
    }
}

/// Run each named `fn name(store: Store)` once with the data directory's
/// SQLite file and once on a fresh PostgreSQL database; the tests are
/// `name::sqlite` and `name::postgres`.
#[allow(unused_macros)] // not every test binary uses it
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::common::Store::sqlite());
                }

                #[test]
                fn postgres() {
                    if let Some(store) = $crate::common::Store::postgres() {
                        super::$name(store);
                    }
                }
            }
        )+
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_stores;

/// [`serve_command`] on `store`.
pub fn serve_command_on(store: &Store, dir: &Path, http: u16, hj212: u16) -> Command {
    let mut cmd = serve_command(dir, http, hj212);
    store.apply(&mut cmd);
    cmd
}

/// [`spawn_serve`] on `store`.
pub fn spawn_serve_on(store: &Store, dir: &Path, http: u16, hj212: u16) -> Child {
    serve_command_on(store, dir, http, hj212)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gongjian serve")
}

impl Store {
    /// The database URL the binary uses for `dir`: the PostgreSQL database,
    /// else the SQLite file in the data directory.
    pub fn url(&self, dir: &Path) -> String {
        self.postgres_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.join("gongjian.db").display()))
    }
}
