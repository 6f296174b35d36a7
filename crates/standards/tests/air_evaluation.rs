//! GB 3095 / HJ 663 evaluation: the vectors of evaluation.md and the daily,
//! period and ranking rules.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use gongjian_standards::evaluation::{
    self, Averaging, DailyRecord, HourRecord, IndexVariant, Options, PerPollutant, PeriodKind,
    Pollutant, ZoneClass, change_rate, comprehensive_index, coverage_ok, limit, rank,
};
use gongjian_standards::exact::{percentile, round_half_even};
use gongjian_standards::rules::{AqiRules, Edition, LimitSet};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn d(v: &[i64]) -> Vec<Decimal> {
    v.iter().map(|&x| Decimal::from(x)).collect()
}

#[test]
fn percentile_vectors_of_evaluation_md() {
    let one_to_ten = d(&(1..=10).collect::<Vec<_>>());
    assert_eq!(percentile(&one_to_ten, 90), Some(dec!(9.1)));
    assert_eq!(
        percentile(&d(&[12, 15, 18, 20, 22, 25, 30]), 95),
        Some(dec!(28.5))
    );
    let co = vec![
        dec!(0.4),
        dec!(0.5),
        dec!(0.7),
        dec!(0.9),
        dec!(1.2),
        dec!(1.3),
    ];
    let p = percentile(&co, 95).unwrap();
    assert_eq!(p, dec!(1.275));
    assert_eq!(round_half_even(p, 1), dec!(1.3));
    let year = d(&(1..=365).collect::<Vec<_>>());
    assert_eq!(percentile(&year, 90), Some(dec!(328.6)));
    let o3 = d(&[
        30, 41, 55, 60, 72, 88, 95, 101, 120, 133, 150, 160, 171, 180,
    ]);
    assert_eq!(percentile(&o3, 90), Some(dec!(167.7)));
    // The float trap: exact 171.5 → 172 (half-even); a float path gives 171.
    let trap = d(&[
        17, 32, 40, 41, 44, 45, 47, 49, 60, 64, 64, 67, 75, 81, 82, 90, 91, 97, 98, 108, 109, 110,
        111, 116, 117, 140, 141, 142, 146, 164, 167, 168, 178, 197,
    ]);
    assert_eq!(trap.len(), 34);
    let p = percentile(&trap, 95).unwrap();
    assert_eq!(p, dec!(171.5));
    assert_eq!(round_half_even(p, 0), dec!(172));
    assert_eq!(percentile(&[], 95), None);
    assert_eq!(percentile(&d(&[7]), 95), Some(dec!(7)));
}

#[test]
fn comprehensive_index_worked_example() {
    let c = PerPollutant {
        so2: Some(dec!(8)),
        no2: Some(dec!(30)),
        co: Some(dec!(1.1)),
        o3: Some(dec!(160)),
        pm10: Some(dec!(60)),
        pm25: Some(dec!(32)),
    };
    let ci = comprehensive_index(&c, IndexVariant::Hj2018).unwrap();
    assert_eq!(ci.total, dec!(3.93));
    assert_eq!(ci.single.so2, dec!(0.133));
    assert_eq!(ci.single.no2, dec!(0.750));
    assert_eq!(ci.single.pm10, dec!(0.857));
    assert_eq!(ci.single.pm25, dec!(0.914));
    assert_eq!(ci.single.co, dec!(0.275));
    assert_eq!(ci.single.o3, dec!(1.000));
    assert_eq!(ci.largest, vec![Pollutant::O3]);
    // Weighted variant only on request: 0.133+1.5+1.0+3.2+0.275+2.0 = 8.108…
    let w = comprehensive_index(&c, IndexVariant::Weighted2026Unverified).unwrap();
    assert_eq!(w.total, dec!(8.11));
    // Missing Cᵢ → no index.
    let mut missing = c;
    missing.o3 = None;
    assert!(comprehensive_index(&missing, IndexVariant::Hj2018).is_none());
}

#[test]
fn ranking_and_change_rate() {
    assert_eq!(
        rank(&[dec!(3.93), dec!(4.10), dec!(3.93), dec!(2.50)]),
        [2, 4, 2, 1]
    );
    assert_eq!(change_rate(dec!(3.93), dec!(4.37)), Some(dec!(-10.1)));
    assert_eq!(change_rate(dec!(4.00), dec!(4.00)), Some(dec!(0.0)));
    assert_eq!(change_rate(dec!(1), dec!(0)), None);
    // ΔI ranking: most improved first, ties share a rank.
    let rates = [dec!(-10.1), dec!(2.0), dec!(-10.1)];
    assert_eq!(rank(&rates), [1, 3, 1]);
}

#[test]
fn limits_by_version_and_class() {
    use Averaging::*;
    let l = |set, p, a| limit(set, ZoneClass::Two, p, a).unwrap();
    assert_eq!(l(LimitSet::Gb3095_2012, Pollutant::Pm25, Daily), dec!(75));
    assert_eq!(
        l(LimitSet::Gb3095_2026Transition, Pollutant::Pm25, Daily),
        dec!(60)
    );
    assert_eq!(
        l(LimitSet::Gb3095_2026Final, Pollutant::Pm25, Daily),
        dec!(50)
    );
    assert_eq!(
        l(LimitSet::Gb3095_2026Transition, Pollutant::Pm10, Annual),
        dec!(60)
    );
    assert_eq!(
        l(LimitSet::Gb3095_2026Final, Pollutant::So2, Annual),
        dec!(20)
    );
    assert_eq!(
        l(LimitSet::Gb3095_2026Final, Pollutant::No2, Daily),
        dec!(50)
    );
    assert_eq!(l(LimitSet::Gb3095_2012, Pollutant::O3, Daily), dec!(160));
    assert_eq!(
        limit(LimitSet::Gb3095_2012, ZoneClass::One, Pollutant::O3, Daily),
        Some(dec!(100))
    );
    assert_eq!(
        limit(LimitSet::Gb3095_2012, ZoneClass::Two, Pollutant::Co, Annual),
        None
    );
}

fn t(y: i32, m: u32, day: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, day)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + Duration::hours(h as i64)
}

/// 24 hours of day (y, m, day), hour ends 01:00 … 24:00, with `f(slot)`.
fn day_hours(
    y: i32,
    m: u32,
    day: u32,
    f: impl Fn(usize) -> PerPollutant<Option<Decimal>>,
) -> Vec<HourRecord> {
    (1..=24)
        .map(|h| HourRecord {
            end: t(y, m, day, h),
            values: f(h as usize - 1),
        })
        .collect()
}

fn all(v: Decimal) -> PerPollutant<Option<Decimal>> {
    PerPollutant {
        so2: Some(v),
        no2: Some(v),
        co: Some(v / dec!(10)),
        o3: Some(v),
        pm10: Some(v),
        pm25: Some(v),
    }
}

#[test]
fn hour_24_belongs_to_the_day_and_daily_means_need_20_hours() {
    let mut hours = day_hours(2025, 6, 1, |_| PerPollutant {
        co: Some(dec!(0.5)),
        ..all(dec!(50))
    });
    // Remove PM2.5 from 5 hours: 19 left → invalid.
    for h in hours.iter_mut().take(5) {
        h.values.pm25 = None;
    }
    // Remove SO₂ from 4 hours: 20 left → valid.
    for h in hours.iter_mut().take(4) {
        h.values.so2 = None;
    }
    let days = evaluation::daily_records(&hours, &Options::default()).unwrap();
    assert_eq!(
        days.len(),
        1,
        "hour ending 24:00 (next day 00:00) is the same day"
    );
    let day = &days[0];
    assert_eq!(day.date, NaiveDate::from_ymd_opt(2025, 6, 1).unwrap());
    assert_eq!(day.values.so2.value, Some(dec!(50)));
    assert_eq!(day.values.so2.count, 20);
    assert_eq!(day.values.pm25.value, None);
    assert_eq!(day.values.pm25.count, 19);
    assert_eq!(day.rules.aqi, AqiRules::Hj633_2012);
    // PM2.5 missing and AQI ≤ 100 → NA.
    assert!(!day.aqi.published);
}

#[test]
fn daily_mean_is_rounded_half_even_exactly() {
    // 12 hours of 75 and 12 of 76 → 75.5 → 76; 74/75 → 74.5 → 74.
    let hours = day_hours(2026, 3, 10, |s| {
        let v = if s < 12 { dec!(75) } else { dec!(76) };
        let w = if s < 12 { dec!(74) } else { dec!(75) };
        PerPollutant {
            pm25: Some(v),
            pm10: Some(w),
            ..all(dec!(10))
        }
    });
    let days = evaluation::daily_records(&hours, &Options::default()).unwrap();
    assert_eq!(days[0].values.pm25.value, Some(dec!(76)));
    assert_eq!(days[0].values.pm10.value, Some(dec!(74)));
    assert_eq!(days[0].rules.aqi, AqiRules::Hj633_2026);
    // 2026 daily AQI: PM2.5 76 → 115 (primary), published.
    assert_eq!(days[0].aqi.published_aqi(), Some(115));
}

#[test]
fn o3_daily_max_8h_windows() {
    // O₃ = 100 all day except 200 in hours ending 13..=20 → the window ending
    // 20:00 averages 200.
    let base = |s: usize| {
        let o3 = if (12..20).contains(&s) {
            dec!(200)
        } else {
            dec!(100)
        };
        PerPollutant {
            o3: Some(o3),
            ..all(dec!(10))
        }
    };
    let days =
        evaluation::daily_records(&day_hours(2025, 7, 1, base), &Options::default()).unwrap();
    assert_eq!(days[0].values.o3.value, Some(dec!(200)));
    assert_eq!(days[0].values.o3.count, 17);
    assert_eq!(days[0].o3_max_1h.value, Some(dec!(200)));

    // Only hours ending 01..=12 valid: windows ending 08..12 = 5 valid + window
    // ending 13 (7 of 8), 14 (6 of 8) → 7 windows < 14 and max 100 ≤ 160 →
    // invalid.
    let sparse = |s: usize| PerPollutant {
        o3: (s < 12).then_some(dec!(100)),
        ..all(dec!(10))
    };
    let days =
        evaluation::daily_records(&day_hours(2025, 7, 1, sparse), &Options::default()).unwrap();
    assert_eq!(days[0].values.o3.count, 7);
    assert_eq!(days[0].values.o3.value, None);

    // Same sparsity but exceeding the limit → valid anyway.
    let high = |s: usize| PerPollutant {
        o3: (s < 12).then_some(dec!(170)),
        ..all(dec!(10))
    };
    let days =
        evaluation::daily_records(&day_hours(2025, 7, 1, high), &Options::default()).unwrap();
    assert_eq!(days[0].values.o3.value, Some(dec!(170)));

    // A window with 5 of 8 hours is not valid: hours ending 01..05 only.
    let five = |s: usize| PerPollutant {
        o3: (s < 5).then_some(dec!(300)),
        ..all(dec!(10))
    };
    let days =
        evaluation::daily_records(&day_hours(2025, 7, 1, five), &Options::default()).unwrap();
    assert_eq!(days[0].values.o3.count, 0);
    assert_eq!(days[0].values.o3.value, None);
}

#[test]
fn bad_hour_sequences_are_errors() {
    let mut hours = day_hours(2025, 1, 1, |_| all(dec!(10)));
    hours.swap(3, 4);
    let err = evaluation::daily_records(&hours, &Options::default()).unwrap_err();
    assert!(
        matches!(err, evaluation::EvalError::OutOfOrder { index: 4, .. }),
        "{err:?}"
    );
    let mut hours = day_hours(2025, 1, 1, |_| all(dec!(10)));
    hours[2].values.no2 = Some(dec!(-1));
    assert!(matches!(
        evaluation::daily_records(&hours, &Options::default()).unwrap_err(),
        evaluation::EvalError::Negative {
            index: 2,
            pollutant: Pollutant::No2,
            ..
        }
    ));
}

fn year_of_days(year: i32, pm25: impl Fn(NaiveDate) -> Option<i64>) -> Vec<DailyRecord> {
    let mut hours = Vec::new();
    let mut date = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    while date.year_ce().1 as i32 == year {
        let v = pm25(date);
        for h in 1..=24 {
            hours.push(HourRecord {
                end: date.and_hms_opt(0, 0, 0).unwrap() + Duration::hours(h),
                values: PerPollutant {
                    so2: Some(dec!(10)),
                    no2: Some(dec!(30)),
                    co: Some(dec!(0.8)),
                    o3: Some(dec!(100)),
                    pm10: Some(dec!(60)),
                    pm25: v.map(Decimal::from),
                },
            });
        }
        date = date.succ_opt().unwrap();
    }
    evaluation::daily_records(&hours, &Options::default()).unwrap()
}

use chrono::Datelike;

#[test]
fn annual_summary_compliance_and_good_days() {
    // 2025: PM2.5 30 every day except 19 days at 80 (exceed 75).
    let days = year_of_days(2025, |d| Some(if d.ordinal() <= 19 { 80 } else { 30 }));
    let from = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let s = evaluation::summarize(&days, from, to, &Options::default());
    assert_eq!(s.kind, PeriodKind::Year);
    assert_eq!(s.limits, LimitSet::Gb3095_2012);
    let pm = s.pollutant(Pollutant::Pm25);
    assert_eq!(pm.valid_days, 365);
    assert_eq!(pm.coverage_ok, Some(true));
    // mean = (19·80 + 346·30)/365 = 32.60 → 33
    assert_eq!(pm.mean, Some(dec!(33)));
    // 95th: k = 1 + 364·0.95 = 346.8; X(346) = 30, X(347) = 80 → 30 + 50·0.8 = 70
    assert_eq!(pm.percentile_value, Some(dec!(70)));
    assert_eq!(pm.compliant, Some(true));
    assert_eq!(pm.days_meeting, 346);
    assert_eq!(pm.daily_compliance_rate, Some(dec!(94.8)));
    assert_eq!(pm.max_daily_exceedance_multiple, Some(dec!(0.07)));
    // Daily AQI: PM2.5 80 → 107 (轻度) for 19 days; the rest ≤ 100.
    assert_eq!(s.aqi_days.valid_days, 365);
    assert_eq!(s.aqi_days.good_days, 346);
    assert_eq!(s.aqi_days.polluted_days, 19);
    assert_eq!(s.aqi_days.heavy_days, 0);
    assert_eq!(s.aqi_days.by_level[2], 19);
    assert_eq!(s.aqi_days.good_ratio, Some(dec!(94.8)));
    assert_eq!(s.compliant, Some(true));
    assert!(s.comprehensive_index.is_some());

    // Year-to-date to 10 March: Jan and Feb complete, March not judged.
    let ytd = evaluation::year_to_date(
        &days,
        NaiveDate::from_ymd_opt(2025, 3, 10).unwrap(),
        &Options::default(),
    );
    assert_eq!(ytd.kind, PeriodKind::YearToDate);
    assert_eq!(ytd.pollutant(Pollutant::Pm25).valid_days, 69);
    assert_eq!(ytd.pollutant(Pollutant::Pm25).coverage_ok, Some(true));
}

#[test]
fn coverage_rules() {
    let dates =
        |from: NaiveDate, n: i64| (0..n).map(|i| from + Duration::days(i)).collect::<Vec<_>>();
    let feb = NaiveDate::from_ymd_opt(2025, 2, 1).unwrap();
    let feb_end = NaiveDate::from_ymd_opt(2025, 2, 28).unwrap();
    assert_eq!(
        coverage_ok(PeriodKind::Month, feb, feb_end, &dates(feb, 25)),
        Some(true)
    );
    assert_eq!(
        coverage_ok(PeriodKind::Month, feb, feb_end, &dates(feb, 24)),
        Some(false)
    );
    let mar = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    let mar_end = NaiveDate::from_ymd_opt(2025, 3, 31).unwrap();
    assert_eq!(
        coverage_ok(PeriodKind::Month, mar, mar_end, &dates(mar, 27)),
        Some(true)
    );
    assert_eq!(
        coverage_ok(PeriodKind::Month, mar, mar_end, &dates(mar, 26)),
        Some(false)
    );
    // A year with 330 days but one month below 27 → invalid.
    let jan1 = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let dec31 = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
    let mut days = dates(jan1, 365);
    days.retain(|d| !(d.month() == 4 && d.day() <= 5));
    assert_eq!(
        coverage_ok(PeriodKind::Year, jan1, dec31, &days),
        Some(false)
    );
    // 323 days → invalid even if months were fine.
    let few: Vec<_> = dates(jan1, 365)
        .into_iter()
        .filter(|d| d.day() <= 27 || d.day() == 31)
        .collect();
    assert!(few.len() < 324 || coverage_ok(PeriodKind::Year, jan1, dec31, &few) == Some(true));
    assert_eq!(
        coverage_ok(PeriodKind::Year, jan1, dec31, &dates(jan1, 323)),
        Some(false)
    );
    assert_eq!(coverage_ok(PeriodKind::Custom, jan1, dec31, &days), None);
}

#[test]
fn forced_rules_and_regions() {
    let days_2020 = {
        let hours = day_hours(2020, 5, 1, |_| PerPollutant {
            pm25: Some(dec!(70)),
            ..all(dec!(10))
        });
        let forced = Options {
            force: Some(Edition::E2026),
            ..Options::default()
        };
        (
            evaluation::daily_records(&hours, &Options::default()).unwrap(),
            evaluation::daily_records(&hours, &forced).unwrap(),
        )
    };
    // PM2.5 70: 2012 → 94 良; recomputed under 2026 → 110 轻度污染.
    assert_eq!(days_2020.0[0].aqi.aqi, Some(94));
    assert_eq!(days_2020.1[0].aqi.aqi, Some(110));
    assert_eq!(days_2020.1[0].rules.aqi, AqiRules::Hj633_2026);

    // Region: mean of station daily values, AQI recomputed.
    let a = evaluation::daily_records(
        &day_hours(2025, 5, 1, |_| PerPollutant {
            pm25: Some(dec!(40)),
            ..all(dec!(10))
        }),
        &Options::default(),
    )
    .unwrap();
    let b = evaluation::daily_records(
        &day_hours(2025, 5, 1, |_| PerPollutant {
            pm25: Some(dec!(81)),
            ..all(dec!(10))
        }),
        &Options::default(),
    )
    .unwrap();
    let region = evaluation::combine_stations(&[&a, &b], &Options::default());
    assert_eq!(region.len(), 1);
    // (40 + 81) / 2 = 60.5 → 60 (half-even)
    assert_eq!(region[0].values.pm25.value, Some(dec!(60)));
    assert_eq!(region[0].values.pm25.count, 2);
    assert_eq!(
        region[0]
            .aqi
            .iaqi(gongjian_standards::aqi::Indicator::Pm25_24h),
        Some(82)
    );
}

#[test]
fn hour_end_parsing() {
    use evaluation::parse_hour_end;
    assert_eq!(parse_hour_end("2026-03-10T08"), Some(t(2026, 3, 10, 8)));
    assert_eq!(parse_hour_end("2026-03-10 08:00"), Some(t(2026, 3, 10, 8)));
    assert_eq!(parse_hour_end("2026/3/10 8:00:00"), Some(t(2026, 3, 10, 8)));
    assert_eq!(parse_hour_end("2026-03-10 24:00"), Some(t(2026, 3, 11, 0)));
    assert_eq!(parse_hour_end("2026-03-10 08:30"), None);
    assert_eq!(parse_hour_end("2026-02-30 08"), None);
    assert_eq!(parse_hour_end("2026-03-10 25"), None);
    assert_eq!(parse_hour_end("2026-03-10"), None);
    assert_eq!(parse_hour_end("yesterday"), None);
}
