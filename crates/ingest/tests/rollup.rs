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
