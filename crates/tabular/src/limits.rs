//! Bounds on what a spreadsheet or CSV file may make the reader allocate.
//!
//! Every file an import reads is hostile until proven otherwise: a 1.5 KB
//! XLSX can declare a cell at `XFD1048576` (a dense range of 17 billion
//! cells), a 100 KB zip entry can inflate to gigabytes, a CSV can have a
//! million columns. The reader checks each bound *before* it allocates for
//! it and answers with [`crate::Error::TooBig`], whose message is in Chinese
//! for the person who uploaded the file.

use std::time::{Duration, Instant};

use crate::Error;

/// Bounds applied by every read function. [`Limits::default`] is what the web
/// imports and the command line use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Size of the file as uploaded (CSV text, or the zipped XLSX).
    pub max_input_bytes: u64,
    /// Highest row number a non-empty cell may have (XLSX), or number of
    /// records including the header (CSV).
    pub max_rows: u32,
    /// Highest column number a non-empty cell may have (XLSX), or fields per
    /// record (CSV).
    pub max_columns: u32,
    /// Non-empty cells in the file, and cells of the resulting table
    /// (data rows × header width).
    pub max_cells: u64,
    /// Bytes of text in one cell (Excel itself stops at 32,767 characters).
    pub max_cell_bytes: usize,
    /// Sum of the uncompressed sizes of all entries of an XLSX (zip) file,
    /// as declared and as actually inflated.
    pub max_unpacked_bytes: u64,
    /// Uncompressed size of the shared-string table (`xl/sharedStrings.xml`),
    /// which the reader holds in memory whole.
    pub max_shared_strings_bytes: u64,
    /// Largest ratio of uncompressed to compressed size for an entry larger
    /// than one MiB (real sheets compress 5–30 fold; zip bombs 1000 fold).
    pub max_ratio: u64,
    /// Entries in the zip container (a workbook has a few dozen).
    pub max_zip_entries: usize,
    /// Wall-clock time for reading one file.
    pub max_duration: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 64 * MIB,
            max_rows: 1_048_576,
            max_columns: 256,
            max_cells: 10_000_000,
            max_cell_bytes: 128 * 1024,
            max_unpacked_bytes: 512 * MIB,
            max_shared_strings_bytes: 64 * MIB,
            max_ratio: 200,
            max_zip_entries: 1_000,
            max_duration: Duration::from_secs(60),
        }
    }
}

pub(crate) const MIB: u64 = 1024 * 1024;

/// Megabytes for messages, rounded up.
pub(crate) fn mib(bytes: u64) -> u64 {
    bytes.div_ceil(MIB)
}

impl Limits {
    /// The error for a file with too many rows or columns.
    pub(crate) fn shape_error(&self, file: &str) -> Error {
        too_big(
            file,
            format!(
                "表格过大：最多 {} 行 / {} 列",
                self.max_rows, self.max_columns
            ),
        )
    }

    /// The error for a file with too many cells.
    pub(crate) fn cells_error(&self, file: &str) -> Error {
        too_big(file, format!("表格过大：最多 {} 个单元格", self.max_cells))
    }

    /// The error for a file larger than `max_input_bytes`.
    pub(crate) fn input_error(&self, file: &str) -> Error {
        too_big(
            file,
            format!("文件过大：最多 {} MB", mib(self.max_input_bytes)),
        )
    }

    /// The error for one cell longer than `max_cell_bytes`.
    pub(crate) fn cell_error(&self, file: &str, line: u64, column: u64) -> Error {
        too_big(
            file,
            format!(
                "第 {line} 行第 {column} 列内容过长：单元格最多 {} KB",
                self.max_cell_bytes / 1024
            ),
        )
    }
}

pub(crate) fn too_big(file: &str, message: String) -> Error {
    Error::TooBig {
        file: file.to_owned(),
        message,
    }
}

/// The time budget of one read.
pub(crate) struct Deadline {
    end: Option<Instant>,
    limit: Duration,
}

impl Deadline {
    pub(crate) fn start(limits: &Limits) -> Self {
        Deadline {
            end: Instant::now().checked_add(limits.max_duration),
            limit: limits.max_duration,
        }
    }

    pub(crate) fn check(&self, file: &str) -> Result<(), Error> {
        match self.end {
            Some(end) if Instant::now() > end => Err(too_big(
                file,
                format!("读取表格超时：超过 {} 秒", self.limit.as_secs()),
            )),
            _ => Ok(()),
        }
    }
}
