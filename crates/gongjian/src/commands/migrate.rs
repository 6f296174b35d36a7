//! `gongjian migrate`: apply pending database migrations and list them.

use std::process::ExitCode;

use super::platform::{ConfigArgs, init_logging, open_db, runtime};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    init_logging(&config);
    let _lock = super::datadir::prepare(&config)?;
    runtime()?.block_on(async {
        let db = open_db(&config).await?;
        for (version, description) in db.applied_migrations().await? {
            println!("{version:04} {description}");
        }
        db.close().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
