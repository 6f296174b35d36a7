//! The alarm run: every site's recent hours through the screens of the
//! rule set in force, the episodes reconciled with the stored alarms (one
//! alarm per episode, extended while it lasts), and a 督办 case opened —
//! or a recently closed one reopened — for each new alarm whose rule asks
//! for one.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{Datelike, Duration};
use gongjian_alarms::CaseAction;
use gongjian_alarms::{
    Disagreement, FactorHours, Hour, Rule, RuleKind, RuleSet, SiteHours, evaluate, screens,
};
use gongjian_storage::{Actor, AlarmRecord, Db, NewCase, StorageError};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::AppError;

/// Hours of data each run screens: enough for a day's mean and for the
/// 24-hour medians of the drop and spike screens.
pub const WINDOW_HOURS: i64 = 72;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AlarmRun {
    pub sites: usize,
    pub opened: usize,
    pub ended: usize,
    pub cases_opened: usize,
    pub cases_reopened: usize,
}

/// The Chinese name of an HJ 212 factor code (the code itself if unknown).
pub fn factor_label(code: &str) -> String {
    use gongjian_alarms::power::{ENERGY_FACTOR, POWER_FACTOR};
    match code {
        // The meters' vendor codes (HJ 212-2017 has none for electricity).
        POWER_FACTOR => "有功功率".to_owned(),
        ENERGY_FACTOR => "有功电能".to_owned(),
        _ => gongjian_hj212::codes::lookup(code)
            .map(|c| c.name_zh.to_owned())
            .unwrap_or_else(|| code.to_owned()),
    }
}

fn decimal(text: Option<&str>) -> Option<Decimal> {
    text.and_then(|t| Decimal::from_str(t.trim()).ok())
}

/// Screens every site as of `now` and stores what changed.
pub async fn run_alarms(db: &Db, now: i64) -> Result<AlarmRun, AppError> {
    let version = db.alarms().alarm_rules().await?;
    let rules = &version.rules;
    let from = (now.div_euclid(3600) - WINDOW_HOURS) * 3600;
    let sites = db.monitoring().sites().await?;
    let factors = db.monitoring().all_site_factors().await?;
    let last_frames = db.alarms().last_frames().await?;
    let mut inputs: HashMap<i64, SiteHours> = sites
        .iter()
        .map(|s| {
            let fs = factors
                .get(&s.id)
                .map(|list| {
                    list.iter()
                        .map(|f| FactorHours {
                            factor: f.factor.clone(),
                            name: if f.name.trim().is_empty() {
                                factor_label(&f.factor)
                            } else {
                                f.name.clone()
                            },
                            unit: f.unit.clone(),
                            limit: decimal(f.limit_value.as_deref()),
                            hours: Vec::new(),
                            disagreements: Vec::new(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                s.id,
                SiteHours {
                    site_id: s.id,
                    kind: s.kind.clone(),
                    factors: fs,
                    last_frame_at: last_frames.get(&s.id).copied(),
                },
            )
        })
        .collect();
    for h in db.alarms().hours_since(from).await? {
        let Some(site) = inputs.get_mut(&h.site_id) else {
            continue;
        };
        let hour = Hour {
            start: h.point.period_start,
            value: decimal(h.point.value.as_deref()),
            converted: decimal(h.point.converted.as_deref()),
            flag: h.point.flag,
        };
        match site.factors.iter_mut().find(|f| f.factor == h.factor) {
            Some(f) => f.hours.push(hour),
            None => site.factors.push(FactorHours {
                factor: h.factor.clone(),
                name: factor_label(&h.factor),
                hours: vec![hour],
                ..FactorHours::default()
            }),
        }
    }

    for d in db.alarms().hour_disagreements_since(from).await? {
        let Some(site) = inputs.get_mut(&d.site_id) else {
            continue;
        };
        let entry = Disagreement {
            start: d.period_start,
            logger_value: decimal(d.logger_value.as_deref()),
            logger_flag: d.logger_flag,
            rollup_value: decimal(d.rollup_value.as_deref()),
            rollup_flag: d.rollup_flag,
        };
        match site.factors.iter_mut().find(|f| f.factor == d.factor) {
            Some(f) => f.disagreements.push(entry),
            None => site.factors.push(FactorHours {
                factor: d.factor.clone(),
                name: factor_label(&d.factor),
                disagreements: vec![entry],
                ..FactorHours::default()
            }),
        }
    }

    let mut episodes: HashMap<i64, Vec<gongjian_alarms::Episode>> = inputs
        .values()
        .map(|s| (s.site_id, evaluate(s, rules, now)))
        .collect();
    let stations: Vec<SiteHours> = inputs
        .values()
        .filter(|s| s.kind == "air_station")
        .cloned()
        .collect();
    for rule in rules
        .rules
        .iter()
        .filter(|r| r.enabled && r.kind == RuleKind::Hotspot)
    {
        for (site, e) in screens::hotspots(rule, &stations) {
            episodes.entry(site).or_default().push(e);
        }
    }

    // Electricity use: a treatment circuit against the production it serves.
    let power_rules: Vec<&Rule> = rules
        .rules
        .iter()
        .filter(|r| r.enabled && matches!(r.kind, RuleKind::TreatmentOff | RuleKind::TreatmentIdle))
        .collect();
    if !power_rules.is_empty() {
        let names: HashMap<i64, String> = sites.iter().map(|s| (s.id, s.name.clone())).collect();
        let links = crate::power::treatment_links(db, from, now, &names).await?;
        for rule in power_rules {
            for (site, e) in gongjian_alarms::power::treatment_screens(rule, &links) {
                episodes.entry(site).or_default().push(e);
            }
        }
    }

    for rule in rules
        .rules
        .iter()
        .filter(|r| r.enabled && r.kind == RuleKind::RankingSlide)
    {
        for (site, e) in ranking_slides(db, rule, now).await? {
            episodes.entry(site).or_default().push(e);
        }
    }

    let mut run = AlarmRun::default();
    let open_sites = db.alarms().sites_with_open_alarms().await?;
    let system = Actor::system("alarms");
    for site in &sites {
        let found = episodes.remove(&site.id).unwrap_or_default();
        if found.is_empty() && !open_sites.contains(&site.id) {
            continue;
        }
        run.sites += 1;
        let done = db
            .alarms()
            .reconcile_alarms(site.id, version.id, rules, &found)
            .await?;
        run.opened += done.opened.len();
        run.ended += done.ended.len();
        for id in done.opened {
            let alarm = db.alarms().alarm(id).await?;
            if !rules.rule(&alarm.rule).is_some_and(|r| r.auto_case) {
                continue;
            }
            match case_for_alarm(db, &system, &alarm, rules).await {
                Ok(CaseOutcome::Opened(_)) => run.cases_opened += 1,
                Ok(CaseOutcome::Reopened(_)) => run.cases_reopened += 1,
                Ok(CaseOutcome::Linked(_)) => {}
                Err(e) => tracing::warn!(alarm = id, error = %e, "no case for the alarm"),
            }
        }
    }
    Ok(run)
}

/// The ranking-slide episodes as of `now`, each with the site it is raised
/// on (the township's first station): the townships ranked by the
/// comprehensive index over the last `days` complete days with data and
/// over the `days` before.
async fn ranking_slides(
    db: &Db,
    rule: &Rule,
    now: i64,
) -> Result<Vec<(i64, gongjian_alarms::Episode)>, AppError> {
    let today = gongjian_standards::cst::local_date(now);
    let data = crate::air::load_air_as_cached(db, today.year()).await?;
    let Some(last) = data.as_of.filter(|d| *d < today) else {
        return Ok(Vec::new());
    };
    let days = i64::from(rule.hours().div_ceil(24).max(1));
    let from = last - Duration::days(days - 1);
    let before_from = from - Duration::days(days);
    if before_from.year() != last.year() {
        // The year's data are loaded per year: early January has no span
        // before to compare with.
        return Ok(Vec::new());
    }
    let recent = crate::targets::township_span_ranking(&data, from, last);
    let earlier =
        crate::targets::township_span_ranking(&data, before_from, from - Duration::days(1));
    let day_start = gongjian_standards::cst::day_start_utc;
    let changes: Vec<screens::RankChange> = recent
        .rows
        .iter()
        .filter_map(|r| {
            let now_rank = r.rank?;
            let before = earlier.rows.iter().find(|e| e.name == r.name)?.rank?;
            Some(screens::RankChange {
                township: r.name.clone(),
                before,
                now: now_rank,
                from: day_start(from),
                last_day: day_start(last),
            })
        })
        .collect();
    let station_of = |township: &str| {
        data.stations
            .iter()
            .filter(|s| s.site.scope().township && s.site.township.as_deref() == Some(township))
            .map(|s| s.site.id)
            .min()
    };
    Ok(screens::ranking_slides(rule, &changes)
        .into_iter()
        .filter_map(|(t, e)| station_of(&t).map(|id| (id, e)))
        .collect())
}

/// What [`case_for_alarm`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOutcome {
    Opened(i64),
    /// A case closed within the window was reopened.
    Reopened(i64),
    /// The alarm joined a case still open for the same problem.
    Linked(i64),
}

impl CaseOutcome {
    pub fn id(self) -> i64 {
        match self {
            CaseOutcome::Opened(id) | CaseOutcome::Reopened(id) | CaseOutcome::Linked(id) => id,
        }
    }
}

/// The case handling `alarm`: its own, an open one for the same site,
/// factor and rule, a closed one reopened when the alarm recurs within the
/// window, or a new one for the site's enterprise (else its township),
/// due in the days its severity allows.
pub async fn case_for_alarm(
    db: &Db,
    actor: &Actor,
    alarm: &AlarmRecord,
    rules: &RuleSet,
) -> Result<CaseOutcome, AppError> {
    if let Some(id) = alarm.case_id {
        return Ok(CaseOutcome::Linked(id));
    }
    if let Some(c) = db
        .cases()
        .latest_case_for(alarm.site_id, &alarm.factor, &alarm.rule)
        .await?
    {
        if c.state().is_open() {
            db.alarms().link_alarm_to_case(alarm.id, c.id).await?;
            return Ok(CaseOutcome::Linked(c.id));
        }
        let window = i64::from(rules.reopen_window_days) * 86_400;
        if c.closed_at
            .is_some_and(|closed| alarm.started_at - closed <= window)
        {
            db.cases()
                .act_on_case(
                    actor,
                    c.id,
                    CaseAction::Reopen,
                    &format!("销号后再次报警：{}", alarm.summary),
                    &[],
                )
                .await?;
            db.alarms().link_alarm_to_case(alarm.id, c.id).await?;
            return Ok(CaseOutcome::Reopened(c.id));
        }
    }
    let Some(organisation_id) = alarm.enterprise_id.or(alarm.township_id) else {
        return Err(AppError::Storage(StorageError::rule(
            gongjian_storage::Rule::Case,
            format!(
                "监测点 {} 未登记所属企业或乡镇，无法确定责任单位",
                alarm.site_name
            ),
        )));
    };
    let severity = gongjian_alarms::Severity::parse(&alarm.severity)
        .unwrap_or(gongjian_alarms::Severity::Minor);
    let rule_name = rules
        .rule(&alarm.rule)
        .map(|r| r.name.as_str())
        .unwrap_or(alarm.rule.as_str());
    let factor = factor_label(&alarm.factor);
    let title = format!("{} {}{}", alarm.site_name, factor, rule_name);
    let due_on =
        gongjian_storage::today_cst() + Duration::days(i64::from(rules.case_days(severity)));
    let id = db
        .cases()
        .create_case(
            actor,
            &NewCase {
                title,
                source: "alarm".into(),
                category: RuleKind::parse(&alarm.kind)
                    .map(|k| k.category())
                    .unwrap_or("报警")
                    .into(),
                severity,
                description: alarm.summary.clone(),
                site_id: Some(alarm.site_id),
                alarm_id: Some(alarm.id),
                rule: Some(alarm.rule.clone()),
                factor: Some(alarm.factor.clone()),
                organisation_id,
                township_id: alarm.township_id,
                due_on,
                contact: None,
                longitude: None,
                latitude: None,
                attachments: Vec::new(),
            },
        )
        .await?;
    Ok(CaseOutcome::Opened(id))
}
