//! Stable error codes for the API. The code never changes once published;
//! the Chinese message comes from one table here.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gongjian_storage::{Rule, StorageError};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    LoginFailed,
    Forbidden,
    NotFound,
    InvalidInput,
    Conflict,
    CsrfRejected,
    PasswordChangeRequired,
    WrongPassword,
    TooManyUploads,
    CrossSiteRejected,
    LoginThrottled,
    Internal,
    /// A write refused by a business rule (its own code, E2xxx).
    Rule(Rule),
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::Unauthenticated,
        ErrorCode::LoginFailed,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::InvalidInput,
        ErrorCode::Conflict,
        ErrorCode::CsrfRejected,
        ErrorCode::PasswordChangeRequired,
        ErrorCode::WrongPassword,
        ErrorCode::TooManyUploads,
        ErrorCode::CrossSiteRejected,
        ErrorCode::LoginThrottled,
        ErrorCode::Internal,
    ];

    /// Every code: the fixed ones and one per business rule.
    pub fn all() -> Vec<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .chain(Rule::ALL.into_iter().map(ErrorCode::Rule))
            .collect()
    }

    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::Rule(r) => r.code(),
            ErrorCode::Unauthenticated => "E1001",
            ErrorCode::LoginFailed => "E1002",
            ErrorCode::Forbidden => "E1003",
            ErrorCode::NotFound => "E1004",
            ErrorCode::InvalidInput => "E1005",
            ErrorCode::Conflict => "E1006",
            ErrorCode::CsrfRejected => "E1007",
            ErrorCode::PasswordChangeRequired => "E1008",
            ErrorCode::WrongPassword => "E1009",
            ErrorCode::TooManyUploads => "E1429",
            ErrorCode::CrossSiteRejected => "E1010",
            ErrorCode::LoginThrottled => "E1011",
            ErrorCode::Internal => "E5000",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::Unauthenticated | ErrorCode::LoginFailed => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden
            | ErrorCode::CsrfRejected
            | ErrorCode::CrossSiteRejected
            | ErrorCode::PasswordChangeRequired => StatusCode::FORBIDDEN,
            ErrorCode::LoginThrottled => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::InvalidInput | ErrorCode::WrongPassword => StatusCode::BAD_REQUEST,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::TooManyUploads => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            // The record is in a state that forbids the change.
            ErrorCode::Rule(
                Rule::TaskState | Rule::Review | Rule::CampaignState | Rule::CaseState,
            ) => StatusCode::CONFLICT,
            ErrorCode::Rule(_) => StatusCode::BAD_REQUEST,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "未登录或登录已过期，请重新登录",
            // One message for a wrong password, an unknown user, a disabled
            // account and a lock, so the answer reveals nothing.
            ErrorCode::LoginFailed => "用户名或密码错误，或账号已被暂时锁定",
            ErrorCode::Forbidden => "无权访问该资源",
            ErrorCode::NotFound => "资源不存在",
            ErrorCode::InvalidInput => "请求内容无效",
            ErrorCode::Conflict => "记录已存在",
            ErrorCode::CsrfRejected => "请求校验失败，请刷新页面后重试",
            ErrorCode::PasswordChangeRequired => "首次登录或密码被重置，请先修改密码",
            ErrorCode::WrongPassword => "当前密码不正确",
            ErrorCode::TooManyUploads => "同时上传的文件过多，请稍后再试",
            ErrorCode::CrossSiteRejected => "跨站请求被拒绝：请从本平台的页面提交",
            // Per address, whatever the account: reveals nothing about one.
            ErrorCode::LoginThrottled => "登录尝试过于频繁，请一分钟后再试",
            ErrorCode::Internal => "服务器内部错误，请稍后重试",
            ErrorCode::Rule(r) => r.message(),
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: Option<String>,
}

/// The body of every error answer of the API.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody<'a> {
    /// Stable error code (see `ErrorCode`).
    #[schema(value_type = ErrorCode)]
    code: &'static str,
    /// The code's Chinese message.
    message: &'static str,
    /// What exactly was wrong, in Chinese, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    detail: Option<&'a str>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> ApiError {
        ApiError { code, detail: None }
    }

    pub fn with_detail(code: ErrorCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            code,
            detail: Some(detail.into()),
        }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::new(code)
    }
}

impl From<crate::attachments::Busy> for ApiError {
    fn from(busy: crate::attachments::Busy) -> Self {
        match busy {
            // The code's message says it already.
            crate::attachments::Busy::User => ApiError::new(ErrorCode::TooManyUploads),
            crate::attachments::Busy::Server => {
                ApiError::with_detail(ErrorCode::TooManyUploads, busy.message())
            }
        }
    }
}

impl From<gongjian_app::AppError> for ApiError {
    fn from(err: gongjian_app::AppError) -> Self {
        match err {
            gongjian_app::AppError::Storage(e) => e.into(),
            gongjian_app::AppError::InvalidFile(msg) => {
                ApiError::with_detail(ErrorCode::InvalidInput, msg)
            }
            gongjian_app::AppError::Forbidden(msg) => {
                ApiError::with_detail(ErrorCode::Forbidden, msg)
            }
            e @ (gongjian_app::AppError::NoCampaign { .. }
            | gongjian_app::AppError::UnknownCampaign(_)) => {
                ApiError::with_detail(ErrorCode::NotFound, e.to_string())
            }
            // Needs the office to load the plan again: say so, do not hide it.
            e @ gongjian_app::AppError::PlanNotStored(_) => {
                ApiError::with_detail(ErrorCode::Conflict, e.to_string())
            }
            other @ (gongjian_app::AppError::EmbeddedPlan(_)
            | gongjian_app::AppError::StoredPlan(..)) => {
                tracing::error!(error = %other, "plan");
                ApiError::with_detail(ErrorCode::Internal, other.to_string())
            }
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::NotFound { .. } => {
                ApiError::with_detail(ErrorCode::NotFound, err.chinese().unwrap_or_default())
            }
            StorageError::Conflict { .. } => {
                ApiError::with_detail(ErrorCode::Conflict, err.chinese().unwrap_or_default())
            }
            StorageError::Rule { rule, detail } => {
                ApiError::with_detail(ErrorCode::Rule(rule), detail)
            }
            // A reference to a record that does not exist (an organisation
            // id that names none) is the client's error, not the server's.
            StorageError::Sql(ref e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_foreign_key_violation()) =>
            {
                ApiError::with_detail(ErrorCode::InvalidInput, "引用的单位或记录不存在")
            }
            other => {
                tracing::error!(error = %other, "storage error");
                ApiError::new(ErrorCode::Internal)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.code(),
            message: self.code.message(),
            detail: self.detail.as_deref(),
        };
        (self.code.status(), Json(body)).into_response()
    }
}

/// A JSON body that answers a malformed request with our error format
/// instead of axum's plain-text rejection.
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(ApiError::with_detail(
                ErrorCode::InvalidInput,
                rejection.body_text(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_stable() {
        let codes: Vec<_> = ErrorCode::all().iter().map(|c| c.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        // Published codes: changing one breaks clients.
        assert_eq!(ErrorCode::Unauthenticated.code(), "E1001");
        assert_eq!(ErrorCode::Forbidden.code(), "E1003");
        assert_eq!(ErrorCode::Internal.code(), "E5000");
    }
}
