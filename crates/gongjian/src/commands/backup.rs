//! `gongjian backup`: a consistent copy of the database while the server runs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use gongjian_storage::Backend;

use super::platform::{ConfigArgs, init_logging, open_db, runtime};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Destination file. Default: <data-dir>/backups/gongjian-YYYYMMDD-HHMMSS.db
    /// (SQLite) or .sql (PostgreSQL, through pg_dump).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    init_logging(&config);
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    runtime()?.block_on(async {
        let db = open_db(&config).await?;
        match db.backend() {
            Backend::Sqlite => {
                let dest = args.output.clone().unwrap_or_else(|| {
                    config
                        .data_dir
                        .join("backups")
                        .join(format!("gongjian-{stamp}.db"))
                });
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                db.backup_sqlite(&dest).await?;
                println!("备份完成 (backup written): {}", dest.display());
            }
            Backend::Postgres => {
                let dest = args.output.clone().unwrap_or_else(|| {
                    config
                        .data_dir
                        .join("backups")
                        .join(format!("gongjian-{stamp}.sql"))
                });
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                if dest.exists() {
                    bail!("{} already exists; refusing to overwrite", dest.display());
                }
                // pg_dump takes a consistent snapshot in one transaction.
                let status = std::process::Command::new("pg_dump")
                    .arg("--dbname")
                    .arg(config.database_url())
                    .arg("--file")
                    .arg(&dest)
                    .status()
                    .context("cannot run pg_dump; install the PostgreSQL client tools")?;
                if !status.success() {
                    bail!("pg_dump failed with {status}");
                }
                println!("备份完成 (backup written): {}", dest.display());
            }
        }
        db.close().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
