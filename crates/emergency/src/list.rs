//! The reduction list (应急减排清单) and its import from the industrial
//! sheet (工业源) the city issues, in the layout of emergency.md §8: one
//! row per enterprise and production line (or process), with the columns
//! of each warning level side by side. The crate documentation lists the
//! columns recognised.
//!
//! The input is hostile and the import all or nothing: a file with any bad
//! row is refused whole, listing every problem of every bad row as
//! `第 N 行「列」：原因` (at most [`MAX_PROBLEMS`], cell text quoted at most
//! [`MAX_QUOTE`] characters), so the office fixes the file once rather than
//! loading half a list.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use gongjian_tabular::{Row, Table};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::credit::validate_credit_code;
use crate::rules::ReductionRatios;
use crate::verify::Required;
use crate::vocab::{Exemption, Grade, MeasureKind, PerPollutant, Pollutant, WarningLevel, fold};
pub use gongjian_tabular::{Problem, Problems};

/// At most this many problems are listed; the others are counted.
pub const MAX_PROBLEMS: usize = 50;

/// Quoted cell text and column names are cut to this many characters.
pub const MAX_QUOTE: usize = 40;

/// What one enterprise (production line) must do at one warning level:
/// its 一厂一策 measure, kept as issued (`text`) and in the structured
/// form verification needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    pub kind: MeasureKind,
    /// The measure as the list words it ("停止烧结工序", "限产 30%" …).
    pub text: String,
    /// The production units or processes to stop or limit; `None`: the
    /// row's production line, or the whole plant when the row names none.
    pub units: Option<String>,
    /// Maximum load (percent of normal, 0–100). Always set for a limit.
    pub load_limit_pct: Option<Decimal>,
    /// The staggered hours as written ("22:00–06:00").
    pub stagger_hours: Option<String>,
    /// Minimum reduction per pollutant (percent), where the list states
    /// one; otherwise the level's default applies ([`ListEntry::required`]).
    pub required_pct: PerPollutant<Option<Decimal>>,
    /// The list's daily reduction per pollutant (日减排量, kg/d).
    pub reduction_kg: PerPollutant<Option<Decimal>>,
}

/// One row of the list: an enterprise, or one production line of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    /// Source line (Excel row).
    pub line: u64,
    pub enterprise: String,
    /// 统一社会信用代码, checked and upper case.
    pub credit_code: Option<String>,
    /// 行业类别 as written (may be empty).
    pub industry: String,
    /// `None`: 未分级 or blank.
    pub grade: Option<Grade>,
    pub exemption: Option<Exemption>,
    /// 生产线（工序）名称.
    pub production_line: Option<String>,
    /// Normal-operation daily emission per pollutant (正常工况日排放量,
    /// kg/d). It does not depend on the level, so it is kept on the row,
    /// as the list's layout has it.
    pub baseline_kg: PerPollutant<Option<Decimal>>,
    /// Normal-operation daily electricity use (kWh/d).
    pub baseline_kwh: Option<Decimal>,
    pub yellow: Option<Measure>,
    pub orange: Option<Measure>,
    pub red: Option<Measure>,
}

impl ListEntry {
    /// The measure listed for `level`, if any (for an enterprise that
    /// needs none, a voluntary one).
    pub fn measure(&self, level: WarningLevel) -> Option<&Measure> {
        match level {
            WarningLevel::Yellow => self.yellow.as_ref(),
            WarningLevel::Orange => self.orange.as_ref(),
            WarningLevel::Red => self.red.as_ref(),
        }
    }

    /// A and 引领性 enterprises and strategic emerging industries carry no
    /// mandatory measures, only voluntary reduction (emergency.md §4.2,
    /// §4.3 item 3): nothing of theirs is verified.
    pub fn needs_no_measures(&self) -> bool {
        self.grade.is_some_and(Grade::needs_no_measures)
            || self.exemption == Some(Exemption::StrategicEmerging)
    }

    /// What the reduction of `pollutant` must reach at `level`: the list's
    /// own figure wins (its 减排比例, else its 日减排量), else the level's
    /// default from `ratios`. `None` when the row has no mandatory measure
    /// at that level. The caller checks only the pollutants the enterprise
    /// emits (those with a baseline or a CEMS factor).
    pub fn required(
        &self,
        level: WarningLevel,
        pollutant: Pollutant,
        ratios: &ReductionRatios,
    ) -> Option<Required> {
        if self.needs_no_measures() {
            return None;
        }
        let m = self.measure(level)?;
        Some(
            match (m.required_pct[pollutant], m.reduction_kg[pollutant]) {
                (Some(pct), _) => Required::Percent(pct),
                (None, Some(kg)) => Required::Kg(kg),
                (None, None) => Required::Percent(ratios.get(level, pollutant)),
            },
        )
    }
}

/// A parsed list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReductionList {
    pub entries: Vec<ListEntry>,
    /// Things the office should know that are not errors (measures given
    /// to an A-grade enterprise, a 限产 percentage read as a cut, a total
    /// row skipped), in Chinese, `第 N 行…`.
    pub notes: Vec<String>,
}

/// The file was refused; every problem found is listed (at most
/// [`MAX_PROBLEMS`], `more` counts the rest).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ListError {
    pub file: String,
    pub problems: Vec<Problem>,
    pub more: usize,
}

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}：应急减排清单有 {} 个问题，整个文件未导入：",
            clip(&self.file),
            self.problems.len() + self.more
        )?;
        for p in &self.problems {
            write!(f, "\n{p}")?;
        }
        if self.more > 0 {
            write!(f, "\n另有 {} 个问题未列出", self.more)?;
        }
        Ok(())
    }
}

pub(crate) fn new_problems() -> Problems {
    Problems::new(MAX_PROBLEMS, MAX_QUOTE)
}

pub(crate) fn into_error(problems: Problems, file: &str) -> ListError {
    ListError {
        file: file.to_owned(),
        problems: problems.list,
        more: problems.more,
    }
}

/// Text of a hostile cell or header fit to quote: at most [`MAX_QUOTE`]
/// characters (then "…"), control and bidirectional-override characters
/// replaced (they could rewrite a terminal or reorder the message).
pub(crate) fn clip(s: &str) -> Cow<'_, str> {
    gongjian_tabular::quote(s, MAX_QUOTE)
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    Enterprise,
    CreditCode,
    Industry,
    Grade,
    /// 是否民生保障 (是/否).
    Livelihood,
    /// 保障类型 / 豁免类型.
    ExemptionType,
    Line,
    Baseline(Pollutant),
    BaselineKwh,
    Level(WarningLevel, LevelField),
    /// Descriptive columns (序号, 乡镇, 联系人 …): read past.
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum LevelField {
    Text,
    Kind,
    Units,
    LoadLimit,
    StaggerHours,
    RequiredPct(Pollutant),
    ReductionKg(Pollutant),
}

const LEVEL_TOKENS: [(&str, WarningLevel); 3] = [
    ("黄色", WarningLevel::Yellow),
    ("橙色", WarningLevel::Orange),
    ("红色", WarningLevel::Red),
];

/// Longer tokens first: 烟粉尘 before 烟尘 and 粉尘, vocs before voc.
const POLLUTANT_TOKENS: [(&str, Pollutant); 12] = [
    ("二氧化硫", Pollutant::So2),
    ("so2", Pollutant::So2),
    ("氮氧化物", Pollutant::Nox),
    ("nox", Pollutant::Nox),
    ("颗粒物", Pollutant::Pm),
    ("烟粉尘", Pollutant::Pm),
    ("烟尘", Pollutant::Pm),
    ("粉尘", Pollutant::Pm),
    ("pm", Pollutant::Pm),
    ("挥发性有机物", Pollutant::Vocs),
    ("vocs", Pollutant::Vocs),
    ("voc", Pollutant::Vocs),
];

/// A header taken apart: its level, its pollutant, the text in brackets
/// (the unit) and what is left (the field's name).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct HeaderKey {
    pub(crate) level: Option<WarningLevel>,
    pub(crate) pollutant: Option<Pollutant>,
    pub(crate) unit: String,
    pub(crate) name: String,
}

pub(crate) fn header_key(header: &str) -> Result<HeaderKey, String> {
    let mut t: String = fold(header.trim_start_matches('\u{feff}'))
        .chars()
        .map(|c| match c {
            '₂' => '2',
            'ₓ' => 'x',
            '【' | '[' => '(',
            '】' | ']' => ')',
            c => c,
        })
        .collect();
    let mut key = HeaderKey::default();
    for (token, level) in LEVEL_TOKENS {
        if t.contains(token) {
            if key.level.is_some() {
                return Err("一列只能属于一个预警级别".into());
            }
            key.level = Some(level);
            t = t.replace(token, "");
        }
    }
    if key.level.is_some() {
        for word in ["预警期间", "预警", "期间"] {
            t = t.replace(word, "");
        }
    }
    for (token, pollutant) in POLLUTANT_TOKENS {
        if t.contains(token) {
            if key.pollutant.is_some_and(|p| p != pollutant) {
                return Err("一列只能对应一种污染物".into());
            }
            key.pollutant = Some(pollutant);
            t = t.replace(token, "");
        }
    }
    let mut depth = 0u32;
    for c in t.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if depth > 0 => key.unit.push(c),
            '-' | '_' | ':' | '/' | '、' | '%' | '·' | '.' | ',' | '，' | '。' | ';' | '；' => {
            }
            c => key.name.push(c),
        }
    }
    Ok(key)
}

/// Emission quantities are kg/d; a header with another unit (t/d, t/a)
/// would be read 1000 times wrong, so it is refused.
fn kg_unit(unit: &str) -> Result<(), String> {
    if unit.is_empty() || ["kg", "千克", "公斤"].iter().any(|u| unit.contains(u)) {
        Ok(())
    } else {
        Err(format!(
            "单位“{}”不是 kg/d（千克/日），请换算后导入",
            clip(unit)
        ))
    }
}

pub(crate) fn kwh_unit(unit: &str) -> Result<(), String> {
    let known = unit.is_empty() || ["kwh", "千瓦时", "度"].iter().any(|u| unit.contains(u));
    if known && !unit.contains('万') {
        Ok(())
    } else {
        Err(format!(
            "单位“{}”不是 kWh/d（千瓦时/日），请换算后导入",
            clip(unit)
        ))
    }
}

/// Descriptive columns of the city's sheets (序号, 县区, 乡镇, 主要产品,
/// 联系人, 备注 …), by a header's name: read past.
pub(crate) fn descriptive(name: &str) -> bool {
    const NAMES: [&str; 19] = [
        "序号",
        "县",
        "县区",
        "区县",
        "县市区",
        "乡镇",
        "乡镇街道",
        "街道",
        "主要产品及产能",
        "主要产品",
        "产能",
        "主要排放口",
        "排放口",
        "地址",
        "企业地址",
        "经度",
        "纬度",
        "排污许可证编号",
        "重点排污单位",
    ];
    NAMES.contains(&name)
        || ["用电监控", "在线监测", "是否安装", "联系", "备注"]
            .iter()
            .any(|p| name.starts_with(p))
}

fn field_of(header: &str) -> Result<Field, String> {
    let key = header_key(header)?;
    let name = key.name.as_str();
    let unknown = || {
        let hint = if key.level.is_some() && name.is_empty() {
            "；合并的多行表头请改为单行表头，每列写明级别和内容（如“黄色减排措施”）"
        } else {
            ""
        };
        format!("无法识别的列“{}”{hint}", clip(header))
    };
    let field = match (key.level, key.pollutant) {
        (None, None) => match name {
            "企业名称" | "单位名称" | "企业" | "排污单位名称" => Field::Enterprise,
            "统一社会信用代码" | "社会信用代码" | "信用代码" | "统一信用代码" => {
                Field::CreditCode
            }
            "行业类别" | "行业" | "所属行业" | "行业类型" | "行业分类" => {
                Field::Industry
            }
            "绩效分级" | "绩效等级" | "绩效评级" | "绩效级别" | "企业绩效分级" | "分级" => {
                Field::Grade
            }
            "是否民生保障" | "是否民生保障企业" | "是否民生保障类企业" | "民生保障" => {
                Field::Livelihood
            }
            "保障类型" | "保障类别" | "民生保障类型" | "豁免类型" | "豁免类别" | "豁免依据" => {
                Field::ExemptionType
            }
            "生产线名称"
            | "生产线"
            | "工序名称"
            | "工序"
            | "生产线工序名称"
            | "生产线工序"
            | "生产设施" => Field::Line,
            "正常工况日用电量"
            | "日用电量"
            | "基准日用电量"
            | "基准用电量"
            | "正常生产日用电量" => {
                kwh_unit(&key.unit)?;
                Field::BaselineKwh
            }
            n if descriptive(n) => Field::Ignored,
            _ => return Err(unknown()),
        },
        (None, Some(p)) => match name {
            "正常工况日排放量"
            | "日排放量"
            | "正常日排放量"
            | "正常生产日排放量"
            | "正常工况排放量"
            | "基准日排放量"
            | "基准排放量" => {
                kg_unit(&key.unit)?;
                Field::Baseline(p)
            }
            _ => return Err(unknown()),
        },
        (Some(l), None) => Field::Level(
            l,
            match name {
                "减排措施" | "应急减排措施" | "管控措施" | "措施" | "停限产措施" | "应急措施"
                | "具体措施" | "一厂一策措施" | "减排措施内容" => LevelField::Text,
                "措施类型" | "措施类别" | "减排方式" | "管控方式" | "停限产类型" => {
                    LevelField::Kind
                }
                "停限产生产线"
                | "停限产工序"
                | "停产限产工序"
                | "停产工序"
                | "限产工序"
                | "停限产设施"
                | "停限产生产线工序"
                | "生产线"
                | "工序"
                | "涉及生产线"
                | "涉及工序" => LevelField::Units,
                "负荷上限" | "生产负荷上限" | "最大负荷" | "允许最大负荷" | "最高负荷" | "负荷"
                | "生产负荷" | "限产后负荷" => LevelField::LoadLimit,
                "错峰时段" | "错峰生产时段" | "停产时段" | "轮产时段" | "错峰轮产时段" => {
                    LevelField::StaggerHours
                }
                _ => return Err(unknown()),
            },
        ),
        (Some(l), Some(p)) => Field::Level(
            l,
            match name {
                "减排比例" | "减排比率" | "减排要求" | "要求减排比例" | "最低减排比例" => {
                    LevelField::RequiredPct(p)
                }
                "日减排量" | "减排量" => {
                    kg_unit(&key.unit)?;
                    LevelField::ReductionKg(p)
                }
                _ => return Err(unknown()),
            },
        ),
    };
    Ok(field)
}

/// Texts of a level cell meaning "no mandatory measure".
const NO_MEASURE: [&str; 12] = [
    "",
    "无",
    "/",
    "-",
    "--",
    "无需",
    "不涉及",
    "自主减排",
    "豁免",
    "无措施",
    "不采取措施",
    "无需采取措施",
];

/// The kind a measure's text names: 错峰/轮产 first (a stagger stops in set
/// hours, so it also says 停), then 限产 against 停产; both, or neither, is
/// a problem the 措施类型 column resolves.
pub(crate) fn kind_from_text(text: &str) -> Result<MeasureKind, String> {
    let t = fold(text);
    if ["错峰", "轮产", "轮流生产"].iter().any(|w| t.contains(w)) {
        return Ok(MeasureKind::Stagger);
    }
    let limit = t.contains("停限产")
        || ["限产", "减产", "限制生产", "负荷"]
            .iter()
            .any(|w| t.contains(w));
    let stop = t.contains("停限产")
        || [
            "停产", "停止", "停运", "停用", "关停", "停炉", "停窑", "停机", "停工",
        ]
        .iter()
        .any(|w| t.contains(w));
    match (stop, limit) {
        (true, false) => Ok(MeasureKind::Stop),
        (false, true) => Ok(MeasureKind::Limit),
        (true, true) => Err(format!(
            "措施“{}”同时含停产和限产：请填写措施类型列，或把停产和限产的生产线分行填写",
            clip(text)
        )),
        (false, false) => Err(format!(
            "无法从“{}”判断措施类型（停产、限产、错峰生产）：请填写措施类型列",
            clip(text)
        )),
    }
}

/// The numbers written as percentages in a text ("限产 30%" → 30).
pub(crate) fn percents_in(text: &str) -> Vec<Decimal> {
    let t = fold(text);
    let chars: Vec<char> = t.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if chars.get(i) == Some(&'%') {
                let number: String = chars[start..i].iter().collect();
                if let Ok(v) = number.parse::<Decimal>() {
                    out.push(v);
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

fn number(text: &str) -> Result<Decimal, String> {
    let t = fold(text);
    t.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&t))
        .map_err(|_| format!("“{}”不是有效数字", clip(text)))
}

/// A quantity (kg/d, kWh/d): a number, not negative.
pub(crate) fn quantity(text: &str) -> Result<Decimal, String> {
    let v = number(text)?;
    if v.is_sign_negative() && !v.is_zero() {
        return Err(format!("{v} 为负值，不能为负"));
    }
    Ok(v)
}

/// A percentage, 0–100, "30" or "30%". A bare number in (0, 1] is refused:
/// a spreadsheet cell formatted as a percentage reads as 0.3, and 0.3 %
/// and 30 % cannot be told apart.
pub(crate) fn percent(text: &str) -> Result<Decimal, String> {
    let t = fold(text);
    let (digits, marked) = match t.strip_suffix('%') {
        Some(d) => (d, true),
        None => (t.as_str(), false),
    };
    let v = number(digits).map_err(|_| format!("“{}”不是有效的百分数", clip(text)))?;
    if v < Decimal::ZERO || v > Decimal::ONE_HUNDRED {
        return Err(format!("“{}”不在 0–100（%）之间", clip(text)));
    }
    if !marked && v > Decimal::ZERO && v <= Decimal::ONE {
        return Err(format!(
            "“{}”无法判断是小数还是百分数：请写成百分数，如 30 或 30%（Excel 百分比格式的单元格会读成 0.3）",
            clip(text)
        ));
    }
    Ok(v)
}

/// Columns by field.
struct Columns(HashMap<Field, usize>);

impl Columns {
    fn get(&self, f: Field) -> Option<usize> {
        self.0.get(&f).copied()
    }
}

/// Map the header row; every header problem is listed.
fn columns(table: &Table) -> Result<Columns, ListError> {
    let mut problems = new_problems();
    let line = table.header_line();
    let mut map: HashMap<Field, usize> = HashMap::new();
    for (c, h) in table.headers().iter().enumerate() {
        if h.trim().is_empty() {
            // Blank trailing columns of a spreadsheet: nothing to map.
            continue;
        }
        match field_of(h) {
            Ok(Field::Ignored) => {}
            Ok(f) => {
                if let Some(first) = map.insert(f, c) {
                    problems.push(
                        line,
                        h,
                        format!(
                            "与第 {} 列“{}”含义相同，列重复",
                            first + 1,
                            clip(&table.headers()[first])
                        ),
                    );
                }
            }
            Err(m) => problems.push(line, h, m),
        }
    }
    if !map.contains_key(&Field::Enterprise) {
        problems.push(line, "", "缺少“企业名称”列".into());
    }
    for level in WarningLevel::ALL {
        if !map.contains_key(&Field::Level(level, LevelField::Text))
            && !map.contains_key(&Field::Level(level, LevelField::Kind))
        {
            problems.push(
                line,
                "",
                format!(
                    "缺少“{}减排措施”列（或“{}措施类型”列）",
                    level.label(),
                    level.label()
                ),
            );
        }
    }
    if problems.is_empty() {
        Ok(Columns(map))
    } else {
        Err(into_error(problems, table.source()))
    }
}

/// The parse of one file, with its running problems and notes.
struct Parser<'t> {
    table: &'t Table,
    cols: Columns,
    problems: Problems,
    notes: Vec<String>,
}

impl<'t> Parser<'t> {
    fn header(&self, c: usize) -> &'t str {
        self.table.headers().get(c).map_or("", String::as_str)
    }

    /// The non-blank cell of `field` with its column.
    fn cell(&self, row: &Row<'t>, field: Field) -> Option<(usize, &'t str)> {
        let c = self.cols.get(field)?;
        let text = row.get(c);
        (!text.is_empty()).then_some((c, text))
    }

    fn problem(&mut self, row: &Row<'t>, c: usize, message: String) {
        let column = self.header(c);
        self.problems.push(row.line(), column, message);
    }

    /// A cell read with `read`; a bad cell is a problem and `None`.
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

    fn row(&mut self, row: &Row<'t>) -> Option<ListEntry> {
        let enterprise_col = self.cols.get(Field::Enterprise)?;
        let enterprise = row.get(enterprise_col);
        if enterprise.is_empty() {
            self.problem(row, enterprise_col, "企业名称为空".into());
        }
        let credit_code = self.read(row, Field::CreditCode, |t| {
            validate_credit_code(t).map_err(|e| format!("“{}”：{e}", clip(t)))
        });
        let industry = self
            .cell(row, Field::Industry)
            .map_or(String::new(), |(_, t)| t.to_owned());
        let grade = self
            .read(row, Field::Grade, |t| {
                if fold(t) == "未分级" {
                    return Ok(None);
                }
                Grade::parse(t).map(Some).ok_or_else(|| {
                    format!(
                        "“{}”不是绩效分级：应为 A、B、B-、C、D、引领性、非引领性或未分级",
                        clip(t)
                    )
                })
            })
            .flatten();
        let exemption = self.exemption(row);
        let production_line = self.cell(row, Field::Line).map(|(_, t)| t.to_owned());
        let mut baseline_kg = PerPollutant::default();
        for p in Pollutant::ALL {
            baseline_kg[p] = self.read(row, Field::Baseline(p), quantity);
        }
        let baseline_kwh = self.read(row, Field::BaselineKwh, quantity);
        let exempt = grade.is_some_and(Grade::needs_no_measures)
            || exemption == Some(Exemption::StrategicEmerging);
        let mut given = Vec::new();
        let mut measures = [None, None, None];
        for (i, level) in WarningLevel::ALL.into_iter().enumerate() {
            if self.level_given(row, level) {
                given.push(level.label());
                measures[i] = self.measure(row, level, &baseline_kg, exempt);
            }
        }
        if exempt && !given.is_empty() {
            let why = match grade {
                Some(g) if g.needs_no_measures() => format!("绩效分级为{}", g.label()),
                _ => "属战略性新兴产业".to_owned(),
            };
            self.notes.push(format!(
                "第 {} 行「{}」：{why}，预警期间无需采取减排措施；所列{}预警措施按自主减排记录，不作核查",
                row.line(),
                clip(enterprise),
                given.join("、")
            ));
        }
        if !exempt && exemption.is_none() && given.is_empty() {
            let grade = grade.map_or("未分级", Grade::label);
            let c = self
                .cols
                .get(Field::Level(WarningLevel::Yellow, LevelField::Text))
                .unwrap_or(enterprise_col);
            self.problem(
                row,
                c,
                format!("绩效分级为{grade}且无豁免依据，但黄色、橙色、红色预警均未填写减排措施"),
            );
        }
        let [yellow, orange, red] = measures;
        Some(ListEntry {
            line: row.line(),
            enterprise: enterprise.to_owned(),
            credit_code,
            industry,
            grade,
            exemption,
            production_line,
            baseline_kg,
            baseline_kwh,
            yellow,
            orange,
            red,
        })
    }

    /// 保障类型 wins; else 是否民生保障 = 是 gives 民生保障.
    fn exemption(&mut self, row: &Row<'t>) -> Option<Exemption> {
        let typed = self
            .read(row, Field::ExemptionType, |t| {
                if ["无", "否", "/", "-"].contains(&fold(t).as_str()) {
                    return Ok(None);
                }
                Exemption::parse(t).map(Some).ok_or_else(|| {
                    format!(
                        "“{}”不是豁免依据：应为 民生保障、以热定产（供暖）、以量定产（出口、军工）、战略性新兴产业或其他",
                        clip(t)
                    )
                })
            })
            .flatten();
        let flagged = self
            .read(row, Field::Livelihood, |t| match fold(t).as_str() {
                "是" | "√" | "y" | "yes" => Ok(true),
                "否" | "×" | "n" | "no" | "无" | "/" | "-" => Ok(false),
                _ => Err(format!("“{}”应为“是”或“否”", clip(t))),
            })
            .unwrap_or(false);
        typed.or(flagged.then_some(Exemption::Livelihood))
    }

    /// Whether the row says anything for `level`.
    fn level_given(&self, row: &Row<'t>, level: WarningLevel) -> bool {
        self.cols.0.iter().any(|(f, &c)| match f {
            Field::Level(l, LevelField::Text) if *l == level => {
                !NO_MEASURE.contains(&fold(row.get(c)).as_str())
            }
            Field::Level(l, _) if *l == level => !row.get(c).is_empty(),
            _ => false,
        })
    }

    /// The measure of a row at one level. `voluntary`: the enterprise
    /// needs no measures, so an incomplete one is recorded as far as it
    /// goes rather than refused (bad numbers are still problems).
    fn measure(
        &mut self,
        row: &Row<'t>,
        level: WarningLevel,
        baseline_kg: &PerPollutant<Option<Decimal>>,
        voluntary: bool,
    ) -> Option<Measure> {
        let f = |lf| Field::Level(level, lf);
        let text = self.cell(row, f(LevelField::Text)).map_or("", |(_, t)| t);
        let text_col = self.cols.get(f(LevelField::Text));
        let kind = match self.cell(row, f(LevelField::Kind)) {
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
            None => match kind_from_text(text) {
                Ok(k) => Some(k),
                Err(m) => {
                    if !voluntary {
                        let c = text_col.or(self.cols.get(f(LevelField::Kind))).unwrap_or(0);
                        self.problem(row, c, m);
                    }
                    None
                }
            },
        };
        // A bad 负荷上限 cell is its own problem: not also "no load limit".
        let load_given = self.cell(row, f(LevelField::LoadLimit)).is_some();
        let mut load = self.read(row, f(LevelField::LoadLimit), percent);
        let units = self
            .cell(row, f(LevelField::Units))
            .map(|(_, t)| t.to_owned());
        let stagger_hours = self
            .cell(row, f(LevelField::StaggerHours))
            .map(|(_, t)| t.to_owned());
        let mut required_pct = PerPollutant::default();
        let mut reduction_kg = PerPollutant::default();
        for p in Pollutant::ALL {
            required_pct[p] = self.read(row, f(LevelField::RequiredPct(p)), percent);
            reduction_kg[p] = self.read(row, f(LevelField::ReductionKg(p)), quantity);
            if let (Some(kg), Some(base)) = (reduction_kg[p], baseline_kg[p])
                && kg > base
                && let Some(c) = self.cols.get(f(LevelField::ReductionKg(p)))
            {
                self.problem(
                    row,
                    c,
                    format!(
                        "{}日减排量 {kg} kg/d 大于正常工况日排放量 {base} kg/d",
                        p.label()
                    ),
                );
            }
        }
        let kind = kind?;
        let load_col = self.cols.get(f(LevelField::LoadLimit));
        match kind {
            MeasureKind::Stop => {
                if let (Some(v), Some(c)) = (load, load_col)
                    && !v.is_zero()
                {
                    self.problem(row, c, format!("停产措施的负荷上限应为空或 0，实为 {v}%"));
                }
            }
            MeasureKind::Limit if !load_given => {
                load = self.load_from_text(row, level, text, voluntary);
            }
            _ => {}
        }
        Some(Measure {
            kind,
            text: text.to_owned(),
            units,
            load_limit_pct: load,
            stagger_hours,
            required_pct,
            reduction_kg,
        })
    }

    /// A limit without a 负荷上限 cell: the percentage in its text, when
    /// there is exactly one. "负荷 70%" is the load; "限产 30%" / "减产 30%"
    /// is read as a cut of 30 %, a load of 70 %, as the lists word a cut,
    /// and the reading is noted for the office to confirm.
    fn load_from_text(
        &mut self,
        row: &Row<'t>,
        level: WarningLevel,
        text: &str,
        voluntary: bool,
    ) -> Option<Decimal> {
        let t = fold(text);
        let found = percents_in(text);
        let result = match found.as_slice() {
            [v] if *v <= Decimal::ONE_HUNDRED && t.contains("负荷") => Some(*v),
            [v] if *v <= Decimal::ONE_HUNDRED && (t.contains("限产") || t.contains("减产")) => {
                let load = Decimal::ONE_HUNDRED - *v;
                self.notes.push(format!(
                    "第 {} 行：{}措施“{}”按减产 {v}% 理解，负荷上限取 {load}%；如有不同，请填写“{}负荷上限(%)”列",
                    row.line(),
                    level.label(),
                    clip(text),
                    level.label()
                ));
                Some(load)
            }
            _ => None,
        };
        if result.is_none() && !voluntary {
            let c = self
                .cols
                .get(Field::Level(level, LevelField::Text))
                .or(self.cols.get(Field::Level(level, LevelField::Kind)))
                .unwrap_or(0);
            self.problem(
                row,
                c,
                format!(
                    "限产措施“{}”未给出负荷上限，无法核查：请填写“{}负荷上限(%)”列，或写明如“负荷不超过 70%”",
                    clip(text),
                    level.label()
                ),
            );
        }
        result
    }
}

/// Cells of an enterprise column that mark a total row, not an enterprise.
const TOTAL_ROWS: [&str; 3] = ["合计", "小计", "总计"];

/// Parse the industrial sheet of a reduction list. All or nothing: any
/// problem refuses the file with every problem listed.
pub fn parse_list(table: &Table) -> Result<ReductionList, ListError> {
    let cols = columns(table)?;
    let mut parser = Parser {
        table,
        cols,
        problems: new_problems(),
        notes: Vec::new(),
    };
    let enterprise_col = parser.cols.get(Field::Enterprise).unwrap_or(0);
    let mut entries = Vec::new();
    // (credit code or name, production line) → first line.
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    let mut code_of_name: HashMap<String, (String, u64)> = HashMap::new();
    let mut name_of_code: HashMap<String, (String, u64)> = HashMap::new();
    for row in table.rows() {
        if row.iter().all(str::is_empty) {
            continue;
        }
        // 合计 is written in the 序号 or the name column.
        if row.iter().any(|c| TOTAL_ROWS.contains(&fold(c).as_str())) {
            parser
                .notes
                .push(format!("第 {} 行：合计行，未导入", row.line()));
            continue;
        }
        let Some(entry) = parser.row(&row) else {
            continue;
        };
        if let Some(code) = &entry.credit_code {
            if let Some((other, line)) = code_of_name.get(&entry.enterprise)
                && other != code
            {
                let c = parser.cols.get(Field::CreditCode).unwrap_or(enterprise_col);
                parser.problem(
                    &row,
                    c,
                    format!("同一企业在第 {line} 行的统一社会信用代码为 {other}，与本行不同"),
                );
            }
            if let Some((other, line)) = name_of_code.get(code)
                && *other != entry.enterprise
            {
                parser.problem(
                    &row,
                    enterprise_col,
                    format!(
                        "统一社会信用代码 {code} 在第 {line} 行属于“{}”，与本行企业名称不同",
                        clip(other)
                    ),
                );
            }
            code_of_name
                .entry(entry.enterprise.clone())
                .or_insert((code.clone(), entry.line));
            name_of_code
                .entry(code.clone())
                .or_insert((entry.enterprise.clone(), entry.line));
        }
        let key = (
            entry
                .credit_code
                .clone()
                .unwrap_or_else(|| entry.enterprise.clone()),
            entry.production_line.clone().unwrap_or_default(),
        );
        if !entry.enterprise.is_empty()
            && let Some(first) = seen.insert(key, entry.line)
        {
            let c = parser.cols.get(Field::Line).unwrap_or(enterprise_col);
            parser.problem(
                &row,
                c,
                format!("与第 {first} 行重复（同一企业、同一生产线）"),
            );
        }
        entries.push(entry);
    }
    if entries.is_empty() && parser.problems.is_empty() {
        parser
            .problems
            .push(table.header_line(), "", "文件没有数据行".into());
    }
    if !parser.problems.is_empty() {
        return Err(into_error(parser.problems, table.source()));
    }
    Ok(ReductionList {
        entries,
        notes: parser.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn table(csv: &str) -> Table {
        gongjian_tabular::read_csv_bytes("清单.csv", csv.as_bytes()).unwrap()
    }

    const HEADER: &str = "序号,县（市、区）,企业名称,统一社会信用代码,行业类别,绩效分级,保障类型,生产线（工序）名称,\
正常工况日排放量SO₂(kg/d),正常工况日排放量NOx(kg/d),正常工况日排放量颗粒物(kg/d),正常工况日排放量VOCs(kg/d),正常工况日用电量(kWh),\
黄色预警减排措施,黄色负荷上限(%),黄色SO2减排比例(%),\
橙色预警减排措施,橙色负荷上限(%),橙色NOx日减排量(kg/d),\
红色预警减排措施,红色错峰时段,联系人,联系电话";

    #[test]
    fn a_good_list_with_chinese_headers_parses() {
        let csv = format!(
            "{HEADER}\n\
1,红旗区,新乡市宏达铸造有限公司,91410700MA44XY2K18,铸造,C,,熔炼工序,12,30.5,8,,4800,限产,70,25,停产,,,停产,,张三,0373-1234567\n\
2,红旗区,新乡市宏达铸造有限公司,91410700MA44XY2K18,铸造,C,,制芯工序,,,,5,600,限产 30%,,,停止制芯工序,,,停产,,张三,\n\
3,卫滨区,新乡市长青包装印刷有限公司,92410702MA40ABCD1X,包装印刷,A级,,,,,,20,900,自主减排,,,自主减排,,,停止印刷作业,,李四,\n\
4,牧野区,新乡市热力有限公司,,其他,未分级,供暖,1号锅炉,40,60,10,,20000,,,,负荷不超过80%,,,负荷 60%,,,\n\
5,牧野区,新乡市星辰化工有限公司,124107000052713654,化工,B-,,,5,9,3,40,3000,错峰生产,,,限产,50,4,停产,,,\n\
6,牧野区,新乡市星辰化工有限公司,124107000052713654,化工,B-,,二车间,,,,,,,,,,,,错峰生产 22:00-06:00,22:00-06:00,,\n\
合计,,,,,,,,,,,,,,,,,,,,,,\n"
        );
        let list = parse_list(&table(&csv)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.entries.len(), 6);
        let e = &list.entries[0];
        assert_eq!(e.line, 2);
        assert_eq!(e.enterprise, "新乡市宏达铸造有限公司");
        assert_eq!(e.credit_code.as_deref(), Some("91410700MA44XY2K18"));
        assert_eq!(e.grade, Some(Grade::C));
        assert_eq!(e.production_line.as_deref(), Some("熔炼工序"));
        assert_eq!(e.baseline_kg.so2, Some(dec!(12)));
        assert_eq!(e.baseline_kg.nox, Some(dec!(30.5)));
        assert_eq!(e.baseline_kg.vocs, None);
        assert_eq!(e.baseline_kwh, Some(dec!(4800)));
        let y = e.yellow.as_ref().unwrap();
        assert_eq!(y.kind, MeasureKind::Limit);
        assert_eq!(y.load_limit_pct, Some(dec!(70)));
        assert_eq!(y.required_pct.so2, Some(dec!(25)));
        assert_eq!(e.orange.as_ref().unwrap().kind, MeasureKind::Stop);
        // The list's own ratio wins; else the default.
        let ratios = ReductionRatios::DEFAULT_2019;
        assert_eq!(
            e.required(WarningLevel::Yellow, Pollutant::So2, &ratios),
            Some(Required::Percent(dec!(25)))
        );
        assert_eq!(
            e.required(WarningLevel::Yellow, Pollutant::Nox, &ratios),
            Some(Required::Percent(dec!(10)))
        );
        assert_eq!(
            e.required(WarningLevel::Red, Pollutant::Pm, &ratios),
            Some(Required::Percent(dec!(30)))
        );
        // "限产 30%" read as a 30 % cut, noted.
        let e = &list.entries[1];
        assert_eq!(e.yellow.as_ref().unwrap().load_limit_pct, Some(dec!(70)));
        assert!(
            list.notes
                .iter()
                .any(|n| n.starts_with("第 3 行") && n.contains("负荷上限取 70%"))
        );
        assert_eq!(e.orange.as_ref().unwrap().kind, MeasureKind::Stop);
        // An A-grade enterprise: its red measure is kept and noted, nothing required.
        let e = &list.entries[2];
        assert_eq!(e.grade, Some(Grade::A));
        assert!(e.needs_no_measures());
        assert!(e.yellow.is_none());
        assert_eq!(e.red.as_ref().unwrap().kind, MeasureKind::Stop);
        assert_eq!(
            e.required(WarningLevel::Red, Pollutant::Vocs, &ratios),
            None
        );
        assert!(
            list.notes
                .iter()
                .any(|n| n.starts_with("第 4 行") && n.contains("自主减排"))
        );
        // District heating: 以热定产, no yellow measure, loads from the text.
        let e = &list.entries[3];
        assert_eq!(e.grade, None);
        assert_eq!(e.exemption, Some(Exemption::HeatDemand));
        assert!(e.yellow.is_none());
        assert_eq!(e.orange.as_ref().unwrap().load_limit_pct, Some(dec!(80)));
        assert_eq!(e.red.as_ref().unwrap().load_limit_pct, Some(dec!(60)));
        // A stated kg/d reduction.
        let e = &list.entries[4];
        assert_eq!(e.grade, Some(Grade::BMinus));
        assert_eq!(e.yellow.as_ref().unwrap().kind, MeasureKind::Stagger);
        assert_eq!(
            e.required(WarningLevel::Orange, Pollutant::Nox, &ratios),
            Some(Required::Kg(dec!(4)))
        );
        let red = list.entries[5].red.as_ref().unwrap();
        assert_eq!(red.kind, MeasureKind::Stagger);
        assert_eq!(red.stagger_hours.as_deref(), Some("22:00-06:00"));
        assert!(list.notes.iter().any(|n| n.contains("合计行")));
    }

    #[test]
    fn three_bad_rows_list_every_problem() {
        let csv = format!(
            "{HEADER}\n\
1,红旗区,新乡市宏达铸造有限公司,91410700MA44XY2K19,铸造,E,,熔炼,12,-3,8,,4800,限产,70,25,停产,,,停产,,,\n\
2,红旗区,新乡市好运建材有限公司,,建材,C,,,,,,,,限产,0.7,,停限产,,,停产,,,\n\
3,红旗区,新乡市好运木业有限公司,,人造板,C,,,,,,,,,,,,,,,,,\n\
4,红旗区,新乡市合规有限公司,,其他,C,,,,,,,,停产,,,停产,,,停产,,,\n"
        );
        let err = parse_list(&table(&csv)).unwrap_err();
        let lines: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            [
                "第 2 行「统一社会信用代码」：“91410700MA44XY2K19”：校验位不符：按 GB 32100-2015 应为“8”，实为“9”，请核对代码是否抄错",
                "第 2 行「绩效分级」：“E”不是绩效分级：应为 A、B、B-、C、D、引领性、非引领性或未分级",
                "第 2 行「正常工况日排放量NOx(kg/d)」：-3 为负值，不能为负",
                "第 3 行「黄色负荷上限(%)」：“0.7”无法判断是小数还是百分数：请写成百分数，如 30 或 30%（Excel 百分比格式的单元格会读成 0.3）",
                "第 3 行「橙色预警减排措施」：措施“停限产”同时含停产和限产：请填写措施类型列，或把停产和限产的生产线分行填写",
                "第 4 行「黄色预警减排措施」：绩效分级为C级且无豁免依据，但黄色、橙色、红色预警均未填写减排措施",
            ]
        );
        let text = err.to_string();
        assert!(
            text.starts_with("清单.csv：应急减排清单有 6 个问题，整个文件未导入："),
            "{text}"
        );
    }

    #[test]
    fn header_problems_are_all_listed() {
        let t = table(
            "企业名称,黄色减排措施,橙色减排措施,产量(t),橙色减排措施,正常工况日排放量SO2(t/d),黄色预警\nA,停产,停产,1,停产,1,\n",
        );
        let err = parse_list(&t).unwrap_err();
        let lines: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(lines[0].contains("无法识别的列“产量(t)”"));
        assert!(lines[1].contains("列重复"));
        assert!(lines[2].contains("不是 kg/d"));
        assert!(lines[3].contains("合并的多行表头"));
        assert_eq!(
            lines[4],
            "第 1 行：缺少“红色减排措施”列（或“红色措施类型”列）"
        );
    }

    #[test]
    fn problems_are_bounded_and_quotes_clipped() {
        let mut csv =
            String::from("企业名称,统一社会信用代码,黄色减排措施,橙色减排措施,红色减排措施\n");
        let long = "Z".repeat(500);
        for i in 0..60 {
            csv.push_str(&format!("企业{i},{long},停产,停产,停产\n"));
        }
        let err = parse_list(&table(&csv)).unwrap_err();
        assert_eq!(err.problems.len(), MAX_PROBLEMS);
        assert_eq!(err.more, 10);
        assert!(err.to_string().ends_with("另有 10 个问题未列出"));
        // The long cell is quoted at most MAX_QUOTE characters.
        let m = &err.problems[0].message;
        assert!(m.contains(&format!("“{}…”", "Z".repeat(MAX_QUOTE))), "{m}");
        assert!(!m.contains(&"Z".repeat(MAX_QUOTE + 1)));
    }

    #[test]
    fn duplicates_and_code_conflicts_are_refused() {
        let csv = "企业名称,统一社会信用代码,生产线,黄色减排措施,橙色减排措施,红色减排措施\n\
甲公司,91410700MA44XY2K18,烧结,停产,停产,停产\n\
甲公司,91410700MA44XY2K18,烧结,停产,停产,停产\n\
乙公司,91410700MA44XY2K18,球团,停产,停产,停产\n";
        let err = parse_list(&table(csv)).unwrap_err();
        let lines: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            [
                "第 3 行「生产线」：与第 2 行重复（同一企业、同一生产线）",
                "第 4 行「企业名称」：统一社会信用代码 91410700MA44XY2K18 在第 2 行属于“甲公司”，与本行企业名称不同",
            ]
        );
    }

    #[test]
    fn header_keys_take_level_pollutant_and_unit_apart() {
        let k = header_key("黄色预警期间 SO₂ 日减排量（kg/d）").unwrap();
        assert_eq!(k.level, Some(WarningLevel::Yellow));
        assert_eq!(k.pollutant, Some(Pollutant::So2));
        assert_eq!(k.unit, "kg/d");
        assert_eq!(k.name, "日减排量");
        assert_eq!(
            field_of("减排措施（橙色）").unwrap(),
            Field::Level(WarningLevel::Orange, LevelField::Text)
        );
        assert_eq!(
            field_of("烟粉尘正常工况日排放量").unwrap(),
            Field::Baseline(Pollutant::Pm)
        );
        assert_eq!(field_of("企业（单位）名称").unwrap(), Field::Enterprise);
        assert_eq!(field_of("用电监控（是否安装）").unwrap(), Field::Ignored);
        assert!(field_of("日用电量（万kWh）").is_err());
        assert!(field_of("黄色橙色减排措施").is_err());
    }

    #[test]
    fn percentages_and_kinds_from_text() {
        assert_eq!(percent("30"), Ok(dec!(30)));
        assert_eq!(percent("30％"), Ok(dec!(30)));
        assert_eq!(percent("0"), Ok(dec!(0)));
        assert_eq!(percent("1%"), Ok(dec!(1)));
        assert!(percent("0.3").is_err());
        assert!(percent("101").is_err());
        assert_eq!(
            percents_in("限产 30%，负荷不超过 70.5%"),
            [dec!(30), dec!(70.5)]
        );
        assert_eq!(kind_from_text("停止烧结工序"), Ok(MeasureKind::Stop));
        assert_eq!(kind_from_text("限产 30%"), Ok(MeasureKind::Limit));
        assert_eq!(
            kind_from_text("错峰生产 22:00–06:00 停产"),
            Ok(MeasureKind::Stagger)
        );
        assert!(kind_from_text("加强管理").is_err());
    }
}
