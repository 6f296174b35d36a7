//! Reading CSV and XLSX into a [`Table`].

use std::borrow::Cow;
use std::io::{Cursor, Read};
use std::path::Path;

use calamine::{Data, Reader};

use crate::limits::{Deadline, MIB, mib, too_big};
use crate::{Error, Limits, Table};

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
/// are workbooks, anything else is CSV) within [`Limits::default`].
pub fn read_path(path: &Path) -> Result<Table, Error> {
    read_path_with(path, &Limits::default())
}

/// [`read_path`] within explicit limits: the file is not read into memory
/// when it is larger than `max_input_bytes`.
pub fn read_path_with(path: &Path, limits: &Limits) -> Result<Table, Error> {
    let name = path.display().to_string();
    let io = |source| Error::Io {
        file: name.clone(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    f.take(limits.max_input_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("xlsx" | "xlsm") => read_xlsx_bytes_with(&name, &bytes, limits),
        _ => read_csv_bytes_with(&name, &bytes, limits),
    }
}

/// Read an uploaded file within [`Limits::default`]: an XLSX workbook when
/// the bytes are a zip container, CSV otherwise. This is the entry point
/// for imports.
pub fn read_bytes(file: &str, bytes: &[u8]) -> Result<Table, Error> {
    read_bytes_with(file, bytes, &Limits::default())
}

/// [`read_bytes`] within explicit limits.
pub fn read_bytes_with(file: &str, bytes: &[u8], limits: &Limits) -> Result<Table, Error> {
    if bytes.starts_with(b"PK") {
        read_xlsx_bytes_with(file, bytes, limits)
    } else {
        read_csv_bytes_with(file, bytes, limits)
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

/// Read CSV bytes within [`Limits::default`]. `file` is the name used in
/// messages.
///
/// Fields are trimmed of surrounding whitespace; blank lines are skipped;
/// every record must have as many fields as the header row.
pub fn read_csv_bytes(file: &str, bytes: &[u8]) -> Result<Table, Error> {
    read_csv_bytes_with(file, bytes, &Limits::default())
}

/// [`read_csv_bytes`] within explicit limits: the input size, the number of
/// records and fields, the length of each field, the cell count and the time.
pub fn read_csv_bytes_with(file: &str, bytes: &[u8], limits: &Limits) -> Result<Table, Error> {
    if bytes.len() as u64 > limits.max_input_bytes {
        return Err(limits.input_error(file));
    }
    let deadline = Deadline::start(limits);
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
    check_csv_record(file, limits, header_line, &record)?;
    // Fields split on ASCII delimiters of valid UTF-8 are valid UTF-8.
    let headers: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(trim_ascii(f)).into_owned())
        .collect();
    let width = headers.len();
    // Rough capacity guess: avoids repeated regrowth of the big buffers.
    let approx_rows = (text.len() / (width * 4).max(8)).min(limits.max_rows as usize);
    let mut buf: Vec<u8> = Vec::with_capacity(text.len());
    let mut ends: Vec<u32> = Vec::with_capacity(approx_rows * width);
    let mut lines: Vec<u64> = Vec::with_capacity(approx_rows);
    let max_data_rows =
        (limits.max_rows.saturating_sub(1) as u64).min(limits.max_cells / width.max(1) as u64);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record_line(text.as_bytes(), &record);
                if lines.len() as u64 >= max_data_rows {
                    return Err(if lines.len() as u64 + 1 >= u64::from(limits.max_rows) {
                        limits.shape_error(file)
                    } else {
                        limits.cells_error(file)
                    });
                }
                if lines.len().is_multiple_of(4096) {
                    deadline.check(file)?;
                }
                check_csv_record(file, limits, line, &record)?;
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

/// Fields per record and bytes per field within the limits.
fn check_csv_record(
    file: &str,
    limits: &Limits,
    line: u64,
    record: &csv::ByteRecord,
) -> Result<(), Error> {
    if record.len() as u64 > u64::from(limits.max_columns) {
        return Err(limits.shape_error(file));
    }
    match record.iter().position(|f| f.len() > limits.max_cell_bytes) {
        Some(c) => Err(limits.cell_error(file, line, c as u64 + 1)),
        None => Ok(()),
    }
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

/// Read the first worksheet of an XLSX workbook within [`Limits::default`].
/// The first non-empty row is the header; line numbers are Excel row
/// numbers. Numbers are rendered in their shortest exact decimal form;
/// date-time cells as `YYYY-MM-DD HH:MM:SS` (rounded to the second).
pub fn read_xlsx_bytes(file: &str, bytes: &[u8]) -> Result<Table, Error> {
    read_xlsx_bytes_with(file, bytes, &Limits::default())
}

/// [`read_xlsx_bytes`] within explicit limits.
///
/// The zip container is checked first (entry count, declared and actual
/// uncompressed sizes, compression ratio), inflating every entry through a
/// counter that stops at the declared size, before any of it is parsed.
/// The worksheet is then streamed cell by cell: only non-empty cells are
/// kept, so a sheet that declares a far corner (`XFD1048576`) costs one
/// cell, and a cell beyond `max_rows`/`max_columns` stops the read. The
/// dense table is allocated only once its size (data rows × header width)
/// is known to be within `max_cells`.
pub fn read_xlsx_bytes_with(file: &str, bytes: &[u8], limits: &Limits) -> Result<Table, Error> {
    if bytes.len() as u64 > limits.max_input_bytes {
        return Err(limits.input_error(file));
    }
    let deadline = Deadline::start(limits);
    let xlsx_err = |message: String| Error::Xlsx {
        file: file.to_owned(),
        message,
    };
    check_zip(file, bytes, limits, &deadline)?;
    // calamine indexes some tables with values from the file (a shared
    // string number, for one) and panics when they are out of range: such
    // a file is refused like any other broken workbook.
    let cells = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        sheet_cells(file, bytes, limits, &deadline)
    }))
    .unwrap_or_else(|_| {
        Err(xlsx_err(
            "the workbook refers to parts it does not contain (不是有效的 XLSX 文件)".into(),
        ))
    })?;
    cells.into_table(file, limits)
}

/// The non-empty cells of the first worksheet, streamed, within the limits.
fn sheet_cells(
    file: &str,
    bytes: &[u8],
    limits: &Limits,
    deadline: &Deadline,
) -> Result<SparseCells, Error> {
    let xlsx_err = |message: String| Error::Xlsx {
        file: file.to_owned(),
        message,
    };
    let mut workbook: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        xlsx_err(format!(
            "not a readable workbook (不是有效的 XLSX 文件): {e}"
        ))
    })?;
    let Some(first) = workbook.sheet_names().first().cloned() else {
        return Err(Error::Empty {
            file: file.to_owned(),
        });
    };
    let mut reader = workbook
        .worksheet_cells_reader(&first)
        .map_err(|e| xlsx_err(format!("cannot read the first worksheet: {e}")))?;
    let mut cells = SparseCells::default();
    let mut seen: u64 = 0;
    while let Some(cell) = reader
        .next_cell()
        .map_err(|e| xlsx_err(format!("cannot read the first worksheet: {e}")))?
    {
        seen += 1;
        if seen.is_multiple_of(4096) {
            deadline.check(file)?;
        }
        let (row, col) = cell.get_position();
        let data = Data::from(cell.get_value().clone());
        if matches!(data, Data::Empty) {
            continue;
        }
        if row >= limits.max_rows || col >= limits.max_columns {
            return Err(limits.shape_error(file));
        }
        let text = cell_text(&data, file, u64::from(row) + 1, col as usize, 0)?;
        if text.is_empty() {
            continue;
        }
        if text.len() > limits.max_cell_bytes {
            return Err(limits.cell_error(file, u64::from(row) + 1, u64::from(col) + 1));
        }
        if cells.len() as u64 >= limits.max_cells {
            return Err(limits.cells_error(file));
        }
        cells.push(row, col, &text, file)?;
    }
    Ok(cells)
}

/// The non-empty cells of a worksheet, in one text buffer.
#[derive(Default)]
struct SparseCells {
    text: String,
    /// (row, column, start, end) of each cell's text, 0-based coordinates.
    at: Vec<(u32, u32, u32, u32)>,
}

impl SparseCells {
    fn len(&self) -> usize {
        self.at.len()
    }

    fn push(&mut self, row: u32, col: u32, text: &str, file: &str) -> Result<(), Error> {
        let too_large = || Error::TooLarge {
            file: file.to_owned(),
        };
        let start = u32::try_from(self.text.len()).map_err(|_| too_large())?;
        self.text.push_str(text);
        let end = u32::try_from(self.text.len()).map_err(|_| too_large())?;
        self.at.push((row, col, start, end));
        Ok(())
    }

    /// The first non-empty row is the header (trailing blank header cells
    /// dropped); later non-empty rows are data; every column starts at the
    /// leftmost non-empty cell of the sheet.
    fn into_table(mut self, file: &str, limits: &Limits) -> Result<Table, Error> {
        // Sheets list rows in order; a stable sort keeps the last of two
        // cells at one position last, and that one wins (as in Excel).
        self.at.sort_by_key(|&(r, c, _, _)| (r, c));
        self.at.dedup_by(|later, earlier| {
            let same = (later.0, later.1) == (earlier.0, earlier.1);
            if same {
                *earlier = *later;
            }
            same
        });
        let Some(&(header_row, _, _, _)) = self.at.first() else {
            return Err(Error::Empty {
                file: file.to_owned(),
            });
        };
        let first_col = self.at.iter().map(|a| a.1).min().unwrap_or(0);
        let header_end = self.at.partition_point(|a| a.0 == header_row);
        let end_col = self.at[..header_end]
            .iter()
            .map(|a| a.1 + 1)
            .max()
            .unwrap_or(first_col);
        let width = (end_col - first_col) as usize;
        let cell = |a: &(u32, u32, u32, u32)| &self.text[a.2 as usize..a.3 as usize];
        let mut headers = vec![String::new(); width];
        for a in &self.at[..header_end] {
            headers[(a.1 - first_col) as usize] = cell(a).to_owned();
        }
        let data = &self.at[header_end..];
        let rows = 1 + data.windows(2).filter(|w| w[0].0 != w[1].0).count();
        let rows = if data.is_empty() { 0 } else { rows };
        if (rows as u64).saturating_mul(width as u64) > limits.max_cells {
            return Err(limits.cells_error(file));
        }
        if let Some(a) = data.iter().find(|a| a.1 >= end_col) {
            return Err(Error::Cell {
                file: file.to_owned(),
                line: u64::from(a.0) + 1,
                column: crate::Column {
                    number: a.1 as usize + 1,
                    name: String::new(),
                },
                message: "a value in a column without a header (此列没有表头)".into(),
            });
        }
        let mut buf = String::with_capacity(self.text.len());
        let mut ends = Vec::with_capacity(rows * width);
        let mut lines = Vec::with_capacity(rows);
        let too_large = || Error::TooLarge {
            file: file.to_owned(),
        };
        for row in data.chunk_by(|x, y| x.0 == y.0) {
            let mut next = row.iter().peekable();
            for c in first_col..end_col {
                if let Some(a) = next.next_if(|a| a.1 == c) {
                    buf.push_str(cell(a));
                }
                ends.push(u32::try_from(buf.len()).map_err(|_| too_large())?);
            }
            lines.push(u64::from(row[0].0) + 1);
        }
        Ok(Table {
            source: file.to_owned(),
            encoding: Encoding::Xlsx,
            headers,
            header_line: u64::from(header_row) + 1,
            text: buf,
            ends,
            lines,
        })
    }
}

/// Check the zip container of an XLSX before anything parses it: at most
/// `max_zip_entries` entries (read from the end-of-central-directory record
/// before the zip reader allocates for them; ZIP64 is refused), each entry's
/// declared size and compression ratio, and the bytes each entry actually
/// inflates to (counted while inflating, never past the declared size).
fn check_zip(file: &str, bytes: &[u8], limits: &Limits, deadline: &Deadline) -> Result<(), Error> {
    let not_xlsx = |detail: String| Error::Xlsx {
        file: file.to_owned(),
        message: format!("不是有效的 XLSX 文件（{detail}）"),
    };
    let unpacked_error = || {
        too_big(
            file,
            format!("文件解压后超过 {} MB", mib(limits.max_unpacked_bytes)),
        )
    };
    let entries = zip_entry_count(bytes).map_err(not_xlsx)?;
    if entries > limits.max_zip_entries {
        return Err(too_big(
            file,
            format!("压缩包内文件过多：最多 {} 个", limits.max_zip_entries),
        ));
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| not_xlsx(e.to_string()))?;
    if archive.len() > limits.max_zip_entries {
        return Err(too_big(
            file,
            format!("压缩包内文件过多：最多 {} 个", limits.max_zip_entries),
        ));
    }
    let mut total: u64 = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| not_xlsx(e.to_string()))?;
        let declared = entry.size();
        let cap = if entry.name().eq_ignore_ascii_case("xl/sharedStrings.xml") {
            limits.max_shared_strings_bytes
        } else {
            limits.max_unpacked_bytes
        };
        if declared > cap {
            return Err(if cap == limits.max_unpacked_bytes {
                unpacked_error()
            } else {
                too_big(file, format!("共享字符串表解压后超过 {} MB", mib(cap)))
            });
        }
        if declared > limits.max_unpacked_bytes.saturating_sub(total) {
            return Err(unpacked_error());
        }
        let ratio = declared / entry.compressed_size().max(1);
        if declared > MIB && ratio > limits.max_ratio {
            return Err(too_big(
                file,
                format!(
                    "压缩比异常（{ratio} 倍，最多 {} 倍），疑似压缩炸弹",
                    limits.max_ratio
                ),
            ));
        }
        let mut actual: u64 = 0;
        loop {
            let n = entry
                .read(&mut chunk)
                .map_err(|e| not_xlsx(e.to_string()))?;
            if n == 0 {
                break;
            }
            actual += n as u64;
            if actual > declared {
                return Err(not_xlsx(format!(
                    "“{}”解压后大于其声明的大小",
                    entry.name()
                )));
            }
            deadline.check(file)?;
        }
        total += actual;
    }
    Ok(())
}

/// The number of entries declared by the end-of-central-directory record.
/// ZIP64 archives (and anything that looks like one) are refused: a
/// workbook small enough to import never needs one.
fn zip_entry_count(bytes: &[u8]) -> Result<usize, String> {
    const EOCD: &[u8] = b"PK\x05\x06";
    let tail_start = bytes.len().saturating_sub(22 + 65_535 + 20);
    let tail = &bytes[tail_start..];
    if tail
        .windows(4)
        .any(|w| w == b"PK\x06\x06" || w == b"PK\x06\x07")
    {
        return Err("不支持 ZIP64 格式".into());
    }
    let at = tail
        .windows(4)
        .rposition(|w| w == EOCD)
        .ok_or_else(|| "找不到压缩包目录".to_owned())?;
    let record = &tail[at..];
    if record.len() < 22 {
        return Err("压缩包目录不完整".into());
    }
    let u16_at = |i: usize| u16::from_le_bytes([record[i], record[i + 1]]);
    let (on_disk, total) = (u16_at(8), u16_at(10));
    if on_disk == u16::MAX || total == u16::MAX {
        return Err("不支持 ZIP64 格式".into());
    }
    // The zip reader may settle on another end record than the last one;
    // every candidate must be within the bound.
    let most = tail
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == EOCD)
        .filter_map(|(i, _)| tail.get(i + 10..i + 12))
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .max()
        .unwrap_or(total);
    Ok(usize::from(most.max(total)))
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
