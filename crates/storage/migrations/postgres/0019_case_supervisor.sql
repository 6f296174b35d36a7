-- The department an overdue case was escalated to (issue 14 item 2: 逾期
-- cases escalate to the supervising department and the office); it sees
-- the case from then on.
ALTER TABLE cases ADD COLUMN supervisor_id INTEGER REFERENCES organisations(id);
