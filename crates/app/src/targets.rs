//! Target evaluation and rankings: every target of a plan measured from
//! the air data, the annex sections and the accepted progress reports,
//! through the standards engine and `gongjian-targets`. Nothing here
//! recomputes an AQI or a mean.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use gongjian_campaign::{Campaign, Comparator, Measure, Scope, Statistic};
use gongjian_standards::evaluation::DailyRecord;
use gongjian_storage::{AcceptedValue, Db, StorageError};
use gongjian_targets::air::{self, Allowance};
use gongjian_targets::ranking::{Ranking, Unit, rank_units};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::air::AirData;
use crate::summaries::{self, SectionStatus};

/// A measured figure: a count of days, or an exact decimal or a class
/// label kept as text (so "35.0" stays "35.0").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Figure {
    Count(i64),
    Text(String),
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Figure::Count(n) => write!(f, "{n}"),
            Figure::Text(s) => f.write_str(s),
        }
    }
}

impl Figure {
    fn decimal(d: Option<Decimal>) -> Option<Figure> {
        d.map(|d| Figure::Text(d.to_string()))
    }

    fn count(n: u32) -> Figure {
        Figure::Count(i64::from(n))
    }
}

/// Whether any allowance is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowanceState {
    Remaining,
    Lost,
}

impl AllowanceState {
    fn of(still_allowed: i64) -> AllowanceState {
        if still_allowed >= 0 {
            AllowanceState::Remaining
        } else {
            AllowanceState::Lost
        }
    }
}

/// What the rest of the year may still spend, per kind of target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetAllowance {
    /// An annual mean (PM2.5, PM10).
    Mean(Allowance),
    /// Good days: polluted days still allowed.
    GoodDays {
        state: AllowanceState,
        polluted_used: u32,
        undetermined: u32,
        days_remaining: u32,
        still_allowed_polluted: i64,
    },
    /// Heavy-pollution days still allowed against the baseline.
    HeavyDays {
        state: AllowanceState,
        still_allowed: i64,
    },
}

impl fmt::Display for TargetAllowance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetAllowance::Mean(a) => f.write_str(&allowance_of(a)),
            TargetAllowance::GoodDays {
                state: AllowanceState::Remaining,
                polluted_used,
                still_allowed_polluted,
                ..
            } => write!(
                f,
                "尚可超标 {still_allowed_polluted} 天（已超标 {polluted_used} 天）"
            ),
            TargetAllowance::HeavyDays {
                state: AllowanceState::Remaining,
                still_allowed,
            } => write!(f, "尚余 {still_allowed} 天"),
            TargetAllowance::GoodDays { .. } | TargetAllowance::HeavyDays { .. } => {
                f.write_str("已无余量")
            }
        }
    }
}

/// Shown instead of a figure when the baseline year's data cannot serve as
/// the baseline of a "fewer than that year" target and the plan states none.
fn no_baseline(year: i32) -> String {
    format!("无基准（方案未给出 {year} 年值，且 {year} 年有效监测天数不足 GB 3095 年统计要求）")
}

/// An annual-mean allowance in words (pages, sheets, the command line).
pub fn allowance_of(a: &Allowance) -> String {
    match a {
        Allowance::Remaining {
            days, max_average, ..
        } => format!("余下 {days} 天均值不超过 {max_average}"),
        Allowance::Lost { .. } => "已无余量".into(),
        Allowance::Final { met: true } => "全年已达标".into(),
        Allowance::Final { met: false } => "全年未达标".into(),
    }
}

/// One target's status (the `gongjian targets --json` row, the API's and
/// the 月调度 report's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetStatus {
    pub key: String,
    pub indicator: String,
    pub scope: String,
    pub comparator: String,
    pub value: Option<Decimal>,
    pub unit: String,
    pub measured: String,
    /// Month to date (air), latest month (water).
    pub current: Option<Figure>,
    pub ytd: Option<Figure>,
    pub last_year: Option<Figure>,
    pub on_track: Option<bool>,
    pub allowance: Option<TargetAllowance>,
    pub rules: Vec<String>,
    /// Last day counted.
    pub as_of: Option<NaiveDate>,
    /// Why a value is missing, or extra detail.
    pub note: Option<String>,
    /// The target as a reader takes it in: "≤ 62", "≥ 省目标要求",
    /// "< 2019 年值" (no figure is never printed as an empty "<").
    #[serde(default)]
    pub requirement: String,
}

/// A target's threshold as written for people.
fn requirement(t: &gongjian_campaign::Target) -> String {
    use gongjian_campaign::Comparator as C;
    let cmp = match t.comparator {
        C::Le => "≤",
        C::Lt => "<",
        C::Ge => "≥",
        C::Gt => ">",
        C::Eq => "=",
    };
    match t.threshold_text() {
        text if text.is_empty() => "—".to_owned(),
        text => format!("{cmp} {text}"),
    }
}

impl TargetStatus {
    /// 正常 / 滞后 / — for the on-track flag.
    pub fn progress_text(&self) -> &'static str {
        match self.on_track {
            Some(true) => "正常",
            Some(false) => "滞后",
            None => "—",
        }
    }

    /// The allowance in words, or the note when there is none.
    pub fn allowance_text(&self) -> String {
        self.allowance
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| self.note.clone())
            .unwrap_or_default()
    }

    /// Measured from monitoring data (not reported by an organisation).
    pub fn is_measured_from_data(&self) -> bool {
        self.measured.starts_with("data")
    }

    /// A water-section target.
    pub fn is_section(&self) -> bool {
        self.scope.starts_with("section")
    }
}

fn comparator_text(c: Comparator) -> &'static str {
    match c {
        Comparator::Le => "<=",
        Comparator::Lt => "<",
        Comparator::Ge => ">=",
        Comparator::Gt => ">",
        Comparator::Eq => "=",
    }
}

/// Every target of `plan` evaluated for `data.year` from `data`.
pub fn target_statuses(
    plan: &Campaign,
    data: &AirData,
    other: &OtherMeasures,
) -> Vec<TargetStatus> {
    plan.targets
        .iter()
        .map(|t| {
            let mut s = TargetStatus {
                key: t.key.clone(),
                indicator: t.indicator.clone(),
                scope: t.scope.to_string(),
                comparator: comparator_text(t.comparator).to_owned(),
                value: t.value,
                unit: t.unit.clone(),
                measured: t.measured.to_string(),
                current: None,
                ytd: None,
                last_year: None,
                on_track: None,
                allowance: None,
                rules: Vec::new(),
                as_of: data.as_of,
                note: None,
                requirement: requirement(t),
            };
            let days: Option<&[DailyRecord]> = match &t.scope {
                Scope::District => Some(&data.district),
                Scope::Township(n) => data.townships.get(n).map(Vec::as_slice),
                _ => None,
            };
            match (&t.measured, data.as_of, days) {
                (Measure::Reported, _, _) => reported_status(&mut s, t, &other.reported),
                (
                    Measure::Data {
                        statistic: Statistic::SectionClass,
                    },
                    _,
                    _,
                ) => section_status(&mut s, t, &other.sections),
                (Measure::Data { .. }, None, _) | (Measure::Data { .. }, _, None) => {
                    s.note = Some(format!("{} 年暂无空气质量数据", data.year));
                }
                (Measure::Data { statistic }, Some(as_of), Some(days)) => {
                    data_status(&mut s, t, statistic, days, as_of)
                }
            }
            s
        })
        .collect()
}

fn data_status(
    s: &mut TargetStatus,
    t: &gongjian_campaign::Target,
    statistic: &Statistic,
    days: &[DailyRecord],
    as_of: NaiveDate,
) {
    match statistic {
        Statistic::AnnualMean(p) => match (air::pollutant_named(p), t.value) {
            (Some(p), Some(v)) => {
                let r = air::annual_mean(days, p, v, as_of);
                s.current = Figure::decimal(r.current);
                s.ytd = Figure::decimal(r.ytd);
                s.last_year = Figure::decimal(r.last_year);
                s.on_track = r.on_track;
                s.allowance = Some(TargetAllowance::Mean(r.allowance));
                s.rules = r.rules.all();
                s.note = Some(format!("有效天数 {}", r.valid_days));
            }
            _ => s.note = Some(format!("无法计算的污染物 {p}")),
        },
        Statistic::GoodDays => {
            let target = t
                .value
                .and_then(|v| u32::try_from(v.trunc().mantissa()).ok())
                .unwrap_or(0);
            let g = air::good_days(days, target, as_of);
            s.current = Some(Figure::count(g.current));
            s.ytd = Some(Figure::count(g.ytd));
            s.last_year = Some(Figure::count(g.last_year));
            s.on_track = Some(g.on_track);
            s.allowance = Some(TargetAllowance::GoodDays {
                state: AllowanceState::of(g.still_allowed_polluted),
                polluted_used: g.polluted,
                undetermined: g.undetermined,
                days_remaining: g.days_remaining,
                still_allowed_polluted: g.still_allowed_polluted,
            });
            s.rules = g.rules.all();
        }
        Statistic::HeavyPollutionDays => {
            let baseline = match &t.baseline {
                Some(b) => air::HeavyBaseline {
                    year: b.year,
                    stated: b
                        .value
                        .and_then(|v| u32::try_from(v.trunc().mantissa()).ok()),
                },
                None => air::HeavyBaseline::previous_year(as_of),
            };
            let h = air::heavy_days(days, as_of, baseline);
            s.current = Some(Figure::count(h.current));
            s.ytd = Some(Figure::count(h.ytd));
            s.last_year = Some(Figure::count(h.last_year));
            s.on_track = h.on_track;
            s.value = h.baseline_total.map(Decimal::from);
            if h.baseline_total.is_none() {
                s.note = Some(no_baseline(h.baseline_year));
            } else if h.baseline_stated {
                s.note = Some(format!("基准为方案给出的 {} 年值", h.baseline_year));
            }
            if h.baseline_total == Some(0) {
                // Fewer than none is read as none (see heavy_days).
                s.comparator = "<=".to_owned();
            }
            s.allowance = h.still_allowed.map(|a| TargetAllowance::HeavyDays {
                state: AllowanceState::of(a),
                still_allowed: a,
            });
            s.rules = h.rules.all();
        }
        Statistic::SectionClass => {}
    }
}

/// What the targets not measured from air data need: the annex sections'
/// status and the indicator values of accepted progress reports.
#[derive(Debug, Clone, Default)]
pub struct OtherMeasures {
    pub sections: Vec<SectionStatus>,
    pub reported: Vec<AcceptedValue>,
}

/// [`OtherMeasures`] for `year` through `month`.
pub async fn other_measures(
    db: &Db,
    plan: &Campaign,
    year: i32,
    month: u32,
) -> Result<OtherMeasures, StorageError> {
    Ok(OtherMeasures {
        sections: summaries::section_statuses(db, plan, year, month).await?,
        reported: db.summaries().accepted_values(&plan.key).await?,
    })
}

/// The month a year's status runs through: the current month for this
/// year, December for a past year, January for a future one.
pub fn status_month(year: i32, today: NaiveDate) -> u32 {
    match year.cmp(&today.year()) {
        std::cmp::Ordering::Equal => today.month(),
        std::cmp::Ordering::Less => 12,
        std::cmp::Ordering::Greater => 1,
    }
}

/// A reported target: the latest value of a task indicator of the same
/// name accepted by the office in the same campaign, of the task the
/// target names (`task`) when it names one — the lead part's when
/// it reported one, else a cooperating part's. A plan is one campaign year,
/// and its year-end figures are accepted after the year ends, so acceptance
/// time does not select the year.
fn reported_status(
    s: &mut TargetStatus,
    t: &gongjian_campaign::Target,
    reported: &[AcceptedValue],
) {
    let named = |v: &&AcceptedValue| {
        v.indicator.trim() == t.indicator.trim()
            && t.task.as_deref().is_none_or(|task| v.task == task)
    };
    let latest = reported
        .iter()
        .filter(named)
        .find(|v| v.lead)
        .or_else(|| reported.iter().find(named));
    match latest {
        None => {
            s.note = Some("由责任单位报送（进度报告审核通过后计入），尚无通过审核的报送值".into())
        }
        Some(v) => {
            s.ytd = Some(Figure::Text(v.value.clone()));
            s.current = Some(Figure::Text(v.value.clone()));
            s.on_track = match (Decimal::from_str_exact(v.value.trim()), t.threshold()) {
                (Ok(actual), Some(target)) => Some(t.comparator.holds(actual, target)),
                _ => None,
            };
            let mut note = format!(
                "{} 报送，{} 审核通过",
                v.organisation,
                gongjian_standards::cst::local_text(v.accepted_at)
            );
            if let (None, Some(b)) = (t.threshold(), &t.baseline) {
                // Never judged against 0: the plan must state the figure.
                note.push_str(&format!("；无基准（方案未给出 {} 年值）", b.year));
            }
            s.note = Some(note);
        }
    }
}

/// A section-class target: the annex section's year-to-date class (mean
/// of monthly means) against the target class number.
fn section_status(s: &mut TargetStatus, t: &gongjian_campaign::Target, sections: &[SectionStatus]) {
    s.rules = vec![gongjian_standards::water::RULES.to_owned()];
    let Scope::Section(name) = &t.scope else {
        s.note = Some("断面类别目标须指定断面".into());
        return;
    };
    let Some(sec) = sections.iter().find(|x| &x.section == name) else {
        s.note = Some(format!("方案附件中没有断面 {name}"));
        return;
    };
    s.current = sec.month_class.clone().map(Figure::Text);
    s.ytd = sec.ytd_class.clone().map(Figure::Text);
    let number = |c: &str| {
        c.parse::<gongjian_campaign::WaterClass>()
            .ok()
            .map(|c| Decimal::from(c.number()))
    };
    s.on_track = match (sec.ytd_class.as_deref().and_then(number), t.value) {
        (Some(actual), Some(target)) => Some(t.comparator.holds(actual, target)),
        _ => None,
    };
    s.note = Some(if sec.failing.is_empty() {
        sec.note.clone()
    } else {
        format!("超标项目：{}", sec.failing.join("；"))
    });
}

// ---------------------------------------------------------------- rankings

/// Township and station rankings over a month and the year to date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rankings {
    pub townships_month: Ranking,
    pub townships_ytd: Ranking,
    pub stations_month: Ranking,
    pub stations_ytd: Ranking,
}

/// Rankings of townships and stations over the month of `month` and the
/// year to date, through the last day with data.
/// The townships' ranking of the month of `month` alone (总览's card): the
/// other three rankings cost a year of days per unit.
pub fn township_month_ranking(
    data: &AirData,
    month: NaiveDate,
) -> gongjian_targets::ranking::Ranking {
    let m_from = month_start(month);
    let to = data
        .as_of
        .map_or(month_end(m_from), |a| a.min(month_end(m_from)));
    rank_units(&township_units(data), m_from, to)
}

/// The townships ranked over `from..=to` (days of `data`'s year).
pub fn township_span_ranking(
    data: &AirData,
    from: NaiveDate,
    to: NaiveDate,
) -> gongjian_targets::ranking::Ranking {
    rank_units(&township_units(data), from, to)
}

/// Each township with its days, as ranking units.
fn township_units(data: &AirData) -> Vec<Unit<'_>> {
    data.townships
        .iter()
        .map(|(n, d)| Unit {
            name: n.clone(),
            days: d,
        })
        .collect()
}

pub fn rankings(data: &AirData, month: NaiveDate) -> Rankings {
    let m_from = month_start(month);
    let m_to = month_end(m_from);
    let to = data.as_of.map_or(m_to, |a| a.min(m_to));
    let y_from = gongjian_targets::year_start(m_from);
    let towns = township_units(data);
    let stations: Vec<Unit<'_>> = data
        .stations
        .iter()
        .filter(|s| s.site.scope().any())
        .map(|s| Unit {
            name: format!("{}（{}）", s.site.name, s.site.code),
            days: &s.days,
        })
        .collect();
    Rankings {
        townships_month: rank_units(&towns, m_from, to),
        townships_ytd: rank_units(&towns, y_from, to),
        stations_month: rank_units(&stations, m_from, to),
        stations_ytd: rank_units(&stations, y_from, to),
    }
}

/// First day of the month of `d`.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// Last day of the month of `d`.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|x| x.pred_opt())
        .unwrap_or(d)
}

/// Parse `YYYY-MM` (the first day of that month).
pub fn parse_month(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d").ok()
}

/// `YYYY-MM` of a date.
pub fn month_key(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 12 regression: a reported target that names its task takes
    /// that task's value, not a newer lead value of a same-named indicator
    /// of another task.
    #[test]
    fn a_reported_target_takes_the_value_of_the_task_it_names() {
        let plan = crate::plan::embedded_plan().unwrap();
        let mut target = plan
            .targets
            .iter()
            .find(|t| t.key == "air-emission-total")
            .unwrap()
            .clone();
        assert_eq!(target.task.as_deref(), Some("air-36"));
        let value = |task: &str, v: &str, lead: bool, at: i64| AcceptedValue {
            indicator: target.indicator.clone(),
            value: v.into(),
            unit: "吨".into(),
            organisation: format!("{task} 的单位"),
            accepted_at: at,
            lead,
            task: task.into(),
        };
        // Newest acceptance first, as the store returns them.
        let reported = [
            value("air-12", "900", true, 2_000),
            value("air-36", "450", false, 1_000),
        ];
        let status = |t: &gongjian_campaign::Target| {
            let mut s: TargetStatus = serde_json::from_value(serde_json::json!({
                "key": t.key, "indicator": t.indicator, "scope": "district",
                "comparator": "<", "value": null, "unit": t.unit, "measured": "reported",
                "current": null, "ytd": null, "last_year": null, "on_track": null,
                "allowance": null, "rules": [], "as_of": null, "note": null,
            }))
            .unwrap();
            reported_status(&mut s, t, &reported);
            s.current
        };
        assert_eq!(status(&target), Some(Figure::Text("450".into())));
        target.task = None;
        assert_eq!(status(&target), Some(Figure::Text("900".into())));
    }

    #[test]
    fn allowances_read_back_as_the_kind_they_were_written_as() {
        let all = [
            TargetAllowance::Mean(Allowance::Remaining {
                days: 10,
                max_total: Decimal::new(5005, 1),
                max_average: Decimal::new(500, 1),
            }),
            TargetAllowance::Mean(Allowance::Lost { days: 3 }),
            TargetAllowance::Mean(Allowance::Final { met: true }),
            TargetAllowance::GoodDays {
                state: AllowanceState::Remaining,
                polluted_used: 40,
                undetermined: 1,
                days_remaining: 100,
                still_allowed_polluted: 7,
            },
            TargetAllowance::HeavyDays {
                state: AllowanceState::Lost,
                still_allowed: -2,
            },
        ];
        for a in all {
            let json = serde_json::to_string(&a).unwrap();
            let back: TargetAllowance = serde_json::from_str(&json).unwrap();
            assert_eq!(back, a, "{json}");
        }
    }

    #[test]
    fn allowance_texts() {
        let remaining = TargetAllowance::Mean(Allowance::Remaining {
            days: 10,
            max_total: Decimal::new(5005, 1),
            max_average: Decimal::new(500, 1),
        });
        assert_eq!(remaining.to_string(), "余下 10 天均值不超过 50.0");
        let good = TargetAllowance::GoodDays {
            state: AllowanceState::Remaining,
            polluted_used: 40,
            undetermined: 0,
            days_remaining: 100,
            still_allowed_polluted: 7,
        };
        assert_eq!(good.to_string(), "尚可超标 7 天（已超标 40 天）");
        let heavy = TargetAllowance::HeavyDays {
            state: AllowanceState::Lost,
            still_allowed: -1,
        };
        assert_eq!(heavy.to_string(), "已无余量");
    }

    #[test]
    fn month_boundaries() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(month_end(d(2020, 2, 10)), d(2020, 2, 29));
        assert_eq!(month_end(d(2020, 12, 31)), d(2020, 12, 31));
        assert_eq!(parse_month("2020-07"), Some(d(2020, 7, 1)));
        assert_eq!(parse_month("2020-13"), None);
        assert_eq!(month_key(d(2020, 7, 9)), "2020-07");
    }
}
