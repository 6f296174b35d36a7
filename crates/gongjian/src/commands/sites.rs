//! `gongjian sites import FILE.csv|xlsx`: register or change monitoring
//! sites from a file in the layout of the site export (站点编码, 站点名称,
//! 类型, 所属企业, 乡镇, 经度, 纬度, MN, 密码, 协议版本, 对时, 分钟间隔,
//! 监测因子), the use case 站点导入 on the web calls
//! (`gongjian_app::sites`). Every row is checked before anything is written.

use std::path::PathBuf;
use std::process::ExitCode;

use gongjian_storage::Actor;

use super::platform::{ConfigArgs, open_db, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Register or change sites from a file in the layout of 站点导出
    /// (站点编码,站点名称,类型 required; CSV in UTF-8/GBK or XLSX).
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The file (.csv or .xlsx).
    pub file: PathBuf,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Import(args) => import(args),
    }
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let table = gongjian_tabular::read_path(&args.file)?;
    let outcome = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let out = gongjian_app::sites::import_sites(&db, &Actor::cli(), &table).await;
        db.close().await;
        anyhow::Ok(out)
    })?;
    let outcome = match outcome {
        Ok(o) => o,
        Err(gongjian_app::AppError::InvalidFile(msg)) => {
            eprintln!("{msg}");
            eprintln!("未导入任何站点");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        println!(
            "{}：新建 {} 个站点，更新 {} 个（{}）",
            outcome.file,
            outcome.created,
            outcome.updated,
            outcome.codes.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}
