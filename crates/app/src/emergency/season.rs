//! Seasonal production control (季节性生产调控, 错峰生产; issue 15 item 6),
//! the use cases: import the heating season's list and verify each listed
//! enterprise's days from its production meters, as a warning's days are
//! verified (the same meters, the same daily energy, the same baselines).
//!
//! - 停产 (and a 错峰生产 without hours): the day's use at most the rule
//!   set's stop residual (10 %) of the baseline;
//! - 限产: at most the row's load limit of the baseline;
//! - 错峰生产 with hours: within each stop window, the use at most the stop
//!   residual of the baseline's share of those hours.
//!
//! The baseline is the list's 正常工况日用电量, else the mean of the normal
//! days (no warning) before the row's period begins. A day without the
//! data is 无法核查, never 达标.

use chrono::{Duration, NaiveDate};
use gongjian_emergency::season::{SeasonEntry, parse_season_list, window_check, window_energy};
use gongjian_emergency::{
    Check, MeasureKind, RuleSet, Verdict, baseline, day_verdict, electricity_check,
};
use gongjian_standards::cst;
use gongjian_storage::{Actor, Db, NewSeasonEntry, Rule, SeasonList, StorageError};
use gongjian_tabular::Table;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{day_energy, in_any_warning, on_line, production_meters, sites_of, span_energy};
use crate::AppError;

/// The season list's import: the list stored, and what the office should
/// know (notes of the parse).
#[derive(Debug, Clone, Serialize)]
pub struct SeasonImport {
    pub list: SeasonList,
    pub enterprises: usize,
    pub notes: Vec<String>,
}

/// Import the season's 错峰生产 list for `season` (e.g. 2026-2027) running
/// `starts_on`–`ends_on`: refused whole, every problem listed.
pub async fn import_season_list(
    db: &Db,
    actor: &Actor,
    season: &str,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    table: &Table,
) -> Result<SeasonImport, AppError> {
    let parsed = parse_season_list(table, starts_on, ends_on)
        .map_err(|e| AppError::InvalidFile(e.to_string()))?;
    let entries = parsed
        .entries
        .iter()
        .map(|e| {
            Ok(NewSeasonEntry {
                enterprise: e.enterprise.clone(),
                credit_code: e.credit_code.clone(),
                entry: serde_json::to_value(e)
                    .map_err(|err| AppError::InvalidFile(err.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let list = db
        .seasons()
        .import_season_list(
            actor,
            season,
            (starts_on, ends_on),
            table.source(),
            &entries,
        )
        .await?;
    let mut names: Vec<&str> = parsed
        .entries
        .iter()
        .map(|e| e.enterprise.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    Ok(SeasonImport {
        list,
        enterprises: names.len(),
        notes: parsed.notes,
    })
}

/// One listed row's day, judged.
#[derive(Debug, Clone, Serialize)]
pub struct SeasonDay {
    pub line: u64,
    pub enterprise: String,
    pub day: NaiveDate,
    /// The day's use (kWh) — for a stagger, within its stop windows.
    pub energy_kwh: Option<Decimal>,
    pub verdict: Verdict,
    pub verdict_label: &'static str,
    /// Why, in Chinese.
    pub detail: String,
}

/// One row of the list with its days over the period asked for.
#[derive(Debug, Clone, Serialize)]
pub struct SeasonRow {
    pub line: u64,
    pub enterprise: String,
    pub production_line: Option<String>,
    pub industry: String,
    /// "限产（负荷 ≤ 80%）", "错峰生产 22:00–06:00 停产" …
    pub measure: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// The baseline (kWh/d): the list's, else measured.
    pub baseline_kwh: Option<Decimal>,
    /// Whether the baseline is the list's (else measured).
    pub baseline_listed: bool,
    /// Days 达标 / 未落实 / 无法核查 in the period.
    pub compliant: usize,
    pub not_implemented: usize,
    pub unverifiable: usize,
    pub days: Vec<SeasonDay>,
}

/// The season list in force and its verification over `from`–`to`.
#[derive(Debug, Clone, Serialize)]
pub struct SeasonVerification {
    pub list: Option<SeasonList>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: Vec<SeasonRow>,
}

impl SeasonVerification {
    /// Every judged day, row by row.
    pub fn days(&self) -> impl Iterator<Item = &SeasonDay> {
        self.rows.iter().flat_map(|r| r.days.iter())
    }
}

/// At most this many days are verified at once (a whole season).
pub const MAX_DAYS: i64 = 184;

/// Verify the list in force on `to` (or list `list_id`) from `from` to
/// `to` (China Standard Time, inclusive), as of `today`: a day is judged
/// once it is over (with its stop windows that run into the next morning).
/// `only`: the rows of that enterprise alone (an enterprise's own view).
pub async fn verify_season(
    db: &Db,
    list_id: Option<i64>,
    (from, to): (NaiveDate, NaiveDate),
    today: NaiveDate,
    only: Option<&str>,
) -> Result<SeasonVerification, AppError> {
    if to < from {
        return Err(StorageError::rule(Rule::Emergency, "结束日期早于开始日期").into());
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(StorageError::rule(
            Rule::Emergency,
            format!("一次最多核查 {MAX_DAYS} 天，请缩短日期范围"),
        )
        .into());
    }
    let found = match list_id {
        Some(id) => Some(db.seasons().season_list(id).await?),
        None => db.seasons().season_list_for(to).await?,
    };
    let mut out = SeasonVerification {
        list: None,
        from,
        to,
        rows: Vec::new(),
    };
    let Some((list, stored)) = found else {
        return Ok(out);
    };
    let entries: Vec<SeasonEntry> = stored
        .into_iter()
        .map(|s| serde_json::from_value(s.entry))
        .collect::<Result<_, _>>()
        .map_err(|e| StorageError::Corrupt(format!("season entry: {e}")))?;
    let orgs = db.organisations().list().await?;
    let sites = db.monitoring().sites().await?;
    let circuits = db.power().circuits().await?;
    let lines = db.power().production_lines().await?;
    let warnings = db.emergency().warnings().await?;
    let today_start = cst::day_start_utc(today);
    for entry in entries
        .iter()
        .filter(|e| only.is_none_or(|name| e.enterprise == name))
    {
        let rules = RuleSet::for_date(entry.starts_on);
        let own_sites = sites_of(&orgs, &sites, &entry.enterprise);
        let meters = production_meters(&own_sites, &circuits);
        let tied = on_line(&meters, &lines, entry.production_line.as_deref());
        // One line of a plant listed line by line cannot be judged on the
        // whole plant's meters: 无法核查 until its meters are tied to lines.
        let rows_of_plant = entries
            .iter()
            .filter(|e| e.enterprise == entry.enterprise)
            .count();
        let shared = tied.is_none() && rows_of_plant > 1 && !meters.is_empty();
        let meters = tied.unwrap_or(meters);
        let base = match entry.baseline_kwh {
            Some(listed) => Some(listed),
            None => {
                // Normal days before the period, newest first.
                let mut normal = Vec::new();
                for k in 1..=rules.baseline_days as i64 * 2 {
                    let d = entry.starts_on - Duration::days(k);
                    if normal.len() == rules.baseline_days {
                        break;
                    }
                    if in_any_warning(&warnings, d) {
                        continue;
                    }
                    if let Some(e) = day_energy(db, &meters, d).await? {
                        normal.push(e);
                    }
                }
                normal.reverse();
                baseline(None, &normal, &rules)
            }
        };
        let mut row = SeasonRow {
            line: entry.line,
            enterprise: entry.enterprise.clone(),
            production_line: entry.production_line.clone(),
            industry: entry.industry.clone(),
            measure: entry.measure_label(),
            starts_on: entry.starts_on,
            ends_on: entry.ends_on,
            baseline_kwh: base.map(|b| b.round_dp(2).normalize()),
            baseline_listed: entry.baseline_kwh.is_some(),
            compliant: 0,
            not_implemented: 0,
            unverifiable: 0,
            days: Vec::new(),
        };
        let mut day = from.max(entry.starts_on);
        let last = to.min(entry.ends_on);
        while day <= last {
            let start = cst::day_start_utc(day);
            let over = entry
                .windows
                .iter()
                .map(|w| start + w.offsets().1)
                .fold(start + 86_400, i64::max);
            if over > today_start {
                break;
            }
            let judged = if shared {
                SeasonDay {
                    line: entry.line,
                    enterprise: entry.enterprise.clone(),
                    day,
                    energy_kwh: None,
                    verdict: Verdict::Unverifiable,
                    verdict_label: Verdict::Unverifiable.label(),
                    detail: "该企业按生产线列入清单，但用电监控点未对应生产线，无法分线核查（请在站点页面设置所属生产线）".into(),
                }
            } else {
                judge_day(db, entry, &meters, base, &rules, day).await?
            };
            match judged.verdict {
                Verdict::Compliant => row.compliant += 1,
                Verdict::NotImplemented => row.not_implemented += 1,
                Verdict::Unverifiable => row.unverifiable += 1,
            }
            row.days.push(judged);
            day += Duration::days(1);
        }
        out.rows.push(row);
    }
    out.list = Some(list);
    Ok(out)
}

async fn judge_day(
    db: &Db,
    entry: &SeasonEntry,
    meters: &[i64],
    base: Option<Decimal>,
    rules: &RuleSet,
    day: NaiveDate,
) -> Result<SeasonDay, AppError> {
    let pct = |d: Decimal| d.normalize().to_string();
    let mut checks: Vec<(String, Check)> = Vec::new();
    let mut energy = None;
    if meters.is_empty() {
        checks.push((
            String::new(),
            Check::Unverifiable {
                why: match &entry.production_line {
                    Some(l) => format!("未登记该企业生产线“{l}”的生产用电监控点，无法核查"),
                    None => "未登记该企业的生产用电监控点，无法核查".into(),
                },
            },
        ));
    } else if entry.kind == MeasureKind::Stagger && !entry.windows.is_empty() {
        let start = cst::day_start_utc(day);
        let mut used = Some(Decimal::ZERO);
        for w in &entry.windows {
            let (a, b) = w.offsets();
            let seconds = w.seconds();
            let e = span_energy(db, meters, start + a, start + b, |r| {
                window_energy(r, seconds)
            })
            .await?;
            used = used.zip(e).map(|(u, e)| u + e);
            checks.push((
                format!("错峰时段 {}", w.label()),
                window_check(e, base, seconds, rules.stop_residual_pct),
            ));
        }
        energy = used;
    } else {
        energy = day_energy(db, meters, day).await?;
        let allowed = match entry.kind {
            MeasureKind::Limit => entry.load_limit_pct,
            MeasureKind::Stop | MeasureKind::Stagger => Some(rules.stop_residual_pct),
        };
        checks.push((
            "当日".into(),
            match allowed {
                Some(a) => electricity_check(energy, base, a),
                None => Check::Unverifiable {
                    why: "限产措施未规定负荷上限，无法核查".into(),
                },
            },
        ));
    }
    let allowed_text = |what: &str| -> String {
        if what.starts_with("错峰时段") || entry.kind != MeasureKind::Limit {
            format!("{}%（停产残余）", pct(rules.stop_residual_pct))
        } else {
            entry
                .load_limit_pct
                .map_or("—".into(), |p| format!("{}%", pct(p)))
        }
    };
    let says = |what: &str, check: &Check| -> String {
        // "错峰时段 22:00–06:00 用电…", "当日用电…".
        let (what, basis) = if what.starts_with("错峰时段") {
            (format!("{what} "), "该时段基准用电")
        } else {
            (what.to_owned(), "基准用电")
        };
        let what = what.as_str();
        match check {
            Check::Met => format!("{what}用电不超过{basis}的 {}", allowed_text(what)),
            Check::NotMet { actual_ratio } => format!(
                "{what}用电为{basis}的 {}%，超过允许的 {}",
                pct(*actual_ratio),
                allowed_text(what)
            ),
            Check::Unverifiable { why } if what.is_empty() || what == "当日" => why.clone(),
            Check::Unverifiable { why } => format!("{}：{why}", what.trim_end()),
        }
    };
    let verdicts: Vec<Check> = checks.iter().map(|(_, c)| c.clone()).collect();
    let verdict = day_verdict(&verdicts);
    let open: Vec<String> = checks
        .iter()
        .filter(|(_, c)| !matches!(c, Check::Met))
        .map(|(w, c)| says(w, c))
        .collect();
    let detail = if open.is_empty() {
        checks
            .iter()
            .map(|(w, c)| says(w, c))
            .collect::<Vec<_>>()
            .join("；")
    } else {
        open.join("；")
    };
    Ok(SeasonDay {
        line: entry.line,
        enterprise: entry.enterprise.clone(),
        day,
        energy_kwh: energy.map(|e| e.round_dp(2).normalize()),
        verdict,
        verdict_label: verdict.label(),
        detail,
    })
}

/// Days back the hourly job verifies: a logger's backlog can arrive a day
/// or two late and turn 无法核查 into a verdict.
pub const JOB_DAYS: i64 = 3;

/// The hourly job's part (`emergency_verification`): the list in force
/// verified over the last [`JOB_DAYS`] days, and a 督办 case opened for
/// each enterprise with a 未落实 day — once per season, enterprise and month,
/// so a plant that keeps running is chased monthly, not daily.
pub async fn run_verification(
    db: &Db,
    actor: &Actor,
    today: NaiveDate,
) -> Result<Vec<i64>, AppError> {
    let to = today - Duration::days(1);
    let v = verify_season(
        db,
        None,
        (to - Duration::days(JOB_DAYS - 1), to),
        today,
        None,
    )
    .await?;
    open_cases(db, actor, &v, today).await
}

/// Open the cases of a season verification's 未落实 days (see
/// [`run_verification`]).
pub async fn open_cases(
    db: &Db,
    actor: &Actor,
    v: &SeasonVerification,
    today: NaiveDate,
) -> Result<Vec<i64>, AppError> {
    let Some(list) = &v.list else {
        return Ok(Vec::new());
    };
    // month → enterprise → lines
    let mut by_month: std::collections::BTreeMap<String, Vec<(&str, Vec<String>)>> =
        std::collections::BTreeMap::new();
    for row in &v.rows {
        for d in row
            .days
            .iter()
            .filter(|d| d.verdict == Verdict::NotImplemented)
        {
            let month = by_month
                .entry(d.day.format("%Y-%m").to_string())
                .or_default();
            let line = format!("{}：{}，{}", d.day, row.measure, d.detail);
            match month.iter_mut().find(|(e, _)| *e == row.enterprise) {
                Some((_, lines)) => lines.push(line),
                None => month.push((&row.enterprise, vec![line])),
            }
        }
    }
    let mut opened = Vec::new();
    for (month, failed) in by_month {
        let cases = super::EnterpriseCases {
            // By the season's name, not the list's id: a list re-imported
            // mid-month does not open a second case for the same month.
            rule: format!("season-{}-{month}", list.season),
            title: "采暖季未落实错峰生产措施".to_owned(),
            heading: format!(
                "{} 采暖季错峰生产清单 #{}（{} 至 {}）用电核查未落实：",
                list.season, list.id, list.starts_on, list.ends_on
            ),
        };
        opened.extend(super::open_enterprise_cases(db, actor, &cases, failed, today).await?);
    }
    Ok(opened)
}
