-- A milestone of a `monthly` duty (工作要求, 月调度): due every month and
-- met by progress reports, so the deadline job judges it by the reports, not
-- by the task being finished (issue 12 item 7).
ALTER TABLE task_milestones ADD COLUMN recurring INTEGER NOT NULL DEFAULT 0;
-- When an organisation was given its part (Unix s; 0 for parts given before
-- this column): the months of a monthly duty due before it are not asked of
-- it.
ALTER TABLE task_assignments ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
