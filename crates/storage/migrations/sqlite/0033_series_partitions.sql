-- Issue 16: PostgreSQL's 0033 turns `series` into a table partitioned by
-- month (declarative partitioning, monthly partitions created ahead by the
-- `series_partitions` job). SQLite has no partitioning: its `series` stays
-- the WITHOUT ROWID table of 0029, and nothing changes here; the file keeps
-- both migration trees numbered alike.
SELECT 1;
