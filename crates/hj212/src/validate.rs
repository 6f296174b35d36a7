//! What the protocol allows in the fields that reach storage or a screen.
//!
//! Every byte of a frame comes from a device on the network and must be treated
//! as hostile: a data flag is one letter of the standard's table, a factor code
//! is a short ASCII identifier, numbers are decimals, times are digits. A frame
//! breaking one of these rules is rejected with [`FrameError::InvalidValue`]
//! (CP entries) or [`FrameError::InvalidField`] (header fields), naming the key,
//! so the listener can quarantine it instead of storing the text.

use crate::error::FrameError;
use crate::packet::FieldKind;

/// Data flags (`code-Flag`) accepted: HJ 212-2017 §8.5 (N F M S D C T B) and the
/// HJ/T 212-2005 set (P F C M T D S N; `P` power failure was dropped in 2017 but
/// old loggers still send it). One upper-case ASCII letter.
pub const DATA_FLAGS: &[u8] = b"NFMSDCTBP";

/// Longest factor code accepted (2017 codes have 6 characters, vendor ones up to 10).
pub const MAX_CODE_LEN: usize = 24;
/// Longest `EFlag` accepted (the standard says up to 4 characters).
pub const MAX_EFLAG_LEN: usize = 8;
/// Longest number accepted in a value field.
pub const MAX_NUMBER_LEN: usize = 32;
/// Longest free-text CP value accepted (`Info` log text, vendor fields): real
/// loggers send log texts of 1,600 bytes, so the bound is the frame's own.
pub const MAX_TEXT_LEN: usize = crate::frame::MAX_DATA_LEN;
/// Longest MN / PW accepted (the 2017 MN has 24 characters; devices allow 64).
pub const MAX_ID_LEN: usize = 64;
/// Longest QN accepted (17 digits in 2017, epoch milliseconds elsewhere).
pub const MAX_QN_LEN: usize = 32;
/// Longest ST / CN accepted (2 and 4 digits in the standard).
pub const MAX_CODE_FIELD_LEN: usize = 8;

/// True for a data flag the codec accepts (see [`DATA_FLAGS`]).
pub fn is_data_flag(flag: &str) -> bool {
    flag.len() == 1 && DATA_FLAGS.contains(&flag.as_bytes()[0])
}

/// True for a factor code: 1 to [`MAX_CODE_LEN`] ASCII letters, digits or `_`.
pub fn is_factor_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// True for a plain decimal (`-12.50`, `+3`, `.5`): what the exact-decimal
/// arithmetic downstream reads. No exponent, no spaces, at most [`MAX_NUMBER_LEN`].
pub fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > MAX_NUMBER_LEN {
        return false;
    }
    let digits = match b[0] {
        b'+' | b'-' => &b[1..],
        _ => b,
    };
    let mut seen_digit = false;
    let mut seen_dot = false;
    for &c in digits {
        match c {
            b'0'..=b'9' => seen_digit = true,
            b'.' if !seen_dot => seen_dot = true,
            _ => return false,
        }
    }
    seen_digit
}

/// A value for an error message: at most 32 characters, with `…` when cut.
pub(crate) fn shown(s: &str) -> String {
    const MAX: usize = 32;
    match s.char_indices().nth(MAX) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

fn is_ident(s: &str, max: usize, extra: &[u8]) -> bool {
    s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Why a header value is not allowed, if it is not (`None`: fine).
pub(crate) fn header_problem(field: &str, value: &str) -> Option<&'static str> {
    match field {
        "QN" => (!is_ident(value, MAX_QN_LEN, b"._-"))
            .then_some("at most 32 ASCII letters, digits, '.', '_' or '-'"),
        "ST" | "CN" => (!is_ident(value, MAX_CODE_FIELD_LEN, b""))
            .then_some("at most 8 ASCII letters or digits"),
        "MN" => (!is_ident(value, MAX_ID_LEN, b"._-"))
            .then_some("at most 64 ASCII letters, digits, '.', '_' or '-'"),
        "PW" => (value.len() > MAX_ID_LEN || !value.bytes().all(|b| b.is_ascii_graphic()))
            .then_some("at most 64 printable ASCII characters"),
        _ => None,
    }
}

/// Check one item (`code-Field=value`); the error names the key.
pub(crate) fn check_item(code: &str, field: &str, value: &str) -> Result<(), FrameError> {
    let bad = |reason: &'static str| {
        Err(FrameError::InvalidValue {
            key: shown(&format!("{code}-{field}")),
            value: shown(value),
            reason,
        })
    };
    if !is_factor_code(code) {
        return bad("the factor code must be 1-24 ASCII letters, digits or '_'");
    }
    let kind = FieldKind::of(field);
    match kind {
        FieldKind::Flag => {
            if !value.is_empty() && !is_data_flag(value) {
                return bad("a data flag is one of N F M S D C T B P");
            }
        }
        FieldKind::EFlag => {
            if !is_ident(value, MAX_EFLAG_LEN, b"") {
                return bad("an EFlag is at most 8 ASCII letters or digits");
            }
        }
        FieldKind::SampleTime => {
            let time = matches!(value.len(), 14 | 17) && value.bytes().all(|b| b.is_ascii_digit());
            if !(value.is_empty() || time) {
                return bad("a SampleTime is YYYYMMDDhhmmss");
            }
        }
        FieldKind::Sn => {
            if !is_ident(value, MAX_ID_LEN, b"") {
                return bad("an SN is at most 64 ASCII letters or digits");
            }
        }
        FieldKind::Rs
        | FieldKind::Rt
        | FieldKind::Ala
        | FieldKind::UpValue
        | FieldKind::LowValue => {
            if !value.is_empty() && !is_decimal(value) {
                return bad("not a decimal number");
            }
        }
        _ if kind.is_value() => {
            if !value.is_empty() && !is_decimal(value) {
                return bad("not a decimal number");
            }
        }
        _ => {
            if value.len() > MAX_TEXT_LEN || has_control(value) {
                return bad("text with control characters");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for ok in ["0", "-1", "+2.5", ".5", "5.", "-123.0723", "0.000"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", "-", ".", "1e3", "1.2.3", " 1", "NaN", "1,5", "<b>"] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn flags_and_codes() {
        for f in ["N", "F", "M", "S", "D", "C", "T", "B", "P"] {
            assert!(is_data_flag(f));
        }
        for f in ["", "n", "NN", "X", "<", "Ｎ"] {
            assert!(!is_data_flag(f), "{f}");
        }
        assert!(is_factor_code("a21026") && is_factor_code("SB1") && is_factor_code("011"));
        assert!(!is_factor_code("") && !is_factor_code("a<b") && !is_factor_code(&"a".repeat(25)));
    }

    #[test]
    fn shown_cuts_long_values() {
        assert_eq!(shown("abc"), "abc");
        let s = shown(&"x".repeat(100));
        assert_eq!(s.chars().count(), 33);
        assert!(s.ends_with('…'));
    }
}
