//! Electricity-meter readings (用电监控) that arrive other than over HJ 212
//! (issue 15 item 3): the power company's system pushing JSON, and the
//! office importing its spreadsheets (CSV in UTF-8 or GBK, XLSX).
//!
//! A reading names its meter — the site code or the HJ 212 MN of a
//! registered site of kind `power` — the time, the active power `Pt` (kW)
//! and/or the energy counter `Ept` (kWh), and optionally the kind of
//! record: `rtd` (an instantaneous reading, any second), `min` (a minute
//! record, whole minute) or `hour` (an hourly record, the start of the
//! hour as HJ 212 2061 dates it). Without a kind a reading is `hour`: the
//! power company's collection system delivers hourly data, and hours are
//! what the alarm rules screen (`rtd` readings count for the emergency
//! verification only, exactly as a logger's real-time data do).
//!
//! Input is hostile and the batch all or nothing: every row is checked
//! first (meter, time, values, lengths, duplicates in the batch, at most
//! [`MAX_READINGS`] rows) and any bad row refuses the whole batch, listing
//! every problem as `第 N 行「列」：原因` (at most [`MAX_PROBLEMS`]). An
//! accepted batch is stored in one transaction through
//! `Power::store_readings`: the same series rows (source `import`), latest
//! values and rollup queue as the HJ 212 writer's, so the rollups, the
//! power alarm rules and the emergency verification read them as they read
//! a logger's, audited as one `import series` entry.
//!
//! Repeated readings replace: a (meter, kind, time) already stored is
//! overwritten by the new value (a corrected resend), an identical value is
//! left alone and counted as unchanged, so pushing the same batch twice
//! stores nothing the second time. Within one batch a (meter, kind, time)
//! may appear once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use gongjian_alarms::power::{ENERGY_FACTOR, POWER_FACTOR};
use gongjian_standards::cst;
use gongjian_storage::{Actor, Db, SeriesValue, site_kind_label};
use gongjian_tabular::Table;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::AppError;

/// At most this many readings (rows) in one push or file.
pub const MAX_READINGS: usize = 50_000;
/// At most this many problems are listed; the others are counted.
pub const MAX_PROBLEMS: usize = 50;
/// A reading may be dated at most this far (s) after the server's clock.
pub const FUTURE_TOLERANCE_SECS: i64 = 600;
/// Longest meter reference (site codes and MNs are shorter).
const METER_MAX: usize = 64;
/// Longest time text.
const AT_MAX: usize = 40;
/// Longest value text.
const VALUE_MAX: usize = 32;
/// Longest kind text.
const KIND_MAX: usize = 16;
/// Quoted text and names are cut to this many characters.
const QUOTE_MAX: usize = 40;

/// The kind of record a reading is stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadingKind {
    Rtd,
    Min,
    Hour,
}

impl ReadingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadingKind::Rtd => "rtd",
            ReadingKind::Min => "min",
            ReadingKind::Hour => "hour",
        }
    }

    /// `rtd`, `min`, `hour` (any case) or 实时 / 分钟 / 小时; empty: `hour`.
    pub fn parse(text: &str) -> Option<ReadingKind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "hour" | "小时" => Some(ReadingKind::Hour),
            "min" | "minute" | "分钟" => Some(ReadingKind::Min),
            "rtd" | "实时" => Some(ReadingKind::Rtd),
            _ => None,
        }
    }
}

/// One reading as received, each field as text (a JSON number as its
/// text, a table cell as read; missing: empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawReading {
    /// 1-based row: the position in the pushed array, or the line of the
    /// file.
    pub line: u64,
    pub meter: String,
    pub at: String,
    pub pt: String,
    pub ept: String,
    pub kind: String,
    /// Problems found while reading the row's structure (a field that is
    /// not text or a number, an unknown field): (column, reason).
    pub errors: Vec<(String, String)>,
}

/// The names of the fields as the source calls them, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub meter: String,
    pub at: String,
    pub pt: String,
    pub ept: String,
    pub kind: String,
}

impl Columns {
    /// The field names of the JSON push.
    pub fn json() -> Columns {
        Columns {
            meter: "meter".into(),
            at: "at".into(),
            pt: "Pt".into(),
            ept: "Ept".into(),
            kind: "kind".into(),
        }
    }
}

pub use gongjian_tabular::Problem;
use gongjian_tabular::Problems;

/// What a push or an import did: stored, or refused with its problems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadingsOutcome {
    /// The file name, or `用电数据推送` for the JSON push.
    pub source: String,
    /// True when the batch was refused: nothing was stored.
    pub refused: bool,
    /// Readings (rows) received.
    pub rows: usize,
    /// Readings stored (every row, or 0 when refused).
    pub stored: usize,
    /// Values (`Pt`, `Ept`) new or changed.
    pub written: u64,
    /// Values already stored identically.
    pub unchanged: u64,
    /// The meters' site codes, ascending.
    pub meters: Vec<String>,
    /// The problems (at most [`MAX_PROBLEMS`]), `第 N 行「列」：原因` each
    /// in `messages`.
    pub problems: Vec<Problem>,
    pub messages: Vec<String>,
    /// Problems not listed.
    pub more: usize,
    /// One sentence for the user.
    pub message: String,
}

/// Text of a hostile value fit to quote: at most [`QUOTE_MAX`] characters
/// (then "…"), control and bidirectional-override characters replaced.
fn clip(s: &str) -> Cow<'_, str> {
    gongjian_tabular::quote(s, QUOTE_MAX)
}

/// A source name (file name) fit for messages and the audit log.
pub fn source_name(name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        "用电数据.csv".to_owned()
    } else {
        clip(name).into_owned()
    }
}

// ---------------------------------------------------------------- reading

fn too_many(n: usize) -> AppError {
    AppError::InvalidFile(format!(
        "一次最多提交 {MAX_READINGS} 条用电读数，本次 {n} 条：请分批提交，未保存任何数据"
    ))
}

/// The body of a JSON push, `{"readings": [{"meter": …, "at": …, "Pt": …,
/// "Ept": …, "kind": …}, …]}`, read as it streams in and bounded while it
/// is read: at most [`MAX_READINGS`] readings (the read stops at the next),
/// each field kept as text (a number as its text, `null` as empty), a
/// field that is an array, an object or a boolean skipped without being
/// held and reported on its row, unknown fields skipped (the first few
/// named on their row). Field names are matched without regard to case;
/// other keys of the body are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushBody {
    pub readings: Vec<RawReading>,
}

/// Unknown fields named per row.
const UNKNOWN_FIELDS_NAMED: usize = 3;

mod push_body {
    use std::fmt;

    use serde::Deserialize;
    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    use super::{MAX_READINGS, PushBody, RawReading, UNKNOWN_FIELDS_NAMED};

    impl<'de> Deserialize<'de> for PushBody {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Body;
            impl<'de> Visitor<'de> for Body {
                type Value = PushBody;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("{\"readings\": [ … ]}")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PushBody, A::Error> {
                    let mut readings = None;
                    while let Some(key) = map.next_key::<String>()? {
                        if key == "readings" {
                            readings = Some(map.next_value::<Readings>()?.0);
                        } else {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                    readings
                        .map(|readings| PushBody { readings })
                        .ok_or_else(|| {
                            de::Error::custom(
                                "缺少 readings：请求体应为 {\"readings\": [ … ]}，readings 为读数数组",
                            )
                        })
                }
            }
            d.deserialize_map(Body)
        }
    }

    struct Readings(Vec<RawReading>);

    impl<'de> Deserialize<'de> for Readings {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct List;
            impl<'de> Visitor<'de> for List {
                type Value = Readings;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("readings 应为读数数组")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Readings, A::Error> {
                    let mut out: Vec<RawReading> = Vec::new();
                    while let Some(Row(mut r)) = seq.next_element::<Row>()? {
                        if out.len() == MAX_READINGS {
                            return Err(de::Error::custom(format!(
                                "一次最多提交 {MAX_READINGS} 条用电读数：请分批提交，未保存任何数据"
                            )));
                        }
                        r.line = out.len() as u64 + 1;
                        out.push(r);
                    }
                    Ok(Readings(out))
                }
            }
            d.deserialize_seq(List)
        }
    }

    /// One element of `readings`: an object, else a row with its problem.
    struct Row(RawReading);

    fn not_an_object() -> Row {
        Row(RawReading {
            errors: vec![(String::new(), "每条读数应为一个对象".to_owned())],
            ..RawReading::default()
        })
    }

    impl<'de> Deserialize<'de> for Row {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct RowVisitor;
            impl<'de> Visitor<'de> for RowVisitor {
                type Value = Row;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("一条读数")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
                    let mut r = RawReading::default();
                    let mut unknown = 0usize;
                    while let Some(key) = map.next_key::<String>()? {
                        let slot = match key.to_ascii_lowercase().as_str() {
                            "meter" => &mut r.meter,
                            "at" => &mut r.at,
                            "pt" => &mut r.pt,
                            "ept" => &mut r.ept,
                            "kind" => &mut r.kind,
                            _ => {
                                map.next_value::<IgnoredAny>()?;
                                unknown += 1;
                                if unknown <= UNKNOWN_FIELDS_NAMED {
                                    r.errors.push((
                                        key,
                                        "未知字段（应为 meter、at、Pt、Ept、kind）".to_owned(),
                                    ));
                                }
                                continue;
                            }
                        };
                        match map.next_value::<Scalar>()?.0 {
                            Some(text) => *slot = text,
                            None => r.errors.push((key, "应为文本或数字".to_owned())),
                        }
                    }
                    Ok(Row(r))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(not_an_object())
                }
                fn visit_bool<E: de::Error>(self, _: bool) -> Result<Row, E> {
                    Ok(not_an_object())
                }
                fn visit_i64<E: de::Error>(self, _: i64) -> Result<Row, E> {
                    Ok(not_an_object())
                }
                fn visit_u64<E: de::Error>(self, _: u64) -> Result<Row, E> {
                    Ok(not_an_object())
                }
                fn visit_f64<E: de::Error>(self, _: f64) -> Result<Row, E> {
                    Ok(not_an_object())
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<Row, E> {
                    Ok(not_an_object())
                }
                fn visit_unit<E: de::Error>(self) -> Result<Row, E> {
                    Ok(not_an_object())
                }
                fn visit_none<E: de::Error>(self) -> Result<Row, E> {
                    Ok(not_an_object())
                }
            }
            d.deserialize_any(RowVisitor)
        }
    }

    /// A field's value as text; `None` for a boolean, an array or an
    /// object (skipped, not held).
    struct Scalar(Option<String>);

    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct ScalarVisitor;
            impl<'de> Visitor<'de> for ScalarVisitor {
                type Value = Scalar;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("文本或数字")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                    Ok(Scalar(Some(v.to_owned())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                    Ok(Scalar(Some(v)))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                    Ok(Scalar(Some(v.to_string())))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                    Ok(Scalar(Some(v.to_string())))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                    Ok(Scalar(Some(v.to_string())))
                }
                fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                    Ok(Scalar(Some(String::new())))
                }
                fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                    Ok(Scalar(Some(String::new())))
                }
                fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
                    Ok(Scalar(None))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Scalar(None))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Scalar(None))
                }
            }
            d.deserialize_any(ScalarVisitor)
        }
    }
}

/// Header names recognised for each field of a file (compared with spaces
/// removed, full-width brackets as ASCII, without regard to case).
const METER_HEADERS: &[&str] = &["meter", "电表", "电表编号", "站点编码", "mn", "监控点编码"];
const AT_HEADERS: &[&str] = &["at", "时间", "采集时间", "数据时间", "读数时间"];
const PT_HEADERS: &[&str] = &["pt", "有功功率", "有功功率(kw)", "功率(kw)"];
const EPT_HEADERS: &[&str] = &[
    "ept",
    "有功电能",
    "有功电能(kwh)",
    "电能(kwh)",
    "正向有功总电能(kwh)",
];
const KIND_HEADERS: &[&str] = &["kind", "数据类型"];

fn header_key(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The readings of a table (CSV or XLSX already read) and the names of its
/// columns. Columns: 电表 (site code or MN; also 站点编码, MN, meter), 时间
/// (at), 有功功率(kW) (Pt) and/or 有功电能(kWh) (Ept), optionally 数据类型
/// (kind); other columns are ignored.
pub fn readings_from_table(table: &Table) -> Result<(Vec<RawReading>, Columns), AppError> {
    let file = source_name(table.source());
    let find = |names: &[&str]| {
        table
            .headers()
            .iter()
            .position(|h| names.contains(&header_key(h).as_str()))
    };
    let missing =
        |what: &str| AppError::InvalidFile(format!("{file}：缺少{what}列，未保存任何数据"));
    let meter = find(METER_HEADERS).ok_or_else(|| missing("“电表”（站点编码或 MN）"))?;
    let at = find(AT_HEADERS).ok_or_else(|| missing("“时间”"))?;
    let pt = find(PT_HEADERS);
    let ept = find(EPT_HEADERS);
    if pt.is_none() && ept.is_none() {
        return Err(missing("“有功功率(kW)”或“有功电能(kWh)”"));
    }
    let kind = find(KIND_HEADERS);
    if table.is_empty() {
        return Err(AppError::InvalidFile(format!(
            "{file}：文件中没有读数，未保存任何数据"
        )));
    }
    if table.len() > MAX_READINGS {
        return Err(too_many(table.len()));
    }
    let name = |c: Option<usize>, default: &str| {
        c.map(|c| clip(&table.headers()[c]).into_owned())
            .unwrap_or_else(|| default.to_owned())
    };
    let columns = Columns {
        meter: name(Some(meter), "电表"),
        at: name(Some(at), "时间"),
        pt: name(pt, "有功功率(kW)"),
        ept: name(ept, "有功电能(kWh)"),
        kind: name(kind, "数据类型"),
    };
    let mut out = Vec::with_capacity(table.len());
    for row in table.rows() {
        if row.iter().all(str::is_empty) {
            continue;
        }
        let cell = |c: Option<usize>| c.map(|c| row.get(c).to_owned()).unwrap_or_default();
        out.push(RawReading {
            line: row.line(),
            meter: cell(Some(meter)),
            at: cell(Some(at)),
            pt: cell(pt),
            ept: cell(ept),
            kind: cell(kind),
            errors: Vec::new(),
        });
    }
    if out.is_empty() {
        return Err(AppError::InvalidFile(format!(
            "{file}：文件中没有读数，未保存任何数据"
        )));
    }
    Ok((out, columns))
}

// ---------------------------------------------------------------- checking

/// A registered site a meter reference may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterSite {
    pub site_id: i64,
    pub code: String,
    /// The site's kind (`power` for a meter).
    pub kind: String,
}

/// A checked reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub line: u64,
    pub site_id: i64,
    pub code: String,
    pub kind: ReadingKind,
    /// Unix s.
    pub at: i64,
    /// Exact decimal text.
    pub pt: Option<String>,
    pub ept: Option<String>,
}

/// The time of a reading: China Standard Time `YYYY-MM-DD HH:MM[:SS]`
/// (also with `/` or `T`, or `YYYYMMDDHHMMSS`), or RFC 3339 with its
/// offset. Unix s.
pub fn parse_at(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() || t.len() > AT_MAX {
        return None;
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp());
    }
    let local = t.replace('/', "-").replacen('T', " ", 1);
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y%m%d%H%M%S"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&local, format) {
            return Some(cst::from_local(dt));
        }
    }
    None
}

/// A meter value: a non-negative decimal, as its exact text; `Ok(None)`
/// when empty.
fn parse_value(text: &str) -> Result<Option<String>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > VALUE_MAX {
        return Err(format!("数值过长（最多 {VALUE_MAX} 个字符）"));
    }
    let parsed = Decimal::from_str(t).or_else(|_| {
        if t.contains(['e', 'E']) {
            Decimal::from_scientific(t)
        } else {
            Err(rust_decimal::Error::ConversionTo(String::new()))
        }
    });
    let Ok(d) = parsed else {
        return Err(format!("“{}”不是数字", clip(t)));
    };
    if d.is_sign_negative() && !d.is_zero() {
        return Err(format!("{} 为负值，不能为负", clip(t)));
    }
    Ok(Some(if d.is_zero() {
        "0".to_owned()
    } else {
        d.to_string()
    }))
}

/// Check every reading against the registered sites (`meters`: by site
/// code and by MN) as of `now` (Unix s): the readings, or every problem.
pub fn check(
    rows: &[RawReading],
    columns: &Columns,
    meters: &HashMap<String, MeterSite>,
    now: i64,
) -> Result<Vec<Reading>, (Vec<Problem>, usize)> {
    let earliest = cst::day_start_utc(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default());
    let mut problems = Problems::new(MAX_PROBLEMS, QUOTE_MAX);
    let mut out = Vec::with_capacity(rows.len());
    let mut seen: HashMap<(i64, ReadingKind, i64), u64> = HashMap::new();
    for r in rows {
        let line = r.line;
        let before = problems.count();
        for (column, why) in &r.errors {
            problems.push(line, column, why.clone());
        }
        // Meter.
        let meter_text = r.meter.trim();
        let site = if meter_text.is_empty() {
            problems.push(line, &columns.meter, "不能为空".to_owned());
            None
        } else if meter_text.chars().count() > METER_MAX {
            problems.push(
                line,
                &columns.meter,
                format!("过长（最多 {METER_MAX} 个字符）"),
            );
            None
        } else {
            match meters.get(meter_text) {
                Some(s) if s.kind == "power" => Some(s),
                Some(s) => {
                    problems.push(
                        line,
                        &columns.meter,
                        format!(
                            "“{}”已登记为{}，不是用电监控点",
                            clip(meter_text),
                            site_kind_label(&s.kind)
                        ),
                    );
                    None
                }
                None => {
                    problems.push(
                        line,
                        &columns.meter,
                        format!(
                            "“{}”未登记：应为已登记的用电监控点的站点编码或 MN",
                            clip(meter_text)
                        ),
                    );
                    None
                }
            }
        };
        // Kind.
        let kind = if r.kind.chars().count() > KIND_MAX {
            problems.push(line, &columns.kind, "过长".to_owned());
            None
        } else {
            let k = ReadingKind::parse(&r.kind);
            if k.is_none() {
                problems.push(
                    line,
                    &columns.kind,
                    format!(
                        "“{}”不是数据类型：应为 rtd（实时）、min（分钟）或 hour（小时，默认）",
                        clip(r.kind.trim())
                    ),
                );
            }
            k
        };
        // Time.
        let at_text = r.at.trim();
        let at = if at_text.is_empty() {
            problems.push(line, &columns.at, "不能为空".to_owned());
            None
        } else {
            match parse_at(at_text) {
                None => {
                    problems.push(
                        line,
                        &columns.at,
                        format!(
                            "“{}”不是时间：应为北京时间 YYYY-MM-DD HH:MM[:SS]，或带时区的 RFC 3339 时间",
                            clip(at_text)
                        ),
                    );
                    None
                }
                Some(t) if t > now + FUTURE_TOLERANCE_SECS => {
                    problems.push(
                        line,
                        &columns.at,
                        format!("“{}”晚于当前时间，不能是将来的时间", clip(at_text)),
                    );
                    None
                }
                Some(t) if t < earliest => {
                    problems.push(
                        line,
                        &columns.at,
                        format!("“{}”早于 2000 年", clip(at_text)),
                    );
                    None
                }
                Some(t) => {
                    let misaligned = match kind {
                        Some(ReadingKind::Hour) => {
                            (t.rem_euclid(3600) != 0).then_some(
                                "小时数据的时间须为整点（该小时的开始，如 08:00）；非整点的读数请把数据类型写成 rtd（实时）或 min（分钟）",
                            )
                        }
                        Some(ReadingKind::Min) => (t.rem_euclid(60) != 0)
                            .then_some("分钟数据的时间须为整分（秒为 0）"),
                        _ => None,
                    };
                    if let Some(why) = misaligned {
                        problems.push(line, &columns.at, format!("“{}”：{why}", clip(at_text)));
                        None
                    } else {
                        Some(t)
                    }
                }
            }
        };
        // Values.
        let mut value = |text: &str, column: &str| match parse_value(text) {
            Ok(v) => v,
            Err(why) => {
                problems.push(line, column, why);
                None
            }
        };
        let pt = value(&r.pt, &columns.pt);
        let ept = value(&r.ept, &columns.ept);
        if r.pt.trim().is_empty() && r.ept.trim().is_empty() {
            problems.push(
                line,
                "",
                format!(
                    "有功功率（{}）和有功电能（{}）至少填写一项",
                    clip(&columns.pt),
                    clip(&columns.ept)
                ),
            );
        }
        if problems.count() > before {
            continue;
        }
        let (Some(site), Some(kind), Some(at)) = (site, kind, at) else {
            continue;
        };
        if let Some(first) = seen.insert((site.site_id, kind, at), line) {
            problems.push(
                line,
                &columns.at,
                format!("与第 {first} 行重复（同一电表、同一数据类型、同一时间）"),
            );
            continue;
        }
        out.push(Reading {
            line,
            site_id: site.site_id,
            code: site.code.clone(),
            kind,
            at,
            pt,
            ept,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err((problems.list, problems.more))
    }
}

/// Every registered site by its code and, for sites with a data logger,
/// by the logger's MN (a code wins over an MN with the same text).
pub async fn meter_sites(db: &Db) -> Result<HashMap<String, MeterSite>, AppError> {
    let sites = db.monitoring().sites().await?;
    let devices = db.monitoring().devices().await?;
    let mut out = HashMap::with_capacity(sites.len() + devices.len());
    let by_id: HashMap<i64, &gongjian_storage::Site> = sites.iter().map(|s| (s.id, s)).collect();
    for d in &devices {
        if let Some(s) = by_id.get(&d.site_id) {
            out.insert(
                d.mn.trim().to_owned(),
                MeterSite {
                    site_id: s.id,
                    code: s.code.clone(),
                    kind: s.kind.clone(),
                },
            );
        }
    }
    for s in &sites {
        out.insert(
            s.code.trim().to_owned(),
            MeterSite {
                site_id: s.id,
                code: s.code.clone(),
                kind: s.kind.clone(),
            },
        );
    }
    Ok(out)
}

// ---------------------------------------------------------------- storing

/// Check and store a batch of readings from `source`: all of them, or none
/// with every problem listed (`refused`).
pub async fn store_readings(
    db: &Db,
    actor: &Actor,
    source: &str,
    rows: &[RawReading],
    columns: &Columns,
) -> Result<ReadingsOutcome, AppError> {
    let source = source_name(source);
    if rows.len() > MAX_READINGS {
        return Err(too_many(rows.len()));
    }
    let meters = meter_sites(db).await?;
    let now = gongjian_storage::now();
    let readings = match check(rows, columns, &meters, now) {
        Ok(r) => r,
        Err((problems, more)) => {
            let total = problems.len() + more;
            let mut messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
            if more > 0 {
                messages.push(format!("另有 {more} 个问题未列出"));
            }
            return Ok(ReadingsOutcome {
                message: format!(
                    "{source}：{} 条读数中有 {total} 个问题，整批未保存：{}",
                    rows.len(),
                    messages.join("；")
                ),
                source,
                refused: true,
                rows: rows.len(),
                stored: 0,
                written: 0,
                unchanged: 0,
                meters: Vec::new(),
                problems,
                messages,
                more,
            });
        }
    };
    let mut values: Vec<(i64, SeriesValue)> = Vec::with_capacity(readings.len() * 2);
    for r in &readings {
        for (factor, v) in [(POWER_FACTOR, &r.pt), (ENERGY_FACTOR, &r.ept)] {
            if let Some(v) = v {
                values.push((
                    r.site_id,
                    SeriesValue {
                        factor: factor.to_owned(),
                        kind: r.kind.as_str(),
                        period_start: r.at,
                        value: Some(v.clone()),
                        converted: None,
                        flag: "N".to_owned(),
                    },
                ));
            }
        }
    }
    let stats = db.power().store_readings(actor, &source, &values).await?;
    let mut meters: Vec<String> = readings.iter().map(|r| r.code.clone()).collect();
    meters.sort();
    meters.dedup();
    Ok(ReadingsOutcome {
        message: format!(
            "{source}：已保存 {} 条读数（{} 个电表；新写入或更新 {} 个数值，{} 个与已存相同）",
            readings.len(),
            meters.len(),
            stats.written,
            stats.unchanged
        ),
        source,
        refused: false,
        rows: rows.len(),
        stored: readings.len(),
        written: stats.written,
        unchanged: stats.unchanged,
        meters,
        problems: Vec::new(),
        messages: Vec::new(),
        more: 0,
    })
}

/// The JSON push of the power company's system.
pub async fn push_json(
    db: &Db,
    actor: &Actor,
    body: &PushBody,
) -> Result<ReadingsOutcome, AppError> {
    if body.readings.is_empty() {
        return Err(AppError::InvalidFile(
            "readings 为空：没有要保存的读数".to_owned(),
        ));
    }
    store_readings(db, actor, "用电数据推送", &body.readings, &Columns::json()).await
}

/// A spreadsheet import (CSV in UTF-8 or GBK, or XLSX, as bytes).
pub async fn import_file(
    db: &Db,
    actor: &Actor,
    name: &str,
    bytes: &[u8],
) -> Result<ReadingsOutcome, AppError> {
    let name = source_name(name);
    let table = gongjian_tabular::read_bytes(&name, bytes)
        .map_err(|e| AppError::InvalidFile(format!("文件无法读取，未保存任何数据：{e}")))?;
    let (rows, columns) = readings_from_table(&table)?;
    store_readings(db, actor, &name, &rows, &columns).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meters() -> HashMap<String, MeterSite> {
        let mut m = HashMap::new();
        m.insert(
            "PWR-1".to_owned(),
            MeterSite {
                site_id: 1,
                code: "PWR-1".into(),
                kind: "power".into(),
            },
        );
        m.insert(
            "AIR-1".to_owned(),
            MeterSite {
                site_id: 2,
                code: "AIR-1".into(),
                kind: "air_station".into(),
            },
        );
        m
    }

    fn row(line: u64, meter: &str, at: &str, pt: &str, ept: &str, kind: &str) -> RawReading {
        RawReading {
            line,
            meter: meter.into(),
            at: at.into(),
            pt: pt.into(),
            ept: ept.into(),
            kind: kind.into(),
            errors: Vec::new(),
        }
    }

    fn now() -> i64 {
        parse_at("2026-12-01 12:00").unwrap()
    }

    #[test]
    fn times_parse_as_china_time_or_with_their_offset() {
        let t = parse_at("2026-12-01 08:00").unwrap();
        assert_eq!(parse_at("2026-12-01 08:00:00"), Some(t));
        assert_eq!(parse_at("2026/12/01 08:00"), Some(t));
        assert_eq!(parse_at("2026-12-01T08:00:00"), Some(t));
        assert_eq!(parse_at("20261201080000"), Some(t));
        assert_eq!(parse_at("2026-12-01T00:00:00Z"), Some(t));
        assert_eq!(parse_at("2026-12-01T08:00:00+08:00"), Some(t));
        assert_eq!(parse_at("2026-13-01 08:00"), None);
        assert_eq!(parse_at("yesterday"), None);
        assert_eq!(parse_at(&"1".repeat(500)), None);
    }

    #[test]
    fn values_are_non_negative_decimals_kept_exact() {
        assert_eq!(parse_value("12.50"), Ok(Some("12.50".into())));
        assert_eq!(parse_value(" 3 "), Ok(Some("3".into())));
        assert_eq!(parse_value("1e3"), Ok(Some("1000".into())));
        assert_eq!(parse_value(""), Ok(None));
        assert!(parse_value("-1").unwrap_err().contains("负"));
        assert!(parse_value("abc").unwrap_err().contains("不是数字"));
        assert!(parse_value("NaN").is_err());
        assert!(parse_value(&"9".repeat(40)).unwrap_err().contains("过长"));
    }

    #[test]
    fn a_good_batch_is_checked_into_readings() {
        let rows = vec![
            row(1, "PWR-1", "2026-12-01 08:00", "12.5", "1000", ""),
            row(2, "PWR-1", "2026-12-01 08:00:30", "12.5", "", "rtd"),
            row(3, "PWR-1", "2026-12-01 08:05", "", "1001", "min"),
        ];
        let got = check(&rows, &Columns::json(), &meters(), now()).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].kind, ReadingKind::Hour);
        assert_eq!(got[0].pt.as_deref(), Some("12.5"));
        assert_eq!(got[2].ept.as_deref(), Some("1001"));
    }

    #[test]
    fn every_problem_is_named_by_row_and_column() {
        let rows = vec![
            row(1, "NOPE", "2026-12-01 08:00", "1", "", ""),
            row(2, "AIR-1", "2026-12-01 08:00", "1", "", ""),
            row(3, "PWR-1", "2026-12-01 08:30", "1", "", ""),
            row(4, "PWR-1", "2026-12-01 08:00", "x", "-2", ""),
            row(5, "PWR-1", "2026-12-01 08:00", "", "", ""),
            row(6, "PWR-1", "2026-12-02 08:00", "1", "", ""),
            row(7, "PWR-1", "2026-12-01 09:00", "1", "", "day"),
            row(8, "PWR-1", "2026-12-01 10:00", "1", "", ""),
            row(9, "PWR-1", "2026-12-01 10:00", "2", "", "hour"),
        ];
        let (problems, more) = check(&rows, &Columns::json(), &meters(), now()).unwrap_err();
        assert_eq!(more, 0);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "第 1 行「meter」：“NOPE”未登记：应为已登记的用电监控点的站点编码或 MN",
                "第 2 行「meter」：“AIR-1”已登记为空气站，不是用电监控点",
                "第 3 行「at」：“2026-12-01 08:30”：小时数据的时间须为整点（该小时的开始，如 08:00）；非整点的读数请把数据类型写成 rtd（实时）或 min（分钟）",
                "第 4 行「Pt」：“x”不是数字",
                "第 4 行「Ept」：-2 为负值，不能为负",
                "第 5 行：有功功率（Pt）和有功电能（Ept）至少填写一项",
                "第 6 行「at」：“2026-12-02 08:00”晚于当前时间，不能是将来的时间",
                "第 7 行「kind」：“day”不是数据类型：应为 rtd（实时）、min（分钟）或 hour（小时，默认）",
                "第 9 行「at」：与第 8 行重复（同一电表、同一数据类型、同一时间）",
            ]
        );
    }

    #[test]
    fn at_most_fifty_problems_are_listed() {
        let rows: Vec<RawReading> = (1..=80)
            .map(|i| row(i, "NOPE", "2026-12-01 08:00", "1", "", ""))
            .collect();
        let (problems, more) = check(&rows, &Columns::json(), &meters(), now()).unwrap_err();
        assert_eq!((problems.len(), more), (MAX_PROBLEMS, 30));
    }

    #[test]
    fn json_rows_keep_their_structure_problems() {
        let body = serde_json::json!({"readings": [
            {"meter": "PWR-1", "at": "2026-12-01 08:00", "Pt": 12.5, "ept": "3"},
            {"meter": "PWR-1", "at": "2026-12-01 09:00", "Pt": true, "extra\u{202e}": 1},
            7
        ]});
        let rows = serde_json::from_value::<PushBody>(body).unwrap().readings;
        assert_eq!(rows[0].pt, "12.5");
        assert_eq!(rows[0].ept, "3");
        let (problems, _) = check(&rows, &Columns::json(), &meters(), now()).unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.contains(&"第 2 行「Pt」：应为文本或数字".to_owned()),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("第 2 行「extra\u{fffd}」：未知字段")),
            "{text:?}"
        );
        assert!(
            text.contains(&"第 3 行：每条读数应为一个对象".to_owned()),
            "{text:?}"
        );
        assert!(serde_json::from_value::<PushBody>(serde_json::json!({"x": 1})).is_err());
        assert!(serde_json::from_str::<PushBody>(r#"{"readings": 5}"#).is_err());
        // Nested values are skipped, not held; the count is bounded.
        let nested = format!(
            r#"{{"readings": [{{"meter": [[[{}]]], "a": 1, "b": 2, "c": 3, "d": 4}}]}}"#,
            "1,".repeat(1000) + "1"
        );
        let rows = serde_json::from_str::<PushBody>(&nested).unwrap().readings;
        assert_eq!(rows[0].errors.len(), 1 + UNKNOWN_FIELDS_NAMED);
        let many = format!(r#"{{"readings": [{}{{}}]}}"#, "{},".repeat(MAX_READINGS));
        assert!(serde_json::from_str::<PushBody>(&many).is_err());
    }

    #[test]
    fn a_table_is_read_by_its_chinese_headers() {
        let csv =
            "电表,时间,有功功率（kW）,有功电能(kWh),户名\nPWR-1,2026-12-01 08:00,5,100,甲\n,,,,\n";
        let table = gongjian_tabular::read_csv_bytes("a.csv", csv.as_bytes()).unwrap();
        let (rows, columns) = readings_from_table(&table).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(columns.pt, "有功功率（kW）");
        assert_eq!((rows[0].line, rows[0].pt.as_str()), (2, "5"));
        let bad = gongjian_tabular::read_csv_bytes("b.csv", b"meter,at\nPWR-1,2026-12-01 08:00\n")
            .unwrap();
        assert!(readings_from_table(&bad).is_err());
    }
}
