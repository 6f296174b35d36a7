//! The screens: one function per [`RuleKind`], each turning a site's hours
//! into the episodes in which its rule's condition held.
//!
//! Shared conventions: a run is a sequence of hours one hour apart (a
//! missing hour breaks it); only valid hours (flag N) are judged, except
//! by the screens that look at the flags themselves; an episode is
//! `ongoing` when its last hour is the factor's latest hour, so the alarm
//! stays open until an hour arrives that clears it.

use gongjian_standards::cst;
use gongjian_standards::emission::{self, Quotient, exceedance_exact};
use gongjian_standards::exact::{div_round_keeping_order, round_keeping_order};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::{
    Disagreement, EVIDENCE_MAX, Episode, Evidence, FactorHours, Hour, Rule, RuleKind, SiteHours,
};

const HOUR: i64 = 3600;
/// Hours of history the drop and spike screens compare against.
const BASELINE_HOURS: i64 = 24;
/// Valid hours the baseline needs before those screens judge at all: a
/// site that just came online has no "usual" level yet.
const BASELINE_MIN: usize = 12;
/// The O₂ factor (HJ 212 a19001) the dilution screen reads.
const OXYGEN: &str = "a19001";

/// Every episode of `rule` at `site` as of `now`.
pub fn run(rule: &Rule, site: &SiteHours, now: i64) -> Vec<Episode> {
    match rule.kind {
        RuleKind::Exceedance => per_factor(rule, site, exceedance),
        RuleKind::DailyExceedance => per_factor(rule, site, daily_exceedance),
        RuleKind::NoData => no_data(rule, site, now).into_iter().collect(),
        RuleKind::Constant => per_factor(rule, site, constant),
        RuleKind::Zero => per_factor(rule, site, zero),
        RuleKind::Negative => per_factor(rule, site, negative),
        RuleKind::OverRange => per_factor(rule, site, over_range),
        RuleKind::AbruptDrop => per_factor(rule, site, abrupt_drop),
        RuleKind::Spike => per_factor(rule, site, spike),
        RuleKind::Dilution => dilution(rule, site),
        RuleKind::FlagRatio => flag_ratio(rule, site),
        RuleKind::LoggerMismatch => per_factor(rule, site, logger_mismatch),
        RuleKind::TransmissionRate => transmission_rate(rule, site, now),
        // Compare stations (townships) with each other: see [`hotspots`]
        // and [`ranking_slides`].
        RuleKind::Hotspot | RuleKind::RankingSlide => Vec::new(),
        RuleKind::NightUse => crate::power::night_use(
            rule,
            &crate::power::Meter {
                site_id: site.site_id,
                name: String::new(),
                learned: crate::power::Learned::Learning { days: 0 },
                hours: crate::power::hourly_load(&site.factors),
            },
        ),
        // A treatment circuit against the production it serves: see
        // [`crate::power::treatment_screens`].
        RuleKind::TreatmentOff | RuleKind::TreatmentIdle => Vec::new(),
    }
}

/// The factors of `site` the rule screens: those it names (or all), and
/// only those with a limit when the rule judges against one.
fn per_factor(
    rule: &Rule,
    site: &SiteHours,
    screen: fn(&Rule, &FactorHours) -> Vec<Episode>,
) -> Vec<Episode> {
    site.factors
        .iter()
        .filter(|f| rule.applies_to_factor(&f.factor))
        .filter(|f| !rule.kind.needs_limit() || f.limit.is_some())
        .flat_map(|f| screen(rule, f))
        .collect()
}

/// Consecutive hours (one hour apart) of `hours` for which `holds` is true,
/// as index ranges into `hours`.
pub(crate) fn runs<T>(
    hours: &[T],
    start: impl Fn(&T) -> i64,
    holds: impl Fn(usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize)> = None;
    for i in 0..hours.len() {
        if !holds(i) {
            if let Some(r) = open.take() {
                out.push(r);
            }
            continue;
        }
        open = match open {
            Some((a, b)) if start(&hours[i]) - start(&hours[b]) == HOUR => Some((a, i)),
            Some(r) => {
                out.push(r);
                Some((i, i))
            }
            None => Some((i, i)),
        };
    }
    out.extend(open);
    out
}

fn value_text(v: Option<Decimal>) -> String {
    v.map(|d| d.normalize().to_string()).unwrap_or_default()
}

fn evidence(
    factor: &str,
    hours: &[Hour],
    value: impl Fn(&Hour) -> Option<Decimal>,
) -> Vec<Evidence> {
    hours
        .iter()
        .take(EVIDENCE_MAX)
        .map(|h| Evidence {
            at: h.start,
            factor: factor.to_owned(),
            value: value_text(value(h)),
            flag: h.flag.clone(),
        })
        .collect()
}

/// Decimals of a value shown beside its limit in a summary (more where
/// these would put it onto or across the limit).
const SHOWN_DP: u32 = 4;

fn unit_suffix(f: &FactorHours) -> String {
    if f.unit.trim().is_empty() {
        String::new()
    } else {
        format!(" {}", f.unit.trim())
    }
}

/// An episode over the hours `f.hours[a..=b]`, ongoing when `b` is the
/// factor's latest hour.
fn episode(rule: &Rule, f: &FactorHours, (a, b): (usize, usize), summary: String) -> Episode {
    let hours = &f.hours[a..=b];
    Episode {
        rule: rule.code.clone(),
        kind: rule.kind,
        factor: f.factor.clone(),
        started_at: hours[0].start,
        last_at: hours[hours.len() - 1].start,
        ongoing: b + 1 == f.hours.len(),
        hours: hours.len() as u32,
        peak: None,
        multiple: None,
        evidence: evidence(&f.factor, hours, Hour::judged),
        summary,
    }
}

fn exceedance(rule: &Rule, f: &FactorHours) -> Vec<Episode> {
    let Some(limit) = f.limit else {
        return Vec::new();
    };
    // The stored hourly value is judged as it is, never rounded (platform
    // rollups keep the decimals that decide the comparison exactly).
    let over = |i: usize| {
        let h = &f.hours[i];
        h.valid() && h.judged().is_some_and(|v| v > limit)
    };
    let converted = f.hours.iter().any(|h| h.converted.is_some());
    runs(&f.hours, |h| h.start, over)
        .into_iter()
        .filter(|(a, b)| b - a + 1 >= rule.hours() as usize)
        .map(|r| {
            let peak = f.hours[r.0..=r.1]
                .iter()
                .filter_map(Hour::judged)
                .max()
                .unwrap_or(limit);
            // 超标倍数 (C − L)/L rounded half-even from the exact value.
            let m = emission::exceedance(peak, limit);
            let summary = format!(
                "{}{}连续 {} 小时超过限值 {}{}，最高 {}（超标 {} 倍）",
                f.name,
                if converted {
                    "折算浓度"
                } else {
                    "小时浓度"
                },
                r.1 - r.0 + 1,
                limit.normalize(),
                unit_suffix(f),
                round_keeping_order(peak, limit, SHOWN_DP),
                value_text(m),
            );
            Episode {
                peak: Some(peak),
                multiple: m,
                ..episode(rule, f, r, summary)
            }
        })
        .collect()
}

fn mean(values: &[Decimal]) -> Option<Decimal> {
    (!values.is_empty()).then(|| values.iter().sum::<Decimal>() / Decimal::from(values.len()))
}

/// The mean of each China Standard Time day's valid hours as an exact
/// quotient (sum / hours: judged as it is, never a rounded mean), with the
/// hours it averaged (days with fewer than `min_hours` valid hours are left
/// out: they cannot be judged).
fn daily_means(f: &FactorHours, min_hours: usize) -> Vec<(i64, Quotient, Vec<Hour>)> {
    let mut days: Vec<(i64, Vec<Hour>)> = Vec::new();
    for h in f.hours.iter().filter(|h| h.valid() && h.judged().is_some()) {
        let day = cst::local_day_start(h.start);
        match days.last_mut() {
            Some((d, list)) if *d == day => list.push(h.clone()),
            _ => days.push((day, vec![h.clone()])),
        }
    }
    days.into_iter()
        .filter(|(_, list)| list.len() >= min_hours)
        .map(|(day, list)| {
            let sum: Decimal = list.iter().filter_map(Hour::judged).sum();
            let q = Quotient {
                num: sum,
                den: Decimal::from(list.len()),
            };
            (day, q, list)
        })
        .collect()
}

/// Whether the exact quotient `a` is above `b` (compared as
/// a.num·b.den > b.num·a.den; dens are positive).
fn above(a: Quotient, b: Quotient) -> bool {
    match (a.num.checked_mul(b.den), b.num.checked_mul(a.den)) {
        (Some(x), Some(y)) => x > y,
        _ => a.value() > b.value(),
    }
}

fn daily_exceedance(rule: &Rule, f: &FactorHours) -> Vec<Episode> {
    let Some(limit) = f.limit else {
        return Vec::new();
    };
    let latest_day = f.hours.last().map(|h| cst::local_day_start(h.start));
    // Judged on the exact mean; the multiple rounded from it (0.005 → 0).
    let days: Vec<_> = daily_means(f, rule.hours() as usize)
        .into_iter()
        .filter_map(|(day, q, list)| exceedance_exact(q, limit).map(|x| (day, q, x, list)))
        .collect();
    // The day's mean as shown: two decimals, more where two would put it
    // onto the limit.
    let shown = |q: Quotient| div_round_keeping_order(q.num, q.den, limit, 2);
    // Consecutive days over the limit are one episode; the exact mean of
    // each episode's worst day.
    let mut out: Vec<Episode> = Vec::new();
    let mut worst: Vec<Quotient> = Vec::new();
    for (day, q, x, list) in days {
        let first = list[0].start;
        let last = list[list.len() - 1].start;
        let continues = out
            .last()
            .is_some_and(|e| cst::local_day_start(e.last_at) + 24 * HOUR == day);
        if continues {
            let e = out.last_mut().expect("checked above");
            let w = worst.last_mut().expect("one per episode");
            e.last_at = last;
            e.hours += list.len() as u32;
            if above(q, *w) {
                *w = q;
                e.peak = Some(shown(q));
                e.multiple = Some(x);
            }
            let room = EVIDENCE_MAX.saturating_sub(e.evidence.len());
            e.evidence.extend(evidence(
                &f.factor,
                &list[..list.len().min(room)],
                Hour::judged,
            ));
        } else {
            out.push(Episode {
                rule: rule.code.clone(),
                kind: rule.kind,
                factor: f.factor.clone(),
                started_at: first,
                last_at: last,
                ongoing: false,
                hours: list.len() as u32,
                peak: Some(shown(q)),
                multiple: Some(x),
                evidence: evidence(&f.factor, &list, Hour::judged),
                summary: String::new(),
            });
            worst.push(q);
        }
    }
    for e in &mut out {
        e.ongoing = latest_day == Some(cst::local_day_start(e.last_at));
        let peak = e.peak.unwrap_or(limit);
        e.summary = format!(
            "{}日均浓度超过限值 {}{}，最高日均 {}（超标 {} 倍）",
            f.name,
            limit.normalize(),
            unit_suffix(f),
            peak.normalize(),
            value_text(e.multiple),
        );
    }
    out
}

fn no_data(rule: &Rule, site: &SiteHours, now: i64) -> Option<Episode> {
    // A site that has never sent is not "interrupted": it is not connected
    // yet, which the device pages show.
    let last = site.last_frame_at?;
    let minutes = rule.threshold_or(dec!(120));
    let silent = (now - last).max(0);
    if Decimal::from(silent) < minutes * Decimal::from(60) {
        return None;
    }
    let started_at = last.div_euclid(HOUR) * HOUR;
    let last_at = now.div_euclid(HOUR) * HOUR;
    Some(Episode {
        rule: rule.code.clone(),
        kind: rule.kind,
        factor: String::new(),
        started_at,
        last_at: last_at.max(started_at),
        ongoing: true,
        hours: ((last_at - started_at).max(0) / HOUR + 1) as u32,
        peak: None,
        multiple: None,
        evidence: vec![Evidence {
            at: last,
            factor: String::new(),
            value: String::new(),
            flag: String::new(),
        }],
        summary: format!(
            "数采仪已 {} 分钟未上报数据（阈值 {} 分钟），最后一次上报于 {}",
            silent / 60,
            minutes.normalize(),
            cst::local_minutes_text(last),
        ),
    })
}

/// The measured value (not 折算) of a valid hour: what the analyser read.
fn measured(h: &Hour) -> Option<Decimal> {
    if h.valid() {
        h.value.or(h.converted)
    } else {
        None
    }
}

fn constant(rule: &Rule, f: &FactorHours) -> Vec<Episode> {
    let tolerance = rule.threshold_or(dec!(0.1));
    let need = rule.hours() as usize;
    let mut out = Vec::new();
    let mut i = 0;
    while i < f.hours.len() {
        let Some(first) = measured(&f.hours[i]) else {
            i += 1;
            continue;
        };
        let (mut lo, mut hi, mut j) = (first, first, i);
        while j + 1 < f.hours.len() && f.hours[j + 1].start - f.hours[j].start == HOUR {
            let Some(v) = measured(&f.hours[j + 1]) else {
                break;
            };
            if v.max(hi) - v.min(lo) > tolerance {
                break;
            }
            lo = lo.min(v);
            hi = hi.max(v);
            j += 1;
        }
        // All zeros is the zero screen's finding, not this one's.
        if j + 1 - i >= need && !(lo.is_zero() && hi.is_zero()) {
            let summary = format!(
                "{}连续 {} 小时数值几乎不变（{}–{}{}，波动 ≤ {}），疑似数据造假或仪器故障",
                f.name,
                j + 1 - i,
                lo.normalize(),
                hi.normalize(),
                unit_suffix(f),
                tolerance.normalize(),
            );
            out.push(Episode {
                peak: Some(hi),
                evidence: evidence(&f.factor, &f.hours[i..=j], measured),
                ..episode(rule, f, (i, j), summary)
            });
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// Runs of hours in which `holds` is true, at least `rule.hours()` long,
/// each summarised by `describe(hours in the run)`.
fn simple(
    rule: &Rule,
    f: &FactorHours,
    holds: impl Fn(&Hour) -> bool,
    value: fn(&Hour) -> Option<Decimal>,
    describe: impl Fn(usize) -> String,
) -> Vec<Episode> {
    runs(&f.hours, |h| h.start, |i| holds(&f.hours[i]))
        .into_iter()
        .filter(|(a, b)| b - a + 1 >= rule.hours() as usize)
        .map(|r| {
            let n = r.1 - r.0 + 1;
            Episode {
                evidence: evidence(&f.factor, &f.hours[r.0..=r.1], value),
                ..episode(rule, f, r, describe(n))
            }
        })
        .collect()
}

fn zero(rule: &Rule, f: &FactorHours) -> Vec<Episode> {
    simple(
        rule,
        f,
        |h| measured(h).is_some_and(|v| v.is_zero()),
        measured,
        |n| format!("{}连续 {} 小时为零值", f.name, n),
    )
}

fn negative(rule: &Rule, f: &FactorHours) -> Vec<Episode> {
    let tolerance = rule.threshold_or(Decimal::ZERO);
    let mut out = simple(
        rule,
        f,
        |h| measured(h).is_some_and(|v| v < -tolerance),
        measured,
        |n| format!("{}连续 {} 小时为负值", f.name, n),
    );
    for e in &mut out {
        e.peak = e
            .evidence
            .iter()
            .filter_map(|x| x.value.parse::<Decimal>().ok())
            .min();
    }
    out
}

fn over_range(rule: &Rule, f: &FactorHours) -> Vec<Episode> {
    simple(
        rule,
        f,
        |h| h.flag.trim().eq_ignore_ascii_case("T"),
        |h| h.value.or(h.converted),
        |n| format!("{}连续 {} 小时超出仪器量程（T 标记）", f.name, n),
    )
}

fn median(mut values: Vec<Decimal>) -> Option<Decimal> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / dec!(2)
    })
}

/// The measured values of the valid hours in the 24 hours before hour `i`
/// (none when there are fewer than [`BASELINE_MIN`]).
fn baseline(f: &FactorHours, i: usize) -> Option<Vec<Decimal>> {
    let at = f.hours[i].start;
    let values: Vec<Decimal> = f.hours[..i]
        .iter()
        .filter(|h| h.start >= at - BASELINE_HOURS * HOUR)
        .filter_map(measured)
        .collect();
    (values.len() >= BASELINE_MIN).then_some(values)
}

fn abrupt_drop(rule: &Rule, f: &FactorHours) -> Vec<Episode> {
    let ratio = rule.threshold_or(dec!(0.5)).min(Decimal::ONE);
    let usual: Vec<Option<Decimal>> = (0..f.hours.len())
        .map(|i| baseline(f, i).and_then(median))
        .collect();
    let dropped = |i: usize| match (measured(&f.hours[i]), usual[i]) {
        (Some(v), Some(m)) => m > Decimal::ZERO && v < (Decimal::ONE - ratio) * m,
        _ => false,
    };
    runs(&f.hours, |h| h.start, dropped)
        .into_iter()
        .filter(|(a, b)| b - a + 1 >= rule.hours() as usize)
        .map(|r| {
            let before = usual[r.0].unwrap_or_default().round_dp(2);
            let low = f.hours[r.0..=r.1].iter().filter_map(measured).min();
            let summary = format!(
                "{}浓度突降：由前 24 小时中位数 {}{} 降至 {}，降幅超过 {}%",
                f.name,
                before.normalize(),
                unit_suffix(f),
                value_text(low),
                (ratio * dec!(100)).normalize(),
            );
            Episode {
                peak: low,
                evidence: evidence(&f.factor, &f.hours[r.0..=r.1], measured),
                ..episode(rule, f, r, summary)
            }
        })
        .collect()
}

/// A spike is isolated: at most two hours above the baseline, with the
/// hour after it back within. A longer rise is a level change, which the
/// exceedance screens judge.
const SPIKE_MAX_HOURS: usize = 2;

fn spike(rule: &Rule, f: &FactorHours) -> Vec<Episode> {
    let k = rule.threshold_or(dec!(5));
    let bounds: Vec<Option<(Decimal, Decimal)>> = (0..f.hours.len())
        .map(|i| {
            let values = baseline(f, i)?;
            let m = median(values.clone())?;
            let mad = median(values.iter().map(|v| (*v - m).abs()).collect())?;
            // With no spread at all every change would be a spike; the
            // constant screen judges such a series.
            (mad > Decimal::ZERO).then_some((m, m + k * mad))
        })
        .collect();
    let high = |i: usize| match (measured(&f.hours[i]), bounds[i]) {
        (Some(v), Some((_, top))) => v > top,
        _ => false,
    };
    runs(&f.hours, |h| h.start, high)
        .into_iter()
        .filter(|(a, b)| {
            let n = b - a + 1;
            let back = f.hours.get(b + 1).is_some_and(|h| {
                h.start - f.hours[*b].start == HOUR && measured(h).is_some() && !high(b + 1)
            });
            n >= rule.hours() as usize && n <= SPIKE_MAX_HOURS.max(rule.hours() as usize) && back
        })
        .map(|r| {
            let (m, _) = bounds[r.0].unwrap_or_default();
            let top = f.hours[r.0..=r.1].iter().filter_map(measured).max();
            let summary = format!(
                "{}出现孤立尖峰 {}{}（前 24 小时中位数 {}），随即回落",
                f.name,
                value_text(top),
                unit_suffix(f),
                m.round_dp(2).normalize(),
            );
            Episode {
                peak: top,
                ongoing: false,
                evidence: evidence(&f.factor, &f.hours[r.0..=r.1], measured),
                ..episode(rule, f, r, summary)
            }
        })
        .collect()
}

/// O₂ high while every limited pollutant is within its limit: air let
/// into the flue to dilute the reading (the 折算 corrects for O₂ only where
/// a reference O₂ is set, so a high O₂ with compliant values is the sign).
fn dilution(rule: &Rule, site: &SiteHours) -> Vec<Episode> {
    let Some(o2) = site.factor(OXYGEN) else {
        return Vec::new();
    };
    let ceiling = rule.threshold_or(dec!(19));
    let pollutants: Vec<&FactorHours> = site
        .factors
        .iter()
        .filter(|f| f.factor != OXYGEN && f.limit.is_some() && rule.applies_to_factor(&f.factor))
        .collect();
    if pollutants.is_empty() {
        return Vec::new();
    }
    let within_at = |at: i64| {
        let judged: Vec<bool> = pollutants
            .iter()
            .filter_map(|f| {
                let h = f.hours.iter().find(|h| h.start == at && h.valid())?;
                Some(h.judged()? <= f.limit?)
            })
            .collect();
        !judged.is_empty() && judged.iter().all(|ok| *ok)
    };
    let diluted = |i: usize| {
        let h = &o2.hours[i];
        measured(h).is_some_and(|v| v > ceiling) && within_at(h.start)
    };
    runs(&o2.hours, |h| h.start, diluted)
        .into_iter()
        .filter(|(a, b)| b - a + 1 >= rule.hours() as usize)
        .map(|r| {
            let top = o2.hours[r.0..=r.1].iter().filter_map(measured).max();
            let summary = format!(
                "烟气含氧量连续 {} 小时高于 {}%（最高 {}%），同期污染物折算浓度均未超标，疑似稀释排放",
                r.1 - r.0 + 1,
                ceiling.normalize(),
                value_text(top),
            );
            Episode {
                peak: top,
                evidence: evidence(OXYGEN, &o2.hours[r.0..=r.1], measured),
                ..episode(rule, o2, r, summary)
            }
        })
        .collect()
}

/// Flags that take an hour out of the valid data: calibration (C),
/// maintenance (M) and fault (D).
fn off_duty(flag: &str) -> bool {
    matches!(flag.trim(), "C" | "M" | "D" | "c" | "m" | "d")
}

/// Per China Standard Time day, the hours in which any screened factor
/// carried C, M or D; a day with at least `min_hours` such hours is one
/// episode of the site (not per factor: a maintenance hour flags them all).
fn flag_ratio(rule: &Rule, site: &SiteHours) -> Vec<Episode> {
    let factors: Vec<&FactorHours> = site
        .factors
        .iter()
        .filter(|f| rule.applies_to_factor(&f.factor))
        .collect();
    let latest = factors
        .iter()
        .filter_map(|f| f.hours.last())
        .map(|h| h.start)
        .max();
    let mut flagged: std::collections::BTreeMap<i64, Vec<Evidence>> = Default::default();
    for f in &factors {
        for h in f.hours.iter().filter(|h| off_duty(&h.flag)) {
            flagged.entry(h.start).or_default().push(Evidence {
                at: h.start,
                factor: f.factor.clone(),
                value: value_text(h.value),
                flag: h.flag.trim().to_owned(),
            });
        }
    }
    let mut days: std::collections::BTreeMap<i64, Vec<(i64, Vec<Evidence>)>> = Default::default();
    for (at, ev) in flagged {
        days.entry(cst::local_day_start(at))
            .or_default()
            .push((at, ev));
    }
    days.into_iter()
        .filter(|(_, hours)| hours.len() >= rule.hours() as usize)
        .map(|(day, hours)| {
            let started_at = hours[0].0;
            let last_at = hours[hours.len() - 1].0;
            let count = |flag: &str| {
                hours
                    .iter()
                    .filter(|(_, ev)| ev.iter().any(|e| e.flag.eq_ignore_ascii_case(flag)))
                    .count()
            };
            let summary = format!(
                "{}有 {} 小时数据标记为校准/维护/故障（C {} 小时，M {} 小时，D {} 小时），超过每日 {} 小时",
                cst::local_date(day),
                hours.len(),
                count("C"),
                count("M"),
                count("D"),
                rule.hours(),
            );
            Episode {
                rule: rule.code.clone(),
                kind: rule.kind,
                factor: String::new(),
                started_at,
                last_at,
                ongoing: latest.is_some_and(|l| cst::local_day_start(l) == day),
                hours: hours.len() as u32,
                peak: None,
                multiple: None,
                evidence: hours
                    .into_iter()
                    .flat_map(|(_, ev)| ev)
                    .take(EVIDENCE_MAX)
                    .collect(),
                summary,
            }
        })
        .collect()
}

/// Whether the logger's hour and the platform's rollup of the same minutes
/// disagree: a relative difference above `tolerance`, or an hour the
/// logger calls valid that its own minutes cannot make valid.
fn disagrees(d: &Disagreement, tolerance: Decimal) -> bool {
    let logger_valid = d.logger_flag.trim().eq_ignore_ascii_case("N");
    let rollup_valid = d.rollup_flag.trim().eq_ignore_ascii_case("N");
    if logger_valid && !rollup_valid {
        return true;
    }
    match (d.logger_value, d.rollup_value) {
        (Some(l), Some(r)) if logger_valid && rollup_valid => {
            let base = r.abs().max(dec!(0.001));
            (l - r).abs() > tolerance * base
        }
        _ => false,
    }
}

fn logger_mismatch(rule: &Rule, f: &FactorHours) -> Vec<Episode> {
    let tolerance = rule.threshold_or(dec!(0.1));
    let list = &f.disagreements;
    let latest = f.hours.last().map(|h| h.start);
    runs(list, |d| d.start, |i| disagrees(&list[i], tolerance))
        .into_iter()
        .filter(|(a, b)| b - a + 1 >= rule.hours() as usize)
        .map(|(a, b)| {
            let part = &list[a..=b];
            let first = &part[0];
            let summary = format!(
                "{}数采仪上报的小时值与平台按分钟数据计算的值不符 {} 小时（如 {} 时：上报 {}{}，计算 {}{}，允许相差 {}%）",
                f.name,
                part.len(),
                cst::local_minutes_text(first.start),
                value_text(first.logger_value),
                flag_note(&first.logger_flag),
                value_text(first.rollup_value),
                flag_note(&first.rollup_flag),
                (tolerance * dec!(100)).normalize(),
            );
            Episode {
                rule: rule.code.clone(),
                kind: rule.kind,
                factor: f.factor.clone(),
                started_at: first.start,
                last_at: part[part.len() - 1].start,
                ongoing: latest.is_some_and(|l| l <= part[part.len() - 1].start),
                hours: part.len() as u32,
                peak: None,
                multiple: None,
                evidence: part
                    .iter()
                    .take(EVIDENCE_MAX / 2)
                    .flat_map(|d| {
                        [
                            Evidence {
                                at: d.start,
                                factor: f.factor.clone(),
                                value: value_text(d.logger_value),
                                flag: format!("上报 {}", d.logger_flag.trim()),
                            },
                            Evidence {
                                at: d.start,
                                factor: f.factor.clone(),
                                value: value_text(d.rollup_value),
                                flag: format!("计算 {}", d.rollup_flag.trim()),
                            },
                        ]
                    })
                    .collect(),
                summary,
            }
        })
        .collect()
}

/// " (标记 X)" for a flag other than N.
fn flag_note(flag: &str) -> String {
    let flag = flag.trim();
    if flag.eq_ignore_ascii_case("N") || flag.is_empty() {
        String::new()
    } else {
        format!("（标记 {flag}）")
    }
}

/// Complete China Standard Time days (before `now`'s day) whose hours
/// received — any factor, any flag — are below `threshold` × 24. Days
/// before the site's first hour in the data are not judged: the site was
/// not reporting yet.
fn transmission_rate(rule: &Rule, site: &SiteHours, now: i64) -> Vec<Episode> {
    let ratio = rule.threshold_or(dec!(0.9));
    let mut received: std::collections::BTreeSet<i64> = Default::default();
    for f in site
        .factors
        .iter()
        .filter(|f| rule.applies_to_factor(&f.factor))
    {
        received.extend(f.hours.iter().map(|h| h.start.div_euclid(HOUR) * HOUR));
    }
    let Some(&first) = received.first() else {
        return Vec::new();
    };
    let today = cst::local_day_start(now);
    let mut out = Vec::new();
    let mut day = cst::local_day_start(first);
    while day < today {
        let next = day + 24 * HOUR;
        // A day the site started reporting part-way through is judged
        // from its first hour.
        let from = day.max(first);
        let expected = (next - from) / HOUR;
        let got = received.range(day..next).count() as i64;
        if expected > 0 && Decimal::from(got) < ratio * Decimal::from(expected) {
            let rate = (Decimal::from(got * 100) / Decimal::from(expected)).round_dp(1);
            out.push(Episode {
                rule: rule.code.clone(),
                kind: rule.kind,
                factor: String::new(),
                started_at: from,
                last_at: next - HOUR,
                ongoing: false,
                hours: (expected - got) as u32,
                peak: None,
                multiple: None,
                evidence: vec![Evidence {
                    at: day,
                    factor: String::new(),
                    value: format!("{got}/{expected}"),
                    flag: String::new(),
                }],
                summary: format!(
                    "{}数据传输率 {}%（收到 {} 小时 / 应收 {} 小时），低于 {}%",
                    cst::local_date(day),
                    rate.normalize(),
                    got,
                    expected,
                    (ratio * dec!(100)).normalize(),
                ),
            });
        }
        day = next;
    }
    out
}

/// One township's rank over two consecutive spans of days.
#[derive(Debug, Clone, PartialEq)]
pub struct RankChange {
    pub township: String,
    /// Rank over the earlier span (1 = best).
    pub before: u32,
    /// Rank over the recent span.
    pub now: u32,
    /// The recent span: its first day's start and its last day's start
    /// (Unix seconds, China Standard Time days).
    pub from: i64,
    pub last_day: i64,
}

/// Townships whose rank fell by at least `threshold` places (default 3)
/// from the earlier span to the recent one. Returns each episode with its
/// township; the caller raises it on the township's station.
pub fn ranking_slides(rule: &Rule, changes: &[RankChange]) -> Vec<(String, Episode)> {
    let places = rule.threshold_or(dec!(3)).max(Decimal::ONE);
    let days = (rule.hours().div_ceil(24)).max(1);
    changes
        .iter()
        .filter(|c| Decimal::from(c.now) - Decimal::from(c.before) >= places)
        .map(|c| {
            let summary = format!(
                "{}近 {} 天空气质量综合指数排名第 {} 名，此前 {} 天第 {} 名，下滑 {} 名",
                c.township,
                days,
                c.now,
                days,
                c.before,
                c.now - c.before,
            );
            let last_at = c.last_day + 23 * HOUR;
            (
                c.township.clone(),
                Episode {
                    rule: rule.code.clone(),
                    kind: rule.kind,
                    factor: String::new(),
                    started_at: c.from,
                    last_at,
                    ongoing: true,
                    hours: ((last_at - c.from) / HOUR + 1).max(1) as u32,
                    peak: None,
                    multiple: None,
                    evidence: vec![
                        Evidence {
                            at: c.from - i64::from(days) * 24 * HOUR,
                            factor: String::new(),
                            value: format!("第 {} 名", c.before),
                            flag: String::new(),
                        },
                        Evidence {
                            at: c.from,
                            factor: String::new(),
                            value: format!("第 {} 名", c.now),
                            flag: String::new(),
                        },
                    ],
                    summary,
                },
            )
        })
        .collect()
}

/// Air stations whose values stand out from the others' mean: for each
/// hour, a station's valid value above `threshold` × the mean of the other
/// stations' valid values that hour, for `min_hours` consecutive hours.
/// Returns each episode with its station's site id.
pub fn hotspots(rule: &Rule, stations: &[SiteHours]) -> Vec<(i64, Episode)> {
    let ratio = rule.threshold_or(dec!(1.5));
    let mut out = Vec::new();
    let mut factors: Vec<&str> = stations
        .iter()
        .flat_map(|s| s.factors.iter().map(|f| f.factor.as_str()))
        .filter(|f| rule.applies_to_factor(f))
        .collect();
    factors.sort_unstable();
    factors.dedup();
    for code in factors {
        // Hour → (station, value) of every valid value of the factor.
        let mut by_hour: std::collections::HashMap<i64, Vec<(i64, Decimal)>> = Default::default();
        for s in stations {
            for h in s
                .factor(code)
                .map(|f| f.hours.as_slice())
                .unwrap_or_default()
            {
                if let Some(v) = measured(h) {
                    by_hour.entry(h.start).or_default().push((s.site_id, v));
                }
            }
        }
        for s in stations {
            let Some(f) = s.factor(code) else { continue };
            // The others' mean at hour i, when at least one other station
            // has a valid value.
            let others: Vec<Option<Decimal>> = f
                .hours
                .iter()
                .map(|h| {
                    let values: Vec<Decimal> = by_hour
                        .get(&h.start)
                        .into_iter()
                        .flatten()
                        .filter(|(id, _)| *id != s.site_id)
                        .map(|(_, v)| *v)
                        .collect();
                    mean(&values)
                })
                .collect();
            let hot = |i: usize| match (measured(&f.hours[i]), others[i]) {
                (Some(v), Some(m)) => m > Decimal::ZERO && v > ratio * m,
                _ => false,
            };
            for r in runs(&f.hours, |h| h.start, hot)
                .into_iter()
                .filter(|(a, b)| b - a + 1 >= rule.hours() as usize)
            {
                let top = f.hours[r.0..=r.1].iter().filter_map(measured).max();
                let district: Vec<Decimal> = others[r.0..=r.1].iter().flatten().copied().collect();
                let summary = format!(
                    "{}连续 {} 小时高于其他站点均值的 {} 倍（最高 {}{}，同期其他站点均值 {}）",
                    f.name,
                    r.1 - r.0 + 1,
                    ratio.normalize(),
                    value_text(top),
                    unit_suffix(f),
                    value_text(mean(&district).map(|m| m.round_dp(1))),
                );
                out.push((
                    s.site_id,
                    Episode {
                        peak: top,
                        evidence: evidence(&f.factor, &f.hours[r.0..=r.1], measured),
                        ..episode(rule, f, r, summary)
                    },
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RuleSet, evaluate};

    const T0: i64 = 1_600_000_000 / 3600 * 3600;

    fn hours(values: &[(&str, &str)]) -> Vec<Hour> {
        values
            .iter()
            .enumerate()
            .map(|(i, (v, flag))| Hour {
                start: T0 + i as i64 * HOUR,
                value: v.parse().ok(),
                converted: None,
                flag: (*flag).into(),
            })
            .collect()
    }

    fn valid(values: &[&str]) -> Vec<Hour> {
        hours(&values.iter().map(|v| (*v, "N")).collect::<Vec<_>>())
    }

    fn factor(code: &str, limit: Option<&str>, hours: Vec<Hour>) -> FactorHours {
        FactorHours {
            factor: code.into(),
            name: code.into(),
            unit: "mg/m³".into(),
            limit: limit.map(|l| l.parse().unwrap()),
            hours,
            disagreements: Vec::new(),
        }
    }

    fn stack(factors: Vec<FactorHours>) -> SiteHours {
        SiteHours {
            site_id: 1,
            kind: "stack_gas".into(),
            factors,
            last_frame_at: None,
        }
    }

    fn rule(code: &str) -> Rule {
        RuleSet::defaults().rule(code).unwrap().clone()
    }

    #[test]
    fn three_hours_over_the_limit_are_one_episode_with_peak_and_multiple() {
        let f = factor(
            "a21026",
            Some("35"),
            valid(&["20", "52", "48.5", "61", "20"]),
        );
        let e = run(&rule("source_exceedance"), &stack(vec![f]), 0);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].started_at, T0 + HOUR);
        assert_eq!(e[0].last_at, T0 + 3 * HOUR);
        assert!(!e[0].ongoing);
        assert_eq!(e[0].peak, Some(dec!(61)));
        assert_eq!(e[0].multiple, Some(dec!(0.74)));
        assert_eq!(e[0].evidence.len(), 3);
        assert!(e[0].summary.contains("连续 3 小时"), "{}", e[0].summary);
    }

    #[test]
    fn two_hours_over_are_not_enough_and_a_gap_or_an_invalid_hour_breaks_the_run() {
        let r = rule("source_exceedance");
        let two = factor("a21026", Some("35"), valid(&["52", "48", "20", "61"]));
        assert!(run(&r, &stack(vec![two]), 0).is_empty());
        let mut gap = valid(&["52", "48", "61"]);
        gap[2].start += HOUR;
        assert!(run(&r, &stack(vec![factor("a21026", Some("35"), gap)]), 0).is_empty());
        let flagged = hours(&[("52", "N"), ("48", "M"), ("61", "N")]);
        assert!(run(&r, &stack(vec![factor("a21026", Some("35"), flagged)]), 0).is_empty());
    }

    #[test]
    fn the_converted_value_is_judged_and_the_latest_hour_keeps_it_open() {
        let mut hs = valid(&["30", "30", "30"]);
        for h in &mut hs {
            h.converted = Some(dec!(40));
        }
        let e = run(
            &rule("source_exceedance"),
            &stack(vec![factor("a21026", Some("35"), hs)]),
            0,
        );
        assert_eq!(e.len(), 1);
        assert!(e[0].ongoing);
        assert!(e[0].summary.contains("折算"));
    }

    #[test]
    fn a_factor_without_a_limit_is_not_judged_for_exceedance() {
        let f = factor("a21026", None, valid(&["520", "480", "610"]));
        assert!(run(&rule("source_exceedance"), &stack(vec![f]), 0).is_empty());
    }

    #[test]
    fn a_day_whose_mean_is_over_the_limit_with_enough_hours() {
        let day0 = cst::local_day_start(T0) + 24 * HOUR;
        let mut hs: Vec<Hour> = (0..24)
            .map(|i| Hour {
                start: day0 + i * HOUR,
                value: Some(if i < 12 { dec!(50) } else { dec!(30) }),
                converted: None,
                flag: "N".into(),
            })
            .collect();
        let r = rule("source_daily_exceedance");
        let e = run(
            &r,
            &stack(vec![factor("a21026", Some("35"), hs.clone())]),
            0,
        );
        assert_eq!(e.len(), 1, "mean 40 > 35");
        assert_eq!(e[0].peak, Some(dec!(40)));
        assert_eq!(e[0].multiple, Some(dec!(0.14)));
        assert!(e[0].ongoing, "the latest day");
        hs.truncate(19);
        assert!(
            run(&r, &stack(vec![factor("a21026", Some("35"), hs)]), 0).is_empty(),
            "19 valid hours cannot be judged"
        );
    }

    /// 24 valid hours of CST day 1 with the given judged values.
    fn day_of(values: &[&str]) -> Vec<Hour> {
        let day0 = cst::local_day_start(T0) + 24 * HOUR;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Hour {
                start: day0 + i as i64 * HOUR,
                value: Some(v.parse().unwrap()),
                converted: None,
                flag: "N".into(),
            })
            .collect()
    }

    #[test]
    fn a_day_over_the_limit_by_less_than_a_rounded_hundredth_is_an_exceedance() {
        // 23 hours at 35 and one at 35.096: the day is 35.004, over 35
        // although it reads 35.00 at two decimals.
        let mut values = vec!["35"; 23];
        values.push("35.096");
        let f = factor("a21026", Some("35"), day_of(&values));
        let e = run(&rule("source_daily_exceedance"), &stack(vec![f]), 0);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].peak, Some(dec!(35.004)), "shown above the limit");
        assert_eq!(e[0].multiple, Some(dec!(0)));
        // Exactly at the limit: not over.
        let mut values = vec!["35"; 23];
        values.push("35");
        let f = factor("a21026", Some("35"), day_of(&values));
        assert!(run(&rule("source_daily_exceedance"), &stack(vec![f]), 0).is_empty());
    }

    #[test]
    fn a_multiple_of_exactly_0_005_rounds_half_even_to_zero() {
        // Daily mean 35.175 = 1.005 × 35: the multiple is 0.005 → 0.00
        // (rounding the mean to 35.18 first gave 0.01).
        let f = factor("a21026", Some("35"), day_of(&["35.175"; 24]));
        let e = run(&rule("source_daily_exceedance"), &stack(vec![f]), 0);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].multiple, Some(dec!(0)));
        assert!(e[0].summary.contains("超标 0 倍"), "{}", e[0].summary);
        // 0.015 → 0.02 (half to even upwards).
        let f = factor("a21026", Some("35"), day_of(&["35.525"; 24]));
        let e = run(&rule("source_daily_exceedance"), &stack(vec![f]), 0);
        assert_eq!(e[0].multiple, Some(dec!(0.02)));
        // Hourly: a peak of exactly 1.005 × 35.
        let f = factor("a21026", Some("35"), valid(&["35.175", "35.175", "35.175"]));
        let e = run(&rule("source_exceedance"), &stack(vec![f]), 0);
        assert_eq!(e[0].multiple, Some(dec!(0)));
    }

    #[test]
    fn an_hour_stored_just_over_the_limit_is_an_exceedance_shown_above_it() {
        // Rollups store 35.0000483… as 35.000048: over 35, and the summary
        // shows four decimals unless they would read as the limit.
        let f = factor(
            "a21026",
            Some("35"),
            valid(&["35.000048", "35.000048", "52.516667"]),
        );
        let e = run(&rule("source_exceedance"), &stack(vec![f]), 0);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].peak, Some(dec!(52.516667)), "the value judged");
        assert!(e[0].summary.contains("最高 52.5167"), "{}", e[0].summary);
        assert_eq!(e[0].evidence[0].value, "35.000048");
        let f = factor("a21026", Some("35"), valid(&["35.000048"; 3]));
        let e = run(&rule("source_exceedance"), &stack(vec![f]), 0);
        assert!(e[0].summary.contains("最高 35.00005（"), "{}", e[0].summary);
        assert_eq!(e[0].multiple, Some(dec!(0)));
    }

    #[test]
    fn silence_beyond_the_threshold_is_an_offline_episode() {
        let mut site = stack(vec![]);
        let r = rule("offline");
        assert!(run(&r, &site, T0).is_empty(), "never connected");
        site.last_frame_at = Some(T0);
        assert!(run(&r, &site, T0 + 119 * 60).is_empty());
        let e = run(&r, &site, T0 + 121 * 60);
        assert_eq!(e.len(), 1);
        assert!(e[0].ongoing);
        assert_eq!(e[0].factor, "");
    }

    #[test]
    fn six_unchanging_hours_are_constant_but_six_zeros_are_zero() {
        let f = factor(
            "a21026",
            Some("35"),
            valid(&["12.3", "12.35", "12.3", "12.4", "12.3", "12.32", "20"]),
        );
        let e = run(&rule("constant"), &stack(vec![f]), 0);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].hours, 6);
        let zeros = factor("a21026", Some("35"), valid(&["0", "0", "0", "0", "0", "0"]));
        let site = stack(vec![zeros]);
        assert!(run(&rule("constant"), &site, 0).is_empty());
        assert_eq!(run(&rule("zero"), &site, 0).len(), 1);
    }

    #[test]
    fn negative_and_over_range_hours() {
        let f = factor(
            "a21026",
            Some("35"),
            hours(&[("-3", "N"), ("5", "N"), ("999", "T"), ("999", "T")]),
        );
        let site = stack(vec![f]);
        let neg = run(&rule("negative"), &site, 0);
        assert_eq!(neg.len(), 1);
        assert_eq!(neg[0].peak, Some(dec!(-3)));
        let t = run(&rule("over_range"), &site, 0);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].hours, 2);
    }

    fn steady(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{}", 40 + (i % 3))).collect()
    }

    #[test]
    fn a_drop_to_under_half_the_usual_level_needs_a_baseline() {
        let mut values = steady(14);
        values.push("10".into());
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let e = run(
            &rule("abrupt_drop"),
            &stack(vec![factor("a21026", Some("35"), valid(&refs))]),
            0,
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].peak, Some(dec!(10)));
        let short = valid(&["52", "48.5", "61", "20"]);
        assert!(
            run(
                &rule("abrupt_drop"),
                &stack(vec![factor("a21026", Some("35"), short)]),
                0
            )
            .is_empty()
        );
    }

    #[test]
    fn an_isolated_spike_fires_once_it_has_come_back_down() {
        let mut values = steady(14);
        values.push("400".into());
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let r = rule("spike");
        assert!(
            run(
                &r,
                &stack(vec![factor("a21026", Some("35"), valid(&refs))]),
                0
            )
            .is_empty(),
            "not yet back down"
        );
        values.push("41".into());
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let e = run(
            &r,
            &stack(vec![factor("a21026", Some("35"), valid(&refs))]),
            0,
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].peak, Some(dec!(400)));
        // A lasting rise is a level change, not a spike.
        for _ in 0..3 {
            values.insert(15, "400".into());
        }
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        assert!(
            run(
                &r,
                &stack(vec![factor("a21026", Some("35"), valid(&refs))]),
                0
            )
            .is_empty()
        );
    }

    #[test]
    fn high_oxygen_with_compliant_values_is_dilution() {
        let o2 = factor("a19001", None, valid(&["20.1", "20.3", "20.2", "15"]));
        let so2 = factor("a21026", Some("35"), valid(&["10", "11", "12", "10"]));
        let e = run(&rule("dilution"), &stack(vec![o2.clone(), so2]), 0);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].factor, "a19001");
        assert_eq!(e[0].hours, 3);
        let over = factor("a21026", Some("35"), valid(&["10", "50", "12", "10"]));
        assert!(run(&rule("dilution"), &stack(vec![o2, over]), 0).is_empty());
    }

    #[test]
    fn six_maintenance_hours_in_a_day_are_one_site_episode() {
        let day0 = cst::local_day_start(T0) + 24 * HOUR;
        let flags = ["C", "C", "M", "M", "D", "M", "N", "N"];
        let mk = |code: &str| {
            factor(
                code,
                Some("35"),
                flags
                    .iter()
                    .enumerate()
                    .map(|(i, f)| Hour {
                        start: day0 + i as i64 * HOUR,
                        value: Some(dec!(1)),
                        converted: None,
                        flag: (*f).into(),
                    })
                    .collect(),
            )
        };
        let e = run(
            &rule("flag_ratio"),
            &stack(vec![mk("a21026"), mk("a21002")]),
            0,
        );
        assert_eq!(e.len(), 1, "one per site, not per factor");
        assert_eq!(e[0].hours, 6);
        assert!(e[0].summary.contains("C 2 小时"), "{}", e[0].summary);
    }

    #[test]
    fn a_station_far_above_the_others_is_a_hotspot() {
        let station = |id: i64, values: &[&str]| SiteHours {
            site_id: id,
            kind: "air_station".into(),
            factors: vec![factor("a34004", None, valid(values))],
            last_frame_at: None,
        };
        let stations = [
            station(1, &["40", "42", "41", "40"]),
            station(2, &["38", "40", "44", "39"]),
            station(3, &["90", "95", "120", "40"]),
        ];
        let found = hotspots(&rule("station_hotspot"), &stations);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 3);
        assert_eq!(found[0].1.hours, 3);
        assert!(!found[0].1.ongoing);
    }

    #[test]
    fn evaluate_runs_only_the_rules_for_the_site_kind() {
        let f = factor("a21026", Some("35"), valid(&["52", "48.5", "61"]));
        let mut site = stack(vec![f]);
        assert_eq!(evaluate(&site, &RuleSet::defaults(), 0).len(), 1);
        site.kind = "air_station".into();
        assert!(evaluate(&site, &RuleSet::defaults(), 0).is_empty());
    }

    fn disagreement(i: i64, logger: &str, lflag: &str, rollup: &str, rflag: &str) -> Disagreement {
        Disagreement {
            start: T0 + i * HOUR,
            logger_value: logger.parse().ok(),
            logger_flag: lflag.into(),
            rollup_value: rollup.parse().ok(),
            rollup_flag: rflag.into(),
        }
    }

    #[test]
    fn a_logger_hour_far_from_the_platform_rollup_is_a_mismatch() {
        let mut f = factor("a21026", Some("35"), valid(&["20", "21", "22", "23"]));
        f.disagreements = vec![
            // Within 10 %: rounding in the logger, not a mismatch.
            disagreement(0, "20", "N", "19.5", "N"),
            disagreement(2, "22", "N", "41", "N"),
            disagreement(3, "23", "N", "30", "F"),
        ];
        let e = run(&rule("logger_mismatch"), &stack(vec![f]), 0);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            (e[0].started_at, e[0].last_at),
            (T0 + 2 * HOUR, T0 + 3 * HOUR)
        );
        assert_eq!(e[0].hours, 2);
        assert!(e[0].ongoing, "the latest hour disagrees");
        assert!(e[0].summary.contains("上报 22"), "{}", e[0].summary);
        assert!(e[0].summary.contains("计算 41"), "{}", e[0].summary);
        assert_eq!(e[0].evidence.len(), 4, "both values of each hour are kept");
    }

    #[test]
    fn small_differences_and_hours_invalid_on_both_sides_are_not_a_mismatch() {
        let mut f = factor("a21026", Some("35"), valid(&["20", "21"]));
        f.disagreements = vec![
            disagreement(0, "20", "N", "20.04", "N"),
            disagreement(1, "5", "F", "30", "F"),
            // The logger itself says the hour is not valid: honest.
            disagreement(1, "30", "M", "12", "N"),
        ];
        assert!(run(&rule("logger_mismatch"), &stack(vec![f]), 0).is_empty());
    }

    /// Hours `0..n` of CST day `day` (0 = the day containing T0's CST day).
    fn day_hours(day: i64, present: impl Fn(i64) -> bool) -> Vec<Hour> {
        let start = cst::local_day_start(T0) + day * 24 * HOUR;
        (0..24)
            .filter(|h| present(*h))
            .map(|h| Hour {
                start: start + h * HOUR,
                value: Some(dec!(10)),
                converted: None,
                flag: "N".into(),
            })
            .collect()
    }

    #[test]
    fn a_day_with_too_few_hours_received_is_a_low_transmission_rate() {
        let mut hs = day_hours(0, |_| true);
        // Day 1: 20 of 24 hours (83.3 %); day 2: all; day 3 is today.
        hs.extend(day_hours(1, |h| h % 6 != 5));
        hs.extend(day_hours(2, |_| true));
        hs.extend(day_hours(3, |h| h < 2));
        let f = factor("a21026", None, hs);
        let now = cst::local_day_start(T0) + 3 * 24 * HOUR + 2 * HOUR;
        let e = run(&rule("transmission_rate"), &stack(vec![f]), now);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].started_at, cst::local_day_start(T0) + 24 * HOUR);
        assert_eq!(e[0].hours, 4, "hours missing");
        assert!(e[0].summary.contains("83.3%"), "{}", e[0].summary);
        assert!(!e[0].ongoing);
    }

    #[test]
    fn a_full_day_the_current_day_and_the_days_before_the_first_hour_are_not_judged() {
        // Starts at 20:00 on day 0 and reports every hour since; today (day
        // 2) has only two hours so far.
        let mut hs = day_hours(0, |h| h >= 20);
        hs.extend(day_hours(1, |_| true));
        hs.extend(day_hours(2, |h| h < 2));
        let f = factor("a21026", None, hs);
        let now = cst::local_day_start(T0) + 2 * 24 * HOUR + 2 * HOUR;
        assert!(run(&rule("transmission_rate"), &stack(vec![f]), now).is_empty());
    }

    #[test]
    fn a_township_falling_three_places_slides_and_one_falling_two_does_not() {
        let change = |t: &str, before, now| RankChange {
            township: t.into(),
            before,
            now,
            from: T0,
            last_day: T0 + 6 * 24 * HOUR,
        };
        let r = rule("ranking_slide");
        let e = ranking_slides(
            &r,
            &[
                change("原武镇", 2, 6),
                change("师寨镇", 3, 5),
                change("祝楼乡", 6, 1),
            ],
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, "原武镇");
        assert!(e[0].1.summary.contains("第 6 名"), "{}", e[0].1.summary);
        assert!(e[0].1.summary.contains("下滑 4 名"), "{}", e[0].1.summary);
        assert_eq!(e[0].1.hours, 7 * 24);
    }

    proptest::proptest! {
        #[test]
        fn episodes_lie_within_the_hours_and_keep_bounded_evidence(
            values in proptest::collection::vec(-10i64..200, 0..80),
            flags in proptest::collection::vec(0usize..4, 80),
        ) {
            let hs: Vec<Hour> = values.iter().enumerate().map(|(i, v)| Hour {
                start: T0 + i as i64 * HOUR,
                value: Some(Decimal::from(*v)),
                converted: None,
                flag: ["N", "N", "M", "T"][flags[i]].into(),
            }).collect();
            let mut site = stack(vec![factor("a21026", Some("35"), hs)]);
            site.last_frame_at = Some(T0);
            for e in evaluate(&site, &RuleSet::defaults(), T0 + 80 * HOUR) {
                proptest::prop_assert!(e.started_at <= e.last_at);
                proptest::prop_assert!(e.evidence.len() <= EVIDENCE_MAX);
                proptest::prop_assert!(e.hours >= 1);
                if e.kind != RuleKind::NoData {
                    proptest::prop_assert!(e.started_at >= T0 && e.last_at < T0 + 80 * HOUR);
                }
            }
        }
    }
}
