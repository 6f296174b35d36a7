-- HJ 212 ingestion: registered devices (data loggers), the factors a site
-- measures with units and limits, the raw frame archive, the quarantine of
-- frames from unknown or unauthenticated devices, latest values for
-- dashboards, the idempotency ledger of uploads, rollup bookkeeping and
-- per-device counters. Times are Unix seconds (UTC); decimals are TEXT.

CREATE TABLE devices (
    mn                    TEXT PRIMARY KEY,
    pw                    TEXT NOT NULL,
    site_id               INTEGER NOT NULL REFERENCES sites(id),
    -- 2005 | 2017 | 2025
    protocol              TEXT NOT NULL DEFAULT '2017',
    -- the station's system code (ST), used in downlink commands
    st                    TEXT NOT NULL DEFAULT '32',
    -- auto | utf-8 | gbk
    charset               TEXT NOT NULL DEFAULT 'auto',
    accept_modbus_crc     INTEGER NOT NULL DEFAULT 0,
    time_sync_on_connect  INTEGER NOT NULL DEFAULT 0,
    -- minute-data interval (2051) in minutes, for the minute -> hour rollup
    min_interval          INTEGER NOT NULL DEFAULT 10,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX devices_site ON devices(site_id);

CREATE TABLE site_factors (
    site_id      INTEGER NOT NULL REFERENCES sites(id),
    factor       TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    unit         TEXT NOT NULL DEFAULT '',
    -- limit on the converted (折算) value where one applies, else on the value
    limit_value  TEXT,
    PRIMARY KEY (site_id, factor)
);

CREATE TABLE hj212_raw (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  INTEGER NOT NULL,
    peer         TEXT NOT NULL,
    mn           TEXT,
    cn           TEXT,
    frame        BLOB NOT NULL,
    -- ok | duplicate | quarantined | rejected
    outcome      TEXT NOT NULL,
    error        TEXT
);
CREATE INDEX hj212_raw_received ON hj212_raw(received_at);
CREATE INDEX hj212_raw_mn ON hj212_raw(mn, received_at);

CREATE TABLE hj212_quarantine (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  INTEGER NOT NULL,
    peer         TEXT NOT NULL,
    mn           TEXT,
    cn           TEXT,
    -- unknown_mn | wrong_pw | no_mn
    reason       TEXT NOT NULL,
    frame        BLOB NOT NULL
);
CREATE INDEX hj212_quarantine_received ON hj212_quarantine(received_at);

-- One row per accepted upload: a retransmission with the same key is
-- recognised and not stored twice.
CREATE TABLE hj212_uploads (
    mn           TEXT NOT NULL,
    cn           TEXT NOT NULL,
    datatime     TEXT NOT NULL,
    pno          INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (mn, cn, datatime, pno)
);
CREATE INDEX hj212_uploads_received ON hj212_uploads(mn, received_at);

CREATE TABLE latest_values (
    site_id       INTEGER NOT NULL REFERENCES sites(id),
    factor        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    period_start  INTEGER NOT NULL,
    value         TEXT,
    converted     TEXT,
    flag          TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    PRIMARY KEY (site_id, factor)
);

-- Periods whose rollup must be (re)computed: written with the data in the
-- same transaction, consumed by the rollup task.
CREATE TABLE rollup_pending (
    site_id       INTEGER NOT NULL,
    factor        TEXT NOT NULL,
    -- the kind to compute: hour (from min) or day (from hour)
    kind          TEXT NOT NULL,
    period_start  INTEGER NOT NULL,
    PRIMARY KEY (site_id, factor, kind, period_start)
);

CREATE TABLE rollup_disagreements (
    site_id       INTEGER NOT NULL,
    factor        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    period_start  INTEGER NOT NULL,
    logger_value  TEXT,
    logger_flag   TEXT NOT NULL,
    rollup_value  TEXT,
    rollup_flag   TEXT NOT NULL,
    detected_at   INTEGER NOT NULL,
    PRIMARY KEY (site_id, factor, kind, period_start)
);

CREATE TABLE device_counters (
    mn              TEXT PRIMARY KEY,
    frames          INTEGER NOT NULL DEFAULT 0,
    values_stored   INTEGER NOT NULL DEFAULT 0,
    duplicates      INTEGER NOT NULL DEFAULT 0,
    crc_errors      INTEGER NOT NULL DEFAULT 0,
    parse_errors    INTEGER NOT NULL DEFAULT 0,
    auth_failures   INTEGER NOT NULL DEFAULT 0,
    quarantined     INTEGER NOT NULL DEFAULT 0,
    last_frame_at   INTEGER,
    last_peer       TEXT,
    connected_at    INTEGER,
    disconnected_at INTEGER
);
