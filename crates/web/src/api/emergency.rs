//! Heavy-pollution emergency response over the API (issue 15): the
//! warnings and a warning's verification, as `gongjian emergency verify
//! --json` prints it, and the warning's life — issue, raise or lower,
//! lift, an enterprise's confirmation — through the same use cases as the
//! 预警应急 page (`gongjian_app::emergency`).

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use gongjian_storage::{Role, User, Warning};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiJson, ErrorCode};
use crate::session::ApiUser;

/// The office and admins issue, change and lift warnings.
fn may_issue(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Office)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// 预警级别：yellow | orange | red（或 黄色 / 橙色 / 红色）
    pub level: String,
    /// 启动日期 YYYY-MM-DD
    #[schema(value_type = String, format = Date)]
    pub starts_on: NaiveDate,
    /// 解除日期 YYYY-MM-DD（可空：至解除为止）
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default)]
    pub ends_on: Option<NaiveDate>,
    /// 预警文号（可空）
    #[serde(default)]
    #[schema(max_length = 100)]
    pub document_number: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    /// 调整后的级别
    pub level: String,
    /// 调整生效日期（原预警至前一日结束）
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub document_number: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftBody {
    /// 解除日期（预警最后一日为前一日）
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
    #[serde(default)]
    #[schema(max_length = 100)]
    pub document_number: String,
}

#[utoipa::path(post, path = "/emergency/warnings", summary = "发布重污染天气预警（攻坚办、管理员；清单企业即收到通知）", request_body = IssueBody, responses((status = 201, description = "预警", body = Object)))]
pub async fn issue_warning(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<IssueBody>,
) -> Result<(StatusCode, Json<Warning>), ApiError> {
    if !may_issue(&me.user) {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    let w = gongjian_app::emergency::issue_warning(
        &state.db,
        &me.actor(),
        &body.level,
        body.starts_on,
        body.ends_on,
        &body.document_number,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(w)))
}

#[utoipa::path(post, path = "/emergency/warnings/{id}/change", summary = "预警升级或降级（自生效日起由新预警接替，企业重新确认）", params(crate::api::doc::IdPath), request_body = ChangeBody, responses((status = 201, description = "接替的新预警", body = Object)))]
pub async fn change_warning(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<(StatusCode, Json<Warning>), ApiError> {
    if !may_issue(&me.user) {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    let w = gongjian_app::emergency::change_warning(
        &state.db,
        &me.actor(),
        id,
        &body.level,
        body.from,
        &body.document_number,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(w)))
}

#[utoipa::path(post, path = "/emergency/warnings/{id}/lift", summary = "解除预警（攻坚办、管理员）", params(crate::api::doc::IdPath), request_body = LiftBody, responses((status = 200, description = "预警", body = Object)))]
pub async fn lift_warning(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<LiftBody>,
) -> Result<Json<Warning>, ApiError> {
    if !may_issue(&me.user) {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    Ok(Json(
        gongjian_app::emergency::lift_warning(
            &state.db,
            &me.actor(),
            id,
            body.on,
            &body.document_number,
        )
        .await?,
    ))
}

#[utoipa::path(post, path = "/emergency/warnings/{id}/confirm", summary = "企业确认收到预警及本企业措施", params(crate::api::doc::IdPath), responses((status = 200, description = "已确认", body = Object)))]
pub async fn confirm_warning(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    if me.user.role != Role::Enterprise {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    gongjian_app::emergency::confirm_receipt(&state.db, &me.actor(), id, me.user.organisation_id)
        .await?;
    Ok(Json(json!({ "warning": id, "confirmed": true })))
}

#[utoipa::path(post, path = "/emergency/warnings/{id}/notice", summary = "上传预警通知文件（攻坚办、管理员；multipart 字段 file，可多个；PDF、图片或 Office 文档）", params(crate::api::doc::IdPath), request_body(content((crate::api::doc::NoticeUpload = "multipart/form-data"))), responses((status = 201, description = "预警的全部通知文件", body = Object)))]
pub async fn add_notice(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    req: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !may_issue(&me.user) {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    if !super::campaign::is_multipart(req.headers()) {
        return Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            "请以 multipart/form-data 上传，文件放在字段 file 中",
        ));
    }
    super::campaign::require_csrf_header(&me, req.headers())?;
    let _permit = state.uploads.try_acquire(me.user.id)?;
    let mp = Multipart::from_request(req, &state)
        .await
        .map_err(|e| ApiError::with_detail(ErrorCode::InvalidInput, e.body_text()))?;
    let form = super::campaign::read_multipart(&state.campaign, mp).await?;
    if form.files.is_empty() {
        return Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            "请选择通知文件",
        ));
    }
    if let Some(why) = form.files.iter().find_map(|f| f.refusal()) {
        return Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            why.to_owned(),
        ));
    }
    // The warning must exist before anything is moved into place.
    state.db.emergency().warning(id).await?;
    let (stored, failed) = super::campaign::store_uploads(&state.campaign, form.files).await;
    if !failed.is_empty() {
        return Err(ApiError::with_detail(
            ErrorCode::Internal,
            failed.join("；"),
        ));
    }
    gongjian_app::emergency::add_notice(&state.db, &me.actor(), id, &stored).await?;
    let notice = gongjian_app::emergency::notices(&state.db)
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "warning": id, "notice": notice })),
    ))
}

/// The office, admins and viewers see every enterprise's verification.
fn may_see(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Office | Role::Viewer)
}

#[utoipa::path(get, path = "/emergency/warnings", summary = "重污染天气预警列表（新的在前；攻坚办、管理员、只读）", responses((status = 200, description = "预警", body = Vec<Object>)))]
pub async fn warnings(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Vec<Warning>>, ApiError> {
    if !may_see(&me.user) {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    Ok(Json(state.db.emergency().warnings().await?))
}

#[utoipa::path(get, path = "/emergency/warnings/{id}/verification", summary = "预警期间清单企业逐日核查（用电：达标 / 未落实 / 无法核查）", params(crate::api::doc::IdPath), responses((status = 200, description = "核查结果", body = Object)))]
pub async fn verification(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<gongjian_app::emergency::WarningVerification>, ApiError> {
    if !may_see(&me.user) {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    let today = gongjian_app::now_local().date();
    Ok(Json(
        gongjian_app::emergency::verify_warning(&state.db, id, today).await?,
    ))
}
