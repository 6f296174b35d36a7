//! 总览: the page the office opens every morning. Numbers come from the
//! data through the standards engine; the status block and the charts
//! refresh themselves (htmx polling / fetch) without a full reload.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Datelike, Duration};
use gongjian_standards::aqi::{self, HourlyInput, Level};
use gongjian_standards::evaluation::{HourRecord, PerPollutant, Pollutant};
use gongjian_standards::exact::div_round_half_even;
use gongjian_standards::rules::AqiRules;
use gongjian_storage::hour_start_utc;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Layout, render};
use crate::AppState;
use crate::api::monitoring::{health_rows, may_see_health};
use crate::api::summaries::{self, Exceedance, HealthSummary, OrganisationTasks, SectionStatus};
use crate::api::targets::{
    TargetStatus, air_data, allowance_text, embedded_plan, now_local, other_measures, status_month,
    target_json, target_statuses,
};
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
}

fn opt(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

pub(crate) fn target_view(t: &TargetStatus) -> TargetView {
    let (status, status_class) = match t.on_track {
        Some(true) => ("正常", "ok"),
        Some(false) => ("滞后", "bad"),
        None => ("—", "muted"),
    };
    TargetView {
        indicator: t.indicator.clone(),
        target: format!(
            "{} {} {}",
            t.comparator,
            t.value.map(|v| v.to_string()).unwrap_or_else(|| "—".into()),
            t.unit
        ),
        ytd: opt(&t.ytd),
        last_year: opt(&t.last_year),
        current: opt(&t.current),
        status,
        status_class,
        allowance: t
            .allowance
            .as_ref()
            .map(allowance_text)
            .or_else(|| t.note.clone())
            .unwrap_or_default(),
        rules: t.rules.join("；"),
    }
}

fn hourly_report(rules: AqiRules, v: &PerPollutant<Option<Decimal>>) -> Option<aqi::AqiReport> {
    aqi::hourly(
        rules,
        &HourlyInput {
            so2: v.so2,
            no2: v.no2,
            co: v.co,
            o3: v.o3,
            pm10: v.pm10,
            pm25: v.pm25,
            so2_24h: None,
        },
    )
    .ok()
}

fn aqi_view(name: String, rules: AqiRules, v: &PerPollutant<Option<Decimal>>) -> AqiView {
    let r = hourly_report(rules, v);
    let level = r
        .as_ref()
        .and_then(|r| r.published.then_some(r.aqi).flatten())
        .map(Level::of);
    AqiView {
        name,
        aqi: r
            .as_ref()
            .and_then(|r| r.published.then_some(r.aqi).flatten())
            .map_or("NA".into(), |a| a.to_string()),
        category: level.map_or("—".into(), |l| l.category().to_owned()),
        color: level.map_or("#ccc".into(), |l| l.color().to_owned()),
        primary: r
            .as_ref()
            .map(|r| {
                r.primary
                    .iter()
                    .map(|p| p.name().to_owned())
                    .collect::<Vec<_>>()
                    .join("、")
            })
            .unwrap_or_default(),
        pm25: v.pm25.map_or("—".into(), |d| d.to_string()),
    }
}

/// District hourly values: the mean of the stations' values for the hour
/// (rounded to the reporting digits, as the standards engine does for days).
fn district_hour(stations: &[&PerPollutant<Option<Decimal>>]) -> PerPollutant<Option<Decimal>> {
    let mut out = PerPollutant::default();
    for p in Pollutant::ALL {
        let vals: Vec<Decimal> = stations.iter().filter_map(|s| s[p]).collect();
        if !vals.is_empty() {
            out[p] = Some(div_round_half_even(
                vals.iter().sum(),
                Decimal::from(vals.len() as u64),
                p.digits(),
            ));
        }
    }
    out
}

/// The status block. Device health and exceedances name enterprises, so
/// only those who may see every source (office, admin, viewer) get them.
pub(crate) async fn status(
    state: &AppState,
    user: &gongjian_storage::User,
    year: Option<i32>,
) -> Result<StatusView, ApiError> {
    let plan =
        embedded_plan().map_err(|e| ApiError::with_detail(crate::error::ErrorCode::Internal, e))?;
    let now = now_local();
    let year = year.unwrap_or(now.year());
    let data = air_data(state, year).await?;
    // Latest hour with data.
    let latest = state.db.latest_air_hour().await?;
    let (mut hour_label, mut district, mut stations) =
        ("暂无小时数据".to_owned(), None, Vec::new());
    if let Some(start) = latest {
        let ids: Vec<i64> = data.stations.iter().map(|s| s.site.id).collect();
        let hours = state.db.air_hours_of(&ids, start, start + 3600).await?;
        let end = gongjian_storage::hour_end_local(start);
        let rules = AqiRules::for_date((end - Duration::hours(1)).date());
        let mut vals = Vec::new();
        for s in &data.stations {
            if let Some(h) = hours.get(&s.site.id).and_then(|v| v.first()) {
                stations.push(aqi_view(s.site.name.clone(), rules, &h.values));
                vals.push(h.values);
            }
        }
        let refs: Vec<&PerPollutant<Option<Decimal>>> = vals.iter().collect();
        district = Some(aqi_view("全区".into(), rules, &district_hour(&refs)));
        let age_h = (now - end).num_hours();
        hour_label = format!(
            "{}（{}）",
            end.format("%Y-%m-%d %H:00"),
            if age_h <= 1 {
                "最新".to_owned()
            } else {
                format!("{age_h} 小时前")
            }
        );
    }
    let today = now.date();
    let other = other_measures(&state.db, &plan, year, status_month(year, today)).await?;
    // Sections have their own block; reported indicators are on 任务.
    let targets: Vec<TargetView> = target_statuses(&plan, &data, &other)
        .iter()
        .filter(|t| t.measured.starts_with("data") && !t.scope.starts_with("section"))
        .map(target_view)
        .collect();
    let overdue: Vec<OrganisationTasks> = summaries::month_tasks(&state.db, today)
        .await?
        .into_iter()
        .filter(|o| o.overdue > 0)
        .collect();
    let sources_visible = may_see_health(user);
    let (health, exceedances) = if sources_visible {
        let to = gongjian_storage::now();
        let mut e = summaries::exceedances(&state.db.limited_hours(to - 24 * 3600, to).await?);
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
            let when = DateTime::from_timestamp(t + 8 * 3600, 0)
                .map(|d| d.naive_utc().format("%m-%d %H:%M").to_string())
                .unwrap_or_default();
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
        sections: other.sections,
        overdue,
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
    let data = air_data(&state, year).await?;
    let latest = state.db.latest_air_hour().await?;
    let mut hours_json = Vec::new();
    if let Some(last) = latest {
        let ids: Vec<i64> = data.stations.iter().map(|s| s.site.id).collect();
        let from = last - 23 * 3600;
        let by_site = state.db.air_hours_of(&ids, from, last + 3600).await?;
        let mut by_hour: std::collections::BTreeMap<i64, Vec<&HourRecord>> = Default::default();
        for hs in by_site.values() {
            for h in hs {
                by_hour.entry(hour_start_utc(h.end)).or_default().push(h);
            }
        }
        for hs in by_hour.values() {
            let refs: Vec<&PerPollutant<Option<Decimal>>> = hs.iter().map(|h| &h.values).collect();
            let v = district_hour(&refs);
            let end = hs[0].end;
            let rules = AqiRules::for_date((end - Duration::hours(1)).date());
            let r = hourly_report(rules, &v);
            hours_json.push(json!({
                "t": end.format("%m-%d %H:00").to_string(),
                "aqi": r.and_then(|r| r.aqi),
                "pm25": v.pm25.map(|d| d.to_string()),
            }));
        }
    }
    let days: Vec<Value> = data
        .district
        .iter()
        .rev()
        .take(30)
        .rev()
        .map(|d| {
            json!({
                "t": d.date.format("%m-%d").to_string(),
                "aqi": d.aqi.aqi,
                "pm25": d.value(Pollutant::Pm25).map(|x| x.to_string()),
                "pm10": d.value(Pollutant::Pm10).map(|x| x.to_string()),
            })
        })
        .collect();
    let plan =
        embedded_plan().map_err(|e| ApiError::with_detail(crate::error::ErrorCode::Internal, e))?;
    let other = other_measures(&state.db, &plan, year, status_month(year, now.date())).await?;
    let targets: Vec<Value> = target_statuses(&plan, &data, &other)
        .iter()
        .map(target_json)
        .collect();
    Ok(Json(
        json!({"hours": hours_json, "days": days, "targets": targets}),
    ))
}
