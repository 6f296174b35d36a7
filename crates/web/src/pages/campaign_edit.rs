//! 编辑方案 (issue 12 item 3): the office edits a 草稿 campaign's targets
//! and tasks in forms — a target's figure, label, comparison, baseline and
//! reported-target task; a task's title, content, lead and cooperating
//! organisations, deadlines and indicators, or the paragraphs of a task by
//! paragraph (责任分工); a task added to a group or deleted; the townships'
//! monthly control values (乡镇月度控制指标, `[[control]]`) changed, added
//! or removed; a group's heading renamed or a group added; a 月考核 rule's
//! points and wording; a water section's area, river, basin and class
//! target. Each save is one `gongjian_app::plan::edit_campaign`: the plan's
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
    CONTROL_SERIES, ControlEdit, IndicatorEdit, Measure, MilestoneEdit, MonthlyControl, Numbering,
    OrgKind, PartEdit, PlanEdit, SectionEdit, TargetEdit, Task, TaskEdit, TaskKind,
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
        .route("/campaigns/{key}/edit/groups/{plan}", post(add_group))
        .route(
            "/campaigns/{key}/edit/groups/{plan}/{group}",
            post(rename_group),
        )
        .route("/campaigns/{key}/edit/assessment/{index}", post(save_rule))
        .route(
            "/campaigns/{key}/edit/sections/{section}",
            post(save_section),
        )
        .route("/campaigns/{key}/edit/controls", post(add_control))
        .route(
            "/campaigns/{key}/edit/controls/{township}",
            post(save_control),
        )
        .route(
            "/campaigns/{key}/edit/controls/{township}/delete",
            post(delete_control),
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

/// A group's number before its heading: `（一）`, or `四(一) ` for an id
/// that already carries its brackets (工作要求 duties).
fn group_number(id: &str) -> String {
    match id {
        "" => String::new(),
        id if id.contains('(') => format!("{id} "),
        id => format!("（{id}）"),
    }
}

struct GroupView {
    plan: String,
    plan_title: String,
    /// Empty: the plan's tasks under no heading.
    id: String,
    title: String,
    duty: bool,
    /// [`group_number`] of `id`.
    number: String,
    tasks: Vec<TaskRow>,
    add_href: String,
    /// The heading's form: where it posts, the heading as stored or typed,
    /// the refusal's problem.
    rename_action: String,
    form_title: String,
    err_title: String,
    /// The heading's form was refused: open it.
    open: bool,
}

/// A water section's form.
struct SectionForm {
    name: String,
    number: u32,
    action: String,
    s: SectionEdit,
    err_township: String,
    err_river: String,
    err_basin: String,
    err_class: String,
    general: Vec<String>,
    open: bool,
    /// The class typed is one of the classes (else shown as typed).
    listed: bool,
}

/// A 月考核 rule's form.
struct RuleForm {
    index: usize,
    kind: &'static str,
    label: &'static str,
    applies: &'static str,
    /// As stored or typed: figures separated by `、`.
    points: String,
    note: String,
    /// One figure per rank (air-rank).
    ranks: bool,
    action: String,
    err_points: String,
    err_note: String,
    general: Vec<String>,
    open: bool,
}

/// The form adding a group to a plan.
struct NewGroupForm {
    plan: String,
    plan_title: String,
    action: String,
    id: String,
    title: String,
    err_id: String,
    err_title: String,
    general: Vec<String>,
    open: bool,
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
    /// 乡镇月度控制指标: one form per township's row.
    controls: Vec<ControlForm>,
    /// The form for a new row (when a township has none yet).
    new_control: Option<ControlForm>,
    /// One form per plan adding a group.
    new_groups: Vec<NewGroupForm>,
    /// 月考核: the base points (empty: the plan has no scheme) and one form
    /// per rule.
    assessment_base: String,
    rules: Vec<RuleForm>,
    /// 水质断面: one form per section of the water annex.
    sections: Vec<SectionForm>,
    /// The water classes a section's target may be.
    classes: Vec<&'static str>,
    /// The series' headings: what, unit.
    series: Vec<(&'static str, &'static str)>,
    /// The target (or `c-` and the township's control row, `c-` alone for
    /// the new row) whose form was refused: open it.
    open: String,
}

/// A form refused, shown again on the list page as typed.
enum Refused {
    Target(String, TargetEdit, Errors),
    /// The row's township (empty: a new row), as typed.
    Control(String, ControlEdit, Errors),
    /// A 月考核 rule's index, points and wording as typed.
    Rule(usize, String, String, Errors),
    /// A water section's name and its fields as typed.
    Section(String, SectionEdit, Errors),
    /// Plan, group (empty: a new group), the id and heading as typed.
    Group {
        plan: String,
        group: String,
        id: String,
        title: String,
        errors: Errors,
    },
}

/// One value of a control row's form.
struct ControlCell {
    name: String,
    /// What the value is, for a screen reader: `7 月 PM2.5`.
    label: String,
    value: String,
    error: String,
}

/// One month of a control row's form: its values, one per series.
struct ControlMonth {
    month: usize,
    cells: Vec<ControlCell>,
}

struct ControlForm {
    /// The row's township as stored (empty: a new row).
    key: String,
    township: String,
    /// The line that opens the form.
    summary: String,
    action: String,
    delete_action: String,
    months: Vec<ControlMonth>,
    err_township: String,
    /// Problems of a whole series (partly filled).
    series_errors: Vec<String>,
    /// Problems of the plan as a whole.
    general: Vec<String>,
    /// Townships a row may be for.
    townships: Vec<String>,
    /// The form was refused: open it.
    open: bool,
    /// The township typed is one of `townships` (else shown as typed).
    listed: bool,
}

/// The form of a control row: `key`'s stored row (empty: a new row),
/// `c` as stored or typed, with the refusal's problems.
fn control_form(
    campaign: &str,
    key: &str,
    c: &ControlEdit,
    errors: &Errors,
    townships: &[String],
) -> ControlForm {
    let base = format!("/campaigns/{}/edit/controls", urlencode(campaign));
    let months = (0..12)
        .map(|m| ControlMonth {
            month: m + 1,
            cells: CONTROL_SERIES
                .iter()
                .map(|(s, label, _)| {
                    let name = format!("{s}_{m}");
                    ControlCell {
                        label: format!("{} 月 {label}", m + 1),
                        value: c.series(s).get(m).cloned().unwrap_or_default(),
                        error: errors.of(&name),
                        name,
                    }
                })
                .collect(),
        })
        .collect();
    let set: Vec<&str> = CONTROL_SERIES
        .iter()
        .filter(|(s, _, _)| c.series(s).iter().any(|v| !v.trim().is_empty()))
        .map(|(_, label, _)| *label)
        .collect();
    ControlForm {
        key: key.to_owned(),
        township: c.township.clone(),
        summary: if key.is_empty() {
            "新增乡镇月度控制指标".to_owned()
        } else {
            format!("{key}：{}", set.join("、"))
        },
        action: if key.is_empty() {
            base.clone()
        } else {
            format!("{base}/{}", urlencode(key))
        },
        delete_action: if key.is_empty() {
            String::new()
        } else {
            format!("{base}/{}/delete", urlencode(key))
        },
        months,
        err_township: errors.of("township"),
        series_errors: CONTROL_SERIES
            .iter()
            .map(|(s, _, _)| errors.of(s))
            .filter(|e| !e.is_empty())
            .collect(),
        general: errors.general(),
        townships: townships.to_vec(),
        open: !errors.is_empty(),
        listed: townships.contains(&c.township),
    }
}

/// A stored control row as its form shows it.
fn control_edit(c: &MonthlyControl) -> ControlEdit {
    let text = |v: &Option<Vec<rust_decimal::Decimal>>| {
        v.as_ref()
            .map(|v| v.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    };
    ControlEdit {
        township: c.township.clone(),
        pm25: c.pm25.iter().map(ToString::to_string).collect(),
        electricity_kwh: text(&c.electricity_kwh),
        so2_t: text(&c.so2_t),
        nox_t: text(&c.nox_t),
        pm_t: text(&c.pm_t),
    }
}

/// A control row as the form sends it.
fn typed_control(f: &HashMap<String, String>) -> ControlEdit {
    // Bounded: a township's name or a figure is far shorter; what is
    // longer is refused anyway and shown back clipped.
    let clipped = |name: &str, max: usize| field(f, name).chars().take(max).collect::<String>();
    let mut c = ControlEdit {
        township: clipped("township", 100),
        ..ControlEdit::default()
    };
    for (s, _, _) in CONTROL_SERIES {
        if let Some(v) = c.series_mut(s) {
            *v = (0..12).map(|m| clipped(&format!("{s}_{m}"), 40)).collect();
        }
    }
    c
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
        Some("control") => Some("乡镇月度控制指标已修改，方案已生成新版本".to_owned()),
        Some("control-added") => Some("乡镇月度控制指标已新增，方案已生成新版本".to_owned()),
        Some("control-deleted") => Some("乡镇月度控制指标已删除，方案已生成新版本".to_owned()),
        Some("group") => Some("分组标题已修改，方案已生成新版本".to_owned()),
        Some("group-added") => Some("分组已新增，方案已生成新版本".to_owned()),
        Some("rule") => Some("月考核规则已修改，方案已生成新版本".to_owned()),
        Some("section") => Some("水质断面已修改，方案已生成新版本".to_owned()),
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
    refused: Option<Refused>,
) -> Response {
    let error = error.or_else(|| read_only_message(p));
    let layout = Layout::new(&me.user, &me.csrf, "tasks").ok(ok).error(error);
    let plan_title = |id: &str| {
        p.plan
            .plan(id)
            .map_or_else(|| id.to_owned(), |x| x.title.clone())
    };
    let mut open = String::new();
    let mut refused_rule = None;
    let mut refused_section = None;
    let (mut refused, mut refused_control, mut refused_group) = match refused {
        Some(Refused::Target(k, t, e)) => (Some((k, t, e)), None, None),
        Some(Refused::Control(k, c, e)) => (None, Some((k, c, e)), None),
        Some(Refused::Rule(i, points, note, e)) => {
            refused_rule = Some((i, points, note, e));
            (None, None, None)
        }
        Some(Refused::Section(name, typed, e)) => {
            refused_section = Some((name, typed, e));
            (None, None, None)
        }
        Some(Refused::Group {
            plan,
            group,
            id,
            title,
            errors,
        }) => (None, None, Some((plan, group, id, title, errors))),
        None => (None, None, None),
    };
    let townships: Vec<String> = p
        .plan
        .organisations
        .iter()
        .filter(|o| o.kind == OrgKind::Township)
        .map(|o| o.name.clone())
        .collect();
    let mut controls = Vec::new();
    for c in &p.plan.controls {
        let form = match refused_control.take_if(|(k, _, _)| *k == c.township) {
            Some((k, typed, errors)) => {
                open = format!("c-{k}");
                control_form(&p.info.key, &k, &typed, &errors, &townships)
            }
            None => control_form(
                &p.info.key,
                &c.township,
                &control_edit(c),
                &Errors::none(),
                &townships,
            ),
        };
        controls.push(form);
    }
    let free: Vec<String> = townships
        .iter()
        .filter(|t| !p.plan.controls.iter().any(|c| &c.township == *t))
        .cloned()
        .collect();
    let new_control = match refused_control.take() {
        Some((_, typed, errors)) => {
            open = "c-".to_owned();
            Some(control_form(&p.info.key, "", &typed, &errors, &free))
        }
        None if !free.is_empty() => Some(control_form(
            &p.info.key,
            "",
            &ControlEdit::default(),
            &Errors::none(),
            &free,
        )),
        None => None,
    };
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
                        baseline: t
                            .baseline
                            .as_ref()
                            .map(|b| b.year.to_string())
                            .unwrap_or_default(),
                        baseline_value: t
                            .baseline
                            .as_ref()
                            .and_then(|b| b.value)
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
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
                summary_value: t.threshold_text(),
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
                    deadline: deadlines_text(&t.milestones),
                })
                .collect();
            let typed = refused_group
                .take_if(|(pl, g, _, _, _)| *pl == plan.id && *g == id && !id.is_empty());
            let (form_title, err_title, group_open) = match typed {
                Some((_, _, _, typed, errors)) => {
                    open = format!("g-{}-{id}", plan.id);
                    (typed, errors.of("group_title"), true)
                }
                None => (title.clone(), String::new(), false),
            };
            groups.push(GroupView {
                plan: plan.id.clone(),
                plan_title: plan.title.clone(),
                add_href: format!(
                    "/campaigns/{}/edit/new?plan={}&group={}",
                    urlencode(&p.info.key),
                    urlencode(&plan.id),
                    urlencode(&id)
                ),
                rename_action: format!(
                    "/campaigns/{}/edit/groups/{}/{}",
                    urlencode(&p.info.key),
                    urlencode(&plan.id),
                    urlencode(&id)
                ),
                form_title,
                err_title,
                open: group_open,
                number: group_number(&id),
                id,
                title,
                duty,
                tasks,
            });
        }
    }
    let rules = p
        .plan
        .assessment
        .iter()
        .flat_map(|a| a.rules.iter())
        .enumerate()
        .map(|(i, r)| {
            let (points, note, errors, form_open) = match refused_rule.take_if(|x| x.0 == i) {
                Some((_, points, note, errors)) => {
                    open = format!("r-{i}");
                    (points, note, errors, true)
                }
                None => (
                    r.points
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("、"),
                    r.note.clone().unwrap_or_default(),
                    Errors::none(),
                    false,
                ),
            };
            RuleForm {
                index: i,
                kind: r.kind.as_str(),
                label: r.kind.label(),
                applies: match r.applies {
                    gongjian_campaign::Applies::Townships => "乡镇（街道）",
                    gongjian_campaign::Applies::Departments => "区直部门",
                    gongjian_campaign::Applies::All => "乡镇和区直部门",
                },
                ranks: r.kind == gongjian_campaign::AssessmentKind::AirRank,
                action: format!("/campaigns/{}/edit/assessment/{i}", urlencode(&p.info.key)),
                err_points: errors.of("points"),
                err_note: errors.of("note"),
                general: errors.general(),
                open: form_open,
                points,
                note,
            }
        })
        .collect();
    let sections = p
        .plan
        .sections
        .iter()
        .map(|x| {
            let (s, errors, form_open) =
                match refused_section.take_if(|(n, _, _): &mut (String, _, _)| *n == x.section) {
                    Some((_, typed, errors)) => {
                        open = format!("s-{}", x.section);
                        (typed, errors, true)
                    }
                    None => (
                        SectionEdit {
                            township: x.township.clone(),
                            river: x.river.clone(),
                            basin: x.basin.clone(),
                            target_class: x.target_class.label().to_owned(),
                        },
                        Errors::none(),
                        false,
                    ),
                };
            SectionForm {
                name: x.section.clone(),
                number: x.number,
                action: format!(
                    "/campaigns/{}/edit/sections/{}",
                    urlencode(&p.info.key),
                    urlencode(&x.section)
                ),
                err_township: errors.of("township"),
                err_river: errors.of("river"),
                err_basin: errors.of("basin"),
                err_class: errors.of("target_class"),
                general: errors.general(),
                open: form_open,
                listed: gongjian_campaign::WaterClass::ALL
                    .iter()
                    .any(|c| c.label() == s.target_class),
                s,
            }
        })
        .collect();
    let new_groups = p
        .plan
        .plans
        .iter()
        .map(|plan| {
            let typed = refused_group.take_if(|(pl, g, _, _, _)| *pl == plan.id && g.is_empty());
            let (id, title, errors, form_open) = match typed {
                Some((_, _, id, title, errors)) => {
                    open = format!("ng-{}", plan.id);
                    (id, title, errors, true)
                }
                None => (String::new(), String::new(), Errors::none(), false),
            };
            NewGroupForm {
                plan: plan.id.clone(),
                plan_title: plan.title.clone(),
                action: format!(
                    "/campaigns/{}/edit/groups/{}",
                    urlencode(&p.info.key),
                    urlencode(&plan.id)
                ),
                err_id: errors.of("group_id"),
                err_title: errors.of("group_title"),
                general: errors.general(),
                open: form_open,
                id,
                title,
            }
        })
        .collect();
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
        controls,
        new_control,
        new_groups,
        assessment_base: p
            .plan
            .assessment
            .as_ref()
            .map(|a| a.base.to_string())
            .unwrap_or_default(),
        rules,
        sections,
        classes: gongjian_campaign::WaterClass::ALL
            .iter()
            .map(|c| c.label())
            .collect(),
        series: CONTROL_SERIES.iter().map(|(_, l, u)| (*l, *u)).collect(),
        open,
    });
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// A task's deadlines for a list: its dates, and a monthly duty once
/// ("每月 5 日前") instead of twelve dates.
fn deadlines_text(milestones: &[gongjian_campaign::Milestone]) -> String {
    let mut parts: Vec<String> = milestones
        .iter()
        .filter(|m| !m.recurring)
        .map(|m| m.date.format("%Y-%m-%d").to_string())
        .collect();
    if let Some(m) = milestones.iter().find(|m| m.recurring) {
        parts.push(m.as_written.clone().unwrap_or_else(|| "每月".to_owned()));
    }
    parts.join("、")
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

/// The start of every save: the body's fields, its CSRF token checked, the
/// role allowed and the campaign loaded.
async fn begin(
    state: &AppState,
    me: &PageUser,
    key: &str,
    body: &[u8],
) -> Result<(HashMap<String, String>, LoadedPlan), Response> {
    let f = fields(body);
    check_csrf(me, &field(&f, "csrf"))?;
    let p = load(state, me, key).await?;
    Ok((f, p))
}

/// Task `task` of the loaded plan, or the page saying there is none (a
/// handler returns that response as it is).
#[allow(clippy::result_large_err)]
fn find_task<'a>(me: &PageUser, p: &'a LoadedPlan, task: &str) -> Result<&'a Task, Response> {
    p.plan
        .task(task)
        .ok_or_else(|| not_found(me, format!("方案 {} 中没有任务 {task}", p.info.key)))
}

/// One edit stored, from the revision the form was made from.
async fn save(
    state: &AppState,
    me: &PageUser,
    key: &str,
    f: &HashMap<String, String>,
    edit: &PlanEdit,
) -> Result<gongjian_storage::LoadOutcome, EditProblems> {
    gongjian_app::plan::edit_campaign(&state.db, &me.actor(), key, revision(f), edit).await
}

/// A form of the list page refused: the page again, the form as typed with
/// its errors, and their summary on top.
fn refused_on_list(
    me: &PageUser,
    p: &LoadedPlan,
    problems: &EditProblems,
    refused: impl FnOnce(Errors) -> Refused,
) -> Response {
    let errors = Errors::from(problems);
    let summary = summary(&errors);
    bad_request(list_page(me, p, None, Some(summary), Some(refused(errors))))
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
    let (f, p) = match begin(&state, &me, &key, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let typed = TargetEdit {
        key: target.clone(),
        indicator: field(&f, "indicator"),
        comparator: field(&f, "comparator"),
        value: field(&f, "value"),
        value_text: field(&f, "value_text"),
        baseline: field(&f, "baseline"),
        baseline_value: field(&f, "baseline_value"),
        unit: field(&f, "unit"),
        task: field(&f, "task"),
        as_written: field(&f, "as_written"),
    };
    let edit = PlanEdit::Target(typed.clone());
    match save(&state, &me, &key, &f, &edit).await {
        Ok(o) => Redirect::to(&format!(
            "/campaigns/{}/edit?ok={}#t-{}",
            urlencode(&key),
            if o.changed { "target" } else { "same" },
            urlencode(&target)
        ))
        .into_response(),
        Err(problems) => refused_on_list(&me, &p, &problems, |errors| {
            Refused::Target(target, typed, errors)
        }),
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

/// A paragraph row of a task by paragraph (责任分工).
struct PartRow {
    title: String,
    lead: String,
    cooperating: String,
    err_title: String,
    err_lead: String,
    err_cooperating: String,
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
    parts: Vec<PartRow>,
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
        // A `monthly` duty's months stay in the plan file, not in the form.
        milestones: t
            .milestones
            .iter()
            .filter(|m| !m.recurring)
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
        parts: t
            .parts
            .iter()
            .map(|x| PartEdit {
                title: x.title.clone(),
                lead: x.lead.join("、"),
                cooperating: x.cooperating.join("、"),
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
        parts: (0..rows("part_title_"))
            .map(|i| PartEdit {
                title: field(f, &format!("part_title_{i}")),
                lead: field(f, &format!("part_lead_{i}")),
                cooperating: field(f, &format!("part_cooperating_{i}")),
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
    let by_parts = task.is_some_and(|t| !t.parts.is_empty());
    let mut ms = edit.milestones;
    let mut inds = edit.indicators;
    let mut part_rows = edit.parts;
    if blank_rows && by_parts {
        part_rows.push(PartEdit::default());
    }
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
    let parts = part_rows
        .into_iter()
        .enumerate()
        .map(|(i, x)| PartRow {
            err_title: errors.of(&format!("part_title_{i}")),
            err_lead: errors.of(&format!("part_lead_{i}")),
            err_cooperating: errors.of(&format!("part_cooperating_{i}")),
            title: x.title,
            lead: x.lead,
            cooperating: x.cooperating,
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
        .map(|g| format!("{}{}", group_number(&g.id), g.title))
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
        by_parts,
        parts,
        townships: task.map(|t| t.townships.join("、")).unwrap_or_default(),
        title: edit.title,
        summary: edit.summary,
        // A task by paragraph shows the union of its paragraphs' as stored.
        lead: match task {
            Some(t) if by_parts => t.lead.join("、"),
            _ => edit.lead,
        },
        cooperating: match task {
            Some(t) if by_parts => t.cooperating.join("、"),
            _ => edit.cooperating,
        },
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
    let t = match find_task(&me, &p, &task) {
        Ok(t) => t,
        Err(r) => return r,
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
    let (f, p) = match begin(&state, &me, &key, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let t = match find_task(&me, &p, &task) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let typed = typed_task(&f);
    let edit = PlanEdit::Task {
        key: task.clone(),
        edit: typed.clone(),
    };
    match save(&state, &me, &key, &f, &edit).await {
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
    let (f, p) = match begin(&state, &me, &key, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (plan, group) = (field(&f, "plan"), field(&f, "group"));
    let typed = typed_task(&f);
    let edit = PlanEdit::AddTask {
        plan: plan.clone(),
        group: group.clone(),
        edit: typed.clone(),
    };
    match save(&state, &me, &key, &f, &edit).await {
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
    let (f, p) = match begin(&state, &me, &key, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let t = match find_task(&me, &p, &task) {
        Ok(t) => t,
        Err(r) => return r,
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
    match save(&state, &me, &key, &f, &edit).await {
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

/// A control row saved: `township` the stored row's (empty: a new row).
async fn store_control(
    state: &AppState,
    me: &PageUser,
    key: &str,
    township: String,
    body: &[u8],
) -> Response {
    let (f, p) = match begin(state, me, key, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !township.is_empty() && !p.plan.controls.iter().any(|c| c.township == township) {
        return not_found(
            me,
            format!("方案 {key} 中没有“{township}”的乡镇月度控制指标"),
        );
    }
    let typed = typed_control(&f);
    let edit = PlanEdit::Control {
        township: township.clone(),
        edit: typed.clone(),
    };
    match save(state, me, key, &f, &edit).await {
        Ok(o) => {
            let ok = match (o.changed, township.is_empty()) {
                (false, _) => "same",
                (true, true) => "control-added",
                (true, false) => "control",
            };
            let anchor = if township.is_empty() {
                typed.township.trim().to_owned()
            } else {
                township
            };
            Redirect::to(&format!(
                "/campaigns/{}/edit?ok={ok}#c-{}",
                urlencode(key),
                urlencode(&anchor)
            ))
            .into_response()
        }
        Err(problems) => refused_on_list(me, &p, &problems, |errors| {
            Refused::Control(township, typed, errors)
        }),
    }
}

async fn add_control(
    State(state): State<AppState>,
    me: PageUser,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    store_control(&state, &me, &key, String::new(), &body).await
}

async fn save_control(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, township)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if township.trim().is_empty() {
        return not_found(&me, "请选择乡镇".to_owned());
    }
    store_control(&state, &me, &key, township, &body).await
}

async fn delete_control(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, township)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (f, p) = match begin(&state, &me, &key, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(c) = p.plan.controls.iter().find(|c| c.township == township) else {
        return not_found(
            &me,
            format!("方案 {key} 中没有“{township}”的乡镇月度控制指标"),
        );
    };
    let refused = |message: String| {
        let errors = Errors(vec![(String::new(), message)]);
        bad_request(list_page(
            &me,
            &p,
            None,
            Some(summary(&errors)),
            Some(Refused::Control(township.clone(), control_edit(c), errors)),
        ))
    };
    if field(&f, "confirm").trim().is_empty() {
        return refused(format!("请勾选“确认删除”后再删除{township}的月度控制指标"));
    }
    let edit = PlanEdit::DeleteControl {
        township: township.clone(),
    };
    match save(&state, &me, &key, &f, &edit).await {
        Ok(_) => Redirect::to(&format!(
            "/campaigns/{}/edit?ok=control-deleted#controls",
            urlencode(&key)
        ))
        .into_response(),
        Err(problems) => refused(
            problems
                .0
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("；"),
        ),
    }
}

/// A group's heading renamed (`group` the stored group's id) or a group
/// added (`group` empty).
async fn store_group(
    state: &AppState,
    me: &PageUser,
    key: &str,
    (plan, group): (String, String),
    body: &[u8],
) -> Response {
    let (f, p) = match begin(state, me, key, body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // Bounded: what is longer is refused anyway and shown back clipped.
    let clipped = |name: &str, max: usize| field(&f, name).chars().take(max).collect::<String>();
    let (id, title) = (clipped("group_id", 40), clipped("group_title", 400));
    let edit = if group.is_empty() {
        PlanEdit::AddGroup {
            plan: plan.clone(),
            id: id.clone(),
            title: title.clone(),
        }
    } else {
        PlanEdit::Group {
            plan: plan.clone(),
            id: group.clone(),
            title: title.clone(),
        }
    };
    match save(state, me, key, &f, &edit).await {
        Ok(o) => {
            let ok = match (o.changed, group.is_empty()) {
                (false, _) => "same",
                (true, true) => "group-added",
                (true, false) => "group",
            };
            let anchor = if group.is_empty() { id.trim() } else { &group };
            Redirect::to(&format!(
                "/campaigns/{}/edit?ok={ok}#g-{}-{}",
                urlencode(key),
                urlencode(&plan),
                urlencode(anchor)
            ))
            .into_response()
        }
        Err(problems) => refused_on_list(me, &p, &problems, |errors| Refused::Group {
            plan,
            group,
            id,
            title,
            errors,
        }),
    }
}

async fn add_group(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, plan)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    store_group(&state, &me, &key, (plan, String::new()), &body).await
}

async fn rename_group(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, plan, group)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    store_group(&state, &me, &key, (plan, group), &body).await
}

async fn save_rule(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, index)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (f, p) = match begin(&state, &me, &key, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(index) = index.parse::<usize>() else {
        return not_found(&me, format!("方案 {key} 中没有这条月考核规则"));
    };
    // Bounded: what is longer is refused anyway and shown back clipped.
    let clipped = |name: &str, max: usize| field(&f, name).chars().take(max).collect::<String>();
    let (points, note) = (clipped("points", 200), clipped("note", 1000));
    let edit = PlanEdit::AssessmentRule {
        index,
        kind: clipped("kind", 40),
        points: points.clone(),
        note: note.clone(),
    };
    match save(&state, &me, &key, &f, &edit).await {
        Ok(o) => Redirect::to(&format!(
            "/campaigns/{}/edit?ok={}#r-{index}",
            urlencode(&key),
            if o.changed { "rule" } else { "same" },
        ))
        .into_response(),
        Err(problems) => refused_on_list(&me, &p, &problems, |errors| {
            Refused::Rule(index, points, note, errors)
        }),
    }
}

async fn save_section(
    State(state): State<AppState>,
    me: PageUser,
    Path((key, section)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (f, p) = match begin(&state, &me, &key, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !p.plan.sections.iter().any(|s| s.section == section) {
        return not_found(&me, format!("方案 {key} 中没有断面“{section}”"));
    }
    // Bounded: what is longer is refused anyway and shown back clipped.
    let clipped = |name: &str, max: usize| field(&f, name).chars().take(max).collect::<String>();
    let typed = SectionEdit {
        township: clipped("township", 100),
        river: clipped("river", 200),
        basin: clipped("basin", 200),
        target_class: clipped("target_class", 20),
    };
    let edit = PlanEdit::Section {
        section: section.clone(),
        edit: typed.clone(),
    };
    match save(&state, &me, &key, &f, &edit).await {
        Ok(o) => Redirect::to(&format!(
            "/campaigns/{}/edit?ok={}#s-{}",
            urlencode(&key),
            if o.changed { "section" } else { "same" },
            urlencode(&section)
        ))
        .into_response(),
        Err(problems) => refused_on_list(&me, &p, &problems, |errors| {
            Refused::Section(section, typed, errors)
        }),
    }
}
