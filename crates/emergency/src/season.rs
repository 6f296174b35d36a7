//! Seasonal production control (季节性生产调控, 错峰生产; issue 15 item 6):
//! the heating season's list of enterprises that must stop, limit their
//! load or stop in set hours for the season (emergency.md §3: Henan's
//! differentiated 错峰生产 for steel, coking, foundry and building
//! materials from 15 November to 15 March), and the pure part of its
//! verification from the same electricity data as a warning's.
//!
//! # The list's layout
//!
//! One header row, one row per enterprise and production line:
//!
//! | Column (common variants) | Meaning |
//! |---|---|
//! | 企业名称 / 单位名称 (required) | the enterprise |
//! | 统一社会信用代码 | checked (GB 32100-2015) |
//! | 行业类别 | kept as written |
//! | 生产线（工序）名称 | the production line |
//! | 错峰生产措施 / 管控措施 / 措施 (this or 措施类型 required) | the measure as issued |
//! | 措施类型 | 停产 / 限产 / 错峰生产; else read from the text |
//! | 负荷上限 (%) | the load limit of a 限产 (else "负荷不超过 70%" in the text) |
//! | 错峰时段 / 停产时段 | the daily hours it stops ("22:00-06:00", "22时至次日6时"; several separated by 、) |
//! | 开始日期 / 结束日期 | the row's own dates within the season (default: the season's) |
//! | 正常工况日用电量 (kWh/d) | baseline electricity |
//!
//! Descriptive columns (序号, 县区, 乡镇, 主要产品, 联系人, 备注 …) are read
//! past; any other column refuses the file. A 错峰生产 row without hours
//! stops for its whole period (the seasonal 错峰停产 of cement clinker, for
//! example) and is verified as a stop.
//!
//! # Verification
//!
//! Each day of a row's period is judged from the production meters as a
//! warning day is: a stop against the stop residual of the rule set, a
//! limit against its load limit ([`crate::electricity_check`]); a stagger
//! on the energy used within its hours against the stop residual of the
//! baseline's share of those hours ([`window_check`]).

use std::collections::HashMap;

use chrono::NaiveDate;
use gongjian_tabular::{Row, Table};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::credit::validate_credit_code;
use crate::list::{
    ListError, clip, descriptive, header_key, into_error, kind_from_text, kwh_unit, new_problems,
    percent, percents_in, quantity,
};
use crate::verify::{Check, MeterReading};
use crate::vocab::{MeasureKind, fold};

/// A daily stop window in minutes after midnight (China Standard Time);
/// `end <= start` crosses midnight ("22:00-06:00" is 1320 → 360).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourWindow {
    pub start_min: u32,
    pub end_min: u32,
}

impl HourWindow {
    /// Its length in seconds.
    pub fn seconds(self) -> i64 {
        let minutes = if self.end_min > self.start_min {
            self.end_min - self.start_min
        } else {
            24 * 60 - self.start_min + self.end_min
        };
        i64::from(minutes) * 60
    }

    /// The window that starts on `day`, as seconds after that day's
    /// midnight: (from, to), `to` past 86 400 when it crosses midnight.
    pub fn offsets(self) -> (i64, i64) {
        let from = i64::from(self.start_min) * 60;
        (from, from + self.seconds())
    }

    /// "22:00–06:00".
    pub fn label(self) -> String {
        format!(
            "{:02}:{:02}–{:02}:{:02}",
            self.start_min / 60,
            self.start_min % 60,
            self.end_min / 60,
            self.end_min % 60
        )
    }
}

/// One row of the season's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeasonEntry {
    /// Source line (Excel row).
    pub line: u64,
    pub enterprise: String,
    pub credit_code: Option<String>,
    pub industry: String,
    pub production_line: Option<String>,
    pub kind: MeasureKind,
    /// The measure as issued.
    pub text: String,
    /// The load limit of a 限产 (percent of normal).
    pub load_limit_pct: Option<Decimal>,
    /// The daily stop windows of a 错峰生产; empty: stopped all day.
    pub windows: Vec<HourWindow>,
    /// The row's period (inclusive), within the season's.
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub baseline_kwh: Option<Decimal>,
}

impl SeasonEntry {
    /// "限产（负荷 ≤ 80%）", "错峰生产 22:00–06:00 停产", "停产".
    pub fn measure_label(&self) -> String {
        match self.kind {
            MeasureKind::Limit => match self.load_limit_pct {
                Some(p) => format!("限产（负荷 ≤ {}%）", p.normalize()),
                None => "限产".to_owned(),
            },
            MeasureKind::Stagger if !self.windows.is_empty() => format!(
                "错峰生产 {} 停产",
                self.windows
                    .iter()
                    .map(|w| w.label())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            MeasureKind::Stagger => "错峰生产（全天停产）".to_owned(),
            MeasureKind::Stop => "停产".to_owned(),
        }
    }

    pub fn covers(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && day <= self.ends_on
    }
}

/// A parsed season list and what the office should know about it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeasonList {
    pub entries: Vec<SeasonEntry>,
    pub notes: Vec<String>,
}

/// The season's dates, checked: the end after the start and at most a
/// year apart (a heating season runs 15 November to 15 March).
pub fn check_season(starts_on: NaiveDate, ends_on: NaiveDate) -> Result<(), String> {
    if ends_on < starts_on {
        return Err(format!("结束日期 {ends_on} 早于开始日期 {starts_on}"));
    }
    if (ends_on - starts_on).num_days() > 366 {
        return Err(format!(
            "调控期 {starts_on} 至 {ends_on} 超过一年：请按采暖季分别导入"
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Enterprise,
    CreditCode,
    Industry,
    Line,
    Text,
    Kind,
    LoadLimit,
    Hours,
    StartsOn,
    EndsOn,
    BaselineKwh,
    Ignored,
}

fn field_of(header: &str) -> Result<Field, String> {
    let key = header_key(header)?;
    let unknown = || format!("无法识别的列“{}”", clip(header));
    if key.level.is_some() || key.pollutant.is_some() {
        return Err(format!(
            "{}：错峰生产清单不分预警级别和污染物（应急减排清单请在“导入应急减排清单”处导入）",
            unknown()
        ));
    }
    Ok(match key.name.as_str() {
        "企业名称" | "单位名称" | "企业" | "排污单位名称" => Field::Enterprise,
        "统一社会信用代码" | "社会信用代码" | "信用代码" | "统一信用代码" => {
            Field::CreditCode
        }
        "行业类别" | "行业" | "所属行业" | "行业类型" | "行业分类" => {
            Field::Industry
        }
        "生产线名称"
        | "生产线"
        | "工序名称"
        | "工序"
        | "生产线工序名称"
        | "生产线工序"
        | "生产设施" => Field::Line,
        "错峰生产措施" | "错峰措施" | "管控措施" | "措施" | "调控措施" | "生产调控措施"
        | "具体措施" => Field::Text,
        "措施类型" | "措施类别" | "管控方式" | "调控方式" => Field::Kind,
        "负荷上限" | "生产负荷上限" | "最大负荷" | "允许最大负荷" | "最高负荷" | "负荷"
        | "生产负荷" | "限产后负荷" => Field::LoadLimit,
        "错峰时段" | "错峰生产时段" | "停产时段" | "轮产时段" | "错峰轮产时段" => {
            Field::Hours
        }
        "开始日期" | "管控开始日期" | "调控开始日期" | "起始日期" | "开始时间" => {
            Field::StartsOn
        }
        "结束日期" | "管控结束日期" | "调控结束日期" | "截止日期" | "结束时间" => {
            Field::EndsOn
        }
        "正常工况日用电量" | "日用电量" | "基准日用电量" | "基准用电量" | "正常生产日用电量" =>
        {
            kwh_unit(&key.unit)?;
            Field::BaselineKwh
        }
        n if descriptive(n) => Field::Ignored,
        _ => return Err(unknown()),
    })
}

/// A date cell: 2026-11-15, 2026/11/15, 2026.11.15, 2026年11月15日, or a
/// spreadsheet date-time at midnight.
pub fn parse_day(text: &str) -> Result<NaiveDate, String> {
    let t = fold(text);
    // fold drops the space of "2026-11-15 00:00:00".
    let t = t.strip_suffix("00:00:00").unwrap_or(&t).trim();
    let normalised: String = t
        .chars()
        .map(|c| match c {
            '/' | '.' | '年' | '月' => '-',
            c => c,
        })
        .filter(|&c| c != '日')
        .collect();
    NaiveDate::parse_from_str(&normalised, "%Y-%m-%d")
        .map_err(|_| format!("“{}”不是日期：应写成 2026-11-15", clip(text)))
}

/// The daily stop windows written in a cell: pairs of times, `HH:MM` or
/// `H时`/`H点`, joined by -, –, —, ~, 至 or 到 (次日 allowed), several
/// windows separated by 、 , ； or 和.
pub fn parse_windows(text: &str) -> Result<Vec<HourWindow>, String> {
    let bad = |why: &str| format!("错峰时段“{}”{why}：应写成如 22:00-06:00", clip(text));
    let chars: Vec<char> = fold(text).chars().collect();
    let mut times = Vec::new();
    let mut i = 0;
    // 晚/夜/下午/傍晚 before a time in 时/点 means after noon ("晚10点").
    let mut afternoon = false;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            match chars[i] {
                '晚' | '夜' => afternoon = true,
                '下' if chars.get(i + 1) == Some(&'午') => afternoon = true,
                '上' | '早' | '凌' | '次' => afternoon = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let read_number = |i: &mut usize| {
            let start = *i;
            while *i < chars.len() && chars[*i].is_ascii_digit() && *i - start < 3 {
                *i += 1;
            }
            chars[start..*i]
                .iter()
                .collect::<String>()
                .parse::<u32>()
                .unwrap_or(u32::MAX)
        };
        let hour = read_number(&mut i);
        let minute = match chars.get(i) {
            Some(':') => {
                i += 1;
                if !chars.get(i).is_some_and(char::is_ascii_digit) {
                    return Err(bad("的时间不完整"));
                }
                let m = read_number(&mut i);
                if chars.get(i) == Some(&':') {
                    // Seconds, as a spreadsheet time cell writes them.
                    i += 1;
                    read_number(&mut i);
                }
                m
            }
            Some('时' | '点') => {
                i += 1;
                if chars.get(i).is_some_and(char::is_ascii_digit) {
                    let m = read_number(&mut i);
                    if chars.get(i) == Some(&'分') {
                        i += 1;
                    }
                    m
                } else {
                    if chars.get(i) == Some(&'半') {
                        i += 1;
                        30
                    } else {
                        0
                    }
                }
            }
            _ => return Err(bad("中有不是时间的数字")),
        };
        if hour > 24 || minute > 59 || (hour == 24 && minute != 0) {
            return Err(bad("中的时间超出范围"));
        }
        let hour = if afternoon && hour < 12 {
            hour + 12
        } else {
            hour
        };
        afternoon = false;
        times.push((hour % 24) * 60 + minute);
    }
    if times.is_empty() {
        return Err(bad("中没有时间"));
    }
    if times.len() % 2 != 0 {
        return Err(bad("的起止时间不成对"));
    }
    let windows: Vec<HourWindow> = times
        .chunks(2)
        .map(|p| HourWindow {
            start_min: p[0],
            end_min: p[1],
        })
        .collect();
    if windows.iter().any(|w| w.start_min == w.end_min) {
        return Err(bad("的开始和结束时间相同"));
    }
    Ok(windows)
}

struct Parser<'t> {
    table: &'t Table,
    cols: HashMap<Field, usize>,
    problems: gongjian_tabular::Problems,
    notes: Vec<String>,
    season: (NaiveDate, NaiveDate),
}

impl<'t> Parser<'t> {
    fn cell(&self, row: &Row<'t>, field: Field) -> Option<(usize, &'t str)> {
        let c = *self.cols.get(&field)?;
        let text = row.get(c);
        (!text.is_empty()).then_some((c, text))
    }

    fn problem(&mut self, row: &Row<'t>, c: usize, message: String) {
        let column = self.table.headers().get(c).map_or("", String::as_str);
        self.problems.push(row.line(), column, message);
    }

    fn read<T>(
        &mut self,
        row: &Row<'t>,
        field: Field,
        read: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let (c, text) = self.cell(row, field)?;
        match read(text) {
            Ok(v) => Some(v),
            Err(m) => {
                self.problem(row, c, m);
                None
            }
        }
    }

    fn row(&mut self, row: &Row<'t>) -> Option<SeasonEntry> {
        let name_col = *self.cols.get(&Field::Enterprise)?;
        let enterprise = row.get(name_col);
        if enterprise.is_empty() {
            self.problem(row, name_col, "企业名称为空".into());
        }
        let credit_code = self.read(row, Field::CreditCode, |t| {
            validate_credit_code(t).map_err(|e| format!("“{}”：{e}", clip(t)))
        });
        let industry = self
            .cell(row, Field::Industry)
            .map_or(String::new(), |(_, t)| t.to_owned());
        let production_line = self.cell(row, Field::Line).map(|(_, t)| t.to_owned());
        let text = self.cell(row, Field::Text).map_or("", |(_, t)| t);
        let text_col = self
            .cols
            .get(&Field::Text)
            .or(self.cols.get(&Field::Kind))
            .copied()
            .unwrap_or(name_col);
        let kind = match self.cell(row, Field::Kind) {
            Some((c, t)) => match MeasureKind::parse(t) {
                Some(k) => Some(k),
                None => {
                    self.problem(
                        row,
                        c,
                        format!("“{}”不是措施类型：应为停产、限产或错峰生产", clip(t)),
                    );
                    None
                }
            },
            None if text.is_empty() => {
                self.problem(row, text_col, "未填写错峰生产措施".into());
                None
            }
            None => match kind_from_text(text) {
                Ok(k) => Some(k),
                Err(m) => {
                    self.problem(row, text_col, m);
                    None
                }
            },
        };
        let load = self.read(row, Field::LoadLimit, percent);
        let mut windows = self
            .read(row, Field::Hours, parse_windows)
            .unwrap_or_default();
        // Hours written in the measure itself ("夜间 22:00-06:00 停产",
        // "每日22时至次日6时停产") make it a stagger in those hours.
        let mut kind = kind;
        if windows.is_empty()
            && self.cell(row, Field::Hours).is_none()
            && kind != Some(MeasureKind::Limit)
            && let Ok(found) = parse_windows(text)
        {
            windows = found;
            kind = kind.map(|_| MeasureKind::Stagger);
        }
        let baseline_kwh = self.read(row, Field::BaselineKwh, quantity);
        let (season_start, season_end) = self.season;
        let starts_on = self
            .read(row, Field::StartsOn, parse_day)
            .unwrap_or(season_start);
        let ends_on = self
            .read(row, Field::EndsOn, parse_day)
            .unwrap_or(season_end);
        if starts_on < season_start || ends_on > season_end || ends_on < starts_on {
            let c = self
                .cols
                .get(&Field::StartsOn)
                .or(self.cols.get(&Field::EndsOn))
                .copied()
                .unwrap_or(name_col);
            self.problem(
                row,
                c,
                format!(
                    "调控期 {starts_on} 至 {ends_on} 不在本采暖季 {season_start} 至 {season_end} 之内"
                ),
            );
        }
        let kind = kind?;
        let load_limit_pct = match kind {
            MeasureKind::Limit => match load.or_else(|| self.load_from_text(row, text)) {
                Some(v) => Some(v),
                None => {
                    self.problem(
                        row,
                        text_col,
                        format!(
                            "限产措施“{}”未给出负荷上限，无法核查：请填写“负荷上限(%)”列，或写明如“负荷不超过 70%”",
                            clip(text)
                        ),
                    );
                    None
                }
            },
            _ => {
                if let (Some(v), Some(&c)) = (load, self.cols.get(&Field::LoadLimit))
                    && !v.is_zero()
                {
                    self.problem(
                        row,
                        c,
                        format!("{}措施不应填写负荷上限（实为 {v}%）", kind.label()),
                    );
                }
                None
            }
        };
        if kind != MeasureKind::Stagger && !windows.is_empty() {
            let c = self.cols.get(&Field::Hours).copied().unwrap_or(name_col);
            self.problem(row, c, format!("{}措施不应填写错峰时段", kind.label()));
        }
        if kind == MeasureKind::Stagger && windows.is_empty() {
            self.notes.push(format!(
                "第 {} 行「{}」：错峰生产未填写时段，按调控期内全天停产核查",
                row.line(),
                clip(enterprise)
            ));
        }
        Some(SeasonEntry {
            line: row.line(),
            enterprise: enterprise.to_owned(),
            credit_code,
            industry,
            production_line,
            kind,
            text: text.to_owned(),
            load_limit_pct,
            windows,
            starts_on,
            ends_on,
            baseline_kwh,
        })
    }

    /// "负荷不超过 70%" is the load; "限产 30%" is read as a 30 % cut, noted.
    fn load_from_text(&mut self, row: &Row<'t>, text: &str) -> Option<Decimal> {
        let t = fold(text);
        match percents_in(text).as_slice() {
            [v] if *v <= Decimal::ONE_HUNDRED && t.contains("负荷") => Some(*v),
            [v] if *v <= Decimal::ONE_HUNDRED && (t.contains("限产") || t.contains("减产")) => {
                let load = Decimal::ONE_HUNDRED - *v;
                self.notes.push(format!(
                    "第 {} 行：措施“{}”按减产 {v}% 理解，负荷上限取 {load}%；如有不同，请填写“负荷上限(%)”列",
                    row.line(),
                    clip(text)
                ));
                Some(load)
            }
            _ => None,
        }
    }
}

/// Parse the season's list, for the season `starts_on`–`ends_on`. All or
/// nothing: any problem refuses the file with every problem listed.
pub fn parse_season_list(
    table: &Table,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
) -> Result<SeasonList, ListError> {
    let mut problems = new_problems();
    let header_line = table.header_line();
    if let Err(m) = check_season(starts_on, ends_on) {
        problems.push(header_line, "", m);
        return Err(into_error(problems, table.source()));
    }
    let mut cols: HashMap<Field, usize> = HashMap::new();
    for (c, h) in table.headers().iter().enumerate() {
        if h.trim().is_empty() {
            continue;
        }
        match field_of(h) {
            Ok(Field::Ignored) => {}
            Ok(f) => {
                if let Some(first) = cols.insert(f, c) {
                    problems.push(
                        header_line,
                        h,
                        format!(
                            "与第 {} 列“{}”含义相同，列重复",
                            first + 1,
                            clip(&table.headers()[first])
                        ),
                    );
                }
            }
            Err(m) => problems.push(header_line, h, m),
        }
    }
    if !cols.contains_key(&Field::Enterprise) {
        problems.push(header_line, "", "缺少“企业名称”列".into());
    }
    if !cols.contains_key(&Field::Text) && !cols.contains_key(&Field::Kind) {
        problems.push(
            header_line,
            "",
            "缺少“错峰生产措施”列（或“措施类型”列）".into(),
        );
    }
    if !problems.is_empty() {
        return Err(into_error(problems, table.source()));
    }
    let mut parser = Parser {
        table,
        cols,
        problems,
        notes: Vec::new(),
        season: (starts_on, ends_on),
    };
    let mut entries: Vec<SeasonEntry> = Vec::new();
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    for row in table.rows() {
        if row.iter().all(str::is_empty) {
            continue;
        }
        if row
            .iter()
            .any(|c| ["合计", "小计", "总计"].contains(&fold(c).as_str()))
        {
            parser
                .notes
                .push(format!("第 {} 行：合计行，未导入", row.line()));
            continue;
        }
        let Some(entry) = parser.row(&row) else {
            continue;
        };
        let key = (
            entry
                .credit_code
                .clone()
                .unwrap_or_else(|| entry.enterprise.clone()),
            entry.production_line.clone().unwrap_or_default(),
        );
        if let Some(first) = seen.insert(key, entry.line) {
            let c = parser.cols.get(&Field::Enterprise).copied().unwrap_or(0);
            parser.problem(
                &row,
                c,
                format!("与第 {first} 行为同一企业的同一生产线，重复"),
            );
        }
        entries.push(entry);
    }
    if entries.is_empty() && parser.problems.is_empty() {
        parser
            .problems
            .push(header_line, "", "文件中没有企业".into());
    }
    if !parser.problems.is_empty() {
        return Err(into_error(parser.problems, table.source()));
    }
    Ok(SeasonList {
        entries,
        notes: parser.notes,
    })
}

/// Energy used within one stop window (kWh), from the readings of the
/// window (counter difference, else ∑P·Δt), scaled to the whole window when
/// the readings cover at least three quarters of it; `None` otherwise.
pub fn window_energy(readings: &[MeterReading], window_seconds: i64) -> Option<Decimal> {
    crate::verify::energy_over(readings, window_seconds, window_seconds * 3 / 4)
}

/// A stagger's check for one window: the energy used within the window at
/// most `residual_pct` % of the baseline's share of those hours,
/// E·100·86 400 ≤ B·residual·seconds, exactly.
pub fn window_check(
    energy: Option<Decimal>,
    baseline_day: Option<Decimal>,
    window_seconds: i64,
    residual_pct: Decimal,
) -> Check {
    let Some(e) = energy else {
        return Check::Unverifiable {
            why: "错峰时段内用电数据不足（覆盖不足时段的 3/4），无法核查".into(),
        };
    };
    let share = baseline_day.and_then(|b| {
        b.checked_mul(Decimal::from(window_seconds))?
            .checked_div(Decimal::from(86_400))
    });
    crate::electricity_check(Some(e), share, residual_pct)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn table(csv: &str) -> Table {
        gongjian_tabular::read_csv_bytes("错峰生产清单.csv", csv.as_bytes()).unwrap()
    }

    const HEADER: &str = "序号,企业名称,统一社会信用代码,行业类别,生产线名称,错峰生产措施,措施类型,负荷上限(%),错峰时段,开始日期,结束日期,正常工况日用电量(kWh)\n";

    #[test]
    fn a_season_list_is_read_with_its_three_kinds() {
        let csv = format!(
            "{HEADER}1,示范铸造有限公司,,铸造,冲天炉,限产,,80,,,,4800\n\
             2,示范水泥有限公司,,建材,熟料生产线,错峰停产,,,,2026-12-01,2027/2/28,\n\
             3,示范化工有限公司,,化工,,夜间错峰生产,,,22:00-06:00,,,3600\n\
             4,示范砖厂,,建材,,负荷不超过 60%,限产,,,,,\n"
        );
        let list = parse_season_list(&table(&csv), day("2026-11-15"), day("2027-03-15")).unwrap();
        let e = &list.entries;
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].kind, MeasureKind::Limit);
        assert_eq!(e[0].load_limit_pct, Some(dec!(80)));
        assert_eq!(e[0].starts_on, day("2026-11-15"));
        assert_eq!(e[0].baseline_kwh, Some(dec!(4800)));
        assert_eq!(e[1].kind, MeasureKind::Stagger);
        assert!(e[1].windows.is_empty());
        assert_eq!(
            (e[1].starts_on, e[1].ends_on),
            (day("2026-12-01"), day("2027-02-28"))
        );
        assert_eq!(
            e[2].windows,
            vec![HourWindow {
                start_min: 1320,
                end_min: 360
            }]
        );
        assert_eq!(e[2].measure_label(), "错峰生产 22:00–06:00 停产");
        assert_eq!(e[3].load_limit_pct, Some(dec!(60)));
        assert!(
            list.notes.iter().any(|n| n.contains("全天停产")),
            "{:?}",
            list.notes
        );
    }

    #[test]
    fn a_bad_season_list_is_refused_whole_with_every_row_named() {
        let csv = format!(
            "{HEADER}1,示范铸造有限公司,91410000MA00000000,铸造,,限产,,,,,,\n\
             2,示范水泥有限公司,,建材,,停产,,,,2026-10-01,,\n\
             3,示范化工有限公司,,化工,,错峰,,,25:00-06:00,,,\n\
             4,,,化工,,停产,,,,,,abc\n"
        );
        let err = parse_season_list(&table(&csv), day("2026-11-15"), day("2027-03-15"))
            .unwrap_err()
            .to_string();
        for needle in [
            "第 2 行「统一社会信用代码」",
            "第 2 行「错峰生产措施」：限产措施“限产”未给出负荷上限",
            "第 3 行「开始日期」：调控期 2026-10-01 至 2027-03-15 不在本采暖季",
            "第 4 行「错峰时段」：错峰时段“25:00-06:00”中的时间超出范围",
            "第 5 行「企业名称」：企业名称为空",
            "第 5 行「正常工况日用电量(kWh)」",
        ] {
            assert!(err.contains(needle), "{needle} missing in {err}");
        }
        assert!(err.contains("整个文件未导入"), "{err}");
    }

    #[test]
    fn unknown_and_level_columns_are_refused() {
        let csv = "企业名称,橙色预警减排措施,产量\n甲,停产,1\n";
        let err = parse_season_list(&table(csv), day("2026-11-15"), day("2027-03-15"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("错峰生产清单不分预警级别"), "{err}");
        assert!(err.contains("无法识别的列“产量”"), "{err}");
        assert!(err.contains("缺少“错峰生产措施”列"), "{err}");
    }

    #[test]
    fn windows_are_read_in_the_ways_lists_write_them() {
        let w = |s| parse_windows(s).unwrap();
        assert_eq!(
            w("22时至次日6时"),
            vec![HourWindow {
                start_min: 1320,
                end_min: 360
            }]
        );
        assert_eq!(
            w("6:00-8:00、18:30～20:00"),
            vec![
                HourWindow {
                    start_min: 360,
                    end_min: 480
                },
                HourWindow {
                    start_min: 1110,
                    end_min: 1200
                }
            ]
        );
        assert_eq!(w("22:00:00-24:00:00")[0].seconds(), 7200);
        assert_eq!(w("22:00-06:00")[0].seconds(), 8 * 3600);
        assert_eq!(w("22:00-06:00")[0].offsets(), (79_200, 79_200 + 28_800));
        assert!(parse_windows("22:00").is_err());
        assert!(parse_windows("夜间").is_err());
        assert!(parse_windows("8:00-8:00").is_err());
        assert!(parse_windows("8:61-9:00").is_err());
    }

    #[test]
    fn hours_in_the_measure_text_make_a_stagger() {
        let csv = "企业名称,错峰生产措施\n\
甲,夜间22:00-06:00停产\n\
乙,错峰生产，每日晚10点至次日6点停产\n\
丙,停产\n";
        let list = parse_season_list(&table(csv), day("2026-11-15"), day("2027-03-15")).unwrap();
        let night = vec![HourWindow {
            start_min: 1320,
            end_min: 360,
        }];
        assert_eq!(list.entries[0].kind, MeasureKind::Stagger);
        assert_eq!(list.entries[0].windows, night);
        assert_eq!(list.entries[1].windows, night);
        assert_eq!(list.entries[2].kind, MeasureKind::Stop);
        assert!(list.entries[2].windows.is_empty());
        assert_eq!(
            parse_windows("下午5点至次日8点").unwrap(),
            vec![HourWindow {
                start_min: 1020,
                end_min: 480
            }]
        );
    }

    #[test]
    fn dates_are_read_as_offices_write_them() {
        for s in [
            "2026-11-15",
            "2026/11/15",
            "2026.11.15",
            "2026年11月15日",
            "2026-11-15 00:00:00",
        ] {
            assert_eq!(parse_day(s), Ok(day("2026-11-15")), "{s}");
        }
        assert!(parse_day("11月15日").is_err());
        assert!(check_season(day("2027-03-15"), day("2026-11-15")).is_err());
        assert!(check_season(day("2026-01-01"), day("2027-03-15")).is_err());
    }

    #[test]
    fn a_stagger_window_is_judged_on_the_baselines_share_of_its_hours() {
        // Baseline 4800 kWh/d → 1600 kWh in 8 h; 10 % residual → 160 kWh.
        assert_eq!(
            window_check(Some(dec!(160)), Some(dec!(4800)), 8 * 3600, dec!(10)),
            Check::Met
        );
        assert_eq!(
            window_check(Some(dec!(160.01)), Some(dec!(4800)), 8 * 3600, dec!(10)),
            Check::NotMet {
                actual_ratio: dec!(10.01)
            }
        );
        assert!(matches!(
            window_check(None, Some(dec!(4800)), 8 * 3600, dec!(10)),
            Check::Unverifiable { .. }
        ));
        assert!(matches!(
            window_check(Some(dec!(1)), None, 8 * 3600, dec!(10)),
            Check::Unverifiable { .. }
        ));
    }

    #[test]
    fn window_energy_needs_three_quarters_of_the_window() {
        let reading = |h: i64, kwh: i64| MeterReading {
            at: h * 3600,
            power_kw: None,
            energy_kwh: Some(Decimal::from(kwh)),
        };
        // 8 h window, counter over 6 h: 60 kWh → 80 kWh for the window.
        let r: Vec<MeterReading> = (0..=6).map(|h| reading(h, 100 + 10 * h)).collect();
        assert_eq!(window_energy(&r, 8 * 3600), Some(dec!(80)));
        // 5 h of 8 is too little.
        assert_eq!(window_energy(&r[..6], 8 * 3600), None);
    }
}
