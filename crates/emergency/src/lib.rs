//! Heavy-pollution-weather emergency response (重污染天气应急), the pure
//! part: the vocabulary of warnings and measures ([`vocab`]), the default
//! reduction ratios versioned by date ([`rules`]), the reduction list
//! (应急减排清单) and its import ([`list`]), the unified social credit code
//! check ([`credit`]) and the verification math of a warning day
//! ([`verify`]). Nothing here reads a clock, a file or a database: the
//! service layer reads the city's spreadsheet into a
//! [`gongjian_tabular::Table`], calls [`parse_list`], stores the entries,
//! and on each warning day feeds meter readings and emissions to the
//! checks. Sources: `../shared/spec/emergency.md` and
//! `../shared/spec/supervision-rules.md` §5.
//!
//! # The list's layout
//!
//! The industrial sheet (工业源) as cities issue it (emergency.md §8): **one
//! row per enterprise and production line (or process), the three warning
//! levels side by side in columns**. One header row; a header names its
//! level (黄色/橙色/红色, with or without 预警 or 预警期间, anywhere in the
//! header, brackets included) and, where it has one, its pollutant (SO₂ /
//! 二氧化硫, NOx / 氮氧化物, 颗粒物 / 烟粉尘 / PM, VOCs / 挥发性有机物). Units in
//! brackets are checked where a wrong one would misread a quantity.
//!
//! | Column (common variants) | Meaning |
//! |---|---|
//! | 企业名称 / 单位名称 (required) | the enterprise |
//! | 统一社会信用代码 | checked (GB 32100-2015, check character included) |
//! | 行业类别 / 行业 | kept as written |
//! | 绩效分级 | A, B, B-, C, D, 引领性, 非引领性, 未分级 |
//! | 保障类型 / 豁免类型, 是否民生保障 | [`Exemption`] |
//! | 生产线（工序）名称 | the production line; one row per line |
//! | 正常工况日排放量 + pollutant (kg/d) | baseline emissions |
//! | 正常工况日用电量 / 日用电量 (kWh/d) | baseline electricity |
//! | level + 减排措施 / 管控措施 (a level needs this or 措施类型) | the measure as issued |
//! | level + 措施类型 | 停产 / 限产 / 错峰生产; else read from the text |
//! | level + 停限产工序 / 停限产生产线 | units to stop or limit |
//! | level + 负荷上限 (%) | load limit; else from the text ("负荷不超过 70%"; "限产 30%" read as a 30 % cut, noted) |
//! | level + 错峰时段 | staggered hours |
//! | level + pollutant + 减排比例 (%) | required reduction |
//! | level + pollutant + 日减排量 (kg/d) | required reduction in kg/d |
//!
//! Descriptive columns (序号, 县（市、区）, 乡镇（街道）, 主要产品及产能, 主要排放口,
//! 用电监控…, 在线监测…, 联系人, 联系电话, 备注 …) are read past; any other
//! column refuses the file: a list that cannot be mapped is not guessed.
//! A merged two-row header must be flattened to one row first.
//!
//! # Verification
//!
//! 限排不限产 (emergency.md §5): on a warning day, a unit ordered to stop or
//! limit must use no more electricity than its baseline × the allowed load
//! ([`electricity_check`]), and each pollutant's emission must fall by the
//! required share of its baseline ([`reduction_check`]), measured from the
//! stacks' CEMS hours ([`daily_emission_kg`]) whose converted concentrations
//! stay within the limit ([`limit_check`]). Every comparison is exact; a check that cannot be made is 无法核查, and a day with one is
//! never 达标 ([`day_verdict`]).
#![forbid(unsafe_code)]

pub mod credit;
pub mod forecast;
pub mod list;
pub mod list_form;
pub mod rules;
pub mod season;
pub mod substitution;
pub mod verify;
pub mod vocab;

pub use credit::{CreditCodeError, validate_credit_code};
pub use forecast::{ForecastDay, Suggestion, parse_forecast, suggest};
pub use list::{ListEntry, ListError, Measure, Problem, ReductionList, parse_list};
pub use rules::{ReductionRatios, RuleSet, Triggers};
pub use season::{HourWindow, SeasonEntry, SeasonList, parse_season_list};
pub use verify::{
    Check, HourState, MIN_STACK_HOURS, MeterReading, Required, StackHour, Verdict, baseline,
    daily_emission_kg, daily_energy, day_verdict, electricity_check, limit_check, reduction_check,
    reduction_kg_check,
};
pub use vocab::{Exemption, Grade, MeasureKind, PerPollutant, Pollutant, WarningLevel};
