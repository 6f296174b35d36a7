-- Warnings over their life (issue 15 item 2): a raise or a lower is a new
-- warning at the new level from its date, linked to the one it replaces
-- (which ends the day before); a lift ends a warning early. Each listed
-- enterprise with an account is notified of the warning and confirms
-- receipt of its measures; the unconfirmed are listed for the office.
ALTER TABLE emergency_warnings ADD COLUMN previous_id INTEGER REFERENCES emergency_warnings(id);
ALTER TABLE emergency_warnings ADD COLUMN change TEXT NOT NULL DEFAULT 'issue'
    CHECK (change IN ('issue', 'raise', 'lower'));
ALTER TABLE emergency_warnings ADD COLUMN lifted_at INTEGER;
ALTER TABLE emergency_warnings ADD COLUMN lifted_by TEXT;
ALTER TABLE emergency_warnings ADD COLUMN lift_document TEXT;

CREATE TABLE emergency_receipts (
    warning_id       INTEGER NOT NULL REFERENCES emergency_warnings(id),
    organisation_id  INTEGER NOT NULL REFERENCES organisations(id),
    notified_at      INTEGER NOT NULL,
    confirmed_at     INTEGER,
    confirmed_by     TEXT,
    PRIMARY KEY (warning_id, organisation_id)
);
