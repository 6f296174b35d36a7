//! A warning's response report (issue 15 item 5): each day's verdicts and
//! the reduction the verified enterprises achieved against the level's
//! ratio, the whole warning's summary, and the cases opened; printed on A4
//! or exported as XLSX. The figures are `gongjian_app::emergency::report`'s.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use gongjian_app::emergency::report::{ResponseReport, report_xlsx, response_report};
use gongjian_storage::Role;

use super::{Layout, error_page, error_text, forbidden, render};
use crate::AppState;
use crate::session::PageUser;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/emergency/warnings/{id}/report", get(page))
        .route("/emergency/warnings/{id}/report.xlsx", get(xlsx))
}

/// The office and the district's leaders read the report; enterprises,
/// departments and townships do not.
fn may_read(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office | Role::Viewer)
}

#[derive(Template)]
#[template(path = "emergency_report.html")]
struct ReportPage {
    layout: Layout,
    r: ResponseReport,
    ends: String,
}

async fn report(state: &AppState, me: &PageUser, id: i64) -> Result<ResponseReport, Response> {
    if !may_read(me.user.role) {
        return Err(forbidden(me));
    }
    let today = gongjian_app::now_local().date();
    response_report(&state.db, id, today).await.map_err(|e| {
        let e: crate::error::ApiError = e.into();
        let status = e.code.status();
        error_page(
            Layout::new(&me.user, &me.csrf, "emergency").error(Some(error_text(&e))),
            status,
        )
    })
}

async fn page(State(state): State<AppState>, me: PageUser, Path(id): Path<i64>) -> Response {
    match report(&state, &me, id).await {
        Ok(r) => render(ReportPage {
            layout: Layout::new(&me.user, &me.csrf, "emergency"),
            ends: r
                .verification
                .warning
                .ends_on
                .map_or("未解除".to_owned(), |d| d.to_string()),
            r,
        }),
        Err(resp) => resp,
    }
}

async fn xlsx(State(state): State<AppState>, me: PageUser, Path(id): Path<i64>) -> Response {
    match report(&state, &me, id).await {
        Ok(r) => match report_xlsx(&r) {
            Ok(bytes) => {
                crate::api::campaign::xlsx_response(bytes, &format!("应急响应报告-预警{id}.xlsx"))
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot write the response report");
                error_page(
                    Layout::new(&me.user, &me.csrf, "emergency")
                        .error(Some("报告导出失败，请稍后重试".to_owned())),
                    StatusCode::INTERNAL_SERVER_ERROR,
                )
            }
        },
        Err(resp) => resp,
    }
}
