//! Security headers on every response the application makes: pages, API,
//! static assets, errors and the 404 fallback (issue #10, item 14).
//!
//! * `Content-Security-Policy`: scripts only from this origin — no inline
//!   `<script>`, no `on…=` handler attribute, no `eval` — so that markup
//!   injected into a page cannot run even if escaping fails somewhere.
//!   `style-src` allows `'unsafe-inline'` because ECharts positions its
//!   tooltip and chart containers with inline `style` attributes and the
//!   templates carry small `<style>` blocks; styles cannot run script.
//!   Images may be `data:`/`blob:` URLs (ECharts' "save as image").
//! * `X-Frame-Options: DENY` and `frame-ancestors 'none'`: no page is shown
//!   inside a frame (clickjacking of `/system/users`).
//! * `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
//!   `Permissions-Policy` (no camera, microphone, geolocation, …),
//!   `Cross-Origin-Opener-Policy: same-origin`.
//! * `Cache-Control: no-store` on everything that does not set its own cache
//!   policy: pages and API answers carry personal data and must not stay in
//!   a shared browser's cache; static assets keep their `public` policy.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'";

const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), \
     serial=(), bluetooth=(), interest-cohort=()";

fn fixed() -> [(HeaderName, &'static str); 6] {
    [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
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

/// Add the security headers to `res` (for `axum::middleware::map_response`).
pub(crate) async fn add(mut res: Response) -> Response {
    let h = res.headers_mut();
    for (name, value) in fixed() {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
