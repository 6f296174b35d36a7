//! 月调度: the monthly scheduling report — shown as a page, exported as
//! XLSX, printable on A4; the office publishes frozen, numbered versions
//! that every role can read. Its last section, the month's 问责 records
//! (约谈、通报、问责), carries on the live page the office's entry form and
//! the void button of each record.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_app::accountability::{self as acc, RecordForm};
use gongjian_app::report::{ACCOUNTABILITY_SECTION, MonthlyReport};
use gongjian_app::targets::{month_key, parse_month};
use gongjian_storage::{AccountabilityKind, CampaignState, OrgKind, Role};
use serde::Deserialize;

use super::{Layout, check_csrf, error_page, error_text, forbidden, render};
use crate::AppState;
use crate::api::targets::{frozen_report, live_report, publish as publish_report, xlsx_response};
use crate::error::ApiError;
use crate::session::PageUser;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(page))
        .route("/reports/{month}/publish", post(publish))
        .route(
            "/reports/{month}/accountability",
            post(record_accountability),
        )
        .route(
            "/reports/{month}/accountability/{id}/void",
            post(void_accountability),
        )
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
    /// The live page's 问责 section (list, form, void buttons); a
    /// published version shows its records among `tables`.
    accountability: Option<AccountabilitySection>,
}

/// One 问责 record as the live page lists it.
pub(crate) struct AccountabilityRow {
    pub id: i64,
    pub organisation: String,
    pub kind: &'static str,
    pub reason: String,
    pub document_number: String,
    pub decided_on: String,
    pub recorded_by: String,
    /// 已作废：reason（who, when）, for a voided record.
    pub voided: Option<String>,
}

pub(crate) struct OrgOption {
    pub id: String,
    pub name: String,
}

pub(crate) struct OrgOptionGroup {
    pub label: &'static str,
    pub orgs: Vec<OrgOption>,
}

/// Errors next to the entry form's fields.
#[derive(Default)]
pub(crate) struct AccountabilityErrors {
    pub organisation: Option<String>,
    pub kind: Option<String>,
    pub reason: Option<String>,
    pub document_number: Option<String>,
    pub decided_on: Option<String>,
}

impl AccountabilityErrors {
    fn of(errors: Vec<acc::FieldError>) -> AccountabilityErrors {
        let mut out = AccountabilityErrors::default();
        for (field, msg) in errors {
            let slot = match field {
                "organisation" => &mut out.organisation,
                "kind" => &mut out.kind,
                "document_number" => &mut out.document_number,
                "decided_on" => &mut out.decided_on,
                _ => &mut out.reason,
            };
            if slot.is_none() {
                *slot = Some(msg);
            }
        }
        out
    }

    fn any(&self) -> bool {
        self.organisation.is_some()
            || self.kind.is_some()
            || self.reason.is_some()
            || self.document_number.is_some()
            || self.decided_on.is_some()
    }
}

pub(crate) struct AccountabilitySection {
    /// The numbered title of the report's section.
    pub title: String,
    pub note: String,
    pub rows: Vec<AccountabilityRow>,
    /// The office's form and void buttons (the campaign in force).
    pub can_record: bool,
    /// Why there is no form for the office (the campaign closed), if so.
    pub closed_note: Option<String>,
    pub form: RecordForm,
    pub errors: AccountabilityErrors,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub groups: Vec<OrgOptionGroup>,
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
    /// What was just done (a flash message).
    ok: Option<String>,
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
    let default = gongjian_app::now_local().date();
    let month = q.month.as_deref().and_then(parse_month).unwrap_or(default);
    let ok = match q.ok.as_deref() {
        Some("accountability") => Some("问责记录已登记".to_owned()),
        Some("accountability_void") => Some("问责记录已作废".to_owned()),
        _ => None,
    };
    live_page(
        &state,
        &me,
        month,
        RecordForm::default(),
        AccountabilityErrors::default(),
        ok,
        None,
    )
    .await
}

/// The live report of `month`, its 问责 section with `form` as typed and
/// `errors` next to the fields; 400 when anything was refused.
async fn live_page(
    state: &AppState,
    me: &PageUser,
    month: chrono::NaiveDate,
    form: RecordForm,
    errors: AccountabilityErrors,
    ok: Option<String>,
    error: Option<String>,
) -> Response {
    let layout = || Layout::new(&me.user, &me.csrf, "reports");
    let m = month_key(month);
    let report = match live_report(state, month).await {
        Ok(r) => r,
        Err(e) => {
            return error_page(
                layout().error(Some(error_text(&e))),
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    let mut tables = tables(&report);
    // The 问责 section is drawn with its form, in the place of its table.
    let section = tables
        .last()
        .is_some_and(|t| t.title.ends_with(ACCOUNTABILITY_SECTION));
    let accountability = if section {
        let table = tables.pop().expect("the last table");
        match accountability_section(state, me, month, table, form, errors).await {
            Ok(s) => Some(s),
            Err(e) => {
                return error_page(
                    layout().error(Some(error_text(&e))),
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                );
            }
        }
    } else {
        None
    };
    let refused = error.is_some() || accountability.as_ref().is_some_and(|a| a.errors.any());
    let mut resp = render(ReportPage {
        layout: layout().ok(ok).error(error),
        title: report.title.clone(),
        subtitle: format!("实时计算（生成于 {}），未发布", report.generated_at),
        masthead: report.masthead(),
        default_issue: report.default_issue(),
        tables,
        xlsx_href: format!("/api/v1/reports/{m}/xlsx"),
        can_publish: can_publish(me),
        frozen: false,
        versions: versions(state, &m).await,
        accountability,
        month: m,
    });
    if refused {
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    resp
}

/// The month's 问责 records (voided ones too, marked), and for the office
/// the entry form while the month's campaign is in force.
async fn accountability_section(
    state: &AppState,
    me: &PageUser,
    month: chrono::NaiveDate,
    table: Table,
    form: RecordForm,
    errors: AccountabilityErrors,
) -> Result<AccountabilitySection, ApiError> {
    use chrono::Datelike;
    let campaign = state.db.campaigns().campaign_for_year(month.year()).await?;
    let records = match &campaign {
        Some(c) => acc::month_records(&state.db, &c.key, &month_key(month)).await?,
        None => Vec::new(),
    };
    let office = acc::may_record(&me.user);
    let in_force = campaign
        .as_ref()
        .is_some_and(|c| c.state == CampaignState::Active);
    let closed_note = (office && !in_force).then(|| {
        campaign.as_ref().map_or_else(
            || "本年度没有攻坚方案，不能登记问责记录".to_owned(),
            |c| {
                format!(
                    "攻坚方案“{}”已结束，不能再登记或作废问责记录；如需补记，请先重新启用该方案",
                    c.name
                )
            },
        )
    });
    let can_record = office && in_force;
    let groups = if can_record {
        let orgs = state.db.organisations().list().await?;
        [
            (OrgKind::Township, "乡镇（街道）"),
            (OrgKind::Department, "区直部门"),
            (OrgKind::Enterprise, "企业"),
            (OrgKind::External, "其他单位"),
        ]
        .into_iter()
        .map(|(kind, label)| OrgOptionGroup {
            label,
            orgs: orgs
                .iter()
                .filter(|o| o.kind == kind)
                .map(|o| OrgOption {
                    id: o.id.to_string(),
                    name: o.name.clone(),
                })
                .collect(),
        })
        .filter(|g| !g.orgs.is_empty())
        .collect()
    } else {
        Vec::new()
    };
    let rows = records
        .into_iter()
        .map(|r| AccountabilityRow {
            voided: r.voided_at.map(|at| {
                format!(
                    "已作废：{}（{}，{}）",
                    r.void_reason.clone().unwrap_or_default(),
                    r.voided_by.clone().unwrap_or_default(),
                    gongjian_standards::cst::local_minutes_text(at)
                )
            }),
            id: r.id,
            organisation: r.organisation,
            kind: r.kind.label(),
            reason: r.reason,
            document_number: r.document_number.unwrap_or_default(),
            decided_on: r.decided_on.to_string(),
            recorded_by: r.created_by,
        })
        .collect();
    Ok(AccountabilitySection {
        title: table.title,
        note: table.note,
        rows,
        can_record,
        closed_note,
        form,
        errors,
        kinds: AccountabilityKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label()))
            .collect(),
        groups,
    })
}

/// The 400 page of a path whose month is not `YYYY-MM`.
fn bad_month(me: &PageUser) -> Response {
    error_page(
        Layout::new(&me.user, &me.csrf, "reports"),
        axum::http::StatusCode::BAD_REQUEST,
    )
}

#[derive(Deserialize)]
pub(crate) struct AccountabilityPost {
    csrf: String,
    #[serde(flatten)]
    form: RecordForm,
}

async fn record_accountability(
    State(state): State<AppState>,
    me: PageUser,
    Path(month): Path<String>,
    Form(body): Form<AccountabilityPost>,
) -> Response {
    if let Err(r) = check_csrf(&me, &body.csrf) {
        return r;
    }
    if !acc::may_record(&me.user) {
        return forbidden(&me);
    }
    let Some(m) = parse_month(&month) else {
        return bad_month(&me);
    };
    let form = body.form;
    let outcome = async {
        use chrono::Datelike;
        let campaign = gongjian_app::plan::require_campaign_for_year(&state.db, m.year()).await?;
        acc::record(
            &state.db,
            &me.user,
            &me.actor(),
            &campaign.info.key,
            &month_key(m),
            &form,
        )
        .await
    }
    .await;
    match outcome {
        Ok(Ok(_)) => Redirect::to(&format!(
            "/reports?month={}&ok=accountability#accountability",
            month_key(m)
        ))
        .into_response(),
        Ok(Err(errors)) => {
            live_page(
                &state,
                &me,
                m,
                form,
                AccountabilityErrors::of(errors),
                None,
                None,
            )
            .await
        }
        Err(e) => {
            let e = ApiError::from(e);
            live_page(
                &state,
                &me,
                m,
                form,
                AccountabilityErrors::default(),
                None,
                Some(error_text(&e)),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct VoidForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn void_accountability(
    State(state): State<AppState>,
    me: PageUser,
    Path((month, id)): Path<(String, i64)>,
    Form(f): Form<VoidForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &f.csrf) {
        return r;
    }
    if !acc::may_record(&me.user) {
        return forbidden(&me);
    }
    let Some(m) = parse_month(&month) else {
        return bad_month(&me);
    };
    match acc::void(&state.db, &me.user, &me.actor(), id, &f.reason).await {
        Ok(_) => Redirect::to(&format!(
            "/reports?month={}&ok=accountability_void#accountability",
            month_key(m)
        ))
        .into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            live_page(
                &state,
                &me,
                m,
                RecordForm::default(),
                AccountabilityErrors::default(),
                None,
                Some(error_text(&e)),
            )
            .await
        }
    }
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
            accountability: None,
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
