//! Alarms: the rule set in force (versioned), and the alarms the screens
//! raise — one row per episode of (site, factor, rule), extended while its
//! condition holds and ended when it clears, keeping the values that
//! raised it.

use gongjian_alarms::{Episode, RuleSet, Severity};
use serde::Serialize;
use serde_json::json;

use crate::audit::{AuditRecord, append};
use crate::{Actor, Rule, StorageError, now, validate};

crate::db::area!(
    /// Alarm rules, the alarm register and the screening inputs.
    Alarms,
    alarms
);

/// A saved version of the alarm rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleVersion {
    /// 0: the shipped defaults (nothing saved yet).
    pub id: i64,
    pub rules: RuleSet,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
}

/// One stored alarm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmRecord {
    pub id: i64,
    pub site_id: i64,
    pub site_code: String,
    pub site_name: String,
    pub site_kind: String,
    pub enterprise_id: Option<i64>,
    pub enterprise: Option<String>,
    pub township_id: Option<i64>,
    pub township: Option<String>,
    pub factor: String,
    pub rule: String,
    pub kind: String,
    pub rule_version: i64,
    pub severity: String,
    pub started_at: i64,
    pub last_at: i64,
    /// None while open.
    pub ended_at: Option<i64>,
    pub hours: i64,
    pub peak: Option<String>,
    pub multiple: Option<String>,
    pub summary: String,
    pub evidence: Vec<gongjian_alarms::Evidence>,
    pub case_id: Option<i64>,
    /// The enterprise's explanation (计划停产, 设备故障, 校准 …), if given.
    pub explanation: Option<String>,
    pub explained_by: Option<String>,
    /// Its reason code ([`EXPLANATION_REASONS`]).
    pub explanation_reason: Option<String>,
    /// Photos and documents given with the explanation.
    pub explanation_files: Vec<crate::AttachmentRecord>,
}

/// Why an alarm was not a violation, as an enterprise explains it.
pub const EXPLANATION_REASONS: [(&str, &str); 5] = [
    ("planned_stop", "计划停产"),
    ("equipment_fault", "设备故障"),
    ("calibration", "校准维护"),
    ("startup", "启停炉"),
    ("other", "其他"),
];

/// The Chinese label of an explanation reason code.
pub fn explanation_reason_label(code: &str) -> &'static str {
    EXPLANATION_REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("其他", |(_, l)| *l)
}

impl AlarmRecord {
    pub fn is_open(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// Which alarms to list.
#[derive(Debug, Clone, Default)]
pub struct AlarmFilter {
    /// Only open (true) or only ended (false) alarms.
    pub open: Option<bool>,
    /// Started at or after (Unix seconds).
    pub since: Option<i64>,
    /// Only at sites of this enterprise or township (or this organisation's own).
    pub organisation_id: Option<i64>,
    pub site_id: Option<i64>,
    pub limit: Option<i64>,
}

/// What reconciling one site's episodes changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Alarms opened (new episodes), with whether they are still open.
    pub opened: Vec<i64>,
    pub extended: Vec<i64>,
    pub ended: Vec<i64>,
}

fn bad_rules(detail: impl Into<String>) -> StorageError {
    StorageError::rule(Rule::AlarmRules, detail)
}

const ALARM_COLUMNS: &str = "a.id, a.site_id, st.code AS site_code, st.name AS site_name, st.kind AS site_kind, \
     st.organisation_id AS enterprise_id, e.name AS enterprise, st.township_id, t.name AS township, \
     a.factor, a.rule, a.kind, a.rule_version, a.severity, a.started_at, a.last_at, a.ended_at, a.hours, \
     a.peak, a.multiple, a.summary, a.evidence, a.case_id, a.explanation, a.explained_by, \
     a.explanation_reason \
     FROM alarms a JOIN sites st ON st.id = a.site_id \
     LEFT JOIN organisations e ON e.id = st.organisation_id \
     LEFT JOIN organisations t ON t.id = st.township_id";

/// A row of [`ALARM_COLUMNS`]: the evidence is JSON text.
#[derive(sqlx::FromRow)]
struct AlarmRow {
    id: i64,
    site_id: i64,
    site_code: String,
    site_name: String,
    site_kind: String,
    enterprise_id: Option<i64>,
    enterprise: Option<String>,
    township_id: Option<i64>,
    township: Option<String>,
    factor: String,
    rule: String,
    kind: String,
    rule_version: i64,
    severity: String,
    started_at: i64,
    last_at: i64,
    ended_at: Option<i64>,
    hours: i64,
    peak: Option<String>,
    multiple: Option<String>,
    summary: String,
    evidence: String,
    case_id: Option<i64>,
    explanation: Option<String>,
    explained_by: Option<String>,
    explanation_reason: Option<String>,
}

impl From<AlarmRow> for AlarmRecord {
    fn from(r: AlarmRow) -> AlarmRecord {
        AlarmRecord {
            id: r.id,
            site_id: r.site_id,
            site_code: r.site_code,
            site_name: r.site_name,
            site_kind: r.site_kind,
            enterprise_id: r.enterprise_id,
            enterprise: r.enterprise,
            township_id: r.township_id,
            township: r.township,
            factor: r.factor,
            rule: r.rule,
            kind: r.kind,
            rule_version: r.rule_version,
            severity: r.severity,
            started_at: r.started_at,
            last_at: r.last_at,
            ended_at: r.ended_at,
            hours: r.hours,
            peak: r.peak,
            multiple: r.multiple,
            summary: r.summary,
            evidence: serde_json::from_str(&r.evidence).unwrap_or_default(),
            case_id: r.case_id,
            explanation: r.explanation,
            explained_by: r.explained_by,
            explanation_reason: r.explanation_reason,
            explanation_files: Vec::new(),
        }
    }
}

/// A row of `alarm_rule_versions`: the rules are JSON text.
#[derive(sqlx::FromRow)]
struct RuleVersionRow {
    id: i64,
    rules: String,
    note: String,
    created_by: String,
    created_at: i64,
}

impl RuleVersionRow {
    /// The version with its rules read by `parse`.
    fn into_version(
        self,
        parse: impl FnOnce(&str) -> Result<RuleSet, StorageError>,
    ) -> Result<RuleVersion, StorageError> {
        Ok(RuleVersion {
            id: self.id,
            rules: parse(&self.rules)?,
            note: self.note,
            created_by: self.created_by,
            created_at: self.created_at,
        })
    }
}

/// An open alarm as [`Alarms::reconcile_alarms`] reads it.
#[derive(sqlx::FromRow)]
struct OpenAlarmRow {
    id: i64,
    factor: String,
    rule: String,
    started_at: i64,
    last_at: i64,
    peak: Option<String>,
}

/// Duration of an episode in hours, counting both ends.
fn span_hours(started_at: i64, last_at: i64) -> i64 {
    (last_at - started_at).max(0) / 3600 + 1
}

impl Alarms<'_> {
    /// The rule set in force: the newest saved version, else the defaults.
    pub async fn alarm_rules(&self) -> Result<RuleVersion, StorageError> {
        let row = sqlx::query_as::<_, RuleVersionRow>(
            "SELECT id, rules, note, created_by, created_at FROM alarm_rule_versions ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else {
            return Ok(RuleVersion {
                id: 0,
                rules: RuleSet::defaults(),
                note: "系统默认".into(),
                created_by: "system".into(),
                created_at: 0,
            });
        };
        let mut version = row.into_version(|rules| {
            serde_json::from_str(rules)
                .map_err(|e| bad_rules(format!("已保存的报警规则无法读取：{e}")))
        })?;
        // Rule kinds added to the platform after the set was saved.
        version.rules.add_missing_kinds();
        Ok(version)
    }

    /// Every saved version, newest first (without the rules).
    pub async fn alarm_rule_versions(&self) -> Result<Vec<RuleVersion>, StorageError> {
        let rows = sqlx::query_as::<_, RuleVersionRow>(
            "SELECT id, rules, note, created_by, created_at FROM alarm_rule_versions ORDER BY id DESC LIMIT 200",
        )
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|row| {
                row.into_version(|rules| {
                    Ok(serde_json::from_str(rules).unwrap_or_else(|_| RuleSet::defaults()))
                })
            })
            .collect()
    }

    /// Saves `rules` as the new version in force, audited with the
    /// previous one. Refused whole when any rule is wrong.
    pub async fn save_alarm_rules(
        &self,
        actor: &Actor,
        rules: &RuleSet,
        note: &str,
    ) -> Result<i64, StorageError> {
        let problems = rules.problems();
        if !problems.is_empty() {
            return Err(bad_rules(problems.join("；")));
        }
        let note = note.trim();
        validate::line("修改说明", note, validate::SHORT_TEXT_MAX)?;
        let before = self.alarm_rules().await?;
        let json = serde_json::to_string(rules).map_err(|e| bad_rules(e.to_string()))?;
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alarm_rule_versions (rules, note, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(&json)
        .bind(note)
        .bind(&actor.name)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("update", "alarm_rules", id)
                .before(&json!({"version": before.id, "rules": before.rules}))
                .after(&json!({"version": id, "note": note, "rules": rules})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Brings the stored alarms of `site_id` in line with the episodes the
    /// screens found in the hours just evaluated: an open
    /// alarm of the same factor and rule is extended by the episode that
    /// continues it (and ended when that episode is over, or when none
    /// continues it); an episode no stored alarm covers opens a new alarm.
    pub async fn reconcile_alarms(
        &self,
        site_id: i64,
        version: i64,
        rules: &RuleSet,
        episodes: &[Episode],
    ) -> Result<Reconciled, StorageError> {
        let mut done = Reconciled::default();
        let at = now();
        let mut tx = self.write.begin().await?;
        let open = sqlx::query_as::<_, OpenAlarmRow>(
            "SELECT id, factor, rule, started_at, last_at, hours, peak FROM alarms \
             WHERE site_id = $1 AND ended_at IS NULL",
        )
        .bind(site_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut used = vec![false; episodes.len()];
        for OpenAlarmRow {
            id,
            factor,
            rule,
            started_at,
            last_at,
            peak,
        } in open
        {
            let continuing = episodes.iter().enumerate().find(|(_, e)| {
                e.factor == factor
                    && e.rule == rule
                    && e.started_at <= last_at + 3600
                    && e.last_at >= started_at
            });
            match continuing {
                Some((i, e)) => {
                    used[i] = true;
                    let new_last = e.last_at.max(last_at);
                    let old_peak = peak.as_deref().and_then(|p| p.parse().ok());
                    let (peak, multiple) = match (old_peak, e.peak) {
                        (Some(o), Some(n)) if o >= n => (Some(o), None),
                        (_, Some(n)) => (Some(n), e.multiple),
                        (o, None) => (o, None),
                    };
                    sqlx::query(
                        "UPDATE alarms SET last_at = $1, hours = $2, summary = $3, \
                         peak = $4, multiple = COALESCE($5, multiple), ended_at = $6, updated_at = $7 WHERE id = $8",
                    )
                    .bind(new_last)
                    .bind(span_hours(started_at, new_last))
                    .bind(&e.summary)
                    .bind(peak.map(|p| p.normalize().to_string()))
                    .bind(multiple.map(|m| m.to_string()))
                    .bind((!e.ongoing).then_some(new_last + 3600))
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if e.ongoing {
                        done.extended.push(id);
                    } else {
                        done.ended.push(id);
                    }
                }
                None => {
                    // Nothing continues it: the condition cleared (or the
                    // rule was switched off).
                    sqlx::query("UPDATE alarms SET ended_at = $1, updated_at = $2 WHERE id = $3")
                        .bind((last_at + 3600).min(at))
                        .bind(at)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    done.ended.push(id);
                }
            }
        }
        for (i, e) in episodes.iter().enumerate() {
            if used[i] {
                continue;
            }
            let covered: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM alarms WHERE site_id = $1 AND factor = $2 AND rule = $3 \
                 AND started_at <= $4 AND COALESCE(ended_at, last_at + 3600) >= $5 LIMIT 1",
            )
            .bind(site_id)
            .bind(&e.factor)
            .bind(&e.rule)
            .bind(e.last_at)
            .bind(e.started_at)
            .fetch_optional(&mut *tx)
            .await?;
            if covered.is_some() {
                continue;
            }
            let severity = rules
                .rule(&e.rule)
                .map(|r| r.severity)
                .unwrap_or(Severity::Minor);
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO alarms (site_id, factor, rule, kind, rule_version, severity, started_at, last_at, \
                 ended_at, hours, peak, multiple, summary, evidence, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
            )
            .bind(site_id)
            .bind(&e.factor)
            .bind(&e.rule)
            .bind(e.kind.as_str())
            .bind(version)
            .bind(severity.as_str())
            .bind(e.started_at)
            .bind(e.last_at)
            .bind((!e.ongoing).then_some(e.last_at + 3600))
            .bind(span_hours(e.started_at, e.last_at))
            .bind(e.peak.map(|p| p.normalize().to_string()))
            .bind(e.multiple.map(|m| m.to_string()))
            .bind(&e.summary)
            .bind(serde_json::to_string(&e.evidence).unwrap_or_else(|_| "[]".into()))
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            done.opened.push(id);
        }
        tx.commit().await?;
        Ok(done)
    }

    pub async fn alarm(&self, id: i64) -> Result<AlarmRecord, StorageError> {
        let row = sqlx::query_as::<_, AlarmRow>(&format!("SELECT {ALARM_COLUMNS} WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StorageError::NotFound {
                entity: "alarm",
                key: id.to_string(),
            })?;
        let mut a = AlarmRecord::from(row);
        self.with_explanation_files(std::slice::from_mut(&mut a))
            .await?;
        Ok(a)
    }

    /// Fill in the evidence files of the explained alarms among `alarms`.
    async fn with_explanation_files(&self, alarms: &mut [AlarmRecord]) -> Result<(), StorageError> {
        for a in alarms.iter_mut().filter(|a| a.explanation.is_some()) {
            a.explanation_files = sqlx::query_as::<_, crate::AttachmentRecord>(
                "SELECT id, sha256, content_type, size, file_name FROM attachments \
                 WHERE alarm_id = $1 ORDER BY id",
            )
            .bind(a.id)
            .fetch_all(&self.read)
            .await?;
        }
        Ok(())
    }

    /// Which alarm an attachment belongs to, if it is an alarm's.
    pub async fn attachment_alarm(&self, attachment_id: i64) -> Result<Option<i64>, StorageError> {
        Ok(
            sqlx::query_scalar::<_, Option<i64>>("SELECT alarm_id FROM attachments WHERE id = $1")
                .bind(attachment_id)
                .fetch_optional(&self.read)
                .await?
                .flatten(),
        )
    }

    /// Alarms per `filter`, newest first.
    pub async fn list(&self, filter: &AlarmFilter) -> Result<Vec<AlarmRecord>, StorageError> {
        let mut sql = format!("SELECT {ALARM_COLUMNS} WHERE 1 = 1");
        match filter.open {
            Some(true) => sql.push_str(" AND a.ended_at IS NULL"),
            Some(false) => sql.push_str(" AND a.ended_at IS NOT NULL"),
            None => {}
        }
        sql.push_str(" AND a.started_at >= $1");
        sql.push_str(
            " AND ($2 = 0 OR st.organisation_id = $2 OR st.township_id = $2) AND ($3 = 0 OR a.site_id = $3)",
        );
        sql.push_str(" ORDER BY a.ended_at IS NULL DESC, a.last_at DESC, a.id DESC LIMIT $4");
        let rows = sqlx::query_as::<_, AlarmRow>(&sql)
            .bind(filter.since.unwrap_or(0))
            .bind(filter.organisation_id.unwrap_or(0))
            .bind(filter.site_id.unwrap_or(0))
            .bind(filter.limit.unwrap_or(1000).clamp(1, 10_000))
            .fetch_all(&self.read)
            .await?;
        let mut alarms: Vec<AlarmRecord> = rows.into_iter().map(AlarmRecord::from).collect();
        self.with_explanation_files(&mut alarms).await?;
        Ok(alarms)
    }

    /// Links an alarm to the case that handles it.
    pub async fn link_alarm_to_case(
        &self,
        alarm_id: i64,
        case_id: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("UPDATE alarms SET case_id = $1 WHERE id = $2")
            .bind(case_id)
            .bind(alarm_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The enterprise explains an alarm (计划停产, 设备故障, 校准 …) with
    /// evidence files, audited. Files are added to those given before.
    pub async fn explain_alarm(
        &self,
        actor: &Actor,
        alarm_id: i64,
        reason: &str,
        explanation: &str,
        files: &[crate::NewAttachment],
    ) -> Result<(), StorageError> {
        let text = explanation.trim();
        if text.is_empty() {
            return Err(StorageError::rule(Rule::Case, "请填写情况说明"));
        }
        if !EXPLANATION_REASONS.iter().any(|(c, _)| *c == reason) {
            return Err(StorageError::rule(
                Rule::Case,
                format!(
                    "说明类别“{}”无效，应为计划停产、设备故障、校准维护、启停炉或其他",
                    reason.chars().take(20).collect::<String>()
                ),
            ));
        }
        validate::text("情况说明", text, validate::TEXT_MAX)?;
        let mut tx = self.write.begin().await?;
        let (before_text, before_reason) = sqlx::query_as::<_, (Option<String>, Option<String>)>(
            "SELECT explanation, explanation_reason FROM alarms WHERE id = $1",
        )
        .bind(alarm_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "alarm",
            key: alarm_id.to_string(),
        })?;
        sqlx::query(
            "UPDATE alarms SET explanation = $1, explanation_reason = $2, explained_by = $3, \
             updated_at = $4 WHERE id = $5",
        )
        .bind(text)
        .bind(reason)
        .bind(&actor.name)
        .bind(now())
        .bind(alarm_id)
        .execute(&mut *tx)
        .await?;
        crate::campaign::insert_attachments(
            &mut tx,
            crate::campaign::AttachmentOwner::Alarm(alarm_id),
            files,
        )
        .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("explain", "alarm", alarm_id)
                .before(&json!({ "explanation": before_text, "reason": before_reason }))
                .after(&json!({
                    "explanation": text,
                    "reason": reason,
                    "attachments": crate::campaign::attachments_json(files),
                })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// One hourly value as the alarm screens read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenHour {
    pub site_id: i64,
    pub factor: String,
    pub point: crate::SeriesPoint,
}

/// A row of `series` as [`Alarms::hours_since`] reads it.
#[derive(sqlx::FromRow)]
struct ScreenHourRow {
    site_id: i64,
    factor: String,
    period_start: i64,
    value: Option<String>,
    converted: Option<String>,
    flag: String,
    source: String,
}

impl From<ScreenHourRow> for ScreenHour {
    fn from(r: ScreenHourRow) -> ScreenHour {
        ScreenHour {
            site_id: r.site_id,
            factor: r.factor,
            point: crate::SeriesPoint {
                period_start: r.period_start,
                value: r.value,
                converted: r.converted,
                flag: r.flag,
                source: r.source,
            },
        }
    }
}

impl Alarms<'_> {
    /// Every hourly value from `from` (inclusive) on, of every site, in
    /// order of site, factor and hour.
    pub async fn hours_since(&self, from: i64) -> Result<Vec<ScreenHour>, StorageError> {
        let rows = sqlx::query_as::<_, ScreenHourRow>(
            "SELECT site_id, factor, period_start, value, converted, flag, source FROM series \
             WHERE kind = 'hour' AND period_start >= $1 ORDER BY site_id, factor, period_start",
        )
        .bind(from)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(ScreenHour::from).collect())
    }

    /// The hours from `from` on whose value reported by the logger differs
    /// from the platform's rollup, in order of site, factor and hour.
    pub async fn hour_disagreements_since(
        &self,
        from: i64,
    ) -> Result<Vec<crate::Disagreement>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT site_id, factor, kind, period_start, logger_value, logger_flag, \
             rollup_value, rollup_flag, detected_at FROM rollup_disagreements \
             WHERE kind = 'hour' AND period_start >= $1 ORDER BY site_id, factor, period_start",
        )
        .bind(from)
        .fetch_all(&self.read)
        .await?)
    }

    /// When each site's loggers last sent a frame (sites whose loggers
    /// never did are left out).
    pub async fn last_frames(&self) -> Result<std::collections::HashMap<i64, i64>, StorageError> {
        let rows = sqlx::query_as::<_, (i64, i64)>(
            "SELECT d.site_id, MAX(c.last_frame_at) AS last FROM devices d \
             JOIN device_counters c ON c.mn = d.mn WHERE c.last_frame_at IS NOT NULL GROUP BY d.site_id",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Sites with an open alarm.
    pub async fn sites_with_open_alarms(&self) -> Result<Vec<i64>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT site_id FROM alarms WHERE ended_at IS NULL")
                .fetch_all(&self.read)
                .await?,
        )
    }
}
