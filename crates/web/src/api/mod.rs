//! The JSON API under `/api/v1`. Errors are `{"code": "E…", "message": "…"}`
//! (see [`crate::error`]). Writes with a session cookie need the session's
//! token in the `X-CSRF-Token` header (from `GET /api/v1/me`) and are
//! refused from another origin; see [`crate::csrf`].

pub(crate) mod alarms;
mod audit;
mod auth;
pub(crate) mod campaign;
mod doc;
mod emergency;
mod map;
pub(crate) mod monitoring;
pub(crate) mod notify;
mod organisations;
mod power;
mod season;
pub(crate) mod targets;
mod users;

use std::sync::LazyLock;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::OpenApi as _;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;

pub(crate) use audit::{AuditQuery, actor_labels, audit_csv_response, cst};
pub(crate) use auth::{change_own_password, end_session, start_session};
pub(crate) use organisations::{
    may_read as may_read_organisation, may_write as may_write_organisation,
};

/// The one route table: every API route with its handler. The router and
/// the OpenAPI document are both built from it; each handler's
/// `#[utoipa::path]` annotation names its method, path (relative to
/// `/api/v1`), parameters, body and responses.
pub(crate) fn table(limits: &crate::attachments::CampaignSettings) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get_one, users::update))
        .routes(routes!(users::reset_password))
        .routes(routes!(organisations::list, organisations::create))
        .routes(routes!(organisations::get_one, organisations::update))
        .routes(routes!(audit::list))
        .routes(routes!(audit::export_csv))
        .routes(routes!(monitoring::list, monitoring::create))
        .routes(routes!(monitoring::sites_csv))
        .routes(routes!(monitoring::sites_xlsx))
        .routes(routes!(monitoring::import).layer(limits.import_body_limit()))
        .routes(routes!(monitoring::get_one, monitoring::update))
        .routes(routes!(monitoring::series))
        .routes(routes!(monitoring::series_csv))
        .routes(routes!(monitoring::series_xlsx))
        .routes(routes!(monitoring::health))
        .routes(routes!(monitoring::quarantine))
        .routes(routes!(campaign::plans))
        .routes(routes!(campaign::targets))
        .routes(routes!(campaign::tasks))
        .routes(routes!(campaign::export_ledger))
        .routes(routes!(campaign::import_progress).layer(limits.import_body_limit()))
        .routes(routes!(campaign::task))
        .routes(routes!(campaign::task_indicators))
        .routes(routes!(campaign::sign_off))
        .routes(routes!(campaign::assignments))
        .routes(
            routes!(campaign::assignment_reports, campaign::create_report)
                .layer(limits.upload_body_limit()),
        )
        .routes(routes!(campaign::review_report))
        .routes(routes!(campaign::attachment))
        .routes(
            routes!(campaign::fire_points, campaign::create_fire_point)
                .layer(limits.upload_body_limit()),
        )
        .routes(routes!(campaign::import_fire_points).layer(limits.import_body_limit()))
        .routes(routes!(campaign::void_fire_point))
        .routes(routes!(campaign::reply_fire_point))
        .routes(routes!(campaign::confirm_fire_point))
        .routes(routes!(alarms::list_alarms))
        .routes(routes!(alarms::get_alarm))
        .routes(routes!(alarms::alarm_case))
        .routes(routes!(alarms::explain_alarm))
        .routes(routes!(alarms::get_rules, alarms::put_rules))
        .routes(routes!(alarms::list_cases, alarms::create_case).layer(limits.upload_body_limit()))
        .routes(routes!(alarms::get_case))
        .routes(routes!(alarms::case_action).layer(limits.upload_body_limit()))
        .routes(routes!(alarms::notifications))
        .routes(routes!(alarms::read_notifications))
        .routes(routes!(notify::list_channels, notify::create_channel))
        .routes(routes!(notify::update_channel))
        .routes(routes!(notify::test_channel))
        .routes(routes!(notify::deliveries))
        .routes(routes!(notify::my_notify, notify::put_my_notify))
        .routes(routes!(emergency::warnings, emergency::issue_warning))
        .routes(routes!(emergency::change_warning))
        .routes(routes!(emergency::lift_warning))
        .routes(routes!(emergency::confirm_warning))
        .routes(routes!(emergency::add_notice).layer(limits.upload_body_limit()))
        .routes(routes!(emergency::verification))
        .routes(routes!(season::verification))
        .routes(
            routes!(power::push_readings)
                .layer(axum::extract::DefaultBodyLimit::max(power::JSON_MAX_BYTES)),
        )
        .routes(routes!(power::import_readings).layer(limits.import_body_limit()))
        .routes(routes!(map::map))
        .routes(routes!(targets::api_targets))
        .routes(routes!(targets::api_rankings))
        .routes(routes!(targets::api_report))
        .routes(routes!(targets::api_report_xlsx))
        .routes(routes!(targets::api_published))
        .routes(routes!(targets::api_publish))
        .routes(routes!(targets::api_report_version))
        .routes(routes!(openapi_json))
}

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    let (router, _) = table(limits).split_for_parts();
    router
        .fallback(not_found)
        .layer(axum::middleware::map_response(json_rejections))
}

/// axum's own rejections (a path or query parameter that does not parse, a
/// body over the route's limit) answer in plain text; the API answers every
/// error in its JSON format (E1005 with axum's text as the detail), keeping
/// the status.
async fn json_rejections(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() || status == StatusCode::METHOD_NOT_ALLOWED || is_json {
        return response;
    }
    let detail = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut out =
        crate::error::ApiError::with_detail(crate::error::ErrorCode::InvalidInput, detail)
            .into_response();
    *out.status_mut() = status;
    out
}

async fn not_found() -> crate::error::ApiError {
    crate::error::ApiError::new(crate::error::ErrorCode::NotFound)
}

/// The served document, built once.
static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(openapi()).expect("the document serializes"));

#[utoipa::path(get, path = "/openapi.json", summary = "本 OpenAPI 文档", security(()),
    responses((status = 200, description = "OpenAPI 3.1 文档", body = Object)))]
async fn openapi_json() -> axum::Json<Value> {
    axum::Json(DOCUMENT.clone())
}

/// The OpenAPI 3.1 document of the route table, paths under `/api/v1`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let routes = table(&crate::attachments::CampaignSettings::default()).into_openapi();
    let mut api = doc::ApiDoc::openapi().nest("/api/v1", routes);
    doc::apply_conventions(&mut api);
    api
}
