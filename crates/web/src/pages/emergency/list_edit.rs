//! 预警应急 → 应急减排清单 逐行编辑 (issue 15): the list in force row by
//! row with 编辑 / 删除 and 新增企业, the form of one row, and the season's
//! versions. Every save is a new version of the list through
//! `gongjian_app::emergency::list_edit` (checked by the import's rules);
//! the office and admins only.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_app::emergency::list_edit::{self, RowChange};
use gongjian_emergency::list_form::{form_fields, form_values};
use gongjian_emergency::{Exemption, Grade, MeasureKind, Pollutant, WarningLevel};
use serde::Deserialize;

use super::super::{Layout, check_csrf, error_page, error_text, forbidden, render};
use crate::AppState;
use crate::session::PageUser;
use gongjian_storage::Role;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/emergency/list", get(list_page))
        .route("/emergency/list/new", get(new_form))
        .route("/emergency/list/rows", post(add_row))
        .route("/emergency/list/rows/{id}", get(edit_form).post(save_row))
        .route("/emergency/list/rows/{id}/delete", post(delete_row))
}

fn may_edit(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office)
}

fn cst(at: i64) -> String {
    gongjian_standards::cst::local_minutes_text(at)
}

struct RowView {
    id: i64,
    line: u64,
    enterprise: String,
    credit_code: String,
    grade: String,
    line_name: String,
    /// 黄色, 橙色, 红色.
    measures: [String; 3],
}

struct VersionView {
    id: i64,
    source: String,
    rows: i64,
    by: String,
    at: String,
    in_force: bool,
}

#[derive(Template)]
#[template(path = "emergency_list.html")]
struct ListPage {
    layout: Layout,
    /// (season, version, source, imported)
    list: Option<(String, i64, String, String)>,
    rows: Vec<RowView>,
    history: Vec<VersionView>,
}

#[derive(Deserialize)]
struct ListQuery {
    ok: Option<String>,
    list: Option<i64>,
}

fn measure_text(m: Option<&gongjian_emergency::Measure>) -> String {
    m.map_or_else(
        || "—".to_owned(),
        |m| {
            let mut t = format!("{}：{}", m.kind.label(), m.text);
            if let Some(p) = m.load_limit_pct {
                t.push_str(&format!("（负荷不超过 {}%）", p.normalize()));
            }
            t
        },
    )
}

async fn list_page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<ListQuery>,
) -> Response {
    if !may_edit(me.user.role) {
        return forbidden(&me);
    }
    let ok = match (q.ok.as_deref(), q.list) {
        (Some("saved"), Some(id)) => Some(format!(
            "已保存为第 {id} 版应急减排清单，即为现行清单；原版本保留在版本记录中"
        )),
        (Some("deleted"), Some(id)) => Some(format!(
            "已删除该行，保存为第 {id} 版应急减排清单（现行）；原版本保留在版本记录中"
        )),
        _ => None,
    };
    let layout = Layout::new(&me.user, &me.csrf, "emergency").ok(ok);
    let (editable, history) = match (
        list_edit::editable_list(&state.db).await,
        list_edit::history(&state.db).await,
    ) {
        (Ok(l), Ok(h)) => (l, h),
        (Err(e), _) | (_, Err(e)) => {
            return error_page(
                layout.error(Some(error_text(&e.into()))),
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            );
        }
    };
    let by = history
        .iter()
        .find(|v| v.in_force)
        .map(|v| v.by.clone())
        .unwrap_or_default();
    let page = ListPage {
        layout,
        list: editable.as_ref().map(|l| {
            (
                l.list.season.clone(),
                l.list.id,
                l.list.source_name.clone(),
                format!("{by} 于 {}", cst(l.list.imported_at)),
            )
        }),
        rows: editable
            .map(|l| l.rows)
            .unwrap_or_default()
            .into_iter()
            .map(|(id, e)| RowView {
                id,
                line: e.line,
                credit_code: e.credit_code.clone().unwrap_or_default(),
                grade: match (e.grade, e.exemption) {
                    (g, Some(x)) => {
                        format!("{}（{}）", g.map_or("未分级", Grade::label), x.label())
                    }
                    (g, None) => g.map_or("未分级", Grade::label).to_owned(),
                },
                line_name: e
                    .production_line
                    .clone()
                    .unwrap_or_else(|| "全厂".to_owned()),
                measures: [
                    measure_text(e.yellow.as_ref()),
                    measure_text(e.orange.as_ref()),
                    measure_text(e.red.as_ref()),
                ],
                enterprise: e.enterprise,
            })
            .collect(),
        history: history
            .into_iter()
            .map(|v| VersionView {
                id: v.id,
                source: v.source,
                rows: v.rows,
                by: v.by,
                at: cst(v.at),
                in_force: v.in_force,
            })
            .collect(),
    };
    render(page)
}

/// One field of the row form: its key, label, value as typed, the
/// options of a select (empty: a text input) and the refusal next to it.
struct FieldView {
    key: String,
    label: String,
    value: String,
    options: Vec<(String, String)>,
    error: Option<String>,
    /// A number (kWh, kg, %): a narrow input.
    narrow: bool,
}

struct LevelView {
    label: &'static str,
    code: &'static str,
    fields: Vec<FieldView>,
    /// Per pollutant: (label, 减排比例 field, 日减排量 field).
    pollutants: Vec<(&'static str, FieldView, FieldView)>,
}

#[derive(Template)]
#[template(path = "emergency_row.html")]
struct RowPage {
    layout: Layout,
    /// The form's target and heading.
    action: String,
    heading: String,
    /// The list version the form was opened on.
    base: i64,
    /// A refusal not tied to one field.
    general: Option<String>,
    fields: Vec<FieldView>,
    baselines: Vec<FieldView>,
    levels: Vec<LevelView>,
}

fn grade_options() -> Vec<(String, String)> {
    std::iter::once((String::new(), "未分级".to_owned()))
        .chain(
            Grade::ALL
                .iter()
                .map(|g| (g.label().to_owned(), g.label().to_owned())),
        )
        .collect()
}

fn exemption_options() -> Vec<(String, String)> {
    std::iter::once((String::new(), "无".to_owned()))
        .chain(
            Exemption::ALL
                .iter()
                .map(|x| (x.label().to_owned(), x.label().to_owned())),
        )
        .collect()
}

fn kind_options() -> Vec<(String, String)> {
    std::iter::once((String::new(), "按措施内容判断（均空为无措施）".to_owned()))
        .chain(
            MeasureKind::ALL
                .iter()
                .map(|k| (k.label().to_owned(), k.label().to_owned())),
        )
        .collect()
}

/// The form as typed (or as stored) with the refusals next to their
/// fields.
fn row_page(
    me: &PageUser,
    action: String,
    heading: String,
    base: i64,
    values: &[(String, String)],
    errors: &[(String, String)],
) -> RowPage {
    let value = |k: &str| {
        values
            .iter()
            .find(|(n, _)| n == k)
            .map_or_else(String::new, |(_, v)| v.clone())
    };
    let error = |k: &str| {
        let found: Vec<&str> = errors
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, m)| m.as_str())
            .collect();
        (!found.is_empty()).then(|| found.join("；"))
    };
    let field = |k: &str, label: &str, mut options: Vec<(String, String)>, narrow: bool| {
        let v = value(k);
        // A value no option has (a hostile post) stays shown as typed.
        if !options.is_empty() && !options.iter().any(|(o, _)| *o == v) {
            options.push((v.clone(), v.clone()));
        }
        FieldView {
            key: k.to_owned(),
            label: label.to_owned(),
            value: v,
            options,
            error: error(k),
            narrow,
        }
    };
    let fields = vec![
        field("enterprise", "企业名称", Vec::new(), false),
        field("credit_code", "统一社会信用代码", Vec::new(), false),
        field("industry", "行业类别", Vec::new(), false),
        field("grade", "绩效分级", grade_options(), false),
        field(
            "exemption",
            "豁免依据（保障类型）",
            exemption_options(),
            false,
        ),
        field("line", "生产线（工序），空为全厂", Vec::new(), false),
    ];
    let mut baselines = vec![field(
        "baseline_kwh",
        "正常工况日用电量（kWh/日）",
        Vec::new(),
        true,
    )];
    for p in Pollutant::ALL {
        baselines.push(field(
            &format!("baseline_{}", p.code()),
            &format!("{}正常工况日排放量（kg/日）", p.label()),
            Vec::new(),
            true,
        ));
    }
    let levels = WarningLevel::ALL
        .iter()
        .map(|l| {
            let c = l.code();
            LevelView {
                label: l.label(),
                code: c,
                fields: vec![
                    field(&format!("{c}_kind"), "措施类型", kind_options(), false),
                    field(&format!("{c}_text"), "减排措施", Vec::new(), false),
                    field(
                        &format!("{c}_units"),
                        "停限产生产线或工序",
                        Vec::new(),
                        false,
                    ),
                    field(&format!("{c}_load"), "负荷上限（%）", Vec::new(), true),
                    field(&format!("{c}_hours"), "错峰时段", Vec::new(), false),
                ],
                pollutants: Pollutant::ALL
                    .iter()
                    .map(|p| {
                        (
                            p.label(),
                            field(
                                &format!("{c}_pct_{}", p.code()),
                                &format!("{}减排比例（%）", p.label()),
                                Vec::new(),
                                true,
                            ),
                            field(
                                &format!("{c}_kg_{}", p.code()),
                                &format!("{}日减排量（kg/日）", p.label()),
                                Vec::new(),
                                true,
                            ),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let general = {
        let found: Vec<&str> = errors
            .iter()
            .filter(|(n, _)| n.is_empty())
            .map(|(_, m)| m.as_str())
            .collect();
        if !found.is_empty() {
            Some(found.join("；"))
        } else if !errors.is_empty() {
            Some("未保存：请按提示修改标红的栏目（清单未变）".to_owned())
        } else {
            None
        }
    };
    RowPage {
        layout: Layout::new(&me.user, &me.csrf, "emergency"),
        action,
        heading,
        base,
        general,
        fields,
        baselines,
        levels,
    }
}

fn refused_page(page: RowPage) -> Response {
    let mut r = render(page);
    *r.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    r
}

async fn new_form(State(state): State<AppState>, me: PageUser) -> Response {
    if !may_edit(me.user.role) {
        return forbidden(&me);
    }
    match list_edit::editable_list(&state.db).await {
        Ok(Some(l)) => render(row_page(
            &me,
            "/emergency/list/rows".into(),
            format!(
                "新增企业（{} 采暖季，第 {} 版清单）",
                l.list.season, l.list.id
            ),
            l.list.id,
            &[],
            &[],
        )),
        Ok(None) => no_list(&me),
        Err(e) => super::super::fail(&me, "emergency", e.into()),
    }
}

fn no_list(me: &PageUser) -> Response {
    error_page(
        Layout::new(&me.user, &me.csrf, "emergency").error(Some(
            "尚未导入应急减排清单：请先在预警应急页导入清单文件".into(),
        )),
        axum::http::StatusCode::NOT_FOUND,
    )
}

async fn edit_form(State(state): State<AppState>, me: PageUser, Path(id): Path<i64>) -> Response {
    if !may_edit(me.user.role) {
        return forbidden(&me);
    }
    let l = match list_edit::editable_list(&state.db).await {
        Ok(Some(l)) => l,
        Ok(None) => return no_list(&me),
        Err(e) => return super::super::fail(&me, "emergency", e.into()),
    };
    let Some((_, entry)) = l.rows.iter().find(|(i, _)| *i == id) else {
        return error_page(
            Layout::new(&me.user, &me.csrf, "emergency").error(Some(
                "该行不在现行清单中（清单可能已更新），请回到清单页重新选择".into(),
            )),
            axum::http::StatusCode::NOT_FOUND,
        );
    };
    render(row_page(
        &me,
        format!("/emergency/list/rows/{id}"),
        format!(
            "编辑第 {} 行：{}（{} 采暖季，第 {} 版清单）",
            entry.line, entry.enterprise, l.list.season, l.list.id
        ),
        l.list.id,
        &form_values(entry),
        &[],
    ))
}

/// The posted form: the CSRF token, the base version and the row's
/// fields (only the known ones are kept).
struct Posted {
    csrf: String,
    base: i64,
    values: Vec<(String, String)>,
}

fn posted(fields: Vec<(String, String)>) -> Posted {
    let known = form_fields();
    let mut p = Posted {
        csrf: String::new(),
        base: 0,
        values: Vec::new(),
    };
    for (name, value) in fields {
        match name.as_str() {
            "csrf" => p.csrf = value,
            "list" => p.base = value.trim().parse().unwrap_or(0),
            k if known.iter().any(|(key, _)| key == k)
                && !p.values.iter().any(|(n, _)| *n == name) =>
            {
                p.values.push((name, value));
            }
            _ => {}
        }
    }
    p
}

async fn add_row(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Response {
    save(state, me, RowChange::Add, fields).await
}

async fn save_row(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Response {
    save(state, me, RowChange::Edit(id), fields).await
}

async fn save(
    state: AppState,
    me: PageUser,
    change: RowChange,
    fields: Vec<(String, String)>,
) -> Response {
    let p = posted(fields);
    if let Err(r) = check_csrf(&me, &p.csrf) {
        return r;
    }
    if !may_edit(me.user.role) {
        return forbidden(&me);
    }
    let (action, heading) = match change {
        RowChange::Edit(id) => (
            format!("/emergency/list/rows/{id}"),
            "编辑清单行".to_owned(),
        ),
        RowChange::Add => ("/emergency/list/rows".to_owned(), "新增企业".to_owned()),
    };
    match list_edit::save_row(&state.db, &me.actor(), p.base, change, &p.values).await {
        Ok(Ok(saved)) => Redirect::to(&format!(
            "/emergency/list?ok=saved&list={}#list-rows",
            saved.list.id
        ))
        .into_response(),
        Ok(Err(errors)) => refused_page(row_page(&me, action, heading, p.base, &p.values, &errors)),
        Err(e) => refused_page(row_page(
            &me,
            action,
            heading,
            p.base,
            &p.values,
            &[(String::new(), error_text(&e.into()))],
        )),
    }
}

async fn delete_row(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Response {
    let p = posted(fields);
    if let Err(r) = check_csrf(&me, &p.csrf) {
        return r;
    }
    if !may_edit(me.user.role) {
        return forbidden(&me);
    }
    match list_edit::delete_row(&state.db, &me.actor(), p.base, id).await {
        Ok(list) => Redirect::to(&format!(
            "/emergency/list?ok=deleted&list={}#list-rows",
            list.id
        ))
        .into_response(),
        Err(e) => error_page(
            Layout::new(&me.user, &me.csrf, "emergency").error(Some(error_text(&e.into()))),
            axum::http::StatusCode::BAD_REQUEST,
        ),
    }
}
