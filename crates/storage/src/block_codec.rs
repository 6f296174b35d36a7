//! The byte-level pieces shared by the packed archives (the raw HJ 212
//! archive and the series blocks): varints, zigzag deltas, length-prefixed
//! fields, a bounds-checked reader of hostile payloads and bounded zstd
//! decompression.

use std::io::Read;

use crate::StorageError;

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) fn put_varint(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

pub(crate) fn put_bytes(b: &mut Vec<u8>, s: &[u8]) {
    put_varint(b, s.len() as u64);
    b.extend_from_slice(s);
}

/// `None` as 0, else the length plus one and the bytes.
pub(crate) fn put_opt(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => put_varint(b, 0),
        Some(s) => {
            put_varint(b, s.len() as u64 + 1);
            b.extend_from_slice(s.as_bytes());
        }
    }
}

/// A reader over a decoded payload; every fault names the block it came
/// from (`what`: for example `hj212_raw_blocks 7`).
pub(crate) struct Cursor<'a> {
    what: String,
    pub(crate) rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(what: String, payload: &'a [u8]) -> Self {
        Cursor {
            what,
            rest: payload,
        }
    }

    pub(crate) fn fault(&self, what: &str) -> StorageError {
        StorageError::Corrupt(format!("{}: {what}", self.what))
    }

    pub(crate) fn varint(&mut self) -> Result<u64, StorageError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .rest
                .split_first()
                .ok_or_else(|| self.fault("record cut short"))?;
            self.rest = rest;
            let part = u64::from(byte & 0x7f);
            if shift == 63 && part > 1 {
                return Err(self.fault("varint overflows 64 bits"));
            }
            v |= part << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.fault("varint longer than 10 bytes"))
    }

    pub(crate) fn take(&mut self, len: u64) -> Result<&'a [u8], StorageError> {
        if len > self.rest.len() as u64 {
            return Err(self.fault("field length past the end of the block"));
        }
        let (head, rest) = self.rest.split_at(len as usize);
        self.rest = rest;
        Ok(head)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], StorageError> {
        let len = self.varint()?;
        self.take(len)
    }

    pub(crate) fn text(&mut self, field: &str) -> Result<String, StorageError> {
        let raw = self.bytes()?;
        String::from_utf8(raw.to_vec()).map_err(|_| self.fault(&format!("{field} is not UTF-8")))
    }

    pub(crate) fn opt_text(&mut self, field: &str) -> Result<Option<String>, StorageError> {
        match self.varint()? {
            0 => Ok(None),
            n => {
                let raw = self.take(n - 1)?;
                String::from_utf8(raw.to_vec())
                    .map(Some)
                    .map_err(|_| self.fault(&format!("{field} is not UTF-8")))
            }
        }
    }

    /// The header every packed body starts with: magic, then a version.
    pub(crate) fn header(&mut self, magic: &[u8; 4], version: u8) -> Result<(), StorageError> {
        if self.take(4).ok() != Some(&magic[..]) {
            return Err(self.fault("not a block of this table (bad magic)"));
        }
        let found = self.take(1)?[0];
        if found != version {
            return Err(self.fault(&format!("unknown block version {found}")));
        }
        Ok(())
    }

    /// A record count, refused when the records could not fit in what is
    /// left (each takes at least `min_record` bytes).
    pub(crate) fn count(&mut self, min_record: usize) -> Result<usize, StorageError> {
        let count = self.varint()?;
        if count > (self.rest.len() / min_record.max(1)) as u64 {
            return Err(self.fault(&format!("record count {count} exceeds the block")));
        }
        Ok(count as usize)
    }

    /// Nothing may follow the last record.
    pub(crate) fn end(&self) -> Result<(), StorageError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.fault(&format!("{} bytes after the last record", self.rest.len())))
        }
    }
}

/// zstd-decompress at most `max` bytes (≤ 2^25) with a bounded window;
/// anything else is an error, not an allocation.
fn decompress_bounded(body: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut decoder =
        zstd::stream::read::Decoder::with_buffer(body).map_err(|e| format!("zstd: {e}"))?;
    // Bodies are compressed from at most 32 MiB, so their window never
    // needs more than 2^25.
    decoder
        .window_log_max(25)
        .map_err(|e| format!("zstd: {e}"))?;
    let mut out = Vec::new();
    decoder
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("zstd: {e}"))?;
    if out.len() > max {
        return Err(format!("decompressed body exceeds {max} bytes"));
    }
    Ok(out)
}

/// A block body's payload: its codec checked against `expected`, then
/// decompressed within `max` bytes. Faults name the block (`what`).
pub(crate) fn open_body(
    what: &str,
    codec: &str,
    expected: &str,
    body: &[u8],
    max: usize,
) -> Result<Vec<u8>, StorageError> {
    let corrupt = |e: String| StorageError::Corrupt(format!("{what}: {e}"));
    if codec != expected {
        return Err(corrupt(format!(
            "unknown codec {:?}",
            codec.chars().take(32).collect::<String>()
        )));
    }
    decompress_bounded(body, max).map_err(corrupt)
}
