//! 任务 and 台账: the task list with filters and counts, a task's page
//! (text, milestones, assignments, indicator values over time, reports,
//! review), 我的任务, the report form with attachments, the office's review
//! and sign-off, the XLSX ledger export and progress import, and the
//! straw-burning fire-point ledger (月扣款).

use std::str::FromStr;

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_storage::{
    AssignmentRecord, FireKind, FirePointRecord, FireTotal, Reminder, ReportRecord, TaskDetail,
    TaskRecord, TaskStatus,
};
use serde::Deserialize;

use super::{Layout, check_csrf, error_text, fail, forbidden, render};
use crate::AppState;
use crate::api::campaign::{
    self as api, FirePointBody, ImportResult, ReportForm, TaskQuery, is_office, may_report, own_org,
};
use crate::error::{ApiError, ErrorCode};
use crate::session::PageUser;

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list))
        .route("/tasks/mine", get(mine))
        .route("/tasks/ledger.xlsx", get(ledger_xlsx))
        .route(
            "/tasks/import",
            get(import_form)
                .post(import_submit)
                .layer(limits.import_body_limit()),
        )
        .route("/tasks/{id}", get(detail))
        .route("/tasks/{id}/sign-off", post(sign_off))
        .route(
            "/tasks/assignments/{id}/report",
            post(report_submit).layer(limits.upload_body_limit()),
        )
        .route("/tasks/reports/{id}/review", post(review_submit))
        .route(
            "/tasks/reports/{id}/attachments",
            post(attachments_submit).layer(limits.upload_body_limit()),
        )
        .route("/attachments/{id}", get(attachment))
        .route("/ledger", get(ledger))
        .route(
            "/ledger/fire-points",
            post(fire_point_submit).layer(limits.upload_body_limit()),
        )
        .route(
            "/ledger/import",
            post(fire_import_submit).layer(limits.import_body_limit()),
        )
        .route("/ledger/fire-points/{id}/void", post(fire_point_void))
        .route(
            "/ledger/fire-points/{id}/reply",
            post(fire_point_reply).layer(limits.upload_body_limit()),
        )
        .route("/ledger/fire-points/{id}/confirm", post(fire_point_confirm))
}

fn time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| {
            d.with_timezone(&crate::api::cst())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------- list

struct TaskRow {
    id: i64,
    key: String,
    plan: &'static str,
    group: String,
    title: String,
    lead: String,
    status: &'static str,
    status_class: &'static str,
    next_due: String,
}

fn status_class(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Done => "ok",
        TaskStatus::Overdue => "off",
        TaskStatus::PendingReview => "warn",
        _ => "",
    }
}

/// A task's number as officials read it: the stable key (`air-15`,
/// `water-二-3`, `jb-7`) with its plan in Chinese (大气-15, 水-二-3, 交办-7).
pub(crate) fn task_number(key: &str) -> String {
    for (prefix, label) in [
        ("air-", "大气-"),
        ("water-", "水-"),
        ("soil-", "土壤-"),
        ("jb-", "交办-"),
    ] {
        if let Some(rest) = key.strip_prefix(prefix) {
            return format!("{label}{rest}");
        }
    }
    key.to_owned()
}

fn task_row(t: &TaskRecord) -> TaskRow {
    TaskRow {
        id: t.id,
        key: task_number(&t.key),
        plan: api::plan_label(&t.plan),
        group: t.group.clone().or(t.chapter.clone()).unwrap_or_default(),
        title: t.title.clone(),
        lead: t.lead.join("、"),
        status: t.status.label(),
        status_class: status_class(t.status),
        next_due: t.next_due.clone().unwrap_or_default(),
    }
}

struct CountCell {
    code: &'static str,
    label: &'static str,
    n: usize,
}

struct ReminderRow {
    task_id: i64,
    key: String,
    title: String,
    due: String,
    what: String,
    kind: &'static str,
}

fn reminder_rows(r: Vec<Reminder>) -> Vec<ReminderRow> {
    r.into_iter()
        .map(|r| ReminderRow {
            task_id: r.task_id,
            key: task_number(&r.task_key),
            title: r.task_title,
            due: r.due,
            what: r.what,
            kind: if r.kind == "overdue" {
                "已逾期"
            } else {
                "即将到期"
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "tasks_list.html")]
struct ListPage {
    layout: Layout,
    tasks: Vec<TaskRow>,
    total: usize,
    counts: Vec<CountCell>,
    plan: String,
    group: String,
    organisation_id: String,
    status: String,
    due_before: String,
    /// The campaign shown (`all` for every one) and the choices.
    campaign: String,
    campaigns: Vec<(String, String)>,
    organisations: Vec<(i64, String)>,
    sees_all: bool,
    can_import: bool,
    can_assign: bool,
    reminders: Vec<ReminderRow>,
}

async fn list(State(state): State<AppState>, me: PageUser, Query(q): Query<TaskQuery>) -> Response {
    match list_inner(&state, &me, q).await {
        Ok(r) => r,
        Err(e) => fail(&me, "tasks", e),
    }
}

async fn list_inner(state: &AppState, me: &PageUser, q: TaskQuery) -> Result<Response, ApiError> {
    let mut filter = api::task_filter(&q, &me.user)?;
    let chosen = api::list_campaign(&state.db, &q).await?;
    filter.campaign_id = chosen.as_ref().map(|c| c.id);
    let campaigns = campaign_choices(state).await?;
    let tasks = state.db.campaigns().tasks(&filter).await?;
    let counts = state
        .db
        .campaigns()
        .task_counts(&filter)
        .await?
        .into_iter()
        .map(|(s, n)| CountCell {
            code: s.as_str(),
            label: s.label(),
            n,
        })
        .collect();
    let organisations = if me.user.role.sees_all() {
        state
            .db
            .organisations()
            .list()
            .await?
            .into_iter()
            .filter(|o| {
                matches!(
                    o.kind,
                    gongjian_storage::OrgKind::Department
                        | gongjian_storage::OrgKind::Township
                        | gongjian_storage::OrgKind::External
                        | gongjian_storage::OrgKind::Office
                )
            })
            .map(|o| (o.id, o.name))
            .collect()
    } else {
        Vec::new()
    };
    let reminders = state
        .db
        .campaigns()
        .reminders(own_org(&me.user), 10)
        .await?;
    Ok(render(ListPage {
        layout: Layout::new(&me.user, &me.csrf, "tasks"),
        total: tasks.len(),
        tasks: tasks.iter().map(task_row).collect(),
        counts,
        plan: q.plan.unwrap_or_default(),
        group: q.group.unwrap_or_default(),
        organisation_id: q.organisation_id.unwrap_or_default(),
        status: q.status.unwrap_or_default(),
        due_before: q.due_before.unwrap_or_default(),
        campaign: chosen.map_or_else(|| "all".to_owned(), |c| c.key),
        campaigns,
        organisations,
        sees_all: me.user.role.sees_all(),
        can_import: me.user.role.writes(),
        can_assign: super::assign::may_assign(&me.user),
        reminders: reminder_rows(reminders),
    }))
}

// ---------------------------------------------------------------- mine

struct AssignmentRow {
    id: i64,
    task_id: i64,
    task_key: String,
    task_title: String,
    organisation: String,
    role: &'static str,
    status: &'static str,
    status_class: &'static str,
    reason: String,
}

fn assignment_row(a: &AssignmentRecord) -> AssignmentRow {
    AssignmentRow {
        id: a.id,
        task_id: a.task_id,
        task_key: task_number(&a.task_key),
        task_title: a.task_title.clone(),
        organisation: a.organisation_name.clone(),
        role: a.role_label,
        status: a.status_label,
        status_class: status_class(a.status),
        reason: a.status_reason.clone(),
    }
}

struct PendingRow {
    id: i64,
    task_id: i64,
    task: String,
    organisation: String,
    text: String,
    at: String,
}

/// The campaigns a list may be limited to: (key, label).
async fn campaign_choices(state: &AppState) -> Result<Vec<(String, String)>, ApiError> {
    Ok(state
        .db
        .campaigns()
        .list()
        .await?
        .into_iter()
        .map(|c| {
            (
                c.key,
                format!("{} 年 · {}（{}）", c.year, c.name, c.state.label()),
            )
        })
        .collect())
}

#[derive(Template)]
#[template(path = "tasks_mine.html")]
struct MinePage {
    layout: Layout,
    /// The campaign shown (`all` for every one) and the choices.
    campaign: String,
    campaigns: Vec<(String, String)>,
    assignments: Vec<AssignmentRow>,
    /// Whether this user reviews reports: the office, or an organisation
    /// that leads a task (for the task's other parts).
    reviewer: bool,
    pending: Vec<PendingRow>,
    office: bool,
    reminders: Vec<ReminderRow>,
}

async fn mine(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<crate::api::campaign::CampaignQuery>,
) -> Response {
    let run = async {
        let office = is_office(&me.user);
        // This year's campaign by default: an archived year's parts are
        // read there, not listed among today's work (`all`, or no campaign
        // this year: every campaign's, as 任务 lists).
        let chosen =
            crate::api::campaign::chosen_campaign(&state.db, q.campaign.as_deref()).await?;
        let assignments = if me.user.role.sees_all() {
            Vec::new()
        } else {
            state
                .db
                .campaigns()
                .assignments(Some(me.user.organisation_id), chosen.as_ref().map(|c| c.id))
                .await?
        };
        // 待我审核: the office reviews every report; an organisation that
        // leads a task reviews the reports of the task's other parts (the
        // same rule as `may_review`).
        let leads = me.user.role.writes()
            && !me.user.role.sees_all()
            && assignments
                .iter()
                .any(|a| a.role == gongjian_storage::AssignmentRole::Lead);
        let reviewer = office || leads;
        let mut pending = Vec::new();
        if reviewer {
            let queue = state
                .db
                .campaigns()
                .reports_awaiting_review((!office).then_some(me.user.organisation_id))
                .await?;
            for (r, key, title) in queue {
                pending.push(PendingRow {
                    id: r.id,
                    task_id: r.task_id,
                    task: format!("{} {title}", task_number(&key)),
                    organisation: r.organisation_name.clone(),
                    text: r.text.chars().take(60).collect(),
                    at: time(r.submitted_at),
                });
            }
        }
        let reminders = state
            .db
            .campaigns()
            .reminders(own_org(&me.user), 20)
            .await?;
        Ok::<_, ApiError>(render(MinePage {
            layout: Layout::new(&me.user, &me.csrf, "tasks"),
            campaign: chosen.map_or_else(|| "all".to_owned(), |c| c.key),
            campaigns: campaign_choices(&state).await?,
            assignments: assignments.iter().map(assignment_row).collect(),
            reviewer,
            pending,
            office,
            reminders: reminder_rows(reminders),
        }))
    };
    match run.await {
        Ok(r) => r,
        Err(e) => fail(&me, "tasks", e),
    }
}

// ---------------------------------------------------------------- detail

struct ReportView {
    id: i64,
    organisation: String,
    text: String,
    claims_complete: bool,
    submitted_by: String,
    submitted_at: String,
    review: &'static str,
    review_class: &'static str,
    review_comment: String,
    reviewed_by: String,
    values: String,
    attachments: Vec<AttachmentView>,
    can_review: bool,
    /// The report waits for review and `me` reports for its organisation.
    can_attach: bool,
}

/// One file of a report: images get a thumbnail, PDFs an in-browser view.
pub(crate) struct AttachmentView {
    id: i64,
    name: String,
    size: String,
    /// `image`, `pdf`, or empty (download only).
    inline: &'static str,
}

impl AttachmentView {
    fn of(a: &gongjian_storage::AttachmentRecord) -> AttachmentView {
        AttachmentView {
            id: a.id,
            name: a.file_name.clone(),
            size: crate::attachments::human_size(a.size as u64),
            inline: api::inline_kind(&a.content_type).unwrap_or(""),
        }
    }
}

struct IndicatorView {
    name: String,
    requirement: String,
    /// False for a figure of the plan that is not reported.
    reported: bool,
    /// Accepted values: (time, organisation, value with unit), oldest first.
    history: Vec<(String, String, String)>,
}

fn indicator_view(s: &api::IndicatorSeries) -> IndicatorView {
    IndicatorView {
        name: s.name.clone(),
        requirement: format!("{} {} {}", s.comparator, s.threshold, s.unit),
        reported: s.reported,
        history: s
            .points
            .iter()
            .map(|p| {
                (
                    time(p.at),
                    p.organisation.clone(),
                    format!("{} {}", p.value, s.unit),
                )
            })
            .collect(),
    }
}

struct HistoryView {
    at: String,
    who: String,
    what: String,
    reason: String,
}

struct FormState {
    assignment_id: i64,
    text: String,
    values: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "tasks_detail.html")]
struct DetailPage {
    layout: Layout,
    task: TaskRecord,
    /// [`task_number`] of the task.
    number: String,
    plan: &'static str,
    cooperating: String,
    townships: String,
    milestones: Vec<(String, String, String)>,
    indicators: Vec<IndicatorView>,
    assignments: Vec<AssignmentRow>,
    reportable: Vec<AssignmentRow>,
    reports: Vec<ReportView>,
    history: Vec<HistoryView>,
    can_sign_off: bool,
    form: FormState,
    /// (position among the task's indicators, name, unit, typed value).
    indicator_names: Vec<(usize, String, String, String)>,
    signed_off: String,
    /// A 交办's source, document and issuer; None for a task of the plan.
    adhoc: Option<AdhocView>,
}

struct AdhocView {
    source: &'static str,
    document: String,
    issued_by: String,
    /// Whether this user may extend the deadline or cancel a part.
    may_change: bool,
    /// The earliest new deadline the form offers (tomorrow).
    min_due: String,
}

fn review_view(r: &ReportRecord) -> (&'static str, &'static str) {
    match r.review.as_str() {
        "accepted" => ("已通过", "ok"),
        "returned" => ("已退回", "off"),
        _ => ("待审核", "warn"),
    }
}

async fn detail_page(
    state: &AppState,
    me: &PageUser,
    task_id: i64,
    ok: Option<String>,
    error: Option<String>,
    form: Option<FormState>,
) -> Result<Response, ApiError> {
    let d: TaskDetail = api::visible_task(&state.db, &me.user, task_id).await?;
    let office = is_office(&me.user);
    let adhoc_info = state.db.adhoc().adhoc_info(task_id).await?;
    // Everyone who acted on the task, shown by name and organisation.
    let names: Vec<&str> = d
        .reports
        .iter()
        .flat_map(|r| std::iter::once(r.submitted_by.as_str()).chain(r.reviewed_by.as_deref()))
        .chain(d.history.iter().map(|h| h.actor_name.as_str()))
        .chain(d.task.signed_off_by.as_deref())
        .chain(adhoc_info.as_ref().map(|i| i.issued_by.as_str()))
        .collect();
    let labels = state.db.accounts().people_labels(&names).await?;
    let person = |name: &str| labels.get(name).cloned().unwrap_or_else(|| name.to_owned());
    let mut reports = Vec::new();
    for r in &d.reports {
        let (review, review_class) = review_view(r);
        reports.push(ReportView {
            id: r.id,
            organisation: r.organisation_name.clone(),
            text: r.text.clone(),
            claims_complete: r.claims_complete,
            submitted_by: person(&r.submitted_by),
            submitted_at: time(r.submitted_at),
            review,
            review_class,
            review_comment: r.review_comment.clone().unwrap_or_default(),
            reviewed_by: r.reviewed_by.as_deref().map(person).unwrap_or_default(),
            values: r
                .values
                .iter()
                .map(|v| format!("{} = {} {}", v.indicator, v.value, v.unit))
                .collect::<Vec<_>>()
                .join("；"),
            attachments: r.attachments.iter().map(AttachmentView::of).collect(),
            can_review: r.review == "submitted" && api::may_review(&state.db, &me.user, r).await?,
            can_attach: r.review == "submitted" && api::reports_for(&me.user, r.organisation_id),
        });
    }
    let indicators = api::indicator_series(&d)
        .iter()
        .map(indicator_view)
        .collect();
    let reportable: Vec<AssignmentRow> = d
        .assignments
        .iter()
        .filter(|a| may_report(&me.user, a) && d.task.signed_off_at.is_none())
        .map(assignment_row)
        .collect();
    let form = form.unwrap_or(FormState {
        assignment_id: reportable.first().map_or(0, |a| a.id),
        text: String::new(),
        values: Vec::new(),
    });
    // The form asks only for the indicators that are reported; each keeps
    // its position among the task's indicators (`value:N`).
    let indicator_names = d
        .indicators
        .iter()
        .enumerate()
        .filter(|(_, i)| i.reported)
        .map(|(n, i)| {
            let v = form
                .values
                .iter()
                .find(|(k, _)| *k == i.name || *k == n.to_string())
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (n, i.name.clone(), i.unit.clone(), v)
        })
        .collect();
    let can_sign_off = office
        && d.task.signed_off_at.is_none()
        && !d.assignments.is_empty()
        && d.assignments.iter().all(|a| a.status == TaskStatus::Done);
    let adhoc = adhoc_info.map(|i| AdhocView {
        source: i.source.label(),
        issued_by: person(&i.issued_by),
        document: i.document,
        may_change: super::assign::may_change(&me.user, i.issuer_org)
            && d.task.signed_off_at.is_none(),
        min_due: (gongjian_storage::today_cst() + chrono::Duration::days(1)).to_string(),
    });
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut resp = render(DetailPage {
        layout: Layout::new(&me.user, &me.csrf, "tasks").ok(ok).error(error),
        plan: api::plan_label(&d.task.plan),
        cooperating: d.cooperating.join("、"),
        townships: d.townships.join("、"),
        milestones: d
            .milestones
            .iter()
            .map(|m| {
                (
                    m.due.clone(),
                    m.what.clone(),
                    m.as_written.clone().unwrap_or_default(),
                )
            })
            .collect(),
        indicators,
        assignments: d.assignments.iter().map(assignment_row).collect(),
        reportable,
        reports,
        history: d
            .history
            .iter()
            .map(|h| HistoryView {
                at: time(h.at),
                who: h.organisation_name.clone().unwrap_or_else(|| "任务".into()),
                what: format!("{} → {}", h.from, h.to),
                reason: format!("{}（{}）", h.reason, person(&h.actor_name)),
            })
            .collect(),
        can_sign_off,
        form,
        indicator_names,
        signed_off: match (&d.task.signed_off_at, &d.task.signed_off_by) {
            (Some(at), by) => format!(
                "{} 由 {} 销号",
                time(*at),
                by.as_deref().map(person).unwrap_or_default()
            ),
            _ => String::new(),
        },
        number: task_number(&d.task.key),
        task: d.task,
        adhoc,
    });
    *resp.status_mut() = status;
    Ok(resp)
}

#[derive(Deserialize, Default)]
struct OkQuery {
    ok: Option<String>,
    /// Files refused from the submission just made (the report was kept).
    refused: Option<usize>,
}

/// What a user reads when files of their submission were refused.
fn refused_text(n: usize, settings: &crate::attachments::CampaignSettings) -> String {
    format!(
        "有 {n} 个附件未被接受：只接受图片（JPG、PNG、GIF、WebP）、PDF 和 Office 文档，单个不超过 {}，一次最多 {} 个。报告的其余内容已保存，可在报告下方“补交附件”。",
        crate::attachments::human_size(settings.attachment_max_bytes),
        settings.upload_max_files
    )
}

fn ok_text(code: Option<&str>) -> Option<String> {
    Some(
        match code? {
            "reported" => "进展报告已提交，等待审核",
            "attached" => "附件已补交",
            "accepted" => "报告已审核通过",
            "returned" => "报告已退回",
            "signed" => "任务已销号",
            "assigned" => "交办事项已下达，责任单位可在“我的任务”中看到",
            "extended" => "办结时限已延期",
            "cancelled" => "该单位的分工已撤销",
            _ => return None,
        }
        .to_owned(),
    )
}

/// The task page with an error banner (a refused change to it).
pub(crate) async fn detail_with_error(
    state: &AppState,
    me: &PageUser,
    task_id: i64,
    error: String,
) -> Response {
    detail_page(state, me, task_id, None, Some(error), None)
        .await
        .unwrap_or_else(|e| fail(me, "tasks", e))
}

async fn detail(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Response {
    let refused = q
        .refused
        .filter(|n| *n > 0)
        .map(|n| refused_text(n, &state.campaign));
    match detail_page(&state, &me, id, ok_text(q.ok.as_deref()), refused, None).await {
        // The refusal is news about the submission just made, not a
        // failure of this request.
        Ok(mut r) => {
            *r.status_mut() = StatusCode::OK;
            r
        }
        Err(e) => fail(&me, "tasks", e),
    }
}

async fn report_submit(
    State(state): State<AppState>,
    me: PageUser,
    Path(assignment_id): Path<i64>,
    mp: Multipart,
) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "tasks", busy.into()),
    };
    let form: ReportForm = match api::read_report_form(&state.campaign, mp).await {
        Ok(f) => f,
        Err(e) => return fail(&me, "tasks", e),
    };
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    let assignment = match state.db.campaigns().assignment(assignment_id).await {
        Ok(a) => a,
        Err(e) => return fail(&me, "tasks", e.into()),
    };
    let kept = FormState {
        assignment_id,
        text: form.text.clone(),
        values: form.values.clone(),
    };
    match api::submit(&state, &me.user, &me.actor(), assignment_id, form).await {
        Ok(done) if done.rejected_attachments.is_empty() => {
            Redirect::to(&format!("/tasks/{}?ok=reported", assignment.task_id)).into_response()
        }
        // The report is stored: leave the POST URL (a refresh must not
        // submit it again) and say how many files were refused.
        Ok(done) => Redirect::to(&format!(
            "/tasks/{}?ok=reported&refused={}#report-{}",
            assignment.task_id,
            done.rejected_attachments.len(),
            done.report.id
        ))
        .into_response(),
        Err(e) if e.code == ErrorCode::Forbidden => forbidden(&me),
        Err(e) => detail_page(
            &state,
            &me,
            assignment.task_id,
            None,
            Some(error_text(&e)),
            Some(kept),
        )
        .await
        .unwrap_or_else(|e| fail(&me, "tasks", e)),
    }
}

/// 补交附件: files added to a report still waiting for review.
async fn attachments_submit(
    State(state): State<AppState>,
    me: PageUser,
    Path(report_id): Path<i64>,
    mp: Multipart,
) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "tasks", busy.into()),
    };
    let form = match api::read_report_form(&state.campaign, mp).await {
        Ok(f) => f,
        Err(e) => return fail(&me, "tasks", e),
    };
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    let report = match state.db.campaigns().report(report_id).await {
        Ok(r) => r,
        Err(e) => return fail(&me, "tasks", e.into()),
    };
    if !api::reports_for(&me.user, report.organisation_id) {
        return forbidden(&me);
    }
    let (stored, rejected) = api::store_uploads(&state.campaign, form.files).await;
    if stored.is_empty() {
        let why = if rejected.is_empty() {
            "请选择要补交的附件".to_owned()
        } else {
            rejected.join("；")
        };
        return detail_with_error(&state, &me, report.task_id, why).await;
    }
    match state
        .db
        .campaigns()
        .add_report_attachments(&me.actor(), report_id, &stored)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/tasks/{}?ok=attached&refused={}#report-{report_id}",
            report.task_id,
            rejected.len()
        ))
        .into_response(),
        Err(e) => detail_with_error(&state, &me, report.task_id, error_text(&e.into())).await,
    }
}

#[derive(Deserialize)]
struct ReviewForm {
    csrf: String,
    decision: String,
    #[serde(default)]
    comment: String,
}

async fn review_submit(
    State(state): State<AppState>,
    me: PageUser,
    Path(report_id): Path<i64>,
    axum::Form(form): axum::Form<ReviewForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    match api::review(
        &state,
        &me.user,
        &me.actor(),
        report_id,
        &form.decision,
        &form.comment,
    )
    .await
    {
        Ok(r) => Redirect::to(&format!(
            "/tasks/{}?ok={}",
            r.task_id,
            if r.review == "accepted" {
                "accepted"
            } else {
                "returned"
            }
        ))
        .into_response(),
        Err(e) if e.code == ErrorCode::Forbidden => forbidden(&me),
        Err(e) => match state.db.campaigns().report(report_id).await {
            Ok(r) => detail_page(&state, &me, r.task_id, None, Some(error_text(&e)), None)
                .await
                .unwrap_or_else(|e| fail(&me, "tasks", e)),
            Err(_) => fail(&me, "tasks", e),
        },
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_off(
    State(state): State<AppState>,
    me: PageUser,
    Path(task_id): Path<i64>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    if !is_office(&me.user) {
        return forbidden(&me);
    }
    match state
        .db
        .campaigns()
        .sign_off_task(&me.actor(), task_id)
        .await
    {
        Ok(_) => Redirect::to(&format!("/tasks/{task_id}?ok=signed")).into_response(),
        Err(e) => detail_page(
            &state,
            &me,
            task_id,
            None,
            Some(error_text(&e.into())),
            None,
        )
        .await
        .unwrap_or_else(|e| fail(&me, "tasks", e)),
    }
}

#[derive(Deserialize)]
struct AttachmentQuery {
    /// `1`: show an image or PDF in the browser instead of downloading it.
    #[serde(default)]
    inline: Option<String>,
}

async fn attachment(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<AttachmentQuery>,
) -> Response {
    let inline = q.inline.as_deref() == Some("1");
    match api::attachment_response(&state, &me.user, id, inline).await {
        Ok(r) => r,
        Err(e) => fail(&me, "tasks", e),
    }
}

// ---------------------------------------------------------------- ledger XLSX

async fn ledger_xlsx(State(state): State<AppState>, me: PageUser) -> Response {
    match api::ledger_xlsx(&state, &me.user).await {
        Ok(bytes) => {
            let _ = state
                .db
                .audit()
                .record(
                    &me.actor(),
                    gongjian_storage::AuditRecord::new("export", "task_ledger", "xlsx"),
                )
                .await;
            api::xlsx_response(bytes, "任务台账.xlsx")
        }
        Err(e) => fail(&me, "tasks", e),
    }
}

#[derive(Template)]
#[template(path = "tasks_import.html")]
struct ImportPage {
    layout: Layout,
    result: Option<ImportResult>,
    columns: Vec<&'static str>,
}

async fn import_form(me: PageUser) -> Response {
    if !me.user.role.writes() {
        return forbidden(&me);
    }
    render(ImportPage {
        layout: Layout::new(&me.user, &me.csrf, "tasks"),
        result: None,
        columns: api::LEDGER_COLUMNS.to_vec(),
    })
}

/// A multipart upload with `csrf`, `file` and an optional `valid_only`.
async fn import_submit(State(state): State<AppState>, me: PageUser, mp: Multipart) -> Response {
    if !me.user.role.writes() {
        return forbidden(&me);
    }
    let layout = || Layout::new(&me.user, &me.csrf, "tasks");
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "tasks", busy.into()),
    };
    let (csrf, valid_only, bytes) = match super::read_import_form(mp).await {
        Ok(f) => (f.csrf().to_owned(), f.ticked("valid_only"), f.bytes),
        Err(e) => {
            return render(ImportPage {
                layout: layout().error(Some(error_text(&e))),
                result: None,
                columns: api::LEDGER_COLUMNS.to_vec(),
            });
        }
    };
    if let Err(r) = check_csrf(&me, &csrf) {
        return r;
    }
    match api::import_ledger(&state, &me.user, &me.actor(), &bytes, valid_only).await {
        Ok(result) => {
            let msg = if result.refused {
                (
                    None,
                    Some(format!(
                        "有 {} 行被拒绝，整表未导入；修正后重新上传，或勾选“只导入正确的行”",
                        result.rejected.len()
                    )),
                )
            } else {
                (Some(format!("已导入 {} 条进展报告", result.imported)), None)
            };
            render(ImportPage {
                layout: layout().ok(msg.0).error(msg.1),
                result: Some(result),
                columns: api::LEDGER_COLUMNS.to_vec(),
            })
        }
        Err(e) => render(ImportPage {
            layout: layout().error(Some(error_text(&e))),
            result: None,
            columns: api::LEDGER_COLUMNS.to_vec(),
        }),
    }
}

// ---------------------------------------------------------------- fire points

/// One choice of a select, with whether the form holds it.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "ledger_fire.html")]
struct LedgerPage {
    layout: Layout,
    points: Vec<FirePointView>,
    totals: Vec<FireTotal>,
    office: bool,
    /// The township the user answers pushed points for (township role).
    township_id: Option<i64>,
    /// Pushed points this user may answer now.
    to_verify: usize,
    townships: Vec<Choice>,
    kinds: Vec<Choice>,
    /// The entry form's values: empty, or as typed when it was refused.
    form: FirePointBody,
    import: Option<ImportResult>,
}

struct FirePointView {
    /// 待乡镇核实 past its deadline.
    reply_overdue: bool,
    /// The township's answer as one line: "属实：…（by，time）".
    reply_text: String,
    point: FirePointRecord,
    /// (attachment id, file name, size).
    evidence: Vec<(i64, String, String)>,
    /// For a voided point: “原因（by，time）”.
    voided_text: String,
}

async fn ledger_page(
    state: &AppState,
    me: &PageUser,
    ok: Option<String>,
    error: Option<String>,
    import: Option<ImportResult>,
    form: FirePointBody,
) -> Result<Response, ApiError> {
    let points = state.db.campaigns().fire_points(own_org(&me.user)).await?;
    let voiders = state
        .db
        .accounts()
        .people_labels(
            &points
                .iter()
                .flat_map(|p| [p.voided_by.as_deref(), p.replied_by.as_deref()])
                .flatten()
                .collect::<Vec<_>>(),
        )
        .await?;
    let mut totals = state.db.campaigns().fire_point_totals().await?;
    if own_org(&me.user).is_some() {
        totals.retain(|t| t.township == me.user.organisation_name);
    }
    let townships = state
        .db
        .organisations()
        .list()
        .await?
        .into_iter()
        .filter(|o| o.kind == gongjian_storage::OrgKind::Township)
        .map(|o| Choice {
            selected: o.name == form.township.trim(),
            label: o.name.clone(),
            value: o.name,
        })
        .collect();
    let kind = FireKind::from_str(&form.kind).ok();
    // The deduction per point as this year's plan sets it (air task 15).
    let year = chrono::Datelike::year(&gongjian_app::now_local().date());
    let kinds = state
        .db
        .campaigns()
        .fire_amounts(year)
        .await?
        .into_iter()
        .map(|(k, amount)| Choice {
            value: k.as_str().to_owned(),
            label: match amount {
                Some(a) => format!("{}（{} 元/火点）", k.label(), a.normalize()),
                None => format!("{}（{year} 年方案未规定扣减金额）", k.label()),
            },
            selected: kind == Some(k),
        })
        .collect();
    let township_id =
        (me.user.role == gongjian_storage::Role::Township).then_some(me.user.organisation_id);
    let to_verify = points
        .iter()
        .filter(|p| !p.voided() && p.verification == "pending")
        .filter(|p| is_office(&me.user) || township_id == Some(p.township_id))
        .count();
    Ok(render(LedgerPage {
        to_verify,
        layout: Layout::new(&me.user, &me.csrf, "ledger")
            .ok(ok)
            .error(error),
        points: points
            .into_iter()
            .map(|p| fire_point_view(p, &voiders))
            .collect(),
        totals,
        office: is_office(&me.user),
        township_id,
        townships,
        kinds,
        form,
        import,
    }))
}

/// `people`: the labels of those who voided entries, by login name.
fn fire_point_view(
    point: FirePointRecord,
    people: &std::collections::HashMap<String, String>,
) -> FirePointView {
    let voided_text = match (&point.voided_at, &point.void_reason) {
        (Some(at), reason) => format!(
            "{}（{}，{}）",
            reason.as_deref().unwrap_or(""),
            point
                .voided_by
                .as_deref()
                .map(|n| people.get(n).map_or(n, String::as_str))
                .unwrap_or(""),
            gongjian_standards::cst::local_text(*at)
        ),
        _ => String::new(),
    };
    let reply_text = match (&point.reply_verdict, point.replied_at) {
        (Some(v), Some(at)) => format!(
            "乡镇反馈{}：{}（{}，{}）",
            if v == "true" { "属实" } else { "不属实" },
            point.reply_note.as_deref().unwrap_or(""),
            point
                .replied_by
                .as_deref()
                .map(|n| people.get(n).map_or(n, String::as_str))
                .unwrap_or(""),
            gongjian_standards::cst::local_minutes_text(at)
        ),
        _ => String::new(),
    };
    FirePointView {
        reply_overdue: point.reply_overdue(gongjian_storage::today_cst()),
        reply_text,
        voided_text,
        evidence: point
            .attachments
            .iter()
            .map(|a| {
                (
                    a.id,
                    a.file_name.clone(),
                    crate::attachments::human_size(a.size as u64),
                )
            })
            .collect(),
        point,
    }
}

async fn ledger(State(state): State<AppState>, me: PageUser, Query(q): Query<OkQuery>) -> Response {
    let ok = match q.ok.as_deref() {
        Some("added") => Some("火点已登记".to_owned()),
        Some("voided") => Some("火点已作废，不再计入扣款".to_owned()),
        Some("replied") => Some("核实结果已反馈，等待攻坚办确认".to_owned()),
        Some("confirmed") => Some("已确认；属实的火点计入所在乡镇扣款".to_owned()),
        _ => None,
    };
    ledger_page(&state, &me, ok, None, None, FirePointBody::default())
        .await
        .unwrap_or_else(|e| fail(&me, "ledger", e))
}

/// The entry form (multipart, with evidence files). A refused point — a
/// bad field or a refused file — stores nothing and shows the form again
/// with the values as typed; only the files must be chosen again, since a
/// browser cannot refill a file input.
async fn fire_point_submit(State(state): State<AppState>, me: PageUser, mp: Multipart) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "ledger", busy.into()),
    };
    let form = match api::read_fire_point_form(&state.campaign, mp).await {
        Ok(f) => f,
        Err(e) => return fail(&me, "ledger", e),
    };
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    let had_files = !form.files.is_empty();
    match api::record_fire_point(&state, &me.user, &me.actor(), &form.point, form.files).await {
        Ok(_) => Redirect::to("/ledger?ok=added").into_response(),
        Err(e) if e.code == ErrorCode::Forbidden => forbidden(&me),
        Err(e) => {
            let status = e.code.status();
            let mut msg = error_text(&e);
            if had_files {
                msg.push_str("（已填写的内容已保留，请重新选择证据文件）");
            }
            match ledger_page(&state, &me, None, Some(msg), None, form.point).await {
                Ok(mut page) => {
                    *page.status_mut() = status;
                    page
                }
                Err(e) => fail(&me, "ledger", e),
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct VoidForm {
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// Void a fire point from the ledger page (office): the reason is required;
/// a refusal shows the ledger again with the message.
async fn fire_point_void(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<VoidForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    match api::void_fire_point_as(&state, &me.user, &me.actor(), id, &form.reason).await {
        Ok(_) => Redirect::to("/ledger?ok=voided").into_response(),
        Err(e) if e.code == ErrorCode::Forbidden => forbidden(&me),
        Err(e) if e.code == ErrorCode::NotFound => fail(&me, "ledger", e),
        Err(e) => {
            let status = e.code.status();
            match ledger_page(
                &state,
                &me,
                None,
                Some(error_text(&e)),
                None,
                FirePointBody::default(),
            )
            .await
            {
                Ok(mut page) => {
                    *page.status_mut() = status;
                    page
                }
                Err(e) => fail(&me, "ledger", e),
            }
        }
    }
}

async fn fire_import_submit(
    State(state): State<AppState>,
    me: PageUser,
    mp: Multipart,
) -> Response {
    if !is_office(&me.user) {
        return forbidden(&me);
    }
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "ledger", busy.into()),
    };
    let (csrf, valid_only, bytes) = match super::read_import_form(mp).await {
        Ok(f) => (f.csrf().to_owned(), f.ticked("valid_only"), f.bytes),
        Err(e) => {
            return ledger_page(
                &state,
                &me,
                None,
                Some(error_text(&e)),
                None,
                FirePointBody::default(),
            )
            .await
            .unwrap_or_else(|e| fail(&me, "ledger", e));
        }
    };
    if let Err(r) = check_csrf(&me, &csrf) {
        return r;
    }
    let (ok, err, result) =
        match api::import_fire_file(&state, &me.actor(), &bytes, valid_only).await {
            Ok(r) if r.refused => (
                None,
                Some(format!("有 {} 行被拒绝，整个文件未导入", r.rejected.len())),
                Some(r),
            ),
            Ok(r) => (Some(format!("已导入 {} 个火点", r.imported)), None, Some(r)),
            Err(e) => (None, Some(error_text(&e)), None),
        };
    ledger_page(&state, &me, ok, err, result, FirePointBody::default())
        .await
        .unwrap_or_else(|e| fail(&me, "ledger", e))
}

/// Show the ledger again with `e`, with its status.
async fn ledger_error(state: &AppState, me: &PageUser, e: ApiError) -> Response {
    let status = e.code.status();
    match ledger_page(
        state,
        me,
        None,
        Some(error_text(&e)),
        None,
        FirePointBody::default(),
    )
    .await
    {
        Ok(mut page) => {
            *page.status_mut() = status;
            page
        }
        Err(e) => fail(me, "ledger", e),
    }
}

/// The township's answer to a pushed point (multipart: verdict, note,
/// photos). A refusal stores nothing and shows the ledger with the reason.
async fn fire_point_reply(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    mp: Multipart,
) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "ledger", busy.into()),
    };
    let form = match crate::api::campaign::read_multipart(&state.campaign, mp).await {
        Ok(f) => f,
        Err(e) => return fail(&me, "ledger", e),
    };
    let field = |n: &str| {
        form.fields
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if let Err(r) = check_csrf(&me, field("csrf")) {
        return r;
    }
    let verdict = match field("verdict") {
        "true" => true,
        "false" => false,
        _ => {
            return ledger_error(
                &state,
                &me,
                ApiError::with_detail(ErrorCode::InvalidInput, "请选择属实或不属实"),
            )
            .await;
        }
    };
    let body = crate::api::campaign::FireReplyBody {
        verdict,
        note: field("note").to_owned(),
    };
    let files = form.files;
    match crate::api::campaign::reply_fire_point_as(&state, &me.user, &me.actor(), id, &body, files)
        .await
    {
        Ok(_) => Redirect::to("/ledger?ok=replied").into_response(),
        Err(e) if e.code == ErrorCode::Forbidden => forbidden(&me),
        Err(e) => ledger_error(&state, &me, e).await,
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    verdict: String,
    #[serde(default)]
    note: String,
}

/// The office's decision on a pushed point.
async fn fire_point_confirm(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<ConfirmForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    let body = crate::api::campaign::FireReplyBody {
        verdict: form.verdict == "true",
        note: form.note,
    };
    match crate::api::campaign::confirm_fire_point_as(&state, &me.user, &me.actor(), id, &body)
        .await
    {
        Ok(_) => Redirect::to("/ledger?ok=confirmed").into_response(),
        Err(e) if e.code == ErrorCode::Forbidden => forbidden(&me),
        Err(e) => ledger_error(&state, &me, e).await,
    }
}
