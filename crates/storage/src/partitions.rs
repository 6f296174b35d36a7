//! Monthly partitions of `series` on PostgreSQL (issue 16, migration 0033).
//!
//! On PostgreSQL `series` is partitioned by RANGE (period_start): one
//! partition per China Standard Time month, named `series_pYYYYMM` and
//! covering `[first second of the month, first second of the next)` in
//! Unix seconds, plus the DEFAULT partition `series_default` for every
//! period no monthly partition covers. Migration 0033 leaves all existing
//! rows in the default partition.
//!
//! [`Partitions::ensure_series_partitions`] (run by the `series_partitions`
//! job) creates the partitions ahead of time and moves rows out of the
//! default partition. PostgreSQL refuses to attach a partition whose range
//! has rows in the default partition, so each month is made in one
//! transaction: create the table (`LIKE series`), move that month's rows
//! from the default partition into it, attach it. The default partition
//! is locked against writes for that transaction, so that no row of the
//! month arrives there between the move and the attach. A CHECK constraint on the
//! range, added before the rows and dropped after the attach, spares the
//! attach its validation scan of the new table.
//!
//! [`Partitions::drop_series_partitions_before`] is retention by whole
//! months: `DROP TABLE` of each monthly partition that ends at or before
//! the cut-off. Nothing calls it unless `database.series_retention_months`
//! is set (0, the default, keeps every value).
//!
//! SQLite has no partitioning: every function here is a no-op there.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use gongjian_standards::cst;
use serde::Serialize;

use crate::{Backend, StorageError};

crate::db::area!(
    /// Monthly partitions of `series` (PostgreSQL; no-ops on SQLite).
    Partitions,
    partitions
);

/// Advisory lock key held while a partition is created or dropped, so
/// that two servers on one database do not race ("gjsp").
const PARTITION_LOCK: i64 = 0x676a_7370;

/// The columns of `series`, in order.
const COLUMNS: &str =
    "site_id, factor, kind, period_start, value, converted, flag, source, received_at";

/// A China Standard Time calendar month: the unit of `series` partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SeriesMonth {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl SeriesMonth {
    /// The months a partition may be made for (four-digit years).
    const FIRST_YEAR: i32 = 1000;
    const LAST_YEAR: i32 = 9999;

    /// `year`-`month`, or `None` outside 1000-01 … 9999-12.
    pub fn new(year: i32, month: u32) -> Option<SeriesMonth> {
        ((Self::FIRST_YEAR..=Self::LAST_YEAR).contains(&year) && (1..=12).contains(&month))
            .then_some(SeriesMonth { year, month })
    }

    /// The local month containing instant `t` (Unix seconds).
    pub fn containing(t: i64) -> SeriesMonth {
        let d = cst::local_date(t);
        SeriesMonth {
            year: d.year(),
            month: d.month(),
        }
    }

    /// The month after this one.
    pub fn next(self) -> SeriesMonth {
        if self.month == 12 {
            SeriesMonth {
                year: self.year + 1,
                month: 1,
            }
        } else {
            SeriesMonth {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month `n` months after this one.
    pub fn plus(self, n: u32) -> SeriesMonth {
        let index =
            i64::from(self.year) * 12 + i64::from(self.month.saturating_sub(1)) + i64::from(n);
        SeriesMonth {
            year: i32::try_from(index.div_euclid(12)).unwrap_or(i32::MAX),
            month: u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1,
        }
    }

    /// The month `n` months before this one.
    pub fn minus(self, n: u32) -> SeriesMonth {
        let index =
            i64::from(self.year) * 12 + i64::from(self.month.saturating_sub(1)) - i64::from(n);
        SeriesMonth {
            year: i32::try_from(index.div_euclid(12)).unwrap_or(i32::MIN),
            month: u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1,
        }
    }

    /// Unix seconds of the month's first second (local midnight of the 1st).
    pub fn start(self) -> i64 {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .map(cst::day_start_utc)
            .unwrap_or_default()
    }

    /// Unix seconds of the next month's first second (exclusive end).
    pub fn end(self) -> i64 {
        self.next().start()
    }

    /// The partition's table name, `series_pYYYYMM`.
    pub fn table(self) -> String {
        format!("series_p{:04}{:02}", self.year, self.month)
    }

    /// The month of a partition's table name (`series_pYYYYMM`).
    pub fn from_table(name: &str) -> Option<SeriesMonth> {
        let digits = name.strip_prefix("series_p")?;
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        SeriesMonth::new(digits[..4].parse().ok()?, digits[4..].parse().ok()?)
    }
}

impl fmt::Display for SeriesMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// What [`Partitions::ensure_series_partitions`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartitionReport {
    /// Partitions created, oldest first.
    pub created: Vec<SeriesMonth>,
    /// Rows moved out of the default partition into them.
    pub rows_moved: u64,
}

impl Partitions<'_> {
    /// The monthly partitions of `series`, oldest first (PostgreSQL; empty
    /// on SQLite). The default partition is not listed.
    pub async fn series_partitions(&self) -> Result<Vec<SeriesMonth>, StorageError> {
        if self.backend() != Backend::Postgres {
            return Ok(Vec::new());
        }
        let names: Vec<(String,)> = sqlx::query_as(
            "SELECT c.relname::text FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_class p ON p.oid = i.inhparent \
             JOIN pg_namespace n ON n.oid = p.relnamespace \
             WHERE p.relname = 'series' AND n.nspname = current_schema()",
        )
        .fetch_all(&self.write)
        .await?;
        let months: BTreeSet<SeriesMonth> = names
            .iter()
            .filter_map(|(name,)| SeriesMonth::from_table(name))
            .collect();
        Ok(months.into_iter().collect())
    }

    /// Make sure `series` has a partition for every month from the current
    /// one (of `now`) to `months_ahead` months after it, and for every
    /// earlier month that still has rows in the default partition, moving
    /// those rows into it. A month already partitioned is left alone, so a
    /// second run does nothing. Rows of months after the last one stay in
    /// the default partition until their month comes within reach.
    /// A no-op on SQLite.
    pub async fn ensure_series_partitions(
        &self,
        now: i64,
        months_ahead: u32,
    ) -> Result<PartitionReport, StorageError> {
        let mut report = PartitionReport::default();
        if self.backend() != Backend::Postgres {
            return Ok(report);
        }
        let current = SeriesMonth::containing(now);
        let last = current.plus(months_ahead);
        let mut wanted = BTreeSet::new();
        let mut m = current;
        while m <= last {
            wanted.insert(m);
            m = m.next();
        }
        // The months with rows in the default partition (one scan). Periods
        // outside the four-digit years cannot be named and stay there.
        let (lo, hi) = (
            SeriesMonth {
                year: SeriesMonth::FIRST_YEAR,
                month: 1,
            }
            .start(),
            SeriesMonth {
                year: SeriesMonth::LAST_YEAR,
                month: 12,
            }
            .end(),
        );
        let rows: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT DISTINCT to_char(to_timestamp(period_start + {offset}) AT TIME ZONE 'UTC', \
             'YYYYMM') FROM series_default WHERE period_start >= $1 AND period_start < $2",
            offset = cst::OFFSET_SECS
        ))
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.write)
        .await?;
        for (yyyymm,) in rows {
            if let Some(month) = SeriesMonth::from_table(&format!("series_p{yyyymm}"))
                && month <= last
            {
                wanted.insert(month);
            }
        }
        let existing: BTreeSet<SeriesMonth> = self.series_partitions().await?.into_iter().collect();
        for month in wanted.difference(&existing) {
            if let Some(moved) = self.create_partition(*month).await? {
                report.created.push(*month);
                report.rows_moved += moved;
            }
        }
        if !report.created.is_empty() {
            tracing::info!(
                created = report.created.len(),
                rows_moved = report.rows_moved,
                "series partitions created"
            );
        }
        Ok(report)
    }

    /// Create `month`'s partition, moving its rows out of the default
    /// partition, in one transaction. `None` when it exists already (made
    /// meanwhile by another server), else the rows moved.
    async fn create_partition(&self, month: SeriesMonth) -> Result<Option<u64>, StorageError> {
        let table = month.table();
        let (from, to) = (month.start(), month.end());
        let mut tx = self.write.begin().await?;
        lock(&mut tx).await?;
        let (exists,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND n.nspname = current_schema()",
        )
        .bind(&table)
        .fetch_one(&mut *tx)
        .await?;
        if exists > 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        // No writer may add a row of this month to the default partition
        // between the move and the attach (the attach would then fail). The
        // attach needs ACCESS EXCLUSIVE on the default partition: take it
        // first — upgrading from a weaker lock deadlocked with a rollup
        // that read `series` and then wrote to the default partition — and
        // give up after a while rather than queue every reader behind a
        // long query (the job retries on its next tick). The default
        // partition is small once the months exist (migration 0033 makes
        // them for the rows it copies), so the lock is short.
        sqlx::query("SET LOCAL lock_timeout = '10s'")
            .execute(&mut *tx)
            .await?;
        sqlx::query("LOCK TABLE series_default IN ACCESS EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "CREATE TABLE {table} (LIKE series INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        ))
        .execute(&mut *tx)
        .await?;
        // The partition's range as a constraint before any row goes in: the
        // attach below then need not scan the table to prove it.
        sqlx::query(&format!(
            "ALTER TABLE {table} ADD CONSTRAINT {table}_range \
             CHECK (period_start >= {from} AND period_start < {to})"
        ))
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(&format!(
            "WITH moved AS (DELETE FROM series_default \
             WHERE period_start >= $1 AND period_start < $2 RETURNING {COLUMNS}) \
             INSERT INTO {table} ({COLUMNS}) SELECT {COLUMNS} FROM moved"
        ))
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(&format!(
            "ALTER TABLE series ATTACH PARTITION {table} FOR VALUES FROM ({from}) TO ({to})"
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "ALTER TABLE {table} DROP CONSTRAINT {table}_range"
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(moved))
    }

    /// Retention by whole months: drop every monthly partition of `series`
    /// that ends at or before `before` (Unix seconds), with its rows.
    /// Returns the months dropped, oldest first. Rows in the default
    /// partition are not touched. A no-op on SQLite.
    pub async fn drop_series_partitions_before(
        &self,
        before: i64,
    ) -> Result<Vec<SeriesMonth>, StorageError> {
        let mut dropped = Vec::new();
        if self.backend() != Backend::Postgres {
            return Ok(dropped);
        }
        for month in self.series_partitions().await? {
            if month.end() > before {
                continue;
            }
            let mut tx = self.write.begin().await?;
            lock(&mut tx).await?;
            // Dropping a partition locks all of `series`: wait at most this
            // long for running queries (the next tick tries again) instead
            // of queueing every reader and writer behind a long report.
            sqlx::query("SET LOCAL lock_timeout = '10s'")
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!("DROP TABLE IF EXISTS {}", month.table()))
                .execute(&mut *tx)
                .await?;
            // The month's packed minute and real-time days go with it.
            sqlx::query("DELETE FROM series_blocks WHERE day_start >= $1 AND day_start < $2")
                .bind(month.start())
                .bind(month.end())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            dropped.push(month);
        }
        if !dropped.is_empty() {
            tracing::info!(
                months = dropped.len(),
                first = %dropped[0],
                "series partitions dropped (retention)"
            );
        }
        Ok(dropped)
    }
}

/// Take the partition advisory lock for the rest of the transaction.
async fn lock(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StorageError> {
    // The lock function returns `void`, which the `Any` driver cannot
    // decode: select a constant beside it.
    sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) l")
        .bind(PARTITION_LOCK)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::SeriesMonth;

    #[test]
    fn months_are_cst_calendar_months() {
        let jan = SeriesMonth::new(2024, 1).unwrap();
        // 2024-01-01 00:00 CST is 2023-12-31 16:00 UTC.
        assert_eq!(jan.start(), 1_704_038_400);
        assert_eq!(jan.end(), SeriesMonth::new(2024, 2).unwrap().start());
        assert_eq!(SeriesMonth::containing(jan.start()), jan);
        assert_eq!(
            SeriesMonth::containing(jan.start() - 1),
            SeriesMonth::new(2023, 12).unwrap()
        );
        assert_eq!(SeriesMonth::containing(jan.end() - 1), jan);
        assert_eq!(jan.table(), "series_p202401");
        assert_eq!(jan.to_string(), "2024-01");
        assert_eq!(SeriesMonth::from_table("series_p202401"), Some(jan));
        assert_eq!(SeriesMonth::from_table("series_p202413"), None);
        assert_eq!(SeriesMonth::from_table("series_default"), None);
        assert_eq!(SeriesMonth::from_table("series_p20241"), None);
    }

    #[test]
    fn month_arithmetic_crosses_years() {
        let nov = SeriesMonth::new(2024, 11).unwrap();
        assert_eq!(nov.plus(2), SeriesMonth::new(2025, 1).unwrap());
        assert_eq!(nov.plus(0), nov);
        assert_eq!(nov.minus(11), SeriesMonth::new(2023, 12).unwrap());
        assert_eq!(nov.plus(14).minus(14), nov);
        assert_eq!(
            SeriesMonth::new(2024, 12).unwrap().next(),
            SeriesMonth::new(2025, 1).unwrap()
        );
    }
}
