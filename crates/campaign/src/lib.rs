//! The campaign as data.
//!
//! A campaign plan (a district's yearly air, water and soil plans) is written
//! as TOML files under `plans/<name>/` (format: `docs/plan-format.md`). This
//! crate parses those files — handed to it as text; it does no I/O — checks
//! them (every organisation referenced exists, dates are real, task numbers
//! unique, indicators well-formed) and normalises them into a [`Campaign`]:
//! organisations under one spelling, exact decimal thresholds, stable keys
//! (`air-15`, `water-二-3`, target `air-pm25`, organisation `enforcement`) so
//! that a later load can compare revisions.
#![forbid(unsafe_code)]

mod boundaries;
mod build;
mod copy;
mod diff;
mod edit;
mod edit_assessment;
mod edit_controls;
mod edit_groups;
mod edit_parts;
mod edit_sections;
mod error;
mod export;
mod model;
mod raw;
mod stations;
mod table;

pub use boundaries::{
    BOUNDARIES_FILE, BOUNDARIES_MAX_BYTES, BOUNDARIES_MAX_FEATURES, BOUNDARIES_MAX_POINTS,
    district_contains, parse_boundaries,
};
pub use build::{Source, parse, parse_files};
pub use copy::{copy_to_year, next_key, shift_years};
pub use diff::{
    Change, Entry, PlanDiff, Stored, StoredItem, assignment_count, changed_fields, target_content,
    task_content,
};
pub use edit::{
    EditRefused, FieldError, IndicatorEdit, MilestoneEdit, PlanEdit, TargetEdit, TaskEdit,
    apply_edit, edit_files,
};
pub use edit_controls::{CONTROL_SERIES, ControlEdit};
pub use edit_parts::PartEdit;
pub use edit_sections::SectionEdit;
pub use error::{Diagnostic, PlanError};
pub use export::{
    IndicatorJson, MilestoneJson, OrganisationJson, PlanJson, SectionJson, TargetJson, TaskJson,
};
pub use model::*;
pub use stations::{
    ScopeSetting, StationClass, StationScope, class_and_scope_label, station_scope,
};
pub use table::{
    CELL_MAX_CHARS, TABLE_MAX_ROWS, TableAdded, TableError, TableRefused, add_plan_to_campaign,
    add_task_table, parse_deadline, tasks_from_table,
};
