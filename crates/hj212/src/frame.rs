//! Framing: `"##" LLLL DATA CCCC "\r\n"`, one frame at a time ([`parse_frame`]) or
//! from a byte stream ([`StreamDecoder`]).
//!
//! Length and CRC are over bytes. The stream decoder works like mini-redis'
//! `Frame::check`: it first decides whether a whole frame is buffered (or the bytes
//! are garbage), then parses. It never loses sync: a bad frame is reported as a
//! [`Rejected`] item and scanning resumes right after its `##`, so a following valid
//! frame is always found.

use bytes::{Buf, Bytes, BytesMut};

use crate::crc::{self, CrcCheck};
use crate::error::{FrameError, Rejected};
use crate::packet::{Charset, Packet, Warning, decode_text};

/// The standard's maximum data segment length.
pub const NOMINAL_MAX_DATA_LEN: usize = 1024;
/// The largest length the 4-digit field can express.
pub const MAX_DATA_LEN: usize = 9999;

/// What to do with a frame whose CRC is not the HJ 212 CRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CrcPolicy {
    /// Only the HJ 212 CRC is accepted (either case). A CRC-16/MODBUS is rejected
    /// with [`FrameError::ModbusCrc`].
    #[default]
    Strict,
    /// Also accept CRC-16/MODBUS in either byte order (legacy loggers), with a warning.
    AcceptModbus,
    /// Do not reject on CRC (commissioning, simulators with fake CRCs); warn instead.
    Ignore,
}

/// Per-device decoding options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Options {
    /// Largest accepted data segment in bytes (default 9999: everything the length
    /// field can say; real loggers send 1025 and 1623). Frames over 1024 get a warning.
    pub max_data_len: usize,
    /// CRC handling.
    pub crc: CrcPolicy,
    /// Charset of the data segment.
    pub charset: Charset,
    /// Accept a frame whose length field is wrong when its true end is found and its
    /// CRC matches (with a warning). Off by default: such frames are rejected with
    /// [`FrameError::LengthMismatch`].
    pub lenient_length: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_data_len: MAX_DATA_LEN,
            crc: CrcPolicy::Strict,
            charset: Charset::Auto,
            lenient_length: false,
        }
    }
}

/// Result of decoding one frame.
pub type Decoded = Result<Packet, Rejected>;

fn crc_field_string(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

/// Check CRC and parse a frame whose bounds are known. `raw` is `##LLLL<data><crc>`
/// (no CR LF); `declared` is the length field's value; `errors` may already hold
/// framing errors found by the caller.
fn finish(
    raw: Bytes,
    declared: usize,
    opts: &Options,
    mut errors: Vec<FrameError>,
    known: Option<CrcCheck>,
) -> Decoded {
    let n = raw.len();
    debug_assert!(n >= 10);
    let data = &raw[6..n - 4];
    let field = &raw[n - 4..];
    let mut warnings = Vec::new();
    if data.len() != declared && !errors.iter().any(|e| e.kind() == "length_mismatch") {
        if opts.lenient_length {
            warnings.push(Warning::LengthMismatchAccepted {
                declared,
                actual: data.len(),
            });
        } else {
            errors.push(FrameError::LengthMismatch {
                declared,
                actual: data.len(),
            });
        }
    }
    if data.len() > opts.max_data_len {
        errors.push(FrameError::TooLong {
            declared: data.len(),
            max: opts.max_data_len,
        });
    } else if data.len() > NOMINAL_MAX_DATA_LEN {
        warnings.push(Warning::OverNominalLength(data.len()));
    }
    let check = known.unwrap_or_else(|| crc::check(data, field));
    let crc_ok = match check {
        CrcCheck::Ok => true,
        CrcCheck::NotHex => {
            if opts.crc == CrcPolicy::Ignore {
                warnings.push(Warning::CrcNotChecked {
                    sent: crc_field_string(field),
                    expected: crc::hj212(data),
                });
            } else {
                errors.push(FrameError::BadCrcField(crc_field_string(field)));
            }
            false
        }
        CrcCheck::Modbus {
            sent,
            expected,
            order,
        } => match opts.crc {
            CrcPolicy::AcceptModbus => {
                warnings.push(Warning::ModbusCrcAccepted(order));
                true
            }
            CrcPolicy::Ignore => {
                warnings.push(Warning::CrcNotChecked {
                    sent: crc_field_string(field),
                    expected,
                });
                false
            }
            CrcPolicy::Strict => {
                errors.push(FrameError::ModbusCrc {
                    sent,
                    expected,
                    order,
                });
                false
            }
        },
        CrcCheck::Mismatch { sent, expected } => {
            if opts.crc == CrcPolicy::Ignore {
                warnings.push(Warning::CrcNotChecked {
                    sent: crc_field_string(field),
                    expected,
                });
            } else {
                errors.push(FrameError::CrcMismatch { sent, expected });
            }
            false
        }
    };
    let (text, used, charset_err) = decode_text(data, opts.charset);
    if opts.charset == Charset::Auto && used == Charset::Gbk {
        warnings.push(Warning::DecodedAsGbk);
    }
    errors.extend(charset_err);
    let mut packet = Packet::parse_text(raw.clone(), text, used, crc_ok, &mut errors);
    for w in warnings {
        packet.push_warning(w);
    }
    if errors.is_empty() {
        Ok(packet)
    } else {
        Err(Rejected {
            raw,
            errors,
            crc_ok: Some(crc_ok),
            partial: Some(Box::new(packet)),
        })
    }
}

fn parse_len(field: &[u8]) -> Option<usize> {
    if field.len() == 4 && field.iter().all(u8::is_ascii_digit) {
        Some(
            field
                .iter()
                .fold(0usize, |acc, &d| acc * 10 + (d - b'0') as usize),
        )
    } else {
        None
    }
}

/// Parse exactly one frame: `input` is the whole frame (a trailing CR LF, LF or CR is
/// allowed). The data segment is everything between `##LLLL` and the last 4 bytes, so
/// a wrong length field is diagnosed as [`FrameError::LengthMismatch`] while the
/// content is still parsed.
pub fn parse_frame(input: &[u8], opts: &Options) -> Decoded {
    let mut end = input.len();
    while end > 0 && matches!(input[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    let raw = Bytes::copy_from_slice(&input[..end]);
    if !raw.starts_with(b"##") {
        return Err(Rejected::new(raw, FrameError::NoHeader));
    }
    if raw.len() < 6 {
        let field = String::from_utf8_lossy(&raw[2..]).into_owned();
        return Err(Rejected::new(raw, FrameError::BadLengthField(field)));
    }
    let Some(declared) = parse_len(&raw[2..6]) else {
        let field = String::from_utf8_lossy(&raw[2..6]).into_owned();
        return Err(Rejected::new(raw, FrameError::BadLengthField(field)));
    };
    if raw.len() < 10 {
        let available = raw.len() - 6;
        return Err(Rejected::new(
            raw,
            FrameError::Truncated {
                declared,
                available,
            },
        ));
    }
    finish(raw, declared, opts, Vec::new(), None)
}

/// Counters kept by a [`StreamDecoder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames accepted.
    pub frames: u64,
    /// Frames (or would-be frames) rejected.
    pub rejected: u64,
    /// Bytes dropped as garbage (not counting CR/LF between frames).
    pub garbage_bytes: u64,
}

/// Incremental frame decoder over a byte buffer (pure; the `codec` feature wraps it
/// as a `tokio_util` codec).
///
/// Handles several frames in one read, a frame split across reads, frames glued
/// without CR LF, garbage before `##`, wrong length fields and wrong CRCs.
#[derive(Debug, Clone, Default)]
pub struct StreamDecoder {
    opts: Options,
    stats: Stats,
    /// Where the search for a frame's true end resumes (0 = from the start).
    resume: usize,
}

fn is_header_at(buf: &[u8], at: usize) -> bool {
    buf.len() >= at + 6
        && &buf[at..at + 2] == b"##"
        && buf[at + 2..at + 6].iter().all(u8::is_ascii_digit)
}

impl StreamDecoder {
    pub fn new(opts: Options) -> Self {
        StreamDecoder {
            opts,
            stats: Stats::default(),
            resume: 0,
        }
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Change options (e.g. once the MN is known and per-device settings apply).
    pub fn set_options(&mut self, opts: Options) {
        self.opts = opts;
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Decode the next frame from `buf`, consuming what it covers. `None` means more
    /// bytes are needed (garbage may have been dropped meanwhile).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Decoded> {
        self.step(buf, false)
    }

    /// Like [`decode`](Self::decode), at end of input: a partial frame is reported as
    /// [`FrameError::Truncated`] and leftover garbage is dropped. Call until `None`.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Decoded> {
        self.step(buf, true)
    }

    fn drop_garbage(&mut self, buf: &mut BytesMut, n: usize) {
        let garbage = buf[..n]
            .iter()
            .filter(|b| !matches!(b, b'\r' | b'\n'))
            .count();
        self.stats.garbage_bytes += garbage as u64;
        if n > 0 {
            self.resume = 0;
        }
        buf.advance(n);
    }

    fn reject(&mut self, buf: &mut BytesMut, covered: usize, error: FrameError) -> Option<Decoded> {
        let raw = Bytes::copy_from_slice(&buf[..covered.min(buf.len())]);
        // Resume right after this "##" so any frame inside or after it is found.
        buf.advance(2.min(buf.len()));
        self.resume = 0;
        self.stats.rejected += 1;
        Some(Err(Rejected::new(raw, error)))
    }

    fn emit(
        &mut self,
        buf: &mut BytesMut,
        end: usize,
        declared: usize,
        errors: Vec<FrameError>,
        known: Option<CrcCheck>,
    ) -> Decoded {
        let raw = buf.split_to(end).freeze();
        self.resume = 0;
        let result = finish(raw, declared, &self.opts, errors, known);
        match &result {
            Ok(_) => self.stats.frames += 1,
            Err(_) => self.stats.rejected += 1,
        }
        result
    }

    /// Look for the true end of a frame whose length field seems wrong: the first
    /// CR/LF or next frame header after the `##LLLL` (or the end of input at EOF),
    /// preceded by 4 hex digits. Returns (end, crc matches, ends with "&&").
    fn true_end(&mut self, buf: &[u8], eof: bool) -> Option<(usize, bool, bool)> {
        let limit = buf.len().min(6 + self.opts.max_data_len + 4 + 2);
        let mut candidate = None;
        // Scan from just after our own "##": a CR/LF or header before byte 10 means
        // there is no plausible end (a frame is at least 10 bytes).
        let mut i = self.resume.max(2);
        while i < limit {
            let b = buf[i];
            if b == b'\r' || b == b'\n' || (b == b'#' && is_header_at(buf, i)) {
                candidate = Some(i);
                break;
            }
            i += 1;
        }
        if candidate.is_none() {
            // A '#' near the end may become a header once more bytes arrive.
            self.resume = limit.saturating_sub(6).max(2);
        }
        if candidate.is_none() && eof && limit == buf.len() && buf.len() >= 10 {
            let mut end = buf.len();
            while end > 10 && matches!(buf[end - 1], b'\r' | b'\n') {
                end -= 1;
            }
            candidate = Some(end);
        }
        let end = candidate?;
        if end < 10 {
            return None;
        }
        let data = &buf[6..end - 4];
        crc::parse_field(&buf[end - 4..end])?;
        let crc_ok = matches!(crc::check(data, &buf[end - 4..end]), CrcCheck::Ok)
            || (self.opts.crc != CrcPolicy::Strict
                && matches!(
                    crc::check(data, &buf[end - 4..end]),
                    CrcCheck::Modbus { .. }
                ));
        Some((end, crc_ok, data.ends_with(b"&&")))
    }

    fn step(&mut self, buf: &mut BytesMut, eof: bool) -> Option<Decoded> {
        loop {
            // 1. Find "##".
            let Some(at) = buf.windows(2).position(|w| w == b"##") else {
                let keep = usize::from(!eof && buf.last() == Some(&b'#'));
                let n = buf.len() - keep;
                self.drop_garbage(buf, n);
                return None;
            };
            if at > 0 {
                self.drop_garbage(buf, at);
            }
            // 2. Length field.
            if buf.len() < 6 {
                if !eof {
                    return None;
                }
                if buf[2..].iter().all(u8::is_ascii_digit) {
                    let field = String::from_utf8_lossy(&buf[2..]).into_owned();
                    let n = buf.len();
                    return self.reject(buf, n, FrameError::BadLengthField(field));
                }
                self.drop_garbage(buf, 1);
                continue;
            }
            let Some(declared) = parse_len(&buf[2..6]) else {
                // Not a frame start ("###…", "##ab"): skip one byte and rescan.
                self.drop_garbage(buf, 1);
                continue;
            };
            if declared > self.opts.max_data_len {
                return self.reject(
                    buf,
                    6,
                    FrameError::TooLong {
                        declared,
                        max: self.opts.max_data_len,
                    },
                );
            }
            let total = 6 + declared + 4;
            // 3. Wait for the declared frame, unless its true (shorter) end is already here.
            if buf.len() < total {
                if let Some((end, true, _)) = self.true_end(buf, eof) {
                    return Some(self.emit_mismatch(buf, end, declared));
                }
                if !eof {
                    return None;
                }
                let available = buf.len() - 6;
                let n = buf.len();
                return self.reject(
                    buf,
                    n,
                    FrameError::Truncated {
                        declared,
                        available,
                    },
                );
            }
            // 4. Check the declared frame.
            let data = &buf[6..6 + declared];
            let field = &buf[6 + declared..total];
            let check = crc::check(data, field);
            let good = match check {
                CrcCheck::Ok => true,
                CrcCheck::Modbus { .. } => self.opts.crc != CrcPolicy::Strict,
                CrcCheck::Mismatch { .. } => self.opts.crc == CrcPolicy::Ignore,
                CrcCheck::NotHex => false,
            };
            if good {
                let result = self.emit(buf, total, declared, Vec::new(), Some(check));
                return Some(result);
            }
            // 5. Bad at the declared length: a wrong length field whose true end we can see?
            if let Some((end, crc_ok, ends_cp)) = self.true_end(buf, eof)
                && end != total
                && (crc_ok || ends_cp)
            {
                return Some(self.emit_mismatch(buf, end, declared));
            }
            // 6. A plain CRC error. If the bytes after it confirm the declared length
            // (CR/LF, the next "##", or the end of input), skip the whole frame;
            // otherwise resume right after its "##".
            let boundary = match buf.get(total..total + 2) {
                _ if buf.len() == total && eof => Some(true),
                Some([b'\r' | b'\n', _]) | Some([b'\r' | b'\n']) => Some(true),
                Some(b"##") => Some(true),
                Some([b'#']) if !eof => None,
                None if !eof => None,
                _ => Some(false),
            };
            let Some(mut boundary) = boundary else {
                return None; // wait for one more byte to decide
            };
            // Never skip over something that looks like the start of another frame.
            if boundary && (2..total).any(|i| buf[i] == b'#' && is_header_at(&buf[..total], i)) {
                boundary = false;
            }
            let raw = Bytes::copy_from_slice(&buf[..total]);
            let result = finish(raw, declared, &self.opts, Vec::new(), None);
            self.resume = 0;
            match &result {
                Err(_) => {
                    buf.advance(if boundary { total } else { 2 });
                    self.stats.rejected += 1;
                }
                // Not reachable (the CRC check above failed), but never lose a frame.
                Ok(_) => {
                    buf.advance(total);
                    self.stats.frames += 1;
                }
            }
            return Some(result);
        }
    }

    fn emit_mismatch(&mut self, buf: &mut BytesMut, end: usize, declared: usize) -> Decoded {
        let actual = end - 10;
        let errors = if self.opts.lenient_length {
            Vec::new()
        } else {
            vec![FrameError::LengthMismatch { declared, actual }]
        };
        self.emit(buf, end, declared, errors, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_frame_strips_line_end() {
        let f = b"##0087QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&3240\r\n";
        let p = parse_frame(f, &Options::default()).unwrap();
        assert_eq!(p.cn(), Some("9014"));
        assert_eq!(p.raw().len(), f.len() - 2);
    }

    #[test]
    fn parse_frame_reports_no_header_and_bad_length() {
        let e = parse_frame(b"QN=1", &Options::default()).unwrap_err();
        assert_eq!(e.error(), &FrameError::NoHeader);
        let e = parse_frame(b"##00a7QN=1", &Options::default()).unwrap_err();
        assert_eq!(e.error().kind(), "bad_length_field");
        let e = parse_frame(b"##0087QN", &Options::default()).unwrap_err();
        assert_eq!(e.error().kind(), "truncated");
    }
}
