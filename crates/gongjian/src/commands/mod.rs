//! One module per subcommand. Each exposes its clap arguments and a `run`
//! that returns the process exit code.

pub mod alarms;
pub mod aqi;
pub mod audit;
pub mod backup;
pub mod datadir;
pub mod demo;
pub mod emergency;
pub mod evaluate;
pub mod gateway;
pub mod hj212;
pub mod hj212_send;
pub mod import;
pub mod ingest;
pub mod migrate;
pub mod plan;
pub mod platform;
pub mod raw;
pub mod restore;
pub mod series;
pub mod serve;
pub mod simulate;
pub mod sites;
pub mod targets;
pub mod user;
pub mod version;
