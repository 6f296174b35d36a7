//! A warning suggested from the office's daily AQI forecast (issue 15
//! item 2; emergency.md §2): the forecast as the office types or pastes it,
//! and the level the rule set's triggers call for.
//!
//! An episode is a run of heavy days (AQI above the trigger); runs split by
//! a single lighter day are one episode, since a warning is lifted only
//! when the improvement is forecast to last 36 hours or more. The level is
//! the highest any episode reaches (when the forecast swings between
//! levels, the higher one is issued); one heavy day alone calls for the
//! health advisory (健康防护提示), not a warning.

use chrono::NaiveDate;
use serde::Serialize;

use crate::rules::Triggers;
use crate::vocab::WarningLevel;

/// At most this many forecast days are read: forecasts reach 7–15 days.
pub const MAX_FORECAST_DAYS: usize = 31;

/// One forecast day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ForecastDay {
    pub day: NaiveDate,
    /// The day's AQI (24-hour mean), forecast.
    pub aqi: u32,
}

/// What the forecast calls for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Suggestion {
    /// No heavy day.
    None,
    /// One heavy day: a health advisory goes out with the forecast.
    Advisory { day: NaiveDate, aqi: u32 },
    /// A warning at `level` for the episode's days.
    Warning {
        level: WarningLevel,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        /// Why, in Chinese, naming the trigger met.
        reason: String,
    },
}

/// Read the forecast as typed: one day a line, `YYYY-MM-DD` and the AQI
/// separated by spaces, a tab, a comma or a Chinese comma; blank lines are
/// skipped. Every problem is returned as `第 N 行：…`; days must not
/// repeat. At most [`MAX_FORECAST_DAYS`] lines.
pub fn parse_forecast(text: &str) -> Result<Vec<ForecastDay>, Vec<String>> {
    let mut days = Vec::new();
    let mut problems = Vec::new();
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    if lines.len() > MAX_FORECAST_DAYS {
        return Err(vec![format!(
            "预报最多 {MAX_FORECAST_DAYS} 天，收到 {} 行",
            lines.len()
        )]);
    }
    for (n, line) in lines {
        let parts: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
            .filter(|p| !p.is_empty())
            .collect();
        let [day, aqi] = parts.as_slice() else {
            problems.push(format!("第 {n} 行：应为“日期 AQI”，如 2026-12-10 268"));
            continue;
        };
        let Ok(day) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
            problems.push(format!("第 {n} 行：日期应为 YYYY-MM-DD"));
            continue;
        };
        match aqi.parse::<u32>() {
            Ok(aqi) if aqi <= 1000 => {
                if days.iter().any(|d: &ForecastDay| d.day == day) {
                    problems.push(format!("第 {n} 行：{day} 重复"));
                } else {
                    days.push(ForecastDay { day, aqi });
                }
            }
            _ => problems.push(format!("第 {n} 行：AQI 应为 0–1000 的整数")),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    days.sort_by_key(|d| d.day);
    Ok(days)
}

/// The suggestion `triggers` make of `forecast` (any order).
pub fn suggest(forecast: &[ForecastDay], triggers: &Triggers) -> Suggestion {
    let mut days = forecast.to_vec();
    days.sort_by_key(|d| d.day);
    let heavy = |d: &ForecastDay| d.aqi > triggers.heavy_aqi;
    // Episodes: indices of their first and last heavy day.
    let mut episodes: Vec<(usize, usize)> = Vec::new();
    for (i, d) in days.iter().enumerate() {
        if !heavy(d) {
            continue;
        }
        match episodes.last_mut() {
            // The next calendar day, or one lighter day between.
            Some((_, last)) if (d.day - days[*last].day).num_days() <= 2 => *last = i,
            _ => episodes.push((i, i)),
        }
    }
    let mut best: Option<(WarningLevel, usize, usize, String)> = None;
    let mut advisory = None;
    for &(first, last) in &episodes {
        let span = &days[first..=last];
        // The level counts heavy days; a lighter day between keeps the
        // episode (and the warning's dates) together without counting.
        let length = span.iter().filter(|d| heavy(d)).count();
        let calendar = (days[last].day - days[first].day).num_days() as usize + 1;
        let run = if calendar == length {
            format!("连续 {length} 天")
        } else {
            format!("{length} 天（间隔不足 36 小时，按同一次过程）")
        };
        let peak = span.iter().map(|d| d.aqi).max().unwrap_or(0);
        let severe_run = longest_run(span, |d| d.aqi > triggers.severe_aqi);
        let level = if peak >= triggers.extreme_aqi {
            Some((
                WarningLevel::Red,
                format!("AQI 预报达到 {}", triggers.extreme_aqi),
            ))
        } else if length >= triggers.red_days && severe_run >= triggers.red_severe_days {
            Some((
                WarningLevel::Red,
                format!(
                    "{run} AQI > {}，其中连续 {severe_run} 天 > {}",
                    triggers.heavy_aqi, triggers.severe_aqi
                ),
            ))
        } else if length >= triggers.orange_days {
            Some((
                WarningLevel::Orange,
                format!("{run} AQI > {}", triggers.heavy_aqi),
            ))
        } else if length >= triggers.yellow_days {
            Some((
                WarningLevel::Yellow,
                format!("{run} AQI > {}", triggers.heavy_aqi),
            ))
        } else {
            None
        };
        match level {
            Some((level, why)) => {
                if best.as_ref().is_none_or(|(b, ..)| rank(level) > rank(*b)) {
                    best = Some((level, first, last, format!("{why}（最高 {peak}）")));
                }
            }
            None => {
                advisory.get_or_insert(days[first]);
            }
        }
    }
    match (best, advisory) {
        (Some((level, first, last, reason)), _) => Suggestion::Warning {
            level,
            starts_on: days[first].day,
            ends_on: days[last].day,
            reason,
        },
        (None, Some(d)) => Suggestion::Advisory {
            day: d.day,
            aqi: d.aqi,
        },
        (None, None) => Suggestion::None,
    }
}

fn rank(level: WarningLevel) -> u8 {
    match level {
        WarningLevel::Yellow => 1,
        WarningLevel::Orange => 2,
        WarningLevel::Red => 3,
    }
}

/// The longest run of consecutive calendar days meeting `pred`.
fn longest_run(days: &[ForecastDay], pred: impl Fn(&ForecastDay) -> bool) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev: Option<NaiveDate> = None;
    for d in days {
        if pred(d) {
            run = match prev {
                Some(p) if (d.day - p).num_days() == 1 => run + 1,
                _ => 1,
            };
            prev = Some(d.day);
            best = best.max(run);
        } else {
            run = 0;
            prev = None;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(start: &str, aqis: &[u32]) -> Vec<ForecastDay> {
        let first = NaiveDate::parse_from_str(start, "%Y-%m-%d").unwrap();
        aqis.iter()
            .enumerate()
            .map(|(i, &aqi)| ForecastDay {
                day: first + chrono::Duration::days(i as i64),
                aqi,
            })
            .collect()
    }

    fn level(aqis: &[u32]) -> Option<WarningLevel> {
        match suggest(&series("2026-12-10", aqis), &Triggers::HENAN_2019) {
            Suggestion::Warning { level, .. } => Some(level),
            _ => None,
        }
    }

    #[test]
    fn henan_2019_triggers() {
        assert_eq!(level(&[150, 180, 190]), None);
        assert_eq!(level(&[150, 201, 150]), None, "one day: an advisory");
        assert_eq!(level(&[200, 200, 200]), None, "200 is not above 200");
        assert_eq!(level(&[201, 230]), Some(WarningLevel::Yellow));
        assert_eq!(level(&[201, 230, 260]), Some(WarningLevel::Orange));
        // Four days but only one above 300: orange.
        assert_eq!(level(&[210, 310, 280, 250]), Some(WarningLevel::Orange));
        assert_eq!(level(&[210, 310, 320, 250]), Some(WarningLevel::Red));
        // Two days above 300 but not consecutive.
        assert_eq!(level(&[310, 250, 320, 250]), Some(WarningLevel::Orange));
        assert_eq!(level(&[120, 500]), Some(WarningLevel::Red), "AQI 500");
        // A lighter day between does not count (review regression).
        assert_eq!(level(&[201, 150, 201]), Some(WarningLevel::Yellow));
        assert_eq!(level(&[310, 320, 150, 210]), Some(WarningLevel::Orange));
    }

    #[test]
    fn one_lighter_day_does_not_end_an_episode_and_the_higher_level_wins() {
        // 2 heavy, 1 light, 1 heavy: one episode of 3 heavy days → orange,
        // dated from its first to its last heavy day.
        let s = suggest(
            &series("2026-12-10", &[230, 240, 180, 220, 100, 100, 210, 220]),
            &Triggers::HENAN_2019,
        );
        assert_eq!(
            s,
            Suggestion::Warning {
                level: WarningLevel::Orange,
                starts_on: NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(),
                ends_on: NaiveDate::from_ymd_opt(2026, 12, 13).unwrap(),
                reason: "3 天（间隔不足 36 小时，按同一次过程） AQI > 200（最高 240）".into(),
            }
        );
        assert_eq!(
            suggest(&series("2026-12-10", &[90, 205, 90]), &Triggers::HENAN_2019),
            Suggestion::Advisory {
                day: NaiveDate::from_ymd_opt(2026, 12, 11).unwrap(),
                aqi: 205
            }
        );
    }

    #[test]
    fn the_forecast_is_read_line_by_line_with_every_problem() {
        let days = parse_forecast("2026-12-11，230\n\n2026-12-10 210\n2026-12-12\t190\n").unwrap();
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].aqi, 210, "sorted by day");
        let problems =
            parse_forecast("2026-12-10 210\n12/11 230\n2026-12-12 abc\n2026-12-10 200\nx")
                .unwrap_err();
        assert_eq!(
            problems,
            [
                "第 2 行：日期应为 YYYY-MM-DD",
                "第 3 行：AQI 应为 0–1000 的整数",
                "第 4 行：2026-12-10 重复",
                "第 5 行：应为“日期 AQI”，如 2026-12-10 268",
            ]
        );
        let long = "2026-12-10 100\n".repeat(40);
        assert!(parse_forecast(&long).unwrap_err()[0].contains("最多 31 天"));
    }
}
