//! Air rule sets and their selection by the date of the data.
//!
//! The national air standards changed on 2026-03-01: HJ 633-2026 replaced
//! HJ 633-2012 (AQI), GB 3095-2026 replaced GB 3095-2012 (limits; transition
//! limits until 2030-12-31, final limits from 2031-01-01) and HJ 663-2026
//! replaced HJ 663-2013 (evaluation). [`AirRules::for_date`] picks the rule
//! sets in force on a date; [`AirRules::forced`] lets a caller recompute old
//! data under new rules (or the reverse) for comparison.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// First day of HJ 633-2026, GB 3095-2026 and HJ 663-2026.
pub const SWITCH_2026: NaiveDate = match NaiveDate::from_ymd_opt(2026, 3, 1) {
    Some(d) => d,
    None => unreachable!(),
};

/// First day of the GB 3095-2026 final limits (the transition limits apply
/// from 2026-03-01 to 2030-12-31).
pub const GB3095_2026_FINAL_FROM: NaiveDate = match NaiveDate::from_ymd_opt(2031, 1, 1) {
    Some(d) => d,
    None => unreachable!(),
};

/// The AQI technical regulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AqiRules {
    /// HJ 633-2012 (试行), in force 2016-01-01 … 2026-02-28.
    #[serde(rename = "HJ 633-2012")]
    Hj633_2012,
    /// HJ 633-2026, in force from 2026-03-01.
    #[serde(rename = "HJ 633-2026")]
    Hj633_2026,
}

impl AqiRules {
    /// The rule set in force on `date` (before 2026-03-01 → 2012).
    pub fn for_date(date: NaiveDate) -> Self {
        if date < SWITCH_2026 {
            AqiRules::Hj633_2012
        } else {
            AqiRules::Hj633_2026
        }
    }

    /// The standard's number, e.g. `"HJ 633-2026"`.
    pub fn code(self) -> &'static str {
        match self {
            AqiRules::Hj633_2012 => "HJ 633-2012",
            AqiRules::Hj633_2026 => "HJ 633-2026",
        }
    }

    /// The edition year.
    pub fn edition(self) -> Edition {
        match self {
            AqiRules::Hj633_2012 => Edition::E2012,
            AqiRules::Hj633_2026 => Edition::E2026,
        }
    }
}

/// The ambient-air limit set (GB 3095).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LimitSet {
    /// GB 3095-2012 (with the 2018 amendment), in force until 2026-02-28.
    #[serde(rename = "GB 3095-2012")]
    Gb3095_2012,
    /// GB 3095-2026 transition limits, 2026-03-01 … 2030-12-31.
    #[serde(rename = "GB 3095-2026 transition")]
    Gb3095_2026Transition,
    /// GB 3095-2026 final limits, from 2031-01-01.
    #[serde(rename = "GB 3095-2026")]
    Gb3095_2026Final,
}

impl LimitSet {
    /// The limit set in force on `date`.
    pub fn for_date(date: NaiveDate) -> Self {
        if date < SWITCH_2026 {
            LimitSet::Gb3095_2012
        } else if date < GB3095_2026_FINAL_FROM {
            LimitSet::Gb3095_2026Transition
        } else {
            LimitSet::Gb3095_2026Final
        }
    }

    /// The name officials read, e.g. "GB 3095-2026（过渡期）".
    pub fn label(self) -> &'static str {
        match self {
            LimitSet::Gb3095_2012 => "GB 3095-2012",
            LimitSet::Gb3095_2026Transition => "GB 3095-2026（过渡期）",
            LimitSet::Gb3095_2026Final => "GB 3095-2026",
        }
    }

    /// A stable code, e.g. `"GB 3095-2026 transition"` (stored and in the API).
    pub fn code(self) -> &'static str {
        match self {
            LimitSet::Gb3095_2012 => "GB 3095-2012",
            LimitSet::Gb3095_2026Transition => "GB 3095-2026 transition",
            LimitSet::Gb3095_2026Final => "GB 3095-2026",
        }
    }
}

/// The evaluation technical specification (HJ 663).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EvaluationRules {
    /// HJ 663-2013, in force until 2026-02-28.
    #[serde(rename = "HJ 663-2013")]
    Hj663_2013,
    /// HJ 663-2026, in force from 2026-03-01.
    #[serde(rename = "HJ 663-2026")]
    Hj663_2026,
}

impl EvaluationRules {
    /// The rule set in force on `date`.
    pub fn for_date(date: NaiveDate) -> Self {
        if date < SWITCH_2026 {
            EvaluationRules::Hj663_2013
        } else {
            EvaluationRules::Hj663_2026
        }
    }

    /// A printable name.
    pub fn code(self) -> &'static str {
        match self {
            EvaluationRules::Hj663_2013 => "HJ 663-2013",
            EvaluationRules::Hj663_2026 => "HJ 663-2026",
        }
    }
}

/// An edition a caller can force: `2012` (HJ 633-2012, GB 3095-2012,
/// HJ 663-2013) or `2026` (HJ 633-2026, GB 3095-2026, HJ 663-2026).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Edition {
    /// The 2012 family.
    #[serde(rename = "2012")]
    E2012,
    /// The 2026 family.
    #[serde(rename = "2026")]
    E2026,
}

impl FromStr for Edition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "2012" => Ok(Edition::E2012),
            "2026" => Ok(Edition::E2026),
            other => Err(format!(
                "unknown rule edition `{other}` (expected 2012 or 2026)"
            )),
        }
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Edition::E2012 => "2012",
            Edition::E2026 => "2026",
        })
    }
}

/// The three air rule sets applied together to data of one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AirRules {
    /// AQI regulation.
    pub aqi: AqiRules,
    /// Concentration limits.
    pub limits: LimitSet,
    /// Evaluation specification.
    pub evaluation: EvaluationRules,
}

impl AirRules {
    /// The rule sets in force on `date`.
    pub fn for_date(date: NaiveDate) -> Self {
        AirRules {
            aqi: AqiRules::for_date(date),
            limits: LimitSet::for_date(date),
            evaluation: EvaluationRules::for_date(date),
        }
    }

    /// A forced edition applied to data of `date`. Forcing 2026 on data
    /// before 2031 uses the GB 3095-2026 transition limits (the limits the
    /// 2026 family applies to any date before 2031-01-01); on data from 2031
    /// the final limits.
    pub fn forced(edition: Edition, date: NaiveDate) -> Self {
        match edition {
            Edition::E2012 => AirRules {
                aqi: AqiRules::Hj633_2012,
                limits: LimitSet::Gb3095_2012,
                evaluation: EvaluationRules::Hj663_2013,
            },
            Edition::E2026 => AirRules {
                aqi: AqiRules::Hj633_2026,
                limits: if date < GB3095_2026_FINAL_FROM {
                    LimitSet::Gb3095_2026Transition
                } else {
                    LimitSet::Gb3095_2026Final
                },
                evaluation: EvaluationRules::Hj663_2026,
            },
        }
    }

    /// `forced` when an edition is given, else `for_date`.
    pub fn select(force: Option<Edition>, date: NaiveDate) -> Self {
        match force {
            Some(e) => Self::forced(e, date),
            None => Self::for_date(date),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn switch_dates() {
        assert_eq!(AqiRules::for_date(d(2026, 2, 28)), AqiRules::Hj633_2012);
        assert_eq!(AqiRules::for_date(d(2026, 3, 1)), AqiRules::Hj633_2026);
        assert_eq!(LimitSet::for_date(d(2026, 2, 28)), LimitSet::Gb3095_2012);
        assert_eq!(
            LimitSet::for_date(d(2030, 12, 31)),
            LimitSet::Gb3095_2026Transition
        );
        assert_eq!(
            LimitSet::for_date(d(2031, 1, 1)),
            LimitSet::Gb3095_2026Final
        );
        assert_eq!(
            EvaluationRules::for_date(d(2026, 3, 1)),
            EvaluationRules::Hj663_2026
        );
        let forced = AirRules::forced(Edition::E2026, d(2020, 5, 1));
        assert_eq!(forced.aqi, AqiRules::Hj633_2026);
        assert_eq!(forced.limits, LimitSet::Gb3095_2026Transition);
        assert_eq!(
            AirRules::select(Some(Edition::E2012), d(2027, 1, 1)).aqi,
            AqiRules::Hj633_2012
        );
        assert_eq!("2026".parse::<Edition>(), Ok(Edition::E2026));
        assert!("2018".parse::<Edition>().is_err());
    }
}
