//! Who is asking: the client address, the session from the cookie, and the
//! extractors that refuse a request before a handler runs.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use gongjian_storage::{Actor, Session, User};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

/// The peer address of the connection (the platform does not trust
/// forwarding headers unless a proxy setting says so; none exists yet).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(ClientAddr(addr))
    }
}

pub(crate) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` value. HttpOnly and SameSite=Lax always; Secure when the
/// deployment says it is behind TLS.
pub(crate) fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("cookie value is ASCII")
}

/// The session, if the request carries a live one.
#[derive(Debug, Clone)]
pub struct MaybeSession {
    pub session: Option<Session>,
    pub token: Option<String>,
    pub addr: String,
}

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientAddr(addr) = ClientAddr::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        let token = cookie(parts, &state.settings.cookie_name);
        let session = match &token {
            Some(t) => {
                state
                    .db
                    .sessions()
                    .session(t, state.settings.sessions)
                    .await?
            }
            None => None,
        };
        Ok(MaybeSession {
            session,
            token,
            addr,
        })
    }
}

/// A signed-in user for an API route. Answers E1001 without a session and
/// E1008 while the password must be changed (except on the routes that
/// change it, show who you are, or log out).
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub user: User,
    pub csrf: String,
    pub addr: String,
}

impl ApiUser {
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user, self.addr.clone())
    }

    pub fn require(&self, allowed: bool) -> Result<(), ApiError> {
        if allowed {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::Forbidden))
        }
    }
}

const PASSWORD_CHANGE_PATHS: [&str; 3] = ["/me", "/me/password", "/auth/logout"];

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let maybe = MaybeSession::from_request_parts(parts, state).await?;
        let session = maybe
            .session
            .ok_or(ApiError::new(ErrorCode::Unauthenticated))?;
        let path = parts.uri.path();
        if session.user.must_change_password
            && !PASSWORD_CHANGE_PATHS.iter().any(|p| path.ends_with(p))
        {
            return Err(ApiError::new(ErrorCode::PasswordChangeRequired));
        }
        Ok(ApiUser {
            user: session.user,
            csrf: session.csrf_token,
            addr: maybe.addr,
        })
    }
}

/// A signed-in user for a page. Without a session the browser is sent to
/// the login page; with a password to change, to the password page.
#[derive(Debug, Clone)]
pub struct PageUser {
    pub user: User,
    pub csrf: String,
    pub addr: String,
}

impl PageUser {
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user, self.addr.clone())
    }
}

pub struct PageRejection(Response);

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        self.0
    }
}

/// Sends the browser to `target`. An htmx request (a fragment the page
/// polls or loads) is told to navigate the whole page with `HX-Redirect`:
/// followed as a plain redirect, the login or password page would be
/// swapped into the fragment.
fn redirect_page(parts: &Parts, target: &str) -> Response {
    if parts.headers.contains_key("hx-request") {
        let mut r = axum::http::StatusCode::OK.into_response();
        if let Ok(v) = HeaderValue::from_str(target) {
            r.headers_mut().insert("hx-redirect", v);
        }
        r
    } else {
        Redirect::to(target).into_response()
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let maybe = MaybeSession::from_request_parts(parts, state)
            .await
            .map_err(|e| PageRejection(e.into_response()))?;
        let Some(session) = maybe.session else {
            let next = parts.uri.path();
            let target = format!("/login?next={}", urlencode(next));
            return Err(PageRejection(redirect_page(parts, &target)));
        };
        if session.user.must_change_password && parts.uri.path() != "/account/password" {
            return Err(PageRejection(redirect_page(parts, "/account/password")));
        }
        Ok(PageUser {
            user: session.user,
            csrf: session.csrf_token,
            addr: maybe.addr,
        })
    }
}

/// Percent-encode a path for a query value (enough for our own paths).
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Longest `next` followed after login; a longer one gives `/`.
pub(crate) const MAX_NEXT_LEN: usize = 512;

/// Only follow `next` to a local path, never to another site; anything else
/// gives `/`. The value arrives decoded once (query or form). It must be
/// printable ASCII — no control characters (browsers drop tab, CR and LF, so
/// `/\t/evil` would become `//evil`), no spaces, nothing a `Location` header
/// cannot carry (CR/LF there was an HTTP 500) — and start with one `/` not
/// followed by `/` or `\`, with no backslash anywhere (browsers read `\` as
/// `/`). The same holds once more decoded, for a value encoded twice.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(n: &str) -> bool {
    let plain = |p: &str| {
        p.len() <= MAX_NEXT_LEN
            && p.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
            && p.starts_with('/')
            && !p.starts_with("//")
    };
    plain(n) && percent_decode(n).is_some_and(|decoded| plain(&decoded))
}

/// Decode `%XX` escapes; `None` for a malformed escape or bytes that are not
/// UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    hex::encode(buf)
}

/// Compare two secrets without leaking where they differ.
pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_never_leaves_the_site() {
        assert_eq!(safe_next(Some("/system/users")), "/system/users");
        assert_eq!(safe_next(Some("/tasks?status=open&x=%E4%B8%AD")), "/");
        assert_eq!(safe_next(Some("/tasks?status=open")), "/tasks?status=open");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn item_10_next_refuses_every_crafted_value() {
        for bad in [
            "/\t/evil/",
            "/\n/evil/",
            "/\r\n/evil/",
            "\t//evil/",
            " //evil/",
            "/\\evil/",
            "\\/evil/",
            "/\\/evil/",
            "/%09/evil/",
            "/%2F/evil/",
            "/%5Cevil/",
            "/%2f%2fevil/",
            "/%0d%0aSet-Cookie:%20x=1",
            "/\r\nSet-Cookie: x=1",
            "/%ff%fe",
            "/%zz",
            "/%",
            "/中文",
            "javascript:alert(1)",
            "http://evil.example/",
            "evil.example",
            "",
            "/\u{0}",
            "/\u{7f}",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        let long = format!("/{}", "a".repeat(MAX_NEXT_LEN));
        assert_eq!(safe_next(Some(&long)), "/");
        let fits = format!("/{}", "a".repeat(MAX_NEXT_LEN - 1));
        assert_eq!(safe_next(Some(&fits)), fits);
        // What it lets through always makes a valid Location header.
        assert!(HeaderValue::from_str(&safe_next(Some("/tasks/1?x=%20"))).is_ok());
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
