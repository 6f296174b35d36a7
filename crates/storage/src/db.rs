use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

use crate::StorageError;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub busy_timeout: Duration,
    /// PostgreSQL: commit ingest batches with the native driver's `UNNEST`
    /// arrays (the default). `false` keeps them on the portable multi-row
    /// statements — for the benchmark that compares the two.
    pub pg_native_ingest: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
            pg_native_ingest: true,
        }
    }
}

/// A handle on the database. Cheap to clone.
///
/// SQLite allows one writer at a time; rather than let concurrent writers
/// fight over the lock and hit `SQLITE_BUSY`, every write goes through a
/// pool of exactly one connection. PostgreSQL uses one pool for both.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) read: AnyPool,
    pub(crate) write: AnyPool,
    /// PostgreSQL's native driver, for the ingest write path's array
    /// statements, which `Any` cannot bind (docs/decisions/0007).
    pub(crate) pg_native: Option<sqlx::PgPool>,
    backend: Backend,
}

impl Db {
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Db, StorageError> {
        install_default_drivers();
        let connect_err = |source| StorageError::Connect {
            url: redact(url),
            source,
        };
        if let Some(path) = sqlite_path(url) {
            if let Some(parent) = Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)?;
            }
            let full = if url.contains('?') {
                url.to_owned()
            } else {
                format!("{url}?mode=rwc")
            };
            let busy_ms = options.busy_timeout.as_millis();
            // `cache_kib`: SQLite's page cache per connection (its default
            // is 2 MiB). The writer's is larger so that an ingest batch,
            // touching one leaf page per series, does not spill dirty pages
            // mid-transaction.
            let pool = |size: u32, cache_kib: u32| {
                AnyPoolOptions::new()
                    .max_connections(size)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                format!(
                                    "PRAGMA busy_timeout = {busy_ms}; PRAGMA foreign_keys = ON; \
                                     PRAGMA synchronous = NORMAL; \
                                     PRAGMA cache_size = -{cache_kib};"
                                )
                                .as_str(),
                            )
                            .await?;
                            Ok(())
                        })
                    })
            };
            let write = pool(1, 65_536).connect(&full).await.map_err(connect_err)?;
            // WAL lets readers proceed while the writer commits; it is a
            // property of the file, so setting it once on the writer suffices.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&write)
                .await?;
            let read = pool(options.max_connections.max(1), 2_000)
                .connect(&full)
                .await
                .map_err(connect_err)?;
            Ok(Db {
                read,
                write,
                pg_native: None,
                backend: Backend::Sqlite,
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = AnyPoolOptions::new()
                .max_connections(options.max_connections.max(2))
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(connect_err)?;
            let pg_native = if options.pg_native_ingest {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(options.max_connections.clamp(1, 4))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(connect_err)?;
                Some(pool)
            } else {
                None
            };
            Ok(Db {
                read: pool.clone(),
                write: pool,
                pg_native,
                backend: Backend::Postgres,
            })
        } else {
            Err(StorageError::rule(
                crate::Rule::Setup,
                format!(
                    "数据库地址须以 sqlite:// 或 postgres:// 开头，实际为 {:?}",
                    redact(url)
                ),
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Apply every pending migration. Safe to run repeatedly.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.write).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.write).await?,
        }
        // Migration 0007 adds the audit hash chain; entries written before
        // it are chained here, once.
        crate::audit::chain_legacy_rows(self).await?;
        Ok(())
    }

    /// Names of applied migrations, oldest first.
    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>, StorageError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, description FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&self.read)
                .await?;
        Ok(rows)
    }

    /// Check the database answers.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Write a consistent copy of a SQLite database to `dest` while it is in
    /// use (`VACUUM INTO` runs inside one read transaction).
    pub async fn backup_sqlite(&self, dest: &Path) -> Result<(), StorageError> {
        if self.backend != Backend::Sqlite {
            return Err(StorageError::rule(
                crate::Rule::Setup,
                "备份命令只适用于 SQLite 数据库；PostgreSQL 请使用 pg_dump",
            ));
        }
        if dest.exists() {
            return Err(StorageError::rule(
                crate::Rule::Setup,
                format!("{} 已存在，不会覆盖", dest.display()),
            ));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(dest.to_string_lossy().into_owned())
            .execute(&self.read)
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
        if let Some(pg) = &self.pg_native {
            pg.close().await;
        }
    }

    /// The pool for reads (for crates that add their own tables).
    pub fn read_pool(&self) -> &AnyPool {
        &self.read
    }

    /// The pool for writes: one connection on SQLite.
    pub fn write_pool(&self) -> &AnyPool {
        &self.write
    }
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(rest.split('?').next().unwrap_or(rest))
}

/// Hide a password in a URL before it reaches a log or an error message.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The VALUES list of a multi-row insert: `($1, $2), ($3, $4)…` for
/// PostgreSQL, `(?, ?), (?, ?)…` for SQLite. Through sqlx, SQLite resolves
/// each `$n` by name with a linear scan of the statement's named parameters
/// (`sqlite3_bind_parameter_name`), which makes binding a large statement
/// quadratic — two thirds of the ingest writer's time at 400 rows × 9
/// columns. Anonymous `?` parameters have no names to scan. The statements
/// built with this list have no other parameters, so order is all that
/// binds them.
pub(crate) fn values_list(backend: Backend, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&param(backend, r * cols + c + 1));
        }
        out.push(')');
    }
    out
}

/// Rows a multi-row statement carries: with 12 columns, 4,800 parameters
/// stay under SQLite's and PostgreSQL's limits (32,766 and 65,535).
pub(crate) const ROWS_PER_STATEMENT: usize = 400;

/// A multi-row statement: `{head} VALUES (…), (…) {tail}` — an insert, or a
/// delete of the rows `IN (VALUES …)` — one statement per
/// [`ROWS_PER_STATEMENT`] rows, each row bound by `bind` with `columns`
/// values in order. Returns what the statements return (`tail` may hold
/// `RETURNING …`; without it the result is empty).
pub(crate) async fn insert_rows<T>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    head: &str,
    tail: &str,
    columns: usize,
    rows: &[T],
    bind: impl for<'q> Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
) -> Result<Vec<sqlx::any::AnyRow>, StorageError> {
    let mut returned = Vec::new();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "{head} VALUES {} {tail}",
            values_list(backend, chunk.len(), columns)
        );
        let mut q = sqlx::query(&sql);
        for row in chunk {
            q = bind(q, row);
        }
        returned.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(returned)
}

/// A statement being bound on the `Any` driver.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// The `n`-th (1-based) parameter of a statement whose parameters are all
/// bound in order: `$n` on PostgreSQL, `?` on SQLite (see [`values_list`]).
pub(crate) fn param(backend: Backend, n: usize) -> std::borrow::Cow<'static, str> {
    match backend {
        Backend::Sqlite => "?".into(),
        Backend::Postgres => format!("${n}").into(),
    }
}

/// Declares a storage area: a borrowed handle holding that area's queries,
/// reached from the database handle by `db.<accessor>()`. Each area file
/// (accounts, monitoring, campaigns, …) declares its own, so one file is one
/// area and `Db` itself only connects, migrates and hands out areas.
macro_rules! area {
    ($(#[$doc:meta])* $handle:ident, $accessor:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $handle<'a> {
            db: &'a crate::Db,
        }

        // The area's queries reach the pools and the other areas through
        // the database handle.
        impl std::ops::Deref for $handle<'_> {
            type Target = crate::Db;
            fn deref(&self) -> &crate::Db {
                self.db
            }
        }

        impl crate::Db {
            $(#[$doc])*
            pub fn $accessor(&self) -> $handle<'_> {
                $handle { db: self }
            }
        }
    };
}
pub(crate) use area;

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_password_only() {
        assert_eq!(
            super::redact("postgres://gj:secret@db/gj"),
            "postgres://gj:***@db/gj"
        );
        assert_eq!(super::redact("postgres://gj@db/gj"), "postgres://gj@db/gj");
        assert_eq!(super::redact("sqlite://a.db"), "sqlite://a.db");
    }
}
