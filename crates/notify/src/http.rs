//! The HTTP channels: a generic JSON webhook, the 企业微信 and 钉钉 group
//! robots, and an SMS gateway behind a URL (and body) template.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{Message, SendError};

/// Most bytes of an answer kept for the log and for reading a robot's
/// `errcode`.
const ANSWER_MAX: usize = 4096;

fn client(timeout: Duration) -> Result<reqwest::Client, SendError> {
    reqwest::Client::builder()
        .timeout(timeout)
        // A configured address answers itself; a redirect elsewhere is refused.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SendError::Invalid(e.to_string()))
}

fn hmac_sha256(key: &str, data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Percent-encoding of a query value (RFC 3986 unreserved kept).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends the request; a non-2xx status is a refusal with the start of the
/// answer. Returns the (bounded) answer.
async fn exchange(request: reqwest::RequestBuilder) -> Result<String, SendError> {
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            SendError::Timeout
        } else {
            SendError::Connect(e.without_url().to_string())
        }
    })?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| SendError::Connect(e.without_url().to_string()))?;
    let answer: String = String::from_utf8_lossy(&bytes[..bytes.len().min(ANSWER_MAX)])
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    if status.is_success() {
        Ok(answer)
    } else {
        Err(SendError::Refused(format!(
            "HTTP {} {answer}",
            status.as_u16()
        )))
    }
}

/// A robot answers 200 with `errcode` 0 when it posted the message.
fn robot_answer(answer: &str) -> Result<(), SendError> {
    let v: Value = serde_json::from_str(answer)
        .map_err(|_| SendError::Refused(format!("无法识别的应答「{answer}」")))?;
    match v["errcode"].as_i64() {
        Some(0) => Ok(()),
        _ => Err(SendError::Refused(format!(
            "errcode {} {}",
            v["errcode"],
            v["errmsg"].as_str().unwrap_or("")
        ))),
    }
}

pub(crate) async fn webhook(
    url: &str,
    secret: &str,
    message: &Message,
    timeout: Duration,
) -> Result<(), SendError> {
    let body = serde_json::to_vec(&json!({
        "kind": message.kind,
        "title": message.title,
        "link": message.link,
        "at": message.at,
        "text": message.text(),
    }))
    .expect("JSON of plain values");
    let mut request = client(timeout)?
        .post(url)
        .header("content-type", "application/json");
    if !secret.is_empty() {
        request = request.header(
            "x-gongjian-signature",
            format!("sha256={}", hex(&hmac_sha256(secret, &body))),
        );
    }
    exchange(request.body(body)).await.map(|_| ())
}

fn robot_body(message: &Message) -> Value {
    json!({ "msgtype": "text", "text": { "content": message.text() } })
}

pub(crate) async fn wecom(
    url: &str,
    message: &Message,
    timeout: Duration,
) -> Result<(), SendError> {
    let answer = exchange(client(timeout)?.post(url).json(&robot_body(message))).await?;
    robot_answer(&answer)
}

/// 钉钉's signature: base64(HMAC-SHA256(secret, "{timestamp}\n{secret}")),
/// with the timestamp in milliseconds, both in the query.
fn dingtalk_url(url: &str, secret: &str, now_ms: i64) -> String {
    if secret.is_empty() {
        return url.to_owned();
    }
    let sign = STANDARD.encode(hmac_sha256(
        secret,
        format!("{now_ms}\n{secret}").as_bytes(),
    ));
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}timestamp={now_ms}&sign={}", encode(&sign))
}

pub(crate) async fn dingtalk(
    url: &str,
    secret: &str,
    message: &Message,
    timeout: Duration,
) -> Result<(), SendError> {
    let signed = dingtalk_url(url, secret, chrono::Utc::now().timestamp_millis());
    let answer = exchange(client(timeout)?.post(signed).json(&robot_body(message))).await?;
    robot_answer(&answer)
}

/// A JSON string's contents (no quotes), for a body template.
fn json_escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("a string");
    quoted[1..quoted.len() - 1].to_owned()
}

pub(crate) async fn sms(
    url: &str,
    body: &str,
    phone: &str,
    message: &Message,
    timeout: Duration,
) -> Result<(), SendError> {
    let text = message.text();
    let url = url
        .replace("{phone}", &encode(phone))
        .replace("{text}", &encode(&text));
    let request = if body.is_empty() {
        client(timeout)?.get(url)
    } else {
        let filled = body
            .replace("{phone}", &json_escaped(phone))
            .replace("{text}", &json_escaped(&text));
        let content_type = if filled.trim_start().starts_with('{') {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        };
        client(timeout)?
            .post(url)
            .header("content-type", content_type)
            .body(filled)
    };
    exchange(request).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dingtalk_signature_is_in_the_query() {
        let url = dingtalk_url(
            "https://oapi.dingtalk.com/robot/send?access_token=t",
            "SECabc",
            1_700_000_000_000,
        );
        let sign = STANDARD.encode(hmac_sha256("SECabc", b"1700000000000\nSECabc"));
        assert_eq!(
            url,
            format!(
                "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign={}",
                encode(&sign)
            )
        );
        assert_eq!(dingtalk_url("https://x/y", "", 1), "https://x/y");
    }

    #[test]
    fn a_robot_that_answers_an_error_code_refused_it() {
        assert!(robot_answer(r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        let e = robot_answer(r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#).unwrap_err();
        assert!(e.to_string().contains("93000"), "{e}");
        assert!(robot_answer("<html>").is_err());
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hex(&hmac_sha256("Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
