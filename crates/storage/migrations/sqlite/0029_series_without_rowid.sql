-- Issue 16 (the SQLite write path): `series` and the upload ledger
-- `hj212_uploads` as WITHOUT ROWID tables. Both are keyed by their natural
-- key; as rowid tables each row was stored twice — once in the table's
-- B-tree under a hidden rowid and once more in the B-tree behind the
-- PRIMARY KEY (`sqlite_autoindex_…`) — and every insert wrote both. Now the
-- primary key is the table: one B-tree, one copy of the key.
--
-- Each table is rebuilt (SQLite cannot change this in place): the old one
-- is renamed, the new one created with the same columns in the same order,
-- every row copied in key order, the old one dropped, and the secondary
-- indexes recreated under their names. Nothing references either table,
-- so the rename and the drop touch no foreign key. PostgreSQL tables have
-- no rowid: its 0029 changes nothing.

ALTER TABLE series RENAME TO series_before_0029;
DROP INDEX series_hour_period;
DROP INDEX series_hour_received;
DROP INDEX series_min_period;

-- One value per (site, factor, kind, period). Values are exact decimals
-- kept as the text that was received; `converted` is the 折算 value where
-- one applies. period_start is Unix seconds (UTC) of the period's start.
CREATE TABLE series (
    site_id       INTEGER NOT NULL REFERENCES sites(id),
    factor        TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('rtd', 'min', 'hour', 'day')),
    period_start  INTEGER NOT NULL,
    value         TEXT,
    converted     TEXT,
    flag          TEXT NOT NULL DEFAULT 'N',
    -- hj212 | import | rollup
    source        TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (site_id, factor, kind, period_start)
) WITHOUT ROWID;

INSERT INTO series
    (site_id, factor, kind, period_start, value, converted, flag, source, received_at)
SELECT site_id, factor, kind, period_start, value, converted, flag, source, received_at
FROM series_before_0029
ORDER BY site_id, factor, kind, period_start;

DROP TABLE series_before_0029;

-- The partial indexes of 0006, unchanged.
CREATE INDEX series_hour_period ON series(period_start) WHERE kind = 'hour';
CREATE INDEX series_hour_received ON series(received_at) WHERE kind = 'hour';
CREATE INDEX series_min_period ON series(period_start) WHERE kind = 'min';

-- One row per accepted upload: a retransmission with the same key is
-- recognised and not stored twice.
ALTER TABLE hj212_uploads RENAME TO hj212_uploads_before_0029;
DROP INDEX hj212_uploads_received;

CREATE TABLE hj212_uploads (
    mn           TEXT NOT NULL,
    cn           TEXT NOT NULL,
    datatime     TEXT NOT NULL,
    pno          INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (mn, cn, datatime, pno)
) WITHOUT ROWID;

INSERT INTO hj212_uploads (mn, cn, datatime, pno, received_at)
SELECT mn, cn, datatime, pno, received_at
FROM hj212_uploads_before_0029
ORDER BY mn, cn, datatime, pno;

DROP TABLE hj212_uploads_before_0029;

CREATE INDEX hj212_uploads_received ON hj212_uploads(mn, received_at);
