-- The production line (生产线/工序) a power meter or a stack belongs to, as
-- the reduction list names it (issue 15): a plant listed line by line is
-- verified line by line from the meters and stacks tied to each line.
CREATE TABLE site_production_lines (
    site_id          INTEGER PRIMARY KEY REFERENCES sites(id),
    production_line  TEXT NOT NULL
);
