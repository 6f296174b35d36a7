//! Tabular input and output for the `gongjian` command line: CSV (UTF-8,
//! UTF-8 with BOM or GBK, detected automatically) and XLSX in, CSV and XLSX
//! out.
//!
//! A [`Table`] holds a header row and data rows. Every row keeps the 1-based
//! line number it came from (the physical CSV line where the record starts,
//! or the Excel row number), so callers can report errors as
//! "file, line, column". Cell text is stored in one contiguous buffer: reading
//! does not allocate per cell, which keeps large files (a year of hourly data
//! for a hundred stations) fast.
//!
//! Every read is bounded by [`Limits`] (rows, columns, cells, cell length,
//! file size, unpacked size of an XLSX, time), checked before the reader
//! allocates: the `*_with` functions take explicit limits, the others use
//! [`Limits::default`]. Imports should call [`read_bytes`], which tells an
//! XLSX from a CSV by its content.
//!
//! ```
//! let table = gongjian_tabular::read_csv_bytes("a.csv", b"station,so2\nA,12\nB,\n").unwrap();
//! assert_eq!(table.headers(), ["station", "so2"]);
//! let row = table.row(1);
//! assert_eq!((row.line(), row.get(0), row.get(1)), (3, "B", ""));
//! ```
#![forbid(unsafe_code)]

mod limits;
mod read;
mod write;

pub use limits::Limits;
pub use read::{
    Encoding, read_bytes, read_bytes_with, read_csv_bytes, read_csv_bytes_with, read_path,
    read_path_with, read_xlsx_bytes, read_xlsx_bytes_with,
};
pub use write::{
    Cell, Sheet, csv_safe, write_csv, write_csv_path, write_xlsx_path, xlsx_bytes,
    xlsx_bytes_titled,
};

use std::borrow::Cow;
use std::fmt;

/// One problem of an imported table or batch, shown as
/// `第 N 行「列」：原因` (`第 N 行：原因` for the whole row).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Problem {
    /// 1-based line (Excel row, CSV line or position in a batch).
    pub line: u64,
    /// The column's header or the field as written (quoted with [`quote`]);
    /// empty for the whole row.
    pub column: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "第 {} 行：{}", self.line, self.message)
        } else {
            write!(
                f,
                "第 {} 行「{}」：{}",
                self.line, self.column, self.message
            )
        }
    }
}

/// The problems of a refused import as they are found: the first `max`
/// kept, their columns quoted to `quote_max` characters, the rest counted.
#[derive(Debug)]
pub struct Problems {
    pub list: Vec<Problem>,
    /// Problems found beyond `max`.
    pub more: usize,
    max: usize,
    quote_max: usize,
}

impl Problems {
    pub fn new(max: usize, quote_max: usize) -> Problems {
        Problems {
            list: Vec::new(),
            more: 0,
            max,
            quote_max,
        }
    }

    pub fn push(&mut self, line: u64, column: &str, message: String) {
        if self.list.len() < self.max {
            self.list.push(Problem {
                line,
                column: quote(column, self.quote_max).into_owned(),
                message,
            });
        } else {
            self.more += 1;
        }
    }

    /// Problems found, listed or not.
    pub fn count(&self) -> usize {
        self.list.len() + self.more
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }
}

/// Text of a hostile cell, header or file name fit to quote in a message:
/// at most `max` characters (then "…"), control, zero-width and
/// bidirectional-override characters replaced by U+FFFD (they could
/// rewrite a terminal, hide text or reorder the message around them).
/// Every import quotes what it refuses through this one function.
pub fn quote(s: &str, max: usize) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    let long = s.chars().nth(max).is_some();
    if !long && !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if unsafe_char(c) { '\u{fffd}' } else { c })
        .collect();
    if long {
        out.push('…');
    }
    Cow::Owned(out)
}

/// Errors of reading and writing tables. Every message names the file and,
/// where one applies, the line and column.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are neither UTF-8 nor GBK.
    #[error("{file}, line {line}: text is neither UTF-8 nor GBK (文件编码无法识别)")]
    Encoding { file: String, line: u64 },
    /// A CSV syntax problem (e.g. a row with the wrong number of fields).
    #[error("{file}, line {line}: {message}")]
    Syntax {
        file: String,
        line: u64,
        message: String,
    },
    /// The file has no header row.
    #[error("{file}: the file is empty (no header row)")]
    Empty { file: String },
    /// A problem with one cell, reported by the caller through
    /// [`Table::cell_error`].
    #[error("{file}, line {line}, column {column}: {message}")]
    Cell {
        file: String,
        line: u64,
        column: Column,
        message: String,
    },
    /// A problem with the spreadsheet container.
    #[error("{file}: {message}")]
    Xlsx { file: String, message: String },
    /// The file exceeds one of the [`Limits`] (rows, columns, cells, size,
    /// unpacked size, time). The message is for the uploader, in Chinese.
    #[error("{file}: {message}")]
    TooBig { file: String, message: String },
    /// The file is too large for the in-memory layout (more than 4 GiB of text).
    #[error("{file}: the file is too large (more than 4 GiB of cell text)")]
    TooLarge { file: String },
}

/// A column named in an error: 1-based position and header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// 1-based column number.
    pub number: usize,
    /// The header text of the column (may be empty).
    pub name: String,
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "{}", self.number)
        } else {
            write!(f, "{} ({})", self.number, self.name)
        }
    }
}

/// A table read from a file: a header row and data rows of the same width.
#[derive(Debug, Clone)]
pub struct Table {
    source: String,
    encoding: Encoding,
    headers: Vec<String>,
    header_line: u64,
    /// All data cell text, row-major, concatenated.
    text: String,
    /// End offset in `text` of each data cell, row-major (`rows × width`).
    ends: Vec<u32>,
    /// 1-based line number of each data row.
    lines: Vec<u64>,
}

impl Table {
    /// The file name used in messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The text encoding that was detected (XLSX reports [`Encoding::Xlsx`]).
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Header names, trimmed.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.headers.len()
    }

    /// Number of data rows (the header row excluded).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when there are no data rows.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Position of a header (exact match after trimming), if present.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The data row at `index` (0-based). Panics if out of range.
    pub fn row(&self, index: usize) -> Row<'_> {
        assert!(index < self.len(), "row index out of range");
        Row { table: self, index }
    }

    /// Iterate over data rows in file order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        (0..self.len()).map(move |index| Row { table: self, index })
    }

    /// Every data row as its line number and its cells (one per header),
    /// owned: the form pure code that takes rows of text reads.
    pub fn line_cells(&self) -> Vec<(u64, Vec<String>)> {
        self.rows()
            .map(|r| {
                (
                    r.line(),
                    (0..self.width()).map(|c| r.get(c).to_owned()).collect(),
                )
            })
            .collect()
    }

    /// An error about one cell, naming file, line and column.
    pub fn cell_error(&self, line: u64, column: usize, message: impl Into<String>) -> Error {
        Error::Cell {
            file: self.source.clone(),
            line,
            column: Column {
                number: column + 1,
                name: self.headers.get(column).cloned().unwrap_or_default(),
            },
            message: message.into(),
        }
    }

    /// An error about a header cell (line of the header row).
    pub fn header_error(&self, column: usize, message: impl Into<String>) -> Error {
        self.cell_error(self.header_line(), column, message)
    }

    /// The line of the header row (1 for CSV; the Excel row for XLSX).
    pub fn header_line(&self) -> u64 {
        self.header_line
    }
}

/// One data row of a [`Table`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    table: &'a Table,
    index: usize,
}

impl<'a> Row<'a> {
    /// 1-based line number in the source file.
    pub fn line(&self) -> u64 {
        self.table.lines[self.index]
    }

    /// Cell text of column `column` (0-based), trimmed; "" when blank.
    pub fn get(&self, column: usize) -> &'a str {
        let width = self.table.headers.len();
        assert!(column < width, "column index out of range");
        let at = self.index * width + column;
        let end = self.table.ends[at] as usize;
        let start = if at == 0 {
            0
        } else {
            self.table.ends[at - 1] as usize
        };
        &self.table.text[start..end]
    }

    /// Number of cells (the table width).
    pub fn len(&self) -> usize {
        self.table.headers.len()
    }

    /// True for a table without columns.
    pub fn is_empty(&self) -> bool {
        self.table.headers.is_empty()
    }

    /// Iterate over the cells.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let row = *self;
        (0..row.len()).map(move |c| row.get(c))
    }

    /// An error about the cell of this row in `column`.
    pub fn error(&self, column: usize, message: impl Into<String>) -> Error {
        self.table.cell_error(self.line(), column, message)
    }
}
