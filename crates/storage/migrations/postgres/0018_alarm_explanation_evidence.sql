-- An enterprise explains an alarm with a reason and evidence (issue 14
-- item 3): the reason (planned_stop 计划停产 | equipment_fault 设备故障 |
-- calibration 校准维护 | startup 启停炉 | other 其他) and photos or PDFs
-- kept as attachments of the alarm.
ALTER TABLE alarms ADD COLUMN explanation_reason TEXT;
ALTER TABLE attachments ADD COLUMN alarm_id INTEGER REFERENCES alarms(id);
CREATE INDEX attachments_alarm ON attachments(alarm_id);
