//! The JSON API under `/api/v1`. Errors are `{"code": "E…", "message": "…"}`
//! (see [`crate::error`]). Writes with a session cookie need the session's
//! token in the `X-CSRF-Token` header (from `GET /api/v1/me`) and are
//! refused from another origin; see [`crate::csrf`].

mod audit;
mod auth;
pub(crate) mod campaign;
pub(crate) mod monitoring;
mod organisations;
pub(crate) mod targets;
mod users;

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::AppState;

pub(crate) use audit::{AuditQuery, audit_csv_response, cst};
pub(crate) use auth::{change_own_password, end_session, start_session};
pub(crate) use organisations::{
    may_read as may_read_organisation, may_write as may_write_organisation,
};

/// Every API route: method, path (relative to `/api/v1`), summary. The
/// router and the OpenAPI document are both built from this list; a test
/// checks that each route answers.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("post", "/auth/login", "登录：用户名和密码换取会话 Cookie"),
    ("post", "/auth/logout", "退出登录"),
    ("get", "/me", "当前用户"),
    ("post", "/me/password", "修改本人密码"),
    ("get", "/users", "用户列表（管理员）"),
    ("post", "/users", "新建用户（管理员）"),
    ("get", "/users/{id}", "用户详情（管理员）"),
    (
        "patch",
        "/users/{id}",
        "修改用户：姓名、角色、单位、停用（管理员）",
    ),
    ("post", "/users/{id}/password", "重置用户密码（管理员）"),
    (
        "get",
        "/organisations",
        "单位列表（部门、乡镇、企业只见本单位）",
    ),
    ("post", "/organisations", "新建单位（管理员、攻坚办）"),
    ("get", "/organisations/{id}", "单位详情"),
    ("put", "/organisations/{id}", "修改单位（管理员、攻坚办）"),
    ("get", "/audit", "审计日志（管理员、攻坚办）"),
    ("get", "/audit.csv", "审计日志导出 CSV（管理员、攻坚办）"),
    (
        "get",
        "/sites",
        "监测站点列表（含最新值；企业、乡镇只见本单位站点）",
    ),
    (
        "post",
        "/sites",
        "登记站点：类型、企业、乡镇、坐标、数采仪、因子（管理员、攻坚办）",
    ),
    ("get", "/sites.csv", "站点导出 CSV"),
    ("get", "/sites.xlsx", "站点导出 XLSX"),
    (
        "post",
        "/sites/import",
        "站点导入（CSV/XLSX 请求体，管理员、攻坚办）",
    ),
    ("get", "/sites/{id}", "站点详情"),
    ("put", "/sites/{id}", "修改站点（管理员、攻坚办）"),
    (
        "get",
        "/sites/{id}/series",
        "站点监测数据（?kind=rtd|min|hour|day&from&to）",
    ),
    (
        "get",
        "/sites/{id}/series.csv",
        "监测数据导出 CSV（含单位、均值周期、标记）",
    ),
    ("get", "/sites/{id}/series.xlsx", "监测数据导出 XLSX"),
    ("get", "/devices/health", "数采仪运行状况（攻坚办）"),
    ("get", "/hj212/quarantine", "隔离帧（攻坚办）"),
    ("get", "/plans", "攻坚计划及其版本（每次载入的变更）"),
    ("get", "/plan-targets", "计划目标（二、工作目标）"),
    (
        "get",
        "/tasks",
        "任务列表（?plan&group&organisation_id&status&due_before；部门、乡镇只见本单位）",
    ),
    (
        "get",
        "/tasks.xlsx",
        "任务台账导出 XLSX（每个责任分工一行）",
    ),
    (
        "post",
        "/tasks/import",
        "按台账格式导入进展 XLSX（有错整表不导入，?valid_only=1 只导入正确行）",
    ),
    (
        "get",
        "/tasks/{id}",
        "任务详情：节点、指标、分工、报告、审核意见、状态记录",
    ),
    (
        "get",
        "/tasks/{id}/indicators",
        "任务指标随时间的报送值（仅审核通过的报告）及要求值",
    ),
    (
        "post",
        "/tasks/{id}/sign-off",
        "任务销号（攻坚办；各责任单位均已完成）",
    ),
    (
        "get",
        "/assignments",
        "责任分工列表（部门、乡镇只见本单位）",
    ),
    ("get", "/assignments/{id}/reports", "分工的进展报告"),
    (
        "post",
        "/assignments/{id}/reports",
        "报送进展（JSON 或 multipart 含附件；只能报送本单位分工）",
    ),
    (
        "post",
        "/task-reports/{id}/review",
        "审核进展报告：通过或退回（攻坚办、牵头单位）",
    ),
    ("get", "/attachments/{id}", "下载附件"),
    (
        "get",
        "/fire-points",
        "秸秆焚烧火点台账及各乡镇月度扣款合计",
    ),
    (
        "post",
        "/fire-points",
        "登记火点（攻坚办；JSON，或 multipart 含证据文件 attachment）",
    ),
    ("post", "/fire-points/import", "导入火点 XLSX/CSV（攻坚办）"),
    (
        "get",
        "/targets",
        "攻坚目标：由监测数据计算的当前值、累计值、同比、余量",
    ),
    ("get", "/rankings", "乡镇与站点排名：综合指数及同比变化率"),
    ("get", "/reports/{month}", "月调度报告（实时计算）"),
    ("get", "/reports/{month}/xlsx", "月调度报告导出 XLSX"),
    (
        "get",
        "/reports/{month}/published",
        "已发布的月调度报告（冻结版本）",
    ),
    (
        "post",
        "/reports/{month}/publish",
        "发布月调度报告（攻坚办），生成新版本",
    ),
    (
        "get",
        "/reports/{month}/versions/{version}",
        "已发布报告的指定版本",
    ),
    ("get", "/openapi.json", "本 OpenAPI 文档"),
];

pub(crate) fn routes(limits: &crate::attachments::CampaignSettings) -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(auth::me))
        .route("/me/password", post(auth::change_password))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::get_one).patch(users::update))
        .route("/users/{id}/password", post(users::reset_password))
        .route(
            "/organisations",
            get(organisations::list).post(organisations::create),
        )
        .route(
            "/organisations/{id}",
            get(organisations::get_one).put(organisations::update),
        )
        .route("/audit", get(audit::list))
        .route("/audit.csv", get(audit::export_csv))
        .route("/sites", get(monitoring::list).post(monitoring::create))
        .route("/sites.csv", get(monitoring::sites_csv))
        .route("/sites.xlsx", get(monitoring::sites_xlsx))
        .route(
            "/sites/import",
            post(monitoring::import).layer(limits.import_body_limit()),
        )
        .route(
            "/sites/{id}",
            get(monitoring::get_one).put(monitoring::update),
        )
        .route("/sites/{id}/series", get(monitoring::series))
        .route("/sites/{id}/series.csv", get(monitoring::series_csv))
        .route("/sites/{id}/series.xlsx", get(monitoring::series_xlsx))
        .route("/devices/health", get(monitoring::health))
        .route("/hj212/quarantine", get(monitoring::quarantine))
        .route("/plans", get(campaign::plans))
        .route("/plan-targets", get(campaign::targets))
        .route("/tasks", get(campaign::tasks))
        .route("/tasks.xlsx", get(campaign::export_ledger))
        .route(
            "/tasks/import",
            post(campaign::import_progress).layer(limits.import_body_limit()),
        )
        .route("/tasks/{id}", get(campaign::task))
        .route("/tasks/{id}/indicators", get(campaign::task_indicators))
        .route("/tasks/{id}/sign-off", post(campaign::sign_off))
        .route("/assignments", get(campaign::assignments))
        .route(
            "/assignments/{id}/reports",
            get(campaign::assignment_reports)
                .post(campaign::create_report)
                .layer(limits.upload_body_limit()),
        )
        .route("/task-reports/{id}/review", post(campaign::review_report))
        .route("/attachments/{id}", get(campaign::attachment))
        .route(
            "/fire-points",
            get(campaign::fire_points)
                .post(campaign::create_fire_point)
                .layer(limits.upload_body_limit()),
        )
        .route(
            "/fire-points/import",
            post(campaign::import_fire_points).layer(limits.import_body_limit()),
        )
        .route("/targets", get(targets::api_targets))
        .route("/rankings", get(targets::api_rankings))
        .route("/reports/{month}", get(targets::api_report))
        .route("/reports/{month}/xlsx", get(targets::api_report_xlsx))
        .route("/reports/{month}/published", get(targets::api_published))
        .route("/reports/{month}/publish", post(targets::api_publish))
        .route(
            "/reports/{month}/versions/{version}",
            get(targets::api_report_version),
        )
        .route("/openapi.json", get(openapi_json))
        .fallback(not_found)
}

async fn not_found() -> crate::error::ApiError {
    crate::error::ApiError::new(crate::error::ErrorCode::NotFound)
}

async fn openapi_json() -> axum::Json<Value> {
    axum::Json(openapi())
}

/// The OpenAPI 3.1 description of [`ROUTES`].
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary) in ROUTES {
        let entry = paths
            .entry(format!("/api/v1{path}"))
            .or_insert_with(|| json!({}));
        let mut op = json!({
            "summary": summary,
            "responses": {
                "200": {"description": "成功"},
                "default": {"description": "错误", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        if path.contains("{id}") {
            op["parameters"] = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
        }
        if let Some(schema) = request_schema(method, path) {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": schema}}});
        }
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "gongjian API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "gongjian_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                    "description": "会话的 csrf_token（GET /api/v1/me），POST/PUT/PATCH/DELETE 必须携带"}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "稳定错误码，如 E1001"},
                        "message": {"type": "string", "description": "中文说明"},
                        "detail": {"type": "string"}
                    }
                }
            }
        },
        "security": [{"session": [], "csrf": []}]
    })
}

fn request_schema(method: &str, path: &str) -> Option<Value> {
    let string = json!({"type": "string"});
    let schema = match (method, path) {
        ("post", "/auth/login") => json!({"type": "object", "required": ["username", "password"],
            "properties": {"username": string, "password": string}}),
        ("post", "/me/password") => json!({"type": "object", "required": ["current", "new"],
            "properties": {"current": string, "new": string}}),
        ("post", "/users") => {
            json!({"type": "object", "required": ["username", "password", "role", "organisation_id"],
            "properties": {"username": string, "display_name": string, "password": string,
                "role": {"enum": ["admin", "office", "department", "township", "enterprise", "viewer"]},
                "organisation_id": {"type": "integer"}}})
        }
        ("patch", "/users/{id}") => json!({"type": "object",
            "properties": {"display_name": string, "role": string, "organisation_id": {"type": "integer"}, "disabled": {"type": "boolean"}}}),
        ("post", "/users/{id}/password") => json!({"type": "object", "required": ["password"],
            "properties": {"password": string}}),
        ("post", "/organisations") | ("put", "/organisations/{id}") => {
            json!({"type": "object", "required": ["name", "kind"],
            "properties": {"name": string, "kind": {"enum": ["office", "department", "township", "enterprise", "external"]},
                "parent_id": {"type": "integer"}}})
        }
        _ => return None,
    };
    Some(schema)
}
