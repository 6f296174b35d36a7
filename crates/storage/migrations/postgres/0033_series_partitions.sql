-- Issue 16 (the PostgreSQL write path): `series` becomes a table
-- partitioned by RANGE (period_start), one partition per China Standard
-- Time month (`series_pYYYYMM`), plus a DEFAULT partition (`series_default`)
-- for any period no monthly partition covers. Retention can then drop a
-- whole month at once instead of deleting row by row, and each month's
-- indexes stay the size of a month.
--
-- The monthly partitions are not made here: the `series_partitions` job
-- (`Partitions::ensure_series_partitions`, crates/storage/src/partitions.rs)
-- creates them ahead of time and moves the months this migration leaves in
-- the default partition into their own partitions.
--
-- The table is rebuilt (an existing table cannot become partitioned in
-- place): the old one is renamed, the new one created with the same
-- columns in the same order, the same CHECK, NOT NULL and DEFAULT, every
-- row copied (into its month's partition, made here), the old one dropped; then the
-- primary key and the foreign key to `sites` are added (one index build
-- and one validating join rather than a check per row copied) and the
-- secondary indexes recreated under their names on the partitioned table
-- (each partition gets its own copy). The primary key (site_id, factor,
-- kind, period_start) includes the partition key, as PostgreSQL requires.
-- Nothing references `series`.
-- SQLite keeps its WITHOUT ROWID table: its 0033 changes nothing.

ALTER TABLE series RENAME TO series_before_0033;
-- Index names are unique per schema: free the primary key's for the new table.
ALTER TABLE series_before_0033 RENAME CONSTRAINT series_pkey TO series_before_0033_pkey;
DROP INDEX series_hour_period;
DROP INDEX series_hour_received;
DROP INDEX series_min_period;

-- One value per (site, factor, kind, period). Values are exact decimals
-- kept as the text that was received; `converted` is the 折算 value where
-- one applies. period_start is Unix seconds (UTC) of the period's start.
CREATE TABLE series (
    site_id       BIGINT NOT NULL,
    factor        TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('rtd', 'min', 'hour', 'day')),
    period_start  BIGINT NOT NULL,
    value         TEXT,
    converted     TEXT,
    flag          TEXT NOT NULL DEFAULT 'N',
    -- hj212 | import | rollup
    source        TEXT NOT NULL,
    received_at   BIGINT NOT NULL
) PARTITION BY RANGE (period_start);

CREATE TABLE series_default PARTITION OF series DEFAULT;

-- A partition for every month that has rows (China Standard Time, UTC+8,
-- as the job names and bounds them: `series_pYYYYMM`, [local midnight of
-- the 1st, local midnight of the next 1st)), so the copy below routes the
-- history straight into its months and the default partition starts
-- empty: the job's first run then has nothing to move, and never holds
-- the default partition locked for a scan of the whole history.
DO $$
DECLARE
    ym text;
    y int;
    m int;
BEGIN
    FOR ym IN
        SELECT DISTINCT to_char(to_timestamp(period_start + 28800) AT TIME ZONE 'UTC', 'YYYYMM')
        FROM series_before_0033
        WHERE period_start >= -30610252800 AND period_start < 253402272000
    LOOP
        y := substr(ym, 1, 4)::int;
        m := substr(ym, 5, 2)::int;
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF series FOR VALUES FROM (%s) TO (%s)',
            'series_p' || ym,
            extract(epoch FROM make_timestamp(y, m, 1, 0, 0, 0))::bigint - 28800,
            extract(epoch FROM make_timestamp(y, m, 1, 0, 0, 0) + interval '1 month')::bigint - 28800
        );
    END LOOP;
END
$$;

INSERT INTO series
    (site_id, factor, kind, period_start, value, converted, flag, source, received_at)
SELECT site_id, factor, kind, period_start, value, converted, flag, source, received_at
FROM series_before_0033;

DROP TABLE series_before_0033;

ALTER TABLE series ADD CONSTRAINT series_pkey
    PRIMARY KEY (site_id, factor, kind, period_start);
ALTER TABLE series ADD CONSTRAINT series_site_id_fkey
    FOREIGN KEY (site_id) REFERENCES sites(id);

-- The partial indexes of 0006, unchanged, now partitioned indexes.
CREATE INDEX series_hour_period ON series(period_start) WHERE kind = 'hour';
CREATE INDEX series_hour_received ON series(received_at) WHERE kind = 'hour';
CREATE INDEX series_min_period ON series(period_start) WHERE kind = 'min';

ANALYZE series;
