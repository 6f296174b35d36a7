//! `gongjian`: the one binary of the platform. Thin: it parses arguments and
//! hands over to the library crates.
#![forbid(unsafe_code)]

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gongjian",
    version,
    about = "攻坚 — pollution-prevention campaign platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the platform: web UI, JSON API and the HJ 212 listener.
    Serve(commands::serve::Args),
    /// A stateless HJ 212 listener that publishes frames to NATS JetStream
    /// (scale-out: writers are `serve --ingest nats`).
    Gateway(commands::gateway::Args),
    /// Run a demo platform on a fresh SQLite database with demo accounts.
    Demo(commands::demo::Args),
    /// Apply database migrations.
    Migrate(commands::migrate::Args),
    /// Manage user accounts.
    #[command(subcommand)]
    User(commands::user::Command),
    /// Write one archive of the database and the attachments while the server runs.
    Backup(commands::backup::Args),
    /// Check a backup archive whole, then put it in place of the data directory's contents.
    Restore(commands::restore::Args),
    /// The audit log: verify its hash chain.
    #[command(subcommand)]
    Audit(commands::audit::Command),
    /// Import monitoring data from files (air-station hours).
    #[command(subcommand)]
    Import(commands::import::Command),
    /// Monitoring sites: register or change them from a file (站点导入).
    #[command(subcommand)]
    Sites(commands::sites::Command),
    /// Heavy-pollution emergency response: reduction list, warnings, verification
    #[command(subcommand)]
    Emergency(commands::emergency::Command),
    /// Alarms raised by the screens (报警), as the API lists them.
    Alarms(commands::alarms::AlarmArgs),
    /// 督办 cases, as the API lists them.
    Cases(commands::alarms::CaseArgs),
    /// Print every target of the plan, measured from data.
    Targets(commands::targets::Args),
    /// Print the version and the standards rule sets this build knows.
    Version,
    /// Compute an AQI report (HJ 633) from concentrations given on the command line.
    Aqi(commands::aqi::Args),
    /// Evaluate a file of monitoring data against the national standards.
    #[command(subcommand)]
    Evaluate(commands::evaluate::Command),
    /// HJ 212 protocol tools: parse frames, replay captures.
    #[command(subcommand)]
    Hj212(commands::hj212::Command),
    /// Run virtual HJ 212 data loggers against a listener.
    Simulate(commands::simulate::Args),
    /// The raw HJ 212 frame archive: pack settled frames into compressed blocks.
    #[command(subcommand)]
    Raw(commands::raw::Command),
    /// Minute and real-time values: pack closed days into compressed blocks.
    #[command(subcommand)]
    Series(commands::series::Command),
    /// Campaign plans: show, check and load a plan directory.
    #[command(subcommand)]
    Plan(commands::plan::Command),
}

/// The error chain as a user reads it: each context, and a storage error
/// (whose `Display` is English, for logs) in Chinese, ending the chain.
fn user_message(err: &anyhow::Error) -> String {
    let mut parts = Vec::new();
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<gongjian_storage::StorageError>() {
            parts.push(e.user_message());
            break;
        }
        if let Some(gongjian_app::AppError::Storage(e)) =
            cause.downcast_ref::<gongjian_app::AppError>()
        {
            parts.push(e.user_message());
            break;
        }
        parts.push(cause.to_string());
    }
    parts.join(": ")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(args),
        Command::Gateway(args) => commands::gateway::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Migrate(args) => commands::migrate::run(args),
        Command::User(cmd) => commands::user::run(cmd),
        Command::Backup(args) => commands::backup::run(args),
        Command::Restore(args) => commands::restore::run(args),
        Command::Audit(cmd) => commands::audit::run(cmd),
        Command::Import(cmd) => commands::import::run(cmd),
        Command::Sites(cmd) => commands::sites::run(cmd),
        Command::Emergency(cmd) => commands::emergency::run(cmd),
        Command::Alarms(args) => commands::alarms::run_alarms(args),
        Command::Cases(args) => commands::alarms::run_cases(args),
        Command::Targets(args) => commands::targets::run(args),
        Command::Version => commands::version::run(),
        Command::Aqi(args) => commands::aqi::run(args),
        Command::Evaluate(cmd) => commands::evaluate::run(cmd),
        Command::Hj212(cmd) => commands::hj212::run(cmd),
        Command::Plan(cmd) => commands::plan::run(cmd),
        Command::Simulate(args) => commands::simulate::run(args),
        Command::Raw(cmd) => commands::raw::run(cmd),
        Command::Series(cmd) => commands::series::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("错误 (error): {}", user_message(&err));
            tracing::debug!(error = format!("{err:#}"), "command failed");
            ExitCode::FAILURE
        }
    }
}
