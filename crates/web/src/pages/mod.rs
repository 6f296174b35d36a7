//! Server-rendered pages in Simplified Chinese. Forms post back with the
//! session's CSRF token in a hidden `csrf` field.

mod account;
mod air;
mod assign;
mod campaign_edit;
mod campaigns;
mod cases;
mod emergency;
mod emergency_report;
mod enterprises;
mod map;
mod monitoring;
mod notify;
mod overview;
mod power_readings;
mod reports;
mod season;
mod system;
mod tasks;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_storage::User;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::session::{
    ClientAddr, MaybeSession, PageUser, constant_time_eq, cookie, random_hex, safe_next, set_cookie,
};

pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let limits = &state.campaign;
    Router::new()
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route(
            "/account/password",
            get(account::password_form).post(account::password_submit),
        )
        .merge(system::routes())
        .merge(tasks::routes(limits))
        .merge(assign::routes())
        .merge(campaigns::routes(limits))
        .merge(campaign_edit::routes())
        .merge(overview::routes())
        .merge(air::routes(limits))
        .merge(monitoring::routes(limits))
        .merge(reports::routes())
        .merge(cases::routes(limits))
        .merge(notify::routes())
        .merge(map::routes())
        .merge(emergency::routes(limits))
        .merge(emergency_report::routes())
        .merge(season::routes(limits))
        .merge(power_readings::routes(limits))
        .merge(enterprises::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            html_errors,
        ))
}

pub(crate) struct UserView {
    pub display_name: String,
    pub organisation_name: String,
    pub role_label: &'static str,
    /// The header polls the unread count: not while the user must first
    /// change the password (every other path redirects there, and the
    /// poll would put the password page inside the header).
    pub inbox: bool,
}

pub(crate) struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

/// What every page's frame needs.
pub(crate) struct Layout {
    pub user: Option<UserView>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub flash_ok: Option<String>,
    pub flash_error: Option<String>,
}

/// The platform's areas. An empty href is an area not yet open; it is shown
/// greyed so officials see the whole shape of the platform.
const NAV: &[(&str, &str, &str)] = &[
    ("overview", "总览", "/"),
    ("map", "一张图", "/map"),
    ("air", "大气", "/air"),
    ("water", "水", "/water"),
    ("soil", "土壤", ""),
    ("sources", "污染源", "/sources"),
    ("tasks", "任务", "/tasks"),
    ("cases", "报警督办", "/cases"),
    ("emergency", "预警应急", "/emergency"),
    ("ledger", "台账", "/ledger"),
    ("reports", "月调度", "/reports"),
    ("system", "系统", "/system/organisations"),
];

impl Layout {
    pub fn new(user: &User, csrf: &str, active: &str) -> Layout {
        Layout {
            user: Some(UserView {
                display_name: user.display_name.clone(),
                organisation_name: user.organisation_name.clone(),
                role_label: user.role.label(),
                inbox: !user.must_change_password,
            }),
            csrf: csrf.to_owned(),
            nav: NAV
                .iter()
                .map(|(key, label, href)| NavItem {
                    label,
                    href,
                    active: *key == active,
                })
                .collect(),
            flash_ok: None,
            flash_error: None,
        }
    }

    pub fn anonymous() -> Layout {
        Layout {
            user: None,
            csrf: String::new(),
            nav: Vec::new(),
            flash_ok: None,
            flash_error: None,
        }
    }

    pub fn ok(mut self, msg: Option<String>) -> Self {
        self.flash_ok = msg;
        self
    }

    pub fn error(mut self, msg: Option<String>) -> Self {
        self.flash_error = msg;
        self
    }
}

pub(crate) fn render(template: impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "页面渲染失败").into_response()
        }
    }
}

/// The Chinese text shown for an error on a page.
pub(crate) fn error_text(err: &ApiError) -> String {
    match &err.detail {
        Some(detail) if err.code != ErrorCode::Internal => {
            format!("{}：{}", err.code.message(), detail)
        }
        _ => err.code.message().to_owned(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    heading: &'static str,
    message: &'static str,
}

pub(crate) fn error_page(layout: Layout, status: StatusCode) -> Response {
    let (heading, message) = match status {
        StatusCode::FORBIDDEN => (
            "403 无权访问",
            "您的账号没有访问该页面的权限。如需开通，请联系系统管理员。",
        ),
        StatusCode::NOT_FOUND => ("404 页面不存在", "您访问的页面不存在或已被移除。"),
        StatusCode::PAYLOAD_TOO_LARGE => ("内容过大", "提交的内容超过大小上限，请返回重试。"),
        StatusCode::TOO_MANY_REQUESTS => ("请稍后再试", "当前处理的请求过多，请稍后再试。"),
        _ => ("请求无效", "请求无法处理，请返回重试。"),
    };
    let mut resp = render(ErrorPage {
        layout,
        heading,
        message,
    });
    *resp.status_mut() = status;
    resp
}

/// A page request refused before its handler ran (a cross-site request):
/// a 403 page that says why.
pub(crate) fn refusal_page(code: ErrorCode) -> Response {
    let mut resp = render(ErrorPage {
        layout: Layout::anonymous(),
        heading: "403 请求被拒绝",
        message: code.message(),
    });
    *resp.status_mut() = code.status();
    resp
}

/// An error of a page's action as a page: its status, the menu area
/// `active`, and the Chinese text.
pub(crate) fn fail(me: &PageUser, active: &str, err: ApiError) -> Response {
    let status = match err.code {
        ErrorCode::Forbidden => return forbidden(me),
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::InvalidInput | ErrorCode::Conflict => StatusCode::BAD_REQUEST,
        ErrorCode::TooManyUploads => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error_page(
        Layout::new(&me.user, &me.csrf, active).error(Some(error_text(&err))),
        status,
    )
}

pub(crate) fn forbidden(me: &PageUser) -> Response {
    error_page(Layout::new(&me.user, &me.csrf, ""), StatusCode::FORBIDDEN)
}

/// The Chinese reason for an error that axum answered before a page
/// handler ran (a rejected extractor), by its status.
fn rejection_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => "提交的内容超过大小上限，未保存",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "提交的内容类型不正确，请从页面上的表单提交",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            "提交的表单内容无效（缺少字段或格式错误），请返回页面重新填写"
        }
        StatusCode::METHOD_NOT_ALLOWED => "该地址不接受这种请求方式",
        s if s.is_server_error() => "服务器内部错误，请稍后重试",
        _ => "请求无法处理，请返回重试",
    }
}

fn is_plain_text(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"))
}

/// Pages answer every error as a page in Chinese. axum's own rejections —
/// a malformed form body, a body over the route's limit, a path or query
/// that does not parse — come back as English plain text; this turns them
/// into the error page (or, for the pages' `fetch` uploads that send
/// `X-CSRF-Token`, the error fragment they show).
pub(crate) async fn html_errors(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || !is_plain_text(&resp) {
        return resp;
    }
    let message = rejection_message(status);
    // A script's request (htmx, or fetch: the browser says it is not a
    // navigation) gets a fragment to put in place; a form post gets a page.
    let from_script = headers.contains_key("hx-request")
        || headers
            .get("sec-fetch-mode")
            .is_some_and(|m| m.as_bytes() != b"navigate");
    if from_script {
        return (
            status,
            Html(format!("<p class=\"flash error\">{message}</p>")),
        )
            .into_response();
    }
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    let layout = match MaybeSession::from_request_parts(&mut parts, &state).await {
        Ok(MaybeSession {
            session: Some(s), ..
        }) => Layout::new(&s.user, &s.csrf_token, ""),
        _ => Layout::anonymous(),
    };
    error_page(layout.error(Some(message.to_owned())), status)
}

/// Unknown paths: JSON under the API, a page elsewhere.
pub(crate) async fn not_found(uri: Uri, maybe: MaybeSession) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::new(ErrorCode::NotFound).into_response();
    }
    let layout = match &maybe.session {
        Some(s) => Layout::new(&s.user, &s.csrf_token, ""),
        None => Layout::anonymous(),
    };
    error_page(layout, StatusCode::NOT_FOUND)
}

/// Check a form's CSRF token against the session's. The error is the
/// finished 403 page, handed straight back by the handler.
#[allow(clippy::result_large_err)]
pub(crate) fn check_csrf(me: &PageUser, submitted: &str) -> Result<(), Response> {
    if constant_time_eq(&me.csrf, submitted) {
        Ok(())
    } else {
        let mut layout = Layout::new(&me.user, &me.csrf, "");
        layout.flash_error = Some(ErrorCode::CsrfRejected.message().to_owned());
        Err(error_page(layout, StatusCode::FORBIDDEN))
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    login_csrf: String,
    next: String,
    username: String,
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

const LOGIN_CSRF_COOKIE: &str = "gongjian_login_csrf";

fn login_page(state: &AppState, next: String, username: String, error: Option<String>) -> Response {
    // The login form has no session yet, so it uses a double-submit cookie.
    let token = random_hex(16);
    let mut resp = render(LoginPage {
        layout: Layout::anonymous().error(error),
        login_csrf: token.clone(),
        next,
        username,
    });
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, LOGIN_CSRF_COOKIE, &token, 3600),
    );
    resp
}

async fn login_form(
    State(state): State<AppState>,
    maybe: MaybeSession,
    Query(q): Query<NextQuery>,
) -> Response {
    if maybe.session.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    login_page(&state, safe_next(q.next.as_deref()), String::new(), None)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

async fn login_submit(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: axum::http::HeaderMap,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers;
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let next = safe_next(Some(&form.next));
    if expected.is_empty() || !constant_time_eq(&expected, &form.csrf) {
        let mut resp = login_page(
            &state,
            next,
            form.username,
            Some(ErrorCode::CsrfRejected.message().to_owned()),
        );
        *resp.status_mut() = StatusCode::FORBIDDEN;
        return resp;
    }
    match crate::api::start_session(&state, &form.username, &form.password, &addr).await {
        Ok((user, headers)) => {
            let target = if user.must_change_password {
                "/account/password".to_owned()
            } else {
                next
            };
            (headers, Redirect::to(&target)).into_response()
        }
        Err(err) => {
            let mut resp = login_page(&state, next, form.username, Some(error_text(&err)));
            *resp.status_mut() = err.code.status();
            resp
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    maybe: MaybeSession,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Some(session) = &maybe.session
        && !constant_time_eq(&session.csrf_token, &form.csrf)
    {
        return error_page(
            Layout::new(&session.user, &session.csrf_token, "")
                .error(Some(ErrorCode::CsrfRejected.message().to_owned())),
            StatusCode::FORBIDDEN,
        );
    }
    if let Err(err) = crate::api::end_session(&state, &maybe).await {
        return err.into_response();
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, &state.settings.cookie_name, "", 0),
    );
    resp
}

/// An import form as sent: its short text fields and the one uploaded
/// file (field `file`), whose size the route's import body limit bounds.
pub(crate) struct ImportForm {
    fields: Vec<(String, String)>,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl ImportForm {
    /// A text field, trimmed ("" when absent).
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.trim())
    }

    pub fn csrf(&self) -> &str {
        self.field("csrf")
    }

    /// Whether a checkbox was ticked.
    pub fn ticked(&self, name: &str) -> bool {
        !self.field(name).is_empty()
    }
}

/// Read an import form (multipart): text fields of at most 1 KiB, at most
/// 20 of them, and the file; refused without a file.
pub(crate) async fn read_import_form(
    mut mp: axum::extract::Multipart,
) -> Result<ImportForm, ApiError> {
    const MAX_FIELDS: usize = 20;
    const MAX_FIELD_CHARS: usize = 1024;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::with_detail(
            ErrorCode::InvalidInput,
            format!("上传内容无法读取（可能超过大小上限）：{e}"),
        )
    };
    let mut form = ImportForm {
        fields: Vec::new(),
        file_name: String::new(),
        bytes: Vec::new(),
    };
    while let Some(f) = mp.next_field().await.map_err(bad)? {
        let name = f.name().unwrap_or_default().to_owned();
        if name == "file" {
            form.file_name = f
                .file_name()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            form.bytes = f.bytes().await.map_err(bad)?.to_vec();
        } else if form.fields.len() < MAX_FIELDS {
            let text: String = f.text().await.map_err(bad)?;
            if text.chars().count() > MAX_FIELD_CHARS {
                return Err(ApiError::with_detail(
                    ErrorCode::InvalidInput,
                    format!("表单字段过长（最多 {MAX_FIELD_CHARS} 字）"),
                ));
            }
            form.fields.push((name, text));
        }
    }
    if form.bytes.is_empty() {
        return Err(ApiError::with_detail(ErrorCode::InvalidInput, "请选择文件"));
    }
    Ok(form)
}
