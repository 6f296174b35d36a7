-- A milestone of a `monthly` duty (工作要求, 月调度): due every month and
-- met by a progress report in its month, so the deadline job judges it by
-- the reports, not by the task being finished (issue 12 item 7).
ALTER TABLE task_milestones ADD COLUMN recurring INTEGER NOT NULL DEFAULT 0;
