-- Monitoring sites and their value series: the shared core that HJ 212
-- ingestion, file imports, targets and the dashboard all read and write.
CREATE TABLE sites (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Stable code: the station code of the monitoring network, or the MN.
    code             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    -- air_station | stack_gas | waste_water | surface_water | dust | vocs | fume | power
    kind             TEXT NOT NULL,
    organisation_id  INTEGER REFERENCES organisations(id),
    township_id      INTEGER REFERENCES organisations(id),
    longitude        TEXT,
    latitude         TEXT,
    created_at       INTEGER NOT NULL
);

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
);
CREATE INDEX series_kind_period ON series(kind, period_start);
