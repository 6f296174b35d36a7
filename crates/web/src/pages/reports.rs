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
use crate::api::targets::{allowance_text, build_report, now_local, parse_month, xlsx_response};
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

fn tables(report: &Value) -> Vec<Table> {
    let mut out = Vec::new();
    let targets = report["targets"].as_array().cloned().unwrap_or_default();
    out.push(Table {
        title: "一、目标完成情况".into(),
        headers: [
            "指标",
            "目标",
            "本月",
            "年累计",
            "去年同期",
            "进度",
            "余量/说明",
        ]
        .map(String::from)
        .to_vec(),
        rows: targets
            .iter()
            .map(|t| Row {
                cells: vec![
                    s(&t["indicator"]),
                    format!(
                        "{} {} {}",
                        s(&t["comparator"]),
                        s(&t["value"]),
                        s(&t["unit"])
                    ),
                    s(&t["current"]),
                    s(&t["ytd"]),
                    s(&t["last_year"]),
                    match t["on_track"].as_bool() {
                        Some(true) => "正常".into(),
                        Some(false) => "滞后".into(),
                        None => "—".into(),
                    },
                    if t["allowance"].is_null() {
                        s(&t["note"])
                    } else {
                        allowance_text(&t["allowance"])
                    },
                ],
            })
            .collect(),
        note: format!("统计截至 {}", s(&report["as_of"])),
    });
    out.push(Table {
        title: "二、各单位任务调度（应完成、已完成、逾期、退回）".into(),
        headers: vec![
            "单位".into(),
            "应完成".into(),
            "已完成".into(),
            "逾期".into(),
            "退回".into(),
        ],
        rows: Vec::new(),
        note: s(&report["tasks_note"]),
    });
    for (key, title) in [
        ("township_ranking_month", "三、乡镇环境空气质量排名（本月）"),
        ("township_ranking_ytd", "四、乡镇环境空气质量排名（年累计）"),
        ("station_ranking_month", "五、站点排名（本月）"),
    ] {
        let r = &report[key];
        out.push(Table {
            title: title.into(),
            headers: [
                "排名",
                "名称",
                "综合指数",
                "去年同期",
                "变化率(%)",
                "改善排名",
                "PM2.5",
                "优良率(%)",
            ]
            .map(String::from)
            .to_vec(),
            rows: r["rows"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| Row {
                    cells: [
                        "rank",
                        "name",
                        "index",
                        "base_index",
                        "change_rate",
                        "change_rank",
                        "pm25",
                        "good_ratio",
                    ]
                    .iter()
                    .map(|k| s(&x[*k]))
                    .collect(),
                })
                .collect(),
            note:
                "综合指数按环办监测〔2018〕19号计算，升序排名，数值相同并列；变化率与去年同期比较。"
                    .into(),
        });
    }
    out.push(Table {
        title: "六、水质断面与目标".into(),
        headers: ["序号", "乡镇", "河流", "断面", "目标", "类别", "说明"]
            .map(String::from)
            .to_vec(),
        rows: report["water_sections"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| Row {
                cells: [
                    "number", "township", "river", "section", "target", "class", "note",
                ]
                .iter()
                .map(|k| s(&x[*k]))
                .collect(),
            })
            .collect(),
        note: String::new(),
    });
    out.push(Table {
        title: "七、火点扣分".into(),
        headers: vec!["乡镇".into(), "火点数".into(), "扣分".into()],
        rows: Vec::new(),
        note: s(&report["fire_points_note"]),
    });
    out.push(Table {
        title: "八、重点企业超标情况".into(),
        headers: vec!["企业".into(), "超标小时数".into(), "最大超标倍数".into()],
        rows: Vec::new(),
        note: s(&report["exceedances_note"]),
    });
    out
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
