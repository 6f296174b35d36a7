//! 报警与督办: the alarm list (with one-click cases for the office and the
//! enterprise's explanation), the case list, a case with its history and
//! the steps the user may take (with photos), a phone-first form to open
//! a case on the spot (巡查), the alarm-rule editor and the inbox.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_alarms::{CaseAction, RuleKind, Severity};
use gongjian_standards::cst;
use gongjian_storage::{AlarmRecord, CASE_SOURCES, CaseRecord, OrgKind, case_source_label};
use serde::Deserialize;

use super::{Layout, check_csrf, error_text, fail, forbidden, render};
use crate::AppState;
use crate::api::alarms::{self as api, ActionBody, AlarmQuery, CaseBody, CaseQuery};
use crate::api::campaign::is_office;
use crate::error::ErrorCode;
use crate::session::PageUser;

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    Router::new()
        .route("/alarms", get(alarms_page))
        .route("/alarms/{id}/case", post(alarm_case))
        .route(
            "/alarms/{id}/explain",
            post(alarm_explain).layer(limits.upload_body_limit()),
        )
        .route("/alarms/rules", get(rules_page).post(rules_submit))
        .route("/cases", get(cases_page))
        .route(
            "/cases/new",
            get(new_case_page)
                .post(new_case_submit)
                .layer(limits.upload_body_limit()),
        )
        .route("/cases/{id}", get(case_page))
        .route(
            "/cases/{id}/act",
            post(case_act).layer(limits.upload_body_limit()),
        )
        .route("/inbox", get(inbox_page))
        .route("/inbox/read", post(inbox_read))
        .route("/inbox/count", get(inbox_count))
}

const AREA: &str = "cases";

fn minutes(t: i64) -> String {
    cst::local_minutes_text(t)
}

fn flash(ok: Option<&str>) -> Option<String> {
    let text = match ok? {
        "case" => "督办单已生成",
        "explained" => "情况说明已保存",
        "created" => "督办单已下达，责任单位和核查乡镇已收到消息",
        "rules" => "报警规则已保存为新版本",
        "accept" => "已签收",
        "answer" => "整改情况已反馈，等待核查",
        "verify" => "核查通过，等待攻坚办销号",
        "return" => "已退回责任单位重新整改",
        "close" => "已销号",
        "reopen" => "已重新打开",
        _ => return None,
    };
    Some(text.to_owned())
}

// ---------------------------------------------------------------- alarms

struct AlarmRow {
    id: i64,
    open: bool,
    category: &'static str,
    rule: String,
    site: String,
    site_id: i64,
    unit: String,
    township: String,
    started: String,
    duration: String,
    summary: String,
    evidence: String,
    case_id: Option<i64>,
    explanation: String,
    /// 计划停产, 设备故障 … (empty when not explained).
    reason: &'static str,
    reason_code: String,
    /// (attachment id, file name) of the evidence.
    files: Vec<(i64, String)>,
    may_explain: bool,
    /// Why the explanation just typed was refused (its form opens with it).
    explain_error: Option<String>,
}

/// The reasons an explanation may give: (code, label).
const REASONS: [(&str, &str); 5] = gongjian_storage::EXPLANATION_REASONS;

#[derive(Template)]
#[template(path = "alarms.html")]
struct AlarmsPage {
    layout: Layout,
    state: String,
    since: String,
    rows: Vec<AlarmRow>,
    open_count: usize,
    office: bool,
    reasons: [(&'static str, &'static str); 5],
}

#[derive(Deserialize, Default)]
struct AlarmsQuery {
    state: Option<String>,
    since: Option<String>,
    ok: Option<String>,
}

fn alarm_row(a: &AlarmRecord, me: &PageUser, names: &gongjian_alarms::RuleSet) -> AlarmRow {
    let kind = RuleKind::parse(&a.kind);
    let hours = a.hours;
    let evidence: Vec<String> = a
        .evidence
        .iter()
        .take(6)
        .map(|e| {
            format!(
                "{} {}（{}）",
                cst::local_minutes_text(e.at),
                e.value,
                flag_text(&e.flag)
            )
        })
        .collect();
    let own = a.enterprise_id == Some(me.user.organisation_id)
        || a.township_id == Some(me.user.organisation_id);
    AlarmRow {
        id: a.id,
        open: a.is_open(),
        category: kind.map(|k| k.category()).unwrap_or("报警"),
        rule: names
            .rule(&a.rule)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| a.rule.clone()),
        site: a.site_name.clone(),
        site_id: a.site_id,
        unit: a.enterprise.clone().unwrap_or_default(),
        township: a.township.clone().unwrap_or_default(),
        started: minutes(a.started_at),
        duration: if hours >= 48 {
            format!("{} 天 {} 小时", hours / 24, hours % 24)
        } else {
            format!("{hours} 小时")
        },
        summary: a.summary.clone(),
        evidence: evidence.join("；"),
        case_id: a.case_id,
        explanation: a.explanation.clone().unwrap_or_default(),
        reason: a
            .explanation_reason
            .as_deref()
            .map_or("", gongjian_storage::explanation_reason_label),
        reason_code: a.explanation_reason.clone().unwrap_or_default(),
        files: a
            .explanation_files
            .iter()
            .map(|f| (f.id, f.file_name.clone()))
            .collect(),
        may_explain: me.user.role.writes() && (own || is_office(&me.user)),
        explain_error: None,
    }
}

/// HJ 212 data flags as officials read them.
pub(crate) fn flag_text(flag: &str) -> &'static str {
    gongjian_standards::emission::flag_label(flag)
}

async fn alarms_page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<AlarmsQuery>,
) -> Response {
    alarms_view(&state, &me, q, None).await
}

/// An explanation refused: the alarm it was for, what was typed, and why.
struct RefusedExplanation {
    alarm_id: i64,
    body: api::ExplainBody,
    error: String,
}

async fn alarms_view(
    state: &AppState,
    me: &PageUser,
    q: AlarmsQuery,
    refused: Option<RefusedExplanation>,
) -> Response {
    let filter = AlarmQuery {
        state: Some(q.state.clone().unwrap_or_else(|| "open".into())),
        since: q.since.clone(),
    };
    let list = match api::alarms_as(state, &me.user, &filter).await {
        Ok(l) => l,
        Err(e) => return fail(me, AREA, e),
    };
    let rules = match state.db.alarms().alarm_rules().await {
        Ok(r) => r.rules,
        Err(e) => return fail(me, AREA, e.into()),
    };
    let mut rows: Vec<AlarmRow> = list.iter().map(|a| alarm_row(a, me, &rules)).collect();
    let mut error = None;
    if let Some(r) = refused {
        // The form comes back open, with what was typed, under its alarm.
        if let Some(row) = rows.iter_mut().find(|row| row.id == r.alarm_id) {
            row.explanation = r.body.explanation.clone();
            row.reason_code = r.body.reason.clone();
            row.explain_error = Some(r.error.clone());
        }
        error = Some(format!("{}。说明未保存", r.error));
    }
    let bad = error.is_some();
    let mut resp = render(AlarmsPage {
        layout: Layout::new(&me.user, &me.csrf, AREA)
            .ok(flash(q.ok.as_deref()))
            .error(error),
        state: filter.state.unwrap_or_default(),
        since: q.since.unwrap_or_default(),
        open_count: rows.iter().filter(|r| r.open).count(),
        rows,
        office: is_office(&me.user),
        reasons: REASONS,
    });
    if bad {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    resp
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn alarm_case(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    match api::case_from_alarm_as(&state, &me.user, &me.actor(), id).await {
        Ok(case) => Redirect::to(&format!("/cases/{case}?ok=case")).into_response(),
        Err(e) => fail(&me, AREA, e),
    }
}

async fn alarm_explain(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    mp: Multipart,
) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, AREA, busy.into()),
    };
    let (body, files, csrf) = match api::read_explain_form(&state, mp).await {
        Ok(f) => f,
        Err(e) => return fail(&me, AREA, e),
    };
    if let Err(r) = check_csrf(&me, &csrf) {
        return r;
    }
    match api::explain_alarm_as(&state, &me.user, &me.actor(), id, &body, files).await {
        Ok(()) => Redirect::to("/alarms?ok=explained").into_response(),
        Err(e) if e.code == ErrorCode::Forbidden || e.code == ErrorCode::NotFound => {
            fail(&me, AREA, e)
        }
        Err(e) => {
            let q = AlarmsQuery {
                state: Some("all".into()),
                ..AlarmsQuery::default()
            };
            let refused = RefusedExplanation {
                alarm_id: id,
                body,
                error: error_text(&e),
            };
            alarms_view(&state, &me, q, Some(refused)).await
        }
    }
}

// ---------------------------------------------------------------- rules

struct RuleRow {
    code: String,
    name: String,
    category: &'static str,
    kinds: String,
    factors: String,
    /// As stored, or as typed when the form comes back refused.
    min_hours: String,
    threshold: String,
    severity: String,
    auto_case: bool,
    enabled: bool,
    /// Why this row was refused, shown in it.
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "alarm_rules.html")]
struct RulesPage {
    layout: Layout,
    version: i64,
    version_note: String,
    rows: Vec<RuleRow>,
    severities: Vec<(&'static str, &'static str)>,
    case_days: [String; 3],
    reopen_days: String,
    /// One "类别=部门" per line.
    supervisors: String,
    office: bool,
    history: Vec<(i64, String, String, String)>,
}

/// A refused submission of the rules editor: every field as typed, and
/// the refusals of each rule (by code).
struct TypedRules<'a> {
    fields: &'a [(String, String)],
    row_errors: HashMap<String, String>,
}

impl TypedRules<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == key)
            .map(|(_, v)| v.as_str())
    }
}

async fn rules_view(
    state: &AppState,
    me: &PageUser,
    ok: Option<String>,
    error: Option<String>,
    typed: Option<TypedRules<'_>>,
) -> Result<Response, crate::error::ApiError> {
    let v = state.db.alarms().alarm_rules().await?;
    let history = state
        .db
        .alarms()
        .alarm_rule_versions()
        .await?
        .into_iter()
        .map(|h| (h.id, minutes(h.created_at), h.created_by, h.note))
        .collect();
    let rows = v
        .rules
        .rules
        .iter()
        .map(|r| RuleRow {
            code: r.code.clone(),
            name: r.name.clone(),
            category: r.kind.category(),
            kinds: if r.site_kinds.is_empty() {
                "全部".into()
            } else {
                r.site_kinds
                    .iter()
                    .map(|k| gongjian_storage::site_kind_label(k))
                    .collect::<Vec<_>>()
                    .join("、")
            },
            factors: if r.factors.is_empty() {
                "全部".into()
            } else {
                r.factors
                    .iter()
                    .map(|f| gongjian_app::alarms::factor_label(f))
                    .collect::<Vec<_>>()
                    .join("、")
            },
            min_hours: r.min_hours.to_string(),
            threshold: r
                .threshold
                .map(|t| t.normalize().to_string())
                .unwrap_or_default(),
            severity: r.severity.as_str().to_owned(),
            auto_case: r.auto_case,
            enabled: r.enabled,
            error: None,
        })
        .map(|mut row: RuleRow| {
            if let Some(t) = &typed {
                let field = |f: &str| t.get(&format!("{}.{f}", row.code)).map(str::to_owned);
                row.enabled = field("enabled").is_some();
                row.auto_case = field("auto_case").is_some();
                row.min_hours = field("min_hours").unwrap_or(row.min_hours);
                row.threshold = field("threshold").unwrap_or(row.threshold);
                row.severity = field("severity").unwrap_or(row.severity);
                row.error = t.row_errors.get(&row.code).cloned();
            }
            row
        })
        .collect();
    let typed_or = |key: &str, stored: String| {
        typed
            .as_ref()
            .and_then(|t| t.get(key))
            .map_or(stored, str::to_owned)
    };
    let case_days = [
        typed_or("case_days.minor", v.rules.case_days[0].to_string()),
        typed_or("case_days.major", v.rules.case_days[1].to_string()),
        typed_or("case_days.critical", v.rules.case_days[2].to_string()),
    ];
    let reopen_days = typed_or("reopen_window_days", v.rules.reopen_window_days.to_string());
    let supervisors = typed_or(
        "supervisors",
        v.rules
            .supervisors
            .iter()
            .map(|s| format!("{}={}", s.category, s.organisation))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let bad = error.is_some();
    let mut resp = render(RulesPage {
        layout: Layout::new(&me.user, &me.csrf, AREA).ok(ok).error(error),
        version: v.id,
        version_note: v.note,
        rows,
        severities: Severity::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        case_days,
        reopen_days,
        supervisors,
        office: is_office(&me.user),
        history,
    });
    if bad {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

async fn rules_page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<AlarmsQuery>,
) -> Response {
    rules_view(&state, &me, flash(q.ok.as_deref()), None, None)
        .await
        .unwrap_or_else(|e| fail(&me, AREA, e))
}

/// The editor posts every rule's fields as `<code>.<field>`.
async fn rules_submit(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Err(r) = check_csrf(&me, get("csrf").unwrap_or("")) {
        return r;
    }
    if !is_office(&me.user) {
        return forbidden(&me);
    }
    let mut set = match state.db.alarms().alarm_rules().await {
        Ok(v) => v.rules,
        Err(e) => return fail(&me, AREA, e.into()),
    };
    let mut problems = Vec::new();
    let mut row_errors: HashMap<String, String> = HashMap::new();
    for r in &mut set.rules {
        let code = r.code.clone();
        let before = problems.len();
        r.enabled = get(&format!("{code}.enabled")).is_some();
        r.auto_case = get(&format!("{code}.auto_case")).is_some();
        if let Some(h) = get(&format!("{code}.min_hours")) {
            match h.trim().parse::<u32>() {
                Ok(n) => r.min_hours = n,
                Err(_) => problems.push(format!(
                    "{}：持续小时数“{}”应为整数",
                    r.name,
                    h.chars().take(20).collect::<String>()
                )),
            }
        }
        if let Some(t) = get(&format!("{code}.threshold")) {
            let t = t.trim();
            if t.is_empty() {
                r.threshold = None;
            } else {
                match t.parse() {
                    Ok(d) => r.threshold = Some(d),
                    Err(_) => problems.push(format!(
                        "{}：阈值“{}”应为数字",
                        r.name,
                        t.chars().take(20).collect::<String>()
                    )),
                }
            }
        }
        if let Some(s) = get(&format!("{code}.severity")).and_then(Severity::parse) {
            r.severity = s;
        }
        if problems.len() > before {
            row_errors.insert(code, problems[before..].join("；"));
        }
    }
    for (i, key) in ["case_days.minor", "case_days.major", "case_days.critical"]
        .iter()
        .enumerate()
    {
        if let Some(v) = get(key) {
            match v.trim().parse::<u32>() {
                Ok(n) => set.case_days[i] = n,
                Err(_) => problems.push("督办期限应为整数天数".into()),
            }
        }
    }
    if let Some(v) = get("reopen_window_days") {
        match v.trim().parse::<u32>() {
            Ok(n) => set.reopen_window_days = n,
            Err(_) => problems.push("重新打开的时间窗口应为整数天数".into()),
        }
    }
    if let Some(text) = get("supervisors") {
        set.supervisors.clear();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match line.split_once(['=', '＝']) {
                Some((c, o)) if !c.trim().is_empty() && !o.trim().is_empty() => {
                    set.supervisors.push(gongjian_alarms::Supervisor {
                        category: c.trim().to_owned(),
                        organisation: o.trim().to_owned(),
                    })
                }
                _ => problems.push(format!(
                    "主管部门第 {} 行“{}”应写作“类别=部门”",
                    n + 1,
                    line.chars().take(30).collect::<String>()
                )),
            }
        }
    }
    let result = if problems.is_empty() {
        state
            .db
            .alarms()
            .save_alarm_rules(&me.actor(), &set, get("note").unwrap_or(""))
            .await
            .map_err(crate::error::ApiError::from)
    } else {
        Err(crate::error::ApiError::with_detail(
            ErrorCode::InvalidInput,
            problems.join("；"),
        ))
    };
    match result {
        Ok(_) => Redirect::to("/alarms/rules?ok=rules").into_response(),
        // Everything typed comes back, each rule's refusal in its row.
        Err(e) => rules_view(
            &state,
            &me,
            None,
            Some(format!("{}。未保存", error_text(&e))),
            Some(TypedRules {
                fields: &fields,
                row_errors,
            }),
        )
        .await
        .unwrap_or_else(|e| fail(&me, AREA, e)),
    }
}

// ---------------------------------------------------------------- cases

struct CaseRow {
    id: i64,
    number: String,
    title: String,
    source: String,
    state: &'static str,
    state_code: String,
    overdue: bool,
    organisation: String,
    township: String,
    due_on: String,
    created: String,
}

fn case_row(c: &CaseRecord) -> CaseRow {
    CaseRow {
        id: c.id,
        number: c.number.clone(),
        title: c.title.clone(),
        source: case_source_label(&c.source).to_owned(),
        state: c.state().label(),
        state_code: c.state.clone(),
        overdue: c.overdue,
        organisation: c.organisation.clone(),
        township: c.township.clone().unwrap_or_default(),
        due_on: c.due_on.clone(),
        created: minutes(c.created_at),
    }
}

#[derive(Template)]
#[template(path = "cases_list.html")]
struct CasesPage {
    layout: Layout,
    state: String,
    since: String,
    rows: Vec<CaseRow>,
    counts: Vec<(&'static str, &'static str, usize)>,
    overdue: usize,
    may_open: bool,
}

#[derive(Deserialize, Default)]
struct CasesQuery {
    state: Option<String>,
    since: Option<String>,
    ok: Option<String>,
}

async fn cases_page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<CasesQuery>,
) -> Response {
    let chosen = q.state.clone().unwrap_or_else(|| "open".into());
    let all = match gongjian_app::cases::cases_for(&state.db, &me.user, Default::default()).await {
        Ok(l) => l,
        Err(e) => return fail(&me, AREA, e.into()),
    };
    let filter = match api::case_filter(&CaseQuery {
        state: Some(chosen.clone()),
        since: q.since.clone(),
    }) {
        Ok(f) => f,
        Err(e) => return fail(&me, AREA, e),
    };
    let rows: Vec<CaseRow> = all
        .iter()
        .filter(|c| filter.state.is_none_or(|s| c.state() == s))
        .filter(|c| !filter.open || c.state().is_open())
        .filter(|c| filter.since.is_none_or(|t| c.created_at >= t))
        .map(case_row)
        .collect();
    let counts = gongjian_alarms::CaseState::ALL
        .iter()
        .map(|s| {
            (
                s.as_str(),
                s.label(),
                all.iter().filter(|c| c.state() == *s).count(),
            )
        })
        .collect();
    render(CasesPage {
        layout: Layout::new(&me.user, &me.csrf, AREA).ok(flash(q.ok.as_deref())),
        state: chosen,
        since: q.since.unwrap_or_default(),
        overdue: all.iter().filter(|c| c.overdue).count(),
        counts,
        rows,
        may_open: api::may_open_case(&me.user),
    })
}

struct EventRow {
    action: String,
    state: &'static str,
    note: String,
    actor: String,
    at: String,
    files: Vec<(i64, String, bool)>,
}

#[derive(Template)]
#[template(path = "case_detail.html")]
struct CasePage {
    layout: Layout,
    c: CaseRow,
    severity: &'static str,
    category: String,
    description: String,
    site: String,
    site_id: Option<i64>,
    alarm_id: Option<i64>,
    contact: String,
    position: String,
    reopen_count: i64,
    events: Vec<EventRow>,
    actions: Vec<(&'static str, &'static str, bool)>,
    note: String,
}

fn event_label(action: &str) -> String {
    match action {
        "create" => "立案下达".into(),
        "overdue" => "逾期提级".into(),
        a => CaseAction::parse(a)
            .map(|a| a.label().to_owned())
            .unwrap_or_else(|| a.to_owned()),
    }
}

async fn case_view(
    state: &AppState,
    me: &PageUser,
    id: i64,
    ok: Option<String>,
    error: Option<String>,
    note: String,
) -> Result<Response, crate::error::ApiError> {
    let d = gongjian_app::cases::case_for(&state.db, &me.user, id).await?;
    let actions = gongjian_app::cases::actions_for(&me.user, &d.case)
        .into_iter()
        .map(|a| (a.as_str(), a.label(), a.needs_note()))
        .collect();
    let c = &d.case;
    let bad = error.is_some();
    // Who acted, by name and organisation (not the login name).
    let names: Vec<&str> = d.events.iter().map(|e| e.actor.as_str()).collect();
    let people = state.db.accounts().people_labels(&names).await?;
    let mut resp = render(CasePage {
        layout: Layout::new(&me.user, &me.csrf, AREA).ok(ok).error(error),
        severity: Severity::parse(&c.severity)
            .map(|s| s.label())
            .unwrap_or("一般"),
        category: c.category.clone(),
        description: c.description.clone(),
        site: c.site_name.clone().unwrap_or_default(),
        site_id: c.site_id,
        alarm_id: c.alarm_id,
        contact: c.contact.clone().unwrap_or_default(),
        position: match (&c.longitude, &c.latitude) {
            (Some(lo), Some(la)) => format!("{lo}, {la}"),
            _ => String::new(),
        },
        reopen_count: c.reopen_count,
        events: d
            .events
            .iter()
            .map(|e| EventRow {
                action: event_label(&e.action),
                state: gongjian_alarms::CaseState::parse(&e.to_state)
                    .map(|s| s.label())
                    .unwrap_or(""),
                note: e.note.clone(),
                actor: people
                    .get(&e.actor)
                    .cloned()
                    .unwrap_or_else(|| e.actor.clone()),
                at: minutes(e.at),
                files: e
                    .attachments
                    .iter()
                    .map(|a| {
                        (
                            a.id,
                            a.file_name.clone(),
                            a.content_type.starts_with("image/"),
                        )
                    })
                    .collect(),
            })
            .collect(),
        actions,
        note,
        c: case_row(c),
    });
    if bad {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

async fn case_page(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<AlarmsQuery>,
) -> Response {
    case_view(&state, &me, id, flash(q.ok.as_deref()), None, String::new())
        .await
        .unwrap_or_else(|e| fail(&me, AREA, e))
}

async fn case_act(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    mp: Multipart,
) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, AREA, busy.into()),
    };
    let (body, files, csrf): (ActionBody, _, String) = match api::read_action_form(&state, mp).await
    {
        Ok(f) => f,
        Err(e) => return fail(&me, AREA, e),
    };
    if let Err(r) = check_csrf(&me, &csrf) {
        return r;
    }
    let had_files = !files.is_empty();
    match api::act_as(&state, &me.user, &me.actor(), id, &body, files).await {
        Ok(_) => Redirect::to(&format!("/cases/{id}?ok={}", body.action.trim())).into_response(),
        Err(e) if e.code == ErrorCode::Forbidden || e.code == ErrorCode::NotFound => {
            fail(&me, AREA, e)
        }
        Err(e) => {
            let mut msg = format!("{}。督办单未变动", error_text(&e));
            if had_files {
                msg.push_str("（说明已保留，请重新选择照片）");
            }
            case_view(&state, &me, id, None, Some(msg), body.note)
                .await
                .unwrap_or_else(|e| fail(&me, AREA, e))
        }
    }
}

#[derive(Template)]
#[template(path = "case_new.html")]
struct NewCasePage {
    layout: Layout,
    form: CaseBody,
    sources: Vec<(&'static str, &'static str)>,
    categories: Vec<&'static str>,
    severities: Vec<(&'static str, &'static str)>,
    units: Vec<(i64, String, &'static str)>,
    townships: Vec<(i64, String)>,
    township_user: bool,
    /// The field a refusal belongs to (`title`, `description`, `unit`,
    /// `due`, `position`, `contact`) and what it says, shown next to it.
    field_error: Option<(&'static str, String)>,
}

/// Which field of the case form a refusal's text is about.
fn case_field(detail: &str) -> Option<&'static str> {
    let has = |words: &[&str]| words.iter().any(|w| detail.contains(w));
    Some(if has(&["经度", "纬度", "位置"]) {
        "position"
    } else if has(&["督办事项"]) {
        "title"
    } else if has(&["问题描述"]) {
        "description"
    } else if has(&["责任单位"]) {
        "unit"
    } else if has(&["办结时限"]) {
        "due"
    } else if has(&["联系方式"]) {
        "contact"
    } else {
        return None;
    })
}

/// What a patrol finds, as the plans name it.
const CATEGORIES: [&str; 9] = [
    "散乱污企业",
    "扬尘污染",
    "露天焚烧",
    "餐饮油烟",
    "入河排污口",
    "黑臭水体",
    "超标排放",
    "自动监控异常",
    "其他",
];

async fn new_case_view(
    state: &AppState,
    me: &PageUser,
    form: CaseBody,
    error: Option<String>,
    field_error: Option<(&'static str, String)>,
) -> Result<Response, crate::error::ApiError> {
    if !api::may_open_case(&me.user) {
        return Err(crate::error::ApiError::new(ErrorCode::Forbidden));
    }
    let orgs = state.db.organisations().list().await?;
    let units = orgs
        .iter()
        .filter(|o| {
            matches!(
                o.kind,
                OrgKind::Enterprise | OrgKind::Township | OrgKind::Department
            )
        })
        .map(|o| (o.id, o.name.clone(), o.kind.label()))
        .collect();
    let townships = orgs
        .iter()
        .filter(|o| o.kind == OrgKind::Township)
        .map(|o| (o.id, o.name.clone()))
        .collect();
    let bad = error.is_some();
    let mut resp = render(NewCasePage {
        layout: Layout::new(&me.user, &me.csrf, AREA).error(error),
        form,
        sources: CASE_SOURCES
            .iter()
            .filter(|(c, _)| !matches!(*c, "alarm" | "emergency"))
            .copied()
            .collect(),
        categories: CATEGORIES.to_vec(),
        severities: Severity::ALL
            .iter()
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        units,
        townships,
        township_user: me.user.role == gongjian_storage::Role::Township,
        field_error,
    });
    if bad {
        *resp.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

async fn new_case_page(State(state): State<AppState>, me: PageUser) -> Response {
    let form = CaseBody {
        source: "patrol".into(),
        organisation_id: if me.user.role == gongjian_storage::Role::Township {
            me.user.organisation_id
        } else {
            0
        },
        ..CaseBody::default()
    };
    new_case_view(&state, &me, form, None, None)
        .await
        .unwrap_or_else(|e| fail(&me, AREA, e))
}

async fn new_case_submit(State(state): State<AppState>, me: PageUser, mp: Multipart) -> Response {
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, AREA, busy.into()),
    };
    let (body, files, csrf) = match api::read_case_form(&state, mp).await {
        Ok(f) => f,
        Err(e) => return fail(&me, AREA, e),
    };
    if let Err(r) = check_csrf(&me, &csrf) {
        return r;
    }
    let had_files = !files.is_empty();
    match api::create_case_as(&state, &me.user, &me.actor(), &body, files).await {
        Ok(id) => Redirect::to(&format!("/cases/{id}?ok=created")).into_response(),
        Err(e) if e.code == ErrorCode::Forbidden => forbidden(&me),
        Err(e) => {
            let text = error_text(&e);
            let field = case_field(e.detail.as_deref().unwrap_or(&text)).map(|f| (f, text.clone()));
            let mut msg = if field.is_some() {
                "请按提示修改标出的内容。督办单未保存".to_owned()
            } else {
                format!("{text}。督办单未保存")
            };
            if had_files {
                msg.push_str("（已填写的内容已保留，请重新选择照片）");
            }
            new_case_view(&state, &me, body, Some(msg), field)
                .await
                .unwrap_or_else(|e| fail(&me, AREA, e))
        }
    }
}

// ---------------------------------------------------------------- inbox

struct InboxRow {
    id: i64,
    title: String,
    link: String,
    at: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    rows: Vec<InboxRow>,
    unread: usize,
}

async fn inbox_page(State(state): State<AppState>, me: PageUser) -> Response {
    let list = match state.db.cases().notifications(me.user.id, 200).await {
        Ok(l) => l,
        Err(e) => return fail(&me, AREA, e.into()),
    };
    let rows: Vec<InboxRow> = list
        .into_iter()
        .map(|n| InboxRow {
            id: n.id,
            title: n.title,
            // Only the platform's own paths are followed.
            link: if n.link.starts_with('/') && !n.link.starts_with("//") {
                n.link
            } else {
                "/inbox".into()
            },
            at: minutes(n.created_at),
            unread: n.read_at.is_none(),
        })
        .collect();
    render(InboxPage {
        layout: Layout::new(&me.user, &me.csrf, AREA),
        unread: rows.iter().filter(|r| r.unread).count(),
        rows,
    })
}

#[derive(Deserialize)]
struct ReadForm {
    csrf: String,
    id: Option<i64>,
    next: Option<String>,
}

async fn inbox_read(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(form): axum::Form<ReadForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &form.csrf) {
        return r;
    }
    if let Err(e) = state
        .db
        .cases()
        .mark_notifications_read(me.user.id, form.id)
        .await
    {
        return fail(&me, AREA, e.into());
    }
    let next = crate::session::safe_next(form.next.as_deref());
    Redirect::to(if next == "/" { "/inbox" } else { &next }).into_response()
}

/// The header's message link with the unread count (htmx, every minute).
async fn inbox_count(State(state): State<AppState>, me: PageUser) -> Response {
    let n = state
        .db
        .cases()
        .unread_notifications(me.user.id)
        .await
        .unwrap_or(0);
    let badge = if n > 0 {
        format!(" <b class=\"badge\" id=\"unread\">{}</b>", n.min(999))
    } else {
        String::new()
    };
    Html(format!("消息{badge}")).into_response()
}
