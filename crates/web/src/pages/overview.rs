//! 总览: the page the office opens every morning. Numbers come from the
//! data through the standards engine; the status block and the charts
//! refresh themselves (htmx polling / fetch) without a full reload.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Datelike;
use gongjian_app::air::air_data;
use gongjian_app::now_local;
use gongjian_app::overview::{AqiReading, district_days, district_hours, latest_hour};
use gongjian_app::plan::{campaign_for_year, campaign_years};
use gongjian_app::summaries::{self, Exceedance, HealthSummary, OrganisationTasks, SectionStatus};
use gongjian_app::targets::{
    Figure, TargetStatus, month_key, other_measures, status_month, target_statuses,
    township_month_ranking,
};
use serde_json::{Value, json};

use super::{Layout, render};
use crate::AppState;
use crate::api::monitoring::{health_rows, may_see_health};
use crate::error::ApiError;
use crate::session::PageUser;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/overview/status", get(status_fragment))
        .route("/overview/charts.json", get(charts))
}

/// One AQI reading (district or station) for display.
pub(crate) struct AqiView {
    pub name: String,
    pub aqi: String,
    pub category: String,
    pub color: String,
    pub primary: String,
    pub pm25: String,
}

pub(crate) struct TargetView {
    pub indicator: String,
    pub target: String,
    pub ytd: String,
    pub last_year: String,
    pub current: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub allowance: String,
    pub rules: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    status: StatusView,
}

#[derive(Template)]
#[template(path = "overview_status.html")]
struct StatusFragment {
    status: StatusView,
}

pub(crate) struct StatusView {
    pub hour_label: String,
    pub district: Option<AqiView>,
    pub stations: Vec<AqiView>,
    pub year: i32,
    pub as_of: String,
    pub targets: Vec<TargetView>,
    pub sections: Vec<SectionStatus>,
    /// Organisations with overdue assignments, most first.
    pub overdue: Vec<OrganisationTasks>,
    /// Whether the user may see device health and exceedances.
    pub sources_visible: bool,
    pub health: Option<HealthSummary>,
    /// Exceedances of the last 24 hours, worst first (at most 8).
    pub exceedances: Vec<Exceedance>,
    pub freshness: String,
    pub stale: bool,
    pub query: String,
    /// The campaign the targets come from ("《name》 · 执行中"), or None
    /// when no campaign covers the year.
    pub campaign: Option<String>,
    /// Years with a campaign, newest first, and the current one: the selector.
    pub years: Vec<i32>,
    /// Townships by this month's comprehensive index.
    pub ranking: Vec<RankView>,
    /// Reports waiting for this user's review (None: the user reviews none).
    pub to_review: Option<usize>,
    /// Open alarms, open 督办 cases and how many of those are overdue, as
    /// the user sees them.
    pub alarms_open: usize,
    pub cases_open: usize,
    pub cases_overdue: usize,
    /// This month's fire points and their deduction (万元).
    pub fire_points: i64,
    pub fire_deduction: String,
}

pub(crate) struct RankView {
    pub name: String,
    pub rank: String,
    pub index: String,
    pub pm25: String,
    pub good_ratio: String,
    pub change: String,
}

fn dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| x.to_string())
}

fn opt(v: &Option<Figure>) -> String {
    v.as_ref()
        .map_or_else(|| "—".to_owned(), ToString::to_string)
}

pub(crate) fn target_view(t: &TargetStatus) -> TargetView {
    let (status, status_class) = match t.on_track {
        Some(true) => ("正常", "ok"),
        Some(false) => ("滞后", "bad"),
        None => ("—", "muted"),
    };
    TargetView {
        indicator: t.indicator.clone(),
        // "≤ 62 µg/m³", but "< 2025 年值" (a baseline has no unit to add).
        target: if t.value.is_some() {
            format!("{} {}", t.requirement, t.unit)
        } else {
            t.requirement.clone()
        },
        ytd: opt(&t.ytd),
        last_year: opt(&t.last_year),
        current: opt(&t.current),
        status,
        status_class,
        allowance: t.allowance_text(),
        rules: t.rules.join("；"),
    }
}

fn aqi_view(r: &AqiReading) -> AqiView {
    AqiView {
        name: r.name.clone(),
        aqi: r.aqi.map_or("NA".into(), |a| a.to_string()),
        category: r.level.map_or("—".into(), |l| l.category().to_owned()),
        color: r.level.map_or("#ccc".into(), |l| l.color().to_owned()),
        primary: r.primary.join("、"),
        pm25: r.pm25.map_or("—".into(), |d| d.to_string()),
    }
}

/// The status block. Device health and exceedances name enterprises, so
/// only those who may see every source (office, admin, viewer) get them.
pub(crate) async fn status(
    state: &AppState,
    user: &gongjian_storage::User,
    year: Option<i32>,
) -> Result<StatusView, ApiError> {
    let now = now_local();
    let year = year.unwrap_or(now.year());
    let loaded = campaign_for_year(&state.db, year).await?;
    let mut years = campaign_years(&state.db).await?;
    if !years.contains(&now.year()) {
        years.insert(0, now.year());
    }
    let data = air_data(&state.db, &state.air_cache, year).await?;
    let (hour_label, district, stations) = match latest_hour(&state.db, &data, now).await? {
        None => ("暂无有效小时数据".to_owned(), None, Vec::new()),
        Some(h) => (
            format!(
                "最近完整有效小时 {}（{}）",
                h.end.format("%Y-%m-%d %H:00"),
                h.age_text()
            ),
            Some(aqi_view(&h.district)),
            h.stations.iter().map(aqi_view).collect(),
        ),
    };
    let today = now.date();
    // Sections have their own block; reported indicators are on 任务.
    let (targets, sections): (Vec<TargetView>, Vec<SectionStatus>) = match &loaded {
        Some(l) => {
            let other = other_measures(&state.db, &l.plan, year, status_month(year, today)).await?;
            let targets = target_statuses(&l.plan, &data, &other)
                .iter()
                .filter(|t| t.is_measured_from_data() && !t.is_section())
                .map(target_view)
                .collect();
            (targets, other.sections)
        }
        None => (Vec::new(), Vec::new()),
    };
    let overdue: Vec<OrganisationTasks> = summaries::month_tasks(&state.db, today)
        .await?
        .into_iter()
        .filter(|o| o.overdue > 0)
        .collect();
    let month = if year == now.year() {
        today
    } else {
        chrono::NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today)
    };
    let ranking = township_month_ranking(&data, month)
        .rows
        .into_iter()
        .map(|r| RankView {
            rank: if r.sufficient {
                dash(r.rank)
            } else {
                "数据不足".to_owned()
            },
            index: dash(r.index),
            pm25: dash(r.pm25),
            good_ratio: r
                .good_ratio
                .map_or_else(|| "—".to_owned(), |g| format!("{g}%")),
            change: r.change_rate.map_or_else(
                || "—".to_owned(),
                |c| {
                    format!(
                        "{}{c}%",
                        if c > rust_decimal::Decimal::ZERO {
                            "+"
                        } else {
                            ""
                        }
                    )
                },
            ),
            name: r.name,
        })
        .collect();
    let to_review = match user.role {
        gongjian_storage::Role::Office | gongjian_storage::Role::Admin => Some(
            state
                .db
                .campaigns()
                .reports_awaiting_review(None)
                .await?
                .len(),
        ),
        gongjian_storage::Role::Department => Some(
            state
                .db
                .campaigns()
                .reports_awaiting_review(Some(user.organisation_id))
                .await?
                .len(),
        ),
        _ => None,
    };
    let key = month_key(month);
    let (fire_points, fire_yuan) = state
        .db
        .campaigns()
        .fire_point_totals()
        .await?
        .iter()
        .filter(|f| f.month == key)
        .fold((0, rust_decimal::Decimal::ZERO), |(n, y), f| {
            (
                n + f.points,
                y + rust_decimal::Decimal::from_str_exact(&f.amount).unwrap_or_default(),
            )
        });
    let organisation_id = (!user.role.sees_all()).then_some(user.organisation_id);
    let alarms_open = state
        .db
        .alarms()
        .list(&gongjian_storage::AlarmFilter {
            open: Some(true),
            organisation_id,
            ..Default::default()
        })
        .await?
        .len();
    let open_cases = gongjian_app::cases::cases_for(
        &state.db,
        user,
        gongjian_storage::CaseFilter {
            open: true,
            limit: Some(10_000),
            ..Default::default()
        },
    )
    .await?;
    let cases_overdue = open_cases.iter().filter(|c| c.overdue).count();
    let sources_visible = may_see_health(user);
    let (health, exceedances) = if sources_visible {
        let to = gongjian_storage::now();
        let mut e = summaries::exceedances(
            &state
                .db
                .summaries()
                .limited_hours(to - 24 * 3600, to)
                .await?,
        );
        e.truncate(8);
        (
            Some(summaries::health_summary(&health_rows(state).await?)).filter(|h| h.devices > 0),
            e,
        )
    } else {
        (None, Vec::new())
    };
    let (freshness, stale) = match data.refreshed_at {
        Some(t) => {
            let age = chrono::Utc::now().timestamp() - t;
            let when = gongjian_standards::cst::to_local(t)
                .format("%m-%d %H:%M")
                .to_string();
            (
                format!("日均值缓存更新于 {when}（{} 分钟前）", age / 60),
                false,
            )
        }
        None => ("尚无数据".into(), true),
    };
    Ok(StatusView {
        hour_label,
        district,
        stations,
        year,
        as_of: data.as_of.map_or("—".into(), |d| d.to_string()),
        targets,
        sections,
        overdue,
        alarms_open,
        cases_open: open_cases.len(),
        cases_overdue,
        sources_visible,
        health,
        exceedances,
        freshness,
        stale,
        query: if year == now.year() {
            String::new()
        } else {
            format!("?year={year}")
        },
        campaign: loaded
            .as_ref()
            .map(|l| format!("《{}》 · {}", l.info.name, l.info.state.label())),
        years,
        ranking,
        to_review,
        fire_points,
        fire_deduction: (fire_yuan / rust_decimal::Decimal::from(10_000))
            .normalize()
            .to_string(),
    })
}

#[derive(serde::Deserialize)]
pub(crate) struct YearQuery {
    year: Option<i32>,
}

async fn page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<YearQuery>,
) -> Result<Response, Response> {
    let status = status(&state, &me.user, q.year).await.map_err(|e| {
        super::error_page(
            Layout::new(&me.user, &me.csrf, "overview").error(Some(super::error_text(&e))),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
    })?;
    Ok(render(OverviewPage {
        layout: Layout::new(&me.user, &me.csrf, "overview"),
        status,
    }))
}

async fn status_fragment(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<YearQuery>,
) -> Result<Response, ApiError> {
    Ok(render(StatusFragment {
        status: status(&state, &me.user, q.year).await?,
    }))
}

/// Chart data: last 24 hours of the district hourly AQI and PM2.5, last 30
/// days of the district daily AQI and PM2.5, and this year's targets.
async fn charts(
    State(state): State<AppState>,
    _me: PageUser,
    Query(q): Query<YearQuery>,
) -> Result<Json<Value>, ApiError> {
    let now = now_local();
    let year = q.year.unwrap_or(now.year());
    let data = air_data(&state.db, &state.air_cache, year).await?;
    let hours = district_hours(&state.db, &data).await?;
    let days = district_days(&data);
    let targets = match campaign_for_year(&state.db, year).await? {
        Some(l) => {
            let other =
                other_measures(&state.db, &l.plan, year, status_month(year, now.date())).await?;
            target_statuses(&l.plan, &data, &other)
        }
        None => Vec::new(),
    };
    Ok(Json(
        json!({"hours": hours, "days": days, "targets": targets}),
    ))
}
