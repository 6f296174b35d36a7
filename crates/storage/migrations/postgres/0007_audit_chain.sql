-- Tamper-evident audit log (issue #10 item 11).
-- Each row carries the SHA-256 (hex) of the previous row and its own hash
-- over that and a canonical encoding of its fields (crates/storage/src/audit.rs).
-- Rows written before this migration are chained once, at the first start,
-- by the same code (Db::migrate); that is the only UPDATE the table allows.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;

CREATE FUNCTION audit_log_chain_only() RETURNS trigger AS $$
BEGIN
    IF OLD.hash IS NULL AND OLD.prev_hash IS NULL
       AND NEW.id = OLD.id AND NEW.at = OLD.at
       AND NEW.actor_user_id IS NOT DISTINCT FROM OLD.actor_user_id
       AND NEW.actor_name = OLD.actor_name AND NEW.client_addr = OLD.client_addr
       AND NEW.action = OLD.action AND NEW.entity = OLD.entity
       AND NEW.entity_id = OLD.entity_id
       AND NEW.before_json IS NOT DISTINCT FROM OLD.before_json
       AND NEW.after_json IS NOT DISTINCT FROM OLD.after_json THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER audit_log_no_change ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_chain_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
-- TRUNCATE fires no row trigger: refuse it as a statement.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
