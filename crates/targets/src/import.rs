//! Parsing an air-station file into station-hours, keeping every rejected
//! row with its file, line and column. Pure: the caller reads the file into
//! a [`Table`] (CSV in UTF-8, UTF-8 with BOM or GBK, or XLSX) and stores the
//! result.
//!
//! Three layouts, recognised by their header ([`Layout`]; described in
//! docs/targets.md):
//!
//! * [`Layout::Long`]: the `evaluate air` layout
//!   (`station,time,so2,no2,co,o3,pm10,pm25`) and the provincial and city
//!   platform exports with Chinese headers, one row per station and hour.
//! * [`Layout::NationalHourly`]: the national real-time publication, one
//!   file per hour (`timepoint, stationcode, …, o3, o3_24h, …`).
//! * [`Layout::NationalWide`]: the wide daily file of the same archive
//!   (`china_sites_YYYYMMDD.csv`: `date,hour,type,<station code>,…`).
//!
//! Times are the hour's END in Beijing time (CST), as
//! [`evaluation::parse_hour_end`] reads them (`24:00` = midnight of the next
//! day). A missing value is `None`, never 0.
//!
//! The input is hostile: a rejected row lists at most [`MAX_PROBLEMS`]
//! problems and quotes at most [`MAX_QUOTE`] characters of any cell or
//! header.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use gongjian_standards::evaluation::{self, PerPollutant, Pollutant};
use gongjian_tabular::Table;
use rust_decimal::Decimal;
use serde::Serialize;

/// Recognised columns, in file-layout order.
pub const COLUMNS: [&str; 8] = ["station", "time", "so2", "no2", "co", "o3", "pm10", "pm25"];

/// At most this many problems of one row are listed; the others are
/// counted (a wide row has a cell per station, ~1,600 of them).
pub const MAX_PROBLEMS: usize = 10;

/// Quoted cell text and column names are cut to this many characters.
pub const MAX_QUOTE: usize = 40;

/// Marks of "no value" in the national files: empty (2022), `NA` missing
/// and `/` not monitored (2026, HJ 633-2026 notation).
const NATIONAL_MISSING: [&str; 3] = ["", "NA", "/"];

/// Hours one wide file may hold: a china_sites file is one day (24 hours),
/// a month of them pasted together still fits. Bounds the memory a hostile
/// file can claim (one slot per station and hour).
const MAX_WIDE_HOURS: usize = 24 * 31;

/// A whole-file problem (bad header).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// The layout of a file, recognised by its header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// One row per station and hour: the `evaluate air` layout or a
    /// provincial / city platform export with Chinese headers.
    #[default]
    Long,
    /// The national real-time publication, one file per hour: a header
    /// with `timepoint` and `stationcode`.
    NationalHourly,
    /// `china_sites_YYYYMMDD.csv`: `date,hour,type`, then one column per
    /// station code, one row per hour and type.
    NationalWide,
}

/// One accepted station-hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedHour {
    /// Station code as written.
    pub station: String,
    /// End of the hour, local time (CST).
    pub end: NaiveDateTime,
    /// 1-h means (µg/m³; CO mg/m³).
    pub values: PerPollutant<Option<Decimal>>,
    /// Source line.
    pub line: u64,
}

/// A rejected row, with every problem found in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// File name as given.
    pub file: String,
    /// 1-based line (Excel row for XLSX).
    pub line: u64,
    /// The column (header as written) of each problem, joined by "、".
    pub column: String,
    /// What is wrong: each problem, joined by "；" (with its column when
    /// there are several).
    pub message: String,
    /// Each problem of the row: (column as written, what is wrong); at most
    /// [`MAX_PROBLEMS`], the message counts the others.
    pub problems: Vec<(String, String)>,
}

/// The problems of one row as they are found: the first [`MAX_PROBLEMS`]
/// kept, the others only counted.
#[derive(Debug, Default)]
struct Problems {
    list: Vec<(String, String)>,
    more: usize,
}

impl Problems {
    fn push(&mut self, column: &str, message: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push((clip(column).into_owned(), message));
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl Rejected {
    fn of(file: &str, line: u64, problems: Problems) -> Rejected {
        let Problems { list, more } = problems;
        let mut column = list
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>()
            .join("、");
        let mut message = if list.len() == 1 && more == 0 {
            list[0].1.clone()
        } else {
            list.iter()
                .map(|(c, m)| format!("{c}：{m}"))
                .collect::<Vec<_>>()
                .join("；")
        };
        if more > 0 {
            column.push('等');
            message.push_str(&format!("；另有 {more} 个问题未列出"));
        }
        Rejected {
            file: file.to_owned(),
            line,
            column,
            message,
            problems: list,
        }
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: column `{}`: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// The parse of a file.
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    /// Accepted hours.
    pub hours: Vec<ParsedHour>,
    /// Rejected rows, in line order.
    pub rejected: Vec<Rejected>,
    /// The layout recognised.
    pub layout: Layout,
}

impl ParsedFile {
    /// Distinct station codes, in order of first appearance.
    pub fn stations(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.hours
            .iter()
            .filter(|h| seen.insert(h.station.as_str()))
            .map(|h| h.station.clone())
            .collect()
    }
}

/// Text of a hostile cell or header fit to quote in a message: at most
/// [`MAX_QUOTE`] characters (then "…"), control and bidirectional-override
/// characters replaced (they could rewrite a terminal or reorder the
/// message around them).
fn clip(s: &str) -> Cow<'_, str> {
    gongjian_tabular::quote(s, MAX_QUOTE)
}

/// A concentration cell: `Ok(None)` for a mark of no value, the problem
/// otherwise (quoted text clipped).
fn value(text: &str, missing: &[&str]) -> Result<Option<Decimal>, String> {
    if missing.contains(&text) {
        return Ok(None);
    }
    match text.parse::<Decimal>() {
        Err(_) => Err(format!("“{}”不是有效数字 (not a number)", clip(text))),
        Ok(v) if v.is_sign_negative() && !v.is_zero() => {
            Err(format!("{v} 为负值，浓度不能为负 (negative)"))
        }
        Ok(v) => Ok(Some(v)),
    }
}

/// The ozone check of the national files (both layouts).
///
/// In the 2022 files `o3` holds the maximum 1-h value of the last 24 hours
/// and `o3_24h` the current hour (swapped against every other pollutant,
/// whose `x` is the current hour and `x_24h` the 24-h mean); in the 2026
/// files the two are equal. So the current 1-h O₃ is `o3_24h` in both,
/// whatever the year: no cut-over date is needed (none is documented, and a
/// year rule would misread a file of the other kind). When `o3_24h` has no
/// value the hour has no O₃, even when `o3` has one (in a 2022 file that is
/// the maximum of the day, not the hour).
///
/// `o3` is read only to check the file is one of these two kinds: a maximum
/// of the last 24 hours is never below the current hour, so `o3` < `o3_24h`
/// fits neither and the station-hour is rejected rather than guessed.
fn ozone_problem(max: Decimal, current: Decimal, max_column: &str, current_column: &str) -> String {
    format!(
        "{max_column} 为 {max}，小于 {current_column} 的 {current}：过去 24 小时最大值不会低于当前小时值，无法判断哪一列是当前小时臭氧",
        max_column = clip(max_column),
        current_column = clip(current_column),
    )
}

/// What a header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    /// Index into [`COLUMNS`].
    Column(usize),
    /// A column of the platform exports that is derived or descriptive
    /// (城市, AQI, 首要污染物, O3-8h, the national `*_24h` …): read past.
    Ignored,
    /// `o3` of the national hourly file: checked against `o3_24h`, not
    /// imported (see [`ozone_problem`]).
    O3Max,
}

/// The header as a key: units in brackets dropped (`PM2.5(μg/m³)`), spaces
/// removed, subscript digits made plain, lower case.
fn header_key(h: &str) -> String {
    let mut out = String::new();
    let mut depth = 0u32;
    for ch in h.trim().trim_start_matches('\u{feff}').chars() {
        match ch {
            '(' | '（' | '[' | '【' => depth += 1,
            ')' | '）' | ']' | '】' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_whitespace() => {}
            '₂' => out.push('2'),
            '₃' => out.push('3'),
            '₅' => out.push('5'),
            '₁' => out.push('1'),
            '０'..='９' => {
                out.push(char::from_u32(ch as u32 - '０' as u32 + '0' as u32).unwrap_or(ch))
            }
            '．' | '。' => out.push('.'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The layout a header row (as keys) belongs to.
fn layout_of(keys: &[String]) -> Layout {
    if keys.len() > 3 && keys[..3] == ["date", "hour", "type"] {
        Layout::NationalWide
    } else if keys.iter().any(|k| k == "timepoint") && keys.iter().any(|k| k == "stationcode") {
        Layout::NationalHourly
    } else {
        Layout::Long
    }
}

/// The header's meaning: the `evaluate air` names, the common variants of
/// provincial and city platform exports (站点名称/监测点位, 监测时间/时间,
/// SO2 … PM2.5 with or without units) and the national hourly names
/// (`timepoint`, `stationcode`, `pm2_5`, the derived `*_24h` and `o3_8h*`;
/// docs: air-data-formats). `national`: the ozone columns of the national
/// hourly file (`o3_24h` is the current hour, `o3` only checked).
fn header_of(key: &str, national: bool) -> Option<(Header, bool)> {
    // (meaning, whether the header names a station by code)
    let col = |c: &str| COLUMNS.iter().position(|x| *x == c).map(Header::Column);
    Some(match key {
        "station" | "stationcode" | "站点编码" | "点位编码" | "监测点位编码" | "站点代码"
        | "站号" => (col("station")?, true),
        "站点" | "站点名称" | "监测点位" | "点位名称" | "监测点位名称" | "站名" | "监测站点"
        | "positionname" => (col("station")?, false),
        "time" | "timepoint" | "时间" | "监测时间" | "日期时间" | "数据时间" | "时间点" => {
            (col("time")?, false)
        }
        "so2" => (col("so2")?, false),
        "no2" => (col("no2")?, false),
        "co" => (col("co")?, false),
        "o3" if national => (Header::O3Max, false),
        "o3_24h" if national => (col("o3")?, false),
        "o3" | "o3-1h" | "o3_1h" | "o31h" | "o3-1小时" => (col("o3")?, false),
        "pm10" => (col("pm10")?, false),
        "pm25" | "pm2.5" | "pm2_5" => (col("pm25")?, false),
        "城市"
        | "区县"
        | "所属区县"
        | "序号"
        | "aqi"
        | "首要污染物"
        | "质量级别"
        | "空气质量级别"
        | "空气质量类别"
        | "空气质量指数类别"
        | "o3-8h"
        | "o3_8h"
        | "o38h"
        | "经度"
        | "纬度"
        | "longitude"
        | "latitude"
        | "area"
        | "primarypollutant"
        | "pm10_24h"
        | "pm2_5_24h"
        | "pm2.5_24h"
        | "o3_24h"
        | "o3_8h_24h"
        | "no2_24h"
        | "so2_24h"
        | "co_24h" => (Header::Ignored, false),
        _ => return None,
    })
}

/// Parse a table in any of the [`Layout`]s, recognised by its header:
/// the `evaluate air` layout, a platform export with Chinese headers
/// (站点名称/监测点位, 监测时间/时间, SO2, NO2, CO, O3, PM10, PM2.5, units in
/// the header or not; extra descriptive columns such as 城市, AQI, 首要污染物
/// are read past), the national hourly file or the china_sites wide file. A
/// row with problems is rejected with all of them (at most
/// [`MAX_PROBLEMS`] listed).
pub fn parse_air(table: &Table) -> Result<ParsedFile, FileError> {
    let keys: Vec<String> = table.headers().iter().map(|h| header_key(h)).collect();
    match layout_of(&keys) {
        Layout::NationalWide => parse_wide(table),
        layout => parse_rows(table, &keys, layout),
    }
}

fn duplicate_column(table: &Table, c: usize, h: &str) -> FileError {
    FileError(
        table
            .header_error(c, format!("列“{}”重复 (column appears twice)", clip(h)))
            .to_string(),
    )
}

/// The layouts with one row per station and hour.
fn parse_rows(table: &Table, keys: &[String], layout: Layout) -> Result<ParsedFile, FileError> {
    let national = layout == Layout::NationalHourly;
    let mut map = [None; 8];
    // A station named by code and by name: the code identifies it.
    let mut station_by_name: Option<usize> = None;
    let mut o3_max: Option<usize> = None;
    for (c, (h, key)) in table.headers().iter().zip(keys).enumerate() {
        let Some((header, by_code)) = header_of(key, national) else {
            return Err(FileError(
                table
                    .header_error(
                        c,
                        format!(
                            "未知列“{}”；应为 站点(站点名称/监测点位/站点编码)、时间(监测时间)、SO2、NO2、CO、O3、PM10、PM2.5",
                            clip(h)
                        ),
                    )
                    .to_string(),
            ));
        };
        let k = match header {
            Header::Ignored => continue,
            Header::O3Max => {
                if o3_max.replace(c).is_some() {
                    return Err(duplicate_column(table, c, h));
                }
                continue;
            }
            Header::Column(k) => k,
        };
        if k == 0 && !by_code {
            if station_by_name.replace(c).is_some() {
                return Err(duplicate_column(table, c, h));
            }
            continue;
        }
        if map[k].replace(c).is_some() {
            return Err(duplicate_column(table, c, h));
        }
    }
    if map[0].is_none() {
        map[0] = station_by_name;
    }
    let (Some(sc), Some(tc)) = (map[0], map[1]) else {
        return Err(FileError(format!(
            "{}: 缺少站点列（站点名称/监测点位/站点编码）或时间列（监测时间/时间） (missing the `station` or `time` column)",
            table.source()
        )));
    };
    let cols: Vec<(Pollutant, usize)> = Pollutant::ALL
        .into_iter()
        .zip(&map[2..])
        .filter_map(|(p, c)| c.map(|c| (p, c)))
        .collect();
    if cols.is_empty() {
        return Err(FileError(format!(
            "{}: 缺少污染物列（SO2、NO2、CO、O3、PM10、PM2.5） (no pollutant column)",
            table.source()
        )));
    }
    let o3_current = cols.iter().find(|(p, _)| *p == Pollutant::O3).map(|x| x.1);
    if let (Some(c), None) = (o3_max, o3_current) {
        // Without `o3_24h` a 2022 file has no current-hour ozone at all.
        return Err(FileError(
            table
                .header_error(
                    c,
                    "国家实时发布格式有 o3 列而没有 o3_24h 列：o3 可能是过去 24 小时的最大值，无法得到当前小时臭氧",
                )
                .to_string(),
        ));
    }
    let missing: &[&str] = if national { &NATIONAL_MISSING } else { &[""] };
    let mut out = ParsedFile {
        layout,
        ..ParsedFile::default()
    };
    let mut seen: HashSet<(String, NaiveDateTime)> = HashSet::new();
    let name_of = |c: usize| table.headers().get(c).map_or("", String::as_str);
    for row in table.rows() {
        let mut problems = Problems::default();
        let station = row.get(sc);
        if station.is_empty() {
            problems.push(name_of(sc), "站点为空 (station is blank)".into());
        }
        let t = row.get(tc);
        let end = evaluation::parse_hour_end(t);
        if end.is_none() {
            problems.push(
                name_of(tc),
                format!(
                    "“{}”不是小时结束时间，应如 2020-03-10 08:00 (not an hour-end time)",
                    clip(t)
                ),
            );
        }
        let mut values: PerPollutant<Option<Decimal>> = PerPollutant::default();
        for &(p, c) in &cols {
            match value(row.get(c), missing) {
                Ok(v) => values[p] = v,
                Err(m) => problems.push(name_of(c), m),
            }
        }
        // `o3` is derived or a copy: only a number below `o3_24h` is a problem.
        if let (Some(mc), Some(cc), Some(current)) = (o3_max, o3_current, values.o3)
            && let Ok(Some(max)) = value(row.get(mc), missing)
            && max < current
        {
            problems.push(
                name_of(mc),
                ozone_problem(max, current, name_of(mc), name_of(cc)),
            );
        }
        if let (Some(end), true) = (end, problems.is_empty())
            && !seen.insert((station.to_owned(), end))
        {
            problems.push(
                name_of(tc),
                format!(
                    "站点 {} 的 {} 这一小时在文件中重复 (station hour appears twice in the file)",
                    clip(station),
                    clip(t)
                ),
            );
        }
        match end {
            Some(end) if problems.is_empty() => out.hours.push(ParsedHour {
                station: station.to_owned(),
                end,
                values,
                line: row.line(),
            }),
            _ => out
                .rejected
                .push(Rejected::of(table.source(), row.line(), problems)),
        }
    }
    Ok(out)
}

/// What a row of the wide file holds, by its `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WideType {
    /// A station's 1-h value of this pollutant (`O3_24h` for ozone).
    Value(Pollutant),
    /// `O3`: checked against `O3_24h` (see [`ozone_problem`]).
    O3Max,
    /// AQI and the 24-h and 8-h rollups: derived, read past.
    Derived,
}

/// The type of a wide row, with its canonical name (for duplicates).
fn wide_type(text: &str) -> Option<(WideType, &'static str)> {
    use WideType::*;
    // The wide file pivots the hourly file's columns, so the same ozone
    // rule holds: `O3_24h` is the current hour.
    Some(match header_key(text).as_str() {
        "pm2.5" | "pm25" | "pm2_5" => (Value(Pollutant::Pm25), "PM2.5"),
        "pm10" => (Value(Pollutant::Pm10), "PM10"),
        "so2" => (Value(Pollutant::So2), "SO2"),
        "no2" => (Value(Pollutant::No2), "NO2"),
        "co" => (Value(Pollutant::Co), "CO"),
        "o3_24h" => (Value(Pollutant::O3), "O3_24h"),
        "o3" => (O3Max, "O3"),
        "aqi" => (Derived, "AQI"),
        "pm2.5_24h" | "pm25_24h" | "pm2_5_24h" => (Derived, "PM2.5_24h"),
        "pm10_24h" => (Derived, "PM10_24h"),
        "so2_24h" => (Derived, "SO2_24h"),
        "no2_24h" => (Derived, "NO2_24h"),
        "co_24h" => (Derived, "CO_24h"),
        "o3_8h" => (Derived, "O3_8h"),
        "o3_8h_24h" => (Derived, "O3_8h_24h"),
        _ => return None,
    })
}

/// `YYYYMMDD`.
fn parse_yyyymmdd(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::from_ymd_opt(
        s[..4].parse().ok()?,
        s[4..6].parse().ok()?,
        s[6..].parse().ok()?,
    )
}

/// One station's hour of a wide file, gathered from the rows of that hour.
#[derive(Debug, Clone, Default)]
struct Slot {
    values: PerPollutant<Option<Decimal>>,
    /// `O3` and its line, for the check.
    o3_max: Option<(Decimal, u64)>,
    /// First line giving one of the six values.
    line: u64,
    /// A bad cell of this station-hour: none of its values is imported.
    refused: bool,
}

/// The china_sites wide layout: `date,hour,type`, then one column per
/// station code; `hour` 0–23 is the hour's end, so hour 0 of D ends at
/// 00:00 of D (the last hour of D − 1, like `24:00` of D − 1 in the other
/// layouts). A bad `date`/`hour`/`type` rejects its row; a bad value cell
/// rejects that station's hour (reported at the cell's row, column = the
/// station code) and the rest of the row is used. A station-hour without
/// any of the six values is not an hour of data.
fn parse_wide(table: &Table) -> Result<ParsedFile, FileError> {
    let headers = table.headers();
    let stations: Vec<&str> = headers[3..].iter().map(|h| h.trim()).collect();
    let mut codes = HashSet::new();
    for (i, s) in stations.iter().enumerate() {
        if s.is_empty() {
            return Err(FileError(
                table.header_error(i + 3, "站点编码为空").to_string(),
            ));
        }
        if !codes.insert(*s) {
            return Err(duplicate_column(table, i + 3, s));
        }
    }
    let mut out = ParsedFile {
        layout: Layout::NationalWide,
        ..ParsedFile::default()
    };
    let mut hours: Vec<(NaiveDateTime, Vec<Slot>)> = Vec::new();
    let mut hour_index: HashMap<NaiveDateTime, usize> = HashMap::new();
    let mut seen_rows: HashSet<(NaiveDateTime, &'static str)> = HashSet::new();
    for row in table.rows() {
        let mut problems = Problems::default();
        let date_text = row.get(0);
        let date = parse_yyyymmdd(date_text);
        if date.is_none() {
            problems.push(
                &headers[0],
                format!("“{}”不是日期，应如 20220310", clip(date_text)),
            );
        }
        let hour_text = row.get(1);
        let hour = hour_text.parse::<u8>().ok().filter(|h| *h <= 23);
        if hour.is_none() {
            problems.push(
                &headers[1],
                format!("“{}”不是 0–23 的小时（小时结束时刻）", clip(hour_text)),
            );
        }
        let type_text = row.get(2);
        let ty = wide_type(type_text);
        if ty.is_none() {
            problems.push(
                &headers[2],
                format!(
                    "未知类型“{}”；应为 PM2.5、PM10、SO2、NO2、O3、CO（及其 _24h）、O3_8h、O3_8h_24h 或 AQI",
                    clip(type_text)
                ),
            );
        }
        let end = date.zip(hour).and_then(|(d, h)| {
            d.and_hms_opt(0, 0, 0)
                .map(|t| t + Duration::hours(h.into()))
        });
        if let (Some(end), Some((_, name))) = (end, ty)
            && !seen_rows.insert((end, name))
        {
            problems.push(
                &headers[2],
                format!("{date_text} 第 {hour_text} 时的 {name} 在文件中重复"),
            );
        }
        // The row's hour and type are known: its cells go to their slots.
        let mut slots = match end {
            Some(end) if problems.is_empty() => {
                let i = match hour_index.get(&end) {
                    Some(&i) => i,
                    None => {
                        if hours.len() >= MAX_WIDE_HOURS {
                            return Err(FileError(format!(
                                "{}: 第 {} 行：文件超过 {MAX_WIDE_HOURS} 个小时（china_sites 宽表一天一个文件），请分开导入",
                                table.source(),
                                row.line()
                            )));
                        }
                        hours.push((end, vec![Slot::default(); stations.len()]));
                        hour_index.insert(end, hours.len() - 1);
                        hours.len() - 1
                    }
                };
                Some(&mut hours[i].1)
            }
            _ => None,
        };
        match ty.map(|(t, _)| t) {
            Some(WideType::Value(p)) => {
                for (i, code) in stations.iter().enumerate() {
                    match (
                        value(row.get(i + 3), &NATIONAL_MISSING),
                        slots.as_deref_mut(),
                    ) {
                        (Ok(Some(v)), Some(slots)) => {
                            let s = &mut slots[i];
                            s.values[p] = Some(v);
                            if s.line == 0 {
                                s.line = row.line();
                            }
                        }
                        (Ok(_), _) => {}
                        (Err(m), Some(slots)) => {
                            slots[i].refused = true;
                            problems.push(code, format!("{m}，该站这一小时未导入"));
                        }
                        (Err(m), None) => problems.push(code, m),
                    }
                }
            }
            Some(WideType::O3Max) => {
                if let Some(slots) = slots {
                    for (i, s) in slots.iter_mut().enumerate() {
                        // Derived or a copy: not refused when unreadable.
                        if let Ok(Some(v)) = value(row.get(i + 3), &NATIONAL_MISSING) {
                            s.o3_max = Some((v, row.line()));
                        }
                    }
                }
            }
            Some(WideType::Derived) | None => {}
        }
        if !problems.is_empty() {
            out.rejected
                .push(Rejected::of(table.source(), row.line(), problems));
        }
    }
    // The ozone check, reported at the `O3` row's line.
    let mut checks: BTreeMap<u64, Problems> = BTreeMap::new();
    for (end, slots) in &mut hours {
        for (s, code) in slots.iter_mut().zip(&stations) {
            if s.refused {
                continue;
            }
            if let (Some((max, line)), Some(current)) = (s.o3_max, s.values.o3)
                && max < current
            {
                checks.entry(line).or_default().push(
                    code,
                    format!(
                        "{}，该站这一小时未导入",
                        ozone_problem(max, current, "O3", "O3_24h")
                    ),
                );
                continue;
            }
            if Pollutant::ALL.iter().any(|&p| s.values[p].is_some()) {
                out.hours.push(ParsedHour {
                    station: (*code).to_owned(),
                    end: *end,
                    values: s.values,
                    line: s.line,
                });
            }
        }
    }
    for (line, problems) in checks {
        out.rejected
            .push(Rejected::of(table.source(), line, problems));
    }
    out.rejected.sort_by_key(|r| r.line);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_bounds_and_defuses_quoted_text() {
        assert_eq!(clip("1017A"), "1017A");
        let long = "甲".repeat(1000);
        let c = clip(&long);
        assert_eq!(c.chars().count(), MAX_QUOTE + 1);
        assert!(c.ends_with('…'));
        assert_eq!(clip("a\u{1b}[2J\u{202e}b"), "a\u{fffd}[2J\u{fffd}b");
    }

    #[test]
    fn layouts_are_recognised_by_their_header() {
        let keys = |h: &str| h.split(',').map(header_key).collect::<Vec<_>>();
        assert_eq!(
            layout_of(&keys("date,hour,type,1001A,1002A")),
            Layout::NationalWide
        );
        assert_eq!(
            layout_of(&keys("timepoint, stationcode, pm2_5, o3, o3_24h")),
            Layout::NationalHourly
        );
        assert_eq!(layout_of(&keys("station,time,pm25")), Layout::Long);
        assert_eq!(
            layout_of(&keys("\u{feff}Date,Hour,Type,1001A")),
            Layout::NationalWide
        );
    }
}
