//! `gongjian alarms` and `gongjian cases`: what the API lists at
//! `/api/v1/alarms` and `/api/v1/cases` (the office's view), for scripts;
//! `alarms --scan` runs the screens once first.

use std::process::ExitCode;

use chrono::NaiveDate;
use gongjian_alarms::CaseState;
use gongjian_storage::{AlarmFilter, CaseFilter};

use super::platform::{ConfigArgs, open_db, runtime};

#[derive(Debug, clap::Args)]
pub struct AlarmArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// open | ended | all
    #[arg(long, default_value = "all")]
    pub state: String,
    /// Only alarms that started on or after this day (YYYY-MM-DD, Beijing time).
    #[arg(long)]
    pub since: Option<NaiveDate>,
    /// Run the alarm screens once before listing.
    #[arg(long)]
    pub scan: bool,
    /// Print JSON (one array).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct CaseArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// open, all, or one state: pending | rectifying | verifying | verified | returned | closed | reopened
    #[arg(long, default_value = "all")]
    pub state: String,
    /// Only cases opened on or after this day (YYYY-MM-DD, Beijing time).
    #[arg(long)]
    pub since: Option<NaiveDate>,
    /// Print JSON (one array).
    #[arg(long)]
    pub json: bool,
}

fn since_ts(day: Option<NaiveDate>) -> Option<i64> {
    day.map(gongjian_standards::cst::day_start_utc)
}

/// The alarm filter of `--state`, or `None` for a state it does not know.
pub fn alarm_state(state: &str) -> Option<Option<bool>> {
    match state {
        "open" => Some(Some(true)),
        "ended" => Some(Some(false)),
        "all" => Some(None),
        _ => None,
    }
}

pub fn run_alarms(args: AlarmArgs) -> anyhow::Result<ExitCode> {
    let Some(open) = alarm_state(&args.state) else {
        eprintln!(
            "错误：--state 应为 open、ended 或 all，收到“{}”",
            args.state
        );
        return Ok(ExitCode::FAILURE);
    };
    let config = args.config.load()?;
    let list = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        if args.scan {
            let run = gongjian_app::alarms::run_alarms(&db, gongjian_storage::now()).await;
            if let Err(e) = run {
                db.close().await;
                return Err(anyhow::Error::from(e));
            }
        }
        let list = db
            .alarms()
            .list(&AlarmFilter {
                open,
                since: since_ts(args.since),
                ..AlarmFilter::default()
            })
            .await;
        db.close().await;
        Ok(list?)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        for a in &list {
            println!(
                "#{}\t{}\t{}\t{}\t{}",
                a.id,
                if a.is_open() {
                    "报警中"
                } else {
                    "已结束"
                },
                gongjian_standards::cst::local_text(a.started_at),
                a.site_name,
                a.summary
            );
        }
        println!("共 {} 条报警", list.len());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_cases(args: CaseArgs) -> anyhow::Result<ExitCode> {
    let (state, open) = match args.state.as_str() {
        "all" => (None, false),
        "open" => (None, true),
        s => match CaseState::parse(s) {
            Some(st) => (Some(st), false),
            None => {
                eprintln!(
                    "错误：未知的督办单状态“{s}”（open、all、pending、rectifying、verifying、verified、returned、closed、reopened）"
                );
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let config = args.config.load()?;
    let list = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let list = db
            .cases()
            .list(&CaseFilter {
                state,
                open,
                since: since_ts(args.since),
                ..CaseFilter::default()
            })
            .await;
        db.close().await;
        anyhow::Ok(list?)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        for c in &list {
            println!(
                "{}\t{}{}\t{}\t{}\t办结时限 {}",
                c.number,
                c.state().label(),
                if c.overdue { "（逾期）" } else { "" },
                c.organisation,
                c.title,
                c.due_on
            );
        }
        println!("共 {} 件督办单", list.len());
    }
    Ok(ExitCode::SUCCESS)
}
