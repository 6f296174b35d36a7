//! `gongjian evaluate air|water|soil|stack`.

mod air;
mod soil;
mod stack;
mod water;

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Hourly air-station data → daily AQI rows and a period summary (HJ 633, HJ 663).
    Air(air::Args),
    /// Surface-water samples → class per sample and per section (GB 3838-2002).
    Water(water::Args),
    /// Soil samples → farmland (GB 15618) or construction-land (GB 36600) classes.
    Soil(soil::Args),
    /// Stack CEMS minute data → hourly converted values, validity and exceedances.
    Stack(stack::Args),
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Air(args) => air::run(args),
        Command::Water(args) => water::run(args),
        Command::Soil(args) => soil::run(args),
        Command::Stack(args) => stack::run(args),
    }
}
