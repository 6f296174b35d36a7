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

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// File name as given.
    pub file: String,
    /// 1-based line (Excel row for XLSX).
    pub line: u64,
    /// Column name.
    pub column: String,
    /// What is wrong (English and Chinese).
    pub message: String,
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

/// Parse a table in the `evaluate air` layout.
pub fn parse_air(table: &Table) -> Result<ParsedFile, FileError> {
    let mut map = [None; 8];
    for (c, h) in table.headers().iter().enumerate() {
        let key = h.trim().to_ascii_lowercase();
        let key = match key.as_str() {
            "pm2.5" | "pm2_5" => "pm25",
            k => k,
        };
        let Some(k) = COLUMNS.iter().position(|x| *x == key) else {
            return Err(FileError(
                table
                    .header_error(
                        c,
                        format!(
                            "unknown column `{h}`; expected {} (未知列)",
                            COLUMNS.join(",")
                        ),
                    )
                    .to_string(),
            ));
        };
        if map[k].is_some() {
            return Err(FileError(
                table
                    .header_error(c, format!("column `{h}` appears twice (列重复)"))
                    .to_string(),
            ));
        }
        map[k] = Some(c);
    }
    let (Some(sc), Some(tc)) = (map[0], map[1]) else {
        return Err(FileError(format!(
            "{}: missing the `station` or `time` column (缺少 station/time 列)",
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
            "{}: no pollutant column (so2,no2,co,o3,pm10,pm25) (缺少污染物列)",
            table.source()
        )));
    }
    let mut out = ParsedFile::default();
    let mut seen: HashSet<(String, NaiveDateTime)> = HashSet::new();
    let name_of = |c: usize| table.headers().get(c).cloned().unwrap_or_default();
    'rows: for row in table.rows() {
        let reject = |c: usize, m: String| Rejected {
            file: table.source().to_owned(),
            line: row.line(),
            column: name_of(c),
            message: m,
        };
        let station = row.get(sc);
        if station.is_empty() {
            out.rejected
                .push(reject(sc, "station is blank (站点为空)".into()));
            continue;
        }
        let t = row.get(tc);
        let Some(end) = evaluation::parse_hour_end(t) else {
            out.rejected.push(reject(
                tc,
                format!("`{t}` is not an hour-end time such as 2020-03-10 08:00 (时间格式错误)"),
            ));
            continue;
        };
        let mut values: PerPollutant<Option<Decimal>> = PerPollutant::default();
        for &(p, c) in &cols {
            let text = row.get(c);
            if text.is_empty() {
                continue;
            }
            let Ok(v) = text.parse::<Decimal>() else {
                out.rejected.push(reject(
                    c,
                    format!("`{text}` is not a number (不是有效数字)"),
                ));
                continue 'rows;
            };
            if v.is_sign_negative() && !v.is_zero() {
                out.rejected
                    .push(reject(c, format!("{v} is negative (浓度不能为负)")));
                continue 'rows;
            }
            values[p] = Some(v);
        }
        if !seen.insert((station.to_owned(), end)) {
            out.rejected.push(reject(
                tc,
                format!(
                    "station {station} hour {t} appears twice in the file (同一站点同一小时重复)"
                ),
            ));
            continue;
        }
        out.hours.push(ParsedHour {
            station: station.to_owned(),
            end,
            values,
            line: row.line(),
        });
    }
    Ok(out)
}
