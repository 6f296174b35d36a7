-- Air station classes (issue 13 item 3): the network a station belongs to
-- (national | provincial | city | township | micro) and what it counts for
-- when the office sets it for this station (district | township | both |
-- none; NULL = as its class says). Stations registered before this stay
-- unclassified and count for both, as every station did.
ALTER TABLE sites ADD COLUMN station_class TEXT
    CHECK (station_class IN ('national', 'provincial', 'city', 'township', 'micro'));
ALTER TABLE sites ADD COLUMN assessment TEXT
    CHECK (assessment IN ('district', 'township', 'both', 'none'));
