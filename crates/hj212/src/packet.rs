//! The data segment: header fields (QN, ST, CN, PW, MN, Flag, PNUM, PNO) and the CP.
//!
//! A [`Packet`] owns the data segment decoded to UTF-8 and keeps every field as a
//! span into it, so parsing allocates three times (text, entries, items) however
//! many values a frame carries. Values are handed out as the exact strings sent.

use bytes::Bytes;

use crate::error::FrameError;

/// Protocol version, from the Flag's version bits (`Flag >> 2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// HJ/T 212-2005 (version bits 0, or no Flag at all).
    V2005,
    /// HJ 212-2017 (version bits 1).
    V2017,
    /// HJ 212-2025 (version bits 2).
    V2025,
}

impl Version {
    /// "2005", "2017" or "2025".
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2005 => "2005",
            Version::V2017 => "2017",
            Version::V2025 => "2025",
        }
    }

    /// The value of the Flag's version bits (bits 2-7) for this version.
    pub fn bits(self) -> u8 {
        match self {
            Version::V2005 => 0,
            Version::V2017 => 1,
            Version::V2025 => 2,
        }
    }

    /// Version from the Flag's version bits; `None` for values no standard defines.
    pub fn from_bits(bits: u8) -> Option<Version> {
        match bits {
            0 => Some(Version::V2005),
            1 => Some(Version::V2017),
            2 => Some(Version::V2025),
            _ => None,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "2005" => Ok(Version::V2005),
            "2017" => Ok(Version::V2017),
            "2025" => Ok(Version::V2025),
            other => Err(format!(
                "unknown HJ 212 version {other:?} (expected 2005, 2017 or 2025)"
            )),
        }
    }
}

/// The header `Flag`: bits `V5..V0 D A`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flag(pub u8);

impl Flag {
    /// A bit: the receiver must answer (9014 for an upload, 9011/9012 for a request).
    pub fn ack_requested(self) -> bool {
        self.0 & 0b01 != 0
    }
    /// D bit: the packet is one of several sub-packets and carries PNUM/PNO.
    pub fn split(self) -> bool {
        self.0 & 0b10 != 0
    }
    /// Version bits (bits 2-7).
    pub fn version_bits(self) -> u8 {
        self.0 >> 2
    }
    /// The version the bits name, if any.
    pub fn version(self) -> Option<Version> {
        Version::from_bits(self.version_bits())
    }
    /// Build a Flag from its parts.
    pub fn new(version: Version, split: bool, ack_requested: bool) -> Flag {
        Flag(version.bits() << 2 | u8::from(split) << 1 | u8::from(ack_requested))
    }
}

/// How the data segment's bytes were (or are to be) decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Charset {
    /// UTF-8 if the bytes are valid UTF-8, otherwise GBK (the default on receive).
    #[default]
    Auto,
    /// UTF-8 only (HJ 212-2017).
    Utf8,
    /// GBK (old loggers). ASCII is the same in both.
    Gbk,
}

impl Charset {
    pub fn as_str(self) -> &'static str {
        match self {
            Charset::Auto => "auto",
            Charset::Utf8 => "utf-8",
            Charset::Gbk => "gbk",
        }
    }
}

/// Known item field suffixes (`CODE-FIELD`). Unknown suffixes are kept as [`FieldKind::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Rtd,
    ZsRtd,
    Min,
    Avg,
    Max,
    ZsMin,
    ZsAvg,
    ZsMax,
    Cou,
    ZsCou,
    Flag,
    EFlag,
    SampleTime,
    Rs,
    Rt,
    Data,
    DayData,
    NightData,
    Info,
    Sn,
    Ala,
    UpValue,
    LowValue,
    Other,
}

impl FieldKind {
    /// Classify a field suffix. Matching is exact (case-sensitive): `ZsAvg` is never `Avg`.
    pub fn of(field: &str) -> FieldKind {
        match field {
            "Rtd" => FieldKind::Rtd,
            "ZsRtd" => FieldKind::ZsRtd,
            "Min" => FieldKind::Min,
            "Avg" => FieldKind::Avg,
            "Max" => FieldKind::Max,
            "ZsMin" => FieldKind::ZsMin,
            "ZsAvg" => FieldKind::ZsAvg,
            "ZsMax" => FieldKind::ZsMax,
            "Cou" => FieldKind::Cou,
            "ZsCou" => FieldKind::ZsCou,
            "Flag" => FieldKind::Flag,
            "EFlag" => FieldKind::EFlag,
            "SampleTime" => FieldKind::SampleTime,
            "RS" => FieldKind::Rs,
            "RT" => FieldKind::Rt,
            "Data" => FieldKind::Data,
            "DayData" => FieldKind::DayData,
            "NightData" => FieldKind::NightData,
            "Info" => FieldKind::Info,
            "SN" => FieldKind::Sn,
            "Ala" => FieldKind::Ala,
            "UpValue" => FieldKind::UpValue,
            "LowValue" => FieldKind::LowValue,
            _ => FieldKind::Other,
        }
    }

    /// True for the fields that carry a measured or derived number of the factor.
    pub fn is_value(self) -> bool {
        matches!(
            self,
            FieldKind::Rtd
                | FieldKind::ZsRtd
                | FieldKind::Min
                | FieldKind::Avg
                | FieldKind::Max
                | FieldKind::ZsMin
                | FieldKind::ZsAvg
                | FieldKind::ZsMax
                | FieldKind::Cou
                | FieldKind::ZsCou
                | FieldKind::Data
                | FieldKind::DayData
                | FieldKind::NightData
        )
    }
}

/// A non-fatal observation about a frame that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The data segment is longer than the standard's 1024 bytes (accepted up to the configured maximum).
    OverNominalLength(usize),
    /// The CRC was CRC-16/MODBUS and the device is configured to accept that.
    ModbusCrcAccepted(crate::crc::ByteOrder),
    /// The CRC did not match and the device is configured not to check it.
    CrcNotChecked { sent: String, expected: u16 },
    /// The length field was wrong and lenient length handling accepted the frame.
    LengthMismatchAccepted { declared: usize, actual: usize },
    /// A header key appeared twice; the first value is used.
    DuplicateHeader(String),
    /// A CP entry had no `=`; it is kept with an empty value.
    EntryWithoutValue(String),
    /// The data segment was decoded as GBK because it was not valid UTF-8.
    DecodedAsGbk,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::OverNominalLength(n) => {
                write!(f, "data segment of {n} bytes exceeds the nominal 1024")
            }
            Warning::ModbusCrcAccepted(order) => {
                write!(f, "CRC-16/MODBUS ({order}) accepted by device setting")
            }
            Warning::CrcNotChecked { sent, expected } => write!(
                f,
                "CRC {sent} does not match {expected:04X}; not checked by device setting"
            ),
            Warning::LengthMismatchAccepted { declared, actual } => write!(
                f,
                "length field {declared} does not match the {actual} data bytes; accepted by lenient setting"
            ),
            Warning::DuplicateHeader(key) => write!(f, "header field {key} repeated; first kept"),
            Warning::EntryWithoutValue(key) => write!(f, "CP entry {key:?} has no '='"),
            Warning::DecodedAsGbk => f.write_str("data segment decoded as GBK"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    fn get(self, text: &str) -> &str {
        &text[self.start as usize..self.end as usize]
    }
    fn get_bytes(self, text: &[u8]) -> &[u8] {
        &text[self.start as usize..self.end as usize]
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Span,
    value: Span,
    group: u32,
    /// Position of the last '-' in the key (absolute), 0 if none: then it is a group-level key.
    dash: u32,
    /// The key is `CODE-Flag`.
    is_flag: bool,
}

/// SWAR: a mask with the high bit set in every byte of `x` equal to `c` (exact for
/// the lowest matching byte, which is all the scanner uses).
#[inline(always)]
fn bytes_eq(x: u64, c: u8) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let y = x ^ (LO * c as u64);
    y.wrapping_sub(LO) & !y & HI
}

/// First position in `from..end` whose byte has a class in `stop` (`end` if none),
/// eight bytes at a time.
#[inline(always)]
fn scan_until(bytes: &[u8], mut pos: usize, end: usize, stop: u8) -> usize {
    while pos + 8 <= end {
        let x = u64::from_le_bytes(bytes[pos..pos + 8].try_into().expect("8 bytes"));
        let mut m = bytes_eq(x, b';') | bytes_eq(x, b',');
        if stop & KEY_END != 0 {
            m |= bytes_eq(x, b'=');
        }
        if m != 0 {
            return pos + (m.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while pos < end && CLASS[bytes[pos] as usize] & stop == 0 {
        pos += 1;
    }
    pos
}

/// End of a CP key (first '=', ';' or ',' from `pos`, or `end`) and the position of
/// the last '-' before it (0 if none), eight bytes at a time.
#[inline(always)]
fn scan_key(bytes: &[u8], mut pos: usize, end: usize) -> (usize, usize) {
    let mut last_dash = 0;
    while pos + 8 <= end {
        let x = u64::from_le_bytes(bytes[pos..pos + 8].try_into().expect("8 bytes"));
        let stop = bytes_eq(x, b';') | bytes_eq(x, b',') | bytes_eq(x, b'=');
        let mut dash = bytes_eq(x, b'-');
        if stop != 0 {
            let at = stop.trailing_zeros() as usize; // high bit of the stop byte
            dash &= (1u64 << at) - 1; // only dashes before it
            if dash != 0 {
                last_dash = pos + (63 - dash.leading_zeros() as usize) / 8;
            }
            return (pos + at / 8, last_dash);
        }
        if dash != 0 {
            last_dash = pos + (63 - dash.leading_zeros() as usize) / 8;
        }
        pos += 8;
    }
    while pos < end {
        let class = CLASS[bytes[pos] as usize];
        if class & KEY_END != 0 {
            break;
        }
        if class & DASH != 0 {
            last_dash = pos;
        }
        pos += 1;
    }
    (pos, last_dash)
}

/// Byte classes for the CP scanner.
const KEY_END: u8 = 1;
const VALUE_END: u8 = 2;
const FIELD_CHAR: u8 = 4;
const DASH: u8 = 8;
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'-' as usize] = DASH;
    t[b'=' as usize] = KEY_END;
    t[b';' as usize] = KEY_END | VALUE_END;
    t[b',' as usize] = KEY_END | VALUE_END;
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            t[c] |= FIELD_CHAR;
        }
        c += 1;
    }
    t
};

#[derive(Debug, Clone, Copy)]
struct ItemSpan {
    code: Span,
    field: Span,
    value: Span,
    flag: Option<Span>,
    polid: Option<Span>,
    group: u32,
}

#[derive(Debug, Clone, Default)]
struct Header {
    qn: Option<Span>,
    st: Option<Span>,
    cn: Option<Span>,
    pw: Option<Span>,
    mn: Option<Span>,
    flag: Option<Span>,
    pnum: Option<Span>,
    pno: Option<Span>,
    extra: Vec<(Span, Span)>,
}

/// One pollutant/field value of the CP (`code-Field=value`), with the `code-Flag` of its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item<'a> {
    /// Factor code as sent (`a21026`, `011`, `LA`, `SB1`, `i12001`…).
    pub code: &'a str,
    /// Field suffix as sent (`Rtd`, `ZsAvg`, `Info`…).
    pub field: &'a str,
    /// Value exactly as sent (may be empty or negative).
    pub value: &'a str,
    /// The `code-Flag` in the same group, if any.
    pub flag: Option<&'a str>,
    /// The `PolId` of the same group, if any (3019/3020 uploads).
    pub polid: Option<&'a str>,
    /// Index of the `;`-separated group (0-based).
    pub group: usize,
}

impl Item<'_> {
    pub fn kind(&self) -> FieldKind {
        FieldKind::of(self.field)
    }
}

/// A group-level CP entry (`KEY=value` without a code prefix), e.g. `PolId`, `QnRtn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpEntry<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub group: usize,
}

/// A parsed data segment with the frame it came from.
#[derive(Debug, Clone)]
pub struct Packet {
    raw: Bytes,
    text: String,
    charset: Charset,
    crc_ok: bool,
    header: Header,
    flag: Option<Flag>,
    pnum: Option<u16>,
    pno: Option<u16>,
    cp: Span,
    cp_terminated: bool,
    entries: Vec<Entry>,
    items: Vec<ItemSpan>,
    datatime: Option<usize>,
    version: Option<Version>,
    warnings: Vec<Warning>,
}

fn trim_span(bytes: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end && matches!(bytes[start], b' ' | b'\t') {
        start += 1;
    }
    while end > start && matches!(bytes[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    (start, end)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= hay.len() {
        match hay[i..=hay.len() - needle.len()]
            .iter()
            .position(|&b| b == first)
        {
            None => return None,
            Some(p) => {
                let at = i + p;
                if &hay[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

fn parse_small_uint(s: &str, max_digits: usize) -> Option<u16> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Decode data-segment bytes to text per `charset`. Returns the text, the charset
/// actually used, and an error if the bytes are not valid in it (then the text is lossy).
pub(crate) fn decode_text(data: &[u8], charset: Charset) -> (String, Charset, Option<FrameError>) {
    match charset {
        Charset::Utf8 | Charset::Auto => match std::str::from_utf8(data) {
            Ok(s) => (s.to_owned(), Charset::Utf8, None),
            Err(e) => {
                if charset == Charset::Auto
                    && let Some(text) =
                        encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(data)
                {
                    return (text.into_owned(), Charset::Gbk, None);
                }
                (
                    String::from_utf8_lossy(data).into_owned(),
                    Charset::Utf8,
                    Some(FrameError::Charset {
                        charset: if charset == Charset::Auto {
                            "UTF-8 or GBK"
                        } else {
                            "UTF-8"
                        },
                        offset: e.valid_up_to(),
                    }),
                )
            }
        },
        Charset::Gbk => {
            if data.is_ascii() {
                // Safe shortcut: ASCII is identical in GBK and UTF-8.
                return (
                    String::from_utf8_lossy(data).into_owned(),
                    Charset::Gbk,
                    None,
                );
            }
            let (text, _, had_errors) = encoding_rs::GBK.decode(data);
            let err = had_errors.then(|| FrameError::Charset {
                charset: "GBK",
                offset: gbk_error_offset(data),
            });
            (text.into_owned(), Charset::Gbk, err)
        }
    }
}

fn gbk_error_offset(data: &[u8]) -> usize {
    let mut decoder = encoding_rs::GBK.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(data.len() * 3);
    let (result, read) = decoder.decode_to_string_without_replacement(data, &mut out, true);
    match result {
        encoding_rs::DecoderResult::Malformed(bad, _) => read.saturating_sub(bad as usize),
        _ => read,
    }
}

impl Packet {
    /// Parse a bare data segment (what lies between `##LLLL` and the CRC), without
    /// any frame checks. `raw` of the resulting packet is `data` itself.
    pub fn parse_data(data: &[u8], charset: Charset) -> Result<Packet, crate::Rejected> {
        let raw = Bytes::copy_from_slice(data);
        let (text, used, charset_err) = decode_text(data, charset);
        let mut errors: Vec<FrameError> = charset_err.into_iter().collect();
        let packet = Packet::parse_text(raw.clone(), text, used, true, &mut errors);
        if errors.is_empty() {
            Ok(packet)
        } else {
            Err(crate::Rejected {
                raw,
                errors,
                crc_ok: None,
                partial: Some(Box::new(packet)),
            })
        }
    }

    /// Parse decoded text; content errors are appended to `errors`.
    pub(crate) fn parse_text(
        raw: Bytes,
        text: String,
        charset: Charset,
        crc_ok: bool,
        errors: &mut Vec<FrameError>,
    ) -> Packet {
        let mut packet = Packet {
            raw,
            text,
            charset,
            crc_ok,
            header: Header::default(),
            flag: None,
            pnum: None,
            pno: None,
            cp: Span::default(),
            cp_terminated: false,
            entries: Vec::new(),
            items: Vec::new(),
            datatime: None,
            version: None,
            warnings: Vec::new(),
        };
        packet.parse(errors);
        packet
    }

    fn parse(&mut self, errors: &mut Vec<FrameError>) {
        let bytes = self.text.as_bytes();
        let cp_at = find(bytes, b"CP=&&", 0);
        let header_end = cp_at.unwrap_or(bytes.len());
        if cp_at.is_none() {
            errors.push(FrameError::MissingCp);
        }
        // Header: ';'-separated KEY=value, by key not by position.
        let mut start = 0;
        while start < header_end {
            let end = bytes[start..header_end]
                .iter()
                .position(|&b| b == b';')
                .map_or(header_end, |p| start + p);
            let (s, e) = trim_span(bytes, start, end);
            if s < e {
                match bytes[s..e].iter().position(|&b| b == b'=') {
                    None => errors.push(FrameError::MalformedHeader(
                        String::from_utf8_lossy(&bytes[s..e]).into_owned(),
                    )),
                    Some(eq) => {
                        let (ks, ke) = trim_span(bytes, s, s + eq);
                        let (vs, ve) = trim_span(bytes, s + eq + 1, e);
                        let key = Span::new(ks, ke);
                        let value = Span::new(vs, ve);
                        let k = &bytes[ks..ke];
                        let slot = if k.eq_ignore_ascii_case(b"QN") {
                            Some(&mut self.header.qn)
                        } else if k.eq_ignore_ascii_case(b"ST") {
                            Some(&mut self.header.st)
                        } else if k.eq_ignore_ascii_case(b"CN") {
                            Some(&mut self.header.cn)
                        } else if k.eq_ignore_ascii_case(b"PW") {
                            Some(&mut self.header.pw)
                        } else if k.eq_ignore_ascii_case(b"MN") {
                            Some(&mut self.header.mn)
                        } else if k.eq_ignore_ascii_case(b"Flag") {
                            Some(&mut self.header.flag)
                        } else if k.eq_ignore_ascii_case(b"PNUM") {
                            Some(&mut self.header.pnum)
                        } else if k.eq_ignore_ascii_case(b"PNO") {
                            Some(&mut self.header.pno)
                        } else {
                            None
                        };
                        match slot {
                            Some(slot) if slot.is_none() => *slot = Some(value),
                            Some(_) => self.warnings.push(Warning::DuplicateHeader(
                                String::from_utf8_lossy(k).into_owned(),
                            )),
                            None => self.header.extra.push((key, value)),
                        }
                    }
                }
            }
            start = end + 1;
        }
        if let Some(cp_at) = cp_at {
            let content_start = cp_at + 5;
            let mut end = bytes.len();
            while end > content_start && matches!(bytes[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
                end -= 1;
            }
            if end >= content_start + 2 && &bytes[end - 2..end] == b"&&" {
                self.cp_terminated = true;
                self.cp = Span::new(content_start, end - 2);
            } else {
                errors.push(FrameError::UnterminatedCp);
                self.cp = Span::new(content_start, end.max(content_start));
            }
            self.parse_cp();
            self.validate_items(errors);
        }
        self.validate_header(errors);
        self.version = self.detect_version();
    }

    /// Item keys and values against what the protocol allows for their field
    /// ([`crate::validate`]); at most a few errors are reported per frame.
    fn validate_items(&self, errors: &mut Vec<FrameError>) {
        const MAX_REPORTED: usize = 4;
        let mut reported = 0;
        for e in &self.entries {
            if e.dash == 0 {
                continue;
            }
            let code = &self.text[e.key.start as usize..e.dash as usize];
            let field = &self.text[e.dash as usize + 1..e.key.end as usize];
            if let Err(err) = crate::validate::check_item(code, field, e.value.get(&self.text)) {
                errors.push(err);
                reported += 1;
                if reported == MAX_REPORTED {
                    break;
                }
            }
        }
    }

    fn validate_header(&mut self, errors: &mut Vec<FrameError>) {
        let text = &self.text;
        for (name, span) in [
            ("QN", self.header.qn),
            ("ST", self.header.st),
            ("CN", self.header.cn),
            ("PW", self.header.pw),
            ("MN", self.header.mn),
        ] {
            let Some(span) = span else { continue };
            let value = span.get(text);
            if let Some(reason) = crate::validate::header_problem(name, value) {
                errors.push(FrameError::InvalidField {
                    field: name,
                    value: crate::validate::shown(value),
                    reason,
                });
            }
        }
        if self.header.cn.is_none() {
            errors.push(FrameError::MissingField("CN"));
        }
        if self.header.mn.is_none() {
            errors.push(FrameError::MissingField("MN"));
        }
        if let Some(flag) = self.header.flag {
            let s = flag.get(text);
            match parse_small_uint(s, 3).filter(|v| *v <= 255) {
                Some(v) => self.flag = Some(Flag(v as u8)),
                None => errors.push(FrameError::InvalidField {
                    field: "Flag",
                    value: crate::validate::shown(s),
                    reason: "not an integer 0-255",
                }),
            }
        }
        for (name, span, out) in [
            ("PNUM", self.header.pnum, &mut self.pnum),
            ("PNO", self.header.pno, &mut self.pno),
        ] {
            if let Some(span) = span {
                let s = span.get(text);
                match parse_small_uint(s, 4) {
                    Some(v) => *out = Some(v),
                    None => errors.push(FrameError::InvalidField {
                        field: name,
                        value: crate::validate::shown(s),
                        reason: "not a number of 1-4 digits",
                    }),
                }
            }
        }
        match (self.header.pnum.is_some(), self.header.pno.is_some()) {
            (true, false) => errors.push(FrameError::MissingField("PNO")),
            (false, true) => errors.push(FrameError::MissingField("PNUM")),
            _ => {}
        }
        if let (Some(pnum), Some(pno)) = (self.pnum, self.pno)
            && (pno == 0 || pno > pnum || pnum == 0)
        {
            errors.push(FrameError::InvalidField {
                field: "PNO",
                value: self
                    .header
                    .pno
                    .map(|s| s.get(text))
                    .unwrap_or("")
                    .to_owned(),
                reason: "must be between 1 and PNUM",
            });
        }
    }

    fn parse_cp(&mut self) {
        let bytes = self.text.as_bytes();
        let end = self.cp.end as usize;
        let mut pos = self.cp.start as usize;
        // Typical entries take 10-20 bytes; this avoids regrowth for real frames.
        let estimate = (end - pos) / 10 + 4;
        self.entries.reserve(estimate);
        self.items.reserve(estimate);
        let mut group: u32 = 0;
        let mut group_start = 0usize;
        while pos < end {
            // key: up to '=', ';' or ','
            let key_start = pos;
            let (stop, last_dash) = scan_key(bytes, pos, end);
            pos = stop;
            let (ks, ke) = trim_span(bytes, key_start, pos);
            let (vs, ve);
            if pos < end && bytes[pos] == b'=' {
                pos += 1;
                let mut v0 = pos;
                while v0 < end && matches!(bytes[v0], b' ' | b'\t') {
                    v0 += 1;
                }
                let mut v = v0;
                // Log text //…// may contain separators: skip to the closing //.
                if end - v0 >= 4
                    && bytes[v0] == b'/'
                    && bytes[v0 + 1] == b'/'
                    && let Some(close) = find(&bytes[..end], b"//", v0 + 2)
                {
                    v = close + 2;
                }
                v = scan_until(bytes, v, end, VALUE_END);
                let t = trim_span(bytes, v0, v);
                vs = t.0;
                ve = t.1;
                pos = v;
            } else {
                vs = ke;
                ve = ke;
                if ks < ke {
                    self.warnings.push(Warning::EntryWithoutValue(
                        String::from_utf8_lossy(&bytes[ks..ke]).into_owned(),
                    ));
                }
            }
            if ks < ke || vs < ve {
                // An item key is CODE-FIELD with an alphabetic field ([A-Za-z_]+);
                // anything else (e.g. vendor `100000-Eg1`) is a group-level key.
                let field_ok = last_dash > ks
                    && last_dash + 1 < ke
                    && bytes[last_dash + 1..ke]
                        .iter()
                        .all(|&b| CLASS[b as usize] & FIELD_CHAR != 0);
                let dash = if field_ok { last_dash as u32 } else { 0 };
                let is_flag = field_ok && &bytes[last_dash + 1..ke] == b"Flag";
                self.entries.push(Entry {
                    key: Span::new(ks, ke),
                    value: Span::new(vs, ve),
                    group,
                    dash,
                    is_flag,
                });
            }
            let at_group_end = pos >= end || bytes[pos] == b';';
            if at_group_end {
                let group_end = self.entries.len();
                Self::group_items(
                    bytes,
                    &self.entries[group_start..group_end],
                    &mut self.items,
                );
                group_start = group_end;
                group += 1;
            }
            pos += 1;
        }
        if group_start < self.entries.len() {
            Self::group_items(bytes, &self.entries[group_start..], &mut self.items);
        }
        self.datatime = self
            .entries
            .iter()
            .position(|e| e.dash == 0 && e.key.get(&self.text) == "DataTime");
    }

    /// Items of one group, each with the group's `code-Flag` and `PolId`.
    fn group_items(text: &[u8], members: &[Entry], items: &mut Vec<ItemSpan>) {
        let mut polid = None;
        let mut flags: [Option<&Entry>; 4] = [None; 4];
        let mut n_flags = 0;
        let mut more_flags = false;
        for e in members {
            if e.dash == 0 {
                if polid.is_none() && e.key.get_bytes(text) == b"PolId" {
                    polid = Some(e.value);
                }
            } else if e.is_flag {
                if n_flags < flags.len() {
                    flags[n_flags] = Some(e);
                    n_flags += 1;
                } else {
                    more_flags = true;
                }
            }
        }
        for e in members {
            if e.dash == 0 || e.is_flag {
                continue;
            }
            let code = Span::new(e.key.start as usize, e.dash as usize);
            let code_bytes = code.get_bytes(text);
            let same_code = |f: &Entry| &text[f.key.start as usize..f.dash as usize] == code_bytes;
            let mut flag = flags[..n_flags]
                .iter()
                .flatten()
                .find(|f| same_code(f))
                .map(|f| f.value);
            if flag.is_none() && more_flags {
                flag = members
                    .iter()
                    .find(|f| f.is_flag && same_code(f))
                    .map(|f| f.value);
            }
            items.push(ItemSpan {
                code,
                field: Span::new(e.dash as usize + 1, e.key.end as usize),
                value: e.value,
                flag,
                polid,
                group: e.group,
            });
        }
    }

    fn detect_version(&self) -> Option<Version> {
        match self.flag {
            Some(flag) => flag.version(),
            None => {
                // No Flag: 2005, unless every item code is a 2017-style code ([a-z]\d{5}).
                let looks_2017 = !self.items.is_empty()
                    && self.items.iter().all(|i| {
                        let c = i.code.get(&self.text).as_bytes();
                        c.len() == 6
                            && c[0].is_ascii_lowercase()
                            && c[1..].iter().all(u8::is_ascii_digit)
                    });
                Some(if looks_2017 {
                    Version::V2017
                } else {
                    Version::V2005
                })
            }
        }
    }

    fn opt(&self, span: Option<Span>) -> Option<&str> {
        span.map(|s| s.get(&self.text))
    }

    /// QN (request id) exactly as sent; echo it byte for byte in answers.
    pub fn qn(&self) -> Option<&str> {
        self.opt(self.header.qn)
    }
    pub fn st(&self) -> Option<&str> {
        self.opt(self.header.st)
    }
    pub fn cn(&self) -> Option<&str> {
        self.opt(self.header.cn)
    }
    pub fn pw(&self) -> Option<&str> {
        self.opt(self.header.pw)
    }
    pub fn mn(&self) -> Option<&str> {
        self.opt(self.header.mn)
    }
    /// Flag as sent.
    pub fn flag_str(&self) -> Option<&str> {
        self.opt(self.header.flag)
    }
    /// Flag as bits (`None` if absent or invalid).
    pub fn flag(&self) -> Option<Flag> {
        self.flag
    }
    /// PNUM as sent (may be zero-padded).
    pub fn pnum_str(&self) -> Option<&str> {
        self.opt(self.header.pnum)
    }
    /// PNO as sent (may be zero-padded).
    pub fn pno_str(&self) -> Option<&str> {
        self.opt(self.header.pno)
    }
    pub fn pnum(&self) -> Option<u16> {
        self.pnum
    }
    pub fn pno(&self) -> Option<u16> {
        self.pno
    }
    /// True if this is one of several sub-packets (PNUM > 1 with a PNO).
    pub fn is_split(&self) -> bool {
        matches!((self.pnum, self.pno), (Some(n), Some(_)) if n > 1)
    }
    /// True if the sender asked for an answer (Flag A bit).
    pub fn ack_requested(&self) -> bool {
        self.flag.is_some_and(Flag::ack_requested)
    }
    /// Header keys other than the standard ones, in order.
    pub fn extra_header(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header
            .extra
            .iter()
            .map(|(k, v)| (k.get(&self.text), v.get(&self.text)))
    }
    /// Detected protocol version: Flag version bits; without a Flag, 2005 unless all
    /// item codes are 2017-style. `None` if the Flag names an undefined version.
    pub fn version(&self) -> Option<Version> {
        self.version
    }
    /// `DataTime` of the CP (the first one), as sent.
    pub fn datatime(&self) -> Option<&str> {
        self.datatime.map(|i| self.entries[i].value.get(&self.text))
    }
    /// Items (`code-Field=value`) in order, each with its group's `code-Flag`; the
    /// `-Flag` entries themselves are not items.
    pub fn items(&self) -> impl ExactSizeIterator<Item = Item<'_>> + '_ {
        self.items.iter().map(move |i| Item {
            code: i.code.get(&self.text),
            field: i.field.get(&self.text),
            value: i.value.get(&self.text),
            flag: i.flag.map(|s| s.get(&self.text)),
            polid: i.polid.map(|s| s.get(&self.text)),
            group: i.group as usize,
        })
    }
    /// Group-level CP entries (keys without a code prefix) other than the `DataTime`
    /// returned by [`datatime`](Packet::datatime), in order.
    pub fn cp_entries(&self) -> impl Iterator<Item = CpEntry<'_>> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(move |(i, e)| e.dash == 0 && Some(*i) != self.datatime)
            .map(move |(_, e)| CpEntry {
                key: e.key.get(&self.text),
                value: e.value.get(&self.text),
                group: e.group as usize,
            })
    }
    /// First value of a CP key (group-level or `code-Field`), e.g. `cp("QnRtn")`.
    pub fn cp(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.key.get(&self.text) == key)
            .map(|e| e.value.get(&self.text))
    }
    /// Every CP entry in order as (group, key, value), items and flags included.
    pub fn cp_all(&self) -> impl Iterator<Item = (usize, &str, &str)> + '_ {
        self.entries.iter().map(move |e| {
            (
                e.group as usize,
                e.key.get(&self.text),
                e.value.get(&self.text),
            )
        })
    }
    /// The CP content between `CP=&&` and the closing `&&`.
    pub fn cp_text(&self) -> &str {
        self.cp.get(&self.text)
    }
    /// False if the CP lacked its closing `&&`.
    pub fn cp_terminated(&self) -> bool {
        self.cp_terminated
    }
    /// The data segment as text.
    pub fn data(&self) -> &str {
        &self.text
    }
    /// The frame bytes exactly as received (`##LLLL…CCCC`, without CR LF).
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }
    /// Charset the data segment was decoded with.
    pub fn charset(&self) -> Charset {
        self.charset
    }
    /// Whether the CRC matched the HJ 212 CRC (or an accepted legacy variant).
    pub fn crc_ok(&self) -> bool {
        self.crc_ok
    }
    /// Non-fatal observations.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
    pub(crate) fn push_warning(&mut self, w: Warning) {
        self.warnings.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Packet {
        Packet::parse_data(s.as_bytes(), Charset::Auto).expect("valid data segment")
    }

    #[test]
    fn header_by_key_not_position() {
        let p = parse("MN=ABC;PNO=2;ST=32;PW=123;CN=2011;PNUM=0003;QN=1;CP=&&&&");
        assert_eq!(p.mn(), Some("ABC"));
        assert_eq!(p.pnum_str(), Some("0003"));
        assert_eq!(p.pnum(), Some(3));
        assert_eq!(p.pno(), Some(2));
        assert_eq!(p.qn(), Some("1"));
        assert!(p.is_split());
    }

    #[test]
    fn zs_fields_do_not_overwrite_plain_ones() {
        let p = parse(
            "ST=31;CN=2051;MN=X;Flag=4;CP=&&DataTime=20200101000000;a21026-Avg=1,a21026-ZsAvg=2,a21026-Flag=N,a21026-EFlag=A1&&",
        );
        let items: Vec<_> = p.items().map(|i| (i.field, i.value, i.flag)).collect();
        assert_eq!(
            items,
            vec![
                ("Avg", "1", Some("N")),
                ("ZsAvg", "2", Some("N")),
                ("EFlag", "A1", Some("N"))
            ]
        );
        assert_eq!(p.items().next().unwrap().kind(), FieldKind::Avg);
        assert_eq!(p.items().nth(1).unwrap().kind(), FieldKind::ZsAvg);
    }

    #[test]
    fn bare_flag_in_cp_does_not_touch_header_flag() {
        let p = parse("ST=39;CN=2051;MN=X;Flag=4;CP=&&a34001-Avg=92;Flag=N&&");
        assert_eq!(p.flag(), Some(Flag(4)));
        assert_eq!(p.cp("Flag"), Some("N"));
        assert_eq!(p.items().next().unwrap().flag, None);
    }

    #[test]
    fn log_text_may_contain_separators() {
        let p = parse("ST=32;CN=3020;MN=X;Flag=4;CP=&&i11001-Info=//a;b,c=d//;i12001-Info=1&&");
        let v: Vec<_> = p.items().map(|i| i.value).collect();
        assert_eq!(v, vec!["//a;b,c=d//", "1"]);
    }

    #[test]
    fn spaces_trailing_semicolon_and_empty_values() {
        let p = parse(
            "ST=31 ; CN = 2011;MN=X;CP=&& DataTime = 20200101000000 ;a01013-SampleTime=,a01013-Avg=-123.07;&&",
        );
        assert_eq!(p.cn(), Some("2011"));
        assert_eq!(p.datatime(), Some("20200101000000"));
        let v: Vec<_> = p.items().map(|i| (i.field, i.value)).collect();
        assert_eq!(v, vec![("SampleTime", ""), ("Avg", "-123.07")]);
    }

    #[test]
    fn invalid_flag_and_pno_are_errors() {
        let e =
            Packet::parse_data(b"ST=31;CN=2011;MN=X;Flag=x;CP=&&&&", Charset::Auto).unwrap_err();
        assert_eq!(e.error().kind(), "invalid_field");
        let e = Packet::parse_data(b"ST=31;CN=2011;MN=X;PNUM=2;PNO=3;CP=&&&&", Charset::Auto)
            .unwrap_err();
        assert_eq!(e.error().kind(), "invalid_field");
        let e =
            Packet::parse_data(b"ST=31;CN=2011;MN=X;PNUM=2;CP=&&&&", Charset::Auto).unwrap_err();
        assert_eq!(e.error(), &FrameError::MissingField("PNO"));
        let e = Packet::parse_data(b"ST=31;MN=X;CP=&&&&", Charset::Auto).unwrap_err();
        assert_eq!(e.error(), &FrameError::MissingField("CN"));
        let e = Packet::parse_data(b"ST=31;CN=2011;MN=X", Charset::Auto).unwrap_err();
        assert_eq!(e.error(), &FrameError::MissingCp);
    }

    #[test]
    fn version_detection() {
        assert_eq!(
            parse("CN=2011;MN=X;Flag=5;CP=&&&&").version(),
            Some(Version::V2017)
        );
        assert_eq!(
            parse("CN=2011;MN=X;Flag=9;CP=&&&&").version(),
            Some(Version::V2025)
        );
        assert_eq!(
            parse("CN=2011;MN=X;Flag=3;CP=&&&&").version(),
            Some(Version::V2005)
        );
        assert_eq!(parse("CN=2011;MN=X;Flag=12;CP=&&&&").version(), None);
        assert_eq!(
            parse("CN=2011;MN=X;CP=&&011-Rtd=1&&").version(),
            Some(Version::V2005)
        );
        assert_eq!(
            parse("CN=2011;MN=X;CP=&&w01018-Rtd=1&&").version(),
            Some(Version::V2017)
        );
        assert_eq!(
            parse("CN=2011;MN=X;CP=&&&&").version(),
            Some(Version::V2005)
        );
    }

    #[test]
    fn gbk_text_decodes_in_auto_mode() {
        let (bytes, _, _) = encoding_rs::GBK.encode("CN=3020;MN=X;CP=&&i11001-Info=//清洗//&&");
        let p = Packet::parse_data(&bytes, Charset::Auto).unwrap();
        assert_eq!(p.charset(), Charset::Gbk);
        assert_eq!(p.items().next().unwrap().value, "//清洗//");
        let e = Packet::parse_data(&bytes, Charset::Utf8).unwrap_err();
        assert_eq!(e.error().kind(), "charset");
    }
}
