//! Pollutant code table of HJ 212-2017 Appendix B (water B.1, gas B.2) with the
//! HJ/T 212-2005 code of each factor, Chinese name and default units.
//!
//! The table is data (`data/pollutant_codes_2017.csv`, 184 rows) embedded at build
//! time. Unknown codes are never an error: lookups return `None` and callers keep
//! the code as sent.

use std::collections::HashMap;
use std::sync::OnceLock;

static CSV: &str = include_str!("../data/pollutant_codes_2017.csv");

/// One row of the code table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollutantCode {
    /// 2017 code, e.g. `w01018`.
    pub code_2017: &'static str,
    /// Chinese name, e.g. `化学需氧量`.
    pub name_zh: &'static str,
    /// 2005 code, e.g. `011` (`None` if the factor had none).
    pub code_2005: Option<&'static str>,
    /// Unit of concentration values (Rtd/Avg/Min/Max), e.g. `毫克/升`.
    pub unit_concentration: Option<&'static str>,
    /// Unit of emission totals (Cou), e.g. `千克`.
    pub unit_emission: Option<&'static str>,
    /// Default data type from the standard, e.g. `N5.1`.
    pub default_type: Option<&'static str>,
}

impl PollutantCode {
    /// True for water factors (`w…`), false for gas (`a…`).
    pub fn is_water(&self) -> bool {
        self.code_2017.starts_with('w')
    }
}

struct Table {
    rows: Vec<PollutantCode>,
    by_2017: HashMap<&'static str, usize>,
    by_2005: HashMap<&'static str, usize>,
}

/// Split one CSV line with RFC 4180 quoting (quoted fields may contain commas).
fn split_csv_line(line: &'static str) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        if i < bytes.len() && bytes[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < bytes.len() && bytes[j] != b'"' {
                j += 1;
            }
            fields.push(&line[start..j]);
            i = (j + 1).min(bytes.len());
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b',' {
                i += 1;
            }
            fields.push(&line[start..i]);
        }
        if i >= bytes.len() {
            break;
        }
        i += 1; // the comma
        if i == bytes.len() {
            fields.push("");
            break;
        }
    }
    fields
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows = Vec::new();
        for line in CSV.lines().skip(1) {
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let f = split_csv_line(line);
            let opt = |i: usize| f.get(i).copied().filter(|s| !s.is_empty());
            rows.push(PollutantCode {
                code_2017: f[0],
                name_zh: f.get(1).copied().unwrap_or(""),
                code_2005: opt(2),
                unit_concentration: opt(3),
                unit_emission: opt(4),
                default_type: opt(5),
            });
        }
        let by_2017 = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.code_2017, i))
            .collect();
        let by_2005 = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.code_2005.map(|c| (c, i)))
            .collect();
        Table {
            rows,
            by_2017,
            by_2005,
        }
    })
}

/// Every row of the table, in file order.
pub fn all() -> &'static [PollutantCode] {
    &table().rows
}

/// Look up a 2017 code (exact, e.g. `a21026`).
pub fn by_2017(code: &str) -> Option<&'static PollutantCode> {
    let t = table();
    t.by_2017.get(code).map(|&i| &t.rows[i])
}

/// Look up a 2005 code (exact, e.g. `011`, `B02`, `S01`).
pub fn by_2005(code: &str) -> Option<&'static PollutantCode> {
    let t = table();
    t.by_2005.get(code).map(|&i| &t.rows[i])
}

/// Look up a code as sent by a logger of either version: 2017 first, then 2005;
/// also tries the lower-case form (`W01018` → `w01018`).
pub fn lookup(code: &str) -> Option<&'static PollutantCode> {
    by_2017(code)
        .or_else(|| by_2005(code))
        .or_else(|| by_2017(&code.to_ascii_lowercase()))
}

/// 2005 code → 2017 code.
pub fn to_2017(code_2005: &str) -> Option<&'static str> {
    by_2005(code_2005).map(|r| r.code_2017)
}

/// 2017 code → 2005 code.
pub fn to_2005(code_2017: &str) -> Option<&'static str> {
    by_2017(code_2017).and_then(|r| r.code_2005)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_row() {
        assert_eq!(all().len(), 184);
    }

    #[test]
    fn quoted_names_with_commas() {
        assert_eq!(by_2017("a24018").unwrap().name_zh, "1,1,1-三氯乙烷");
        assert_eq!(
            by_2017("a24018").unwrap().unit_concentration,
            Some("毫克/立方米")
        );
    }

    #[test]
    fn known_mappings() {
        assert_eq!(to_2017("011"), Some("w01018"));
        assert_eq!(to_2017("B02"), Some("a00000"));
        assert_eq!(to_2017("S01"), Some("a19001"));
        assert_eq!(to_2005("a21026"), Some("02"));
        assert_eq!(to_2005("w01009"), None);
        let cod = lookup("W01018").unwrap();
        assert_eq!(cod.name_zh, "化学需氧量");
        assert_eq!(cod.unit_emission, Some("千克"));
        assert!(cod.is_water());
        assert!(lookup("LAMPBLACK").is_none());
    }
}
