//! `gongjian targets [--year Y] --json`: every target of the plan with its
//! current, year-to-date and last-year values, on-track flag, allowance and
//! the rule sets used.

use std::process::ExitCode;

use chrono::Datelike;

use super::platform::{ConfigArgs, open_db, runtime};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Year to evaluate, against the campaign loaded for it (default: this year).
    #[arg(long)]
    pub year: Option<i32>,
    /// Print JSON (one array of targets).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    use gongjian_app::{air, now_local, targets as t};
    let config = args.config.load()?;
    let year = args.year.unwrap_or_else(|| now_local().year());
    let rows = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let loaded = match gongjian_app::plan::require_campaign_for_year(&db, year).await {
            Ok(l) => l,
            Err(e) => {
                db.close().await;
                return anyhow::Ok(Err(e));
            }
        };
        let plan = &*loaded.plan;
        let data = air::load_air(&db, year).await?;
        let other =
            t::other_measures(&db, plan, year, t::status_month(year, now_local().date())).await?;
        db.close().await;
        anyhow::Ok(Ok(t::target_statuses(plan, &data, &other)))
    })?;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("错误：{}", e.user_message());
            return Ok(ExitCode::FAILURE);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for r in &rows {
            let v = |x: &Option<t::Figure>| x.as_ref().map_or("—".to_owned(), ToString::to_string);
            println!(
                "{}\t{} {}{}\t年累计 {}\t去年同期 {}\t{}\t{}",
                r.indicator,
                r.comparator,
                r.value.map(|d| d.to_string()).unwrap_or_default(),
                r.unit,
                v(&r.ytd),
                v(&r.last_year),
                r.progress_text(),
                r.allowance_text()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
