-- Tamper-evident audit log (issue #10 item 11).
-- Each row carries the SHA-256 (hex) of the previous row and its own hash
-- over that and a canonical encoding of its fields (crates/storage/src/audit.rs).
-- Rows written before this migration are chained once, at the first start,
-- by the same code (Db::migrate); that is the only UPDATE the table allows.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

-- INSERT OR REPLACE deletes the conflicting row without firing the DELETE
-- trigger: refuse any insert whose id is already taken.
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- UPDATE stays refused, except filling in the chain of a row that has none
-- yet with every recorded field unchanged.
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (
    OLD.hash IS NULL AND OLD.prev_hash IS NULL
    AND NEW.id IS OLD.id AND NEW.at IS OLD.at
    AND NEW.actor_user_id IS OLD.actor_user_id AND NEW.actor_name IS OLD.actor_name
    AND NEW.client_addr IS OLD.client_addr AND NEW.action IS OLD.action
    AND NEW.entity IS OLD.entity AND NEW.entity_id IS OLD.entity_id
    AND NEW.before_json IS OLD.before_json AND NEW.after_json IS OLD.after_json
)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
