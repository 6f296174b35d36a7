-- 问责 records (issue 12 item 6): the 约谈 (interview), 通报 (notice) and
-- 问责 (accountability) the office decides against an organisation in a
-- month of a campaign, shown in that month's 月调度 and exported with it.
-- A record is never deleted: the office voids it with a reason, and it
-- stays listed (struck through) but counts in no report.
CREATE TABLE accountability_records (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_key     TEXT NOT NULL REFERENCES campaigns(key),
    month            TEXT NOT NULL,
    organisation_id  INTEGER NOT NULL REFERENCES organisations(id),
    kind             TEXT NOT NULL CHECK (kind IN ('interview', 'notice', 'accountability')),
    reason           TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    document_number  TEXT CHECK (length(document_number) <= 100),
    decided_on       TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    voided_at        INTEGER,
    voided_by        TEXT,
    void_reason      TEXT
);
CREATE INDEX accountability_records_month ON accountability_records (campaign_key, month);
