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

pub async fn list(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Vec<Organisation>>, ApiError> {
    let all = state.db.organisations().await?;
    Ok(Json(
        all.into_iter().filter(|o| may_read(&me.user, o)).collect(),
    ))
}

pub async fn get_one(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Organisation>, ApiError> {
    let org = state.db.organisation(id).await?;
    me.require(may_read(&me.user, &org))?;
    Ok(Json(org))
}

#[derive(Deserialize)]
pub struct OrgBody {
    name: String,
    kind: OrgKind,
    #[serde(default)]
    parent_id: Option<i64>,
}

pub async fn create(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<OrgBody>,
) -> Result<(axum::http::StatusCode, Json<Organisation>), ApiError> {
    me.require(may_write(&me.user))?;
    let org = state
        .db
        .create_organisation(&me.actor(), &body.name, body.kind, body.parent_id)
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(org)))
}

pub async fn update(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<OrgBody>,
) -> Result<Json<Organisation>, ApiError> {
    me.require(may_write(&me.user))?;
    let org = state
        .db
        .update_organisation(&me.actor(), id, &body.name, body.kind)
        .await?;
    Ok(Json(org))
}
