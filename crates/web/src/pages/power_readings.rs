//! 污染源 → 导入用电数据 (issue 15 item 3): the office uploads the power
//! company's meter readings as CSV (UTF-8/GBK) or XLSX on a page, through
//! the same use case as `POST /api/v1/power/readings/import`
//! (`gongjian_app::power_readings`): all or nothing, every bad row named.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use gongjian_app::power_readings::ReadingsOutcome;

use super::{Layout, check_csrf, error_text, fail, forbidden, render};
use crate::AppState;
use crate::session::PageUser;

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    Router::new().route(
        "/sources/power-readings",
        get(page).post(upload).layer(limits.import_body_limit()),
    )
}

#[derive(Template)]
#[template(path = "power_readings.html")]
struct ReadingsPage {
    layout: Layout,
    /// What the last upload did.
    outcome: Option<ReadingsOutcome>,
}

fn may_import(me: &PageUser) -> bool {
    crate::api::monitoring::may_write(&me.user)
}

async fn page(me: PageUser) -> Response {
    if !may_import(&me) {
        return forbidden(&me);
    }
    render(ReadingsPage {
        layout: Layout::new(&me.user, &me.csrf, "sources"),
        outcome: None,
    })
}

async fn upload(State(state): State<AppState>, me: PageUser, mp: Multipart) -> Response {
    if !may_import(&me) {
        return forbidden(&me);
    }
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "sources", busy.into()),
    };
    let layout = Layout::new(&me.user, &me.csrf, "sources");
    let refused = |layout: Layout, message: String| {
        let mut r = render(ReadingsPage {
            layout: layout.error(Some(message)),
            outcome: None,
        });
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    };
    let up = match super::read_import_form(mp).await {
        Ok(up) => up,
        Err(e) => return refused(layout, error_text(&e)),
    };
    if let Err(r) = check_csrf(&me, up.csrf()) {
        return r;
    }
    let name = super::emergency::upload_name(&up.file_name);
    match gongjian_app::power_readings::import_file(&state.db, &me.actor(), &name, &up.bytes).await
    {
        Ok(outcome) => {
            let failed = outcome.refused;
            let message = outcome.message.clone();
            let layout = if failed {
                layout.error(Some(message))
            } else {
                layout.ok(Some(message))
            };
            let mut r = render(ReadingsPage {
                layout,
                outcome: Some(outcome),
            });
            if failed {
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            r
        }
        Err(e) => refused(layout, e.user_message()),
    }
}
