-- Fire-point ledger corrections (issue 13 item 4): an entry is never
-- deleted; the office voids it with a reason. A voided entry stays in the
-- ledger (shown struck through) and counts in no total or deduction. The
-- storage layer refuses a second live entry for the same township, day and
-- place; the index serves that check.
ALTER TABLE fire_points ADD COLUMN voided_at BIGINT;
ALTER TABLE fire_points ADD COLUMN voided_by TEXT;
ALTER TABLE fire_points ADD COLUMN void_reason TEXT;
CREATE INDEX fire_points_day ON fire_points(township_id, occurred_on);
