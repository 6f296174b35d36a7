//! The OpenAPI side of the route table (see [`super::table`]): the document's
//! frame, the schemas that are not plain derives (error codes, file bodies,
//! enums owned by the storage crate) and the conventions every operation
//! shares (the error response, the security schemes).

use std::borrow::Cow;

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, RefOr, ResponseBuilder, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::error::{ErrorBody, ErrorCode};

/// The document's frame; the paths come from the route table.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "gongjian API",
        description = "攻坚平台 JSON API。错误响应为 Error（稳定错误码 code + 中文 message）。"
    ),
    components(schemas(ErrorBody, ErrorCode)),
    security(("session" = [], "csrf" = []))
)]
pub(crate) struct ApiDoc;

/// A file as the body of a request or a download.
pub(crate) struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Binary")
    }
}

/// A string schema whose values are the serde names of `values`.
fn string_enum<T: serde::Serialize>(values: &[T], description: &str) -> RefOr<Schema> {
    let names: Vec<String> = values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .description(Some(description))
        .into()
}

/// [`gongjian_storage::Role`], as its serde names.
pub(crate) struct RoleName;

impl PartialSchema for RoleName {
    fn schema() -> RefOr<Schema> {
        string_enum(&gongjian_storage::Role::ALL, "用户角色")
    }
}

impl ToSchema for RoleName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Role")
    }
}

/// [`gongjian_storage::OrgKind`], as its serde names.
pub(crate) struct OrgKindName;

impl PartialSchema for OrgKindName {
    fn schema() -> RefOr<Schema> {
        string_enum(&gongjian_storage::OrgKind::ALL, "单位类型")
    }
}

impl ToSchema for OrgKindName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("OrgKind")
    }
}

/// A site kind: its code or its Chinese label
/// ([`gongjian_storage::SITE_KINDS`]).
pub(crate) struct SiteKindName;

impl PartialSchema for SiteKindName {
    fn schema() -> RefOr<Schema> {
        let names: Vec<&str> = gongjian_storage::SITE_KINDS
            .iter()
            .flat_map(|(code, label)| [*code, *label])
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .description(Some("站点类型（代码或中文名称）"))
            .into()
    }
}

impl ToSchema for SiteKindName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SiteKind")
    }
}

/// An air station class: its code or its Chinese label.
pub(crate) struct StationClassName;

impl PartialSchema for StationClassName {
    fn schema() -> RefOr<Schema> {
        let names: Vec<&str> = gongjian_campaign::StationClass::ALL
            .iter()
            .flat_map(|c| [c.code(), c.label()])
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .description(Some("空气站类别（代码或中文名称）"))
            .into()
    }
}

impl ToSchema for StationClassName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("StationClass")
    }
}

/// What an air station counts for: a code, `class` or a Chinese label.
pub(crate) struct ScopeSettingName;

impl PartialSchema for ScopeSettingName {
    fn schema() -> RefOr<Schema> {
        let names: Vec<&str> = gongjian_campaign::ScopeSetting::ALL
            .iter()
            .flat_map(|c| [c.form_value(), c.label()])
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .description(Some("考核范围（代码或中文名称；class 为按站点类别）"))
            .into()
    }
}

impl ToSchema for ScopeSettingName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("StationScope")
    }
}

/// The stable error codes, from [`ErrorCode::all`] (the fixed codes and one
/// per business rule), each with its status
/// and message in the description.
impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        let all = ErrorCode::all();
        let table: Vec<String> = all
            .iter()
            .map(|c| format!("{} ({}): {}", c.code(), c.status().as_u16(), c.message()))
            .collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(all.iter().map(|c| c.code())))
            .description(Some(format!("稳定错误码：\n{}", table.join("\n"))))
            .into()
    }
}

impl ToSchema for ErrorCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// What every operation shares: the error response (any status an error
/// can have, the body [`ErrorBody`]) and the security schemes.
pub(crate) fn apply_conventions(api: &mut OpenApi) {
    let error = ResponseBuilder::new()
        .description("错误：稳定错误码 code 及中文说明 message（见 ErrorCode）")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Error",
                ))))
                .build(),
        )
        .build();
    for item in api.paths.paths.values_mut() {
        for op in operations_mut(item) {
            op.responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| RefOr::T(error.clone()));
        }
    }
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("gongjian_session"))),
    );
    components.add_security_scheme(
        "csrf",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-CSRF-Token",
            "会话的 csrf_token（GET /api/v1/me），POST/PUT/PATCH/DELETE 必须携带",
        ))),
    );
}

/// `{id}` in a path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct IdPath {
    /// 记录编号
    id: i64,
}

/// `{month}` in a path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct MonthPath {
    /// 月份，YYYY-MM
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    month: String,
}

/// `{month}` and `{version}` in a path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct MonthVersionPath {
    /// 月份，YYYY-MM
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    month: String,
    /// 发布版本号
    version: i64,
}

/// A multipart upload of one spreadsheet in the field `file`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FileUpload {
    /// XLSX 或 CSV 文件
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A progress report as a multipart form: `text`, `claims_complete`,
/// `value:<指标名>` fields and `attachment` files.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct ReportUpload {
    /// 进展说明
    text: Option<String>,
    /// 是否申请完成（1/true/on/yes/是）
    claims_complete: Option<String>,
    /// 附件（可多个）
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    attachment: Option<Vec<Vec<u8>>>,
}

/// A fire point as a multipart form, with `attachment` evidence files.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FirePointUpload {
    /// 乡镇名称
    township: String,
    /// 日期 YYYY-MM-DD
    #[schema(value_type = String, format = Date)]
    date: String,
    /// 位置
    place: String,
    /// 类型
    kind: String,
    /// 备注
    note: Option<String>,
    /// 证据文件（可多个）
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    attachment: Option<Vec<Vec<u8>>>,
}

/// The city's notice of a warning as a multipart upload: one or more
/// files in the field `file`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct NoticeUpload {
    /// 通知文件（PDF、图片或 Office 文档，可多个）
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
}
