-- Campaign workflow: plans loaded from plans/<name>/ (with revisions),
-- targets, tasks, milestones, indicators, assignments per responsible
-- organisation, status history, progress reports and their review,
-- attachments, reminders, and the straw-burning fire-point ledger (月扣款).
-- Dates of the plan are 'YYYY-MM-DD' text; instants are Unix seconds;
-- exact decimals are TEXT. Migrations are append-only.

CREATE TABLE campaigns (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    district    TEXT NOT NULL,
    year        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

-- One row per load that changed something. `snapshot` is the normalised
-- plan (JSON), `changes` the list of differences from the previous revision.
CREATE TABLE campaign_revisions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
    number       INTEGER NOT NULL,
    digest       TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    changes      TEXT NOT NULL,
    loaded_at    INTEGER NOT NULL,
    loaded_by    TEXT NOT NULL,
    UNIQUE (campaign_id, number)
);

-- The plan's organisation keys mapped to the platform's organisations.
CREATE TABLE campaign_organisations (
    campaign_id      INTEGER NOT NULL REFERENCES campaigns(id),
    key              TEXT NOT NULL,
    organisation_id  INTEGER NOT NULL REFERENCES organisations(id),
    PRIMARY KEY (campaign_id, key)
);

CREATE TABLE campaign_targets (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
    key          TEXT NOT NULL,
    plan         TEXT NOT NULL,
    indicator    TEXT NOT NULL,
    scope        TEXT NOT NULL,
    comparator   TEXT NOT NULL,
    value        TEXT,
    value_text   TEXT,
    baseline     TEXT,
    unit         TEXT NOT NULL,
    period       TEXT NOT NULL,
    measured     TEXT NOT NULL,
    as_written   TEXT,
    content      TEXT NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    revision     INTEGER NOT NULL,
    UNIQUE (campaign_id, key)
);

-- status: not_started | in_progress | pending_review | done | overdue
CREATE TABLE campaign_tasks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns(id),
    key            TEXT NOT NULL,
    plan           TEXT NOT NULL,
    group_id       TEXT,
    chapter        TEXT,
    number         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL,
    content        TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1,
    revision       INTEGER NOT NULL,
    status         TEXT NOT NULL DEFAULT 'not_started',
    status_reason  TEXT NOT NULL DEFAULT '',
    status_at      INTEGER NOT NULL,
    signed_off_at  INTEGER,
    signed_off_by  TEXT,
    UNIQUE (campaign_id, key)
);
CREATE INDEX campaign_tasks_plan ON campaign_tasks(plan, group_id);

CREATE TABLE task_milestones (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id      INTEGER NOT NULL REFERENCES campaign_tasks(id),
    seq          INTEGER NOT NULL,
    due          TEXT NOT NULL,
    what         TEXT NOT NULL,
    as_written   TEXT,
    UNIQUE (task_id, seq)
);
CREATE INDEX task_milestones_due ON task_milestones(due);

CREATE TABLE task_indicators (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id      INTEGER NOT NULL REFERENCES campaign_tasks(id),
    seq          INTEGER NOT NULL,
    name         TEXT NOT NULL,
    comparator   TEXT NOT NULL,
    value        TEXT NOT NULL,
    unit         TEXT NOT NULL,
    UNIQUE (task_id, seq)
);

-- role: lead | cooperating | township
CREATE TABLE task_assignments (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id          INTEGER NOT NULL REFERENCES campaign_tasks(id),
    organisation_id  INTEGER NOT NULL REFERENCES organisations(id),
    role             TEXT NOT NULL CHECK (role IN ('lead', 'cooperating', 'township')),
    active           INTEGER NOT NULL DEFAULT 1,
    status           TEXT NOT NULL DEFAULT 'not_started',
    status_reason    TEXT NOT NULL DEFAULT '',
    status_at        INTEGER NOT NULL,
    UNIQUE (task_id, organisation_id)
);
CREATE INDEX task_assignments_org ON task_assignments(organisation_id);

-- Every status change of a task (assignment_id NULL) or an assignment.
CREATE TABLE task_status_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id        INTEGER NOT NULL REFERENCES campaign_tasks(id),
    assignment_id  INTEGER REFERENCES task_assignments(id),
    from_status    TEXT NOT NULL,
    to_status      TEXT NOT NULL,
    reason         TEXT NOT NULL,
    actor_name     TEXT NOT NULL,
    at             INTEGER NOT NULL
);
CREATE INDEX task_status_history_task ON task_status_history(task_id);

-- review: submitted | accepted | returned
CREATE TABLE task_reports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id    INTEGER NOT NULL REFERENCES task_assignments(id),
    task_id          INTEGER NOT NULL REFERENCES campaign_tasks(id),
    text             TEXT NOT NULL,
    claims_complete  INTEGER NOT NULL DEFAULT 0,
    submitted_by     TEXT NOT NULL,
    submitted_at     INTEGER NOT NULL,
    review           TEXT NOT NULL DEFAULT 'submitted',
    review_comment   TEXT,
    reviewed_by      TEXT,
    reviewed_at      INTEGER
);
CREATE INDEX task_reports_task ON task_reports(task_id);
CREATE INDEX task_reports_assignment ON task_reports(assignment_id);

CREATE TABLE report_values (
    report_id   INTEGER NOT NULL REFERENCES task_reports(id),
    indicator   TEXT NOT NULL,
    value       TEXT NOT NULL,
    unit        TEXT NOT NULL,
    PRIMARY KEY (report_id, indicator)
);

-- kind: straw (500000 元) | rubbish | leaves | weeds (100000 元)
CREATE TABLE fire_points (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    township_id  INTEGER NOT NULL REFERENCES organisations(id),
    occurred_on  TEXT NOT NULL,
    month        TEXT NOT NULL,
    place        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('straw', 'rubbish', 'leaves', 'weeds')),
    amount       TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT 'manual',
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX fire_points_month ON fire_points(month, township_id);

-- Files kept under <data_dir>/attachments/<sha256>; one row per use.
CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id      INTEGER REFERENCES task_reports(id),
    fire_point_id  INTEGER REFERENCES fire_points(id),
    sha256         TEXT NOT NULL,
    content_type   TEXT NOT NULL,
    size           INTEGER NOT NULL,
    file_name      TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX attachments_report ON attachments(report_id);
CREATE INDEX attachments_fire_point ON attachments(fire_point_id);

-- Reminders raised for milestones (kind: due_soon | overdue), once each.
CREATE TABLE task_reminders (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    milestone_id  INTEGER NOT NULL REFERENCES task_milestones(id),
    kind          TEXT NOT NULL,
    raised_at     INTEGER NOT NULL,
    UNIQUE (milestone_id, kind)
);
