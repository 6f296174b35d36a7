//! Bounds on the text people type. Every storage function that stores a
//! name, a code or free text checks it here, so the pages, the API and the
//! command line all refuse the same input with the same Chinese message.

use crate::StorageError;

/// Names: organisations, display names, sites, indicators.
pub const NAME_MAX: usize = 100;
/// Codes and identifiers: site codes, device MN and password, factor codes.
pub const CODE_MAX: usize = 64;
/// Short free text: a fire point's place, a unit, a number as text.
pub const SHORT_TEXT_MAX: usize = 200;
/// Free text: review comments, notes.
pub const TEXT_MAX: usize = 2000;
/// Long free text: the body of a progress report.
pub const LONG_TEXT_MAX: usize = 5000;

/// A one-line value (name or code): at most `max` characters and no
/// control characters (no line breaks, tabs, NUL).
pub fn line(label: &str, value: &str, max: usize) -> Result<(), StorageError> {
    length(label, value, max)?;
    if value.chars().any(char::is_control) {
        return Err(StorageError::rule(
            crate::Rule::Text,
            format!("{label}不能包含控制字符（如换行、制表符）"),
        ));
    }
    Ok(())
}

/// Free text: at most `max` characters; line breaks and tabs are allowed,
/// other control characters (NUL among them) are not.
pub fn text(label: &str, value: &str, max: usize) -> Result<(), StorageError> {
    length(label, value, max)?;
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(StorageError::rule(
            crate::Rule::Text,
            format!("{label}不能包含控制字符"),
        ));
    }
    Ok(())
}

fn length(label: &str, value: &str, max: usize) -> Result<(), StorageError> {
    // Count no further than needed: a megabyte is refused as fast as max + 1.
    let n = value.chars().take(max + 1).count();
    if n > max {
        return Err(StorageError::rule(
            crate::Rule::Text,
            format!("{label}过长：最多 {max} 个字符"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_count_characters_not_bytes() {
        assert!(line("单位名称", &"镇".repeat(NAME_MAX), NAME_MAX).is_ok());
        let err = line("单位名称", &"镇".repeat(NAME_MAX + 1), NAME_MAX).unwrap_err();
        assert!(err.to_string().contains("单位名称过长"), "{err}");
        assert!(line("单位名称", "原武\n镇", NAME_MAX).is_err());
        assert!(line("单位名称", "原武\0镇", NAME_MAX).is_err());
        assert!(text("意见", "第一行\r\n第二行\t。", TEXT_MAX).is_ok());
        assert!(text("意见", "a\u{7}b", TEXT_MAX).is_err());
    }
}
