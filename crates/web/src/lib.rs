//! The web front end: server-rendered pages in Simplified Chinese (askama +
//! htmx) and the JSON API under `/api/v1`, both on one axum router. Every
//! route checks access on the server through the session extractors in
//! [`session`].
#![forbid(unsafe_code)]

pub mod api;
mod assets;
pub mod attachments;
pub mod csrf;
pub mod error;
mod headers;
mod metrics;
mod pages;
mod server;
pub mod session;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use gongjian_config::Config;
use gongjian_storage::{Db, LoginLimits, SessionLimits};
use tokio::net::TcpListener;

pub use metrics::Metrics;
pub use server::HttpLimits;

/// Settings the web layer needs, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    pub cookie_name: String,
    pub cookie_secure: bool,
    pub sessions: SessionLimits,
    pub logins: LoginLimits,
    pub http: HttpLimits,
    /// The map page's base layer (`[map]`).
    pub map: MapSettings,
    /// The Content-Security-Policy header, with the tile host if any.
    pub content_security_policy: axum::http::HeaderValue,
}

/// `[map]` as the map page needs it.
#[derive(Debug, Clone, Default)]
pub struct MapSettings {
    /// Tile URL template; empty: boundaries and points on a plain background.
    pub tile_url: String,
    pub attribution: String,
}

impl WebSettings {
    pub fn from_config(config: &Config) -> WebSettings {
        WebSettings {
            cookie_name: config.session.cookie_name.clone(),
            cookie_secure: config.session.secure,
            sessions: SessionLimits {
                idle_secs: config.session.idle_timeout_minutes as i64 * 60,
                absolute_secs: config.session.absolute_timeout_hours as i64 * 3600,
            },
            logins: LoginLimits {
                max_failures: config.login.max_failures as i64,
                account_max_failures: config.login.account_max_failures as i64,
                lockout_secs: config.login.lockout_minutes as i64 * 60,
                address_failures_per_minute: config.login.address_failures_per_minute as i64,
            },
            http: HttpLimits::from_config(&config.http),
            map: MapSettings {
                tile_url: config.map.tile_url.clone(),
                attribution: config.map.attribution.clone(),
            },
            content_security_policy: axum::http::HeaderValue::from_str(&headers::policy(
                config.map.tile_origin().as_deref(),
            ))
            // The config crate admits only URL characters in the origin.
            .unwrap_or_else(|_| {
                axum::http::HeaderValue::from_static(headers::CONTENT_SECURITY_POLICY)
            }),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<WebSettings>,
    pub metrics: Arc<Metrics>,
    pub started: Instant,
    pub campaign: Arc<attachments::CampaignSettings>,
    pub air_cache: Arc<gongjian_app::air::AirCache>,
    /// Uploads running now, bounded per user and in total.
    pub uploads: Arc<attachments::UploadGate>,
    /// More Prometheus text for `/metrics` from parts the binary composes
    /// (the HJ 212 listener's counters), without this crate depending on them.
    pub extra_metrics: Option<fn() -> String>,
}

impl AppState {
    pub fn new(db: Db, settings: WebSettings) -> AppState {
        let campaign = attachments::CampaignSettings::default();
        AppState {
            db,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            started: Instant::now(),
            uploads: Arc::new(attachments::UploadGate::new(
                campaign.uploads_per_user,
                campaign.uploads_total,
            )),
            campaign: Arc::new(campaign),
            air_cache: Arc::default(),
            extra_metrics: None,
        }
    }

    /// Append `render`'s Prometheus text to `/metrics`.
    pub fn with_extra_metrics(mut self, render: fn() -> String) -> AppState {
        self.extra_metrics = Some(render);
        self
    }

    /// Campaign settings: attachment directory and limits, reminder days.
    pub fn with_campaign(mut self, settings: attachments::CampaignSettings) -> AppState {
        self.uploads = Arc::new(attachments::UploadGate::new(
            settings.uploads_per_user,
            settings.uploads_total,
        ));
        self.campaign = Arc::new(settings);
        self
    }
}

/// The whole application: pages, API, assets, health and metrics.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(pages::routes(&state))
        .nest("/api/v1", api::routes(&state.campaign))
        .merge(assets::routes())
        .merge(metrics::routes())
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            server::request_timeout,
        ))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            headers::add,
        ))
        .layer(request_spans())
        .with_state(state)
}

type RequestSpans = tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    fn(&axum::http::Request<axum::body::Body>) -> tracing::Span,
>;

/// One span per request with the method and the path (never the query,
/// which may carry a search a user typed), so every line logged while it
/// runs says which request it belongs to; server errors are logged.
fn request_spans() -> RequestSpans {
    fn span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
        tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
    }
    tower_http::trace::TraceLayer::new_for_http().make_span_with(span as fn(&_) -> _)
}

/// Serve until `shutdown` resolves, then finish in-flight requests, within
/// the connection and time limits of `[http]` (see [`server`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.settings.http.clone();
    let metrics = state.metrics.clone();
    server::serve(listener, app(state), limits, metrics, shutdown).await
}
