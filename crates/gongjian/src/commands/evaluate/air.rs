//! `gongjian evaluate air`: hourly station data → daily rows and a period
//! summary per station (HJ 633, GB 3095, HJ 663), plus the all-station
//! (district) values and a ranking when there are several stations. The
//! contract is documented in docs/cli/aqi-evaluate-air.md.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use gongjian_standards::aqi::Indicator;
use gongjian_standards::evaluation::{
    self, DailyRecord, HourRecord, IndexVariant, Options, PerPollutant, PeriodSummary, Pollutant,
    ZoneClass,
};
use gongjian_standards::rules::Edition;
use gongjian_tabular::{Cell, Sheet, Table};
use rust_decimal::Decimal;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Class {
    /// GB 3095 class 1 areas.
    #[value(name = "1")]
    One,
    /// GB 3095 class 2 areas (default).
    #[value(name = "2")]
    Two,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file (.csv in UTF-8 or GBK, or .xlsx): columns
    /// station,time,so2,no2,co,o3,pm10,pm25 (hourly means; time = hour end).
    #[arg(long)]
    input: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Force a rule set (2012 or 2026) instead of choosing by the date of each day.
    #[arg(long)]
    rules: Option<Edition>,
    /// Output file (required for xlsx; stdout otherwise).
    #[arg(long)]
    output: Option<PathBuf>,
    /// GB 3095 functional-zone class for the limits.
    #[arg(long, value_enum, default_value = "2")]
    class: Class,
    /// Use the UNVERIFIED weighted "2026" comprehensive index instead of the
    /// 环办监测〔2018〕19号 index.
    #[arg(long)]
    weighted_index_unverified: bool,
}

/// One station's hours with the source line of each.
struct Series<'a> {
    name: &'a str,
    hours: Vec<HourRecord>,
    lines: Vec<u64>,
}

const COLUMNS: [&str; 8] = ["station", "time", "so2", "no2", "co", "o3", "pm10", "pm25"];

fn map_columns(table: &Table) -> anyhow::Result<[Option<usize>; 8]> {
    let mut map = [None; 8];
    for (c, h) in table.headers().iter().enumerate() {
        let key = h.trim().to_ascii_lowercase();
        let key = match key.as_str() {
            "pm2.5" | "pm2_5" => "pm25",
            k => k,
        };
        let Some(k) = COLUMNS.iter().position(|x| *x == key) else {
            return Err(table
                .header_error(
                    c,
                    format!(
                        "unknown column `{h}`; expected {} (未知列)",
                        COLUMNS.join(",")
                    ),
                )
                .into());
        };
        if map[k].is_some() {
            return Err(table
                .header_error(c, format!("column `{h}` appears twice (列重复)"))
                .into());
        }
        map[k] = Some(c);
    }
    for (k, name) in COLUMNS.iter().enumerate().take(2) {
        if map[k].is_none() {
            bail!(
                "{}: missing the `{name}` column (缺少 {name} 列)",
                table.source()
            );
        }
    }
    if map[2..].iter().all(Option::is_none) {
        bail!(
            "{}: no pollutant column (so2,no2,co,o3,pm10,pm25) (缺少污染物列)",
            table.source()
        );
    }
    Ok(map)
}

fn parse_table(table: &Table) -> anyhow::Result<Vec<Series<'_>>> {
    let map = map_columns(table)?;
    let (station_col, time_col) = (map[0].unwrap_or(0), map[1].unwrap_or(1));
    let pollutant_cols: Vec<(Pollutant, usize)> = Pollutant::ALL
        .into_iter()
        .zip(&map[2..])
        .filter_map(|(p, c)| c.map(|c| (p, c)))
        .collect();
    let mut series: Vec<Series<'_>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut last: Option<usize> = None;
    for row in table.rows() {
        let name = row.get(station_col);
        if name.is_empty() {
            return Err(row.error(station_col, "station is blank (站点为空)").into());
        }
        let s = match last {
            Some(i) if series[i].name == name => i,
            _ => *index.entry(name).or_insert_with(|| {
                series.push(Series {
                    name,
                    hours: Vec::with_capacity(8784),
                    lines: Vec::with_capacity(8784),
                });
                series.len() - 1
            }),
        };
        last = Some(s);
        let time_text = row.get(time_col);
        let Some(end) = evaluation::parse_hour_end(time_text) else {
            return Err(row
                .error(
                    time_col,
                    format!(
                        "`{time_text}` is not an hour-end time such as 2026-03-10 08:00 (时间格式错误)"
                    ),
                )
                .into());
        };
        let mut values: PerPollutant<Option<Decimal>> = PerPollutant::default();
        for &(p, c) in &pollutant_cols {
            let text = row.get(c);
            if text.is_empty() {
                continue;
            }
            let v: Decimal = text
                .parse()
                .map_err(|_| row.error(c, format!("`{text}` is not a number (不是有效数字)")))?;
            if v.is_sign_negative() && !v.is_zero() {
                return Err(row
                    .error(c, format!("{v} is negative (浓度不能为负)"))
                    .into());
            }
            values[p] = Some(v);
        }
        let ser = &mut series[s];
        if let (Some(prev), Some(prev_line)) = (ser.hours.last(), ser.lines.last())
            && end <= prev.end
        {
            return Err(row
                .error(
                    time_col,
                    format!(
                        "time {time_text} of station {name} is not after the previous one at line {prev_line} (时间顺序错误)"
                    ),
                )
                .into());
        }
        ser.hours.push(HourRecord { end, values });
        ser.lines.push(row.line());
    }
    Ok(series)
}

/// A flat daily row for every output format.
#[derive(Serialize)]
struct DailyRow<'a> {
    station: &'a str,
    date: String,
    rules: &'static str,
    limits: &'static str,
    so2: Option<Decimal>,
    no2: Option<Decimal>,
    co: Option<Decimal>,
    pm10: Option<Decimal>,
    pm25: Option<Decimal>,
    o3_8h_max: Option<Decimal>,
    o3_1h_max: Option<Decimal>,
    aqi: Option<u16>,
    aqi_computed: Option<u16>,
    published: bool,
    level: Option<u8>,
    category: Option<&'static str>,
    /// `None` when the AQI is not published: "no primary pollutant" (`[]`)
    /// would claim a judgement that was not made.
    primary: Option<Vec<&'static str>>,
    /// Valid hours (daily means) / valid 8-h windows (O₃).
    counts: PerPollutant<u8>,
    /// All six daily values valid.
    valid: bool,
}

fn daily_row<'a>(station: &'a str, d: &DailyRecord) -> DailyRow<'a> {
    let published = d.aqi.published;
    let level = d.aqi.level().filter(|_| published);
    let mut counts = PerPollutant::default();
    for p in Pollutant::ALL {
        counts[p] = d.values[p].count;
    }
    DailyRow {
        station,
        date: d.date.to_string(),
        rules: d.rules.aqi.code(),
        limits: d.rules.limits.code(),
        so2: d.values.so2.value,
        no2: d.values.no2.value,
        co: d.values.co.value,
        pm10: d.values.pm10.value,
        pm25: d.values.pm25.value,
        o3_8h_max: d.values.o3.value,
        o3_1h_max: d.o3_max_1h.value,
        aqi: d.aqi.published_aqi(),
        aqi_computed: d.aqi.aqi,
        published,
        level: level.map(|l| l.number()),
        category: level.map(|l| l.category()),
        primary: published.then(|| d.aqi.primary.iter().map(Indicator::name).collect()),
        counts,
        valid: Pollutant::ALL.iter().all(|&p| d.values[p].value.is_some()),
    }
}

#[derive(Serialize)]
struct StationOut<'a> {
    station: &'a str,
    hours: usize,
    daily: Vec<DailyRow<'a>>,
    summary: PeriodSummary,
}

#[derive(Serialize)]
struct RankRow<'a> {
    station: &'a str,
    comprehensive_index: Option<Decimal>,
    rank: Option<u32>,
}

#[derive(Serialize)]
struct Output<'a> {
    input: String,
    rules_forced: Option<Edition>,
    index_variant: IndexVariant,
    stations: Vec<StationOut<'a>>,
    /// All stations together (district value): present with ≥ 2 stations.
    region: Option<StationOut<'a>>,
    ranking: Vec<RankRow<'a>>,
}

const REGION: &str = "全部站点";

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.format == Format::Xlsx && args.output.is_none() {
        bail!("--format xlsx needs --output FILE.xlsx (xlsx 格式须指定输出文件)");
    }
    let table = gongjian_tabular::read_path(&args.input)?;
    let series = parse_table(&table)?;
    if series.is_empty() {
        bail!("{}: no data rows (没有数据行)", table.source());
    }
    let opts = Options {
        force: args.rules,
        class: match args.class {
            Class::One => ZoneClass::One,
            Class::Two => ZoneClass::Two,
        },
        index: if args.weighted_index_unverified {
            IndexVariant::Weighted2026Unverified
        } else {
            IndexVariant::Hj2018
        },
    };
    let mut stations = Vec::with_capacity(series.len());
    let mut all_days: Vec<Vec<DailyRecord>> = Vec::with_capacity(series.len());
    for s in &series {
        let days = evaluation::daily_records(&s.hours, &opts).map_err(|e| {
            // Checked while parsing; map any remaining error to its line.
            let line = match &e {
                evaluation::EvalError::OutOfOrder { index, .. }
                | evaluation::EvalError::NotOnTheHour { index, .. }
                | evaluation::EvalError::Negative { index, .. } => s.lines[*index],
            };
            anyhow::anyhow!("{}, line {line}: {e}", table.source())
        })?;
        let (from, to) = (days[0].date, days[days.len() - 1].date);
        let summary = evaluation::summarize(&days, from, to, &opts);
        stations.push(StationOut {
            station: s.name,
            hours: s.hours.len(),
            daily: days.iter().map(|d| daily_row(s.name, d)).collect(),
            summary,
        });
        all_days.push(days);
    }
    let region = (series.len() > 1).then(|| {
        let refs: Vec<&[DailyRecord]> = all_days.iter().map(Vec::as_slice).collect();
        let days = evaluation::combine_stations(&refs, &opts);
        let (from, to) = (days[0].date, days[days.len() - 1].date);
        StationOut {
            station: REGION,
            hours: series.iter().map(|s| s.hours.len()).sum(),
            daily: days.iter().map(|d| daily_row(REGION, d)).collect(),
            summary: evaluation::summarize(&days, from, to, &opts),
        }
    });
    let totals: Vec<Option<Decimal>> = stations
        .iter()
        .map(|s| s.summary.comprehensive_index.as_ref().map(|c| c.total))
        .collect();
    let present: Vec<Decimal> = totals.iter().flatten().copied().collect();
    let ranks = evaluation::rank(&present);
    let mut next = ranks.into_iter();
    let ranking = stations
        .iter()
        .zip(&totals)
        .map(|(s, t)| RankRow {
            station: s.station,
            comprehensive_index: *t,
            rank: t.and_then(|_| next.next()),
        })
        .collect();
    let out = Output {
        input: table.source().to_owned(),
        rules_forced: args.rules,
        index_variant: opts.index,
        stations,
        region,
        ranking,
    };
    write_output(&args, &out)?;
    Ok(ExitCode::SUCCESS)
}

fn write_output(args: &Args, out: &Output<'_>) -> anyhow::Result<()> {
    match args.format {
        Format::Json => {
            let mut w: Box<dyn Write> = match &args.output {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            serde_json::to_writer(&mut w, out)?;
            writeln!(w)?;
            w.flush()?;
        }
        Format::Csv => {
            let (daily, summary) = sheets(out);
            match &args.output {
                Some(p) => {
                    gongjian_tabular::write_csv_path(p, &daily)?;
                    let sp = summary_path(p);
                    gongjian_tabular::write_csv_path(&sp, &summary)?;
                    eprintln!("summary written to {}", sp.display());
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = std::io::BufWriter::new(stdout.lock());
                    gongjian_tabular::write_csv("stdout", &mut w, &daily)?;
                    writeln!(w)?;
                    gongjian_tabular::write_csv("stdout", &mut w, &summary)?;
                    w.flush()?;
                }
            }
        }
        Format::Xlsx => {
            let (daily, summary) = sheets(out);
            let p = args
                .output
                .as_ref()
                .context("--output is required for xlsx")?;
            gongjian_tabular::write_xlsx_path(p, &[daily, summary])?;
        }
    }
    Ok(())
}

/// `out.csv` → `out.summary.csv`.
fn summary_path(p: &std::path::Path) -> PathBuf {
    let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("output");
    p.with_file_name(format!("{stem}.summary.csv"))
}

fn dec(v: Option<Decimal>) -> Cell {
    v.map_or(Cell::Empty, Cell::Number)
}

fn opt_bool(v: Option<bool>) -> Cell {
    match v {
        Some(true) => Cell::from("是"),
        Some(false) => Cell::from("否"),
        None => Cell::Empty,
    }
}

fn sheets(out: &Output<'_>) -> (Sheet, Sheet) {
    let mut daily = Sheet {
        name: "daily".into(),
        headers: [
            "station",
            "date",
            "rules",
            "limits",
            "so2",
            "no2",
            "co",
            "pm10",
            "pm25",
            "o3_8h_max",
            "o3_1h_max",
            "aqi",
            "aqi_computed",
            "published",
            "level",
            "category",
            "primary",
            "so2_hours",
            "no2_hours",
            "co_hours",
            "o3_8h_windows",
            "pm10_hours",
            "pm25_hours",
            "valid",
        ]
        .map(String::from)
        .to_vec(),
        rows: Vec::new(),
    };
    let all = out.stations.iter().chain(out.region.iter());
    for s in all.clone() {
        for r in &s.daily {
            daily.rows.push(vec![
                Cell::from(r.station),
                Cell::from(r.date.clone()),
                Cell::from(r.rules),
                Cell::from(r.limits),
                dec(r.so2),
                dec(r.no2),
                dec(r.co),
                dec(r.pm10),
                dec(r.pm25),
                dec(r.o3_8h_max),
                dec(r.o3_1h_max),
                r.aqi.map_or(Cell::Empty, |a| Cell::Int(a.into())),
                r.aqi_computed.map_or(Cell::Empty, |a| Cell::Int(a.into())),
                opt_bool(Some(r.published)),
                r.level.map_or(Cell::Empty, |a| Cell::Int(a.into())),
                r.category.map_or(Cell::Empty, Cell::from),
                r.primary
                    .as_ref()
                    .map_or(Cell::Empty, |p| Cell::from(p.join(","))),
                Cell::Int(r.counts.so2.into()),
                Cell::Int(r.counts.no2.into()),
                Cell::Int(r.counts.co.into()),
                Cell::Int(r.counts.o3.into()),
                Cell::Int(r.counts.pm10.into()),
                Cell::Int(r.counts.pm25.into()),
                opt_bool(Some(r.valid)),
            ]);
        }
    }
    let mut headers: Vec<String> = ["station", "from", "to", "period", "limits", "aqi_rules"]
        .map(String::from)
        .to_vec();
    for p in Pollutant::ALL {
        let c = p.code();
        let pct = p.annual_percentile();
        for h in [
            format!("{c}_valid_days"),
            format!("{c}_coverage_ok"),
            format!("{c}_mean"),
            format!("{c}_p{pct}"),
            format!("{c}_mean_exceedance_multiple"),
            format!("{c}_p{pct}_exceedance_multiple"),
            format!("{c}_daily_compliance_rate"),
            format!("{c}_compliant"),
        ] {
            headers.push(h);
        }
    }
    for h in [
        "compliant",
        "aqi_valid_days",
        "good_days",
        "good_ratio",
        "polluted_days",
        "heavy_days",
        "severe_days",
        "comprehensive_index",
        "rank",
    ] {
        headers.push(h.into());
    }
    let mut summary = Sheet {
        name: "summary".into(),
        headers,
        rows: Vec::new(),
    };
    for s in all {
        let m = &s.summary;
        let mut row = vec![
            Cell::from(s.station),
            Cell::from(m.from.to_string()),
            Cell::from(format!("{:?}", m.kind).to_lowercase()),
            Cell::from(m.limits.code()),
            Cell::from(
                m.aqi_rules
                    .iter()
                    .map(|r| r.code())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ];
        row.insert(2, Cell::from(m.to.to_string()));
        for p in Pollutant::ALL {
            let ps = m.pollutant(p);
            row.extend([
                Cell::Int(ps.valid_days.into()),
                opt_bool(ps.coverage_ok),
                dec(ps.mean),
                dec(ps.percentile_value),
                dec(ps.mean_exceedance_multiple),
                dec(ps.percentile_exceedance_multiple),
                dec(ps.daily_compliance_rate),
                opt_bool(ps.compliant),
            ]);
        }
        let rank = out
            .ranking
            .iter()
            .find(|r| r.station == s.station)
            .and_then(|r| r.rank);
        row.extend([
            opt_bool(m.compliant),
            Cell::Int(m.aqi_days.valid_days.into()),
            Cell::Int(m.aqi_days.good_days.into()),
            dec(m.aqi_days.good_ratio),
            Cell::Int(m.aqi_days.polluted_days.into()),
            Cell::Int(m.aqi_days.heavy_days.into()),
            Cell::Int(m.aqi_days.severe_days.into()),
            dec(m.comprehensive_index.as_ref().map(|c| c.total)),
            rank.map_or(Cell::Empty, |r| Cell::Int(r.into())),
        ]);
        summary.rows.push(row);
    }
    (daily, summary)
}
