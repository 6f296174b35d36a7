-- The plan files of each revision (issue 12): the platform evaluates
-- targets, monthly reports and exports from exactly what was loaded, not
-- from a plan compiled into the binary. `sources` is a JSON array of
-- {"name", "text"}; `sources_digest` (SHA-256 of it) lets a reader reuse a
-- parsed plan without fetching the text. Revisions loaded before this
-- migration have neither until the plan is loaded again.
ALTER TABLE campaign_revisions ADD COLUMN sources TEXT;
ALTER TABLE campaign_revisions ADD COLUMN sources_digest TEXT;
