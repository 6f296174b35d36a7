//! The screens: one function per [`RuleKind`], each turning a site's hours
//! into the episodes in which its rule's condition held.

use crate::{Episode, Rule, SiteHours};

/// Every episode of `rule` at `site` as of `now`.
pub fn run(rule: &Rule, site: &SiteHours, now: i64) -> Vec<Episode> {
    let _ = (rule, site, now);
    Vec::new()
}

/// Air stations whose values stand out from the others' mean.
pub fn hotspots(rule: &Rule, stations: &[SiteHours]) -> Vec<(i64, Episode)> {
    let _ = (rule, stations);
    Vec::new()
}
