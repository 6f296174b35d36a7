//! Heavy-pollution emergency response (issue 15), the use cases: import
//! the season's reduction list, issue a warning, and verify each listed
//! enterprise's warning days from its electricity-use meters (限排不限产:
//! a unit ordered to stop or limit must use no more than its baseline ×
//! the allowed load).
//!
//! Meters are sites of kind `power` (用电监控) owned by the enterprise's
//! organisation (the organisation named as in the list). They report the
//! energy counter `Ept` (kWh) and/or active power `Pt` (kW), in real-time,
//! minute or hourly records; `gongjian_emergency::daily_energy` makes one
//! day's use of them. Stacks are sites of kind `stack_gas` (废气排口) of the
//! same organisation: each pollutant they measure is verified from its CEMS
//! hours, the day's emission against the baseline and the required
//! reduction, and the hourly converted concentrations against the limit
//! (`stacks`).

use chrono::{Duration, NaiveDate};
use gongjian_alarms::power::Circuit;
use gongjian_emergency::{
    Check, ListEntry, MeterReading, Pollutant, Required, RuleSet, Verdict, WarningLevel, baseline,
    daily_energy, day_verdict, electricity_check, limit_check, parse_list,
};
use gongjian_standards::cst;
use gongjian_storage::{
    Actor, CaseFilter, Db, EmergencyList, NewAttachment, NewCase, NewListEntry, NewWarning,
    StorageError, Warning,
};
use gongjian_tabular::Table;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::AppError;

pub mod list_edit;
pub mod report;
pub mod season;
pub(crate) mod stacks;

/// The meter factors read: the energy counter and the active power.
pub const ENERGY_FACTOR: &str = "Ept";
pub const POWER_FACTOR: &str = "Pt";

/// Import a reduction list (refused whole, every problem listed).
pub async fn import_list(
    db: &Db,
    actor: &Actor,
    season: &str,
    table: &Table,
) -> Result<EmergencyList, AppError> {
    let list = parse_list(table).map_err(|e| AppError::InvalidFile(e.to_string()))?;
    let entries = list
        .entries
        .iter()
        .map(|e| {
            Ok(NewListEntry {
                enterprise: e.enterprise.clone(),
                credit_code: e.credit_code.clone(),
                entry: serde_json::to_value(e)
                    .map_err(|err| AppError::InvalidFile(err.to_string()))?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(db
        .emergency()
        .import_emergency_list(actor, season, table.source(), &entries)
        .await?)
}

/// One row (enterprise or production line) of the list in force, as the
/// office reads it.
#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    /// The row's line in the imported file.
    pub line: u64,
    pub enterprise: String,
    pub credit_code: Option<String>,
    pub industry: String,
    /// A级 … D级, 引领性, 非引领性, or 未分级.
    pub grade: &'static str,
    /// 民生保障, 以热定产 …, or empty.
    pub exemption: &'static str,
    /// 生产线（工序）; `None`: the whole plant.
    pub production_line: Option<String>,
    pub baseline_kwh: Option<Decimal>,
    /// (黄色, 橙色, 红色): each level's measure as the list words it.
    pub measures: [Option<String>; 3],
    /// The enterprise's organisation (named as in the list), whose record
    /// (一企一档) the row refers to; `None` until it is registered.
    pub organisation_id: Option<i64>,
}

/// The list in force: when and from what it was imported, how many
/// enterprises it names, and its rows.
#[derive(Debug, Clone, Serialize)]
pub struct ListInForce {
    pub list: EmergencyList,
    /// Who imported it, as people read it (name and unit, or 命令行/系统).
    pub imported_by: String,
    /// Distinct enterprises (a row is an enterprise or one of its lines).
    pub enterprises: usize,
    pub rows: Vec<ListRow>,
}

/// The list in force, if any was imported.
pub async fn list_in_force(db: &Db) -> Result<Option<ListInForce>, AppError> {
    let Some((list, entries)) = db.emergency().emergency_list_in_force().await? else {
        return Ok(None);
    };
    let measure = |m: Option<&gongjian_emergency::Measure>| {
        m.map(|m| {
            let mut text = m.text.clone();
            if let Some(pct) = m.load_limit_pct {
                text.push_str(&format!("（负荷不超过 {}%）", pct.normalize()));
            }
            if let Some(h) = m.stagger_hours.as_deref().filter(|h| !m.text.contains(h)) {
                text.push_str(&format!("（时段 {h}）"));
            }
            text
        })
    };
    let orgs = db.organisations().list().await?;
    let mut rows = Vec::with_capacity(entries.len());
    let mut names: Vec<&str> = Vec::new();
    for stored in &entries {
        let e: ListEntry = serde_json::from_value(stored.entry.clone())
            .map_err(|e| StorageError::Corrupt(format!("emergency entry: {e}")))?;
        if !names.contains(&stored.enterprise.as_str()) {
            names.push(&stored.enterprise);
        }
        rows.push(ListRow {
            line: e.line,
            credit_code: e.credit_code.clone(),
            industry: e.industry.clone(),
            grade: e.grade.map_or("未分级", |g| g.label()),
            exemption: e.exemption.map_or("", |x| x.label()),
            production_line: e.production_line.clone(),
            baseline_kwh: e.baseline_kwh,
            measures: [
                measure(e.yellow.as_ref()),
                measure(e.orange.as_ref()),
                measure(e.red.as_ref()),
            ],
            organisation_id: orgs.iter().find(|o| o.name == e.enterprise).map(|o| o.id),
            enterprise: e.enterprise,
        });
    }
    let imported_by = db
        .accounts()
        .people_labels(&[list.imported_by.as_str()])
        .await?
        .remove(&list.imported_by)
        .unwrap_or_else(|| list.imported_by.clone());
    Ok(Some(ListInForce {
        imported_by,
        enterprises: names.len(),
        list,
        rows,
    }))
}

/// Issue a warning at `level` (a code or 黄色/橙色/红色).
pub async fn issue_warning(
    db: &Db,
    actor: &Actor,
    level: &str,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
    document_number: &str,
) -> Result<Warning, AppError> {
    issue_warning_with_notice(db, actor, level, starts_on, ends_on, document_number, &[]).await
}

/// Issue a warning with the city's notice files (stored under the
/// attachments directory by the caller) attached to it.
pub async fn issue_warning_with_notice(
    db: &Db,
    actor: &Actor,
    level: &str,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
    document_number: &str,
    notice: &[NewAttachment],
) -> Result<Warning, AppError> {
    let level = parse_level(level)?;
    let (recipients, _) = recipients(db).await?;
    Ok(db
        .emergency()
        .issue_warning(
            actor,
            &NewWarning {
                level: level.code().to_owned(),
                starts_on,
                ends_on,
                document_number: document_number.to_owned(),
            },
            &recipients,
            notice,
        )
        .await?)
}

fn parse_level(level: &str) -> Result<WarningLevel, AppError> {
    WarningLevel::parse(level).ok_or_else(|| {
        AppError::Storage(StorageError::rule(
            gongjian_storage::Rule::Emergency,
            format!("预警级别“{level}”应为 黄色、橙色 或 红色"),
        ))
    })
}

/// The organisations of the list in force that have an account on the
/// platform (matched by name), and the listed enterprises that have none
/// (they cannot be told in the platform: the office phones them).
pub async fn recipients(db: &Db) -> Result<(Vec<i64>, Vec<String>), AppError> {
    let Some((_, entries)) = db.emergency().emergency_list_in_force().await? else {
        return Ok((Vec::new(), Vec::new()));
    };
    let orgs = db.organisations().list().await?;
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for e in entries {
        match orgs.iter().find(|o| o.name == e.enterprise) {
            Some(o) if !found.contains(&o.id) => found.push(o.id),
            Some(_) => {}
            None if !missing.contains(&e.enterprise) => missing.push(e.enterprise),
            None => {}
        }
    }
    Ok((found, missing))
}

/// Raise or lower warning `id` to `level` from `from` (a new warning takes
/// over; the listed enterprises are told again and confirm again).
pub async fn change_warning(
    db: &Db,
    actor: &Actor,
    id: i64,
    level: &str,
    from: NaiveDate,
    document_number: &str,
) -> Result<Warning, AppError> {
    change_warning_with_notice(db, actor, id, level, from, document_number, &[]).await
}

/// [`change_warning`] with the change notice's files, attached to the new
/// warning.
pub async fn change_warning_with_notice(
    db: &Db,
    actor: &Actor,
    id: i64,
    level: &str,
    from: NaiveDate,
    document_number: &str,
    notice: &[NewAttachment],
) -> Result<Warning, AppError> {
    let level = parse_level(level)?;
    let (recipients, _) = recipients(db).await?;
    Ok(db
        .emergency()
        .change_warning(
            actor,
            id,
            level.code(),
            from,
            document_number,
            &recipients,
            notice,
        )
        .await?)
}

/// Lift warning `id` from `on` (its last day is the day before).
pub async fn lift_warning(
    db: &Db,
    actor: &Actor,
    id: i64,
    on: NaiveDate,
    document_number: &str,
) -> Result<Warning, AppError> {
    lift_warning_with_notice(db, actor, id, on, document_number, &[]).await
}

/// [`lift_warning`] with the lifting notice's files, attached to the
/// lifted warning.
pub async fn lift_warning_with_notice(
    db: &Db,
    actor: &Actor,
    id: i64,
    on: NaiveDate,
    document_number: &str,
    notice: &[NewAttachment],
) -> Result<Warning, AppError> {
    Ok(db
        .emergency()
        .lift_warning(actor, id, on, document_number, notice)
        .await?)
}

/// Attach the city's notice files to an existing warning (office and
/// admins; audited `attach`).
pub async fn add_notice(
    db: &Db,
    actor: &Actor,
    id: i64,
    files: &[NewAttachment],
) -> Result<(), AppError> {
    Ok(db.emergency().add_warning_notice(actor, id, files).await?)
}

/// The notice files of every warning, by warning id.
pub async fn notices(
    db: &Db,
) -> Result<std::collections::HashMap<i64, Vec<gongjian_storage::AttachmentRecord>>, AppError> {
    let mut out: std::collections::HashMap<i64, Vec<_>> = std::collections::HashMap::new();
    for (w, a) in db.emergency().warning_notices().await? {
        out.entry(w).or_default().push(a);
    }
    Ok(out)
}

/// Whether `user` may read warning `id` and its notice: the office,
/// admins and viewers, and the enterprises that were told of it.
pub async fn sees_warning(
    db: &Db,
    user: &gongjian_storage::User,
    id: i64,
) -> Result<bool, AppError> {
    use gongjian_storage::Role;
    Ok(match user.role {
        Role::Admin | Role::Office | Role::Viewer => true,
        Role::Enterprise => db.emergency().was_told(id, user.organisation_id).await?,
        _ => false,
    })
}

/// Who was told of a warning and who confirmed, with the listed
/// enterprises that have no account.
#[derive(Debug, Clone, Serialize)]
pub struct Receipts {
    pub receipts: Vec<gongjian_storage::Receipt>,
    pub confirmed: usize,
    pub without_account: Vec<String>,
}

pub async fn receipts(db: &Db, id: i64) -> Result<Receipts, AppError> {
    let receipts = db.emergency().receipts(id).await?;
    let (_, without_account) = recipients(db).await?;
    Ok(Receipts {
        confirmed: receipts.iter().filter(|r| r.confirmed_at.is_some()).count(),
        receipts,
        without_account,
    })
}

/// An enterprise confirms it received warning `id` and its measures.
pub async fn confirm_receipt(
    db: &Db,
    actor: &Actor,
    id: i64,
    organisation_id: i64,
) -> Result<(), AppError> {
    Ok(db
        .emergency()
        .confirm_receipt(actor, id, organisation_id)
        .await?)
}

/// One enterprise's day of a warning, judged.
#[derive(Debug, Clone, Serialize)]
pub struct EnterpriseDay {
    /// The list row (Excel line) the day is verified for: one enterprise
    /// may have several production lines.
    pub line: u64,
    pub enterprise: String,
    pub day: NaiveDate,
    /// 停产 / 限产 / 错峰生产, as ordered for the level.
    pub measure: String,
    /// The day's electricity use (kWh), when it could be measured.
    pub energy_kwh: Option<Decimal>,
    /// The baseline (kWh/d): the list's figure, else measured.
    pub baseline_kwh: Option<Decimal>,
    /// The allowed share of the baseline (%).
    pub allowed_pct: Option<Decimal>,
    /// Each pollutant the enterprise's stacks measure and the level
    /// requires a reduction of, from CEMS (限排不限产).
    pub emissions: Vec<EmissionDay>,
    pub verdict: Verdict,
    /// 达标 / 未落实 / 无法核查.
    pub verdict_label: &'static str,
    /// Why, in Chinese.
    pub detail: String,
}

/// One pollutant's emission on a warning day against its baseline.
#[derive(Debug, Clone, Serialize)]
pub struct EmissionDay {
    /// so2 / nox / pm / vocs.
    pub pollutant: &'static str,
    pub label: &'static str,
    /// The day's emission over all the enterprise's stacks (kg, 0.01),
    /// when every stack's day could be measured.
    pub actual_kg: Option<Decimal>,
    /// The list's 正常工况日排放量, else the mean of normal days (kg/d).
    pub baseline_kg: Option<Decimal>,
    /// "减排 ≥ 20%" or "日减排 ≥ 150 kg".
    pub required: String,
    /// This pollutant's own verdict.
    pub verdict_label: &'static str,
}

impl EnterpriseDay {
    /// The day's emissions as officials read them, one pollutant a line:
    /// "二氧化硫 90.72 / 基准 129.6 kg（减排 ≥ 20%）达标"; empty without
    /// CEMS.
    pub fn emissions_text(&self) -> String {
        let kg = |v: Option<Decimal>| v.map_or("—".to_owned(), |v| v.to_string());
        self.emissions
            .iter()
            .map(|e| {
                format!(
                    "{} {} / 基准 {} kg（{}）{}",
                    e.label,
                    kg(e.actual_kg),
                    kg(e.baseline_kg),
                    e.required,
                    e.verdict_label
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A warning's verification: every listed enterprise with a measure at the
/// warning's level, for every day of the warning up to yesterday.
#[derive(Debug, Clone, Serialize)]
pub struct WarningVerification {
    pub warning: Warning,
    pub level_label: &'static str,
    /// The list the warning is verified against (season).
    pub season: Option<String>,
    pub days: Vec<EnterpriseDay>,
    /// Enterprises of the list with nothing to verify at this level (A,
    /// 引领性, exempt, or no measure), by name.
    pub not_required: Vec<String>,
}

/// Verify `warning_id` as of `today` (China Standard Time): days before
/// today are judged; today's is not complete yet.
pub async fn verify_warning(
    db: &Db,
    warning_id: i64,
    today: NaiveDate,
) -> Result<WarningVerification, AppError> {
    let warning = db.emergency().warning(warning_id).await?;
    let level = WarningLevel::parse(&warning.level)
        .ok_or_else(|| StorageError::Corrupt(format!("warning level {:?}", warning.level)))?;
    let rules = RuleSet::for_date(warning.starts_on);
    let last = warning
        .ends_on
        .unwrap_or(today)
        .min(today - Duration::days(1));
    let mut out = WarningVerification {
        level_label: level.label(),
        season: None,
        days: Vec::new(),
        not_required: Vec::new(),
        warning: warning.clone(),
    };
    let Some((list, entries)) = db.emergency().emergency_list_in_force().await? else {
        return Ok(out);
    };
    out.season = Some(list.season);
    let orgs = db.organisations().list().await?;
    let sites = db.monitoring().sites().await?;
    let warnings = db.emergency().warnings().await?;
    let circuits = db.power().circuits().await?;
    let lines = db.power().production_lines().await?;
    let factors = db.monitoring().all_site_factors().await?;
    // Treatment equipment must run while production runs (item 4): the
    // 治污设施未同步运行 rule of the alarm rules in force, screened over the
    // warning's days on every treatment circuit and what it serves.
    let treatment_off = treatment_off_episodes(db, &sites, warning.starts_on, last).await?;
    // Normal days before the warning, newest first: the measured baselines
    // are the means of the most recent of them that have data.
    let normal_days: Vec<NaiveDate> = (1..=rules.baseline_days as i64 * 2)
        .map(|k| warning.starts_on - Duration::days(k))
        .filter(|d| !in_any_warning(&warnings, *d))
        .collect();
    let mut cache = stacks::HourCache::new(
        normal_days.last().copied().unwrap_or(warning.starts_on),
        last.max(warning.starts_on),
    );
    let entries: Vec<ListEntry> = entries
        .into_iter()
        .map(|stored| serde_json::from_value(stored.entry))
        .collect::<Result<_, _>>()
        .map_err(|e| StorageError::Corrupt(format!("emergency entry: {e}")))?;
    // Rows of one enterprise that carry a measure at this level: a plant
    // with several production lines has one set of stacks for all of them.
    let rows_of = |name: &str| {
        entries
            .iter()
            .filter(|e| {
                e.enterprise == name && !e.needs_no_measures() && e.measure(level).is_some()
            })
            .count()
    };
    for entry in &entries {
        let Some(measure) = entry.measure(level).filter(|_| !entry.needs_no_measures()) else {
            out.not_required.push(entry.enterprise.clone());
            continue;
        };
        let own_sites = sites_of(&orgs, &sites, &entry.enterprise);
        let line = entry.production_line.as_deref();
        let meters = production_meters(&own_sites, &circuits);
        let meters = on_line(&meters, &lines, line).unwrap_or(meters);
        let mut stacks = stacks::of(&own_sites, &factors);
        let stack_ids: Vec<i64> = stacks.iter().map(|s| s.site_id).collect();
        let stacks_on_line = on_line(&stack_ids, &lines, line);
        if let Some(ids) = &stacks_on_line {
            stacks.retain(|s| ids.contains(&s.site_id));
        }
        // The stacks measure the whole plant: a row that is one of several
        // production lines cannot be judged on them (its line's share of
        // the plant's emission is not measured), so it is not, rather than
        // be set against the plant's total.
        let shared_stacks =
            stacks_on_line.is_none() && !stacks.is_empty() && rows_of(&entry.enterprise) > 1;
        // The pollutants the enterprise's stacks measure and the level
        // requires a reduction of.
        let pollutants: Vec<(Pollutant, Required)> = Pollutant::ALL
            .into_iter()
            .filter(|_| !shared_stacks)
            .filter(|&p| stacks.iter().any(|s| s.measures(p)))
            .filter_map(|p| entry.required(level, p, &rules.ratios).map(|r| (p, r)))
            .collect();
        let allowed = rules.allowed_load_pct(measure);
        let energy_base = match entry.baseline_kwh {
            Some(listed) => Some(listed),
            None => {
                let mut normal = Vec::new();
                for &d in &normal_days {
                    if normal.len() == rules.baseline_days {
                        break;
                    }
                    if let Some(e) = day_energy(db, &meters, d).await? {
                        normal.push(e);
                    }
                }
                baseline(None, &normal, &rules)
            }
        };
        let mut emission_base = Vec::new();
        for &(p, _) in &pollutants {
            emission_base.push(match entry.baseline_kg[p] {
                Some(listed) => Some(listed),
                None => {
                    let mut normal = Vec::new();
                    for &d in &normal_days {
                        if normal.len() == rules.baseline_days {
                            break;
                        }
                        if let Ok(kg) = stacks::day_emission(db, &mut cache, &stacks, p, d).await? {
                            normal.push(kg);
                        }
                    }
                    baseline(None, &normal, &rules)
                }
            });
        }
        let mut day = warning.starts_on;
        while day <= last {
            let energy = day_energy(db, &meters, day).await?;
            // (what was checked, the check), in the order shown.
            let mut checks: Vec<(String, Check)> = Vec::new();
            if !meters.is_empty() {
                match allowed {
                    Some(pct) => {
                        checks.push(("用电".into(), electricity_check(energy, energy_base, pct)))
                    }
                    // Emissions still verify a measure without a load limit.
                    None if pollutants.is_empty() => checks.push((
                        "用电".into(),
                        Check::Unverifiable {
                            why: "措施未规定负荷上限，无法按用电核查".into(),
                        },
                    )),
                    None => {}
                }
            }
            let mut emissions = Vec::new();
            for (&(p, required), &base) in pollutants.iter().zip(&emission_base) {
                let measured = stacks::day_emission(db, &mut cache, &stacks, p, day).await?;
                let actual = measured.as_ref().ok().copied();
                let check = match measured {
                    Err(why) => Check::Unverifiable { why },
                    Ok(_) => required.check(base, actual),
                };
                emissions.push(EmissionDay {
                    pollutant: p.code(),
                    label: p.label(),
                    actual_kg: actual.map(|a| a.round_dp(2).normalize()),
                    baseline_kg: base.map(|b| b.round_dp(2).normalize()),
                    required: stacks::required_text(required),
                    verdict_label: day_verdict(std::slice::from_ref(&check)).label(),
                });
                checks.push((format!("{}排放量", p.label()), check));
                for stack in stacks.iter().filter(|s| s.measures(p)) {
                    if let Some(limit) = stack.limit(p) {
                        let hours = stacks::hours(db, stack.site_id, p, day).await?;
                        checks.push((
                            format!("{}{}小时折算浓度", stack.name, p.label()),
                            limit_check(&hours, limit),
                        ));
                    }
                }
            }
            if let Some(check) = treatment_check(&treatment_off, &meters, day) {
                checks.push(("治污设施".into(), check));
            }
            if shared_stacks {
                checks.push((
                    "排放".into(),
                    Check::Unverifiable {
                        why: "该企业多条生产线共用排口，在线监测为全厂合计，无法分线核查排放量"
                            .into(),
                    },
                ));
            }
            if checks.is_empty() {
                checks.push((
                    "核查".into(),
                    Check::Unverifiable {
                        why: match line {
                            Some(l) => format!(
                                "未登记该企业生产线“{l}”的用电监控点或废气排口在线监测，无法核查"
                            ),
                            None => "未登记该企业的用电监控点或废气排口在线监测，无法核查".into(),
                        },
                    },
                ));
            }
            let verdicts: Vec<Check> = checks.iter().map(|(_, c)| c.clone()).collect();
            let verdict = day_verdict(&verdicts);
            out.days.push(EnterpriseDay {
                line: entry.line,
                enterprise: entry.enterprise.clone(),
                day,
                measure: measure.kind.label().to_owned(),
                energy_kwh: energy,
                baseline_kwh: energy_base,
                allowed_pct: allowed,
                emissions,
                verdict,
                verdict_label: verdict.label(),
                detail: checks_detail(&checks, allowed),
            });
            day += Duration::days(1);
        }
    }
    Ok(out)
}

/// The monitoring sites of the enterprise named `enterprise` (the
/// organisation named as in the list).
pub(crate) fn sites_of<'a>(
    orgs: &[gongjian_storage::Organisation],
    sites: &'a [gongjian_storage::Site],
    enterprise: &str,
) -> Vec<&'a gongjian_storage::Site> {
    orgs.iter()
        .find(|o| o.name == enterprise)
        .map(|o| {
            sites
                .iter()
                .filter(|s| s.organisation_id == Some(o.id))
                .collect()
        })
        .unwrap_or_default()
}

/// The treatment circuits screened over a warning: the production meters
/// each serves, and its 治污设施未同步运行 episodes.
#[derive(Default)]
struct TreatmentScreen {
    /// Each treatment circuit: the production meters it serves and the
    /// hours (starts) its own meter has data for.
    served: Vec<(Vec<i64>, Vec<i64>)>,
    episodes: Vec<(Vec<i64>, gongjian_alarms::Episode)>,
}

/// Treatment circuits' 治污设施未同步运行 episodes over `first`–`last`;
/// nothing when the rule is switched off or no treatment circuit is
/// linked.
async fn treatment_off_episodes(
    db: &Db,
    sites: &[gongjian_storage::Site],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<TreatmentScreen, AppError> {
    if last < first {
        return Ok(TreatmentScreen::default());
    }
    let version = db.alarms().alarm_rules().await?;
    let Some(rule) = version
        .rules
        .rules
        .iter()
        .find(|r| r.enabled && r.kind == gongjian_alarms::RuleKind::TreatmentOff)
    else {
        return Ok(TreatmentScreen::default());
    };
    let names: std::collections::HashMap<i64, String> =
        sites.iter().map(|s| (s.id, s.name.clone())).collect();
    let from = cst::day_start_utc(first);
    let to = cst::day_start_utc(last) + 86_400;
    let links = crate::power::treatment_links(db, from, to, &names).await?;
    let serves = |l: &gongjian_alarms::power::TreatmentLink| -> Vec<i64> {
        l.production.iter().map(|m| m.site_id).collect()
    };
    Ok(TreatmentScreen {
        served: links
            .iter()
            .map(|l| {
                (
                    serves(l),
                    l.treatment.hours.iter().map(|h| h.start).collect(),
                )
            })
            .collect(),
        episodes: gongjian_alarms::power::treatment_screens(rule, &links)
            .into_iter()
            .filter_map(|(treatment, e)| {
                let link = links.iter().find(|l| l.treatment.site_id == treatment)?;
                Some((serves(link), e))
            })
            .collect(),
    })
}

/// Whether the treatment circuits serving any of `meters` ran on `day`
/// while production ran: met without a 治污设施未同步运行 hour, not met
/// with the hours (each counted once, however many circuits were off),
/// 无法核查 when a circuit's meter has less than 18 hours of data (a
/// meter that sends nothing must not pass); `None` when no treatment
/// circuit serves them.
fn treatment_check(screen: &TreatmentScreen, meters: &[i64], day: NaiveDate) -> Option<Check> {
    let serves_mine = |serves: &Vec<i64>| serves.iter().any(|m| meters.contains(m));
    let from = cst::day_start_utc(day);
    let to = from + 86_400;
    let mut any = false;
    for (serves, hours) in &screen.served {
        if !serves_mine(serves) {
            continue;
        }
        any = true;
        let covered = hours.iter().filter(|&&h| h >= from && h < to).count();
        if covered < 18 {
            return Some(Check::Unverifiable {
                why: format!("治污设施用电监控当日仅有 {covered} 小时数据，无法核查是否同步运行"),
            });
        }
    }
    if !any {
        return None;
    }
    let mut off = std::collections::BTreeSet::new();
    for (_, e) in screen
        .episodes
        .iter()
        .filter(|(serves, _)| serves_mine(serves))
    {
        let mut h = e.started_at.max(from);
        while h <= e.last_at && h < to {
            off.insert(h);
            h += 3600;
        }
    }
    Some(if off.is_empty() {
        Check::Met
    } else {
        Check::NotMet {
            actual_ratio: Decimal::from(off.len() as u64),
        }
    })
}

/// The sites of `ids` (an enterprise's meters or stacks) that serve a
/// list row's production line `line`: when the row names a line and any of
/// them is tied to a line, those tied to it (possibly none); otherwise
/// `None`, and the caller takes them all as the whole plant's.
pub(crate) fn on_line(
    ids: &[i64],
    lines: &std::collections::BTreeMap<i64, String>,
    line: Option<&str>,
) -> Option<Vec<i64>> {
    let line = line.map(str::trim).filter(|l| !l.is_empty())?;
    if !ids.iter().any(|id| lines.contains_key(id)) {
        return None;
    }
    Some(
        ids.iter()
            .copied()
            .filter(|id| lines.get(id).is_some_and(|l| l == line))
            .collect(),
    )
}

/// The production meters among `own_sites`: treatment circuits must keep
/// running under an order, so only production (and not yet classified)
/// meters measure the load that is cut.
pub(crate) fn production_meters(
    own_sites: &[&gongjian_storage::Site],
    circuits: &std::collections::BTreeMap<i64, gongjian_storage::CircuitRecord>,
) -> Vec<i64> {
    own_sites
        .iter()
        .filter(|s| {
            s.kind == "power"
                && !circuits
                    .get(&s.id)
                    .is_some_and(|c| c.circuit == Circuit::Treatment)
        })
        .map(|s| s.id)
        .collect()
}

pub(crate) fn in_any_warning(warnings: &[Warning], day: NaiveDate) -> bool {
    warnings
        .iter()
        .any(|w| w.starts_on <= day && w.ends_on.is_none_or(|e| day <= e))
}

/// The day's checks in words: the ones that failed or could not be made,
/// each named ("二氧化硫排放量减少 12.5%，低于要求的 20%"), or, when all
/// were met, what was met.
fn checks_detail(checks: &[(String, Check)], allowed: Option<Decimal>) -> String {
    let pct = |d: Decimal| d.normalize().to_string();
    let allowed_text = allowed.map_or("—".into(), pct);
    let says = |what: &str, check: &Check| -> String {
        match (what, check) {
            ("用电", Check::Met) => format!("用电不超过基准的 {allowed_text}%"),
            ("治污设施", Check::Met) => "治污设施与产污设施同步运行".to_owned(),
            ("治污设施", Check::NotMet { actual_ratio }) => {
                format!("产污设施运行期间治污设施停运 {} 小时", pct(*actual_ratio))
            }
            ("用电", Check::NotMet { actual_ratio }) => format!(
                "用电为基准的 {}%，超过允许的 {allowed_text}%",
                pct(*actual_ratio)
            ),
            (w, Check::Met) if w.ends_with("排放量") => format!("{w}减排达到要求"),
            (w, Check::NotMet { actual_ratio }) if w.ends_with("排放量") => {
                format!("{w}仅减少 {}%，未达到要求", pct(*actual_ratio))
            }
            (w, Check::Met) => format!("{w}未超标"),
            (w, Check::NotMet { actual_ratio }) => {
                format!("{w}最高为限值的 {}%，超标", pct(*actual_ratio))
            }
            (w, Check::Unverifiable { why }) if w == "用电" || w == "核查" || w == "治污设施" => {
                why.clone()
            }
            (w, Check::Unverifiable { why }) => format!("{w}：{why}"),
        }
    };
    let open: Vec<String> = checks
        .iter()
        .filter(|(_, c)| !matches!(c, Check::Met))
        .map(|(w, c)| says(w, c))
        .collect();
    if open.is_empty() {
        checks
            .iter()
            .map(|(w, c)| says(w, c))
            .collect::<Vec<_>>()
            .join("；")
    } else {
        open.join("；")
    }
}

/// One day's electricity use over all of `meters` (kWh); `None` when any
/// meter's day cannot be measured.
pub(crate) async fn day_energy(
    db: &Db,
    meters: &[i64],
    day: NaiveDate,
) -> Result<Option<Decimal>, StorageError> {
    let from = cst::day_start_utc(day);
    span_energy(db, meters, from, from + 86_400, daily_energy).await
}

/// The electricity use over all of `meters` in `[from, to)` (Unix
/// seconds), each meter's readings of the span (and the counter's reading
/// at `to`, which closes it) made into kWh by `energy`; `None` when there
/// is no meter or any meter's span cannot be measured.
pub(crate) async fn span_energy(
    db: &Db,
    meters: &[i64],
    from: i64,
    to: i64,
    energy: impl Fn(&[MeterReading]) -> Option<Decimal>,
) -> Result<Option<Decimal>, StorageError> {
    if meters.is_empty() {
        return Ok(None);
    }
    let mut total = Decimal::ZERO;
    for &site in meters {
        let mut readings = Vec::new();
        for kind in ["rtd", "min", "hour"] {
            let counter = db
                .monitoring()
                .series_points(site, ENERGY_FACTOR, kind, from, to + 1)
                .await?;
            let power = db
                .monitoring()
                .series_points(site, POWER_FACTOR, kind, from, to)
                .await?;
            for p in &counter {
                readings.push(MeterReading {
                    at: p.period_start,
                    power_kw: None,
                    energy_kwh: p.value.as_deref().and_then(|v| v.parse().ok()),
                });
            }
            for p in &power {
                readings.push(MeterReading {
                    at: p.period_start,
                    power_kw: p.value.as_deref().and_then(|v| v.parse().ok()),
                    energy_kwh: None,
                });
            }
        }
        match energy(&merge(readings)) {
            Some(e) => total += e,
            None => return Ok(None),
        }
    }
    Ok(Some(total))
}

/// Readings of the same instant joined into one (counter and power).
fn merge(mut readings: Vec<MeterReading>) -> Vec<MeterReading> {
    readings.sort_by_key(|r| r.at);
    let mut out: Vec<MeterReading> = Vec::with_capacity(readings.len());
    for r in readings {
        match out.last_mut() {
            Some(last) if last.at == r.at => {
                last.power_kw = last.power_kw.or(r.power_kw);
                last.energy_kwh = last.energy_kwh.or(r.energy_kwh);
            }
            _ => out.push(r),
        }
    }
    out
}

/// How many days after its end a warning is still verified by the job:
/// a logger's backlog can arrive days late and turn 无法核查 into a verdict.
pub const VERIFY_AFTER_END_DAYS: i64 = 7;

/// The verification job's run: every warning that has a day before `today`
/// and ended at most [`VERIFY_AFTER_END_DAYS`] ago is verified, and an
/// enterprise with a 未落实 day gets its 督办 case (once per warning, as
/// [`open_cases`] guarantees). Returns the ids of the cases opened.
pub async fn run_verification(db: &Db, today: NaiveDate) -> Result<Vec<i64>, AppError> {
    let actor = Actor::system("emergency");
    let mut opened = Vec::new();
    for w in db.emergency().warnings().await? {
        let judged_yet = w.starts_on < today;
        let recent = w
            .ends_on
            .is_none_or(|end| end + Duration::days(VERIFY_AFTER_END_DAYS) >= today);
        if !(judged_yet && recent) {
            continue;
        }
        // One warning that cannot be verified (a corrupt list row) must
        // not stop the others every hour.
        match verify_warning(db, w.id, today).await {
            Ok(v) => opened.extend(open_cases(db, &actor, &v, today).await?),
            Err(e) => tracing::warn!(warning = w.id, error = %e, "emergency verification failed"),
        }
    }
    match season::run_verification(db, &actor, today).await {
        Ok(cases) => opened.extend(cases),
        Err(e) => tracing::warn!(error = %e, "season verification failed"),
    }
    Ok(opened)
}

/// Days to carry out a case opened for a failed verification.
const CASE_DAYS: i64 = 3;

/// Open one 督办 case per enterprise with a 未落实 day in `v` (the days and
/// their figures in its description), unless the warning already has one
/// for that enterprise. Returns the ids of the cases opened.
pub async fn open_cases(
    db: &Db,
    actor: &Actor,
    v: &WarningVerification,
    today: NaiveDate,
) -> Result<Vec<i64>, AppError> {
    let mut failed: Vec<(&str, Vec<String>)> = Vec::new();
    for d in v
        .days
        .iter()
        .filter(|d| d.verdict == Verdict::NotImplemented)
    {
        let line = format!("{}：{}，{}", d.day, d.measure, d.detail);
        match failed.iter_mut().find(|(e, _)| *e == d.enterprise) {
            Some((_, days)) => days.push(line),
            None => failed.push((&d.enterprise, vec![line])),
        }
    }
    open_enterprise_cases(
        db,
        actor,
        &EnterpriseCases {
            rule: format!("emergency-{}", v.warning.id),
            title: format!("{}预警期间未落实应急减排措施", v.level_label),
            heading: format!(
                "预警 #{}（{}）用电核查未落实：",
                v.warning.id, v.warning.document_number
            ),
        },
        failed,
        today,
    )
    .await
}

/// The 督办 cases a verification opens: one per enterprise and `rule`.
pub(crate) struct EnterpriseCases {
    /// Marks the cases of one warning (or season list and month), so a
    /// second run opens none.
    pub rule: String,
    pub title: String,
    /// The description's first line; the failed days follow.
    pub heading: String,
}

/// Open a case for each enterprise of `failed` (its name and the lines of
/// its failed days) that has no case with the same rule yet.
pub(crate) async fn open_enterprise_cases(
    db: &Db,
    actor: &Actor,
    cases: &EnterpriseCases,
    failed: Vec<(&str, Vec<String>)>,
    today: NaiveDate,
) -> Result<Vec<i64>, AppError> {
    let orgs = db.organisations().list().await?;
    let existing = db.cases().list(&CaseFilter::default()).await?;
    let mut opened = Vec::new();
    for (enterprise, lines) in failed {
        let Some(org) = orgs.iter().find(|o| o.name == enterprise) else {
            continue;
        };
        if existing
            .iter()
            .any(|c| c.organisation_id == org.id && c.rule.as_deref() == Some(cases.rule.as_str()))
        {
            continue;
        }
        let id = db
            .cases()
            .create_case(
                actor,
                &NewCase {
                    title: cases.title.clone(),
                    source: "emergency".into(),
                    category: "应急减排".into(),
                    severity: gongjian_alarms::Severity::Major,
                    description: format!("{}\n{}", cases.heading, lines.join("\n")),
                    site_id: None,
                    alarm_id: None,
                    rule: Some(cases.rule.clone()),
                    factor: None,
                    organisation_id: org.id,
                    township_id: None,
                    due_on: today + Duration::days(CASE_DAYS),
                    contact: None,
                    longitude: None,
                    latitude: None,
                    attachments: Vec::new(),
                },
            )
            .await?;
        opened.push(id);
    }
    Ok(opened)
}

/// What one enterprise must do under a warning: each of its list entries
/// (production lines) with the measure of the warning's level, as issued.
#[derive(Debug, Clone, Serialize)]
pub struct OwnMeasure {
    pub production_line: Option<String>,
    /// 停产 / 限产 / 错峰生产; `None`: nothing required at this level.
    pub kind: Option<&'static str>,
    /// The measure as the list words it.
    pub text: String,
    pub load_limit_pct: Option<Decimal>,
    pub stagger_hours: Option<String>,
}

/// The measures of `enterprise` (the organisation's name as in the list)
/// at `level` in the list in force; empty when it is not listed.
pub async fn measures_of(
    db: &Db,
    enterprise: &str,
    level: &str,
) -> Result<Vec<OwnMeasure>, AppError> {
    let Some(level) = WarningLevel::parse(level) else {
        return Ok(Vec::new());
    };
    let Some((_, entries)) = db.emergency().emergency_list_in_force().await? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for stored in entries.into_iter().filter(|e| e.enterprise == enterprise) {
        let entry: ListEntry = serde_json::from_value(stored.entry)
            .map_err(|e| StorageError::Corrupt(format!("emergency entry: {e}")))?;
        let measure = entry.measure(level).filter(|_| !entry.needs_no_measures());
        out.push(OwnMeasure {
            production_line: entry.production_line.clone(),
            kind: measure.map(|m| m.kind.label()),
            text: measure.map_or_else(
                || "本级别无强制减排措施（可自主减排）".to_owned(),
                |m| m.text.clone(),
            ),
            load_limit_pct: measure.and_then(|m| m.load_limit_pct),
            stagger_hours: measure.and_then(|m| m.stagger_hours.clone()),
        });
    }
    Ok(out)
}
