//! 消息推送: the administrator's channels (e-mail, Webhook, 企业微信/钉钉
//! robots, SMS) with a test message and the delivery log; and each user's
//! 接收设置 (which messages reach them by e-mail or SMS, at which address).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gongjian_notify::Channel;
use gongjian_standards::cst;
use gongjian_storage::{NOTIFY_KINDS, Subscription};
use serde::Deserialize;

use super::{Layout, check_csrf, error_text, fail, forbidden, render};
use crate::AppState;
use crate::api::notify::{self as api, ChannelBody, is_admin};
use crate::session::PageUser;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/system/notify", get(admin_page).post(admin_save))
        .route("/system/notify/{id}/test", post(admin_test))
        .route("/inbox/settings", get(settings_page).post(settings_save))
}

type Fields = Vec<(String, String)>;

fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn kinds() -> Vec<(&'static str, &'static str)> {
    NOTIFY_KINDS
        .iter()
        .copied()
        .filter(|(k, _)| *k != "test")
        .collect()
}

fn kind_names(events: &[String]) -> String {
    if events.is_empty() {
        return "全部".into();
    }
    events
        .iter()
        .map(|e| {
            NOTIFY_KINDS
                .iter()
                .find(|(k, _)| k == e)
                .map(|(_, l)| *l)
                .unwrap_or("未知")
        })
        .collect::<Vec<_>>()
        .join("、")
}

// ------------------------------------------------------------ administrator

struct ChannelLine {
    id: i64,
    name: String,
    kind_label: &'static str,
    target: String,
    events: String,
    enabled: bool,
    personal: bool,
}

struct DeliveryLine {
    at: String,
    channel: String,
    address: String,
    title: String,
    state: &'static str,
    failed: bool,
    attempts: i64,
    error: String,
}

/// The channel form's values (what was typed, or the channel being edited
/// with its secrets masked).
#[derive(Default)]
struct Draft {
    id: Option<i64>,
    name: String,
    kind: String,
    host: String,
    port: String,
    from: String,
    username: String,
    password: String,
    url: String,
    secret: String,
    body: String,
    events: Vec<String>,
    enabled: bool,
}

impl Draft {
    fn of(id: i64, name: &str, c: &Channel, events: &[String], enabled: bool) -> Draft {
        let mut d = Draft {
            id: Some(id),
            name: name.to_owned(),
            kind: c.kind().to_owned(),
            events: events.to_vec(),
            enabled,
            ..Draft::default()
        };
        match c.masked() {
            Channel::Email {
                host,
                port,
                from,
                username,
                password,
            } => {
                (d.host, d.port, d.from, d.username, d.password) =
                    (host, port.to_string(), from, username, password)
            }
            Channel::Webhook { url, secret } | Channel::Dingtalk { url, secret } => {
                (d.url, d.secret) = (url, secret)
            }
            Channel::Wecom { url } => d.url = url,
            Channel::Sms { url, body } => (d.url, d.body) = (url, body),
        }
        d
    }

    fn from_form(f: &Fields) -> Draft {
        Draft {
            id: field(f, "id").parse().ok(),
            name: field(f, "name").to_owned(),
            kind: field(f, "kind").to_owned(),
            host: field(f, "host").trim().to_owned(),
            port: field(f, "port").trim().to_owned(),
            from: field(f, "from").trim().to_owned(),
            username: field(f, "username").to_owned(),
            password: field(f, "password").to_owned(),
            url: field(f, "url").trim().to_owned(),
            secret: field(f, "secret").to_owned(),
            body: field(f, "body").to_owned(),
            events: kinds()
                .iter()
                .filter(|(k, _)| !field(f, &format!("ev.{k}")).is_empty())
                .map(|(k, _)| k.to_string())
                .collect(),
            enabled: !field(f, "enabled").is_empty(),
        }
    }

    fn channel(&self) -> Result<Channel, String> {
        Ok(match self.kind.as_str() {
            "email" => Channel::Email {
                host: self.host.clone(),
                port: self
                    .port
                    .parse()
                    .map_err(|_| format!("SMTP 端口“{}”应为 1–65535 的整数", clip(&self.port)))?,
                from: self.from.clone(),
                username: self.username.clone(),
                password: self.password.clone(),
            },
            "webhook" => Channel::Webhook {
                url: self.url.clone(),
                secret: self.secret.clone(),
            },
            "wecom" => Channel::Wecom {
                url: self.url.clone(),
            },
            "dingtalk" => Channel::Dingtalk {
                url: self.url.clone(),
                secret: self.secret.clone(),
            },
            "sms" => Channel::Sms {
                url: self.url.clone(),
                body: self.body.clone(),
            },
            _ => return Err("请选择通道类型".into()),
        })
    }

    fn wants(&self, kind: &&str) -> bool {
        self.events.iter().any(|e| e == kind)
    }
}

fn clip(s: &str) -> String {
    s.chars().take(20).collect()
}

#[derive(Template)]
#[template(path = "notify_admin.html")]
struct AdminPage {
    layout: Layout,
    channels: Vec<ChannelLine>,
    draft: Draft,
    kinds: Vec<(&'static str, &'static str)>,
    deliveries: Vec<DeliveryLine>,
}

#[derive(Deserialize)]
struct AdminQuery {
    edit: Option<i64>,
    ok: Option<String>,
}

const SYSTEM: &str = "system";

async fn admin_view(
    state: &AppState,
    me: &PageUser,
    draft: Draft,
    ok: Option<String>,
    error: Option<String>,
) -> Result<Response, crate::error::ApiError> {
    let channels = gongjian_app::notify::channels(&state.db).await?;
    let lines = channels
        .iter()
        .map(|c| ChannelLine {
            id: c.row.id,
            name: c.row.name.clone(),
            kind_label: c.kind_label,
            target: match &c.settings {
                Channel::Email {
                    host, port, from, ..
                } => format!("{host}:{port}（发件人 {from}）"),
                Channel::Webhook { url, .. }
                | Channel::Wecom { url }
                | Channel::Dingtalk { url, .. }
                | Channel::Sms { url, .. } => url.clone(),
            },
            events: if c.row.personal {
                "由各用户选择".into()
            } else {
                kind_names(&c.row.events)
            },
            enabled: c.row.enabled,
            personal: c.row.personal,
        })
        .collect();
    let deliveries = state
        .db
        .notify()
        .notify_deliveries(100)
        .await?
        .into_iter()
        .map(|d| DeliveryLine {
            at: cst::local_minutes_text(d.created_at),
            channel: d.channel,
            address: d.address,
            title: d.title,
            state: match d.state.as_str() {
                "sent" => "已发送",
                "failed" => "失败",
                _ if d.attempts > 0 => "待重试",
                _ => "待发送",
            },
            failed: d.state == "failed" || !d.last_error.is_empty(),
            attempts: d.attempts,
            error: d.last_error,
        })
        .collect();
    let mut layout = Layout::new(&me.user, &me.csrf, SYSTEM);
    layout.flash_ok = ok;
    layout.flash_error = error;
    Ok(render(AdminPage {
        layout,
        channels: lines,
        draft,
        kinds: kinds(),
        deliveries,
    }))
}

async fn admin_page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<AdminQuery>,
) -> Response {
    if !is_admin(&me.user) {
        return forbidden(&me);
    }
    let draft = match q.edit {
        Some(id) => match state.db.notify().notify_channel(id).await {
            Ok(row) => match gongjian_app::notify::channel_of(&row) {
                Ok(c) => Draft::of(row.id, &row.name, &c, &row.events, row.enabled),
                Err(e) => return fail(&me, SYSTEM, e.into()),
            },
            Err(e) => return fail(&me, SYSTEM, e.into()),
        },
        None => Draft {
            kind: "wecom".into(),
            enabled: true,
            ..Draft::default()
        },
    };
    let ok = match q.ok.as_deref() {
        Some("saved") => Some("通道已保存".to_owned()),
        Some("test") => Some("测试消息已排队，几秒后在下方投递记录中查看结果".to_owned()),
        _ => None,
    };
    admin_view(&state, &me, draft, ok, None)
        .await
        .unwrap_or_else(|e| fail(&me, SYSTEM, e))
}

async fn admin_save(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(fields): axum::Form<Fields>,
) -> Response {
    if let Err(r) = check_csrf(&me, field(&fields, "csrf")) {
        return r;
    }
    if !is_admin(&me.user) {
        return forbidden(&me);
    }
    let draft = Draft::from_form(&fields);
    let saved = match draft.channel() {
        Ok(settings) => {
            let body = ChannelBody {
                name: draft.name.clone(),
                settings,
                events: draft.events.clone(),
                enabled: draft.enabled,
            };
            api::save_channel_as(&state, &me.actor(), draft.id, body)
                .await
                .map_err(|e| error_text(&e))
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Redirect::to("/system/notify?ok=saved").into_response(),
        // What was typed stays in the form.
        Err(message) => admin_view(&state, &me, draft, None, Some(message))
            .await
            .unwrap_or_else(|e| fail(&me, SYSTEM, e)),
    }
}

async fn admin_test(
    State(state): State<AppState>,
    me: PageUser,
    Path(id): Path<i64>,
    axum::Form(fields): axum::Form<Fields>,
) -> Response {
    if let Err(r) = check_csrf(&me, field(&fields, "csrf")) {
        return r;
    }
    if !is_admin(&me.user) {
        return forbidden(&me);
    }
    match api::test_channel_as(&state, &me.actor(), id, field(&fields, "address")).await {
        Ok(_) => Redirect::to("/system/notify?ok=test").into_response(),
        Err(e) => admin_view(
            &state,
            &me,
            Draft {
                kind: "wecom".into(),
                enabled: true,
                ..Draft::default()
            },
            None,
            Some(error_text(&e)),
        )
        .await
        .unwrap_or_else(|e| fail(&me, SYSTEM, e)),
    }
}

// ------------------------------------------------------------ each user

struct SettingLine {
    id: i64,
    name: String,
    kind_label: &'static str,
    email: bool,
    on: bool,
    address: String,
    events: Vec<String>,
}

impl SettingLine {
    fn wants(&self, kind: &&str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == kind)
    }
}

#[derive(Template)]
#[template(path = "notify_settings.html")]
struct SettingsPage {
    layout: Layout,
    lines: Vec<SettingLine>,
    kinds: Vec<(&'static str, &'static str)>,
}

const INBOX: &str = "cases";

async fn settings_view(
    state: &AppState,
    me: &PageUser,
    typed: Option<&Fields>,
    ok: Option<String>,
    error: Option<String>,
) -> Result<Response, crate::error::ApiError> {
    let mine = api::my_notify_as(state, &me.user).await?;
    let lines = mine
        .channels
        .iter()
        .map(|c| {
            let stored = mine.subscriptions.iter().find(|s| s.channel_id == c.id);
            let (on, address, events) = match typed {
                Some(f) => {
                    let (on, address, events) = subscription_of(f, c.id);
                    (on, address, events)
                }
                None => (
                    stored.is_some(),
                    stored.map(|s| s.address.clone()).unwrap_or_default(),
                    stored.map(|s| s.events.clone()).unwrap_or_default(),
                ),
            };
            SettingLine {
                id: c.id,
                name: c.name.clone(),
                kind_label: c.kind_label,
                email: c.kind == "email",
                on,
                address,
                events,
            }
        })
        .collect();
    let mut layout = Layout::new(&me.user, &me.csrf, INBOX);
    layout.flash_ok = ok;
    layout.flash_error = error;
    Ok(render(SettingsPage {
        layout,
        lines,
        kinds: kinds(),
    }))
}

/// Whether channel `id` is ticked, its address and the kinds ticked.
fn subscription_of(f: &Fields, id: i64) -> (bool, String, Vec<String>) {
    let on = !field(f, &format!("c{id}.on")).is_empty();
    let address = field(f, &format!("c{id}.address")).trim().to_owned();
    let events = kinds()
        .iter()
        .filter(|(k, _)| !field(f, &format!("c{id}.ev.{k}")).is_empty())
        .map(|(k, _)| k.to_string())
        .collect();
    (on, address, events)
}

#[derive(Deserialize)]
struct SettingsQuery {
    ok: Option<String>,
}

async fn settings_page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<SettingsQuery>,
) -> Response {
    let ok = q.ok.is_some().then(|| "接收设置已保存".to_owned());
    settings_view(&state, &me, None, ok, None)
        .await
        .unwrap_or_else(|e| fail(&me, INBOX, e))
}

async fn settings_save(
    State(state): State<AppState>,
    me: PageUser,
    axum::Form(fields): axum::Form<Fields>,
) -> Response {
    if let Err(r) = check_csrf(&me, field(&fields, "csrf")) {
        return r;
    }
    let channels = match api::my_notify_as(&state, &me.user).await {
        Ok(m) => m.channels,
        Err(e) => return fail(&me, INBOX, e),
    };
    let mut subs = Vec::new();
    let mut problems = Vec::new();
    for c in &channels {
        let (on, address, events) = subscription_of(&fields, c.id);
        if !on {
            continue;
        }
        if events.is_empty() {
            problems.push(format!("{}：请至少勾选一类消息", c.name));
        }
        subs.push(Subscription {
            channel_id: c.id,
            address,
            events,
        });
    }
    let saved = if problems.is_empty() {
        gongjian_app::notify::save_subscriptions(&state.db, &me.actor(), me.user.id, subs)
            .await
            .map_err(|e| error_text(&e.into()))
    } else {
        Err(problems.join("；"))
    };
    match saved {
        Ok(()) => Redirect::to("/inbox/settings?ok=1").into_response(),
        Err(message) => settings_view(&state, &me, Some(&fields), None, Some(message))
            .await
            .unwrap_or_else(|e| fail(&me, INBOX, e)),
    }
}
