//! 预警应急 (issue 15): the warnings issued and, for one of them, each
//! listed enterprise's days verified from its electricity meters. Read-only
//! for now: lists and warnings are imported and issued with `gongjian
//! emergency` (docs/emergency.md).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{Layout, error_page, error_text, forbidden, render};
use crate::AppState;
use crate::session::PageUser;
use gongjian_storage::Role;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/emergency", get(page))
}

struct WarningRow {
    id: i64,
    level: &'static str,
    level_class: &'static str,
    span: String,
    document: String,
}

struct DayRow {
    day: String,
    enterprise: String,
    measure: String,
    energy: String,
    baseline: String,
    allowed: String,
    verdict: &'static str,
    verdict_class: &'static str,
    detail: String,
}

#[derive(Template)]
#[template(path = "emergency.html")]
struct EmergencyPage {
    layout: Layout,
    warnings: Vec<WarningRow>,
    /// The warning shown, its list and its verified days.
    chosen: Option<i64>,
    season: String,
    days: Vec<DayRow>,
    not_required: String,
}

#[derive(Deserialize)]
struct WarningQuery {
    warning: Option<i64>,
}

fn level_view(code: &str) -> (&'static str, &'static str) {
    match gongjian_emergency::WarningLevel::parse(code) {
        Some(l) => (l.label(), l.code()),
        None => ("—", ""),
    }
}

fn dash(v: Option<rust_decimal::Decimal>) -> String {
    v.map_or_else(|| "—".to_owned(), |d| d.round_dp(1).normalize().to_string())
}

async fn page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<WarningQuery>,
) -> Response {
    if !matches!(me.user.role, Role::Admin | Role::Office | Role::Viewer) {
        return forbidden(&me);
    }
    let layout = || Layout::new(&me.user, &me.csrf, "emergency");
    let warnings = match state.db.warnings().await {
        Ok(w) => w,
        Err(e) => {
            return error_page(
                layout().error(Some(error_text(&e.into()))),
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    let chosen = q.warning.or(warnings.first().map(|w| w.id));
    let mut page = EmergencyPage {
        layout: layout(),
        warnings: warnings
            .iter()
            .map(|w| {
                let (level, level_class) = level_view(&w.level);
                WarningRow {
                    id: w.id,
                    level,
                    level_class,
                    span: format!(
                        "{} 至 {}",
                        w.starts_on,
                        w.ends_on.map_or("解除前".to_owned(), |d| d.to_string())
                    ),
                    document: w.document_number.clone(),
                }
            })
            .collect(),
        chosen,
        season: String::new(),
        days: Vec::new(),
        not_required: String::new(),
    };
    if let Some(id) = chosen {
        let today = gongjian_app::now_local().date();
        match gongjian_app::emergency::verify_warning(&state.db, id, today).await {
            Ok(v) => {
                page.season = v.season.clone().unwrap_or_else(|| "未导入".to_owned());
                page.not_required = v.not_required.join("、");
                page.days = v
                    .days
                    .iter()
                    .map(|d| DayRow {
                        day: d.day.to_string(),
                        enterprise: d.enterprise.clone(),
                        measure: d.measure.clone(),
                        energy: dash(d.energy_kwh),
                        baseline: dash(d.baseline_kwh),
                        allowed: d
                            .allowed_pct
                            .map_or_else(|| "—".to_owned(), |a| format!("{}%", a.normalize())),
                        verdict: d.verdict_label,
                        verdict_class: match d.verdict {
                            gongjian_emergency::Verdict::Compliant => "ok",
                            gongjian_emergency::Verdict::NotImplemented => "bad",
                            gongjian_emergency::Verdict::Unverifiable => "warn",
                        },
                        detail: d.detail.clone(),
                    })
                    .collect();
            }
            Err(e) => {
                page.layout = layout().error(Some(error_text(&e.into())));
            }
        }
    }
    render(page)
}
