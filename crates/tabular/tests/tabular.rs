use gongjian_tabular::{
    Cell, Encoding, Error, Sheet, read_csv_bytes, read_path, read_xlsx_bytes, write_csv, xlsx_bytes,
};
use rust_decimal::Decimal;

#[test]
fn utf8_with_line_numbers_and_blank_cells() {
    let t = read_csv_bytes(
        "a.csv",
        b"station, time ,so2\n\nA,2026-03-10T01,12\nB,2026-03-10T01,\n",
    )
    .unwrap();
    assert_eq!(t.encoding(), Encoding::Utf8);
    assert_eq!(t.headers(), ["station", "time", "so2"]);
    assert_eq!(t.len(), 2);
    let rows: Vec<_> = t
        .rows()
        .map(|r| (r.line(), r.iter().collect::<Vec<_>>()))
        .collect();
    assert_eq!(rows[0], (3, vec!["A", "2026-03-10T01", "12"]));
    assert_eq!(rows[1], (4, vec!["B", "2026-03-10T01", ""]));
    assert_eq!(t.column("so2"), Some(2));
}

#[test]
fn bom_is_stripped() {
    let t = read_csv_bytes("b.csv", b"\xEF\xBB\xBFstation,so2\nA,1\n").unwrap();
    assert_eq!(t.encoding(), Encoding::Utf8Bom);
    assert_eq!(t.headers()[0], "station");
}

#[test]
fn gbk_is_decoded() {
    let (bytes, _, bad) = encoding_rs::GBK.encode("站点,二氧化硫\n城关镇,12\n");
    assert!(!bad);
    let t = read_csv_bytes("g.csv", &bytes).unwrap();
    assert_eq!(t.encoding(), Encoding::Gbk);
    assert_eq!(t.headers(), ["站点", "二氧化硫"]);
    assert_eq!(t.row(0).get(0), "城关镇");
}

#[test]
fn undecodable_bytes_name_the_line() {
    let err = read_csv_bytes("x.csv", b"a,b\n1,2\n\xff\xff,3\n").unwrap_err();
    assert!(matches!(err, Error::Encoding { line: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("x.csv, line 3"));
}

#[test]
fn ragged_row_is_an_error_with_line() {
    let err = read_csv_bytes("r.csv", b"a,b\n1,2\n1,2,3\n").unwrap_err();
    assert!(matches!(err, Error::Syntax { line: 3, .. }), "{err:?}");
}

#[test]
fn quoted_fields_and_multiline_records_keep_start_line() {
    let t = read_csv_bytes("q.csv", b"a,b\n\"x,1\",\"two\nlines\"\nz,9\n").unwrap();
    assert_eq!(t.row(0).get(0), "x,1");
    assert_eq!(t.row(0).get(1), "two\nlines");
    assert_eq!(t.row(1).line(), 4);
}

#[test]
fn empty_file() {
    assert!(matches!(
        read_csv_bytes("e.csv", b"").unwrap_err(),
        Error::Empty { .. }
    ));
}

#[test]
fn cell_error_names_file_line_column() {
    let t = read_csv_bytes("c.csv", b"station,so2\nA,abc\n").unwrap();
    let e = t.row(0).error(1, "not a number");
    assert_eq!(e.to_string(), "c.csv, line 2, column 2 (so2): not a number");
}

fn sample_sheet() -> Sheet {
    Sheet {
        name: "daily".into(),
        headers: vec!["station".into(), "time".into(), "pm25".into(), "n".into()],
        rows: vec![
            vec![
                Cell::from("城关"),
                Cell::from("2026-03-10 08:00:00"),
                Cell::Number("75.5".parse::<Decimal>().unwrap()),
                Cell::Int(24),
            ],
            vec![Cell::from("B"), Cell::from("x"), Cell::Empty, Cell::Int(0)],
        ],
    }
}

#[test]
fn csv_round_trip() {
    let mut out = Vec::new();
    write_csv("o.csv", &mut out, &sample_sheet()).unwrap();
    let s = String::from_utf8(out.clone()).unwrap();
    assert_eq!(
        s,
        "station,time,pm25,n\n城关,2026-03-10 08:00:00,75.5,24\nB,x,,0\n"
    );
    let t = read_csv_bytes("o.csv", &out).unwrap();
    assert_eq!(t.row(0).get(2), "75.5");
}

#[test]
fn xlsx_round_trip_and_path_dispatch() {
    let bytes = xlsx_bytes("o.xlsx", &[sample_sheet()]).unwrap();
    let t = read_xlsx_bytes("o.xlsx", &bytes).unwrap();
    assert_eq!(t.encoding(), Encoding::Xlsx);
    assert_eq!(t.headers(), ["station", "time", "pm25", "n"]);
    assert_eq!(
        t.row(0).iter().collect::<Vec<_>>(),
        ["城关", "2026-03-10 08:00:00", "75.5", "24"]
    );
    assert_eq!(t.row(1).line(), 3);
    assert_eq!(t.row(1).get(2), "");

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("in.XLSX");
    std::fs::write(&p, &bytes).unwrap();
    assert_eq!(read_path(&p).unwrap().len(), 2);
    let missing = read_path(&dir.path().join("nope.csv")).unwrap_err();
    assert!(missing.to_string().contains("nope.csv"));
}

#[test]
fn garbage_xlsx_is_an_error() {
    let e = read_xlsx_bytes("bad.xlsx", b"not a zip").unwrap_err();
    assert!(e.to_string().starts_with("bad.xlsx:"), "{e}");
}
