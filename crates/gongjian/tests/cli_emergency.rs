//! Black box, issue 15: the season's reduction list imported from the
//! city's spreadsheet, an orange warning issued for two days, and each
//! listed enterprise's warning days verified from its electricity meters
//! against the measure of the level (限排不限产): 达标, 未落实 or 无法核查,
//! never 达标 without data.

mod common;
use common::{Store, on_both_stores};

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Duration, NaiveDate};
use gongjian_storage::{Actor, Db, DbOptions, NewSite, OrgKind, RollupValue};
use serde_json::Value;

fn gongjian(store: &Store, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("GONGJIAN_LOG_LEVEL", "warn");
    store.apply(&mut cmd).output().expect("run gongjian")
}

const LIST: &str = "序号,企业名称,行业类别,绩效分级,正常工况日用电量(kWh),黄色预警减排措施,黄色负荷上限(%),\
橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
1,示范铸造有限公司,铸造,C,4800,限产,80,限产,70,停产\n\
2,示范化工有限公司,化工,B-,,停产,,停产,,停产\n\
3,无表建材有限公司,建材,C,1000,停产,,停产,,停产\n\
4,示范印刷有限公司,包装印刷,A级,,,,,,\n";

/// Hourly counter readings (kWh) of one day from `start` using `per_hour`
/// for each of `hours` hours; returns the counter at the end.
fn day_readings(
    site: i64,
    day: NaiveDate,
    mut counter: u64,
    per_hour: u64,
    hours: i64,
    out: &mut Vec<RollupValue>,
) -> u64 {
    let start = gongjian_standards::cst::day_start_utc(day);
    for h in 0..hours {
        out.push(gongjian_storage::testing::energy_hour(
            site,
            start + h * 3600,
            counter,
        ));
        counter += per_hour;
    }
    counter
}

on_both_stores!(a_warning_is_verified_from_the_meters_of_the_listed_enterprises);

fn a_warning_is_verified_from_the_meters_of_the_listed_enterprises(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = store.url(dir.path());
    let warning_day = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        let actor = Actor::cli();
        let mut meter = std::collections::HashMap::new();
        for name in ["示范铸造有限公司", "示范化工有限公司", "无表建材有限公司"]
        {
            let org = db
                .organisations()
                .create_organisation(&actor, name, OrgKind::Enterprise, None)
                .await
                .unwrap();
            if name == "无表建材有限公司" {
                continue;
            }
            let site = db
                .monitoring()
                .create_site(
                    &actor,
                    &NewSite {
                        code: format!("PWR-{}", org.id),
                        name: format!("{name}用电监控"),
                        kind: "power".into(),
                        organisation_id: Some(org.id),
                        ..NewSite::default()
                    },
                )
                .await
                .unwrap();
            meter.insert(name, site.id);
        }
        let mut rows = Vec::new();
        // 铸造: 4,800 kWh a normal day; 3,000 on the first warning day
        // (62.5 %, within 70 %), 4,000 on the second (83.3 %).
        let mut c = 100_000;
        for back in (1..=20).rev() {
            c = day_readings(
                meter["示范铸造有限公司"],
                warning_day - Duration::days(back),
                c,
                200,
                24,
                &mut rows,
            );
        }
        c = day_readings(
            meter["示范铸造有限公司"],
            warning_day,
            c,
            125,
            24,
            &mut rows,
        );
        c = day_readings(
            meter["示范铸造有限公司"],
            warning_day + Duration::days(1),
            c,
            4000 / 24,
            24,
            &mut rows,
        );
        day_readings(
            meter["示范铸造有限公司"],
            warning_day + Duration::days(2),
            c,
            0,
            1,
            &mut rows,
        );
        // 化工: 3,000 kWh a normal day (no figure in the list: measured);
        // stopped on the first warning day (120 kWh, 4 %), and a meter that
        // sent only ten hours on the second.
        let mut c = 5_000;
        for back in (1..=20).rev() {
            c = day_readings(
                meter["示范化工有限公司"],
                warning_day - Duration::days(back),
                c,
                125,
                24,
                &mut rows,
            );
        }
        c = day_readings(meter["示范化工有限公司"], warning_day, c, 5, 24, &mut rows);
        day_readings(
            meter["示范化工有限公司"],
            warning_day + Duration::days(1),
            c,
            5,
            10,
            &mut rows,
        );
        db.monitoring().store_rollups(&rows).await.unwrap();
        db.close().await;
    });

    // A list with a bad row is refused whole, with the row.
    let bad = dir.path().join("坏清单.csv");
    std::fs::write(&bad, format!("{LIST}5,示范砖厂,建材,C,,限产,,限产,,停产\n")).unwrap();
    let out = gongjian(
        &store,
        dir.path(),
        &[
            "emergency",
            "import-list",
            bad.to_str().unwrap(),
            "--season",
            "2026-2027",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("第 6 行"), "{stderr}");

    let list = dir.path().join("清单.csv");
    std::fs::write(&list, LIST).unwrap();
    let out = gongjian(
        &store,
        dir.path(),
        &[
            "emergency",
            "import-list",
            list.to_str().unwrap(),
            "--season",
            "2026-2027",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gongjian(
        &store,
        dir.path(),
        &[
            "emergency",
            "warn",
            "--level",
            "橙色",
            "--from",
            "2026-11-10",
            "--to",
            "2026-11-11",
            "--document",
            "新环攻坚办〔2026〕45号",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("预警 #1：橙色"));

    let out = gongjian(
        &store,
        dir.path(),
        &["emergency", "verify", "--warning", "1", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let verdict = |enterprise: &str, day: &str| -> String {
        v["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["enterprise"] == enterprise && d["day"] == day)
            .map(|d| d["verdict_label"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("{enterprise} {day}: {v}"))
    };
    assert_eq!(verdict("示范铸造有限公司", "2026-11-10"), "达标", "{v}");
    assert_eq!(verdict("示范铸造有限公司", "2026-11-11"), "未落实", "{v}");
    assert_eq!(verdict("示范化工有限公司", "2026-11-10"), "达标", "{v}");
    assert_eq!(verdict("示范化工有限公司", "2026-11-11"), "无法核查", "{v}");
    assert_eq!(verdict("无表建材有限公司", "2026-11-10"), "无法核查", "{v}");
    let chem = v["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["enterprise"] == "示范化工有限公司")
        .unwrap();
    assert_eq!(
        chem["baseline_kwh"], "3000",
        "measured from the normal days: {v}"
    );
    assert_eq!(
        v["not_required"],
        serde_json::json!(["示范印刷有限公司"]),
        "{v}"
    );

    // A failed day opens a 督办 case for its enterprise, once per warning.
    let out = gongjian(
        &store,
        dir.path(),
        &["emergency", "verify", "--warning", "1", "--open-cases"],
    );
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("已立督办单 1 件"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = gongjian(
        &store,
        dir.path(),
        &["emergency", "verify", "--warning", "1", "--open-cases"],
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("已立督办单 0 件"));
    let cases = gongjian(&store, dir.path(), &["cases", "--json"]);
    let cases: Value = serde_json::from_slice(&cases.stdout).unwrap();
    let case = &cases.as_array().unwrap()[0];
    assert_eq!(case["source"], "emergency", "{cases}");
    assert_eq!(case["organisation"], "示范铸造有限公司", "{cases}");
    assert!(
        case["description"].as_str().unwrap().contains("2026-11-11"),
        "{cases}"
    );

    // The text report says the same.
    let out = gongjian(
        &store,
        dir.path(),
        &["emergency", "verify", "--warning", "1"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2026-11-11\t示范铸造有限公司\t限产\t未落实"),
        "{text}"
    );
}

on_both_stores!(a_warning_is_raised_and_lifted_from_the_command_line);

/// Issue 15 item 2 on the command line: `emergency change` raises a
/// warning from a later day (the old one ends the day before), `emergency
/// lift` lifts it; a refused step says why in Chinese and exits non-zero.
fn a_warning_is_raised_and_lifted_from_the_command_line(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| gongjian(&store, dir.path(), args);
    let out = run(&[
        "emergency",
        "warn",
        "--level",
        "黄色",
        "--from",
        "2026-11-10",
        "--document",
        "新环攻坚办〔2026〕46号",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "emergency",
        "change",
        "--warning",
        "1",
        "--level",
        "红色",
        "--from",
        "2026-11-12",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("已调整，现行预警 #2：红色，2026-11-12 至 解除前"),
        "{stdout}"
    );
    // The first warning can no longer be changed after its new end.
    let out = run(&[
        "emergency",
        "change",
        "--warning",
        "1",
        "--level",
        "橙色",
        "--from",
        "2026-11-13",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("已不在生效期内"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["emergency", "lift", "--warning", "2", "--on", "2026-11-15"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("已解除预警 #2：红色，2026-11-12 至 2026-11-14"),
        "{stdout}"
    );
}

const STACK_LIST: &str = "序号,企业名称,行业类别,绩效分级,黄色预警减排措施,黄色负荷上限(%),\
橙色预警减排措施,橙色负荷上限(%),红色预警减排措施\n\
1,示范焦化有限公司,焦化,C,限产,80,限产,70,停产\n\
2,示范玻璃有限公司,玻璃,C,限产,80,限产,70,停产\n\
3,无监测陶瓷有限公司,陶瓷,C,限产,80,限产,70,停产\n";

/// One day of hourly CEMS records at `site`: SO₂ at `so2` mg/m³ measured
/// and `so2_converted` converted, the flue-gas flow at `flow` m³/s.
fn stack_day(
    site: i64,
    day: NaiveDate,
    so2: &str,
    so2_converted: &str,
    flow: &str,
    out: &mut Vec<RollupValue>,
) {
    let start = gongjian_standards::cst::day_start_utc(day);
    for h in 0..24 {
        for (factor, value, converted) in
            [("a21026", so2, Some(so2_converted)), ("a00000", flow, None)]
        {
            out.push(RollupValue {
                site_id: site,
                factor: factor.into(),
                kind: "hour",
                period_start: start + h * 3600,
                value: Some(value.into()),
                converted: converted.map(str::to_owned),
                flag: "N".into(),
                day_start: None,
            });
        }
    }
}

on_both_stores!(a_warning_is_verified_from_the_stacks_of_the_listed_enterprises);

/// Issue 15 item 4, 限排不限产 from CEMS: 20 normal days set each stack's
/// baseline (no figure in the list); on the warning days the coking plant
/// cuts its flow by 30 % (达标 at orange's 20 %), the glass works runs as
/// usual (未落实, 0 % reduction) and then shows a lower measured
/// concentration while its converted concentration is over the limit — the
/// dilution the limit check exists for (未落实) — and an enterprise with no
/// monitoring at all is 无法核查.
fn a_warning_is_verified_from_the_stacks_of_the_listed_enterprises(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = store.url(dir.path());
    let warning_day = NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        let actor = Actor::cli();
        let mut stack = std::collections::HashMap::new();
        for name in ["示范焦化有限公司", "示范玻璃有限公司", "无监测陶瓷有限公司"]
        {
            let org = db
                .organisations()
                .create_organisation(&actor, name, OrgKind::Enterprise, None)
                .await
                .unwrap();
            if name == "无监测陶瓷有限公司" {
                continue;
            }
            let site = db
                .monitoring()
                .create_site(
                    &actor,
                    &NewSite {
                        code: format!("DA{:03}", org.id),
                        name: "1#排口".into(),
                        kind: "stack_gas".into(),
                        organisation_id: Some(org.id),
                        ..NewSite::default()
                    },
                )
                .await
                .unwrap();
            db.monitoring()
                .set_site_factors(
                    &actor,
                    site.id,
                    &[
                        gongjian_storage::SiteFactor {
                            factor: "a21026".into(),
                            name: "二氧化硫".into(),
                            unit: "mg/m³".into(),
                            limit_value: Some("50".into()),
                        },
                        gongjian_storage::SiteFactor {
                            factor: "a00000".into(),
                            name: "烟气流量".into(),
                            unit: "m³/s".into(),
                            limit_value: None,
                        },
                    ],
                )
                .await
                .unwrap();
            stack.insert(name, site.id);
        }
        let mut rows = Vec::new();
        for (name, site) in &stack {
            // Normal: 30 mg/m³ × 50 m³/s = 5.4 kg an hour, 129.6 kg a day.
            for back in 1..=20 {
                stack_day(
                    *site,
                    warning_day - Duration::days(back),
                    "30",
                    "36",
                    "50",
                    &mut rows,
                );
            }
            if *name == "示范焦化有限公司" {
                for d in 0..2 {
                    let day = warning_day + Duration::days(d);
                    stack_day(*site, day, "30", "36", "35", &mut rows);
                }
            } else {
                stack_day(*site, warning_day, "30", "36", "50", &mut rows);
                let next = warning_day + Duration::days(1);
                stack_day(*site, next, "20", "60", "50", &mut rows);
            }
        }
        db.monitoring().store_rollups(&rows).await.unwrap();
        db.close().await;
    });
    let list = dir.path().join("清单.csv");
    std::fs::write(&list, STACK_LIST).unwrap();
    for args in [
        vec![
            "emergency",
            "import-list",
            list.to_str().unwrap(),
            "--season",
            "2026-2027",
        ],
        vec![
            "emergency",
            "warn",
            "--level",
            "橙色",
            "--from",
            "2026-11-10",
            "--to",
            "2026-11-11",
        ],
    ] {
        let out = gongjian(&store, dir.path(), &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = gongjian(
        &store,
        dir.path(),
        &["emergency", "verify", "--warning", "1", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let day = |enterprise: &str, day: &str| -> Value {
        v["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["enterprise"] == enterprise && d["day"] == day)
            .cloned()
            .unwrap_or_else(|| panic!("{enterprise} {day}: {v}"))
    };
    let coke = day("示范焦化有限公司", "2026-11-10");
    assert_eq!(coke["verdict_label"], "达标", "{v}");
    let so2 = &coke["emissions"][0];
    assert_eq!(so2["pollutant"], "so2", "{v}");
    assert_eq!(
        so2["baseline_kg"], "129.6",
        "measured from normal days: {v}"
    );
    assert_eq!(so2["actual_kg"], "90.72", "{v}");
    assert_eq!(so2["required"], "减排 ≥ 20%", "{v}");

    let glass = day("示范玻璃有限公司", "2026-11-10");
    assert_eq!(glass["verdict_label"], "未落实", "{v}");
    assert!(
        glass["detail"]
            .as_str()
            .unwrap()
            .contains("二氧化硫排放量仅减少 0%"),
        "{v}"
    );
    // Diluted: the mass fell by a third, the converted concentration is
    // 120 % of the limit.
    let diluted = day("示范玻璃有限公司", "2026-11-11");
    assert_eq!(diluted["verdict_label"], "未落实", "{v}");
    assert_eq!(diluted["emissions"][0]["verdict_label"], "达标", "{v}");
    assert!(
        diluted["detail"]
            .as_str()
            .unwrap()
            .contains("1#排口二氧化硫小时折算浓度最高为限值的 120%"),
        "{v}"
    );
    let none = day("无监测陶瓷有限公司", "2026-11-10");
    assert_eq!(none["verdict_label"], "无法核查", "{v}");
    assert!(none["detail"].as_str().unwrap().contains("废气排口"), "{v}");
}
