//! China Standard Time (UTC+8, no daylight saving): the one place that
//! converts between the platform's stored instants and the local clock the
//! standards and the users speak.
//!
//! Stored periods are keyed by their START in UTC (Unix seconds). The
//! standards and every data file label an hour by its END in local time:
//! the hour "2020-01-01 01:00" runs 00:00–01:00 CST and starts at
//! 2019-12-31 16:00 UTC. A local day runs 00:00–24:00 CST, so its first
//! hour starts at 16:00 UTC the day before. Each conversion below is one
//! function so that off-by-one stays in one place.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};

/// Seconds east of UTC.
pub const OFFSET_SECS: i64 = 8 * 3600;

const DAY_SECS: i64 = 86_400;
const HOUR_SECS: i64 = 3600;

/// The zone as a chrono offset (for formatting `DateTime`s).
pub fn zone() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Unix seconds → local date-time (the wall clock in Beijing).
pub fn to_local(t: i64) -> NaiveDateTime {
    DateTime::from_timestamp(t.saturating_add(OFFSET_SECS), 0)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

/// Local date-time → Unix seconds.
pub fn from_local(local: NaiveDateTime) -> i64 {
    local.and_utc().timestamp() - OFFSET_SECS
}

/// The local calendar day of instant `t`.
pub fn local_date(t: i64) -> NaiveDate {
    to_local(t).date()
}

/// UTC start (Unix s) of the hour that ENDS at `end_local`.
pub fn hour_start_utc(end_local: NaiveDateTime) -> i64 {
    from_local(end_local) - HOUR_SECS
}

/// The local END of the hour starting at `start_utc` (the label files and
/// reports give that hour).
pub fn hour_end_local(start_utc: i64) -> NaiveDateTime {
    to_local(start_utc.saturating_add(HOUR_SECS))
}

/// UTC start (Unix s) of local day `d` (its first hour, 00:00–01:00).
pub fn day_start_utc(d: NaiveDate) -> i64 {
    from_local(d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// UTC start (Unix s) of the local day containing instant `t`.
pub fn local_day_start(t: i64) -> i64 {
    let local = t + OFFSET_SECS;
    local - local.rem_euclid(DAY_SECS) - OFFSET_SECS
}

/// `YYYY-MM-DD hh:mm:ss` in local time, for lists and exports.
pub fn local_text(t: i64) -> String {
    to_local(t).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `YYYY-MM-DD hh:mm` in local time, for headings.
pub fn local_minutes_text(t: i64) -> String {
    to_local(t).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    fn utc(s: &str) -> i64 {
        dt(s).and_utc().timestamp()
    }

    #[test]
    fn the_first_hour_of_a_year_is_labelled_by_its_end() {
        // 2020-01-01 01:00 CST ends the hour 2019-12-31 16:00–17:00 UTC.
        let start = hour_start_utc(dt("2020-01-01 01:00:00"));
        assert_eq!(start, utc("2019-12-31 16:00:00"));
        assert_eq!(hour_end_local(start), dt("2020-01-01 01:00:00"));
        // The last hour of a year ends at 24:00, labelled 00:00 of the next day.
        let last = hour_start_utc(dt("2021-01-01 00:00:00"));
        assert_eq!(last, utc("2020-12-31 15:00:00"));
        assert_eq!(
            local_date(last),
            NaiveDate::from_ymd_opt(2020, 12, 31).unwrap()
        );
    }

    #[test]
    fn a_local_day_starts_at_sixteen_hundred_utc_the_day_before() {
        let d = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
        assert_eq!(day_start_utc(d), utc("2020-12-31 16:00:00"));
        // Every instant of the local day maps to the same start…
        for t in [
            utc("2020-12-31 16:00:00"),
            utc("2021-01-01 00:00:00"),
            utc("2021-01-01 15:59:59"),
        ] {
            assert_eq!(local_day_start(t), day_start_utc(d), "{t}");
            assert_eq!(local_date(t), d);
        }
        // …and the next second is the next day.
        let next = utc("2021-01-01 16:00:00");
        assert_eq!(local_day_start(next), day_start_utc(d.succ_opt().unwrap()));
        // Before 1970 too (rem_euclid, not %).
        let old = NaiveDate::from_ymd_opt(1969, 12, 31).unwrap();
        assert_eq!(local_day_start(day_start_utc(old) + 5), day_start_utc(old));
    }

    #[test]
    fn text_is_the_wall_clock_in_beijing() {
        assert_eq!(
            local_text(utc("2020-12-31 16:00:00")),
            "2021-01-01 00:00:00"
        );
        assert_eq!(
            local_minutes_text(utc("2024-02-29 04:05:00")),
            "2024-02-29 12:05"
        );
        assert_eq!(from_local(to_local(1_704_124_800)), 1_704_124_800);
        assert_eq!(zone().local_minus_utc(), 8 * 3600);
    }
}
