//! Hostile spreadsheets and CSV files (issue #10, item 2): every read is
//! bounded before it allocates, and refused with a Chinese message.

use std::io::Write;

use gongjian_tabular::{Limits, read_bytes, read_bytes_with, read_csv_bytes, read_xlsx_bytes};
use proptest::prelude::*;

/// 1,534 bytes: one cell at A1 and one at XFD1048576. A reader that builds
/// the dense range asks for 512 GiB and aborts the process.
const SPARSE_BOMB: &[u8] = include_bytes!("data/sparse_bomb.xlsx");

/// A minimal workbook around `sheet_xml` (the first worksheet), deflated.
fn workbook(sheet_xml: &[u8]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    let files: [(&str, &[u8]); 4] = [
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, body) in files {
        zip.start_file(name, deflated).unwrap();
        zip.write_all(body).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", deflated)
        .unwrap();
    zip.write_all(sheet_xml).unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

fn sheet(rows: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
    )
    .into_bytes()
}

/// A sheet XML of `size` bytes, almost all of it blank space between two
/// rows: it deflates about a thousand fold.
fn padded_sheet(size: usize) -> Vec<u8> {
    let head = br#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>"#;
    let tail = br#"<row r="2"><c r="A2"><v>1</v></c></row></sheetData></worksheet>"#;
    let mut xml = Vec::with_capacity(size);
    xml.extend_from_slice(head);
    xml.resize(size - tail.len(), b' ');
    xml.extend_from_slice(tail);
    xml
}

#[test]
fn item_2_sparse_bomb_xlsx_is_refused_before_allocating() {
    assert_eq!(SPARSE_BOMB.len(), 1534);
    let err = read_xlsx_bytes("sparse_bomb.xlsx", SPARSE_BOMB).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("表格过大"), "{message}");
    assert!(message.contains("1048576 行 / 256 列"), "{message}");
    // The import entry point takes the same path.
    let err = read_bytes("sparse_bomb.xlsx", SPARSE_BOMB).unwrap_err();
    assert!(err.to_string().contains("表格过大"), "{err}");
}

#[test]
fn item_2_far_corner_with_empty_cells_costs_nothing() {
    // A styled but empty cell at the far corner (as Excel writes for a
    // formatted whole column) is not content: the table stays small.
    let xml = sheet(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>站点</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>城关</t></is></c></row><row r="1048576"><c r="XFD1048576" s="1"/></row>"#,
    );
    let t = read_xlsx_bytes("corner.xlsx", &workbook(&xml)).unwrap();
    assert_eq!(t.headers(), ["站点"]);
    assert_eq!(t.len(), 1);
    assert_eq!((t.row(0).line(), t.row(0).get(0)), (2, "城关"));
}

#[test]
fn item_2_zip_bomb_is_refused_by_its_compression_ratio() {
    // 24 MiB of sheet XML in about 25 KB of zip.
    let bomb = workbook(&padded_sheet(24 << 20));
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    let err = read_bytes("bomb.xlsx", &bomb).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("压缩比异常"), "{message}");
    assert!(message.contains("压缩炸弹"), "{message}");
}

#[test]
fn item_2_unpacked_size_is_bounded_as_declared_and_as_inflated() {
    let file = workbook(&padded_sheet(3 << 20));
    let limits = Limits {
        max_unpacked_bytes: 2 << 20,
        max_ratio: u64::MAX,
        ..Limits::default()
    };
    let err = read_bytes_with("big.xlsx", &file, &limits).unwrap_err();
    assert!(err.to_string().contains("文件解压后超过 2 MB"), "{err}");

    // An entry that claims to be small but inflates to more is stopped at
    // its declared size: patch the declared size of the sheet (local header
    // and central directory) down to 1,000 bytes.
    let mut lying = file.clone();
    let name = b"xl/worksheets/sheet1.xml";
    let mut patched = 0;
    for at in 0..lying.len() - name.len() {
        if &lying[at..at + name.len()] != name {
            continue;
        }
        let size_at = if lying[at - 30..at - 26] == *b"PK\x03\x04" {
            at - 30 + 22
        } else if lying[at - 46..at - 42] == *b"PK\x01\x02" {
            at - 46 + 24
        } else {
            continue;
        };
        lying[size_at..size_at + 4].copy_from_slice(&1000u32.to_le_bytes());
        patched += 1;
    }
    assert_eq!(patched, 2);
    let err = read_bytes("lying.xlsx", &lying).unwrap_err();
    assert!(err.to_string().contains("解压后大于其声明的大小"), "{err}");
}

#[test]
fn item_2_csv_with_too_many_rows_is_refused() {
    let mut csv = b"station,so2\n".to_vec();
    for _ in 0..1_048_576 {
        csv.extend_from_slice(b"A,1\n");
    }
    let err = read_csv_bytes("rows.csv", &csv).unwrap_err();
    assert!(
        err.to_string().contains("表格过大：最多 1048576 行"),
        "{err}"
    );
    // One row fewer is fine.
    csv.truncate(csv.len() - 4);
    assert_eq!(read_csv_bytes("rows.csv", &csv).unwrap().len(), 1_048_575);
}

#[test]
fn item_2_csv_columns_field_length_cells_and_size_are_bounded() {
    let wide = vec!["c"; 300].join(",") + "\n";
    let err = read_csv_bytes("wide.csv", wide.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("256 列"), "{err}");

    let long = format!("a,b\n1,{}\n", "x".repeat(200_000));
    let err = read_csv_bytes("long.csv", long.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("第 2 行第 2 列内容过长"), "{err}");

    let limits = Limits {
        max_cells: 10,
        ..Limits::default()
    };
    let err = read_bytes_with(
        "cells.csv",
        b"a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n",
        &limits,
    )
    .unwrap_err();
    assert!(err.to_string().contains("最多 10 个单元格"), "{err}");

    let limits = Limits {
        max_input_bytes: 8,
        ..Limits::default()
    };
    let err = read_bytes_with("big.csv", b"a,b\n1,2\n3,4\n", &limits).unwrap_err();
    assert!(err.to_string().contains("文件过大"), "{err}");
}

#[test]
fn item_2_xlsx_cells_and_cell_length_are_bounded() {
    let mut rows = String::new();
    for r in 1..=20 {
        rows.push_str(&format!(r#"<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>"#));
    }
    let file = workbook(&sheet(&rows));
    let limits = Limits {
        max_cells: 10,
        ..Limits::default()
    };
    let err = read_bytes_with("cells.xlsx", &file, &limits).unwrap_err();
    assert!(err.to_string().contains("最多 10 个单元格"), "{err}");
    assert_eq!(read_bytes("cells.xlsx", &file).unwrap().len(), 19);

    let long = sheet(&format!(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>{}</t></is></c></row>"#,
        "x".repeat(200_000)
    ));
    let err = read_bytes("long.xlsx", &workbook(&long)).unwrap_err();
    assert!(err.to_string().contains("第 2 行第 1 列内容过长"), "{err}");
}

#[test]
fn xlsx_rows_out_of_order_and_gaps_keep_excel_line_numbers() {
    let xml = sheet(
        r#"<row r="3"><c r="B3"><v>2</v></c><c r="C3" t="inlineStr"><is><t>x</t></is></c></row><row r="2"><c r="B2" t="inlineStr"><is><t>n</t></is></c><c r="C2" t="inlineStr"><is><t>s</t></is></c></row><row r="9"><c r="C9"><v>7.5</v></c></row>"#,
    );
    let t = read_xlsx_bytes("order.xlsx", &workbook(&xml)).unwrap();
    assert_eq!(t.headers(), ["n", "s"]);
    assert_eq!(t.header_line(), 2);
    let rows: Vec<_> = t
        .rows()
        .map(|r| (r.line(), r.iter().collect::<Vec<_>>()))
        .collect();
    assert_eq!(rows, [(3, vec!["2", "x"]), (9, vec!["", "7.5"])]);
}

/// A small real workbook (strings, numbers, a date) to mutate.
fn seed_workbook() -> Vec<u8> {
    use gongjian_tabular::{Cell, Sheet, xlsx_bytes};
    let sheet = Sheet {
        name: "数据".into(),
        headers: vec!["站点".into(), "时间".into(), "so2".into()],
        rows: (0..5)
            .map(|i| {
                vec![
                    Cell::Text(format!("站{i}")),
                    Cell::Text("2026-03-10 01:00:00".into()),
                    Cell::Int(i),
                ]
            })
            .collect(),
    };
    xlsx_bytes("seed.xlsx", &[sheet]).unwrap()
}

/// No input makes the reader panic, and whatever it returns is within the
/// limits.
fn check_bounded(bytes: &[u8]) {
    let limits = Limits {
        max_rows: 50,
        max_columns: 8,
        max_cells: 200,
        ..Limits::default()
    };
    if let Ok(t) = read_bytes_with("fuzz", bytes, &limits) {
        assert!(t.width() <= 8);
        assert!(t.len() < 50);
        assert!((t.len() * t.width()) as u64 <= 200);
        for row in t.rows() {
            assert!(row.line() <= 50);
            assert_eq!(row.iter().count(), t.width());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn item_2_mutated_xlsx_never_panics_and_stays_bounded(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = seed_workbook();
        for (at, b) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        check_bounded(&bytes);
    }

    #[test]
    fn item_2_arbitrary_bytes_never_panic_and_stay_bounded(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        check_bounded(&bytes);
        let mut zipped = b"PK\x03\x04".to_vec();
        zipped.extend_from_slice(&bytes);
        check_bounded(&zipped);
    }

    #[test]
    fn item_2_arbitrary_sheet_xml_never_panics_and_stays_bounded(
        cells in proptest::collection::vec(("[A-Z]{1,4}[0-9]{1,8}", "[a-z0-9 <>&;\"]{0,12}", 0u8..4), 0..40),
    ) {
        let mut rows = String::new();
        for (r, v, t) in &cells {
            let t = ["n", "s", "inlineStr", "str"][*t as usize];
            rows.push_str(&format!(r#"<row><c r="{r}" t="{t}"><v>{v}</v><is><t>{v}</t></is></c></row>"#));
        }
        check_bounded(&workbook(&sheet(&rows)));
    }
}

#[test]
fn item_13_csv_export_neutralises_formula_text() {
    use gongjian_tabular::{Cell, Sheet, csv_safe, write_csv};
    use rust_decimal::Decimal;
    let sheet = Sheet {
        name: String::new(),
        headers: vec!["=cmd".into(), "值".into()],
        rows: vec![
            vec![
                Cell::Text("=HYPERLINK(\"http://x\",\"点我\")".into()),
                Cell::Int(-2),
            ],
            vec![
                Cell::Text("+1+1".into()),
                Cell::Number(Decimal::new(-35, 1)),
            ],
            vec![
                Cell::Text("-1+cmd|' /C calc'!A0".into()),
                Cell::Text("-3.5".into()),
            ],
            vec![Cell::Text("@SUM(A1)".into()), Cell::Text("+12".into())],
            vec![Cell::Text("\tx".into()), Cell::Text("-1e-3".into())],
            vec![Cell::Text("\rx".into()), Cell::Text("-".into())],
            vec![Cell::Text("城关 = 1".into()), Cell::Text("-3.5.1".into())],
        ],
    };
    let mut out = Vec::new();
    write_csv("x.csv", &mut out, &sheet).unwrap();
    let text = String::from_utf8(out).unwrap();
    let expected = "'=cmd,值\n\
        \"'=HYPERLINK(\"\"http://x\"\",\"\"点我\"\")\",-2\n\
        '+1+1,-3.5\n\
        '-1+cmd|' /C calc'!A0,-3.5\n\
        '@SUM(A1),+12\n\
        '\tx,-1e-3\n\
        \"'\rx\",-\n\
        城关 = 1,'-3.5.1\n";
    assert_eq!(text, expected);
    assert_eq!(csv_safe("-0.5"), "-0.5");
    assert_eq!(csv_safe("-"), "-");
    assert_eq!(csv_safe("-e5"), "'-e5");
    assert_eq!(csv_safe("=1"), "'=1");
}

#[test]
fn item_13_xlsx_export_writes_formula_text_as_text() {
    use gongjian_tabular::{Cell, Sheet, xlsx_bytes};
    let sheet = Sheet {
        name: "s".into(),
        headers: vec!["名称".into()],
        rows: vec![
            vec![Cell::Text("=1+1".into())],
            vec![Cell::Text("=HYPERLINK(\"http://x\")".into())],
        ],
    };
    let bytes = xlsx_bytes("x.xlsx", &[sheet]).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut xml,
    )
    .unwrap();
    assert!(!xml.contains("<f>") && !xml.contains("<f "), "{xml}");
    let t = read_xlsx_bytes("x.xlsx", &bytes).unwrap();
    assert_eq!(t.row(0).get(0), "=1+1");
}
