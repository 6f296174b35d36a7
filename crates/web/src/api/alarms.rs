//! Alarms, 督办 cases and the inbox over the API; the pages call the same
//! functions (`*_as`) so that a form and a JSON request obey one set of
//! rules.

use std::str::FromStr;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use chrono::{Datelike, Duration, NaiveDate};
use gongjian_alarms::{CaseAction, CaseState, RuleSet, Severity};
use gongjian_storage::{
    Actor, AlarmFilter, AlarmRecord, CaseDetail, CaseFilter, CaseRecord, NewCase, Notification,
    OrgKind, Role, RuleVersion, User,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::campaign::{
    is_multipart, is_office, read_multipart, require_csrf_header, small_json, store_uploads,
};
use crate::AppState;
use crate::attachments::Received;
use crate::error::{ApiError, ApiJson, ErrorCode};
use crate::session::ApiUser;

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::with_detail(ErrorCode::InvalidInput, detail)
}

/// `YYYY-MM-DD` (Beijing day) to the Unix second it starts, for `since`.
pub(crate) fn since_day(s: Option<&str>) -> Result<Option<i64>, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| Some(gongjian_standards::cst::day_start_utc(d)))
            .map_err(|_| invalid(format!("since 应为 YYYY-MM-DD 格式的日期，收到“{s}”"))),
    }
}

// ---------------------------------------------------------------- alarms

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlarmQuery {
    /// open（报警中）| ended（已结束）| all（默认）
    pub state: Option<String>,
    /// 起始日期 YYYY-MM-DD（按开始时间）
    pub since: Option<String>,
}

/// Alarms `user` sees: all for the office and viewers, else the alarms of
/// sites of the user's enterprise or township.
pub(crate) async fn alarms_as(
    state: &AppState,
    user: &User,
    q: &AlarmQuery,
) -> Result<Vec<AlarmRecord>, ApiError> {
    let open = match q.state.as_deref().unwrap_or("all") {
        "open" => Some(true),
        "ended" => Some(false),
        "all" | "" => None,
        other => {
            return Err(invalid(format!(
                "state 应为 open、ended 或 all，收到“{other}”"
            )));
        }
    };
    let organisation_id = (!user.role.sees_all()).then_some(user.organisation_id);
    Ok(state
        .db
        .alarms()
        .list(&AlarmFilter {
            open,
            since: since_day(q.since.as_deref())?,
            organisation_id,
            ..AlarmFilter::default()
        })
        .await?)
}

pub(crate) fn sees_alarm(user: &User, a: &AlarmRecord) -> bool {
    user.role.sees_all()
        || a.enterprise_id == Some(user.organisation_id)
        || a.township_id == Some(user.organisation_id)
}

#[utoipa::path(get, path = "/alarms", summary = "报警列表（企业、乡镇只见本单位的监测点）", params(AlarmQuery), responses((status = 200, description = "报警，报警中的在前", body = Vec<Object>)))]
pub async fn list_alarms(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<AlarmQuery>,
) -> Result<Json<Vec<AlarmRecord>>, ApiError> {
    Ok(Json(alarms_as(&state, &me.user, &q).await?))
}

/// The office opens (or finds) the case of an alarm with one click.
pub(crate) async fn case_from_alarm_as(
    state: &AppState,
    user: &User,
    actor: &Actor,
    id: i64,
) -> Result<i64, ApiError> {
    if !is_office(user) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "只有攻坚办可以由报警生成督办单",
        ));
    }
    let alarm = state.db.alarms().alarm(id).await?;
    let rules = state.db.alarms().alarm_rules().await?;
    Ok(
        gongjian_app::alarms::case_for_alarm(&state.db, actor, &alarm, &rules.rules)
            .await?
            .id(),
    )
}

#[utoipa::path(post, path = "/alarms/{id}/case", summary = "由报警生成督办单（攻坚办；已有督办单时返回该单）", params(crate::api::doc::IdPath), responses((status = 201, description = "督办单", body = Object)))]
pub async fn alarm_case(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let case = case_from_alarm_as(&state, &me.user, &me.actor(), id).await?;
    Ok((StatusCode::CREATED, Json(json!({ "case_id": case }))))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainBody {
    /// 说明类别：planned_stop（计划停产）| equipment_fault（设备故障）|
    /// calibration（校准维护）| startup（启停炉）| other（其他，默认）
    #[serde(default = "other_reason")]
    pub reason: String,
    /// 情况说明：计划停产、设备故障、校准维护等，附证据说明。
    #[schema(min_length = 1, max_length = 2000)]
    pub explanation: String,
}

fn other_reason() -> String {
    "other".into()
}

/// The enterprise (or township) of the site explains an alarm, with
/// evidence (photos or PDF) when given from the page.
pub(crate) async fn explain_alarm_as(
    state: &AppState,
    user: &User,
    actor: &Actor,
    id: i64,
    body: &ExplainBody,
    files: Vec<Received>,
) -> Result<(), ApiError> {
    let alarm = state.db.alarms().alarm(id).await?;
    let own = alarm.enterprise_id == Some(user.organisation_id)
        || alarm.township_id == Some(user.organisation_id);
    if !user.role.writes() || !(own || is_office(user)) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "只有监测点所属企业、乡镇或攻坚办可以说明报警",
        ));
    }
    // Checked before any file is stored: a refused explanation leaves
    // nothing behind.
    if !gongjian_storage::EXPLANATION_REASONS
        .iter()
        .any(|(c, _)| *c == body.reason)
    {
        return Err(invalid(format!(
            "说明类别“{}”无效，应为计划停产、设备故障、校准维护、启停炉或其他",
            body.reason.chars().take(20).collect::<String>()
        )));
    }
    if body.explanation.trim().is_empty() {
        return Err(invalid("请填写情况说明"));
    }
    let stored = checked_and_stored(state, files, "说明未保存").await?;
    Ok(state
        .db
        .alarms()
        .explain_alarm(actor, id, &body.reason, &body.explanation, &stored)
        .await?)
}

/// The page's explanation form: reason, text, evidence files, CSRF field.
pub(crate) async fn read_explain_form(
    state: &AppState,
    mp: Multipart,
) -> Result<(ExplainBody, Vec<Received>, String), ApiError> {
    let raw = read_multipart(&state.campaign, mp).await?;
    let mut b = ExplainBody {
        reason: other_reason(),
        explanation: String::new(),
    };
    let mut csrf = String::new();
    for (name, text) in raw.fields {
        match name.as_str() {
            "reason" => b.reason = text,
            "explanation" => b.explanation = text,
            "csrf" => csrf = text,
            _ => {}
        }
    }
    Ok((b, raw.files, csrf))
}

#[utoipa::path(post, path = "/alarms/{id}/explain", summary = "说明报警原因（监测点所属企业、乡镇）", params(crate::api::doc::IdPath), request_body = ExplainBody, responses((status = 200, description = "已记录", body = Object)))]
pub async fn explain_alarm(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ExplainBody>,
) -> Result<Json<AlarmRecord>, ApiError> {
    explain_alarm_as(&state, &me.user, &me.actor(), id, &body, Vec::new()).await?;
    Ok(Json(state.db.alarms().alarm(id).await?))
}

#[utoipa::path(get, path = "/alarms/{id}", summary = "一条报警及触发它的数值", params(crate::api::doc::IdPath), responses((status = 200, description = "报警", body = Object)))]
pub async fn get_alarm(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<AlarmRecord>, ApiError> {
    let a = state.db.alarms().alarm(id).await?;
    if !sees_alarm(&me.user, &a) {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    Ok(Json(a))
}

// ---------------------------------------------------------------- rules

#[utoipa::path(get, path = "/alarm-rules", summary = "现行报警规则（版本号 0 为系统默认）", responses((status = 200, description = "规则版本", body = Object)))]
pub async fn get_rules(
    State(state): State<AppState>,
    _me: ApiUser,
) -> Result<Json<RuleVersion>, ApiError> {
    Ok(Json(state.db.alarms().alarm_rules().await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    #[schema(value_type = Object)]
    pub rules: RuleSet,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(put, path = "/alarm-rules", summary = "保存报警规则为新版本（攻坚办、管理员；留痕）", request_body = RulesBody, responses((status = 200, description = "新版本", body = Object)))]
pub async fn put_rules(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<RulesBody>,
) -> Result<Json<RuleVersion>, ApiError> {
    me.require(is_office(&me.user))?;
    state
        .db
        .alarms()
        .save_alarm_rules(&me.actor(), &body.rules, &body.note)
        .await?;
    Ok(Json(state.db.alarms().alarm_rules().await?))
}

// ---------------------------------------------------------------- cases

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// open（未销号）| all（默认）| pending | rectifying | verifying | verified | returned | closed | reopened
    pub state: Option<String>,
    /// 起始日期 YYYY-MM-DD（按立案时间）
    pub since: Option<String>,
}

pub(crate) fn case_filter(q: &CaseQuery) -> Result<CaseFilter, ApiError> {
    let (state, open) = match q.state.as_deref().map(str::trim).unwrap_or("all") {
        "all" | "" => (None, false),
        "open" => (None, true),
        s => match CaseState::parse(s) {
            Some(st) => (Some(st), false),
            None => return Err(invalid(format!("未知的督办单状态“{s}”"))),
        },
    };
    Ok(CaseFilter {
        state,
        open,
        since: since_day(q.since.as_deref())?,
        ..CaseFilter::default()
    })
}

#[utoipa::path(get, path = "/cases", summary = "督办单列表（企业、乡镇只见本单位承办或核查的）", params(CaseQuery), responses((status = 200, description = "督办单", body = Vec<Object>)))]
pub async fn list_cases(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<CaseQuery>,
) -> Result<Json<Vec<CaseRecord>>, ApiError> {
    Ok(Json(
        gongjian_app::cases::cases_for(&state.db, &me.user, case_filter(&q)?).await?,
    ))
}

/// A case with the actions the caller may take now.
#[derive(Debug, Serialize)]
pub struct CaseView {
    #[serde(flatten)]
    pub detail: CaseDetail,
    pub actions: Vec<CaseAction>,
}

#[utoipa::path(get, path = "/cases/{id}", summary = "督办单详情及办理过程", params(crate::api::doc::IdPath), responses((status = 200, description = "督办单", body = Object)))]
pub async fn get_case(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<CaseView>, ApiError> {
    let detail = gongjian_app::cases::case_for(&state.db, &me.user, id).await?;
    let actions = gongjian_app::cases::actions_for(&me.user, &detail.case);
    Ok(Json(CaseView { detail, actions }))
}

/// Who may open a case by hand: the office, departments and townships.
pub(crate) fn may_open_case(user: &User) -> bool {
    user.role.writes()
        && matches!(
            user.role,
            Role::Office | Role::Admin | Role::Department | Role::Township
        )
}

/// A case as sent: JSON, or the text fields of a multipart form (with
/// `photo` files).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct CaseBody {
    pub title: String,
    /// alarm | patrol | petition | fire_point | inspection | manual
    pub source: String,
    #[serde(default)]
    pub category: String,
    /// minor（一般）| major（较重）| critical（严重）
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub description: String,
    /// 责任单位 id
    pub organisation_id: i64,
    /// 核查乡镇 id
    #[serde(default)]
    pub township_id: Option<i64>,
    /// 办结时限 YYYY-MM-DD；空则按严重程度
    #[serde(default)]
    pub due_on: Option<String>,
    /// 信访人联系方式（仅攻坚办可见）
    #[serde(default)]
    pub contact: Option<String>,
    #[serde(default)]
    pub longitude: Option<String>,
    #[serde(default)]
    pub latitude: Option<String>,
}

/// Files of a case step or an alarm's explanation, checked (photos or
/// PDF) and stored; an error names every file that could not be, followed
/// by `unsaved` (what was therefore not saved).
async fn checked_and_stored(
    state: &AppState,
    files: Vec<Received>,
    unsaved: &str,
) -> Result<Vec<gongjian_storage::NewAttachment>, ApiError> {
    check_files(&files)?;
    let (stored, failed) = store_uploads(&state.campaign, files).await;
    if !failed.is_empty() {
        return Err(ApiError::with_detail(
            ErrorCode::Internal,
            format!("{}。{unsaved}", failed.join("；")),
        ));
    }
    Ok(stored)
}

/// Files of a case step must be photos or PDF documents.
fn check_files(files: &[Received]) -> Result<(), ApiError> {
    let mut refused: Vec<String> = files
        .iter()
        .filter_map(|f| f.refusal().map(str::to_owned))
        .collect();
    for f in files {
        if let Some(t) = f.sniffed_type()
            && !(t.starts_with("image/") || t == "application/pdf")
        {
            refused.push(format!(
                "{}：督办材料只接受照片（JPEG、PNG 等）或 PDF",
                f.file_name
            ));
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(invalid(format!(
            "{}。未保存，请更换文件后重新提交",
            refused.join("；")
        )))
    }
}

fn coordinate(
    label: &str,
    v: &Option<String>,
    lo: f64,
    hi: f64,
) -> Result<Option<String>, ApiError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match f64::from_str(s) {
            Ok(x) if (lo..=hi).contains(&x) => Ok(Some(s.to_owned())),
            _ => Err(invalid(format!(
                "{label}“{}”不在 {lo}–{hi} 之间",
                s.chars().take(20).collect::<String>()
            ))),
        },
    }
}

/// A field position (a case, a fire point): both numbers or neither, in
/// China, and inside the district's outline when the plan in force has
/// one.
pub(crate) async fn checked_position(
    state: &AppState,
    longitude: &Option<String>,
    latitude: &Option<String>,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let longitude = coordinate("经度", longitude, 73.0, 136.0)?;
    let latitude = coordinate("纬度", latitude, 3.0, 54.0)?;
    match (&longitude, &latitude) {
        (Some(lon), Some(lat)) => {
            let (x, y) = (
                f64::from_str(lon).unwrap_or_default(),
                f64::from_str(lat).unwrap_or_default(),
            );
            let year = gongjian_storage::today_cst().year();
            if let Some((false, district)) =
                gongjian_app::map::position_in_district(&state.db, year, x, y).await?
            {
                return Err(invalid(format!(
                    "位置（经度 {lon}，纬度 {lat}）不在{district}范围内，请核对定位后再提交"
                )));
            }
        }
        (None, None) => {}
        _ => return Err(invalid("经度和纬度应同时填写")),
    }
    Ok((longitude, latitude))
}

/// Open a case by hand (or from a patrol): checked, files stored, created.
pub(crate) async fn create_case_as(
    state: &AppState,
    user: &User,
    actor: &Actor,
    body: &CaseBody,
    files: Vec<Received>,
) -> Result<i64, ApiError> {
    if !may_open_case(user) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "只有攻坚办、部门和乡镇可以立督办单",
        ));
    }
    let severity = match body.severity.trim() {
        "" => Severity::Minor,
        s => Severity::parse(s).ok_or_else(|| invalid(format!("未知的严重程度“{s}”")))?,
    };
    let rules = state.db.alarms().alarm_rules().await?.rules;
    let today = gongjian_storage::today_cst();
    let due_on = match body
        .due_on
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => today + Duration::days(i64::from(rules.case_days(severity))),
        Some(s) => {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| invalid(format!("办结时限“{s}”应为 YYYY-MM-DD 格式的日期")))?;
            if d < today {
                return Err(invalid(format!("办结时限 {d} 早于今天")));
            }
            d
        }
    };
    let org = state
        .db
        .organisations()
        .organisation(body.organisation_id)
        .await
        .map_err(|_| invalid("请选择责任单位"))?;
    // A township opens cases for its own area: the unit is itself or an
    // enterprise, and it checks them.
    let township_id = match user.role {
        Role::Township => Some(user.organisation_id),
        _ => body
            .township_id
            .or((org.kind == OrgKind::Township).then_some(org.id)),
    };
    let (longitude, latitude) = checked_position(state, &body.longitude, &body.latitude).await?;
    let stored = checked_and_stored(state, files, "督办单未保存").await?;
    Ok(state
        .db
        .cases()
        .create_case(
            actor,
            &NewCase {
                title: body.title.clone(),
                source: body.source.trim().to_owned(),
                category: body.category.clone(),
                severity,
                description: body.description.clone(),
                site_id: None,
                alarm_id: None,
                rule: None,
                factor: None,
                organisation_id: org.id,
                township_id,
                due_on,
                contact: body.contact.clone(),
                longitude,
                latitude,
                attachments: stored,
            },
        )
        .await?)
}

pub(crate) async fn read_case_form(
    state: &AppState,
    mp: Multipart,
) -> Result<(CaseBody, Vec<Received>, String), ApiError> {
    let raw = read_multipart(&state.campaign, mp).await?;
    let mut b = CaseBody::default();
    let mut csrf = String::new();
    for (name, text) in raw.fields {
        match name.as_str() {
            "title" => b.title = text,
            "source" => b.source = text,
            "category" => b.category = text,
            "severity" => b.severity = text,
            "description" => b.description = text,
            "organisation_id" => b.organisation_id = text.trim().parse().unwrap_or(0),
            "township_id" => b.township_id = text.trim().parse().ok(),
            "due_on" => b.due_on = Some(text),
            "contact" => b.contact = Some(text),
            "longitude" => b.longitude = Some(text),
            "latitude" => b.latitude = Some(text),
            "csrf" => csrf = text,
            _ => {}
        }
    }
    Ok((b, raw.files, csrf))
}

#[utoipa::path(post, path = "/cases", summary = "立督办单（攻坚办、部门、乡镇；JSON，或 multipart 含照片 photo）", request_body(content((CaseBody = "application/json"))), responses((status = 201, description = "督办单", body = Object)))]
pub async fn create_case(
    State(state): State<AppState>,
    me: ApiUser,
    req: Request,
) -> Result<(StatusCode, Json<CaseRecord>), ApiError> {
    let _permit;
    let (body, files) = if is_multipart(req.headers()) {
        require_csrf_header(&me, req.headers())?;
        _permit = state.uploads.try_acquire(me.user.id)?;
        let mp = Multipart::from_request(req, &state)
            .await
            .map_err(|e| invalid(e.body_text()))?;
        let (b, f, _) = read_case_form(&state, mp).await?;
        (b, f)
    } else {
        let ApiJson(body) = small_json::<CaseBody>(req, &state).await?;
        (body, Vec::new())
    };
    let id = create_case_as(&state, &me.user, &me.actor(), &body, files).await?;
    let c = gongjian_app::cases::case_for(&state.db, &me.user, id).await?;
    Ok((StatusCode::CREATED, Json(c.case)))
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ActionBody {
    /// accept（签收）| answer（反馈整改）| verify（核查通过）| return（退回）| close（销号）| reopen（重新打开）
    pub action: String,
    #[serde(default)]
    pub note: String,
}

/// Take one step of a case, with its note and files.
pub(crate) async fn act_as(
    state: &AppState,
    user: &User,
    actor: &Actor,
    id: i64,
    body: &ActionBody,
    files: Vec<Received>,
) -> Result<CaseState, ApiError> {
    let action = CaseAction::parse(body.action.trim()).ok_or_else(|| {
        invalid(format!(
            "未知的办理动作“{}”",
            body.action.chars().take(20).collect::<String>()
        ))
    })?;
    // Checked before any file is stored, so a refused step leaves nothing behind.
    let detail = gongjian_app::cases::case_for(&state.db, user, id).await?;
    if !gongjian_app::cases::may(user, &detail.case, action) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            format!(
                "{}不能对该督办单执行“{}”",
                user.role.label(),
                action.label()
            ),
        ));
    }
    let stored = checked_and_stored(state, files, "未保存").await?;
    Ok(gongjian_app::cases::act(&state.db, user, actor, id, action, &body.note, &stored).await?)
}

pub(crate) async fn read_action_form(
    state: &AppState,
    mp: Multipart,
) -> Result<(ActionBody, Vec<Received>, String), ApiError> {
    let raw = read_multipart(&state.campaign, mp).await?;
    let mut b = ActionBody::default();
    let mut csrf = String::new();
    for (name, text) in raw.fields {
        match name.as_str() {
            "action" => b.action = text,
            "note" => b.note = text,
            "csrf" => csrf = text,
            _ => {}
        }
    }
    Ok((b, raw.files, csrf))
}

#[utoipa::path(post, path = "/cases/{id}/actions", summary = "办理督办单：签收、反馈整改（可附照片 photo）、核查、退回、销号、重新打开", params(crate::api::doc::IdPath), request_body(content((ActionBody = "application/json"))), responses((status = 200, description = "办理后的状态", body = Object)))]
pub async fn case_action(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    req: Request,
) -> Result<Json<Value>, ApiError> {
    let _permit;
    let (body, files) = if is_multipart(req.headers()) {
        require_csrf_header(&me, req.headers())?;
        _permit = state.uploads.try_acquire(me.user.id)?;
        let mp = Multipart::from_request(req, &state)
            .await
            .map_err(|e| invalid(e.body_text()))?;
        let (b, f, _) = read_action_form(&state, mp).await?;
        (b, f)
    } else {
        let ApiJson(body) = small_json::<ActionBody>(req, &state).await?;
        (body, Vec::new())
    };
    let next = act_as(&state, &me.user, &me.actor(), id, &body, files).await?;
    Ok(Json(
        json!({ "state": next.as_str(), "label": next.label() }),
    ))
}

// ---------------------------------------------------------------- inbox

#[utoipa::path(get, path = "/notifications", summary = "我的消息（最新在前）及未读数", responses((status = 200, description = "消息", body = Object)))]
pub async fn notifications(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Value>, ApiError> {
    let list: Vec<Notification> = state.db.cases().notifications(me.user.id, 200).await?;
    let unread = state.db.cases().unread_notifications(me.user.id).await?;
    Ok(Json(json!({ "unread": unread, "items": list })))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// 一条消息的 id；省略则全部标为已读
    #[serde(default)]
    pub id: Option<i64>,
}

#[utoipa::path(post, path = "/notifications/read", summary = "标记消息已读", request_body = ReadBody, responses((status = 200, description = "未读数", body = Object)))]
pub async fn read_notifications(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<ReadBody>,
) -> Result<Json<Value>, ApiError> {
    state
        .db
        .cases()
        .mark_notifications_read(me.user.id, body.id)
        .await?;
    let unread = state.db.cases().unread_notifications(me.user.id).await?;
    Ok(Json(json!({ "unread": unread })))
}
