//! `gongjian import air FILE.csv|xlsx`: load hourly air-station data (the
//! `evaluate air` column layout) into the platform, idempotent per
//! (station, hour); rejected rows are listed with file, line and column.

use std::path::PathBuf;
use std::process::ExitCode;

use gongjian_storage::Actor;

use super::platform::{ConfigArgs, open_db, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Import hourly air-station data: columns station,time,so2,no2,co,o3,pm10,pm25
    /// or their Chinese names (time = the hour's END, local time; blank = missing;
    /// CSV in UTF-8/GBK or XLSX), or a national real-time publication file
    /// (timepoint,stationcode,… or china_sites_YYYYMMDD.csv: only registered
    /// stations are imported).
    Air(AirArgs),
}

#[derive(Debug, clap::Args)]
pub struct AirArgs {
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
        Command::Air(args) => air(args),
    }
}

fn air(args: AirArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let table = gongjian_tabular::read_path(&args.file)?;
    let parsed = gongjian_targets::import::parse_air(&table)?;
    let outcome = runtime()?.block_on(async {
        let db = open_db(&config).await?;
        let out =
            gongjian_app::air::import_parsed(&db, &Actor::cli(), table.source(), &parsed).await?;
        db.close().await;
        anyhow::Ok(out)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        println!(
            "{}: {} 行导入（{} 个值新写入或更新，{} 个值未变），站点 {}{}",
            outcome.file,
            outcome.accepted,
            outcome.written,
            outcome.unchanged,
            outcome.stations.join(","),
            outcome.skipped_text()
        );
    }
    for r in &outcome.rejected {
        eprintln!("rejected: {r}");
    }
    Ok(if outcome.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("{} 行被拒绝 (rows rejected)", outcome.rejected.len());
        ExitCode::from(2)
    })
}

/// Demo stations: code, name, township (an organisation of the plan).
const DEMO_STATIONS: &[(&str, &str, &str)] = &[
    ("PY001", "原武镇站", "原武镇"),
    ("PY002", "师寨镇站", "师寨镇"),
    ("PY003", "祝楼乡站", "祝楼乡"),
    ("PY004", "龙源街道站", "龙源街道办事处"),
];

/// The seed of one station-hour of demo data.
fn hour_seed(station: u64, at: i64) -> u64 {
    Rng(station.wrapping_mul(0x5EED_0000) ^ at as u64).next()
}

/// The district's "weather" of a day (percent, 40..=160): the mean of the
/// day's and the three days before's draws, so it varies slowly, the same
/// at every station and on every start.
fn demo_weather(day: chrono::NaiveDate) -> i64 {
    (0..4)
        .map(|back| {
            let d = day - chrono::Duration::days(back);
            Rng(hour_seed(
                0,
                d.and_hms_opt(0, 0, 0)
                    .map_or(0, |t| t.and_utc().timestamp()),
            ))
            .below(121)
                + 40
        })
        .sum::<i64>()
        / 4
}

/// Deterministic pseudo-random numbers (SplitMix64) for demo data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Integer in 0..n.
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n.max(1)) as i64
    }
}

/// Plausible hourly air data for the demo stations: the whole of 2020 (so
/// the 2020 plan's targets can be shown) and the 365 days up to the current
/// hour, through the import path. Deterministic: same seed, same numbers.
pub async fn demo_air(db: &gongjian_storage::Db) -> anyhow::Result<ImportSummary> {
    use chrono::{Datelike, Duration, NaiveDate, Timelike};
    use gongjian_standards::evaluation::PerPollutant;
    use gongjian_targets::import::{ParsedFile, ParsedHour};
    use rust_decimal::Decimal;

    let actor = Actor::system("demo");
    let now = gongjian_app::now_local();
    let now_end = now.date().and_hms_opt(now.hour(), 0, 0).unwrap_or(now);
    // 2020 (the archived campaign) and last year to this hour: this year's
    // targets, their 同比 and a complete baseline year.
    let ranges = [
        (
            NaiveDate::from_ymd_opt(2020, 1, 1)
                .and_then(|d| d.and_hms_opt(1, 0, 0))
                .unwrap_or(now_end),
            NaiveDate::from_ymd_opt(2021, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap_or(now_end),
        ),
        (
            NaiveDate::from_ymd_opt(now.year() - 1, 1, 1)
                .and_then(|d| d.and_hms_opt(1, 0, 0))
                .unwrap_or(now_end)
                .max(
                    NaiveDate::from_ymd_opt(2021, 1, 1)
                        .and_then(|d| d.and_hms_opt(1, 0, 0))
                        .unwrap_or(now_end),
                ),
            now_end,
        ),
    ];
    // The stations are registered first, with their names and townships:
    // an air import takes only registered stations.
    for (code, name, township) in DEMO_STATIONS {
        let existing = db.monitoring().site_by_code(code).await?;
        let town = db
            .organisations()
            .organisation_by_name(township)
            .await?
            .map(|o| o.id);
        let site = gongjian_storage::NewSite {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            kind: "air_station".to_owned(),
            township_id: town,
            // The demo district has no national station: its township
            // stations count for its targets as well as for the ranking.
            station_class: Some(gongjian_campaign::StationClass::Township),
            assessment: gongjian_campaign::ScopeSetting::Both,
            ..Default::default()
        };
        db.monitoring()
            .save_site(&actor, existing.map(|s| s.id), &site, None, None)
            .await?;
    }
    let mut parsed = ParsedFile::default();
    for (i, (code, _, _)) in DEMO_STATIONS.iter().enumerate() {
        for (from, to) in ranges {
            let mut end = from;
            while end <= to {
                // Every value is a function of the station and the hour
                // alone: the demo shows the same figures on every start.
                let mut rng = Rng(hour_seed(i as u64 + 1, end.and_utc().timestamp()));
                let weather = demo_weather(end.date());
                let doy = i64::from(end.ordinal());
                // Winter high, summer low: 0..=100 season weight.
                let season = ((doy - 196).abs() * 100 / 183).clamp(0, 100);
                let hour = i64::from(end.hour());
                let diurnal = if (7..=10).contains(&hour) || hour >= 19 {
                    12
                } else {
                    0
                };
                let pm25 = (20 + season * 55 / 100 + diurnal) * weather / 100
                    + rng.below(9)
                    + i as i64 * 2;
                let pm10 = pm25 * 17 / 10 + rng.below(15);
                let o3 = (30 + (100 - season) * 85 / 100)
                    * (if (11..=17).contains(&hour) { 13 } else { 7 })
                    / 10
                    + rng.below(20);
                let so2 = 6 + season / 10 + rng.below(5);
                let no2 = 18 + season / 5 + diurnal + rng.below(10);
                let co = Decimal::new(4 + season / 12 + rng.below(4), 1);
                // About 1 % of hours missing.
                if rng.below(100) != 0 {
                    parsed.hours.push(ParsedHour {
                        station: (*code).to_owned(),
                        end,
                        values: PerPollutant {
                            so2: Some(Decimal::from(so2)),
                            no2: Some(Decimal::from(no2)),
                            co: Some(co),
                            o3: Some(Decimal::from(o3)),
                            pm10: Some(Decimal::from(pm10)),
                            pm25: Some(Decimal::from(pm25)),
                        },
                        line: 0,
                    });
                }
                end += Duration::hours(1);
            }
        }
    }
    let out = gongjian_app::air::import_parsed(db, &actor, "demo", &parsed).await?;
    Ok(ImportSummary {
        hours: out.accepted,
        stations: DEMO_STATIONS.len(),
    })
}

/// What the demo import loaded.
#[derive(Debug, Clone, Copy)]
pub struct ImportSummary {
    pub hours: usize,
    pub stations: usize,
}
