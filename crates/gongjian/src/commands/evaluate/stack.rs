//! `gongjian evaluate stack`: CEMS minute data of one stack → hourly means,
//! validity, converted (折算) concentrations, emission rates, exceedances and
//! daily values (HJ 75-2017, HJ 76-2017, a named limit set).
//!
//! Contract: docs/cli/evaluate-water-soil-stack.md.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::Context;
use chrono::NaiveDateTime;
use gongjian_standards::emission::{
    self, Basis, DayRecord, ExceedanceEvent, Flag, HourRecord, HourValue, LimitSet, MinuteRecord,
    MinuteValue, Pollutant, Thresholds,
};
use gongjian_tabular::{Cell, Sheet, Table};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::water::{
    Format, Problems, emit, opt_num, parse_decimal, parse_time, read_table, round, text,
};

/// Decimal places of published concentrations, O₂, flow, temperature and
/// moisture means.
const DP_CONC: u32 = 3;
/// Decimal places of published emission rates (kg/h) and totals (kg).
const DP_MASS: u32 = 6;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file: CSV (UTF-8 or GBK) or XLSX of minute records. Columns
    /// `time,o2,so2,nox,pm,flow,temperature,moisture,flag` (+ `<col>_flag`).
    #[arg(long)]
    pub input: PathBuf,
    /// Limit set name, e.g. pingyuan-2020-gas, gb13271-gas-special.
    #[arg(long)]
    pub limits: String,
    /// Override the set's reference O₂ (%), or `measured` to judge measured
    /// concentrations.
    #[arg(long)]
    pub reference_o2: Option<String>,
    /// Basis of the concentrations and O₂ in the file.
    #[arg(long, value_enum, default_value_t = BasisArg::Dry)]
    pub basis: BasisArg,
    /// Count minutes flagged S (manually entered) as valid.
    #[arg(long)]
    pub accept_manual: bool,
    /// Hourly O₂ (%) at or above which the source counts as stopped (no
    /// converted value, no exceedance); `none` to disable. Default 19.
    #[arg(long, default_value = "19")]
    pub o2_stop: String,
    /// Minutes each record averages (HJ 212 minute data: 1, 2, 3, 4, 5, 6,
    /// 10, 12, 15, 20 or 30), or `auto` to take the shortest gap between
    /// records. A valid 10-minute record counts as 10 valid minutes.
    #[arg(long, default_value = "auto")]
    pub interval: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BasisArg {
    Dry,
    Wet,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut set = emission::limit_set(&args.limits).with_context(|| {
        let names: Vec<String> = emission::builtin_limit_sets()
            .into_iter()
            .map(|s| s.name)
            .collect();
        format!(
            "未知的限值集 (unknown limit set) {:?}; known: {}",
            args.limits,
            names.join(", ")
        )
    })?;
    if let Some(r) = &args.reference_o2 {
        let o2 = if r.eq_ignore_ascii_case("measured") {
            None
        } else {
            let v = Decimal::from_str(r.trim())
                .ok()
                .filter(|v| *v >= Decimal::ZERO && *v < Decimal::from(21))
                .with_context(|| {
                    format!("--reference-o2 {r:?}: expected 0 ≤ O2 < 21 or `measured`")
                })?;
            Some(v)
        };
        set = set.with_reference_o2(o2);
    }
    let o2_stop_cutoff = if args.o2_stop.eq_ignore_ascii_case("none") {
        None
    } else {
        Some(
            Decimal::from_str(args.o2_stop.trim())
                .ok()
                .filter(|v| *v > Decimal::ZERO)
                .with_context(|| {
                    format!(
                        "--o2-stop {:?}: expected a percentage or `none`",
                        args.o2_stop
                    )
                })?,
        )
    };
    let th = Thresholds {
        accept_manual: args.accept_manual,
        o2_stop_cutoff,
        ..Thresholds::default()
    };
    let basis = match args.basis {
        BasisArg::Dry => Basis::Dry,
        BasisArg::Wet => Basis::Wet,
    };
    let interval = if args.interval.eq_ignore_ascii_case("auto") {
        None
    } else {
        Some(
            args.interval
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| emission::RECORD_INTERVALS.contains(n))
                .with_context(|| {
                    format!(
                        "--interval {:?}: 应为 auto 或 1、2、3、4、5、6、10、12、15、20、30 分钟 (expected auto or an HJ 212 minute-data interval)",
                        args.interval
                    )
                })?,
        )
    };
    let table = read_table(&args.input)?;
    let records = parse(&table, &set)?;
    let interval = match interval {
        Some(n) => n,
        None => emission::record_interval(&records).map_err(|e| {
            anyhow::anyhow!(
                "{}: 无法确定记录间隔，请用 --interval 指定 (cannot tell the record interval): {e}",
                table.source()
            )
        })?,
    };
    let hours = emission::hourly_at(&records, interval, &set, &th, basis)
        .map_err(|e| anyhow::anyhow!("{}: {e}", table.source()))?;
    if interval > 1 {
        eprintln!(
            "{}: 按 {interval} 分钟数据计，每条有效记录计 {interval} 个有效分钟 (records are {interval}-minute means)",
            table.source()
        );
    }
    let judged_any = hours
        .iter()
        .any(|h| h.pollutants.values().any(|p| p.measured.valid));
    if !hours.is_empty() && !judged_any {
        eprintln!(
            "{}: 警告：没有一个有效小时（每小时须有 ≥ {} 个有效分钟） (warning: no valid hour)",
            table.source(),
            th.min_minutes_per_hour
        );
    }
    let events = emission::exceedance_events(&hours);
    let days = emission::daily(&hours, &th);
    let (json, sheets) = output(&set, &th, basis, interval, &hours, &events, &days);
    emit(args.format, args.output.as_deref(), &json, sheets)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Time,
    O2,
    Flow,
    Temperature,
    Moisture,
    Flag,
    Pollutant(Pollutant),
    /// A per-parameter flag column: `o2_flag`, `so2_flag`, …
    FlagOf(Param),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Param {
    O2,
    Flow,
    Pollutant(Pollutant),
}

fn param(name: &str) -> Option<Param> {
    match name {
        "o2" => Some(Param::O2),
        "flow" => Some(Param::Flow),
        "so2" => Some(Param::Pollutant(Pollutant::So2)),
        "nox" => Some(Param::Pollutant(Pollutant::Nox)),
        "pm" | "dust" => Some(Param::Pollutant(Pollutant::Pm)),
        _ => None,
    }
}

fn column(name: &str) -> Option<Col> {
    Some(match name {
        "time" => Col::Time,
        "temperature" => Col::Temperature,
        "moisture" => Col::Moisture,
        "flag" => Col::Flag,
        other => match other.strip_suffix("_flag") {
            Some(p) => Col::FlagOf(param(p)?),
            None => match param(other)? {
                Param::O2 => Col::O2,
                Param::Flow => Col::Flow,
                Param::Pollutant(p) => Col::Pollutant(p),
            },
        },
    })
}

fn parse(table: &Table, set: &LimitSet) -> anyhow::Result<Vec<MinuteRecord>> {
    let mut problems = Problems::default();
    let mut cols: Vec<(usize, Col)> = Vec::new();
    for (c, h) in table.headers().iter().enumerate() {
        match column(&h.to_ascii_lowercase()) {
            Some(col) if cols.iter().any(|&(_, k)| k == col) => {
                problems.push(table.header_error(c, format!("重复的列 (duplicate column): {h}")))
            }
            Some(col) => cols.push((c, col)),
            None => problems.push(table.header_error(
                c,
                format!(
                    "未知的列 (unknown column): {h:?}; expected time, o2, so2, nox, pm, flow, temperature, moisture, flag or <o2|so2|nox|pm|flow>_flag"
                ),
            )),
        }
    }
    let find = |want: Col| cols.iter().find(|&&(_, k)| k == want).map(|&(c, _)| c);
    let file = table.source().to_string();
    let Some(time_col) = find(Col::Time) else {
        problems.push(table.header_error(0, "缺少 time 列 (the header needs `time`)"));
        return problems.finish(&file).map(|()| Vec::new());
    };
    if !cols.iter().any(|(_, k)| matches!(k, Col::Pollutant(_))) {
        problems.push(table.header_error(0, "没有污染物列 (no pollutant column: so2, nox or pm)"));
    }
    if set.reference_o2.is_some() && find(Col::O2).is_none() {
        problems.push(table.header_error(
            0,
            format!("限值集 {} 需要 o2 列折算 (the set converts to a reference O2: an `o2` column is needed)", set.name),
        ));
    }
    problems.finish(&file)?;

    let flag_col = find(Col::Flag);
    let mut out: Vec<MinuteRecord> = Vec::with_capacity(table.len());
    let mut last: Option<(NaiveDateTime, u64)> = None;
    for row in table.rows() {
        let time = match parse_time(row.get(time_col)) {
            Some(t) => t,
            None => {
                problems.push(row.error(
                    time_col,
                    format!("无法识别的时间 (unreadable time): {:?}", row.get(time_col)),
                ));
                continue;
            }
        };
        if let Some((prev, line)) = last
            && time <= prev
        {
            problems.push(row.error(
                time_col,
                format!(
                    "时间顺序错误 (time out of order): {time} is not after {prev} on line {line}"
                ),
            ));
        }
        if last.is_none_or(|(prev, _)| time > prev) {
            last = Some((time, row.line()));
        }
        let row_flag = match flag_col.map(|c| (c, row.get(c))) {
            None | Some((_, "")) => Flag::N,
            Some((c, t)) => match Flag::from_str(t) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(row.error(c, e.to_string()));
                    Flag::N
                }
            },
        };
        let flag_for = |p: Param, problems: &mut Problems| -> Flag {
            match find(Col::FlagOf(p)).map(|c| (c, row.get(c))) {
                None | Some((_, "")) => row_flag,
                Some((c, t)) => Flag::from_str(t).unwrap_or_else(|e| {
                    problems.push(row.error(c, e.to_string()));
                    row_flag
                }),
            }
        };
        let value = |c: usize, problems: &mut Problems| -> Option<Decimal> {
            if row.get(c).is_empty() {
                return None;
            }
            parse_decimal(&row, c).map_err(|e| problems.push(e)).ok()
        };
        let mut rec = MinuteRecord {
            time,
            o2: None,
            flow: None,
            temperature: None,
            moisture: None,
            pollutants: BTreeMap::new(),
        };
        for &(c, col) in &cols {
            match col {
                Col::O2 => {
                    let v = value(c, &mut problems);
                    if v.is_some_and(|x| x > Decimal::from(21)) {
                        problems.push(row.error(c, "O2 超过 21% (O2 above 21 %)"));
                    }
                    rec.o2 = Some(MinuteValue {
                        value: v,
                        flag: flag_for(Param::O2, &mut problems),
                    });
                }
                Col::Flow => {
                    rec.flow = Some(MinuteValue {
                        value: value(c, &mut problems),
                        flag: flag_for(Param::Flow, &mut problems),
                    })
                }
                Col::Pollutant(p) => {
                    rec.pollutants.insert(
                        p,
                        MinuteValue {
                            value: value(c, &mut problems),
                            flag: flag_for(Param::Pollutant(p), &mut problems),
                        },
                    );
                }
                Col::Temperature => {
                    // Flue temperature may in principle be below 0 °C; it
                    // is informational, but the contract rejects negatives
                    // like every other value.
                    rec.temperature = value(c, &mut problems);
                }
                Col::Moisture => {
                    let v = value(c, &mut problems);
                    if v.is_some_and(|x| x >= Decimal::from(100)) {
                        problems
                            .push(row.error(c, "湿度须小于 100% (moisture must be below 100 %)"));
                    }
                    rec.moisture = v;
                }
                Col::Time | Col::Flag | Col::FlagOf(_) => {}
            }
        }
        out.push(rec);
    }
    problems.finish(&file)?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

fn r3(d: Option<Decimal>) -> Option<Decimal> {
    d.map(|v| round(v, DP_CONC))
}

fn r6(d: Option<Decimal>) -> Option<Decimal> {
    d.map(|v| round(v, DP_MASS))
}

fn hour_value_json(h: &HourValue) -> Value {
    json!({
        "mean": r3(h.mean), "min": r3(h.min), "max": r3(h.max),
        "valid_minutes": h.valid_minutes, "minutes": h.minutes, "valid": h.valid,
        "flags": h.flags.iter().map(|(f, n)| (f.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
    })
}

fn flags_text(h: &HourValue) -> String {
    h.flags
        .iter()
        .map(|(f, n)| format!("{f}{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn status_text(s: emission::HourStatus) -> &'static str {
    match s {
        emission::HourStatus::Valid => "valid",
        emission::HourStatus::InvalidPollutant => "invalid_pollutant",
        emission::HourStatus::InvalidO2 => "invalid_o2",
        emission::HourStatus::Stopped => "stopped",
        emission::HourStatus::NotInForce => "not_in_force",
    }
}

fn output(
    set: &LimitSet,
    th: &Thresholds,
    basis: Basis,
    interval: u32,
    hours: &[HourRecord],
    events: &[ExceedanceEvent],
    days: &[DayRecord],
) -> (Value, Vec<Sheet>) {
    let pollutants: Vec<Pollutant> = Pollutant::CEMS
        .into_iter()
        .filter(|p| hours.iter().any(|h| h.pollutants.contains_key(p)))
        .collect();

    // Hours.
    let mut headers: Vec<String> = [
        "hour_end",
        "o2",
        "o2_valid_minutes",
        "flow",
        "flow_valid_minutes",
        "temperature",
        "moisture",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for p in &pollutants {
        for f in [
            "measured",
            "valid_minutes",
            "valid",
            "flags",
            "converted",
            "rate_kg_h",
            "limit",
            "exceeds",
            "multiple",
            "status",
        ] {
            headers.push(format!("{p}_{f}"));
        }
    }
    let mut hour_rows = Vec::new();
    let mut hours_json = Vec::new();
    for h in hours {
        let mut row = vec![
            text(h.hour_end.format("%Y-%m-%dT%H:%M").to_string()),
            opt_num(r3(h.o2.mean)),
            Cell::Int(h.o2.valid_minutes.into()),
            opt_num(r3(h.flow.mean)),
            Cell::Int(h.flow.valid_minutes.into()),
            opt_num(r3(h.temperature)),
            opt_num(r3(h.moisture)),
        ];
        let mut pj = serde_json::Map::new();
        for p in &pollutants {
            match h.pollutants.get(p) {
                Some(ph) => {
                    row.extend([
                        opt_num(r3(ph.measured.mean)),
                        Cell::Int(ph.measured.valid_minutes.into()),
                        text(if ph.measured.valid { "1" } else { "0" }),
                        text(flags_text(&ph.measured)),
                        opt_num(r3(ph.converted)),
                        opt_num(r6(ph.rate_kg_h)),
                        opt_num(ph.limit),
                        text(if ph.exceeds { "1" } else { "0" }),
                        opt_num(ph.multiple),
                        text(status_text(ph.status)),
                    ]);
                    pj.insert(
                        p.code().to_string(),
                        json!({
                            "measured": hour_value_json(&ph.measured),
                            "converted": r3(ph.converted),
                            "rate_kg_h": r6(ph.rate_kg_h),
                            "limit": ph.limit,
                            "exceeds": ph.exceeds,
                            "multiple": ph.multiple,
                            "status": status_text(ph.status),
                        }),
                    );
                }
                None => row.extend(std::iter::repeat_n(Cell::Empty, 10)),
            }
        }
        hour_rows.push(row);
        hours_json.push(json!({
            "hour_end": h.hour_end.format("%Y-%m-%dT%H:%M").to_string(),
            "o2": hour_value_json(&h.o2),
            "flow": hour_value_json(&h.flow),
            "temperature": r3(h.temperature),
            "moisture": r3(h.moisture),
            "pollutants": pj,
        }));
    }

    // Exceedance events.
    let ev_headers = [
        "pollutant",
        "start",
        "end",
        "hours",
        "limit",
        "peak",
        "mean",
        "max_multiple",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ev_rows = events
        .iter()
        .map(|e| {
            vec![
                text(e.pollutant.code()),
                text(e.start.format("%Y-%m-%dT%H:%M").to_string()),
                text(e.end.format("%Y-%m-%dT%H:%M").to_string()),
                Cell::Int(e.hours.into()),
                Cell::Number(e.limit),
                Cell::Number(round(e.peak, DP_CONC)),
                Cell::Number(round(e.mean, DP_CONC)),
                Cell::Number(e.max_multiple),
            ]
        })
        .collect();
    let events_json: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "pollutant": e.pollutant, "start": e.start.format("%Y-%m-%dT%H:%M").to_string(),
                "end": e.end.format("%Y-%m-%dT%H:%M").to_string(), "hours": e.hours,
                "limit": e.limit, "peak": round(e.peak, DP_CONC), "mean": round(e.mean, DP_CONC),
                "max_multiple": e.max_multiple,
            })
        })
        .collect();

    // Days.
    let day_headers = [
        "date",
        "pollutant",
        "valid_hours",
        "valid",
        "measured",
        "converted",
        "total_kg",
        "limit",
        "exceeds",
        "multiple",
        "exceeding_hours",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut day_rows = Vec::new();
    let mut days_json = Vec::new();
    for d in days {
        let mut pj = serde_json::Map::new();
        for (p, pd) in &d.pollutants {
            day_rows.push(vec![
                text(d.date.to_string()),
                text(p.code()),
                Cell::Int(pd.measured.valid_members.into()),
                text(if pd.measured.valid { "1" } else { "0" }),
                opt_num(r3(pd.measured.mean)),
                opt_num(r3(pd.converted.mean)),
                opt_num(r6(pd.total_kg)),
                opt_num(pd.limit),
                text(if pd.exceeds { "1" } else { "0" }),
                opt_num(pd.multiple),
                Cell::Int(pd.exceeding_hours.into()),
            ]);
            pj.insert(
                p.code().to_string(),
                json!({
                    "valid_hours": pd.measured.valid_members, "valid": pd.measured.valid,
                    "measured": r3(pd.measured.mean), "converted": r3(pd.converted.mean),
                    "converted_valid_hours": pd.converted.valid_members,
                    "total_kg": r6(pd.total_kg), "limit": pd.limit,
                    "exceeds": pd.exceeds, "multiple": pd.multiple,
                    "exceeding_hours": pd.exceeding_hours,
                }),
            );
        }
        days_json.push(json!({"date": d.date, "pollutants": pj}));
    }

    // Summary per pollutant.
    let mut summary = serde_json::Map::new();
    for p in &pollutants {
        let phs: Vec<_> = hours.iter().filter_map(|h| h.pollutants.get(p)).collect();
        summary.insert(
            p.code().to_string(),
            json!({
                "hours": phs.len(),
                "valid_hours": phs.iter().filter(|x| x.measured.valid).count(),
                "judged_hours": phs
                    .iter()
                    .filter(|x| x.status == emission::HourStatus::Valid)
                    .count(),
                "exceeding_hours": phs.iter().filter(|x| x.exceeds).count(),
                "total_kg": r6(emission::sum_some(phs.iter().map(|x| x.rate_kg_h))),
            }),
        );
    }
    let before = set.valid_from.map_or(0, |from| {
        hours
            .iter()
            .filter(|h| emission::day_of_hour(h.hour_end) < from)
            .count()
    });
    let json = json!({
        "rules": emission::RULES,
        "limit_set": set,
        "basis": basis,
        "thresholds": th,
        "record_minutes": interval,
        "hours_before_valid_from": before,
        "summary": summary,
        "exceedances": events_json,
        "hours": hours_json,
        "days": days_json,
    });
    let sheets = vec![
        Sheet {
            name: "hours".into(),
            headers,
            rows: hour_rows,
        },
        Sheet {
            name: "exceedances".into(),
            headers: ev_headers,
            rows: ev_rows,
        },
        Sheet {
            name: "days".into(),
            headers: day_headers,
            rows: day_rows,
        },
    ];
    (json, sheets)
}
