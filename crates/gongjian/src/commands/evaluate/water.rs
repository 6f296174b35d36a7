//! `gongjian evaluate water`: surface-water samples → class per sample, per
//! section-month and per section (GB 3838-2002, 环办〔2011〕22号).
//!
//! Contract: docs/cli/evaluate-water-soil-stack.md. This file also holds the
//! small input/output helpers shared by `evaluate soil` and `evaluate stack`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::Context;
use chrono::{NaiveDate, NaiveDateTime};
use gongjian_standards::water::{
    self, Assessment, Item, Measurement, PeriodAssessment, Sample, SectionData, WaterBody,
    WaterClass,
};
use gongjian_tabular::{Cell, Row, Sheet, Table};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file: CSV (UTF-8 or GBK) or XLSX. Columns `section,time,` then
    /// item codes (ph,do,codmn,cod,bod5,nh3n,tp,tn,cu,zn,f,se,as,hg,cd,cr6,
    /// pb,cn,vp,oil,las,s,fecal; temp), optional `target` and `water_body`.
    #[arg(long)]
    pub input: PathBuf,
    /// Column holding each section's target class (Ⅲ, III, 3, Ⅲ类 …).
    /// Default `target` (optional); when given, the column must exist.
    #[arg(long)]
    pub target_column: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let table = read_table(&args.input)?;
    let input = parse(&table, args.target_column.as_deref())?;
    let (json, sheet) = evaluate(&input);
    emit(args.format, args.output.as_deref(), &json, vec![sheet])?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------
// Shared helpers (also used by soil.rs and stack.rs)
// ---------------------------------------------------------------------------

/// Output format of the evaluate commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
}

pub(super) fn read_table(path: &std::path::Path) -> anyhow::Result<Table> {
    Ok(gongjian_tabular::read_path(path)?)
}

/// Input problems, collected so that one run reports all of them.
#[derive(Default)]
pub(super) struct Problems(Vec<String>);

impl Problems {
    pub(super) fn push(&mut self, e: gongjian_tabular::Error) {
        self.0.push(e.to_string());
    }

    /// Fail with every problem (at most 50 listed) if there is any.
    pub(super) fn finish(&self, file: &str) -> anyhow::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let n = self.0.len();
        let mut msg = format!("{file}: {n} 处输入错误 (input errors); nothing was evaluated:\n");
        for p in self.0.iter().take(50) {
            msg.push_str("  ");
            msg.push_str(p);
            msg.push('\n');
        }
        if n > 50 {
            msg.push_str(&format!("  … and {} more\n", n - 50));
        }
        anyhow::bail!(msg.trim_end().to_string())
    }
}

/// A non-negative decimal, or an error naming the cell.
pub(super) fn parse_decimal(row: &Row<'_>, col: usize) -> Result<Decimal, gongjian_tabular::Error> {
    let text = row.get(col);
    let v = Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| row.error(col, format!("不是数字 (not a number): {text:?}")))?;
    if v < Decimal::ZERO {
        return Err(row.error(col, format!("负值 (value below zero): {text}")));
    }
    Ok(v)
}

/// Local date-times: `2020-01-08T10:00[:00]`, `2020-01-08 10:00[:00]`,
/// `2020-01-08T10` (an hour), `2020/01/08 10:00`, or a date (00:00).
pub(super) fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim().replace('/', "-");
    for f in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(v) = NaiveDateTime::parse_from_str(&t, f) {
            return Some(v);
        }
    }
    for f in ["%Y-%m-%dT%H", "%Y-%m-%d %H"] {
        if let Ok(v) = NaiveDateTime::parse_from_str(&format!("{t}:00"), &format!("{f}:%M")) {
            return Some(v);
        }
    }
    NaiveDate::parse_from_str(&t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// Round half-even for publication and drop trailing zeros.
pub(super) fn round(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven)
        .normalize()
}

pub(super) fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

pub(super) fn opt_num(d: Option<Decimal>) -> Cell {
    d.map_or(Cell::Empty, Cell::Number)
}

/// Write the JSON document, or the sheets as CSV (first sheet) or XLSX.
pub(super) fn emit(
    format: Format,
    output: Option<&std::path::Path>,
    json: &Value,
    sheets: Vec<Sheet>,
) -> anyhow::Result<()> {
    use std::io::Write;
    let dest = output.map_or_else(
        || "standard output".to_string(),
        |p| p.display().to_string(),
    );
    let bytes = match format {
        Format::Json => {
            let mut b = serde_json::to_vec_pretty(json)?;
            b.push(b'\n');
            b
        }
        Format::Csv => {
            let mut b = Vec::new();
            let sheet = sheets.first().context("nothing to write")?;
            gongjian_tabular::write_csv(&dest, &mut b, sheet)?;
            b
        }
        Format::Xlsx => gongjian_tabular::xlsx_bytes(&dest, &sheets)?,
    };
    match output {
        Some(p) => std::fs::write(p, bytes).with_context(|| format!("writing {dest}"))?,
        None => std::io::stdout()
            .lock()
            .write_all(&bytes)
            .context("writing standard output")?,
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Water input
// ---------------------------------------------------------------------------

struct Input {
    /// Sections in order of first appearance.
    sections: Vec<SectionData>,
    /// Per sample: (section index, sample index, line).
    rows: Vec<(usize, usize, u64)>,
    /// Items present as columns, in Table 1 order.
    items: Vec<Item>,
}

fn parse_body(s: &str) -> Option<WaterBody> {
    match s.trim().to_ascii_lowercase().as_str() {
        "river" | "河流" | "河" => Some(WaterBody::River),
        "lake" | "reservoir" | "lake_reservoir" | "湖库" | "湖泊" | "水库" => {
            Some(WaterBody::LakeReservoir)
        }
        _ => None,
    }
}

fn parse(table: &Table, target_column: Option<&str>) -> anyhow::Result<Input> {
    let mut problems = Problems::default();
    let mut section_col = None;
    let mut time_col = None;
    let mut body_col = None;
    let mut target_col = None;
    let target_name = target_column.unwrap_or("target");
    let mut item_cols: Vec<(usize, Item)> = Vec::new();
    for (c, h) in table.headers().iter().enumerate() {
        let slot = match h.as_str() {
            "section" => &mut section_col,
            "time" => &mut time_col,
            "water_body" => &mut body_col,
            n if n == target_name => &mut target_col,
            other => {
                match Item::from_str(other) {
                    Ok(item) if item_cols.iter().all(|&(_, i)| i != item) => item_cols.push((c, item)),
                    Ok(_) => problems.push(table.header_error(c, format!("重复的列 (duplicate column): {other}"))),
                    Err(_) => problems.push(table.header_error(
                        c,
                        format!("未知的列 (unknown column): {other:?}; expected section, time, {target_name}, water_body or a GB 3838 item code"),
                    )),
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
    if section_col.is_none() || time_col.is_none() {
        problems.push(table.header_error(
            0,
            "缺少 section 或 time 列 (the header needs `section` and `time`)",
        ));
    }
    if target_column.is_some() && target_col.is_none() {
        problems.push(table.header_error(0, format!("缺少目标类别列 (no column {target_name:?})")));
    }
    problems.finish(&file)?;
    let (section_col, time_col) = (section_col.unwrap_or(0), time_col.unwrap_or(0));
    item_cols.sort_by_key(|&(_, i)| i);

    let mut sections: Vec<SectionData> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut last_time: Vec<NaiveDateTime> = Vec::new();
    let mut targets: Vec<Option<(WaterClass, u64)>> = Vec::new();
    let mut bodies: Vec<Option<WaterBody>> = Vec::new();
    let mut rows = Vec::new();
    for row in table.rows() {
        let name = row.get(section_col);
        if name.is_empty() {
            problems.push(row.error(section_col, "断面名称为空 (empty section)"));
            continue;
        }
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
        let si = *index.entry(name.to_string()).or_insert_with(|| {
            sections.push(SectionData {
                section: name.to_string(),
                water_body: WaterBody::River,
                target: None,
                samples: Vec::new(),
            });
            last_time.push(NaiveDateTime::MIN);
            targets.push(None);
            bodies.push(None);
            sections.len() - 1
        });
        if time <= last_time[si] {
            problems.push(row.error(
                time_col,
                format!("时间顺序错误 (time out of order): {time} is not after the previous sample of {name} ({})", last_time[si]),
            ));
        }
        last_time[si] = last_time[si].max(time);
        if let Some(c) = target_col {
            let t = row.get(c);
            if !t.is_empty() {
                match WaterClass::from_str(t) {
                    Ok(class) => match targets[si] {
                        Some((prev, line)) if prev != class => problems.push(row.error(
                            c,
                            format!("目标类别不一致 (target {class} differs from {prev} on line {line} for {name})"),
                        )),
                        _ => targets[si] = Some((class, row.line())),
                    },
                    Err(e) => problems.push(row.error(c, e.to_string())),
                }
            }
        }
        if let Some(c) = body_col {
            let t = row.get(c);
            if !t.is_empty() {
                match parse_body(t) {
                    Some(b) if bodies[si].is_none_or(|p| p == b) => bodies[si] = Some(b),
                    Some(_) => problems.push(
                        row.error(c, format!("水体类型不一致 (water body differs for {name})")),
                    ),
                    None => problems.push(
                        row.error(c, format!("未知水体类型 (expected river or lake): {t:?}")),
                    ),
                }
            }
        }
        let mut values = BTreeMap::new();
        for &(c, item) in &item_cols {
            let t = row.get(c);
            if t.is_empty() {
                continue;
            }
            // "0.01L" or "<0.01": below the detection limit 0.01.
            let nd = t.strip_suffix('L').or_else(|| t.strip_prefix('<'));
            let parsed = match nd {
                Some(dl) => Decimal::from_str(dl.trim())
                    .map_err(|_| row.error(c, format!("不是数字 (not a number): {t:?}")))
                    .and_then(|v| {
                        if v < Decimal::ZERO {
                            Err(row.error(c, format!("负值 (value below zero): {t}")))
                        } else {
                            Ok(Measurement::below_detection(v))
                        }
                    }),
                None => parse_decimal(&row, c).map(Measurement::new),
            };
            match parsed {
                Ok(m) if item == Item::Ph && m.value > Decimal::from(14) => {
                    problems.push(row.error(c, format!("pH 超出 0–14 (pH out of range): {t}")))
                }
                Ok(m) => {
                    values.insert(item, m);
                }
                Err(e) => problems.push(e),
            }
        }
        sections[si].samples.push(Sample { time, values });
        rows.push((si, sections[si].samples.len() - 1, row.line()));
    }
    problems.finish(&file)?;
    for (si, s) in sections.iter_mut().enumerate() {
        s.target = targets[si].map(|(t, _)| t);
        s.water_body = bodies[si].unwrap_or_default();
    }
    Ok(Input {
        sections,
        rows,
        items: item_cols.into_iter().map(|(_, i)| i).collect(),
    })
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

fn value_text(m: &Measurement) -> String {
    if m.below_detection {
        format!("{}L", m.value.normalize())
    } else {
        round(m.value, 6).to_string()
    }
}

fn assessment_json(a: &Assessment) -> Value {
    let target = a.target.as_ref();
    json!({
        "class": a.class.map(|c| c.label()),
        "status": a.status.map(|s| s.label()),
        "colour": a.status.map(|s| s.colour()),
        "worst": a.worst,
        "main_pollutants": a.main_pollutants.iter().map(|m| json!({
            "item": m.item, "class": m.class.label(), "multiple": m.multiple,
        })).collect::<Vec<_>>(),
        "target": target.map(|t| t.target.label()),
        "compliant": target.map(|t| t.compliant),
        "failing": target.map(|t| t.failing.iter().map(|f| json!({
            "item": f.item, "value": round(f.value, 6), "class": f.class.label(),
            "limit": f.limit, "multiple": f.multiple,
        })).collect::<Vec<_>>()),
        "missing": a.missing,
        "classes": a.items.iter().map(|r| (r.item.code().to_string(), json!(r.class.map(|c| c.label())))).collect::<serde_json::Map<_, _>>(),
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

fn list(items: impl IntoIterator<Item = String>) -> Cell {
    let v: Vec<String> = items.into_iter().collect();
    if v.is_empty() {
        Cell::Empty
    } else {
        text(v.join(";"))
    }
}

fn summary_cells(a: &Assessment) -> Vec<Cell> {
    let t = a.target.as_ref();
    vec![
        a.class.map_or(Cell::Empty, |c| text(c.label())),
        a.status.map_or(Cell::Empty, |s| text(s.label())),
        t.map_or(Cell::Empty, |t| text(t.target.label())),
        t.map_or(Cell::Empty, |t| {
            text(if t.compliant { "达标" } else { "超标" })
        }),
        list(a.worst.iter().map(|i| i.code().to_string())),
        list(a.main_pollutants.iter().map(|m| match m.multiple {
            Some(x) => format!("{}:{x}", m.item),
            None => m.item.to_string(),
        })),
        list(
            t.into_iter()
                .flat_map(|t| &t.failing)
                .map(|f| match f.multiple {
                    Some(x) => format!("{}({},{x})", f.item, f.class.label()),
                    None => format!("{}({})", f.item, f.class.label()),
                }),
        ),
    ]
}

fn period_json(p: &PeriodAssessment) -> Value {
    merge(
        json!({
            "from": p.from, "to": p.to, "samples": p.samples, "months": p.months,
            "means": p.means.iter().map(|(i, m)| (i.code().to_string(), json!(value_text(m)))).collect::<serde_json::Map<_, _>>(),
        }),
        assessment_json(&p.assessment),
    )
}

fn evaluate(input: &Input) -> (Value, Sheet) {
    let mut headers: Vec<String> = [
        "level",
        "section",
        "time",
        "line",
        "samples",
        "class",
        "status",
        "target",
        "compliance",
        "worst",
        "main_pollutants",
        "failing",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    headers.extend(input.items.iter().map(|i| i.code().to_string()));
    let mut rows = Vec::new();
    let values_cells = |v: &BTreeMap<Item, Measurement>| -> Vec<Cell> {
        input
            .items
            .iter()
            .map(|i| v.get(i).map_or(Cell::Empty, |m| text(value_text(m))))
            .collect()
    };

    let mut samples_json = Vec::new();
    for &(si, k, line) in &input.rows {
        let s = &input.sections[si];
        let sample = &s.samples[k];
        let a = water::assess(s.water_body, &sample.values, s.target);
        samples_json.push(merge(
            json!({
                "line": line, "section": s.section,
                "time": sample.time.format("%Y-%m-%dT%H:%M").to_string(),
                "values": sample.values.iter().map(|(i, m)| (i.code().to_string(), json!(value_text(m)))).collect::<serde_json::Map<_, _>>(),
            }),
            assessment_json(&a),
        ));
        let mut r = vec![
            text("sample"),
            text(&s.section),
            text(sample.time.format("%Y-%m-%dT%H:%M").to_string()),
            Cell::Int(line as i64),
            Cell::Int(1),
        ];
        r.extend(summary_cells(&a));
        r.extend(values_cells(&sample.values));
        rows.push(r);
    }

    let mut sections_json = Vec::new();
    for s in &input.sections {
        let months = water::evaluate_months(s);
        for m in &months {
            let mut r = vec![
                text("month"),
                text(&s.section),
                text(m.from.format("%Y-%m").to_string()),
                Cell::Empty,
                Cell::Int(m.samples as i64),
            ];
            r.extend(summary_cells(&m.assessment));
            r.extend(values_cells(&m.means));
            rows.push(r);
        }
        let Some(all) = water::evaluate_all(s) else {
            continue;
        };
        let mut r = vec![
            text("section"),
            text(&s.section),
            text(format!("{}/{}", all.from, all.to)),
            Cell::Empty,
            Cell::Int(all.samples as i64),
        ];
        r.extend(summary_cells(&all.assessment));
        r.extend(values_cells(&all.means));
        rows.push(r);
        sections_json.push(merge(
            json!({
                "section": s.section,
                "water_body": s.water_body,
                "monthly": months.iter().map(|m| merge(json!({"month": m.from.format("%Y-%m").to_string()}), period_json(m))).collect::<Vec<_>>(),
            }),
            period_json(&all),
        ));
    }
    let json = json!({
        "rules": water::RULES,
        "samples": samples_json,
        "sections": sections_json,
    });
    (
        json,
        Sheet {
            name: "water".into(),
            headers,
            rows,
        },
    )
}
