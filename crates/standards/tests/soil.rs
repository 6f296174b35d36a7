//! Soil (GB 15618-2018, GB 36600-2018).
//!
//! The `soil_*.csv` files are transcriptions of the standards' tables taken
//! from ../shared/spec/soil.md (not from this crate): every value is checked,
//! and every value is used as a boundary (at the value → not above; just above
//! → above).

use std::collections::BTreeMap;
use std::str::FromStr;

use gongjian_standards::soil::{
    self, ConstructionSample, ConstructionVerdict, FarmItem, FarmlandClass, FarmlandSample,
    FarmlandUse, LandClass, PhBand, Risk, SoilError,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

const EPS: Decimal = dec!(0.000001);

/// Two pH values inside each band, including its upper boundary.
fn band_phs(band: &str) -> (PhBand, [Decimal; 2]) {
    match band {
        "le5.5" => (PhBand::UpTo5_5, [dec!(4.0), dec!(5.5)]),
        "5.5-6.5" => (PhBand::Over5_5To6_5, [dec!(5.500001), dec!(6.5)]),
        "6.5-7.5" => (PhBand::Over6_5To7_5, [dec!(6.500001), dec!(7.5)]),
        "gt7.5" => (PhBand::Over7_5, [dec!(7.500001), dec!(9.0)]),
        other => panic!("band {other}"),
    }
}

fn uses_for(item: FarmItem, use_: &str) -> Vec<FarmlandUse> {
    match (item, use_) {
        (_, "all") => vec![
            FarmlandUse::Paddy,
            FarmlandUse::Orchard,
            FarmlandUse::Other,
            FarmlandUse::PaddyUplandRotation,
        ],
        (_, "paddy") => vec![FarmlandUse::Paddy],
        (_, "orchard") => vec![FarmlandUse::Orchard],
        // Cu "other" = everything but orchards; for the rest "other" covers
        // dry land and orchards.
        (FarmItem::Cu, "other") => vec![FarmlandUse::Other, FarmlandUse::Paddy],
        (_, "other") => vec![FarmlandUse::Other, FarmlandUse::Orchard],
        (_, u) => panic!("use {u}"),
    }
}

fn one(item: FarmItem, use_: FarmlandUse, ph: Decimal, value: Decimal) -> soil::FarmlandAssessment {
    soil::assess_farmland(&FarmlandSample {
        ph,
        land_use: use_,
        values: [(item, value)].into(),
    })
    .unwrap()
}

#[test]
fn gb15618_every_screening_value() {
    let mut n = 0;
    for line in include_str!("data/soil_gb15618_screening.csv")
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = line.split(',').collect();
        let item = FarmItem::from_str(f[0]).unwrap();
        let (band, phs) = band_phs(f[2]);
        let s = d(f[3]);
        for use_ in uses_for(item, f[1]) {
            assert_eq!(
                soil::farmland_screening(item, use_, band),
                s,
                "{line} {use_:?}"
            );
            for ph in phs {
                let at = one(item, use_, ph, s);
                assert_eq!(at.ph_band, band);
                assert_eq!(at.items[0].risk, Risk::AtOrBelowScreening, "{line}");
                assert_eq!(at.items[0].screening, s);
                assert_eq!(at.items[0].p_screening, dec!(1));
                assert_eq!(at.class, FarmlandClass::PriorityProtection);
                let above = one(item, use_, ph, s + EPS);
                assert_eq!(above.items[0].risk, Risk::AboveScreening, "{line}");
                // Only Cd/Hg/As/Pb/Cr decide 安全利用 (GB 15618 §5.1–5.2).
                let class = if item.has_intervention() {
                    FarmlandClass::SafeUse
                } else {
                    FarmlandClass::PriorityProtection
                };
                assert_eq!(above.class, class, "{line}");
                assert_eq!(above.above_screening, vec![item]);
                assert_eq!(
                    above.strengthen_monitoring.is_empty(),
                    item.has_intervention(),
                    "{line}"
                );
                n += 1;
            }
        }
    }
    assert!(n > 150, "{n}");
}

#[test]
fn gb15618_every_intervention_value() {
    let mut n = 0;
    for line in include_str!("data/soil_gb15618_intervention.csv")
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = line.split(',').collect();
        let item = FarmItem::from_str(f[0]).unwrap();
        let (band, phs) = band_phs(f[1]);
        let g = d(f[2]);
        assert_eq!(soil::farmland_intervention(item, band), Some(g), "{line}");
        for use_ in [FarmlandUse::Paddy, FarmlandUse::Other] {
            for ph in phs {
                let at = one(item, use_, ph, g);
                assert_eq!(at.items[0].risk, Risk::AboveScreening, "{line}");
                assert_eq!(at.class, FarmlandClass::SafeUse);
                assert_eq!(at.items[0].p_intervention, Some(dec!(1)));
                let above = one(item, use_, ph, g + EPS);
                assert_eq!(above.items[0].risk, Risk::AboveIntervention, "{line}");
                assert_eq!(above.class, FarmlandClass::StrictControl);
                assert_eq!(above.above_intervention, vec![item]);
            }
        }
        n += 1;
    }
    assert_eq!(n, 20);
    for item in [
        FarmItem::Cu,
        FarmItem::Ni,
        FarmItem::Zn,
        FarmItem::Hch,
        FarmItem::Ddt,
        FarmItem::Bap,
    ] {
        assert_eq!(soil::farmland_intervention(item, PhBand::Over7_5), None);
        // Far above screening: closer monitoring, the class stays with the
        // five metals (here none is present: 优先保护).
        let a = one(item, FarmlandUse::Other, dec!(8), dec!(100000));
        assert_eq!(a.class, FarmlandClass::PriorityProtection);
        assert_eq!(a.strengthen_monitoring, vec![item]);
    }
}

#[test]
fn rotation_uses_the_stricter_value() {
    for item in FarmItem::ALL {
        for band in [
            PhBand::UpTo5_5,
            PhBand::Over5_5To6_5,
            PhBand::Over6_5To7_5,
            PhBand::Over7_5,
        ] {
            let p = soil::farmland_screening(item, FarmlandUse::Paddy, band);
            let o = soil::farmland_screening(item, FarmlandUse::Other, band);
            assert_eq!(
                soil::farmland_screening(item, FarmlandUse::PaddyUplandRotation, band),
                p.min(o)
            );
        }
    }
    // Cd at pH 7: paddy 0.6, other 0.3 → 0.3.
    assert_eq!(
        soil::farmland_screening(
            FarmItem::Cd,
            FarmlandUse::PaddyUplandRotation,
            PhBand::Over6_5To7_5
        ),
        dec!(0.3)
    );
}

#[test]
fn farmland_sample_worked_example() {
    // pH 6.8 paddy: Cd 0.7 (> 0.6, ≤ 3.0), Pb 50, Zn 260 (> 250), As 20.
    let a = soil::assess_farmland(&FarmlandSample {
        ph: dec!(6.8),
        land_use: FarmlandUse::Paddy,
        values: [
            (FarmItem::Cd, dec!(0.7)),
            (FarmItem::Pb, dec!(50)),
            (FarmItem::Zn, dec!(260)),
            (FarmItem::As, dec!(20)),
        ]
        .into(),
    })
    .unwrap();
    assert_eq!(a.ph_band, PhBand::Over6_5To7_5);
    assert_eq!(a.class, FarmlandClass::SafeUse);
    assert_eq!(a.class.label(), "安全利用类");
    assert_eq!(a.above_screening, vec![FarmItem::Cd, FarmItem::Zn]);
    assert!(a.above_intervention.is_empty());
    assert_eq!(a.strengthen_monitoring, vec![FarmItem::Zn]);
    let cd = &a.items[0];
    assert_eq!(cd.item, FarmItem::Cd);
    assert_eq!(cd.p_screening, dec!(1.17)); // 0.7/0.6 = 1.1666…
    assert_eq!(cd.p_intervention, Some(dec!(0.23))); // 0.7/3.0
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["ph_band"], "6.5<pH≤7.5");
    assert_eq!(json["class"], "safe_use");
    assert_eq!(json["rules"], soil::FARMLAND_RULES);
}

#[test]
fn farmland_errors() {
    let bad_ph = soil::assess_farmland(&FarmlandSample {
        ph: dec!(14.1),
        land_use: FarmlandUse::Other,
        values: BTreeMap::new(),
    });
    assert_eq!(bad_ph, Err(SoilError::PhOutOfRange(dec!(14.1))));
    let neg = soil::assess_farmland(&FarmlandSample {
        ph: dec!(7),
        land_use: FarmlandUse::Other,
        values: [(FarmItem::Hg, dec!(-0.1))].into(),
    });
    assert!(matches!(neg, Err(SoilError::Negative { .. })));
    assert!(FarmItem::from_str("cr6").is_err());
    assert_eq!(FarmlandUse::from_str("水田").unwrap(), FarmlandUse::Paddy);
    assert_eq!(
        FarmlandUse::from_str("水旱轮作").unwrap(),
        FarmlandUse::PaddyUplandRotation
    );
}

fn construction_rows() -> Vec<(u8, u8, [Decimal; 4])> {
    let mut rows = Vec::new();
    for line in include_str!("data/soil_gb36600_table1.csv").lines().skip(1) {
        // number,name (may be quoted and contain commas),s1,s2,g1,g2
        let f: Vec<&str> = line.split(',').collect();
        let n = f.len();
        rows.push((
            1,
            f[0].parse().unwrap(),
            [d(f[n - 4]), d(f[n - 3]), d(f[n - 2]), d(f[n - 1])],
        ));
    }
    for (i, line) in include_str!("data/soil_gb36600_table2.csv")
        .lines()
        .skip(1)
        .enumerate()
    {
        let f: Vec<&str> = line.split(',').collect();
        let item = soil::construction_item(f[0]).unwrap();
        assert_eq!(item.name_zh, f[1]);
        rows.push((2, i as u8 + 1, [d(f[2]), d(f[3]), d(f[4]), d(f[5])]));
    }
    rows
}

fn construction_one(code: &str, land: LandClass, value: Decimal) -> soil::ConstructionAssessment {
    soil::assess_construction(&ConstructionSample {
        land_class: land,
        values: [(code.to_string(), value)].into(),
        background: BTreeMap::new(),
    })
    .unwrap()
}

#[test]
fn gb36600_every_value() {
    let rows = construction_rows();
    assert_eq!(rows.len(), 51);
    assert_eq!(soil::CONSTRUCTION_ITEMS.len(), 51);
    assert_eq!(
        soil::CONSTRUCTION_ITEMS
            .iter()
            .filter(|i| i.table == 1)
            .count(),
        45
    );
    for (table, number, [s1, s2, g1, g2]) in rows {
        let item = soil::CONSTRUCTION_ITEMS
            .iter()
            .find(|i| i.table == table && i.number == number)
            .unwrap();
        assert_eq!(item.screening, [s1, s2], "{}", item.code);
        assert_eq!(item.intervention, [g1, g2], "{}", item.code);
        for (land, s, g) in [(LandClass::First, s1, g1), (LandClass::Second, s2, g2)] {
            let at_s = construction_one(item.code, land, s);
            assert_eq!(
                at_s.items[0].risk,
                Risk::AtOrBelowScreening,
                "{}",
                item.code
            );
            assert_eq!(at_s.verdict, ConstructionVerdict::Negligible);
            let above_s = construction_one(item.code, land, s + EPS);
            let expected = if s + EPS > g {
                Risk::AboveIntervention
            } else {
                Risk::AboveScreening
            };
            assert_eq!(above_s.items[0].risk, expected, "{}", item.code);
            let at_g = construction_one(item.code, land, g);
            let expected = if g > s {
                Risk::AboveScreening
            } else {
                Risk::AtOrBelowScreening
            };
            assert_eq!(at_g.items[0].risk, expected, "{}", item.code);
            let above_g = construction_one(item.code, land, g + EPS);
            assert_eq!(
                above_g.items[0].risk,
                Risk::AboveIntervention,
                "{}",
                item.code
            );
            assert_eq!(above_g.verdict, ConstructionVerdict::ControlOrRemediate);
            assert_eq!(above_g.above_intervention, vec![item.code.to_string()]);
        }
        // Lookup by Chinese name works too.
        assert_eq!(
            soil::construction_item(item.name_zh).unwrap().code,
            item.code
        );
    }
}

#[test]
fn gb36600_background_footnote() {
    // As on first-class land: 25 > 20 (screening); background 30 → within.
    let sample = |bg: Option<Decimal>| ConstructionSample {
        land_class: LandClass::First,
        values: [("as".to_string(), dec!(25)), ("pb".to_string(), dec!(100))].into(),
        background: bg
            .map(|b| [("as".to_string(), b)].into())
            .unwrap_or_default(),
    };
    let a = soil::assess_construction(&sample(Some(dec!(30)))).unwrap();
    assert_eq!(a.items[0].risk, Risk::WithinBackground);
    assert_eq!(a.verdict, ConstructionVerdict::Negligible);
    let a = soil::assess_construction(&sample(Some(dec!(24)))).unwrap();
    assert_eq!(a.items[0].risk, Risk::AboveScreening);
    assert_eq!(a.verdict, ConstructionVerdict::InvestigateFurther);
    let a = soil::assess_construction(&sample(None)).unwrap();
    assert_eq!(a.verdict, ConstructionVerdict::InvestigateFurther);
    assert_eq!(a.above_screening, vec!["as".to_string()]);
    // Footnote a does not apply to lead.
    let s = ConstructionSample {
        land_class: LandClass::First,
        values: [("pb".to_string(), dec!(500))].into(),
        background: [("pb".to_string(), dec!(600))].into(),
    };
    assert_eq!(
        soil::assess_construction(&s).unwrap().items[0].risk,
        Risk::AboveScreening
    );
}

#[test]
fn gb36600_errors_and_land_classes() {
    let s = ConstructionSample {
        land_class: LandClass::Second,
        values: [("zn".to_string(), dec!(1))].into(),
        background: BTreeMap::new(),
    };
    assert_eq!(
        soil::assess_construction(&s),
        Err(SoilError::UnknownItem("zn".into()))
    );
    let s = ConstructionSample {
        land_class: LandClass::Second,
        values: [("benzene".to_string(), dec!(-1))].into(),
        background: BTreeMap::new(),
    };
    assert!(matches!(
        soil::assess_construction(&s),
        Err(SoilError::Negative { .. })
    ));
    assert_eq!(LandClass::from_str("第一类用地").unwrap(), LandClass::First);
    assert_eq!(LandClass::from_str("class2").unwrap(), LandClass::Second);
    assert!(LandClass::from_str("class3").is_err());
}

proptest! {
    /// pH band boundaries belong to the lower band.
    #[test]
    fn ph_bands_are_inclusive_above(m in 0i64..=14_000) {
        let ph = Decimal::new(m, 3);
        let band = PhBand::of(ph).unwrap();
        let expected = if ph <= dec!(5.5) {
            PhBand::UpTo5_5
        } else if ph <= dec!(6.5) {
            PhBand::Over5_5To6_5
        } else if ph <= dec!(7.5) {
            PhBand::Over6_5To7_5
        } else {
            PhBand::Over7_5
        };
        prop_assert_eq!(band, expected);
    }

    /// A content equal to the screening value is never "above"; the class
    /// never improves as a content rises.
    #[test]
    fn farmland_class_monotonic(
        item in proptest::sample::select(FarmItem::ALL.to_vec()),
        ph in 40i64..=90,
        a in 0i64..=2_000_000,
        b in 0i64..=2_000_000,
    ) {
        let ph = Decimal::new(ph, 1);
        let (lo, hi) = (Decimal::new(a.min(b), 3), Decimal::new(a.max(b), 3));
        let c_lo = one(item, FarmlandUse::Other, ph, lo).class;
        let c_hi = one(item, FarmlandUse::Other, ph, hi).class;
        prop_assert!(c_lo <= c_hi);
        let s = soil::farmland_screening(item, FarmlandUse::Other, PhBand::of(ph).unwrap());
        prop_assert_eq!(one(item, FarmlandUse::Other, ph, s).class, FarmlandClass::PriorityProtection);
    }
}
