//! The service layer: every use case of the platform, called by the web
//! handlers and by the binary's commands alike. Nothing here knows about
//! HTTP; nothing below (storage, ingest, the pure crates) knows about it.
//!
//! - [`air`]: the year cache of air-station days and the air-data import;
//! - [`targets`]: target evaluation, allowances and rankings;
//! - [`summaries`]: water sections, exceedances, tasks per organisation,
//!   device health;
//! - [`overview`]: 总览's current-hour readings and chart series;
//! - [`report`]: the 月调度 report as one typed struct, with its sheets;
//! - [`assessment`]: the month's 月考核 of townships and departments;
//! - [`sites`]: site registration from a file (站点导入, `sites import`);
//! - [`plan`]: the campaign of a year, from the plan files stored with it;
//! - [`alarms`]: the alarm run (screens → alarms → 督办 cases);
//! - [`cases`]: who sees and who acts on a 督办 case;
//! - [`map`]: 一张图, every object with a position as a user may see it;
//! - [`jobs`]: the named background jobs `serve` runs.
#![forbid(unsafe_code)]

pub mod accountability;
pub mod air;
pub mod alarms;
pub mod assessment;
pub mod cases;
pub mod controls;
pub mod emergency;
pub mod enterprises;
pub mod error;
pub mod jobs;
pub mod map;
pub mod notify;
pub mod overview;
pub mod plan;
pub mod power;
pub mod power_readings;
pub mod report;
pub mod sites;
pub mod summaries;
pub mod targets;

pub use error::AppError;

/// China Standard Time "now" as a naive local date-time.
pub fn now_local() -> chrono::NaiveDateTime {
    gongjian_standards::cst::to_local(chrono::Utc::now().timestamp())
}
