//! 交办: the form for ad-hoc tasks outside the plan (office, admin, and a
//! department for work of its own), and the changes to one afterwards —
//! the deadline extended, a part cancelled — each with a reason.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use gongjian_storage::{AdhocSource, NewAdhocTask, OrgKind, Role, User};

use super::{Layout, check_csrf, error_page, error_text, forbidden, render};
use crate::AppState;
use crate::error::ApiError;
use crate::session::PageUser;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/tasks/assign", get(form).post(submit))
        .route("/tasks/{id}/extend", post(extend))
        .route("/tasks/assignments/{id}/cancel", post(cancel))
}

/// Who may issue a 交办: the office and admins, and departments (for work
/// of their own tasks).
pub(crate) fn may_assign(user: &User) -> bool {
    user.role.writes() && matches!(user.role, Role::Office | Role::Admin | Role::Department)
}

/// Who may change an issued 交办: the office and admins, and the
/// organisation that issued it.
pub(crate) fn may_change(user: &User, issuer_org: Option<i64>) -> bool {
    matches!(user.role, Role::Office | Role::Admin)
        || (may_assign(user) && issuer_org == Some(user.organisation_id))
}

/// One checkbox of the organisation list.
struct OrgChoice {
    id: i64,
    name: String,
    checked: bool,
}

struct OrgGroup {
    label: &'static str,
    orgs: Vec<OrgChoice>,
}

/// What was typed, kept when the form comes back with errors.
#[derive(Default)]
struct AssignForm {
    title: String,
    summary: String,
    source: String,
    document: String,
    due: String,
    organisations: Vec<i64>,
}

/// Errors next to their fields.
#[derive(Default)]
struct FieldErrors {
    title: Option<String>,
    due: Option<String>,
    organisations: Option<String>,
    source: Option<String>,
}

impl FieldErrors {
    fn any(&self) -> bool {
        self.title.is_some()
            || self.due.is_some()
            || self.organisations.is_some()
            || self.source.is_some()
    }
}

#[derive(Template)]
#[template(path = "tasks_assign.html")]
struct AssignPage {
    layout: Layout,
    form: AssignForm,
    errors: FieldErrors,
    sources: Vec<(&'static str, &'static str)>,
    groups: Vec<OrgGroup>,
}

async fn page(
    state: &AppState,
    me: &PageUser,
    form: AssignForm,
    errors: FieldErrors,
    error: Option<String>,
) -> Result<Response, ApiError> {
    let orgs = state.db.organisations().list().await?;
    let groups = [
        (OrgKind::Township, "乡镇（街道）"),
        (OrgKind::Department, "区直部门"),
        (OrgKind::External, "其他单位"),
        (OrgKind::Enterprise, "企业"),
    ]
    .into_iter()
    .map(|(kind, label)| OrgGroup {
        label,
        orgs: orgs
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| OrgChoice {
                id: o.id,
                name: o.name.clone(),
                checked: form.organisations.contains(&o.id),
            })
            .collect(),
    })
    .filter(|g| !g.orgs.is_empty())
    .collect();
    let bad = error.is_some() || errors.any();
    let mut resp = render(AssignPage {
        layout: Layout::new(&me.user, &me.csrf, "tasks").error(error),
        form,
        errors,
        sources: AdhocSource::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        groups,
    });
    if bad {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

fn fail(me: &PageUser, err: ApiError) -> Response {
    error_page(
        Layout::new(&me.user, &me.csrf, "tasks").error(Some(error_text(&err))),
        StatusCode::INTERNAL_SERVER_ERROR,
    )
}

async fn form(State(state): State<AppState>, me: PageUser) -> Response {
    if !may_assign(&me.user) {
        return forbidden(&me);
    }
    let form = AssignForm {
        source: AdhocSource::Meeting.as_str().to_owned(),
        ..AssignForm::default()
    };
    page(&state, &me, form, FieldErrors::default(), None)
        .await
        .unwrap_or_else(|e| fail(&me, e))
}

/// The urlencoded body: repeated `organisation` fields are the checked boxes.
fn read_form(body: &[u8]) -> (String, AssignForm, FieldErrors) {
    let mut csrf = String::new();
    let mut f = AssignForm::default();
    let mut errors = FieldErrors::default();
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "title" => f.title = v.into_owned(),
            "summary" => f.summary = v.into_owned(),
            "source" => f.source = v.into_owned(),
            "document" => f.document = v.into_owned(),
            "due" => f.due = v.into_owned(),
            "organisation" => match v.parse::<i64>() {
                Ok(id) if f.organisations.len() < gongjian_storage::ADHOC_MAX_ORGANISATIONS => {
                    f.organisations.push(id)
                }
                Ok(_) => {
                    errors.organisations = Some(format!(
                        "一次交办最多 {} 个责任单位",
                        gongjian_storage::ADHOC_MAX_ORGANISATIONS
                    ))
                }
                Err(_) => errors.organisations = Some("责任单位选择有误".into()),
            },
            _ => {}
        }
    }
    if f.title.trim().is_empty() {
        errors.title = Some("请填写交办事项".into());
    }
    if f.due.trim().is_empty() {
        errors.due = Some("请选择办结时限".into());
    } else if NaiveDate::parse_from_str(f.due.trim(), "%Y-%m-%d").is_err() {
        errors.due = Some("办结时限应为日期（年-月-日）".into());
    }
    if f.organisations.is_empty() && errors.organisations.is_none() {
        errors.organisations = Some("请至少选择一个责任单位".into());
    }
    if AdhocSource::parse(&f.source).is_none() {
        errors.source = Some("请选择交办来源".into());
    }
    (csrf, f, errors)
}

async fn submit(State(state): State<AppState>, me: PageUser, body: Bytes) -> Response {
    let (csrf, form, errors) = read_form(&body);
    if let Err(r) = check_csrf(&me, &csrf) {
        return r;
    }
    if !may_assign(&me.user) {
        return forbidden(&me);
    }
    if errors.any() {
        return page(&state, &me, form, errors, None)
            .await
            .unwrap_or_else(|e| fail(&me, e));
    }
    let new = NewAdhocTask {
        title: form.title.clone(),
        summary: form.summary.clone(),
        source: AdhocSource::parse(&form.source).unwrap_or(AdhocSource::Other),
        document: form.document.clone(),
        due: NaiveDate::parse_from_str(form.due.trim(), "%Y-%m-%d").unwrap_or_default(),
        organisations: form.organisations.clone(),
        issuer: me.user.organisation_id,
    };
    match state.db.adhoc().create_adhoc_task(&me.actor(), &new).await {
        Ok(id) => Redirect::to(&format!("/tasks/{id}?ok=assigned")).into_response(),
        Err(e) => {
            let e: ApiError = e.into();
            page(
                &state,
                &me,
                form,
                FieldErrors::default(),
                Some(error_text(&e)),
            )
            .await
            .unwrap_or_else(|e| fail(&me, e))
        }
    }
}

#[derive(serde::Deserialize)]
struct ExtendForm {
    csrf: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    reason: String,
}

/// The task page again with `error`, or back to it with `ok`.
async fn back_to_task(
    state: &AppState,
    me: &PageUser,
    task_id: i64,
    outcome: Result<(), ApiError>,
    ok: &str,
) -> Response {
    match outcome {
        Ok(()) => Redirect::to(&format!("/tasks/{task_id}?ok={ok}")).into_response(),
        Err(e) => super::tasks::detail_with_error(state, me, task_id, error_text(&e)).await,
    }
}

async fn extend(
    State(state): State<AppState>,
    me: PageUser,
    Path(task_id): Path<i64>,
    axum::Form(f): axum::Form<ExtendForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &f.csrf) {
        return r;
    }
    let info = match state.db.adhoc().adhoc_info(task_id).await {
        Ok(i) => i,
        Err(e) => return fail(&me, e.into()),
    };
    if !may_change(&me.user, info.as_ref().and_then(|i| i.issuer_org)) {
        return forbidden(&me);
    }
    let outcome = match NaiveDate::parse_from_str(f.due.trim(), "%Y-%m-%d") {
        Ok(due) => state
            .db
            .adhoc()
            .extend_adhoc_deadline(&me.actor(), task_id, due, &f.reason)
            .await
            .map_err(ApiError::from),
        Err(_) => Err(ApiError::with_detail(
            crate::error::ErrorCode::InvalidInput,
            "请选择新的办结时限（年-月-日）",
        )),
    };
    back_to_task(&state, &me, task_id, outcome, "extended").await
}

#[derive(serde::Deserialize)]
struct CancelForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn cancel(
    State(state): State<AppState>,
    me: PageUser,
    Path(assignment_id): Path<i64>,
    axum::Form(f): axum::Form<CancelForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &f.csrf) {
        return r;
    }
    let a = match state.db.campaigns().assignment(assignment_id).await {
        Ok(a) => a,
        Err(e) => return fail(&me, e.into()),
    };
    let info = match state.db.adhoc().adhoc_info(a.task_id).await {
        Ok(i) => i,
        Err(e) => return fail(&me, e.into()),
    };
    if !may_change(&me.user, info.as_ref().and_then(|i| i.issuer_org)) {
        return forbidden(&me);
    }
    let outcome = state
        .db
        .adhoc()
        .cancel_adhoc_part(&me.actor(), assignment_id, &f.reason)
        .await
        .map_err(ApiError::from);
    back_to_task(&state, &me, a.task_id, outcome, "cancelled").await
}
