use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use gongjian_storage::{LoginRefusal, User, verify_password};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::error::{ApiError, ApiJson, ErrorCode};
use crate::session::{ApiUser, ClientAddr, MaybeSession, set_cookie};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// Check credentials and start a session. Shared with the login page.
pub(crate) async fn start_session(
    state: &AppState,
    username: &str,
    password: &str,
    addr: &str,
) -> Result<(User, HeaderMap), ApiError> {
    let outcome = state
        .db
        .sessions()
        .authenticate(username.trim(), password, addr, state.settings.logins)
        .await?;
    let user = outcome.map_err(|refusal| match refusal {
        LoginRefusal::Throttled => ApiError::new(ErrorCode::LoginThrottled),
        LoginRefusal::BadCredentials | LoginRefusal::Locked => {
            ApiError::new(ErrorCode::LoginFailed)
        }
    })?;
    let (token, _csrf) = state.db.sessions().create_session(user.id, addr).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        set_cookie(
            state,
            &state.settings.cookie_name,
            &token,
            state.settings.sessions.absolute_secs,
        ),
    );
    Ok((user, headers))
}

#[utoipa::path(post, path = "/auth/login", summary = "登录：用户名和密码换取会话 Cookie", security(()), request_body = LoginBody, responses((status = 200, description = "已登录，Set-Cookie 带会话", body = Object)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let (user, headers) = start_session(&state, &body.username, &body.password, &addr).await?;
    Ok((headers, Json(json!({ "user": user }))).into_response())
}

#[utoipa::path(post, path = "/auth/logout", summary = "退出登录", responses((status = 200, description = "已退出", body = Object)))]
pub async fn logout(
    State(state): State<AppState>,
    maybe: MaybeSession,
) -> Result<Response, ApiError> {
    end_session(&state, &maybe).await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        set_cookie(&state, &state.settings.cookie_name, "", 0),
    );
    Ok((headers, Json(json!({ "ok": true }))).into_response())
}

pub(crate) async fn end_session(state: &AppState, maybe: &MaybeSession) -> Result<(), ApiError> {
    if let (Some(token), Some(session)) = (&maybe.token, &maybe.session) {
        state.db.sessions().delete_session(token).await?;
        let actor = gongjian_storage::Actor::user(&session.user, maybe.addr.clone());
        state
            .db
            .audit()
            .record(
                &actor,
                gongjian_storage::AuditRecord::new("logout", "session", session.user.id),
            )
            .await?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/me", summary = "当前用户及其 csrf_token", responses((status = 200, description = "当前用户", body = Object)))]
pub async fn me(me: ApiUser) -> Json<serde_json::Value> {
    Json(json!({ "user": me.user, "csrf_token": me.csrf }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordBody {
    current: String,
    #[schema(min_length = 10)]
    new: String,
}

#[utoipa::path(post, path = "/me/password", summary = "修改本人密码", request_body = PasswordBody, responses((status = 200, description = "已修改", body = Object)))]
pub async fn change_password(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    change_own_password(&state, &me.user, &me.actor(), &body.current, &body.new).await?;
    Ok(Json(json!({ "ok": true })))
}

/// Shared with the password page.
pub(crate) async fn change_own_password(
    state: &AppState,
    user: &User,
    actor: &gongjian_storage::Actor,
    current: &str,
    new: &str,
) -> Result<(), ApiError> {
    if !verify_password(current, &user.password_hash) {
        return Err(ApiError::new(ErrorCode::WrongPassword));
    }
    if current == new {
        return Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            "新密码不能与当前密码相同",
        ));
    }
    state
        .db
        .accounts()
        .set_password(actor, user.id, new, false)
        .await?;
    Ok(())
}
