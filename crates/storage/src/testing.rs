//! Fresh databases for tests: a SQLite file in a temporary directory, and a
//! new PostgreSQL database per test when `GONGJIAN_TEST_POSTGRES_URL` is set,
//! so that tests can run in parallel without seeing each other's rows. The
//! PostgreSQL database (`gj_test_<random>`) is dropped with its [`TestDb`].
//!
//! A test that cannot run in this environment calls [`skip`]: the reason is
//! appended to `target/skipped-tests.txt` (which `.ci/run` prints at the end),
//! and under `CI=true` the missing service is a failure instead of a skip.

use std::io::Write;
use std::path::PathBuf;

use crate::{Backend, Db, DbOptions};

pub const POSTGRES_ENV: &str = "GONGJIAN_TEST_POSTGRES_URL";
/// Where skipped tests are listed; defaults to `<target dir>/skipped-tests.txt`.
pub const SKIP_FILE_ENV: &str = "GONGJIAN_TEST_SKIP_FILE";

/// Both backends, in the order the test macros run them.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// A migrated database that lives as long as this value.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _drop: Option<DropDatabase>,
}

impl TestDb {
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }
}

/// Drops a test's PostgreSQL database when dropped.
pub struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let admin_url = std::mem::take(&mut self.admin_url);
        let name = std::mem::take(&mut self.name);
        // `Drop` cannot await, and a runtime cannot be entered from inside
        // another one's thread: drop the database from a thread of its own.
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = Db::connect(&admin_url, &options()).await {
                    // FORCE: the application under test may still hold
                    // connections to it.
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin.write)
                        .await;
                    admin.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

fn options() -> DbOptions {
    DbOptions {
        max_connections: 4,
        ..DbOptions::default()
    }
}

/// A fresh, migrated database on `backend`; `None` (recorded by [`skip`])
/// when that backend is not available in this environment.
pub async fn fresh(backend: Backend) -> Option<TestDb> {
    match backend {
        Backend::Sqlite => Some(sqlite().await),
        Backend::Postgres => postgres().await,
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Db::connect(&url, &DbOptions::default())
        .await
        .expect("connect sqlite");
    db.migrate().await.expect("migrate sqlite");
    TestDb {
        db,
        url,
        _dir: Some(dir),
        _drop: None,
    }
}

/// A fresh PostgreSQL database, or `None` (recorded by [`skip`], a failure
/// under `CI=true`) when `GONGJIAN_TEST_POSTGRES_URL` is not set.
pub async fn postgres() -> Option<TestDb> {
    let (url, guard) = postgres_database().await?;
    let db = Db::connect(&url, &DbOptions::default())
        .await
        .expect("connect test database");
    db.migrate().await.expect("migrate postgres");
    Some(TestDb {
        db,
        url,
        _dir: None,
        _drop: Some(guard),
    })
}

/// A fresh, empty (not migrated) PostgreSQL database for a test that starts
/// the real binary on it: its URL, and a guard that drops it. `None`
/// (recorded by [`skip`]) when PostgreSQL tests are not configured.
pub async fn postgres_empty() -> Option<(String, DropDatabase)> {
    let (url, guard) = postgres_database().await?;
    Some((url, guard))
}

async fn postgres_database() -> Option<(String, DropDatabase)> {
    let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
        skip(&format!(
            "{POSTGRES_ENV} is not set, PostgreSQL variant not run"
        ));
        return None;
    };
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes);
    let name = format!("gj_test_{}", hex::encode(bytes));
    let admin = Db::connect(&admin_url, &options())
        .await
        .expect("connect to GONGJIAN_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin.write)
        .await
        .expect("create test database");
    admin.close().await;
    Some((
        replace_database(&admin_url, &name),
        DropDatabase { admin_url, name },
    ))
}

/// Whether this run is CI (`CI=true`), where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Record that the current test did not run, and why. Under `CI=true` this
/// panics instead: CI provides every service, so a missing one is a failure.
pub fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_owned();
    if in_ci() {
        panic!("{test}: cannot run under CI=true: {reason}");
    }
    let line = format!("{test}: {reason}");
    println!("skipped: {line}");
    let path = skip_file();
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// `$GONGJIAN_TEST_SKIP_FILE`, or `skipped-tests.txt` in the cargo target
/// directory the test executable was built into (`<target>/debug/deps/…`).
pub fn skip_file() -> PathBuf {
    if let Some(path) = std::env::var_os(SKIP_FILE_ENV) {
        return PathBuf::from(path);
    }
    let target = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .find(|dir| dir.file_name().is_some_and(|n| n == "deps"))
            .and_then(|deps| deps.parent())
            .and_then(|profile| profile.parent())
            .map(|t| t.to_path_buf())
    });
    target
        .unwrap_or_else(std::env::temp_dir)
        .join("skipped-tests.txt")
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Run each named test body once on a fresh SQLite database and once on a
/// fresh PostgreSQL database (a recorded skip when PostgreSQL is not
/// configured). Each name is an `async fn name(db: TestDb)` in the calling
/// module; the generated tests are `name::sqlite` and `name::postgres`.
///
/// ```ignore
/// async fn login_works(db: TestDb) { /* … */ }
/// gongjian_storage::on_both_backends!(login_works);
/// // or, for a multi-threaded runtime:
/// gongjian_storage::on_both_backends!(flavor = "multi_thread", worker_threads = 4; login_works);
/// ```
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $crate::on_both_backends!(@with (flavor = "current_thread"); $($name),+);
    };
    ($($key:ident = $value:tt),+; $($name:ident),+ $(,)?) => {
        $crate::on_both_backends!(@with ($($key = $value),+); $($name),+);
    };
    (@with $args:tt; $($name:ident),+) => {
        $(
            mod $name {
                #[tokio::test $args]
                async fn sqlite() {
                    super::$name($crate::testing::sqlite().await).await;
                }

                #[tokio::test $args]
                async fn postgres() {
                    if let Some(db) = $crate::testing::postgres().await {
                        super::$name(db).await;
                    }
                }
            }
        )+
    };
}

/// An hourly reading of a power meter's energy counter (`Ept`, kWh) at
/// `at` (Unix seconds of the hour's start), valid: how the tests feed
/// meters.
pub fn energy_hour(site_id: i64, at: i64, counter: u64) -> crate::RollupValue {
    crate::RollupValue {
        site_id,
        factor: "Ept".into(),
        kind: "hour",
        period_start: at,
        value: Some(counter.to_string()),
        converted: None,
        flag: "N".into(),
        day_start: None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_database_name() {
        assert_eq!(
            super::replace_database("postgres://u@127.0.0.1:5432/test", "x"),
            "postgres://u@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::replace_database("postgres://127.0.0.1/test?sslmode=disable", "x"),
            "postgres://127.0.0.1/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_database("postgres://h", "x"),
            "postgres://h/x"
        );
    }
}
