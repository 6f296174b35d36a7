-- Indexes on `series` beside its primary key, partial by kind: every query
-- that reads across sites names its kind as a literal ('hour' for the daily
-- air cache, exceedances and the latest air hour; 'min' for device health),
-- and real-time values — most of the rows, every 30 s per factor — then
-- maintain only the primary key. This replaces the (kind, period_start) and
-- (received_at) indexes.
DROP INDEX series_kind_period;
DROP INDEX series_received;
CREATE INDEX series_hour_period ON series(period_start) WHERE kind = 'hour';
CREATE INDEX series_hour_received ON series(received_at) WHERE kind = 'hour';
CREATE INDEX series_min_period ON series(period_start) WHERE kind = 'min';
