//! Electricity-meter readings over the API (用电监控, issue 15 item 3): the
//! power company's system pushes JSON, the office uploads its spreadsheets;
//! both through `gongjian_app::power_readings`, all or nothing. For the
//! office and admins, with the session and its `X-CSRF-Token` as every
//! write.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gongjian_app::power_readings::{self, PushBody, ReadingsOutcome};

use super::campaign::{is_multipart, is_office, require_csrf_header};
use crate::AppState;
use crate::attachments;
use crate::error::{ApiError, ApiJson, ErrorCode};
use crate::session::ApiUser;

/// Largest JSON push: 50,000 readings of about 90 bytes each, with room.
pub(crate) const JSON_MAX_BYTES: usize = 6 * 1024 * 1024;

/// 200 with what was stored, or 422 with every problem (nothing stored).
fn answer(outcome: ReadingsOutcome) -> Response {
    let status = if outcome.refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, Json(outcome)).into_response()
}

#[utoipa::path(post, path = "/power/readings", summary = "推送用电监控读数（电力公司系统；攻坚办、管理员；有错整批不保存）", description = "请求体 {\"readings\": [{\"meter\": 站点编码或 MN, \"at\": 北京时间 \"YYYY-MM-DD HH:MM[:SS]\" 或 RFC 3339, \"Pt\": 有功功率 kW, \"Ept\": 有功电能 kWh, \"kind\": \"rtd\"|\"min\"|\"hour\"（默认 hour，时间为该小时开始）}]}，最多 50000 条；同一电表、类型、时间再次推送时以新值替换。", request_body(content = Object, content_type = "application/json"), params(("X-CSRF-Token" = String, Header, description = "会话的 csrf_token")), responses((status = 200, description = "已保存", body = Object), (status = 422, description = "有错误行（第 N 行「列」：原因），整批未保存", body = Object)))]
pub async fn push_readings(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<PushBody>,
) -> Result<Response, ApiError> {
    me.require(is_office(&me.user))?;
    let outcome = power_readings::push_json(&state.db, &me.actor(), &body).await?;
    Ok(answer(outcome))
}

#[utoipa::path(post, path = "/power/readings/import", summary = "导入用电监控读数 CSV（UTF-8/GBK）/XLSX（攻坚办、管理员；有错整表不保存）", description = "列：电表（站点编码或 MN）、时间、有功功率(kW) 和/或 有功电能(kWh)，可选 数据类型（rtd/min/hour，默认 hour）。", request_body(content((crate::api::doc::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (crate::api::doc::Binary = "text/csv"), (crate::api::doc::FileUpload = "multipart/form-data"))), params(("X-Filename" = Option<String>, Header, description = "文件名（用于提示，可百分号编码）"), ("X-CSRF-Token" = String, Header, description = "会话的 csrf_token")), responses((status = 200, description = "已保存", body = Object), (status = 422, description = "有错误行（第 N 行「列」：原因），整表未保存", body = Object)))]
pub async fn import_readings(
    State(state): State<AppState>,
    me: ApiUser,
    req: Request,
) -> Result<Response, ApiError> {
    me.require(is_office(&me.user))?;
    require_csrf_header(&me, req.headers())?;
    let _permit = state.uploads.try_acquire(me.user.id)?;
    let (name, bytes) = body_file(&state, req).await?;
    let outcome = power_readings::import_file(&state.db, &me.actor(), &name, &bytes).await?;
    Ok(answer(outcome))
}

/// The uploaded file and its name: the multipart field `file`, or the
/// whole body (named by `X-Filename`), within the import size limit.
async fn body_file(state: &AppState, req: Request) -> Result<(String, Vec<u8>), ApiError> {
    let limit = state.campaign.import_max_bytes;
    let too_big = |e: &dyn std::fmt::Display| {
        ApiError::with_detail(
            ErrorCode::InvalidInput,
            format!(
                "导入文件无法读取（可能超过大小上限 {}）：{e}",
                attachments::human_size(limit)
            ),
        )
    };
    if is_multipart(req.headers()) {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| ApiError::with_detail(ErrorCode::InvalidInput, e.body_text()))?;
        while let Some(f) = mp.next_field().await.map_err(|e| too_big(&e))? {
            if f.name() == Some("file") {
                let name = f.file_name().unwrap_or_default().to_owned();
                let bytes = f.bytes().await.map_err(|e| too_big(&e))?;
                return Ok((name, bytes.to_vec()));
            }
        }
        Err(ApiError::with_detail(
            ErrorCode::InvalidInput,
            "缺少文件字段 file",
        ))
    } else {
        let name = req
            .headers()
            .get("x-filename")
            .map(|v| super::monitoring::file_name_header(v.as_bytes()))
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(
            req.into_body(),
            usize::try_from(limit).unwrap_or(usize::MAX),
        )
        .await
        .map_err(|e| too_big(&e))?;
        Ok((name, bytes.to_vec()))
    }
}
