//! 攻坚方案 (issue 12): the loaded campaigns with their state and load
//! history; the office publishes a draft (草稿 → 执行中), closes a year's
//! campaign (执行中 → 已结束, archived read-only and never marked overdue)
//! or reopens a closed one. Next year's plan is made here too: the office
//! copies a campaign to a new year (a 草稿 with every date moved) and adds
//! task tables (XLSX or CSV in the offices' layout) to a campaign that is
//! not closed, each load a new audited revision, and edits a draft's
//! targets and tasks in forms (`campaign_edit.rs`); or writes the plan as
//! files (`gongjian plan copy | import-tasks | check | load`, docs/campaign.md).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_storage::{CampaignState, Role};
use serde::Deserialize;

use super::{Layout, check_csrf, error_page, error_text, forbidden, render};
use crate::AppState;
use crate::session::PageUser;

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(page))
        .route("/campaigns/{key}/state", post(set_state))
        .route("/campaigns/{key}/copy", post(copy))
        .route(
            "/campaigns/{key}/tasks",
            post(import_tasks).layer(limits.import_body_limit()),
        )
}

fn may_read(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office | Role::Viewer)
}

fn may_change(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office)
}

struct CampaignRow {
    key: String,
    year: i64,
    name: String,
    state: &'static str,
    state_code: &'static str,
    tasks: usize,
    revision: i64,
    /// (number, loaded at, by, change lines), newest first, at most 5.
    revisions: Vec<(i64, String, String, Vec<String>)>,
    /// (target state code, button label) the office may move it to.
    actions: Vec<(&'static str, &'static str)>,
    /// Whether task tables may be added (not closed).
    open: bool,
    /// The year a copy is suggested for.
    next_year: i64,
}

/// What the office typed into one campaign's copy or import form, and why
/// it was refused: shown again under that campaign.
#[derive(Default)]
struct Typed {
    key: String,
    /// "copy" or "tasks": which form it was.
    form: &'static str,
    year: String,
    plan_id: String,
    title: String,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct CampaignsPage {
    layout: Layout,
    rows: Vec<CampaignRow>,
    can_change: bool,
    typed: Typed,
}

#[derive(Deserialize)]
struct PageQuery {
    ok: Option<String>,
    added: Option<usize>,
}

async fn page(State(state): State<AppState>, me: PageUser, Query(q): Query<PageQuery>) -> Response {
    let ok = match q.ok.as_deref() {
        Some("active") => Some("攻坚方案已设为执行中".to_owned()),
        Some("closed") => Some("攻坚方案已结束并归档：只读，不再标记逾期".to_owned()),
        Some("copied") => {
            Some("已复制为新一年的攻坚方案（草稿）：导入或修改任务后再发布".to_owned())
        }
        Some("tasks") => Some(format!(
            "任务表已导入{}",
            q.added
                .map(|n| format!("：新增 {n} 项任务，方案已生成新版本"))
                .unwrap_or_default()
        )),
        _ => None,
    };
    view(&state, &me, ok, None, Typed::default()).await
}

async fn view(
    state: &AppState,
    me: &PageUser,
    ok: Option<String>,
    error: Option<String>,
    typed: Typed,
) -> Response {
    if !may_read(me.user.role) {
        return forbidden(me);
    }
    let layout = Layout::new(&me.user, &me.csrf, "tasks").ok(ok).error(error);
    let rows = match rows(state).await {
        Ok(r) => r,
        Err(e) => {
            return error_page(
                layout.error(Some(error_text(&e))),
                StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    render(CampaignsPage {
        layout,
        rows,
        can_change: may_change(me.user.role),
        typed,
    })
}

async fn rows(state: &AppState) -> Result<Vec<CampaignRow>, crate::error::ApiError> {
    let mut out = Vec::new();
    for c in state.db.campaigns().list().await? {
        let tasks = state
            .db
            .campaigns()
            .tasks(&gongjian_storage::TaskFilter {
                campaign_id: Some(c.id),
                ..gongjian_storage::TaskFilter::default()
            })
            .await?
            .len();
        let stored = state.db.campaigns().campaign_revisions(&c.key).await?;
        let names: Vec<&str> = stored.iter().map(|r| r.loaded_by.as_str()).collect();
        let labels = state.db.accounts().people_labels(&names).await?;
        let mut revisions: Vec<_> = stored
            .iter()
            .map(|r| {
                (
                    r.number,
                    gongjian_standards::cst::local_minutes_text(r.loaded_at),
                    labels
                        .get(&r.loaded_by)
                        .cloned()
                        .unwrap_or_else(|| r.loaded_by.clone()),
                    r.changes.iter().map(|l| change_line(l)).collect(),
                )
            })
            .collect();
        revisions.sort_by_key(|r| std::cmp::Reverse(r.0));
        revisions.truncate(5);
        let actions = match c.state {
            CampaignState::Draft => vec![("active", "发布（设为执行中）")],
            CampaignState::Active => vec![("closed", "结束并归档")],
            CampaignState::Closed => vec![("active", "重新启用")],
        };
        out.push(CampaignRow {
            open: c.state != CampaignState::Closed,
            next_year: c.year + 1,
            key: c.key,
            year: c.year,
            name: c.name,
            state: c.state.label(),
            state_code: c.state.as_str(),
            tasks,
            revision: c.revision,
            revisions,
            actions,
        });
    }
    out.sort_by(|a, b| b.year.cmp(&a.year).then(a.key.cmp(&b.key)));
    Ok(out)
}

#[derive(Deserialize)]
struct StateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    /// The office ticks 确认 before a campaign changes state.
    #[serde(default)]
    confirm: String,
}

async fn set_state(
    State(state): State<AppState>,
    me: PageUser,
    Path(key): Path<String>,
    axum::Form(f): axum::Form<StateForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &f.csrf) {
        return r;
    }
    if !may_change(me.user.role) {
        return forbidden(&me);
    }
    let refuse = |msg: String| async {
        let mut r = view(&state, &me, None, Some(msg), Typed::default()).await;
        *r.status_mut() = StatusCode::BAD_REQUEST;
        r
    };
    let to = match f.to.trim() {
        "active" => CampaignState::Active,
        "closed" => CampaignState::Closed,
        other => {
            return refuse(format!(
                "方案状态“{}”无效",
                other.chars().take(20).collect::<String>()
            ))
            .await;
        }
    };
    if f.confirm.trim().is_empty() {
        return refuse(format!("请勾选“确认”后再更改攻坚方案 {key} 的状态")).await;
    }
    match state
        .db
        .campaigns()
        .set_campaign_state(&me.actor(), key.trim(), to)
        .await
    {
        Ok(c) => {
            Redirect::to(&format!("/campaigns?ok={}#c-{}", c.state.as_str(), c.key)).into_response()
        }
        Err(e) => refuse(error_text(&e.into())).await,
    }
}

#[derive(Deserialize)]
struct CopyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    year: String,
}

/// Copy a campaign as next year's plan: a 草稿 with every date moved.
async fn copy(
    State(state): State<AppState>,
    me: PageUser,
    Path(key): Path<String>,
    axum::Form(f): axum::Form<CopyForm>,
) -> Response {
    if let Err(r) = check_csrf(&me, &f.csrf) {
        return r;
    }
    if !may_change(me.user.role) {
        return forbidden(&me);
    }
    let mut typed = Typed {
        key: key.clone(),
        form: "copy",
        year: f.year.chars().take(8).collect(),
        ..Typed::default()
    };
    let outcome = match f.year.trim().parse::<i32>() {
        Ok(year) => gongjian_app::plan::copy_campaign(&state.db, &me.actor(), &key, year).await,
        Err(_) => Err(gongjian_app::plan::PlanEditRefused::Problems(vec![
            "请填写新方案的年份（四位数字，如 2027）".to_owned(),
        ])),
    };
    match outcome {
        Ok(o) => {
            Redirect::to(&format!("/campaigns?ok=copied#c-{}", o.campaign_key)).into_response()
        }
        Err(refused) => {
            typed.problems = refused.lines();
            refused_page(&state, &me, typed).await
        }
    }
}

/// Add a task table to a campaign that is not closed: a new revision, or
/// the whole table refused with its rows' problems.
async fn import_tasks(
    State(state): State<AppState>,
    me: PageUser,
    Path(key): Path<String>,
    mp: axum::extract::Multipart,
) -> Response {
    if !may_change(me.user.role) {
        return forbidden(&me);
    }
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return super::fail(&me, "tasks", busy.into()),
    };
    let form = match super::read_import_form(mp).await {
        Ok(f) => f,
        Err(e) => {
            let typed = Typed {
                key,
                form: "tasks",
                problems: vec![error_text(&e)],
                ..Typed::default()
            };
            return refused_page(&state, &me, typed).await;
        }
    };
    if let Err(r) = check_csrf(&me, form.csrf()) {
        return r;
    }
    let mut typed = Typed {
        key: key.clone(),
        form: "tasks",
        plan_id: form.field("plan_id").chars().take(40).collect(),
        title: form.field("title").chars().take(200).collect(),
        ..Typed::default()
    };
    let table = match gongjian_tabular::read_bytes(&form.file_name, &form.bytes) {
        Ok(t) => t,
        Err(e) => {
            typed.problems = vec![format!("任务表无法读取：{e}")];
            return refused_page(&state, &me, typed).await;
        }
    };
    match gongjian_app::plan::import_task_table(
        &state.db,
        &me.actor(),
        &key,
        &table,
        &typed.plan_id,
        &typed.title,
    )
    .await
    {
        Ok((o, added)) => Redirect::to(&format!(
            "/campaigns?ok=tasks&added={added}#c-{}",
            o.campaign_key
        ))
        .into_response(),
        Err(refused) => {
            typed.problems = refused.lines();
            refused_page(&state, &me, typed).await
        }
    }
}

/// The page again, the refused form filled in as typed, its problems under it.
async fn refused_page(state: &AppState, me: &PageUser, typed: Typed) -> Response {
    let summary = match typed.form {
        "copy" => "未复制攻坚方案，请按下方提示修改",
        _ => "任务表未导入，方案未改动；请按下方提示修改后重新上传",
    };
    let mut r = view(state, me, None, Some(summary.to_owned()), typed).await;
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

/// The Chinese name of a field a revision's change line lists.
fn field_label(field: &str) -> &str {
    match field {
        "as_written" => "原文",
        "baseline" => "基准",
        "chapter" => "章节",
        "comparator" => "比较方式",
        "cooperating" => "配合单位",
        "group" => "组",
        "indicator" | "indicators" => "指标",
        "kind" => "类型",
        "lead" => "牵头单位",
        "limit_sets" => "限值",
        "measured" => "测量方式",
        "milestones" => "完成时限",
        "number" => "序号",
        "period" => "评价周期",
        "plan" => "所属方案",
        "scope" => "范围",
        "summary" => "任务内容",
        "title" => "标题",
        "townships" => "乡镇",
        "unit" => "单位",
        "value" | "value_text" => "目标值",
        other => other,
    }
}

/// A change line as the page shows it: no English gloss, the changed
/// fields of a 修改 line named in Chinese.
fn change_line(line: &str) -> String {
    let line = without_english_gloss(line);
    if line.starts_with("修改")
        && let Some((head, fields)) = line.split_once(": ")
    {
        let fields: Vec<&str> = fields.split(", ").map(field_label).collect();
        return format!("{head}：{}", fields.join("、"));
    }
    line
}

/// A revision's change line without the English gloss it is stored with
/// for the command line: "新增任务 (task added) air-47: …" → "新增任务 air-47: …".
fn without_english_gloss(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find(" (") {
        let after = &rest[open + 2..];
        match after.find(')') {
            Some(close)
                if after[..close]
                    .chars()
                    .all(|c| c.is_ascii_alphabetic() || c == ' ') =>
            {
                out.push_str(&rest[..open]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..open + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_english_gloss_of_a_change_line_is_left_out() {
        assert_eq!(
            super::without_english_gloss("首次载入 (first load): 46 个任务, 10 个目标"),
            "首次载入: 46 个任务, 10 个目标"
        );
        assert_eq!(
            super::without_english_gloss("修改目标 (target changed) air-pm25: value (µg/m³)"),
            "修改目标 air-pm25: value (µg/m³)"
        );
        assert_eq!(
            super::change_line("修改任务 (task changed) air-2: milestones, lead"),
            "修改任务 air-2：完成时限、牵头单位"
        );
    }
}
