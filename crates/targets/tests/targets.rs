//! Target arithmetic on constructed data with known answers.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use gongjian_standards::evaluation::{DailyRecord, HourRecord, PerPollutant, Pollutant};
use gongjian_targets::air::{self, Allowance, annual_mean_allowance};
use gongjian_targets::ranking::{Unit, rank_units};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// 24 identical hours per day for each day in `from..=to`, with the given
/// PM2.5 per day (`pm25(day)`), other pollutants low and constant.
fn hours(from: NaiveDate, to: NaiveDate, pm25: impl Fn(NaiveDate) -> Decimal) -> Vec<HourRecord> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        let v = pm25(d);
        for h in 1..=24 {
            let end: NaiveDateTime = d.and_hms_opt(0, 0, 0).unwrap() + Duration::hours(h);
            out.push(HourRecord {
                end,
                values: PerPollutant {
                    so2: Some(dec!(10)),
                    no2: Some(dec!(20)),
                    co: Some(dec!(0.5)),
                    o3: Some(dec!(50)),
                    pm10: Some(v * dec!(1.5)),
                    pm25: Some(v),
                },
            });
        }
        d = d.succ_opt().unwrap();
    }
    out
}

fn days(h: &[HourRecord]) -> Vec<DailyRecord> {
    air::station_days(h).unwrap()
}

#[test]
fn allowance_formula_exact() {
    // 100 valid days summing to 6000 (mean 60), 265 days left, target 62:
    // total days 365; reported mean ≤ 62 iff mean < 62.5 or = 62.5 (62 even).
    // max total = 62.5 · 365 = 22812.5 → 22812 (integer daily values),
    // remaining may add 22812 − 6000 = 16812 → 16812/265 = 63.44… → 63.4.
    let a = annual_mean_allowance(dec!(6000), 100, 265, dec!(62), 0);
    assert_eq!(
        a,
        Allowance::Remaining {
            days: 265,
            max_total: dec!(16812),
            max_average: dec!(63.4)
        }
    );
    // Odd target: 103 → the tie 103.5 rounds to 104, so strictly below.
    // n = 2: (2·103+1)·2/2 = 207 exactly → 206 max total.
    let a = annual_mean_allowance(dec!(100), 1, 1, dec!(103), 0);
    assert_eq!(
        a,
        Allowance::Remaining {
            days: 1,
            max_total: dec!(106),
            max_average: dec!(106)
        }
    );
    // Check by brute force: 100 and 106 → 103 (ok); 100 and 107 → 103.5 → 104.
    // Even target 62: 60 + 65 = 125 / 2 = 62.5 → 62 (ok): max total 65.
    let a = annual_mean_allowance(dec!(60), 1, 1, dec!(62), 0);
    assert!(matches!(a, Allowance::Remaining { max_total, .. } if max_total == dec!(65)));
    // Lost: 300 days at 80 = 24000; 65 days left; 62.5·365 = 22812 < 24000.
    assert_eq!(
        annual_mean_allowance(dec!(24000), 300, 65, dec!(62), 0),
        Allowance::Lost { days: 65 }
    );
    // Final.
    assert_eq!(
        annual_mean_allowance(dec!(22812), 365, 0, dec!(62), 0),
        Allowance::Final { met: true }
    );
    assert_eq!(
        annual_mean_allowance(dec!(22813), 365, 0, dec!(62), 0),
        Allowance::Final { met: false }
    );
}

#[test]
fn allowance_is_tight_by_brute_force() {
    // For small cases: the max total admits the target and +1 does not.
    for target in [dec!(3), dec!(4), dec!(62), dec!(103)] {
        for so_far_n in 0u32..4 {
            for days in 1u32..4 {
                let sum = Decimal::from(so_far_n) * target;
                if let Allowance::Remaining { max_total, .. } =
                    annual_mean_allowance(sum, so_far_n, days, target, 0)
                {
                    let n = Decimal::from(so_far_n + days);
                    let ok = |total: Decimal| {
                        gongjian_standards::exact::div_round_half_even(total, n, 0) <= target
                    };
                    assert!(ok(sum + max_total), "{target} {so_far_n} {days}");
                    assert!(
                        !ok(sum + max_total + Decimal::ONE),
                        "{target} {so_far_n} {days}"
                    );
                }
            }
        }
    }
}

#[test]
fn annual_mean_progress_from_hours() {
    // 2020 (leap year): 1 Jan – 31 Mar all PM2.5 = 70 except March = 40.
    // Jan 31 + Feb 29 days at 70, Mar 31 days at 40: 91 days, sum 4200 + 1240 = 5440.
    let h = hours(date(2020, 1, 1), date(2020, 3, 31), |d| {
        if d.format("%m").to_string() == "03" {
            dec!(40)
        } else {
            dec!(70)
        }
    });
    let station = days(&h);
    let region = air::region_days(&[&station]);
    let p = air::annual_mean(&region, Pollutant::Pm25, dec!(62), date(2020, 3, 31));
    assert_eq!(p.valid_days, 91);
    assert_eq!(p.sum, dec!(5440));
    assert_eq!(p.ytd, Some(dec!(60))); // 5440/91 = 59.78 → 60
    assert_eq!(p.current, Some(dec!(40)));
    assert_eq!(p.last_year, None);
    // remaining = 275 days (Apr 1 – Dec 31); n = 366; max total = 62.5·366 = 22875
    // → 22875 − 5440 = 17435 → /275 = 63.4
    assert_eq!(
        p.allowance,
        Allowance::Remaining {
            days: 275,
            max_total: dec!(17435),
            max_average: dec!(63.4)
        }
    );
    assert_eq!(p.on_track, Some(true));
    assert_eq!(p.rules.aqi, vec!["HJ 633-2012"]);
    assert_eq!(p.rules.limits, vec!["GB 3095-2012"]);
}

#[test]
fn two_stations_are_averaged_per_day() {
    let a = days(&hours(date(2020, 1, 1), date(2020, 1, 2), |_| dec!(60)));
    let b = days(&hours(date(2020, 1, 1), date(2020, 1, 2), |_| dec!(81)));
    let region = air::region_days(&[&a, &b]);
    // (60 + 81)/2 = 70.5 → 70 (half-even) each day.
    assert_eq!(region[0].value(Pollutant::Pm25), Some(dec!(70)));
    let p = air::annual_mean(&region, Pollutant::Pm25, dec!(62), date(2020, 1, 2));
    assert_eq!(p.ytd, Some(dec!(70)));
    assert_eq!(p.on_track, Some(false));
}

#[test]
fn good_days_and_allowed_polluted() {
    // 2021: Jan 1–10 PM2.5 50 (good), Jan 11–20 PM2.5 100 (IAQI 132: polluted).
    let h = hours(date(2021, 1, 1), date(2021, 1, 20), |d| {
        if d <= date(2021, 1, 10) {
            dec!(50)
        } else {
            dec!(100)
        }
    });
    let region = air::region_days(&[&days(&h)]);
    let g = air::good_days(&region, 226, date(2021, 1, 20));
    assert_eq!(g.ytd, 10);
    assert_eq!(g.polluted, 10);
    assert_eq!(g.undetermined, 0);
    assert_eq!(g.days_remaining, 345);
    // 10 + 345 − 226 = 129 days may still be polluted.
    assert_eq!(g.still_allowed_polluted, 129);
    // ratio 50 % projected on 365 days = 182.5 < 226: not on track.
    assert!(!g.on_track);
    assert_eq!(g.ratio, Some(dec!(50.0)));
}

#[test]
fn year_crossing_2026_03_01_uses_each_dates_rules() {
    // PM2.5 70 every day, Feb 27 – Mar 2 2026. Under HJ 633-2012 70 → IAQI 94
    // (良); under HJ 633-2026 70 → 110 (轻度污染). Feb days good, March polluted.
    let h = hours(date(2026, 2, 27), date(2026, 3, 2), |_| dec!(70));
    let region = air::region_days(&[&days(&h)]);
    assert_eq!(region.len(), 4);
    assert_eq!(region[1].aqi.aqi, Some(94)); // 28 Feb
    assert_eq!(region[2].aqi.aqi, Some(110)); // 1 Mar
    let g = air::good_days(&region, 226, date(2026, 3, 2));
    assert_eq!(g.ytd, 2);
    assert_eq!(g.polluted, 2);
    assert_eq!(g.rules.aqi, vec!["HJ 633-2012", "HJ 633-2026"]);
    assert_eq!(
        g.rules.limits,
        vec!["GB 3095-2012", "GB 3095-2026（过渡期）"]
    );
    assert_eq!(g.rules.evaluation, vec!["HJ 663-2013", "HJ 663-2026"]);
    let p = air::annual_mean(&region, Pollutant::Pm25, dec!(62), date(2026, 3, 2));
    assert_eq!(p.ytd, Some(dec!(70)));
    assert_eq!(p.rules.aqi.len(), 2);
}

const LAST_YEAR: air::HeavyBaseline = air::HeavyBaseline {
    year: 2019,
    stated: None,
};

#[test]
fn heavy_days_against_last_year() {
    // 2019: 3 heavy days (PM2.5 200 → IAQI 250); 2020: 1 so far.
    let mut h = hours(date(2019, 1, 1), date(2019, 12, 31), |d| {
        if d <= date(2019, 1, 3) {
            dec!(200)
        } else {
            dec!(30)
        }
    });
    h.extend(hours(date(2020, 1, 1), date(2020, 1, 2), |d| {
        if d == date(2020, 1, 1) {
            dec!(200)
        } else {
            dec!(30)
        }
    }));
    let region = air::region_days(&[&days(&h)]);
    let hd = air::heavy_days(&region, date(2020, 1, 2), LAST_YEAR);
    assert_eq!(hd.ytd, 1);
    assert_eq!(hd.last_year, 2); // same period: 1–2 January 2019
    assert_eq!(hd.baseline_total, Some(3));
    assert_eq!(hd.still_allowed, Some(1));
    assert_eq!(hd.on_track, Some(true));
}

/// Regression: after a clean year the dashboard showed "< 0 天, 滞后" with
/// no heavy day this year; the target is then to stay at none.
#[test]
fn heavy_days_after_a_year_without_any() {
    let mut h = hours(date(2019, 1, 1), date(2019, 12, 31), |_| dec!(30));
    h.extend(hours(date(2020, 1, 1), date(2020, 1, 2), |_| dec!(30)));
    let region = air::region_days(&[&days(&h)]);
    let hd = air::heavy_days(&region, date(2020, 1, 2), LAST_YEAR);
    assert_eq!(hd.baseline_total, Some(0));
    assert_eq!(hd.still_allowed, Some(0));
    assert_eq!(hd.on_track, Some(true));
}

/// Regression (issue 12): with only last December on file the demo showed
/// "≤ 0 天 · 正常"; a year that GB 3095 would not count is no baseline.
#[test]
fn heavy_days_without_a_complete_baseline_year() {
    let mut h = hours(date(2019, 12, 1), date(2019, 12, 31), |_| dec!(30));
    h.extend(hours(date(2020, 1, 1), date(2020, 1, 2), |_| dec!(200)));
    let region = air::region_days(&[&days(&h)]);
    let hd = air::heavy_days(&region, date(2020, 1, 2), LAST_YEAR);
    assert_eq!(hd.ytd, 2);
    assert_eq!(hd.baseline_total, None);
    assert_eq!(hd.still_allowed, None);
    assert_eq!(hd.on_track, None);
}

/// A plan's stated baseline (`baseline = { year = 2019, value = 5 }`) is
/// used as written, even when the year's data would give another figure
/// or none at all.
#[test]
fn heavy_days_against_a_stated_baseline() {
    let h = hours(date(2020, 1, 1), date(2020, 1, 2), |d| {
        if d == date(2020, 1, 1) {
            dec!(200)
        } else {
            dec!(30)
        }
    });
    let region = air::region_days(&[&days(&h)]);
    let stated = air::HeavyBaseline {
        year: 2019,
        stated: Some(5),
    };
    let hd = air::heavy_days(&region, date(2020, 1, 2), stated);
    assert_eq!(hd.baseline_total, Some(5));
    assert!(hd.baseline_stated);
    assert_eq!(hd.still_allowed, Some(3)); // fewer than 5: at most 4, 1 used
    assert_eq!(hd.on_track, Some(true));
    // A baseline year further back is counted from its own days, and the
    // same-period comparison with last year no longer decides.
    let mut h = hours(date(2018, 1, 1), date(2018, 12, 31), |d| {
        if d <= date(2018, 1, 4) {
            dec!(200)
        } else {
            dec!(30)
        }
    });
    h.extend(hours(date(2020, 1, 1), date(2020, 1, 2), |_| dec!(200)));
    let region = air::region_days(&[&days(&h)]);
    let y2018 = air::HeavyBaseline {
        year: 2018,
        stated: None,
    };
    let hd = air::heavy_days(&region, date(2020, 1, 2), y2018);
    assert_eq!(hd.baseline_total, Some(4));
    assert!(!hd.baseline_stated);
    assert_eq!(hd.still_allowed, Some(1));
    assert_eq!(hd.on_track, Some(true));
}

#[test]
fn ranking_with_ties_and_change_rate() {
    // Three stations, January 2020 vs January 2019.
    let mk = |y2019: Decimal, y2020: Decimal| {
        let mut h = hours(date(2019, 1, 1), date(2019, 1, 31), |_| y2019);
        h.extend(hours(date(2020, 1, 1), date(2020, 1, 31), |_| y2020));
        days(&h)
    };
    let a = mk(dec!(70), dec!(35));
    let b = mk(dec!(35), dec!(35));
    let c = mk(dec!(35), dec!(70));
    let units = [
        Unit {
            name: "A".into(),
            days: &a,
        },
        Unit {
            name: "B".into(),
            days: &b,
        },
        Unit {
            name: "C".into(),
            days: &c,
        },
    ];
    let r = rank_units(&units, date(2020, 1, 1), date(2020, 1, 31));
    // Index: SO2 10/60 + NO2 20/40 + CO 0.5/4 + O3 p90(max8h 50)/160 + PM10/70 + PM2.5/35.
    // With PM2.5 35, PM10 52.5 → daily mean 52 (half-even) … computed by the engine;
    // A and B equal → rank 1 (tie), C → rank 3.
    let by = |n: &str| r.rows.iter().find(|x| x.name == n).unwrap().clone();
    assert_eq!(by("A").rank, Some(1));
    assert_eq!(by("B").rank, Some(1));
    assert_eq!(by("C").rank, Some(3));
    assert_eq!(by("A").index, by("B").index);
    // B unchanged → 0.0 %; A improved (negative) ranks first by change.
    assert_eq!(by("B").change_rate, Some(dec!(0.0)));
    assert!(by("A").change_rate.unwrap() < Decimal::ZERO);
    assert!(by("C").change_rate.unwrap() > Decimal::ZERO);
    assert_eq!(by("A").change_rank, Some(1));
    assert_eq!(by("B").change_rank, Some(2));
    assert_eq!(by("C").change_rank, Some(3));
    // The exact index of B: 10/60 + 20/40 + 0.5/4 + 50/160 + 52/70 + 35/35
    // = 0.1667 + 0.5 + 0.125 + 0.3125 + 0.7429 + 1 = 2.847 → 2.85.
    assert_eq!(by("B").index, Some(dec!(2.85)));
}

#[test]
fn import_parse_keeps_good_rows_and_reports_bad_ones() {
    let csv = "station,time,so2,no2,co,o3,pm10,pm25\n\
               1001A,2020-01-01 01:00,10,20,0.5,50,80,60\n\
               1001A,2020-01-01 02:00,10,x,0.5,50,80,60\n\
               1001A,2020-01-01 2:30,10,20,0.5,50,80,60\n\
               ,2020-01-01 03:00,10,20,0.5,50,80,60\n\
               1001A,2020-01-01 01:00,1,2,0.1,5,8,6\n\
               1002A,2020-01-01 24:00,,,,,,-1\n\
               1002A,2020-01-01 23:00,,,,,,\n";
    let table = gongjian_tabular::read_csv_bytes("a.csv", csv.as_bytes()).unwrap();
    let p = gongjian_targets::import::parse_air(&table).unwrap();
    assert_eq!(p.hours.len(), 2);
    assert_eq!(p.stations(), vec!["1001A", "1002A"]);
    let r: Vec<(u64, &str)> = p
        .rejected
        .iter()
        .map(|r| (r.line, r.column.as_str()))
        .collect();
    assert_eq!(
        r,
        vec![
            (3, "no2"),
            (4, "time"),
            (5, "station"),
            (6, "time"),
            (7, "pm25")
        ]
    );
    assert!(
        p.rejected[0]
            .to_string()
            .starts_with("a.csv:3: column `no2`")
    );
    let bad = gongjian_tabular::read_csv_bytes("b.csv", b"station,when,pm25\n").unwrap();
    assert!(gongjian_targets::import::parse_air(&bad).is_err());
}

/// Issue 13 item 14: a platform export with Chinese headers — station code
/// and name, 监测时间, units in the headers (μ or u), descriptive columns
/// (城市, AQI, 首要污染物, O3-8h) — is read like the `evaluate air`
/// layout, the code naming the station; a bad row is reported with every
/// problem it has, not only the first.
#[test]
fn chinese_headers_are_read_and_every_problem_of_a_row_is_reported() {
    let csv = "城市,区县,站点名称,站点编码,监测时间,SO2(μg/m³),NO2（μg/m3）,CO(mg/m³),O3-1h(ug/m³),O3-8h,PM10(μg/m³),PM2.5(μg/m³),AQI,首要污染物,质量级别\n\
               新乡市,平原示范区,原武镇站,1001A,2020/3/10 8:00,10,20,0.5,50,60,80,60,81,PM2.5,良\n\
               新乡市,平原示范区,原武镇站,1001A,2020-03-10 09:00,x,20,-3,50,60,80,甲,81,PM2.5,良\n\
               新乡市,平原示范区,,,昨天,10,20,0.5,50,60,80,60,81,PM2.5,良\n";
    let table = gongjian_tabular::read_csv_bytes("省平台导出.csv", csv.as_bytes()).unwrap();
    let p = gongjian_targets::import::parse_air(&table).unwrap();
    assert_eq!(p.hours.len(), 1);
    assert_eq!(p.stations(), vec!["1001A"]);
    let h = &p.hours[0];
    assert_eq!(h.end.to_string(), "2020-03-10 08:00:00");
    assert_eq!(h.values.so2, Some(dec!(10)));
    assert_eq!(h.values.no2, Some(dec!(20)));
    assert_eq!(h.values.co, Some(dec!(0.5)));
    assert_eq!(h.values.o3, Some(dec!(50)));
    assert_eq!(h.values.pm10, Some(dec!(80)));
    assert_eq!(h.values.pm25, Some(dec!(60)));
    assert_eq!(p.rejected.len(), 2, "one entry per rejected row");
    let columns = |i: usize| -> Vec<&str> {
        p.rejected[i]
            .problems
            .iter()
            .map(|(c, _)| c.as_str())
            .collect()
    };
    assert_eq!(p.rejected[0].line, 3);
    assert_eq!(
        columns(0),
        ["SO2(μg/m³)", "CO(mg/m³)", "PM2.5(μg/m³)"],
        "{}",
        p.rejected[0]
    );
    assert!(p.rejected[0].message.contains("不是有效数字"));
    assert!(p.rejected[0].message.contains("浓度不能为负"));
    assert_eq!(p.rejected[1].line, 4);
    assert_eq!(columns(1), ["站点编码", "监测时间"], "{}", p.rejected[1]);

    // Only a name column: the name is the station; a GBK file reads the same.
    let csv = "监测点位,时间,PM2.5,PM10\n原武镇站,2020-03-10 08:00,35,50\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv);
    let table = gongjian_tabular::read_csv_bytes("gbk.csv", &gbk).unwrap();
    let p = gongjian_targets::import::parse_air(&table).unwrap();
    assert!(p.rejected.is_empty(), "{:?}", p.rejected);
    assert_eq!(p.stations(), vec!["原武镇站"]);
    assert_eq!(p.hours[0].values.pm25, Some(dec!(35)));

    // A column that is none of these is still refused, in Chinese.
    let bad = gongjian_tabular::read_csv_bytes("c.csv", "站点名称,时间,风速\n".as_bytes()).unwrap();
    let e = gongjian_targets::import::parse_air(&bad).unwrap_err();
    assert!(e.to_string().contains("未知列“风速”"), "{e}");
}

/// Station days of `from..=to` without the days in `gaps`.
fn days_without(
    from: NaiveDate,
    to: NaiveDate,
    pm25: Decimal,
    gaps: &[NaiveDate],
) -> Vec<DailyRecord> {
    days(&hours(from, to, |_| pm25))
        .into_iter()
        .filter(|d| !gaps.contains(&d.date))
        .collect()
}

#[test]
fn units_without_the_coverage_of_hj_663_are_not_ranked() {
    use gongjian_targets::ranking::{INSUFFICIENT, has_coverage};
    let jan = |d| date(2020, 1, d);
    // A: every day; B: 27 of 31 (the least a month may have);
    // C: 26 of 31; D: one very clean day (a phantom station from a typo).
    let a = days_without(jan(1), jan(31), dec!(50), &[]);
    let b = days_without(jan(1), jan(31), dec!(40), &[jan(2), jan(3), jan(4), jan(5)]);
    let c = days_without(
        jan(1),
        jan(31),
        dec!(20),
        &[jan(2), jan(3), jan(4), jan(5), jan(6)],
    );
    let d = days_without(jan(31), jan(31), dec!(5), &[]);
    let units: Vec<Unit<'_>> = [("A", &a), ("B", &b), ("C", &c), ("D", &d)]
        .into_iter()
        .map(|(n, days)| Unit {
            name: n.into(),
            days,
        })
        .collect();
    let r = rank_units(&units, jan(1), jan(31));
    let by = |n: &str| r.rows.iter().find(|x| x.name == n).unwrap().clone();
    assert_eq!(by("B").rank, Some(1));
    assert_eq!(by("A").rank, Some(2));
    for n in ["C", "D"] {
        let row = by(n);
        assert!(!row.sufficient, "{n}");
        assert_eq!(row.rank, None, "{n}");
        assert_eq!(row.change_rank, None, "{n}");
        assert_eq!(row.rank_text(), INSUFFICIENT);
        // Its figures are still shown.
        assert!(row.index.is_some(), "{n}");
    }
    assert_eq!(by("A").rank_text(), "2");
    // Ranked units first; the others after, by name.
    let names: Vec<&str> = r.rows.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["B", "A", "C", "D"]);

    // February: 25 valid days (of 29 in 2020) suffice, 24 do not.
    let feb = |d| date(2020, 2, d);
    let f25 = days_without(feb(1), feb(29), dec!(50), &[feb(1), feb(2), feb(3), feb(4)]);
    let f24 = days_without(
        feb(1),
        feb(29),
        dec!(50),
        &[feb(1), feb(2), feb(3), feb(4), feb(5)],
    );
    assert!(has_coverage(&f25, feb(1), feb(29)));
    assert!(!has_coverage(&f24, feb(1), feb(29)));
    // In 2021 (28 days) 25 valid days suffice: 3 may be missing.
    let feb21 = |d| date(2021, 2, d);
    let g = days_without(
        feb21(1),
        feb21(28),
        dec!(50),
        &[feb21(1), feb21(2), feb21(3)],
    );
    assert!(has_coverage(&g, feb21(1), feb21(28)));

    // Year to date through 15 March: January and February whole months (27,
    // 25), March still running may have missed no more than a 31-day month
    // may miss in all (4).
    let ytd = days_without(date(2020, 1, 1), date(2020, 3, 15), dec!(50), &[]);
    let gaps4: Vec<NaiveDate> = (1..=4).map(|d| date(2020, 3, d)).collect();
    let gaps5: Vec<NaiveDate> = (1..=5).map(|d| date(2020, 3, d)).collect();
    let ok = |gaps: &[NaiveDate]| {
        let v: Vec<DailyRecord> = ytd
            .iter()
            .filter(|d| !gaps.contains(&d.date))
            .cloned()
            .collect();
        has_coverage(&v, date(2020, 1, 1), date(2020, 3, 15))
    };
    assert!(ok(&[]));
    assert!(ok(&gaps4));
    assert!(!ok(&gaps5));
    // A January with 26 days fails the year to date whatever came later.
    let mut jan_gaps: Vec<NaiveDate> = (2..=6).map(|d| date(2020, 1, d)).collect();
    assert!(!ok(&jan_gaps));
    jan_gaps.pop();
    assert!(ok(&jan_gaps));
    // A whole year needs 324 days as well: every month at its least (27,
    // February 25) gives 322.
    let year = days_without(date(2019, 1, 1), date(2019, 12, 31), dec!(50), &[]);
    let least: Vec<DailyRecord> = year
        .iter()
        .filter(|d| d.date.day() <= if d.date.month() == 2 { 25 } else { 27 })
        .cloned()
        .collect();
    assert_eq!(least.len(), 322);
    assert!(!has_coverage(&least, date(2019, 1, 1), date(2019, 12, 31)));
    assert!(has_coverage(&year, date(2019, 1, 1), date(2019, 12, 31)));
}
