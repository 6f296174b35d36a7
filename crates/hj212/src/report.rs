//! The JSON shape of one decoded frame, shared by `gongjian hj212 parse` and tests
//! (see `docs/cli/hj212.md`). Values are the strings that were sent; absent fields
//! are `null`.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::frame::Decoded;
use crate::packet::Packet;

/// One frame as reported: `{"ok", "crc_ok", "error", …, "items", "cp"}`.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Accepted (no error).
    pub ok: bool,
    /// CRC matched; `null` when the frame was too broken to check.
    pub crc_ok: Option<bool>,
    /// All error messages joined with "; ", or `null`.
    pub error: Option<String>,
    /// Stable codes of the errors, main one first (`crc_mismatch`, `crc_modbus`, …).
    pub error_kinds: Vec<&'static str>,
    pub version: Option<&'static str>,
    pub qn: Option<&'a str>,
    pub st: Option<&'a str>,
    pub cn: Option<&'a str>,
    pub pw: Option<&'a str>,
    pub mn: Option<&'a str>,
    pub flag: Option<&'a str>,
    pub pnum: Option<&'a str>,
    pub pno: Option<&'a str>,
    pub datatime: Option<&'a str>,
    pub items: Vec<ReportItem<'a>>,
    pub cp: CpMap<'a>,
    /// True when the CP lacked its closing "&&".
    pub cp_unterminated: bool,
    /// Charset the data segment was decoded with (`utf-8` / `gbk`), or `null`.
    pub charset: Option<&'static str>,
    pub warnings: Vec<String>,
    /// Line number in the input (line mode), set by the caller.
    pub line: Option<usize>,
}

/// One item of the report.
#[derive(Debug, Serialize)]
pub struct ReportItem<'a> {
    pub code: &'a str,
    pub field: &'a str,
    pub value: &'a str,
    pub flag: Option<&'a str>,
    pub polid: Option<&'a str>,
}

/// Group-level CP keys in first-seen order; a repeated key becomes an array.
#[derive(Debug, Default)]
pub struct CpMap<'a>(pub Vec<(&'a str, Vec<&'a str>)>);

impl Serialize for CpMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, values) in &self.0 {
            if values.len() == 1 {
                map.serialize_entry(key, values[0])?;
            } else {
                map.serialize_entry(key, values)?;
            }
        }
        map.end()
    }
}

impl<'a> Report<'a> {
    pub fn new(decoded: &'a Decoded) -> Report<'a> {
        let (packet, mut report) = match decoded {
            Ok(p) => (
                Some(p),
                Report::empty(true, Some(p.crc_ok()), None, Vec::new()),
            ),
            Err(r) => (
                r.partial(),
                Report::empty(
                    false,
                    r.crc_ok(),
                    Some(r.message()),
                    r.errors().iter().map(|e| e.kind()).collect(),
                ),
            ),
        };
        if let Some(p) = packet {
            report.fill(p);
        }
        report
    }

    fn empty(
        ok: bool,
        crc_ok: Option<bool>,
        error: Option<String>,
        error_kinds: Vec<&'static str>,
    ) -> Report<'a> {
        Report {
            ok,
            crc_ok,
            error,
            error_kinds,
            version: None,
            qn: None,
            st: None,
            cn: None,
            pw: None,
            mn: None,
            flag: None,
            pnum: None,
            pno: None,
            datatime: None,
            items: Vec::new(),
            cp: CpMap::default(),
            cp_unterminated: false,
            charset: None,
            warnings: Vec::new(),
            line: None,
        }
    }

    fn fill(&mut self, p: &'a Packet) {
        self.version = p.version().map(|v| v.as_str());
        self.qn = p.qn();
        self.st = p.st();
        self.cn = p.cn();
        self.pw = p.pw();
        self.mn = p.mn();
        self.flag = p.flag_str();
        self.pnum = p.pnum_str();
        self.pno = p.pno_str();
        self.datatime = p.datatime();
        self.items = p
            .items()
            .map(|i| ReportItem {
                code: i.code,
                field: i.field,
                value: i.value,
                flag: i.flag,
                polid: i.polid,
            })
            .collect();
        for e in p.cp_entries() {
            match self.cp.0.iter_mut().find(|(k, _)| *k == e.key) {
                Some((_, values)) => values.push(e.value),
                None => self.cp.0.push((e.key, vec![e.value])),
            }
        }
        self.cp_unterminated = !p.cp_terminated();
        self.charset = Some(p.charset().as_str());
        self.warnings = p.warnings().iter().map(ToString::to_string).collect();
    }
}
