// Placeholder: replaced by the owning work. Returns an error rather than a fake result.
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Not built yet.
    Pending,
}

pub fn run(_cmd: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this command is not built yet")
}
