-- The rollup queue is consumed only after the rollups are committed
-- (issue 11, docs/decisions/0003). A queue row is read, its rollup computed,
-- and the row deleted in the same transaction that stores the result — but
-- only if nobody queued the period again meanwhile: every re-queue bumps
-- `generation`, and the delete names the generation it read. A crash at any
-- point leaves the row for the next pass.
ALTER TABLE rollup_pending ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
