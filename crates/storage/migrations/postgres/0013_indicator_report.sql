-- Which task indicators are reported (issue 13 item 11): a progress
-- measure is reported by the responsible organisations (报送值); a figure
-- the plan sets that is not one (a penalty per fire point, a size or
-- applicability criterion, a retention period, an emission limit) is shown
-- with the task and never asked for. `report = false` in the plan; the
-- limits a task takes from its limit sets are never reported, so the rows
-- a plan load derived from them (named "…（基准氧含量 N%）", in mg/m³)
-- are marked here; a plan load rewrites the rest.
ALTER TABLE task_indicators ADD COLUMN reported INTEGER NOT NULL DEFAULT 1;
UPDATE task_indicators SET reported = 0 WHERE unit = 'mg/m³' AND name LIKE '%（基准氧含量 %';
