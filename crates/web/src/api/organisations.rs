use axum::Json;
use axum::extract::{Path, State};
use gongjian_storage::{OrgKind, Organisation, User};
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ApiJson};
use crate::session::ApiUser;

/// Department, township and enterprise users see their own organisation's
/// record only; the office, admins and viewers see all.
pub(crate) fn may_read(user: &User, org: &Organisation) -> bool {
    user.role.sees_all() || user.organisation_id == org.id
}

pub(crate) fn may_write(user: &User) -> bool {
    matches!(
        user.role,
        gongjian_storage::Role::Admin | gongjian_storage::Role::Office
    )
}

#[utoipa::path(get, path = "/organisations", summary = "单位列表（部门、乡镇、企业只见本单位）", responses((status = 200, description = "单位", body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Vec<Organisation>>, ApiError> {
    let all = state.db.organisations().list().await?;
    Ok(Json(
        all.into_iter().filter(|o| may_read(&me.user, o)).collect(),
    ))
}

#[utoipa::path(get, path = "/organisations/{id}", summary = "单位详情", params(crate::api::doc::IdPath), responses((status = 200, description = "单位", body = Object)))]
pub async fn get_one(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Organisation>, ApiError> {
    let org = state.db.organisations().organisation(id).await?;
    me.require(may_read(&me.user, &org))?;
    Ok(Json(org))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OrgBody {
    /// At most `NAME_MAX` characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    #[schema(value_type = crate::api::doc::OrgKindName)]
    kind: OrgKind,
    #[serde(default)]
    parent_id: Option<i64>,
}

#[utoipa::path(post, path = "/organisations", summary = "新建单位（管理员、攻坚办）", request_body = OrgBody, responses((status = 201, description = "已新建", body = Object)))]
pub async fn create(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<OrgBody>,
) -> Result<(axum::http::StatusCode, Json<Organisation>), ApiError> {
    me.require(may_write(&me.user))?;
    let org = state
        .db
        .organisations()
        .create_organisation(&me.actor(), &body.name, body.kind, body.parent_id)
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(org)))
}

#[utoipa::path(put, path = "/organisations/{id}", summary = "修改单位（管理员、攻坚办）", params(crate::api::doc::IdPath), request_body = OrgBody, responses((status = 200, description = "已修改", body = Object)))]
pub async fn update(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<OrgBody>,
) -> Result<Json<Organisation>, ApiError> {
    me.require(may_write(&me.user))?;
    let org = state
        .db
        .organisations()
        .update_organisation(&me.actor(), id, &body.name, body.kind)
        .await?;
    Ok(Json(org))
}
