//! API handlers for targets, rankings and the monthly report (月调度). The
//! use cases live in `gongjian_app`; these parse the request, call them and
//! answer JSON or XLSX.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use gongjian_app::air::air_data;
use gongjian_app::now_local;
use gongjian_app::plan::embedded_plan;
use gongjian_app::report::{MonthlyReport, build_report};
use gongjian_app::targets::{
    month_key, other_measures, parse_month, rankings, status_month, target_statuses,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::session::ApiUser;

#[derive(Deserialize)]
pub(crate) struct YearQuery {
    year: Option<i32>,
}

pub(crate) async fn api_targets(
    State(state): State<AppState>,
    _me: ApiUser,
    Query(q): Query<YearQuery>,
) -> Result<Json<Value>, ApiError> {
    let plan = embedded_plan()?;
    let year = q.year.unwrap_or_else(|| now_local().year());
    let data = air_data(&state.db, &state.air_cache, year).await?;
    let other = other_measures(
        &state.db,
        &plan,
        year,
        status_month(year, now_local().date()),
    )
    .await?;
    Ok(Json(json!({
        "plan": plan.key,
        "year": year,
        "as_of": data.as_of.map(|d| d.to_string()),
        "computed_from_cache_refreshed_at": data.refreshed_at,
        "targets": target_statuses(&plan, &data, &other),
    })))
}

#[derive(Deserialize)]
pub(crate) struct MonthQuery {
    month: Option<String>,
}

/// `YYYY-MM` from a path or query, or a clear error.
pub(crate) fn month_param(s: &str) -> Result<NaiveDate, ApiError> {
    parse_month(s)
        .ok_or_else(|| ApiError::with_detail(ErrorCode::InvalidInput, "month 须为 YYYY-MM"))
}

pub(crate) async fn api_rankings(
    State(state): State<AppState>,
    _me: ApiUser,
    Query(q): Query<MonthQuery>,
) -> Result<Json<Value>, ApiError> {
    let month = match q.month.as_deref() {
        Some(m) => month_param(m)?,
        None => now_local().date(),
    };
    let data = air_data(&state.db, &state.air_cache, month.year()).await?;
    let r = rankings(&data, month);
    Ok(Json(json!({
        "month": month_key(month),
        "townships": {"month": r.townships_month, "ytd": r.townships_ytd},
        "stations": {"month": r.stations_month, "ytd": r.stations_ytd},
    })))
}

/// The live report of `month`.
pub(crate) async fn live_report(
    state: &AppState,
    month: NaiveDate,
) -> Result<MonthlyReport, ApiError> {
    let plan = embedded_plan()?;
    Ok(build_report(&state.db, &state.air_cache, &plan, month, now_local()).await?)
}

pub(crate) async fn api_report(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(month): Path<String>,
) -> Result<Json<MonthlyReport>, ApiError> {
    Ok(Json(live_report(&state, month_param(&month)?).await?))
}

pub(crate) async fn api_published(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(month): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let list = state.db.published_reports(Some(&month)).await?;
    Ok(Json(json!({"month": month, "versions": list})))
}

pub(crate) async fn api_publish(
    State(state): State<AppState>,
    me: ApiUser,
    Path(month): Path<String>,
) -> Result<Json<Value>, ApiError> {
    me.require(matches!(
        me.user.role,
        gongjian_storage::Role::Admin | gongjian_storage::Role::Office
    ))?;
    let report = live_report(&state, month_param(&month)?).await?;
    let p = publish(&state, &me.actor(), &month, &report).await?;
    Ok(Json(
        json!({"month": p.month, "version": p.version, "published_at": p.published_at}),
    ))
}

/// Freeze `report` as the next version of `month`.
pub(crate) async fn publish(
    state: &AppState,
    actor: &gongjian_storage::Actor,
    month: &str,
    report: &MonthlyReport,
) -> Result<gongjian_storage::PublishedReport, ApiError> {
    let payload = serde_json::to_value(report)
        .map_err(|e| ApiError::with_detail(ErrorCode::Internal, e.to_string()))?;
    Ok(state
        .db
        .publish_report(actor, month, &report.title, &payload)
        .await?)
}

/// A published version's frozen report.
pub(crate) fn frozen_report(
    p: &gongjian_storage::PublishedReport,
) -> Result<MonthlyReport, ApiError> {
    serde_json::from_value(p.payload.clone()).map_err(|e| {
        tracing::error!(month = %p.month, version = p.version, error = %e, "published report unreadable");
        ApiError::with_detail(ErrorCode::Internal, "已发布版本的内容无法读取")
    })
}

pub(crate) async fn api_report_version(
    State(state): State<AppState>,
    _me: ApiUser,
    Path((month, version)): Path<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    let p = state.db.published_report(&month, version).await?;
    Ok(Json(serde_json::to_value(p).unwrap_or(Value::Null)))
}

/// XLSX download of a report (live or a published version).
pub(crate) fn xlsx_response(name: &str, report: &MonthlyReport) -> Response {
    match report.xlsx(name) {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::with_detail(ErrorCode::Internal, e.to_string()).into_response(),
    }
}

pub(crate) async fn api_report_xlsx(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(month): Path<String>,
) -> Result<Response, ApiError> {
    let report = live_report(&state, month_param(&month)?).await?;
    Ok(xlsx_response(&format!("report-{month}.xlsx"), &report))
}
