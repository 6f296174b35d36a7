//! Fire points as they really arrive (issue 14 item 5): a pushed point
//! waits for its township's 属实/不属实, the office confirms, and only
//! confirmed points count toward the deduction.

mod common;

use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{OrgKind, Role};
use serde_json::{Value, json};

async fn totals(c: &reqwest::Client, url: String) -> Vec<Value> {
    let v: Value = c.get(url).send().await.unwrap().json().await.unwrap();
    v["totals"].as_array().cloned().unwrap_or_default()
}

on_both_backends!(flavor = "multi_thread"; a_pushed_point_counts_only_once_the_office_confirms_it);
async fn a_pushed_point_counts_only_once_the_office_confirms_it(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    app.user("shizhai", Role::Township, "师寨镇", OrgKind::Township)
        .await;
    let office = app.login("office").await;
    let yuanwu = app.login("yuanwu").await;
    let shizhai = app.login("shizhai").await;
    let today = gongjian_storage::today_cst();
    // The deduction per point is this year's plan's (air task 15).
    app.load_this_years_plan().await;

    let push = |place: &str, days: u32| {
        json!({"township": "原武镇", "date": today.to_string(), "place": place, "kind": "straw",
               "note": "卫星遥感", "push_days": days})
    };
    let r = office
        .post(app.url("/api/v1/fire-points"))
        .json(&push("王村东地块", 2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let p: Value = r.json().await.unwrap();
    let id = p["id"].as_i64().unwrap();
    assert_eq!(p["verification"], "pending");
    assert_eq!(
        p["reply_due"],
        (today + chrono::Duration::days(2)).to_string()
    );
    assert!(
        totals(&office, app.url("/api/v1/fire-points"))
            .await
            .is_empty(),
        "a point waiting for verification deducts nothing"
    );
    let bad = office
        .post(app.url("/api/v1/fire-points"))
        .json(&push("别处", 45))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "the deadline is 1–30 days");

    // The township is told; another township may not answer.
    let inbox: Value = yuanwu
        .get(app.url("/api/v1/notifications"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(inbox.to_string().contains("火点待核实"), "{inbox}");
    let reply = |verdict: bool, note: &str| json!({"verdict": verdict, "note": note});
    let r = shizhai
        .post(app.url(&format!("/api/v1/fire-points/{id}/reply")))
        .json(&reply(true, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = yuanwu
        .post(app.url(&format!("/api/v1/fire-points/{id}/reply")))
        .json(&reply(false, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "不属实 needs a reason");
    let r = yuanwu
        .post(app.url(&format!("/api/v1/fire-points/{id}/reply")))
        .json(&reply(true, "村民焚烧秸秆，已扑灭"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = yuanwu
        .post(app.url(&format!("/api/v1/fire-points/{id}/reply")))
        .json(&reply(true, "再报一次"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "answered once");
    let r = yuanwu
        .post(app.url(&format!("/api/v1/fire-points/{id}/confirm")))
        .json(&reply(true, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "only the office confirms");
    assert!(
        totals(&office, app.url("/api/v1/fire-points"))
            .await
            .is_empty()
    );

    let r = office
        .post(app.url(&format!("/api/v1/fire-points/{id}/confirm")))
        .json(&reply(true, "同意"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = totals(&office, app.url("/api/v1/fire-points")).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["amount"], "500000");

    // A second point judged 不属实 deducts nothing; the same place and day
    // cannot be entered twice.
    let p2: Value = office
        .post(app.url("/api/v1/fire-points"))
        .json(&push("砖厂北侧", 1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = office
        .post(app.url(&format!("/api/v1/fire-points/{}/confirm", p2["id"])))
        .json(&reply(false, "工业热源"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["verification"],
        "dismissed"
    );
    let dup = office
        .post(app.url("/api/v1/fire-points"))
        .json(&push("砖厂北侧", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 400);
    assert!(dup.text().await.unwrap().contains("不能重复登记"));
    let t = totals(&office, app.url("/api/v1/fire-points")).await;
    assert_eq!(t[0]["points"], 1);

    // The ledger page shows the states.
    let page = yuanwu
        .get(app.url("/ledger"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("属实") && page.contains("不属实"));
    assert!(page.contains("村民焚烧秸秆，已扑灭"));
}
