//! 预警应急 → 错峰生产 (issue 15 item 6): the heating season's 季节性生产调控
//! list and each listed enterprise's days verified from its production
//! meters (`gongjian_app::emergency::season`, the same use case as
//! `gongjian emergency season`). The office imports the list here; an
//! enterprise sees its own rows.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, Duration, NaiveDate};
use gongjian_app::emergency::season::{SeasonRow, SeasonVerification, verify_season};
use gongjian_emergency::Verdict;
use gongjian_storage::Role;
use serde::Deserialize;

use super::emergency::{read_error_text, upload_name};
use super::{Layout, check_csrf, error_page, error_text, fail, forbidden, render};
use crate::AppState;
use crate::session::PageUser;

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    Router::new().route("/emergency/season", get(page)).route(
        "/emergency/season/list",
        post(import).layer(limits.import_body_limit()),
    )
}

/// The CSS class of a verdict: 达标 green, 未落实 red, 无法核查 amber.
pub(super) fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Compliant => "ok",
        Verdict::NotImplemented => "bad",
        Verdict::Unverifiable => "warn",
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SeasonQuery {
    from: Option<String>,
    to: Option<String>,
    ok: Option<String>,
    list: Option<i64>,
}

/// One day of a row, as a cell.
struct DayCell {
    day: String,
    verdict: &'static str,
    class: &'static str,
    detail: String,
    energy: String,
}

struct RowView {
    enterprise: String,
    /// The enterprise's record page, when it is registered.
    org: Option<i64>,
    production_line: String,
    industry: String,
    measure: String,
    period: String,
    baseline: String,
    counts: String,
    /// The row's worst verdict over the period, for its class.
    class: &'static str,
    days: Vec<DayCell>,
}

/// The import form as typed, and why it was refused.
#[derive(Default)]
struct ImportView {
    season: String,
    starts_on: String,
    ends_on: String,
    summary: Option<String>,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "season.html")]
struct SeasonPage {
    layout: Layout,
    may_import: bool,
    enterprise: bool,
    from: String,
    to: String,
    /// "2026-2027 采暖季（2026-11-15 至 2027-03-15），第 3 版，攻坚办 张三 导入"
    list: Option<String>,
    rows: Vec<RowView>,
    /// Days 未落实 over the period, every row.
    failed: Vec<(String, String, String)>,
    form: ImportView,
}

fn may_import(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office)
}

fn may_read(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::Office | Role::Viewer | Role::Enterprise
    )
}

async fn page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<SeasonQuery>,
) -> Response {
    let ok = match (q.ok.as_deref(), q.list) {
        (Some("list"), Some(id)) => match state.db.seasons().season_list(id).await {
            Ok((l, _)) => Some(format!(
                "已导入 {} 采暖季错峰生产清单（#{}，{} 至 {}），{} 行，即日起按此清单核查",
                l.season, l.id, l.starts_on, l.ends_on, l.entries
            )),
            Err(_) => None,
        },
        _ => None,
    };
    view(&state, &me, &q, ok, ImportView::default()).await
}

async fn view(
    state: &AppState,
    me: &PageUser,
    q: &SeasonQuery,
    ok: Option<String>,
    form: ImportView,
) -> Response {
    if !may_read(me.user.role) {
        return forbidden(me);
    }
    let today = gongjian_app::now_local().date();
    let day = |text: Option<&str>| text.filter(|t| !t.is_empty()).map(str::parse::<NaiveDate>);
    let refused = form
        .summary
        .is_some()
        .then(|| "错峰生产清单未导入（原有清单不变），请按提示修改后重新上传".to_owned());
    let layout = || {
        Layout::new(&me.user, &me.csrf, "emergency")
            .ok(ok.clone())
            .error(refused.clone())
    };
    let (to, from) = match (day(q.to.as_deref()), day(q.from.as_deref())) {
        (Some(Err(_)), _) | (_, Some(Err(_))) => {
            return error_page(
                layout().error(Some("日期格式应为 2026-12-01".into())),
                axum::http::StatusCode::BAD_REQUEST,
            );
        }
        (to, from) => {
            let to = to.and_then(Result::ok).unwrap_or(today - Duration::days(1));
            let from = from.and_then(Result::ok).unwrap_or(to - Duration::days(6));
            (to, from)
        }
    };
    let enterprise = me.user.role == Role::Enterprise;
    let only = enterprise.then_some(me.user.organisation_name.as_str());
    let v = match verify_season(&state.db, None, (from, to), today, only).await {
        Ok(v) => v,
        Err(e) => {
            return error_page(
                layout().error(Some(error_text(&e.into()))),
                axum::http::StatusCode::BAD_REQUEST,
            );
        }
    };
    let orgs = state.db.organisations().list().await.unwrap_or_default();
    let list = match &v.list {
        Some(l) => {
            let by = state
                .db
                .accounts()
                .people_labels(&[l.imported_by.as_str()])
                .await
                .ok()
                .and_then(|mut m| m.remove(&l.imported_by))
                .unwrap_or_else(|| l.imported_by.clone());
            Some(format!(
                "{} 采暖季（{} 至 {}），清单 #{}，{} 导入",
                l.season, l.starts_on, l.ends_on, l.id, by
            ))
        }
        None => None,
    };
    let rows = own_rows(&v, enterprise.then_some(me.user.organisation_name.as_str()));
    let failed = rows
        .iter()
        .flat_map(|r| {
            r.days
                .iter()
                .filter(|d| d.verdict == Verdict::NotImplemented)
                .map(|d| (d.day.to_string(), r.enterprise.clone(), d.detail.clone()))
        })
        .collect();
    let mut form = form;
    if form.season.is_empty() {
        // The heating season of today: 15 November to 15 March.
        let y = if today.month0() >= 6 {
            today.year()
        } else {
            today.year() - 1
        };
        form.season = format!("{y}-{}", y + 1);
        form.starts_on = format!("{y}-11-15");
        form.ends_on = format!("{}-03-15", y + 1);
    }
    let refused_import = form.summary.is_some();
    let mut resp = render(SeasonPage {
        layout: layout(),
        may_import: may_import(me.user.role),
        enterprise,
        from: from.to_string(),
        to: to.to_string(),
        list,
        rows: rows
            .iter()
            .map(|r| {
                let mut v = row_view(r);
                v.org = orgs.iter().find(|o| o.name == r.enterprise).map(|o| o.id);
                v
            })
            .collect(),
        failed,
        form,
    });
    if refused_import {
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    resp
}

/// The rows an account may read: an enterprise its own.
fn own_rows<'v>(v: &'v SeasonVerification, enterprise: Option<&str>) -> Vec<&'v SeasonRow> {
    v.rows
        .iter()
        .filter(|r| enterprise.is_none_or(|name| r.enterprise == name))
        .collect()
}

fn row_view(r: &SeasonRow) -> RowView {
    let worst = if r.not_implemented > 0 {
        Verdict::NotImplemented
    } else if r.unverifiable > 0 || r.days.is_empty() {
        Verdict::Unverifiable
    } else {
        Verdict::Compliant
    };
    RowView {
        enterprise: r.enterprise.clone(),
        org: None,
        production_line: r.production_line.clone().unwrap_or_default(),
        industry: r.industry.clone(),
        measure: r.measure.clone(),
        period: format!("{} 至 {}", r.starts_on, r.ends_on),
        baseline: match r.baseline_kwh {
            Some(b) if r.baseline_listed => format!("{b}（清单）"),
            Some(b) => format!("{b}（实测）"),
            None => "无基准".to_owned(),
        },
        counts: format!(
            "达标 {} · 未落实 {} · 无法核查 {}",
            r.compliant, r.not_implemented, r.unverifiable
        ),
        class: verdict_class(worst),
        days: r
            .days
            .iter()
            .map(|d| DayCell {
                day: d.day.format("%m-%d").to_string(),
                verdict: d.verdict_label,
                class: verdict_class(d.verdict),
                detail: d.detail.clone(),
                energy: d
                    .energy_kwh
                    .map_or_else(|| "—".to_owned(), |e| format!("{e} kWh")),
            })
            .collect(),
    }
}

/// Import the season's list from an uploaded XLSX or CSV (UTF-8 or GBK):
/// all or nothing, every problem listed next to the form.
async fn import(State(state): State<AppState>, me: PageUser, mp: Multipart) -> Response {
    if !may_import(me.user.role) {
        return forbidden(&me);
    }
    let _permit = match state.uploads.try_acquire(me.user.id) {
        Ok(p) => p,
        Err(busy) => return fail(&me, "emergency", busy.into()),
    };
    let q = SeasonQuery::default();
    let up = match super::read_import_form(mp).await {
        Ok(up) => up,
        Err(e) => {
            let form = ImportView {
                summary: Some(error_text(&e)),
                ..ImportView::default()
            };
            return view(&state, &me, &q, None, form).await;
        }
    };
    if let Err(r) = check_csrf(&me, up.csrf()) {
        return r;
    }
    let mut form = ImportView {
        season: up.field("season").chars().take(40).collect(),
        starts_on: up.field("starts_on").chars().take(20).collect(),
        ends_on: up.field("ends_on").chars().take(20).collect(),
        ..ImportView::default()
    };
    let dates = (
        form.starts_on.parse::<NaiveDate>(),
        form.ends_on.parse::<NaiveDate>(),
    );
    let (Ok(starts_on), Ok(ends_on)) = dates else {
        form.summary = Some("请填写调控期的开始和结束日期（如 2026-11-15 至 2027-03-15）".into());
        return view(&state, &me, &q, None, form).await;
    };
    let file_name = upload_name(&up.file_name);
    let table = match gongjian_tabular::read_bytes(&file_name, &up.bytes) {
        Ok(t) => t,
        Err(e) => {
            form.summary = Some(format!(
                "{file_name}：{}，整个文件未导入",
                read_error_text(&e)
            ));
            return view(&state, &me, &q, None, form).await;
        }
    };
    match gongjian_app::emergency::season::import_season_list(
        &state.db,
        &me.actor(),
        &form.season,
        starts_on,
        ends_on,
        &table,
    )
    .await
    {
        Ok(done) => Redirect::to(&format!("/emergency/season?ok=list&list={}", done.list.id))
            .into_response(),
        Err(gongjian_app::AppError::InvalidFile(text)) => {
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            form.summary = lines.next().map(|l| l.trim_end_matches('：').to_owned());
            form.problems = lines.map(str::to_owned).collect();
            view(&state, &me, &q, None, form).await
        }
        Err(e) => {
            form.summary = Some(error_text(&e.into()));
            view(&state, &me, &q, None, form).await
        }
    }
}
