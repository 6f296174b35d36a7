//! Surface water (GB 3838-2002, 环办〔2011〕22号).
//!
//! * `water_boundaries.csv`: every classifiable Table 1 item at every class
//!   boundary (the limit, 10⁻⁶ below and above), for rivers and lakes;
//!   expected classes were derived from an independent transcription of
//!   Table 1 (../shared/spec/water.md), not from this crate.
//! * `water_annex_2020.csv`: the seven sections of the 2020 water plan annex
//!   (targets Ⅲ/Ⅴ) with invented sample values; expectations worked by hand.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDateTime;
use gongjian_standards::water::{
    self, Item, Measurement, SectionData, Status, Values, WaterBody, WaterClass,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn vals(pairs: &[(Item, &str)]) -> Values {
    pairs
        .iter()
        .map(|&(i, v)| (i, Measurement::new(d(v))))
        .collect()
}

#[test]
fn every_item_at_every_class_boundary() {
    let data = include_str!("data/water_boundaries.csv");
    let mut n = 0;
    let mut seen = std::collections::BTreeSet::new();
    for (lineno, line) in data.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let item = Item::from_str(f[0]).unwrap();
        let body = match f[1] {
            "river" => WaterBody::River,
            "lake_reservoir" => WaterBody::LakeReservoir,
            other => panic!("line {}: body {other}", lineno + 1),
        };
        let expected = WaterClass::from_str(f[3]).unwrap();
        let got = water::classify(item, body, d(f[2]));
        assert_eq!(
            got,
            Some(expected),
            "line {}: {} {:?} {}",
            lineno + 1,
            f[0],
            body,
            f[2]
        );
        seen.insert(item);
        n += 1;
    }
    assert!(n > 400);
    // Every item except water temperature is covered.
    for item in Item::ALL {
        assert_eq!(seen.contains(&item), item != Item::Temp, "{item}");
    }
}

#[test]
fn table_has_24_items_and_21_evaluation_items() {
    assert_eq!(Item::ALL.len(), 24);
    let eval: Vec<Item> = Item::evaluation_items().collect();
    assert_eq!(eval.len(), 21);
    assert!(!eval.contains(&Item::Temp));
    assert!(!eval.contains(&Item::Tn));
    assert!(!eval.contains(&Item::Fecal));
    for (n, item) in Item::ALL.iter().enumerate() {
        assert_eq!(item.number() as usize, n + 1);
        assert_eq!(Item::from_str(item.code()).unwrap(), *item);
        assert_eq!(Item::from_str(item.name_zh()).unwrap(), *item);
    }
    assert_eq!(
        water::classify(Item::Temp, WaterBody::River, dec!(20)),
        None
    );
}

#[test]
fn temperature_change_limits() {
    assert!(water::temperature_change_meets(dec!(1)));
    assert!(!water::temperature_change_meets(dec!(1.01)));
    assert!(water::temperature_change_meets(dec!(-2)));
    assert!(!water::temperature_change_meets(dec!(-2.01)));
}

#[test]
fn class_parsing_and_labels() {
    for (s, c) in [
        ("Ⅲ", WaterClass::III),
        ("Ⅲ类", WaterClass::III),
        ("III", WaterClass::III),
        ("v类", WaterClass::V),
        ("V类", WaterClass::V),
        ("4", WaterClass::IV),
        ("劣Ⅴ", WaterClass::WorseThanV),
        ("劣V类", WaterClass::WorseThanV),
    ] {
        assert_eq!(WaterClass::from_str(s).unwrap(), c, "{s}");
    }
    assert!(WaterClass::from_str("Ⅵ").is_err());
    assert_eq!(WaterClass::WorseThanV.label(), "劣Ⅴ");
    assert_eq!(
        serde_json::to_string(&WaterClass::II).unwrap(),
        "\"Ⅱ\"".to_string()
    );
    let statuses: Vec<(&str, &str)> = WaterClass::ALL
        .iter()
        .map(|c| (c.status().label(), c.status().colour()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("优", "blue"),
            ("优", "blue"),
            ("良好", "green"),
            ("轻度污染", "yellow"),
            ("中度污染", "orange"),
            ("重度污染", "red"),
        ]
    );
}

#[test]
fn ph_and_do_have_no_multiple() {
    let a = water::assess(
        WaterBody::River,
        &vals(&[(Item::Ph, "5.5"), (Item::Do, "1.0"), (Item::Cod, "25")]),
        Some(WaterClass::III),
    );
    assert_eq!(a.class, Some(WaterClass::WorseThanV));
    assert_eq!(a.status, Some(Status::Heavy));
    let t = a.target.unwrap();
    assert!(!t.compliant);
    let failing: Vec<(Item, Option<Decimal>)> =
        t.failing.iter().map(|f| (f.item, f.multiple)).collect();
    assert_eq!(
        failing,
        vec![
            (Item::Ph, None),
            (Item::Do, None),
            (Item::Cod, Some(dec!(0.25)))
        ]
    );
    assert_eq!(t.failing[0].limit, None);
    assert_eq!(t.failing[1].limit, Some(dec!(5)));
}

#[test]
fn reference_items_do_not_set_the_class() {
    let a = water::assess(
        WaterBody::LakeReservoir,
        &vals(&[
            (Item::Temp, "18"),
            (Item::Tn, "3"),
            (Item::Fecal, "90000"),
            (Item::Tp, "0.05"),
        ]),
        None,
    );
    assert_eq!(a.class, Some(WaterClass::III));
    let tn = a.items.iter().find(|r| r.item == Item::Tn).unwrap();
    assert_eq!(tn.class, Some(WaterClass::WorseThanV));
    assert!(!tn.evaluated);
    let temp = a.items.iter().find(|r| r.item == Item::Temp).unwrap();
    assert_eq!(temp.class, None);
    assert_eq!(a.evaluated, vec![Item::Tp]);
    assert_eq!(a.missing.len(), 20);
    // Only reference items: no class.
    let a = water::assess(WaterBody::River, &vals(&[(Item::Tn, "3")]), None);
    assert_eq!(a.class, None);
    assert_eq!(a.status, None);
}

#[test]
fn below_detection_is_classified_by_its_limit_and_has_no_multiple() {
    let mut v = Values::new();
    v.insert(Item::Vp, Measurement::below_detection(dec!(0.01)));
    let a = water::assess(WaterBody::River, &v, Some(WaterClass::III));
    assert_eq!(a.class, Some(WaterClass::IV));
    assert_eq!(a.items[0].multiple_vs_iii, None);
    assert_eq!(a.target.unwrap().failing[0].multiple, None);
    // Means: half the detection limit when some values are measured.
    let s1: Values = [(Item::Vp, Measurement::below_detection(dec!(0.002)))].into();
    let s2: Values = [(Item::Vp, Measurement::new(dec!(0.006)))].into();
    let m = water::period_means([&s1, &s2]);
    assert_eq!(m[&Item::Vp], Measurement::new(dec!(0.0035)));
    // All below detection: stays below detection with the largest limit.
    let s3: Values = [(Item::Vp, Measurement::below_detection(dec!(0.003)))].into();
    let m = water::period_means([&s1, &s3]);
    assert_eq!(m[&Item::Vp], Measurement::below_detection(dec!(0.003)));
}

#[test]
fn multiples_round_half_even_to_two_decimals() {
    // (45 − 40)/40 = 0.125 → 0.12; (5.5 − 4)/4 = 0.375 → 0.38.
    let a = water::assess(
        WaterBody::River,
        &vals(&[(Item::Cod, "45"), (Item::Bod5, "5.5")]),
        Some(WaterClass::V),
    );
    let t = a.target.unwrap();
    assert_eq!(t.failing.len(), 1);
    assert_eq!(t.failing[0].multiple, Some(dec!(0.12)));
    let bod = a.items.iter().find(|r| r.item == Item::Bod5).unwrap();
    assert_eq!(bod.multiple_vs_iii, Some(dec!(0.38)));
}

// --- the annex sections -----------------------------------------------------

fn load_annex() -> Vec<SectionData> {
    let data = include_str!("data/water_annex_2020.csv");
    let mut lines = data.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut sections: Vec<SectionData> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let time = NaiveDateTime::parse_from_str(f[1], "%Y-%m-%dT%H:%M").unwrap();
        let target = WaterClass::from_str(f[2]).unwrap();
        let mut values = BTreeMap::new();
        for (h, v) in header.iter().zip(&f).skip(3) {
            if v.is_empty() {
                continue;
            }
            let item = Item::from_str(h).unwrap();
            let m = match v.strip_suffix('L') {
                Some(dl) => Measurement::below_detection(d(dl)),
                None => Measurement::new(d(v)),
            };
            values.insert(item, m);
        }
        let sample = water::Sample { time, values };
        match sections.iter_mut().find(|s| s.section == f[0]) {
            Some(s) => s.samples.push(sample),
            None => sections.push(SectionData {
                section: f[0].to_string(),
                water_body: WaterBody::River,
                target: Some(target),
                samples: vec![sample],
            }),
        }
    }
    sections
}

fn section<'a>(all: &'a [SectionData], name: &str) -> &'a SectionData {
    all.iter().find(|s| s.section == name).unwrap()
}

#[test]
fn annex_has_seven_sections_with_targets() {
    let all = load_annex();
    let targets: Vec<(&str, WaterClass)> = all
        .iter()
        .map(|s| (s.section.as_str(), s.target.unwrap()))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("韩董庄", WaterClass::III),
            ("前梨园村", WaterClass::III),
            ("杨大寨村", WaterClass::V),
            ("柴庄村", WaterClass::V),
            ("东磁村", WaterClass::V),
            ("杨庄村", WaterClass::III),
            ("西磁村", WaterClass::V),
        ]
    );
}

#[test]
fn handongzhuang_monthly_and_year_to_date() {
    let all = load_annex();
    let s = section(&all, "韩董庄");
    let months = water::evaluate_months(s);
    let classes: Vec<(u32, Option<WaterClass>, bool)> = months
        .iter()
        .map(|m| {
            use chrono::Datelike;
            (
                m.from.month(),
                m.assessment.class,
                m.assessment.target.as_ref().unwrap().compliant,
            )
        })
        .collect();
    assert_eq!(
        classes,
        vec![
            (1, Some(WaterClass::III), true),
            (2, Some(WaterClass::III), true),
            (3, Some(WaterClass::IV), false),
        ]
    );
    let jan = &months[0].assessment;
    assert_eq!(
        jan.worst,
        vec![Item::Codmn, Item::Cod, Item::Bod5, Item::Nh3n, Item::Tp]
    );
    assert_eq!(jan.status, Some(Status::Good));
    // March: two samples, NH3-N mean (1.2 + 0.9)/2 = 1.05 → Ⅳ, 0.05 over Ⅲ.
    let mar = &months[2];
    assert_eq!(mar.samples, 2);
    assert_eq!(mar.means[&Item::Nh3n].value, dec!(1.05));
    assert_eq!(mar.means[&Item::Do].value, dec!(6.2));
    let t = mar.assessment.target.as_ref().unwrap();
    assert_eq!(t.failing.len(), 1);
    assert_eq!(t.failing[0].item, Item::Nh3n);
    assert_eq!(t.failing[0].limit, Some(dec!(1.0)));
    assert_eq!(t.failing[0].multiple, Some(dec!(0.05)));
    assert_eq!(mar.assessment.status, Some(Status::Light));
    assert_eq!(mar.assessment.main_pollutants.len(), 1);

    // Year to date = mean of the monthly means: NH3-N (0.8 + 1.0 + 1.05)/3 =
    // 0.95 (the mean of the four samples would be 0.975).
    let ytd = water::evaluate_year_to_date(s, 2020, 3).unwrap();
    assert_eq!(ytd.months, 3);
    assert_eq!(ytd.samples, 4);
    assert_eq!(ytd.means[&Item::Nh3n].value, dec!(0.95));
    assert_eq!(ytd.assessment.class, Some(WaterClass::III));
    assert!(ytd.assessment.target.as_ref().unwrap().compliant);
    let ytd2 = water::evaluate_year_to_date(s, 2020, 2).unwrap();
    assert_eq!(ytd2.means[&Item::Nh3n].value, dec!(0.9));
    assert_eq!(
        ytd2.to,
        chrono::NaiveDate::from_ymd_opt(2020, 2, 29).unwrap()
    );
    assert!(water::evaluate_year_to_date(s, 2021, 3).is_none());
    let all = water::evaluate_all(s).unwrap();
    assert_eq!(all.means, ytd.means);
    assert_eq!(
        all.from,
        chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()
    );
    assert_eq!(
        all.to,
        chrono::NaiveDate::from_ymd_opt(2020, 3, 31).unwrap()
    );
    // A range across a year end.
    let mut shifted = s.clone();
    for smp in &mut shifted.samples {
        smp.time -= chrono::Duration::days(60);
    }
    let r = water::evaluate_all(&shifted).unwrap();
    assert_eq!(
        r.from,
        chrono::NaiveDate::from_ymd_opt(2019, 11, 1).unwrap()
    );
    assert_eq!(r.months, 3);
    assert!(water::evaluate_month(s, 2020, 4).is_none());
}

#[test]
fn qianliyuan_do_boundary() {
    let all = load_annex();
    let s = section(&all, "前梨园村");
    let jan = water::evaluate_month(s, 2020, 1).unwrap().assessment;
    assert_eq!(jan.class, Some(WaterClass::IV));
    let t = jan.target.unwrap();
    assert_eq!(t.failing.len(), 1);
    assert_eq!(t.failing[0].item, Item::Do);
    assert_eq!(t.failing[0].multiple, None);
    assert_eq!(t.failing[0].limit, Some(dec!(5)));
    // DO exactly 5 meets Ⅲ.
    let feb = water::evaluate_month(s, 2020, 2).unwrap().assessment;
    assert_eq!(feb.class, Some(WaterClass::III));
    assert!(feb.target.unwrap().compliant);
}

#[test]
fn yangdazhai_worse_than_v() {
    let all = load_annex();
    let a = water::evaluate_month(section(&all, "杨大寨村"), 2020, 1)
        .unwrap()
        .assessment;
    assert_eq!(a.class, Some(WaterClass::WorseThanV));
    assert_eq!(a.status, Some(Status::Heavy));
    assert_eq!(a.worst, vec![Item::Do, Item::Cod, Item::Nh3n]);
    let main: Vec<(Item, Option<Decimal>)> = a
        .main_pollutants
        .iter()
        .map(|m| (m.item, m.multiple))
        .collect();
    assert_eq!(
        main,
        vec![
            (Item::Nh3n, Some(dec!(1.5))),
            (Item::Cod, Some(dec!(1.25))),
            (Item::Do, None)
        ]
    );
    let t = a.target.unwrap();
    assert_eq!(t.target, WaterClass::V);
    assert!(!t.compliant);
    let failing: Vec<(Item, Option<Decimal>, Option<Decimal>)> = t
        .failing
        .iter()
        .map(|f| (f.item, f.limit, f.multiple))
        .collect();
    assert_eq!(
        failing,
        vec![
            (Item::Do, Some(dec!(2)), None),
            (Item::Cod, Some(dec!(40)), Some(dec!(0.12))),
            (Item::Nh3n, Some(dec!(2.0)), Some(dec!(0.25))),
        ]
    );
}

#[test]
fn chaizhuang_class_v_compliant_with_main_pollutants() {
    let all = load_annex();
    let a = water::evaluate_month(section(&all, "柴庄村"), 2020, 1)
        .unwrap()
        .assessment;
    assert_eq!(a.class, Some(WaterClass::V));
    assert_eq!(a.status, Some(Status::Moderate));
    let t = a.target.as_ref().unwrap();
    assert!(t.compliant);
    assert!(t.failing.is_empty());
    // TP (0.4−0.2)/0.2 = 1.0; COD and NH3-N tie at 0.9 → Table 1 order.
    let main: Vec<(Item, Option<Decimal>)> = a
        .main_pollutants
        .iter()
        .map(|m| (m.item, m.multiple))
        .collect();
    assert_eq!(
        main,
        vec![
            (Item::Tp, Some(dec!(1))),
            (Item::Cod, Some(dec!(0.9))),
            (Item::Nh3n, Some(dec!(0.9)))
        ]
    );
}

#[test]
fn dongci_ph_out_of_range() {
    let all = load_annex();
    let a = water::evaluate_month(section(&all, "东磁村"), 2020, 1)
        .unwrap()
        .assessment;
    assert_eq!(a.class, Some(WaterClass::WorseThanV));
    assert_eq!(a.worst, vec![Item::Ph]);
    let main: Vec<Item> = a.main_pollutants.iter().map(|m| m.item).collect();
    assert_eq!(main, vec![Item::Ph, Item::Cod, Item::Bod5]);
    let t = a.target.unwrap();
    assert_eq!(t.failing.len(), 1);
    assert_eq!(t.failing[0].item, Item::Ph);
    assert_eq!(t.failing[0].multiple, None);
}

#[test]
fn yangzhuang_excellent_with_reference_and_nd_items() {
    let all = load_annex();
    let a = water::evaluate_month(section(&all, "杨庄村"), 2020, 1)
        .unwrap()
        .assessment;
    assert_eq!(a.class, Some(WaterClass::II));
    assert_eq!(a.status, Some(Status::Excellent));
    assert!(a.main_pollutants.is_empty());
    assert!(a.target.as_ref().unwrap().compliant);
    assert_eq!(a.evaluated.len(), 10);
    assert_eq!(a.missing.len(), 11);
    let cr6 = a.items.iter().find(|r| r.item == Item::Cr6).unwrap();
    assert!(cr6.below_detection);
    assert_eq!(cr6.class, Some(WaterClass::I));
}

#[test]
fn xici_oil_exceeds_v() {
    let all = load_annex();
    let a = water::evaluate_month(section(&all, "西磁村"), 2020, 1)
        .unwrap()
        .assessment;
    assert_eq!(a.class, Some(WaterClass::WorseThanV));
    let main: Vec<(Item, Option<Decimal>)> = a
        .main_pollutants
        .iter()
        .map(|m| (m.item, m.multiple))
        .collect();
    assert_eq!(
        main,
        vec![
            (Item::Oil, Some(dec!(23))),
            (Item::Codmn, Some(dec!(0.42))),
            (Item::Cod, Some(dec!(0.4)))
        ]
    );
    let t = a.target.unwrap();
    assert_eq!(t.failing.len(), 1);
    assert_eq!(t.failing[0].multiple, Some(dec!(0.2)));
}

#[test]
fn section_data_is_plain_serde() {
    let all = load_annex();
    let json = serde_json::to_string(&all[0]).unwrap();
    assert!(json.contains("\"target\":\"Ⅲ\""));
    assert!(json.contains("\"nh3n\""));
    let back: SectionData = serde_json::from_str(&json).unwrap();
    assert_eq!(back, all[0]);
    let ytd = water::evaluate_year_to_date(&back, 2020, 3).unwrap();
    let out = serde_json::to_value(&ytd).unwrap();
    assert_eq!(out["assessment"]["class"], "Ⅲ");
    assert_eq!(out["assessment"]["status"], "good");
}

// --- properties ---------------------------------------------------------------

fn limited_items() -> impl Strategy<Value = (Item, WaterBody)> {
    let items: Vec<Item> = Item::ALL
        .into_iter()
        .filter(|i| !matches!(i, Item::Temp | Item::Ph))
        .collect();
    (
        proptest::sample::select(items),
        prop_oneof![Just(WaterBody::River), Just(WaterBody::LakeReservoir)],
    )
}

fn small_positive() -> impl Strategy<Value = Decimal> {
    (1i64..=1_000_000, 0u32..=9).prop_map(|(m, s)| Decimal::new(m, s))
}

proptest! {
    /// A value equal to a class limit meets that class; any value beyond it
    /// (above, or below for DO) does not.
    #[test]
    fn class_limits_are_inclusive((item, body) in limited_items(), k in 0usize..5, delta in small_positive()) {
        let crit = water::criterion(item, body);
        let class = WaterClass::LIMITED[k];
        let limit = crit.limit(class).unwrap();
        let at = water::classify(item, body, limit).unwrap();
        prop_assert!(at <= class);
        let (inside, outside) = if item == Item::Do {
            (limit + delta, limit - delta)
        } else {
            (limit - delta, limit + delta)
        };
        if inside >= Decimal::ZERO {
            prop_assert!(water::classify(item, body, inside).unwrap() <= class);
        }
        prop_assert!(water::classify(item, body, outside).unwrap() > class);
    }

    /// Classes never improve as the value worsens.
    #[test]
    fn classes_are_monotonic((item, body) in limited_items(), a in small_positive(), b in small_positive()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let (c_lo, c_hi) = (
            water::classify(item, body, lo).unwrap(),
            water::classify(item, body, hi).unwrap(),
        );
        if item == Item::Do {
            prop_assert!(c_hi <= c_lo);
        } else {
            prop_assert!(c_lo <= c_hi);
        }
    }

    /// pH: 6 ≤ pH ≤ 9 is Ⅰ, anything else 劣Ⅴ.
    #[test]
    fn ph_range_is_inclusive(m in 0i64..=14_000_000) {
        let ph = Decimal::new(m, 6);
        let c = water::classify(Item::Ph, WaterBody::River, ph).unwrap();
        let inside = ph >= dec!(6) && ph <= dec!(9);
        prop_assert_eq!(c, if inside { WaterClass::I } else { WaterClass::WorseThanV });
    }

    /// The section class is the worst of the evaluated items' classes.
    #[test]
    fn section_class_is_worst_item(cod in small_positive(), nh3n in small_positive(), do_ in small_positive()) {
        let v = vals(&[]).into_iter()
            .chain([(Item::Cod, Measurement::new(cod)), (Item::Nh3n, Measurement::new(nh3n)), (Item::Do, Measurement::new(do_))])
            .collect::<Values>();
        let a = water::assess(WaterBody::River, &v, Some(WaterClass::III));
        let worst = [Item::Cod, Item::Nh3n, Item::Do]
            .iter()
            .map(|&i| water::classify(i, WaterBody::River, v[&i].value).unwrap())
            .max();
        prop_assert_eq!(a.class, worst);
        prop_assert_eq!(a.target.unwrap().compliant, worst.unwrap() <= WaterClass::III);
    }
}
