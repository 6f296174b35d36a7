//! Outbound notification settings over the API: the administrator's
//! channels (secrets never answered), a test message, the delivery log,
//! and each user's own choices. The pages call the `*_as` functions.

use axum::Json;
use axum::extract::{Path, State};
use gongjian_app::notify::{self, ChannelView};
use gongjian_notify::Channel;
use gongjian_storage::{Actor, DeliveryRow, NOTIFY_KINDS, Role, Subscription, User};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiJson, ErrorCode};
use crate::session::ApiUser;

pub(crate) fn is_admin(user: &User) -> bool {
    user.role == Role::Admin
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    pub name: String,
    /// `{"kind": "email" | "webhook" | "wecom" | "dingtalk" | "sms", …}`;
    /// a secret sent back as `******` keeps the stored one.
    #[schema(value_type = Object)]
    pub settings: Channel,
    /// Group channels: the kinds posted (empty: all).
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

pub(crate) async fn save_channel_as(
    state: &AppState,
    actor: &Actor,
    id: Option<i64>,
    body: ChannelBody,
) -> Result<i64, ApiError> {
    Ok(notify::save_channel(
        &state.db,
        actor,
        id,
        &body.name,
        body.settings,
        body.events,
        body.enabled,
    )
    .await?)
}

#[utoipa::path(get, path = "/notify-channels", summary = "消息推送通道（系统管理员；密钥不返回）", responses((status = 200, description = "通道", body = Object)))]
pub async fn list_channels(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Vec<ChannelView>>, ApiError> {
    me.require(is_admin(&me.user))?;
    Ok(Json(notify::channels(&state.db).await?))
}

#[utoipa::path(post, path = "/notify-channels", summary = "新增推送通道（系统管理员；留痕）", request_body = ChannelBody, responses((status = 200, description = "通道编号", body = Object)))]
pub async fn create_channel(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<ChannelBody>,
) -> Result<Json<Value>, ApiError> {
    me.require(is_admin(&me.user))?;
    let id = save_channel_as(&state, &me.actor(), None, body).await?;
    Ok(Json(json!({ "id": id })))
}

#[utoipa::path(put, path = "/notify-channels/{id}", summary = "修改推送通道（系统管理员；留痕）", params(crate::api::doc::IdPath), request_body = ChannelBody, responses((status = 200, description = "通道编号", body = Object)))]
pub async fn update_channel(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ChannelBody>,
) -> Result<Json<Value>, ApiError> {
    me.require(is_admin(&me.user))?;
    let id = save_channel_as(&state, &me.actor(), Some(id), body).await?;
    Ok(Json(json!({ "id": id })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    /// The address on a personal channel (e-mail, mobile); ignored by group channels.
    #[serde(default)]
    pub address: String,
}

pub(crate) async fn test_channel_as(
    state: &AppState,
    actor: &Actor,
    id: i64,
    address: &str,
) -> Result<i64, ApiError> {
    let channel = state.db.notify().notify_channel(id).await?;
    let address = address.trim();
    if channel.personal {
        gongjian_notify::check_address(&channel.kind, address)
            .map_err(|e| ApiError::with_detail(ErrorCode::InvalidInput, e))?;
    }
    Ok(state
        .db
        .notify()
        .queue_test_delivery(
            actor,
            id,
            address,
            &format!("测试消息：「{}」通道设置正确", channel.name),
        )
        .await?)
}

#[utoipa::path(post, path = "/notify-channels/{id}/test", summary = "发送一条测试消息（系统管理员；由下一轮投递发出）", params(crate::api::doc::IdPath), request_body = TestBody, responses((status = 200, description = "投递编号", body = Object)))]
pub async fn test_channel(
    State(state): State<AppState>,
    me: ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<TestBody>,
) -> Result<Json<Value>, ApiError> {
    me.require(is_admin(&me.user))?;
    let delivery = test_channel_as(&state, &me.actor(), id, &body.address).await?;
    Ok(Json(json!({ "delivery": delivery })))
}

#[utoipa::path(get, path = "/notify-deliveries", summary = "投递记录（最近 500 条；系统管理员）", responses((status = 200, description = "投递记录", body = Object)))]
pub async fn deliveries(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<Vec<DeliveryRow>>, ApiError> {
    me.require(is_admin(&me.user))?;
    Ok(Json(state.db.notify().notify_deliveries(500).await?))
}

/// A personal channel a user can choose, and the kinds of message.
#[derive(Debug, Serialize)]
pub struct MyNotify {
    pub channels: Vec<PersonalChannel>,
    pub subscriptions: Vec<Subscription>,
    pub kinds: Vec<Kind>,
}

#[derive(Debug, Serialize)]
pub struct PersonalChannel {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub kind_label: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Kind {
    pub code: &'static str,
    pub label: &'static str,
}

pub(crate) async fn my_notify_as(state: &AppState, user: &User) -> Result<MyNotify, ApiError> {
    let channels = state
        .db
        .notify()
        .notify_channels()
        .await?
        .into_iter()
        .filter(|c| c.personal && c.enabled)
        .map(|c| PersonalChannel {
            kind_label: gongjian_notify::kind_label(&c.kind),
            id: c.id,
            name: c.name,
            kind: c.kind,
        })
        .collect();
    Ok(MyNotify {
        channels,
        subscriptions: state.db.notify().notify_subscriptions(user.id).await?,
        kinds: NOTIFY_KINDS
            .iter()
            .filter(|(code, _)| *code != "test")
            .map(|(code, label)| Kind { code, label })
            .collect(),
    })
}

#[utoipa::path(get, path = "/me/notify", summary = "我的消息接收设置：可选的通道和已选内容", responses((status = 200, description = "接收设置", body = Object)))]
pub async fn my_notify(
    State(state): State<AppState>,
    me: ApiUser,
) -> Result<Json<MyNotify>, ApiError> {
    Ok(Json(my_notify_as(&state, &me.user).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyNotifyBody {
    /// Every choice (replaces the stored ones): `{channel_id, address, events}`.
    #[schema(value_type = Vec<Object>)]
    pub subscriptions: Vec<Subscription>,
}

#[utoipa::path(put, path = "/me/notify", summary = "保存我的消息接收设置（留痕）", request_body = MyNotifyBody, responses((status = 200, description = "接收设置", body = Object)))]
pub async fn put_my_notify(
    State(state): State<AppState>,
    me: ApiUser,
    ApiJson(body): ApiJson<MyNotifyBody>,
) -> Result<Json<MyNotify>, ApiError> {
    notify::save_subscriptions(&state.db, &me.actor(), me.user.id, body.subscriptions).await?;
    Ok(Json(my_notify_as(&state, &me.user).await?))
}
