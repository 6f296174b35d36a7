//! Issue 13 item 14: the national real-time publication (one file per
//! hour), the china_sites wide daily file, and the bounded report of every
//! problem of a rejected row. Fixtures in tests/data.

use chrono::NaiveDateTime;
use gongjian_standards::evaluation::{PerPollutant, parse_hour_end};
use gongjian_tabular::{Encoding, read_csv_bytes};
use gongjian_targets::import::{
    Layout, MAX_PROBLEMS, MAX_QUOTE, ParsedFile, ParsedHour, parse_air,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const NATIONAL_2022: &str = include_str!("data/national_hourly_2022031008.csv");
const NATIONAL_2026: &str = include_str!("data/national_hourly_2026031008.csv");
const CHINA_SITES: &str = include_str!("data/china_sites_20220310.csv");

fn parse(file: &str, bytes: &[u8]) -> ParsedFile {
    let table = read_csv_bytes(file, bytes).unwrap();
    parse_air(&table).unwrap()
}

fn end(s: &str) -> NaiveDateTime {
    parse_hour_end(s).unwrap()
}

/// A station-hour; values in the order SO₂, NO₂, CO, O₃, PM10, PM2.5.
fn hour(station: &str, at: &str, v: [Option<Decimal>; 6], line: u64) -> ParsedHour {
    ParsedHour {
        station: station.into(),
        end: end(at),
        values: PerPollutant {
            so2: v[0],
            no2: v[1],
            co: v[2],
            o3: v[3],
            pm10: v[4],
            pm25: v[5],
        },
        line,
    }
}

fn expected_2022() -> Vec<ParsedHour> {
    let at = "2022-03-10 08:00";
    vec![
        // o3 = 96 is the maximum of the last 24 h; o3_24h = 18 the hour.
        hour(
            "1017A",
            at,
            [
                Some(dec!(6)),
                Some(dec!(52)),
                Some(dec!(1.1)),
                Some(dec!(18)),
                Some(dec!(102)),
                Some(dec!(89)),
            ],
            2,
        ),
        // Empty pm10, so2, co: no value, not 0.
        hour(
            "1018A",
            at,
            [
                None,
                Some(dec!(48)),
                None,
                Some(dec!(22)),
                None,
                Some(dec!(79)),
            ],
            3,
        ),
        // o3_24h empty: no ozone for the hour, never the day's maximum (74).
        hour(
            "1783A",
            at,
            [
                Some(dec!(9)),
                Some(dec!(27)),
                Some(dec!(0.5)),
                None,
                Some(dec!(38)),
                Some(dec!(21)),
            ],
            4,
        ),
        // The hour is the day's maximum: o3 = o3_24h.
        hour(
            "1784A",
            at,
            [
                Some(dec!(8)),
                Some(dec!(19)),
                Some(dec!(0.4)),
                Some(dec!(64)),
                Some(dec!(72)),
                Some(dec!(29)),
            ],
            5,
        ),
    ]
}

#[test]
fn national_hourly_2022_takes_the_current_ozone_from_o3_24h() {
    let p = parse("national_hourly_2022031008.csv", NATIONAL_2022.as_bytes());
    assert_eq!(p.layout, Layout::NationalHourly);
    assert!(p.rejected.is_empty(), "{:?}", p.rejected);
    assert_eq!(p.hours, expected_2022());
    assert_eq!(p.stations(), ["1017A", "1018A", "1783A", "1784A"]);
}

#[test]
fn national_hourly_2022_in_gbk_reads_the_same() {
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(NATIONAL_2022);
    assert!(!unmappable);
    let table = read_csv_bytes("national_hourly_2022031008.csv", &gbk).unwrap();
    assert_eq!(table.encoding(), Encoding::Gbk);
    assert_eq!(table.row(0).get(4), "天津市");
    let p = parse_air(&table).unwrap();
    assert!(p.rejected.is_empty(), "{:?}", p.rejected);
    assert_eq!(p.hours, expected_2022());
}

#[test]
fn national_hourly_2026_reads_na_and_slash_as_no_value() {
    let at = "2026-03-10 08:00";
    let expected = vec![
        hour(
            "1017A",
            at,
            [
                Some(dec!(5)),
                Some(dec!(45)),
                Some(dec!(0.9)),
                Some(dec!(24)),
                Some(dec!(85)),
                Some(dec!(73)),
            ],
            2,
        ),
        // pm10 NA, ozone / (not monitored): no value; the derived columns'
        // NA are read past.
        hour(
            "1783A",
            at,
            [
                Some(dec!(7)),
                Some(dec!(33)),
                Some(dec!(0.6)),
                None,
                None,
                Some(dec!(31)),
            ],
            3,
        ),
        hour(
            "1784A",
            at,
            [
                Some(dec!(6)),
                None,
                None,
                Some(dec!(56)),
                Some(dec!(41)),
                None,
            ],
            4,
        ),
    ];
    let p = parse("national_hourly_2026031008.csv", NATIONAL_2026.as_bytes());
    assert_eq!(p.layout, Layout::NationalHourly);
    assert!(p.rejected.is_empty(), "{:?}", p.rejected);
    assert_eq!(p.hours, expected);
    // The `T` form of timepoint is the same hour end as the space form.
    assert_eq!(p.hours[0].end, end("2026-03-10 08:00:00"));
    // With a byte-order mark (Excel's "CSV UTF-8"): the same.
    let bom = format!("\u{feff}{NATIONAL_2026}");
    assert_eq!(parse("bom.csv", bom.as_bytes()).hours, expected);
}

#[test]
fn national_hourly_ozone_below_the_running_maximum_is_rejected_not_guessed() {
    // 1017A: o3 (12) < o3_24h (40) fits neither the 2022 nor the 2026 kind.
    let header = NATIONAL_2022.lines().next().unwrap();
    let csv = format!(
        "{header}\n\
         2022-03-10 08:00:00,1017A,117.1,39.1,天津市,河西区站,,50,40,40,20,20,12,40,30,30,20,20,5,5,0.5,0.5\n\
         2022-03-10 08:00:00,1018A,117.2,39.0,天津市,南京路站,,50,40,40,20,20,40,12,30,30,20,20,5,5,0.5,0.5\n"
    );
    let p = parse("o3.csv", csv.as_bytes());
    assert_eq!(p.stations(), ["1018A"]);
    assert_eq!(p.hours[0].values.o3, Some(dec!(12)));
    assert_eq!(p.rejected.len(), 1);
    let r = &p.rejected[0];
    assert_eq!(r.line, 2);
    assert_eq!(r.column, "o3");
    assert!(r.message.contains("无法判断哪一列是当前小时臭氧"), "{r}");

    // `o3` without `o3_24h`: the current hour cannot be had at all.
    let csv = "timepoint,stationcode,o3,pm2_5\n2022-03-10 08:00:00,1017A,96,89\n";
    let table = read_csv_bytes("no_o3_24h.csv", csv.as_bytes()).unwrap();
    let e = parse_air(&table).unwrap_err();
    assert!(e.to_string().contains("没有 o3_24h 列"), "{e}");
}

#[test]
fn a_row_with_three_problems_lists_all_three() {
    let header = NATIONAL_2022.lines().next().unwrap();
    let csv = format!(
        "{header}\n\
         2022-03-10 08:30:00,1017A,117.1,39.1,天津市,河西区站,,50,40,40,abc,20,30,30,30,30,20,20,-3,5,0.5,0.5\n\
         2022-03-10 08:00:00,1018A,117.2,39.0,天津市,南京路站,,50,40,40,20,20,30,30,30,30,20,20,5,5,0.5,0.5\n"
    );
    let p = parse("bad.csv", csv.as_bytes());
    assert_eq!(p.stations(), ["1018A"]);
    assert_eq!(p.rejected.len(), 1);
    let r = &p.rejected[0];
    let columns: Vec<&str> = r.problems.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(columns, ["timepoint", "so2", "pm2_5"], "{r}");
    assert_eq!(r.column, "timepoint、so2、pm2_5");
    assert!(
        r.message
            .contains("timepoint：“2022-03-10 08:30:00”不是小时结束时间"),
        "{r}"
    );
    assert!(r.message.contains("so2：-3 为负值"), "{r}");
    assert!(r.message.contains("pm2_5：“abc”不是有效数字"), "{r}");
    assert!(
        r.to_string()
            .starts_with("bad.csv:2: column `timepoint、so2、pm2_5`")
    );
}

#[test]
fn a_hostile_row_is_reported_within_bounds() {
    // A long cell: quoted to MAX_QUOTE characters.
    let huge = "甲".repeat(20_000);
    let csv = format!("station,time,pm25\n1001A,2020-01-01 01:00,{huge}\n");
    let p = parse("huge.csv", csv.as_bytes());
    let r = &p.rejected[0];
    assert!(
        r.message.chars().count() < MAX_QUOTE + 40,
        "{}",
        r.message.len()
    );
    assert!(
        r.message
            .contains(&format!("“{}…”", "甲".repeat(MAX_QUOTE)))
    );

    // A wide row with 30 bad cells: MAX_PROBLEMS listed, the rest counted.
    let codes: Vec<String> = (0..30).map(|i| format!("{:04}A", 1001 + i)).collect();
    let cells = vec![huge.as_str(); 30];
    let csv = format!(
        "date,hour,type,{}\n20220310,1,PM2.5,{}\n",
        codes.join(","),
        cells.join(",")
    );
    let p = parse("wide.csv", csv.as_bytes());
    assert!(p.hours.is_empty());
    let r = &p.rejected[0];
    assert_eq!(r.problems.len(), MAX_PROBLEMS);
    assert!(
        r.message.ends_with("；另有 20 个问题未列出"),
        "{}",
        r.message
    );
    assert!(r.column.ends_with("1010A等"), "{}", r.column);
    assert!(r.message.chars().count() < MAX_PROBLEMS * (MAX_QUOTE + 60));
}

#[test]
fn china_sites_wide_file_gives_the_station_hours() {
    let p = parse("china_sites_20220310.csv", CHINA_SITES.as_bytes());
    assert_eq!(p.layout, Layout::NationalWide);
    // Hour 0 of 10 March ends at 00:00 of 10 March: `24:00` of the 9th.
    let at = "2022-03-09 24:00";
    assert_eq!(end(at), end("2022-03-10 00:00"));
    let expected = vec![
        // O3_24h (12) is the hour, O3 (90) the maximum of the last 24 h.
        hour(
            "1017A",
            at,
            [
                Some(dec!(7)),
                Some(dec!(55)),
                Some(dec!(1.2)),
                Some(dec!(12)),
                Some(dec!(110)),
                Some(dec!(91)),
            ],
            3,
        ),
        hour(
            "1783A",
            at,
            [
                Some(dec!(9)),
                Some(dec!(30)),
                Some(dec!(0.6)),
                None,
                Some(dec!(58)),
                Some(dec!(35)),
            ],
            3,
        ),
        hour(
            "1784A",
            at,
            [
                Some(dec!(8)),
                Some(dec!(22)),
                Some(dec!(0.5)),
                Some(dec!(60)),
                Some(dec!(70)),
                None,
            ],
            5,
        ),
    ];
    // Hour 1: 1017A's O3 below its O3_24h and 1783A's bad PM10 reject
    // those station-hours; 1784A has no value at all: no hour.
    assert_eq!(p.hours, expected);
    let rejected: Vec<(u64, &str)> = p
        .rejected
        .iter()
        .map(|r| (r.line, r.column.as_str()))
        .collect();
    assert_eq!(rejected, [(20, "1783A"), (26, "1017A")]);
    assert!(p.rejected[0].message.contains("“abc”不是有效数字"));
    assert!(p.rejected[0].message.contains("该站这一小时未导入"));
    assert!(
        p.rejected[1]
            .message
            .contains("O3 为 10，小于 O3_24h 的 15")
    );
}

#[test]
fn china_sites_rows_with_a_bad_date_hour_or_type_list_every_problem() {
    let csv = "date,hour,type,1017A,1783A\n\
               20220310,3,PM2.5,40,41\n\
               2022031,24,PM1,x,42\n\
               20220310,3,PM2.5,40,41\n\
               20220310,3,pm10,60,\n";
    let p = parse("bad_wide.csv", csv.as_bytes());
    let by_line = |line: u64| p.rejected.iter().find(|r| r.line == line).unwrap();
    let columns = |line: u64| -> Vec<String> {
        by_line(line)
            .problems
            .iter()
            .map(|(c, _)| c.clone())
            .collect()
    };
    assert_eq!(columns(3), ["date", "hour", "type"], "{}", by_line(3));
    assert_eq!(columns(4), ["type"], "{}", by_line(4));
    assert!(by_line(4).message.contains("重复"));
    assert_eq!(p.rejected.len(), 2);
    // Line 2 and line 5 (the type in lower case) make the hour.
    assert_eq!(p.hours.len(), 2);
    assert_eq!(p.hours[0].values.pm25, Some(dec!(40)));
    assert_eq!(p.hours[0].values.pm10, Some(dec!(60)));
    assert_eq!(p.hours[1].values.pm10, None);
    assert_eq!(p.hours[0].end, end("2022-03-10 03:00"));
}
