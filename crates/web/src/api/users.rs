use axum::Json;
use axum::extract::{Path, State};
use gongjian_storage::{NewUser, Role, User};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::error::{ApiError, ApiJson, ErrorCode};
use crate::session::ApiUser;

#[utoipa::path(get, path = "/users", summary = "用户列表（管理员）", responses((status = 200, description = "用户", body = Vec<Object>)))]
pub async fn list(State(state): State<AppState>, me: ApiUser) -> Result<Json<Vec<User>>, ApiError> {
    me.require(me.user.role.manages_users())?;
    Ok(Json(state.db.accounts().users().await?))
}

#[utoipa::path(get, path = "/users/{id}", summary = "用户详情（管理员）", params(crate::api::doc::IdPath), responses((status = 200, description = "用户", body = Object)))]
pub async fn get_one(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<User>, ApiError> {
    me.require(me.user.role.manages_users())?;
    Ok(Json(state.db.accounts().user(id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateBody {
    #[schema(pattern = r"^[A-Za-z0-9_.-]{2,64}$")]
    username: String,
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    display_name: String,
    /// At least `MIN_PASSWORD_LEN` characters.
    #[schema(min_length = 10)]
    password: String,
    #[schema(value_type = crate::api::doc::RoleName)]
    role: Role,
    organisation_id: i64,
}

#[utoipa::path(post, path = "/users", summary = "新建用户（管理员）", request_body = CreateBody, responses((status = 201, description = "已新建", body = Object)))]
pub async fn create(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(axum::http::StatusCode, Json<User>), ApiError> {
    me.require(me.user.role.manages_users())?;
    let user = state
        .db
        .accounts()
        .create_user(
            &me.actor(),
            &NewUser {
                username: body.username,
                display_name: body.display_name,
                password: body.password,
                role: body.role,
                organisation_id: body.organisation_id,
                must_change_password: true,
            },
        )
        .await?;
    Ok((axum::http::StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[schema(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    display_name: Option<String>,
    #[schema(value_type = Option<crate::api::doc::RoleName>)]
    role: Option<Role>,
    organisation_id: Option<i64>,
    disabled: Option<bool>,
}

#[utoipa::path(patch, path = "/users/{id}", summary = "修改用户：姓名、角色、单位、停用（管理员）", params(crate::api::doc::IdPath), request_body = UpdateBody, responses((status = 200, description = "已修改", body = Object)))]
pub async fn update(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<User>, ApiError> {
    me.require(me.user.role.manages_users())?;
    if id == me.user.id
        && (body.disabled == Some(true) || body.role.is_some_and(|r| r != Role::Admin))
    {
        return Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            "不能停用自己或取消自己的管理员角色",
        ));
    }
    let current = state.db.accounts().user(id).await?;
    let mut user = current.clone();
    if body.display_name.is_some() || body.role.is_some() || body.organisation_id.is_some() {
        user = state
            .db
            .accounts()
            .update_user(
                &me.actor(),
                id,
                body.display_name
                    .as_deref()
                    .unwrap_or(&current.display_name),
                body.role.unwrap_or(current.role),
                body.organisation_id.unwrap_or(current.organisation_id),
            )
            .await?;
    }
    if let Some(disabled) = body.disabled
        && disabled != current.disabled
    {
        user = state
            .db
            .accounts()
            .set_user_disabled(&me.actor(), id, disabled)
            .await?;
    }
    Ok(Json(user))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetBody {
    #[schema(min_length = 10)]
    password: String,
}

#[utoipa::path(post, path = "/users/{id}/password", summary = "重置用户密码（管理员）", params(crate::api::doc::IdPath), request_body = ResetBody, responses((status = 200, description = "已重置", body = Object)))]
pub async fn reset_password(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    me.require(me.user.role.manages_users())?;
    state
        .db
        .accounts()
        .set_password(&me.actor(), id, &body.password, true)
        .await?;
    Ok(Json(json!({ "ok": true })))
}
