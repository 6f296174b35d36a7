//! Property and edge tests of the AQI engine.

use gongjian_standards::aqi::{
    self, AqiError, DailyInput, HourlyInput, IaqiNote, IaqiOutcome, Indicator,
};
use gongjian_standards::rules::AqiRules;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const RULES: [AqiRules; 2] = [AqiRules::Hj633_2012, AqiRules::Hj633_2026];

/// Top breakpoint of each indicator.
fn top(i: Indicator) -> i64 {
    match i {
        Indicator::So2_24h => 2620,
        Indicator::So2_1h => 800,
        Indicator::No2_24h => 940,
        Indicator::No2_1h => 3840,
        Indicator::Co_24h => 60,
        Indicator::Co_1h => 150,
        Indicator::O3_1h => 1200,
        Indicator::O3_8h => 800,
        Indicator::Pm10_24h => 600,
        Indicator::Pm25_24h => 500,
    }
}

fn value(r: AqiRules, i: Indicator, c: Decimal) -> u16 {
    match aqi::iaqi(r, i, c).unwrap() {
        IaqiOutcome::Index(x) => x.value,
        other => panic!("{i:?} {c}: {other:?}"),
    }
}

fn indicator() -> impl Strategy<Value = Indicator> {
    (0usize..10).prop_map(|k| Indicator::ALL[k])
}

fn rules() -> impl Strategy<Value = AqiRules> {
    prop_oneof![Just(AqiRules::Hj633_2012), Just(AqiRules::Hj633_2026)]
}

/// A concentration in [0, top] with up to 3 decimals.
fn conc_in(i: Indicator) -> impl Strategy<Value = Decimal> {
    (0..=top(i) * 1000).prop_map(|m| Decimal::new(m, 3))
}

proptest! {
    #[test]
    fn iaqi_is_monotonic((i, a, b) in indicator().prop_flat_map(|i| (Just(i), conc_in(i), conc_in(i))), r in rules()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(value(r, i, lo) <= value(r, i, hi), "{:?} {} {}", i, lo, hi);
    }

    #[test]
    fn iaqi_is_continuous((i, c) in indicator().prop_flat_map(|i| (Just(i), conc_in(i)))) {
        // Under 2012 (no pre-rounding) the index is the ceiling of a
        // continuous line, also across breakpoints.
        let r = AqiRules::Hj633_2012;
        let v = Decimal::from(value(r, i, c));
        let below = value(r, i, (c - dec!(0.001)).max(Decimal::ZERO));
        let above = value(r, i, (c + dec!(0.001)).min(Decimal::from(top(i))));
        // Continuity: a step of 0.001 never moves the index by more than the
        // steepest slope (≤ 50 IAQI per µg/m³ → 0.05) plus the ceiling step.
        prop_assert!(v - Decimal::from(below) <= Decimal::ONE);
        prop_assert!(Decimal::from(above) - v <= Decimal::ONE);
    }

    #[test]
    fn daily_aqi_is_max_of_iaqi(
        so2 in 0i64..2620, no2 in 0i64..940, co in 0i64..600, pm10 in 0i64..600,
        pm25 in 0i64..500, o3_8h in 0i64..800, o3_1h in 0i64..1200, r in rules(),
    ) {
        let input = DailyInput {
            so2: Some(so2.into()), no2: Some(no2.into()), co: Some(Decimal::new(co, 1)),
            pm10: Some(pm10.into()), pm25: Some(pm25.into()), o3_8h: Some(o3_8h.into()),
            o3_1h_max: Some(o3_1h.into()),
        };
        let rep = aqi::daily(r, &input).unwrap();
        let max = rep.entries().map(|e| e.iaqi.unwrap().value).max().unwrap();
        prop_assert_eq!(rep.aqi, Some(max));
        prop_assert!(rep.published);
        prop_assert_eq!(rep.entries().count(), if r == AqiRules::Hj633_2012 { 7 } else { 6 });
        prop_assert_eq!(rep.primary.is_empty(), max <= 50);
        for p in rep.primary.iter() {
            prop_assert_eq!(rep.iaqi(p), Some(max));
        }
    }

    #[test]
    fn hourly_aqi_is_max_of_iaqi(
        so2 in 0i64..800, no2 in 0i64..3840, co in 0i64..1500, o3 in 0i64..1200,
        pm10 in 0i64..600, pm25 in 0i64..500, r in rules(),
    ) {
        let input = HourlyInput {
            so2: Some(so2.into()), no2: Some(no2.into()), co: Some(Decimal::new(co, 1)),
            o3: Some(o3.into()), pm10: Some(pm10.into()), pm25: Some(pm25.into()), so2_24h: None,
        };
        let rep = aqi::hourly(r, &input).unwrap();
        let max = rep.entries().map(|e| e.iaqi.unwrap().value).max().unwrap();
        prop_assert_eq!(rep.aqi, Some(max));
        prop_assert_eq!(rep.entries().count(), 6);
    }
}

#[test]
fn breakpoints_hit_their_index_exactly() {
    let tables: [(Indicator, &[(i64, u16)]); 3] = [
        (
            Indicator::Pm25_24h,
            &[
                (35, 50),
                (75, 100),
                (115, 150),
                (150, 200),
                (250, 300),
                (350, 400),
                (500, 500),
            ],
        ),
        (
            Indicator::So2_24h,
            &[
                (50, 50),
                (150, 100),
                (475, 150),
                (800, 200),
                (1600, 300),
                (2100, 400),
                (2620, 500),
            ],
        ),
        (
            Indicator::Co_1h,
            &[
                (5, 50),
                (10, 100),
                (35, 150),
                (60, 200),
                (90, 300),
                (120, 400),
                (150, 500),
            ],
        ),
    ];
    for (i, table) in tables {
        for &(bp, want) in table {
            assert_eq!(
                value(AqiRules::Hj633_2012, i, bp.into()),
                want,
                "{i:?} {bp}"
            );
        }
    }
    assert_eq!(
        value(AqiRules::Hj633_2026, Indicator::Pm25_24h, dec!(60)),
        100
    );
    assert_eq!(
        value(AqiRules::Hj633_2026, Indicator::Pm10_24h, dec!(120)),
        100
    );
}

#[test]
fn rounding_before_iaqi_only_under_2026() {
    // 2026: 74.5 → 74 (half-even) → 112.73 → 113; 2012: 74.5 → 99.375 → 100.
    assert_eq!(
        value(AqiRules::Hj633_2026, Indicator::Pm25_24h, dec!(74.5)),
        113
    );
    assert_eq!(
        value(AqiRules::Hj633_2012, Indicator::Pm25_24h, dec!(74.5)),
        100
    );
    // CO to one decimal: 2.25 → 2.2 → exactly 55; 2.35 → 2.4 → 60.
    assert_eq!(
        value(AqiRules::Hj633_2026, Indicator::Co_24h, dec!(2.25)),
        55
    );
    assert_eq!(
        value(AqiRules::Hj633_2026, Indicator::Co_24h, dec!(2.35)),
        60
    );
    // A 5 followed by non-zero digits rounds up.
    assert_eq!(
        aqi::round_concentration(Indicator::Pm25_24h, dec!(74.501)),
        dec!(75)
    );
}

#[test]
fn above_scale_is_500_and_flagged() {
    for r in RULES {
        match aqi::iaqi(r, Indicator::Pm10_24h, dec!(601)).unwrap() {
            IaqiOutcome::Index(i) => {
                assert_eq!(i.value, 500);
                assert_eq!(i.note, Some(IaqiNote::AboveScale));
            }
            other => panic!("{other:?}"),
        }
    }
    // 2012: exactly 600 is on the table, not flagged.
    match aqi::iaqi(AqiRules::Hj633_2012, Indicator::Pm10_24h, dec!(600)).unwrap() {
        IaqiOutcome::Index(i) => assert_eq!((i.value, i.note), (500, None)),
        other => panic!("{other:?}"),
    }
    // 2012 SO₂ 1-h > 800 without a 24-h value: SO₂ is missing.
    let rep = aqi::hourly(
        AqiRules::Hj633_2012,
        &HourlyInput {
            so2: Some(dec!(900)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rep.aqi, None);
    assert!(rep.missing.contains(Indicator::So2_1h));
}

#[test]
fn negative_concentration_is_an_error() {
    let err = aqi::iaqi(AqiRules::Hj633_2026, Indicator::No2_1h, dec!(-1)).unwrap_err();
    assert!(matches!(err, AqiError::Negative { .. }));
    assert!(err.to_string().contains("-1"));
}

#[test]
fn missing_data_rule_of_2026_5_3() {
    let mut input = DailyInput {
        so2: Some(dec!(8)),
        no2: Some(dec!(30)),
        co: Some(dec!(0.9)),
        pm10: Some(dec!(60)),
        pm25: Some(dec!(40)),
        o3_8h: None,
        o3_1h_max: None,
    };
    // AQI of the others = 60 (PM2.5 40 → 60 under 2026) ≤ 100 → not published (NA).
    let rep = aqi::daily(AqiRules::Hj633_2026, &input).unwrap();
    assert_eq!(rep.aqi, Some(60));
    assert!(!rep.published);
    assert_eq!(rep.published_aqi(), None);
    assert_eq!(rep.is_polluted(), None);
    // > 100 → published even with O₃ missing.
    input.pm25 = Some(dec!(80));
    let rep = aqi::daily(AqiRules::Hj633_2026, &input).unwrap();
    assert_eq!(rep.published_aqi(), Some(119));
    assert_eq!(rep.is_polluted(), Some(true));
    // Nothing at all.
    let rep = aqi::daily(AqiRules::Hj633_2026, &DailyInput::default()).unwrap();
    assert_eq!((rep.aqi, rep.published), (None, false));
}

#[test]
fn no_primary_at_or_below_50_and_ties_listed() {
    let rep = aqi::hourly(
        AqiRules::Hj633_2026,
        &HourlyInput {
            so2: Some(dec!(5)),
            no2: Some(dec!(10)),
            co: Some(dec!(0.3)),
            o3: Some(dec!(160)),
            pm10: Some(dec!(50)),
            pm25: Some(dec!(35)),
            so2_24h: None,
        },
    )
    .unwrap();
    assert_eq!(rep.aqi, Some(50));
    assert!(rep.primary.is_empty());
    // 1099A 2022-01-01 08:00: PM10 67 → 59, PM2.5 42 → 59: both primary.
    let rep = aqi::hourly(
        AqiRules::Hj633_2012,
        &HourlyInput {
            pm10: Some(dec!(67)),
            pm25: Some(dec!(42)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(rep.aqi, Some(59));
    assert_eq!(
        rep.primary.iter().map(|i| i.name()).collect::<Vec<_>>(),
        ["PM10", "PM2.5"]
    );
}
