//! 月调度: the monthly scheduling report — shown as a page, exported as
//! XLSX, printable on A4; the office publishes frozen, numbered versions
//! that every role can read.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_app::report::MonthlyReport;
use gongjian_app::targets::{month_key, parse_month};
use gongjian_storage::Role;
use serde::Deserialize;

use super::{Layout, check_csrf, error_page, error_text, render};
use crate::AppState;
use crate::api::targets::{frozen_report, live_report, publish as publish_report, xlsx_response};
use crate::session::PageUser;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(page))
        .route("/reports/{month}/publish", post(publish))
        .route("/reports/{month}/v/{version}", get(version_page))
        .route("/reports/{month}/v/{version}/xlsx", get(version_xlsx))
}

pub(crate) struct Row {
    pub cells: Vec<String>,
}

pub(crate) struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
    pub note: String,
}

pub(crate) struct VersionLink {
    pub version: i64,
    pub href: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    layout: Layout,
    month: String,
    title: String,
    subtitle: String,
    /// Issuer, 期数 and (once published) 文号, printed above the title.
    masthead: String,
    /// The 期数 offered in the publish form.
    default_issue: String,
    tables: Vec<Table>,
    xlsx_href: String,
    can_publish: bool,
    frozen: bool,
    versions: Vec<VersionLink>,
}

/// The page shows the same tables as the XLSX export: the report's
/// sections, each with its numbered title and a note on its method.
fn tables(report: &MonthlyReport) -> Vec<Table> {
    report
        .sections()
        .into_iter()
        .map(|section| Table {
            title: section.title,
            headers: section.sheet.headers,
            rows: section
                .sheet
                .rows
                .iter()
                .map(|r| Row {
                    cells: r.iter().map(|c| c.text().into_owned()).collect(),
                })
                .collect(),
            note: section.note,
        })
        .collect()
}

#[derive(Deserialize)]
pub(crate) struct MonthQuery {
    month: Option<String>,
}

fn can_publish(me: &PageUser) -> bool {
    matches!(me.user.role, Role::Admin | Role::Office)
}

async fn versions(state: &AppState, month: &str) -> Vec<VersionLink> {
    state
        .db
        .air()
        .published_reports(Some(month))
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| VersionLink {
            version: p.version,
            href: format!("/reports/{}/v/{}", p.month, p.version),
            label: format!(
                "第 {} 版（{}，{}）",
                p.version,
                gongjian_standards::cst::local_minutes_text(p.published_at),
                p.publisher
            ),
        })
        .collect()
}

async fn page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<MonthQuery>,
) -> Response {
    let layout = || Layout::new(&me.user, &me.csrf, "reports");
    let default = gongjian_app::now_local().date();
    let month = q.month.as_deref().and_then(parse_month).unwrap_or(default);
    let m = month_key(month);
    let report = match live_report(&state, month).await {
        Ok(r) => r,
        Err(e) => {
            return error_page(
                layout().error(Some(error_text(&e))),
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    render(ReportPage {
        layout: layout(),
        title: report.title.clone(),
        subtitle: format!("实时计算（生成于 {}），未发布", report.generated_at),
        masthead: report.masthead(),
        default_issue: report.default_issue(),
        tables: tables(&report),
        xlsx_href: format!("/api/v1/reports/{m}/xlsx"),
        can_publish: can_publish(&me),
        frozen: false,
        versions: versions(&state, &m).await,
        month: m,
    })
}

#[derive(Deserialize)]
pub(crate) struct PublishForm {
    csrf: String,
    #[serde(default)]
    issue: String,
    #[serde(default)]
    document_number: String,
}

async fn publish(
    State(state): State<AppState>,
    me: PageUser,
    Path(month): Path<String>,
    Form(form): Form<PublishForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    if !can_publish(&me) {
        return super::forbidden(&me);
    }
    let Some(m) = parse_month(&month) else {
        return error_page(
            Layout::new(&me.user, &me.csrf, "reports"),
            axum::http::StatusCode::BAD_REQUEST,
        );
    };
    let result = async {
        let report = live_report(&state, m)
            .await?
            .numbered(&form.issue, &form.document_number)?;
        publish_report(&state, &me.actor(), &month, &report).await
    }
    .await;
    match result {
        Ok(p) => Redirect::to(&format!("/reports/{}/v/{}", p.month, p.version)).into_response(),
        Err(e) => error_page(
            Layout::new(&me.user, &me.csrf, "reports").error(Some(error_text(&e))),
            e.code.status(),
        ),
    }
}

async fn version_page(
    State(state): State<AppState>,
    me: PageUser,
    Path((month, version)): Path<(String, i64)>,
) -> Response {
    let layout = || Layout::new(&me.user, &me.csrf, "reports");
    let frozen = match state.db.air().published_report(&month, version).await {
        Ok(p) => frozen_report(&p).map(|r| (p, r)),
        Err(e) => Err(e.into()),
    };
    match frozen {
        Ok((p, report)) => render(ReportPage {
            layout: layout(),
            title: p.title.clone(),
            subtitle: format!(
                "已发布 第 {} 版 · {} · 发布人 {}（冻结快照，之后的数据变化不影响本版）",
                p.version,
                gongjian_standards::cst::local_minutes_text(p.published_at),
                p.publisher
            ),
            masthead: report.masthead(),
            default_issue: String::new(),
            tables: tables(&report),
            xlsx_href: format!("/reports/{month}/v/{version}/xlsx"),
            can_publish: false,
            frozen: true,
            versions: versions(&state, &month).await,
            month,
        }),
        Err(_) => error_page(layout(), axum::http::StatusCode::NOT_FOUND),
    }
}

async fn version_xlsx(
    State(state): State<AppState>,
    me: PageUser,
    Path((month, version)): Path<(String, i64)>,
) -> Response {
    let frozen = match state.db.air().published_report(&month, version).await {
        Ok(p) => frozen_report(&p),
        Err(e) => Err(e.into()),
    };
    match frozen {
        Ok(report) => xlsx_response(&format!("report-{month}-v{version}.xlsx"), &report),
        Err(_) => error_page(
            Layout::new(&me.user, &me.csrf, "reports"),
            axum::http::StatusCode::NOT_FOUND,
        ),
    }
}
