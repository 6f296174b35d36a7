//! 污染源: monitoring sites with their latest values against limits, a site
//! page with ECharts series, site registration (form and XLSX/CSV import),
//! and the device-health page with the quarantine.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_campaign::{ScopeSetting, StationClass};
use gongjian_standards::emission::flag_with_label;
use gongjian_storage::{OrgKind, SITE_KINDS};
use serde::Deserialize;

use super::{Layout, check_csrf, error_page, error_text, forbidden, render};
use crate::AppState;
use crate::api::monitoring::{
    DeviceBody, FactorBody, SiteBody, SiteView, health_rows, import_sites, may_see_health,
    may_write, save_site, site_view, visible_site, visible_sites,
};
use crate::error::{ApiError, ErrorCode};
use crate::session::{ApiUser, PageUser, constant_time_eq};

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    Router::new()
        .route("/sources", get(list))
        .route("/sources/health", get(health))
        .route("/sources/sites/new", get(new_form))
        .route("/sources/sites", post(submit))
        .route("/sources/sites/{id}", get(site_page))
        .route("/sources/sites/{id}/edit", get(edit_form))
        .route("/sources/sites/{id}/circuit", post(set_circuit))
        .route("/sources/sites/{id}/line", post(set_line))
        .route("/sources/sites/{id}/latest", get(latest_table))
        .route(
            "/sources/import",
            post(upload).layer(limits.import_body_limit()),
        )
}

pub(crate) struct ValueCell {
    pub factor: String,
    pub text: String,
    /// ok | over | flagged | none
    pub class: &'static str,
    pub title: String,
}

pub(crate) struct SiteRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub values: Vec<ValueCell>,
    pub last: String,
}

#[derive(Template)]
#[template(path = "monitoring_sites.html")]
struct SitesPage {
    layout: Layout,
    rows: Vec<SiteRow>,
    can_write: bool,
    can_health: bool,
}

/// A factor's latest value (折算 first) coloured against its limit.
fn value_cell(
    f: &gongjian_storage::SiteFactor,
    l: Option<&gongjian_storage::LatestValue>,
) -> ValueCell {
    let shown = l.and_then(|l| l.converted.clone().or(l.value.clone()));
    let class = match (l, &shown) {
        (None, _) | (_, None) => "none",
        (Some(l), _) if l.flag != "N" => "flagged",
        (_, Some(x)) if f.limit_value.as_deref().is_some_and(|lim| exceeds(x, lim)) => "over",
        _ => "ok",
    };
    ValueCell {
        factor: if f.name.is_empty() {
            f.factor.clone()
        } else {
            f.name.clone()
        },
        text: shown.map_or_else(
            || "—".into(),
            |x| display_value(&x, f.limit_value.as_deref()),
        ),
        class,
        title: format!(
            "{} {} 限值 {} 标记 {}",
            f.factor,
            f.unit,
            f.limit_value.as_deref().unwrap_or("—"),
            l.map_or("—".to_owned(), |l| flag_with_label(&l.flag))
        ),
    }
}

/// One row of a site page's factor table: the factor, its limit and its
/// latest value with flag and time.
pub(crate) struct FactorRow {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub limit: String,
    pub value: ValueCell,
    /// 正常, 校准 … (empty without a value).
    pub flag: String,
    /// 实时 / 分钟 / 小时 / 日 and the period's start in China Standard Time.
    pub at: String,
}

fn factor_rows(v: &SiteView) -> Vec<FactorRow> {
    v.factors
        .iter()
        .map(|f| {
            let l = v.latest.iter().find(|l| l.factor == f.factor);
            FactorRow {
                code: f.factor.clone(),
                name: f.name.clone(),
                unit: f.unit.clone(),
                limit: f.limit_value.clone().unwrap_or_else(|| "—".into()),
                value: value_cell(f, l),
                flag: l.map_or(String::new(), |l| flag_with_label(&l.flag)),
                at: l.map_or(String::new(), |l| {
                    let kind = match l.kind.as_str() {
                        "rtd" => "实时",
                        "min" => "分钟",
                        "hour" => "小时",
                        "day" => "日",
                        other => other,
                    };
                    format!(
                        "{kind} {}",
                        gongjian_standards::cst::local_text(l.period_start)
                    )
                }),
            }
        })
        .collect()
}

/// What the factor table shows (the page and the fragment share it as `t`).
pub(crate) struct LatestData {
    factors: Vec<FactorRow>,
    refreshed: String,
}

impl LatestData {
    fn of(v: &SiteView) -> LatestData {
        LatestData {
            factors: factor_rows(v),
            refreshed: gongjian_standards::cst::local_text(gongjian_storage::now()),
        }
    }
}

#[derive(Template)]
#[template(path = "monitoring_site_latest.html")]
struct LatestTable {
    t: LatestData,
}

/// The factor table alone, which the site page reloads every 30 seconds.
async fn latest_table(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
) -> Response {
    let site = match visible_site(&state, &me.user, id).await {
        Ok(s) => s,
        Err(e) => return page_error(&me, "sources", e),
    };
    match site_view(&state, site).await {
        Ok(v) => render(LatestTable {
            t: LatestData::of(&v),
        }),
        Err(e) => page_error(&me, "sources", e),
    }
}

/// A stored value as shown: rollups keep as many decimals as deciding an
/// exceedance exactly needs (`standards::exact::decisive_mean`); a page
/// shows four, or more where four would put it on or across its limit.
fn display_value(value: &str, limit: Option<&str>) -> String {
    use rust_decimal::Decimal;
    let Ok(v) = value.trim().parse::<Decimal>() else {
        return value.to_owned();
    };
    if v.scale() <= 4 {
        return value.to_owned();
    }
    match limit.and_then(|l| l.trim().parse::<Decimal>().ok()) {
        Some(l) => gongjian_standards::exact::round_keeping_order(v, l, 4).to_string(),
        None => v.round_dp(4).normalize().to_string(),
    }
}

fn exceeds(value: &str, limit: &str) -> bool {
    match (
        value.parse::<rust_decimal::Decimal>(),
        limit.parse::<rust_decimal::Decimal>(),
    ) {
        (Ok(v), Ok(l)) => v > l,
        _ => false,
    }
}

fn page_error(me: &PageUser, active: &str, e: ApiError) -> Response {
    let status = e.code.status();
    error_page(
        Layout::new(&me.user, &me.csrf, active).error(Some(error_text(&e))),
        status,
    )
}

async fn list(State(state): State<AppState>, me: PageUser) -> Response {
    let api = ApiUser {
        user: me.user.clone(),
        csrf: me.csrf.clone(),
        addr: me.addr.clone(),
    };
    let sites = match visible_sites(&state, &api.user).await {
        Ok(s) => s,
        Err(e) => return page_error(&me, "sources", e),
    };
    let mut rows = Vec::new();
    for s in sites {
        let v = match site_view(&state, s).await {
            Ok(v) => v,
            Err(e) => return page_error(&me, "sources", e),
        };
        let mut last = 0;
        let values = v
            .factors
            .iter()
            .map(|f| {
                let l = v.latest.iter().find(|l| l.factor == f.factor);
                last = last.max(l.map_or(0, |l| l.received_at));
                value_cell(f, l)
            })
            .collect();
        rows.push(SiteRow {
            id: v.site.id,
            code: v.site.code.clone(),
            name: v.site.name.clone(),
            kind: kind_text(&v),
            values,
            last: if last > 0 {
                gongjian_standards::cst::local_text(last)
            } else {
                "—".into()
            },
        });
    }
    render(SitesPage {
        layout: Layout::new(&me.user, &me.csrf, "sources"),
        rows,
        can_write: may_write(&me.user),
        can_health: may_see_health(&me.user),
    })
}

#[derive(Template)]
#[template(path = "monitoring_site.html")]
struct SitePage {
    layout: Layout,
    id: i64,
    code: String,
    name: String,
    kind: String,
    devices: Vec<(String, String)>,
    t: LatestData,
    /// The series shown first: 小时, or 实时 for a site with no hours yet.
    initial_kind: &'static str,
    disagreements: Vec<(String, String, String, String, String)>,
    can_write: bool,
    /// Power meters only: the 用电监控 card.
    power: Option<PowerCard>,
    /// Power meters and stacks of an enterprise: the production line it
    /// belongs to (as the reduction list names it), and a refused edit.
    line: Option<LineCard>,
}

struct LineCard {
    current: String,
    typed: String,
    error: Option<String>,
}

/// A power meter's circuit, what it serves, what was learned of its load,
/// and the form to set the circuit.
struct PowerCard {
    /// 产污设施 / 治污设施 / 未设置.
    circuit_label: String,
    /// The form's choice: production, treatment or empty.
    circuit: String,
    /// Production meters it serves: (id, name).
    serves: Vec<(i64, String)>,
    learned: String,
    /// The enterprise's production meters a treatment circuit may serve:
    /// (id, name, chosen).
    choices: Vec<(i64, String, bool)>,
    error: Option<String>,
}

/// The 用电监控 card of power meter `site` (None for other kinds); with a
/// refused form, what was chosen and why it was refused.
async fn power_card(
    state: &AppState,
    site: &gongjian_storage::Site,
    refused: Option<(&CircuitForm, String)>,
) -> Result<Option<PowerCard>, gongjian_app::AppError> {
    use gongjian_alarms::power::Circuit;
    if site.kind != "power" {
        return Ok(None);
    }
    let circuits = gongjian_app::power::circuits(&state.db).await?;
    let mine = circuits.get(&site.id);
    let sites = state.db.monitoring().sites().await?;
    let name_of = |id: i64| {
        sites
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| format!("站点 {id}"))
    };
    let (circuit, chosen): (String, Vec<i64>) = match refused {
        Some((f, _)) => (f.circuit.trim().to_owned(), f.serves_ids()),
        None => (
            mine.map(|c| c.circuit.as_str().to_owned())
                .unwrap_or_default(),
            mine.map(|c| c.serves.clone()).unwrap_or_default(),
        ),
    };
    let choices = sites
        .iter()
        .filter(|s| {
            s.kind == "power"
                && s.id != site.id
                && s.organisation_id.is_some()
                && s.organisation_id == site.organisation_id
                && circuits
                    .get(&s.id)
                    .is_some_and(|c| c.circuit == Circuit::Production)
        })
        .map(|s| (s.id, s.name.clone(), chosen.contains(&s.id)))
        .collect();
    let learned = gongjian_app::power::learned(&state.db, site.id, gongjian_storage::now()).await?;
    Ok(Some(PowerCard {
        circuit_label: mine.map_or("未设置", |c| c.circuit.label()).to_owned(),
        circuit,
        serves: mine
            .map(|c| c.serves.iter().map(|&id| (id, name_of(id))).collect())
            .unwrap_or_default(),
        learned: learned.describe(),
        choices,
        error: refused.map(|(_, e)| e),
    }))
}

/// The 用电类型 form: repeated `serves` fields are the checked boxes.
#[derive(Default)]
struct CircuitForm {
    csrf: String,
    circuit: String,
    serves: Vec<i64>,
}

/// More production meters than one treatment circuit plausibly serves.
const SERVES_MAX: usize = 64;

impl CircuitForm {
    fn read(body: &[u8]) -> CircuitForm {
        let mut f = CircuitForm::default();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "csrf" => f.csrf = v.into_owned(),
                "circuit" => f.circuit = v.chars().take(32).collect(),
                "serves" if f.serves.len() < SERVES_MAX => {
                    // An id that is not a number names no meter: the
                    // storage check refuses what is left if it does not fit.
                    if let Ok(id) = v.trim().parse() {
                        f.serves.push(id)
                    }
                }
                _ => {}
            }
        }
        f
    }

    fn serves_ids(&self) -> Vec<i64> {
        self.serves.clone()
    }
}

async fn set_circuit(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = CircuitForm::read(&body);
    if let Err(r) = check_csrf(&me, &f.csrf) {
        return r;
    }
    if !may_write(&me.user) {
        return forbidden(&me);
    }
    let site = match visible_site(&state, &me.user, id).await {
        Ok(s) => s,
        Err(e) => return page_error(&me, "sources", e),
    };
    let text = f.circuit.trim();
    let circuit = if text.is_empty() {
        Ok(None)
    } else {
        gongjian_alarms::power::Circuit::parse(text)
            .map(Some)
            .ok_or_else(|| format!("用电类型“{}”无效", short(text)))
    };
    let result = match circuit {
        Ok(c) => gongjian_app::power::set_circuit(&state.db, &me.actor(), id, c, &f.serves_ids())
            .await
            .map_err(|e| e.user_message()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/sources/sites/{id}#power")).into_response(),
        Err(message) => {
            let mut r = site_page_with(&state, &me, site, Some((&f, message))).await;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
    }
}

async fn site_page(State(state): State<AppState>, me: PageUser, Path(id): Path<i64>) -> Response {
    let site = match visible_site(&state, &me.user, id).await {
        Ok(s) => s,
        Err(e) => return page_error(&me, "sources", e),
    };
    site_page_with(&state, &me, site, None).await
}

async fn site_page_with(
    state: &AppState,
    me: &PageUser,
    site: gongjian_storage::Site,
    refused: Option<(&CircuitForm, String)>,
) -> Response {
    site_page_full(state, me, site, refused, None).await
}

async fn site_page_full(
    state: &AppState,
    me: &PageUser,
    site: gongjian_storage::Site,
    refused: Option<(&CircuitForm, String)>,
    refused_line: Option<(String, String)>,
) -> Response {
    let id = site.id;
    let line =
        if matches!(site.kind.as_str(), "power" | "stack_gas") && site.organisation_id.is_some() {
            let current = match gongjian_app::power::production_lines(&state.db).await {
                Ok(mut lines) => lines.remove(&id).unwrap_or_default(),
                Err(e) => return page_error(me, "sources", e.into()),
            };
            Some(match refused_line {
                Some((typed, error)) => LineCard {
                    current,
                    typed,
                    error: Some(error),
                },
                None => LineCard {
                    typed: current.clone(),
                    current,
                    error: None,
                },
            })
        } else {
            None
        };
    let power = match power_card(state, &site, refused).await {
        Ok(p) => p,
        Err(e) => return page_error(me, "sources", e.into()),
    };
    let v = match site_view(state, site).await {
        Ok(v) => v,
        Err(e) => return page_error(me, "sources", e),
    };
    let disagreements = state
        .db
        .monitoring()
        .rollup_disagreements(Some(id), 50)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            (
                d.factor,
                format!(
                    "{} {}",
                    if d.kind == "hour" { "小时" } else { "日" },
                    gongjian_standards::cst::local_text(d.period_start)
                ),
                format!(
                    "{} {}",
                    d.logger_value.unwrap_or_default(),
                    flag_with_label(&d.logger_flag)
                ),
                format!(
                    "{} {}",
                    d.rollup_value.unwrap_or_default(),
                    flag_with_label(&d.rollup_flag)
                ),
                gongjian_standards::cst::local_text(d.detected_at),
            )
        })
        .collect();
    // A site registered today has no hours yet: open on what it sends.
    let now = gongjian_storage::now();
    let mut initial_kind = "rtd";
    for f in &v.factors {
        let hours = state
            .db
            .monitoring()
            .series_points(id, &f.factor, "hour", now - 7 * 86_400, now)
            .await
            .unwrap_or_default();
        if !hours.is_empty() {
            initial_kind = "hour";
            break;
        }
    }
    render(SitePage {
        layout: Layout::new(&me.user, &me.csrf, "sources"),
        id,
        code: v.site.code.clone(),
        name: v.site.name.clone(),
        kind: kind_text(&v),
        devices: v
            .devices
            .iter()
            .map(|d| (d.mn.clone(), format!("HJ 212-{} · ST {}", d.protocol, d.st)))
            .collect(),
        t: LatestData::of(&v),
        initial_kind,
        disagreements,
        can_write: may_write(&me.user),
        power,
        line,
    })
}

/// Tie a power meter or stack to a production line of its enterprise.
async fn set_line(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let mut csrf = String::new();
    let mut line = String::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            // Longer than the storage limit still reads as too long.
            "line" => line = v.chars().take(200).collect(),
            _ => {}
        }
    }
    if let Err(r) = check_csrf(&me, &csrf) {
        return r;
    }
    if !may_write(&me.user) {
        return forbidden(&me);
    }
    let site = match visible_site(&state, &me.user, id).await {
        Ok(s) => s,
        Err(e) => return page_error(&me, "sources", e),
    };
    match gongjian_app::power::set_production_line(&state.db, &me.actor(), id, &line).await {
        Ok(()) => Redirect::to(&format!("/sources/sites/{id}#line")).into_response(),
        Err(e) => {
            let mut r =
                site_page_full(&state, &me, site, None, Some((line, e.user_message()))).await;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
    }
}

#[derive(Template)]
#[template(path = "monitoring_health.html")]
struct HealthPage {
    layout: Layout,
    rows: Vec<gongjian_app::summaries::HealthRow>,
    quarantine: Vec<(String, String, String, String, String)>,
    counts: Vec<(String, i64)>,
}

async fn health(State(state): State<AppState>, me: PageUser) -> Response {
    if !may_see_health(&me.user) {
        return forbidden(&me);
    }
    let rows = match health_rows(&state).await {
        Ok(r) => r,
        Err(e) => return page_error(&me, "sources", e),
    };
    let quarantine = state
        .db
        .monitoring()
        .quarantine(100)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|q| {
            let mut frame = q.frame;
            if frame.len() > 160 {
                let mut cut = 160;
                while !frame.is_char_boundary(cut) {
                    cut -= 1;
                }
                frame.truncate(cut);
                frame.push('…');
            }
            (
                gongjian_standards::cst::local_text(q.received_at),
                q.peer,
                q.mn.unwrap_or_default(),
                q.reason,
                frame,
            )
        })
        .collect();
    render(HealthPage {
        layout: Layout::new(&me.user, &me.csrf, "sources"),
        rows,
        quarantine,
        counts: state
            .db
            .monitoring()
            .quarantine_counts()
            .await
            .unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "monitoring_form.html")]
struct FormPage {
    layout: Layout,
    id: String,
    code: String,
    name: String,
    kind: String,
    kinds: Vec<(&'static str, &'static str)>,
    enterprises: Vec<(i64, String)>,
    townships: Vec<(i64, String)>,
    organisation_id: i64,
    township_id: i64,
    longitude: String,
    latitude: String,
    /// Air stations: the class code ("" unclassified) and the scope's form
    /// value (`class`: as the class says).
    station_class: String,
    assessment: String,
    classes: Vec<(&'static str, &'static str)>,
    scopes: Vec<(&'static str, &'static str)>,
    mn: String,
    protocol: String,
    /// The data logger's HJ 212 system code; blank: the site kind's default.
    st: String,
    st_codes: &'static [(&'static str, &'static str)],
    /// The ST is one of `st_codes` (else it is offered as “其他”).
    st_known: bool,
    time_sync: bool,
    /// As typed (an integer 1–60 when it comes from the store).
    min_interval: String,
    factors: String,
    /// Refusals shown next to their field.
    errors: FieldErrors,
}

/// A refused submission's messages, one per field of the site form.
#[derive(Default)]
pub(crate) struct FieldErrors {
    code: Option<String>,
    name: Option<String>,
    longitude: Option<String>,
    latitude: Option<String>,
    station_class: Option<String>,
    mn: Option<String>,
    min_interval: Option<String>,
    factors: Option<String>,
}

/// The class choices of the site form: code and label.
fn class_choices() -> Vec<(&'static str, &'static str)> {
    StationClass::ALL.map(|c| (c.code(), c.label())).to_vec()
}

/// The scope choices of the site form: form value and label, the class's
/// default first.
fn scope_choices() -> Vec<(&'static str, &'static str)> {
    ScopeSetting::ALL
        .map(|s| (s.form_value(), s.label()))
        .to_vec()
}

impl FieldErrors {
    fn any(&self) -> bool {
        [
            &self.code,
            &self.name,
            &self.longitude,
            &self.latitude,
            &self.station_class,
            &self.mn,
            &self.min_interval,
            &self.factors,
        ]
        .iter()
        .any(|e| e.is_some())
    }
}

async fn form(state: &AppState, me: &PageUser, id: Option<i64>, error: Option<String>) -> Response {
    if !may_write(&me.user) {
        return forbidden(me);
    }
    let orgs = state.db.organisations().list().await.unwrap_or_default();
    let pick = |k: OrgKind| -> Vec<(i64, String)> {
        orgs.iter()
            .filter(|o| o.kind == k)
            .map(|o| (o.id, o.name.clone()))
            .collect()
    };
    let mut page = FormPage {
        layout: Layout::new(&me.user, &me.csrf, "sources").error(error),
        id: String::new(),
        code: String::new(),
        name: String::new(),
        kind: "stack_gas".into(),
        kinds: SITE_KINDS.to_vec(),
        enterprises: pick(OrgKind::Enterprise),
        townships: pick(OrgKind::Township),
        organisation_id: 0,
        township_id: 0,
        longitude: String::new(),
        latitude: String::new(),
        station_class: StationClass::Township.code().into(),
        assessment: ScopeSetting::ByClass.form_value().into(),
        classes: class_choices(),
        scopes: scope_choices(),
        mn: String::new(),
        protocol: "2017".into(),
        st: String::new(),
        st_codes: gongjian_storage::ST_CODES,
        st_known: true,
        time_sync: false,
        min_interval: "10".into(),
        factors: String::new(),
        errors: FieldErrors::default(),
    };
    if let Some(id) = id {
        let site = match visible_site(state, &me.user, id).await {
            Ok(s) => s,
            Err(e) => return page_error(me, "sources", e),
        };
        let v = match site_view(state, site).await {
            Ok(v) => v,
            Err(e) => return page_error(me, "sources", e),
        };
        page.id = id.to_string();
        page.code = v.site.code.clone();
        page.name = v.site.name.clone();
        page.kind = v.site.kind.clone();
        page.organisation_id = v.site.organisation_id.unwrap_or(0);
        page.township_id = v.site.township_id.unwrap_or(0);
        page.longitude = v.site.longitude.clone().unwrap_or_default();
        page.latitude = v.site.latitude.clone().unwrap_or_default();
        page.station_class = v
            .site
            .station_class
            .map_or("", StationClass::code)
            .to_owned();
        page.assessment = v.site.assessment.form_value().to_owned();
        if let Some(d) = v.devices.first() {
            page.mn = d.mn.clone();
            page.protocol = d.protocol.clone();
            page.st = d.st.clone();
            page.st_known = gongjian_storage::ST_CODES.iter().any(|(c, _)| *c == d.st);
            page.time_sync = d.time_sync_on_connect;
            page.min_interval = d.min_interval.to_string();
        }
        page.factors = v
            .factors
            .iter()
            .map(|f| {
                format!(
                    "{},{},{},{}",
                    f.factor,
                    f.name,
                    f.unit,
                    f.limit_value.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    render(page)
}

async fn new_form(State(state): State<AppState>, me: PageUser) -> Response {
    form(&state, &me, None, None).await
}

async fn edit_form(State(state): State<AppState>, me: PageUser, Path(id): Path<i64>) -> Response {
    form(&state, &me, Some(id), None).await
}

#[derive(Deserialize)]
pub(crate) struct SiteForm {
    csrf: String,
    #[serde(default)]
    id: String,
    code: String,
    name: String,
    kind: String,
    // Numbers arrive as text and are parsed here, so an empty or mistyped
    // field gets a Chinese message next to it, not axum's rejection.
    #[serde(default)]
    organisation_id: String,
    #[serde(default)]
    township_id: String,
    #[serde(default)]
    longitude: String,
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    station_class: String,
    #[serde(default)]
    assessment: String,
    #[serde(default)]
    mn: String,
    #[serde(default)]
    pw: String,
    #[serde(default)]
    protocol: String,
    #[serde(default)]
    st: String,
    #[serde(default)]
    time_sync: Option<String>,
    #[serde(default)]
    min_interval: String,
    #[serde(default)]
    factors: String,
}

/// The form again with what was typed (never the logger password) and the
/// refusals next to their fields; nothing was stored.
async fn form_again(
    state: &AppState,
    me: &PageUser,
    f: &SiteForm,
    errors: FieldErrors,
    general: Option<String>,
) -> Response {
    let orgs = state.db.organisations().list().await.unwrap_or_default();
    let pick = |k: OrgKind| -> Vec<(i64, String)> {
        orgs.iter()
            .filter(|o| o.kind == k)
            .map(|o| (o.id, o.name.clone()))
            .collect()
    };
    let general = general.or_else(|| {
        errors
            .any()
            .then(|| "请按提示修改标出的字段，未保存任何内容".to_owned())
    });
    let mut resp = render(FormPage {
        layout: Layout::new(&me.user, &me.csrf, "sources").error(general),
        id: f.id.trim().to_owned(),
        code: f.code.clone(),
        name: f.name.clone(),
        kind: f.kind.clone(),
        kinds: SITE_KINDS.to_vec(),
        enterprises: pick(OrgKind::Enterprise),
        townships: pick(OrgKind::Township),
        organisation_id: f.organisation_id.trim().parse().unwrap_or(0),
        township_id: f.township_id.trim().parse().unwrap_or(0),
        longitude: f.longitude.clone(),
        latitude: f.latitude.clone(),
        station_class: f.station_class.trim().to_owned(),
        assessment: f.assessment.trim().to_owned(),
        classes: class_choices(),
        scopes: scope_choices(),
        mn: f.mn.clone(),
        protocol: f.protocol.clone(),
        st: f.st.trim().to_owned(),
        st_codes: gongjian_storage::ST_CODES,
        st_known: f.st.trim().is_empty()
            || gongjian_storage::ST_CODES
                .iter()
                .any(|(c, _)| *c == f.st.trim()),
        time_sync: f.time_sync.is_some(),
        min_interval: f.min_interval.clone(),
        factors: f.factors.clone(),
        errors,
    });
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp
}

/// An optional id of a select (`0` or blank: none).
fn optional_id(text: &str) -> Option<Option<i64>> {
    match text.trim() {
        "" | "0" => Some(None),
        t => t.parse::<i64>().ok().filter(|v| *v > 0).map(Some),
    }
}

async fn submit(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(f): axum::Form<SiteForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &f.csrf) {
        return r;
    }
    if !may_write(&me.user) {
        return forbidden(&me);
    }
    let id = f.id.trim().parse::<i64>().ok();
    let mut errors = FieldErrors::default();
    if f.code.trim().is_empty() {
        errors.code = Some("请填写站点编码".into());
    }
    if f.name.trim().is_empty() {
        errors.name = Some("请填写站点名称".into());
    }
    for (label, text, slot) in [
        ("经度", &f.longitude, &mut errors.longitude),
        ("纬度", &f.latitude, &mut errors.latitude),
    ] {
        let t = text.trim();
        if !t.is_empty() && (t.chars().count() > 32 || t.parse::<f64>().is_err()) {
            *slot = Some(format!("{label}须为数字（如 113.96），现为“{}”", short(t)));
        }
    }
    // Only an air station has a class: the two choices (marked 仅空气站 on
    // the form) are not stored for other kinds.
    let is_air = f.kind == "air_station";
    let class_text = f.station_class.trim();
    let scope = ScopeSetting::parse(&f.assessment).unwrap_or_default();
    if is_air && !class_text.is_empty() && StationClass::parse(class_text).is_none() {
        errors.station_class = Some(format!("站点类别“{}”无效", short(class_text)));
    }
    let (station_class, assessment) = if is_air {
        (
            Some(class_text.to_owned()).filter(|c| !c.is_empty()),
            Some(scope.form_value().to_owned()),
        )
    } else {
        (None, None)
    };
    let min_interval = if f.mn.trim().is_empty() {
        None
    } else {
        match f.min_interval.trim() {
            "" => {
                errors.min_interval = Some("请填写分钟数据间隔（1–60 的整数，常用 10）".into());
                None
            }
            t => match t.parse::<i64>() {
                Ok(v) if (1..=60).contains(&v) => Some(v),
                Ok(_) => {
                    errors.min_interval = Some("分钟数据间隔须在 1–60 之间".into());
                    None
                }
                Err(_) => {
                    errors.min_interval = Some(format!("分钟数据间隔须为整数，现为“{}”", short(t)));
                    None
                }
            },
        }
    };
    let (Some(organisation_id), Some(township_id)) =
        (optional_id(&f.organisation_id), optional_id(&f.township_id))
    else {
        return form_again(
            &state,
            &me,
            &f,
            errors,
            Some("所属企业或乡镇的选择无效，请重新选择".into()),
        )
        .await;
    };
    let mut factors = Vec::new();
    for (n, line) in f.factors.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
        if parts[0].is_empty() {
            errors.factors = Some(format!("监测因子第 {} 行缺少因子编码", n + 1));
            break;
        }
        factors.push(FactorBody {
            factor: parts[0].to_owned(),
            name: parts.get(1).copied().unwrap_or("").to_owned(),
            unit: parts.get(2).copied().unwrap_or("").to_owned(),
            limit_value: parts
                .get(3)
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty()),
        });
    }
    if errors.factors.is_none() {
        let checked: Vec<gongjian_storage::SiteFactor> = factors
            .iter()
            .map(|x| gongjian_storage::SiteFactor {
                factor: x.factor.clone(),
                name: x.name.clone(),
                unit: x.unit.clone(),
                limit_value: x.limit_value.clone(),
            })
            .collect();
        if let Err(e) = gongjian_storage::SiteFactor::validate_all(&checked) {
            errors.factors = Some(error_text(&ApiError::from(e)));
        }
    }
    if errors.any() {
        return form_again(&state, &me, &f, errors, None).await;
    }
    // An unchanged (blank) password keeps the registered one.
    let device = if f.mn.trim().is_empty() {
        None
    } else {
        let pw = if f.pw.is_empty() {
            state
                .db
                .monitoring()
                .device(f.mn.trim())
                .await
                .ok()
                .flatten()
                .map(|d| d.pw)
                .unwrap_or_default()
        } else {
            f.pw.clone()
        };
        Some(DeviceBody {
            mn: f.mn.trim().to_owned(),
            pw,
            protocol: Some(f.protocol.clone()).filter(|p| !p.is_empty()),
            st: Some(f.st.trim().to_owned()).filter(|s| !s.is_empty()),
            charset: None,
            accept_modbus_crc: false,
            time_sync_on_connect: f.time_sync.is_some(),
            min_interval,
        })
    };
    let body = SiteBody {
        code: f.code.clone(),
        name: f.name.clone(),
        kind: f.kind.clone(),
        organisation_id,
        township_id,
        longitude: Some(f.longitude.clone()),
        latitude: Some(f.latitude.clone()),
        station_class,
        assessment,
        device,
        factors: Some(factors),
    };
    let api = ApiUser {
        user: me.user.clone(),
        csrf: me.csrf.clone(),
        addr: me.addr.clone(),
    };
    match save_site(&state, &api, id, &body).await {
        Ok(site) => Redirect::to(&format!("/sources/sites/{}", site.id)).into_response(),
        Err(e) if e.code == ErrorCode::Forbidden => forbidden(&me),
        Err(e) => {
            // Put what can be placed next to its field; the rest on top.
            let mut errors = FieldErrors::default();
            let text = error_text(&e);
            let detail = e.detail.as_deref().unwrap_or("");
            if e.code == ErrorCode::Conflict {
                errors.code = Some(format!("站点编码“{}”已存在", short(f.code.trim())));
            } else if detail.contains("MN") || detail.contains("数采仪") {
                errors.mn = Some(text);
            } else if detail.contains("站点编码") || detail.contains("监测点编码") {
                errors.code = Some(text);
            } else if detail.contains("站点名称") || detail.contains("监测点名称") {
                errors.name = Some(text);
            } else {
                return form_again(&state, &me, &f, errors, Some(text)).await;
            }
            form_again(&state, &me, &f, errors, None).await
        }
    }
}

/// The site's kind, and for an air station its class and scope.
fn kind_text(v: &crate::api::monitoring::SiteView) -> String {
    match &v.class_label {
        Some(c) => format!("{} · {c}", v.kind_label),
        None => v.kind_label.clone(),
    }
}

/// At most 40 characters of a typed value, for a message.
fn short(text: &str) -> String {
    let mut s: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        s.push('…');
    }
    s
}

#[derive(Deserialize)]
pub(crate) struct NameQuery {
    name: Option<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn upload(
    State(state): State<AppState>,
    me: PageUser,
    headers: HeaderMap,
    Query(q): Query<NameQuery>,
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
    if !may_write(&me.user) {
        return (
            StatusCode::FORBIDDEN,
            Html("<p class=\"flash error\">仅攻坚办可导入站点</p>"),
        )
            .into_response();
    }
    let api = ApiUser {
        user: me.user.clone(),
        csrf: me.csrf.clone(),
        addr: me.addr.clone(),
    };
    let name = q.name.unwrap_or_else(|| "upload.csv".into());
    match import_sites(&state, &api, &name, &body).await {
        Ok(r) => Html(format!(
            "<p class=\"flash ok\" id=\"import-result\">{}：新建 {} 个站点，更新 {} 个</p>",
            esc(&name),
            r.created,
            r.updated
        ))
        .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Html(format!(
                "<p class=\"flash error\">{}</p>",
                esc(&error_text(&e))
            )),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod display_tests {
    use super::display_value;

    #[test]
    fn stored_decimals_are_shown_to_four_but_never_across_the_limit() {
        assert_eq!(display_value("35.25", Some("35")), "35.25");
        assert_eq!(display_value("3.333333", None), "3.3333");
        assert_eq!(display_value("3.333333", Some("50")), "3.3333");
        // Four decimals would read as the limit: one more is shown.
        assert_eq!(display_value("35.000048", Some("35")), "35.00005");
        assert_eq!(display_value("NA", Some("35")), "NA");
    }
}
