//! 预警应急 (issue 15): the warnings issued and, for one of them, each
//! listed enterprise's days verified from its electricity meters; the
//! office issues a warning here. An enterprise sees the warnings and its
//! own measures for each. The list is imported with `gongjian emergency
//! import-list` (docs/emergency.md).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Layout, check_csrf, error_page, error_text, forbidden, render};
use crate::AppState;
use crate::session::PageUser;
use gongjian_storage::Role;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/emergency", get(page))
        .route("/emergency/warnings", post(issue))
}

struct WarningRow {
    id: i64,
    /// For an enterprise: its measures at the warning's level.
    own: Vec<gongjian_app::emergency::OwnMeasure>,
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
    /// The office may issue a warning; an enterprise sees its measures.
    may_issue: bool,
    enterprise: bool,
    form: IssueForm,
    /// A refused issue: (field, message).
    field_error: Option<(&'static str, String)>,
}

#[derive(Deserialize)]
struct WarningQuery {
    warning: Option<i64>,
    ok: Option<String>,
}

/// The issue form, as typed.
#[derive(Deserialize, Default, Clone)]
struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    document: String,
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

fn may_issue(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office)
}

async fn page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<WarningQuery>,
) -> Response {
    let ok = (q.ok.as_deref() == Some("issued"))
        .then(|| "预警已发布，清单企业可在本页查看本企业的减排措施".to_owned());
    view(&state, &me, q.warning, ok, IssueForm::default(), None).await
}

async fn issue(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(form): axum::Form<IssueForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    if !may_issue(me.user.role) {
        return forbidden(&me);
    }
    let refused = |field: &'static str, msg: String| (field, msg);
    let checked = match form.starts_on.trim().parse::<chrono::NaiveDate>() {
        Err(_) => Err(refused("starts_on", "请选择预警启动日期".into())),
        Ok(starts_on) => match form.ends_on.trim() {
            "" => Ok((starts_on, None)),
            t => t
                .parse::<chrono::NaiveDate>()
                .map(|d| (starts_on, Some(d)))
                .map_err(|_| refused("ends_on", "解除日期格式应为 YYYY-MM-DD".into())),
        },
    };
    let error = match checked {
        Err(e) => e,
        Ok((starts_on, ends_on)) => {
            match gongjian_app::emergency::issue_warning(
                &state.db,
                &me.actor(),
                &form.level,
                starts_on,
                ends_on,
                &form.document,
            )
            .await
            {
                Ok(w) => {
                    return Redirect::to(&format!("/emergency?warning={}&ok=issued", w.id))
                        .into_response();
                }
                Err(e) => {
                    let text = error_text(&e.into());
                    let field = if text.contains("级别") {
                        "level"
                    } else if text.contains("解除") {
                        "ends_on"
                    } else {
                        "document"
                    };
                    (field, text)
                }
            }
        }
    };
    let mut r = view(&state, &me, None, None, form, Some(error)).await;
    *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    r
}

async fn view(
    state: &AppState,
    me: &PageUser,
    warning: Option<i64>,
    ok: Option<String>,
    form: IssueForm,
    field_error: Option<(&'static str, String)>,
) -> Response {
    let enterprise = me.user.role == Role::Enterprise;
    if !enterprise && !matches!(me.user.role, Role::Admin | Role::Office | Role::Viewer) {
        return forbidden(me);
    }
    let general = field_error
        .as_ref()
        .map(|_| "预警未发布，请按提示修改".to_owned());
    let layout = || {
        Layout::new(&me.user, &me.csrf, "emergency")
            .ok(ok.clone())
            .error(general.clone())
    };
    let warnings = match state.db.emergency().warnings().await {
        Ok(w) => w,
        Err(e) => {
            return error_page(
                layout().error(Some(error_text(&e.into()))),
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    let chosen = if enterprise {
        None
    } else {
        warning.or(warnings.first().map(|w| w.id))
    };
    let mut rows = Vec::new();
    for w in &warnings {
        let (level, level_class) = level_view(&w.level);
        let own = if enterprise {
            gongjian_app::emergency::measures_of(&state.db, &me.user.organisation_name, &w.level)
                .await
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        rows.push(WarningRow {
            id: w.id,
            own,
            level,
            level_class,
            span: format!(
                "{} 至 {}",
                w.starts_on,
                w.ends_on.map_or("解除前".to_owned(), |d| d.to_string())
            ),
            document: w.document_number.clone(),
        });
    }
    let mut page = EmergencyPage {
        layout: layout(),
        warnings: rows,
        chosen,
        season: String::new(),
        days: Vec::new(),
        not_required: String::new(),
        may_issue: may_issue(me.user.role),
        enterprise,
        form,
        field_error,
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
                page.layout =
                    Layout::new(&me.user, &me.csrf, "emergency").error(Some(error_text(&e.into())));
            }
        }
    }
    render(page)
}
