//! Electricity-use monitoring (用电监控, 分表计电; air task 44), the pure
//! part: a meter's hourly load from its data, the idle and normal load
//! learned from its history, and the screens that compare a treatment
//! circuit with the production circuits it serves.
//!
//! The rules are `../shared/spec/supervision-rules.md` §5's suggested
//! defaults (design defaults, not official), each number a rule setting:
//! * 治污未同步 ([`RuleKind::TreatmentOff`]): production running while its
//!   treatment is off, for `min_hours` hours.
//! * 治污设施空转/降频 ([`RuleKind::TreatmentIdle`]): treatment running
//!   below `threshold` × its learned normal load while production is at
//!   normal load.
//! * 夜间用电异常 ([`RuleKind::NightUse`]): a day whose night-time mean
//!   load is above `threshold` × its daytime mean (the State Grid watch-list
//!   heuristic of 1.5).
//!
//! Transmission faults are the generic no-data and transmission-rate rules,
//! which apply to `power` sites too.

use std::collections::BTreeSet;

use chrono::Timelike;
use gongjian_standards::cst;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

use crate::{EVIDENCE_MAX, Episode, Evidence, FactorHours, Rule, RuleKind};

/// Total active power (kW): hourly means of a meter's real-time samples.
pub const POWER_FACTOR: &str = "Pt";
/// The energy counter (kWh, a reading at each period's start).
pub const ENERGY_FACTOR: &str = "Ept";

/// Days of history a meter needs before its idle and normal load are
/// learned (and the rules that need them judge it).
pub const LEARN_DAYS: usize = 14;
/// Days of history read for learning.
pub const HISTORY_DAYS: i64 = 30;
/// Below this a circuit is off whatever was learned: the standby draw of
/// meters and controls.
pub const STANDBY_KW: Decimal = dec!(0.5);
/// A learned idle load this far down still counts as running: the on/off
/// boundary is this share of the idle load (or [`STANDBY_KW`], whichever is
/// higher).
const ON_SHARE_OF_IDLE: Decimal = dec!(0.5);
/// Production is "at normal load" from this share of its learned normal
/// load up.
const NORMAL_LOAD_SHARE: Decimal = dec!(0.8);
/// Night in China Standard Time: 22:00 to 06:00.
const NIGHT_FROM: u32 = 22;
const NIGHT_UNTIL: u32 = 6;
/// Hours a day needs at night and by day before the night rule judges it.
const NIGHT_MIN_HOURS: usize = 6;
const DAY_MIN_HOURS: usize = 12;

const HOUR: i64 = 3600;

/// What a meter's circuit feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Circuit {
    /// 产污设施: a production line or process.
    Production,
    /// 治污设施: treatment equipment serving production circuits.
    Treatment,
}

impl Circuit {
    pub const ALL: [Circuit; 2] = [Circuit::Production, Circuit::Treatment];

    pub fn as_str(self) -> &'static str {
        match self {
            Circuit::Production => "production",
            Circuit::Treatment => "treatment",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Circuit::Production => "产污设施",
            Circuit::Treatment => "治污设施",
        }
    }

    /// A code or its Chinese label.
    pub fn parse(s: &str) -> Option<Circuit> {
        let s = s.trim();
        Circuit::ALL
            .into_iter()
            .find(|c| c.as_str() == s || c.label() == s)
    }
}

/// One hour of a meter: its mean load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadHour {
    /// Unix seconds of the hour's start.
    pub start: i64,
    pub kw: Decimal,
}

/// A meter's hourly load from its data: the valid `Pt` hour means, and for
/// hours without one the energy counter's increase to the next hour's
/// reading (kWh in one hour = mean kW). A counter that goes back (reset or
/// replaced meter) gives no hour rather than a negative one.
pub fn hourly_load(meter: &[FactorHours]) -> Vec<LoadHour> {
    let mut out: std::collections::BTreeMap<i64, Decimal> = Default::default();
    if let Some(energy) = meter.iter().find(|f| f.factor == ENERGY_FACTOR) {
        let readings: Vec<(i64, Decimal)> = energy
            .hours
            .iter()
            .filter(|h| h.valid())
            .filter_map(|h| h.value.map(|v| (h.start, v)))
            .collect();
        for w in readings.windows(2) {
            let ((t0, e0), (t1, e1)) = (w[0], w[1]);
            if t1 - t0 == HOUR && e1 >= e0 {
                out.insert(t0, e1 - e0);
            }
        }
    }
    if let Some(power) = meter.iter().find(|f| f.factor == POWER_FACTOR) {
        for h in power.hours.iter().filter(|h| h.valid()) {
            if let Some(kw) = h.value.filter(|v| !v.is_sign_negative()) {
                out.insert(h.start, kw);
            }
        }
    }
    out.into_iter()
        .map(|(start, kw)| LoadHour { start, kw })
        .collect()
}

/// What a meter's history says of its load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Days (China Standard Time) with data in the history read.
    pub days: usize,
    /// The lowest running load: the 10th percentile of running hours.
    pub idle_kw: Decimal,
    /// The usual working load: the 75th percentile of running hours.
    pub normal_kw: Decimal,
    /// Above this the circuit is running.
    pub on_kw: Decimal,
}

/// A meter's profile, or how far its learning has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Learned {
    Ready(Profile),
    /// Fewer than [`LEARN_DAYS`] days of data, or never running.
    Learning {
        days: usize,
    },
}

impl Learned {
    pub fn profile(&self) -> Option<&Profile> {
        match self {
            Learned::Ready(p) => Some(p),
            Learned::Learning { .. } => None,
        }
    }

    /// The boundary between off and running: learned, else the standby draw.
    pub fn on_kw(&self) -> Decimal {
        self.profile().map_or(STANDBY_KW, |p| p.on_kw)
    }

    /// One line for the site page, e.g. "空转 12 kW · 正常 80 kW · 运行阈值 6 kW（30 天数据）".
    pub fn describe(&self) -> String {
        match self {
            Learned::Ready(p) => format!(
                "空转负荷 {} kW · 正常负荷 {} kW · 运行判定阈值 {} kW（{} 天数据）",
                p.idle_kw.round_dp(1).normalize(),
                p.normal_kw.round_dp(1).normalize(),
                p.on_kw.round_dp(1).normalize(),
                p.days
            ),
            Learned::Learning { days } => format!(
                "学习中：已有 {days} 天数据，满 {LEARN_DAYS} 天后得出空转与正常负荷（此前运行判定阈值按 {} kW）",
                STANDBY_KW.normalize()
            ),
        }
    }
}

/// The value at quantile `q` (0–1) of sorted, non-empty `values` (nearest
/// rank).
fn quantile(sorted: &[Decimal], q: Decimal) -> Decimal {
    let n = sorted.len();
    let rank = (q * Decimal::from(n)).ceil().to_usize().unwrap_or(1);
    sorted[rank.clamp(1, n) - 1]
}

/// Learn a meter's idle and normal load from its history (at least
/// [`LEARN_DAYS`] days with data; hours at or below [`STANDBY_KW`] are off
/// and do not count).
pub fn learn(history: &[LoadHour]) -> Learned {
    let days: BTreeSet<_> = history.iter().map(|h| cst::local_date(h.start)).collect();
    let days = days.len();
    let mut running: Vec<Decimal> = history
        .iter()
        .map(|h| h.kw)
        .filter(|&kw| kw > STANDBY_KW)
        .collect();
    if days < LEARN_DAYS || running.is_empty() {
        return Learned::Learning { days };
    }
    running.sort();
    let idle_kw = quantile(&running, dec!(0.10));
    let normal_kw = quantile(&running, dec!(0.75));
    Learned::Ready(Profile {
        days,
        idle_kw,
        normal_kw,
        on_kw: (idle_kw * ON_SHARE_OF_IDLE).max(STANDBY_KW),
    })
}

/// A meter as the screens see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meter {
    pub site_id: i64,
    pub name: String,
    pub learned: Learned,
    /// The screened window's hours, ascending.
    pub hours: Vec<LoadHour>,
}

/// A treatment circuit with the production circuits it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreatmentLink {
    pub treatment: Meter,
    pub production: Vec<Meter>,
}

fn kw_text(kw: Decimal) -> String {
    kw.round_dp(1).normalize().to_string()
}

fn load_at(m: &Meter, start: i64) -> Option<Decimal> {
    m.hours
        .binary_search_by_key(&start, |h| h.start)
        .ok()
        .map(|i| m.hours[i].kw)
}

/// Consecutive hours of a meter for which `holds` is true (the screens'
/// shared run finder).
fn runs(hours: &[LoadHour], holds: impl Fn(&LoadHour) -> bool) -> Vec<(usize, usize)> {
    crate::screens::runs(hours, |h| h.start, |i| holds(&hours[i]))
}

fn evidence(hours: &[LoadHour], factor: &str) -> Vec<Evidence> {
    hours
        .iter()
        .take(EVIDENCE_MAX)
        .map(|h| Evidence {
            at: h.start,
            factor: factor.to_owned(),
            value: kw_text(h.kw),
            flag: "N".into(),
        })
        .collect()
}

fn link_episode(
    rule: &Rule,
    link: &TreatmentLink,
    (a, b): (usize, usize),
    summary: String,
) -> Episode {
    let t = &link.treatment;
    let hours = &t.hours[a..=b];
    Episode {
        rule: rule.code.clone(),
        kind: rule.kind,
        factor: POWER_FACTOR.into(),
        started_at: hours[0].start,
        last_at: hours[hours.len() - 1].start,
        ongoing: b + 1 == t.hours.len(),
        hours: hours.len() as u32,
        peak: None,
        multiple: None,
        evidence: evidence(hours, POWER_FACTOR),
        summary,
    }
}

/// The production circuits of `link` running in the hour starting at
/// `start`, with their load, and whether any is at normal load.
fn production_running(link: &TreatmentLink, start: i64) -> Vec<(&Meter, Decimal)> {
    link.production
        .iter()
        .filter_map(|p| load_at(p, start).map(|kw| (p, kw)))
        .filter(|(p, kw)| *kw > p.learned.on_kw())
        .collect()
}

fn at_normal_load(p: &Meter, kw: Decimal) -> bool {
    p.learned
        .profile()
        .is_some_and(|pr| kw >= pr.normal_kw * NORMAL_LOAD_SHARE)
}

/// 治污未同步 and 空转/降频 episodes of every link, each raised on the
/// treatment meter's site.
pub fn treatment_screens(rule: &Rule, links: &[TreatmentLink]) -> Vec<(i64, Episode)> {
    let mut out = Vec::new();
    for link in links {
        let t = &link.treatment;
        let episodes = match rule.kind {
            RuleKind::TreatmentOff => treatment_off(rule, link),
            RuleKind::TreatmentIdle => treatment_idle(rule, link),
            _ => Vec::new(),
        };
        out.extend(episodes.into_iter().map(|e| (t.site_id, e)));
    }
    out
}

fn treatment_off(rule: &Rule, link: &TreatmentLink) -> Vec<Episode> {
    let t = &link.treatment;
    let off = t.learned.on_kw();
    runs(&t.hours, |h| {
        h.kw <= off && !production_running(link, h.start).is_empty()
    })
    .into_iter()
    .filter(|(a, b)| b - a + 1 >= rule.hours() as usize)
    .map(|(a, b)| {
        let first = &t.hours[a];
        let names: Vec<String> = production_running(link, first.start)
            .iter()
            .map(|(p, kw)| format!("{}（{} kW）", p.name, kw_text(*kw)))
            .collect();
        let summary = format!(
            "{}运行而治污设施{}停运（{} kW，运行判定阈值 {} kW），连续 {} 小时",
            names.join("、"),
            t.name,
            kw_text(first.kw),
            kw_text(off),
            b - a + 1
        );
        link_episode(rule, link, (a, b), summary)
    })
    .collect()
}

fn treatment_idle(rule: &Rule, link: &TreatmentLink) -> Vec<Episode> {
    let t = &link.treatment;
    let Some(profile) = t.learned.profile() else {
        return Vec::new();
    };
    let share = rule.threshold_or(dec!(0.5));
    let floor = profile.normal_kw * share;
    runs(&t.hours, |h| {
        h.kw > profile.on_kw
            && h.kw < floor
            && production_running(link, h.start)
                .iter()
                .any(|(p, kw)| at_normal_load(p, *kw))
    })
    .into_iter()
    .filter(|(a, b)| b - a + 1 >= rule.hours() as usize)
    .map(|(a, b)| {
        let low = t.hours[a..=b].iter().map(|h| h.kw).min().unwrap_or_default();
        let summary = format!(
            "产污设施正常生产时治污设施{}负荷仅 {} kW，低于正常负荷 {} kW 的 {}%（疑似空转或降频），连续 {} 小时",
            t.name,
            kw_text(low),
            kw_text(profile.normal_kw),
            (share * dec!(100)).round_dp(0).normalize(),
            b - a + 1
        );
        link_episode(rule, link, (a, b), summary)
    })
    .collect()
}

/// 夜间用电异常: each complete China Standard Time day of `meter` whose
/// night-time mean load exceeds `threshold` (default 1.5) × its daytime
/// mean, the daytime mean itself above the standby draw.
pub fn night_use(rule: &Rule, meter: &Meter) -> Vec<Episode> {
    let ratio = rule.threshold_or(dec!(1.5));
    let mut by_day: std::collections::BTreeMap<
        chrono::NaiveDate,
        (Vec<&LoadHour>, Vec<&LoadHour>),
    > = Default::default();
    for h in &meter.hours {
        let local = cst::to_local(h.start);
        let (day, hour) = (local.date(), local.hour());
        let e = by_day.entry(day).or_default();
        if !(NIGHT_UNTIL..NIGHT_FROM).contains(&hour) {
            e.0.push(h);
        } else {
            e.1.push(h);
        }
    }
    let latest_day = meter.hours.last().map(|h| cst::local_date(h.start));
    let mean = |hs: &[&LoadHour]| {
        hs.iter().map(|h| h.kw).sum::<Decimal>() / Decimal::from(hs.len().max(1))
    };
    let mut out = Vec::new();
    for (day, (night, daytime)) in by_day {
        if night.len() < NIGHT_MIN_HOURS || daytime.len() < DAY_MIN_HOURS {
            continue;
        }
        let (n, d) = (mean(&night), mean(&daytime));
        if d <= STANDBY_KW || n <= d * ratio {
            continue;
        }
        let mut hours: Vec<LoadHour> = night.iter().map(|h| **h).collect();
        hours.sort_by_key(|h| h.start);
        out.push(Episode {
            rule: rule.code.clone(),
            kind: rule.kind,
            factor: POWER_FACTOR.into(),
            started_at: cst::day_start_utc(day),
            last_at: cst::day_start_utc(day) + 23 * HOUR,
            // A day is judged once it is over; the latest day may still grow.
            ongoing: Some(day) == latest_day,
            hours: 24,
            peak: night.iter().map(|h| h.kw).max(),
            multiple: None,
            evidence: evidence(&hours, POWER_FACTOR),
            summary: format!(
                "{} {day} 夜间（22 时至次日 6 时）平均负荷 {} kW，为白天平均负荷 {} kW 的 {} 倍（阈值 {} 倍）",
                meter.name,
                kw_text(n),
                kw_text(d),
                (n / d).round_dp(2).normalize(),
                ratio.normalize()
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Hour, RuleSet};
    use chrono::NaiveDate;

    fn day0() -> i64 {
        cst::day_start_utc(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
    }

    fn rule(kind: RuleKind) -> Rule {
        RuleSet::defaults()
            .rules
            .into_iter()
            .find(|r| r.kind == kind)
            .unwrap()
    }

    fn hours(from: i64, kws: &[i64]) -> Vec<LoadHour> {
        kws.iter()
            .enumerate()
            .map(|(i, kw)| LoadHour {
                start: from + i as i64 * HOUR,
                kw: Decimal::from(*kw),
            })
            .collect()
    }

    fn factor(code: &str, from: i64, values: &[i64]) -> FactorHours {
        FactorHours {
            factor: code.into(),
            hours: values
                .iter()
                .enumerate()
                .map(|(i, v)| Hour {
                    start: from + i as i64 * HOUR,
                    value: Some(Decimal::from(*v)),
                    converted: None,
                    flag: "N".into(),
                })
                .collect(),
            ..FactorHours::default()
        }
    }

    /// `days` days of a line working 08:00–20:00 at `normal` kW, idling at
    /// `idle` kW the other hours.
    fn history(days: i64, normal: i64, idle: i64) -> Vec<LoadHour> {
        let kws: Vec<i64> = (0..days * 24)
            .map(|h| {
                if (8..20).contains(&(h % 24)) {
                    normal
                } else {
                    idle
                }
            })
            .collect();
        hours(day0(), &kws)
    }

    fn meter(id: i64, name: &str, learned: Learned, kws: &[i64], from: i64) -> Meter {
        Meter {
            site_id: id,
            name: name.into(),
            learned,
            hours: hours(from, kws),
        }
    }

    #[test]
    fn the_load_comes_from_the_counter_and_a_power_mean_wins_its_hour() {
        let t = day0();
        // Counter steps 10, 12, then back (a replaced meter), then 5.
        let energy = factor(ENERGY_FACTOR, t, &[100, 110, 122, 3, 8]);
        let power = factor(POWER_FACTOR, t + HOUR, &[50]);
        let load = hourly_load(&[energy, power]);
        let kws: Vec<(i64, i64)> = load
            .iter()
            .map(|h| ((h.start - t) / HOUR, h.kw.to_i64().unwrap()))
            .collect();
        assert_eq!(kws, vec![(0, 10), (1, 50), (3, 5)]);
    }

    #[test]
    fn learning_needs_fourteen_days_and_gives_the_idle_and_normal_load() {
        assert_eq!(learn(&history(13, 80, 10)), Learned::Learning { days: 13 });
        let Learned::Ready(p) = learn(&history(20, 80, 10)) else {
            panic!("not learned")
        };
        assert_eq!((p.days, p.idle_kw, p.normal_kw), (20, dec!(10), dec!(80)));
        assert_eq!(p.on_kw, dec!(5));
        // Never running: nothing to learn from.
        assert_eq!(learn(&history(20, 0, 0)), Learned::Learning { days: 20 });
        assert!(
            learn(&history(20, 80, 10))
                .describe()
                .contains("正常负荷 80 kW")
        );
    }

    #[test]
    fn production_running_with_its_treatment_off_raises_an_alarm_on_the_treatment_meter() {
        let t = day0();
        let link = TreatmentLink {
            treatment: meter(
                7,
                "除尘风机",
                Learned::Learning { days: 2 },
                &[30, 0, 0, 0, 30],
                t,
            ),
            production: vec![meter(
                8,
                "1号窑",
                Learned::Learning { days: 2 },
                &[90, 90, 90, 90, 90],
                t,
            )],
        };
        let mut r = rule(RuleKind::TreatmentOff);
        let found = treatment_screens(&r, std::slice::from_ref(&link));
        assert_eq!(found.len(), 1);
        let (site, e) = &found[0];
        assert_eq!(
            (*site, e.hours, e.started_at, e.ongoing),
            (7, 3, t + HOUR, false)
        );
        assert!(
            e.summary
                .contains("1号窑（90 kW）运行而治污设施除尘风机停运"),
            "{}",
            e.summary
        );
        r.min_hours = 4;
        assert!(treatment_screens(&r, std::slice::from_ref(&link)).is_empty());
        // Production off as well: nothing to treat.
        let mut idle = link;
        idle.production[0].hours = hours(t, &[0, 0, 0, 0, 0]);
        r.min_hours = 1;
        assert!(treatment_screens(&r, &[idle]).is_empty());
    }

    #[test]
    fn treatment_idling_while_production_is_at_normal_load_is_found_only_once_learned() {
        let t = day0();
        let treat = learn(&history(20, 40, 10));
        let prod = learn(&history(20, 100, 10));
        let link = TreatmentLink {
            treatment: meter(7, "脱硫循环泵", treat, &[40, 12, 12, 12, 40], t),
            production: vec![meter(8, "2号线", prod, &[100, 100, 100, 60, 100], t)],
        };
        let r = rule(RuleKind::TreatmentIdle);
        let found = treatment_screens(&r, std::slice::from_ref(&link));
        // Hour 3: production at 60 % of normal, not "normal load": the run is 2 hours.
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].1.hours, 2);
        assert!(
            found[0].1.summary.contains("负荷仅 12 kW"),
            "{}",
            found[0].1.summary
        );
        let mut unlearned = link;
        unlearned.treatment.learned = Learned::Learning { days: 3 };
        assert!(treatment_screens(&r, &[unlearned]).is_empty());
    }

    #[test]
    fn a_day_used_mostly_at_night_is_flagged() {
        let r = rule(RuleKind::NightUse);
        // 00–06 and 22–24 at 100 kW, 06–22 at 40 kW: 2.5 × the daytime mean.
        let kws: Vec<i64> = (0..24)
            .map(|h| if !(6..22).contains(&h) { 100 } else { 40 })
            .collect();
        let m = meter(9, "喷涂线", Learned::Learning { days: 1 }, &kws, day0());
        let found = night_use(&r, &m);
        assert_eq!(found.len(), 1);
        assert!(found[0].summary.contains("2.5 倍"), "{}", found[0].summary);
        // 1.2 × is within the 1.5 threshold; a half day is not judged.
        let even: Vec<i64> = (0..24)
            .map(|h| if !(6..22).contains(&h) { 48 } else { 40 })
            .collect();
        assert!(
            night_use(
                &r,
                &meter(9, "", Learned::Learning { days: 1 }, &even, day0())
            )
            .is_empty()
        );
        assert!(
            night_use(
                &r,
                &meter(9, "", Learned::Learning { days: 1 }, &kws[..8], day0())
            )
            .is_empty()
        );
    }
}
