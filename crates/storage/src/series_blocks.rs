//! Real-time and minute values of closed days, packed into one compressed
//! block per (site, factor, kind, China Standard Time day) (issue 16,
//! migration 0034).
//!
//! `commit_ingest` keeps writing one `series` row per value (the cheap
//! per-batch upsert that the open day's readers — device health, the
//! rollups of recent hours, alarms — read directly).
//! [`SeriesBlocks::pack_series`] later moves the `rtd` and `min` rows of
//! days that have ended into `series_blocks`, merged with the day's block
//! when one exists, in the transaction that deletes the rows.
//! [`crate::Monitoring::series_points`] reads a range from the blocks and
//! the rows together; a row wins over a block's value for the same period
//! (it came later: a backlog upload, an import).
//!
//! Block body (after zstd decompression):
//!
//! ```text
//! "GJSB" version=1 count:varint record*count   (records in period order)
//! record = period:varint (seconds after the previous record's period; the
//!                         first after the block's day_start)
//!          received:zigzag-varint (received_at - period_start)
//!          value:opt converted:opt flag:bytes source:bytes
//! ```
//!
//! A body is hostile when read: bounded decompression, every length
//! checked, a period outside its day or out of order refused, any fault a
//! [`StorageError::Corrupt`] naming the block — never a panic.

use std::collections::{BTreeMap, HashMap};

use crate::block_codec::{Cursor, open_body, put_bytes, put_opt, put_varint, unzigzag, zigzag};
use crate::db::insert_rows;
use crate::{Backend, SeriesPoint, StorageError};
use gongjian_standards::cst::local_day_start;

crate::db::area!(
    /// Packed real-time and minute values of closed days.
    SeriesBlocks,
    series_blocks
);

/// The kinds packed into day blocks; hours and days stay rows.
pub const PACKED_KINDS: [&str; 2] = ["min", "rtd"];

/// zstd level of series blocks: zstd's default. Sizes measured with it
/// are in docs/benchmarks.md ("Issue 16, stop 31: series blocks").
pub const SERIES_BLOCK_LEVEL: i32 = 3;

/// Decompressed bytes a series block may hold; larger is corrupt. A day
/// of values every second with long texts stays well below.
pub const MAX_SERIES_BLOCK_PAYLOAD: usize = 16 << 20;

const MAGIC: &[u8; 4] = b"GJSB";
const VERSION: u8 = 1;
const CODEC: &str = "zstd";
const DAY: i64 = 86_400;

/// Rows of one key read in one transaction at most; a key with more (a
/// backlog of many days, values every few seconds) continues in the next,
/// merging into the block of a day it left half-read.
const ROWS_PER_KEY: i64 = 20_000;
/// Keys (site, factor, kind) gathered for packing at a time.
const KEYS_PER_PASS: usize = 64;
/// Rows one transaction reads before it leaves the remaining keys to the
/// next (about a tenth of a second of the SQLite writer).
const ROWS_PER_PASS: usize = 20_000;
/// PostgreSQL advisory lock key of the series packer ("gjserpak").
const PACKING_LOCK: i64 = 0x676a_7365_7270_616b;

/// What one [`SeriesBlocks::pack_series`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeriesPackReport {
    /// Day blocks written (new or merged).
    pub blocks: u64,
    /// Rows moved out of `series` into them.
    pub values: u64,
    /// Bytes of the encoded records before compression.
    pub payload_bytes: u64,
    /// Bytes of the compressed bodies written.
    pub body_bytes: u64,
}

/// One packed value, as stored in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Packed {
    period_start: i64,
    received_at: i64,
    value: Option<String>,
    converted: Option<String>,
    flag: String,
    source: String,
}

type Row = (i64, Option<String>, Option<String>, String, String, i64);

impl From<Row> for Packed {
    fn from((period_start, value, converted, flag, source, received_at): Row) -> Self {
        Packed {
            period_start,
            received_at,
            value,
            converted,
            flag,
            source,
        }
    }
}

impl From<Packed> for SeriesPoint {
    fn from(p: Packed) -> Self {
        SeriesPoint {
            period_start: p.period_start,
            value: p.value,
            converted: p.converted,
            flag: p.flag,
            source: p.source,
        }
    }
}

impl SeriesBlocks<'_> {
    /// Move every `rtd` and `min` row of the CST days that ended at or
    /// before `before` (Unix s) into the days' blocks, in transactions of
    /// about 20,000 rows.
    pub async fn pack_series(&self, before: i64) -> Result<SeriesPackReport, StorageError> {
        self.pack_series_at_level(before, SERIES_BLOCK_LEVEL).await
    }

    /// [`SeriesBlocks::pack_series`] at another zstd level (measurements).
    pub async fn pack_series_at_level(
        &self,
        before: i64,
        level: i32,
    ) -> Result<SeriesPackReport, StorageError> {
        self.pack_series_in_steps(before, level, ROWS_PER_KEY).await
    }

    /// [`SeriesBlocks::pack_series_at_level`] reading at most `rows_per_key`
    /// rows of a key per transaction (tests: days packed in pieces).
    #[doc(hidden)]
    pub async fn pack_series_in_steps(
        &self,
        before: i64,
        level: i32,
        rows_per_key: i64,
    ) -> Result<SeriesPackReport, StorageError> {
        let rows_per_key = rows_per_key.max(1);
        let cutoff = local_day_start(before);
        let mut report = SeriesPackReport::default();
        let mut from = Some((i64::MIN, String::new()));
        while let Some(at) = from.take() {
            let (keys, next) = self.keys_to_pack(cutoff, at).await?;
            let mut keys = keys;
            // A key with more rows than one read holds goes again.
            while !keys.is_empty() {
                keys = self
                    .pack_keys(&keys, cutoff, level, rows_per_key, &mut report)
                    .await?;
            }
            from = next;
        }
        Ok(report)
    }

    /// Up to [`KEYS_PER_PASS`] keys after `from` (site, factor) with rows
    /// to pack, and where to go on from. `series` is walked one (site,
    /// factor) at a time by index seeks on its primary key — no secondary
    /// index, which every real-time row would pay for — and each packed
    /// kind checked by one more seek.
    async fn keys_to_pack(
        &self,
        cutoff: i64,
        mut from: (i64, String),
    ) -> Result<(Vec<(i64, String, String)>, Option<(i64, String)>), StorageError> {
        let mut keys = Vec::new();
        loop {
            let next: Option<(i64, String)> = sqlx::query_as(
                "SELECT site_id, factor FROM series WHERE (site_id, factor) > ($1, $2) \
                 ORDER BY site_id, factor LIMIT 1",
            )
            .bind(from.0)
            .bind(&from.1)
            .fetch_optional(&self.read)
            .await?;
            let Some(pair) = next else {
                return Ok((keys, None));
            };
            for kind in PACKED_KINDS {
                let old: Option<i64> = sqlx::query_scalar(
                    "SELECT period_start FROM series WHERE site_id = $1 AND factor = $2 \
                     AND kind = $3 AND period_start < $4 LIMIT 1",
                )
                .bind(pair.0)
                .bind(&pair.1)
                .bind(kind)
                .bind(cutoff)
                .fetch_optional(&self.read)
                .await?;
                if old.is_some() {
                    keys.push((pair.0, pair.1.clone(), kind.to_owned()));
                }
            }
            from = pair;
            if keys.len() >= KEYS_PER_PASS {
                return Ok((keys, Some(from)));
            }
        }
    }

    /// Pack the rows before `cutoff` of `keys` in one transaction; returns
    /// the keys that have rows left (more than one read holds, or not
    /// reached within [`ROWS_PER_PASS`]).
    async fn pack_keys(
        &self,
        keys: &[(i64, String, String)],
        cutoff: i64,
        level: i32,
        rows_per_key: i64,
        report: &mut SeriesPackReport,
    ) -> Result<Vec<(i64, String, String)>, StorageError> {
        let mut tx = self.write.begin().await?;
        if self.backend() == Backend::Postgres {
            // Several servers (NATS writers) may run the job: one packs at
            // a time.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) l")
                .bind(PACKING_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        // Rows are deleted in key order, as ingestion writes them (Rust's
        // byte order, not the database collation's): no deadlock between
        // the two on PostgreSQL.
        let mut keys = keys.to_vec();
        keys.sort();
        let mut again = Vec::new();
        let mut pass = SeriesPackReport::default();
        let mut read = 0usize;
        for (i, key) in keys.iter().enumerate() {
            if read >= ROWS_PER_PASS {
                // Keep the transaction short: the SQLite writer is shared
                // with ingestion. The rest goes in the next one.
                again.extend_from_slice(&keys[i..]);
                break;
            }
            // One savepoint per key: a block that cannot be read (or would
            // grow too large) leaves that key's rows as they were and holds
            // up no other key.
            let mut one = sqlx::Connection::begin(&mut *tx).await?;
            match pack_key(&mut one, key, cutoff, level, rows_per_key).await {
                Ok(done) => {
                    one.commit().await?;
                    read += done.rows;
                    if done.more {
                        // The rest (possibly of a day left half-packed,
                        // merged into its block then) in the next one.
                        again.push(key.clone());
                    }
                    pass.blocks += done.report.blocks;
                    pass.values += done.report.values;
                    pass.payload_bytes += done.report.payload_bytes;
                    pass.body_bytes += done.report.body_bytes;
                }
                Err(StorageError::Corrupt(e)) => {
                    one.rollback().await?;
                    tracing::error!(error = %e, "series not packed: the rows stay");
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        report.blocks += pass.blocks;
        report.values += pass.values;
        report.payload_bytes += pass.payload_bytes;
        report.body_bytes += pass.body_bytes;
        Ok(again)
    }

    /// The packed values of one site, factor and kind with
    /// `from <= period_start < to`, in period order.
    pub(crate) async fn packed_points(
        &self,
        site_id: i64,
        factor: &str,
        kind: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<SeriesPoint>, StorageError> {
        if !PACKED_KINDS.contains(&kind) || from >= to {
            return Ok(Vec::new());
        }
        let blocks: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
            "SELECT day_start, codec, body FROM series_blocks \
             WHERE site_id = $1 AND factor = $2 AND kind = $3 \
             AND day_start >= $4 AND day_start < $5 ORDER BY day_start",
        )
        .bind(site_id)
        .bind(factor)
        .bind(kind)
        .bind(local_day_start(from))
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::new();
        for (day, codec, body) in blocks {
            let what = block_name(site_id, factor, kind, day);
            out.extend(
                decode_block(&what, day, &codec, &body)?
                    .into_iter()
                    .filter(|p| p.period_start >= from && p.period_start < to)
                    .map(SeriesPoint::from),
            );
        }
        Ok(out)
    }

    /// Blocks, the values they hold and the bytes of their bodies.
    pub async fn block_stats(&self) -> Result<(i64, i64, i64), StorageError> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(points), 0) AS BIGINT) AS p, \
             CAST(COALESCE(SUM(LENGTH(body)), 0) AS BIGINT) AS b FROM series_blocks",
        )
        .fetch_one(&self.read)
        .await?)
    }
}

/// A series key: site, factor, kind, period start.
pub(crate) type Key = (i64, String, String, i64);

/// The packed (value, flag) of each of `keys` that lies in a packed day and
/// has no row: what a new value for the key is compared with, as an
/// upsert compares it with a row.
pub(crate) async fn packed_without_row(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    keys: &[Key],
) -> Result<HashMap<Key, (Option<String>, String)>, StorageError> {
    let mut days: BTreeMap<(i64, &str, &str, i64), Vec<&Key>> = BTreeMap::new();
    for k in keys {
        if PACKED_KINDS.contains(&k.2.as_str()) {
            days.entry((k.0, &k.1, &k.2, local_day_start(k.3)))
                .or_default()
                .push(k);
        }
    }
    let mut found = HashMap::new();
    for ((site, factor, kind, day), wanted) in days {
        let packed: HashMap<i64, Packed> = read_block(&mut *conn, (site, factor, kind, day))
            .await?
            .into_iter()
            .map(|p| (p.period_start, p))
            .collect();
        for k in wanted {
            if let Some(p) = packed.get(&k.3) {
                found.insert(k.clone(), (p.value.clone(), p.flag.clone()));
            }
        }
    }
    if found.is_empty() {
        return Ok(found);
    }
    let candidates: Vec<Key> = found.keys().cloned().collect();
    let with_row = insert_rows(
        conn,
        backend,
        "SELECT site_id, factor, kind, period_start FROM series \
         WHERE (site_id, factor, kind, period_start) IN (",
        ")",
        4,
        &candidates,
        |q, k| q.bind(k.0).bind(&k.1).bind(&k.2).bind(k.3),
    )
    .await?;
    for r in &with_row {
        found.remove(&<Key as sqlx::FromRow<_>>::from_row(r)?);
    }
    Ok(found)
}

/// What packing one key did.
struct KeyPacked {
    /// Rows moved.
    rows: usize,
    /// Whether rows before the cut-off are left (the read was full).
    more: bool,
    report: SeriesPackReport,
}

/// Move up to `rows_per_key` of one key's oldest rows before `cutoff` into
/// their days' blocks. The rows are taken by `DELETE … RETURNING`, so the
/// blocks hold exactly the rows deleted — on PostgreSQL too, where an
/// ingest upsert of one of them waits for the delete and then stores a new
/// row (which wins over the block), and a row committed meanwhile is
/// either deleted and packed or left alone.
async fn pack_key(
    conn: &mut sqlx::AnyConnection,
    (site, factor, kind): &(i64, String, String),
    cutoff: i64,
    level: i32,
    rows_per_key: i64,
) -> Result<KeyPacked, StorageError> {
    let periods: Vec<i64> = sqlx::query_scalar(
        "SELECT period_start FROM series \
         WHERE site_id = $1 AND factor = $2 AND kind = $3 AND period_start < $4 \
         ORDER BY period_start LIMIT $5",
    )
    .bind(site)
    .bind(factor)
    .bind(kind)
    .bind(cutoff)
    .bind(rows_per_key)
    .fetch_all(&mut *conn)
    .await?;
    let (Some(&first), Some(&last)) = (periods.first(), periods.last()) else {
        return Ok(KeyPacked {
            rows: 0,
            more: false,
            report: SeriesPackReport::default(),
        });
    };
    let mut rows: Vec<Row> = sqlx::query_as(
        "DELETE FROM series WHERE site_id = $1 AND factor = $2 AND kind = $3 \
         AND period_start >= $4 AND period_start <= $5 \
         RETURNING period_start, value, converted, flag, source, received_at",
    )
    .bind(site)
    .bind(factor)
    .bind(kind)
    .bind(first)
    .bind(last)
    .fetch_all(&mut *conn)
    .await?;
    rows.sort_by_key(|r| r.0);
    let mut days: BTreeMap<i64, Vec<Packed>> = BTreeMap::new();
    for r in rows {
        days.entry(local_day_start(r.0)).or_default().push(r.into());
    }
    let mut done = KeyPacked {
        rows: 0,
        more: periods.len() as i64 == rows_per_key,
        report: SeriesPackReport::default(),
    };
    for (day, fresh) in days {
        let merged = merge_day(
            read_block(&mut *conn, (*site, factor, kind, day)).await?,
            &fresh,
        );
        let payload = encode_block(day, merged.values());
        if payload.len() > MAX_SERIES_BLOCK_PAYLOAD {
            return Err(StorageError::Corrupt(format!(
                "{} would exceed {MAX_SERIES_BLOCK_PAYLOAD} bytes",
                block_name(*site, factor, kind, day)
            )));
        }
        let body = zstd::bulk::compress(&payload, level)?;
        sqlx::query(
            "INSERT INTO series_blocks (site_id, factor, kind, day_start, points, codec, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (site_id, factor, kind, day_start) DO UPDATE SET \
             points = excluded.points, codec = excluded.codec, body = excluded.body",
        )
        .bind(site)
        .bind(factor)
        .bind(kind)
        .bind(day)
        .bind(merged.len() as i64)
        .bind(CODEC)
        .bind(&body)
        .execute(&mut *conn)
        .await?;
        done.rows += fresh.len();
        done.report.blocks += 1;
        done.report.values += fresh.len() as u64;
        done.report.payload_bytes += payload.len() as u64;
        done.report.body_bytes += body.len() as u64;
    }
    Ok(done)
}

/// A day's block with the rows read merged in (a row wins).
fn merge_day(old: Vec<Packed>, fresh: &[Packed]) -> BTreeMap<i64, Packed> {
    let mut merged: BTreeMap<i64, Packed> = old.into_iter().map(|p| (p.period_start, p)).collect();
    for p in fresh {
        merged.insert(p.period_start, p.clone());
    }
    merged
}

/// The values of one day's block (none when the day has no block).
async fn read_block(
    conn: &mut sqlx::AnyConnection,
    (site, factor, kind, day): (i64, &str, &str, i64),
) -> Result<Vec<Packed>, StorageError> {
    let block: Option<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT codec, body FROM series_blocks \
         WHERE site_id = $1 AND factor = $2 AND kind = $3 AND day_start = $4",
    )
    .bind(site)
    .bind(factor)
    .bind(kind)
    .bind(day)
    .fetch_optional(&mut *conn)
    .await?;
    match block {
        Some((codec, body)) => {
            decode_block(&block_name(site, factor, kind, day), day, &codec, &body)
        }
        None => Ok(Vec::new()),
    }
}

/// Points of a range from rows and blocks together: a row wins over the
/// block's value for its period. Both inputs are in period order.
pub(crate) fn merge_points(rows: Vec<SeriesPoint>, packed: Vec<SeriesPoint>) -> Vec<SeriesPoint> {
    if packed.is_empty() {
        return rows;
    }
    let mut by_period: BTreeMap<i64, SeriesPoint> =
        packed.into_iter().map(|p| (p.period_start, p)).collect();
    for r in rows {
        by_period.insert(r.period_start, r);
    }
    by_period.into_values().collect()
}

fn block_name(site: i64, factor: &str, kind: &str, day: i64) -> String {
    format!(
        "series_blocks ({site}, {:?}, {kind}, {day})",
        factor.chars().take(32).collect::<String>()
    )
}

/// The payload of a day's block: header, then the records in period order.
fn encode_block<'a>(day: i64, points: impl ExactSizeIterator<Item = &'a Packed>) -> Vec<u8> {
    let mut b = Vec::with_capacity(points.len() * 12 + 16);
    b.extend_from_slice(MAGIC);
    b.push(VERSION);
    put_varint(&mut b, points.len() as u64);
    let mut prev = day;
    for p in points {
        put_varint(&mut b, (p.period_start - prev) as u64);
        put_varint(&mut b, zigzag(p.received_at.wrapping_sub(p.period_start)));
        put_opt(&mut b, p.value.as_deref());
        put_opt(&mut b, p.converted.as_deref());
        put_bytes(&mut b, p.flag.as_bytes());
        put_bytes(&mut b, p.source.as_bytes());
        prev = p.period_start;
    }
    b
}

/// Decompress and decode one block body (hostile input: bounded, checked).
fn decode_block(
    what: &str,
    day: i64,
    codec: &str,
    body: &[u8],
) -> Result<Vec<Packed>, StorageError> {
    let payload = open_body(what, codec, CODEC, body, MAX_SERIES_BLOCK_PAYLOAD)?;
    let mut c = Cursor::new(what.to_owned(), &payload);
    c.header(MAGIC, VERSION)?;
    // Each record takes at least 6 bytes, and a day holds one value a
    // second at most: a count beyond either is a lie.
    let count = c.count(6)?;
    if count > DAY as usize {
        return Err(c.fault(&format!("{count} values in one day")));
    }
    let day_end = day
        .checked_add(DAY)
        .ok_or_else(|| c.fault("day start out of range"))?;
    let mut out = Vec::with_capacity(count);
    let mut period = day;
    for i in 0..count {
        let step = c.varint()?;
        if step >= DAY as u64 || (i > 0 && step == 0) {
            return Err(c.fault("a period out of order or outside its day"));
        }
        period = period
            .checked_add(step as i64)
            .filter(|p| *p < day_end)
            .ok_or_else(|| c.fault("a period outside its day"))?;
        if period >= day_end {
            return Err(c.fault("a period outside its day"));
        }
        let received_at = period.wrapping_add(unzigzag(c.varint()?));
        let value = c.opt_text("value")?;
        let converted = c.opt_text("converted")?;
        let flag = c.text("flag")?;
        let source = c.text("source")?;
        out.push(Packed {
            period_start: period,
            received_at,
            value,
            converted,
            flag,
            source,
        });
    }
    c.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY0: i64 = 1_767_196_800; // 2026-01-01 00:00 CST

    fn point(period: i64, value: Option<&str>) -> Packed {
        Packed {
            period_start: period,
            received_at: period + 75,
            value: value.map(str::to_owned),
            converted: None,
            flag: "N".into(),
            source: "hj212".into(),
        }
    }

    fn body(points: &[Packed]) -> Vec<u8> {
        zstd::bulk::compress(&encode_block(DAY0, points.iter()), 3).unwrap()
    }

    #[test]
    fn a_day_round_trips_exactly() {
        let mut points: Vec<Packed> = (0..1440)
            .map(|m| point(DAY0 + m * 60, Some(&format!("{}.{:03}", m % 97, m % 1000))))
            .collect();
        points[3].value = None;
        points[4].converted = Some("1.20E+02".into());
        points[5].flag = "D".into();
        points[6].source = "import".into();
        points[7].received_at = points[7].period_start - 3 * DAY;
        let decoded = decode_block("t", DAY0, CODEC, &body(&points)).unwrap();
        assert_eq!(decoded, points);
    }

    #[test]
    fn hostile_bodies_are_errors_not_panics() {
        let payload = encode_block(
            DAY0,
            [point(DAY0, Some("1.5")), point(DAY0 + 60, None)].iter(),
        );
        for cut in 0..payload.len() {
            let b = zstd::bulk::compress(&payload[..cut], 3).unwrap();
            assert!(matches!(
                decode_block("t", DAY0, CODEC, &b),
                Err(StorageError::Corrupt(_))
            ));
        }
        // A period past the day, and two records at one period.
        let late = encode_block(DAY0, [point(DAY0 + DAY, Some("1"))].iter());
        let twice = encode_block(
            DAY0,
            [point(DAY0, Some("1")), point(DAY0, Some("2"))].iter(),
        );
        for p in [late, twice] {
            let b = zstd::bulk::compress(&p, 3).unwrap();
            let err = decode_block("t", DAY0, CODEC, &b).unwrap_err().to_string();
            assert!(err.contains("period"), "{err}");
        }
        assert!(decode_block("t", DAY0, CODEC, b"not zstd").is_err());
        assert!(decode_block("t", DAY0, "lz4", &body(&[])).is_err());
    }

    #[test]
    fn rows_win_over_packed_values() {
        let p = |t: i64, v: &str| SeriesPoint {
            period_start: t,
            value: Some(v.into()),
            converted: None,
            flag: "N".into(),
            source: "hj212".into(),
        };
        let merged = merge_points(vec![p(60, "row")], vec![p(0, "a"), p(60, "b"), p(120, "c")]);
        let values: Vec<_> = merged.iter().map(|x| x.value.as_deref().unwrap()).collect();
        assert_eq!(values, ["a", "row", "c"]);
    }
}
