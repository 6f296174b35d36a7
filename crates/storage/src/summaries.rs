//! Cross-cutting reads for the overview (总览) and the monthly scheduling
//! report (月调度): hourly values against their site limits, and each
//! organisation's assignments in a month. Judging (which hours exceed, what
//! the multiple is) happens in the callers through exact decimals; these
//! queries only gather the rows.

use crate::StorageError;

crate::db::area!(
    /// Cross-area read models for summaries and assessments.
    Summaries,
    summaries
);

/// One hourly value of a factor that has a limit at its site.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LimitedHour {
    pub site_id: i64,
    #[sqlx(rename = "code")]
    pub site_code: String,
    #[sqlx(rename = "name")]
    pub site_name: String,
    #[sqlx(rename = "kind")]
    pub site_kind: String,
    /// The owning enterprise's name, if any.
    #[sqlx(rename = "org")]
    pub organisation: Option<String>,
    pub factor: String,
    #[sqlx(rename = "fname")]
    pub factor_name: String,
    pub unit: String,
    pub limit_value: String,
    pub period_start: i64,
    pub value: Option<String>,
    pub converted: Option<String>,
    pub flag: String,
}

/// One active assignment as the month's scheduling sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentMonth {
    pub organisation: String,
    pub organisation_kind: String,
    pub status: String,
    /// A milestone of the task falls in the month.
    pub due_in_month: bool,
    /// Reports on the assignment returned in the month.
    pub returned_in_month: i64,
}

/// A row of [`Summaries::assignments_in_month`] (`due_in_month` as 0/1).
#[derive(sqlx::FromRow)]
struct AssignmentMonthRow {
    name: String,
    kind: String,
    status: String,
    due_in_month: i64,
    returned: i64,
}

impl From<AssignmentMonthRow> for AssignmentMonth {
    fn from(r: AssignmentMonthRow) -> Self {
        AssignmentMonth {
            organisation: r.name,
            organisation_kind: r.kind,
            status: r.status,
            due_in_month: r.due_in_month != 0,
            returned_in_month: r.returned,
        }
    }
}

/// A value reported for a named indicator in an accepted progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedValue {
    pub indicator: String,
    pub value: String,
    pub unit: String,
    pub organisation: String,
    /// When the office accepted the report (Unix s).
    pub accepted_at: i64,
    /// Reported for the task's lead part (牵头单位).
    pub lead: bool,
    /// The key of the task reported on.
    pub task: String,
}

/// A row of [`Summaries::accepted_values`] (`reviewed_at` may be NULL).
#[derive(sqlx::FromRow)]
struct AcceptedValueRow {
    indicator: String,
    value: String,
    unit: String,
    name: String,
    reviewed_at: Option<i64>,
    role: String,
    task_key: String,
}

impl From<AcceptedValueRow> for AcceptedValue {
    fn from(r: AcceptedValueRow) -> Self {
        AcceptedValue {
            indicator: r.indicator,
            value: r.value,
            unit: r.unit,
            organisation: r.name,
            accepted_at: r.reviewed_at.unwrap_or(0),
            lead: r.role == "lead",
            task: r.task_key,
        }
    }
}

impl Summaries<'_> {
    /// Indicator values of accepted progress reports of the campaign
    /// `campaign_key`, newest acceptance first (a reported target takes the
    /// latest one of its name, the lead part's first).
    pub async fn accepted_values(
        &self,
        campaign_key: &str,
    ) -> Result<Vec<AcceptedValue>, StorageError> {
        let rows = sqlx::query_as::<_, AcceptedValueRow>(
            "SELECT v.indicator, v.value, v.unit, o.name, r.reviewed_at, a.role, t.key AS task_key \
             FROM report_values v \
             JOIN task_reports r ON r.id = v.report_id \
             JOIN task_assignments a ON a.id = r.assignment_id \
             JOIN organisations o ON o.id = a.organisation_id \
             JOIN campaign_tasks t ON t.id = a.task_id \
             JOIN campaigns c ON c.id = t.campaign_id \
             WHERE r.review = 'accepted' AND c.key = $1 \
             ORDER BY r.reviewed_at DESC, r.id DESC",
        )
        .bind(campaign_key)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(AcceptedValue::from).collect())
    }

    /// Hourly values (kind `hour`) in `[from, to)` of every factor with a
    /// limit, at sites other than ambient air stations (whose "limits" are
    /// air-quality standards, judged by the AQI, not exceedances).
    pub async fn limited_hours(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<LimitedHour>, StorageError> {
        Ok(sqlx::query_as::<_, LimitedHour>(
            "SELECT s.site_id, st.code, st.name, st.kind, o.name AS org, s.factor, f.name AS fname, \
             f.unit, f.limit_value, s.period_start, s.value, s.converted, s.flag \
             FROM series s \
             JOIN site_factors f ON f.site_id = s.site_id AND f.factor = s.factor \
             JOIN sites st ON st.id = s.site_id \
             LEFT JOIN organisations o ON o.id = st.organisation_id \
             WHERE s.kind = 'hour' AND s.period_start >= $1 AND s.period_start < $2 \
             AND f.limit_value IS NOT NULL AND st.kind <> 'air_station' \
             ORDER BY s.period_start",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?)
    }

    /// Every active assignment of an active task, with whether the task has
    /// a milestone (a monthly duty's: for its lead parts only) between `first_day` and `last_day` (`YYYY-MM-DD`,
    /// inclusive) and how many of its reports were returned in `[from, to)`.
    pub async fn assignments_in_month(
        &self,
        first_day: &str,
        last_day: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<AssignmentMonth>, StorageError> {
        let rows = sqlx::query_as::<_, AssignmentMonthRow>(
            "SELECT o.name, o.kind, a.status, \
             CASE WHEN EXISTS (SELECT 1 FROM task_milestones m WHERE m.task_id = a.task_id \
                  AND m.due >= $1 AND m.due <= $2 AND (m.recurring = 0 OR a.role = 'lead')) \
                  THEN 1 ELSE 0 END AS due_in_month, \
             (SELECT COUNT(*) FROM task_reports r WHERE r.assignment_id = a.id \
                  AND r.review = 'returned' AND r.reviewed_at >= $3 AND r.reviewed_at < $4) AS returned \
             FROM task_assignments a \
             JOIN campaign_tasks t ON t.id = a.task_id \
             JOIN organisations o ON o.id = a.organisation_id \
             WHERE a.active = 1 AND t.active = 1 ORDER BY o.name",
        )
        .bind(first_day)
        .bind(last_day)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(AssignmentMonth::from).collect())
    }
}
