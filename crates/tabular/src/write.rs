//! Writing tables as CSV (UTF-8) and XLSX.

use std::io::Write;
use std::path::Path;

use rust_decimal::Decimal;

use crate::Error;

/// One output cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A blank cell.
    Empty,
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// An exact decimal. CSV shows it exactly as given; XLSX stores it as a
    /// spreadsheet number (a binary float: exact for up to 15 significant
    /// digits, which covers every published statistic).
    Number(Decimal),
}

impl Cell {
    /// The cell as text (what a page shows).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Empty => "".into(),
            Cell::Text(s) => s.as_str().into(),
            Cell::Int(i) => i.to_string().into(),
            Cell::Number(d) => d.to_string().into(),
        }
    }
}

impl Cell {
    /// The cell as CSV field text: numbers as they are, text through
    /// [`csv_safe`].
    pub fn csv_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Text(s) => csv_safe(s),
            other => other.text(),
        }
    }
}

/// Make a text field safe to open in a spreadsheet (CSV formula injection,
/// OWASP): text starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return gets a leading `'`, so that Excel, WPS and LibreOffice show it as
/// text instead of running it (`=HYPERLINK(...)`, `-1+cmd|' /C calc'!A0`).
/// Text that is wholly a decimal number (`-3.5`, `+12`, `-1e-3`) stays as it
/// is: a spreadsheet reads it as that number and nothing else.
pub fn csv_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let risky = matches!(
        text.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    // A lone "-" (a common "no value" mark) cannot be a formula.
    if risky && text != "-" && !is_plain_number(text) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// A decimal number and nothing else: optional sign, digits with at most
/// one point, an optional exponent.
fn is_plain_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let (mut digits, mut point) = (0, false);
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => digits += 1,
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl From<Decimal> for Cell {
    fn from(d: Decimal) -> Self {
        Cell::Number(d)
    }
}
impl From<i64> for Cell {
    fn from(i: i64) -> Self {
        Cell::Int(i)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// A named sheet: header row and data rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sheet {
    /// Worksheet name (XLSX); ignored by CSV.
    pub name: String,
    /// Header row.
    pub headers: Vec<String>,
    /// Data rows.
    pub rows: Vec<Vec<Cell>>,
}

/// Write one sheet as UTF-8 CSV (no BOM) to `out`. `file` names the
/// destination in errors.
///
/// Text that a spreadsheet would run as a formula is neutralised (see
/// [`csv_safe`]); [`Cell::Int`] and [`Cell::Number`] are numbers and are
/// written as they are, negative ones included.
pub fn write_csv<W: Write>(file: &str, out: W, sheet: &Sheet) -> Result<(), Error> {
    let io = |e: csv::Error| Error::Io {
        file: file.to_owned(),
        source: std::io::Error::other(e),
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(sheet.headers.iter().map(|h| csv_safe(h).into_owned()))
        .map_err(io)?;
    for row in &sheet.rows {
        w.write_record(row.iter().map(|c| c.csv_text().into_owned()))
            .map_err(io)?;
    }
    w.flush().map_err(|source| Error::Io {
        file: file.to_owned(),
        source,
    })
}

/// Write one sheet as UTF-8 CSV to a file.
pub fn write_csv_path(path: &Path, sheet: &Sheet) -> Result<(), Error> {
    let file = path.display().to_string();
    let f = std::fs::File::create(path).map_err(|source| Error::Io {
        file: file.clone(),
        source,
    })?;
    write_csv(&file, std::io::BufWriter::new(f), sheet)
}

/// Build an XLSX workbook with one worksheet per sheet, in memory.
pub fn xlsx_bytes(file: &str, sheets: &[Sheet]) -> Result<Vec<u8>, Error> {
    xlsx_bytes_titled(file, sheets, &[])
}

/// As [`xlsx_bytes`], with a title row above the header of the sheets that
/// have one in `titles` (same order; missing or empty: no title row), as
/// a printed report has: bold, across the sheet's columns.
pub fn xlsx_bytes_titled(
    file: &str,
    sheets: &[Sheet],
    titles: &[String],
) -> Result<Vec<u8>, Error> {
    let err = |e: rust_xlsxwriter::XlsxError| Error::Xlsx {
        file: file.to_owned(),
        message: e.to_string(),
    };
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let heading = rust_xlsxwriter::Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(rust_xlsxwriter::FormatAlign::Center);
    for (i, sheet) in sheets.iter().enumerate() {
        let ws = workbook.add_worksheet();
        if !sheet.name.is_empty() {
            ws.set_name(&sheet.name).map_err(err)?;
        }
        let title = titles.get(i).filter(|t| !t.is_empty());
        let top: u32 = u32::from(title.is_some());
        if let Some(t) = title {
            let last = col(sheet.headers.len().max(1) - 1);
            if last > 0 {
                ws.merge_range(0, 0, 0, last, t, &heading).map_err(err)?;
            } else {
                ws.write_string_with_format(0, 0, t, &heading)
                    .map_err(err)?;
            }
        }
        for (c, h) in sheet.headers.iter().enumerate() {
            ws.write_string_with_format(top, col(c), h, &bold)
                .map_err(err)?;
        }
        // The title and header stay in view while scrolling; columns fit
        // their text.
        ws.set_freeze_panes(top + 1, 0).map_err(err)?;
        for (c, width) in column_widths(sheet).into_iter().enumerate() {
            ws.set_column_width(col(c), width).map_err(err)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = u32::try_from(r + 1 + top as usize).map_err(|_| Error::TooLarge {
                file: file.to_owned(),
            })?;
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Empty => {}
                    Cell::Text(s) => {
                        // Always a string cell: text starting with '=' is
                        // never written as a formula.
                        ws.write_string(r, col(c), s).map_err(err)?;
                    }
                    Cell::Int(i) => {
                        // i64 → f64 is exact below 2^53; counts are far below.
                        ws.write_number(r, col(c), *i as f64).map_err(err)?;
                    }
                    Cell::Number(d) => {
                        // The nearest binary float to the exact decimal.
                        let f: f64 = d.to_string().parse().unwrap_or(f64::NAN);
                        ws.write_number(r, col(c), f).map_err(err)?;
                    }
                }
            }
        }
    }
    workbook.save_to_buffer().map_err(err)
}

/// Write an XLSX workbook to a file.
pub fn write_xlsx_path(path: &Path, sheets: &[Sheet]) -> Result<(), Error> {
    let file = path.display().to_string();
    let bytes = xlsx_bytes(&file, sheets)?;
    std::fs::write(path, bytes).map_err(|source| Error::Io { file, source })
}

/// Width of each column in characters: the widest header or cell, a CJK
/// character counted twice, between 6 and 60 (long text wraps in Excel's
/// own way rather than making a sheet a screen wide).
fn column_widths(sheet: &Sheet) -> Vec<f64> {
    let width = |s: &str| -> usize {
        s.chars()
            .map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 })
            .sum()
    };
    (0..sheet.headers.len())
        .map(|c| {
            let cells = sheet
                .rows
                .iter()
                .filter_map(|r| r.get(c))
                .map(|cell| match cell {
                    Cell::Empty => 0,
                    Cell::Text(s) => width(s),
                    Cell::Int(i) => i.to_string().len(),
                    Cell::Number(d) => d.to_string().len(),
                });
            let w = cells.chain([width(&sheet.headers[c])]).max().unwrap_or(0);
            (w + 2).clamp(6, 60) as f64
        })
        .collect()
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}
