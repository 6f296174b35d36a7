use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gongjian_storage::{AuditEntry, AuditFilter};
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::session::ApiUser;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub entity: Option<String>,
    pub action: Option<String>,
    /// `YYYY-MM-DD`, local date, inclusive.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// `YYYY-MM-DD`, local date, inclusive.
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// China Standard Time: audit filters and exports use local dates.
pub(crate) use gongjian_standards::cst::zone as cst;

fn day_start(s: &str, field: &str) -> Result<i64, ApiError> {
    let date = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::with_detail(
            ErrorCode::InvalidInput,
            format!("{field} 应为 YYYY-MM-DD 格式的日期"),
        )
    })?;
    Ok(gongjian_standards::cst::day_start_utc(date))
}

fn blank_to_none(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl AuditQuery {
    pub(crate) fn to_filter(&self, max: i64) -> Result<AuditFilter, ApiError> {
        let from = blank_to_none(&self.from)
            .map(|s| day_start(&s, "from"))
            .transpose()?;
        let to = blank_to_none(&self.to)
            .map(|s| day_start(&s, "to").map(|t| t + 86_400))
            .transpose()?;
        Ok(AuditFilter {
            actor: blank_to_none(&self.actor),
            entity: blank_to_none(&self.entity),
            action: blank_to_none(&self.action),
            from,
            to,
            limit: self.limit.unwrap_or(max).clamp(1, max),
            offset: self.offset.unwrap_or(0),
        })
    }
}

#[utoipa::path(get, path = "/audit", summary = "审计日志（管理员、攻坚办）", params(AuditQuery), responses((status = 200, description = "审计记录", body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    me.require(me.user.role.reads_audit())?;
    Ok(Json(state.db.audit().list(&q.to_filter(1000)?).await?))
}

#[utoipa::path(get, path = "/audit.csv", summary = "审计日志导出 CSV（管理员、攻坚办）", params(AuditQuery), responses((status = 200, description = "CSV（UTF-8 带 BOM）", body = crate::api::doc::Binary, content_type = "text/csv")))]
pub async fn export_csv(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    me.require(me.user.role.reads_audit())?;
    let entries = state.db.audit().list(&q.to_filter(100_000)?).await?;
    let labels = actor_labels(&state.db, &entries).await?;
    audit_csv_response(&entries, &labels)
}

/// Each entry's actor as people know them ([`gongjian_storage::person_label`]),
/// keyed by the recorded login name.
pub(crate) async fn actor_labels(
    db: &gongjian_storage::Db,
    entries: &[AuditEntry],
) -> Result<HashMap<String, String>, ApiError> {
    Ok(db
        .accounts()
        .people_labels(
            &entries
                .iter()
                .map(|e| e.actor_name.as_str())
                .collect::<Vec<_>>(),
        )
        .await?)
}

/// The export names the person (display name and organisation) and keeps
/// the login name beside it.
pub(crate) fn audit_csv_response(
    entries: &[AuditEntry],
    labels: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    use gongjian_tabular::{Cell, Sheet};
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    let sheet = Sheet {
        name: "审计日志".into(),
        headers: [
            "序号",
            "时间",
            "操作人",
            "登录名",
            "来源地址",
            "操作",
            "对象",
            "对象编号",
            "修改前",
            "修改后",
        ]
        .map(String::from)
        .to_vec(),
        rows: entries
            .iter()
            .map(|e| {
                let at = chrono::DateTime::from_timestamp(e.at, 0)
                    .map(|t| {
                        t.with_timezone(&cst())
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string()
                    })
                    .unwrap_or_default();
                vec![
                    Cell::Int(e.id),
                    Cell::Text(at),
                    Cell::Text(
                        labels
                            .get(&e.actor_name)
                            .cloned()
                            .unwrap_or_else(|| e.actor_name.clone()),
                    ),
                    Cell::Text(e.actor_name.clone()),
                    Cell::Text(e.client_addr.clone()),
                    Cell::Text(e.action.clone()),
                    Cell::Text(e.entity.clone()),
                    Cell::Text(e.entity_id.clone()),
                    Cell::Text(json(&e.before)),
                    Cell::Text(json(&e.after)),
                ]
            })
            .collect(),
    };
    // A UTF-8 BOM so that Excel on a Chinese Windows desktop opens it right.
    // Every cell goes through the one CSV writer, which neutralises text
    // that a spreadsheet would run as a formula (an actor name typed at the
    // login form, for one).
    let mut out = vec![0xEF, 0xBB, 0xBF];
    gongjian_tabular::write_csv("audit-log.csv", &mut out, &sheet)
        .map_err(|e| ApiError::with_detail(ErrorCode::Internal, e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
