//! Targets, rankings and monthly reports: the service shared by the API,
//! the pages (总览, 大气, 月调度) and the `gongjian import air` / `gongjian
//! targets` commands, plus the API handlers.
//!
//! Statistics come from the daily cache (`air_daily`, rebuilt from the
//! hourly `series` whenever hours arrive or change) through the standards
//! engine and `gongjian-targets`. Nothing here recomputes an AQI or a mean.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use gongjian_campaign::{Campaign, Comparator, Measure, Scope, Source, Statistic};
use gongjian_standards::evaluation::{DailyRecord, Pollutant};
use gongjian_storage::{Actor, AirHour, Db, StationDays, StorageError, hour_start_utc};
use gongjian_tabular::{Cell, Sheet, Table};
use gongjian_targets::air::{self, Allowance};
use gongjian_targets::import::{ParsedFile, Rejected, parse_air};
use gongjian_targets::ranking::{Ranking, Unit, rank_units};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::api::summaries;
use crate::error::{ApiError, ErrorCode};
use crate::session::ApiUser;

const PLAN_FILES: &[(&str, &str)] = &[
    (
        "plan.toml",
        include_str!("../../../../plans/pingyuan-2020/plan.toml"),
    ),
    (
        "organisations.toml",
        include_str!("../../../../plans/pingyuan-2020/organisations.toml"),
    ),
    (
        "air.toml",
        include_str!("../../../../plans/pingyuan-2020/air.toml"),
    ),
    (
        "water.toml",
        include_str!("../../../../plans/pingyuan-2020/water.toml"),
    ),
    (
        "soil.toml",
        include_str!("../../../../plans/pingyuan-2020/soil.toml"),
    ),
    (
        "limits.toml",
        include_str!("../../../../plans/pingyuan-2020/limits.toml"),
    ),
];

/// The 2020 plan compiled into the binary (used while no plan is loaded in
/// the database).
pub fn embedded_plan() -> Result<Campaign, String> {
    let sources: Vec<Source<'_>> = PLAN_FILES
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    gongjian_campaign::parse(&sources).map_err(|e| format!("embedded plan is invalid: {e}"))
}

/// China Standard Time "now" as a naive local date-time.
pub fn now_local() -> chrono::NaiveDateTime {
    (Utc::now() + Duration::hours(8)).naive_utc()
}

// ---------------------------------------------------------------- import

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub file: String,
    /// Rows accepted.
    pub accepted: usize,
    /// Values written (new or changed).
    pub written: u64,
    /// Values already stored identically.
    pub unchanged: u64,
    /// Stations in the file.
    pub stations: Vec<String>,
    /// Rejected rows with file, line, column.
    pub rejected: Vec<Rejected>,
}

/// Import a parsed air file: map station codes to sites (creating unknown
/// ones as `air_station`), upsert every station-hour (idempotent), refresh
/// the daily cache.
pub async fn import_parsed(
    db: &Db,
    actor: &Actor,
    file: &str,
    parsed: &ParsedFile,
) -> Result<ImportOutcome, StorageError> {
    let stations = parsed.stations();
    let ids = db.ensure_air_stations(actor, &stations).await?;
    let rows: Vec<AirHour> = parsed
        .hours
        .iter()
        .filter_map(|h| {
            let site_id = *ids.get(h.station.trim())?;
            let v = h.values;
            Some(AirHour {
                site_id,
                period_start: hour_start_utc(h.end),
                values: [v.so2, v.no2, v.co, v.o3, v.pm10, v.pm25],
            })
        })
        .collect();
    let stats = db.upsert_air_hours(actor, file, &rows).await?;
    Ok(ImportOutcome {
        file: file.to_owned(),
        accepted: rows.len(),
        written: stats.written,
        unchanged: stats.unchanged,
        stations,
        rejected: parsed.rejected.clone(),
    })
}

/// Parse and import a table (CSV or XLSX already read).
pub async fn import_table(
    db: &Db,
    actor: &Actor,
    table: &Table,
) -> Result<ImportOutcome, ApiError> {
    let parsed = parse_air(table)
        .map_err(|e| ApiError::with_detail(ErrorCode::InvalidInput, e.to_string()))?;
    import_parsed(db, actor, table.source(), &parsed)
        .await
        .map_err(ApiError::from)
}

// ---------------------------------------------------------------- air data

/// Air data loaded for a year: station days from 1 January of the previous
/// year (for same-period comparisons) to the end of `year`.
#[derive(Debug, Clone)]
pub struct AirData {
    pub year: i32,
    pub stations: Vec<StationDays>,
    /// District days (mean of the stations per day).
    pub district: Vec<DailyRecord>,
    /// Township → its days (mean of its stations).
    pub townships: BTreeMap<String, Vec<DailyRecord>>,
    /// Last day of `year` with a valid district PM2.5 value.
    pub as_of: Option<NaiveDate>,
    /// When the daily cache was last brought up to date.
    pub refreshed_at: Option<i64>,
}

/// Load the air data of `year` (refreshing the daily cache first so late
/// hours are counted).
pub async fn load_air(db: &Db, year: i32) -> Result<AirData, StorageError> {
    db.refresh_air_daily().await?;
    load_air_as_cached(db, year).await
}

/// Air data per year, kept while the daily cache is unchanged: rebuilding a
/// year's district and township days costs far more than checking whether
/// anything arrived. An entry also expires after `AirCache::MAX_AGE`, so
/// a change the stamp cannot see (another process writing in the same
/// second) is picked up soon; pages say how old the daily cache is.
#[derive(Debug, Default)]
pub struct AirCache {
    years: std::sync::Mutex<std::collections::HashMap<i32, CachedAir>>,
}

#[derive(Debug)]
struct CachedAir {
    stamp: Option<i64>,
    built: std::time::Instant,
    data: std::sync::Arc<AirData>,
}

impl AirCache {
    const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(600);

    fn get(&self, year: i32, stamp: Option<i64>) -> Option<std::sync::Arc<AirData>> {
        let years = self.years.lock().ok()?;
        years
            .get(&year)
            .filter(|c| c.stamp == stamp && c.built.elapsed() < Self::MAX_AGE)
            .map(|c| c.data.clone())
    }

    fn put(&self, year: i32, stamp: Option<i64>, data: std::sync::Arc<AirData>) {
        if let Ok(mut years) = self.years.lock() {
            years.insert(
                year,
                CachedAir {
                    stamp,
                    built: std::time::Instant::now(),
                    data,
                },
            );
        }
    }

    fn clear(&self) {
        if let Ok(mut years) = self.years.lock() {
            years.clear();
        }
    }
}

/// [`load_air`] through the application's [`AirCache`].
pub async fn air_data(
    state: &AppState,
    year: i32,
) -> Result<std::sync::Arc<AirData>, StorageError> {
    if state.db.refresh_air_daily().await? > 0 {
        state.air_cache.clear();
    }
    let stamp = state.db.air_daily_refreshed_at().await?;
    if let Some(d) = state.air_cache.get(year, stamp) {
        return Ok(d);
    }
    let data = std::sync::Arc::new(load_air_as_cached(&state.db, year).await?);
    state.air_cache.put(year, stamp, data.clone());
    Ok(data)
}

/// The air data of `year` from the daily cache as it stands.
async fn load_air_as_cached(db: &Db, year: i32) -> Result<AirData, StorageError> {
    let from = NaiveDate::from_ymd_opt(year - 1, 1, 1).unwrap_or(NaiveDate::MIN);
    let to = gongjian_targets::year_end(year);
    let stations = db.air_station_days(from, to).await?;
    let slices: Vec<&[DailyRecord]> = stations.iter().map(|s| s.days.as_slice()).collect();
    let district = air::region_days(&slices);
    let mut by_township: BTreeMap<String, Vec<&[DailyRecord]>> = BTreeMap::new();
    for s in &stations {
        if let Some(t) = &s.site.township {
            by_township.entry(t.clone()).or_default().push(&s.days);
        }
    }
    let townships = by_township
        .into_iter()
        .map(|(k, v)| (k, air::region_days(&v)))
        .collect();
    let as_of = district
        .iter()
        .rev()
        .find(|d| d.date.year() == year && d.value(Pollutant::Pm25).is_some())
        .map(|d| d.date);
    Ok(AirData {
        year,
        stations,
        district,
        townships,
        as_of,
        refreshed_at: db.air_daily_refreshed_at().await?,
    })
}

// ---------------------------------------------------------------- targets

/// One target's status (the `gongjian targets --json` row).
#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    pub key: String,
    pub indicator: String,
    pub scope: String,
    pub comparator: String,
    pub value: Option<Decimal>,
    pub unit: String,
    pub measured: String,
    /// Month to date (air), latest month (water).
    pub current: Option<Value>,
    pub ytd: Option<Value>,
    pub last_year: Option<Value>,
    pub on_track: Option<bool>,
    pub allowance: Option<Value>,
    pub rules: Vec<String>,
    /// Last day counted.
    pub as_of: Option<NaiveDate>,
    /// Why a value is missing, or extra detail.
    pub note: Option<String>,
}

fn comparator_text(c: Comparator) -> &'static str {
    match c {
        Comparator::Le => "<=",
        Comparator::Lt => "<",
        Comparator::Ge => ">=",
        Comparator::Gt => ">",
        Comparator::Eq => "=",
    }
}

fn dec_json(d: Option<Decimal>) -> Option<Value> {
    d.map(|d| Value::String(d.to_string()))
}

/// Every target of `plan` evaluated for `year` from `data`.
pub fn target_statuses(
    plan: &Campaign,
    data: &AirData,
    other: &OtherMeasures,
) -> Vec<TargetStatus> {
    plan.targets
        .iter()
        .map(|t| {
            let mut s = TargetStatus {
                key: t.key.clone(),
                indicator: t.indicator.clone(),
                scope: t.scope.to_string(),
                comparator: comparator_text(t.comparator).to_owned(),
                value: t.value,
                unit: t.unit.clone(),
                measured: t.measured.to_string(),
                current: None,
                ytd: None,
                last_year: None,
                on_track: None,
                allowance: None,
                rules: Vec::new(),
                as_of: data.as_of,
                note: None,
            };
            let days: Option<&[DailyRecord]> = match &t.scope {
                Scope::District => Some(&data.district),
                Scope::Township(n) => data.townships.get(n).map(Vec::as_slice),
                _ => None,
            };
            match (&t.measured, data.as_of, days) {
                (Measure::Reported, _, _) => reported_status(&mut s, t, &other.reported),
                (Measure::Data { statistic: Statistic::SectionClass }, _, _) => {
                    section_status(&mut s, t, &other.sections)
                }
                (Measure::Data { .. }, None, _) | (Measure::Data { .. }, _, None) => {
                    s.note = Some(format!("{} 年暂无空气质量数据", data.year));
                }
                (Measure::Data { statistic }, Some(as_of), Some(days)) => match statistic {
                    Statistic::AnnualMean(p) => match (air::pollutant_named(p), t.value) {
                        (Some(p), Some(v)) => {
                            let r = air::annual_mean(days, p, v, as_of);
                            s.current = dec_json(r.current);
                            s.ytd = dec_json(r.ytd);
                            s.last_year = dec_json(r.last_year);
                            s.on_track = r.on_track;
                            s.allowance = serde_json::to_value(&r.allowance).ok();
                            s.rules = r.rules.all();
                            s.note = Some(format!("有效天数 {}", r.valid_days));
                        }
                        _ => s.note = Some(format!("无法计算的污染物 {p}")),
                    },
                    Statistic::GoodDays => {
                        let target = t
                            .value
                            .and_then(|v| u32::try_from(v.trunc().mantissa()).ok())
                            .unwrap_or(0);
                        let g = air::good_days(days, target, as_of);
                        s.current = Some(json!(g.current));
                        s.ytd = Some(json!(g.ytd));
                        s.last_year = Some(json!(g.last_year));
                        s.on_track = Some(g.on_track);
                        s.allowance = Some(json!({
                            "state": if g.still_allowed_polluted >= 0 { "remaining" } else { "lost" },
                            "polluted_used": g.polluted,
                            "undetermined": g.undetermined,
                            "days_remaining": g.days_remaining,
                            "still_allowed_polluted": g.still_allowed_polluted,
                        }));
                        s.rules = g.rules.all();
                    }
                    Statistic::HeavyPollutionDays => {
                        let h = air::heavy_days(days, as_of);
                        s.current = Some(json!(h.current));
                        s.ytd = Some(json!(h.ytd));
                        s.last_year = Some(json!(h.last_year));
                        s.on_track = h.on_track;
                        s.value = h.baseline_total.map(Decimal::from);
                        if h.baseline_total == Some(0) {
                            // Fewer than none is read as none (see heavy_days).
                            s.comparator = "<=".to_owned();
                        }
                        s.allowance = h.still_allowed.map(|a| {
                            json!({"state": if a >= 0 {"remaining"} else {"lost"}, "still_allowed": a})
                        });
                        s.rules = h.rules.all();
                    }
                    Statistic::SectionClass => {}
                },
            }
            s
        })
        .collect()
}

/// What the targets not measured from air data need: the annex sections'
/// status and the indicator values of accepted progress reports.
#[derive(Debug, Clone, Default)]
pub struct OtherMeasures {
    pub sections: Vec<summaries::SectionStatus>,
    pub reported: Vec<gongjian_storage::AcceptedValue>,
}

/// [`OtherMeasures`] for `year` through `month`.
pub async fn other_measures(
    db: &Db,
    plan: &Campaign,
    year: i32,
    month: u32,
) -> Result<OtherMeasures, StorageError> {
    Ok(OtherMeasures {
        sections: summaries::section_statuses(db, plan, year, month).await?,
        reported: db.accepted_values().await?,
    })
}

/// The month a year's status runs through: the current month for this
/// year, December for a past year, January for a future one.
pub fn status_month(year: i32, today: NaiveDate) -> u32 {
    match year.cmp(&today.year()) {
        std::cmp::Ordering::Equal => today.month(),
        std::cmp::Ordering::Less => 12,
        std::cmp::Ordering::Greater => 1,
    }
}

/// A reported target: the latest value of a task indicator of the same
/// name accepted by the office. A plan is one campaign year, and its
/// year-end figures are accepted after the year ends, so acceptance time
/// does not select the year.
fn reported_status(
    s: &mut TargetStatus,
    t: &gongjian_campaign::Target,
    reported: &[gongjian_storage::AcceptedValue],
) {
    let latest = reported
        .iter()
        .find(|v| v.indicator.trim() == t.indicator.trim());
    match latest {
        None => {
            s.note = Some("由责任单位报送（进度报告审核通过后计入），尚无通过审核的报送值".into())
        }
        Some(v) => {
            s.ytd = Some(json!(v.value));
            s.current = Some(json!(v.value));
            s.on_track = match (Decimal::from_str_exact(v.value.trim()), t.value) {
                (Ok(actual), Some(target)) => Some(t.comparator.holds(actual, target)),
                _ => None,
            };
            s.note = Some(format!(
                "{} 报送，{} 审核通过",
                v.organisation,
                crate::api::monitoring::local_time(v.accepted_at)
            ));
        }
    }
}

/// A section-class target: the annex section's year-to-date class (mean
/// of monthly means) against the target class number.
fn section_status(
    s: &mut TargetStatus,
    t: &gongjian_campaign::Target,
    sections: &[summaries::SectionStatus],
) {
    s.rules = vec![gongjian_standards::water::RULES.to_owned()];
    let Scope::Section(name) = &t.scope else {
        s.note = Some("断面类别目标须指定断面".into());
        return;
    };
    let Some(sec) = sections.iter().find(|x| &x.section == name) else {
        s.note = Some(format!("方案附件中没有断面 {name}"));
        return;
    };
    s.current = sec.month_class.as_ref().map(|c| json!(c));
    s.ytd = sec.ytd_class.as_ref().map(|c| json!(c));
    let number =
        |c: &str| gongjian_campaign::WaterClass::parse(c).map(|c| Decimal::from(c.number()));
    s.on_track = match (sec.ytd_class.as_deref().and_then(number), t.value) {
        (Some(actual), Some(target)) => Some(t.comparator.holds(actual, target)),
        _ => None,
    };
    s.note = Some(if sec.failing.is_empty() {
        sec.note.clone()
    } else {
        format!("超标项目：{}", sec.failing.join("；"))
    });
}

/// The JSON row of `gongjian targets --json` / `GET /targets`.
pub fn target_json(s: &TargetStatus) -> Value {
    json!({
        "key": s.key,
        "indicator": s.indicator,
        "scope": s.scope,
        "comparator": s.comparator,
        "value": s.value.map(|v| v.to_string()),
        "unit": s.unit,
        "measured": s.measured,
        "current": s.current,
        "ytd": s.ytd,
        "last_year": s.last_year,
        "on_track": s.on_track,
        "allowance": s.allowance,
        "rules": s.rules,
        "as_of": s.as_of.map(|d| d.to_string()),
        "note": s.note,
    })
}

// ---------------------------------------------------------------- rankings

/// Rankings of townships and stations over a month and year to date.
pub fn rankings(data: &AirData, month: NaiveDate) -> (Ranking, Ranking, Ranking, Ranking) {
    let m_from = NaiveDate::from_ymd_opt(month.year(), month.month(), 1).unwrap_or(month);
    let m_to = month_end(m_from);
    let to = data.as_of.map_or(m_to, |a| a.min(m_to));
    let y_from = gongjian_targets::year_start(m_from);
    let towns: Vec<Unit<'_>> = data
        .townships
        .iter()
        .map(|(n, d)| Unit {
            name: n.clone(),
            days: d,
        })
        .collect();
    let stations: Vec<Unit<'_>> = data
        .stations
        .iter()
        .map(|s| Unit {
            name: format!("{}（{}）", s.site.name, s.site.code),
            days: &s.days,
        })
        .collect();
    (
        rank_units(&towns, m_from, to),
        rank_units(&towns, y_from, to),
        rank_units(&stations, m_from, to),
        rank_units(&stations, y_from, to),
    )
}

/// Last day of the month of `d`.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|x| x.pred_opt())
        .unwrap_or(d)
}

// ---------------------------------------------------------------- reports

/// Parse `YYYY-MM`.
pub fn parse_month(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d").ok()
}

/// Build the monthly scheduling report (月调度) for `month` as JSON: the
/// live report, and what a publication freezes.
pub async fn build_report(db: &Db, month: NaiveDate) -> Result<Value, ApiError> {
    let plan = embedded_plan().map_err(|e| ApiError::with_detail(ErrorCode::Internal, e))?;
    let data = load_air(db, month.year()).await?;
    // Targets as of the end of the month (or the last day with data).
    let m_end = month_end(month);
    let mut upto = data.clone();
    upto.as_of = data.as_of.map(|a| a.min(m_end));
    let other = other_measures(db, &plan, month.year(), month.month()).await?;
    let targets: Vec<Value> = target_statuses(&plan, &upto, &other)
        .iter()
        .map(target_json)
        .collect();
    let (tm, ty, sm, sy) = rankings(&upto, month);
    let sections = &other.sections;
    let tasks = summaries::month_tasks(db, month).await?;
    let month_key = format!("{:04}-{:02}", month.year(), month.month());
    let fire_points: Vec<_> = db
        .fire_point_totals()
        .await?
        .into_iter()
        .filter(|t| t.month == month_key)
        .collect();
    let m_from = gongjian_storage::day_start_utc(month);
    let m_to = m_end
        .succ_opt()
        .map_or(i64::MAX, gongjian_storage::day_start_utc);
    let exceedances = summaries::exceedances(&db.limited_hours(m_from, m_to).await?);
    Ok(json!({
        "month": month_key,
        "title": format!("{}年{}月 大气污染防治攻坚月调度", month.year(), month.month()),
        "generated_at": now_local().format("%Y-%m-%d %H:%M").to_string(),
        "as_of": upto.as_of.map(|d| d.to_string()),
        "targets": targets,
        "township_ranking_month": tm,
        "township_ranking_ytd": ty,
        "station_ranking_month": sm,
        "station_ranking_ytd": sy,
        "water_sections": sections,
        "tasks_by_organisation": tasks,
        "fire_points": fire_points,
        "fire_points_total": fire_points
            .iter()
            .map(|t| Decimal::from_str_exact(&t.amount).unwrap_or_default())
            .sum::<Decimal>()
            .to_string(),
        "exceedances": exceedances,
    }))
}

/// A ranking as a sheet (its `rows`).
fn ranking_sheet(name: &str, r: &Value) -> Sheet {
    rows_sheet(
        name,
        &r["rows"],
        &[
            ("排名", "rank"),
            ("名称", "name"),
            ("综合指数", "index"),
            ("去年同期", "base_index"),
            ("变化率(%)", "change_rate"),
            ("改善排名", "change_rank"),
            ("PM2.5", "pm25"),
            ("优良率(%)", "good_ratio"),
        ],
    )
}

fn v2s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The report as XLSX sheets.
pub fn report_sheets(report: &Value) -> Vec<Sheet> {
    let mut targets = Sheet {
        name: "目标".into(),
        headers: [
            "指标",
            "目标",
            "单位",
            "本月",
            "年累计",
            "去年同期",
            "进度",
            "余量",
            "规则",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
    };
    for t in report["targets"].as_array().into_iter().flatten() {
        targets.rows.push(vec![
            Cell::from(v2s(&t["indicator"])),
            Cell::from(format!("{} {}", v2s(&t["comparator"]), v2s(&t["value"]))),
            Cell::from(v2s(&t["unit"])),
            Cell::from(v2s(&t["current"])),
            Cell::from(v2s(&t["ytd"])),
            Cell::from(v2s(&t["last_year"])),
            Cell::from(match t["on_track"].as_bool() {
                Some(true) => "正常",
                Some(false) => "滞后",
                None => "—",
            }),
            Cell::from(if t["allowance"].is_null() {
                v2s(&t["note"])
            } else {
                allowance_text(&t["allowance"])
            }),
            Cell::from(
                t["rules"]
                    .as_array()
                    .map(|a| a.iter().map(v2s).collect::<Vec<_>>().join("; "))
                    .unwrap_or_default(),
            ),
        ]);
    }
    let water = rows_sheet(
        "水质断面",
        &report["water_sections"],
        &[
            ("序号", "number"),
            ("乡镇", "township"),
            ("河流", "river"),
            ("断面", "section"),
            ("目标", "target"),
            ("本月类别", "month_class"),
            ("累计类别", "ytd_class"),
            ("累计达标", "compliant"),
            ("超标项目", "failing"),
            ("说明", "note"),
        ],
    );
    let tasks = rows_sheet(
        "任务调度",
        &report["tasks_by_organisation"],
        &[
            ("单位", "organisation"),
            ("任务分工", "assignments"),
            ("本月到期", "due"),
            ("已完成", "done"),
            ("逾期", "overdue"),
            ("本月退回", "returned"),
        ],
    );
    let fire = rows_sheet(
        "火点扣款",
        &report["fire_points"],
        &[
            ("乡镇", "township"),
            ("月份", "month"),
            ("火点数", "points"),
            ("秸秆火点", "straw_points"),
            ("其他火点", "other_points"),
            ("扣款(元)", "amount"),
        ],
    );
    let exceed = rows_sheet(
        "在线监测超标",
        &report["exceedances"],
        &[
            ("企业", "enterprise"),
            ("监测点", "site"),
            ("因子", "factor_name"),
            ("单位", "unit"),
            ("限值", "limit"),
            ("有效小时", "valid_hours"),
            ("超标小时", "hours_over"),
            ("最大值", "max_value"),
            ("最大超标倍数", "max_multiple"),
            ("最近超标", "last_over"),
        ],
    );
    vec![
        targets,
        ranking_sheet("乡镇排名(本月)", &report["township_ranking_month"]),
        ranking_sheet("乡镇排名(累计)", &report["township_ranking_ytd"]),
        ranking_sheet("站点排名(本月)", &report["station_ranking_month"]),
        ranking_sheet("站点排名(累计)", &report["station_ranking_ytd"]),
        water,
        tasks,
        fire,
        exceed,
    ]
}

/// A sheet of one report list: (header, key) per column; integers stay
/// numbers, arrays are joined with "；", booleans read 是/否.
fn rows_sheet(name: &str, list: &Value, columns: &[(&str, &str)]) -> Sheet {
    let cell = |v: &Value| match v {
        Value::Null => Cell::Empty,
        Value::Number(n) if n.is_i64() => Cell::from(n.as_i64()),
        Value::Bool(b) => Cell::from(if *b { "是" } else { "否" }),
        Value::Array(a) => Cell::from(a.iter().map(v2s).collect::<Vec<_>>().join("；")),
        other => Cell::from(v2s(other)),
    };
    Sheet {
        name: name.to_owned(),
        headers: columns.iter().map(|(h, _)| (*h).to_owned()).collect(),
        rows: list
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| columns.iter().map(|(_, k)| cell(&row[*k])).collect())
            .collect(),
    }
}

/// A human text for an allowance value.
pub fn allowance_text(a: &Value) -> String {
    match a["state"].as_str() {
        Some("remaining") if a.get("max_average").is_some() => format!(
            "余下 {} 天均值不超过 {}",
            v2s(&a["days"]),
            v2s(&a["max_average"])
        ),
        Some("remaining") if a.get("still_allowed_polluted").is_some() => format!(
            "尚可超标 {} 天（已超标 {} 天）",
            v2s(&a["still_allowed_polluted"]),
            v2s(&a["polluted_used"])
        ),
        Some("remaining") => format!("尚余 {} 天", v2s(&a["still_allowed"])),
        Some("lost") => "已无余量".into(),
        Some("final") => {
            if a["met"].as_bool() == Some(true) {
                "全年已达标".into()
            } else {
                "全年未达标".into()
            }
        }
        _ => "—".into(),
    }
}

/// Render an allowance from the typed value (pages).
pub fn allowance_of(a: &Allowance) -> String {
    allowance_text(&serde_json::to_value(a).unwrap_or(Value::Null))
}

// ---------------------------------------------------------------- API

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct YearQuery {
    /// 年份（默认今年）
    #[param(minimum = 2000, maximum = 2100)]
    year: Option<i32>,
}

#[utoipa::path(get, path = "/targets", summary = "攻坚目标：由监测数据计算的当前值、累计值、同比、余量", params(YearQuery), responses((status = 200, description = "目标", body = Object)))]
pub(crate) async fn api_targets(
    State(state): State<AppState>,
    _me: ApiUser,
    Query(q): Query<YearQuery>,
) -> Result<Json<Value>, ApiError> {
    let plan = embedded_plan().map_err(|e| ApiError::with_detail(ErrorCode::Internal, e))?;
    let year = q.year.unwrap_or_else(|| now_local().year());
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            "year 须在 2000 至 2100 之间",
        ));
    }
    let data = air_data(&state, year).await?;
    let other = other_measures(
        &state.db,
        &plan,
        year,
        status_month(year, now_local().date()),
    )
    .await?;
    let rows: Vec<Value> = target_statuses(&plan, &data, &other)
        .iter()
        .map(target_json)
        .collect();
    Ok(Json(json!({
        "plan": plan.key,
        "year": year,
        "as_of": data.as_of.map(|d| d.to_string()),
        "computed_from_cache_refreshed_at": data.refreshed_at,
        "targets": rows,
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MonthQuery {
    /// 月份 YYYY-MM（默认本月）
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    month: Option<String>,
}

#[utoipa::path(get, path = "/rankings", summary = "乡镇与站点排名：综合指数及同比变化率", params(MonthQuery), responses((status = 200, description = "排名", body = Object)))]
pub(crate) async fn api_rankings(
    State(state): State<AppState>,
    _me: ApiUser,
    Query(q): Query<MonthQuery>,
) -> Result<Json<Value>, ApiError> {
    let month = match q.month.as_deref() {
        Some(m) => parse_month(m)
            .ok_or_else(|| ApiError::with_detail(ErrorCode::InvalidInput, "month 须为 YYYY-MM"))?,
        None => now_local().date(),
    };
    let data = air_data(&state, month.year()).await?;
    let (tm, ty, sm, sy) = rankings(&data, month);
    Ok(Json(json!({
        "month": format!("{:04}-{:02}", month.year(), month.month()),
        "townships": {"month": tm, "ytd": ty},
        "stations": {"month": sm, "ytd": sy},
    })))
}

#[utoipa::path(get, path = "/reports/{month}", summary = "月调度报告（实时计算）", params(crate::api::doc::MonthPath), responses((status = 200, description = "报告（MonthlyReport）", body = Object)))]
pub(crate) async fn api_report(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(month): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let m = parse_month(&month)
        .ok_or_else(|| ApiError::with_detail(ErrorCode::InvalidInput, "month 须为 YYYY-MM"))?;
    Ok(Json(build_report(&state.db, m).await?))
}

#[utoipa::path(get, path = "/reports/{month}/published", summary = "已发布的月调度报告（冻结版本）", params(crate::api::doc::MonthPath), responses((status = 200, description = "版本列表", body = Object)))]
pub(crate) async fn api_published(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(month): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let list = state.db.published_reports(Some(&month)).await?;
    Ok(Json(json!({"month": month, "versions": list})))
}

#[utoipa::path(post, path = "/reports/{month}/publish", summary = "发布月调度报告（攻坚办），生成新版本", params(crate::api::doc::MonthPath), responses((status = 200, description = "新版本", body = Object)))]
pub(crate) async fn api_publish(
    State(state): State<AppState>,
    me: ApiUser,
    Path(month): Path<String>,
) -> Result<Json<Value>, ApiError> {
    me.require(matches!(
        me.user.role,
        gongjian_storage::Role::Admin | gongjian_storage::Role::Office
    ))?;
    let m = parse_month(&month)
        .ok_or_else(|| ApiError::with_detail(ErrorCode::InvalidInput, "month 须为 YYYY-MM"))?;
    let report = build_report(&state.db, m).await?;
    let title = report["title"].as_str().unwrap_or("月调度").to_owned();
    let p = state
        .db
        .publish_report(&me.actor(), &month, &title, &report)
        .await?;
    Ok(Json(
        json!({"month": p.month, "version": p.version, "published_at": p.published_at}),
    ))
}

#[utoipa::path(get, path = "/reports/{month}/versions/{version}", summary = "已发布报告的指定版本", params(crate::api::doc::MonthVersionPath), responses((status = 200, description = "该版本", body = Object)))]
pub(crate) async fn api_report_version(
    State(state): State<AppState>,
    _me: ApiUser,
    Path((month, version)): Path<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    let p = state.db.published_report(&month, version).await?;
    Ok(Json(serde_json::to_value(p).unwrap_or(Value::Null)))
}

/// XLSX download of a report (live or a published version).
pub(crate) fn xlsx_response(name: &str, report: &Value) -> Response {
    match gongjian_tabular::xlsx_bytes(name, &report_sheets(report)) {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => ApiError::with_detail(ErrorCode::Internal, e.to_string()).into_response(),
    }
}

#[utoipa::path(get, path = "/reports/{month}/xlsx", summary = "月调度报告导出 XLSX", params(crate::api::doc::MonthPath), responses((status = 200, description = "XLSX", body = crate::api::doc::Binary, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub(crate) async fn api_report_xlsx(
    State(state): State<AppState>,
    _me: ApiUser,
    Path(month): Path<String>,
) -> Result<Response, ApiError> {
    let m = parse_month(&month)
        .ok_or_else(|| ApiError::with_detail(ErrorCode::InvalidInput, "month 须为 YYYY-MM"))?;
    let report = build_report(&state.db, m).await?;
    Ok(xlsx_response(&format!("report-{month}.xlsx"), &report))
}
