//! The enterprise view of an alarm (issue 14 item 3): the enterprise of the
//! site explains it with a reason (计划停产, 设备故障, 校准维护 …) and
//! evidence; a bad reason or a file that is not a photo or PDF is refused
//! and leaves the alarm as it was; the evidence is served to whoever sees
//! the alarm and to no one else.

mod common;
#[path = "common/map_fixture.rs"]
mod map_fixture;

use common::{csrf_token, spawn_on};
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use map_fixture::map_fixture;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-calibration-log";
/// A file name an attacker chose: shown as text, never as markup.
const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>运维记录.png";
const EXE: &[u8] = b"MZ\x90\x00\x03rest-of-an-exe";

async fn alarm_of(c: &reqwest::Client, url: String, site: i64) -> Value {
    let list: Value = c.get(url).send().await.unwrap().json().await.unwrap();
    list.as_array()
        .or_else(|| list["alarms"].as_array())
        .unwrap()
        .iter()
        .find(|a| a["site_id"] == site)
        .cloned()
        .unwrap_or_else(|| panic!("no alarm at site {site}: {list}"))
}

on_both_backends!(flavor = "multi_thread"; an_enterprise_explains_an_alarm_with_a_reason_and_evidence);
async fn an_enterprise_explains_an_alarm_with_a_reason_and_evidence(db: TestDb) {
    let app = spawn_on(db).await;
    let f = map_fixture(&app).await;
    let firm = app.login("firm-a").await;
    let alarms_url = app.url("/api/v1/alarms?state=all");
    let alarm = alarm_of(&firm, alarms_url.clone(), f.alarmed).await;
    let id = alarm["id"].as_i64().unwrap();

    // Over the API: an unknown reason is refused; nothing changes.
    let r = firm
        .post(app.url(&format!("/api/v1/alarms/{id}/explain")))
        .json(&json!({"reason": "bogus", "explanation": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("说明类别"));

    // From the page, with a photo and a file that is not one: refused whole.
    let csrf = csrf_token(&firm, &app.url("/api/v1/me")).await;
    let form = |files: Vec<(&'static [u8], &'static str)>| {
        let mut form = Form::new()
            .text("csrf", csrf.clone())
            .text("reason", "calibration")
            .text("explanation", "SO₂ 分析仪零点校准，附运维记录");
        for (bytes, name) in files {
            form = form.part("attachment", Part::bytes(bytes.to_vec()).file_name(name));
        }
        form
    };
    let page_url = app.url(&format!("/alarms/{id}/explain"));
    let r = firm
        .post(&page_url)
        .multipart(form(vec![(PNG, "运维记录.png"), (EXE, "记录.exe")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("记录.exe"));
    // Issue 13 item 7: the form comes back open under its alarm, with
    // what was typed and the refusal next to it.
    assert!(page.contains(&format!("id=\"err-explain-{id}\"")), "{page}");
    assert!(
        page.contains(">SO₂ 分析仪零点校准，附运维记录</textarea>"),
        "typed text kept: {page}"
    );
    assert!(
        page.contains("<option value=\"calibration\" selected>"),
        "{page}"
    );
    let unchanged = alarm_of(&firm, alarms_url.clone(), f.alarmed).await;
    assert!(unchanged["explanation"].is_null(), "{unchanged}");

    let r = firm
        .post(&page_url)
        .multipart(form(vec![(PNG, HOSTILE_NAME)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(r.headers()["location"], "/alarms?ok=explained");
    let explained = alarm_of(&firm, alarms_url.clone(), f.alarmed).await;
    assert_eq!(explained["explanation_reason"], "calibration");
    let files = explained["explanation_files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{explained}");
    let file_id = files[0]["id"].as_i64().unwrap();

    let page = firm.get(app.url("/alarms?state=all")).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("企业说明（校准维护）"), "{html}");
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62;运维记录.png")
            && !html.contains("<img src=x"),
        "the file name is escaped: {html}"
    );
    assert!(html.contains(&format!("/attachments/{file_id}")), "{html}");

    // The evidence: to the enterprise and the office, not to another firm.
    let file_url = app.url(&format!("/api/v1/attachments/{file_id}"));
    let got = firm.get(&file_url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), PNG);
    let office = app.login("office").await;
    assert_eq!(office.get(&file_url).send().await.unwrap().status(), 200);
    let other = app.login("firm-b").await;
    assert_eq!(other.get(&file_url).send().await.unwrap().status(), 403);
}
