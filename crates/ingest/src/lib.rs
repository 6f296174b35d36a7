//! HJ 212 ingestion: the TCP listener for field data loggers, the batched
//! writer that commits before it acknowledges, rollups (run by the rollup
//! job of `gongjian_app::jobs`, whether the listener runs or not), and a
//! simulator of virtual loggers.
//!
//! Shape (after mini-redis): [`Service::run`] accepts connections under a
//! semaphore, each connection runs a framed read loop with an idle timeout,
//! and all of them stop on one shutdown signal with a deadline. Frames that
//! need storing go to one writer task over a channel; the writer groups
//! frames from many connections into one transaction and only then releases
//! each frame's answer. In `gongjian gateway` the same listener publishes
//! to NATS JetStream instead ([`Sink::JetStream`]) and the writers of
//! `gongjian serve --ingest nats` consume the stream ([`jetstream::consume`]).
#![forbid(unsafe_code)]

pub mod events;
mod guard;
pub mod jetstream;
mod rollup;
mod server;
pub mod simulator;
mod time;
mod writer;

pub use events::Metrics;
pub use rollup::{rollup_day, rollup_hour, run_rollups, run_rollups_with};
pub use server::{ConnectionMap, Service, Settings, Sink};
pub use time::{datatime_to_unix, unix_to_datatime};

/// Errors of the ingestion service.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("HJ 212 listener I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Storage(#[from] gongjian_storage::StorageError),
}
