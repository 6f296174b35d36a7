//! HJ 212 times are local China Standard Time (UTC+8), `YYYYMMDDhhmmss`
//! (some loggers add milliseconds).

use chrono::NaiveDateTime;
use gongjian_standards::cst;

/// `YYYYMMDDhhmmss[zzz]` (Beijing time) → Unix seconds.
pub fn datatime_to_unix(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 14 || !s.is_char_boundary(14) {
        return None;
    }
    let head = &s[..14];
    if !head.bytes().all(|b| b.is_ascii_digit()) || !s[14..].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = NaiveDateTime::parse_from_str(head, "%Y%m%d%H%M%S").ok()?;
    Some(cst::from_local(t))
}

/// Unix seconds → `YYYYMMDDhhmmss` in Beijing time.
pub fn unix_to_datatime(t: i64) -> String {
    cst::to_local(t).format("%Y%m%d%H%M%S").to_string()
}

/// A 17-digit QN (`YYYYMMDDhhmmsszzz`, Beijing time) for Unix milliseconds.
pub fn qn_for_millis(ms: i64) -> String {
    format!(
        "{}{:03}",
        unix_to_datatime(ms.div_euclid(1000)),
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_beijing_time() {
        // 2024-01-02 00:00:00 Beijing = 2024-01-01T16:00:00Z
        assert_eq!(datatime_to_unix("20240102000000"), Some(1_704_124_800));
        assert_eq!(datatime_to_unix("20240102000000123"), Some(1_704_124_800));
        assert_eq!(unix_to_datatime(1_704_124_800), "20240102000000");
        assert_eq!(datatime_to_unix("2024010200000"), None);
        assert_eq!(datatime_to_unix("20241302000000"), None);
        assert_eq!(datatime_to_unix("2024010200000x"), None);
        assert_eq!(qn_for_millis(1_704_124_800_007), "20240102000000007");
    }
}
