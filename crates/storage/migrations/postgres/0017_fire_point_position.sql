-- Fire points as they arrive from a satellite or a 蓝天卫士 camera carry a
-- position (issue 14): WGS 84 longitude and latitude as the exact decimal
-- text received, NULL for points entered without one.
ALTER TABLE fire_points ADD COLUMN longitude TEXT;
ALTER TABLE fire_points ADD COLUMN latitude TEXT;
