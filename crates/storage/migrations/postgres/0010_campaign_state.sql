-- A campaign's lifecycle (issue 12): draft → active → closed. Only an
-- active campaign's milestones raise reminders and mark parts overdue; a
-- closed (archived) campaign is read-only history. At most one active
-- campaign per district and year is enforced by the storage layer, which
-- names the conflicting campaign in its refusal. Existing campaigns were
-- all in force, so they start active.
ALTER TABLE campaigns ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE campaigns ADD COLUMN state_changed_at BIGINT;
