-- Seasonal production control (季节性生产调控, 错峰生产; issue 15 item 6):
-- the heating season's list, with the season's dates, as imported. An
-- entry is kept as the JSON of gongjian_emergency::SeasonEntry. The newest
-- list of a season is the one in force for it; older ones stay for the
-- record.
CREATE TABLE season_lists (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    season       TEXT NOT NULL,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT NOT NULL,
    source_name  TEXT NOT NULL,
    entries      INTEGER NOT NULL,
    imported_by  TEXT NOT NULL,
    imported_at  INTEGER NOT NULL
);
CREATE INDEX season_lists_dates ON season_lists (starts_on, ends_on);

CREATE TABLE season_entries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id      INTEGER NOT NULL REFERENCES season_lists(id),
    enterprise   TEXT NOT NULL,
    credit_code  TEXT,
    entry        TEXT NOT NULL
);
CREATE INDEX season_entries_list ON season_entries (list_id);
