//! Outbound notification channels: what the administrator configures
//! ([`Channel`], checked by [`Channel::problems`]) and one [`send`] per
//! delivery. Queueing, retries and who receives what are the storage's and
//! the service layer's: a send either succeeds or returns a [`SendError`]
//! whose Chinese text goes into the delivery log.
#![forbid(unsafe_code)]

mod http;
mod smtp;

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A configured channel. Personal channels (e-mail, SMS) send to each
/// subscribed user's own address; group channels (webhook, 企业微信, 钉钉
/// robots) post once to their group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Channel {
    /// E-mail through an SMTP relay (plain SMTP with optional AUTH PLAIN:
    /// the intranet relay of a government network; no TLS).
    Email {
        host: String,
        port: u16,
        from: String,
        #[serde(default)]
        username: String,
        #[serde(default)]
        password: String,
    },
    /// A generic JSON webhook; with a secret, the body is signed
    /// (`X-Gongjian-Signature: sha256=<hex HMAC-SHA256>`).
    Webhook {
        url: String,
        #[serde(default)]
        secret: String,
    },
    /// 企业微信 group robot (its webhook address with the key).
    Wecom { url: String },
    /// 钉钉 group robot; with a secret, the request is signed as 钉钉
    /// requires (timestamp and HMAC-SHA256 signature in the query).
    Dingtalk {
        url: String,
        #[serde(default)]
        secret: String,
    },
    /// An SMS gateway: `url` with `{phone}` and `{text}` placeholders; with
    /// a `body` template the request is a POST of that body (JSON-escaped
    /// values), else a GET.
    Sms {
        url: String,
        #[serde(default)]
        body: String,
    },
}

/// What secrets look like in the API's answers; sent back unchanged, the
/// stored secret is kept.
pub const MASK: &str = "******";

impl Channel {
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Email { .. } => "email",
            Channel::Webhook { .. } => "webhook",
            Channel::Wecom { .. } => "wecom",
            Channel::Dingtalk { .. } => "dingtalk",
            Channel::Sms { .. } => "sms",
        }
    }

    pub fn kind_label(&self) -> &'static str {
        kind_label(self.kind())
    }

    /// Sends to each user's own address (e-mail, SMS) rather than to a group.
    pub fn personal(&self) -> bool {
        matches!(self, Channel::Email { .. } | Channel::Sms { .. })
    }

    /// The channel with its secrets replaced by [`MASK`].
    pub fn masked(&self) -> Channel {
        let mask = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                MASK.into()
            }
        };
        match self.clone() {
            Channel::Email {
                host,
                port,
                from,
                username,
                password,
            } => Channel::Email {
                host,
                port,
                from,
                username,
                password: mask(&password),
            },
            Channel::Webhook { url, secret } => Channel::Webhook {
                url,
                secret: mask(&secret),
            },
            Channel::Wecom { url } => Channel::Wecom {
                url: mask_key(&url),
            },
            Channel::Dingtalk { url, secret } => Channel::Dingtalk {
                url: mask_key(&url),
                secret: mask(&secret),
            },
            sms @ Channel::Sms { .. } => sms,
        }
    }

    /// `self` with every secret that is [`MASK`] (or a masked robot URL)
    /// taken from `stored`: an edit that did not retype a secret keeps it.
    pub fn keeping_secrets_of(self, stored: &Channel) -> Channel {
        let keep = |new: String, old: &str| if new == MASK { old.to_owned() } else { new };
        match (self, stored) {
            (
                Channel::Email {
                    host,
                    port,
                    from,
                    username,
                    password,
                },
                Channel::Email { password: old, .. },
            ) => Channel::Email {
                host,
                port,
                from,
                username,
                password: keep(password, old),
            },
            (Channel::Webhook { url, secret }, Channel::Webhook { secret: old, .. }) => {
                Channel::Webhook {
                    url,
                    secret: keep(secret, old),
                }
            }
            (Channel::Wecom { url }, Channel::Wecom { url: old }) => Channel::Wecom {
                url: if url.contains(MASK) { old.clone() } else { url },
            },
            (
                Channel::Dingtalk { url, secret },
                Channel::Dingtalk {
                    url: old_url,
                    secret: old,
                },
            ) => Channel::Dingtalk {
                url: if url.contains(MASK) {
                    old_url.clone()
                } else {
                    url
                },
                secret: keep(secret, old),
            },
            (new, _) => new,
        }
    }

    /// Every problem of the settings, in Chinese (empty: it can be saved).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut url_ok = |url: &str, what: &str| {
            let scheme = url.starts_with("http://") || url.starts_with("https://");
            if !scheme || url.len() > 1000 || url.chars().any(|c| c.is_control() || c == ' ') {
                out.push(format!(
                    "{what}地址应以 http:// 或 https:// 开头，不含空格，不超过 1000 个字符"
                ));
            }
        };
        match self {
            Channel::Email {
                host,
                port,
                from,
                username,
                password,
            } => {
                if host.is_empty()
                    || host.len() > 253
                    || !host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                {
                    out.push("SMTP 服务器应为主机名或 IP 地址".into());
                }
                if *port == 0 {
                    out.push("SMTP 端口应为 1–65535".into());
                }
                if let Err(e) = check_address("email", from) {
                    out.push(format!("发件人{e}"));
                }
                if username.len() > 200 || password.len() > 200 {
                    out.push("SMTP 用户名和密码不能超过 200 个字符".into());
                }
                if username
                    .chars()
                    .chain(password.chars())
                    .any(char::is_control)
                {
                    out.push("SMTP 用户名和密码不能含控制字符".into());
                }
            }
            Channel::Webhook { url, secret } => {
                url_ok(url, "Webhook ");
                if secret.len() > 200 {
                    out.push("签名密钥不能超过 200 个字符".into());
                }
            }
            Channel::Wecom { url } => url_ok(url, "企业微信机器人"),
            Channel::Dingtalk { url, secret } => {
                url_ok(url, "钉钉机器人");
                if secret.len() > 200 {
                    out.push("加签密钥不能超过 200 个字符".into());
                }
            }
            Channel::Sms { url, body } => {
                url_ok(url, "短信网关");
                let all = format!("{url}{body}");
                if !all.contains("{phone}") || !all.contains("{text}") {
                    out.push("短信网关的地址或请求体须含 {phone} 和 {text} 两个占位符".into());
                }
                if body.len() > 2000 {
                    out.push("短信请求体模板不能超过 2000 个字符".into());
                }
            }
        }
        out
    }
}

/// The Chinese name of a channel kind.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "email" => "电子邮件",
        "webhook" => "Webhook",
        "wecom" => "企业微信群机器人",
        "dingtalk" => "钉钉群机器人",
        "sms" => "短信",
        _ => "未知",
    }
}

/// A robot URL with its key (the query) hidden.
fn mask_key(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?{MASK}"),
        None => url.to_owned(),
    }
}

/// Checks a user's address on a personal channel: an e-mail address or a
/// mobile number. The error is Chinese ("…格式不正确").
pub fn check_address(kind: &str, address: &str) -> Result<(), String> {
    match kind {
        "email" => {
            let ok = address.len() <= 254
                && address.split('@').count() == 2
                && address.split('@').all(|p| !p.is_empty())
                && address
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "@.-_+".contains(c))
                && address.rsplit('@').next().is_some_and(|d| d.contains('.'));
            if ok {
                Ok(())
            } else {
                Err(format!("邮箱「{}」格式不正确", clip(address)))
            }
        }
        "sms" => {
            let digits = address.strip_prefix('+').unwrap_or(address);
            let ok = (5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
            if ok {
                Ok(())
            } else {
                Err(format!("手机号「{}」格式不正确", clip(address)))
            }
        }
        _ => Ok(()),
    }
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// What a delivery says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The notification kind, e.g. `case_new`, `case_overdue`.
    pub kind: String,
    pub title: String,
    /// Where to look: an absolute address when the platform's public
    /// address is configured, else the path.
    pub link: String,
    /// Unix seconds when it happened.
    pub at: i64,
}

impl Message {
    /// The text a person reads (SMS, robots, the e-mail body).
    pub fn text(&self) -> String {
        format!("【攻坚】{}\n查看：{}", self.title, self.link)
    }
}

/// Why a delivery failed, in Chinese for the delivery log.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    #[error("连接失败：{0}")]
    Connect(String),
    #[error("超时未完成")]
    Timeout,
    #[error("对方拒收：{0}")]
    Refused(String),
    #[error("地址或设置无效：{0}")]
    Invalid(String),
}

/// Sends `message` over `channel` (to `address` on a personal channel),
/// giving up after `timeout`.
pub async fn send(
    channel: &Channel,
    address: &str,
    message: &Message,
    timeout: Duration,
) -> Result<(), SendError> {
    if channel.personal() {
        check_address(channel.kind(), address).map_err(SendError::Invalid)?;
    }
    let work = async {
        match channel {
            Channel::Email {
                host,
                port,
                from,
                username,
                password,
            } => {
                let mail = smtp::Mail {
                    from,
                    to: address,
                    subject: &format!("【攻坚】{}", message.title),
                    body: &format!(
                        "{}\r\n\r\n查看：{}\r\n\r\n—— 攻坚 · 污染防治攻坚平台（系统自动发送，请勿回复）",
                        message.title, message.link
                    ),
                };
                smtp::send(host, *port, username, password, &mail).await
            }
            Channel::Webhook { url, secret } => http::webhook(url, secret, message, timeout).await,
            Channel::Wecom { url } => http::wecom(url, message, timeout).await,
            Channel::Dingtalk { url, secret } => {
                http::dingtalk(url, secret, message, timeout).await
            }
            Channel::Sms { url, body } => http::sms(url, body, address, message, timeout).await,
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| SendError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_in_chinese() {
        let bad = Channel::Sms {
            url: "ftp://gw/send".into(),
            body: String::new(),
        };
        let p = bad.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[1].contains("{phone}"));
        let ok = Channel::Email {
            host: "mail.gov.local".into(),
            port: 25,
            from: "gongjian@mail.gov.local".into(),
            username: String::new(),
            password: String::new(),
        };
        assert!(ok.problems().is_empty());
    }

    #[test]
    fn addresses_with_line_breaks_or_junk_are_refused() {
        assert!(check_address("email", "li@hb.gov.cn").is_ok());
        assert!(check_address("email", "li@hb.gov.cn\r\nBcc: x@y.z").is_err());
        assert!(check_address("email", "no-at-sign").is_err());
        assert!(check_address("sms", "13900000000").is_ok());
        assert!(check_address("sms", "139-0000").is_err());
    }

    #[test]
    fn secrets_are_masked_and_kept_when_sent_back_masked() {
        let stored = Channel::Dingtalk {
            url: "https://oapi.dingtalk.com/robot/send?access_token=abc".into(),
            secret: "SEC123".into(),
        };
        let shown = stored.masked();
        assert_eq!(
            shown,
            Channel::Dingtalk {
                url: "https://oapi.dingtalk.com/robot/send?******".into(),
                secret: MASK.into(),
            }
        );
        assert_eq!(shown.keeping_secrets_of(&stored), stored);
        let changed = Channel::Dingtalk {
            url: "https://oapi.dingtalk.com/robot/send?access_token=new".into(),
            secret: MASK.into(),
        };
        assert_eq!(
            changed.keeping_secrets_of(&stored),
            Channel::Dingtalk {
                url: "https://oapi.dingtalk.com/robot/send?access_token=new".into(),
                secret: "SEC123".into(),
            }
        );
    }
}
