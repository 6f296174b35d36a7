-- Heavy-pollution emergency response (issue 15): the season's reduction
-- list (应急减排清单) as imported, and the warnings issued against it.
-- An entry is kept as the JSON of gongjian_emergency::ListEntry (the
-- enterprise's measures per level), so the list is exactly what the city
-- issued; the newest list is the one in force.
CREATE TABLE emergency_lists (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    season       TEXT NOT NULL,
    source_name  TEXT NOT NULL,
    entries      INTEGER NOT NULL,
    imported_by  TEXT NOT NULL,
    imported_at  INTEGER NOT NULL
);

CREATE TABLE emergency_entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id       INTEGER NOT NULL REFERENCES emergency_lists(id),
    enterprise    TEXT NOT NULL,
    credit_code   TEXT,
    entry         TEXT NOT NULL
);
CREATE INDEX emergency_entries_list ON emergency_entries (list_id);

-- A warning (预警): its level and days (China Standard Time dates,
-- inclusive; ends_on NULL while in force), the city's document number.
CREATE TABLE emergency_warnings (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    level            TEXT NOT NULL CHECK (level IN ('yellow', 'orange', 'red')),
    starts_on        TEXT NOT NULL,
    ends_on          TEXT,
    document_number  TEXT NOT NULL DEFAULT '',
    issued_by        TEXT NOT NULL,
    issued_at        INTEGER NOT NULL
);
