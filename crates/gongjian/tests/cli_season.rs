//! Black box, issue 15 item 6: the heating season's 错峰生产 list imported
//! with its dates, and each listed enterprise's days verified from its
//! production meters — a limit against its load limit, a night stagger on
//! the energy used in its stop hours, a stop without a meter 无法核查.

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

const LIST: &str = "序号,企业名称,行业类别,生产线名称,错峰生产措施,负荷上限(%),错峰时段,正常工况日用电量(kWh)\n\
1,示范铸造有限公司,铸造,冲天炉,限产,80,,4800\n\
2,示范化工有限公司,化工,,夜间错峰生产,,22:00-06:00,\n\
3,无表水泥有限公司,建材,熟料生产线,停产,,,2000\n";

/// Hourly counter readings (kWh) of `day`, the hour `h` using
/// `per_hour(h)`; returns the counter at the end of the day.
fn day_readings(
    site: i64,
    day: NaiveDate,
    mut counter: u64,
    per_hour: impl Fn(i64) -> u64,
    out: &mut Vec<RollupValue>,
) -> u64 {
    let start = gongjian_standards::cst::day_start_utc(day);
    for h in 0..24 {
        out.push(gongjian_storage::testing::energy_hour(
            site,
            start + h * 3600,
            counter,
        ));
        counter += per_hour(h);
    }
    counter
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

on_both_stores!(the_season_list_is_verified_from_the_production_meters);

fn the_season_list_is_verified_from_the_production_meters(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = store.url(dir.path());
    let season_start = day("2026-11-15");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        let actor = Actor::cli();
        let mut meter = std::collections::HashMap::new();
        for name in ["示范铸造有限公司", "示范化工有限公司", "无表水泥有限公司"]
        {
            let org = db
                .organisations()
                .create_organisation(&actor, name, OrgKind::Enterprise, None)
                .await
                .unwrap();
            if name == "无表水泥有限公司" {
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
        // 铸造 (listed baseline 4,800 kWh/d, load ≤ 80 %): 3,600 kWh on
        // the first season day (75 %), 4,320 on the second (90 %).
        let mut c = 10_000;
        for (d, per_hour) in [("2026-11-15", 150), ("2026-11-16", 180), ("2026-11-17", 0)] {
            c = day_readings(
                meter["示范铸造有限公司"],
                day(d),
                c,
                |_| per_hour,
                &mut rows,
            );
        }
        // 化工: 125 kWh an hour for 20 days before the season (a measured
        // baseline of 3,000 kWh/d, 1,000 in the eight night hours, 10 % of
        // which is 100). The first night it stops (5 kWh an hour, 40); the
        // second it runs on (1,000).
        let mut c = 50_000;
        for back in (1..=20).rev() {
            c = day_readings(
                meter["示范化工有限公司"],
                season_start - Duration::days(back),
                c,
                |_| 125,
                &mut rows,
            );
        }
        c = day_readings(
            meter["示范化工有限公司"],
            day("2026-11-15"),
            c,
            |h| {
                if h >= 22 { 5 } else { 125 }
            },
            &mut rows,
        );
        c = day_readings(
            meter["示范化工有限公司"],
            day("2026-11-16"),
            c,
            |h| {
                if h < 6 { 5 } else { 125 }
            },
            &mut rows,
        );
        c = day_readings(
            meter["示范化工有限公司"],
            day("2026-11-17"),
            c,
            |_| 125,
            &mut rows,
        );
        day_readings(
            meter["示范化工有限公司"],
            day("2026-11-18"),
            c,
            |_| 125,
            &mut rows,
        );
        db.monitoring().store_rollups(&rows).await.unwrap();
        db.close().await;
    });

    let file = dir.path().join("2026-2027 错峰生产清单.csv");
    std::fs::write(&file, LIST).unwrap();
    let out = gongjian(
        &store,
        dir.path(),
        &[
            "emergency",
            "import-season",
            file.to_str().unwrap(),
            "--season",
            "2026-2027",
            "--from",
            "2026-11-15",
            "--to",
            "2027-03-15",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 家企业"), "{stdout}");

    let out = gongjian(
        &store,
        dir.path(),
        &[
            "emergency",
            "season",
            "--from",
            "2026-11-15",
            "--to",
            "2026-11-16",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = |name: &str| -> Value {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["enterprise"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing in {v}"))
    };
    let verdicts = |name: &str| -> Vec<String> {
        row(name)["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["verdict_label"].as_str().unwrap().to_owned())
            .collect()
    };

    let foundry = row("示范铸造有限公司");
    assert_eq!(foundry["measure"], "限产（负荷 ≤ 80%）");
    assert_eq!(verdicts("示范铸造有限公司"), ["达标", "未落实"]);
    assert_eq!(foundry["days"][0]["energy_kwh"], "3600");
    let detail = foundry["days"][1]["detail"].as_str().unwrap();
    assert!(
        detail.contains("基准用电的 90%，超过允许的 80%"),
        "{detail}"
    );

    let chemical = row("示范化工有限公司");
    assert_eq!(chemical["measure"], "错峰生产 22:00–06:00 停产");
    assert_eq!(chemical["baseline_kwh"], "3000");
    assert_eq!(chemical["baseline_listed"], false);
    assert_eq!(verdicts("示范化工有限公司"), ["达标", "未落实"]);
    assert_eq!(chemical["days"][0]["energy_kwh"], "40");
    let detail = chemical["days"][1]["detail"].as_str().unwrap();
    assert!(
        detail.contains("错峰时段 22:00–06:00 用电为该时段基准用电的 100%"),
        "{detail}"
    );

    assert_eq!(verdicts("无表水泥有限公司"), ["无法核查", "无法核查"]);
    assert_eq!(row("无表水泥有限公司")["compliant"], 0);

    // The text form names each enterprise with its counts.
    let out = gongjian(
        &store,
        dir.path(),
        &[
            "emergency",
            "season",
            "--from",
            "2026-11-15",
            "--to",
            "2026-11-16",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "示范铸造有限公司\t限产（负荷 ≤ 80%）\t达标 1 天，未落实 1 天，无法核查 0 天"
        ),
        "{text}"
    );
}

on_both_stores!(a_bad_season_list_is_refused_whole_and_nothing_is_stored);

fn a_bad_season_list_is_refused_whole_and_nothing_is_stored(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("错峰生产清单.csv");
    let bad = "企业名称,错峰生产措施,负荷上限(%),开始日期\n\
甲铸造有限公司,限产,,\n\
乙水泥有限公司,停产,,2026-10-01\n";
    std::fs::write(&file, bad).unwrap();
    let out = gongjian(
        &store,
        dir.path(),
        &[
            "emergency",
            "import-season",
            file.to_str().unwrap(),
            "--season",
            "2026-2027",
            "--from",
            "2026-11-15",
            "--to",
            "2027-03-15",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("整个文件未导入"), "{stderr}");
    assert!(stderr.contains("第 2 行「错峰生产措施」"), "{stderr}");
    assert!(stderr.contains("第 3 行「开始日期」"), "{stderr}");
    let out = gongjian(&store, dir.path(), &["emergency", "season"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("未导入错峰生产清单"));
}
