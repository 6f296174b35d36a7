//! `gongjian aqi`: one AQI report (HJ 633) from concentrations given on the
//! command line. The contract is documented in docs/cli/aqi-evaluate-air.md.

use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Context, bail};
use chrono::{Duration, NaiveDate};
use gongjian_standards::aqi::{self, AqiReport, DailyInput, HourlyInput, Indicator};
use gongjian_standards::evaluation::parse_hour_end;
use gongjian_standards::rules::{AqiRules, Edition};
use rust_decimal::Decimal;
use serde::Serialize;
use serde::ser::SerializeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Report {
    /// Real-time report from 1-h values.
    Hourly,
    /// Daily report from daily values.
    Daily,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// hourly (real-time, 1-h values) or daily.
    #[arg(long, value_enum)]
    report: Report,
    /// Hourly: the hour's end, e.g. 2026-03-10T08; daily: the date, e.g.
    /// 2026-03-10. Chooses the rule set unless --rules is given.
    #[arg(long)]
    time: String,
    /// Force a rule set: 2012 (HJ 633-2012) or 2026 (HJ 633-2026).
    #[arg(long)]
    rules: Option<Edition>,
    /// Concentrations as key=value (µg/m³, CO mg/m³): so2 no2 co o3 pm10
    /// pm25 (hourly; so2_24h only for the 2012 SO2 > 800 rule) or so2 no2 co
    /// pm10 pm25 o3_8h o3_max1h (daily). An absent item is missing.
    #[arg(value_name = "ITEM=VALUE")]
    items: Vec<String>,
}

/// Keys accepted per report.
const HOURLY_KEYS: [&str; 7] = ["so2", "no2", "co", "o3", "pm10", "pm25", "so2_24h"];
const DAILY_KEYS: [&str; 7] = ["so2", "no2", "co", "pm10", "pm25", "o3_8h", "o3_max1h"];

fn date_of(report: Report, time: &str) -> anyhow::Result<NaiveDate> {
    match report {
        Report::Hourly => {
            let end = parse_hour_end(time).with_context(|| {
                format!(
                    "--time `{time}`: expected the hour's end, e.g. 2026-03-10T08 (时间格式错误)"
                )
            })?;
            // The hour ending 2026-03-01T00 belongs to 28 February.
            Ok((end - Duration::hours(1)).date())
        }
        Report::Daily => {
            let t = time.trim();
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .or_else(|| parse_hour_end(t).map(|e| (e - Duration::hours(1)).date()))
                .with_context(|| {
                    format!("--time `{time}`: expected a date, e.g. 2026-03-10 (日期格式错误)")
                })
        }
    }
}

fn parse_items(report: Report, items: &[String]) -> anyhow::Result<Vec<(String, Option<Decimal>)>> {
    let allowed: &[&str] = match report {
        Report::Hourly => &HOURLY_KEYS,
        Report::Daily => &DAILY_KEYS,
    };
    let mut out: Vec<(String, Option<Decimal>)> = Vec::new();
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            bail!("`{item}`: expected ITEM=VALUE, e.g. pm25=75 (参数格式应为 项目=浓度)");
        };
        let key = key.trim().to_ascii_lowercase();
        let key = if key == "pm2.5" {
            "pm25".to_owned()
        } else {
            key
        };
        if !allowed.contains(&key.as_str()) {
            let hint = match (report, key.as_str()) {
                (Report::Hourly, "o3_8h" | "o3_max1h") => {
                    " — the real-time report uses the O3 1-h value (o3=)".to_owned()
                }
                (Report::Daily, "o3") => {
                    " — the daily report takes o3_8h (daily max 8-h) and o3_max1h (daily max 1-h)"
                        .to_owned()
                }
                _ => String::new(),
            };
            bail!(
                "unknown item `{key}` for the {} report; expected one of {}{hint} (未知项目)",
                match report {
                    Report::Hourly => "hourly",
                    Report::Daily => "daily",
                },
                allowed.join(", ")
            );
        }
        if out.iter().any(|(k, _)| *k == key) {
            bail!("item `{key}` given twice (项目重复)");
        }
        let value = value.trim();
        let value = if value.is_empty() {
            None
        } else {
            let d = Decimal::from_str(value).map_err(|_| {
                anyhow::anyhow!("{key}=`{value}`: not a decimal number (浓度不是数字)")
            })?;
            if d.is_sign_negative() && !d.is_zero() {
                bail!("{key}={value}: a concentration cannot be negative (浓度不能为负)");
            }
            Some(d)
        };
        out.push((key, value));
    }
    Ok(out)
}

fn get(items: &[(String, Option<Decimal>)], key: &str) -> Option<Decimal> {
    items.iter().find(|(k, _)| k == key).and_then(|(_, v)| *v)
}

/// Output key of an indicator in a report.
fn key_of(report: Report, i: Indicator) -> &'static str {
    match (report, i) {
        (_, Indicator::So2_1h | Indicator::So2_24h) => "so2",
        (_, Indicator::No2_1h | Indicator::No2_24h) => "no2",
        (_, Indicator::Co_1h | Indicator::Co_24h) => "co",
        (Report::Hourly, Indicator::O3_1h) => "o3",
        (Report::Daily, Indicator::O3_1h) => "o3_max1h",
        (_, Indicator::O3_8h) => "o3_8h",
        (_, Indicator::Pm10_24h) => "pm10",
        (_, Indicator::Pm25_24h) => "pm25",
    }
}

/// An ordered JSON object of optional values.
struct Ordered<T>(Vec<(&'static str, Option<T>)>);

impl<T: Serialize> Serialize for Ordered<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Output {
    rules: &'static str,
    report: &'static str,
    time: String,
    aqi: Option<u16>,
    published: bool,
    level: Option<u8>,
    category: Option<&'static str>,
    color: Option<&'static str>,
    primary: Option<Vec<&'static str>>,
    iaqi: Ordered<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exceedance: Option<Vec<&'static str>>,
    /// The AQI of the available items, also when not published.
    aqi_computed: Option<u16>,
    missing: Vec<&'static str>,
    /// Concentrations as scored (after HJ 633-2026 rounding), exact decimals.
    concentration: Ordered<Decimal>,
    /// Special rules applied per item.
    notes: Ordered<String>,
}

fn output(report: Report, time: &str, r: &AqiReport) -> Output {
    let published = r.published;
    let level = r.level().filter(|_| published);
    let names = |set: aqi::IndicatorSet| set.iter().map(Indicator::name).collect::<Vec<_>>();
    Output {
        rules: r.rules.code(),
        report: match report {
            Report::Hourly => "hourly",
            Report::Daily => "daily",
        },
        time: time.trim().to_owned(),
        aqi: r.published_aqi(),
        published,
        level: level.map(|l| l.number()),
        category: level.map(|l| l.category()),
        color: level.map(|l| l.color()),
        primary: published.then(|| names(r.primary)),
        iaqi: Ordered(
            r.entries()
                .map(|e| (key_of(report, e.indicator), e.iaqi.map(|i| i.value)))
                .collect(),
        ),
        exceedance: (r.rules == AqiRules::Hj633_2012).then(|| names(r.exceedance)),
        aqi_computed: r.aqi,
        missing: r.missing.iter().map(|i| key_of(report, i)).collect(),
        concentration: Ordered(
            r.entries()
                .map(|e| (key_of(report, e.indicator), e.concentration))
                .collect(),
        ),
        notes: Ordered(
            r.entries()
                .filter_map(|e| {
                    let note = e.iaqi.and_then(|i| i.note)?;
                    Some((
                        key_of(report, e.indicator),
                        Some(note_text(note).to_owned()),
                    ))
                })
                .collect(),
        ),
    }
}

fn note_text(n: aqi::IaqiNote) -> &'static str {
    match n {
        aqi::IaqiNote::AboveScale => "above_scale: 超出上限, IAQI 500",
        aqi::IaqiNote::So2Over800Fixed => "so2_1h>800: IAQI 200 (HJ 633-2026 表3 注b)",
        aqi::IaqiNote::O3Over800Fixed => "o3_8h>800: IAQI 300 (HJ 633-2026 表3 注c)",
        aqi::IaqiNote::FromSo2_24h => "so2_1h>800: IAQI from the 24-h mean (HJ 633-2012 表1 注2)",
        aqi::IaqiNote::FromO3_1h => "o3_8h>800: IAQI from the 1-h value (HJ 633-2012 表1 注3)",
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let date = date_of(args.report, &args.time)?;
    let rules = match args.rules {
        Some(e) => match e {
            Edition::E2012 => AqiRules::Hj633_2012,
            Edition::E2026 => AqiRules::Hj633_2026,
        },
        None => AqiRules::for_date(date),
    };
    let items = parse_items(args.report, &args.items)?;
    let report = match args.report {
        Report::Hourly => aqi::hourly(
            rules,
            &HourlyInput {
                so2: get(&items, "so2"),
                no2: get(&items, "no2"),
                co: get(&items, "co"),
                o3: get(&items, "o3"),
                pm10: get(&items, "pm10"),
                pm25: get(&items, "pm25"),
                so2_24h: get(&items, "so2_24h"),
            },
        )?,
        Report::Daily => aqi::daily(
            rules,
            &DailyInput {
                so2: get(&items, "so2"),
                no2: get(&items, "no2"),
                co: get(&items, "co"),
                pm10: get(&items, "pm10"),
                pm25: get(&items, "pm25"),
                o3_8h: get(&items, "o3_8h"),
                o3_1h_max: get(&items, "o3_max1h"),
            },
        )?,
    };
    println!(
        "{}",
        serde_json::to_string(&output(args.report, &args.time, &report))?
    );
    Ok(ExitCode::SUCCESS)
}
