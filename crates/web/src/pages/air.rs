//! 大气: air stations, monthly / year-to-date rankings of townships and
//! stations, and the upload of hourly station files; 水: sections against
//! their target classes.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Datelike;
use gongjian_app::air::{air_data, import_table, station_ytd_pm25};
use gongjian_app::now_local;
use gongjian_app::plan::campaign_for_year;
use gongjian_app::summaries::{self, SectionStatus};
use gongjian_app::targets::{month_key, parse_month, rankings};
use serde::Deserialize;

use super::{Layout, error_page, error_text, render};
use crate::AppState;
use crate::error::ApiError;
use crate::session::{PageUser, constant_time_eq};

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    Router::new()
        .route("/air", get(page))
        .route(
            "/air/import",
            post(upload).layer(limits.import_body_limit()),
        )
        .route("/water", get(water))
}

pub(crate) struct StationRow {
    pub code: String,
    pub name: String,
    pub township: String,
    /// 乡镇站 · 计入乡镇排名 (the class and what the station counts for).
    pub class: String,
    pub last_day: String,
    pub ytd_pm25: String,
}

pub(crate) struct RankRow {
    pub rank: String,
    pub name: String,
    pub index: String,
    pub change: String,
    pub change_rank: String,
    pub pm25: String,
}

pub(crate) struct RankTable {
    pub title: String,
    pub rows: Vec<RankRow>,
}

#[derive(Template)]
#[template(path = "air.html")]
struct AirPage {
    layout: Layout,
    month: String,
    stations: Vec<StationRow>,
    rankings: Vec<RankTable>,
    can_import: bool,
}

#[derive(Deserialize)]
pub(crate) struct MonthQuery {
    month: Option<String>,
}

fn d(v: Option<rust_decimal::Decimal>) -> String {
    v.map_or("—".into(), |x| x.to_string())
}

async fn page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<MonthQuery>,
) -> Response {
    let month = q
        .month
        .as_deref()
        .and_then(parse_month)
        .unwrap_or(now_local().date());
    let data = match air_data(&state.db, &state.air_cache, month.year()).await {
        Ok(d) => d,
        Err(e) => {
            return error_page(
                Layout::new(&me.user, &me.csrf, "air").error(Some(error_text(&e.into()))),
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    let stations = data
        .stations
        .iter()
        .map(|s| StationRow {
            code: s.site.code.clone(),
            name: s.site.name.clone(),
            township: s.site.township.clone().unwrap_or_default(),
            class: gongjian_campaign::class_and_scope_label(
                s.site.station_class,
                s.site.assessment,
            ),
            last_day: s.days.last().map_or("—".into(), |x| x.date.to_string()),
            ytd_pm25: d(station_ytd_pm25(s, month)),
        })
        .collect();
    let r = rankings(&data, month);
    let conv = |title: &str, r: gongjian_targets::ranking::Ranking| RankTable {
        title: format!("{title}（{} 至 {}）", r.from, r.to),
        rows: r
            .rows
            .into_iter()
            .map(|x| RankRow {
                rank: x.rank_text(),
                name: x.name,
                index: d(x.index),
                change: x.change_rate.map_or("—".into(), |c| format!("{c}%")),
                change_rank: x.change_rank.map_or("—".into(), |k| k.to_string()),
                pm25: d(x.pm25),
            })
            .collect(),
    };
    render(AirPage {
        layout: Layout::new(&me.user, &me.csrf, "air"),
        month: month_key(month),
        stations,
        rankings: vec![
            conv("乡镇排名 本月", r.townships_month),
            conv("乡镇排名 年累计", r.townships_ytd),
            conv("站点排名 本月", r.stations_month),
            conv("站点排名 年累计", r.stations_ytd),
        ],
        can_import: me.user.role.writes(),
    })
}

#[derive(Deserialize)]
pub(crate) struct UploadQuery {
    name: Option<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Raw file upload (the page posts the file body with the CSRF header).
async fn upload(
    State(state): State<AppState>,
    me: PageUser,
    headers: HeaderMap,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> Response {
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !constant_time_eq(&me.csrf, token) {
        return (
            StatusCode::FORBIDDEN,
            Html("<p class=\"flash error\">CSRF 校验失败，请刷新页面</p>"),
        )
            .into_response();
    }
    if !matches!(
        me.user.role,
        gongjian_storage::Role::Admin | gongjian_storage::Role::Office
    ) {
        return (
            StatusCode::FORBIDDEN,
            Html("<p class=\"flash error\">仅攻坚办可导入监测数据</p>"),
        )
            .into_response();
    }
    let name = q.name.unwrap_or_else(|| "upload.csv".into());
    let table = match gongjian_tabular::read_bytes(&name, &body) {
        Ok(t) => t,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Html(format!(
                    "<p class=\"flash error\">{}</p>",
                    esc(&e.to_string())
                )),
            )
                .into_response();
        }
    };
    match import_table(&state.db, &me.actor(), &table).await {
        Ok(o) => {
            let mut html = format!(
                "<p class=\"flash ok\" id=\"import-result\">{}：导入 {} 行（写入/更新 {} 个值，未变 {} 个），站点 {}{}；拒绝 {} 行</p>",
                esc(&o.file),
                o.accepted,
                o.written,
                o.unchanged,
                esc(&o.stations.join(",")),
                o.skipped_text(),
                o.rejected.len()
            );
            if !o.rejected.is_empty() {
                html.push_str("<ul id=\"rejected\">");
                for r in o.rejected.iter().take(200) {
                    html.push_str(&format!("<li>{}</li>", esc(&r.to_string())));
                }
                html.push_str("</ul>");
            }
            Html(html).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Html(format!(
                "<p class=\"flash error\">{}</p>",
                esc(&error_text(&e.into()))
            )),
        )
            .into_response(),
    }
}

#[derive(Template)]
#[template(path = "water.html")]
struct WaterPage {
    layout: Layout,
    year: i32,
    month: u32,
    sections: Vec<SectionStatus>,
}

#[derive(Deserialize)]
struct WaterQuery {
    /// `YYYY-MM`: the month (and the year to date through it); default now.
    month: Option<String>,
}

/// 水: every annex section's class this month and year to date against its
/// target, from the section's data.
async fn water(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<WaterQuery>,
) -> Response {
    let month = q
        .month
        .as_deref()
        .and_then(parse_month)
        .unwrap_or_else(|| now_local().date());
    let result = async {
        // A year without a campaign has no sections to judge.
        Ok::<_, ApiError>(match campaign_for_year(&state.db, month.year()).await? {
            Some(l) => {
                summaries::section_statuses(&state.db, &l.plan, month.year(), month.month()).await?
            }
            None => Vec::new(),
        })
    }
    .await;
    match result {
        Ok(sections) => render(WaterPage {
            layout: Layout::new(&me.user, &me.csrf, "water"),
            year: month.year(),
            month: month.month(),
            sections,
        }),
        Err(e) => error_page(
            Layout::new(&me.user, &me.csrf, "water").error(Some(error_text(&e))),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        ),
    }
}
