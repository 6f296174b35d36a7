-- Targets, rankings and the monthly scheduling report (月调度).

-- Late data must be found quickly: which hours arrived after the daily
-- cache was last refreshed.
CREATE INDEX series_received ON series(received_at);

-- Daily values per air station, derived from the hourly series by the
-- standards engine (GB 3095 / HJ 663). A cache: it can always be rebuilt
-- from `series`. `day` is the local (CST) natural day 'YYYY-MM-DD';
-- values are exact decimals as text (NULL = invalid), counts are the valid
-- hours (or valid 8-h windows for o3).
CREATE TABLE air_daily (
    site_id      INTEGER NOT NULL REFERENCES sites(id),
    day          TEXT NOT NULL,
    so2          TEXT,
    no2          TEXT,
    co           TEXT,
    o3           TEXT,
    o3_1h        TEXT,
    pm10         TEXT,
    pm25         TEXT,
    -- "so2,no2,co,o3,o3_1h,pm10,pm25" valid-hour counts
    counts       TEXT NOT NULL,
    computed_at  INTEGER NOT NULL,
    PRIMARY KEY (site_id, day)
);

-- Small key/value state of derived data: e.g. the received_at watermark
-- up to which air_daily is current.
CREATE TABLE derived_state (
    key          TEXT PRIMARY KEY,
    value        INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- Published monthly reports: frozen JSON snapshots, numbered per month.
CREATE TABLE published_reports (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 'YYYY-MM'
    month         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    title         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    published_by  INTEGER REFERENCES users(id),
    publisher     TEXT NOT NULL,
    published_at  INTEGER NOT NULL,
    UNIQUE (month, version)
);
