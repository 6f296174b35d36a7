//! `gongjian evaluate soil`: soil samples → farmland (GB 15618-2018) or
//! construction-land (GB 36600-2018) results per sample.
//!
//! Contract: docs/cli/evaluate-water-soil-stack.md.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use gongjian_standards::soil::{
    self, ConstructionSample, FarmItem, FarmlandSample, FarmlandUse, LandClass, Risk,
};
use gongjian_tabular::{Cell, Sheet, Table};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::water::{Format, Problems, emit, parse_decimal, read_table, text};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file: CSV (UTF-8 or GBK) or XLSX. Columns `sample,land,ph,`
    /// then item codes (mg/kg); optional `bg_<code>` background values.
    #[arg(long)]
    pub input: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let table = read_table(&args.input)?;
    let samples = parse(&table)?;
    let (json, sheet) = evaluate(&samples)?;
    emit(args.format, args.output.as_deref(), &json, vec![sheet])?;
    Ok(ExitCode::SUCCESS)
}

enum Land {
    Farm(FarmlandUse),
    Construction(LandClass),
}

fn parse_land(s: &str) -> Option<Land> {
    FarmlandUse::from_str(s)
        .map(Land::Farm)
        .or_else(|_| LandClass::from_str(s).map(Land::Construction))
        .ok()
}

enum Parsed {
    Farm(FarmlandSample),
    Construction(ConstructionSample),
}

struct SoilRow {
    line: u64,
    sample: String,
    parsed: Parsed,
}

fn is_item(code: &str) -> bool {
    FarmItem::from_str(code).is_ok() || soil::construction_item(code).is_some()
}

fn parse(table: &Table) -> anyhow::Result<Vec<SoilRow>> {
    let mut problems = Problems::default();
    let (mut sample_col, mut land_col, mut ph_col) = (None, None, None);
    let mut item_cols: Vec<(usize, String)> = Vec::new();
    let mut bg_cols: Vec<(usize, String)> = Vec::new();
    for (c, h) in table.headers().iter().enumerate() {
        let lower = h.to_ascii_lowercase();
        let slot = match lower.as_str() {
            "sample" => &mut sample_col,
            "land" => &mut land_col,
            "ph" => &mut ph_col,
            other => {
                let (is_bg, code) = match other.strip_prefix("bg_") {
                    Some(code) => (true, code),
                    None => (false, other),
                };
                let known = if is_bg {
                    soil::construction_item(code).is_some_and(|i| i.background_rule)
                } else {
                    is_item(code)
                };
                let list = if is_bg { &mut bg_cols } else { &mut item_cols };
                if !known {
                    problems.push(table.header_error(
                        c,
                        format!("未知的列 (unknown column): {h:?}; expected sample, land, ph, a GB 15618/GB 36600 item code or bg_as/bg_co/bg_v"),
                    ));
                } else if list.iter().any(|(_, k)| k == code) {
                    problems
                        .push(table.header_error(c, format!("重复的列 (duplicate column): {h}")));
                } else {
                    list.push((c, code.to_string()));
                }
                continue;
            }
        };
        if slot.is_some() {
            problems.push(table.header_error(c, format!("重复的列 (duplicate column): {h}")));
        }
        *slot = Some(c);
    }
    let file = table.source().to_string();
    let (Some(sample_col), Some(land_col)) = (sample_col, land_col) else {
        problems.push(table.header_error(
            0,
            "缺少 sample 或 land 列 (the header needs `sample` and `land`)",
        ));
        return problems.finish(&file).map(|()| Vec::new());
    };
    problems.finish(&file)?;

    let mut out = Vec::new();
    for row in table.rows() {
        let sample = row.get(sample_col).to_string();
        if sample.is_empty() {
            problems.push(row.error(sample_col, "样品编号为空 (empty sample)"));
        }
        let land = match parse_land(row.get(land_col)) {
            Some(l) => l,
            None => {
                problems.push(row.error(
                    land_col,
                    format!(
                        "未知用地类型 (unknown land): {:?}; expected paddy/orchard/other/rotation (水田/果园/旱地/水旱轮作) or class1/class2 (第一类用地/第二类用地)",
                        row.get(land_col)
                    ),
                ));
                continue;
            }
        };
        let mut ph_bad = false;
        let ph = match ph_col.filter(|&c| !row.get(c).is_empty()) {
            Some(c) => match parse_decimal(&row, c) {
                Ok(v) if v > Decimal::from(14) => {
                    problems.push(row.error(c, format!("pH 超出 0–14 (pH out of range): {v}")));
                    ph_bad = true;
                    None
                }
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push(e);
                    ph_bad = true;
                    None
                }
            },
            None => None,
        };
        let mut values: Vec<(usize, &str, Decimal)> = Vec::new();
        for (c, code) in &item_cols {
            if row.get(*c).is_empty() {
                continue;
            }
            match parse_decimal(&row, *c) {
                Ok(v) => values.push((*c, code, v)),
                Err(e) => problems.push(e),
            }
        }
        let parsed = match land {
            Land::Farm(use_) => {
                let Some(ph) = ph else {
                    if !ph_bad {
                        problems.push(row.error(
                            ph_col.unwrap_or(land_col),
                            "农用地样品需要 pH (farmland needs the soil pH)",
                        ));
                    }
                    continue;
                };
                let mut map = BTreeMap::new();
                for (c, code, v) in values {
                    match FarmItem::from_str(code) {
                        Ok(item) => {
                            map.insert(item, v);
                        }
                        Err(_) => problems.push(row.error(
                            c,
                            format!("{code} 不是 GB 15618 农用地项目 (not a GB 15618 item)"),
                        )),
                    }
                }
                for (c, _) in &bg_cols {
                    if !row.get(*c).is_empty() {
                        problems.push(row.error(*c, "背景值仅用于建设用地 (background values apply to construction land only)"));
                    }
                }
                Parsed::Farm(FarmlandSample {
                    ph,
                    land_use: use_,
                    values: map,
                })
            }
            Land::Construction(class) => {
                let mut map = BTreeMap::new();
                for (c, code, v) in values {
                    match soil::construction_item(code) {
                        Some(i) => {
                            map.insert(i.code.to_string(), v);
                        }
                        None => problems.push(row.error(
                            c,
                            format!("{code} 不是 GB 36600 建设用地项目 (not a GB 36600 item)"),
                        )),
                    }
                }
                let mut background = BTreeMap::new();
                for (c, code) in &bg_cols {
                    if row.get(*c).is_empty() {
                        continue;
                    }
                    match parse_decimal(&row, *c) {
                        Ok(v) => {
                            background.insert(code.clone(), v);
                        }
                        Err(e) => problems.push(e),
                    }
                }
                Parsed::Construction(ConstructionSample {
                    land_class: class,
                    values: map,
                    background,
                })
            }
        };
        out.push(SoilRow {
            line: row.line(),
            sample,
            parsed,
        });
    }
    problems.finish(&file)?;
    Ok(out)
}

fn risk_label(r: Risk) -> &'static str {
    match r {
        Risk::AtOrBelowScreening => "≤筛选值",
        Risk::WithinBackground => "≤背景值",
        Risk::AboveScreening => "超筛选值",
        Risk::AboveIntervention => "超管制值",
    }
}

fn evaluate(rows: &[SoilRow]) -> anyhow::Result<(Value, Sheet)> {
    let headers = [
        "line",
        "sample",
        "standard",
        "land",
        "ph_band",
        "result",
        "above_screening",
        "above_intervention",
        "items",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut sheet_rows = Vec::new();
    let mut out = Vec::new();
    for r in rows {
        let (j, cells) = match &r.parsed {
            Parsed::Farm(s) => {
                // Validated while parsing (pH in range, values non-negative),
                // so an error here is not expected.
                let a = soil::assess_farmland(s)
                    .map_err(|e| anyhow::anyhow!("line {}: {e}", r.line))?;
                let items: serde_json::Map<String, Value> = a
                    .items
                    .iter()
                    .map(|i| {
                        (
                            i.item.code().to_string(),
                            json!({
                                "value": i.value, "screening": i.screening, "intervention": i.intervention,
                                "p_screening": i.p_screening, "p_intervention": i.p_intervention,
                                "risk": i.risk, "risk_label": risk_label(i.risk),
                            }),
                        )
                    })
                    .collect();
                let summary = a
                    .items
                    .iter()
                    .map(|i| format!("{}={} ({})", i.item, i.value, risk_label(i.risk)))
                    .collect::<Vec<_>>()
                    .join("; ");
                let cells = vec![
                    text("GB 15618-2018"),
                    text(a.land_use.label()),
                    text(
                        serde_json::to_value(a.ph_band)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                    ),
                    text(a.class.label()),
                    text(
                        a.above_screening
                            .iter()
                            .map(|i| i.code())
                            .collect::<Vec<_>>()
                            .join(";"),
                    ),
                    text(
                        a.above_intervention
                            .iter()
                            .map(|i| i.code())
                            .collect::<Vec<_>>()
                            .join(";"),
                    ),
                    text(summary),
                ];
                (
                    json!({
                        "line": r.line, "sample": r.sample, "standard": "farmland",
                        "rules": a.rules, "land": a.land_use, "land_label": a.land_use.label(),
                        "ph": s.ph, "ph_band": a.ph_band,
                        "class": a.class, "class_label": a.class.label(),
                        "above_screening": a.above_screening, "above_intervention": a.above_intervention,
                        "strengthen_monitoring": a.strengthen_monitoring,
                        "items": items,
                    }),
                    cells,
                )
            }
            Parsed::Construction(s) => {
                let a = soil::assess_construction(s)
                    .map_err(|e| anyhow::anyhow!("line {}: {e}", r.line))?;
                let items: serde_json::Map<String, Value> = a
                    .items
                    .iter()
                    .map(|i| {
                        (
                            i.code.clone(),
                            json!({
                                "name": i.name_zh, "value": i.value, "screening": i.screening,
                                "intervention": i.intervention, "p_screening": i.p_screening,
                                "p_intervention": i.p_intervention, "risk": i.risk,
                                "risk_label": risk_label(i.risk),
                            }),
                        )
                    })
                    .collect();
                let summary = a
                    .items
                    .iter()
                    .map(|i| format!("{}={} ({})", i.code, i.value, risk_label(i.risk)))
                    .collect::<Vec<_>>()
                    .join("; ");
                let cells = vec![
                    text("GB 36600-2018"),
                    text(a.land_class.label()),
                    Cell::Empty,
                    text(a.verdict.label()),
                    text(a.above_screening.join(";")),
                    text(a.above_intervention.join(";")),
                    text(summary),
                ];
                (
                    json!({
                        "line": r.line, "sample": r.sample, "standard": "construction",
                        "rules": a.rules, "land": a.land_class, "land_label": a.land_class.label(),
                        "verdict": a.verdict, "verdict_label": a.verdict.label(),
                        "above_screening": a.above_screening, "above_intervention": a.above_intervention,
                        "items": items,
                    }),
                    cells,
                )
            }
        };
        out.push(j);
        let mut row = vec![Cell::Int(r.line as i64), text(&r.sample)];
        row.extend(cells);
        sheet_rows.push(row);
    }
    Ok((
        json!({
            "rules": [soil::FARMLAND_RULES, soil::CONSTRUCTION_RULES],
            "samples": out,
        }),
        Sheet {
            name: "soil".into(),
            headers,
            rows: sheet_rows,
        },
    ))
}
