//! 预警应急 (issue 15): the warnings issued and, for one of them, each
//! listed enterprise's days verified from its electricity meters; the
//! office issues a warning here and imports the season's reduction list
//! (应急减排清单, the same use case as `gongjian emergency import-list`,
//! docs/emergency.md). An enterprise sees the warnings and its own
//! measures for each.

mod list_edit;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Layout, check_csrf, error_page, error_text, fail, forbidden, render};
use crate::AppState;
use crate::attachments::Received;
use crate::error::{ApiError, ErrorCode};
use crate::session::PageUser;
use gongjian_storage::Role;

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    Router::new()
        .route("/emergency", get(page))
        .route(
            "/emergency/list",
            post(import_list).layer(limits.import_body_limit()),
        )
        .route(
            "/emergency/warnings",
            post(issue).layer(limits.upload_body_limit()),
        )
        .route(
            "/emergency/warnings/{id}/change",
            post(change).layer(limits.upload_body_limit()),
        )
        .route(
            "/emergency/warnings/{id}/lift",
            post(lift).layer(limits.upload_body_limit()),
        )
        .route(
            "/emergency/warnings/{id}/notice",
            post(add_notice).layer(limits.upload_body_limit()),
        )
        .route("/emergency/warnings/{id}/receipt", post(confirm))
        .route("/emergency/warnings/{id}/cases", post(open_cases))
        .merge(list_edit::routes())
}

struct WarningRow {
    id: i64,
    /// For an enterprise: its measures at the warning's level.
    own: Vec<gongjian_app::emergency::OwnMeasure>,
    level: &'static str,
    level_class: &'static str,
    span: String,
    document: String,
    /// 生效中 / 已解除 / 已调整 …, and how it came about (升级自 #3 …).
    state: String,
    origin: String,
    /// 已确认 n / 已通知 m.
    receipts: String,
    /// For an enterprise: it was told and has not confirmed yet.
    to_confirm: bool,
    /// For an enterprise: when it confirmed.
    confirmed: Option<String>,
    /// The city's notice files: (attachment id, file name, size); for an
    /// enterprise only those of warnings it was told of.
    notices: Vec<(i64, String, String)>,
}

/// The chosen warning's receipts and the office's actions on it.
struct ChosenView {
    /// (enterprise, told at, confirmed: time and person or 未确认)
    receipts: Vec<(String, String, String, bool)>,
    without_account: String,
    /// Still in force today or later: it may be raised, lowered or lifted.
    may_change: bool,
    level_code: String,
}

struct DayRow {
    day: String,
    enterprise: String,
    measure: String,
    energy: String,
    baseline: String,
    allowed: String,
    /// One pollutant a line, from CEMS; empty without stacks.
    emissions: Vec<String>,
    verdict: &'static str,
    verdict_class: &'static str,
    detail: String,
}

#[derive(Template)]
#[template(path = "emergency.html")]
struct EmergencyPage {
    layout: Layout,
    warnings: Vec<WarningRow>,
    /// The warning shown, its list and its verified days.
    chosen: Option<i64>,
    season: String,
    days: Vec<DayRow>,
    not_required: String,
    /// The office may issue a warning; an enterprise sees its measures.
    may_issue: bool,
    enterprise: bool,
    /// The user's organisation (an enterprise's link to its record).
    org_id: i64,
    form: IssueForm,
    /// A refused issue: (field, message).
    field_error: Option<(&'static str, String)>,
    chosen_view: Option<ChosenView>,
    /// A refused change, lift or receipt.
    action_error: Option<String>,
    /// The list import form: the season as typed, and why the file was
    /// refused.
    list_season: String,
    list_refusal: Option<ListRefusal>,
    /// The list in force (not for an enterprise: it names every other).
    list: Option<ListView>,
    /// The AQI forecast as typed and what it calls for.
    forecast: ForecastView,
    /// A verified day is 未落实: the office may open the cases now.
    has_failed: bool,
}

/// The 按预报研判 panel: the forecast as typed, its problems, and the
/// suggestion in words (the issue form is prefilled with a warning's).
#[derive(Default)]
struct ForecastView {
    text: String,
    problems: Vec<String>,
    result: Option<String>,
    /// A warning's level code (`orange`) and label (橙色), else empty.
    level_code: &'static str,
    level_label: &'static str,
}

/// Why an uploaded list was refused: nothing was stored.
#[derive(Default)]
struct ListRefusal {
    /// Next to the season field.
    season: Option<String>,
    /// What was wrong with the file as a whole (unreadable, or how many
    /// problems it has).
    summary: Option<String>,
    /// Every problem, one per line: 第 N 行「列」：原因.
    problems: Vec<String>,
}

/// The list in force.
struct ListView {
    season: String,
    version: i64,
    source: String,
    imported: String,
    enterprises: usize,
    rows: Vec<ListRowView>,
}

struct ListRowView {
    line: u64,
    enterprise: String,
    /// The enterprise's record page, when it is registered.
    org: Option<i64>,
    credit_code: String,
    industry: String,
    grade: String,
    line_name: String,
    baseline: String,
    /// 黄色, 橙色, 红色.
    measures: [String; 3],
}

/// What a page shows besides the stored state: a notice, a refused form
/// as typed with its reasons.
#[derive(Default)]
struct Feedback {
    ok: Option<String>,
    form: IssueForm,
    /// A refused issue: (field, message).
    field_error: Option<(&'static str, String)>,
    /// A refused change, lift or receipt.
    action_error: Option<String>,
    list_season: String,
    list_refusal: Option<ListRefusal>,
    forecast: ForecastView,
}

#[derive(Deserialize)]
struct WarningQuery {
    warning: Option<i64>,
    ok: Option<String>,
    /// After an import: the list stored (its notice names it).
    list: Option<i64>,
    /// A daily AQI forecast to judge (按预报研判), one `日期 AQI` a line.
    forecast: Option<String>,
    /// After 立督办单: how many cases were opened.
    opened: Option<usize>,
}

/// The longest forecast text read (31 lines fit many times over).
const FORECAST_TEXT_MAX: usize = 4096;

/// Judge `text` with the trigger rules in force today; a warning's level
/// and days prefill `form`.
fn judge_forecast(text: &str, today: chrono::NaiveDate, form: &mut IssueForm) -> ForecastView {
    use gongjian_emergency::Suggestion;
    let text: String = text.chars().take(FORECAST_TEXT_MAX).collect();
    let mut view = ForecastView {
        text: text.clone(),
        ..ForecastView::default()
    };
    let days = match gongjian_emergency::parse_forecast(&text) {
        Ok(days) => days,
        Err(problems) => {
            view.problems = problems;
            return view;
        }
    };
    let rules = gongjian_emergency::RuleSet::for_date(today);
    view.result = Some(match gongjian_emergency::suggest(&days, &rules.triggers) {
        Suggestion::None => "预报期内无 AQI > 200 的日子，无需发布预警。".to_owned(),
        Suggestion::Advisory { day, aqi } => {
            format!("{day} 预报 AQI {aqi}，仅 1 天重污染：随预报发布健康防护提示，不启动预警。")
        }
        Suggestion::Warning {
            level,
            starts_on,
            ends_on,
            reason,
        } => {
            view.level_code = level.code();
            view.level_label = level.label();
            form.level = level.code().to_owned();
            form.starts_on = starts_on.to_string();
            form.ends_on = ends_on.to_string();
            let late = if starts_on <= today + chrono::Duration::days(1) {
                "距启动已不足 24 小时，请尽快发布。"
            } else {
                "预警应至少提前 24 小时发布。"
            };
            format!(
                "建议发布{}预警：{starts_on} 至 {ends_on}，{reason}，达到{}预警条件（{}）。已填入下方发布表单，请核对后发布。{late}",
                level.label(),
                level.label(),
                rules.basis
            )
        }
    });
    view
}

/// The issue form, as typed.
#[derive(Deserialize, Default, Clone)]
struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    document: String,
}

impl IssueForm {
    fn of(fields: &[(String, String)]) -> IssueForm {
        let mut f = IssueForm::default();
        for (name, value) in fields {
            match name.as_str() {
                "csrf" => f.csrf = value.clone(),
                "level" => f.level = value.clone(),
                "starts_on" => f.starts_on = value.clone(),
                "ends_on" => f.ends_on = value.clone(),
                "document" => f.document = value.clone(),
                _ => {}
            }
        }
        f
    }
}

fn level_view(code: &str) -> (&'static str, &'static str) {
    match gongjian_emergency::WarningLevel::parse(code) {
        Some(l) => (l.label(), l.code()),
        None => ("—", ""),
    }
}

fn dash(v: Option<rust_decimal::Decimal>) -> String {
    v.map_or_else(|| "—".to_owned(), |d| d.round_dp(1).normalize().to_string())
}

fn may_issue(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office)
}

async fn page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<WarningQuery>,
) -> Response {
    let ok = match q.ok.as_deref() {
        Some("issued") => {
            Some("预警已发布，已通知清单企业查看本企业的减排措施并确认接收".to_owned())
        }
        Some("changed") => Some("预警级别已调整，已重新通知清单企业".to_owned()),
        Some("lifted") => Some("预警已解除，已通知清单企业".to_owned()),
        Some("notice") => Some("通知文件已上传，已通知的企业可在本页下载".to_owned()),
        Some("confirmed") => Some("已确认接收预警及本企业减排措施".to_owned()),
        Some("cases") => Some(match q.opened.unwrap_or(0) {
            0 => "未落实的企业均已有本次预警的督办单，未重复立单".to_owned(),
            n => format!("已对未落实的企业立督办单 {n} 件，见报警督办"),
        }),
        _ => None,
    };
    let ok = match q.ok.as_deref() {
        Some("list") => Some(imported_notice(&state, q.list).await),
        _ => ok,
    };
    let mut form = IssueForm::default();
    let forecast = match q.forecast.as_deref() {
        Some(text) if may_issue(me.user.role) => {
            judge_forecast(text, gongjian_app::now_local().date(), &mut form)
        }
        _ => ForecastView::default(),
    };
    view(
        &state,
        &me,
        q.warning,
        Feedback {
            ok,
            form,
            forecast,
            ..Feedback::default()
        },
    )
    .await
}

/// The notice after an import: the season, and how many enterprises and
/// rows were loaded (from the list in force, when it is still the one
/// imported).
async fn imported_notice(state: &AppState, id: Option<i64>) -> String {
    match gongjian_app::emergency::list_in_force(&state.db).await {
        Ok(Some(l)) if Some(l.list.id) == id => format!(
            "已导入 {} 采暖季应急减排清单（第 {} 版）：{} 家企业，共 {} 行（生产线）",
            l.list.season, l.list.id, l.enterprises, l.list.entries
        ),
        _ => "应急减排清单已导入".to_owned(),
    }
}

/// Raise/lower or lift, as typed.
#[derive(Deserialize, Default)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    level: String,
    /// The date the change or the lift takes effect.
    #[serde(default)]
    on: String,
    #[serde(default)]
    document: String,
}

async fn refused_action(state: &AppState, me: &PageUser, id: i64, message: String) -> Response {
    let mut r = view(
        state,
        me,
        Some(id),
        Feedback {
            action_error: Some(message),
            ..Feedback::default()
        },
    )
    .await;
    *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    r
}

impl ActionForm {
    fn of(fields: &[(String, String)]) -> ActionForm {
        let mut f = ActionForm::default();
        for (name, value) in fields {
            match name.as_str() {
                "csrf" => f.csrf = value.clone(),
                "level" => f.level = value.clone(),
                "on" => f.on = value.clone(),
                "document" => f.document = value.clone(),
                _ => {}
            }
        }
        f
    }
}

/// A page form that may carry the city's notice files: multipart (the
/// files streamed to the incoming directory and checked) or, without
/// files, urlencoded. Its text fields and the files received.
pub(super) async fn read_form(
    state: &AppState,
    req: Request,
) -> Result<(Vec<(String, String)>, Vec<Received>), ApiError> {
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // axum's own rejection text is English: the page says it in Chinese.
    fn unreadable<E>(_: E) -> ApiError {
        ApiError::with_detail(ErrorCode::InvalidInput, "表单内容无法读取，请重新提交")
    }
    if multipart {
        let mp = Multipart::from_request(req, state)
            .await
            .map_err(unreadable)?;
        let raw = crate::api::campaign::read_multipart(&state.campaign, mp).await?;
        Ok((raw.fields, raw.files))
    } else {
        let axum::Form(fields) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(unreadable)?;
        Ok((fields, Vec::new()))
    }
}

/// Every notice file accepted (type and size), else the first refusal in
/// Chinese: nothing is stored then.
fn notice_refusal(files: &[Received]) -> Option<String> {
    files.iter().find_map(|f| f.refusal().map(str::to_owned))
}

/// Move accepted notice files into place; the Chinese reason if one could
/// not be stored.
async fn store_notice(
    state: &AppState,
    files: Vec<Received>,
) -> Result<Vec<gongjian_storage::NewAttachment>, String> {
    if let Some(why) = notice_refusal(&files) {
        return Err(why);
    }
    let (stored, failed) = crate::api::campaign::store_uploads(&state.campaign, files).await;
    if failed.is_empty() {
        Ok(stored)
    } else {
        Err(failed.join("；"))
    }
}

/// The form of a change or lift as posted, with its notice files; the
/// response to hand back when it cannot be read or is refused first.
async fn action_form(
    state: &AppState,
    me: &PageUser,
    id: i64,
    req: Request,
) -> Result<(ActionForm, Vec<Received>), Response> {
    if !may_issue(me.user.role) {
        return Err(forbidden(me));
    }
    let (fields, files) = match read_form(state, req).await {
        Ok(read) => read,
        Err(e) => return Err(refused_action(state, me, id, error_text(&e)).await),
    };
    let form = ActionForm::of(&fields);
    check_csrf(me, &form.csrf)?;
    Ok((form, files))
}

async fn change(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    req: Request,
) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "emergency", busy.into()),
    };
    let (form, files) = match action_form(&state, &me, id, req).await {
        Ok(read) => read,
        Err(r) => return r,
    };
    let Ok(on) = form.on.trim().parse::<chrono::NaiveDate>() else {
        return refused_action(&state, &me, id, "请选择调整生效日期".into()).await;
    };
    let notice = match store_notice(&state, files).await {
        Ok(n) => n,
        Err(why) => {
            return refused_action(&state, &me, id, format!("{why}；预警未调整")).await;
        }
    };
    match gongjian_app::emergency::change_warning_with_notice(
        &state.db,
        &me.actor(),
        id,
        &form.level,
        on,
        &form.document,
        &notice,
    )
    .await
    {
        Ok(w) => Redirect::to(&format!("/emergency?warning={}&ok=changed", w.id)).into_response(),
        Err(e) => refused_action(&state, &me, id, error_text(&e.into())).await,
    }
}

async fn lift(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    req: Request,
) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "emergency", busy.into()),
    };
    let (form, files) = match action_form(&state, &me, id, req).await {
        Ok(read) => read,
        Err(r) => return r,
    };
    let Ok(on) = form.on.trim().parse::<chrono::NaiveDate>() else {
        return refused_action(&state, &me, id, "请选择解除日期".into()).await;
    };
    let notice = match store_notice(&state, files).await {
        Ok(n) => n,
        Err(why) => {
            return refused_action(&state, &me, id, format!("{why}；预警未解除")).await;
        }
    };
    match gongjian_app::emergency::lift_warning_with_notice(
        &state.db,
        &me.actor(),
        id,
        on,
        &form.document,
        &notice,
    )
    .await
    {
        Ok(w) => Redirect::to(&format!("/emergency?warning={}&ok=lifted", w.id)).into_response(),
        Err(e) => refused_action(&state, &me, id, error_text(&e.into())).await,
    }
}

/// 上传通知文件: the city's notice (or its change or lifting notice) for
/// an existing warning; a refused file refuses the upload, nothing stored.
async fn add_notice(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    req: Request,
) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "emergency", busy.into()),
    };
    let (_, files) = match action_form(&state, &me, id, req).await {
        Ok(read) => read,
        Err(r) => return r,
    };
    if files.is_empty() {
        return refused_action(&state, &me, id, "请选择通知文件".into()).await;
    }
    let notice = match store_notice(&state, files).await {
        Ok(n) => n,
        Err(why) => return refused_action(&state, &me, id, why).await,
    };
    match gongjian_app::emergency::add_notice(&state.db, &me.actor(), id, &notice).await {
        Ok(()) => Redirect::to(&format!("/emergency?warning={id}&ok=notice")).into_response(),
        Err(e) => refused_action(&state, &me, id, error_text(&e.into())).await,
    }
}

async fn confirm(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ActionForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    if me.user.role != Role::Enterprise {
        return forbidden(&me);
    }
    match gongjian_app::emergency::confirm_receipt(
        &state.db,
        &me.actor(),
        id,
        me.user.organisation_id,
    )
    .await
    {
        Ok(()) => Redirect::to(&format!("/emergency?ok=confirmed#w{id}")).into_response(),
        Err(e) => refused_action(&state, &me, id, error_text(&e.into())).await,
    }
}

/// 对未落实企业立督办单: verify the warning now and open the cases the
/// hourly job would (once per enterprise and warning).
async fn open_cases(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ActionForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    if !may_issue(me.user.role) {
        return forbidden(&me);
    }
    let today = gongjian_app::now_local().date();
    let opened = match gongjian_app::emergency::verify_warning(&state.db, id, today).await {
        Ok(v) => gongjian_app::emergency::open_cases(&state.db, &me.actor(), &v, today).await,
        Err(e) => Err(e),
    };
    match opened {
        Ok(ids) => Redirect::to(&format!(
            "/emergency?warning={id}&ok=cases&opened={}",
            ids.len()
        ))
        .into_response(),
        Err(e) => refused_action(&state, &me, id, error_text(&e.into())).await,
    }
}

async fn issue(State(state): State<AppState>, me: PageUser, req: Request) -> Response {
    if !may_issue(me.user.role) {
        return forbidden(&me);
    }
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "emergency", busy.into()),
    };
    let (fields, files) = match read_form(&state, req).await {
        Ok(read) => read,
        Err(e) => {
            return refused_issue(
                &state,
                &me,
                IssueForm::default(),
                ("notice", error_text(&e)),
            )
            .await;
        }
    };
    let form = IssueForm::of(&fields);
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    let refused = |field: &'static str, msg: String| (field, msg);
    let checked = match form.starts_on.trim().parse::<chrono::NaiveDate>() {
        Err(_) => Err(refused("starts_on", "请选择预警启动日期".into())),
        Ok(starts_on) => match form.ends_on.trim() {
            "" => Ok((starts_on, None)),
            t => t
                .parse::<chrono::NaiveDate>()
                .map(|d| (starts_on, Some(d)))
                .map_err(|_| refused("ends_on", "解除日期格式应为 YYYY-MM-DD".into())),
        },
    };
    let error = match checked {
        Err(e) => e,
        Ok(_) if notice_refusal(&files).is_some() => refused(
            "notice",
            format!("{}；预警未发布", notice_refusal(&files).unwrap_or_default()),
        ),
        Ok((starts_on, ends_on)) => {
            let notice = match store_notice(&state, files).await {
                Ok(n) => n,
                Err(why) => return refused_issue(&state, &me, form, ("notice", why)).await,
            };
            match gongjian_app::emergency::issue_warning_with_notice(
                &state.db,
                &me.actor(),
                &form.level,
                starts_on,
                ends_on,
                &form.document,
                &notice,
            )
            .await
            {
                Ok(w) => {
                    return Redirect::to(&format!("/emergency?warning={}&ok=issued", w.id))
                        .into_response();
                }
                Err(e) => {
                    let text = error_text(&e.into());
                    let field = if text.contains("级别") {
                        "level"
                    } else if text.contains("解除") {
                        "ends_on"
                    } else {
                        "document"
                    };
                    (field, text)
                }
            }
        }
    };
    refused_issue(&state, &me, form, error).await
}

/// The page again with the issue refused: the form as typed, the reason
/// next to its field (`notice`: the files, to be chosen again).
async fn refused_issue(
    state: &AppState,
    me: &PageUser,
    form: IssueForm,
    error: (&'static str, String),
) -> Response {
    let mut r = view(
        state,
        me,
        None,
        Feedback {
            form,
            field_error: Some(error),
            ..Feedback::default()
        },
    )
    .await;
    *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    r
}

/// The uploaded file's own name (a browser may send a whole path), without
/// control or direction-override characters, at most 100 characters.
pub(super) fn upload_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let name: String = base
        .chars()
        .filter(|&c| {
            !c.is_control()
                && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .take(100)
        .collect();
    if name.is_empty() {
        "上传的清单".to_owned()
    } else {
        name
    }
}

/// A spreadsheet that cannot be read, in Chinese.
pub(super) fn read_error_text(e: &gongjian_tabular::Error) -> String {
    use gongjian_tabular::Error as E;
    match e {
        E::Encoding { line, .. } if *line > 0 => {
            format!("第 {line} 行：文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX")
        }
        E::Encoding { .. } => "文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX".into(),
        E::Syntax { line, message, .. } if message.contains("字段数与表头不一致") => {
            format!("第 {line} 行：字段数与表头不一致")
        }
        E::Syntax { line, .. } => format!("第 {line} 行：CSV 格式有误，无法读取"),
        E::Empty { .. } => "文件为空：第 1 行应为表头".into(),
        E::Cell {
            line,
            column,
            message,
            ..
        } => {
            let why = if message.contains("此列没有表头") {
                "此列没有表头，但有内容"
            } else {
                "单元格内容无法读取（如公式错误值）"
            };
            if column.name.is_empty() {
                format!("第 {line} 行第 {} 列：{why}", column.number)
            } else {
                format!("第 {line} 行「{}」：{why}", column.name)
            }
        }
        E::Xlsx { .. } => "不是有效的 XLSX 文件，无法读取第一个工作表".into(),
        E::TooBig { message, .. } => message.clone(),
        E::TooLarge { .. } => "文件过大，无法导入".into(),
        E::Io { .. } => "文件无法读取".into(),
    }
}

/// The page again with the import refused: the season as typed, the
/// reasons next to the form; nothing was stored.
async fn refused_list(
    state: &AppState,
    me: &PageUser,
    season: String,
    refusal: ListRefusal,
) -> Response {
    let mut r = view(
        state,
        me,
        None,
        Feedback {
            list_season: season,
            list_refusal: Some(refusal),
            ..Feedback::default()
        },
    )
    .await;
    *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    r
}

/// Import the season's reduction list from an uploaded XLSX or CSV (UTF-8
/// or GBK), refused whole when any row is wrong.
async fn import_list(State(state): State<AppState>, me: PageUser, mp: Multipart) -> Response {
    if !may_issue(me.user.role) {
        return forbidden(&me);
    }
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "emergency", busy.into()),
    };
    // Bounded by the route's import limit; refused without a file.
    let up = match super::read_import_form(mp).await {
        Ok(up) => up,
        Err(e) => {
            let refusal = ListRefusal {
                summary: Some(error_text(&e)),
                ..ListRefusal::default()
            };
            return refused_list(&state, &me, String::new(), refusal).await;
        }
    };
    if let Err(r) = check_csrf(&me, up.csrf()) {
        return r;
    }
    let season = up.field("season").to_owned();
    let file_name = upload_name(&up.file_name);
    let refuse = |summary: String| ListRefusal {
        summary: Some(summary),
        ..ListRefusal::default()
    };
    let table = match gongjian_tabular::read_bytes(&file_name, &up.bytes) {
        Ok(t) => t,
        Err(e) => {
            let refusal = refuse(format!(
                "{file_name}：{}，整个文件未导入",
                read_error_text(&e)
            ));
            return refused_list(&state, &me, season, refusal).await;
        }
    };
    let refusal =
        match gongjian_app::emergency::import_list(&state.db, &me.actor(), &season, &table).await {
            Ok(list) => {
                return Redirect::to(&format!(
                    "/emergency?ok=list&list={}#emergency-list",
                    list.id
                ))
                .into_response();
            }
            // The list's problems: a summary line, then one line per problem.
            Err(gongjian_app::AppError::InvalidFile(text)) => {
                let mut lines = text.lines().filter(|l| !l.trim().is_empty());
                ListRefusal {
                    season: None,
                    summary: lines.next().map(|l| l.trim_end_matches('：').to_owned()),
                    problems: lines.map(str::to_owned).collect(),
                }
            }
            Err(e) => {
                let text = error_text(&e.into());
                if text.contains("采暖季") {
                    ListRefusal {
                        season: Some(text),
                        ..ListRefusal::default()
                    }
                } else {
                    refuse(text)
                }
            }
        };
    refused_list(&state, &me, season, refusal).await
}

async fn view(state: &AppState, me: &PageUser, warning: Option<i64>, fb: Feedback) -> Response {
    let Feedback {
        ok,
        form,
        field_error,
        action_error,
        list_season,
        list_refusal,
        forecast,
    } = fb;
    let enterprise = me.user.role == Role::Enterprise;
    if !enterprise && !matches!(me.user.role, Role::Admin | Role::Office | Role::Viewer) {
        return forbidden(me);
    }
    let general = if field_error.is_some() {
        Some("预警未发布，请按提示修改".to_owned())
    } else if list_refusal.is_some() {
        Some("应急减排清单未导入（原有清单不变），请按提示修改后重新上传".to_owned())
    } else {
        None
    };
    let layout = || {
        Layout::new(&me.user, &me.csrf, "emergency")
            .ok(ok.clone())
            .error(general.clone())
    };
    let warnings = match state.db.emergency().warnings().await {
        Ok(w) => w,
        Err(e) => {
            return error_page(
                layout().error(Some(error_text(&e.into()))),
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    let chosen = if enterprise {
        None
    } else {
        warning.or(warnings.first().map(|w| w.id))
    };
    let mut notices = gongjian_app::emergency::notices(&state.db)
        .await
        .unwrap_or_default();
    let today = gongjian_app::now_local().date();
    let mut rows = Vec::new();
    for w in &warnings {
        let receipts = state
            .db
            .emergency()
            .receipts(w.id)
            .await
            .unwrap_or_default();
        let mine = receipts
            .iter()
            .find(|r| enterprise && r.organisation_id == me.user.organisation_id);
        let successor = warnings.iter().find(|n| n.previous_id == Some(w.id));
        let (level, level_class) = level_view(&w.level);
        let own = if enterprise {
            gongjian_app::emergency::measures_of(&state.db, &me.user.organisation_name, &w.level)
                .await
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        rows.push(WarningRow {
            id: w.id,
            own,
            level,
            level_class,
            span: format!(
                "{} 至 {}",
                w.starts_on,
                w.ends_on.map_or("解除前".to_owned(), |d| d.to_string())
            ),
            document: w.document_number.clone(),
            state: warning_state(w, successor, today),
            origin: match (w.change.as_str(), w.previous_id) {
                ("raise", Some(p)) => format!("由 #{p} 升级"),
                ("lower", Some(p)) => format!("由 #{p} 降级"),
                _ => String::new(),
            },
            receipts: format!(
                "已确认 {} / 已通知 {}",
                receipts.iter().filter(|r| r.confirmed_at.is_some()).count(),
                receipts.len()
            ),
            to_confirm: mine.is_some_and(|r| r.confirmed_at.is_none()),
            // An enterprise reads the notices of the warnings it was told of.
            notices: if enterprise && mine.is_none() {
                Vec::new()
            } else {
                notices
                    .remove(&w.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| {
                        (
                            a.id,
                            a.file_name,
                            crate::attachments::human_size(a.size.max(0) as u64),
                        )
                    })
                    .collect()
            },
            confirmed: mine
                .and_then(|r| r.confirmed_at)
                .map(gongjian_standards::cst::local_minutes_text),
        });
    }
    let mut page = EmergencyPage {
        layout: layout(),
        warnings: rows,
        chosen,
        season: String::new(),
        days: Vec::new(),
        not_required: String::new(),
        may_issue: may_issue(me.user.role),
        enterprise,
        org_id: me.user.organisation_id,
        form,
        field_error,
        chosen_view: None,
        action_error,
        list_season,
        list_refusal,
        list: None,
        forecast,
        has_failed: false,
    };
    if !enterprise {
        match gongjian_app::emergency::list_in_force(&state.db).await {
            Ok(l) => page.list = l.map(list_view),
            Err(e) => {
                page.layout = page.layout.error(Some(error_text(&e.into())));
            }
        }
    }
    if let Some(id) = chosen
        && let Some(w) = warnings.iter().find(|w| w.id == id)
        && let Ok(r) = gongjian_app::emergency::receipts(&state.db, id).await
    {
        page.chosen_view = Some(ChosenView {
            receipts: r
                .receipts
                .iter()
                .map(|x| {
                    (
                        x.organisation.clone(),
                        gongjian_standards::cst::local_minutes_text(x.notified_at),
                        match x.confirmed_at {
                            Some(t) => format!(
                                "{}（{}）",
                                gongjian_standards::cst::local_minutes_text(t),
                                x.confirmed_by.as_deref().unwrap_or("")
                            ),
                            None => "未确认".to_owned(),
                        },
                        x.confirmed_at.is_some(),
                    )
                })
                .collect(),
            without_account: r.without_account.join("、"),
            may_change: w.lifted_at.is_none() && w.ends_on.is_none_or(|e| e >= today),
            level_code: w.level.clone(),
        });
    }
    if let Some(id) = chosen {
        match gongjian_app::emergency::verify_warning(&state.db, id, today).await {
            Ok(v) => {
                page.season = v.season.clone().unwrap_or_else(|| "未导入".to_owned());
                page.not_required = v.not_required.join("、");
                page.days = v
                    .days
                    .iter()
                    .map(|d| DayRow {
                        day: d.day.to_string(),
                        enterprise: d.enterprise.clone(),
                        measure: d.measure.clone(),
                        energy: dash(d.energy_kwh),
                        baseline: dash(d.baseline_kwh),
                        allowed: d
                            .allowed_pct
                            .map_or_else(|| "—".to_owned(), |a| format!("{}%", a.normalize())),
                        emissions: d.emissions_text().lines().map(str::to_owned).collect(),
                        verdict: d.verdict_label,
                        verdict_class: match d.verdict {
                            gongjian_emergency::Verdict::Compliant => "ok",
                            gongjian_emergency::Verdict::NotImplemented => "bad",
                            gongjian_emergency::Verdict::Unverifiable => "warn",
                        },
                        detail: d.detail.clone(),
                    })
                    .collect();
                page.has_failed = v
                    .days
                    .iter()
                    .any(|d| d.verdict == gongjian_emergency::Verdict::NotImplemented);
            }
            Err(e) => {
                page.layout =
                    Layout::new(&me.user, &me.csrf, "emergency").error(Some(error_text(&e.into())));
            }
        }
    }
    render(page)
}

fn list_view(l: gongjian_app::emergency::ListInForce) -> ListView {
    ListView {
        season: l.list.season,
        version: l.list.id,
        source: l.list.source_name,
        imported: format!(
            "{} 于 {} 导入",
            l.imported_by,
            gongjian_standards::cst::local_minutes_text(l.list.imported_at)
        ),
        enterprises: l.enterprises,
        rows: l
            .rows
            .into_iter()
            .map(|r| {
                let [yellow, orange, red] = r.measures.map(|m| m.unwrap_or_else(|| "—".to_owned()));
                ListRowView {
                    line: r.line,
                    org: r.organisation_id,
                    enterprise: r.enterprise,
                    credit_code: r.credit_code.unwrap_or_default(),
                    industry: r.industry,
                    grade: if r.exemption.is_empty() {
                        r.grade.to_owned()
                    } else {
                        format!("{}（{}）", r.grade, r.exemption)
                    },
                    line_name: r.production_line.unwrap_or_else(|| "全厂".to_owned()),
                    baseline: dash(r.baseline_kwh),
                    measures: [yellow, orange, red],
                }
            })
            .collect(),
    }
}

/// A warning's state as of `today`.
fn warning_state(
    w: &gongjian_storage::Warning,
    successor: Option<&gongjian_storage::Warning>,
    today: chrono::NaiveDate,
) -> String {
    if let Some(n) = successor {
        let (label, _) = level_view(&n.level);
        return format!("已调整为{label}（#{}）", n.id);
    }
    if w.lifted_at.is_some() {
        return match w.lift_document.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => format!("已解除（{d}）"),
            None => "已解除".to_owned(),
        };
    }
    if w.starts_on > today {
        "待生效".to_owned()
    } else if w.ends_on.is_some_and(|e| e < today) {
        "已结束".to_owned()
    } else {
        "生效中".to_owned()
    }
}
