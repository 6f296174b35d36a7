//! 编辑方案 (issue 12 item 3): the office edits a 草稿 campaign's targets
//! and tasks in forms — a target's figure, label, comparison, baseline and
//! reported-target task; a task's title, content, lead and cooperating
//! organisations, deadlines and indicators; a task added to a group or
//! deleted. Each save is one `gongjian_app::plan::edit_campaign`: the plan's
//! files edited, checked as `plan check` checks them and stored as the
//! campaign's next revision, audited. A refused form comes back (400) with
//! what was typed and the reason next to the field; nothing is stored.
//! Published and archived campaigns are read-only. Office and admins only.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_app::plan::{EditProblems, LoadedPlan};
use gongjian_campaign::{
    IndicatorEdit, Measure, MilestoneEdit, Numbering, PlanEdit, TargetEdit, Task, TaskEdit,
    TaskKind,
};
use gongjian_storage::{CampaignState, Role};
use serde::Deserialize;

use super::{Layout, check_csrf, error_page, forbidden, render};
use crate::AppState;
use crate::session::{PageUser, urlencode};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns/{key}/edit", get(page))
        .route("/campaigns/{key}/edit/targets/{target}", post(save_target))
        .route("/campaigns/{key}/edit/new", get(new_task).post(add_task))
        .route(
            "/campaigns/{key}/edit/tasks/{task}",
            get(task_page).post(save_task),
        )
        .route(
            "/campaigns/{key}/edit/tasks/{task}/delete",
            post(delete_task),
        )
}

fn may_edit(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office)
}

/// How many milestone and indicator rows a form may send.
const MAX_ROWS: usize = 50;

const COMPARATORS: &[(&str, &str)] = &[
    ("<=", "≤ 不高于"),
    ("<", "< 低于"),
    (">=", "≥ 不低于"),
    (">", "> 高于"),
    ("=", "= 等于"),
];

/// One field's problems, joined for the page.
struct Errors(Vec<(String, String)>);

impl Errors {
    fn none() -> Self {
        Errors(Vec::new())
    }

    fn from(p: &EditProblems) -> Self {
        Errors(
            p.0.iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect(),
        )
    }

    fn of(&self, field: &str) -> String {
        let v: Vec<&str> = self
            .0
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect();
        v.join("；")
    }

    /// The problems of the plan as a whole (no field of the form).
    fn general(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(f, _)| f.is_empty())
            .map(|(_, m)| m.clone())
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

struct TargetForm {
    key: String,
    /// The stored comparison as a reader writes it (≤, ≥ …).
    cmp_label: &'static str,
    /// The stored target, for the line that opens its form.
    summary_indicator: String,
    summary_value: String,
    summary_unit: String,
    plan_title: String,
    scope: String,
    period: String,
    measured: String,
    reported: bool,
    t: TargetEdit,
    errors: Errors,
}

impl TargetForm {
    fn e(&self, field: &str) -> String {
        self.errors.of(field)
    }
}

struct TaskRow {
    key: String,
    href: String,
    number: String,
    title: String,
    lead: String,
    deadline: String,
}

struct GroupView {
    plan: String,
    plan_title: String,
    /// Empty: the plan's tasks under no heading.
    id: String,
    title: String,
    duty: bool,
    tasks: Vec<TaskRow>,
    add_href: String,
}

#[derive(Template)]
#[template(path = "campaign_edit.html")]
struct EditPage {
    layout: Layout,
    key: String,
    name: String,
    year: i64,
    revision: i64,
    state: &'static str,
    draft: bool,
    targets: Vec<TargetForm>,
    groups: Vec<GroupView>,
    /// The target whose form was refused: open it.
    open: String,
}

#[derive(Deserialize)]
struct OkQuery {
    ok: Option<String>,
}

async fn load(state: &AppState, me: &PageUser, key: &str) -> Result<LoadedPlan, Response> {
    if !may_edit(me.user.role) {
        return Err(forbidden(me));
    }
    match gongjian_app::plan::campaign_by_key(&state.db, key).await {
        Ok(p) => Ok(p),
        Err(e) => {
            let status = match e {
                gongjian_app::AppError::UnknownCampaign(_) => StatusCode::NOT_FOUND,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Err(error_page(
                Layout::new(&me.user, &me.csrf, "tasks").error(Some(e.user_message())),
                status,
            ))
        }
    }
}

fn read_only_message(p: &LoadedPlan) -> Option<String> {
    match p.info.state {
        CampaignState::Draft => None,
        CampaignState::Active => Some(format!(
            "攻坚方案 {} 已发布（执行中），只读：只有草稿可以在此修改",
            p.info.key
        )),
        CampaignState::Closed => Some(format!(
            "攻坚方案 {} 已结束（归档），只读：只有草稿可以在此修改",
            p.info.key
        )),
    }
}

async fn page(
    State(state): State<AppState>,
    me: PageUser,
    Path(key): Path<String>,
    Query(q): Query<OkQuery>,
) -> Response {
    let p = match load(&state, &me, &key).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ok = match q.ok.as_deref() {
        Some("target") => Some("目标已修改，方案已生成新版本".to_owned()),
        Some("task") => Some("任务已修改，方案已生成新版本".to_owned()),
        Some("added") => Some("任务已新增，方案已生成新版本".to_owned()),
        Some("deleted") => Some("任务已删除，方案已生成新版本".to_owned()),
        Some("same") => Some("内容没有变化，方案未改动".to_owned()),
        _ => None,
    };
    list_page(&me, &p, ok, None, None)
}

fn list_page(
    me: &PageUser,
    p: &LoadedPlan,
    ok: Option<String>,
    error: Option<String>,
    refused: Option<(String, TargetEdit, Errors)>,
) -> Response {
    let error = error.or_else(|| read_only_message(p));
    let layout = Layout::new(&me.user, &me.csrf, "tasks").ok(ok).error(error);
    let plan_title = |id: &str| {
        p.plan
            .plan(id)
            .map_or_else(|| id.to_owned(), |x| x.title.clone())
    };
    let mut open = String::new();
    let mut refused = refused;
    let targets = p
        .plan
        .targets
        .iter()
        .map(|t| {
            let (edit, errors) = match refused.take_if(|(k, _, _)| *k == t.key) {
                Some((_, typed, errors)) => {
                    open = t.key.clone();
                    (typed, errors)
                }
                None => (
                    TargetEdit {
                        key: t.key.clone(),
                        indicator: t.indicator.clone(),
                        comparator: t.comparator.as_str().to_owned(),
                        value: t.value.map(|v| v.to_string()).unwrap_or_default(),
                        value_text: t.value_text.clone().unwrap_or_default(),
                        baseline: t.baseline.clone().unwrap_or_default(),
                        unit: t.unit.clone(),
                        task: t.task.clone().unwrap_or_default(),
                        as_written: t.as_written.clone().unwrap_or_default(),
                    },
                    Errors::none(),
                ),
            };
            TargetForm {
                cmp_label: match t.comparator {
                    gongjian_campaign::Comparator::Le => "≤",
                    gongjian_campaign::Comparator::Lt => "<",
                    gongjian_campaign::Comparator::Ge => "≥",
                    gongjian_campaign::Comparator::Gt => ">",
                    gongjian_campaign::Comparator::Eq => "=",
                },
                summary_indicator: t.indicator.clone(),
                summary_value: match (&t.value, &t.value_text, &t.baseline) {
                    (Some(v), _, _) => v.to_string(),
                    (None, Some(text), _) => text.clone(),
                    (None, None, Some(b)) => format!("{b} 年值"),
                    (None, None, None) => String::new(),
                },
                summary_unit: t.unit.clone(),
                key: t.key.clone(),
                plan_title: plan_title(&t.plan),
                scope: t.scope.to_string(),
                period: t.period.clone(),
                measured: match &t.measured {
                    Measure::Data { .. } => "监测数据".to_owned(),
                    Measure::Reported => "责任单位上报".to_owned(),
                },
                reported: t.measured == Measure::Reported,
                t: edit,
                errors,
            }
        })
        .collect();
    let mut groups = Vec::new();
    for plan in &p.plan.plans {
        let mut buckets: Vec<(String, String, bool)> = Vec::new();
        if plan.numbering == Numbering::Plan
            && p.plan
                .tasks
                .iter()
                .any(|t| t.plan == plan.id && t.group.is_none() && t.chapter.is_none())
        {
            buckets.push((String::new(), "（未分章节）".to_owned(), false));
        }
        for g in &plan.groups {
            buckets.push((g.id.clone(), g.title.clone(), g.kind == TaskKind::Duty));
        }
        for (id, title, duty) in buckets {
            let tasks = p
                .plan
                .tasks
                .iter()
                .filter(|t| t.plan == plan.id)
                .filter(|t| t.group.as_ref().or(t.chapter.as_ref()).map_or("", |s| s) == id)
                .map(|t| TaskRow {
                    href: task_href(&p.info.key, &t.key),
                    key: t.key.clone(),
                    number: t.number.clone(),
                    title: t.title.clone(),
                    lead: t.lead.join("、"),
                    deadline: t
                        .milestones
                        .iter()
                        .map(|m| m.date.format("%Y-%m-%d").to_string())
                        .collect::<Vec<_>>()
                        .join("、"),
                })
                .collect();
            groups.push(GroupView {
                plan: plan.id.clone(),
                plan_title: plan.title.clone(),
                add_href: format!(
                    "/campaigns/{}/edit/new?plan={}&group={}",
                    urlencode(&p.info.key),
                    urlencode(&plan.id),
                    urlencode(&id)
                ),
                id,
                title,
                duty,
                tasks,
            });
        }
    }
    let status = if open.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut r = render(EditPage {
        layout,
        key: p.info.key.clone(),
        name: p.info.name.clone(),
        year: p.info.year,
        revision: p.info.revision,
        state: p.info.state.label(),
        draft: p.info.state == CampaignState::Draft,
        targets,
        groups,
        open,
    });
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

fn task_href(campaign: &str, task: &str) -> String {
    format!(
        "/campaigns/{}/edit/tasks/{}",
        urlencode(campaign),
        urlencode(task)
    )
}

/// The urlencoded body as a map (the last value of a repeated field).
fn fields(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body)
        .take(8 * MAX_ROWS + 32)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field(f: &HashMap<String, String>, name: &str) -> String {
    f.get(name).cloned().unwrap_or_default()
}

fn revision(f: &HashMap<String, String>) -> Option<i64> {
    f.get("revision").and_then(|r| r.trim().parse().ok())
}

/// After a refusal: the status of the page shown again.
fn bad_request(mut r: Response) -> Response {
    if r.status() == StatusCode::OK {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    r
}

async fn save_target(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, target)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if let Err(r) = check_csrf(&me, &field(&f, "csrf")) {
        return r;
    }
    let p = match load(&state, &me, &key).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let typed = TargetEdit {
        key: target.clone(),
        indicator: field(&f, "indicator"),
        comparator: field(&f, "comparator"),
        value: field(&f, "value"),
        value_text: field(&f, "value_text"),
        baseline: field(&f, "baseline"),
        unit: field(&f, "unit"),
        task: field(&f, "task"),
        as_written: field(&f, "as_written"),
    };
    let edit = PlanEdit::Target(typed.clone());
    match gongjian_app::plan::edit_campaign(&state.db, &me.actor(), &key, revision(&f), &edit).await
    {
        Ok(o) => Redirect::to(&format!(
            "/campaigns/{}/edit?ok={}#t-{}",
            urlencode(&key),
            if o.changed { "target" } else { "same" },
            urlencode(&target)
        ))
        .into_response(),
        Err(problems) => {
            let errors = Errors::from(&problems);
            let summary = summary(&errors);
            bad_request(list_page(
                &me,
                &p,
                None,
                Some(summary),
                Some((target, typed, errors)),
            ))
        }
    }
}

/// The banner of a refused form: the plan's own problems, else a pointer
/// to the fields.
fn summary(errors: &Errors) -> String {
    let general = errors.general();
    if general.is_empty() {
        "未保存，方案未改动：请按表单中的提示修改".to_owned()
    } else {
        format!("未保存，方案未改动：{}", general.join("；"))
    }
}

struct MsRow {
    date: String,
    what: String,
    err_date: String,
    err_what: String,
}

struct IndRow {
    name: String,
    comparator: String,
    value: String,
    unit: String,
    report: bool,
    err_name: String,
    err_comparator: String,
    err_value: String,
}

#[derive(Template)]
#[template(path = "campaign_edit_task.html")]
struct TaskPage {
    layout: Layout,
    key: String,
    year: i64,
    revision: i64,
    draft: bool,
    /// Empty for a new task.
    task_key: String,
    action: String,
    heading: String,
    plan: String,
    group: String,
    by_parts: bool,
    parts: Vec<(String, String, String)>,
    townships: String,
    title: String,
    summary: String,
    lead: String,
    cooperating: String,
    milestones: Vec<MsRow>,
    indicators: Vec<IndRow>,
    errors: Errors,
    comparators: &'static [(&'static str, &'static str)],
    back: String,
    delete_action: String,
}

impl TaskPage {
    fn e(&self, field: &str) -> String {
        self.errors.of(field)
    }
}

fn edit_of(t: &Task) -> TaskEdit {
    TaskEdit {
        title: t.title.clone(),
        summary: t.summary.clone(),
        lead: t.lead.join("、"),
        cooperating: t.cooperating.join("、"),
        milestones: t
            .milestones
            .iter()
            .map(|m| MilestoneEdit {
                date: m.date.format("%Y-%m-%d").to_string(),
                what: m.what.clone(),
            })
            .collect(),
        indicators: t
            .indicators
            .iter()
            .map(|i| IndicatorEdit {
                name: i.name.clone(),
                comparator: i.comparator.as_str().to_owned(),
                value: i.value.to_string(),
                unit: i.unit.clone(),
                report: i.report,
            })
            .collect(),
    }
}

fn typed_task(f: &HashMap<String, String>) -> TaskEdit {
    let rows = |prefix: &str| {
        (0..MAX_ROWS)
            .filter(|i| f.contains_key(&format!("{prefix}{i}")))
            .max()
            .map_or(0, |i| i + 1)
    };
    TaskEdit {
        title: field(f, "title"),
        summary: field(f, "summary"),
        lead: field(f, "lead"),
        cooperating: field(f, "cooperating"),
        milestones: (0..rows("ms_date_"))
            .map(|i| MilestoneEdit {
                date: field(f, &format!("ms_date_{i}")),
                what: field(f, &format!("ms_what_{i}")),
            })
            .collect(),
        indicators: (0..rows("ind_name_"))
            .map(|i| IndicatorEdit {
                name: field(f, &format!("ind_name_{i}")),
                comparator: field(f, &format!("ind_comparator_{i}")),
                value: field(f, &format!("ind_value_{i}")),
                unit: field(f, &format!("ind_unit_{i}")),
                report: f.contains_key(&format!("ind_report_{i}")),
            })
            .collect(),
    }
}

/// The task form: `task` (None: a new task of `plan`/`group`) as stored or
/// as typed, with the refusal's problems.
fn task_form(
    me: &PageUser,
    p: &LoadedPlan,
    task: Option<&Task>,
    (plan, group): (&str, &str),
    edit: TaskEdit,
    errors: Errors,
    blank_rows: bool,
) -> Response {
    let refused = !errors.is_empty();
    let error = if refused {
        Some(summary(&errors))
    } else {
        read_only_message(p)
    };
    let layout = Layout::new(&me.user, &me.csrf, "tasks").error(error);
    let mut ms = edit.milestones;
    let mut inds = edit.indicators;
    if blank_rows {
        ms.push(MilestoneEdit::default());
        ms.push(MilestoneEdit::default());
        inds.push(IndicatorEdit {
            report: true,
            comparator: ">=".to_owned(),
            ..IndicatorEdit::default()
        });
    }
    let milestones = ms
        .into_iter()
        .enumerate()
        .map(|(i, m)| MsRow {
            err_date: errors.of(&format!("ms_date_{i}")),
            err_what: errors.of(&format!("ms_what_{i}")),
            date: m.date,
            what: m.what,
        })
        .collect();
    let indicators = inds
        .into_iter()
        .enumerate()
        .map(|(i, x)| IndRow {
            err_name: errors.of(&format!("ind_name_{i}")),
            err_comparator: errors.of(&format!("ind_comparator_{i}")),
            err_value: errors.of(&format!("ind_value_{i}")),
            name: x.name,
            comparator: x.comparator,
            value: x.value,
            unit: x.unit,
            report: x.report,
        })
        .collect();
    let plan_title = p
        .plan
        .plan(plan)
        .map_or_else(|| plan.to_owned(), |x| x.title.clone());
    let group_title = p
        .plan
        .plan(plan)
        .and_then(|x| x.groups.iter().find(|g| g.id == group))
        .map(|g| format!("（{}）{}", g.id, g.title))
        .unwrap_or_default();
    let heading = match task {
        Some(t) => format!("修改任务 · {}", t.title),
        None => format!("新增任务 · {plan_title} {group_title}"),
    };
    let back = format!("/campaigns/{}/edit", urlencode(&p.info.key));
    let mut r = render(TaskPage {
        layout,
        key: p.info.key.clone(),
        year: p.info.year,
        revision: p.info.revision,
        draft: p.info.state == CampaignState::Draft,
        task_key: task.map(|t| t.key.clone()).unwrap_or_default(),
        action: match task {
            Some(t) => task_href(&p.info.key, &t.key),
            None => format!("/campaigns/{}/edit/new", urlencode(&p.info.key)),
        },
        delete_action: task
            .map(|t| format!("{}/delete", task_href(&p.info.key, &t.key)))
            .unwrap_or_default(),
        heading,
        plan: plan.to_owned(),
        group: group.to_owned(),
        by_parts: task.is_some_and(|t| !t.parts.is_empty()),
        parts: task
            .map(|t| {
                t.parts
                    .iter()
                    .map(|x| (x.title.clone(), x.lead.join("、"), x.cooperating.join("、")))
                    .collect()
            })
            .unwrap_or_default(),
        townships: task.map(|t| t.townships.join("、")).unwrap_or_default(),
        title: edit.title,
        summary: edit.summary,
        lead: edit.lead,
        cooperating: edit.cooperating,
        milestones,
        indicators,
        errors,
        comparators: COMPARATORS,
        back,
    });
    if refused {
        r = bad_request(r);
    }
    r
}

fn not_found(me: &PageUser, message: String) -> Response {
    error_page(
        Layout::new(&me.user, &me.csrf, "tasks").error(Some(message)),
        StatusCode::NOT_FOUND,
    )
}

async fn task_page(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, task)): Path<(String, String)>,
) -> Response {
    let p = match load(&state, &me, &key).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(t) = p.plan.task(&task) else {
        return not_found(&me, format!("方案 {key} 中没有任务 {task}"));
    };
    let group = t.group.clone().or(t.chapter.clone()).unwrap_or_default();
    task_form(
        &me,
        &p,
        Some(t),
        (&t.plan, &group),
        edit_of(t),
        Errors::none(),
        true,
    )
}

async fn save_task(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, task)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if let Err(r) = check_csrf(&me, &field(&f, "csrf")) {
        return r;
    }
    let p = match load(&state, &me, &key).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(t) = p.plan.task(&task) else {
        return not_found(&me, format!("方案 {key} 中没有任务 {task}"));
    };
    let typed = typed_task(&f);
    let edit = PlanEdit::Task {
        key: task.clone(),
        edit: typed.clone(),
    };
    match gongjian_app::plan::edit_campaign(&state.db, &me.actor(), &key, revision(&f), &edit).await
    {
        Ok(o) => Redirect::to(&format!(
            "/campaigns/{}/edit?ok={}#k-{}",
            urlencode(&key),
            if o.changed { "task" } else { "same" },
            urlencode(&task)
        ))
        .into_response(),
        Err(problems) => {
            let group = t.group.clone().or(t.chapter.clone()).unwrap_or_default();
            task_form(
                &me,
                &p,
                Some(t),
                (&t.plan, &group),
                typed,
                Errors::from(&problems),
                false,
            )
        }
    }
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default)]
    plan: String,
    #[serde(default)]
    group: String,
}

async fn new_task(
    State(state): State<AppState>,
    me: PageUser,
    Path(key): Path<String>,
    Query(q): Query<NewQuery>,
) -> Response {
    let p = match load(&state, &me, &key).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.plan.plan(&q.plan).is_none() {
        return not_found(&me, format!("方案 {key} 中没有 {}", q.plan));
    }
    let edit = TaskEdit::default();
    task_form(
        &me,
        &p,
        None,
        (&q.plan, &q.group),
        edit,
        Errors::none(),
        true,
    )
}

async fn add_task(
    State(state): State<AppState>,
    me: PageUser,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if let Err(r) = check_csrf(&me, &field(&f, "csrf")) {
        return r;
    }
    let p = match load(&state, &me, &key).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (plan, group) = (field(&f, "plan"), field(&f, "group"));
    let typed = typed_task(&f);
    let edit = PlanEdit::AddTask {
        plan: plan.clone(),
        group: group.clone(),
        edit: typed.clone(),
    };
    match gongjian_app::plan::edit_campaign(&state.db, &me.actor(), &key, revision(&f), &edit).await
    {
        Ok(_) => {
            Redirect::to(&format!("/campaigns/{}/edit?ok=added", urlencode(&key))).into_response()
        }
        Err(problems) => task_form(
            &me,
            &p,
            None,
            (&plan, &group),
            typed,
            Errors::from(&problems),
            false,
        ),
    }
}

async fn delete_task(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, task)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if let Err(r) = check_csrf(&me, &field(&f, "csrf")) {
        return r;
    }
    let p = match load(&state, &me, &key).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(t) = p.plan.task(&task) else {
        return not_found(&me, format!("方案 {key} 中没有任务 {task}"));
    };
    let refused = |message: String| {
        let group = t.group.clone().or(t.chapter.clone()).unwrap_or_default();
        task_form(
            &me,
            &p,
            Some(t),
            (&t.plan, &group),
            edit_of(t),
            Errors(vec![(String::new(), message)]),
            true,
        )
    };
    if field(&f, "confirm").trim().is_empty() {
        return refused(format!("请勾选“确认删除”后再删除任务 {task}"));
    }
    let edit = PlanEdit::DeleteTask { key: task.clone() };
    match gongjian_app::plan::edit_campaign(&state.db, &me.actor(), &key, revision(&f), &edit).await
    {
        Ok(_) => {
            Redirect::to(&format!("/campaigns/{}/edit?ok=deleted", urlencode(&key))).into_response()
        }
        Err(problems) => {
            let message = problems
                .0
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("；");
            refused(message)
        }
    }
}
