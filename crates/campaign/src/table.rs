//! A task table in the layout offices already use — 序号, 任务内容, 牵头单位,
//! 配合单位, 完成时限, 指标/目标值 — turned into a plan file (`[plan]` and its
//! `[[task]]`s) of a campaign, so it is checked, loaded, revised and
//! exported like every other part of the plan. A table with any bad row is
//! refused whole; every problem is reported with its row and column.
//!
//! The caller reads the spreadsheet (XLSX, or CSV in UTF-8 or GBK) into
//! rows of text; this module does no I/O.

use std::collections::HashSet;
use std::fmt;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::model::{Campaign, Comparator};

/// How many rows one table may hold.
pub const TABLE_MAX_ROWS: usize = 2000;
/// How long one cell may be, in characters.
pub const CELL_MAX_CHARS: usize = 2000;

/// One problem of a task table, at its spreadsheet row and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    /// The row number as the spreadsheet shows it (0 for the header).
    pub row: u64,
    /// The column's header, or the expected header when it is missing.
    pub column: String,
    pub message: String,
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.row == 0 {
            write!(f, "表头「{}」：{}", self.column, self.message)
        } else {
            write!(f, "第 {} 行「{}」：{}", self.row, self.column, self.message)
        }
    }
}

/// The columns, by the headers offices write.
const NUMBER: &[&str] = &["序号", "编号"];
const CONTENT: &[&str] = &["任务内容", "工作任务", "重点任务", "任务"];
const LEAD: &[&str] = &["牵头单位", "责任单位", "牵头部门", "责任部门"];
const COOPERATING: &[&str] = &["配合单位", "配合部门"];
const DEADLINE: &[&str] = &["完成时限", "完成时间", "时间节点", "时限"];
const INDICATOR: &[&str] = &["指标/目标值", "指标", "目标值", "量化指标"];

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    headers.iter().position(|h| {
        let h: String = h.chars().filter(|c| !c.is_whitespace()).collect();
        names.contains(&h.as_str())
    })
}

/// The plan file for `rows` (each: its spreadsheet row number and cells,
/// in the order of `headers`), as plan `plan_id` titled `title` of
/// `campaign`, or every problem found.
pub fn tasks_from_table(
    campaign: &Campaign,
    plan_id: &str,
    title: &str,
    headers: &[String],
    rows: &[(u64, Vec<String>)],
) -> Result<String, Vec<TableError>> {
    let mut errors = Vec::new();
    let plan_ok = !plan_id.is_empty()
        && plan_id.len() <= 32
        && plan_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !plan_ok {
        errors.push(TableError {
            row: 0,
            column: "方案标识".into(),
            message: format!("方案标识 {plan_id:?} 须为小写字母、数字和 -（如 autumn）"),
        });
    } else if campaign.plan(plan_id).is_some() {
        errors.push(TableError {
            row: 0,
            column: "方案标识".into(),
            message: format!("方案中已有 {plan_id}：换一个标识"),
        });
    }
    if title.trim().is_empty() {
        errors.push(TableError {
            row: 0,
            column: "方案标题".into(),
            message: "请给导入的任务表一个标题".into(),
        });
    }
    let column = |names: &[&str], errors: &mut Vec<TableError>| {
        let i = find(headers, names);
        if i.is_none() {
            errors.push(TableError {
                row: 0,
                column: names[0].into(),
                message: format!("缺少此列（表头应有：{}）", names.join(" 或 ")),
            });
        }
        i
    };
    let number = column(NUMBER, &mut errors);
    let content = column(CONTENT, &mut errors);
    let lead = column(LEAD, &mut errors);
    let deadline = column(DEADLINE, &mut errors);
    let cooperating = find(headers, COOPERATING);
    let indicator = find(headers, INDICATOR);
    if rows.len() > TABLE_MAX_ROWS {
        errors.push(TableError {
            row: 0,
            column: "行数".into(),
            message: format!("任务表最多 {TABLE_MAX_ROWS} 行"),
        });
    }
    let (Some(number), Some(content), Some(lead), Some(deadline)) =
        (number, content, lead, deadline)
    else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut out = String::new();
    out.push_str(&format!(
        "# {title}\n# 由任务表导入（序号、任务内容、牵头单位、配合单位、完成时限、指标/目标值）。\n\n[plan]\nid = {}\ntitle = {}\nnumbering = \"plan\"\ndefault_townships = []\n",
        toml_str(plan_id),
        toml_str(title.trim())
    ));
    let mut seen = HashSet::new();
    for (line, cells) in rows {
        let cell = |i: usize| cells.get(i).map_or("", |s| s.trim());
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut err = |col: &str, message: String| {
            errors.push(TableError {
                row: *line,
                column: col.into(),
                message,
            })
        };
        for (i, c) in cells.iter().enumerate() {
            if c.chars().count() > CELL_MAX_CHARS {
                let name = headers.get(i).map_or("", String::as_str);
                err(name, format!("超过 {CELL_MAX_CHARS} 字"));
            }
        }
        let num = cell(number);
        if num.is_empty() {
            err("序号", "序号为空".into());
        } else if !num.chars().all(|c| c.is_ascii_digit()) || num.len() > 4 {
            err("序号", format!("序号 {num:?} 应为数字"));
        } else if !seen.insert(num.trim_start_matches('0').to_owned()) {
            err("序号", format!("序号 {num} 重复"));
        }
        let text = cell(content);
        if text.is_empty() {
            err("任务内容", "任务内容为空".into());
        }
        let leads = organisations(campaign, cell(lead));
        match &leads {
            Ok(l) if l.is_empty() => err("牵头单位", "牵头单位为空".into()),
            Ok(_) => {}
            Err(unknown) => err(
                "牵头单位",
                format!("{} 不在方案的单位名单中", unknown.join("、")),
            ),
        }
        let coops = match cooperating {
            Some(i) => organisations(campaign, cell(i)),
            None => Ok(Vec::new()),
        };
        if let Err(unknown) = &coops {
            err(
                "配合单位",
                format!("{} 不在方案的单位名单中", unknown.join("、")),
            );
        }
        if let (Ok(l), Ok(c)) = (&leads, &coops)
            && let Some(both) = c.iter().find(|o| l.contains(o))
        {
            err("配合单位", format!("{both} 已是牵头单位"));
        }
        let due = parse_deadline(cell(deadline), campaign.year);
        match &due {
            Ok(d) if d.year() != campaign.year => err(
                "完成时限",
                format!("{d} 不在方案年度 {} 年内", campaign.year),
            ),
            Ok(_) => {}
            Err(m) => err("完成时限", m.clone()),
        }
        let ind = match indicator.map(cell).filter(|s| !s.is_empty()) {
            Some(s) => match parse_indicator(s) {
                Ok(i) => Some(i),
                Err(m) => {
                    err("指标/目标值", m);
                    None
                }
            },
            None => None,
        };
        let (Ok(leads), Ok(coops), Ok(due)) = (leads, coops, due) else {
            continue;
        };
        if text.is_empty() || num.is_empty() {
            continue;
        }
        out.push_str("\n[[task]]\n");
        out.push_str(&format!("number = {}\n", num.trim_start_matches('0')));
        out.push_str(&format!("title = {}\n", toml_str(&task_title(text))));
        out.push_str(&format!("summary = {}\n", toml_str(text)));
        out.push_str(&format!("lead = {}\n", toml_list(&leads)));
        out.push_str(&format!("cooperating = {}\n", toml_list(&coops)));
        out.push_str(&format!(
            "milestones = [{{ date = \"{due}\", what = {}, as_written = {} }}]\n",
            toml_str(&task_title(text)),
            toml_str(cell(deadline))
        ));
        if let Some((name, cmp, value, unit)) = ind {
            out.push_str(&format!(
                "indicators = [{{ name = {}, comparator = \"{}\", value = \"{value}\", unit = {} }}]\n",
                toml_str(&name),
                cmp.as_str(),
                toml_str(&unit)
            ));
        }
    }
    if seen.is_empty() && errors.is_empty() {
        errors.push(TableError {
            row: 0,
            column: "任务".into(),
            message: "任务表没有任务行".into(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The `plans = [...]` line of the `[campaign]` file with `plan_id` added.
pub fn add_plan_to_campaign(text: &str, plan_id: &str) -> Option<String> {
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if !done && t.starts_with("plans") && t.contains('[') && t.trim_end().ends_with(']') {
                done = true;
                let end = l.rfind(']').unwrap_or(l.len());
                let inner = l[..end].trim_end();
                let sep = if inner.ends_with('[') { "" } else { ", " };
                format!("{inner}{sep}{}]", toml_str(plan_id))
            } else {
                l.to_owned()
            }
        })
        .collect();
    done.then(|| lines.join("\n") + "\n")
}

/// Names split on 、，,；; and resolved to the campaign's canonical names;
/// the unknown ones as the error.
fn organisations(campaign: &Campaign, cell: &str) -> Result<Vec<String>, Vec<String>> {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for name in cell
        .split(['、', '，', ',', '；', ';', '/', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match campaign
            .organisations
            .iter()
            .find(|o| o.name == name || o.aliases.iter().any(|a| a == name))
        {
            Some(o) if !known.contains(&o.name) => known.push(o.name.clone()),
            Some(_) => {}
            None => unknown.push(format!("“{name}”")),
        }
    }
    if unknown.is_empty() {
        Ok(known)
    } else {
        Err(unknown)
    }
}

/// A deadline as offices write it: `2026-04-30`, `2026/4/30`, `2026.4.30`,
/// `2026年4月30日`, `2026年4月底前`, `4月底前`, `年底前`, or a spreadsheet date.
pub fn parse_deadline(s: &str, year: i32) -> Result<NaiveDate, String> {
    let bad = || format!("无法识别的日期 {s:?}（应写作 2026-04-30、2026年4月底前 或 年底前）");
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if t.is_empty() {
        return Err("完成时限为空".into());
    }
    let t = t.trim_end_matches("前").trim_end_matches("以前");
    if t == "年底" || t == "年内" || t == format!("{year}年底") || t == format!("{year}年") {
        return NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(bad);
    }
    // A spreadsheet date-time cell: "2026-04-30 00:00:00".
    let date_part = t.split(['T']).next().unwrap_or(t);
    let date_part = if date_part.len() > 10 && date_part.as_bytes().get(10) == Some(&b'0') {
        &date_part[..10]
    } else {
        date_part
    };
    for fmt in [
        "%Y-%m-%d",
        "%Y/%m/%d",
        "%Y.%m.%d",
        "%Y年%m月%d日",
        "%Y-%m-%d%H:%M:%S",
    ] {
        if let Ok(d) = NaiveDate::parse_from_str(date_part, fmt) {
            return Ok(d);
        }
    }
    // "[YYYY年]M月底" / "[YYYY年]M月D日"
    let (y, rest) = match t.split_once('年') {
        Some((y, rest)) => (y.parse::<i32>().map_err(|_| bad())?, rest),
        None => (year, t),
    };
    let (m, rest) = rest.split_once('月').ok_or_else(bad)?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if rest == "底" || rest == "末" || rest.is_empty() {
        let first_next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)
        };
        return first_next
            .and_then(|d| d.pred_opt())
            .filter(|_| (1..=12).contains(&m))
            .ok_or_else(bad);
    }
    let d: u32 = rest
        .trim_end_matches(['日', '号'])
        .parse()
        .map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad)
}

/// `秸秆综合利用率≥90%` → (name, comparator, value, unit).
fn parse_indicator(s: &str) -> Result<(String, Comparator, Decimal, String), String> {
    let bad = || format!("无法识别的指标 {s:?}（应写作 名称≥数值单位，如 秸秆综合利用率≥90%）");
    const OPS: &[(&str, Comparator)] = &[
        ("≥", Comparator::Ge),
        (">=", Comparator::Ge),
        ("不低于", Comparator::Ge),
        ("达到", Comparator::Ge),
        ("≤", Comparator::Le),
        ("<=", Comparator::Le),
        ("不高于", Comparator::Le),
        ("不超过", Comparator::Le),
        ("＞", Comparator::Gt),
        (">", Comparator::Gt),
        ("＜", Comparator::Lt),
        ("<", Comparator::Lt),
        ("＝", Comparator::Eq),
        ("=", Comparator::Eq),
    ];
    let (at, op, cmp) = OPS
        .iter()
        .filter_map(|(op, cmp)| s.find(op).map(|at| (at, *op, *cmp)))
        .min_by_key(|(at, op, _)| (*at, std::cmp::Reverse(op.len())))
        .ok_or_else(bad)?;
    let name = s[..at].trim();
    let rest = s[at + op.len()..].trim();
    let digits = rest
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(rest.len(), |(i, _)| i);
    if name.is_empty() || digits == 0 {
        return Err(bad());
    }
    let value: Decimal = rest[..digits].parse().map_err(|_| bad())?;
    Ok((
        name.to_owned(),
        cmp,
        value,
        rest[digits..].trim().to_owned(),
    ))
}

/// A task's title: its text up to the first clause break, at most 40 characters.
fn task_title(text: &str) -> String {
    let first = text
        .split(['，', '。', '；', ',', ';', '\n'])
        .next()
        .unwrap_or(text)
        .trim();
    first.chars().take(40).collect()
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", inner.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_as_offices_write_them() {
        let d = |s| parse_deadline(s, 2026).map(|d| d.to_string());
        assert_eq!(d("2026-04-30").unwrap(), "2026-04-30");
        assert_eq!(d("2026/4/30").unwrap(), "2026-04-30");
        assert_eq!(d("2026年4月30日").unwrap(), "2026-04-30");
        assert_eq!(d("2026年4月底前").unwrap(), "2026-04-30");
        assert_eq!(d("2月底前").unwrap(), "2026-02-28");
        assert_eq!(d("年底前").unwrap(), "2026-12-31");
        assert_eq!(d("2026-06-30 00:00:00").unwrap(), "2026-06-30");
        assert!(d("尽快").is_err());
        assert!(d("13月底").is_err());
        assert!(d("2026-02-30").is_err());
    }

    #[test]
    fn indicators_as_offices_write_them() {
        let (n, c, v, u) = parse_indicator("秸秆综合利用率≥90%").unwrap();
        assert_eq!(
            (n.as_str(), c, v.to_string(), u.as_str()),
            ("秸秆综合利用率", Comparator::Ge, "90".into(), "%")
        );
        let (_, c, v, u) = parse_indicator("新增清洁取暖户数 >= 1200 户").unwrap();
        assert_eq!(
            (c, v.to_string(), u.as_str()),
            (Comparator::Ge, "1200".into(), "户")
        );
        assert!(parse_indicator("完成整治").is_err());
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }

    #[test]
    fn the_plan_list_gets_the_new_plan() {
        assert_eq!(
            add_plan_to_campaign("[campaign]\nplans = [\"air\", \"water\"]\n", "autumn").unwrap(),
            "[campaign]\nplans = [\"air\", \"water\", \"autumn\"]\n"
        );
        assert!(add_plan_to_campaign("[campaign]\n", "autumn").is_none());
    }
}

/// Why a task table was not added to a campaign's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableRefused {
    /// Rows of the table are wrong: every problem, at its row and column.
    Rows(Vec<TableError>),
    /// The plan already has a file for this plan identifier.
    Exists(String),
    /// The plan's files hold no `[campaign]` file with a `plans = [...]` line.
    NoPlanList,
    /// The plan with the table added does not pass the plan check.
    Plan(Vec<crate::Diagnostic>),
}

impl fmt::Display for TableRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableRefused::Rows(errors) => write!(f, "任务表有 {} 个问题", errors.len()),
            TableRefused::Exists(name) => write!(f, "方案中已有文件 {name}（换一个方案标识）"),
            TableRefused::NoPlanList => {
                write!(f, "方案文件中没有含 plans = [...] 的 [campaign] 文件")
            }
            TableRefused::Plan(d) => write!(f, "导入后的方案未通过校验（{} 个问题）", d.len()),
        }
    }
}

impl TableRefused {
    /// Each problem on its own line (rows at their row and column, plan
    /// problems at their file and line); empty when the refusal says it all.
    pub fn problems(&self) -> Vec<String> {
        match self {
            TableRefused::Rows(errors) => errors.iter().map(ToString::to_string).collect(),
            TableRefused::Plan(diagnostics) => {
                diagnostics.iter().map(ToString::to_string).collect()
            }
            TableRefused::Exists(_) | TableRefused::NoPlanList => Vec::new(),
        }
    }
}

/// A campaign's plan with a task table added as a new plan file.
#[derive(Debug, Clone)]
pub struct TableAdded {
    /// Every file of the plan, the new one and the edited `[campaign]` file included.
    pub files: Vec<crate::PlanFile>,
    /// The plan parsed from `files`: what is loaded.
    pub campaign: Campaign,
    /// The new plan file's name.
    pub new_file: String,
    /// The `[campaign]` file that now lists the new plan.
    pub campaign_file: String,
    /// How many tasks the table added.
    pub added: usize,
}

/// `campaign`'s plan files with the task table `rows` added as plan
/// `plan_id` titled `title` (see [`tasks_from_table`]), checked as a whole
/// plan; or why not. Nothing is half-added.
pub fn add_task_table(
    campaign: &Campaign,
    plan_id: &str,
    title: &str,
    headers: &[String],
    rows: &[(u64, Vec<String>)],
) -> Result<TableAdded, TableRefused> {
    let text =
        tasks_from_table(campaign, plan_id, title, headers, rows).map_err(TableRefused::Rows)?;
    let new_file = format!("{plan_id}.toml");
    let mut files = campaign.sources.clone();
    if files.iter().any(|f| f.name == new_file) {
        return Err(TableRefused::Exists(new_file));
    }
    let head = files
        .iter_mut()
        .find(|f| f.text.contains("[campaign]"))
        .ok_or(TableRefused::NoPlanList)?;
    head.text = add_plan_to_campaign(&head.text, plan_id).ok_or(TableRefused::NoPlanList)?;
    let campaign_file = head.name.clone();
    files.push(crate::PlanFile {
        name: new_file.clone(),
        text,
    });
    let checked = crate::parse_files(&files).map_err(|e| TableRefused::Plan(e.diagnostics))?;
    Ok(TableAdded {
        added: checked.tasks.len().saturating_sub(campaign.tasks.len()),
        files,
        campaign: checked,
        new_file,
        campaign_file,
    })
}
