//! Outbound notifications end to end on both backends: a case step queues
//! deliveries; the delivery run sends them to a local SMTP sink and local
//! webhook receivers started here; a channel that refuses is retried with
//! backoff, logged, and finally marked failed, and the case is untouched.

use std::sync::{Arc, Mutex};

use base64::Engine;
use gongjian_alarms::Severity;
use gongjian_app::notify::{backoff, run_deliveries, save_channel, save_subscriptions};
use gongjian_config::NotifyConfig;
use gongjian_notify::Channel;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{
    Actor, AuditFilter, NewCase, NewUser, OrgKind, Role, Subscription, on_both_backends,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What a local server received.
type Inbox = Arc<Mutex<Vec<String>>>;

/// A local SMTP server that accepts every message; each received message
/// (the envelope recipient, then the DATA) goes into the inbox.
async fn smtp_sink() -> (u16, Inbox) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox: Inbox = Default::default();
    let kept = inbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let kept = kept.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let (mut rcpt, mut data, mut in_data) = (String::new(), String::new(), false);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if in_data {
                        if line == ".\r\n" {
                            in_data = false;
                            kept.lock().unwrap().push(format!("{rcpt}\n{data}"));
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                        }
                        continue;
                    }
                    let reply: &[u8] =
                        match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
                            "EHLO" => b"250-sink\r\n250 AUTH PLAIN\r\n",
                            "AUTH" => {
                                // AUTH PLAIN base64("\0user\0password")
                                assert!(
                                    line.contains("AGdvbmdqaWFuAHJlbGF5LXNlY3JldA=="),
                                    "{line}"
                                );
                                b"235 ok\r\n"
                            }
                            "MAIL" => b"250 ok\r\n",
                            "RCPT" => {
                                rcpt = line.trim().to_owned();
                                b"250 ok\r\n"
                            }
                            "DATA" => {
                                in_data = true;
                                b"354 go on\r\n"
                            }
                            "QUIT" => {
                                let _ = w.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"502 unknown\r\n",
                        };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, inbox)
}

/// A local HTTP server answering each request with the next status of
/// `statuses` (the last one repeated) and `answer` as the body; each
/// request (head and body) goes into the inbox.
async fn http_receiver(statuses: Vec<u16>, answer: &'static str) -> (u16, Inbox) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox: Inbox = Default::default();
    let kept = inbox.clone();
    let statuses = Arc::new(Mutex::new(statuses));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (kept, statuses) = (kept.clone(), statuses.clone());
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                let mut head = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                r.read_exact(&mut body).await.unwrap();
                kept.lock()
                    .unwrap()
                    .push(format!("{head}{}", String::from_utf8_lossy(&body)));
                let status = {
                    let mut s = statuses.lock().unwrap();
                    if s.len() > 1 { s.remove(0) } else { s[0] }
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = w.write_all(reply.as_bytes()).await;
            });
        }
    });
    (port, inbox)
}

fn decoded_subject(mail: &str) -> String {
    let line = mail
        .lines()
        .find(|l| l.starts_with("Subject: "))
        .expect("a subject");
    let mut out = String::new();
    let mut rest: Vec<&str> = vec![line.trim_start_matches("Subject: ")];
    // Continuation lines of the folded header.
    let mut lines = mail
        .lines()
        .skip_while(|l| !l.starts_with("Subject: "))
        .skip(1);
    while let Some(l) = lines.next().filter(|l| l.starts_with(' ')) {
        rest.push(l.trim());
    }
    for word in rest {
        let b64 = word.trim_start_matches("=?UTF-8?B?").trim_end_matches("?=");
        out.push_str(
            &String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            )
            .unwrap(),
        );
    }
    out
}

on_both_backends!(flavor = "multi_thread"; a_case_step_reaches_mail_and_webhooks_and_a_refusing_channel_is_retried);
async fn a_case_step_reaches_mail_and_webhooks_and_a_refusing_channel_is_retried(t: TestDb) {
    let db = &t.db;
    let admin = Actor::system("test");
    let firm = db
        .organisations()
        .create_organisation(&admin, "平原热电有限公司", OrgKind::Enterprise, None)
        .await
        .unwrap()
        .id;
    let user = db
        .accounts()
        .create_user(
            &admin,
            &NewUser {
                username: "qiye".into(),
                display_name: "环保专员".into(),
                password: "notify-test-pass-1".into(),
                role: Role::Enterprise,
                organisation_id: firm,
                must_change_password: false,
            },
        )
        .await
        .unwrap()
        .id;

    let (smtp_port, mails) = smtp_sink().await;
    let (hook_port, hooks) = http_receiver(vec![200], "ok").await;
    let (robot_port, robot) = http_receiver(vec![200], r#"{"errcode":0,"errmsg":"ok"}"#).await;
    // Refuses twice, then takes it.
    let (flaky_port, flaky) = http_receiver(vec![500, 503, 200], "busy").await;

    let email = save_channel(
        db,
        &admin,
        None,
        "政务邮箱",
        Channel::Email {
            host: "127.0.0.1".into(),
            port: smtp_port,
            from: "gongjian@hb.gov.local".into(),
            username: "gongjian".into(),
            password: "relay-secret".into(),
        },
        Vec::new(),
        true,
    )
    .await
    .unwrap();
    save_channel(
        db,
        &admin,
        None,
        "指挥中心",
        Channel::Webhook {
            url: format!("http://127.0.0.1:{hook_port}/hook"),
            secret: "s3cret".into(),
        },
        vec!["case_new".into()],
        true,
    )
    .await
    .unwrap();
    save_channel(
        db,
        &admin,
        None,
        "攻坚办企业微信群",
        Channel::Wecom {
            url: format!("http://127.0.0.1:{robot_port}/cgi-bin/webhook/send?key=k"),
        },
        Vec::new(),
        true,
    )
    .await
    .unwrap();
    save_channel(
        db,
        &admin,
        None,
        "不稳定网关",
        Channel::Webhook {
            url: format!("http://127.0.0.1:{flaky_port}/"),
            secret: String::new(),
        },
        Vec::new(),
        true,
    )
    .await
    .unwrap();
    // Only on close: not sent for a new case.
    save_channel(
        db,
        &admin,
        None,
        "销号通报",
        Channel::Webhook {
            url: format!("http://127.0.0.1:{hook_port}/closed"),
            secret: String::new(),
        },
        vec!["case_close".into()],
        true,
    )
    .await
    .unwrap();

    // A bad address is refused in Chinese and nothing is stored.
    let refused = save_subscriptions(
        db,
        &admin,
        user,
        vec![Subscription {
            channel_id: email,
            address: "li@hb.gov.cn\r\nBcc: all@x.y".into(),
            events: Vec::new(),
        }],
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("邮箱"), "{refused}");
    assert!(
        db.notify()
            .notify_subscriptions(user)
            .await
            .unwrap()
            .is_empty()
    );
    save_subscriptions(
        db,
        &admin,
        user,
        vec![Subscription {
            channel_id: email,
            address: "qiye@hb.gov.cn".into(),
            events: vec!["case_new".into(), "case_overdue".into()],
        }],
    )
    .await
    .unwrap();

    let case = db
        .cases()
        .create_case(
            &admin,
            &NewCase {
                title: "1号锅炉排口二氧化硫小时浓度超标".into(),
                source: "alarm".into(),
                category: "超标排放".into(),
                severity: Severity::Major,
                description: "连续 3 小时超标".into(),
                site_id: None,
                alarm_id: None,
                rule: None,
                factor: None,
                organisation_id: firm,
                township_id: None,
                due_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
                contact: None,
                longitude: None,
                latitude: None,
                attachments: Vec::new(),
            },
        )
        .await
        .unwrap();

    let config = NotifyConfig {
        public_url: "http://10.1.2.3:8080/".into(),
        max_attempts: 3,
        ..NotifyConfig::default()
    };
    let now = gongjian_storage::now();
    let run = run_deliveries(db, &config, now).await.unwrap();
    assert_eq!(
        (run.sent, run.retrying, run.failed),
        (3, 1, 0),
        "{run:?} {:#?}",
        db.notify().notify_deliveries(100).await.unwrap()
    );

    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].starts_with("RCPT TO:<qiye@hb.gov.cn>"),
        "{}",
        mails[0]
    );
    let subject = decoded_subject(&mails[0]);
    assert!(subject.contains("二氧化硫小时浓度超标"), "{subject}");
    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1, "only the case_new webhook: {hooks:?}");
    assert!(hooks[0].starts_with("POST /hook"));
    assert!(
        hooks[0].contains("x-gongjian-signature: sha256="),
        "{}",
        hooks[0]
    );
    assert!(
        hooks[0].contains(&format!("http://10.1.2.3:8080/cases/{case}")),
        "{}",
        hooks[0]
    );
    assert!(robot.lock().unwrap()[0].contains(r#""msgtype":"text""#));

    let log = db.notify().notify_deliveries(100).await.unwrap();
    let flaky_row = log.iter().find(|d| d.channel == "不稳定网关").unwrap();
    assert_eq!(flaky_row.state, "pending");
    assert_eq!(flaky_row.attempts, 1);
    assert!(
        flaky_row.last_error.contains("HTTP 500"),
        "{}",
        flaky_row.last_error
    );
    assert_eq!(flaky_row.next_at, now + backoff(0));

    // Not due before its backoff; then refused again, then delivered.
    let early = run_deliveries(db, &config, now + 10).await.unwrap();
    assert_eq!(early.sent + early.retrying, 0);
    let second = run_deliveries(db, &config, now + backoff(0)).await.unwrap();
    assert_eq!((second.sent, second.retrying), (0, 1));
    let third = run_deliveries(db, &config, now + backoff(0) + backoff(1))
        .await
        .unwrap();
    assert_eq!(third.sent, 1);
    assert_eq!(flaky.lock().unwrap().len(), 3);
    let log = db.notify().notify_deliveries(100).await.unwrap();
    assert!(log.iter().all(|d| d.state == "sent"), "{log:?}");

    // A channel that never answers is given up after max_attempts, logged,
    // and the case is as it was.
    let (dead_port, _) = http_receiver(vec![500], "down").await;
    save_channel(
        db,
        &admin,
        None,
        "坏网关",
        Channel::Webhook {
            url: format!("http://127.0.0.1:{dead_port}/"),
            secret: String::new(),
        },
        Vec::new(),
        true,
    )
    .await
    .unwrap();
    db.cases()
        .escalate_overdue_cases(chrono::NaiveDate::from_ymd_opt(2026, 12, 11).unwrap())
        .await
        .unwrap();
    let mut at = now + 10_000;
    let mut failed = 0;
    for _ in 0..config.max_attempts {
        let r = run_deliveries(db, &config, at).await.unwrap();
        failed += r.failed;
        at += 3600;
    }
    assert_eq!(failed, 1);
    let dead = db
        .notify()
        .notify_deliveries(100)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.channel == "坏网关")
        .unwrap();
    assert_eq!((dead.state.as_str(), dead.attempts), ("failed", 3));
    assert_eq!(
        db.cases().case(case).await.unwrap().case.state().as_str(),
        "pending"
    );
    let audit = db
        .audit()
        .list(&AuditFilter {
            entity: Some("notify_delivery".into()),
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "failed"));
    assert!(audit.iter().any(|e| e.action == "sent"));
    // The overdue message also reached the user's mailbox.
    assert!(
        run_deliveries(db, &config, at).await.unwrap().sent == 0,
        "nothing left"
    );
}
