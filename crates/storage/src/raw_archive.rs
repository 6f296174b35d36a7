//! The raw HJ 212 archive packed in compressed blocks (issue 16, migration
//! 0032).
//!
//! `commit_ingest` keeps writing one `hj212_raw` row per frame received (the
//! cheap per-batch insert). [`RawArchive::pack_raw`] later moves settled
//! rows, oldest first, into `hj212_raw_blocks`: each block holds up to
//! `max_frames` rows encoded as length-prefixed records and compressed with
//! zstd, written in the transaction that deletes the rows it holds.
//! [`RawArchive::raw_frames`] reads frames back from blocks and from rows
//! alike (forensics); counting and retention see both.
//!
//! Block body (after zstd decompression):
//!
//! ```text
//! "GJRB" version=1 count:varint record*count
//! record = id:zigzag-varint(delta from the previous record's id, first from 0)
//!          received_at:zigzag-varint(delta likewise)
//!          peer:bytes mn:opt cn:opt outcome:bytes error:opt frame:bytes
//! bytes  = len:varint, len bytes
//! opt    = 0 for NULL, else (len + 1):varint, len bytes
//! ```
//!
//! A body is treated as hostile when read: its decompressed size is bounded
//! ([`MAX_BLOCK_PAYLOAD`]), every length is checked against what is left,
//! text fields must be UTF-8, and any fault is a
//! [`StorageError::Corrupt`] naming the block, never a panic.
//!
//! Idempotency: the rows of a block are deleted in the block's own
//! transaction, so a crash leaves either both or neither. Should a block
//! and rows it holds ever both exist (a table restored by hand, a copy
//! taken mid-way), the packer decodes every block whose `first_id..=last_id`
//! reaches the ids it is about to pack and deletes, rather than packs
//! again, each row whose id is already in one; a row merely inside a
//! block's id range but not in the block (committed late out of id order)
//! is packed normally. Readers drop such duplicates by id.

use sqlx::FromRow;
use std::collections::HashSet;

use crate::StorageError;
use crate::block_codec::{Cursor, open_body, put_bytes, put_opt, put_varint, unzigzag, zigzag};
use crate::db::insert_rows;

crate::db::area!(
    /// The raw HJ 212 frame archive: rows and compressed blocks.
    RawArchive,
    raw_archive
);

/// Frames a block holds at most when packed by the `raw_packing` job.
pub const RAW_BLOCK_FRAMES: usize = 4096;

/// zstd level of new blocks: measured on the simulated stack loggers of
/// bench/footprint.sh (docs/ingestion.md, "Raw archive").
pub const RAW_BLOCK_LEVEL: i32 = 9;

/// A block is closed once its records reach this many bytes, whatever
/// `max_frames` says.
/// PostgreSQL advisory lock key of the raw-archive packer ("gjrawpak").
const PACKING_LOCK: i64 = 0x676a_7261_7770_616b;

const BLOCK_TARGET_PAYLOAD: usize = 8 << 20;

/// Decompressed bytes a block body may hold; a larger one is refused as
/// corrupt. Well above [`BLOCK_TARGET_PAYLOAD`] plus one record.
pub const MAX_BLOCK_PAYLOAD: usize = 32 << 20;

/// Frames [`RawArchive::raw_frames`] returns at most.
pub const RAW_FRAMES_MAX: usize = 10_000;

const MAGIC: &[u8; 4] = b"GJRB";
const VERSION: u8 = 1;
const CODEC: &str = "zstd";

/// One archived frame as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedFrame {
    /// The `hj212_raw` id it was stored with (arrival order).
    pub id: i64,
    pub received_at: i64,
    pub peer: String,
    pub mn: Option<String>,
    pub cn: Option<String>,
    pub frame: Vec<u8>,
    /// ok | duplicate | quarantined | rejected | other
    pub outcome: String,
    pub error: Option<String>,
}

/// What one [`RawArchive::pack_raw`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackReport {
    /// Blocks written.
    pub blocks: u64,
    /// Rows moved into them.
    pub frames: u64,
    /// Rows deleted because a block already held them.
    pub duplicates: u64,
    /// Bytes of the encoded records before compression.
    pub payload_bytes: u64,
    /// Bytes of the compressed bodies.
    pub body_bytes: u64,
}

type RawRow = (
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Vec<u8>,
    String,
    Option<String>,
);

const ROW_COLUMNS: &str = "id, received_at, peer, mn, cn, frame, outcome, error";

fn from_row(r: RawRow) -> ArchivedFrame {
    let (id, received_at, peer, mn, cn, frame, outcome, error) = r;
    ArchivedFrame {
        id,
        received_at,
        peer,
        mn,
        cn,
        frame,
        outcome,
        error,
    }
}

impl RawArchive<'_> {
    /// Move every `hj212_raw` row received before `older_than` (Unix s)
    /// into compressed blocks of up to `max_frames` rows, oldest id first,
    /// one transaction per block, at [`RAW_BLOCK_LEVEL`].
    pub async fn pack_raw(
        &self,
        older_than: i64,
        max_frames: usize,
    ) -> Result<PackReport, StorageError> {
        self.pack_raw_at_level(older_than, max_frames, RAW_BLOCK_LEVEL)
            .await
    }

    /// [`RawArchive::pack_raw`] at another zstd level (for measurements).
    pub async fn pack_raw_at_level(
        &self,
        older_than: i64,
        max_frames: usize,
        level: i32,
    ) -> Result<PackReport, StorageError> {
        let max_frames = max_frames.clamp(1, 1 << 20);
        let mut report = PackReport::default();
        loop {
            let (fetched, more) = self
                .pack_one(older_than, max_frames, level, &mut report)
                .await?;
            if fetched == 0 || !more {
                return Ok(report);
            }
        }
    }

    /// One block: returns the rows read and whether more may remain.
    async fn pack_one(
        &self,
        older_than: i64,
        max_frames: usize,
        level: i32,
        report: &mut PackReport,
    ) -> Result<(usize, bool), StorageError> {
        // Read, encode and compress outside any transaction — the rows are
        // settled and only packers remove them — so the one SQLite writer
        // (and every ingest batch behind it) waits only for the short write
        // below, not for zstd.
        let rows: Vec<RawRow> = sqlx::query_as(&format!(
            "SELECT {ROW_COLUMNS} FROM hj212_raw WHERE received_at < $1 ORDER BY id LIMIT $2"
        ))
        .bind(older_than)
        .bind(max_frames as i64)
        .fetch_all(&self.read)
        .await?;
        let fetched = rows.len();
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok((0, false));
        };
        let (lo, hi) = (first.0, last.0);

        // The guard: ids already held by a block are deleted, not packed.
        let overlapping: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
            "SELECT id, codec, body FROM hj212_raw_blocks \
             WHERE last_id >= $1 AND first_id <= $2 ORDER BY id",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.read)
        .await?;
        let mut archived = HashSet::new();
        for (block, codec, body) in &overlapping {
            for f in decode_block(*block, codec, body)? {
                archived.insert(f.id);
            }
        }
        let mut duplicates = Vec::new();
        let mut packed: Vec<ArchivedFrame> = Vec::new();
        let mut encoder = BlockEncoder::new();
        let mut trimmed = false;
        for r in rows {
            if archived.contains(&r.0) {
                duplicates.push(r.0);
                continue;
            }
            if encoder.payload_len() >= BLOCK_TARGET_PAYLOAD {
                trimmed = true;
                break;
            }
            let f = from_row(r);
            encoder.push(&f);
            packed.push(f);
        }

        let block = if packed.is_empty() {
            None
        } else {
            let payload = encoder.finish();
            if payload.len() > MAX_BLOCK_PAYLOAD {
                return Err(StorageError::Corrupt(format!(
                    "hj212_raw row {} is too large to pack ({} bytes)",
                    packed[0].id,
                    payload.len()
                )));
            }
            let payload_len = payload.len();
            // CPU-bound (tens to hundreds of ms at level 9): off the runtime.
            let body = tokio::task::spawn_blocking(move || zstd::bulk::compress(&payload, level))
                .await
                .map_err(std::io::Error::other)??;
            Some((payload_len, body))
        };
        let gone: Vec<i64> = duplicates
            .iter()
            .copied()
            .chain(packed.iter().map(|f| f.id))
            .collect();

        let mut tx = self.write.begin().await?;
        if self.backend() == crate::Backend::Postgres {
            // Several servers (NATS writers) may run the packing job: one
            // writes at a time.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) l")
                .bind(PACKING_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        // Every row read must still be there; another packer may have taken
        // them since: then write nothing and read again.
        let present = insert_rows(
            &mut tx,
            self.backend(),
            "SELECT id FROM hj212_raw WHERE id IN (",
            ")",
            1,
            &gone,
            |q, id| q.bind(*id),
        )
        .await?
        .len();
        if present != gone.len() {
            tx.rollback().await?;
            return Ok((fetched, true));
        }
        if let Some((payload_len, body)) = block {
            let first_at = packed.iter().map(|f| f.received_at).min().unwrap_or(0);
            let last_at = packed.iter().map(|f| f.received_at).max().unwrap_or(0);
            sqlx::query(
                "INSERT INTO hj212_raw_blocks \
                 (first_id, last_id, first_at, last_at, frames, codec, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(packed[0].id)
            .bind(packed[packed.len() - 1].id)
            .bind(first_at)
            .bind(last_at)
            .bind(packed.len() as i64)
            .bind(CODEC)
            .bind(&body)
            .execute(&mut *tx)
            .await?;
            report.blocks += 1;
            report.frames += packed.len() as u64;
            report.payload_bytes += payload_len as u64;
            report.body_bytes += body.len() as u64;
        }
        report.duplicates += duplicates.len() as u64;
        insert_rows(
            &mut tx,
            self.backend(),
            "DELETE FROM hj212_raw WHERE id IN (",
            ")",
            1,
            &gone,
            |q, id| q.bind(*id),
        )
        .await?;
        tx.commit().await?;
        Ok((fetched, trimmed || fetched == max_frames))
    }

    /// Frames received in `from..to` (Unix s), of one MN or all, oldest id
    /// first, at most `limit` (and [`RAW_FRAMES_MAX`]): from the blocks
    /// (decompressed) and the rows not packed yet.
    pub async fn raw_frames(
        &self,
        mn: Option<&str>,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Result<Vec<ArchivedFrame>, StorageError> {
        let limit = limit.min(RAW_FRAMES_MAX);
        if limit == 0 || from >= to {
            return Ok(Vec::new());
        }
        let keep = |f: &ArchivedFrame| {
            f.received_at >= from
                && f.received_at < to
                && mn.is_none_or(|m| f.mn.as_deref() == Some(m))
        };
        let sql = match mn {
            Some(_) => format!(
                "SELECT {ROW_COLUMNS} FROM hj212_raw \
                 WHERE received_at >= $1 AND received_at < $2 AND mn = $3 ORDER BY id LIMIT $4"
            ),
            None => format!(
                "SELECT {ROW_COLUMNS} FROM hj212_raw \
                 WHERE received_at >= $1 AND received_at < $2 ORDER BY id LIMIT $3"
            ),
        };
        let mut q = sqlx::query_as::<_, RawRow>(&sql).bind(from).bind(to);
        if let Some(m) = mn {
            q = q.bind(m);
        }
        let rows = q.bind(limit as i64).fetch_all(&self.read).await?;
        let mut out: Vec<ArchivedFrame> = rows.into_iter().map(from_row).collect();

        // Blocks in id order; stop once `limit` frames are held and the next
        // block starts past the last of them.
        let blocks: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, first_id FROM hj212_raw_blocks \
             WHERE first_at < $1 AND last_at >= $2 ORDER BY first_id, id",
        )
        .bind(to)
        .bind(from)
        .fetch_all(&self.read)
        .await?;
        for (block, first_id) in blocks {
            if out.len() >= limit {
                out.sort_by_key(|f| f.id);
                out.dedup_by_key(|f| f.id);
                out.truncate(limit);
                if out.len() >= limit && first_id > out[limit - 1].id {
                    break;
                }
            }
            let (codec, body): (String, Vec<u8>) =
                sqlx::query_as("SELECT codec, body FROM hj212_raw_blocks WHERE id = $1")
                    .bind(block)
                    .fetch_one(&self.read)
                    .await?;
            out.extend(
                decode_block(block, &codec, &body)?
                    .into_iter()
                    .filter(|f| keep(f)),
            );
        }
        out.sort_by_key(|f| f.id);
        out.dedup_by_key(|f| f.id);
        out.truncate(limit);
        Ok(out)
    }

    /// Frames in the archive: rows not packed yet plus the frames of every
    /// block.
    pub async fn frame_count(&self) -> Result<i64, StorageError> {
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) AS n FROM hj212_raw")
            .fetch_one(&self.read)
            .await?;
        let packed: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(frames), 0) AS BIGINT) AS n FROM hj212_raw_blocks",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(rows + packed)
    }

    /// Delete the blocks whose newest frame was received before `before`
    /// (Unix s): retention works on whole blocks. Returns the frames they
    /// held.
    pub async fn purge_blocks_before(&self, before: i64) -> Result<u64, StorageError> {
        let mut tx = self.write.begin().await?;
        let frames: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(frames), 0) AS BIGINT) AS n FROM hj212_raw_blocks \
             WHERE last_at < $1",
        )
        .bind(before)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM hj212_raw_blocks WHERE last_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(frames.max(0) as u64)
    }

    /// Blocks and the bytes of their bodies (for measurements and the
    /// health page).
    pub async fn block_stats(&self) -> Result<(i64, i64), StorageError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(LENGTH(body)), 0) AS BIGINT) AS b \
             FROM hj212_raw_blocks",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(<(i64, i64)>::from_row(&row)?)
    }
}

// ------------------------------------------------------------ record format

struct BlockEncoder {
    buf: Vec<u8>,
    count: u64,
    prev_id: i64,
    prev_at: i64,
}

impl BlockEncoder {
    fn new() -> Self {
        BlockEncoder {
            buf: Vec::new(),
            count: 0,
            prev_id: 0,
            prev_at: 0,
        }
    }

    fn payload_len(&self) -> usize {
        self.buf.len()
    }

    fn push(&mut self, f: &ArchivedFrame) {
        let b = &mut self.buf;
        put_varint(b, zigzag(f.id.wrapping_sub(self.prev_id)));
        put_varint(b, zigzag(f.received_at.wrapping_sub(self.prev_at)));
        put_bytes(b, f.peer.as_bytes());
        put_opt(b, f.mn.as_deref());
        put_opt(b, f.cn.as_deref());
        put_bytes(b, f.outcome.as_bytes());
        put_opt(b, f.error.as_deref());
        put_bytes(b, &f.frame);
        self.prev_id = f.id;
        self.prev_at = f.received_at;
        self.count += 1;
    }

    /// The payload: header, then the records.
    fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len() + 16);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        put_varint(&mut out, self.count);
        out.extend_from_slice(&self.buf);
        out
    }
}

/// Decompress and decode one block body (hostile input: bounded, checked).
pub(crate) fn decode_block(
    block: i64,
    codec: &str,
    body: &[u8],
) -> Result<Vec<ArchivedFrame>, StorageError> {
    let what = format!("hj212_raw_blocks {block}");
    let payload = open_body(&what, codec, CODEC, body, MAX_BLOCK_PAYLOAD)?;
    let mut c = Cursor::new(what, &payload);
    c.header(MAGIC, VERSION)?;
    // Each record takes at least 8 bytes: a count beyond that is a lie.
    let count = c.count(8)?;
    let mut out = Vec::with_capacity(count);
    let (mut id, mut at) = (0i64, 0i64);
    for _ in 0..count {
        id = id.wrapping_add(unzigzag(c.varint()?));
        at = at.wrapping_add(unzigzag(c.varint()?));
        let peer = c.text("peer")?;
        let mn = c.opt_text("mn")?;
        let cn = c.opt_text("cn")?;
        let outcome = c.text("outcome")?;
        let error = c.opt_text("error")?;
        let frame = c.bytes()?.to_vec();
        out.push(ArchivedFrame {
            id,
            received_at: at,
            peer,
            mn,
            cn,
            frame,
            outcome,
            error,
        });
    }
    c.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: i64, at: i64, bytes: &[u8]) -> ArchivedFrame {
        ArchivedFrame {
            id,
            received_at: at,
            peer: "10.0.0.1:5000".into(),
            mn: Some("MN1".into()),
            cn: None,
            frame: bytes.to_vec(),
            outcome: "ok".into(),
            error: Some(String::new()),
        }
    }

    fn encode(frames: &[ArchivedFrame]) -> Vec<u8> {
        let mut e = BlockEncoder::new();
        for f in frames {
            e.push(f);
        }
        zstd::bulk::compress(&e.finish(), 3).unwrap()
    }

    #[test]
    fn records_round_trip_with_negative_deltas() {
        let frames = vec![
            frame(7, 1_000, b"##0001a\r\n"),
            frame(5, 999, &[0, 0xff, 0xfe]),
            frame(i64::MAX, i64::MIN, b""),
        ];
        assert_eq!(decode_block(1, "zstd", &encode(&frames)).unwrap(), frames);
    }

    #[test]
    fn truncated_and_garbage_payloads_are_errors() {
        let mut e = BlockEncoder::new();
        e.push(&frame(1, 2, b"abc"));
        let payload = e.finish();
        for cut in 0..payload.len() {
            let body = zstd::bulk::compress(&payload[..cut], 3).unwrap();
            assert!(matches!(
                decode_block(3, "zstd", &body),
                Err(StorageError::Corrupt(_))
            ));
        }
        assert!(decode_block(3, "zstd", b"not zstd").is_err());
        assert!(decode_block(3, "lz4", &encode(&[])).is_err());
    }

    #[test]
    fn a_bomb_is_refused() {
        let zeros = vec![0u8; MAX_BLOCK_PAYLOAD + 10];
        let body = zstd::bulk::compress(&zeros, 1).unwrap();
        let err = decode_block(9, "zstd", &body).unwrap_err().to_string();
        assert!(err.contains("exceeds"), "{err}");
    }
}
