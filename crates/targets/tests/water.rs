//! Water section class per month and year to date against the target class.

use chrono::NaiveDate;
use gongjian_standards::water::{
    Item, Measurement, Sample, SectionData, Values, WaterBody, WaterClass,
};
use gongjian_targets::water::section_progress;
use rust_decimal_macros::dec;

fn sample(m: u32, cod: rust_decimal::Decimal) -> Sample {
    let mut v = Values::new();
    v.insert(
        Item::Cod,
        Measurement {
            value: cod,
            below_detection: false,
        },
    );
    v.insert(
        Item::Ph,
        Measurement {
            value: dec!(7.5),
            below_detection: false,
        },
    );
    Sample {
        time: NaiveDate::from_ymd_opt(2020, m, 10)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
        values: v,
    }
}

#[test]
fn monthly_and_ytd_class_against_target() {
    // COD: Ⅲ ≤ 20, Ⅳ ≤ 30. January 18 (Ⅲ), February 26 (Ⅳ): YTD mean 22 → Ⅳ.
    let s = SectionData {
        section: "韩董庄".into(),
        water_body: WaterBody::River,
        target: Some(WaterClass::III),
        samples: vec![sample(1, dec!(18)), sample(2, dec!(26))],
    };
    let p = section_progress(&s, 2020, 2);
    assert_eq!(p.months.len(), 2);
    assert_eq!(p.months[0].class.as_deref(), Some("Ⅲ"));
    assert_eq!(p.months[0].compliant, Some(true));
    assert_eq!(p.months[1].class.as_deref(), Some("Ⅳ"));
    assert_eq!(p.months[1].compliant, Some(false));
    assert_eq!(p.months[1].failing.len(), 1);
    assert_eq!(p.months[1].failing[0].item, Item::Cod);
    let ytd = p.ytd.unwrap();
    assert_eq!(ytd.class.as_deref(), Some("Ⅳ"));
    assert_eq!(ytd.failing[0].value, dec!(22));
    assert_eq!(ytd.failing[0].multiple, Some(dec!(0.10)));
    assert_eq!(p.on_track, Some(false));
    assert!(p.last_year.is_none());
}
