//! 一企一档 (issue 15 item 1): an enterprise's page — its record, sites
//! and meters, rows of the reduction list in force, the warnings it was
//! told of and its cases. The office edits the record here; the
//! enterprise reads its own page.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_app::enterprises::{FieldError, Profile, RecordForm};
use gongjian_emergency::Grade;
use gongjian_storage::Role;
use serde::Deserialize;

use super::{Layout, check_csrf, error_page, error_text, forbidden, render};
use crate::AppState;
use crate::session::PageUser;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/enterprises/{id}", get(page))
        .route("/enterprises/{id}/record", post(save))
}

fn may_read(me: &PageUser, id: i64) -> bool {
    match me.user.role {
        Role::Admin | Role::Office | Role::Viewer => true,
        Role::Enterprise => me.user.organisation_id == id,
        _ => false,
    }
}

fn may_edit(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office)
}

#[derive(Template)]
#[template(path = "enterprise.html")]
struct EnterprisePage {
    layout: Layout,
    id: i64,
    p: Profile,
    /// The record as shown: (label, value).
    facts: Vec<(&'static str, String)>,
    can_edit: bool,
    form: RecordForm,
    grades: Vec<(&'static str, &'static str)>,
    errors: Vec<FieldError>,
}

impl EnterprisePage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.0 == field)
            .map(|e| e.1.as_str())
    }
}

fn facts(p: &Profile) -> Vec<(&'static str, String)> {
    let dash = || "—".to_owned();
    let Some(r) = &p.record else {
        return vec![("一企一档", "尚未填写".to_owned())];
    };
    vec![
        (
            "统一社会信用代码",
            r.credit_code.clone().unwrap_or_else(dash),
        ),
        (
            "行业类别",
            Some(r.industry.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(dash),
        ),
        (
            "排污许可证",
            match (r.permit_number.as_str(), r.permit_valid_until) {
                ("", _) => dash(),
                (n, Some(d)) => format!("{n}（有效期至 {d}）"),
                (n, None) => n.to_owned(),
            },
        ),
        (
            "重点排污单位",
            if r.key_unit { "是" } else { "否" }.to_owned(),
        ),
        (
            "绩效分级",
            match (p.grade_label, r.graded_on) {
                (Some(g), Some(d)) => format!("{g}（{d} 评定）"),
                (Some(g), None) => g.to_owned(),
                (None, _) => "未分级".to_owned(),
            },
        ),
    ]
}

async fn show(
    state: &AppState,
    me: &PageUser,
    id: i64,
    ok: Option<String>,
    typed: Option<(RecordForm, Vec<FieldError>)>,
) -> Response {
    if !may_read(me, id) {
        return forbidden(me);
    }
    let layout = Layout::new(&me.user, &me.csrf, "sources").ok(ok);
    let p = match gongjian_app::enterprises::profile(&state.db, id).await {
        Ok(p) => p,
        Err(e) => {
            let e: crate::error::ApiError = e.into();
            let status = e.code.status();
            return error_page(layout.error(Some(error_text(&e))), status);
        }
    };
    let (form, errors) = typed.unwrap_or_else(|| (RecordForm::of(p.record.as_ref()), Vec::new()));
    render(EnterprisePage {
        layout,
        id,
        facts: facts(&p),
        p,
        can_edit: may_edit(me.user.role),
        form,
        grades: Grade::ALL.iter().map(|g| (g.code(), g.label())).collect(),
        errors,
    })
}

#[derive(Deserialize)]
struct OkQuery {
    ok: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<OkQuery>,
) -> Response {
    let ok = (q.ok.as_deref() == Some("saved")).then(|| "一企一档已保存".to_owned());
    show(&state, &me, id, ok, None).await
}

#[derive(Deserialize)]
struct SaveForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    record: RecordForm,
}

async fn save(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<SaveForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &f.csrf) {
        return r;
    }
    if !may_edit(me.user.role) {
        return forbidden(&me);
    }
    let outcome =
        gongjian_app::enterprises::save_record(&state.db, &me.actor(), id, &f.record).await;
    let errors = match outcome {
        Ok(Ok(_)) => {
            return Redirect::to(&format!("/enterprises/{id}?ok=saved")).into_response();
        }
        Ok(Err(errors)) => errors,
        Err(e) => vec![("", error_text(&e.into()))],
    };
    let mut r = show(&state, &me, id, None, Some((f.record, errors))).await;
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}
