-- Issue 16 (footprint): real-time and minute values of closed days packed
-- into one compressed block per (site, factor, kind, China Standard Time
-- day). The `series_packing` job (`SeriesBlocks::pack_series`,
-- crates/storage/src/series_blocks.rs) moves the `rtd` and `min` rows of
-- days that ended more than an hour ago out of `series` into the day's
-- block, merging with a block already there, in the transaction that
-- deletes them. A row for a packed day arriving later (a backlog upload,
-- an import) is stored in `series` as always and wins over the block's
-- value for the same period until the next pass packs it too.
-- `day_start` is Unix seconds (UTC) of 00:00 CST; `points` the values the
-- block holds; `body` their records compressed with `codec` ('zstd'); see
-- docs/ingestion.md, "Series blocks".
CREATE TABLE series_blocks (
    site_id    INTEGER NOT NULL REFERENCES sites(id),
    factor     TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('rtd', 'min')),
    day_start  INTEGER NOT NULL,
    points     INTEGER NOT NULL,
    codec      TEXT NOT NULL,
    body       BLOB NOT NULL,
    PRIMARY KEY (site_id, factor, kind, day_start)
) WITHOUT ROWID;

-- Retention deletes a month of blocks by day (on PostgreSQL while the
-- month's partition is being dropped, with all of `series` locked).
CREATE INDEX series_blocks_day ON series_blocks(day_start);
