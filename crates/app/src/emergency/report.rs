//! The response report of a warning (issue 15 item 5): for each day, the
//! listed enterprises by verdict and the reduction the verified ones
//! achieved per pollutant against the level's society-wide ratio; the same
//! over the whole warning (its summary once lifted); and the cases the
//! failed verifications opened. Built from the verification, so the page,
//! the print view and the XLSX show one set of figures.
//!
//! Achieved reduction. For an enterprise-day verified 达标 whose stacks
//! measured the pollutant, what it measurably cut: baseline − the day's
//! CEMS emission. Otherwise (verified from electricity only) what the list
//! commits it to: its 日减排量, else its baseline × its required share. It
//! is set against the list's whole
//! baseline emission (every listed entry, required or not: the list is the
//! district's inventory of controlled sources). 未落实 and 无法核查 entries
//! count for nothing: a reduction nobody can show is not claimed.

use chrono::NaiveDate;
use gongjian_emergency::{ListEntry, Pollutant, Required, RuleSet, Verdict, WarningLevel};
use gongjian_storage::{CaseFilter, Db, StorageError};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{EnterpriseDay, WarningVerification, verify_warning};
use crate::AppError;

/// One pollutant's reduction over a day (or, in the summary, summed over
/// the warning's days), kg.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PollutantReduction {
    pub pollutant: &'static str,
    /// The listed entries' normal-operation emission.
    pub baseline_kg: Decimal,
    /// What the entries with a measure were to cut.
    pub planned_kg: Decimal,
    /// What the entries verified 达标 cut.
    pub achieved_kg: Decimal,
    /// `achieved_kg / baseline_kg` in percent (one decimal, half-even);
    /// `None` without a baseline.
    pub achieved_pct: Option<Decimal>,
    /// The level's society-wide minimum (percent).
    pub required_pct: Decimal,
    /// Achieved below the minimum (false without a baseline: not judged).
    pub short: bool,
}

/// The verdicts of a day (or of the whole warning: enterprise-days).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tally {
    /// `None` in the summary.
    pub day: Option<NaiveDate>,
    pub compliant: usize,
    pub not_implemented: usize,
    pub unverifiable: usize,
    /// Enterprises 未落实 (names, once each).
    pub not_implemented_names: Vec<String>,
    /// Enterprises 无法核查 (names, once each).
    pub unverifiable_names: Vec<String>,
    pub reductions: Vec<PollutantReduction>,
}

/// A case a failed verification of this warning opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportCase {
    pub id: i64,
    pub number: String,
    pub organisation: String,
    pub state: &'static str,
    pub due_on: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResponseReport {
    pub verification: WarningVerification,
    pub days: Vec<Tally>,
    pub summary: Tally,
    pub cases: Vec<ReportCase>,
    /// Lifted (or ended): the summary is final.
    pub ended: bool,
}

/// The response report of warning `id` as of `today` (days before today).
pub async fn response_report(
    db: &Db,
    id: i64,
    today: NaiveDate,
) -> Result<ResponseReport, AppError> {
    let verification = verify_warning(db, id, today).await?;
    let entries: Vec<ListEntry> = match db.emergency().emergency_list_in_force().await? {
        Some((_, stored)) => stored
            .into_iter()
            .map(|s| serde_json::from_value(s.entry))
            .collect::<Result<_, _>>()
            .map_err(|e| StorageError::Corrupt(format!("emergency entry: {e}")))?,
        None => Vec::new(),
    };
    let level = WarningLevel::parse(&verification.warning.level).ok_or_else(|| {
        StorageError::Corrupt(format!("warning level {:?}", verification.warning.level))
    })?;
    let rules = RuleSet::for_date(verification.warning.starts_on);
    let rule = format!("emergency-{id}");
    let cases = db
        .cases()
        .list(&CaseFilter::default())
        .await?
        .into_iter()
        .filter(|c| c.rule.as_deref() == Some(rule.as_str()))
        .map(|c| ReportCase {
            id: c.id,
            number: c.number,
            organisation: c.organisation,
            state: gongjian_alarms::CaseState::parse(&c.state).map_or("未知", |s| s.label()),
            due_on: c.due_on,
        })
        .collect();
    let ended = verification.warning.ends_on.is_some_and(|end| end < today);
    let (days, summary) = tally(&verification.days, &entries, level, &rules);
    Ok(ResponseReport {
        verification,
        days,
        summary,
        cases,
        ended,
    })
}

/// The tally of each day and of the whole warning. Pure: the page, the
/// print view, the XLSX and the tests share it.
pub fn tally(
    days: &[EnterpriseDay],
    entries: &[ListEntry],
    level: WarningLevel,
    rules: &RuleSet,
) -> (Vec<Tally>, Tally) {
    let mut dates: Vec<NaiveDate> = days.iter().map(|d| d.day).collect();
    dates.sort_unstable();
    dates.dedup();
    let per_day: Vec<Tally> = dates
        .iter()
        .map(|&date| {
            let of_day: Vec<&EnterpriseDay> = days.iter().filter(|d| d.day == date).collect();
            tally_of(Some(date), &of_day, entries, level, rules, 1)
        })
        .collect();
    let all: Vec<&EnterpriseDay> = days.iter().collect();
    let summary = tally_of(None, &all, entries, level, rules, dates.len());
    (per_day, summary)
}

fn tally_of(
    day: Option<NaiveDate>,
    days: &[&EnterpriseDay],
    entries: &[ListEntry],
    level: WarningLevel,
    rules: &RuleSet,
    day_count: usize,
) -> Tally {
    let count = |v: Verdict| days.iter().filter(|d| d.verdict == v).count();
    let names = |v: Verdict| {
        let mut n: Vec<String> = Vec::new();
        for d in days.iter().filter(|d| d.verdict == v) {
            if !n.contains(&d.enterprise) {
                n.push(d.enterprise.clone());
            }
        }
        n
    };
    let reductions = Pollutant::ALL
        .iter()
        .map(|&p| {
            // The baseline counts every listed entry on every day covered.
            let baseline_kg: Decimal = entries
                .iter()
                .filter_map(|e| e.baseline_kg[p])
                .sum::<Decimal>()
                * Decimal::from(day_count);
            let mut planned_kg = Decimal::ZERO;
            let mut achieved_kg = Decimal::ZERO;
            for d in days {
                let Some(cut) = entries
                    .iter()
                    .find(|e| e.line == d.line)
                    .and_then(|e| planned_cut(e, level, p, rules))
                else {
                    continue;
                };
                planned_kg += cut;
                if d.verdict == Verdict::Compliant {
                    achieved_kg += measured_cut(d, p).unwrap_or(cut);
                }
            }
            let required_pct = rules.ratios.get(level, p);
            // Judged on the exact ratio; the shown one is rounded.
            let short = !baseline_kg.is_zero()
                && achieved_kg * Decimal::ONE_HUNDRED < required_pct * baseline_kg;
            PollutantReduction {
                pollutant: p.label(),
                baseline_kg,
                planned_kg,
                achieved_kg,
                achieved_pct: (!baseline_kg.is_zero()).then(|| {
                    let mut pct = (achieved_kg * Decimal::ONE_HUNDRED / baseline_kg)
                        .round_dp_with_strategy(
                            1,
                            rust_decimal::RoundingStrategy::MidpointNearestEven,
                        );
                    // Always one decimal: 0.0 %, 20.0 %.
                    pct.rescale(1);
                    pct
                }),
                required_pct,
                short,
            }
        })
        .collect();
    Tally {
        day,
        compliant: count(Verdict::Compliant),
        not_implemented: count(Verdict::NotImplemented),
        unverifiable: count(Verdict::Unverifiable),
        not_implemented_names: names(Verdict::NotImplemented),
        unverifiable_names: names(Verdict::Unverifiable),
        reductions,
    }
}

/// What the day's CEMS data show was cut of `pollutant` (kg, never below
/// zero), when the stacks measured it.
fn measured_cut(day: &EnterpriseDay, pollutant: Pollutant) -> Option<Decimal> {
    let e = day
        .emissions
        .iter()
        .find(|e| e.pollutant == pollutant.code())?;
    Some((e.baseline_kg? - e.actual_kg?).max(Decimal::ZERO))
}

/// What `entry` is to cut of `pollutant` in a day at `level` (kg): its
/// 日减排量, else its baseline × its required share; `None` when it has no
/// baseline for the pollutant or no measure at the level.
fn planned_cut(
    entry: &ListEntry,
    level: WarningLevel,
    pollutant: Pollutant,
    rules: &RuleSet,
) -> Option<Decimal> {
    match entry.required(level, pollutant, &rules.ratios)? {
        Required::Kg(kg) => Some(kg),
        Required::Percent(pct) => {
            entry.baseline_kg[pollutant].map(|b| b * pct / Decimal::ONE_HUNDRED)
        }
    }
}

/// The report as an XLSX workbook: 逐日 (per day), 汇总 (the warning) and
/// 企业明细 (every enterprise-day as verified).
pub fn report_xlsx(r: &ResponseReport) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let w = &r.verification.warning;
    let title = format!(
        "{}预警应急响应报告（{}，{} 至 {}）",
        r.verification.level_label,
        w.document_number,
        w.starts_on,
        w.ends_on.map_or("未解除".to_owned(), |d| d.to_string())
    );
    let tally_header = |ws: &mut rust_xlsxwriter::Worksheet,
                        row: u32,
                        first: &str|
     -> Result<(), rust_xlsxwriter::XlsxError> {
        let mut heads = vec![
            first.to_owned(),
            "达标".into(),
            "未落实".into(),
            "无法核查".into(),
        ];
        for p in Pollutant::ALL {
            heads.push(format!("{} 核查计入减排量（kg）", p.label()));
            heads.push(format!("{} 减排比例（%）", p.label()));
            heads.push(format!("{} 要求（%）", p.label()));
        }
        heads.push("未落实企业".into());
        heads.push("无法核查企业".into());
        for (c, h) in heads.iter().enumerate() {
            ws.write_string_with_format(row, c as u16, h, &bold)?;
        }
        Ok(())
    };
    let tally_row = |ws: &mut rust_xlsxwriter::Worksheet,
                     row: u32,
                     first: &str,
                     t: &Tally|
     -> Result<(), rust_xlsxwriter::XlsxError> {
        ws.write_string(row, 0, first)?;
        ws.write_number(row, 1, t.compliant as f64)?;
        ws.write_number(row, 2, t.not_implemented as f64)?;
        ws.write_number(row, 3, t.unverifiable as f64)?;
        let mut c = 4u16;
        for p in &t.reductions {
            ws.write_string(row, c, p.achieved_kg.normalize().to_string())?;
            ws.write_string(
                row,
                c + 1,
                p.achieved_pct.map_or("—".into(), |v| v.to_string()),
            )?;
            ws.write_string(row, c + 2, p.required_pct.normalize().to_string())?;
            c += 3;
        }
        ws.write_string(row, c, t.not_implemented_names.join("、"))?;
        ws.write_string(row, c + 1, t.unverifiable_names.join("、"))?;
        Ok(())
    };
    {
        let ws = wb.add_worksheet().set_name("逐日")?;
        ws.write_string_with_format(0, 0, &title, &bold)?;
        tally_header(ws, 2, "日期")?;
        for (i, t) in r.days.iter().enumerate() {
            let day = t.day.map(|d| d.to_string()).unwrap_or_default();
            tally_row(ws, 3 + i as u32, &day, t)?;
        }
    }
    {
        let ws = wb.add_worksheet().set_name("汇总")?;
        ws.write_string_with_format(0, 0, &title, &bold)?;
        tally_header(ws, 2, "范围")?;
        let scope = if r.ended {
            "预警全程（企业·日）"
        } else {
            "截至昨日（企业·日）"
        };
        tally_row(ws, 3, scope, &r.summary)?;
        ws.write_string_with_format(5, 0, "督办单", &bold)?;
        for (c, h) in ["编号", "企业", "状态", "办结时限"].iter().enumerate() {
            ws.write_string_with_format(6, c as u16, *h, &bold)?;
        }
        for (i, c) in r.cases.iter().enumerate() {
            let row = 7 + i as u32;
            ws.write_string(row, 0, &c.number)?;
            ws.write_string(row, 1, &c.organisation)?;
            ws.write_string(row, 2, c.state)?;
            ws.write_string(row, 3, &c.due_on)?;
        }
    }
    {
        let ws = wb.add_worksheet().set_name("企业明细")?;
        for (c, h) in [
            "日期",
            "企业",
            "措施",
            "用电量（kWh）",
            "基准（kWh/日）",
            "允许（%）",
            "排放（CEMS）",
            "结论",
            "说明",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        let text = |v: Option<Decimal>| v.map_or("—".to_owned(), |v| v.normalize().to_string());
        for (i, d) in r.verification.days.iter().enumerate() {
            let row = 1 + i as u32;
            ws.write_string(row, 0, d.day.to_string())?;
            ws.write_string(row, 1, &d.enterprise)?;
            ws.write_string(row, 2, &d.measure)?;
            ws.write_string(row, 3, text(d.energy_kwh))?;
            ws.write_string(row, 4, text(d.baseline_kwh))?;
            ws.write_string(row, 5, text(d.allowed_pct))?;
            ws.write_string(row, 6, d.emissions_text())?;
            ws.write_string(row, 7, d.verdict_label)?;
            ws.write_string(row, 8, &d.detail)?;
        }
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use gongjian_emergency::{Grade, Measure, MeasureKind, PerPollutant};

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn entry(line: u64, name: &str, nox_base: &str, nox_cut: Option<&str>) -> ListEntry {
        let mut baseline_kg = PerPollutant::all(None);
        baseline_kg.nox = Some(d(nox_base));
        let mut reduction_kg = PerPollutant::all(None);
        reduction_kg.nox = nox_cut.map(d);
        ListEntry {
            line,
            enterprise: name.into(),
            credit_code: None,
            industry: String::new(),
            grade: Some(Grade::C),
            exemption: None,
            production_line: None,
            baseline_kg,
            baseline_kwh: None,
            yellow: None,
            orange: Some(Measure {
                kind: MeasureKind::Limit,
                text: "限产 50%".into(),
                units: None,
                load_limit_pct: Some(d("50")),
                stagger_hours: None,
                required_pct: PerPollutant::all(None),
                reduction_kg,
            }),
            red: None,
        }
    }

    fn day(line: u64, name: &str, date: &str, verdict: Verdict) -> EnterpriseDay {
        EnterpriseDay {
            line,
            enterprise: name.into(),
            day: NaiveDate::from_str(date).unwrap(),
            measure: "限产".into(),
            energy_kwh: None,
            baseline_kwh: None,
            allowed_pct: None,
            emissions: Vec::new(),
            verdict,
            verdict_label: verdict.label(),
            detail: String::new(),
        }
    }

    #[test]
    fn only_verified_enterprises_count_towards_the_reduction() {
        // A: 100 kg NOx a day, its 日减排量 40 kg; B: 300 kg, no figure, so
        // the orange default 20 % (60 kg); C is listed with 100 kg and no
        // measure at orange (counts in the baseline only).
        let mut c = entry(4, "丙厂", "100", None);
        c.orange = None;
        let entries = vec![
            entry(2, "甲厂", "100", Some("40")),
            entry(3, "乙厂", "300", None),
            c,
        ];
        let days = vec![
            day(2, "甲厂", "2026-12-01", Verdict::Compliant),
            day(3, "乙厂", "2026-12-01", Verdict::NotImplemented),
            day(2, "甲厂", "2026-12-02", Verdict::Compliant),
            day(3, "乙厂", "2026-12-02", Verdict::Compliant),
        ];
        let rules = RuleSet::henan_2019();
        let (per_day, summary) = tally(&days, &entries, WarningLevel::Orange, &rules);
        assert_eq!(per_day.len(), 2);
        let nox = |t: &Tally| {
            t.reductions
                .iter()
                .find(|r| r.pollutant == "氮氧化物")
                .cloned()
                .unwrap()
        };
        // Day 1: only 甲厂's 40 kg of a 500 kg baseline: 8 %, against 20 %.
        let first = nox(&per_day[0]);
        assert_eq!(first.baseline_kg, d("500"));
        assert_eq!(first.planned_kg, d("100"));
        assert_eq!(first.achieved_kg, d("40"));
        assert_eq!(first.achieved_pct, Some(d("8.0")));
        assert_eq!(first.required_pct, d("20"));
        assert!(first.short);
        assert_eq!(per_day[0].not_implemented_names, vec!["乙厂".to_owned()]);
        // Day 2: both: 100 of 500 kg, 20 %.
        assert_eq!(nox(&per_day[1]).achieved_pct, Some(d("20.0")));
        assert!(!nox(&per_day[1]).short, "20 % meets 20 %");
        // The warning: 140 of 1,000 kg, 14 %; three compliant enterprise-days.
        let all = nox(&summary);
        assert_eq!(all.baseline_kg, d("1000"));
        assert_eq!(all.achieved_kg, d("140"));
        assert_eq!(all.achieved_pct, Some(d("14.0")));
        assert_eq!((summary.compliant, summary.not_implemented), (3, 1));
        // No SO2 baseline anywhere: no ratio, never 0 %.
        let so2 = summary
            .reductions
            .iter()
            .find(|r| r.pollutant == "二氧化硫")
            .unwrap();
        assert_eq!(so2.achieved_pct, None);
        assert!(!so2.short);
    }

    #[test]
    fn an_unverifiable_day_claims_no_reduction() {
        let entries = vec![entry(2, "甲厂", "100", Some("40"))];
        let days = vec![day(2, "甲厂", "2026-12-01", Verdict::Unverifiable)];
        let (_, summary) = tally(
            &days,
            &entries,
            WarningLevel::Orange,
            &RuleSet::henan_2019(),
        );
        let nox = summary
            .reductions
            .iter()
            .find(|r| r.pollutant == "氮氧化物")
            .unwrap();
        assert_eq!(nox.achieved_kg, Decimal::ZERO);
        assert_eq!(nox.achieved_pct, Some(d("0.0")));
        assert_eq!(summary.unverifiable_names, vec!["甲厂".to_owned()]);
    }
}
