//! Rollup validity: minute records weighted by their interval, HJ 76 rules.

use gongjian_ingest::{rollup_day, rollup_hour};
use gongjian_standards::emission::Thresholds;
use gongjian_storage::SeriesPoint;

fn p(v: &str, flag: &str) -> SeriesPoint {
    SeriesPoint {
        period_start: 0,
        value: Some(v.into()),
        converted: None,
        flag: flag.into(),
        source: "hj212".into(),
    }
}

#[test]
fn hour_needs_45_valid_minutes() {
    let th = Thresholds::default();
    // Five 10-minute records = 50 minutes: valid, mean of the five.
    let five: Vec<_> = ["10", "12", "14", "16", "18"]
        .iter()
        .map(|v| p(v, "N"))
        .collect();
    assert_eq!(
        rollup_hour(&five, 10, &th),
        (Some("14".into()), None, "N".into())
    );
    // Four records = 40 minutes: invalid, no value, flag B (data missing).
    assert_eq!(rollup_hour(&five[..4], 10, &th), (None, None, "B".into()));
    // Two calibration windows out of six: 40 valid minutes, flag C.
    let mut six = five.clone();
    six.push(p("20", "N"));
    six[0].flag = "C".into();
    six[1].flag = "C".into();
    assert_eq!(rollup_hour(&six, 10, &th).2, "C");
    // One-minute data: 45 records valid, 44 not.
    let ones: Vec<_> = (0..45).map(|_| p("1.5", "N")).collect();
    assert_eq!(rollup_hour(&ones, 1, &th).2, "N");
    assert_eq!(rollup_hour(&ones[..44], 1, &th).2, "B");
}

#[test]
fn day_needs_20_valid_hours() {
    let th = Thresholds::default();
    let hours: Vec<_> = (0..20).map(|_| p("2", "N")).collect();
    assert_eq!(
        rollup_day(&hours, &th),
        (Some("2".into()), None, "N".into())
    );
    let mut nineteen = hours.clone();
    nineteen[0].flag = "D".into();
    assert_eq!(rollup_day(&nineteen, &th), (None, None, "D".into()));
}

// ------------------------------------------------- stored means (issue 13 item 24)

use gongjian_standards::emission::exceedance;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, Device, IngestBatch, NewSite, SeriesValue, Upload};
use rust_decimal::Decimal;

/// Whether the stored text of a rolled-up mean is judged over `limit` by
/// the platform's exceedance function (the one the exceedance hours use).
fn judged_over(stored: &Option<String>, limit: &str) -> bool {
    let v: Decimal = stored.as_deref().expect("a valid period").parse().unwrap();
    exceedance(v, limit.parse().unwrap()).is_some()
}

fn minutes(values: &[&str]) -> Vec<SeriesPoint> {
    values.iter().map(|v| p(v, "N")).collect()
}

#[test]
fn an_hour_over_the_limit_by_less_than_half_a_fourth_decimal_is_judged_over() {
    let th = Thresholds::default();
    // 59 minutes at 35 and one at 35.0029: the mean is 35.0000483…, which
    // four decimals stored as 35 (not over a limit of 35).
    let mut values = vec!["35"; 59];
    values.push("35.0029");
    let (value, _, flag) = rollup_hour(&minutes(&values), 1, &th);
    assert_eq!(flag, "N");
    assert_eq!(value.as_deref(), Some("35.000048"));
    assert!(judged_over(&value, "35"), "{value:?}");
    // The same minutes as 折算 values.
    let conv: Vec<SeriesPoint> = values
        .iter()
        .map(|v| SeriesPoint {
            converted: Some((*v).into()),
            ..p("1", "N")
        })
        .collect();
    let (_, converted, _) = rollup_hour(&conv, 1, &th);
    assert!(judged_over(&converted, "35"), "{converted:?}");
}

#[test]
fn an_hour_exactly_at_the_limit_is_not_over_and_is_stored_as_the_limit() {
    let th = Thresholds::default();
    let values: Vec<&str> = (0..60)
        .map(|i| if i % 2 == 0 { "34" } else { "36" })
        .collect();
    let (value, _, _) = rollup_hour(&minutes(&values), 1, &th);
    assert_eq!(value.as_deref(), Some("35"));
    assert!(!judged_over(&value, "35"));
    // Mean exactly 35.00005 (a fifth decimal): kept, over 35.0000, under 35.0001.
    let mut values = vec!["35"; 59];
    values.push("35.003");
    let (value, _, _) = rollup_hour(&minutes(&values), 1, &th);
    assert_eq!(value.as_deref(), Some("35.00005"));
    assert!(judged_over(&value, "35.0000"));
    assert!(!judged_over(&value, "35.0001"));
}

#[test]
fn a_mean_of_ten_thirds_is_over_a_limit_of_3_3333() {
    let th = Thresholds::default();
    // One-minute data: 40 minutes at 3, 20 at 4.
    let values: Vec<&str> = (0..60).map(|i| if i < 40 { "3" } else { "4" }).collect();
    let (value, _, _) = rollup_hour(&minutes(&values), 1, &th);
    assert!(judged_over(&value, "3.3333"), "{value:?}");
    assert!(!judged_over(&value, "3.3334"), "{value:?}");
    // 20-minute records 3, 3, 4.
    let (value, _, _) = rollup_hour(&minutes(&["3", "3", "4"]), 20, &th);
    assert!(judged_over(&value, "3.3333"), "{value:?}");
    // Six 10-minute records: five decimals are enough (n = 6).
    let (value, _, _) = rollup_hour(
        &minutes(&["52.5", "52.5", "52.5", "52.5", "52.5", "52.6"]),
        10,
        &th,
    );
    assert_eq!(value.as_deref(), Some("52.51667"));
}

#[test]
fn a_day_follows_the_same_rule() {
    let th = Thresholds::default();
    // 23 hours at 35 and one at 35.000048: the day is 35.000002 > 35.
    let mut hours = vec!["35"; 23];
    hours.push("35.000048");
    let (value, _, flag) = rollup_day(&minutes(&hours), &th);
    assert_eq!(flag, "N");
    assert!(judged_over(&value, "35"), "{value:?}");
    // Hours averaging exactly the limit.
    let hours: Vec<&str> = (0..24)
        .map(|i| if i % 2 == 0 { "34.5" } else { "35.5" })
        .collect();
    let (value, _, _) = rollup_day(&minutes(&hours), &th);
    assert_eq!(value.as_deref(), Some("35"));
    assert!(!judged_over(&value, "35"));
    // 折算 hours too.
    let conv: Vec<SeriesPoint> = (0..24)
        .map(|i| SeriesPoint {
            converted: Some(if i < 23 { "3" } else { "3.0001" }.into()),
            ..p("1", "N")
        })
        .collect();
    let (_, converted, _) = rollup_day(&conv, &th);
    assert!(judged_over(&converted, "3"), "{converted:?}");
}

const HOUR_START: i64 = 1_704_153_600; // 2024-01-02 00:00 UTC

fn upload(site_id: i64, cn: &str, kind: &'static str, start: i64, value: &str) -> Upload {
    Upload {
        mn: "MN0001".into(),
        cn: cn.into(),
        datatime: start.to_string(),
        pno: 0,
        site_id,
        values: vec![SeriesValue {
            factor: "a21026".into(),
            kind,
            period_start: start,
            value: Some(value.into()),
            converted: None,
            flag: "N".into(),
        }],
    }
}

on_both_backends!(a_logger_hour_agreeing_at_its_own_precision_is_no_disagreement);
/// The platform stores more decimals than a logger reports: the logger's
/// own hour still agrees when it is our mean at its precision (at least
/// four decimals, as before), and the rollup stores the exact-for-judging
/// mean where the logger sent no hour.
async fn a_logger_hour_agreeing_at_its_own_precision_is_no_disagreement(t: TestDb) {
    let db = &t.db;
    let site = db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "S1".into(),
                name: "1号排口".into(),
                kind: "stack_gas".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    let mut device = Device::new("MN0001", "123456", site.id);
    device.min_interval = 1;
    db.monitoring()
        .upsert_device(&Actor::cli(), &device)
        .await
        .unwrap();
    // Three hours of one-minute data, each 40 × 52.5 and 20 × 52.55: the
    // mean is 3151/60 = 52.516666… (a third in lowest terms), stored as
    // 52.51667.
    let mut uploads = Vec::new();
    for h in 0..3 {
        for m in 0..60 {
            let v = if m < 40 { "52.5" } else { "52.55" };
            uploads.push(upload(
                site.id,
                "2051",
                "min",
                HOUR_START + h * 3600 + m * 60,
                v,
            ));
        }
    }
    // The logger's hours: 52.5167 (our mean at four decimals), 52.52 (not
    // our mean at four decimals, as before); none for the third hour.
    uploads.push(upload(site.id, "2061", "hour", HOUR_START, "52.5167"));
    uploads.push(upload(site.id, "2061", "hour", HOUR_START + 3600, "52.52"));
    db.monitoring()
        .commit_ingest(&IngestBatch {
            uploads,
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    gongjian_ingest::run_rollups(db).await.unwrap();
    let d = db
        .monitoring()
        .rollup_disagreements(Some(site.id), 10)
        .await
        .unwrap();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].period_start, HOUR_START + 3600);
    assert_eq!(d[0].logger_value.as_deref(), Some("52.52"));
    assert_eq!(d[0].rollup_value.as_deref(), Some("52.51667"));
    let hours = db
        .monitoring()
        .series_points(site.id, "a21026", "hour", HOUR_START, HOUR_START + 3 * 3600)
        .await
        .unwrap();
    let shown: Vec<(&str, &str)> = hours
        .iter()
        .map(|h| (h.value.as_deref().unwrap(), h.source.as_str()))
        .collect();
    assert_eq!(
        shown,
        [
            ("52.5167", "hj212"),
            ("52.52", "hj212"),
            ("52.51667", "rollup")
        ]
    );
}
