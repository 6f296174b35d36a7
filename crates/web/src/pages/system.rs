//! 系统: organisations, user administration and the audit log.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_storage::{NewUser, OrgKind, Organisation, Role, User};
use serde::Deserialize;

use super::{Layout, check_csrf, error_text, forbidden, render};
use crate::AppState;
use crate::api::{
    AuditQuery, audit_csv_response, cst, may_read_organisation, may_write_organisation,
};
use crate::error::ApiError;
use crate::session::PageUser;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/system/organisations",
            get(organisations).post(create_organisation),
        )
        .route("/system/users", get(users).post(create_user))
        .route("/system/users/{id}/toggle", post(toggle_user))
        .route("/system/users/{id}/reset", post(reset_user))
        .route("/system/audit", get(audit))
        .route("/system/audit.csv", get(audit_csv))
}

#[derive(Deserialize, Default)]
pub(crate) struct Flash {
    ok: Option<String>,
}

fn flash_text(code: Option<&str>) -> Option<String> {
    let text = match code? {
        "created" => "已创建",
        "updated" => "已保存",
        "reset" => "密码已重置，该用户下次登录须修改密码",
        _ => return None,
    };
    Some(text.to_owned())
}

// ---- organisations -------------------------------------------------------

pub(crate) struct OrgRow {
    id: i64,
    name: String,
    kind_label: &'static str,
    /// Enterprises link to their record (一企一档).
    enterprise: bool,
}

#[derive(Template)]
#[template(path = "organisations.html")]
struct OrganisationsPage {
    layout: Layout,
    organisations: Vec<OrgRow>,
    can_write: bool,
    kinds: Vec<(&'static str, &'static str)>,
    /// What was typed, kept when the form comes back with an error.
    draft_name: String,
    draft_kind: String,
    /// The reason, shown next to the name.
    name_error: Option<String>,
}

/// A refused new organisation: what was typed and why.
struct OrgDraft {
    name: String,
    kind: String,
    error: String,
}

async fn organisations_page(
    state: &AppState,
    me: &PageUser,
    ok: Option<String>,
    draft: Option<OrgDraft>,
) -> Response {
    let layout = Layout::new(&me.user, &me.csrf, "system").ok(ok);
    let all = match state.db.organisations().list().await {
        Ok(all) => all,
        Err(e) => return storage_failure(layout, e),
    };
    let failed = draft.is_some();
    let (draft_name, draft_kind, name_error) = match draft {
        Some(d) => (d.name, d.kind, Some(d.error)),
        None => (String::new(), String::new(), None),
    };
    let mut resp = render(OrganisationsPage {
        layout,
        draft_name,
        draft_kind,
        name_error,
        organisations: all
            .into_iter()
            .filter(|o| may_read_organisation(&me.user, o))
            .map(|o: Organisation| OrgRow {
                id: o.id,
                name: o.name,
                kind_label: o.kind.label(),
                enterprise: o.kind == OrgKind::Enterprise,
            })
            .collect(),
        can_write: may_write_organisation(&me.user),
        kinds: OrgKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
    });
    if failed {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    resp
}

fn storage_failure(layout: Layout, e: gongjian_storage::StorageError) -> Response {
    let err = ApiError::from(e);
    super::error_page(
        layout.error(Some(error_text(&err))),
        StatusCode::INTERNAL_SERVER_ERROR,
    )
}

async fn organisations(
    State(state): State<AppState>,
    me: PageUser,
    Query(flash): Query<Flash>,
) -> Response {
    organisations_page(&state, &me, flash_text(flash.ok.as_deref()), None).await
}

#[derive(Deserialize)]
pub(crate) struct OrgForm {
    csrf: String,
    name: String,
    kind: String,
}

async fn create_organisation(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(form): axum::Form<OrgForm>,
) -> Response {
    if let Err(resp) = check_csrf(&me, &form.csrf) {
        return resp;
    }
    if !may_write_organisation(&me.user) {
        return forbidden(&me);
    }
    let result = match form.kind.parse::<OrgKind>() {
        Ok(kind) => state
            .db
            .organisations()
            .create_organisation(&me.actor(), &form.name, kind, None)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::with_detail(
            crate::error::ErrorCode::InvalidInput,
            e.to_string(),
        )),
    };
    match result {
        Ok(_) => Redirect::to("/system/organisations?ok=created").into_response(),
        // The form comes back with what was typed and the reason next to it.
        Err(err) => {
            // Bounded: a megabyte name is refused, not echoed back.
            let draft = OrgDraft {
                name: form.name.chars().take(100).collect(),
                kind: form.kind.chars().take(20).collect(),
                error: error_text(&err),
            };
            organisations_page(&state, &me, None, Some(draft)).await
        }
    }
}

// ---- users ---------------------------------------------------------------

pub(crate) struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    role_label: &'static str,
    organisation_name: String,
    disabled: bool,
    must_change_password: bool,
}

/// What was typed into the new-user form, shown again with its error.
#[derive(Default)]
pub(crate) struct UserDraft {
    username: String,
    display_name: String,
    role: String,
    organisation_id: i64,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
    /// The organisations by kind (label, [(id, name)]), as the form's
    /// option groups: the kind is what a role must match.
    org_groups: Vec<(&'static str, Vec<(i64, String)>)>,
    /// Which organisation kinds each role may belong to, for the form's note.
    role_kinds: Vec<(&'static str, String)>,
    draft: UserDraft,
}

async fn users_page(
    state: &AppState,
    me: &PageUser,
    ok: Option<String>,
    error: Option<String>,
) -> Response {
    users_page_with(state, me, ok, error, UserDraft::default()).await
}

async fn users_page_with(
    state: &AppState,
    me: &PageUser,
    ok: Option<String>,
    error: Option<String>,
    draft: UserDraft,
) -> Response {
    let layout = Layout::new(&me.user, &me.csrf, "system").ok(ok);
    let (users, organisations) = match (
        state.db.accounts().users().await,
        state.db.organisations().list().await,
    ) {
        (Ok(u), Ok(o)) => (u, o),
        (Err(e), _) | (_, Err(e)) => return storage_failure(layout, e),
    };
    let failed = error.is_some() || draft.error.is_some();
    let mut resp = render(UsersPage {
        layout: layout.error(error),
        users: users
            .into_iter()
            .map(|u: User| UserRow {
                id: u.id,
                username: u.username,
                display_name: u.display_name,
                role_label: u.role.label(),
                organisation_name: u.organisation_name,
                disabled: u.disabled,
                must_change_password: u.must_change_password,
            })
            .collect(),
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        org_groups: OrgKind::ALL
            .iter()
            .map(|k| {
                let members: Vec<(i64, String)> = organisations
                    .iter()
                    .filter(|o| o.kind == *k)
                    .map(|o| (o.id, o.name.clone()))
                    .collect();
                (k.label(), members)
            })
            .filter(|(_, members)| !members.is_empty())
            .collect(),
        role_kinds: Role::ALL
            .iter()
            .map(|r| {
                let kinds: Vec<&str> = r.org_kinds().iter().map(|k| k.label()).collect();
                (r.label(), kinds.join("、"))
            })
            .collect(),
        draft,
    });
    if failed {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    resp
}

async fn users(
    State(state): State<AppState>,
    me: PageUser,
    Query(flash): Query<Flash>,
) -> Response {
    if !me.user.role.manages_users() {
        return forbidden(&me);
    }
    users_page(&state, &me, flash_text(flash.ok.as_deref()), None).await
}

#[derive(Deserialize)]
pub(crate) struct UserForm {
    csrf: String,
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    role: String,
    organisation_id: i64,
}

async fn create_user(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(form): axum::Form<UserForm>,
) -> Response {
    if let Err(resp) = check_csrf(&me, &form.csrf) {
        return resp;
    }
    if !me.user.role.manages_users() {
        return forbidden(&me);
    }
    let result = match form.role.parse::<Role>() {
        Ok(role) => state
            .db
            .accounts()
            .create_user(
                &me.actor(),
                &NewUser {
                    username: form.username.trim().to_owned(),
                    display_name: form.display_name.clone(),
                    password: form.password,
                    role,
                    organisation_id: form.organisation_id,
                    must_change_password: true,
                },
            )
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::from(e)),
    };
    match result {
        Ok(_) => Redirect::to("/system/users?ok=created").into_response(),
        // The form comes back with what was typed (never the password) and
        // the reason next to it.
        Err(err) => {
            let draft = UserDraft {
                username: form.username,
                display_name: form.display_name,
                role: form.role,
                organisation_id: form.organisation_id,
                error: Some(error_text(&err)),
            };
            users_page_with(&state, &me, None, None, draft).await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    csrf: String,
}

async fn toggle_user(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Response {
    if let Err(resp) = check_csrf(&me, &form.csrf) {
        return resp;
    }
    if !me.user.role.manages_users() {
        return forbidden(&me);
    }
    if id == me.user.id {
        return users_page(&state, &me, None, Some("不能停用自己的账号".into())).await;
    }
    let result = match state.db.accounts().user(id).await {
        Ok(u) => {
            state
                .db
                .accounts()
                .set_user_disabled(&me.actor(), id, !u.disabled)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/system/users?ok=updated").into_response(),
        Err(e) => users_page(&state, &me, None, Some(error_text(&ApiError::from(e)))).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct ResetForm {
    csrf: String,
    password: String,
}

async fn reset_user(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ResetForm>,
) -> Response {
    if let Err(resp) = check_csrf(&me, &form.csrf) {
        return resp;
    }
    if !me.user.role.manages_users() {
        return forbidden(&me);
    }
    match state
        .db
        .accounts()
        .set_password(&me.actor(), id, &form.password, true)
        .await
    {
        Ok(()) => Redirect::to("/system/users?ok=reset").into_response(),
        Err(e) => users_page(&state, &me, None, Some(error_text(&ApiError::from(e)))).await,
    }
}

// ---- audit ---------------------------------------------------------------

pub(crate) struct AuditRow {
    at: String,
    /// The person: display name and organisation.
    actor: String,
    /// The login name as recorded, kept for traceability.
    login: String,
    addr: String,
    action: String,
    /// 登录, 修改 … (the code when unknown).
    action_label: String,
    entity: String,
    entity_label: String,
    entity_id: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditRow>,
    limit: i64,
    q_actor: String,
    q_entity: String,
    q_action: String,
    q_from: String,
    q_to: String,
    query_string: String,
    entities: &'static [(&'static str, &'static str)],
    actions: &'static [(&'static str, &'static str)],
}

const AUDIT_PAGE_LIMIT: i64 = 500;

async fn audit(
    State(state): State<AppState>,
    me: PageUser,
    uri: axum::http::Uri,
    Query(q): Query<AuditQuery>,
) -> Response {
    if !me.user.role.reads_audit() {
        return forbidden(&me);
    }
    let layout = Layout::new(&me.user, &me.csrf, "system");
    let (entries, error) = match q.to_filter(AUDIT_PAGE_LIMIT) {
        Ok(filter) => match state.db.audit().list(&filter).await {
            Ok(e) => (e, None),
            Err(e) => (Vec::new(), Some(error_text(&ApiError::from(e)))),
        },
        Err(err) => (Vec::new(), Some(error_text(&err))),
    };
    let (labels, error) = match crate::api::actor_labels(&state.db, &entries).await {
        Ok(l) => (l, error),
        Err(e) => (Default::default(), error.or_else(|| Some(error_text(&e)))),
    };
    let pretty = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
            .unwrap_or_default()
    };
    render(AuditPage {
        layout: layout.error(error),
        entries: entries
            .iter()
            .map(|e| AuditRow {
                at: chrono::DateTime::from_timestamp(e.at, 0)
                    .map(|t| {
                        t.with_timezone(&cst())
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string()
                    })
                    .unwrap_or_default(),
                actor: labels
                    .get(&e.actor_name)
                    .cloned()
                    .unwrap_or_else(|| e.actor_name.clone()),
                login: e.actor_name.clone(),
                addr: if e.client_addr == "local" {
                    "本机".to_owned()
                } else {
                    e.client_addr.clone()
                },
                action: e.action.clone(),
                action_label: gongjian_storage::audit_label(
                    gongjian_storage::AUDIT_ACTIONS,
                    &e.action,
                )
                .to_owned(),
                entity: e.entity.clone(),
                entity_label: gongjian_storage::audit_label(
                    gongjian_storage::AUDIT_ENTITIES,
                    &e.entity,
                )
                .to_owned(),
                entity_id: e.entity_id.clone(),
                before: pretty(&e.before),
                after: pretty(&e.after),
            })
            .collect(),
        limit: AUDIT_PAGE_LIMIT,
        q_actor: q.actor.clone().unwrap_or_default(),
        q_entity: q.entity.clone().unwrap_or_default(),
        q_action: q.action.clone().unwrap_or_default(),
        q_from: q.from.clone().unwrap_or_default(),
        q_to: q.to.clone().unwrap_or_default(),
        query_string: uri.query().unwrap_or_default().to_owned(),
        entities: gongjian_storage::AUDIT_ENTITIES,
        actions: gongjian_storage::AUDIT_ACTIONS,
    })
}

async fn audit_csv(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<AuditQuery>,
) -> Response {
    if !me.user.role.reads_audit() {
        return forbidden(&me);
    }
    let result = async {
        let mut filter = q.to_filter(100_000)?;
        filter.offset = 0;
        let entries = state.db.audit().list(&filter).await?;
        let labels = crate::api::actor_labels(&state.db, &entries).await?;
        audit_csv_response(&entries, &labels)
    }
    .await;
    match result {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    }
}
