//! 月调度: the monthly scheduling report — shown as a page, exported as
//! XLSX, printable on A4; the office publishes frozen, numbered versions
//! that every role can read.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use gongjian_storage::Role;
use serde::Deserialize;
use serde_json::Value;

use super::{Layout, check_csrf, error_page, error_text, render};
use crate::AppState;
use crate::api::targets::{build_report, now_local, parse_month, report_sheets, xlsx_response};
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
    tables: Vec<Table>,
    xlsx_href: String,
    can_publish: bool,
    frozen: bool,
    versions: Vec<VersionLink>,
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(x) => x.clone(),
        o => o.to_string(),
    }
}

/// The page shows the same tables as the XLSX export (one definition in
/// `report_sheets`), each with a numbered title and a note on its method.
fn tables(report: &Value) -> Vec<Table> {
    const NUMERALS: [&str; 12] = [
        "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二",
    ];
    report_sheets(report)
        .into_iter()
        .enumerate()
        .map(|(i, sheet)| {
            let (title, note) = match sheet.name.as_str() {
                "目标" => (
                    "目标完成情况".to_owned(),
                    format!("统计截至 {}", s(&report["as_of"])),
                ),
                "水质断面" => (
                    "水质断面与目标".to_owned(),
                    "GB 3838-2002 单因子评价（环办〔2011〕22号）：有效日均值→月均值，年累计为各月均值的均值。".to_owned(),
                ),
                "任务调度" => (
                    "各单位任务调度（本月到期、已完成、逾期、退回）".to_owned(),
                    "逾期为当前状态；退回为本月被退回的报送次数。".to_owned(),
                ),
                "火点扣款" => (
                    "秸秆焚烧火点扣款（月扣款）".to_owned(),
                    format!(
                        "本月合计扣款 {} 元；秸秆火点每个 50 万元，垃圾、树叶、杂草火点每个 10 万元。",
                        s(&report["fire_points_total"])
                    ),
                ),
                "在线监测超标" => (
                    "重点排污单位在线监测超标情况".to_owned(),
                    "按 HJ 75-2017 有效小时均值（有折算浓度的用折算浓度）与限值比较，超标倍数 =（C−L）/L。".to_owned(),
                ),
                other => (
                    format!("环境空气质量{}", other.replace('(', "（").replace(')', "）")),
                    "综合指数按环办监测〔2018〕19号计算，升序排名，数值相同并列；变化率与去年同期比较。".to_owned(),
                ),
            };
            Table {
                title: format!("{}、{title}", NUMERALS.get(i).copied().unwrap_or("")),
                headers: sheet.headers,
                rows: sheet
                    .rows
                    .iter()
                    .map(|r| Row {
                        cells: r.iter().map(|c| c.text().into_owned()).collect(),
                    })
                    .collect(),
                note,
            }
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
                chrono::DateTime::from_timestamp(p.published_at + 8 * 3600, 0)
                    .map(|d| d.naive_utc().format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
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
    let default = now_local().date();
    let month = q.month.as_deref().and_then(parse_month).unwrap_or(default);
    let m = format!("{:04}-{:02}", month.year(), month.month());
    let report = match build_report(&state.db, month).await {
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
        title: s(&report["title"]),
        subtitle: format!("实时计算（生成于 {}），未发布", s(&report["generated_at"])),
        tables: tables(&report),
        xlsx_href: format!("/api/v1/reports/{m}/xlsx"),
        can_publish: can_publish(&me),
        frozen: false,
        versions: versions(&state, &m).await,
        month: m,
    })
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

async fn publish(
    State(state): State<AppState>,
    me: PageUser,
    Path(month): Path<String>,
    Form(form): Form<CsrfForm>,
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
        let report = build_report(&state.db, m).await?;
        let title = s(&report["title"]);
        Ok::<_, crate::error::ApiError>(
            state
                .db
                .publish_report(&me.actor(), &month, &title, &report)
                .await?,
        )
    }
    .await;
    match result {
        Ok(p) => Redirect::to(&format!("/reports/{}/v/{}", p.month, p.version)).into_response(),
        Err(e) => error_page(
            Layout::new(&me.user, &me.csrf, "reports").error(Some(error_text(&e))),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        ),
    }
}

async fn version_page(
    State(state): State<AppState>,
    me: PageUser,
    Path((month, version)): Path<(String, i64)>,
) -> Response {
    let layout = || Layout::new(&me.user, &me.csrf, "reports");
    match state.db.published_report(&month, version).await {
        Ok(p) => render(ReportPage {
            layout: layout(),
            title: p.title.clone(),
            subtitle: format!(
                "已发布 第 {} 版 · {} · 发布人 {}（冻结快照，之后的数据变化不影响本版）",
                p.version,
                chrono::DateTime::from_timestamp(p.published_at + 8 * 3600, 0)
                    .map(|d| d.naive_utc().format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                p.publisher
            ),
            tables: tables(&p.payload),
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
    match state.db.published_report(&month, version).await {
        Ok(p) => xlsx_response(&format!("report-{month}-v{version}.xlsx"), &p.payload),
        Err(_) => error_page(
            Layout::new(&me.user, &me.csrf, "reports"),
            axum::http::StatusCode::NOT_FOUND,
        ),
    }
}
