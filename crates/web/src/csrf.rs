//! Cross-site request forgery defence, in one middleware in front of every
//! route. A state-changing request (any method but GET, HEAD, OPTIONS and
//! TRACE) is refused when
//!
//! * `Sec-Fetch-Site` is present and is neither `same-origin` nor `none`
//!   (a page on another port of the same host is `same-site`: refused), or
//! * `Origin` is present and is not this server's own origin: the `Host` the
//!   request was sent to, with `https` when the session cookie is `Secure`
//!   and `http` or `https` otherwise (a TLS proxy in front; a different
//!   port is a different origin either way); `Origin: null` is refused;
//! * under `/api/`, the request carries a live session cookie and its
//!   `X-CSRF-Token` header is not that session's CSRF token (`GET
//!   /api/v1/me` returns it). The login route has no session yet and is
//!   covered by the two origin checks alone.
//!
//! Page forms carry the token in their `csrf` field, which each page
//! handler checks (`pages::check_csrf`); the browser's fetch and htmx
//! requests send the header. Refusals are the API's error JSON (E1010 for a
//! cross-site request, E1007 for a missing or wrong token) or a Chinese
//! error page.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::session::constant_time_eq;

/// The header that carries the session's CSRF token on API and fetch
/// requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The API route that starts a session: it has no token to check.
const LOGIN_PATH: &str = "/api/v1/auth/login";

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The middleware: see the module documentation.
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_safe(req.method()) {
        return next.run(req).await;
    }
    let api = req.uri().path().starts_with("/api/");
    if is_cross_site(&state, req.headers(), req.uri()) {
        return refuse(api, ErrorCode::CrossSiteRejected);
    }
    if api && req.uri().path() != LOGIN_PATH {
        let (parts, body) = req.into_parts();
        if let Some(token) = crate::session::cookie(&parts, &state.settings.cookie_name) {
            match state
                .db
                .sessions()
                .session(&token, state.settings.sessions)
                .await
            {
                Ok(Some(session)) => {
                    let sent = parts
                        .headers
                        .get(CSRF_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    if !constant_time_eq(&session.csrf_token, sent) {
                        return refuse(true, ErrorCode::CsrfRejected);
                    }
                }
                // No live session: the handler answers as to anyone else
                // (E1001), the cookie carries no authority.
                Ok(None) => {}
                Err(err) => return ApiError::from(err).into_response(),
            }
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    next.run(req).await
}

/// Whether a state-changing request comes from another origin, by the
/// browser's own word (`Sec-Fetch-Site`, `Origin`). Clients that send
/// neither (curl, scripts) pass here and meet the token check.
fn is_cross_site(state: &AppState, headers: &HeaderMap, uri: &Uri) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str(), Ok("same-origin" | "none"))
    {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    let Some(host) = host else {
        return true;
    };
    let schemes: &[&str] = if state.settings.cookie_secure {
        &["https"]
    } else {
        &["http", "https"]
    };
    !schemes.iter().any(|scheme| {
        origin
            .strip_prefix(scheme)
            .and_then(|rest| rest.strip_prefix("://"))
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
    })
}

fn refuse(api: bool, code: ErrorCode) -> Response {
    if api {
        ApiError::new(code).into_response()
    } else {
        crate::pages::refusal_page(code)
    }
}
