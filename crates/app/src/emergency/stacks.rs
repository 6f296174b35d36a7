//! The CEMS side of a warning day's verification: an enterprise's stacks
//! (sites of kind `stack_gas`), the day's emission of a pollutant over all
//! of them, and the hours judged against each stack's limit.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use gongjian_emergency::substitution::accounted_day;
use gongjian_emergency::{
    HourState, MIN_STACK_HOURS, Pollutant, Required, StackHour, daily_emission_kg,
};
use gongjian_standards::cst;
use gongjian_storage::{Db, Site, SiteFactor, StorageError};
use rust_decimal::Decimal;

/// HJ 212-2017 flue-gas flow (m³/s in real-time and hourly means).
pub const FLOW_FACTOR: &str = "a00000";

/// The HJ 212-2017 code a stack reports `pollutant` under; VOCs as 非甲烷总烃
/// (a24088), the sum CEMS for VOCs measure.
pub fn factor_code(pollutant: Pollutant) -> &'static str {
    match pollutant {
        Pollutant::So2 => "a21026",
        Pollutant::Nox => "a21002",
        Pollutant::Pm => "a34013",
        Pollutant::Vocs => "a24088",
    }
}

/// One stack of an enterprise with its registered factors.
pub struct Stack {
    pub site_id: i64,
    pub name: String,
    factors: Vec<SiteFactor>,
}

impl Stack {
    /// Whether the stack is registered to measure `pollutant`.
    pub fn measures(&self, pollutant: Pollutant) -> bool {
        self.factors
            .iter()
            .any(|f| f.factor.trim() == factor_code(pollutant))
    }

    /// The registered limit of `pollutant` (mg/m³, converted), when it is
    /// set and a number.
    pub fn limit(&self, pollutant: Pollutant) -> Option<Decimal> {
        self.factors
            .iter()
            .find(|f| f.factor.trim() == factor_code(pollutant))
            .and_then(|f| f.limit_value.as_deref())
            .and_then(|l| l.trim().parse().ok())
    }
}

/// The stacks among an enterprise's sites.
pub fn of(sites: &[&Site], factors: &HashMap<i64, Vec<SiteFactor>>) -> Vec<Stack> {
    sites
        .iter()
        .filter(|s| s.kind == "stack_gas")
        .map(|s| Stack {
            site_id: s.id,
            name: s.name.clone(),
            factors: factors.get(&s.id).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The hourly records of `pollutant` at `site` on `day` (China Standard
/// Time), each joined with the hour's flow. The flow counts only where its
/// own flag is `N`: a flow in calibration cannot carry a mass.
pub async fn hours(
    db: &Db,
    site: i64,
    pollutant: Pollutant,
    day: NaiveDate,
) -> Result<Vec<StackHour>, StorageError> {
    let from = cst::day_start_utc(day);
    range(db, site, pollutant, from, from + 86_400).await
}

/// The hourly records of `pollutant` at `site` in `[from, to)`, joined
/// with the hours' flows, in time order.
async fn range(
    db: &Db,
    site: i64,
    pollutant: Pollutant,
    from: i64,
    to: i64,
) -> Result<Vec<StackHour>, StorageError> {
    let monitoring = db.monitoring();
    let concentration = monitoring
        .series_points(site, factor_code(pollutant), "hour", from, to)
        .await?;
    let flow: HashMap<i64, Option<Decimal>> = monitoring
        .series_points(site, FLOW_FACTOR, "hour", from, to)
        .await?
        .into_iter()
        .map(|p| {
            let valid = HourState::from_flag(&p.flag) == HourState::Valid;
            let value = p.value.as_deref().and_then(|v| v.trim().parse().ok());
            (p.period_start, value.filter(|_| valid))
        })
        .collect();
    let number = |v: &Option<String>| v.as_deref().and_then(|v| v.trim().parse().ok());
    Ok(concentration
        .iter()
        .map(|p| StackHour {
            at: p.period_start,
            state: HourState::from_flag(&p.flag),
            concentration: number(&p.value),
            converted: number(&p.converted),
            flow_m3_s: flow.get(&p.period_start).copied().flatten(),
        })
        .collect())
}

/// How far before a day its stacks' records are read for HJ 75
/// substitution: the 2160 valid hours the standard looks back over (90
/// days) with a margin for the gaps between them.
const LOOKBACK_DAYS: i64 = 120;

/// The start (Unix seconds) of the quarter `day` falls in, China time.
fn quarter_start(day: NaiveDate) -> i64 {
    let month = (day.month0() / 3) * 3 + 1;
    let first = NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day);
    cst::day_start_utc(first)
}

/// Days a logger's backlog may take to arrive: a younger day's hours
/// without any record are waited for, not substituted.
pub const SETTLE_DAYS: i64 = 2;

/// Whether `day` is old enough for its CEMS data to be complete.
fn settled(day: NaiveDate) -> bool {
    (crate::now_local().date() - day).num_days() >= SETTLE_DAYS
}

/// Stacks' hourly records of one verification, read once per stack and
/// pollutant over the span every day of it needs.
pub struct HourCache {
    from: i64,
    to: i64,
    loaded: HashMap<(i64, Pollutant), Vec<StackHour>>,
}

impl HourCache {
    /// For days from `first` to `last` (inclusive).
    pub fn new(first: NaiveDate, last: NaiveDate) -> HourCache {
        let from = quarter_start(first).min(cst::day_start_utc(
            first - chrono::Duration::days(LOOKBACK_DAYS),
        ));
        HourCache {
            from,
            to: cst::day_start_utc(last) + 86_400,
            loaded: HashMap::new(),
        }
    }

    async fn hours(
        &mut self,
        db: &Db,
        site: i64,
        pollutant: Pollutant,
    ) -> Result<&[StackHour], StorageError> {
        if !self.loaded.contains_key(&(site, pollutant)) {
            let hours = range(db, site, pollutant, self.from, self.to).await?;
            self.loaded.insert((site, pollutant), hours);
        }
        Ok(self.loaded[&(site, pollutant)].as_slice())
    }
}

/// The day's emission of `pollutant` over every stack that measures it
/// (kg), or why it cannot be had: one stack without a measurable day makes
/// the whole day unmeasurable (a plant cannot look cleaner by one stack's
/// logger going quiet). SO₂, NOx and particulate matter are accounted
/// with HJ 75-2017's substitution (`gongjian_emergency::substitution`);
/// VOCs, which the standard's table does not cover, need
/// `MIN_STACK_HOURS` usable hours, the rest filled at their mean.
pub async fn day_emission(
    db: &Db,
    cache: &mut HourCache,
    stacks: &[Stack],
    pollutant: Pollutant,
    day: NaiveDate,
) -> Result<Result<Decimal, String>, StorageError> {
    let day_start = cst::day_start_utc(day);
    let window = quarter_start(day).min(cst::day_start_utc(
        day - chrono::Duration::days(LOOKBACK_DAYS),
    ));
    let mut total = Decimal::ZERO;
    let mut any = false;
    for stack in stacks.iter().filter(|s| s.measures(pollutant)) {
        let hours = cache.hours(db, stack.site_id, pollutant).await?;
        let kg = if pollutant == Pollutant::Vocs {
            let day_hours: Vec<StackHour> = hours
                .iter()
                .filter(|h| h.at >= day_start && h.at < day_start + 86_400)
                .copied()
                .collect();
            daily_emission_kg(&day_hours)
                .ok_or_else(|| format!("{}当日有效小时数不足 {MIN_STACK_HOURS} 小时", stack.name))
        } else {
            accounted_day(hours, window, quarter_start(day), day_start, settled(day))
                .map(|a| a.kg)
                .map_err(|why| format!("{}：{why}", stack.name))
        };
        match kg {
            Ok(kg) => total += kg,
            Err(why) => return Ok(Err(why)),
        }
        any = true;
    }
    Ok(if any {
        Ok(total)
    } else {
        Err("未登记监测该污染物的排口".to_owned())
    })
}

/// The requirement as officials read it.
pub fn required_text(required: Required) -> String {
    match required {
        Required::Percent(p) => format!("减排 ≥ {}%", p.normalize()),
        Required::Kg(kg) => format!("日减排 ≥ {} kg", kg.normalize()),
    }
}
