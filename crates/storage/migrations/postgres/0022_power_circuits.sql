-- Electricity-use monitoring (用电监控, issue 15 item 3): what a power
-- meter's circuit feeds (production | treatment) and, for a treatment
-- circuit, the production circuits it serves. The alarm run compares them
-- (治污未同步, 空转/降频).
CREATE TABLE power_circuits (
    site_id     BIGINT PRIMARY KEY REFERENCES sites(id) ON DELETE CASCADE,
    circuit     TEXT NOT NULL CHECK (circuit IN ('production', 'treatment')),
    updated_at  BIGINT NOT NULL
);

CREATE TABLE power_circuit_links (
    treatment_site_id   BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    production_site_id  BIGINT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    PRIMARY KEY (treatment_site_id, production_site_id)
);
CREATE INDEX power_circuit_links_production ON power_circuit_links (production_site_id);
