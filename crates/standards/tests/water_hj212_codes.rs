//! The HJ 212 → GB 3838 item mapping agrees with the protocol's own code
//! table (units included): a value sent in µg/L must be scaled to mg/L.

use gongjian_standards::water::Item;
use rust_decimal::Decimal;

const CODES: &str = include_str!("../../hj212/tests/data/hj212_pollutant_codes_2017.csv");

fn unit_of(code: &str) -> Option<&'static str> {
    CODES
        .lines()
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&code))
        .and_then(|f| f.get(3).copied())
}

#[test]
fn every_mapped_code_is_in_the_protocol_table_with_the_unit_the_scale_assumes() {
    let mut mapped = 0;
    for line in CODES.lines().skip(1) {
        let code = line.split(',').next().unwrap_or_default();
        let Some((item, scale)) = Item::from_hj212(code) else {
            continue;
        };
        mapped += 1;
        let unit = unit_of(code).unwrap();
        let expected = match item {
            Item::Temp => "摄氏度",
            Item::Ph => "无量纲",
            Item::Fecal => "个/升",
            _ if scale == Decimal::ONE => "毫克/升",
            _ => "微克/升",
        };
        assert_eq!(unit, expected, "{code} → {item:?} × {scale}");
    }
    assert!(mapped >= 24, "only {mapped} codes mapped");
}

#[test]
fn every_table_1_item_has_a_protocol_code() {
    let codes: Vec<&str> = CODES.lines().filter_map(|l| l.split(',').next()).collect();
    for item in Item::ALL {
        assert!(
            codes
                .iter()
                .any(|c| Item::from_hj212(c).is_some_and(|(i, _)| i == item)),
            "{item:?} has no HJ 212 code"
        );
    }
}

#[test]
fn air_codes_are_not_water_items() {
    assert_eq!(Item::from_hj212("a34004"), None);
    assert_eq!(Item::from_hj212("w21003"), Some((Item::Nh3n, Decimal::ONE)));
}
