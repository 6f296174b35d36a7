//! Stack emissions: formulas, HJ 75/76 rollup validity, limit sets, hourly
//! exceedances and events.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use gongjian_standards::emission::{
    self, Basis, DayRecord, EmissionError, Flag, HourStatus, MinuteRecord, MinuteValue,
    PeriodValue, Pollutant, PollutantDay, Quotient, Thresholds,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

// --- formulas ---------------------------------------------------------------

#[test]
fn conversion_to_reference_o2() {
    // 30 mg/m³ at 7 % O2 → 3.5 %: 30 × 17.5/14 = 37.5.
    assert_eq!(
        emission::to_reference_o2(dec!(30), dec!(7), dec!(3.5)).unwrap(),
        dec!(37.5)
    );
    // 30 at 12 % → 9 %: 30 × 12/9 = 40.
    assert_eq!(
        emission::to_reference_o2(dec!(30), dec!(12), dec!(9)).unwrap(),
        dec!(40)
    );
    // Equal O2: unchanged.
    assert_eq!(
        emission::to_reference_o2(dec!(12.34), dec!(6), dec!(6)).unwrap(),
        dec!(12.34)
    );
    assert_eq!(
        emission::to_reference_o2(dec!(1), dec!(21), dec!(3.5)),
        Err(EmissionError::O2OutOfRange(dec!(21)))
    );
    assert!(emission::to_reference_o2(dec!(1), dec!(-0.1), dec!(3.5)).is_err());
}

#[test]
fn dry_standard_and_rate_helpers() {
    assert_eq!(
        emission::wet_to_dry(dec!(92), dec!(0.08)).unwrap(),
        dec!(100)
    );
    assert!(emission::wet_to_dry(dec!(92), dec!(1)).is_err());
    assert_eq!(
        emission::actual_to_standard(dec!(100), dec!(101325), dec!(0), dec!(0)).unwrap(),
        dec!(100)
    );
    assert_eq!(
        emission::actual_to_standard(dec!(100), dec!(101325), dec!(0), dec!(273)).unwrap(),
        dec!(200)
    );
    assert_eq!(
        emission::actual_to_standard(dec!(100), dec!(100000), dec!(1325), dec!(0)).unwrap(),
        dec!(100)
    );
    assert!(emission::actual_to_standard(dec!(1), dec!(0), dec!(0), dec!(20)).is_err());
    assert_eq!(
        emission::flow_to_dry_standard(dec!(1000), dec!(273), dec!(101325), dec!(0), dec!(0.1))
            .unwrap(),
        dec!(450)
    );
    assert_eq!(emission::ppm_to_mg(dec!(35), emission::M_SO2), dec!(100));
    assert_eq!(emission::nox_as_no2(dec!(30), dec!(10)), dec!(56));
    assert_eq!(
        emission::emission_rate_kg_h(dec!(50), dec!(100000)),
        dec!(5)
    );
}

// --- rollups ------------------------------------------------------------------

fn minutes(valid: usize, flag_rest: Flag, rest: usize, v: Decimal) -> Vec<MinuteValue> {
    let mut m = vec![MinuteValue::normal(v); valid];
    m.extend(std::iter::repeat_n(
        MinuteValue {
            value: Some(dec!(999)),
            flag: flag_rest,
        },
        rest,
    ));
    m
}

#[test]
fn hour_needs_45_valid_minutes() {
    let th = Thresholds::default();
    let h = emission::minutes_to_hour(&minutes(45, Flag::M, 15, dec!(10)), &th).unwrap();
    assert!(h.valid);
    assert_eq!(h.valid_minutes, 45);
    assert_eq!(h.minutes, 60);
    assert_eq!(h.mean, Some(dec!(10)));
    assert_eq!(h.flags[&Flag::M], 15);
    let h = emission::minutes_to_hour(&minutes(44, Flag::D, 16, dec!(10)), &th).unwrap();
    assert!(!h.valid);
    assert_eq!(h.mean, None);
    // Every non-N flag makes a minute invalid (S only on request).
    for flag in [
        Flag::F,
        Flag::M,
        Flag::S,
        Flag::D,
        Flag::C,
        Flag::T,
        Flag::B,
    ] {
        let h = emission::minutes_to_hour(&minutes(44, flag, 16, dec!(10)), &th).unwrap();
        assert!(!h.valid, "{flag}");
        assert_eq!(h.flags[&flag], 16);
    }
    let manual = Thresholds {
        accept_manual: true,
        ..Thresholds::default()
    };
    let h = emission::minutes_to_hour(&minutes(44, Flag::S, 16, dec!(10)), &manual).unwrap();
    assert!(h.valid);
    assert_eq!(h.valid_minutes, 60);
    // N without a value is missing, not valid.
    let mut m = minutes(45, Flag::N, 0, dec!(10));
    m[0].value = None;
    assert!(!emission::minutes_to_hour(&m, &th).unwrap().valid);
    // Mean of the valid minutes only, exact.
    let mut m = minutes(30, Flag::N, 0, dec!(10));
    m.extend(minutes(30, Flag::N, 0, dec!(11)));
    m.push(MinuteValue {
        value: Some(dec!(500)),
        flag: Flag::T,
    });
    let h = emission::minutes_to_hour(&m[1..], &th).unwrap();
    assert_eq!(h.mean, Some(dec!(620) / dec!(59)));
    assert_eq!(h.min, Some(dec!(10)));
    assert_eq!(h.max, Some(dec!(11)));
    assert_eq!(h.flags[&Flag::T], 1);
    assert_eq!(
        emission::minutes_to_hour(&minutes(61, Flag::N, 0, dec!(1)), &th),
        Err(EmissionError::TooManyMinutes(61))
    );
}

#[test]
fn day_needs_20_valid_hours_and_month_25_or_23() {
    let th = Thresholds::default();
    let mut hours = vec![Some(dec!(10)); 20];
    hours.extend([None, None, None, None]);
    let d = emission::hours_to_day(&hours, &th);
    assert!(d.valid);
    assert_eq!(d.mean, Some(dec!(10)));
    assert_eq!(d.valid_members, 20);
    hours[0] = None;
    assert!(!emission::hours_to_day(&hours, &th).valid);

    let days = |n: usize, total: usize| {
        let mut v = vec![Some(dec!(3)); n];
        v.resize(total, None);
        v
    };
    assert!(emission::days_to_month(&days(25, 31), 3, &th).valid);
    assert!(!emission::days_to_month(&days(24, 31), 3, &th).valid);
    assert!(emission::days_to_month(&days(23, 28), 2, &th).valid);
    assert!(!emission::days_to_month(&days(22, 28), 2, &th).valid);
    assert_eq!(emission::days_to_month(&days(22, 28), 2, &th).required, 23);
}

#[test]
fn flags_parse_strictly() {
    for f in Flag::ALL {
        assert_eq!(Flag::from_str(&f.to_string()).unwrap(), f);
    }
    assert_eq!(Flag::from_str("n").unwrap(), Flag::N);
    assert!(Flag::from_str("X").is_err());
    assert!(Flag::from_str("NN").is_err());
    assert_eq!(serde_json::to_string(&Flag::T).unwrap(), "\"T\"");
}

// --- limit sets ---------------------------------------------------------------------

#[test]
fn limit_sets_by_name() {
    use Pollutant::*;
    type Case<'a> = (&'a str, Option<Decimal>, &'a [(Pollutant, Decimal)]);
    let cases: &[Case] = &[
        (
            "gb13271-coal-existing",
            Some(dec!(9)),
            &[
                (Pm, dec!(80)),
                (So2, dec!(400)),
                (Nox, dec!(400)),
                (Hg, dec!(0.05)),
            ],
        ),
        (
            "gb13271-coal-existing-southwest",
            Some(dec!(9)),
            &[
                (Pm, dec!(80)),
                (So2, dec!(550)),
                (Nox, dec!(400)),
                (Hg, dec!(0.05)),
            ],
        ),
        (
            "gb13271-oil-existing",
            Some(dec!(3.5)),
            &[(Pm, dec!(60)), (So2, dec!(300)), (Nox, dec!(400))],
        ),
        (
            "gb13271-gas-existing",
            Some(dec!(3.5)),
            &[(Pm, dec!(30)), (So2, dec!(100)), (Nox, dec!(400))],
        ),
        (
            "gb13271-coal-new",
            Some(dec!(9)),
            &[
                (Pm, dec!(50)),
                (So2, dec!(300)),
                (Nox, dec!(300)),
                (Hg, dec!(0.05)),
            ],
        ),
        (
            "gb13271-oil-new",
            Some(dec!(3.5)),
            &[(Pm, dec!(30)), (So2, dec!(200)), (Nox, dec!(250))],
        ),
        (
            "gb13271-gas-new",
            Some(dec!(3.5)),
            &[(Pm, dec!(20)), (So2, dec!(50)), (Nox, dec!(200))],
        ),
        (
            "gb13271-coal-special",
            Some(dec!(9)),
            &[
                (Pm, dec!(30)),
                (So2, dec!(200)),
                (Nox, dec!(200)),
                (Hg, dec!(0.05)),
            ],
        ),
        (
            "gb13271-oil-special",
            Some(dec!(3.5)),
            &[(Pm, dec!(30)), (So2, dec!(100)), (Nox, dec!(200))],
        ),
        (
            "gb13271-gas-special",
            Some(dec!(3.5)),
            &[(Pm, dec!(20)), (So2, dec!(50)), (Nox, dec!(150))],
        ),
        (
            "pingyuan-2020-gas",
            Some(dec!(3.5)),
            &[(Pm, dec!(5)), (So2, dec!(10)), (Nox, dec!(30))],
        ),
        ("pingyuan-2020-gas-new", Some(dec!(3.5)), &[(Nox, dec!(30))]),
        (
            "pingyuan-2020-oil",
            Some(dec!(3.5)),
            &[(Pm, dec!(10)), (So2, dec!(20)), (Nox, dec!(80))],
        ),
        (
            "pingyuan-2020-coal-35-65",
            Some(dec!(9)),
            &[(Pm, dec!(10)), (So2, dec!(35)), (Nox, dec!(50))],
        ),
        (
            "pingyuan-2020-biomass",
            Some(dec!(9)),
            &[(Pm, dec!(10)), (So2, dec!(35)), (Nox, dec!(50))],
        ),
        (
            "pingyuan-2020-biomass-power",
            Some(dec!(6)),
            &[(Pm, dec!(10)), (So2, dec!(35)), (Nox, dec!(50))],
        ),
        (
            "henan-2019-kiln-builtup",
            None,
            &[(Pm, dec!(10)), (So2, dec!(35)), (Nox, dec!(50))],
        ),
    ];
    assert_eq!(emission::builtin_limit_sets().len(), cases.len());
    for (name, o2, limits) in cases {
        let set = emission::limit_set(name).unwrap_or_else(|| panic!("{name}"));
        assert_eq!(set.reference_o2, *o2, "{name}");
        let expected: BTreeMap<Pollutant, Decimal> = limits.iter().copied().collect();
        assert_eq!(set.limits, expected, "{name}");
        assert!(!set.source.is_empty());
    }
    assert!(emission::limit_set("GB13271-GAS-SPECIAL").is_some());
    assert!(emission::limit_set("gb13271-gas").is_none());
    assert_eq!(
        emission::limit_set("gb13271-coal-new").unwrap().valid_from,
        NaiveDate::from_ymd_opt(2014, 7, 1)
    );
    assert_eq!(
        emission::limit_set("pingyuan-2020-coal-35-65")
            .unwrap()
            .valid_from,
        NaiveDate::from_ymd_opt(2020, 11, 1)
    );
}

/// The campaign plan's limit sets (plans/pingyuan-2020/limits.toml) name the
/// same sets with the same figures as the engine.
#[test]
fn plan_limit_sets_match_the_engine() {
    let toml = include_str!("../../../plans/pingyuan-2020/limits.toml");
    let mut n = 0;
    let mut current: Option<emission::LimitSet> = None;
    for line in toml.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("name = ") {
            let name = rest.trim_matches('"');
            current = Some(emission::limit_set(name).unwrap_or_else(|| panic!("{name}")));
            n += 1;
        } else if let Some(rest) = line.strip_prefix("reference_o2 = ") {
            let o2 = Decimal::from_str(rest.trim_matches('"')).unwrap();
            assert_eq!(current.as_ref().unwrap().reference_o2, Some(o2));
        } else if line.starts_with("{ pollutant") {
            let code = line
                .split("code = \"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = line
                .split("value = ")
                .nth(1)
                .unwrap()
                .trim_end_matches([' ', '}', ',']);
            let p = Pollutant::from_str(code).unwrap();
            let set = current.as_ref().unwrap();
            assert_eq!(
                set.limits[&p],
                Decimal::from_str(value).unwrap(),
                "{} {code}",
                set.name
            );
        }
    }
    assert_eq!(n, 6);
}

// --- a stack, minute by minute ---------------------------------------------------

/// `n` minutes from `start` with SO2/NOx/PM/O2/flow constant and flag `flag`.
fn block(start: &str, n: i64, so2: Decimal, o2: Decimal, flag: Flag) -> Vec<MinuteRecord> {
    let start = t(start);
    (0..n)
        .map(|i| {
            let mv = |v: Decimal| MinuteValue {
                value: Some(v),
                flag,
            };
            MinuteRecord {
                time: start + Duration::minutes(i),
                o2: Some(MinuteValue::normal(o2)),
                flow: Some(MinuteValue::normal(dec!(10000))),
                temperature: Some(dec!(120)),
                moisture: Some(dec!(8)),
                pollutants: [
                    (Pollutant::So2, mv(so2)),
                    (Pollutant::Nox, mv(dec!(24))),
                    (Pollutant::Pm, mv(dec!(4))),
                ]
                .into(),
            }
        })
        .collect()
}

#[test]
fn hourly_converted_values_validity_and_exceedances() {
    let set = emission::limit_set("pingyuan-2020-gas").unwrap();
    let th = Thresholds::default();
    let mut recs = Vec::new();
    // 08:00–09:00: SO2 20 at 7 % O2 → 25 (> 10, 1.5×); NOx 24 → 30 = limit;
    // PM 4 → 5 = limit.
    recs.extend(block("2020-11-02 08:00", 60, dec!(20), dec!(7), Flag::N));
    // 09:00–10:00: 45 normal minutes + 15 calibration minutes: valid.
    recs.extend(block("2020-11-02 09:00", 45, dec!(8), dec!(7), Flag::N));
    recs.extend(block("2020-11-02 09:45", 15, dec!(500), dec!(7), Flag::C));
    // 10:00–11:00: only 44 normal minutes: invalid pollutant hours.
    recs.extend(block("2020-11-02 10:00", 44, dec!(20), dec!(7), Flag::N));
    recs.extend(block("2020-11-02 10:44", 16, dec!(20), dec!(7), Flag::M));
    // 11:00–12:00: boiler off, O2 20 %.
    recs.extend(block("2020-11-02 11:00", 60, dec!(2), dec!(20), Flag::N));
    let hours = emission::hourly(&recs, &set, &th, Basis::Dry).unwrap();
    assert_eq!(hours.len(), 4);
    assert_eq!(hours[0].hour_end, t("2020-11-02 09:00"));
    assert_eq!(hours[3].hour_end, t("2020-11-02 12:00"));

    let so2 = &hours[0].pollutants[&Pollutant::So2];
    assert_eq!(so2.measured.mean, Some(dec!(20)));
    assert_eq!(so2.converted, Some(dec!(25)));
    assert!(so2.exceeds);
    assert_eq!(so2.multiple, Some(dec!(1.5)));
    assert_eq!(so2.limit, Some(dec!(10)));
    // 20 mg/m³ × 10 000 m³/h × 10⁻⁶ = 0.2 kg/h (measured, not converted).
    assert_eq!(so2.rate_kg_h, Some(dec!(0.2)));
    let nox = &hours[0].pollutants[&Pollutant::Nox];
    assert_eq!(nox.converted, Some(dec!(30)));
    assert!(!nox.exceeds, "equal to the limit is not an exceedance");
    assert!(!hours[0].pollutants[&Pollutant::Pm].exceeds);
    assert_eq!(hours[0].temperature, Some(dec!(120)));

    let so2 = &hours[1].pollutants[&Pollutant::So2];
    assert!(so2.measured.valid);
    assert_eq!(so2.measured.mean, Some(dec!(8)));
    assert_eq!(so2.measured.flags[&Flag::C], 15);
    assert_eq!(so2.converted, Some(dec!(10)));
    assert!(!so2.exceeds);

    let so2 = &hours[2].pollutants[&Pollutant::So2];
    assert!(!so2.measured.valid);
    assert_eq!(so2.status, HourStatus::InvalidPollutant);
    assert_eq!(so2.converted, None);
    assert!(!so2.exceeds);

    let so2 = &hours[3].pollutants[&Pollutant::So2];
    assert_eq!(so2.status, HourStatus::Stopped);
    assert_eq!(so2.converted, None);
    // Without the cut-off, 2 × 17.5/1 = 35 would exceed.
    let no_cut = Thresholds {
        o2_stop_cutoff: None,
        ..Thresholds::default()
    };
    let hours2 = emission::hourly(&recs, &set, &no_cut, Basis::Dry).unwrap();
    assert_eq!(
        hours2[3].pollutants[&Pollutant::So2].converted,
        Some(dec!(35))
    );
}

#[test]
fn invalid_o2_hour_has_no_converted_value() {
    let set = emission::limit_set("pingyuan-2020-gas").unwrap();
    let mut recs = block("2020-11-02 08:00", 60, dec!(20), dec!(7), Flag::N);
    for r in recs.iter_mut().take(16) {
        r.o2 = Some(MinuteValue {
            value: Some(dec!(7)),
            flag: Flag::D,
        });
    }
    let hours = emission::hourly(&recs, &set, &Thresholds::default(), Basis::Dry).unwrap();
    let so2 = &hours[0].pollutants[&Pollutant::So2];
    assert!(so2.measured.valid);
    assert_eq!(so2.status, HourStatus::InvalidO2);
    assert_eq!(so2.converted, None);
    assert!(!so2.exceeds);
}

#[test]
fn measured_basis_set_and_reference_override() {
    let kiln = emission::limit_set("henan-2019-kiln-builtup").unwrap();
    let recs = block("2021-03-01 08:00", 60, dec!(36), dec!(15), Flag::N);
    let hours = emission::hourly(&recs, &kiln, &Thresholds::default(), Basis::Dry).unwrap();
    let so2 = &hours[0].pollutants[&Pollutant::So2];
    assert_eq!(so2.converted, Some(dec!(36)));
    assert_eq!(so2.multiple, Some(dec!(0.03))); // (36 − 35)/35 = 0.0286
    // With an 18 % reference: 36 × 3/6 = 18, compliant.
    let kiln18 = kiln.with_reference_o2(Some(dec!(18)));
    let hours = emission::hourly(&recs, &kiln18, &Thresholds::default(), Basis::Dry).unwrap();
    assert_eq!(
        hours[0].pollutants[&Pollutant::So2].converted,
        Some(dec!(18))
    );
}

#[test]
fn wet_basis_is_dried_per_minute() {
    let set = emission::limit_set("pingyuan-2020-gas").unwrap();
    // SO2 18.4 wet, O2 6.44 wet, moisture 8 % → 20 dry and 7 % dry → 25.
    let recs = block("2020-11-02 08:00", 60, dec!(18.4), dec!(6.44), Flag::N);
    let hours = emission::hourly(&recs, &set, &Thresholds::default(), Basis::Wet).unwrap();
    assert_eq!(hours[0].o2.mean, Some(dec!(7)));
    let so2 = &hours[0].pollutants[&Pollutant::So2];
    assert_eq!(so2.measured.mean, Some(dec!(20)));
    assert_eq!(so2.converted, Some(dec!(25)));
}

#[test]
fn out_of_order_and_negative_are_errors() {
    let set = emission::limit_set("pingyuan-2020-gas").unwrap();
    let mut recs = block("2020-11-02 08:00", 3, dec!(1), dec!(7), Flag::N);
    recs.swap(1, 2);
    assert!(matches!(
        emission::hourly(&recs, &set, &Thresholds::default(), Basis::Dry),
        Err(EmissionError::OutOfOrder { .. })
    ));
    let mut recs = block("2020-11-02 08:00", 3, dec!(1), dec!(7), Flag::N);
    recs[1].time = recs[0].time;
    assert!(emission::hourly(&recs, &set, &Thresholds::default(), Basis::Dry).is_err());
    let recs = block("2020-11-02 08:00", 3, dec!(-1), dec!(7), Flag::N);
    assert!(matches!(
        emission::hourly(&recs, &set, &Thresholds::default(), Basis::Dry),
        Err(EmissionError::Negative { .. })
    ));
}

#[test]
fn events_merge_consecutive_hours() {
    let set = emission::limit_set("pingyuan-2020-gas").unwrap();
    let mut recs = Vec::new();
    // SO2 at 7 % O2: 20 → 25, 28 → 35, 4 → 5 (ok), gap hour, 12 → 15.
    recs.extend(block("2020-11-02 08:00", 60, dec!(20), dec!(7), Flag::N));
    recs.extend(block("2020-11-02 09:00", 60, dec!(28), dec!(7), Flag::N));
    recs.extend(block("2020-11-02 10:00", 60, dec!(4), dec!(7), Flag::N));
    recs.extend(block("2020-11-02 12:00", 60, dec!(12), dec!(7), Flag::N));
    recs.extend(block("2020-11-02 14:00", 60, dec!(12), dec!(7), Flag::N));
    let hours = emission::hourly(&recs, &set, &Thresholds::default(), Basis::Dry).unwrap();
    let events = emission::exceedance_events(&hours);
    let so2: Vec<_> = events
        .iter()
        .filter(|e| e.pollutant == Pollutant::So2)
        .collect();
    assert_eq!(so2.len(), 3, "{so2:?}");
    assert_eq!(so2[0].start, t("2020-11-02 08:00"));
    assert_eq!(so2[0].end, t("2020-11-02 10:00"));
    assert_eq!(so2[0].hours, 2);
    assert_eq!(so2[0].peak, dec!(35));
    assert_eq!(so2[0].mean, dec!(30));
    assert_eq!(so2[0].max_multiple, dec!(2.5));
    // 12:00–13:00 and 14:00–15:00 are not consecutive (13:00–14:00 missing).
    assert_eq!(so2[1].hours, 1);
    assert_eq!(so2[2].start, t("2020-11-02 14:00"));
    assert!(events.iter().all(|e| e.pollutant == Pollutant::So2));
}

#[test]
fn daily_rollup_and_totals() {
    let set = emission::limit_set("pingyuan-2020-gas").unwrap();
    let th = Thresholds::default();
    // 2020-11-02: hours ending 01:00 … 24:00 (= 11-03 00:00); 20 valid hours.
    let mut recs = Vec::new();
    for h in 0..24 {
        let start = t("2020-11-02 00:00") + Duration::hours(h);
        let s = start.format("%Y-%m-%d %H:%M").to_string();
        let flag = if h < 20 { Flag::N } else { Flag::M };
        recs.extend(block(&s, 60, dec!(8), dec!(7), flag));
    }
    let hours = emission::hourly(&recs, &set, &th, Basis::Dry).unwrap();
    assert_eq!(hours.last().unwrap().hour_end, t("2020-11-03 00:00"));
    let days = emission::daily(&hours, &th);
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].date, NaiveDate::from_ymd_opt(2020, 11, 2).unwrap());
    let so2 = &days[0].pollutants[&Pollutant::So2];
    assert!(so2.measured.valid);
    assert_eq!(so2.measured.valid_members, 20);
    assert_eq!(so2.converted.mean, Some(dec!(10)));
    assert!(!so2.exceeds);
    // 20 valid hours × 8 mg/m³ × 10 000 m³/h × 10⁻⁶ = 1.6 kg.
    assert_eq!(so2.total_kg, Some(dec!(1.6)));

    // One more invalid hour → 19 valid hours: invalid day.
    let mut recs2 = recs.clone();
    for r in recs2.iter_mut().take(60) {
        r.pollutants.get_mut(&Pollutant::So2).unwrap().flag = Flag::B;
    }
    let hours = emission::hourly(&recs2, &set, &th, Basis::Dry).unwrap();
    let days = emission::daily(&hours, &th);
    let so2 = &days[0].pollutants[&Pollutant::So2];
    assert!(!so2.measured.valid);
    assert_eq!(so2.measured.mean, None);
    assert_eq!(so2.total_kg, Some(dec!(1.52)));
}

fn day(date: (i32, u32, u32), valid: bool, kg: Decimal) -> DayRecord {
    let pv = |v: Option<Decimal>| PeriodValue {
        mean: v,
        valid_members: if valid { 24 } else { 0 },
        required: 20,
        valid,
    };
    DayRecord {
        date: NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap(),
        pollutants: [(
            Pollutant::Nox,
            PollutantDay {
                measured: pv(valid.then_some(dec!(40))),
                converted: pv(valid.then_some(dec!(45))),
                total_kg: Some(kg),
                limit: Some(dec!(50)),
                exceeds: false,
                multiple: None,
                exceeding_hours: 1,
            },
        )]
        .into(),
    }
}

#[test]
fn monthly_rollup_february_23_days() {
    let th = Thresholds::default();
    let mut days: Vec<DayRecord> = (1..=28)
        .map(|d| day((2021, 2, d), d <= 23, dec!(100)))
        .collect();
    days.extend((1..=31).map(|d| day((2021, 3, d), d <= 24, dec!(100))));
    let months = emission::monthly(&days, &th);
    assert_eq!(months.len(), 2);
    let feb = &months[0].pollutants[&Pollutant::Nox];
    assert!(feb.measured.valid);
    assert_eq!(feb.converted.mean, Some(dec!(45)));
    assert_eq!(feb.total_t, Some(dec!(2.8)));
    assert_eq!(feb.exceeding_hours, 28);
    let mar = &months[1].pollutants[&Pollutant::Nox];
    assert!(!mar.measured.valid);
    assert_eq!(mar.measured.required, 25);
}

/// The issue 13 item 24 hour: O2 50 minutes at 15 and 10 at 16 (mean 15.1666…),
/// SO2 minutes averaging `so2_sum`/60, gas-boiler limits (SO2 10 at 3.5 % O2).
fn repeating_o2_hour(parts: &[(i64, Decimal)]) -> emission::PollutantHour {
    let mut recs = Vec::new();
    let mut minute = 0;
    for &(n, so2) in parts {
        for _ in 0..n {
            let o2 = if minute < 50 { dec!(15) } else { dec!(16) };
            let start = format!("2020-11-02 08:{minute:02}");
            recs.extend(block(&start, 1, so2, o2, Flag::N));
            minute += 1;
        }
    }
    let set = emission::limit_set("pingyuan-2020-gas").unwrap();
    let hours = emission::hourly(&recs, &set, &Thresholds::default(), Basis::Dry).unwrap();
    hours[0].pollutants[&Pollutant::So2].clone()
}

#[test]
fn converted_equal_to_limit_through_repeating_means_does_not_exceed() {
    // SO2 mean 200/60 = 10/3; × 17.5/(21 − 910/60) = 10/3 × 3 = 10 exactly.
    let so2 = repeating_o2_hour(&[(20, dec!(5)), (40, dec!(2.5))]);
    assert_eq!(so2.limit, Some(dec!(10)));
    assert!(!so2.exceeds, "{so2:?}");
    assert_eq!(so2.multiple, None);
    assert_eq!(so2.converted.unwrap().round_dp(6), dec!(10));
}

#[test]
fn multiple_of_exactly_half_a_hundredth_rounds_to_even() {
    // SO2 3.35 × 3 = 10.05 → (10.05 − 10)/10 = 0.005 → 0.00 half-even.
    let so2 = repeating_o2_hour(&[(60, dec!(3.35))]);
    assert!(so2.exceeds);
    assert_eq!(so2.multiple, Some(dec!(0)));
    assert_eq!(emission::exceedance(dec!(10.05), dec!(10)), Some(dec!(0)));
    // (num, den, multiple against limit 10): 0.005 and 0.015 are midpoints
    // (to even); 1/3 and 2/3 above the limit round down and up.
    for (num, den, multiple) in [
        (dec!(201), dec!(20), Some(dec!(0))),
        (dec!(203), dec!(20), Some(dec!(0.02))),
        (dec!(30), dec!(3), None),
        (dec!(40), dec!(3), Some(dec!(0.33))),
        (dec!(50), dec!(3), Some(dec!(0.67))),
    ] {
        let q = Quotient { num, den };
        assert_eq!(
            emission::exceedance_exact(q, dec!(10)),
            multiple,
            "{num}/{den}"
        );
    }
}

proptest! {
    /// An hour is valid exactly when it has ≥ 45 valid minutes.
    #[test]
    fn hour_validity_threshold(valid in 0usize..=60, flag in proptest::sample::select(Flag::ALL[1..].to_vec())) {
        let m = minutes(valid, flag, 60 - valid, dec!(3));
        let h = emission::minutes_to_hour(&m, &Thresholds::default()).unwrap();
        prop_assert_eq!(h.valid, valid >= 45);
        prop_assert_eq!(h.valid_minutes as usize, valid);
    }

    /// A converted value equal to the limit is not an exceedance; any value
    /// above it is.
    #[test]
    fn exceedance_is_strictly_above(limit in 1i64..100_000, delta in 1i64..1_000_000) {
        let l = Decimal::new(limit, 2);
        prop_assert_eq!(emission::exceedance(l, l), None);
        prop_assert!(emission::exceedance(l + Decimal::new(delta, 6), l).is_some());
    }

    /// Converted concentration grows with the measured O2.
    #[test]
    fn conversion_monotonic_in_o2(a in 0i64..2000, b in 0i64..2000) {
        let (lo, hi) = (Decimal::new(a.min(b), 2), Decimal::new(a.max(b), 2));
        let c_lo = emission::to_reference_o2(dec!(10), lo, dec!(9)).unwrap();
        let c_hi = emission::to_reference_o2(dec!(10), hi, dec!(9)).unwrap();
        prop_assert!(c_lo <= c_hi);
    }
}

#[test]
fn ten_minute_records_count_their_window() {
    let th = Thresholds::default();
    let ten = |valid: usize, other: usize| {
        let mut v = vec![MinuteValue::normal(dec!(10)); valid];
        v.extend(std::iter::repeat_n(
            MinuteValue {
                value: Some(dec!(10)),
                flag: Flag::D,
            },
            other,
        ));
        v
    };
    let h = emission::records_to_hour(&ten(6, 0), 10, &th).unwrap();
    assert!(h.valid);
    assert_eq!((h.valid_minutes, h.minutes), (60, 60));
    assert_eq!(h.mean, Some(dec!(10)));
    let h = emission::records_to_hour(&ten(5, 1), 10, &th).unwrap();
    assert!(h.valid);
    assert_eq!(h.flags[&Flag::D], 10);
    assert!(
        !emission::records_to_hour(&ten(4, 2), 10, &th)
            .unwrap()
            .valid
    );
    assert!(emission::records_to_hour(&ten(7, 0), 10, &th).is_err());
    assert_eq!(
        emission::records_to_hour(&ten(1, 0), 7, &th),
        Err(EmissionError::BadInterval(7))
    );
    assert_eq!(emission::sum_some([None, None]), None);
    assert_eq!(emission::sum_some([None, Some(dec!(1))]), Some(dec!(1)));
}
