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
pub fn write_csv<W: Write>(file: &str, out: W, sheet: &Sheet) -> Result<(), Error> {
    let io = |e: csv::Error| Error::Io {
        file: file.to_owned(),
        source: std::io::Error::other(e),
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(&sheet.headers).map_err(io)?;
    for row in &sheet.rows {
        w.write_record(row.iter().map(|c| c.text().into_owned()))
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
    let err = |e: rust_xlsxwriter::XlsxError| Error::Xlsx {
        file: file.to_owned(),
        message: e.to_string(),
    };
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for sheet in sheets {
        let ws = workbook.add_worksheet();
        if !sheet.name.is_empty() {
            ws.set_name(&sheet.name).map_err(err)?;
        }
        for (c, h) in sheet.headers.iter().enumerate() {
            ws.write_string_with_format(0, col(c), h, &bold)
                .map_err(err)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).map_err(|_| Error::TooLarge {
                file: file.to_owned(),
            })?;
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Cell::Empty => {}
                    Cell::Text(s) => {
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

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}
