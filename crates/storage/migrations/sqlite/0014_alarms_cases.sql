-- From data to action (issue 14): alarm rule versions, alarms, 督办 cases
-- with their events, and the in-app inbox. Instants are Unix seconds;
-- decimals TEXT; JSON documents TEXT. Migrations are append-only.

-- Every saved rule set is a version; the newest one is in force.
CREATE TABLE alarm_rule_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rules       TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

-- One alarm per episode of (site, factor, rule): an open alarm (ended_at
-- NULL) is extended while its condition holds and ended when it clears.
CREATE TABLE alarms (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id       INTEGER NOT NULL REFERENCES sites(id),
    factor        TEXT NOT NULL DEFAULT '',
    rule          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    rule_version  INTEGER NOT NULL,
    severity      TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    ended_at      INTEGER,
    hours         INTEGER NOT NULL,
    peak          TEXT,
    multiple      TEXT,
    summary       TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    case_id       INTEGER,
    explanation   TEXT,
    explained_by  TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX alarms_key ON alarms(site_id, factor, rule, started_at);
CREATE INDEX alarms_started ON alarms(started_at);

-- 督办单. source: alarm | patrol | petition | fire_point | inspection | manual.
-- `contact` (a complainant's phone) is shown only to the office.
CREATE TABLE cases (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    number           TEXT NOT NULL UNIQUE,
    title            TEXT NOT NULL,
    source           TEXT NOT NULL,
    category         TEXT NOT NULL DEFAULT '',
    severity         TEXT NOT NULL,
    state            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    site_id          INTEGER REFERENCES sites(id),
    alarm_id         INTEGER,
    rule             TEXT,
    factor           TEXT,
    organisation_id  INTEGER NOT NULL REFERENCES organisations(id),
    township_id      INTEGER REFERENCES organisations(id),
    due_on           TEXT NOT NULL,
    contact          TEXT,
    longitude        TEXT,
    latitude         TEXT,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    closed_at        INTEGER,
    escalated_at     INTEGER,
    reopen_count     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cases_state ON cases(state, due_on);
CREATE INDEX cases_organisation ON cases(organisation_id);
CREATE INDEX cases_key ON cases(site_id, factor, rule);

CREATE TABLE case_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX case_events_case ON case_events(case_id);

ALTER TABLE attachments ADD COLUMN case_event_id INTEGER REFERENCES case_events(id);
CREATE INDEX attachments_case_event ON attachments(case_event_id);

-- The in-app inbox: one row per user told.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    link        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
);
CREATE INDEX notifications_user ON notifications(user_id, read_at);
