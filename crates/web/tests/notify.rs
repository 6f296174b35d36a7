//! 消息推送 over the API and the pages: only the administrator configures
//! channels, secrets never come back, bad settings and addresses are
//! refused in Chinese with nothing stored, and each user keeps their own
//! choices.

mod common;

use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{OrgKind, Role};
use serde_json::{Value, json};

on_both_backends!(flavor = "multi_thread"; the_administrator_configures_channels_and_users_choose_theirs);
async fn the_administrator_configures_channels_and_users_choose_theirs(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin", Role::Admin, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user(
        "qiye",
        Role::Enterprise,
        "平原热电有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let admin = app.login("admin").await;
    let office = app.login("office").await;
    let qiye = app.login("qiye").await;

    let robot = json!({
        "name": "攻坚办钉钉群",
        "settings": {"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=tok", "secret": "SECxyz"},
        "events": ["case_new", "case_overdue"]
    });
    let r = office
        .post(app.url("/api/v1/notify-channels"))
        .json(&robot)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the office does not configure channels");
    let r = admin
        .post(app.url("/api/v1/notify-channels"))
        .json(&robot)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let robot_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    let mail = json!({
        "name": "政务邮箱",
        "settings": {"kind": "email", "host": "mail.gov.local", "port": 25, "from": "gongjian@mail.gov.local",
                     "username": "gj", "password": "relay-pass"}
    });
    let mail_id = admin
        .post(app.url("/api/v1/notify-channels"))
        .json(&mail)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // No secret in any answer.
    let listed = admin
        .get(app.url("/api/v1/notify-channels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for secret in ["SECxyz", "access_token=tok", "relay-pass"] {
        assert!(!listed.contains(secret), "{secret} in {listed}");
    }
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["settings"]["secret"], "******");

    // Sent back masked, the secret is kept; settings with problems are
    // refused whole, in Chinese, and the stored channel is unchanged.
    let mut back = listed[0].clone();
    back["settings"]["url"] = json!("https://oapi.dingtalk.com/robot/send?access_token=tok2");
    let r = admin
        .put(app.url(&format!("/api/v1/notify-channels/{robot_id}")))
        .json(
            &json!({"name": "攻坚办钉钉群", "settings": back["settings"], "events": ["case_new"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bad = admin
        .put(app.url(&format!("/api/v1/notify-channels/{robot_id}")))
        .json(&json!({"name": "攻坚办钉钉群", "settings": {"kind": "dingtalk", "url": "ftp://x", "secret": "******"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["code"], "E2804");
    assert!(
        body["detail"].as_str().unwrap().contains("http://"),
        "{body}"
    );
    let stored = app.db.notify().notify_channel(robot_id).await.unwrap();
    assert!(stored.settings.contains("access_token=tok2"));
    assert!(stored.settings.contains("SECxyz"), "secret kept");
    assert_eq!(stored.events, ["case_new"]);

    // A user chooses mail for new cases; a bad address is refused.
    let mine: Value = qiye
        .get(app.url("/api/v1/me/notify"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        mine["channels"].as_array().unwrap().len(),
        1,
        "only the personal channel"
    );
    let r = qiye
        .put(app.url("/api/v1/me/notify"))
        .json(&json!({"subscriptions": [{"channel_id": mail_id, "address": "not an address", "events": ["case_new"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("邮箱"));
    let r = qiye
        .put(app.url("/api/v1/me/notify"))
        .json(&json!({"subscriptions": [{"channel_id": robot_id, "address": "", "events": []}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a group channel is not chosen per user");
    let r = qiye
        .put(app.url("/api/v1/me/notify"))
        .json(&json!({"subscriptions": [{"channel_id": mail_id, "address": "huanbao@rd.com.cn", "events": ["case_new", "case_return"]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["subscriptions"][0]["address"], "huanbao@rd.com.cn");

    // A test message is queued and shows in the log; the office cannot read the log.
    let r = admin
        .post(app.url(&format!("/api/v1/notify-channels/{mail_id}/test")))
        .json(&json!({"address": "admin@gov.local"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log: Value = admin
        .get(app.url("/api/v1/notify-deliveries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log[0]["kind"], "test");
    assert_eq!(log[0]["state"], "pending");
    assert_eq!(
        office
            .get(app.url("/api/v1/notify-deliveries"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // The pages: the administrator's shows the channels and the log (escaped),
    // the user's shows the choice.
    let page = admin
        .get(app.url("/system/notify"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("攻坚办钉钉群") && page.contains("投递记录"));
    assert!(!page.contains("SECxyz") && !page.contains("relay-pass"));
    let settings = qiye
        .get(app.url("/inbox/settings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(settings.contains("huanbao@rd.com.cn"));
    assert_eq!(
        office
            .get(app.url("/system/notify"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}
