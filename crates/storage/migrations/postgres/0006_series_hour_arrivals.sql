-- The daily air cache looks for hourly values that arrived after its
-- watermark. Indexing (kind, received_at) lets that search skip the far
-- more numerous real-time and minute rows; it replaces the index on
-- received_at alone, which nothing else uses.
DROP INDEX series_received;
CREATE INDEX series_kind_received ON series(kind, received_at);
