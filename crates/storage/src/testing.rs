//! Fresh databases for tests: a SQLite file in a temporary directory, and a
//! new PostgreSQL database per test when `GONGJIAN_TEST_POSTGRES_URL` is set,
//! so that tests can run in parallel without seeing each other's rows.

use crate::{Db, DbOptions};

pub const POSTGRES_ENV: &str = "GONGJIAN_TEST_POSTGRES_URL";

/// A migrated database that lives as long as this value.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
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
    }
}

/// `None` (and a note on stderr) when PostgreSQL tests are not configured.
pub async fn postgres() -> Option<TestDb> {
    let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
        eprintln!("skipped: {POSTGRES_ENV} is not set, PostgreSQL variant not run");
        return None;
    };
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes);
    let name = format!("gj_test_{}", hex::encode(bytes));
    let admin = Db::connect(&admin_url, &DbOptions::default())
        .await
        .expect("connect to GONGJIAN_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin.write)
        .await
        .expect("create test database");
    admin.close().await;
    let url = replace_database(&admin_url, &name);
    let db = Db::connect(&url, &DbOptions::default())
        .await
        .expect("connect test database");
    db.migrate().await.expect("migrate postgres");
    Some(TestDb {
        db,
        url,
        _dir: None,
    })
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
