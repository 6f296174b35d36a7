-- The city's notice of a warning (issue 15): the notice files (PDF,
-- images, Office documents) of an issued, changed or lifted warning are
-- kept as attachments of the warning, read by whoever sees the warning.
ALTER TABLE attachments ADD COLUMN warning_id BIGINT REFERENCES emergency_warnings(id);
CREATE INDEX attachments_warning ON attachments(warning_id);
