//! The 2020 plan of the seed document, compiled into the binary: demo and
//! test material, and what the targets are evaluated against until the
//! campaign-years work makes the loaded campaign the unit.

use gongjian_campaign::{Campaign, Source};

const PLAN_FILES: &[(&str, &str)] = &[
    (
        "plan.toml",
        include_str!("../../../plans/pingyuan-2020/plan.toml"),
    ),
    (
        "organisations.toml",
        include_str!("../../../plans/pingyuan-2020/organisations.toml"),
    ),
    (
        "air.toml",
        include_str!("../../../plans/pingyuan-2020/air.toml"),
    ),
    (
        "water.toml",
        include_str!("../../../plans/pingyuan-2020/water.toml"),
    ),
    (
        "soil.toml",
        include_str!("../../../plans/pingyuan-2020/soil.toml"),
    ),
    (
        "limits.toml",
        include_str!("../../../plans/pingyuan-2020/limits.toml"),
    ),
];

/// The 2020 plan compiled into the binary.
pub fn embedded_plan() -> Result<Campaign, crate::AppError> {
    let sources: Vec<Source<'_>> = PLAN_FILES
        .iter()
        .map(|(name, text)| Source { name, text })
        .collect();
    gongjian_campaign::parse(&sources).map_err(|e| crate::AppError::EmbeddedPlan(e.to_string()))
}
