//! Fuzz the spreadsheet import path: arbitrary bytes go to
//! `gongjian_tabular::read_bytes_with`, the bounded reader every import uses
//! (a zip container is read as XLSX, anything else as CSV in UTF-8 or GBK).
//! Invariants: no panic escapes, and an accepted table is within the limits
//! (rows, columns, cells, cell length) with one line number per row.
#![no_main]

use std::sync::Once;

use gongjian_tabular::{Limits, read_bytes_with};
use libfuzzer_sys::fuzz_target;

static QUIET: Once = Once::new();

fuzz_target!(|input: &[u8]| {
    // The reader catches the panics of the XLSX library (an out-of-range
    // shared string index, for one) and refuses the file. libfuzzer-sys
    // aborts from its panic hook, before that catch could run; a panic that
    // escapes the reader still aborts, in libfuzzer-sys's own catch.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let limits = Limits {
        max_rows: 1_000,
        max_columns: 64,
        max_cells: 20_000,
        max_cell_bytes: 4_096,
        max_unpacked_bytes: 16 << 20,
        max_shared_strings_bytes: 4 << 20,
        ..Limits::default()
    };
    let Ok(table) = read_bytes_with("fuzz", input, &limits) else {
        return;
    };
    assert!(table.width() >= 1 && table.width() <= 64);
    assert!(table.len() < 1_000);
    assert!((table.len() * table.width()) as u64 <= 20_000);
    let mut last = table.header_line();
    for row in table.rows() {
        // Rows come in file order. (CSV lines are counted at '\n': in a file
        // with bare '\r' line ends every row reports the line of the header.)
        // CSV lines also count blank lines and multi-line fields; Excel rows
        // are bounded by max_rows.
        assert!(row.line() >= last);
        if table.encoding() == gongjian_tabular::Encoding::Xlsx {
            assert!(row.line() <= 1_000);
        }
        last = row.line();
        assert_eq!(row.iter().count(), table.width());
        assert!(row.iter().all(|cell| cell.len() <= 4_096));
    }
});
