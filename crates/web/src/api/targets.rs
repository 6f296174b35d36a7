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
use gongjian_app::plan::require_campaign_for_year;
use gongjian_app::report::{MonthlyReport, build_report};
use gongjian_app::targets::{
    month_key, other_measures, parse_month, rankings, status_month, target_statuses,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::session::ApiUser;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct YearQuery {
    /// 年份（默认今年）
    #[param(minimum = 2000, maximum = 2100)]
    year: Option<i32>,
}

#[utoipa::path(get, path = "/targets", summary = "攻坚目标：由监测数据计算的当前值、累计值、同比、余量", params(YearQuery), responses((status = 200, description = "目标", body = Object)))]
pub(crate) async fn api_targets(
    State(state): State<AppState>,
    _me: ApiUser,
    Query(q): Query<YearQuery>,
) -> Result<Json<Value>, ApiError> {
    let year = q.year.unwrap_or_else(|| now_local().year());
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            "year 须在 2000 至 2100 之间",
        ));
    }
    let loaded = require_campaign_for_year(&state.db, year).await?;
    let plan = &*loaded.plan;
    let data = air_data(&state.db, &state.air_cache, year).await?;
    let other = other_measures(
        &state.db,
        plan,
        year,
        status_month(year, now_local().date()),
    )
    .await?;
    Ok(Json(json!({
        "plan": plan.key,
        "campaign": {"key": loaded.info.key, "name": loaded.info.name, "state": loaded.info.state},
        "year": year,
        "as_of": data.as_of.map(|d| d.to_string()),
        "computed_from_cache_refreshed_at": data.refreshed_at,
        "targets": target_statuses(plan, &data, &other),
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MonthQuery {
    /// 月份 YYYY-MM（默认本月）
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    month: Option<String>,
}

/// `YYYY-MM` from a path or query, or a clear error.
pub(crate) fn month_param(s: &str) -> Result<NaiveDate, ApiError> {
    parse_month(s)
        .ok_or_else(|| ApiError::with_detail(ErrorCode::InvalidInput, "month 须为 YYYY-MM"))
}

#[utoipa::path(get, path = "/rankings", summary = "乡镇与站点排名：综合指数及同比变化率", params(MonthQuery), responses((status = 200, description = "排名", body = Object)))]
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
    let loaded = require_campaign_for_year(&state.db, month.year()).await?;
    Ok(build_report(
        &state.db,
        &state.air_cache,
        &loaded.plan,
        month,
        now_local(),
    )
    .await?)
}

#[utoipa::path(get, path = "/reports/{month}", summary = "月调度报告（实时计算）", params(crate::api::doc::MonthPath), responses((status = 200, description = "报告（MonthlyReport）", body = Object)))]
pub(crate) async fn api_report(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(month): Path<String>,
) -> Result<Json<MonthlyReport>, ApiError> {
    Ok(Json(live_report(&state, month_param(&month)?).await?))
}

#[utoipa::path(get, path = "/reports/{month}/published", summary = "已发布的月调度报告（冻结版本）", params(crate::api::doc::MonthPath), responses((status = 200, description = "版本列表", body = Object)))]
pub(crate) async fn api_published(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(month): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let list = state.db.air().published_reports(Some(&month)).await?;
    Ok(Json(json!({"month": month, "versions": list})))
}

/// 期数 and 文号 of a publication; both optional.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct PublishBody {
    /// 期数, e.g. 第 7 期 (blank: the month's).
    #[serde(default)]
    #[schema(max_length = 40)]
    pub issue: String,
    /// 文号, e.g. 平示攻坚办〔2026〕12 号.
    #[serde(default)]
    #[schema(max_length = 40)]
    pub document_number: String,
}

#[utoipa::path(post, path = "/reports/{month}/publish", summary = "发布月调度报告（攻坚办），生成新版本（可填期数、文号）", params(crate::api::doc::MonthPath), request_body(content = Option<PublishBody>, content_type = "application/json"), responses((status = 200, description = "新版本", body = Object)))]
pub(crate) async fn api_publish(
    State(state): State<AppState>,
    me: ApiUser,
    Path(month): Path<String>,
    body: Option<Json<PublishBody>>,
) -> Result<Json<Value>, ApiError> {
    me.require(matches!(
        me.user.role,
        gongjian_storage::Role::Admin | gongjian_storage::Role::Office
    ))?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let report = live_report(&state, month_param(&month)?)
        .await?
        .numbered(&body.issue, &body.document_number)?;
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
        .air()
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

#[utoipa::path(get, path = "/reports/{month}/versions/{version}", summary = "已发布报告的指定版本", params(crate::api::doc::MonthVersionPath), responses((status = 200, description = "该版本", body = Object)))]
pub(crate) async fn api_report_version(
    State(state): State<AppState>,
    _me: ApiUser,
    Path((month, version)): Path<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    let p = state.db.air().published_report(&month, version).await?;
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

#[utoipa::path(get, path = "/reports/{month}/xlsx", summary = "月调度报告导出 XLSX", params(crate::api::doc::MonthPath), responses((status = 200, description = "XLSX", body = crate::api::doc::Binary, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub(crate) async fn api_report_xlsx(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(month): Path<String>,
) -> Result<Response, ApiError> {
    let report = live_report(&state, month_param(&month)?).await?;
    Ok(xlsx_response(&format!("report-{month}.xlsx"), &report))
}
