//! Security headers on every response the application makes: pages, API,
//! static assets, errors and the 404 fallback (issue #10, item 14).
//!
//! * `Content-Security-Policy`: scripts only from this origin — no inline
//!   `<script>`, no `on…=` handler attribute, no `eval` — so that markup
//!   injected into a page cannot run even if escaping fails somewhere.
//!   `style-src` allows `'unsafe-inline'` because ECharts positions its
//!   tooltip and chart containers with inline `style` attributes and the
//!   templates carry small `<style>` blocks; styles cannot run script.
//!   Images may be `data:`/`blob:` URLs (ECharts' "save as image"), and
//!   come from the map's tile host when `map.tile_url` is configured
//!   ([`policy`]); with no tile URL no other origin is allowed.
//! * `X-Frame-Options: DENY` and `frame-ancestors 'none'`: no page is shown
//!   inside a frame (clickjacking of `/system/users`).
//! * `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
//!   `Permissions-Policy` (no camera, microphone, geolocation, …),
//!   `Cross-Origin-Opener-Policy: same-origin`.
//! * `Cache-Control: no-store` on everything that does not set its own cache
//!   policy: pages and API answers carry personal data and must not stay in
//!   a shared browser's cache; static assets keep their `public` policy.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

use crate::AppState;

pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'";

const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), \
     serial=(), bluetooth=(), interest-cohort=()";

/// The policy with images also allowed from `tile_origin` (the configured
/// map tile host, already checked by the config crate to be a plain
/// `scheme://host[:port]`).
pub(crate) fn policy(tile_origin: Option<&str>) -> String {
    match tile_origin {
        Some(origin) => CONTENT_SECURITY_POLICY.replacen(
            "img-src 'self' data: blob:;",
            &format!("img-src 'self' data: blob: {origin};"),
            1,
        ),
        None => CONTENT_SECURITY_POLICY.to_owned(),
    }
}

fn fixed() -> [(HeaderName, &'static str); 5] {
    [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("permissions-policy"),
            PERMISSIONS_POLICY,
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ]
}

/// Add the security headers to `res` (for
/// `axum::middleware::map_response_with_state`).
pub(crate) async fn add(State(state): State<AppState>, mut res: Response) -> Response {
    let h = res.headers_mut();
    // A response that carries its own, stricter policy keeps it (an
    // attachment shown inline: `api::campaign::INLINE_FILE_POLICY`).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            state.settings.content_security_policy.clone(),
        );
    }
    for (name, value) in fixed() {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_host_is_allowed_for_images_only() {
        assert_eq!(policy(None), CONTENT_SECURITY_POLICY);
        let p = policy(Some("http://10.0.0.1:8080"));
        assert!(
            p.contains("img-src 'self' data: blob: http://10.0.0.1:8080;"),
            "{p}"
        );
        assert!(p.contains("script-src 'self';"), "{p}");
        assert!(p.contains("connect-src 'self';"), "{p}");
    }
}
