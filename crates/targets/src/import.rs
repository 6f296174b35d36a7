//! Parsing an air-station file (the `evaluate air` layout:
//! `station,time,so2,no2,co,o3,pm10,pm25`, `time` = the hour's END in local
//! time, blank = missing) into station-hours, keeping every rejected row
//! with its file, line and column. Pure: the caller reads the file into a
//! [`Table`] and stores the result.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use gongjian_standards::evaluation::{self, PerPollutant, Pollutant};
use gongjian_tabular::Table;
use rust_decimal::Decimal;
use serde::Serialize;

/// Recognised columns, in file-layout order.
pub const COLUMNS: [&str; 8] = ["station", "time", "so2", "no2", "co", "o3", "pm10", "pm25"];

/// A whole-file problem (bad header).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

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
    /// Each problem of the row: (column as written, what is wrong).
    pub problems: Vec<(String, String)>,
}

impl Rejected {
    fn of(file: &str, line: u64, problems: Vec<(String, String)>) -> Rejected {
        let column = problems
            .iter()
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>()
            .join("、");
        let message = if problems.len() == 1 {
            problems[0].1.clone()
        } else {
            problems
                .iter()
                .map(|(c, m)| format!("{c}：{m}"))
                .collect::<Vec<_>>()
                .join("；")
        };
        Rejected {
            file: file.to_owned(),
            line,
            column,
            message,
            problems,
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
    /// Rejected rows.
    pub rejected: Vec<Rejected>,
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

/// What a header names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    /// Index into [`COLUMNS`].
    Column(usize),
    /// A column of the platform exports that is derived or descriptive
    /// (城市, AQI, 首要污染物, O3-8h …): read past.
    Ignored,
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

/// The header's meaning: the `evaluate air` names and the common variants
/// of provincial and city platform exports (站点名称/监测点位, 监测时间/时间,
/// SO2 … PM2.5 with or without units; docs: air-data-formats).
fn header_of(key: &str) -> Option<(Header, bool)> {
    // (meaning, whether the header names a station by code)
    let col = |c: &str| COLUMNS.iter().position(|x| *x == c).map(Header::Column);
    Some(match key {
        "station" | "站点编码" | "点位编码" | "监测点位编码" | "站点代码" | "站号" => {
            (col("station")?, true)
        }
        "站点" | "站点名称" | "监测点位" | "点位名称" | "监测点位名称" | "站名" | "监测站点" => {
            (col("station")?, false)
        }
        "time" | "时间" | "监测时间" | "日期时间" | "数据时间" | "时间点" => {
            (col("time")?, false)
        }
        "so2" => (col("so2")?, false),
        "no2" => (col("no2")?, false),
        "co" => (col("co")?, false),
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
        | "纬度" => (Header::Ignored, false),
        _ => return None,
    })
}

/// Parse a table in the `evaluate air` layout, or a platform export with
/// Chinese headers (站点名称/监测点位, 监测时间/时间, SO2, NO2, CO, O3, PM10,
/// PM2.5, units in the header or not; extra descriptive columns such as
/// 城市, AQI, 首要污染物 are read past). A row with problems is rejected with
/// all of them.
pub fn parse_air(table: &Table) -> Result<ParsedFile, FileError> {
    let mut map = [None; 8];
    // A station named by code and by name: the code identifies it.
    let mut station_by_name: Option<usize> = None;
    for (c, h) in table.headers().iter().enumerate() {
        let key = header_of(&header_key(h));
        let Some((header, by_code)) = key else {
            return Err(FileError(
                table
                    .header_error(
                        c,
                        format!(
                            "未知列“{h}”；应为 站点(站点名称/监测点位/站点编码)、时间(监测时间)、SO2、NO2、CO、O3、PM10、PM2.5"
                        ),
                    )
                    .to_string(),
            ));
        };
        let k = match header {
            Header::Ignored => continue,
            Header::Column(k) => k,
        };
        if k == 0 && !by_code {
            if station_by_name.is_some() {
                return Err(FileError(
                    table
                        .header_error(c, format!("列“{h}”重复 (column appears twice)"))
                        .to_string(),
                ));
            }
            station_by_name = Some(c);
            continue;
        }
        if map[k].is_some() {
            return Err(FileError(
                table
                    .header_error(c, format!("列“{h}”重复 (column appears twice)"))
                    .to_string(),
            ));
        }
        map[k] = Some(c);
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
    let mut out = ParsedFile::default();
    let mut seen: HashSet<(String, NaiveDateTime)> = HashSet::new();
    let name_of = |c: usize| table.headers().get(c).cloned().unwrap_or_default();
    for row in table.rows() {
        let mut problems: Vec<(String, String)> = Vec::new();
        let station = row.get(sc);
        if station.is_empty() {
            problems.push((name_of(sc), "站点为空 (station is blank)".into()));
        }
        let t = row.get(tc);
        let end = evaluation::parse_hour_end(t);
        if end.is_none() {
            problems.push((
                name_of(tc),
                format!("“{t}”不是小时结束时间，应如 2020-03-10 08:00 (not an hour-end time)"),
            ));
        }
        let mut values: PerPollutant<Option<Decimal>> = PerPollutant::default();
        for &(p, c) in &cols {
            let text = row.get(c);
            if text.is_empty() {
                continue;
            }
            match text.parse::<Decimal>() {
                Err(_) => {
                    problems.push((name_of(c), format!("“{text}”不是有效数字 (not a number)")))
                }
                Ok(v) if v.is_sign_negative() && !v.is_zero() => {
                    problems.push((name_of(c), format!("{v} 为负值，浓度不能为负 (negative)")))
                }
                Ok(v) => values[p] = Some(v),
            }
        }
        if let (Some(end), true) = (end, problems.is_empty())
            && !seen.insert((station.to_owned(), end))
        {
            problems.push((
                name_of(tc),
                format!(
                    "站点 {station} 的 {t} 这一小时在文件中重复 (station hour appears twice in the file)"
                ),
            ));
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
