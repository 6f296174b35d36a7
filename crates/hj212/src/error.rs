//! Typed errors: why a frame was rejected, and why a message could not be built.

use bytes::Bytes;

use crate::crc::ByteOrder;
use crate::packet::Packet;

/// Why a frame is not accepted. Each variant has a stable [`kind`](FrameError::kind)
/// code for counters, the CLI and UI translation tables.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame does not start with \"##\"")]
    NoHeader,
    #[error("data length field {0:?} is not 4 ASCII digits")]
    BadLengthField(String),
    #[error("declared data length {declared} exceeds the configured maximum {max} bytes")]
    TooLong { declared: usize, max: usize },
    #[error(
        "frame is truncated: header declares {declared} data bytes, only {available} bytes follow the length field"
    )]
    Truncated { declared: usize, available: usize },
    #[error(
        "length mismatch: header declares {declared} data bytes, the data segment has {actual} bytes"
    )]
    LengthMismatch { declared: usize, actual: usize },
    #[error("CRC field {0:?} is not 4 hex digits")]
    BadCrcField(String),
    #[error(
        "CRC mismatch: frame carries {sent:04X}, the HJ 212 CRC of the data segment is {expected:04X}"
    )]
    CrcMismatch { sent: u16, expected: u16 },
    #[error(
        "wrong CRC algorithm: frame carries {sent:04X}, which is CRC-16/MODBUS ({order}), not the HJ 212 CRC {expected:04X}; enable the legacy MODBUS CRC option for this device to accept it"
    )]
    ModbusCrc {
        sent: u16,
        expected: u16,
        order: ByteOrder,
    },
    #[error("data segment is not valid {charset} text at byte {offset}")]
    Charset {
        charset: &'static str,
        offset: usize,
    },
    #[error("data segment has no \"CP=&&\"")]
    MissingCp,
    #[error("CP is not terminated by \"&&\" at the end of the data segment")]
    UnterminatedCp,
    #[error("header field {0} is missing")]
    MissingField(&'static str),
    #[error("header field {field} has an invalid value {value:?} ({reason})")]
    InvalidField {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("header entry {0:?} is not KEY=value")]
    MalformedHeader(String),
    /// A CP entry whose value (or factor code) is not what the protocol allows for
    /// its field, e.g. a data flag that is not one of N F M S D C T B P. `key` is the
    /// entry's key (`a21026-Flag`), cut to a bounded length when it is itself invalid.
    #[error("CP field {key} has an invalid value {value:?} ({reason})")]
    InvalidValue {
        key: String,
        value: String,
        reason: &'static str,
    },
}

impl FrameError {
    /// Stable machine-readable code of the error.
    pub fn kind(&self) -> &'static str {
        match self {
            FrameError::NoHeader => "no_header",
            FrameError::BadLengthField(_) => "bad_length_field",
            FrameError::TooLong { .. } => "too_long",
            FrameError::Truncated { .. } => "truncated",
            FrameError::LengthMismatch { .. } => "length_mismatch",
            FrameError::BadCrcField(_) => "bad_crc_field",
            FrameError::CrcMismatch { .. } => "crc_mismatch",
            FrameError::ModbusCrc { .. } => "crc_modbus",
            FrameError::Charset { .. } => "charset",
            FrameError::MissingCp => "missing_cp",
            FrameError::UnterminatedCp => "unterminated_cp",
            FrameError::MissingField(_) => "missing_field",
            FrameError::InvalidField { .. } => "invalid_field",
            FrameError::MalformedHeader(_) => "malformed_header",
            FrameError::InvalidValue { .. } => "invalid_value",
        }
    }

    /// True for errors of the frame envelope (length, CRC), false for errors of its content.
    pub fn is_framing(&self) -> bool {
        matches!(
            self,
            FrameError::NoHeader
                | FrameError::BadLengthField(_)
                | FrameError::TooLong { .. }
                | FrameError::Truncated { .. }
                | FrameError::LengthMismatch { .. }
                | FrameError::BadCrcField(_)
                | FrameError::CrcMismatch { .. }
                | FrameError::ModbusCrc { .. }
        )
    }
}

/// A frame (or a would-be frame) that was not accepted.
///
/// It keeps the raw bytes it covered (for the raw archive / quarantine), every error
/// found (the first is the main one) and, when the data segment could be read at all,
/// the best-effort parse of it.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub(crate) raw: Bytes,
    pub(crate) errors: Vec<FrameError>,
    pub(crate) crc_ok: Option<bool>,
    pub(crate) partial: Option<Box<Packet>>,
}

impl Rejected {
    pub(crate) fn new(raw: Bytes, error: FrameError) -> Self {
        Rejected {
            raw,
            errors: vec![error],
            crc_ok: None,
            partial: None,
        }
    }

    /// The main reason.
    pub fn error(&self) -> &FrameError {
        &self.errors[0]
    }

    /// Every reason found, the main one first.
    pub fn errors(&self) -> &[FrameError] {
        &self.errors
    }

    /// The bytes this rejection covers, as received.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// Whether the CRC matched (`None` if the frame was not complete enough to check).
    pub fn crc_ok(&self) -> Option<bool> {
        self.crc_ok
    }

    /// The best-effort parse of the data segment, if there was one.
    pub fn partial(&self) -> Option<&Packet> {
        self.partial.as_deref()
    }

    /// All error messages joined with "; ".
    pub fn message(&self) -> String {
        self.errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for Rejected {}

/// Why an outgoing message could not be serialized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error(
        "{field} value {value:?} contains a separator (';', ',', \"&&\" or CR/LF; ';' or \"CP=&&\" in a header value)"
    )]
    Separator { field: String, value: String },
    #[error("{field} value {value:?} has leading or trailing spaces, which the parser trims")]
    Spaces { field: String, value: String },
    #[error("key {0:?} is empty or contains a separator")]
    BadKey(String),
    #[error("data segment is {len} bytes, more than the 9999 the length field can express")]
    TooLong { len: usize },
    #[error("{field} must be {expected}, got {value:?}")]
    Format {
        field: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("text cannot be encoded as GBK: {0:?}")]
    Unencodable(String),
}
