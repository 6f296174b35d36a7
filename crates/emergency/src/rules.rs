//! Required reduction ratios and the verification settings, versioned by
//! the date they take effect, as the standards engine versions its rule
//! sets: [`RuleSet::for_date`] picks the shipped set in force on a day,
//! [`RuleSet::select`] picks from sets the office configured.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::list::Measure;
use crate::vocab::{MeasureKind, PerPollutant, Pollutant, WarningLevel};

/// Minimum reductions of SO₂, NOx, PM and VOCs by warning level, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReductionRatios {
    pub yellow: PerPollutant<Decimal>,
    pub orange: PerPollutant<Decimal>,
    pub red: PerPollutant<Decimal>,
}

impl ReductionRatios {
    /// 10 / 20 / 30 % for each of SO₂, NOx, PM and VOCs at yellow / orange
    /// / red: emergency.md §3 ("reductions of SO2, NOx, PM and VOCs must
    /// each reach at least 10 % / 20 % / 30 % of total society-wide
    /// emissions", the 648号 framework carried into 豫政办〔2019〕56号). The
    /// ratios are set on society-wide totals; §5 applies them per
    /// enterprise as the default when its 一厂一策 entry gives none.
    pub const DEFAULT_2019: ReductionRatios = ReductionRatios {
        yellow: PerPollutant::all(Decimal::TEN),
        orange: PerPollutant::all(Decimal::from_parts(20, 0, 0, false, 0)),
        red: PerPollutant::all(Decimal::from_parts(30, 0, 0, false, 0)),
    };

    /// The minimum reduction of `pollutant` at `level`, in percent.
    pub fn get(&self, level: WarningLevel, pollutant: Pollutant) -> Decimal {
        let per = match level {
            WarningLevel::Yellow => &self.yellow,
            WarningLevel::Orange => &self.orange,
            WarningLevel::Red => &self.red,
        };
        per[pollutant]
    }
}

/// One version of the emergency rules and the verification settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    /// A stable code, e.g. `henan-2019`.
    pub code: String,
    /// The documents it follows, as officials cite them.
    pub basis: String,
    /// First day it applies.
    pub effective_from: NaiveDate,
    /// Default reductions where the list gives none.
    pub ratios: ReductionRatios,
    /// A unit ordered to stop may still use this share of its baseline
    /// electricity (percent): lighting, monitoring, kiln insulation and
    /// the treatment equipment that keeps running. 10 % is a design
    /// default (no official figure found); configure it per district.
    pub stop_residual_pct: Decimal,
    /// The baseline from data is the mean of at most this many of the
    /// latest normal production days (emergency.md §5: "N configurable,
    /// e.g. 30").
    pub baseline_days: usize,
    /// … and needs at least this many of them. 14 is the learning period
    /// supervision-rules.md §5 sets for a meter's normal load: two weeks
    /// take in both weekly cycles of a plant's work.
    pub baseline_min_days: usize,
    /// When a forecast calls for which level ([`crate::forecast`]).
    pub triggers: Triggers,
}

/// The warning triggers over a daily AQI forecast (emergency.md §2): a
/// heavy day has AQI above `heavy_aqi`; the levels ask for that many
/// consecutive heavy days, red also for `red_severe_days` above
/// `severe_aqi`, or any day at `extreme_aqi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Triggers {
    pub heavy_aqi: u32,
    pub severe_aqi: u32,
    pub extreme_aqi: u32,
    pub yellow_days: usize,
    pub orange_days: usize,
    pub red_days: usize,
    pub red_severe_days: usize,
}

impl Triggers {
    /// Henan 2019 (豫政办〔2019〕56号): yellow AQI > 200 for 2 days, orange
    /// for 3, red for 4 with 2 of them > 300, or a day reaching 500.
    pub const HENAN_2019: Triggers = Triggers {
        heavy_aqi: 200,
        severe_aqi: 300,
        extreme_aqi: 500,
        yellow_days: 2,
        orange_days: 3,
        red_days: 4,
        red_severe_days: 2,
    };
}

/// First day of the Henan 2019 plan (豫政办〔2019〕56号, issued 2019-11-07).
pub const HENAN_2019_FROM: NaiveDate = match NaiveDate::from_ymd_opt(2019, 11, 7) {
    Some(d) => d,
    None => unreachable!(),
};

impl RuleSet {
    /// The Henan 2019 rules: [`ReductionRatios::DEFAULT_2019`], a stop
    /// residual of 10 %, a baseline of the last 30 normal days needing 14.
    pub fn henan_2019() -> RuleSet {
        RuleSet {
            code: "henan-2019".into(),
            basis: "环办大气函〔2019〕648号；豫政办〔2019〕56号；新乡市重污染天气应急预案（2019）"
                .into(),
            effective_from: HENAN_2019_FROM,
            ratios: ReductionRatios::DEFAULT_2019,
            stop_residual_pct: Decimal::TEN,
            baseline_days: 30,
            baseline_min_days: 14,
            triggers: Triggers::HENAN_2019,
        }
    }

    /// The shipped versions, oldest first. Only one: the later texts we
    /// found (the 2024 optimisation) change the triggers, not the ratios.
    pub fn shipped() -> Vec<RuleSet> {
        vec![RuleSet::henan_2019()]
    }

    /// The shipped set in force on `date`; dates before the first one use
    /// the first (the platform holds no earlier rules).
    pub fn for_date(date: NaiveDate) -> RuleSet {
        let sets = RuleSet::shipped();
        RuleSet::select(&sets, date)
            .cloned()
            .unwrap_or_else(RuleSet::henan_2019)
    }

    /// From configured `sets`, the one with the latest `effective_from` on
    /// or before `date`, else the earliest; `None` only when `sets` is empty.
    pub fn select(sets: &[RuleSet], date: NaiveDate) -> Option<&RuleSet> {
        sets.iter()
            .filter(|s| s.effective_from <= date)
            .max_by_key(|s| s.effective_from)
            .or_else(|| sets.iter().min_by_key(|s| s.effective_from))
    }

    /// The share of baseline daily electricity (percent) a unit under
    /// `measure` may use: the stop residual for a stop, the load limit for
    /// a limit or a stagger that has one. `None`: the day's total cannot
    /// judge the measure (a stagger without a load limit is judged by the
    /// hours it stops, not by the day).
    pub fn allowed_load_pct(&self, measure: &Measure) -> Option<Decimal> {
        match measure.kind {
            MeasureKind::Stop => Some(self.stop_residual_pct),
            MeasureKind::Limit | MeasureKind::Stagger => measure.load_limit_pct,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn default_ratios_follow_the_spec() {
        let r = RuleSet::for_date(NaiveDate::from_ymd_opt(2020, 1, 14).unwrap()).ratios;
        for p in Pollutant::ALL {
            assert_eq!(r.get(WarningLevel::Yellow, p), dec!(10));
            assert_eq!(r.get(WarningLevel::Orange, p), dec!(20));
            assert_eq!(r.get(WarningLevel::Red, p), dec!(30));
        }
    }

    #[test]
    fn selection_is_by_effective_date() {
        let mut later = RuleSet::henan_2019();
        later.code = "later".into();
        later.effective_from = NaiveDate::from_ymd_opt(2024, 10, 1).unwrap();
        later.ratios.orange.vocs = dec!(40);
        let sets = vec![later, RuleSet::henan_2019()];
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            RuleSet::select(&sets, day(2020, 1, 1)).unwrap().code,
            "henan-2019"
        );
        assert_eq!(
            RuleSet::select(&sets, day(2024, 9, 30)).unwrap().code,
            "henan-2019"
        );
        assert_eq!(
            RuleSet::select(&sets, day(2024, 10, 1)).unwrap().code,
            "later"
        );
        // Before every set: the earliest.
        assert_eq!(
            RuleSet::select(&sets, day(2018, 1, 1)).unwrap().code,
            "henan-2019"
        );
        assert!(RuleSet::select(&[], day(2020, 1, 1)).is_none());
        assert_eq!(RuleSet::for_date(day(2010, 1, 1)).code, "henan-2019");
    }
}
