//! Seasonal production control over the API (issue 15 item 6): the season
//! list in force and its verification, as `gongjian emergency season
//! --json` prints it (`gongjian_app::emergency::season`).

use axum::Json;
use axum::extract::{Query, State};
use chrono::{Duration, NaiveDate};
use gongjian_storage::Role;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::session::ApiUser;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeasonQuery {
    /// 核查起始日期 YYYY-MM-DD（默认：截止日期前 6 天）
    pub from: Option<String>,
    /// 核查截止日期 YYYY-MM-DD（默认：昨天）
    pub to: Option<String>,
    /// 清单编号（默认：截止日期现行的清单）
    pub list: Option<i64>,
}

fn day(text: Option<&str>, what: &str) -> Result<Option<NaiveDate>, ApiError> {
    text.filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<NaiveDate>().map_err(|_| {
                ApiError::with_detail(
                    ErrorCode::InvalidInput,
                    format!("{what}应为 YYYY-MM-DD 格式的日期"),
                )
            })
        })
        .transpose()
}

#[utoipa::path(get, path = "/emergency/season/verification", summary = "采暖季错峰生产清单企业逐日核查（用电：达标 / 未落实 / 无法核查；企业只见本企业）", params(SeasonQuery), responses((status = 200, description = "核查结果", body = Object)))]
pub async fn verification(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<SeasonQuery>,
) -> Result<Json<gongjian_app::emergency::season::SeasonVerification>, ApiError> {
    let enterprise = me.user.role == Role::Enterprise;
    if !enterprise && !matches!(me.user.role, Role::Admin | Role::Office | Role::Viewer) {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    let today = gongjian_app::now_local().date();
    let to = day(q.to.as_deref(), "to")?.unwrap_or(today - Duration::days(1));
    let from = day(q.from.as_deref(), "from")?.unwrap_or(to - Duration::days(6));
    let only = enterprise.then_some(me.user.organisation_name.as_str());
    Ok(Json(
        gongjian_app::emergency::season::verify_season(&state.db, q.list, (from, to), today, only)
            .await?,
    ))
}
