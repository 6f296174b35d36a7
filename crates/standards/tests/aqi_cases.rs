//! Every case of tests/data/aqi_cases.jsonl (copied from the validation
//! research, see docs/standards.md) must pass.

use gongjian_standards::aqi::{
    self, AqiReport, DailyInput, HourlyInput, IaqiOutcome, Indicator, Level,
};
use gongjian_standards::rules::AqiRules;
use rust_decimal::Decimal;
use serde_json::Value;

const CASES: &str = include_str!("data/aqi_cases.jsonl");

fn indicator(code: &str) -> Indicator {
    Indicator::ALL
        .into_iter()
        .find(|i| i.case_code() == code)
        .unwrap_or_else(|| panic!("unknown indicator {code}"))
}

fn rules(v: &Value) -> AqiRules {
    match v["standard"].as_str().unwrap() {
        "HJ 633-2012" => AqiRules::Hj633_2012,
        "HJ 633-2026" => AqiRules::Hj633_2026,
        other => panic!("unknown standard {other}"),
    }
}

/// JSON numbers as exact decimals: parse the number's own text.
fn dec(v: &Value) -> Decimal {
    let text = v.to_string();
    text.parse()
        .or_else(|_| Decimal::from_scientific(&text))
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn opt(inputs: &Value, key: &str) -> Option<Decimal> {
    inputs.get(key).map(dec)
}

fn check_iaqi_case(id: &str, r: AqiRules, inputs: &Value, expected: &Value) {
    let item = indicator(inputs["item"].as_str().unwrap());
    let got = aqi::iaqi(r, item, dec(&inputs["conc"])).unwrap();
    match &expected["iaqi"] {
        Value::Number(n) => {
            let want = n.as_u64().unwrap() as u16;
            match got {
                IaqiOutcome::Index(i) => assert_eq!(i.value, want, "{id}"),
                other => panic!("{id}: expected {want}, got {other:?}"),
            }
        }
        Value::String(s) if s == "USE_SO2_24H" => {
            assert_eq!(got, IaqiOutcome::UseOther(Indicator::So2_24h), "{id}")
        }
        Value::String(s) if s == "USE_O3_1H" => {
            assert_eq!(got, IaqiOutcome::UseOther(Indicator::O3_1h), "{id}")
        }
        other => panic!("{id}: unexpected expectation {other}"),
    }
}

fn check_report(id: &str, report: &AqiReport, expected: &Value) {
    assert_eq!(
        u64::from(report.aqi.unwrap()),
        expected["aqi"].as_u64().unwrap(),
        "{id} aqi"
    );
    assert!(report.published, "{id} published");
    let want_iaqi = expected["iaqi"].as_object().unwrap();
    assert_eq!(
        report.entries().count(),
        want_iaqi.len(),
        "{id} entry count"
    );
    for (code, v) in want_iaqi {
        assert_eq!(
            report.iaqi(indicator(code)).map(u64::from),
            v.as_u64(),
            "{id} iaqi {code}"
        );
    }
    let codes = |v: &Value| -> Vec<Indicator> {
        let mut out: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|c| indicator(c.as_str().unwrap()))
            .collect();
        out.sort();
        out
    };
    let mut primary: Vec<_> = report.primary.iter().collect();
    primary.sort();
    assert_eq!(primary, codes(&expected["primary"]), "{id} primary");
    let level = report.level().unwrap();
    assert_eq!(
        u64::from(level.number()),
        expected["level"].as_u64().unwrap(),
        "{id} level"
    );
    assert_eq!(
        level.category(),
        expected["category"].as_str().unwrap(),
        "{id}"
    );
    assert_eq!(
        level.color_name(),
        expected["color"].as_str().unwrap(),
        "{id}"
    );
    match expected.get("exceed") {
        Some(want) => {
            assert_eq!(report.rules, AqiRules::Hj633_2012, "{id}");
            let mut got: Vec<_> = report.exceedance.iter().collect();
            got.sort();
            assert_eq!(got, codes(want), "{id} exceedance");
        }
        None => assert!(report.exceedance.is_empty(), "{id} exceedance under 2026"),
    }
}

#[test]
fn all_cases_pass() {
    let mut counts = (0, 0, 0);
    for line in CASES.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).unwrap();
        let id = case["id"].as_str().unwrap();
        let r = rules(&case);
        let inputs = &case["inputs"];
        let expected = &case["expected"];
        match case["kind"].as_str().unwrap() {
            "iaqi" => {
                check_iaqi_case(id, r, inputs, expected);
                counts.0 += 1;
            }
            "aqi_daily" => {
                let input = DailyInput {
                    so2: opt(inputs, "SO2_24H"),
                    no2: opt(inputs, "NO2_24H"),
                    co: opt(inputs, "CO_24H"),
                    pm10: opt(inputs, "PM10_24H"),
                    pm25: opt(inputs, "PM25_24H"),
                    o3_8h: opt(inputs, "O3_8H"),
                    o3_1h_max: opt(inputs, "O3_1H"),
                };
                check_report(id, &aqi::daily(r, &input).unwrap(), expected);
                counts.1 += 1;
            }
            "aqi_hourly" => {
                let input = HourlyInput {
                    so2: opt(inputs, "SO2_1H"),
                    no2: opt(inputs, "NO2_1H"),
                    co: opt(inputs, "CO_1H"),
                    o3: opt(inputs, "O3_1H"),
                    pm10: opt(inputs, "PM10_24H").or(opt(inputs, "PM10_1H")),
                    pm25: opt(inputs, "PM25_24H").or(opt(inputs, "PM25_1H")),
                    so2_24h: opt(inputs, "SO2_24H_AUX"),
                };
                check_report(id, &aqi::hourly(r, &input).unwrap(), expected);
                counts.2 += 1;
            }
            other => panic!("{id}: unknown kind {other}"),
        }
    }
    assert_eq!(counts, (108, 8, 2), "every case was run");
}

#[test]
fn level_boundaries_are_inclusive() {
    for (aqi, level) in [
        (0, 1),
        (50, 1),
        (51, 2),
        (100, 2),
        (101, 3),
        (150, 3),
        (151, 4),
        (200, 4),
        (201, 5),
        (300, 5),
        (301, 6),
        (500, 6),
    ] {
        assert_eq!(Level::of(aqi).number(), level, "AQI {aqi}");
    }
    assert_eq!(Level::of(80).color(), "#FFFF00");
    assert_eq!(Level::of(250).color(), "#99004C");
}
