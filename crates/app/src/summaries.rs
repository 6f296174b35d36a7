//! What the office checks every morning and every month beside the air
//! targets: water sections against their target class (from section data),
//! exceedance hours of monitored sources, each organisation's tasks, and
//! device health. Shared by 总览, 水 and the 月调度 report.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use gongjian_campaign::Campaign;
use gongjian_standards::cst::{self, day_start_utc, hour_end_local};
use gongjian_standards::emission::{self, Flag, Thresholds};
use gongjian_standards::exact::round_keeping_order;
use gongjian_standards::water::{self, Item, Measurement, Sample, SectionData, WaterBody};
use gongjian_storage::{AssignmentMonth, Db, DeviceHealth, LimitedHour, Site, StorageError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::targets::month_end;

// ---------------------------------------------------------------- water

/// One annex section against its target class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionStatus {
    pub number: u32,
    pub township: String,
    pub river: String,
    pub section: String,
    pub basin: String,
    pub target: String,
    /// The monitoring site whose data are used, if one is registered.
    pub site: Option<String>,
    /// Class of the month's mean (Ⅰ…劣Ⅴ), if the month has valid data.
    pub month_class: Option<String>,
    /// Class of the year-to-date mean of monthly means.
    pub ytd_class: Option<String>,
    /// Year to date at or better than the target.
    pub compliant: Option<bool>,
    /// Items worse than the target (year to date), e.g. "氨氮 1.32（Ⅳ类，超标0.32倍）".
    pub failing: Vec<String>,
    /// Valid daily values used year to date.
    pub samples: usize,
    pub note: String,
}

/// The site measuring a plan section: a 地表水断面 whose name contains the
/// section's name (site codes are the city's, section names the plan's).
pub fn section_site<'a>(sites: &'a [Site], section: &str) -> Option<&'a Site> {
    sites
        .iter()
        .find(|s| s.kind == "surface_water" && s.name.contains(section))
}

/// Daily values with a valid flag become the section's samples (22号: the
/// monthly value is the mean of the month's monitoring results; an
/// automatic station's valid daily means are those results).
fn section_samples(rows: &[(String, gongjian_storage::SeriesPoint)]) -> Vec<Sample> {
    let th = Thresholds::default();
    let mut by_day: BTreeMap<i64, water::Values> = BTreeMap::new();
    for (factor, p) in rows {
        let Some((item, scale)) = Item::from_hj212(factor) else {
            continue;
        };
        let valid = Flag::from_str(&p.flag).is_ok_and(|f| th.flag_valid(f));
        let value = p
            .value
            .as_deref()
            .and_then(|v| Decimal::from_str(v.trim()).ok());
        if let (true, Some(v)) = (valid, value) {
            by_day
                .entry(p.period_start)
                .or_default()
                .insert(item, Measurement::new(v * scale));
        }
    }
    by_day
        .into_iter()
        .map(|(start, values)| Sample {
            // The day's local date at noon: only the calendar month matters.
            time: hour_end_local(start + 11 * 3600),
            values,
        })
        .collect()
}

/// Daily values of a section's GB 3838 factors, one factor at a time so
/// each read is a primary-key range (a site's minute data are far larger).
async fn section_days(
    db: &Db,
    site_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<(String, gongjian_storage::SeriesPoint)>, StorageError> {
    let mut out = Vec::new();
    for f in db.monitoring().site_factors(site_id).await? {
        if Item::from_hj212(&f.factor).is_none() {
            continue;
        }
        for p in db
            .monitoring()
            .series_points(site_id, &f.factor, "day", from, to)
            .await?
        {
            out.push((f.factor.clone(), p));
        }
    }
    Ok(out)
}

fn failing_text(f: &water::FailingItem) -> String {
    let mut s = format!(
        "{} {}（{}类",
        f.item.name_zh(),
        f.value.normalize(),
        f.class.label()
    );
    if let Some(m) = f.multiple {
        s.push_str(&format!("，超标{m}倍"));
    }
    s.push('）');
    s
}

/// Every annex section of `plan` for `year` through the end of `month`.
pub async fn section_statuses(
    db: &Db,
    plan: &Campaign,
    year: i32,
    month: u32,
) -> Result<Vec<SectionStatus>, StorageError> {
    let sites = db.monitoring().sites().await?;
    let from = NaiveDate::from_ymd_opt(year, 1, 1).map_or(0, day_start_utc);
    let to = NaiveDate::from_ymd_opt(year, month, 1)
        .map(month_end)
        .and_then(|d| d.succ_opt())
        .map_or(i64::MAX, day_start_utc);
    let mut out = Vec::with_capacity(plan.sections.len());
    for s in &plan.sections {
        let site = section_site(&sites, &s.section);
        let samples = match site {
            Some(site) => section_samples(&section_days(db, site.id, from, to).await?),
            None => Vec::new(),
        };
        let data = SectionData {
            section: s.section.clone(),
            water_body: WaterBody::River,
            target: Some(s.target_class),
            samples,
        };
        let m = water::evaluate_month(&data, year, month);
        let ytd = water::evaluate_year_to_date(&data, year, month);
        let compliance = ytd.as_ref().and_then(|y| y.assessment.target.as_ref());
        let note = match (site, &ytd) {
            (None, _) => "未登记监测断面".to_owned(),
            (Some(_), None) => "暂无有效日均值".to_owned(),
            (Some(_), Some(y)) => format!("{} 个月、{} 个有效日", y.months, y.samples),
        };
        out.push(SectionStatus {
            number: s.number,
            township: s.township.clone(),
            river: s.river.clone(),
            section: s.section.clone(),
            basin: s.basin.clone(),
            target: s.target_class.label().to_owned(),
            site: site.map(|x| x.name.clone()),
            month_class: m
                .and_then(|m| m.assessment.class)
                .map(|c| c.label().to_owned()),
            ytd_class: ytd
                .as_ref()
                .and_then(|y| y.assessment.class)
                .map(|c| c.label().to_owned()),
            compliant: compliance.map(|c| c.compliant),
            failing: compliance
                .map(|c| c.failing.iter().map(failing_text).collect())
                .unwrap_or_default(),
            samples: data.samples.len(),
            note,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- exceedances

/// Exceedance hours of one factor at one site over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exceedance {
    pub site_id: i64,
    pub site: String,
    pub site_code: String,
    pub site_kind: String,
    pub enterprise: Option<String>,
    pub factor: String,
    pub factor_name: String,
    pub unit: String,
    pub limit: String,
    /// Valid hours (flag N) in the period.
    pub valid_hours: u32,
    /// Valid hours whose (converted) value is above the limit.
    pub hours_over: u32,
    /// The largest value of those hours and its multiple (C − L)/L.
    pub max_value: Option<String>,
    pub max_multiple: Option<String>,
    /// Beijing time of the last hour over the limit.
    pub last_over: Option<String>,
}

/// Judge hourly values against their site limits (HJ 75: only valid hours
/// count; the converted concentration where one exists, as the limit is
/// set on it). Sites/factors with no exceedance are left out; the worst
/// first (most hours, then largest multiple).
///
/// The stored value is judged whole, never rounded: the platform's rollups
/// store each hourly mean with the decimals that decide the comparison with
/// the limit as the exact mean of the minutes would
/// (`gongjian_standards::exact::decisive_mean`), and the multiple is
/// rounded half-even from the exact (C − L)/L. Only the largest value is
/// shown rounded, to four decimals or as many more as keep it above the
/// limit.
pub fn exceedances(hours: &[LimitedHour]) -> Vec<Exceedance> {
    let th = Thresholds::default();
    let mut by_key: BTreeMap<(i64, &str), (Exceedance, Decimal)> = BTreeMap::new();
    for h in hours {
        let Ok(limit) = Decimal::from_str(h.limit_value.trim()) else {
            continue;
        };
        let e = by_key
            .entry((h.site_id, h.factor.as_str()))
            .or_insert_with(|| {
                (
                    Exceedance {
                        site_id: h.site_id,
                        site: h.site_name.clone(),
                        site_code: h.site_code.clone(),
                        site_kind: gongjian_storage::site_kind_label(&h.site_kind).to_owned(),
                        enterprise: h.organisation.clone(),
                        factor: h.factor.clone(),
                        factor_name: h.factor_name.clone(),
                        unit: h.unit.clone(),
                        limit: h.limit_value.clone(),
                        valid_hours: 0,
                        hours_over: 0,
                        max_value: None,
                        max_multiple: None,
                        last_over: None,
                    },
                    Decimal::MIN,
                )
            });
        if !Flag::from_str(&h.flag).is_ok_and(|f| th.flag_valid(f)) {
            continue;
        }
        let judged = h.converted.as_deref().or(h.value.as_deref());
        let Some(v) = judged.and_then(|v| Decimal::from_str(v.trim()).ok()) else {
            continue;
        };
        e.0.valid_hours += 1;
        if let Some(multiple) = emission::exceedance(v, limit) {
            e.0.hours_over += 1;
            e.0.last_over = Some(cst::local_text(h.period_start + 3600));
            if v > e.1 {
                e.1 = v;
                e.0.max_value = Some(round_keeping_order(v, limit, 4).to_string());
                e.0.max_multiple = Some(multiple.to_string());
            }
        }
    }
    let mut out: Vec<Exceedance> = by_key
        .into_values()
        .map(|(e, _)| e)
        .filter(|e| e.hours_over > 0)
        .collect();
    let multiple = |e: &Exceedance| {
        e.max_multiple
            .as_deref()
            .and_then(|m| Decimal::from_str(m).ok())
            .unwrap_or_default()
    };
    out.sort_by(|a, b| {
        b.hours_over
            .cmp(&a.hours_over)
            .then_with(|| multiple(b).cmp(&multiple(a)))
            .then_with(|| a.site.cmp(&b.site))
    });
    out
}

// ---------------------------------------------------------------- tasks

/// One organisation's assignments in a month (月调度: 任务调度).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrganisationTasks {
    pub organisation: String,
    pub kind: String,
    pub assignments: u32,
    /// Assignments whose task has a milestone in the month.
    pub due: u32,
    pub done: u32,
    pub overdue: u32,
    /// Reports returned to the organisation in the month.
    pub returned: u32,
}

/// Count assignments per organisation; organisations with overdue work
/// first, then by name.
pub fn tasks_by_organisation(rows: &[AssignmentMonth]) -> Vec<OrganisationTasks> {
    let mut by_org: BTreeMap<&str, OrganisationTasks> = BTreeMap::new();
    for r in rows {
        let e = by_org
            .entry(r.organisation.as_str())
            .or_insert_with(|| OrganisationTasks {
                organisation: r.organisation.clone(),
                kind: r.organisation_kind.clone(),
                ..Default::default()
            });
        e.assignments += 1;
        e.due += u32::from(r.due_in_month);
        e.done += u32::from(r.status == "done");
        e.overdue += u32::from(r.status == "overdue");
        e.returned += u32::try_from(r.returned_in_month).unwrap_or(0);
    }
    let mut out: Vec<OrganisationTasks> = by_org.into_values().collect();
    out.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then_with(|| a.organisation.cmp(&b.organisation))
    });
    out
}

/// Tasks per organisation for the calendar month of `month`.
pub async fn month_tasks(
    db: &Db,
    month: NaiveDate,
) -> Result<Vec<OrganisationTasks>, StorageError> {
    let first = month.with_day(1).unwrap_or(month);
    let last = month_end(first);
    let rows = db
        .summaries()
        .assignments_in_month(
            &first.to_string(),
            &last.to_string(),
            day_start_utc(first),
            last.succ_opt().map_or(i64::MAX, day_start_utc),
        )
        .await?;
    Ok(tasks_by_organisation(&rows))
}

// ---------------------------------------------------------------- devices

/// One data logger's health today.
#[derive(Debug, Clone, Serialize)]
pub struct HealthRow {
    #[serde(flatten)]
    pub device: DeviceHealth,
    pub online: bool,
    /// Last frame time, Beijing time, or "—".
    pub last_frame: String,
    /// Percent, one decimal: minute periods received / expected so far today.
    pub transmission_rate: Option<String>,
    /// Percent: minute values flagged N / received today.
    pub valid_rate: Option<String>,
}

fn pct(num: i64, den: i64) -> Option<String> {
    (den > 0).then(|| format!("{:.1}", (num as f64 * 100.0 / den as f64).min(100.0)))
}

/// Every logger's health at `now` (Unix s): online when a frame arrived
/// within three minute-intervals (at least 5 minutes); rates over the local
/// day so far, and for a logger registered today only over the time since
/// it was registered (no data are due before).
pub async fn health_rows(db: &Db, now: i64) -> Result<Vec<HealthRow>, StorageError> {
    let day = cst::local_day_start(now);
    let rows = db.monitoring().device_health(day).await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            let window = (d.min_interval * 180).max(300);
            let online = d.last_frame_at.is_some_and(|t| now - t <= window);
            let from = day.max(d.registered_at);
            let expected = (now - from).max(0) / (d.min_interval.max(1) * 60);
            HealthRow {
                online,
                last_frame: d
                    .last_frame_at
                    .map_or_else(|| "—".to_owned(), cst::local_text),
                transmission_rate: pct(d.minute_periods_today, expected),
                valid_rate: pct(d.minute_values_valid_today, d.minute_values_today),
                device: d,
            }
        })
        .collect())
}

/// Device health in one line for the overview.
#[derive(Debug, Clone, Serialize)]
pub struct HealthSummary {
    pub devices: usize,
    pub online: usize,
    /// Offline devices: site name and last frame.
    pub offline: Vec<(String, String)>,
    /// Mean of today's transmission rates, percent, one decimal.
    pub transmission_rate: Option<String>,
    pub valid_rate: Option<String>,
}

fn mean_pct<'a>(rates: impl Iterator<Item = &'a Option<String>>) -> Option<String> {
    let v: Vec<f64> = rates.flatten().filter_map(|r| r.parse().ok()).collect();
    (!v.is_empty()).then(|| format!("{:.1}", v.iter().sum::<f64>() / v.len() as f64))
}

pub fn health_summary(rows: &[HealthRow]) -> HealthSummary {
    HealthSummary {
        devices: rows.len(),
        online: rows.iter().filter(|r| r.online).count(),
        offline: rows
            .iter()
            .filter(|r| !r.online)
            .map(|r| (r.device.site_name.clone(), r.last_frame.clone()))
            .collect(),
        transmission_rate: mean_pct(rows.iter().map(|r| &r.transmission_rate)),
        valid_rate: mean_pct(rows.iter().map(|r| &r.valid_rate)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hour(site: i64, factor: &str, limit: &str, conv: Option<&str>, flag: &str) -> LimitedHour {
        LimitedHour {
            site_id: site,
            site_code: format!("S{site}"),
            site_name: format!("排口{site}"),
            site_kind: "stack_gas".into(),
            organisation: Some("热电".into()),
            factor: factor.into(),
            factor_name: factor.into(),
            unit: "mg/m³".into(),
            limit_value: limit.into(),
            period_start: 1_600_000_000,
            value: Some("1".into()),
            converted: conv.map(str::to_owned),
            flag: flag.into(),
        }
    }

    #[test]
    fn only_valid_hours_above_the_limit_count_and_the_multiple_is_exact() {
        let hours = [
            hour(1, "a21026", "35", Some("35"), "N"), // at the limit: not over
            hour(1, "a21026", "35", Some("52.5"), "N"), // 0.5 times over
            hour(1, "a21026", "35", Some("70"), "C"), // calibration: not counted
            hour(1, "a21026", "35", Some("40"), "N"),
            hour(2, "a34013", "10", Some("9"), "N"),
        ];
        let e = exceedances(&hours);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].valid_hours, 3);
        assert_eq!(e[0].hours_over, 2);
        assert_eq!(e[0].max_value.as_deref(), Some("52.5"));
        assert_eq!(e[0].max_multiple.as_deref(), Some("0.5"));
    }

    #[test]
    fn a_value_just_over_the_limit_is_over_and_shown_above_it() {
        let hours = [
            hour(1, "a21026", "35", Some("35.000048"), "N"),
            hour(1, "a21026", "35", Some("35"), "N"),
            hour(2, "a21002", "3.3333", Some("3.33333"), "N"),
            hour(3, "a34013", "35", Some("35.175"), "N"),
        ];
        let e = exceedances(&hours);
        let of = |f: &str| e.iter().find(|x| x.factor == f).unwrap();
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(of("a21026").hours_over, 1);
        assert_eq!(of("a21026").max_value.as_deref(), Some("35.00005"));
        assert_eq!(of("a21026").max_multiple.as_deref(), Some("0"));
        assert_eq!(of("a21002").max_value.as_deref(), Some("3.33333"));
        // Exactly 0.005 times over: half-even to 0.
        assert_eq!(of("a34013").max_multiple.as_deref(), Some("0"));
    }

    #[test]
    fn organisations_with_overdue_work_come_first() {
        let row = |org: &str, status: &str, due: bool, returned: i64| AssignmentMonth {
            organisation: org.into(),
            organisation_kind: "department".into(),
            status: status.into(),
            due_in_month: due,
            returned_in_month: returned,
        };
        let t = tasks_by_organisation(&[
            row("甲局", "done", true, 0),
            row("乙局", "overdue", true, 1),
            row("乙局", "in_progress", false, 0),
        ]);
        assert_eq!(t[0].organisation, "乙局");
        assert_eq!(
            (t[0].assignments, t[0].due, t[0].overdue, t[0].returned),
            (2, 1, 1, 1)
        );
        assert_eq!((t[1].done, t[1].due), (1, 1));
    }

    // ------------------------------------------ from minute data to judgement

    use gongjian_alarms::{FactorHours, Hour, RuleSet, SiteHours, screens};
    use gongjian_storage::on_both_backends;
    use gongjian_storage::testing::TestDb;
    use gongjian_storage::{Actor, Device, IngestBatch, NewSite, SeriesValue, SiteFactor, Upload};

    /// 2024-01-02 08:00 in Beijing.
    const H: i64 = 1_704_153_600;

    on_both_backends!(hours_rolled_up_from_minutes_are_judged_as_their_exact_means);
    /// Issue 13 item 24: one-minute data rolled up into stored hours, then
    /// judged by the exceedance hours (总览, 月调度) and the hourly
    /// exceedance screen as the exact means of the minutes are. Four
    /// decimals stored 35.0000483… as 35 and 10/3 as 3.3333: neither was over.
    async fn hours_rolled_up_from_minutes_are_judged_as_their_exact_means(t: TestDb) {
        let db = &t.db;
        let actor = Actor::cli();
        let site = db
            .monitoring()
            .create_site(
                &actor,
                &NewSite {
                    code: "S01".into(),
                    name: "1号锅炉排口".into(),
                    kind: "stack_gas".into(),
                    ..NewSite::default()
                },
            )
            .await
            .unwrap();
        let mut device = Device::new("MN0001", "123456", site.id);
        device.min_interval = 1;
        db.monitoring()
            .upsert_device(&actor, &device)
            .await
            .unwrap();
        let limited = |factor: &str, limit: &str| SiteFactor {
            factor: factor.into(),
            name: factor.into(),
            unit: "mg/m³".into(),
            limit_value: Some(limit.into()),
        };
        db.monitoring()
            .set_site_factors(
                &actor,
                site.id,
                &[
                    // 59 minutes at 35, one at 35.0029: 35.0000483… > 35.
                    limited("a21026", "35"),
                    // 34 and 36 alternating: exactly 35, not over.
                    limited("a21002", "35"),
                    // 40 minutes at 3, 20 at 4: 10/3 > 3.3333.
                    limited("a34013", "3.3333"),
                ],
            )
            .await
            .unwrap();
        let minute = |m: i64| {
            let value = |factor: &str, v: &str| SeriesValue {
                factor: factor.into(),
                kind: "min",
                period_start: H + m * 60,
                value: Some(v.into()),
                converted: None,
                flag: "N".into(),
            };
            Upload {
                mn: "MN0001".into(),
                cn: "2051".into(),
                datatime: (H + m * 60).to_string(),
                pno: 0,
                site_id: site.id,
                values: vec![
                    value("a21026", if m < 59 { "35" } else { "35.0029" }),
                    value("a21002", if m % 2 == 0 { "34" } else { "36" }),
                    value("a34013", if m < 40 { "3" } else { "4" }),
                ],
            }
        };
        db.monitoring()
            .commit_ingest(&IngestBatch {
                uploads: (0..60).map(minute).collect(),
                ..IngestBatch::default()
            })
            .await
            .unwrap();
        gongjian_ingest::run_rollups(db).await.unwrap();

        // The exceedance hours, from the stored hours.
        let hours = db.summaries().limited_hours(H, H + 3600).await.unwrap();
        assert_eq!(hours.len(), 3, "{hours:?}");
        let e = exceedances(&hours);
        let over: Vec<(&str, u32, u32)> = e
            .iter()
            .map(|x| (x.factor.as_str(), x.valid_hours, x.hours_over))
            .collect();
        assert_eq!(over, [("a21026", 1, 1), ("a34013", 1, 1)], "{e:?}");
        assert_eq!(e[0].max_value.as_deref(), Some("35.00005"));
        assert_eq!(e[0].max_multiple.as_deref(), Some("0"));

        // The hourly exceedance screen, from the same stored rows.
        let mut rule = RuleSet::defaults()
            .rule("source_exceedance")
            .unwrap()
            .clone();
        rule.min_hours = 1;
        let factors = db
            .monitoring()
            .site_factors(site.id)
            .await
            .unwrap()
            .into_iter()
            .map(|f| FactorHours {
                limit: f.limit_value.as_deref().and_then(|l| l.parse().ok()),
                hours: Vec::new(),
                name: f.name,
                unit: f.unit,
                factor: f.factor,
                disagreements: Vec::new(),
            })
            .collect();
        let mut input = SiteHours {
            site_id: site.id,
            kind: "stack_gas".into(),
            factors,
            last_frame_at: None,
        };
        for h in db.alarms().hours_since(H).await.unwrap() {
            let f = input
                .factors
                .iter_mut()
                .find(|f| f.factor == h.factor)
                .unwrap();
            f.hours.push(Hour {
                start: h.point.period_start,
                value: h.point.value.as_deref().and_then(|v| v.parse().ok()),
                converted: h.point.converted.as_deref().and_then(|v| v.parse().ok()),
                flag: h.point.flag,
            });
        }
        let mut found: Vec<String> = screens::run(&rule, &input, H + 3600)
            .into_iter()
            .map(|e| e.factor)
            .collect();
        found.sort();
        assert_eq!(found, ["a21026", "a34013"]);
    }
}
