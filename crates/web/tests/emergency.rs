//! Issue 15 over the API: a warning's verification, as the command line
//! gives it, for the office; other roles are refused.

mod common;

use chrono::{Duration, NaiveDate};
use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, NewSite, OrgKind, Role, RollupValue};
use serde_json::Value;

const LIST: &str = "企业名称,行业类别,绩效分级,正常工况日用电量(kWh),正常工况日排放量NOx(kg/d),\
黄色预警减排措施,黄色负荷上限(%),橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
示范铸造有限公司,铸造,C,4800,100,限产,80,限产,70,停产\n";

on_both_backends!(the_office_reads_a_warnings_verification);
async fn the_office_reads_a_warnings_verification(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    let actor = Actor::cli();
    let firm = app.org("示范铸造有限公司", OrgKind::Enterprise).await;
    let meter = app
        .db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "PWR-1".into(),
                name: "示范铸造用电监控".into(),
                kind: "power".into(),
                organisation_id: Some(firm),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    // The warning day uses 4,200 kWh: 87.5 % of the listed 4,800 (> 70 %).
    let day = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
    let start = gongjian_standards::cst::day_start_utc(day);
    let rows: Vec<RollupValue> = (0..=24)
        .map(|h| RollupValue {
            site_id: meter.id,
            factor: "Ept".into(),
            kind: "hour",
            period_start: start + h * 3600,
            value: Some((1000 + 175 * h).to_string()),
            converted: None,
            flag: "N".into(),
            day_start: None,
        })
        .collect();
    app.db.monitoring().store_rollups(&rows).await.unwrap();
    // Regression: the dust collector's meter (a treatment circuit, 1,000
    // kWh an hour) is not production load and must not count.
    let fan = app
        .db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "PWR-FAN".into(),
                name: "示范铸造除尘风机".into(),
                kind: "power".into(),
                organisation_id: Some(firm),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    use gongjian_alarms::power::Circuit;
    app.db
        .power()
        .set_circuit(&actor, meter.id, Some(Circuit::Production), &[])
        .await
        .unwrap();
    app.db
        .power()
        .set_circuit(&actor, fan.id, Some(Circuit::Treatment), &[meter.id])
        .await
        .unwrap();
    let fan_rows: Vec<RollupValue> = rows
        .iter()
        .map(|r| RollupValue {
            site_id: fan.id,
            value: Some((5000 + 1000 * (r.period_start - start) / 3600).to_string()),
            ..r.clone()
        })
        .collect();
    app.db.monitoring().store_rollups(&fan_rows).await.unwrap();
    let table = gongjian_tabular::read_csv_bytes("清单.csv", LIST.as_bytes()).unwrap();
    gongjian_app::emergency::import_list(&app.db, &actor, "2026-2027", &table)
        .await
        .unwrap();
    let w = gongjian_app::emergency::issue_warning(
        &app.db,
        &actor,
        "orange",
        day,
        Some(day + Duration::days(0)),
        "",
    )
    .await
    .unwrap();

    let office = app.login("office").await;
    let v: Value = office
        .get(app.url(&format!("/api/v1/emergency/warnings/{}/verification", w.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d = &v["days"][0];
    assert_eq!(d["enterprise"], "示范铸造有限公司", "{v}");
    assert_eq!(d["verdict_label"], "未落实", "{v}");
    assert_eq!(d["energy_kwh"], "4200", "{v}");
    assert!(d["detail"].as_str().unwrap().contains("87.5%"), "{v}");
    let list: Value = office
        .get(app.url("/api/v1/emergency/warnings"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["level"], "orange");
    // 预警应急: the warning and its verified days on the page.
    let page = office
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("level-orange\">橙色</span>"), "{page}");
    assert!(
        page.contains("<td>示范铸造有限公司</td><td>限产</td><td>4200</td><td>4800</td><td>70%</td><td>—</td><td class=\"bad\">未落实</td>"),
        "{page}"
    );
    // 对未落实企业立督办单 on the page: one case, once.
    assert!(page.contains("id=\"open-cases\""), "{page}");
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let open = |csrf: String| {
        office
            .post(app.url(&format!("/emergency/warnings/{}/cases", w.id)))
            .form(&[("csrf", csrf)])
            .send()
    };
    let r = open(csrf.clone()).await.unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.ends_with("ok=cases&opened=1"), "{to}");
    let r = open(csrf).await.unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.ends_with("ok=cases&opened=0"), "{to}");
    let notice = office
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        notice.contains("未落实的企业均已有本次预警的督办单"),
        "{notice}"
    );
    let cases = app
        .db
        .cases()
        .list(&gongjian_storage::CaseFilter::default())
        .await
        .unwrap();
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0].organisation, "示范铸造有限公司");

    // The response report: the day 未落实, so none of the 20 kg of NOx
    // the orange default asks of its 100 kg counts (0 % against 20 %).
    let report = office
        .get(app.url(&format!("/emergency/warnings/{}/report", w.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(report.status(), 200);
    let report = report.text().await.unwrap();
    assert!(report.contains("橙色预警应急响应报告"), "{report}");
    assert!(
        report.contains("<td class=\"v-not_implemented\">1</td>"),
        "{report}"
    );
    assert!(report.contains("class=\"short\">0.0%</span>"), "{report}");
    assert!(report.contains("未落实：示范铸造有限公司"), "{report}");
    assert!(report.contains("无排放基准"), "SO₂ has none: {report}");
    let xlsx = office
        .get(app.url(&format!("/emergency/warnings/{}/report.xlsx", w.id)))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.to_vec())).unwrap();
    use calamine::Reader;
    let days = book.worksheet_range("逐日").unwrap();
    assert_eq!(days.get_value((3, 0)).unwrap().to_string(), "2026-11-10");
    assert_eq!(days.get_value((3, 2)).unwrap().to_string(), "1", "未落实");
    let detail = book.worksheet_range("企业明细").unwrap();
    assert_eq!(detail.get_value((1, 3)).unwrap().to_string(), "4200");

    // The office issues a warning from the page; a refused one comes back
    // with what was typed and the reason next to the field.
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let r = office
        .post(app.url("/emergency/warnings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("level", "red"),
            ("starts_on", ""),
            ("document", "新环攻坚办〔2026〕50号"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"err-starts_on\""), "{page}");
    assert!(page.contains("value=\"新环攻坚办〔2026〕50号\""), "{page}");
    let r = office
        .post(app.url("/emergency/warnings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("level", "red"),
            ("starts_on", "2026-12-20"),
            ("document", "新环攻坚办〔2026〕50号"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("&ok=issued"),
        "{:?}",
        r.headers()
    );
    assert_eq!(app.db.emergency().warnings().await.unwrap().len(), 2);

    // The enterprise sees the warnings with its own measures for each.
    app.user(
        "qiye",
        Role::Enterprise,
        "示范铸造有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let firm_user = app.login("qiye").await;
    let page = firm_user
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<strong>限产</strong> 限产（负荷不超过 70%）"),
        "{page}"
    );
    assert!(page.contains("<strong>停产</strong> 停产"), "{page}");
    assert!(
        !page.contains("id=\"verification\""),
        "no one else's verification: {page}"
    );
    assert!(!page.contains("id=\"issue-form\""), "{page}");

    let township = app.login("yuanwu").await;
    let r = township
        .get(app.url(&format!("/api/v1/emergency/warnings/{}/verification", w.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = township.get(app.url("/emergency")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = township
        .get(app.url(&format!("/emergency/warnings/{}/report", w.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

on_both_backends!(a_warning_is_confirmed_raised_and_lifted_and_the_unconfirmed_are_listed);
/// Issue 15 item 2: on issue every listed enterprise with an account is
/// told (in-app) and confirms receipt on 预警应急; the office sees who has
/// not confirmed and which listed enterprises have no account. The office
/// raises the warning (a new warning from that day, the old one ending the
/// day before, everyone told again) and lifts it; refusals come back on the
/// page with the reason.
async fn a_warning_is_confirmed_raised_and_lifted_and_the_unconfirmed_are_listed(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user(
        "qiye",
        Role::Enterprise,
        "示范铸造有限公司",
        OrgKind::Enterprise,
    )
    .await;
    app.user(
        "qiye2",
        Role::Enterprise,
        "示范化工有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let list = format!(
        "{LIST}示范化工有限公司,化工,B,,,限产,90,停产,,停产\n无账号建材有限公司,建材,C,2000,,限产,80,停产,,停产\n"
    );
    let table = gongjian_tabular::read_csv_bytes("清单.csv", list.as_bytes()).unwrap();
    gongjian_app::emergency::import_list(&app.db, &Actor::cli(), "2026-2027", &table)
        .await
        .unwrap();
    let office = app.login("office").await;
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let today = gongjian_app::now_local().date();
    let r = office
        .post(app.url("/emergency/warnings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("level", "yellow"),
            ("starts_on", &today.to_string()),
            ("document", "新环攻坚办〔2026〕60号"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let first = app.db.emergency().warnings().await.unwrap()[0].clone();

    // The enterprise is told and confirms.
    let qiye = app.login("qiye").await;
    let inbox = qiye
        .get(app.url("/api/v1/notifications"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(inbox.contains("重污染天气黄色预警发布"), "{inbox}");
    let page = qiye
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("class=\"confirm-receipt\""), "{page}");
    let qcsrf = common::csrf_token(&qiye, &app.url("/api/v1/me")).await;
    let r = qiye
        .post(app.url(&format!("/emergency/warnings/{}/receipt", first.id)))
        .form(&[("csrf", qcsrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = qiye
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("class=\"confirm-receipt\""), "{page}");
    assert!(page.contains("已确认 "), "{page}");
    // The enterprise may not raise or lift.
    let r = qiye
        .post(app.url(&format!("/emergency/warnings/{}/lift", first.id)))
        .form(&[("csrf", qcsrf.as_str()), ("on", &today.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The office: one confirmed, one not, one without an account.
    let page = office
        .get(app.url(&format!("/emergency?warning={}", first.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已确认 1 / 已通知 2"), "{page}");
    assert!(
        page.contains("<td>示范化工有限公司</td>") && page.contains(">未确认</td>"),
        "{page}"
    );
    assert!(
        page.contains("需电话或书面通知的企业：无账号建材有限公司"),
        "{page}"
    );

    // Raising on the day it started is refused, with the reason on the page.
    let change = |on: String, level: &'static str| {
        let office = office.clone();
        let csrf = csrf.clone();
        let url = app.url(&format!("/emergency/warnings/{}/change", first.id));
        async move {
            office
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("level", level),
                    ("on", on.as_str()),
                    ("document", "新环攻坚办〔2026〕61号"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = change(today.to_string(), "orange").await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("调整日期应晚于原预警启动日期")
    );
    let r = change((today + Duration::days(1)).to_string(), "yellow").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("级别相同"));
    let r = change((today + Duration::days(1)).to_string(), "orange").await;
    assert_eq!(r.status(), 303);
    let all = app.db.emergency().warnings().await.unwrap();
    let raised = all
        .iter()
        .find(|w| w.previous_id == Some(first.id))
        .unwrap();
    assert_eq!(
        (raised.level.as_str(), raised.change.as_str()),
        ("orange", "raise")
    );
    assert_eq!(raised.starts_on, today + Duration::days(1));
    let old = app.db.emergency().warning(first.id).await.unwrap();
    assert_eq!(old.ends_on, Some(today));
    assert_eq!(
        app.db.emergency().receipts(raised.id).await.unwrap().len(),
        2
    );
    let page = office
        .get(app.url(&format!("/emergency?warning={}", first.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("已调整为橙色（#{}）", raised.id)),
        "{page}"
    );
    assert!(page.contains(&format!("由 #{} 升级", first.id)), "{page}");

    // Lifting: the last day is the day before; a lifted warning cannot be
    // lifted or changed again.
    let lift_on = today + Duration::days(3);
    let r = office
        .post(app.url(&format!("/emergency/warnings/{}/lift", raised.id)))
        .form(&[
            ("csrf", csrf.as_str()),
            ("on", &lift_on.to_string()),
            ("document", "新环攻坚办〔2026〕62号"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let lifted = app.db.emergency().warning(raised.id).await.unwrap();
    assert_eq!(lifted.ends_on, Some(lift_on - Duration::days(1)));
    assert!(lifted.lifted_at.is_some());
    let r = office
        .post(app.url(&format!("/emergency/warnings/{}/lift", raised.id)))
        .form(&[("csrf", csrf.as_str()), ("on", &lift_on.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("已解除"));
    let page = office
        .get(app.url(&format!("/emergency?warning={}", raised.id)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已解除（新环攻坚办〔2026〕62号）"), "{page}");
    assert!(!page.contains("id=\"lift-form\""), "{page}");
}

on_both_backends!(the_enterprise_page_keeps_the_record_and_shows_sites_list_and_warnings);
/// Issue 15 item 1 (一企一档): the office writes an enterprise's record — a
/// wrong credit code or grade comes back next to its field with what was
/// typed — and the page shows the record, the enterprise's meters with
/// their circuit, its rows of the list in force and the warnings it was
/// told of. The enterprise reads its own page only.
async fn the_enterprise_page_keeps_the_record_and_shows_sites_list_and_warnings(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user(
        "qiye",
        Role::Enterprise,
        "示范铸造有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let firm = app.org("示范铸造有限公司", OrgKind::Enterprise).await;
    let other = app.org("另一家企业", OrgKind::Enterprise).await;
    let meter = app
        .db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "PWR-9".into(),
                name: "1号炉用电".into(),
                kind: "power".into(),
                organisation_id: Some(firm),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    app.db
        .power()
        .set_circuit(
            &Actor::cli(),
            meter.id,
            Some(gongjian_alarms::power::Circuit::Production),
            &[],
        )
        .await
        .unwrap();
    let table = gongjian_tabular::read_csv_bytes("清单.csv", LIST.as_bytes()).unwrap();
    gongjian_app::emergency::import_list(&app.db, &Actor::cli(), "2026-2027", &table)
        .await
        .unwrap();
    let today = gongjian_app::now_local().date();
    gongjian_app::emergency::issue_warning(&app.db, &Actor::cli(), "orange", today, None, "")
        .await
        .unwrap();

    let office = app.login("office").await;
    let csrf = common::csrf_token(&office, &app.url("/api/v1/me")).await;
    let r = office
        .post(app.url(&format!("/enterprises/{firm}/record")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("credit_code", "91410000ABCDEFGH12"),
            ("industry", "铸造"),
            ("grade", "E级"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("统一社会信用代码有误"), "{page}");
    assert!(page.contains("绩效分级“E级”无效"), "{page}");
    assert!(page.contains("value=\"91410000ABCDEFGH12\""), "{page}");
    assert!(app.db.enterprises().record(firm).await.unwrap().is_none());
    let r = office
        .post(app.url(&format!("/enterprises/{firm}/record")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("industry", "铸造"),
            ("permit_number", "91410000XXXX001P"),
            ("permit_valid_until", "2028-06-30"),
            ("key_unit", "1"),
            ("grade", "c"),
            ("graded_on", "2026-09-15"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let record = app.db.enterprises().record(firm).await.unwrap().unwrap();
    assert_eq!(record.grade.as_deref(), Some("c"));
    assert!(record.key_unit);

    let qiye = app.login("qiye").await;
    let page = qiye
        .get(app.url(&format!("/enterprises/{firm}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("C级（2026-09-15 评定）"), "{page}");
    assert!(
        page.contains("91410000XXXX001P（有效期至 2028-06-30）"),
        "{page}"
    );
    assert!(
        page.contains("<td>重点排污单位</td>") || page.contains("<th>重点排污单位</th><td>是</td>"),
        "{page}"
    );
    assert!(
        page.contains("1号炉用电</a>") && page.contains("<td>产污设施</td>"),
        "{page}"
    );
    assert!(
        page.contains("<td>限产 70%</td>") || page.contains("限产"),
        "{page}"
    );
    assert!(
        page.contains("橙色") && page.contains(">未确认</td>"),
        "{page}"
    );
    assert!(
        !page.contains("id=\"record-form\""),
        "no edit form for the enterprise"
    );
    let r = qiye
        .get(app.url(&format!("/enterprises/{other}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let qcsrf = common::csrf_token(&qiye, &app.url("/api/v1/me")).await;
    let r = qiye
        .post(app.url(&format!("/enterprises/{firm}/record")))
        .form(&[("csrf", qcsrf.as_str()), ("industry", "改")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A township or department organisation has no record page.
    let office_org = app.org("原武镇", OrgKind::Township).await;
    let r = office
        .get(app.url(&format!("/enterprises/{office_org}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// The list as the city sends it (CLI layout), with a bad 绩效分级 on line
/// 3; the cell holds markup, which must come back escaped.
const BAD_LIST: &str = "序号,企业名称,行业类别,绩效分级,正常工况日用电量(kWh),黄色预警减排措施,黄色负荷上限(%),\
橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
1,示范铸造有限公司,铸造,C,4800,限产,80,限产,70,停产\n\
2,示范化工有限公司,化工,<E>,,停产,,停产,,停产\n";

/// The good list as an XLSX workbook: two enterprises, one of them with
/// two production lines (three rows).
fn good_list_xlsx() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let header = [
        "序号",
        "企业名称",
        "行业类别",
        "绩效分级",
        "生产线（工序）名称",
        "正常工况日用电量(kWh)",
        "黄色预警减排措施",
        "黄色负荷上限(%)",
        "橙色预警减排措施",
        "橙色负荷上限(%)",
        "红色预警减排措施",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let rows: [[&str; 11]; 3] = [
        [
            "1",
            "示范铸造有限公司",
            "铸造",
            "C",
            "熔炼工序",
            "4800",
            "限产",
            "80",
            "限产",
            "70",
            "停产",
        ],
        [
            "2",
            "示范铸造有限公司",
            "铸造",
            "C",
            "制芯工序",
            "600",
            "停产",
            "",
            "停产",
            "",
            "停产",
        ],
        [
            "3",
            "示范化工有限公司",
            "化工",
            "B-",
            "",
            "",
            "停产",
            "",
            "停产",
            "",
            "停产",
        ],
    ];
    for (r, row) in (1u32..).zip(rows.iter()) {
        for (c, v) in row.iter().enumerate() {
            // Figures as numbers, the way Excel keeps them.
            match v.parse::<f64>() {
                Ok(n) if c != 3 => ws.write_number(r, c as u16, n).map(|_| ()),
                _ if v.is_empty() => Ok(()),
                _ => ws.write_string(r, c as u16, *v).map(|_| ()),
            }
            .unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

/// `POST /emergency/list` as the page's form sends it.
async fn post_list(
    app: &common::TestApp,
    client: &reqwest::Client,
    season: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let csrf = common::csrf_token(client, &app.url("/api/v1/me")).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("season", season.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
        );
    client
        .post(app.url("/emergency/list"))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn list_audit_rows(app: &common::TestApp) -> Vec<gongjian_storage::AuditEntry> {
    app.db
        .audit()
        .list(&gongjian_storage::AuditFilter {
            entity: Some("emergency_list".into()),
            limit: 1000,
            ..gongjian_storage::AuditFilter::default()
        })
        .await
        .unwrap()
}

on_both_backends!(the_office_imports_the_list_on_the_page_and_a_bad_file_is_refused_whole);
/// Issue 15 item 1 (web): the office imports the season's 应急减排清单 on
/// 预警应急 — the same use case as `gongjian emergency import-list`. A
/// file with one bad row is refused whole: every problem with its row and
/// column next to the form, the season kept, nothing stored. The good file
/// loads (audited), the page says what was loaded and shows the list.
/// Other roles neither see the form nor may post it.
async fn the_office_imports_the_list_on_the_page_and_a_bad_file_is_refused_whole(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    app.user("zhujian", Role::Department, "区住建局", OrgKind::Department)
        .await;
    app.user("guancha", Role::Viewer, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user(
        "qiye",
        Role::Enterprise,
        "示范铸造有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let office = app.login("office").await;
    let page = office
        .get(app.url("/emergency"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"list-form\""), "{page}");
    assert!(page.contains("导入应急减排清单"), "{page}");
    assert!(page.contains("id=\"no-list\""), "{page}");

    // One bad row (GBK CSV, as Excel saves it on a Chinese Windows): the
    // whole file is refused, with the row and column, the season kept.
    let audit_before = app
        .db
        .audit()
        .list(&gongjian_storage::AuditFilter {
            limit: 100_000,
            ..gongjian_storage::AuditFilter::default()
        })
        .await
        .unwrap()
        .len();
    let (gbk, _, _) = encoding_rs::GBK.encode(BAD_LIST);
    let r = post_list(&app, &office, "2026-2027", "清单.csv", gbk.into_owned()).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"list-problems\""), "{page}");
    assert!(page.contains("整个文件未导入"), "{page}");
    assert!(page.contains("第 3 行「绩效分级」"), "{page}");
    assert!(page.contains("不是绩效分级"), "{page}");
    assert!(!page.contains("<E>"), "cell text is escaped: {page}");
    assert!(
        page.contains("&#60;E&#62;") || page.contains("&lt;E&gt;"),
        "{page}"
    );
    assert!(page.contains("value=\"2026-2027\""), "{page}");
    assert!(page.contains("原有清单不变"), "{page}");
    assert!(
        app.db
            .emergency()
            .emergency_list_in_force()
            .await
            .unwrap()
            .is_none()
    );
    let audit_after = app
        .db
        .audit()
        .list(&gongjian_storage::AuditFilter {
            limit: 100_000,
            ..gongjian_storage::AuditFilter::default()
        })
        .await
        .unwrap()
        .len();
    assert_eq!(audit_after, audit_before, "a refused import wrote");

    // The season is checked as on the command line: blank is refused.
    let r = post_list(&app, &office, "  ", "清单.xlsx", good_list_xlsx()).await;
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"err-season\""), "{page}");
    assert!(page.contains("请填写采暖季"), "{page}");
    assert!(
        app.db
            .emergency()
            .emergency_list_in_force()
            .await
            .unwrap()
            .is_none()
    );

    // The good file (XLSX) loads; the page says what was loaded.
    let r = post_list(&app, &office, "2026-2027", "清单.xlsx", good_list_xlsx()).await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("ok=list"), "{location}");
    let (list, entries) = app
        .db
        .emergency()
        .emergency_list_in_force()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            list.season.as_str(),
            list.entries,
            list.source_name.as_str()
        ),
        ("2026-2027", 3, "清单.xlsx")
    );
    assert_eq!(entries.len(), 3);
    let page = office
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(
            "已导入 2026-2027 采暖季应急减排清单（第 {} 版）：2 家企业，共 3 行（生产线）",
            list.id
        )),
        "{page}"
    );
    assert!(page.contains("id=\"list-rows\""), "{page}");
    // A registered enterprise's row links to its record (一企一档).
    let foundry = app.org("示范铸造有限公司", OrgKind::Enterprise).await;
    assert!(
        page.contains(&format!(
            "<td><a href=\"/enterprises/{foundry}\">示范铸造有限公司</a></td>"
        )) && page.contains("<td>示范化工有限公司</td>"),
        "{page}"
    );
    assert!(page.contains("<td>熔炼工序</td>"), "{page}");
    assert!(page.contains("限产（负荷不超过 70%）"), "{page}");
    // Audited as the command line's import is, under the office's name.
    let audit = list_audit_rows(&app).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        (
            audit[0].action.as_str(),
            audit[0].actor_name.as_str(),
            audit[0].entity_id.clone()
        ),
        ("import", "office", list.id.to_string())
    );
    // A warning issued now tells the listed enterprise with an account.
    let today = gongjian_app::now_local().date();
    let w = gongjian_app::emergency::issue_warning(&app.db, &Actor::cli(), "red", today, None, "")
        .await
        .unwrap();
    assert_eq!(app.db.emergency().receipts(w.id).await.unwrap().len(), 1);

    // Township, department, enterprise and viewer: no form, and 403.
    for who in ["yuanwu", "zhujian", "qiye", "guancha"] {
        let client = app.login(who).await;
        let r = client.get(app.url("/emergency")).send().await.unwrap();
        if r.status() == 200 {
            let page = r.text().await.unwrap();
            assert!(!page.contains("id=\"list-form\""), "{who}: {page}");
        } else {
            assert_eq!(r.status(), 403, "{who}");
        }
        let r = post_list(&app, &client, "2027-2028", "清单.xlsx", good_list_xlsx()).await;
        assert_eq!(r.status(), 403, "{who}");
    }
    let (after, _) = app
        .db
        .emergency()
        .emergency_list_in_force()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.id, list.id, "a refused role imported");
    assert_eq!(list_audit_rows(&app).await.len(), 1);
}

on_both_backends!(a_warnings_life_over_the_api);
/// Issue 15 item 2 over the API: the office issues a warning (the listed
/// enterprise is told), the enterprise confirms, the office raises it and
/// lifts the new one; another role is refused and a bad level or date is a
/// clear Chinese error that stores nothing.
async fn a_warnings_life_over_the_api(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("yuanwu", Role::Township, "原武镇", OrgKind::Township)
        .await;
    app.user(
        "qiye",
        Role::Enterprise,
        "示范铸造有限公司",
        OrgKind::Enterprise,
    )
    .await;
    let table = gongjian_tabular::read_csv_bytes("清单.csv", LIST.as_bytes()).unwrap();
    gongjian_app::emergency::import_list(&app.db, &Actor::cli(), "2026-2027", &table)
        .await
        .unwrap();
    let office = app.login("office").await;
    let post = |c: &reqwest::Client, path: &str, body: serde_json::Value| {
        c.post(app.url(path)).json(&body).send()
    };

    let township = app.login("yuanwu").await;
    let r = post(
        &township,
        "/api/v1/emergency/warnings",
        serde_json::json!({"level": "orange", "starts_on": "2026-11-20"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(
        &office,
        "/api/v1/emergency/warnings",
        serde_json::json!({"level": "紫色", "starts_on": "2026-11-20"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("预警级别"),
        "{body}"
    );
    let r = post(
        &office,
        "/api/v1/emergency/warnings",
        serde_json::json!({"level": "orange", "starts_on": "2026-13-01"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    assert!(app.db.emergency().warnings().await.unwrap().is_empty());

    let r = post(
        &office,
        "/api/v1/emergency/warnings",
        serde_json::json!({"level": "orange", "starts_on": "2026-11-20",
            "document_number": "新环攻坚办〔2026〕50号"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let w: Value = r.json().await.unwrap();
    let id = w["id"].as_i64().unwrap();
    assert_eq!(w["level"], "orange");

    let firm = app.login("qiye").await;
    let r = post(
        &office,
        &format!("/api/v1/emergency/warnings/{id}/confirm"),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403, "only an enterprise confirms");
    let r = post(
        &firm,
        &format!("/api/v1/emergency/warnings/{id}/confirm"),
        serde_json::json!({}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let receipts = gongjian_app::emergency::receipts(&app.db, id)
        .await
        .unwrap();
    assert_eq!(receipts.confirmed, 1);

    let r = post(
        &office,
        &format!("/api/v1/emergency/warnings/{id}/change"),
        serde_json::json!({"level": "red", "from": "2026-11-22"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let red: Value = r.json().await.unwrap();
    assert_eq!(red["level"], "red");
    assert_eq!(red["previous_id"], id);
    let red_id = red["id"].as_i64().unwrap();
    let r = post(
        &office,
        &format!("/api/v1/emergency/warnings/{red_id}/lift"),
        serde_json::json!({"on": "2026-11-25", "document_number": "新环攻坚办〔2026〕51号"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let lifted: Value = r.json().await.unwrap();
    assert_eq!(lifted["ends_on"], "2026-11-24", "{lifted}");
    // Lifted: it cannot be lifted again.
    let r = post(
        &office,
        &format!("/api/v1/emergency/warnings/{red_id}/lift"),
        serde_json::json!({"on": "2026-11-26"}),
    )
    .await
    .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}

on_both_backends!(the_office_judges_a_forecast_and_the_issue_form_is_prefilled);
/// Issue 15 item 2: the office types the AQI forecast on 预警应急; the
/// Henan 2019 triggers suggest orange for three days above 200, and the
/// issue form carries the level and days; a malformed forecast lists its
/// lines and suggests nothing.
async fn the_office_judges_a_forecast_and_the_issue_form_is_prefilled(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    let office = app.login("office").await;
    let get = |forecast: &str| {
        office
            .get(app.url("/emergency"))
            .query(&[("forecast", forecast)])
            .send()
    };
    let page =
        get("2030-01-10 180\n2030-01-11 215\n2030-01-12 248，\n2030-01-13,236\n2030-01-14 150")
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(
        page.contains(
            "建议发布橙色预警：2030-01-11 至 2030-01-13，连续 3 天 AQI &gt; 200（最高 248）"
        ) || page.contains(
            "建议发布橙色预警：2030-01-11 至 2030-01-13，连续 3 天 AQI &#62; 200（最高 248）"
        ),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"orange\" selected>"),
        "{page}"
    );
    assert!(
        page.contains("name=\"starts_on\" type=\"date\" value=\"2030-01-11\""),
        "{page}"
    );
    assert!(
        page.contains("name=\"ends_on\" type=\"date\" value=\"2030-01-13\""),
        "{page}"
    );

    let page = get("2030-01-10 180\n2030-01-11 <b>")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("第 2 行：AQI 应为 0–1000 的整数"), "{page}");
    assert!(!page.contains("建议发布"), "{page}");
    assert!(!page.contains("<b>"), "escaped: {page}");
    // Nothing is stored by judging.
    assert!(app.db.emergency().warnings().await.unwrap().is_empty());
}
