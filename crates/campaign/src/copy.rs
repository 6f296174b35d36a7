//! Next year's plan written from this year's (`gongjian plan copy`): the
//! plan's text with its years moved, so comments, wording and layout stay as
//! the office wrote them and the copy reads like a plan, not a dump.
//!
//! What moves: dates (`2020-04-30`), years written as a year ("2020 年",
//! "2019 年度"), quoted years (`period = "2020"`, `baseline = "2019"`) and
//! `year = 2020`, for the plan's year and the years either side. What stays:
//! standard numbers (`HJ 212-2017`), ranges and document numbers
//! (`（2018-2021年）`, `〔2020〕`), other numbers, and `limits.toml` (emission
//! limits are in force from their own dates). The campaign key gets the new
//! year; the document number and issue date are commented out until the new
//! plan is issued. A baseline's stated figure (`baseline = { year = 2019,
//! value = 12 }`) belongs to the old year: the copy keeps the moved year
//! and comments the figure out, so the new one is measured or typed in,
//! never the old year's figure under the new year's name.

use crate::model::{Campaign, PlanFile};

/// The files of `plan` rewritten for `year`. Parse the result to validate it.
pub fn copy_to_year(plan: &Campaign, year: i32) -> Vec<PlanFile> {
    let delta = year - plan.year;
    let new_key = next_key(&plan.key, plan.year, year);
    plan.sources
        .iter()
        .map(|f| {
            // Limits are in force from their own dates; outlines have no year.
            let text = if f.name == "limits.toml" || f.name.ends_with(".geojson") {
                f.text.clone()
            } else {
                let shifted = drop_stated_baselines(&shift_years(&f.text, plan.year, delta), delta);
                if f.text.contains("[campaign]") {
                    campaign_table(&shifted, &plan.key, &new_key)
                } else {
                    shifted
                }
            };
            PlanFile {
                name: f.name.clone(),
                text,
            }
        })
        .collect()
}

/// `pingyuan-2020` → `pingyuan-2026`; a key without its year gets one.
pub fn next_key(key: &str, from: i32, to: i32) -> String {
    match key.strip_suffix(&format!("-{from}")) {
        Some(stem) => format!("{stem}-{to}"),
        None => format!("{key}-{to}"),
    }
}

/// `baseline = { year = 2025, value = 12 }` (year already moved) →
/// `baseline = "2025"` and a comment keeping the old figure.
fn drop_stated_baselines(text: &str, delta: i32) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let stated = line
            .trim_start()
            .starts_with("baseline")
            .then(|| line.parse::<toml_edit::DocumentMut>().ok())
            .flatten()
            .and_then(|doc| {
                let t = doc.get("baseline")?.as_inline_table()?.clone();
                let year = t.get("year")?.as_integer()?;
                let value = t.get("value").map(|v| match v.as_str() {
                    Some(s) => s.to_owned(),
                    None => v.to_string().trim().to_owned(),
                });
                Some((year, value))
            });
        match stated {
            Some((year, Some(value))) => {
                let indent = &line[..line.len() - line.trim_start().len()];
                out.push_str(&format!(
                    "{indent}baseline = \"{year}\"  # 复制前的基准值 {value} 属 {} 年，未复制：{year} 年值由监测数据测得，或写成 {{ year = {year}, value = … }}\n",
                    year - i64::from(delta),
                ));
            }
            _ => out.push_str(line),
        }
    }
    out
}

fn campaign_table(text: &str, old_key: &str, new_key: &str) -> String {
    let mut out = String::with_capacity(text.len() + 128);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("document =") || trimmed.starts_with("issued =") {
            out.push_str("# ");
            out.push_str(trimmed.trim_end_matches(['\r', '\n']));
            out.push_str(&format!("  # 复制自 {old_key}：新方案印发后填写\n"));
        } else if trimmed.starts_with("key =") {
            out.push_str(&line.replacen(&format!("\"{old_key}\""), &format!("\"{new_key}\""), 1));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Moves by `delta` every year of `from - 1 ..= from + 1` that is written as
/// a date, a year or a quoted year (see the module comment).
pub fn shift_years(text: &str, from: i32, delta: i32) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i + 4 <= b.len() {
        let is_run = b[i..i + 4].iter().all(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 4).is_none_or(|c| !c.is_ascii_digit());
        if !is_run {
            i += 1;
            continue;
        }
        // Four ASCII digits: always a valid number.
        let n: i32 = text[i..i + 4].parse().unwrap_or(0);
        let before = &text[..i];
        let after = &text[i + 4..];
        let in_range = (from - 1..=from + 1).contains(&n);
        let excluded = before.ends_with('-') || before.ends_with('〔') || before.ends_with('[');
        if in_range && !excluded {
            if let Some(date) = date_after(after) {
                out.push_str(&text[copied..i]);
                out.push_str(&shift_date(n, date, delta));
                i += 10;
                copied = i;
                continue;
            }
            let as_year = after.trim_start_matches(' ').starts_with('年')
                || (before.ends_with('"') && after.starts_with('"'))
                || before.trim_end().ends_with("year =");
            if as_year {
                out.push_str(&text[copied..i]);
                out.push_str(&(n + delta).to_string());
                copied = i + 4;
            }
        }
        i += 4;
    }
    out.push_str(&text[copied..]);
    out
}

/// `-MM-DD` right after a year, as (month, day).
fn date_after(after: &str) -> Option<(u32, u32)> {
    let b = after.as_bytes();
    if b.len() < 6 || b[0] != b'-' || b[3] != b'-' {
        return None;
    }
    if !b[1..3].iter().chain(&b[4..6]).all(u8::is_ascii_digit)
        || b.get(6).is_some_and(u8::is_ascii_digit)
    {
        return None;
    }
    Some((after[1..3].parse().ok()?, after[4..6].parse().ok()?))
}

fn shift_date(year: i32, (month, day): (u32, u32), delta: i32) -> String {
    let y = year + delta;
    // 29 February of a leap year becomes the 28th in a common year.
    let day = if month == 2 && day == 29 && chrono::NaiveDate::from_ymd_opt(y, 2, 29).is_none() {
        28
    } else {
        day
    };
    format!("{y:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_dates_years_and_quoted_years_only() {
        let text = "summary = \"2020 年 4 月底前，夯实 2019 年度任务（2018-2021年）\"\n\
                    milestones = [{ date = \"2020-04-30\" }]\n\
                    period = \"2020\"\nbaseline = \"2019\"\nyear = 2020\n\
                    standard = \"HJ 212-2017\"\ndoc = \"〔2020〕20号\"\nsize = 2020\n";
        assert_eq!(
            shift_years(text, 2020, 6),
            "summary = \"2026 年 4 月底前，夯实 2025 年度任务（2018-2021年）\"\n\
             milestones = [{ date = \"2026-04-30\" }]\n\
             period = \"2026\"\nbaseline = \"2025\"\nyear = 2026\n\
             standard = \"HJ 212-2017\"\ndoc = \"〔2020〕20号\"\nsize = 2020\n"
        );
    }

    #[test]
    fn a_stated_baseline_figure_is_not_carried_into_the_new_year() {
        let text = "key = \"x\"\nbaseline = { year = 2019, value = \"12\" }\nbaseline = \"2019\"\n";
        let out = drop_stated_baselines(&shift_years(text, 2020, 6), 6);
        assert_eq!(
            out,
            "key = \"x\"\nbaseline = \"2025\"  # 复制前的基准值 12 属 2019 年，未复制：2025 年值由监测数据测得，或写成 { year = 2025, value = … }\nbaseline = \"2025\"\n"
        );
    }

    #[test]
    fn leap_day_becomes_the_last_day_of_february() {
        assert_eq!(shift_years("\"2020-02-29\"", 2020, 1), "\"2021-02-28\"");
        assert_eq!(shift_years("\"2020-02-29\"", 2020, 4), "\"2024-02-29\"");
    }

    #[test]
    fn key_takes_the_new_year() {
        assert_eq!(next_key("pingyuan-2020", 2020, 2026), "pingyuan-2026");
        assert_eq!(next_key("pingyuan", 2020, 2026), "pingyuan-2026");
    }
}
