//! Reading CSV and XLSX into a [`Table`].

use std::borrow::Cow;
use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader};

use crate::{Error, Table};

/// The detected source format / text encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark (as written by Excel "CSV UTF-8").
    Utf8Bom,
    /// GBK / GB 18030 (as written by Excel on a Chinese Windows).
    Gbk,
    /// An XLSX workbook (first worksheet).
    Xlsx,
}

/// Read a `.csv` or `.xlsx` file (chosen by the extension; `.xlsx`/`.xlsm`
/// are workbooks, anything else is CSV).
pub fn read_path(path: &Path) -> Result<Table, Error> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        file: name.clone(),
        source,
    })?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("xlsx" | "xlsm") => read_xlsx_bytes(&name, &bytes),
        _ => read_csv_bytes(&name, &bytes),
    }
}

/// Decode the whole input once: UTF-8 (with or without BOM), else GBK.
fn decode<'a>(file: &str, bytes: &'a [u8]) -> Result<(Cow<'a, str>, Encoding), Error> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok((Cow::Borrowed(s), Encoding::Utf8Bom)),
            Err(e) => Err(Error::Encoding {
                file: file.to_owned(),
                line: line_of(rest, e.valid_up_to()),
            }),
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((Cow::Borrowed(s), Encoding::Utf8)),
        Err(utf8_err) => {
            match encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes) {
                Some(s) => Ok((Cow::Owned(s.into_owned()), Encoding::Gbk)),
                None => Err(Error::Encoding {
                    file: file.to_owned(),
                    line: line_of(bytes, utf8_err.valid_up_to()),
                }),
            }
        }
    }
}

fn line_of(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// Read CSV bytes. `file` is the name used in messages.
///
/// Fields are trimmed of surrounding whitespace; blank lines are skipped;
/// every record must have as many fields as the header row.
pub fn read_csv_bytes(file: &str, bytes: &[u8]) -> Result<Table, Error> {
    let (text, encoding) = decode(file, bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let syntax = |line: u64, message: String| Error::Syntax {
        file: file.to_owned(),
        line,
        message,
    };
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => {
            return Err(Error::Empty {
                file: file.to_owned(),
            });
        }
        Err(e) => return Err(syntax(csv_line(&e), e.to_string())),
    }
    let header_line = record_line(text.as_bytes(), &record);
    // Fields split on ASCII delimiters of valid UTF-8 are valid UTF-8.
    let headers: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(trim_ascii(f)).into_owned())
        .collect();
    let width = headers.len();
    // Rough capacity guess: avoids repeated regrowth of the big buffers.
    let approx_rows = text.len() / (width * 4).max(8);
    let mut buf: Vec<u8> = Vec::with_capacity(text.len());
    let mut ends: Vec<u32> = Vec::with_capacity(approx_rows * width);
    let mut lines: Vec<u64> = Vec::with_capacity(approx_rows);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record_line(text.as_bytes(), &record);
                if record.len() != width {
                    return Err(syntax(
                        line,
                        format!(
                            "this row has {} fields but the header has {} (字段数与表头不一致)",
                            record.len(),
                            width
                        ),
                    ));
                }
                for field in record.iter() {
                    buf.extend_from_slice(trim_ascii(field));
                    let end = u32::try_from(buf.len()).map_err(|_| Error::TooLarge {
                        file: file.to_owned(),
                    })?;
                    ends.push(end);
                }
                lines.push(line);
            }
            Err(e) => return Err(syntax(csv_line(&e), e.to_string())),
        }
    }
    // The buffer is a concatenation of UTF-8 fields: valid UTF-8; checked once.
    let text = String::from_utf8(buf).map_err(|_| Error::Encoding {
        file: file.to_owned(),
        line: 0,
    })?;
    Ok(Table {
        source: file.to_owned(),
        encoding,
        headers,
        header_line,
        text,
        ends,
        lines,
    })
}

/// The line where a record's first field starts. The csv crate reports the
/// position before any skipped blank lines, so step over those.
fn record_line(text: &[u8], record: &csv::ByteRecord) -> u64 {
    let Some(pos) = record.position() else {
        return 0;
    };
    let mut line = pos.line();
    let mut at = pos.byte() as usize;
    while let Some(&b) = text.get(at) {
        match b {
            b'\n' => line += 1,
            b'\r' => {}
            _ => break,
        }
        at += 1;
    }
    line
}

/// Trim ASCII whitespace (cheaper than re-building the record with
/// `csv::Trim`; fields almost never carry any).
#[inline]
fn trim_ascii(f: &[u8]) -> &[u8] {
    match (f.first(), f.last()) {
        (Some(a), Some(b)) if !a.is_ascii_whitespace() && !b.is_ascii_whitespace() => f,
        _ => f.trim_ascii(),
    }
}

fn csv_line(e: &csv::Error) -> u64 {
    e.position().map_or(0, |p| p.line())
}

/// Read the first worksheet of an XLSX workbook. The first non-empty row is
/// the header; line numbers are Excel row numbers. Numbers are rendered in
/// their shortest exact decimal form; date-time cells as
/// `YYYY-MM-DD HH:MM:SS` (rounded to the second).
pub fn read_xlsx_bytes(file: &str, bytes: &[u8]) -> Result<Table, Error> {
    let xlsx_err = |message: String| Error::Xlsx {
        file: file.to_owned(),
        message,
    };
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| xlsx_err(format!("not a readable workbook: {e}")))?;
    let range = match workbook.worksheet_range_at(0) {
        Some(Ok(range)) => range,
        Some(Err(e)) => return Err(xlsx_err(format!("cannot read the first worksheet: {e}"))),
        None => {
            return Err(Error::Empty {
                file: file.to_owned(),
            });
        }
    };
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows().enumerate().filter(|(_, r)| {
        r.iter().any(|c| {
            !matches!(c, Data::Empty) && !matches!(c, Data::String(s) if s.trim().is_empty())
        })
    });
    let Some((header_index, header_cells)) = rows.next() else {
        return Err(Error::Empty {
            file: file.to_owned(),
        });
    };
    let header_line = u64::from(first_row) + header_index as u64 + 1;
    let mut headers = Vec::with_capacity(header_cells.len());
    for (c, cell) in header_cells.iter().enumerate() {
        headers.push(cell_text(cell, file, header_line, c, first_col)?);
    }
    while headers.last().is_some_and(|h| h.is_empty()) {
        headers.pop();
    }
    let width = headers.len();
    let mut buf = String::new();
    let mut ends = Vec::new();
    let mut lines = Vec::new();
    for (index, cells) in rows {
        let line = u64::from(first_row) + index as u64 + 1;
        for (c, cell) in cells.iter().enumerate() {
            let text = cell_text(cell, file, line, c, first_col)?;
            if c >= width {
                if !text.is_empty() {
                    return Err(Error::Cell {
                        file: file.to_owned(),
                        line,
                        column: crate::Column {
                            number: first_col as usize + c + 1,
                            name: String::new(),
                        },
                        message: "a value in a column without a header (此列没有表头)".into(),
                    });
                }
                continue;
            }
            buf.push_str(&text);
            ends.push(u32::try_from(buf.len()).map_err(|_| Error::TooLarge {
                file: file.to_owned(),
            })?);
        }
        lines.push(line);
    }
    Ok(Table {
        source: file.to_owned(),
        encoding: Encoding::Xlsx,
        headers,
        header_line,
        text: buf,
        ends,
        lines,
    })
}

fn cell_text(
    cell: &Data,
    file: &str,
    line: u64,
    c: usize,
    first_col: u32,
) -> Result<String, Error> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(dt) => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            datetime_text(y, mo, d, h, mi, s, ms)
        }
        Data::Error(e) => {
            return Err(Error::Cell {
                file: file.to_owned(),
                line,
                column: crate::Column {
                    number: first_col as usize + c + 1,
                    name: String::new(),
                },
                message: format!("the cell holds a spreadsheet error ({e})"),
            });
        }
    })
}

/// Shortest decimal text that reads back as the same `f64` (what Excel shows
/// for a typed number), without a trailing ".0".
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn datetime_text(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, ms: u16) -> String {
    use chrono::{Duration, NaiveDate};
    let Some(base) = NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))
        .and_then(|date| date.and_hms_opt(u32::from(h), u32::from(mi), u32::from(s)))
    else {
        return format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}");
    };
    // Excel stores times as fractions of a day; 08:00 may come back as
    // 07:59:59.999. Round to the nearest second.
    let t = if ms >= 500 {
        base + Duration::seconds(1)
    } else {
        base
    };
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}
