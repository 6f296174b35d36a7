-- Issue 16: the raw HJ 212 archive packed in compressed blocks. The packer
-- (crates/storage/src/raw_archive.rs) moves settled `hj212_raw` rows, oldest
-- first, into one row here per block of up to a few thousand frames, in the
-- transaction that deletes them. `first_id`/`last_id` is the range of
-- `hj212_raw` ids the block was packed from and `first_at`/`last_at` the
-- range of their `received_at` (Unix s). `body` is the records compressed
-- with `codec` ('zstd'); see docs/ingestion.md, "Raw archive".
CREATE TABLE hj212_raw_blocks (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    first_id  INTEGER NOT NULL,
    last_id   INTEGER NOT NULL,
    first_at  INTEGER NOT NULL,
    last_at   INTEGER NOT NULL,
    frames    INTEGER NOT NULL,
    codec     TEXT NOT NULL,
    body      BLOB NOT NULL
);
-- Retention deletes whole blocks by their newest frame.
CREATE INDEX hj212_raw_blocks_last_at ON hj212_raw_blocks(last_at);
-- The packer's guard: blocks whose id range reaches the rows it packs.
CREATE INDEX hj212_raw_blocks_last_id ON hj212_raw_blocks(last_id);
