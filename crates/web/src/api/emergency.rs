//! Heavy-pollution emergency response over the API (issue 15): the
//! warnings and a warning's verification, as `gongjian emergency verify
//! --json` prints it (`gongjian_app::emergency`).

use axum::Json;
use axum::extract::{Path, State};
use gongjian_storage::{Role, User, Warning};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::session::ApiUser;

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
