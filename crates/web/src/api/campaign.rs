//! The campaign under `/api/v1`: plans, targets, tasks, assignments,
//! progress reports and their review, sign-off, the task ledger as XLSX
//! (export and progress import) and the fire-point ledger.
//!
//! Access: the office (and admins) see everything and review; viewers read
//! everything; a department or township sees and reports on its own
//! assignments only (the lead organisation of a task also sees the task's
//! other parts, and may accept or return their reports).

use std::str::FromStr;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use gongjian_storage::{
    AssignmentRecord, Db, FireKind, FirePointRecord, ImportedProgress, NewAttachment, NewFirePoint,
    NewReport, ReportRecord, Review, Role, TaskDetail, TaskFilter, TaskStatus, User,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::attachments::{self, ReceiveError, Received};
use crate::error::{ApiError, ApiJson, ErrorCode};
use crate::session::ApiUser;

// ---------------------------------------------------------------- access

/// The office and admins review, sign off and keep the fire-point ledger.
pub(crate) fn is_office(user: &User) -> bool {
    matches!(user.role, Role::Office | Role::Admin)
}

/// The organisation a user is limited to, or `None` for those who see all.
pub(crate) fn own_org(user: &User) -> Option<i64> {
    (!user.role.sees_all()).then_some(user.organisation_id)
}

/// Reporting is for the organisation's own assignment, by a writing role.
pub(crate) fn may_report(user: &User, a: &AssignmentRecord) -> bool {
    reports_for(user, a.organisation_id)
}

/// Whether `user` reports (and adds files to the reports) of organisation
/// `organisation_id`'s parts.
pub(crate) fn reports_for(user: &User, organisation_id: i64) -> bool {
    user.role.writes()
        && matches!(
            user.role,
            Role::Department | Role::Township | Role::Enterprise
        )
        && organisation_id == user.organisation_id
}

/// What may be shown in the page itself rather than only downloaded:
/// raster images and PDF (types sniffed from the content at upload, so an
/// HTML or SVG file can never be served inline).
pub(crate) fn inline_kind(content_type: &str) -> Option<&'static str> {
    match content_type {
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" => Some("image"),
        "application/pdf" => Some("pdf"),
        _ => None,
    }
}

/// The office reviews any report; a task's lead organisation reviews the
/// reports of the task's other parts.
pub(crate) async fn may_review(db: &Db, user: &User, r: &ReportRecord) -> Result<bool, ApiError> {
    if is_office(user) {
        return Ok(true);
    }
    if !user.role.writes() || user.role.sees_all() || r.organisation_id == user.organisation_id {
        return Ok(false);
    }
    Ok(db
        .campaigns()
        .leads_task(r.task_id, user.organisation_id)
        .await?)
}

/// The task as this user may see it, or Forbidden. Limited users see only
/// their own parts, unless they lead the task.
pub(crate) async fn visible_task(
    db: &Db,
    user: &User,
    task_id: i64,
) -> Result<TaskDetail, ApiError> {
    let mut d = db.campaigns().task_detail(task_id).await?;
    let Some(org) = own_org(user) else {
        return Ok(d);
    };
    if !d.assignments.iter().any(|a| a.organisation_id == org) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "本单位在该任务中没有责任分工",
        ));
    }
    if !db.campaigns().leads_task(task_id, org).await? {
        d.assignments.retain(|a| a.organisation_id == org);
        d.reports.retain(|r| r.organisation_id == org);
        let mine: Vec<i64> = d.assignments.iter().map(|a| a.id).collect();
        d.history
            .retain(|h| h.assignment_id.is_none_or(|id| mine.contains(&id)));
    }
    Ok(d)
}

// ---------------------------------------------------------------- reading

#[utoipa::path(get, path = "/plans", summary = "攻坚计划及其版本（每次载入的变更）", responses((status = 200, description = "计划", body = Vec<Object>)))]
pub async fn plans(State(state): State<AppState>, _me: ApiUser) -> Result<Json<Value>, ApiError> {
    let mut out = Vec::new();
    for c in state.db.campaigns().list().await? {
        let revisions = state.db.campaigns().campaign_revisions(&c.key).await?;
        out.push(json!({"campaign": c, "revisions": revisions}));
    }
    Ok(Json(Value::Array(out)))
}

/// `?campaign=`: which campaign a list is limited to.
#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignQuery {
    /// 攻坚方案的 key（默认本年度执行中或已结束的方案；all 为全部方案）
    pub campaign: Option<String>,
}

#[utoipa::path(get, path = "/plan-targets", summary = "计划目标（二、工作目标），默认本年度方案", params(CampaignQuery), responses((status = 200, description = "目标", body = Vec<Object>)))]
pub async fn targets(
    State(state): State<AppState>,
    _me: ApiUser,
    Query(q): Query<CampaignQuery>,
) -> Result<Json<Vec<gongjian_storage::TargetRecord>>, ApiError> {
    // `all`, or no campaign this year: every campaign's (as 任务 lists).
    let chosen = chosen_campaign(&state.db, q.campaign.as_deref()).await?;
    Ok(Json(
        state
            .db
            .campaigns()
            .campaign_targets(chosen.map(|c| c.id))
            .await?,
    ))
}

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// 方案
    pub plan: Option<String>,
    /// 组
    pub group: Option<String>,
    /// 责任单位编号（整数）
    #[param(pattern = r"^[0-9]+$")]
    pub organisation_id: Option<String>,
    #[param(pattern = r"^(not_started|in_progress|pending_review|done|overdue)$")]
    pub status: Option<String>,
    /// 完成时限早于此日期，YYYY-MM-DD
    #[param(value_type = Option<String>, format = Date)]
    pub due_before: Option<String>,
    /// 攻坚方案的 key（默认本年度执行中或已结束的方案；all 为全部方案）
    pub campaign: Option<String>,
}

/// The campaign a task list is limited to: the one named, none for `all`,
/// else this year's (so an archived year does not crowd today's list).
pub(crate) async fn list_campaign(
    db: &gongjian_storage::Db,
    q: &TaskQuery,
) -> Result<Option<gongjian_storage::CampaignInfo>, ApiError> {
    chosen_campaign(db, q.campaign.as_deref()).await
}

/// The campaign named by `key`, none for `all`, else this year's.
pub(crate) async fn chosen_campaign(
    db: &gongjian_storage::Db,
    key: Option<&str>,
) -> Result<Option<gongjian_storage::CampaignInfo>, ApiError> {
    match key.map(str::trim).filter(|s| !s.is_empty()) {
        Some("all") => Ok(None),
        Some(key) => db
            .campaigns()
            .campaign_by_key(key)
            .await?
            .map(Some)
            .ok_or_else(|| {
                ApiError::with_detail(ErrorCode::NotFound, format!("没有攻坚方案 {key}"))
            }),
        None => {
            use chrono::Datelike;
            Ok(db
                .campaigns()
                .campaign_for_year(gongjian_storage::today_cst().year())
                .await?)
        }
    }
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The filter from a query, limited to the user's own organisation where
/// the role requires it.
pub(crate) fn task_filter(q: &TaskQuery, user: &User) -> Result<TaskFilter, ApiError> {
    let invalid = |m: String| ApiError::with_detail(ErrorCode::InvalidInput, m);
    let organisation_id = match blank(&q.organisation_id) {
        Some(s) => Some(
            s.parse::<i64>()
                .map_err(|_| invalid(format!("organisation_id {s:?} 应为整数")))?,
        ),
        None => None,
    };
    let status = blank(&q.status)
        .map(TaskStatus::from_str)
        .transpose()
        .map_err(|_| {
            invalid("status 应为 not_started|in_progress|pending_review|done|overdue".into())
        })?;
    let due_before = match blank(&q.due_before) {
        Some(s) => Some(
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| invalid(format!("due_before {s:?} 应为 YYYY-MM-DD 日期")))?
                .to_string(),
        ),
        None => None,
    };
    let organisation_id = match own_org(user) {
        Some(own) => Some(own),
        None => organisation_id,
    };
    Ok(TaskFilter {
        campaign_id: None,
        plan: blank(&q.plan).map(str::to_owned),
        group: blank(&q.group).map(str::to_owned),
        organisation_id,
        status,
        due_before,
    })
}

#[utoipa::path(get, path = "/tasks", summary = "任务列表（部门、乡镇只见本单位）", params(TaskQuery), responses((status = 200, description = "任务及各状态计数", body = Object)))]
pub async fn tasks(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<TaskQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut filter = task_filter(&q, &me.user)?;
    let campaign = list_campaign(&state.db, &q).await?;
    filter.campaign_id = campaign.as_ref().map(|c| c.id);
    let tasks = state.db.campaigns().tasks(&filter).await?;
    let counts: serde_json::Map<String, Value> = state
        .db
        .campaigns()
        .task_counts(&filter)
        .await?
        .into_iter()
        .map(|(s, n)| (s.as_str().to_owned(), json!(n)))
        .collect();
    Ok(Json(
        json!({"campaign": campaign.map(|c| c.key), "count": tasks.len(), "counts": counts, "tasks": tasks}),
    ))
}

#[utoipa::path(get, path = "/tasks/{id}", summary = "任务详情：节点、指标、分工、报告、审核意见、状态记录", params(crate::api::doc::IdPath), responses((status = 200, description = "任务", body = Object)))]
pub async fn task(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<TaskDetail>, ApiError> {
    Ok(Json(visible_task(&state.db, &me.user, id).await?))
}

/// One value of an indicator, from an accepted report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IndicatorPoint {
    pub report_id: i64,
    /// When the report was submitted (Unix seconds).
    pub at: i64,
    pub organisation: String,
    /// Exact decimal text, as reported.
    pub value: String,
}

/// An indicator of a task with its requirement and its values over time.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IndicatorSeries {
    pub name: String,
    pub comparator: String,
    /// The plan's required value (exact decimal text).
    pub threshold: String,
    pub unit: String,
    /// Whether organisations report values of it; false for a figure the
    /// plan sets that is not a progress measure (a penalty, a criterion).
    pub reported: bool,
    /// Oldest first.
    pub points: Vec<IndicatorPoint>,
}

/// Each indicator of the task with the values of its accepted reports.
/// Reports still awaiting review, or returned, are left out: their figures
/// are not confirmed and would draw a line the office has not accepted.
pub(crate) fn indicator_series(d: &TaskDetail) -> Vec<IndicatorSeries> {
    d.indicators
        .iter()
        .map(|i| {
            let mut points: Vec<IndicatorPoint> = d
                .reports
                .iter()
                .filter(|r| r.review == "accepted")
                .flat_map(|r| {
                    r.values
                        .iter()
                        .filter(|v| v.indicator == i.name)
                        .map(|v| IndicatorPoint {
                            report_id: r.id,
                            at: r.submitted_at,
                            organisation: r.organisation_name.clone(),
                            value: v.value.clone(),
                        })
                })
                .collect();
            points.sort_by_key(|p| (p.at, p.report_id));
            IndicatorSeries {
                name: i.name.clone(),
                comparator: i.comparator.clone(),
                threshold: i.value.clone(),
                unit: i.unit.clone(),
                reported: i.reported,
                points,
            }
        })
        .collect()
}

/// `GET /tasks/{id}/indicators`: the task page's charts read this.
#[utoipa::path(get, path = "/tasks/{id}/indicators", summary = "任务指标随时间的报送值（仅审核通过的报告）及要求值", params(crate::api::doc::IdPath), responses((status = 200, description = "各指标", body = Vec<IndicatorSeries>)))]
pub async fn task_indicators(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<IndicatorSeries>>, ApiError> {
    let d = visible_task(&state.db, &me.user, id).await?;
    Ok(Json(indicator_series(&d)))
}

#[utoipa::path(get, path = "/assignments", summary = "责任分工列表（部门、乡镇只见本单位），默认本年度方案", params(CampaignQuery), responses((status = 200, description = "分工", body = Vec<Object>)))]
pub async fn assignments(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<CampaignQuery>,
) -> Result<Json<Vec<AssignmentRecord>>, ApiError> {
    // `all`, or no campaign this year: every campaign's (as 任务 lists).
    let chosen = chosen_campaign(&state.db, q.campaign.as_deref()).await?;
    Ok(Json(
        state
            .db
            .campaigns()
            .assignments(own_org(&me.user), chosen.map(|c| c.id))
            .await?,
    ))
}

async fn readable_assignment(
    state: &AppState,
    user: &User,
    id: i64,
) -> Result<AssignmentRecord, ApiError> {
    let a = state.db.campaigns().assignment(id).await?;
    if let Some(org) = own_org(user)
        && a.organisation_id != org
        && !state.db.campaigns().leads_task(a.task_id, org).await?
    {
        {
            return Err(ApiError::with_detail(
                ErrorCode::Forbidden,
                "只能查看本单位的责任分工",
            ));
        }
    }
    Ok(a)
}

#[utoipa::path(get, path = "/assignments/{id}/reports", summary = "分工的进展报告", params(crate::api::doc::IdPath), responses((status = 200, description = "报告", body = Vec<Object>)))]
pub async fn assignment_reports(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<ReportRecord>>, ApiError> {
    readable_assignment(&state, &me.user, id).await?;
    Ok(Json(state.db.campaigns().reports_of_assignment(id).await?))
}

// ---------------------------------------------------------------- reporting

/// A report as sent: JSON, or the fields of a multipart form.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ReportBody {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub claims_complete: bool,
    /// Indicator name → value (a decimal written as a string or number).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub values: serde_json::Map<String, Value>,
}

/// The parsed form, with the CSRF field for pages.
#[derive(Default)]
pub(crate) struct ReportForm {
    pub text: String,
    pub claims_complete: bool,
    pub values: Vec<(String, String)>,
    pub files: Vec<Received>,
    pub csrf: String,
}

pub(crate) fn truthy(s: &str) -> bool {
    matches!(s.trim(), "1" | "true" | "on" | "yes" | "是")
}

/// A multipart form as sent: its text fields in order, and every field
/// that carries a file name as an upload (whatever the field is called),
/// received to disk.
#[derive(Default)]
pub(crate) struct MultipartForm {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Received>,
}

/// Most text fields in one multipart form, and the bytes of one.
const MAX_FORM_FIELDS: usize = 200;
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// Read a whole multipart form. Reports and fire points share it so that
/// both read files, and fail on an oversized body, the same way. Files are
/// streamed to temporary files (see [`attachments::receive`]); text fields
/// are bounded; nothing is held whole in memory.
pub(crate) async fn read_multipart(
    settings: &attachments::CampaignSettings,
    mut mp: Multipart,
) -> Result<MultipartForm, ApiError> {
    let mut form = MultipartForm::default();
    let too_big = |e: axum::extract::multipart::MultipartError| {
        ApiError::with_detail(
            ErrorCode::InvalidInput,
            format!(
                "上传内容无法读取（可能超过总大小上限 {}）：{e}",
                attachments::human_size(settings.upload_request_max_bytes)
            ),
        )
    };
    while let Some(mut field) = mp.next_field().await.map_err(too_big)? {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(file_name) = field.file_name().map(str::to_owned) {
            if form.files.len() >= settings.upload_max_files {
                return Err(ApiError::with_detail(
                    ErrorCode::InvalidInput,
                    format!("一次最多上传 {} 个文件", settings.upload_max_files),
                ));
            }
            let received = attachments::receive(settings, &file_name, field)
                .await
                .map_err(|e| match e {
                    ReceiveError::Multipart(e) => too_big(e),
                    ReceiveError::Io(e) => {
                        tracing::error!(error = %e, "cannot write an upload");
                        ApiError::with_detail(
                            ErrorCode::Internal,
                            format!("附件 {file_name} 保存失败（服务器存储错误）"),
                        )
                    }
                })?;
            // A file input left empty still sends a part with no name and
            // no bytes; it is not an upload.
            if received.size > 0 || !file_name.is_empty() {
                form.files.push(received);
            }
            continue;
        }
        if form.fields.len() >= MAX_FORM_FIELDS {
            return Err(ApiError::with_detail(
                ErrorCode::InvalidInput,
                format!("表单字段过多（最多 {MAX_FORM_FIELDS} 个）"),
            ));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(too_big)? {
            if bytes.len() + chunk.len() > MAX_FIELD_BYTES {
                return Err(ApiError::with_detail(
                    ErrorCode::InvalidInput,
                    format!(
                        "表单字段 {} 过长（最多 {}）",
                        name.chars().take(40).collect::<String>(),
                        attachments::human_size(MAX_FIELD_BYTES as u64)
                    ),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            ApiError::with_detail(ErrorCode::InvalidInput, "表单字段不是有效的 UTF-8 文本")
        })?;
        form.fields.push((name, text));
    }
    Ok(form)
}

/// Read a multipart report form: `text`, `claims_complete`, `value:<指标>`
/// fields and `attachment` files.
pub(crate) async fn read_report_form(
    settings: &attachments::CampaignSettings,
    mp: Multipart,
) -> Result<ReportForm, ApiError> {
    let raw = read_multipart(settings, mp).await?;
    let mut form = ReportForm {
        files: raw.files,
        ..ReportForm::default()
    };
    for (name, text) in raw.fields {
        match name.as_str() {
            "text" => form.text = text,
            "claims_complete" => form.claims_complete = truthy(&text),
            "csrf" => form.csrf = text,
            other => {
                if let Some(ind) = other.strip_prefix("value:")
                    && !text.trim().is_empty()
                {
                    form.values.push((ind.to_owned(), text.trim().to_owned()));
                }
            }
        }
    }
    Ok(form)
}

/// Store each received upload that passed the checks; the others come
/// back as their Chinese reasons.
pub(crate) async fn store_uploads(
    settings: &attachments::CampaignSettings,
    files: Vec<Received>,
) -> (Vec<NewAttachment>, Vec<String>) {
    let mut stored = Vec::new();
    let mut rejected = Vec::new();
    for f in files {
        match f.store(settings).await {
            Ok(a) => stored.push(a),
            Err(reason) => rejected.push(reason),
        }
    }
    (stored, rejected)
}

/// The outcome of a submission: the stored report and every attachment
/// that was refused (the rest of the report is kept).
#[derive(Debug, Serialize)]
pub struct Submitted {
    pub report: ReportRecord,
    pub rejected_attachments: Vec<String>,
}

/// Check access, values and attachments, then store the report. Refused
/// attachments do not stop the report: they are listed with their reason.
pub(crate) async fn submit(
    state: &AppState,
    me_user: &User,
    actor: &gongjian_storage::Actor,
    assignment_id: i64,
    form: ReportForm,
) -> Result<Submitted, ApiError> {
    let a = state.db.campaigns().assignment(assignment_id).await?;
    if !may_report(me_user, &a) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            format!(
                "只能报送本单位的责任分工；分工 #{assignment_id} 属于 {}",
                a.organisation_name
            ),
        ));
    }
    // Forms may name an indicator by its position (`value:0`), which keeps
    // multipart field names ASCII.
    let indicators = state.db.campaigns().task_indicators(a.task_id).await?;
    let mut values = Vec::new();
    for (name, v) in &form.values {
        let name = match name.parse::<usize>() {
            Ok(i) => match indicators.get(i) {
                Some(ind) => &ind.name,
                None => {
                    return Err(ApiError::with_detail(
                        ErrorCode::InvalidInput,
                        format!("本任务没有第 {} 个指标", i + 1),
                    ));
                }
            },
            Err(_) => name,
        };
        let d = Decimal::from_str(v.trim()).map_err(|_| {
            ApiError::with_detail(
                ErrorCode::InvalidInput,
                format!("指标 {name} 的数值 {v:?} 不是数字"),
            )
        })?;
        values.push((name.to_owned(), d));
    }
    let (stored, rejected) = store_uploads(&state.campaign, form.files).await;
    let report = state
        .db
        .campaigns()
        .submit_report(
            actor,
            assignment_id,
            &NewReport {
                text: form.text,
                claims_complete: form.claims_complete,
                values,
                attachments: stored,
            },
        )
        .await?;
    Ok(Submitted {
        report,
        rejected_attachments: rejected,
    })
}

/// `POST /assignments/{id}/reports`: JSON `{text, claims_complete, values}`
/// or a multipart form with attachments.
#[utoipa::path(post, path = "/assignments/{id}/reports", summary = "报送进展（JSON 或 multipart 含附件；只能报送本单位分工）", params(crate::api::doc::IdPath), request_body(content((ReportBody = "application/json"), (crate::api::doc::ReportUpload = "multipart/form-data"))), responses((status = 201, description = "已报送", body = Object)))]
pub async fn create_report(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    req: Request,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    me.require(me.user.role.writes())?;
    let _permit;
    let form = if is_multipart(req.headers()) {
        require_csrf_header(&me, req.headers())?;
        _permit = state.uploads.try_acquire(me.user.id)?;
        let mp = Multipart::from_request(req, &state)
            .await
            .map_err(|e| ApiError::with_detail(ErrorCode::InvalidInput, e.body_text()))?;
        read_report_form(&state.campaign, mp).await?
    } else {
        let ApiJson(body) = small_json::<ReportBody>(req, &state).await?;
        ReportForm {
            text: body.text,
            claims_complete: body.claims_complete,
            values: body
                .values
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect(),
            files: Vec::new(),
            csrf: String::new(),
        }
    };
    let done = submit(&state, &me.user, &me.actor(), id, form).await?;
    Ok((StatusCode::CREATED, Json(done)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReviewBody {
    /// accept | return
    #[schema(pattern = r"^(accept|return)$")]
    pub decision: String,
    /// Required to return; optional to accept, and kept on the report either way.
    #[serde(default)]
    pub comment: String,
}

pub(crate) async fn review(
    state: &AppState,
    user: &User,
    actor: &gongjian_storage::Actor,
    report_id: i64,
    decision: &str,
    comment: &str,
) -> Result<ReportRecord, ApiError> {
    let r = state.db.campaigns().report(report_id).await?;
    if !may_review(&state.db, user, &r).await? {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "只有攻坚办（或任务牵头单位对配合单位的报告）可以审核",
        ));
    }
    let review = match decision {
        "accept" => Review::AcceptWithComment(comment.to_owned()),
        "return" => Review::Return(comment.to_owned()),
        other => {
            return Err(ApiError::with_detail(
                ErrorCode::InvalidInput,
                format!("decision 应为 accept 或 return，收到 {other:?}"),
            ));
        }
    };
    Ok(state
        .db
        .campaigns()
        .review_report(actor, report_id, &review)
        .await?)
}

#[utoipa::path(post, path = "/task-reports/{id}/review", summary = "审核进展报告：通过或退回（攻坚办、牵头单位）", params(crate::api::doc::IdPath), request_body = ReviewBody, responses((status = 200, description = "已审核", body = Object)))]
pub async fn review_report(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ReviewBody>,
) -> Result<Json<ReportRecord>, ApiError> {
    Ok(Json(
        review(
            &state,
            &me.user,
            &me.actor(),
            id,
            &body.decision,
            &body.comment,
        )
        .await?,
    ))
}

#[utoipa::path(post, path = "/tasks/{id}/sign-off", summary = "任务销号（攻坚办；各责任单位均已完成）", params(crate::api::doc::IdPath), responses((status = 200, description = "已销号", body = Object)))]
pub async fn sign_off(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<gongjian_storage::TaskRecord>, ApiError> {
    me.require(is_office(&me.user))?;
    Ok(Json(
        state.db.campaigns().sign_off_task(&me.actor(), id).await?,
    ))
}

/// `GET /attachments/{id}`: the file, to whoever may see its report or
/// fire point.
#[utoipa::path(get, path = "/attachments/{id}", summary = "下载附件", params(crate::api::doc::IdPath), responses((status = 200, description = "附件文件（上传时的类型）", body = crate::api::doc::Binary, content_type = "*/*")))]
pub async fn attachment(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    attachment_response(&state, &me.user, id, false).await
}

pub(crate) async fn attachment_response(
    state: &AppState,
    user: &User,
    id: i64,
    inline: bool,
) -> Result<Response, ApiError> {
    let (a, report_id, fire_point_id) = state.db.campaigns().attachment(id).await?;
    if let Some(rid) = report_id {
        let r = state.db.campaigns().report(rid).await?;
        readable_assignment(state, user, r.assignment_id).await?;
    } else if let Some(fid) = fire_point_id {
        let f = state.db.campaigns().fire_point(fid).await?;
        if own_org(user).is_some_and(|org| f.township_id != org) {
            return Err(ApiError::new(ErrorCode::Forbidden));
        }
    } else if let Some(case_id) = state.db.cases().attachment_case(id).await? {
        // Whoever may read the case may read its photos.
        gongjian_app::cases::case_for(&state.db, user, case_id).await?;
    } else if let Some(warning_id) = state.db.emergency().attachment_warning(id).await? {
        // The city's notice of a warning: the office, admins, viewers and
        // the enterprises told of the warning.
        if !gongjian_app::emergency::sees_warning(&state.db, user, warning_id).await? {
            return Err(ApiError::with_detail(
                ErrorCode::Forbidden,
                "只有攻坚办、管理员、只读用户和收到该预警通知的企业可以下载预警通知文件",
            ));
        }
    } else if let Some(alarm_id) = state.db.alarms().attachment_alarm(id).await? {
        // Whoever sees the alarm sees the evidence of its explanation.
        let alarm = state.db.alarms().alarm(alarm_id).await?;
        if !super::alarms::sees_alarm(user, &alarm) {
            return Err(ApiError::new(ErrorCode::Forbidden));
        }
    }
    let path = state
        .campaign
        .path_of(&a.sha256)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::error!(error = %e, path = %path.display(), "attachment file missing");
        ApiError::with_detail(ErrorCode::NotFound, "附件文件不存在")
    })?;
    // Shown in the browser only for images and PDF; everything else, and
    // every file not asked for inline, is a download.
    let inline = inline && inline_kind(&a.content_type).is_some();
    let disposition = format!(
        "{}; filename=\"attachment-{id}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        percent(&a.file_name)
    );
    let mut response = (
        [
            (header::CONTENT_TYPE, a.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response();
    if inline {
        // A file shown by itself runs nothing and embeds nothing but
        // itself (the PDF viewer needs `object-src 'self'`).
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            axum::http::HeaderValue::from_static(INLINE_FILE_POLICY),
        );
    }
    Ok(response)
}

/// The Content-Security-Policy of an attachment shown inline.
pub(crate) const INLINE_FILE_POLICY: &str = "default-src 'none'; img-src 'self'; \
     style-src 'unsafe-inline'; object-src 'self'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'none'";

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------- ledger XLSX

/// Columns of the task ledger (one row per assignment). The last three are
/// filled in by the organisation for a progress import.
pub const LEDGER_COLUMNS: [&str; 19] = [
    "分工编号",
    "任务编号",
    "方案",
    "组",
    "序号",
    "任务名称",
    "责任单位",
    "责任类型",
    "完成时限",
    "指标要求",
    "分工状态",
    "状态说明",
    "最新进展",
    "最新指标值",
    "审核结果",
    "审核意见",
    "本次进展",
    "本次指标值",
    "申请完成",
];

/// The plan a task belongs to, as officials name it.
pub(crate) fn plan_label(plan: &str) -> &'static str {
    match plan {
        "air" => "大气",
        "water" => "水",
        "soil" => "土壤",
        "adhoc" => "交办",
        _ => "其他",
    }
}

fn review_label(r: &str) -> &'static str {
    match r {
        "accepted" => "通过",
        "returned" => "退回",
        _ => "待审核",
    }
}

/// The ledger as an XLSX workbook, for the assignments this user may see.
pub(crate) async fn ledger_xlsx(state: &AppState, user: &User) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let assignments = state
        .db
        .campaigns()
        .assignments(own_org(user), None)
        .await?;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let internal = |e: rust_xlsxwriter::XlsxError| {
        tracing::error!(error = %e, "xlsx");
        ApiError::new(ErrorCode::Internal)
    };
    ws.set_name("任务台账").map_err(internal)?;
    let bold = Format::new().set_bold();
    for (c, h) in LEDGER_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(internal)?;
    }
    let mut details: std::collections::HashMap<i64, TaskDetail> = Default::default();
    for (row, a) in (1u32..).zip(assignments.iter()) {
        if let std::collections::hash_map::Entry::Vacant(e) = details.entry(a.task_id) {
            e.insert(state.db.campaigns().task_detail(a.task_id).await?);
        }
        let d = &details[&a.task_id];
        let latest = d.reports.iter().find(|r| r.assignment_id == a.id);
        let milestones: Vec<String> = d
            .milestones
            .iter()
            .map(|m| format!("{} {}", m.due, m.what))
            .collect();
        let indicators: Vec<String> = d
            .indicators
            .iter()
            .map(|i| {
                format!(
                    "{} {} {}{}{}",
                    i.name,
                    i.comparator,
                    i.value,
                    i.unit,
                    // The import takes values only of the reported ones.
                    if i.reported {
                        ""
                    } else {
                        "（方案标准，无需报送）"
                    }
                )
            })
            .collect();
        let cells: [String; 16] = [
            a.id.to_string(),
            a.task_key.clone(),
            plan_label(&a.plan).to_owned(),
            a.group.clone().unwrap_or_default(),
            d.task.number.clone(),
            a.task_title.clone(),
            a.organisation_name.clone(),
            a.role_label.to_owned(),
            milestones.join("；"),
            indicators.join("；"),
            a.status_label.to_owned(),
            a.status_reason.clone(),
            latest.map(|r| r.text.clone()).unwrap_or_default(),
            latest
                .map(|r| {
                    r.values
                        .iter()
                        .map(|v| format!("{}={}", v.indicator, v.value))
                        .collect::<Vec<_>>()
                        .join("；")
                })
                .unwrap_or_default(),
            latest
                .map(|r| review_label(&r.review).to_owned())
                .unwrap_or_default(),
            latest
                .and_then(|r| r.review_comment.clone())
                .unwrap_or_default(),
        ];
        for (c, v) in cells.iter().enumerate() {
            if c == 0 {
                ws.write_number(row, 0, a.id as f64).map_err(internal)?;
            } else {
                ws.write_string(row, c as u16, v).map_err(internal)?;
            }
        }
    }
    ws.set_column_width(5, 30).map_err(internal)?;
    ws.set_column_width(6, 18).map_err(internal)?;
    ws.set_column_width(8, 30).map_err(internal)?;
    ws.set_column_width(12, 40).map_err(internal)?;
    ws.set_freeze_panes(1, 0).map_err(internal)?;
    wb.save_to_buffer().map_err(internal)
}

pub(crate) fn xlsx_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"ledger.xlsx\"; filename*=UTF-8''{}",
                    percent(name)
                ),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[utoipa::path(get, path = "/tasks.xlsx", summary = "任务台账导出 XLSX（每个责任分工一行）", responses((status = 200, description = "XLSX", body = crate::api::doc::Binary, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn export_ledger(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Response, ApiError> {
    let bytes = ledger_xlsx(&state, &me.user).await?;
    state
        .db
        .audit()
        .record(
            &me.actor(),
            gongjian_storage::AuditRecord::new("export", "task_ledger", "xlsx"),
        )
        .await?;
    Ok(xlsx_response(bytes, "任务台账.xlsx"))
}

/// One rejected row of an import.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RejectedRow {
    /// 1-based row number as shown by Excel.
    pub row: usize,
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    pub imported: usize,
    pub rejected: Vec<RejectedRow>,
    /// True when nothing was stored because some rows were rejected.
    pub refused: bool,
    pub report_ids: Vec<i64>,
}

/// Import progress from a ledger workbook: rows whose 本次进展 or 本次指标值
/// is filled become reports on their assignment. With errors, nothing is
/// stored unless `valid_only` asks to store the valid rows.
pub(crate) async fn import_ledger(
    state: &AppState,
    user: &User,
    actor: &gongjian_storage::Actor,
    bytes: &[u8],
    valid_only: bool,
) -> Result<ImportResult, ApiError> {
    let invalid = |m: String| ApiError::with_detail(ErrorCode::InvalidInput, m);
    if !bytes.starts_with(b"PK") {
        return Err(invalid("不是有效的 XLSX 文件".into()));
    }
    let table = gongjian_tabular::read_bytes("任务台账", bytes).map_err(|e| match e {
        gongjian_tabular::Error::Empty { .. } => invalid("工作表为空：第 1 行应为表头".into()),
        e => invalid(e.to_string()),
    })?;
    let header = table.headers();
    for (i, want) in LEDGER_COLUMNS.iter().enumerate() {
        let got = header.get(i).map(String::as_str).unwrap_or("");
        if got != *want {
            return Err(invalid(format!(
                "第 1 行第 {} 列表头应为“{want}”，实际为“{got}”（请使用本平台导出的任务台账格式）",
                i + 1
            )));
        }
    }
    let col = |name: &str| {
        LEDGER_COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("known column")
    };
    let (c_id, c_key, c_text, c_values, c_done) = (
        col("分工编号"),
        col("任务编号"),
        col("本次进展"),
        col("本次指标值"),
        col("申请完成"),
    );
    let mut good = Vec::new();
    let mut rejected = Vec::new();
    for r in table.rows() {
        let line = r.line() as usize;
        let get = |c: usize| r.get(c).to_owned();
        let (text, values_text, done) = (get(c_text), get(c_values), get(c_done));
        if text.is_empty() && values_text.is_empty() {
            continue;
        }
        let reject = |reason: String| RejectedRow { row: line, reason };
        let id_text = get(c_id);
        let Ok(assignment_id) = id_text.parse::<i64>() else {
            rejected.push(reject(format!("分工编号“{id_text}”不是整数")));
            continue;
        };
        let a = match state.db.campaigns().assignment(assignment_id).await {
            Ok(a) => a,
            Err(_) => {
                rejected.push(reject(format!("分工编号 {assignment_id} 不存在")));
                continue;
            }
        };
        if a.task_key != get(c_key) {
            rejected.push(reject(format!(
                "分工编号 {assignment_id} 属于任务 {}，与本行任务编号“{}”不符",
                a.task_key,
                get(c_key)
            )));
            continue;
        }
        if !(may_report(user, &a) || is_office(user)) {
            rejected.push(reject(format!(
                "分工 {assignment_id} 属于 {}，本账号无权报送",
                a.organisation_name
            )));
            continue;
        }
        let claims_complete = match done.to_ascii_lowercase().as_str() {
            "" | "否" | "0" | "no" | "false" => false,
            "是" | "1" | "yes" | "true" => true,
            other => {
                rejected.push(reject(format!("申请完成应填“是”或“否”，实际为“{other}”")));
                continue;
            }
        };
        let indicators = state.db.campaigns().task_indicators(a.task_id).await?;
        let mut values = Vec::new();
        let mut bad = None;
        for part in values_text
            .split(['；', ';', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let Some((name, v)) = part.split_once(['=', '＝']) else {
                bad = Some(format!("本次指标值“{part}”应写作 指标名=数值"));
                break;
            };
            let (name, v) = (name.trim(), v.trim());
            match indicators.iter().find(|i| i.name == name) {
                None => {
                    bad = Some(format!("“{name}”不是任务 {} 的指标", a.task_key));
                    break;
                }
                Some(i) if !i.reported => {
                    bad = Some(format!(
                        "“{name}”是任务 {} 的方案标准或条件，不是报送指标，无需填报数值",
                        a.task_key
                    ));
                    break;
                }
                Some(_) => {}
            }
            match Decimal::from_str(v) {
                Ok(d) => values.push((name.to_owned(), d)),
                Err(_) => {
                    bad = Some(format!("指标 {name} 的数值“{v}”不是数字"));
                    break;
                }
            }
        }
        if let Some(reason) = bad {
            rejected.push(reject(reason));
            continue;
        }
        good.push(ImportedProgress {
            assignment_id,
            report: NewReport {
                text,
                claims_complete,
                values,
                attachments: Vec::new(),
            },
        });
    }
    if !rejected.is_empty() && !valid_only {
        return Ok(ImportResult {
            imported: 0,
            rejected,
            refused: true,
            report_ids: Vec::new(),
        });
    }
    let ids = if good.is_empty() {
        Vec::new()
    } else {
        state.db.campaigns().import_progress(actor, &good).await?
    };
    Ok(ImportResult {
        imported: ids.len(),
        rejected,
        refused: false,
        report_ids: ids,
    })
}

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// 1/true/on/yes/是：只导入正确的行
    #[serde(default)]
    pub valid_only: Option<String>,
}

/// `POST /tasks/import`: the XLSX as the request body (or a multipart
/// `file`); `?valid_only=1` stores the valid rows of a file with errors.
#[utoipa::path(post, path = "/tasks/import", summary = "按台账格式导入进展 XLSX（有错整表不导入，?valid_only=1 只导入正确行）", request_body(content((crate::api::doc::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (crate::api::doc::Binary = "text/csv"), (crate::api::doc::FileUpload = "multipart/form-data"))), params(ImportQuery, ("X-CSRF-Token" = String, Header, description = "会话的 csrf_token")), responses((status = 200, description = "已导入", body = ImportResult), (status = 422, description = "有错误行，整表未导入", body = ImportResult)))]
pub async fn import_progress(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<ImportQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    me.require(me.user.role.writes())?;
    require_csrf_header(&me, req.headers())?;
    let _permit = state.uploads.try_acquire(me.user.id)?;
    let bytes = body_file(&state, req).await?;
    let valid_only = q.valid_only.as_deref().is_some_and(truthy);
    let result = import_ledger(&state, &me.user, &me.actor(), &bytes, valid_only).await?;
    let status = if result.refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(result)).into_response())
}

/// The uploaded file: a multipart field named `file`, or the raw body. A
/// spreadsheet is parsed in memory, so the route's body limit
/// (`import_max_bytes`) bounds it.
async fn body_file(state: &AppState, req: Request) -> Result<Vec<u8>, ApiError> {
    let limit = state.campaign.import_max_bytes;
    let too_big = |e: &dyn std::fmt::Display| {
        ApiError::with_detail(
            ErrorCode::InvalidInput,
            format!(
                "导入文件无法读取（可能超过大小上限 {}）：{e}",
                attachments::human_size(limit)
            ),
        )
    };
    if is_multipart(req.headers()) {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| ApiError::with_detail(ErrorCode::InvalidInput, e.body_text()))?;
        while let Some(f) = mp.next_field().await.map_err(|e| too_big(&e))? {
            if f.name() == Some("file") {
                return Ok(f.bytes().await.map_err(|e| too_big(&e))?.to_vec());
            }
        }
        Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            "缺少文件字段 file",
        ))
    } else {
        let bytes = axum::body::to_bytes(req.into_body(), to_usize(limit))
            .await
            .map_err(|e| too_big(&e))?;
        Ok(bytes.to_vec())
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Largest JSON body on a route whose body limit is set for files.
const JSON_MAX_BYTES: usize = 2 * 1024 * 1024;

/// A JSON body on an upload route, bounded like any JSON request rather
/// than by the route's (larger) limit for files.
pub(crate) async fn small_json<T: serde::de::DeserializeOwned>(
    req: Request,
    state: &AppState,
) -> Result<ApiJson<T>, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, JSON_MAX_BYTES)
        .await
        .map_err(|_| {
            ApiError::with_detail(
                ErrorCode::InvalidInput,
                format!(
                    "请求内容超过大小上限 {}",
                    attachments::human_size(JSON_MAX_BYTES as u64)
                ),
            )
        })?;
    ApiJson::from_request(
        Request::from_parts(parts, axum::body::Body::from(bytes)),
        state,
    )
    .await
}

// ---------------------------------------------------------------- fire points

#[utoipa::path(get, path = "/fire-points", summary = "秸秆焚烧火点台账及各乡镇月度扣款合计", responses((status = 200, description = "火点及合计", body = Object)))]
pub async fn fire_points(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Value>, ApiError> {
    let points = state.db.campaigns().fire_points(own_org(&me.user)).await?;
    let totals = state.db.campaigns().fire_point_totals().await?;
    let totals: Vec<_> = match own_org(&me.user) {
        Some(_) => totals
            .into_iter()
            .filter(|t| t.township == me.user.organisation_name)
            .collect(),
        None => totals,
    };
    Ok(Json(json!({"points": points, "totals": totals})))
}

/// A fire point as sent: JSON, or the text fields of a multipart form.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct FirePointBody {
    pub township: String,
    /// YYYY-MM-DD
    #[schema(value_type = String, format = Date)]
    pub date: String,
    pub place: String,
    pub kind: String,
    #[serde(default)]
    pub note: String,
    /// Push the point to its township to verify within this many days
    /// (1–30; a satellite or camera point). Absent: the office's own
    /// finding, counted at once.
    #[serde(default)]
    pub push_days: Option<u32>,
    /// WGS 84 longitude of the point (satellite and camera feeds send one).
    #[serde(default)]
    pub longitude: Option<String>,
    #[serde(default)]
    pub latitude: Option<String>,
}

/// A multipart fire-point form: the point's fields, its evidence files
/// (`attachment`) and, from pages, the CSRF field.
#[derive(Default)]
pub(crate) struct FirePointForm {
    pub point: FirePointBody,
    pub files: Vec<Received>,
    pub csrf: String,
}

pub(crate) async fn read_fire_point_form(
    settings: &attachments::CampaignSettings,
    mp: Multipart,
) -> Result<FirePointForm, ApiError> {
    let raw = read_multipart(settings, mp).await?;
    let mut form = FirePointForm {
        files: raw.files,
        ..FirePointForm::default()
    };
    for (name, text) in raw.fields {
        let p = &mut form.point;
        match name.as_str() {
            "township" => p.township = text,
            "date" => p.date = text,
            "place" => p.place = text,
            "kind" => p.kind = text,
            "note" => p.note = text,
            "longitude" => p.longitude = Some(text),
            "latitude" => p.latitude = Some(text),
            "push_days" => {
                let t = text.trim();
                p.push_days = if t.is_empty() {
                    None
                } else {
                    Some(t.parse().map_err(|_| {
                        ApiError::with_detail(
                            ErrorCode::InvalidInput,
                            format!(
                                "核实期限“{}”应为 1–30 的天数",
                                t.chars().take(10).collect::<String>()
                            ),
                        )
                    })?)
                }
            }
            "csrf" => form.csrf = text,
            _ => {}
        }
    }
    Ok(form)
}

/// Resolve one fire-point row (township by name, date, kind); the error is
/// the reason in Chinese.
pub(crate) async fn fire_point_from(
    db: &Db,
    township: &str,
    date: &str,
    place: &str,
    kind: &str,
    note: &str,
) -> Result<NewFirePoint, String> {
    use gongjian_storage::validate;
    let reason = |e: gongjian_storage::StorageError| match e {
        gongjian_storage::StorageError::Rule { detail, .. } => detail,
        other => other.to_string(),
    };
    let township = township.trim();
    // The same bounds as storage, checked here so that a row of an import
    // is rejected on its own (and a huge value is never echoed back).
    validate::line("乡镇", township, validate::NAME_MAX).map_err(reason)?;
    validate::line("火点位置", place.trim(), validate::SHORT_TEXT_MAX).map_err(reason)?;
    validate::text("备注", note.trim(), validate::TEXT_MAX).map_err(reason)?;
    let org = db
        .organisations()
        .organisation_by_name(township)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("乡镇“{township}”不存在"))?;
    // Storage refuses it too, but only for the whole batch; checked here a
    // row of an import is rejected on its own.
    if org.kind != gongjian_storage::OrgKind::Township {
        return Err(format!("“{township}”不是乡镇/街道，火点须记在乡镇名下"));
    }
    let occurred_on = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| format!("日期“{}”应为 YYYY-MM-DD 格式的真实日期", date.trim()))?;
    let kind = FireKind::from_str(kind).map_err(reason)?;
    if place.trim().is_empty() {
        return Err("火点位置不能为空".into());
    }
    Ok(NewFirePoint {
        township_id: org.id,
        occurred_on,
        place: place.trim().to_owned(),
        kind,
        note: note.trim().to_owned(),
        attachments: Vec::new(),
        reply_due: None,
        longitude: None,
        latitude: None,
    })
}

/// Record a fire point with its evidence (office only). Unlike a report,
/// a point with a refused file is not stored at all: evidence cannot be
/// added to a point later, and a stored point that is then sent again with
/// a better file would be deducted twice. The error names every refused
/// file.
pub(crate) async fn record_fire_point(
    state: &AppState,
    user: &User,
    actor: &gongjian_storage::Actor,
    body: &FirePointBody,
    files: Vec<Received>,
) -> Result<FirePointRecord, ApiError> {
    if !is_office(user) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "只有攻坚办可以登记火点",
        ));
    }
    let invalid = |m: String| ApiError::with_detail(ErrorCode::InvalidInput, m);
    let mut point = fire_point_from(
        &state.db,
        &body.township,
        &body.date,
        &body.place,
        &body.kind,
        &body.note,
    )
    .await
    .map_err(invalid)?;
    point.reply_due = reply_due(point.occurred_on, body.push_days)?;
    (point.longitude, point.latitude) =
        super::alarms::checked_position(state, &body.longitude, &body.latitude).await?;
    // Check every file before storing any, so a refused submission leaves
    // nothing behind (the staged files are deleted when dropped).
    let refused: Vec<String> = files
        .iter()
        .filter_map(|f| f.refusal().map(str::to_owned))
        .collect();
    if !refused.is_empty() {
        return Err(invalid(format!(
            "{}。火点未登记，请更换证据文件后重新提交",
            refused.join("；")
        )));
    }
    // Past the checks only a write can fail: the server's fault, not the file's.
    let (stored, failed) = store_uploads(&state.campaign, files).await;
    if !failed.is_empty() {
        return Err(ApiError::with_detail(
            ErrorCode::Internal,
            format!("{}。火点未登记", failed.join("；")),
        ));
    }
    point.attachments = stored;
    Ok(state.db.campaigns().add_fire_point(actor, &point).await?)
}

/// The day a pushed point's answer is due: `days` (1–30) after the later
/// of today and the point's day.
fn reply_due(occurred_on: NaiveDate, days: Option<u32>) -> Result<Option<NaiveDate>, ApiError> {
    match days {
        None => Ok(None),
        Some(d @ 1..=30) => Ok(Some(
            occurred_on.max(gongjian_storage::today_cst()) + chrono::Duration::days(i64::from(d)),
        )),
        Some(d) => Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            format!("核实期限应为 1–30 天，收到 {d}"),
        )),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FireReplyBody {
    /// true: 属实; false: 不属实 (a note is then required).
    pub verdict: bool,
    #[serde(default)]
    pub note: String,
}

/// The township answers a pushed point of its own area (or the office on
/// its behalf), with photos from the page.
pub(crate) async fn reply_fire_point_as(
    state: &AppState,
    user: &User,
    actor: &gongjian_storage::Actor,
    id: i64,
    body: &FireReplyBody,
    files: Vec<Received>,
) -> Result<FirePointRecord, ApiError> {
    let point = state.db.campaigns().fire_point(id).await?;
    let own =
        user.role == gongjian_storage::Role::Township && user.organisation_id == point.township_id;
    if !(own || is_office(user)) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "只有火点所在乡镇或攻坚办可以反馈核实结果",
        ));
    }
    let refused: Vec<String> = files
        .iter()
        .filter_map(|f| f.refusal().map(str::to_owned))
        .chain(files.iter().filter_map(|f| {
            f.sniffed_type()
                .filter(|t| !(t.starts_with("image/") || *t == "application/pdf"))
                .map(|_| format!("{}：核实材料只接受照片或 PDF", f.file_name))
        }))
        .collect();
    if !refused.is_empty() {
        return Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            format!("{}。未保存，请更换文件后重新提交", refused.join("；")),
        ));
    }
    let (stored, failed) = store_uploads(&state.campaign, files).await;
    if !failed.is_empty() {
        return Err(ApiError::with_detail(
            ErrorCode::Internal,
            failed.join("；"),
        ));
    }
    Ok(state
        .db
        .campaigns()
        .reply_fire_point(actor, id, body.verdict, &body.note, &stored)
        .await?)
}

#[utoipa::path(post, path = "/fire-points/{id}/reply", summary = "乡镇反馈推送火点的核实结果（属实/不属实；所在乡镇或攻坚办；留痕）", params(crate::api::doc::IdPath), request_body = FireReplyBody, responses((status = 200, description = "已反馈", body = Object)))]
pub async fn reply_fire_point(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<FireReplyBody>,
) -> Result<Json<FirePointRecord>, ApiError> {
    Ok(Json(
        reply_fire_point_as(&state, &me.user, &me.actor(), id, &body, Vec::new()).await?,
    ))
}

pub(crate) async fn confirm_fire_point_as(
    state: &AppState,
    user: &User,
    actor: &gongjian_storage::Actor,
    id: i64,
    body: &FireReplyBody,
) -> Result<FirePointRecord, ApiError> {
    if !is_office(user) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "只有攻坚办可以确认火点",
        ));
    }
    Ok(state
        .db
        .campaigns()
        .confirm_fire_point(actor, id, body.verdict, &body.note)
        .await?)
}

#[utoipa::path(post, path = "/fire-points/{id}/confirm", summary = "攻坚办确认推送火点属实（计入扣款）或不属实（留痕）", params(crate::api::doc::IdPath), request_body = FireReplyBody, responses((status = 200, description = "已确认", body = Object)))]
pub async fn confirm_fire_point(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<FireReplyBody>,
) -> Result<Json<FirePointRecord>, ApiError> {
    me.require(is_office(&me.user))?;
    Ok(Json(
        confirm_fire_point_as(&state, &me.user, &me.actor(), id, &body).await?,
    ))
}

/// `POST /fire-points`: JSON `{township, date, place, kind, note}`, or a
/// multipart form with the same fields and `attachment` evidence files.
#[utoipa::path(post, path = "/fire-points", summary = "登记火点（攻坚办；JSON，或 multipart 含证据文件 attachment）", request_body(content((FirePointBody = "application/json"), (crate::api::doc::FirePointUpload = "multipart/form-data"))), responses((status = 201, description = "已登记", body = Object)))]
pub async fn create_fire_point(
    State(state): State<AppState>,
    me: ApiUser,
    req: Request,
) -> Result<(StatusCode, Json<FirePointRecord>), ApiError> {
    me.require(is_office(&me.user))?;
    let _permit;
    let (body, files) = if is_multipart(req.headers()) {
        require_csrf_header(&me, req.headers())?;
        _permit = state.uploads.try_acquire(me.user.id)?;
        let mp = Multipart::from_request(req, &state)
            .await
            .map_err(|e| ApiError::with_detail(ErrorCode::InvalidInput, e.body_text()))?;
        let form = read_fire_point_form(&state.campaign, mp).await?;
        (form.point, form.files)
    } else {
        let ApiJson(body) = small_json::<FirePointBody>(req, &state).await?;
        (body, Vec::new())
    };
    let point = record_fire_point(&state, &me.user, &me.actor(), &body, files).await?;
    Ok((StatusCode::CREATED, Json(point)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    /// Why the entry is voided (required).
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

/// Void a fire point (office only): audited, kept in the ledger, left out
/// of the totals and deductions.
pub(crate) async fn void_fire_point_as(
    state: &AppState,
    user: &User,
    actor: &gongjian_storage::Actor,
    id: i64,
    reason: &str,
) -> Result<FirePointRecord, ApiError> {
    if !is_office(user) {
        return Err(ApiError::with_detail(
            ErrorCode::Forbidden,
            "只有攻坚办可以作废火点",
        ));
    }
    Ok(state
        .db
        .campaigns()
        .void_fire_point(actor, id, reason)
        .await?)
}

#[utoipa::path(post, path = "/fire-points/{id}/void", summary = "作废火点（攻坚办；须填写原因，记入审计日志，不再计入扣款）", params(crate::api::doc::IdPath), request_body = VoidBody, responses((status = 200, description = "已作废", body = Object)))]
pub async fn void_fire_point(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<VoidBody>,
) -> Result<Json<FirePointRecord>, ApiError> {
    me.require(is_office(&me.user))?;
    Ok(Json(
        void_fire_point_as(&state, &me.user, &me.actor(), id, &body.reason).await?,
    ))
}

/// Parse a fire-point file (XLSX or CSV, columns 乡镇, 日期, 位置, 类型,
/// 备注, and optionally 经度 and 纬度 anywhere after them) and store all
/// rows, or none if any is rejected (unless `valid_only`).
pub(crate) async fn import_fire_file(
    state: &AppState,
    actor: &gongjian_storage::Actor,
    bytes: &[u8],
    valid_only: bool,
) -> Result<ImportResult, ApiError> {
    let invalid = |m: String| ApiError::with_detail(ErrorCode::InvalidInput, m);
    let table = gongjian_tabular::read_bytes("上传的文件", bytes).map_err(|e| match e {
        gongjian_tabular::Error::Empty { .. } => invalid("文件为空".into()),
        e => invalid(e.to_string()),
    })?;
    let want = ["乡镇", "日期", "位置", "类型"];
    let header = table.headers();
    for (i, w) in want.iter().enumerate() {
        if header.get(i).map(String::as_str) != Some(*w) {
            return Err(invalid(format!(
                "第 1 行第 {} 列表头应为“{w}”（列：乡镇、日期、位置、类型、备注）",
                i + 1
            )));
        }
    }
    // Satellite and camera exports carry the position: optional 经度 and
    // 纬度 columns, found by their header.
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    let (lon_col, lat_col) = (column("经度"), column("纬度"));
    let mut good: Vec<NewFirePoint> = Vec::new();
    let mut rejected = Vec::new();
    // (township, day, place without spaces) → the file line that has it.
    let mut seen: std::collections::HashMap<(i64, NaiveDate, String), u64> =
        std::collections::HashMap::new();
    for r in table.rows() {
        if r.iter().all(str::is_empty) {
            continue;
        }
        let g = |c: usize| if c < r.len() { r.get(c) } else { "" };
        // A date cell of a workbook reads as "YYYY-MM-DD HH:MM:SS": the day.
        let date = match g(1).split_once(' ') {
            Some((day, _)) if table.encoding() == gongjian_tabular::Encoding::Xlsx => day,
            _ => g(1),
        };
        let cell = |c: Option<usize>| c.map(g).filter(|v| !v.trim().is_empty()).map(str::to_owned);
        let position = super::alarms::checked_position(state, &cell(lon_col), &cell(lat_col))
            .await
            .map_err(|e| e.detail.unwrap_or_else(|| "坐标无效".into()));
        let from_row = fire_point_from(&state.db, g(0), date, g(2), g(3), g(4))
            .await
            .and_then(|mut p| {
                (p.longitude, p.latitude) = position?;
                Ok(p)
            });
        let checked = match from_row {
            // A point already in the ledger, or twice in the file, is
            // refused on its row (it would double the deduction).
            Ok(p) => {
                let key = (
                    p.township_id,
                    p.occurred_on,
                    p.place
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .map(|c| c.to_ascii_lowercase())
                        .collect(),
                );
                if let Some(line) = seen.get(&key) {
                    Err(format!(
                        "与第 {line} 行是同一火点（同一乡镇、同一天、同一位置），不能重复登记"
                    ))
                } else if let Some(id) = state.db.campaigns().fire_point_duplicate(&p).await? {
                    Err(format!(
                        "该火点已登记（第 {id} 号：同一乡镇、同一天、同一位置），不能重复登记"
                    ))
                } else {
                    seen.insert(key, r.line());
                    Ok(p)
                }
            }
            Err(reason) => Err(reason),
        };
        match checked {
            Ok(p) => good.push(p),
            Err(reason) => rejected.push(RejectedRow {
                row: r.line() as usize,
                reason,
            }),
        }
    }
    if !rejected.is_empty() && !valid_only {
        return Ok(ImportResult {
            imported: 0,
            rejected,
            refused: true,
            report_ids: Vec::new(),
        });
    }
    let ids = match state.db.campaigns().import_fire_points(actor, &good).await {
        Ok(ids) => ids,
        Err(gongjian_storage::StorageError::Rule { detail, .. }) => return Err(invalid(detail)),
        Err(e) => return Err(e.into()),
    };
    Ok(ImportResult {
        imported: ids.len(),
        rejected,
        refused: false,
        report_ids: ids,
    })
}

#[utoipa::path(post, path = "/fire-points/import", summary = "导入火点 XLSX/CSV（攻坚办）", request_body(content((crate::api::doc::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (crate::api::doc::Binary = "text/csv"), (crate::api::doc::FileUpload = "multipart/form-data"))), params(ImportQuery, ("X-CSRF-Token" = String, Header, description = "会话的 csrf_token")), responses((status = 200, description = "已导入", body = ImportResult), (status = 422, description = "有错误行，整表未导入", body = ImportResult)))]
pub async fn import_fire_points(
    State(state): State<AppState>,
    me: ApiUser,
    Query(q): Query<ImportQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    me.require(is_office(&me.user))?;
    require_csrf_header(&me, req.headers())?;
    let _permit = state.uploads.try_acquire(me.user.id)?;
    let bytes = body_file(&state, req).await?;
    let valid_only = q.valid_only.as_deref().is_some_and(truthy);
    let result = import_fire_file(&state, &me.actor(), &bytes, valid_only).await?;
    let status = if result.refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, Json(result)).into_response())
}

pub(crate) fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

/// A JSON body cannot be sent cross-site without a preflight; multipart and
/// raw uploads can, so they must carry the session's token in
/// `X-CSRF-Token` (from `GET /me`).
pub(crate) fn require_csrf_header(
    me: &ApiUser,
    headers: &axum::http::HeaderMap,
) -> Result<(), ApiError> {
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if crate::session::constant_time_eq(&me.csrf, sent) {
        Ok(())
    } else {
        Err(ApiError::with_detail(
            ErrorCode::CsrfRejected,
            "上传须带 X-CSRF-Token 请求头（取自 GET /api/v1/me 的 csrf_token）",
        ))
    }
}
