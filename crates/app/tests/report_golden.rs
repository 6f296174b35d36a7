//! Golden files for the 月调度 report: the JSON a publication freezes and
//! every cell of the XLSX export, for a fixed month of fixed data, on
//! SQLite and (when `GONGJIAN_TEST_POSTGRES_URL` is set) PostgreSQL. A
//! renamed field or a moved column changes a golden file.
//!
//! After an intended change: `GONGJIAN_BLESS=1 cargo test -p gongjian-app
//! --test report_golden`, then review the diff of `tests/golden/`.

use std::path::PathBuf;

use calamine::{Data, Reader, Xlsx};
use chrono::{Duration, NaiveDate};
use gongjian_app::air::{AirCache, import_parsed};
use gongjian_app::report::{MonthlyReport, build_report};
use gongjian_standards::cst::day_start_utc;
use gongjian_standards::evaluation::PerPollutant;
use gongjian_storage::{
    Actor, Db, FireKind, NewFirePoint, NewSite, OrgKind, RollupValue, SiteFactor, testing,
};
use gongjian_targets::import::{ParsedFile, ParsedHour};
use rust_decimal::Decimal;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn check_golden(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var_os("GONGJIAN_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with GONGJIAN_BLESS=1 to create)",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the golden file at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             (GONGJIAN_BLESS=1 rewrites it after an intended change)",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// Every cell of every sheet, typed: `s:` text, `n:` number, blank empty.
fn xlsx_cells(bytes: Vec<u8>) -> String {
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = String::new();
    for name in book.sheet_names() {
        out.push_str(&format!("## {name}\n"));
        let range = book.worksheet_range(&name).unwrap();
        for row in range.rows() {
            let cells: Vec<String> = row
                .iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => format!("s:{s}"),
                    Data::Float(f) => format!("n:{f}"),
                    Data::Int(i) => format!("n:{i}"),
                    other => format!("?:{other:?}"),
                })
                .collect();
            out.push_str(&cells.join(" | "));
            out.push('\n');
        }
    }
    out
}

/// Three stations in two townships with hourly data for July 2019 and
/// June–July 2020 (deterministic values), a water section, a stack outlet
/// with exceedances and a straw fire point.
async fn fixture(db: &Db) {
    let actor = Actor::cli();
    let stations = [
        ("PY001", "城区站", "城关镇"),
        ("PY002", "开发区站", "城关镇"),
        ("PY003", "原武站", "原武镇"),
    ];
    let mut parsed = ParsedFile::default();
    let spans = [
        (NaiveDate::from_ymd_opt(2019, 7, 1).unwrap(), 31),
        (NaiveDate::from_ymd_opt(2020, 6, 1).unwrap(), 61),
    ];
    for (i, (code, _, _)) in stations.iter().enumerate() {
        let i = i as i64;
        for (first, days) in spans {
            for d in 0..days {
                for h in 1..=24 {
                    let end = first.and_hms_opt(0, 0, 0).unwrap()
                        + Duration::days(d)
                        + Duration::hours(h);
                    let k = d * 7 + h * 3 + i * 11;
                    let pm25 = 25 + k % 40 + i * 3
                        - if first < NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() {
                            0
                        } else {
                            4
                        };
                    parsed.hours.push(ParsedHour {
                        station: (*code).to_owned(),
                        end,
                        values: PerPollutant {
                            so2: Some(Decimal::from(6 + k % 9)),
                            no2: Some(Decimal::from(18 + k % 23)),
                            co: Some(Decimal::new(5 + k % 7, 1)),
                            o3: Some(Decimal::from(60 + (k * 5) % 120)),
                            pm10: Some(Decimal::from(pm25 * 17 / 10 + k % 13)),
                            pm25: Some(Decimal::from(pm25)),
                        },
                        line: 0,
                    });
                }
            }
        }
    }
    // An air import takes only registered stations.
    for (code, _, _) in stations {
        db.monitoring()
            .create_site(
                &actor,
                &NewSite {
                    code: code.into(),
                    name: code.into(),
                    kind: "air_station".into(),
                    ..NewSite::default()
                },
            )
            .await
            .unwrap();
    }
    import_parsed(db, &actor, "golden", &parsed).await.unwrap();
    let sites = db.air().sites_of_kind("air_station").await.unwrap();
    for (code, name, township) in stations {
        let town = match db
            .organisations()
            .organisation_by_name(township)
            .await
            .unwrap()
        {
            Some(o) => o.id,
            None => {
                db.organisations()
                    .create_organisation(&actor, township, OrgKind::Township, None)
                    .await
                    .unwrap()
                    .id
            }
        };
        let site = sites.iter().find(|s| s.code == code).unwrap();
        db.air()
            .set_site_place(&actor, site.id, name, Some(town))
            .await
            .unwrap();
    }

    let factor = |code: &str, name: &str, unit: &str, limit: Option<&str>| SiteFactor {
        factor: code.into(),
        name: name.into(),
        unit: unit.into(),
        limit_value: limit.map(str::to_owned),
    };
    let water = db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "W01".into(),
                name: "天然渠韩董庄断面".into(),
                kind: "surface_water".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    db.monitoring()
        .set_site_factors(
            &actor,
            water.id,
            &[
                factor("w21003", "氨氮", "mg/L", None),
                factor("w01018", "化学需氧量", "mg/L", None),
            ],
        )
        .await
        .unwrap();
    let enterprise = db
        .organisations()
        .create_organisation(&actor, "示范热电", OrgKind::Enterprise, None)
        .await
        .unwrap()
        .id;
    let stack = db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "G01".into(),
                name: "示范热电1号排口".into(),
                kind: "stack_gas".into(),
                organisation_id: Some(enterprise),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    db.monitoring()
        .set_site_factors(
            &actor,
            stack.id,
            &[factor("a21026", "二氧化硫", "mg/m³", Some("35"))],
        )
        .await
        .unwrap();
    let day = |d: u32| day_start_utc(NaiveDate::from_ymd_opt(2020, 7, d).unwrap());
    let value =
        |site_id: i64, factor: &str, kind: &'static str, start: i64, v: &str, flag: &str| {
            RollupValue {
                site_id,
                factor: factor.into(),
                kind,
                period_start: start,
                value: Some(v.into()),
                converted: (kind == "hour").then(|| v.to_owned()),
                flag: flag.into(),
                day_start: None,
            }
        };
    let mut rows = Vec::new();
    for d in 1..=3 {
        rows.push(value(water.id, "w21003", "day", day(d), "1.2", "N"));
        rows.push(value(water.id, "w01018", "day", day(d), "18", "N"));
    }
    rows.push(value(water.id, "w21003", "day", day(4), "5.0", "D"));
    rows.push(value(stack.id, "a21026", "hour", day(5) + 3600, "40", "N"));
    rows.push(value(
        stack.id,
        "a21026",
        "hour",
        day(5) + 7200,
        "52.5",
        "N",
    ));
    rows.push(value(stack.id, "a21026", "hour", day(5) + 10800, "70", "C"));
    rows.push(value(stack.id, "a21026", "hour", day(5) + 14400, "30", "N"));
    db.monitoring().store_rollups(&rows).await.unwrap();
    let township = db
        .organisations()
        .organisation_by_name("原武镇")
        .await
        .unwrap()
        .unwrap()
        .id;
    // The fire point's deduction is the 2020 plan's (air task 15's
    // indicators): that task is in force when the point is recorded. The
    // rest of the plan (and the task's assignments) stays out, so the
    // report's other sections read only the figures stored above.
    let mut plan = gongjian_app::plan::embedded_plan().unwrap();
    plan.tasks.retain(|t| t.key == "air-15");
    for t in &mut plan.tasks {
        t.lead.clear();
        t.cooperating.clear();
        t.townships.clear();
    }
    plan.targets.clear();
    db.campaigns().load_campaign(&actor, &plan).await.unwrap();
    db.campaigns()
        .add_fire_point(
            &actor,
            &NewFirePoint {
                township_id: township,
                occurred_on: NaiveDate::from_ymd_opt(2020, 7, 9).unwrap(),
                place: "原武镇东村麦田".into(),
                kind: FireKind::Straw,
                note: String::new(),
                attachments: Vec::new(),
                reply_due: None,
                longitude: None,
                latitude: None,
            },
        )
        .await
        .unwrap();
}

async fn report_of(db: &Db) -> MonthlyReport {
    fixture(db).await;
    let plan = gongjian_app::plan::embedded_plan().unwrap();
    let now = NaiveDate::from_ymd_opt(2020, 8, 3)
        .unwrap()
        .and_hms_opt(9, 30, 0)
        .unwrap();
    build_report(
        db,
        &AirCache::default(),
        &plan,
        NaiveDate::from_ymd_opt(2020, 7, 15).unwrap(),
        now,
    )
    .await
    .unwrap()
}

fn check(report: &MonthlyReport) {
    let json = serde_json::to_string_pretty(report).unwrap() + "\n";
    check_golden("report-2020-07.json", &json);
    // A frozen version reads back as the same report.
    let back: MonthlyReport = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, report);
    check_golden(
        "report-2020-07.xlsx.txt",
        &xlsx_cells(report.xlsx("report-2020-07.xlsx").unwrap()),
    );
}

#[tokio::test]
async fn monthly_report_matches_the_golden_files_on_sqlite() {
    let t = testing::sqlite().await;
    check(&report_of(&t.db).await);
}

#[tokio::test]
async fn monthly_report_matches_the_golden_files_on_postgres() {
    let Some(t) = testing::postgres().await else {
        return;
    };
    check(&report_of(&t.db).await);
}

/// Issue 13 item 17: the report is titled for air, water and soil; a target
/// without a figure reads as its requirement (not "< "); the standards are
/// listed once, not on every row; deductions are in 万元 and stored as
/// numbers.
#[tokio::test]
async fn the_report_reads_as_an_office_prints_it() {
    let t = testing::sqlite().await;
    let report = report_of(&t.db).await;
    assert!(
        report.title.contains("（大气、水、土壤）"),
        "{}",
        report.title
    );
    let sections = report.sections();
    let targets = &sections[0];
    assert!(!targets.sheet.headers.iter().any(|h| h == "规则"));
    assert!(targets.note.contains("HJ 633-2012"), "{}", targets.note);
    let emission = targets
        .sheet
        .rows
        .iter()
        .find(|r| r[0] == gongjian_tabular::Cell::from("主要污染物排放总量".to_owned()))
        .expect("the emission target");
    assert_eq!(
        emission[1],
        gongjian_tabular::Cell::from("< 2019 年值".to_owned())
    );
    let fire = sections
        .iter()
        .find(|s| s.sheet.name == "火点扣款")
        .unwrap();
    assert!(fire.sheet.headers.iter().any(|h| h == "扣款(万元)"));
    assert_eq!(
        fire.sheet.rows[0][5],
        gongjian_tabular::Cell::Number(rust_decimal::Decimal::from(50))
    );
    assert!(fire.note.contains("50 万元"), "{}", fire.note);
}

/// Issue 14: 督办 cases count in each organisation's 月考核 — a township's
/// own overdue case and, under 属地管理, an enterprise's in its territory.
async fn overdue_cases_are_deducted(db: &Db) {
    fixture(db).await;
    let actor = Actor::cli();
    let town = db
        .organisations()
        .organisation_by_name("原武镇")
        .await
        .unwrap()
        .unwrap()
        .id;
    let firm = db
        .organisations()
        .create_organisation(
            &actor,
            "新乡某化工有限公司",
            OrgKind::Enterprise,
            Some(town),
        )
        .await
        .unwrap()
        .id;
    let today = gongjian_storage::today_cst();
    let case = |org: i64, title: &str, due: NaiveDate| gongjian_storage::NewCase {
        title: title.into(),
        source: "manual".into(),
        category: "超标排放".into(),
        severity: gongjian_alarms::Severity::Major,
        description: String::new(),
        site_id: None,
        alarm_id: None,
        rule: None,
        factor: None,
        organisation_id: org,
        township_id: Some(town),
        due_on: due,
        contact: None,
        longitude: None,
        latitude: None,
        attachments: Vec::new(),
    };
    let past = today - Duration::days(1);
    db.cases()
        .create_case(&actor, &case(town, "原武镇散乱污未整改", past))
        .await
        .unwrap();
    db.cases()
        .create_case(&actor, &case(firm, "化工公司二氧化硫超标", past))
        .await
        .unwrap();
    db.cases()
        .create_case(
            &actor,
            &case(firm, "化工公司扬尘", today + Duration::days(5)),
        )
        .await
        .unwrap();
    let plan = gongjian_app::plan::embedded_plan().unwrap();
    let report = build_report(
        db,
        &AirCache::default(),
        &plan,
        today,
        today.and_hms_opt(12, 0, 0).unwrap(),
    )
    .await
    .unwrap();
    let item = |org: &str| {
        report
            .assessment
            .iter()
            .find(|a| a.organisation == org)
            .and_then(|a| a.items.iter().find(|i| i.rule == "督办单逾期"))
            .cloned()
    };
    let yuanwu = item("原武镇").expect("原武镇 is assessed on its cases");
    assert_eq!(yuanwu.points, Decimal::from(-2), "{yuanwu:?}");
    assert!(
        yuanwu.basis.contains("本单位 1，辖区企业 1"),
        "{}",
        yuanwu.basis
    );
    assert_eq!(yuanwu.evidence.as_deref(), Some("/cases?state=overdue"));
    let other = item("师寨镇").expect("every township is assessed");
    assert_eq!(other.points, Decimal::ZERO, "{other:?}");
}

#[tokio::test]
async fn overdue_cases_are_deducted_in_the_monthly_assessment_on_sqlite() {
    let t = testing::sqlite().await;
    overdue_cases_are_deducted(&t.db).await;
}

#[tokio::test]
async fn overdue_cases_are_deducted_in_the_monthly_assessment_on_postgres() {
    let Some(t) = testing::postgres().await else {
        return;
    };
    overdue_cases_are_deducted(&t.db).await;
}
