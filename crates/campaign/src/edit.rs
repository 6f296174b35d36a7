//! One edit of a draft plan, as the office makes it in the app's forms: a
//! target's figures, a task's text, responsibility, deadlines and
//! indicators, a task added to a group or a task deleted; a task's
//! paragraphs (`edit_parts.rs`), the townships' monthly control values
//! (`edit_controls.rs`), groups' headings (`edit_groups.rs`), 月考核 rules'
//! points (`edit_assessment.rs`) and water sections (`edit_sections.rs`).
//!
//! The edit is applied to the plan's own files (the TOML stored with the
//! campaign's revision) with `toml_edit`, so the comments, layout and every
//! other entry stay as written; the files are then parsed again with
//! exactly the checks of `plan check` ([`crate::parse_files`]). The form's
//! values are checked first, field by field, so the office reads the reason
//! next to the field it typed, in Chinese. This module does no I/O.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use crate::model::{Campaign, Comparator, Numbering, PlanFile, TaskKind};

/// One problem of an edit: the form field it belongs to (empty for the
/// plan as a whole) and the reason, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Why an edit was not applied: every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditRefused {
    pub problems: Vec<FieldError>,
}

impl EditRefused {
    pub(crate) fn general(message: impl Into<String>) -> Self {
        EditRefused {
            problems: vec![FieldError {
                field: String::new(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for EditRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<&str> = self.problems.iter().map(|p| p.message.as_str()).collect();
        f.write_str(&lines.join("；"))
    }
}

/// A target as the form sends it. Empty text means "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetEdit {
    pub key: String,
    /// What is measured (the target's label, `indicator`).
    pub indicator: String,
    pub comparator: String,
    pub value: String,
    pub value_text: String,
    /// The year compared with (`baseline = "2019"`).
    pub baseline: String,
    /// That year's figure as the plan states it; empty: measured from data.
    pub baseline_value: String,
    pub unit: String,
    /// A reported target: the key of the task that measures it.
    pub task: String,
    /// The target as the plan words it.
    pub as_written: String,
}

/// A deadline row of a task form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MilestoneEdit {
    pub date: String,
    pub what: String,
}

/// An indicator row of a task form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorEdit {
    pub name: String,
    pub comparator: String,
    pub value: String,
    pub unit: String,
    /// Whether the responsible organisations report it (`report`).
    pub report: bool,
}

impl MilestoneEdit {
    fn is_blank(&self) -> bool {
        self.date.trim().is_empty() && self.what.trim().is_empty()
    }
}

impl IndicatorEdit {
    fn is_blank(&self) -> bool {
        self.name.trim().is_empty() && self.value.trim().is_empty() && self.unit.trim().is_empty()
    }
}

/// A task as the form sends it. Organisations are separated by `、`, `，`,
/// `,`, `；` or new lines; blank milestone and indicator rows are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskEdit {
    pub title: String,
    /// The task's content (`summary`).
    pub summary: String,
    pub lead: String,
    pub cooperating: String,
    pub milestones: Vec<MilestoneEdit>,
    pub indicators: Vec<IndicatorEdit>,
    /// The paragraphs of a task whose responsibility is by paragraph
    /// (`[[task.parts]]`); blank rows are dropped. Ignored for a task
    /// without paragraphs.
    pub parts: Vec<crate::edit_parts::PartEdit>,
}

/// One edit of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanEdit {
    Target(TargetEdit),
    Task {
        key: String,
        edit: TaskEdit,
    },
    /// A new task at the end of `group` of `plan` (`group` empty: a task
    /// of a plan numbered through the plan, under no heading).
    AddTask {
        plan: String,
        group: String,
        edit: TaskEdit,
    },
    DeleteTask {
        key: String,
    },
    /// A township's monthly control values (`[[control]]`): the row of
    /// `township` changed, or a new row when `township` is empty.
    Control {
        township: String,
        edit: crate::edit_controls::ControlEdit,
    },
    /// The `[[control]]` row of `township` removed.
    DeleteControl {
        township: String,
    },
    /// Group `id` of plan `plan` given the heading `title`.
    Group {
        plan: String,
        id: String,
        title: String,
    },
    /// A new group `id` with the heading `title`, after plan `plan`'s last.
    AddGroup {
        plan: String,
        id: String,
        title: String,
    },
    /// The points and wording of 月考核 rule `index` (0-based, file order),
    /// whose `kind` the form was made for.
    AssessmentRule {
        index: usize,
        kind: String,
        points: String,
        note: String,
    },
    /// Water section `section` (its name, which stays) given `edit`.
    Section {
        section: String,
        edit: crate::edit_sections::SectionEdit,
    },
}

impl PlanEdit {
    /// What the edit is, for the audit log and the page: `修改目标 air-pm25`.
    pub fn describe(&self) -> String {
        match self {
            PlanEdit::Target(t) => format!("修改目标 {}", t.key),
            PlanEdit::Task { key, .. } => format!("修改任务 {key}"),
            PlanEdit::AddTask { plan, group, edit } => {
                let at = if group.is_empty() {
                    plan.clone()
                } else {
                    format!("{plan} {group}")
                };
                format!("新增任务（{at}）：{}", edit.title.trim())
            }
            PlanEdit::DeleteTask { key } => format!("删除任务 {key}"),
            PlanEdit::Control { township, edit } if township.is_empty() => {
                format!("新增乡镇月度控制指标 {}", edit.township.trim())
            }
            PlanEdit::Control { township, .. } => format!("修改乡镇月度控制指标 {township}"),
            PlanEdit::DeleteControl { township } => format!("删除乡镇月度控制指标 {township}"),
            PlanEdit::Group { plan, id, .. } => format!("修改分组标题（{plan} {id}）"),
            PlanEdit::AddGroup { plan, id, title } => {
                format!("新增分组（{plan} {}）：{}", id.trim(), title.trim())
            }
            PlanEdit::AssessmentRule { index, kind, .. } => {
                format!("修改月考核规则 {} {kind}", index + 1)
            }
            PlanEdit::Section { section, .. } => format!("修改水质断面 {section}"),
        }
    }
}

/// The plan with `edit` applied, checked as `plan check` checks a folder,
/// or every problem found (nothing is changed).
pub fn apply_edit(plan: &Campaign, edit: &PlanEdit) -> Result<Campaign, EditRefused> {
    let files = edit_files(plan, edit)?;
    crate::parse_files(&files).map_err(|e| EditRefused {
        problems: e
            .diagnostics
            .iter()
            .map(|d| FieldError {
                field: String::new(),
                message: format!("方案校验未通过：{d}"),
            })
            .collect(),
    })
}

/// The plan's files with `edit` applied, before the plan check: the form's
/// values checked field by field and written into the file that holds the
/// item.
pub fn edit_files(plan: &Campaign, edit: &PlanEdit) -> Result<Vec<PlanFile>, EditRefused> {
    let mut errors = Vec::new();
    let mut files = plan.sources.clone();
    let changed = match edit {
        PlanEdit::Target(t) => {
            let checked = check_target(plan, t, &mut errors);
            if !errors.is_empty() {
                return Err(EditRefused { problems: errors });
            }
            with_document(&mut files, |doc| {
                let Some(aot) = doc.get_mut("target").and_then(Item::as_array_of_tables_mut) else {
                    return false;
                };
                match aot
                    .iter_mut()
                    .find(|tb| tb.get("key").and_then(Item::as_str) == Some(t.key.as_str()))
                {
                    Some(table) => {
                        write_target(table, &checked);
                        true
                    }
                    None => false,
                }
            })?
        }
        PlanEdit::Task { key, edit } => {
            let Some(task) = plan.task(key) else {
                return Err(EditRefused::general(format!("方案中没有任务 {key}")));
            };
            let checked = check_task(plan, edit, Some(task), &mut errors);
            if !errors.is_empty() {
                return Err(EditRefused { problems: errors });
            }
            with_document(&mut files, |doc| {
                let plan_id = file_plan(doc);
                let Some(aot) = doc.get_mut("task").and_then(Item::as_array_of_tables_mut) else {
                    return false;
                };
                match aot.iter_mut().find(|tb| {
                    plan_id.as_deref().and_then(|p| task_key(p, tb)) == Some(key.clone())
                }) {
                    Some(table) => {
                        write_task(table, &checked, plan.year);
                        true
                    }
                    None => false,
                }
            })?
        }
        PlanEdit::AddTask {
            plan: plan_id,
            group,
            edit,
        } => {
            let Some(p) = plan.plan(plan_id) else {
                return Err(EditRefused::general(format!("方案中没有 {plan_id}")));
            };
            let group_kind = if group.is_empty() {
                if p.numbering == Numbering::Group {
                    return Err(EditRefused::general(format!(
                        "{} 按组编号：请选择任务所在的组",
                        p.title
                    )));
                }
                None
            } else {
                match p.groups.iter().find(|g| &g.id == group) {
                    Some(g) => Some(g.kind),
                    None => {
                        return Err(EditRefused::general(format!(
                            "{} 中没有“{group}”这一组",
                            p.title
                        )));
                    }
                }
            };
            let checked = check_task(plan, edit, None, &mut errors);
            if checked.lead.as_ref().is_none_or(Vec::is_empty) {
                push(&mut errors, "lead", "请填写牵头单位");
            }
            if !errors.is_empty() {
                return Err(EditRefused { problems: errors });
            }
            // Where the task sits: a chapter of a plan numbered through
            // the plan, else a group; numbered after the last one there.
            let (field, in_group) = match (p.numbering, group_kind) {
                (_, None) => (None, None),
                (Numbering::Plan, Some(TaskKind::Task)) => (Some("chapter"), None),
                _ => (Some("group"), Some(group.clone())),
            };
            let number = plan
                .tasks
                .iter()
                .filter(|t| t.plan == *plan_id && t.group == in_group)
                .filter_map(|t| t.number.parse::<u32>().ok())
                .max()
                .unwrap_or(0)
                + 1;
            let mut table = Table::new();
            table.insert("number", toml_edit::value(i64::from(number)));
            if let Some(field) = field {
                table.insert(field, toml_edit::value(group.as_str()));
            }
            write_task(&mut table, &checked, plan.year);
            let mut done = false;
            with_document(&mut files, |doc| {
                if done || file_plan(doc).as_deref() != Some(plan_id.as_str()) {
                    return false;
                }
                done = true;
                match doc.get_mut("task").and_then(Item::as_array_of_tables_mut) {
                    Some(aot) => aot.push(table.clone()),
                    None => {
                        let mut aot = ArrayOfTables::new();
                        aot.push(table.clone());
                        doc.insert("task", Item::ArrayOfTables(aot));
                    }
                }
                true
            })?
        }
        PlanEdit::DeleteTask { key } => {
            if plan.task(key).is_none() {
                return Err(EditRefused::general(format!("方案中没有任务 {key}")));
            }
            let mut refs = Vec::new();
            for t in &plan.targets {
                if t.task.as_deref() == Some(key.as_str()) {
                    refs.push(format!("目标 {}（{}）", t.key, t.indicator));
                }
            }
            for l in &plan.limit_sets {
                if l.task.as_deref() == Some(key.as_str()) {
                    refs.push(format!("限值 {}", l.name));
                }
            }
            if !refs.is_empty() {
                return Err(EditRefused::general(format!(
                    "任务 {key} 不能删除：{} 引用了它，请先修改",
                    refs.join("、")
                )));
            }
            with_document(&mut files, |doc| {
                let plan_id = file_plan(doc);
                let Some(aot) = doc.get_mut("task").and_then(Item::as_array_of_tables_mut) else {
                    return false;
                };
                let at = aot.iter().position(|tb| {
                    plan_id.as_deref().and_then(|p| task_key(p, tb)) == Some(key.clone())
                });
                match at {
                    Some(i) => {
                        aot.remove(i);
                        true
                    }
                    None => false,
                }
            })?
        }
        PlanEdit::Control { township, edit } => {
            crate::edit_controls::edit_control(plan, &mut files, township, edit)?
        }
        PlanEdit::DeleteControl { township } => {
            crate::edit_controls::delete_control(plan, &mut files, township)?
        }
        PlanEdit::Group {
            plan: plan_id,
            id,
            title,
        } => crate::edit_groups::rename_group(plan, &mut files, plan_id, id, title)?,
        PlanEdit::AddGroup {
            plan: plan_id,
            id,
            title,
        } => crate::edit_groups::add_group(plan, &mut files, plan_id, id, title)?,
        PlanEdit::AssessmentRule {
            index,
            kind,
            points,
            note,
        } => crate::edit_assessment::edit_rule(plan, &mut files, *index, kind, points, note)?,
        PlanEdit::Section { section, edit } => {
            crate::edit_sections::edit_section(plan, &mut files, section, edit)?
        }
    };
    if !changed {
        return Err(EditRefused::general(
            "在方案文件中找不到要修改的条目（方案可能刚被修改），请重新打开编辑页",
        ));
    }
    Ok(files)
}

/// Runs `f` on each TOML file's document until one says it changed it;
/// that file's text is replaced. Whether any did.
pub(crate) fn with_document(
    files: &mut [PlanFile],
    mut f: impl FnMut(&mut DocumentMut) -> bool,
) -> Result<bool, EditRefused> {
    for file in files.iter_mut() {
        if !file.name.ends_with(".toml") {
            continue;
        }
        let mut doc: DocumentMut = file
            .text
            .parse()
            .map_err(|e| EditRefused::general(format!("方案文件 {} 无法读取：{e}", file.name)))?;
        if f(&mut doc) {
            file.text = doc.to_string();
            return Ok(true);
        }
    }
    Ok(false)
}

/// The `[plan]` id of a file, when it has one.
fn file_plan(doc: &DocumentMut) -> Option<String> {
    doc.get("plan")
        .and_then(|p| p.get("id"))
        .and_then(Item::as_str)
        .map(str::to_owned)
}

/// A `[[task]]` table's key, derived as the plan check derives it.
fn task_key(plan: &str, t: &Table) -> Option<String> {
    let number = match t.get("number")? {
        n if n.as_integer().is_some() => n.as_integer()?.to_string(),
        n => n.as_str()?.trim().to_owned(),
    };
    Some(match t.get("group").and_then(Item::as_str) {
        Some(g) => format!("{plan}-{g}-{number}"),
        None => format!("{plan}-{number}"),
    })
}

pub(crate) fn push(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.to_owned(),
        message: message.into(),
    });
}

/// Text clipped for a message.
pub(crate) fn quoted(s: &str) -> String {
    let s: String = s.trim().chars().take(40).collect();
    format!("“{s}”")
}

pub(crate) fn decimal(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        return None;
    }
    s.parse::<Decimal>().ok()
}

fn comparator(s: &str) -> Option<Comparator> {
    Comparator::parse(s.trim())
}

/// A number as the plan writes it: an integer bare, a decimal as a string
/// so that it stays exact.
pub(crate) fn number_value(d: Decimal) -> Value {
    let d = d.normalize();
    if d.scale() == 0
        && let Ok(i) = i64::try_from(d.mantissa())
    {
        return Value::from(i);
    }
    Value::from(d.to_string())
}

struct CheckedTarget {
    indicator: String,
    comparator: Comparator,
    value: Option<Decimal>,
    value_text: Option<String>,
    baseline: Option<crate::model::Baseline>,
    unit: String,
    task: Option<String>,
    as_written: Option<String>,
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn check_target(plan: &Campaign, t: &TargetEdit, errors: &mut Vec<FieldError>) -> CheckedTarget {
    let Some(current) = plan.targets.iter().find(|x| x.key == t.key) else {
        push(errors, "", format!("方案中没有目标 {}", t.key));
        return CheckedTarget {
            indicator: String::new(),
            comparator: Comparator::Le,
            value: None,
            value_text: None,
            baseline: None,
            unit: String::new(),
            task: None,
            as_written: None,
        };
    };
    if t.indicator.trim().is_empty() {
        push(errors, "indicator", "指标名称不能为空");
    }
    let cmp = comparator(&t.comparator).unwrap_or_else(|| {
        push(errors, "comparator", "请选择比较方式（≤、<、≥、>、=）");
        current.comparator
    });
    let value = match non_empty(&t.value) {
        None => None,
        Some(v) => match decimal(&v) {
            Some(d) => Some(d),
            None => {
                push(
                    errors,
                    "value",
                    format!("目标值 {} 不是数字（如 55 或 36.5）", quoted(&v)),
                );
                None
            }
        },
    };
    let baseline = check_baseline(plan.year, t, errors);
    let value_text = non_empty(&t.value_text);
    if non_empty(&t.value).is_none() && value_text.is_none() && non_empty(&t.baseline).is_none() {
        push(errors, "value", "请填写目标值（或文字目标值、基准年）");
    }
    let unit = t.unit.trim().to_owned();
    let reported = current.measured == crate::model::Measure::Reported;
    let task = non_empty(&t.task);
    if let Some(k) = &task {
        if !reported {
            push(
                errors,
                "task",
                "监测数据目标由监测数据评价，不对应任务：请清空“上报任务”",
            );
        } else if let Some(task) = plan.task(k) {
            if !task
                .indicators
                .iter()
                .any(|i| i.name == t.indicator.trim() && i.report)
            {
                push(
                    errors,
                    "task",
                    format!(
                        "任务 {k} 没有名为 {} 的报送指标，不能衡量此目标",
                        quoted(&t.indicator)
                    ),
                );
            }
        } else {
            push(errors, "task", format!("方案中没有任务 {}", quoted(k)));
        }
    }
    // The plan's own wording is dropped when the figure it words changed
    // and the office did not rewrite it.
    let mut as_written = non_empty(&t.as_written);
    if (value != current.value || cmp != current.comparator) && as_written == current.as_written {
        as_written = None;
    }
    CheckedTarget {
        indicator: t.indicator.trim().to_owned(),
        comparator: cmp,
        value,
        value_text,
        baseline,
        unit,
        task,
        as_written,
    }
}

/// The form's baseline year and stated value, checked.
fn check_baseline(
    campaign_year: i32,
    t: &TargetEdit,
    errors: &mut Vec<FieldError>,
) -> Option<crate::model::Baseline> {
    let value = match non_empty(&t.baseline_value) {
        None => None,
        Some(v) => match decimal(&v) {
            Some(d) => Some(d),
            None => {
                push(
                    errors,
                    "baseline_value",
                    format!("基准值 {} 不是数字（如 12）", quoted(&v)),
                );
                None
            }
        },
    };
    let Some(year) = non_empty(&t.baseline) else {
        if value.is_some() {
            push(errors, "baseline", "填写基准值时须同时填写基准年");
        }
        return None;
    };
    match year.parse::<i32>() {
        Ok(y) if year.len() == 4 && y < campaign_year => {
            Some(crate::model::Baseline { year: y, value })
        }
        Ok(y) if year.len() == 4 => {
            push(
                errors,
                "baseline",
                format!("基准年 {y} 须早于方案年度 {campaign_year}"),
            );
            None
        }
        _ => {
            push(errors, "baseline", "基准年须为四位年份（如 2019）");
            None
        }
    }
}

/// `baseline = "2019"`, or an inline table when the figure is stated.
fn baseline_value(b: &crate::model::Baseline) -> Value {
    match b.value {
        None => Value::from(b.year.to_string()),
        Some(v) => {
            let mut t = toml_edit::InlineTable::new();
            t.insert("year", Value::from(i64::from(b.year)));
            t.insert("value", number_value(v));
            Value::InlineTable(t)
        }
    }
}

fn write_target(table: &mut Table, t: &CheckedTarget) {
    table.insert("indicator", toml_edit::value(t.indicator.as_str()));
    table.insert("comparator", toml_edit::value(t.comparator.as_str()));
    set_or_remove(table, "value", t.value.map(number_value));
    set_or_remove(
        table,
        "value_text",
        t.value_text.as_deref().map(Value::from),
    );
    set_or_remove(table, "baseline", t.baseline.as_ref().map(baseline_value));
    table.insert("unit", toml_edit::value(t.unit.as_str()));
    set_or_remove(table, "task", t.task.as_deref().map(Value::from));
    set_or_remove(
        table,
        "as_written",
        t.as_written.as_deref().map(Value::from),
    );
}

fn set_or_remove(table: &mut Table, key: &str, v: Option<Value>) {
    match v {
        Some(v) => {
            table.insert(key, Item::Value(v));
        }
        None => {
            table.remove(key);
        }
    }
}

struct CheckedTask {
    title: String,
    summary: String,
    /// None: left as it is (a task whose responsibility is by paragraph).
    lead: Option<Vec<String>>,
    cooperating: Option<Vec<String>>,
    milestones: Vec<(NaiveDate, String)>,
    indicators: Vec<(String, Comparator, Decimal, String, bool)>,
    /// None: no paragraphs (the task's own lead and cooperating).
    parts: Option<Vec<crate::edit_parts::CheckedPart>>,
}

/// Organisation names as typed, split on the separators offices use.
fn names(s: &str) -> Vec<String> {
    s.split(['、', '，', ',', '；', ';', '\n', '\r'])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Each name resolved to the organisation's one spelling, or the field's
/// error naming the unknown ones.
pub(crate) fn organisations(
    plan: &Campaign,
    typed: &str,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    for n in names(typed) {
        let found = plan
            .organisations
            .iter()
            .find(|o| o.name == n || o.aliases.contains(&n));
        match found {
            Some(o) if out.contains(&o.name) => {
                push(errors, field, format!("{} 重复填写", quoted(&o.name)));
            }
            Some(o) => out.push(o.name.clone()),
            None => unknown.push(quoted(&n)),
        }
    }
    if !unknown.is_empty() {
        push(
            errors,
            field,
            format!(
                "未知单位 {}：不是方案中任何单位的名称或简称",
                unknown.join("、")
            ),
        );
    }
    out
}

fn check_task(
    plan: &Campaign,
    t: &TaskEdit,
    current: Option<&crate::model::Task>,
    errors: &mut Vec<FieldError>,
) -> CheckedTask {
    // A task whose responsibility is by paragraph keeps it as written.
    let by_parts = current.is_some_and(|t| !t.parts.is_empty());
    // A deadline the plan really sets outside its year (marked so in the
    // file) may stay.
    let kept = |d: NaiveDate| current.is_some_and(|t| t.milestones.iter().any(|m| m.date == d));
    if t.title.trim().is_empty() {
        push(errors, "title", "任务标题不能为空");
    }
    if t.summary.trim().is_empty() {
        push(errors, "summary", "任务内容不能为空");
    }
    let (lead, cooperating) = if by_parts {
        (None, None)
    } else {
        let lead = organisations(plan, &t.lead, "lead", errors);
        let cooperating = organisations(plan, &t.cooperating, "cooperating", errors);
        let both: Vec<String> = cooperating
            .iter()
            .filter(|c| lead.contains(c))
            .map(|c| quoted(c))
            .collect();
        if !both.is_empty() {
            push(
                errors,
                "cooperating",
                format!("{} 已是牵头单位，不能同时为配合单位", both.join("、")),
            );
        }
        (Some(lead), Some(cooperating))
    };
    let mut milestones = Vec::new();
    for (i, m) in t.milestones.iter().enumerate() {
        if m.is_blank() {
            continue;
        }
        let date = match NaiveDate::parse_from_str(m.date.trim(), "%Y-%m-%d") {
            Ok(d) if d.year() == plan.year || kept(d) => Some(d),
            Ok(_) => {
                push(
                    errors,
                    &format!("ms_date_{i}"),
                    format!("完成时限须在方案年度 {} 年内", plan.year),
                );
                None
            }
            Err(_) if m.date.trim().is_empty() => {
                push(
                    errors,
                    &format!("ms_date_{i}"),
                    "请填写完成时限（年-月-日）",
                );
                None
            }
            Err(_) => {
                push(
                    errors,
                    &format!("ms_date_{i}"),
                    format!(
                        "{} 不是有效日期（年-月-日，如 {}-06-30）",
                        quoted(&m.date),
                        plan.year
                    ),
                );
                None
            }
        };
        if m.what.trim().is_empty() {
            push(errors, &format!("ms_what_{i}"), "请填写此时限要完成的内容");
        }
        if let Some(d) = date {
            milestones.push((d, m.what.trim().to_owned()));
        }
    }
    let mut indicators = Vec::new();
    for (i, ind) in t.indicators.iter().enumerate() {
        if ind.is_blank() {
            continue;
        }
        if ind.name.trim().is_empty() {
            push(errors, &format!("ind_name_{i}"), "请填写指标名称");
        }
        let cmp = comparator(&ind.comparator);
        if cmp.is_none() {
            push(errors, &format!("ind_comparator_{i}"), "请选择比较方式");
        }
        let value = decimal(&ind.value);
        if value.is_none() {
            push(
                errors,
                &format!("ind_value_{i}"),
                if ind.value.trim().is_empty() {
                    "请填写指标值".to_owned()
                } else {
                    format!("指标值 {} 不是数字（如 89 或 0.5）", quoted(&ind.value))
                },
            );
        }
        if let (Some(c), Some(v)) = (cmp, value) {
            indicators.push((
                ind.name.trim().to_owned(),
                c,
                v,
                ind.unit.trim().to_owned(),
                ind.report,
            ));
        }
    }
    let parts = by_parts.then(|| crate::edit_parts::check_parts(plan, &t.parts, errors));
    CheckedTask {
        title: t.title.trim().to_owned(),
        summary: t.summary.trim().to_owned(),
        lead,
        cooperating,
        milestones,
        indicators,
        parts,
    }
}

/// The inline tables of an array field (`milestones = [ {…}, … ]` or
/// `[[task.milestones]]`), as they stand.
fn rows(table: &Table, key: &str) -> Vec<InlineTable> {
    match table.get(key) {
        Some(Item::Value(Value::Array(a))) => a
            .iter()
            .filter_map(|v| v.as_inline_table().cloned())
            .collect(),
        Some(Item::ArrayOfTables(aot)) => {
            aot.iter().map(|t| t.clone().into_inline_table()).collect()
        }
        _ => Vec::new(),
    }
}

/// One entry per line, as the plan files write long lists.
fn multiline(items: Vec<InlineTable>) -> Item {
    let mut arr = Array::new();
    for mut t in items {
        t.fmt();
        arr.push(Value::InlineTable(t));
    }
    for v in arr.iter_mut() {
        v.decor_mut().set_prefix("\n  ");
    }
    if !arr.is_empty() {
        arr.set_trailing("\n");
        arr.set_trailing_comma(true);
    }
    Item::Value(Value::Array(arr))
}

fn string_array(names: &[String]) -> Item {
    let mut arr = Array::new();
    for n in names {
        arr.push(n.as_str());
    }
    Item::Value(Value::Array(arr))
}

fn write_task(table: &mut Table, t: &CheckedTask, year: i32) {
    table.insert("title", toml_edit::value(t.title.as_str()));
    table.insert("summary", toml_edit::value(t.summary.as_str()));
    if let Some(lead) = &t.lead {
        if lead.is_empty() {
            table.remove("lead");
        } else {
            table.insert("lead", string_array(lead));
        }
    }
    if let Some(c) = &t.cooperating {
        if c.is_empty() {
            table.remove("cooperating");
        } else {
            table.insert("cooperating", string_array(c));
        }
    }
    if let Some(parts) = &t.parts {
        crate::edit_parts::write_parts(table, parts);
    }
    // Milestones keep the plan's wording of a deadline whose date stayed.
    let old = rows(table, "milestones");
    let milestones: Vec<InlineTable> = t
        .milestones
        .iter()
        .enumerate()
        .map(|(i, (date, what))| {
            let date = date.format("%Y-%m-%d").to_string();
            let mut m = InlineTable::new();
            m.insert("date", date.as_str().into());
            m.insert("what", what.as_str().into());
            if let Some(o) = old.get(i)
                && o.get("date").and_then(Value::as_str) == Some(date.as_str())
            {
                if let Some(a) = o.get("as_written") {
                    m.insert("as_written", a.clone());
                }
                if let Some(y) = o.get("outside_year")
                    && !date.starts_with(&year.to_string())
                {
                    m.insert("outside_year", y.clone());
                }
            }
            m
        })
        .collect();
    if milestones.is_empty() {
        table.remove("milestones");
    } else {
        table.insert("milestones", multiline(milestones));
    }
    // Indicators keep the plan's wording of a figure that stayed.
    let old = rows(table, "indicators");
    let indicators: Vec<InlineTable> = t
        .indicators
        .iter()
        .enumerate()
        .map(|(i, (name, cmp, value, unit, report))| {
            let mut m = InlineTable::new();
            m.insert("name", name.as_str().into());
            m.insert("comparator", cmp.as_str().into());
            m.insert("value", number_value(*value));
            m.insert("unit", unit.as_str().into());
            if let Some(o) = old.get(i) {
                let same_value = match o.get("value") {
                    Some(Value::Integer(n)) => Decimal::from(*n.value()) == *value,
                    Some(Value::String(s)) => decimal(s.value()) == Some(*value),
                    _ => false,
                };
                let same_cmp = o
                    .get("comparator")
                    .and_then(Value::as_str)
                    .and_then(comparator)
                    == Some(*cmp);
                if same_value
                    && same_cmp
                    && let Some(a) = o.get("as_written")
                {
                    m.insert("as_written", a.clone());
                }
            }
            if !report {
                m.insert("report", false.into());
            }
            m
        })
        .collect();
    if indicators.is_empty() {
        table.remove("indicators");
    } else {
        table.insert("indicators", multiline(indicators));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"
[campaign]
key = "t-2021"
name = "测试"
district = "测试区"
year = 2021
plans = ["air"]

[[organisation]]
key = "office"
name = "区环境攻坚办"
kind = "office"
aliases = ["攻坚办"]

[[organisation]]
key = "agri"
name = "区农业农村局"
kind = "department"
aliases = ["农业农村局"]

[[organisation]]
key = "yuanwu"
name = "原武镇"
kind = "township"

[plan]
id = "air"
title = "大气"
numbering = "plan"

[[group]]
id = "一"
title = "产业"

# the PM2.5 target
[[target]]
key = "air-pm25"
indicator = "PM2.5 年均浓度"
scope = "district"
comparator = "<="
value = 62
unit = "µg/m³"
period = "2021"
measured = "data"
statistic = "annual-mean:PM2.5"
as_written = "62 以下"

# task one
[[task]]
number = 1
chapter = "一"
title = "秸秆"
summary = "禁烧"
lead = ["农业农村局"]
milestones = [
  { date = "2021-12-31", what = "完成", as_written = "年底前" },
]
indicators = [{ name = "利用率", comparator = ">=", value = 89, unit = "%" }]
"#;

    fn plan() -> Campaign {
        crate::parse(&[crate::Source {
            name: "plan.toml",
            text: PLAN,
        }])
        .unwrap()
    }

    fn task_edit() -> TaskEdit {
        TaskEdit {
            title: "秸秆禁烧".into(),
            summary: "全面禁烧".into(),
            lead: "区环境攻坚办".into(),
            cooperating: "农业农村局、原武镇".into(),
            milestones: vec![
                MilestoneEdit {
                    date: "2021-10-31".into(),
                    what: "秋收前".into(),
                },
                MilestoneEdit::default(),
            ],
            indicators: vec![IndicatorEdit {
                name: "利用率".into(),
                comparator: ">=".into(),
                value: "90.5".into(),
                unit: "%".into(),
                report: true,
            }],
            parts: Vec::new(),
        }
    }

    #[test]
    fn a_target_value_changes_and_the_comments_stay() {
        let edit = PlanEdit::Target(TargetEdit {
            key: "air-pm25".into(),
            indicator: "PM2.5 年均浓度".into(),
            comparator: "<=".into(),
            value: "55".into(),
            unit: "µg/m³".into(),
            as_written: "62 以下".into(),
            ..TargetEdit::default()
        });
        let c = apply_edit(&plan(), &edit).unwrap();
        assert_eq!(c.targets[0].value, Some(Decimal::from(55)));
        assert_eq!(c.targets[0].as_written, None, "stale wording dropped");
        assert!(c.sources[0].text.contains("# the PM2.5 target"));
        assert!(c.sources[0].text.contains("value = 55"));
    }

    #[test]
    fn a_stated_baseline_is_written_as_a_table_and_read_back() {
        let edit = |baseline: &str, baseline_value: &str| {
            PlanEdit::Target(TargetEdit {
                key: "air-pm25".into(),
                indicator: "PM2.5 年均浓度".into(),
                comparator: "<".into(),
                baseline: baseline.into(),
                baseline_value: baseline_value.into(),
                unit: "µg/m³".into(),
                ..TargetEdit::default()
            })
        };
        let c = apply_edit(&plan(), &edit("2020", "70.5")).unwrap();
        let b = c.targets[0].baseline.clone().unwrap();
        assert_eq!((b.year, b.value), (2020, Some(Decimal::new(705, 1))));
        assert!(
            c.sources[0]
                .text
                .contains(r#"baseline = { year = 2020, value = "70.5" }"#),
            "{}",
            c.sources[0].text
        );
        assert_eq!(c.targets[0].threshold_text(), "70.5（2020 年值）");
        // A year alone stays the plain form.
        let c = apply_edit(&plan(), &edit("2020", "")).unwrap();
        assert!(c.sources[0].text.contains(r#"baseline = "2020""#));
        assert_eq!(c.targets[0].threshold(), None);
        // The campaign's own year is no baseline; a value needs its year.
        let err = apply_edit(&plan(), &edit("2021", "")).unwrap_err();
        assert_eq!(err.problems[0].field, "baseline");
        assert!(err.problems[0].message.contains("须早于方案年度 2021"));
        let err = apply_edit(&plan(), &edit("", "12")).unwrap_err();
        assert_eq!(err.problems[0].field, "baseline");
        let err = apply_edit(&plan(), &edit("2020", "很多")).unwrap_err();
        assert_eq!(err.problems[0].field, "baseline_value");
    }

    #[test]
    fn a_task_is_edited_added_and_deleted() {
        let p = plan();
        let c = apply_edit(
            &p,
            &PlanEdit::Task {
                key: "air-1".into(),
                edit: task_edit(),
            },
        )
        .unwrap();
        let t = c.task("air-1").unwrap();
        assert_eq!(t.lead, ["区环境攻坚办"]);
        assert_eq!(t.cooperating, ["区农业农村局", "原武镇"]);
        assert_eq!(t.milestones.len(), 1);
        assert_eq!(t.milestones[0].as_written, None);
        assert_eq!(t.indicators[0].value.to_string(), "90.5");
        assert!(c.sources[0].text.contains("# task one"));

        let c = apply_edit(
            &c,
            &PlanEdit::AddTask {
                plan: "air".into(),
                group: "一".into(),
                edit: task_edit(),
            },
        )
        .unwrap();
        let t = c.task("air-2").unwrap();
        assert_eq!(t.chapter.as_deref(), Some("一"));

        let c = apply_edit(
            &c,
            &PlanEdit::DeleteTask {
                key: "air-1".into(),
            },
        )
        .unwrap();
        assert!(c.task("air-1").is_none());
        assert!(c.task("air-2").is_some());
    }

    #[test]
    fn a_stale_or_unknown_item_and_a_failed_plan_check_change_nothing() {
        let p = plan();
        let err = apply_edit(
            &p,
            &PlanEdit::DeleteTask {
                key: "air-9".into(),
            },
        )
        .unwrap_err();
        assert!(err.problems[0].message.contains("没有任务 air-9"));
        // A group the plan does not have.
        let err = apply_edit(
            &p,
            &PlanEdit::AddTask {
                plan: "air".into(),
                group: "九".into(),
                edit: task_edit(),
            },
        )
        .unwrap_err();
        assert!(err.problems[0].message.contains("没有“九”这一组"));
        // The plan check's own refusal (a task with no one responsible)
        // is passed on whole.
        let mut e = task_edit();
        e.lead.clear();
        e.cooperating.clear();
        let err = apply_edit(
            &p,
            &PlanEdit::Task {
                key: "air-1".into(),
                edit: e,
            },
        )
        .unwrap_err();
        assert!(
            err.problems
                .iter()
                .any(|x| x.message.starts_with("方案校验未通过")),
            "{err}"
        );
    }

    #[test]
    fn bad_values_are_refused_next_to_their_field() {
        let mut e = task_edit();
        e.title = " ".into();
        e.lead = "市水利局".into();
        e.milestones[0].date = "2022-01-31".into();
        e.indicators[0].value = "九十".into();
        let err = apply_edit(
            &plan(),
            &PlanEdit::Task {
                key: "air-1".into(),
                edit: e,
            },
        )
        .unwrap_err();
        let fields: Vec<&str> = err.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["title", "lead", "ms_date_0", "ind_value_0"]);
        assert!(err.problems[1].message.contains("市水利局"));

        let err = apply_edit(
            &plan(),
            &PlanEdit::Target(TargetEdit {
                key: "air-pm25".into(),
                indicator: "PM2.5 年均浓度".into(),
                comparator: "<=".into(),
                value: "abc".into(),
                unit: "µg/m³".into(),
                ..TargetEdit::default()
            }),
        )
        .unwrap_err();
        assert_eq!(err.problems[0].field, "value");
    }
}
