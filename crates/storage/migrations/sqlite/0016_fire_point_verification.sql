-- Fire points as they really arrive (issue 14): a point from a satellite
-- or a 蓝天卫士 camera is pushed to its township, which answers 属实 or
-- 不属实 (with photos) by a deadline; the office confirms. Only confirmed
-- points count toward the deduction. Points entered before this are the
-- office's own findings: confirmed.
-- verification: pending (待乡镇核实) | replied (乡镇已反馈) | confirmed (属实)
-- | dismissed (不属实).
ALTER TABLE fire_points ADD COLUMN verification TEXT NOT NULL DEFAULT 'confirmed';
ALTER TABLE fire_points ADD COLUMN reply_due TEXT;
ALTER TABLE fire_points ADD COLUMN reply_verdict TEXT;
ALTER TABLE fire_points ADD COLUMN reply_note TEXT;
ALTER TABLE fire_points ADD COLUMN replied_by TEXT;
ALTER TABLE fire_points ADD COLUMN replied_at INTEGER;
ALTER TABLE fire_points ADD COLUMN confirmed_by TEXT;
ALTER TABLE fire_points ADD COLUMN confirmed_at INTEGER;
