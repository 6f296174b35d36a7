//! `gongjian raw pack`: move settled raw HJ 212 frames into compressed
//! blocks now, as the `raw_packing` job of `serve` does every 5 minutes
//! (docs/ingestion.md, "Raw archive").

use std::process::ExitCode;

use super::platform::{ConfigArgs, init_logging, open_db, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Pack raw frames received more than `--older-than` seconds ago into
    /// zstd blocks and print what was packed.
    Pack(PackArgs),
}

#[derive(Debug, clap::Args)]
pub struct PackArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Pack rows received more than this many seconds ago (0: all rows).
    #[arg(long, default_value_t = 600)]
    pub older_than: u64,
    /// Frames per block.
    #[arg(long, default_value_t = gongjian_storage::RAW_BLOCK_FRAMES)]
    pub block_frames: usize,
    /// zstd level (measurements; the job uses the default).
    #[arg(long, default_value_t = gongjian_storage::RAW_BLOCK_LEVEL,
          value_parser = clap::value_parser!(i32).range(1..=19))]
    pub level: i32,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Pack(args) = command;
    let config = args.config.load()?;
    init_logging(&config);
    runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let older_than = gongjian_storage::now()
            .saturating_sub(i64::try_from(args.older_than).unwrap_or(i64::MAX))
            // `--older-than 0` packs the rows of this very second too.
            .saturating_add(i64::from(args.older_than == 0));
        let report = db
            .raw_archive()
            .pack_raw_at_level(older_than, args.block_frames, args.level)
            .await;
        db.close().await;
        let r = report?;
        println!(
            "已打包原始报文 {} 条，共 {} 块（压缩级别 {}）：编码 {} 字节，压缩后 {} 字节；删除重复 {} 条",
            r.frames, r.blocks, args.level, r.payload_bytes, r.body_bytes, r.duplicates
        );
        Ok(ExitCode::SUCCESS)
    })
}
