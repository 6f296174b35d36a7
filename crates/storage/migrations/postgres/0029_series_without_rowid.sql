-- Issue 16: SQLite's 0029 rebuilds `series` and `hj212_uploads` as
-- WITHOUT ROWID tables (the primary key is the table). A PostgreSQL table
-- is a heap with its primary key as an index and has no rowid to drop, so
-- nothing changes here; the file keeps both migration trees numbered alike.
SELECT 1;
