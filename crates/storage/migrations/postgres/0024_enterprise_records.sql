-- The enterprise record (一企一档, issue 15 item 1): what belongs to the
-- enterprise itself rather than to a season's reduction list — 统一社会信用
-- 代码, industry, 排污许可证 number and validity, 重点排污单位, 绩效分级 and
-- the date it was graded. One row per enterprise organisation.
CREATE TABLE enterprise_records (
    organisation_id     BIGINT PRIMARY KEY REFERENCES organisations(id),
    credit_code         TEXT,
    industry            TEXT NOT NULL DEFAULT '',
    permit_number       TEXT NOT NULL DEFAULT '',
    permit_valid_until  TEXT,
    key_unit            BIGINT NOT NULL DEFAULT 0,
    grade               TEXT,
    graded_on           TEXT,
    updated_at          BIGINT NOT NULL,
    updated_by          TEXT NOT NULL
);
