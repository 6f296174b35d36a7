//! The service layer: every use case of the platform, called by the web
//! handlers and by the binary's commands alike. Nothing here knows about
//! HTTP; nothing below (storage, ingest, the pure crates) knows about it.
#![forbid(unsafe_code)]

pub mod jobs;
pub mod report;
pub mod summaries;
pub mod targets;
