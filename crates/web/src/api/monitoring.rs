//! Monitoring sites, HJ 212 devices, series and device health.
//!
//! Access: the office, admins and viewers see every site; an enterprise user
//! sees the sites its enterprise owns; a township user the sites in its
//! township; other users none. Only admins and the office register sites.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use gongjian_app::summaries::HealthRow;
use gongjian_campaign::{ScopeSetting, StationClass};
use gongjian_standards::cst;
use gongjian_storage::{
    Device, LatestValue, NewSite, Role, SeriesPoint, Site, SiteFactor, User, parse_site_kind,
    site_kind_label,
};
use gongjian_tabular::{Cell, Sheet};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{ApiError, ApiJson, ErrorCode};
use crate::session::ApiUser;

pub(crate) fn may_see(user: &User, site: &Site) -> bool {
    match user.role {
        Role::Admin | Role::Office | Role::Viewer => true,
        Role::Enterprise => site.organisation_id == Some(user.organisation_id),
        Role::Township => site.township_id == Some(user.organisation_id),
        Role::Department => false,
    }
}

pub(crate) fn may_write(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Office)
}

/// Device health and the quarantine are for the office (and admins, viewers).
pub(crate) fn may_see_health(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Office | Role::Viewer)
}

#[derive(Debug, Serialize)]
pub struct SiteView {
    #[serde(flatten)]
    pub site: Site,
    pub kind_label: String,
    /// Air stations: the class and what the station counts for
    /// (“乡镇站 · 计入乡镇排名”).
    pub class_label: Option<String>,
    pub devices: Vec<Device>,
    pub factors: Vec<SiteFactor>,
    pub latest: Vec<LatestValue>,
}

pub(crate) async fn visible_sites(state: &AppState, user: &User) -> Result<Vec<Site>, ApiError> {
    Ok(state
        .db
        .monitoring()
        .sites()
        .await?
        .into_iter()
        .filter(|s| may_see(user, s))
        .collect())
}

pub(crate) async fn site_view(state: &AppState, site: Site) -> Result<SiteView, ApiError> {
    let devices = state
        .db
        .monitoring()
        .devices()
        .await?
        .into_iter()
        .filter(|d| d.site_id == site.id)
        .collect();
    let factors = state.db.monitoring().site_factors(site.id).await?;
    let latest = state
        .db
        .monitoring()
        .latest_values()
        .await?
        .into_iter()
        .filter(|l| l.site_id == site.id)
        .collect();
    Ok(SiteView {
        kind_label: site_kind_label(&site.kind).to_owned(),
        class_label: class_label(&site),
        site,
        devices,
        factors,
        latest,
    })
}

/// “乡镇站 · 计入乡镇排名” for an air station; `None` for other kinds.
pub(crate) fn class_label(site: &Site) -> Option<String> {
    (site.kind == "air_station")
        .then(|| gongjian_campaign::class_and_scope_label(site.station_class, site.assessment))
}

pub(crate) async fn visible_site(state: &AppState, user: &User, id: i64) -> Result<Site, ApiError> {
    let site =
        state.db.monitoring().site(id).await?.ok_or_else(|| {
            ApiError::with_detail(ErrorCode::NotFound, format!("站点 {id} 不存在"))
        })?;
    if !may_see(user, &site) {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    Ok(site)
}

#[utoipa::path(get, path = "/sites", summary = "监测站点列表（含最新值；企业、乡镇只见本单位站点）", responses((status = 200, description = "站点", body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Vec<SiteView>>, ApiError> {
    let mut out = Vec::new();
    for s in visible_sites(&state, &me.user).await? {
        out.push(site_view(&state, s).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/sites/{id}", summary = "站点详情", params(crate::api::doc::IdPath), responses((status = 200, description = "站点", body = Object)))]
pub async fn get_one(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<SiteView>, ApiError> {
    let site = visible_site(&state, &me.user, id).await?;
    Ok(Json(site_view(&state, site).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DeviceBody {
    pub mn: String,
    pub pw: String,
    #[serde(default)]
    pub protocol: Option<String>,
    /// HJ 212 system code (ST); blank or absent: the default of the site's
    /// kind (`gongjian_storage::default_st`: a stack 31, a wastewater
    /// outfall 32, an air station 22, …).
    #[serde(default)]
    pub st: Option<String>,
    #[serde(default)]
    pub charset: Option<String>,
    #[serde(default)]
    pub accept_modbus_crc: bool,
    #[serde(default)]
    pub time_sync_on_connect: bool,
    #[serde(default)]
    pub min_interval: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FactorBody {
    pub factor: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub limit_value: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SiteBody {
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub code: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// Code (`stack_gas`) or label (`废气排口`).
    #[schema(value_type = crate::api::doc::SiteKindName)]
    pub kind: String,
    #[serde(default)]
    pub organisation_id: Option<i64>,
    #[serde(default)]
    pub township_id: Option<i64>,
    #[serde(default)]
    pub longitude: Option<String>,
    #[serde(default)]
    pub latitude: Option<String>,
    /// Air stations: 国控站 / 省控站 / 市控站 / 乡镇站 / 微站/小型站 (or
    /// national, provincial, city, township, micro). Absent: unclassified.
    #[serde(default)]
    #[schema(value_type = Option<crate::api::doc::StationClassName>)]
    pub station_class: Option<String>,
    /// Air stations: 区考核 / 乡镇排名 / 区考核、乡镇排名 / 不参与考核 (or
    /// district, township, both, none). Absent or `class`: as the class says.
    #[serde(default)]
    #[schema(value_type = Option<crate::api::doc::ScopeSettingName>)]
    pub assessment: Option<String>,
    #[serde(default)]
    pub device: Option<DeviceBody>,
    #[serde(default)]
    pub factors: Option<Vec<FactorBody>>,
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::with_detail(ErrorCode::InvalidInput, msg)
}

impl SiteBody {
    fn new_site(&self) -> Result<NewSite, ApiError> {
        let kind = parse_site_kind(&self.kind)
            .ok_or_else(|| invalid(format!("站点类型“{}”无效", self.kind)))?;
        let opt = |s: &Option<String>| {
            s.as_ref()
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
        };
        let station_class = match opt(&self.station_class) {
            None => None,
            Some(t) => Some(StationClass::parse(&t).ok_or_else(|| {
                invalid(format!(
                    "站点类别“{t}”无效（应为 {}）",
                    StationClass::ALL.map(StationClass::label).join("、")
                ))
            })?),
        };
        let assessment_text = opt(&self.assessment).unwrap_or_default();
        let assessment = ScopeSetting::parse(&assessment_text).ok_or_else(|| {
            invalid(format!(
                "考核范围“{assessment_text}”无效（应为 {}）",
                ScopeSetting::ALL.map(ScopeSetting::label).join("、")
            ))
        })?;
        Ok(NewSite {
            code: self.code.clone(),
            name: self.name.clone(),
            kind: kind.to_owned(),
            organisation_id: self.organisation_id,
            township_id: self.township_id,
            longitude: opt(&self.longitude),
            latitude: opt(&self.latitude),
            station_class,
            assessment,
        })
    }
}

/// The device a site of `kind` registers: its ST is the one given, or the
/// default of the site's kind.
pub(crate) fn device_of(body: &DeviceBody, site_id: i64, kind: &str) -> Device {
    let mut d = Device::new(body.mn.trim(), &body.pw, site_id);
    if let Some(p) = &body.protocol {
        d.protocol = p.trim().to_owned();
    }
    d.st = match body.st.as_ref().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        Some(st) => st.to_owned(),
        None => gongjian_storage::default_st(kind).to_owned(),
    };
    if let Some(c) = &body.charset {
        d.charset = c.trim().to_owned();
    }
    d.accept_modbus_crc = body.accept_modbus_crc;
    d.time_sync_on_connect = body.time_sync_on_connect;
    if let Some(m) = body.min_interval {
        d.min_interval = m;
    }
    d
}

pub(crate) async fn save_site(
    state: &AppState,
    me: &ApiUser,
    id: Option<i64>,
    body: &SiteBody,
) -> Result<Site, ApiError> {
    let new = body.new_site()?;
    let factors: Option<Vec<SiteFactor>> = body.factors.as_ref().map(|f| {
        f.iter()
            .map(|f| SiteFactor {
                factor: f.factor.clone(),
                name: f.name.clone(),
                unit: f.unit.clone(),
                limit_value: f.limit_value.clone().filter(|l| !l.trim().is_empty()),
            })
            .collect()
    });
    // Site, data logger and factors in one transaction: a refused part
    // stores nothing.
    let device = body.device.as_ref().map(|d| device_of(d, 0, &new.kind));
    Ok(state
        .db
        .monitoring()
        .save_site(&me.actor(), id, &new, device.as_ref(), factors.as_deref())
        .await?)
}

#[utoipa::path(post, path = "/sites", summary = "登记站点：类型、企业、乡镇、坐标、数采仪、因子（管理员、攻坚办）", request_body = SiteBody, responses((status = 201, description = "已登记", body = Object)))]
pub async fn create(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<SiteBody>,
) -> Result<(StatusCode, Json<SiteView>), ApiError> {
    me.require(may_write(&me.user))?;
    let site = save_site(&state, &me, None, &body).await?;
    Ok((StatusCode::CREATED, Json(site_view(&state, site).await?)))
}

#[utoipa::path(put, path = "/sites/{id}", summary = "修改站点（管理员、攻坚办）", params(crate::api::doc::IdPath), request_body = SiteBody, responses((status = 200, description = "已修改", body = Object)))]
pub async fn update(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<SiteBody>,
) -> Result<Json<SiteView>, ApiError> {
    me.require(may_write(&me.user))?;
    let site = save_site(&state, &me, Some(id), &body).await?;
    Ok(Json(site_view(&state, site).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// rtd | min | hour (default) | day
    #[param(pattern = r"^(rtd|min|hour|day)$")]
    pub kind: Option<String>,
    /// First local day, YYYY-MM-DD.
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last local day, YYYY-MM-DD (inclusive).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

fn day_start(s: &str) -> Result<i64, ApiError> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| invalid(format!("日期“{s}”格式应为 YYYY-MM-DD")))?;
    Ok(cst::day_start_utc(d))
}

/// (kind, from, to) with defaults per kind.
pub(crate) fn range(q: &SeriesQuery) -> Result<(&'static str, i64, i64), ApiError> {
    let kind = match q.kind.as_deref().unwrap_or("hour") {
        "rtd" => "rtd",
        "min" => "min",
        "hour" => "hour",
        "day" => "day",
        other => {
            return Err(invalid(format!(
                "数据类型“{other}”无效（rtd/min/hour/day）"
            )));
        }
    };
    let now = gongjian_storage::now();
    let to = match &q.to {
        Some(t) if !t.is_empty() => day_start(t)? + 86_400,
        _ => cst::local_day_start(now) + 86_400,
    };
    let span = match kind {
        "rtd" | "min" => 86_400,
        "hour" => 7 * 86_400,
        _ => 90 * 86_400,
    };
    let from = match &q.from {
        Some(f) if !f.is_empty() => day_start(f)?,
        _ => to - span,
    };
    if from >= to {
        return Err(invalid("起始日期应早于结束日期"));
    }
    Ok((kind, from, to))
}

#[derive(Debug, Serialize)]
pub struct SeriesOut {
    pub factor: String,
    pub name: String,
    pub unit: String,
    pub limit: Option<String>,
    pub kind: &'static str,
    pub points: Vec<SeriesPoint>,
}

/// The site's series of one kind, factor by factor: each read is a
/// primary-key range, so a site's years of real-time and minute data do not
/// slow a chart of its hours. Factors are the registered ones plus any the
/// logger sends that were not registered (they have a latest value).
pub(crate) async fn load_series(
    state: &AppState,
    site: &Site,
    q: &SeriesQuery,
) -> Result<Vec<SeriesOut>, ApiError> {
    let (kind, from, to) = range(q)?;
    let mut factors = state.db.monitoring().site_factors(site.id).await?;
    for v in state.db.monitoring().latest_values().await? {
        if v.site_id == site.id && !factors.iter().any(|f| f.factor == v.factor) {
            factors.push(SiteFactor {
                factor: v.factor,
                name: String::new(),
                unit: String::new(),
                limit_value: None,
            });
        }
    }
    factors.sort_by(|a, b| a.factor.cmp(&b.factor));
    let mut out = Vec::with_capacity(factors.len());
    for f in factors {
        let points = state
            .db
            .monitoring()
            .series_points(site.id, &f.factor, kind, from, to)
            .await?;
        if !points.is_empty() {
            out.push(SeriesOut {
                name: f.name,
                unit: f.unit,
                limit: f.limit_value,
                factor: f.factor,
                kind,
                points,
            });
        }
    }
    Ok(out)
}

#[utoipa::path(get, path = "/sites/{id}/series", summary = "站点监测数据", params(crate::api::doc::IdPath, SeriesQuery), responses((status = 200, description = "各因子的数据", body = Vec<Object>)))]
pub async fn series(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<Vec<SeriesOut>>, ApiError> {
    let site = visible_site(&state, &me.user, id).await?;
    Ok(Json(load_series(&state, &site, &q).await?))
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "rtd" => "实时",
        "min" => "分钟",
        "hour" => "小时",
        _ => "日",
    }
}

/// Series as a sheet: one row per value with unit, averaging period and flag.
pub(crate) fn series_sheet(site: &Site, series: &[SeriesOut]) -> Sheet {
    let mut rows = Vec::new();
    for s in series {
        for p in &s.points {
            rows.push(vec![
                Cell::from(site.code.clone()),
                Cell::from(site.name.clone()),
                Cell::from(s.factor.clone()),
                Cell::from(s.name.clone()),
                Cell::from(kind_label(s.kind)),
                Cell::from(cst::local_text(p.period_start)),
                Cell::from(p.value.clone()),
                Cell::from(p.converted.clone()),
                Cell::from(s.unit.clone()),
                Cell::from(p.flag.clone()),
                Cell::from(s.limit.clone()),
                Cell::from(p.source.clone()),
            ]);
        }
    }
    Sheet {
        name: "监测数据".into(),
        headers: [
            "站点编码",
            "站点名称",
            "因子编码",
            "因子名称",
            "均值周期",
            "时段开始(北京时间)",
            "监测值",
            "折算值",
            "单位",
            "数据标记",
            "限值",
            "来源",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

fn download(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub(crate) fn sheet_response(sheet: &Sheet, xlsx: bool, stem: &str) -> Result<Response, ApiError> {
    let internal =
        |e: gongjian_tabular::Error| ApiError::with_detail(ErrorCode::Internal, e.to_string());
    if xlsx {
        let bytes =
            gongjian_tabular::xlsx_bytes(stem, std::slice::from_ref(sheet)).map_err(internal)?;
        Ok(download(
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &format!("{stem}.xlsx"),
        ))
    } else {
        let mut out = Vec::new();
        gongjian_tabular::write_csv(stem, &mut out, sheet).map_err(internal)?;
        Ok(download(
            out,
            "text/csv; charset=utf-8",
            &format!("{stem}.csv"),
        ))
    }
}

#[utoipa::path(get, path = "/sites/{id}/series.csv", summary = "监测数据导出 CSV（含单位、均值周期、标记）", params(crate::api::doc::IdPath, SeriesQuery), responses((status = 200, description = "CSV", body = crate::api::doc::Binary, content_type = "text/csv")))]
pub async fn series_csv(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<SeriesQuery>,
) -> Result<Response, ApiError> {
    let site = visible_site(&state, &me.user, id).await?;
    let s = load_series(&state, &site, &q).await?;
    sheet_response(&series_sheet(&site, &s), false, "series")
}

#[utoipa::path(get, path = "/sites/{id}/series.xlsx", summary = "监测数据导出 XLSX", params(crate::api::doc::IdPath, SeriesQuery), responses((status = 200, description = "XLSX", body = crate::api::doc::Binary, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn series_xlsx(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    Query(q): Query<SeriesQuery>,
) -> Result<Response, ApiError> {
    let site = visible_site(&state, &me.user, id).await?;
    let s = load_series(&state, &site, &q).await?;
    sheet_response(&series_sheet(&site, &s), true, "series")
}

// ------------------------------------------------------------ import/export

use gongjian_app::sites::SITE_HEADERS;

/// Factors as `code:name:unit:limit` separated by `;`.
fn factors_text(f: &[SiteFactor]) -> String {
    f.iter()
        .map(|f| {
            format!(
                "{}:{}:{}:{}",
                f.factor,
                f.name,
                f.unit,
                f.limit_value.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(";")
}

pub(crate) async fn sites_sheet(state: &AppState, user: &User) -> Result<Sheet, ApiError> {
    let orgs = state.db.organisations().list().await?;
    let org_name = |id: Option<i64>| {
        id.and_then(|id| orgs.iter().find(|o| o.id == id))
            .map(|o| o.name.clone())
            .unwrap_or_default()
    };
    let devices = state.db.monitoring().devices().await?;
    let factors = state.db.monitoring().all_site_factors().await?;
    let mut rows = Vec::new();
    for s in visible_sites(state, user).await? {
        let d = devices.iter().find(|d| d.site_id == s.id);
        let f = factors.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
        // Passwords are exported only to those who may register devices.
        let pw = if may_write(user) {
            d.map(|d| d.pw.clone())
        } else {
            None
        };
        rows.push(vec![
            Cell::from(s.code.clone()),
            Cell::from(s.name.clone()),
            Cell::from(site_kind_label(&s.kind).to_owned()),
            Cell::from(org_name(s.organisation_id)),
            Cell::from(org_name(s.township_id)),
            Cell::from(s.longitude.clone()),
            Cell::from(s.latitude.clone()),
            Cell::from(s.station_class.map(|c| c.label().to_owned())),
            Cell::from((s.kind == "air_station").then(|| s.assessment.label().to_owned())),
            Cell::from(d.map(|d| d.mn.clone())),
            Cell::from(pw),
            Cell::from(d.map(|d| d.protocol.clone())),
            Cell::from(d.map(|d| if d.time_sync_on_connect { "是" } else { "否" }.to_owned())),
            Cell::from(d.map(|d| d.min_interval)),
            Cell::from(factors_text(f)),
        ]);
    }
    Ok(Sheet {
        name: "站点".into(),
        headers: SITE_HEADERS.map(String::from).to_vec(),
        rows,
    })
}

#[utoipa::path(get, path = "/sites.csv", summary = "站点导出 CSV", responses((status = 200, description = "CSV", body = crate::api::doc::Binary, content_type = "text/csv")))]
pub async fn sites_csv(State(state): State<AppState>, me: ApiUser) -> Result<Response, ApiError> {
    sheet_response(&sites_sheet(&state, &me.user).await?, false, "sites")
}

#[utoipa::path(get, path = "/sites.xlsx", summary = "站点导出 XLSX", responses((status = 200, description = "XLSX", body = crate::api::doc::Binary, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn sites_xlsx(State(state): State<AppState>, me: ApiUser) -> Result<Response, ApiError> {
    sheet_response(&sites_sheet(&state, &me.user).await?, true, "sites")
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SiteImportResult)]
pub struct ImportResult {
    pub created: usize,
    pub updated: usize,
}

/// Import sites from CSV (UTF-8 or GBK) or XLSX bytes in the export's
/// format, through the use case `gongjian sites import` shares
/// (`gongjian_app::sites`): every row is checked before anything is written.
pub(crate) async fn import_sites(
    state: &AppState,
    me: &ApiUser,
    file: &str,
    bytes: &[u8],
) -> Result<ImportResult, ApiError> {
    let table = gongjian_tabular::read_bytes(file, bytes).map_err(|e| invalid(e.to_string()))?;
    let out = gongjian_app::sites::import_sites(&state.db, &me.actor(), &table).await?;
    Ok(ImportResult {
        created: out.created,
        updated: out.updated,
    })
}

#[utoipa::path(post, path = "/sites/import", summary = "站点导入（CSV/XLSX 请求体，管理员、攻坚办）", params(("X-Filename" = Option<String>, Header, description = "文件名（用于提示，可百分号编码）")), request_body(content((crate::api::doc::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (crate::api::doc::Binary = "text/csv"), (crate::api::doc::Binary = "application/octet-stream"))), responses((status = 200, description = "导入结果", body = ImportResult)))]
pub async fn import(
    State(state): State<AppState>,
    me: ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportResult>, ApiError> {
    me.require(may_write(&me.user))?;
    let name = headers
        .get("x-filename")
        .map(|v| file_name_header(v.as_bytes()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "upload".to_owned());
    Ok(Json(import_sites(&state, &me, &name, &body).await?))
}

/// The `X-Filename` header as a name for messages: percent-encoded (as a
/// browser's `encodeURIComponent` sends a Chinese file name) or raw UTF-8;
/// at most 1 KiB of it is read, the importer clips it further for messages.
pub(crate) fn file_name_header(raw: &[u8]) -> String {
    let raw = &raw[..raw.len().min(1024)];
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            raw[i],
            raw.get(i + 1).and_then(|b| hex(*b)),
            raw.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).trim().to_owned()
}

// ---------------------------------------------------------------- health

pub(crate) async fn health_rows(state: &AppState) -> Result<Vec<HealthRow>, ApiError> {
    Ok(gongjian_app::summaries::health_rows(&state.db, gongjian_storage::now()).await?)
}

#[utoipa::path(get, path = "/devices/health", summary = "数采仪运行状况（攻坚办）", responses((status = 200, description = "各数采仪", body = Vec<Object>)))]
pub async fn health(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Vec<HealthRow>>, ApiError> {
    me.require(may_see_health(&me.user))?;
    Ok(Json(health_rows(&state).await?))
}

#[utoipa::path(get, path = "/hj212/quarantine", summary = "隔离帧（攻坚办）", responses((status = 200, description = "隔离帧", body = Vec<Object>)))]
pub async fn quarantine(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Vec<gongjian_storage::QuarantineEntry>>, ApiError> {
    me.require(may_see_health(&me.user))?;
    Ok(Json(state.db.monitoring().quarantine(200).await?))
}
