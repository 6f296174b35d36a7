//! One module per subcommand. Each exposes its clap arguments and a `run`
//! that returns the process exit code.

pub mod aqi;
pub mod evaluate;
pub mod hj212;
pub mod plan;
pub mod version;
