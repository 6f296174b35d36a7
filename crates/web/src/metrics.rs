//! `/healthz` (JSON) and `/metrics` (Prometheus text), and the middleware
//! that counts requests.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::AppState;

#[derive(Debug, Default)]
pub struct Metrics {
    requests_2xx: AtomicU64,
    requests_3xx: AtomicU64,
    requests_4xx: AtomicU64,
    requests_5xx: AtomicU64,
    /// Web connections open now, and those closed on accept over a cap.
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_refused_global: AtomicU64,
    pub(crate) connections_refused_per_address: AtomicU64,
    pub(crate) requests_timed_out: AtomicU64,
}

impl Metrics {
    fn record(&self, status: u16) {
        let counter = match status {
            200..=299 => &self.requests_2xx,
            300..=399 => &self.requests_3xx,
            400..=499 => &self.requests_4xx,
            _ => &self.requests_5xx,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    state.metrics.record(response.status().as_u16());
    response
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(state): State<AppState>) -> Response {
    let db_ok = state.db.ping().await.is_ok();
    let body = json!({
        "status": if db_ok { "ok" } else { "degraded" },
        "database": if db_ok { "ok" } else { "unreachable" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": state.started.elapsed().as_secs(),
    });
    let status = if db_ok {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let db_up = u8::from(state.db.ping().await.is_ok());
    let mut out = String::new();
    out.push_str("# HELP gongjian_http_requests_total HTTP responses by status class.\n");
    out.push_str("# TYPE gongjian_http_requests_total counter\n");
    for (class, counter) in [
        ("2xx", &m.requests_2xx),
        ("3xx", &m.requests_3xx),
        ("4xx", &m.requests_4xx),
        ("5xx", &m.requests_5xx),
    ] {
        out.push_str(&format!(
            "gongjian_http_requests_total{{class=\"{class}\"}} {}\n",
            counter.load(Ordering::Relaxed)
        ));
    }
    out.push_str(&connection_metrics(m));
    out.push_str("# HELP gongjian_database_up Whether the database answers.\n");
    out.push_str("# TYPE gongjian_database_up gauge\n");
    out.push_str(&format!("gongjian_database_up {db_up}\n"));
    out.push_str("# HELP gongjian_uptime_seconds Seconds since start.\n");
    out.push_str("# TYPE gongjian_uptime_seconds gauge\n");
    out.push_str(&format!(
        "gongjian_uptime_seconds {}\n",
        state.started.elapsed().as_secs()
    ));
    if let Some(extra) = state.extra_metrics {
        out.push_str(&extra());
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// The web server's connection counters (crate::server).
fn connection_metrics(m: &Metrics) -> String {
    format!(
        "# HELP gongjian_http_connections_open Web connections open now.\n\
         # TYPE gongjian_http_connections_open gauge\n\
         gongjian_http_connections_open {}\n\
         # HELP gongjian_http_connections_refused_total Web connections closed on accept, by the cap they met.\n\
         # TYPE gongjian_http_connections_refused_total counter\n\
         gongjian_http_connections_refused_total{{cap=\"global\"}} {}\n\
         gongjian_http_connections_refused_total{{cap=\"per_address\"}} {}\n\
         # HELP gongjian_http_requests_timed_out_total Requests answered 408 after the request timeout.\n\
         # TYPE gongjian_http_requests_timed_out_total counter\n\
         gongjian_http_requests_timed_out_total {}\n",
        m.connections_open.load(Ordering::Relaxed),
        m.connections_refused_global.load(Ordering::Relaxed),
        m.connections_refused_per_address.load(Ordering::Relaxed),
        m.requests_timed_out.load(Ordering::Relaxed),
    )
}
