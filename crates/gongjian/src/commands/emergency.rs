//! `gongjian emergency …`: the heavy-pollution emergency response (issue
//! 15) from the command line — import the season's reduction list, issue a
//! warning, and verify the listed enterprises' warning days from their
//! electricity-use meters (`gongjian_app::emergency`).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use gongjian_storage::Actor;

use super::platform::{ConfigArgs, open_db, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Import the season's 应急减排清单 (CSV in UTF-8/GBK or XLSX, the
    /// city's layout); refused whole when any row is wrong.
    ImportList(ImportListArgs),
    /// Issue a warning (预警) at a level for a span of days.
    Warn(WarnArgs),
    /// Verify a warning's days for every listed enterprise (达标 / 未落实 /
    /// 无法核查) from its electricity-use meters.
    Verify(VerifyArgs),
    /// Raise or lower a warning from a day after it started: a new warning
    /// at the new level takes over and the listed enterprises are told.
    Change(ChangeArgs),
    /// Lift a warning from a day (its last day is the day before).
    Lift(LiftArgs),
    /// Import the heating season's 错峰生产 list (季节性生产调控; CSV in
    /// UTF-8/GBK or XLSX) with the season's dates; refused whole when any
    /// row is wrong.
    ImportSeason(ImportSeasonArgs),
    /// Verify the season list's enterprises day by day (达标 / 未落实 /
    /// 无法核查) from their production meters.
    Season(SeasonArgs),
}

#[derive(Debug, clap::Args)]
pub struct ImportSeasonArgs {
    pub file: PathBuf,
    /// The heating season, e.g. 2026-2027.
    #[arg(long)]
    pub season: String,
    /// The season's first day, YYYY-MM-DD (e.g. 2026-11-15).
    #[arg(long)]
    pub from: NaiveDate,
    /// The season's last day, inclusive (e.g. 2027-03-15).
    #[arg(long)]
    pub to: NaiveDate,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub struct SeasonArgs {
    /// First day to verify (default: 7 days ago).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day to verify (default: yesterday).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// A list by id (default: the one in force on the last day).
    #[arg(long)]
    pub list: Option<i64>,
    /// Print the verification as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub struct ChangeArgs {
    #[arg(long)]
    pub warning: i64,
    /// The new level: 黄色 / 橙色 / 红色.
    #[arg(long)]
    pub level: String,
    /// The first day at the new level, YYYY-MM-DD.
    #[arg(long)]
    pub from: NaiveDate,
    #[arg(long, default_value = "")]
    pub document: String,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub struct LiftArgs {
    #[arg(long)]
    pub warning: i64,
    /// The first day without the warning, YYYY-MM-DD.
    #[arg(long)]
    pub on: NaiveDate,
    #[arg(long, default_value = "")]
    pub document: String,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub struct ImportListArgs {
    pub file: PathBuf,
    /// The heating season the list is for, e.g. 2026-2027.
    #[arg(long)]
    pub season: String,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub struct WarnArgs {
    /// 黄色 / 橙色 / 红色 (or yellow, orange, red).
    #[arg(long)]
    pub level: String,
    /// First day (China Standard Time), YYYY-MM-DD.
    #[arg(long)]
    pub from: NaiveDate,
    /// Last day, inclusive; omitted while the warning is in force.
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// The city's notice number.
    #[arg(long, default_value = "")]
    pub document: String,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[arg(long)]
    pub warning: i64,
    /// Print the verification as JSON.
    #[arg(long)]
    pub json: bool,
    /// Open a 督办 case for each enterprise with a 未落实 day (once per
    /// warning and enterprise).
    #[arg(long)]
    pub open_cases: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::ImportList(args) => import_list(args),
        Command::Warn(args) => warn(args),
        Command::Verify(args) => verify(args),
        Command::ImportSeason(args) => import_season(args),
        Command::Season(args) => season(args),
        Command::Change(args) => {
            let config = args.config.load()?;
            warning_step(&config, "已调整，现行", |db| async move {
                gongjian_app::emergency::change_warning(
                    &db,
                    &Actor::cli(),
                    args.warning,
                    &args.level,
                    args.from,
                    &args.document,
                )
                .await
            })
        }
        Command::Lift(args) => {
            let config = args.config.load()?;
            warning_step(&config, "已解除", |db| async move {
                gongjian_app::emergency::lift_warning(
                    &db,
                    &Actor::cli(),
                    args.warning,
                    args.on,
                    &args.document,
                )
                .await
            })
        }
    }
}

/// Run one change to a warning and print the warning it leaves in force
/// (or lifted).
fn warning_step<F, Fut>(
    config: &gongjian_config::Config,
    done: &str,
    step: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(gongjian_storage::Db) -> Fut,
    Fut: std::future::Future<Output = Result<gongjian_storage::Warning, gongjian_app::AppError>>,
{
    let out = runtime()?.block_on(async {
        let db = open_db(config).await?;
        let out = step(db.clone()).await;
        db.close().await;
        anyhow::Ok(out)
    })?;
    print_warning(done, out)
}

/// "{done}预警 #N：橙色，from 至 to", or the refusal in Chinese.
fn print_warning(
    done: &str,
    out: Result<gongjian_storage::Warning, gongjian_app::AppError>,
) -> anyhow::Result<ExitCode> {
    match out {
        Ok(w) => {
            println!(
                "{done}预警 #{}：{}，{} 至 {}",
                w.id,
                gongjian_emergency::WarningLevel::parse(&w.level).map_or("", |l| l.label()),
                w.starts_on,
                w.ends_on.map_or("解除前".to_owned(), |d| d.to_string())
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("错误：{}", e.user_message());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn import_list(args: ImportListArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let table = gongjian_tabular::read_path(&args.file)?;
    let out = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let out =
            gongjian_app::emergency::import_list(&db, &Actor::cli(), &args.season, &table).await;
        db.close().await;
        anyhow::Ok(out)
    })?;
    match out {
        Ok(list) => {
            println!(
                "已导入 {} 采暖季应急减排清单（第 {} 版）：{} 家企业（生产线）",
                list.season, list.id, list.entries
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(gongjian_app::AppError::InvalidFile(msg)) => {
            eprintln!("{msg}");
            Ok(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("错误：{}", e.user_message());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn warn(args: WarnArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let out = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let out = gongjian_app::emergency::issue_warning(
            &db,
            &Actor::cli(),
            &args.level,
            args.from,
            args.to,
            &args.document,
        )
        .await;
        db.close().await;
        anyhow::Ok(out)
    })?;
    print_warning("已发布", out)
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let today = gongjian_app::now_local().date();
    let out = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let out = match gongjian_app::emergency::verify_warning(&db, args.warning, today).await {
            Ok(v) if args.open_cases => {
                gongjian_app::emergency::open_cases(&db, &Actor::cli(), &v, today)
                    .await
                    .map(|cases| (v, cases))
            }
            Ok(v) => Ok((v, Vec::new())),
            Err(e) => Err(e),
        };
        db.close().await;
        anyhow::Ok(out)
    })?;
    let (v, cases) = match out {
        Ok(v) => v,
        Err(e) => {
            eprintln!("错误：{}", e.user_message());
            return Ok(ExitCode::FAILURE);
        }
    };
    if args.open_cases {
        eprintln!("已立督办单 {} 件", cases.len());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "预警 #{}（{}，{} 起）核查，清单：{}",
        v.warning.id,
        v.level_label,
        v.warning.starts_on,
        v.season.as_deref().unwrap_or("未导入")
    );
    for d in &v.days {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            d.day, d.enterprise, d.measure, d.verdict_label, d.detail
        );
    }
    if !v.not_required.is_empty() {
        println!("本级别无需核查：{}", v.not_required.join("、"));
    }
    Ok(ExitCode::SUCCESS)
}

fn import_season(args: ImportSeasonArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let table = gongjian_tabular::read_path(&args.file)?;
    let out = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let out = gongjian_app::emergency::season::import_season_list(
            &db,
            &Actor::cli(),
            &args.season,
            args.from,
            args.to,
            &table,
        )
        .await;
        db.close().await;
        anyhow::Ok(out)
    })?;
    match out {
        Ok(done) => {
            println!(
                "已导入 {} 采暖季错峰生产清单（#{}，{} 至 {}）：{} 家企业，{} 行",
                done.list.season,
                done.list.id,
                done.list.starts_on,
                done.list.ends_on,
                done.enterprises,
                done.list.entries
            );
            for note in &done.notes {
                println!("提示：{note}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(gongjian_app::AppError::InvalidFile(msg)) => {
            eprintln!("{msg}");
            Ok(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("错误：{}", e.user_message());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn season(args: SeasonArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let today = gongjian_app::now_local().date();
    let to = args.to.unwrap_or(today - chrono::Duration::days(1));
    let from = args.from.unwrap_or(to - chrono::Duration::days(6));
    let out = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let out =
            gongjian_app::emergency::season::verify_season(&db, args.list, (from, to), today, None)
                .await;
        db.close().await;
        anyhow::Ok(out)
    })?;
    let v = match out {
        Ok(v) => v,
        Err(e) => {
            eprintln!("错误：{}", e.user_message());
            return Ok(ExitCode::FAILURE);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(list) = &v.list else {
        println!("未导入错峰生产清单");
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "{} 采暖季错峰生产核查（清单 #{}，{} 至 {}），{} 至 {}",
        list.season, list.id, list.starts_on, list.ends_on, v.from, v.to
    );
    for row in &v.rows {
        println!(
            "{}\t{}\t达标 {} 天，未落实 {} 天，无法核查 {} 天",
            row.enterprise, row.measure, row.compliant, row.not_implemented, row.unverifiable
        );
        for d in &row.days {
            println!("  {}\t{}\t{}", d.day, d.verdict_label, d.detail);
        }
    }
    Ok(ExitCode::SUCCESS)
}
