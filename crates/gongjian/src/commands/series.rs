//! `gongjian series pack`: move the real-time and minute values of closed
//! days into compressed day blocks now, as the `series_packing` job of
//! `serve` does every hour (docs/ingestion.md, "Series blocks").

use std::process::ExitCode;

use super::platform::{ConfigArgs, init_logging, open_db, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Pack the real-time and minute values of the China Standard Time
    /// days that ended more than `--settle` seconds ago, and print what was
    /// packed.
    Pack(PackArgs),
}

#[derive(Debug, clap::Args)]
pub struct PackArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Seconds after a day's end before it is packed.
    #[arg(long, default_value_t = 3600)]
    pub settle: u64,
    /// Pack every day, today and later ones included (measurements).
    #[arg(long)]
    pub all: bool,
    /// zstd level (measurements; the job uses the default).
    #[arg(long, default_value_t = gongjian_storage::SERIES_BLOCK_LEVEL,
          value_parser = clap::value_parser!(i32).range(1..=19))]
    pub level: i32,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Pack(args) = command;
    let config = args.config.load()?;
    init_logging(&config);
    runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let before = if args.all {
            // Past any period a logger can send (HJ 212 years have 4 digits).
            253_402_300_800
        } else {
            gongjian_storage::now()
                .saturating_sub(i64::try_from(args.settle).unwrap_or(i64::MAX))
        };
        let report = db
            .series_blocks()
            .pack_series_at_level(before, args.level)
            .await;
        db.close().await;
        let r = report?;
        println!(
            "已打包分钟/实时数据 {} 个，共 {} 个日数据块（压缩级别 {}）：编码 {} 字节，压缩后 {} 字节",
            r.values, r.blocks, args.level, r.payload_bytes, r.body_bytes
        );
        Ok(ExitCode::SUCCESS)
    })
}
