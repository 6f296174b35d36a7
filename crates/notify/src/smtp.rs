//! A minimal SMTP client (RFC 5321) for an intranet relay: EHLO, optional
//! AUTH PLAIN, one recipient, a UTF-8 text message in base64 (RFC 2045,
//! subject as RFC 2047 encoded words). Replies are read line by line with
//! a bound on their length and number, so a hostile server cannot make it
//! buffer without end. The caller puts a time limit on the whole exchange.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::SendError;

pub(crate) struct Mail<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

/// Longest reply line read (RFC 5321 allows 512; some servers send more).
const LINE_MAX: usize = 2048;
/// Most lines of one (multi-line) reply.
const LINES_MAX: usize = 64;

struct Session {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Session {
    /// The reply's code and its text (the lines joined).
    async fn reply(&mut self) -> Result<(u16, String), SendError> {
        let mut text = String::new();
        for _ in 0..LINES_MAX {
            let mut line = Vec::new();
            let n = (&mut self.reader)
                .take(LINE_MAX as u64)
                .read_until(b'\n', &mut line)
                .await
                .map_err(|e| SendError::Connect(e.to_string()))?;
            if n == 0 {
                return Err(SendError::Connect("邮件服务器关闭了连接".into()));
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| SendError::Refused(format!("无法识别的应答「{}」", clip(line))))?;
            text.push_str(line.get(4..).unwrap_or(""));
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, text));
            }
            text.push(' ');
        }
        Err(SendError::Refused("应答行数过多".into()))
    }

    async fn expect(&mut self, ok: &[u16], step: &str) -> Result<(), SendError> {
        let (code, text) = self.reply().await?;
        if ok.contains(&code) {
            Ok(())
        } else {
            Err(SendError::Refused(format!(
                "{step}：{code} {}",
                clip(&text)
            )))
        }
    }

    async fn command(&mut self, line: &str, ok: &[u16], step: &str) -> Result<(), SendError> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(|e| SendError::Connect(e.to_string()))?;
        self.expect(ok, step).await
    }
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// RFC 2047 encoded words of at most 45 bytes of text each (60 base64
/// characters, under the 75-character limit of a word).
fn encode_header(text: &str) -> String {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| format!("=?UTF-8?B?{}?=", STANDARD.encode(w)))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// The message as sent after DATA: headers, a blank line, the body in
/// base64 lines of 76 characters, and the terminating dot.
fn message(mail: &Mail<'_>) -> String {
    let body = STANDARD.encode(mail.body.as_bytes());
    let mut lines: Vec<&str> = Vec::new();
    let mut rest = body.as_str();
    while rest.len() > 76 {
        let (a, b) = rest.split_at(76);
        lines.push(a);
        rest = b;
    }
    lines.push(rest);
    let domain = mail.from.rsplit('@').next().unwrap_or("localhost");
    let now = chrono::Utc::now();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@{domain}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {body}\r\n.\r\n",
        from = mail.from,
        to = mail.to,
        subject = encode_header(mail.subject),
        date = now.to_rfc2822(),
        id = now.timestamp_nanos_opt().unwrap_or_default(),
        body = lines.join("\r\n"),
    )
}

pub(crate) async fn send(
    host: &str,
    port: u16,
    username: &str,
    password: &str,
    mail: &Mail<'_>,
) -> Result<(), SendError> {
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| SendError::Connect(format!("{host}:{port} {e}")))?;
    let (r, w) = stream.into_split();
    let mut s = Session {
        reader: BufReader::new(r),
        writer: w,
    };
    s.expect(&[220], "连接").await?;
    s.command("EHLO gongjian", &[250], "EHLO").await?;
    if !username.is_empty() {
        let token = STANDARD.encode(format!("\0{username}\0{password}"));
        s.command(&format!("AUTH PLAIN {token}"), &[235], "登录")
            .await?;
    }
    s.command(&format!("MAIL FROM:<{}>", mail.from), &[250], "发件人")
        .await?;
    s.command(&format!("RCPT TO:<{}>", mail.to), &[250, 251], "收件人")
        .await?;
    s.command("DATA", &[354], "DATA").await?;
    // Base64 lines never start with a dot: no dot-stuffing is needed.
    s.writer
        .write_all(message(mail).as_bytes())
        .await
        .map_err(|e| SendError::Connect(e.to_string()))?;
    s.expect(&[250], "投递").await?;
    // The message is accepted; a failed QUIT does not undo it.
    let _ = s.command("QUIT", &[221], "QUIT").await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_chinese_subject_becomes_short_encoded_words() {
        let subject = "【攻坚】新督办单 DB202600001：平原示范热电 1号锅炉排口 二氧化硫小时浓度超标（2026-12-10 前办结）";
        let h = encode_header(subject);
        let mut decoded = String::new();
        for word in h.split("\r\n ") {
            assert!(word.len() <= 75, "{word}");
            let b64 = word
                .strip_prefix("=?UTF-8?B?")
                .unwrap()
                .strip_suffix("?=")
                .unwrap();
            decoded.push_str(&String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap());
        }
        assert_eq!(decoded, subject);
        assert_eq!(
            encode_header("a\r\nBcc: x"),
            format!("=?UTF-8?B?{}?=", STANDARD.encode("aBcc: x"))
        );
    }
}
