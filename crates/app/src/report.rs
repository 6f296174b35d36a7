//! The monthly scheduling report (月调度): one typed struct, built from the
//! data of a month, frozen as JSON when the office publishes a version, and
//! shown three ways from the same struct — the page, the XLSX export and the
//! printed page — through [`MonthlyReport::sections`].

use chrono::{NaiveDate, NaiveDateTime};
use gongjian_campaign::Campaign;
use gongjian_standards::cst::day_start_utc;
use gongjian_storage::{Db, FireTotal};
use gongjian_tabular::{Cell, Sheet};
use gongjian_targets::ranking::{INSUFFICIENT, Ranking};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::AppError;
use crate::air::{AirCache, air_data};
use crate::summaries::{self, Exceedance, OrganisationTasks, SectionStatus};
use crate::targets::{
    TargetStatus, month_end, month_key, month_start, other_measures, rankings, target_statuses,
};

/// The 月调度 report of one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthlyReport {
    /// `YYYY-MM`.
    pub month: String,
    pub title: String,
    /// Local time the report was computed, `YYYY-MM-DD hh:mm`.
    pub generated_at: String,
    /// Last day counted (the month's end or the last day with air data).
    pub as_of: Option<NaiveDate>,
    pub targets: Vec<TargetStatus>,
    pub township_ranking_month: Ranking,
    pub township_ranking_ytd: Ranking,
    pub station_ranking_month: Ranking,
    pub station_ranking_ytd: Ranking,
    #[serde(default)]
    pub water_sections: Vec<SectionStatus>,
    #[serde(default)]
    pub tasks_by_organisation: Vec<OrganisationTasks>,
    #[serde(default)]
    pub fire_points: Vec<FireTotal>,
    /// 元, exact.
    pub fire_points_total: Decimal,
    #[serde(default)]
    pub exceedances: Vec<Exceedance>,
    /// Who issues the report (the campaign's issuer, e.g. 区环境攻坚办).
    #[serde(default)]
    pub issuer: Option<String>,
    /// 期数 and 文号, given when the office publishes the report (a live
    /// report has neither: its 期数 is the month's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
    /// 月考核 of each township and department (the plan's scheme); empty
    /// when the plan has none. Reports published before it have none.
    #[serde(default)]
    pub assessment: Vec<crate::assessment::OrgAssessment>,
    /// 督办单 of each responsible unit in the month. Reports published
    /// before cases existed have none.
    #[serde(default)]
    pub cases: Vec<crate::cases::OrganisationCases>,
    /// 问责 records (约谈、通报、问责) the office entered for the month,
    /// voided ones left out. Reports published before them have none.
    #[serde(default)]
    pub accountability: Vec<crate::accountability::AccountabilityLine>,
    /// 乡镇月度控制指标 (air task 35) against the plan's `[[control]]`;
    /// empty when the plan sets none. Reports published before them have
    /// none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<crate::controls::ControlLine>,
}

/// Build the report of the month of `month` from the data as they stand,
/// stamped with `now` (local time).
pub async fn build_report(
    db: &Db,
    cache: &AirCache,
    plan: &Campaign,
    month: NaiveDate,
    now: NaiveDateTime,
) -> Result<MonthlyReport, AppError> {
    use chrono::Datelike;
    let month = month_start(month);
    let m_end = month_end(month);
    // Targets and rankings as of the end of the month (or the last day with data).
    let data = air_data(db, cache, month.year()).await?.up_to(m_end);
    let other = other_measures(db, plan, month.year(), month.month()).await?;
    let targets = target_statuses(plan, &data, &other);
    let r = rankings(&data, month);
    let tasks_by_organisation = summaries::month_tasks(db, month).await?;
    let key = month_key(month);
    let fire_points: Vec<FireTotal> = db
        .campaigns()
        .fire_point_totals()
        .await?
        .into_iter()
        .filter(|t| t.month == key)
        .collect();
    let fire_points_total = fire_points
        .iter()
        .map(|t| Decimal::from_str_exact(&t.amount).unwrap_or_default())
        .sum::<Decimal>();
    let m_from = day_start_utc(month);
    let m_to = m_end.succ_opt().map_or(i64::MAX, day_start_utc);
    let exceedances = summaries::exceedances(&db.summaries().limited_hours(m_from, m_to).await?);
    let all_cases = db
        .cases()
        .list(&gongjian_storage::CaseFilter {
            limit: Some(10_000),
            ..Default::default()
        })
        .await?;
    let cases = crate::cases::month_cases(&all_cases, m_from, m_to, m_end.min(now.date()));
    let accountability = crate::accountability::report_lines(db, &plan.key, &key).await?;
    let last = data.as_of.unwrap_or(m_end).min(m_end).min(now.date());
    let controls =
        crate::controls::township_controls(db, plan, month, last, &r.townships_month).await?;
    let mut report = MonthlyReport {
        title: format!(
            "{}年{}月 污染防治攻坚战月调度（大气、水、土壤）",
            month.year(),
            month.month()
        ),
        month: key,
        generated_at: now.format("%Y-%m-%d %H:%M").to_string(),
        as_of: data.as_of,
        targets,
        township_ranking_month: r.townships_month,
        township_ranking_ytd: r.townships_ytd,
        station_ranking_month: r.stations_month,
        station_ranking_ytd: r.stations_ytd,
        water_sections: other.sections,
        tasks_by_organisation,
        fire_points,
        fire_points_total,
        exceedances,
        assessment: Vec::new(),
        issuer: plan.issuer.clone(),
        issue: None,
        document_number: None,
        cases,
        accountability,
        controls,
    };
    report.assessment = crate::assessment::assess(plan, month, &report);
    Ok(report)
}

/// One table of the report: its sheet (XLSX), its numbered heading and a
/// note on its method (page and print).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSection {
    pub title: String,
    pub note: String,
    pub sheet: Sheet,
}

/// The title (without its number) of the report's last section, the month's
/// 问责 records; the live page puts its entry form there.
/// How the 乡镇月度控制指标 section measures its figures.
const CONTROLS_NOTE: &str = "按攻坚方案逐月下达的控制值（大气任务 35）：PM2.5 为乡镇考核站点的本月均值；用电量为辖区用电监控点逐日用电之和，排放量为辖区废气排口在线监测逐日核算排放量（HJ 75-2017，缺失时段按其替代规则）之和；有一日无法计量的不作判定，注明已计量天数。";

pub const ACCOUNTABILITY_SECTION: &str = "问责记录（约谈、通报、问责）";

const NUMERALS: [&str; 15] = [
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四",
    "十五",
];

const RANKING_NOTE: &str = "综合指数按环办监测〔2018〕19号计算，升序排名，数值相同并列；变化率与去年同期比较。有效日数不满足 GB 3095/HJ 663 要求（每月不少于 27 天，二月 25 天，全年 324 天；当月按已过天数计缺测不超过全月允许数）的不参加排名，标“数据不足”。";

/// 元 → 万元, exact.
fn wan(yuan: Decimal) -> Decimal {
    (yuan / Decimal::from(10_000)).normalize()
}

fn text(s: &str) -> Cell {
    Cell::from(s.to_owned())
}

fn opt_text<T: ToString>(v: &Option<T>) -> Cell {
    v.as_ref()
        .map_or(Cell::Empty, |x| Cell::from(x.to_string()))
}

fn count<T: TryInto<i64> + Copy>(v: T) -> Cell {
    v.try_into().map_or(Cell::Empty, Cell::from)
}

fn headers(names: &[&str]) -> Vec<String> {
    names.iter().map(|h| (*h).to_owned()).collect()
}

impl MonthlyReport {
    /// The report's tables, in order: the XLSX sheets and the page's
    /// sections are these.
    /// The print heading's line: issuer and issue number (期数 = the month).
    pub fn masthead(&self) -> String {
        let issue = self.issue.clone().unwrap_or_else(|| self.default_issue());
        [
            self.issuer.clone(),
            Some(issue),
            self.document_number.clone(),
        ]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
    }

    /// 期数 unless the office numbers it otherwise: the month (第 7 期).
    pub fn default_issue(&self) -> String {
        self.month
            .get(5..7)
            .and_then(|m| m.parse::<u32>().ok())
            .map_or(String::new(), |m| format!("第 {m} 期"))
    }

    /// Number the report for publication: 期数 (blank: the month's) and
    /// 文号, each one line of at most 40 characters.
    pub fn numbered(mut self, issue: &str, document_number: &str) -> Result<Self, AppError> {
        let line = |label: &str, text: &str| -> Result<Option<String>, AppError> {
            let t = text.trim();
            if t.chars().count() > 40 || t.chars().any(char::is_control) {
                return Err(AppError::Storage(gongjian_storage::StorageError::rule(
                    gongjian_storage::Rule::ReportNumber,
                    format!("{label}须为一行、不超过 40 个字符"),
                )));
            }
            Ok(Some(t.to_owned()).filter(|t| !t.is_empty()))
        };
        self.issue = Some(line("期数", issue)?.unwrap_or_else(|| self.default_issue()));
        self.document_number = line("文号", document_number)?;
        Ok(self)
    }

    pub fn sections(&self) -> Vec<ReportSection> {
        let as_of = self.as_of.map_or("—".to_owned(), |d| d.to_string());
        let mut out = vec![
            (
                "目标完成情况".to_owned(),
                format!("统计截至 {as_of}；统计规则：{}。", self.rules_used()),
                self.targets_sheet(),
            ),
            ranking_section("乡镇排名(本月)", &self.township_ranking_month),
            ranking_section("乡镇排名(累计)", &self.township_ranking_ytd),
            ranking_section("站点排名(本月)", &self.station_ranking_month),
            ranking_section("站点排名(累计)", &self.station_ranking_ytd),
            (
                "水质断面与目标".to_owned(),
                "GB 3838-2002 单因子评价（环办〔2011〕22号）：有效日均值→月均值，年累计为各月均值的均值。".to_owned(),
                self.water_sheet(),
            ),
            (
                "各单位任务调度（本月到期、已完成、逾期、退回）".to_owned(),
                "逾期为当前状态；退回为本月被退回的报送次数。".to_owned(),
                self.tasks_sheet(),
            ),
            (
                "秸秆焚烧火点扣款（月扣款）".to_owned(),
                format!(
                    "本月合计扣款 {} 万元；秸秆火点每个 50 万元，垃圾、树叶、杂草火点每个 10 万元。",
                    wan(self.fire_points_total)
                ),
                self.fire_sheet(),
            ),
            (
                "月考核（乡镇、部门）".to_owned(),
                "按攻坚方案的月考核办法，由本月调度数据计算：基础分加各项加减分；排名、PM2.5 控制值、火点、断面只考核乡镇，逾期和退回考核全部责任单位。".to_owned(),
                self.assessment_sheet(),
            ),
            (
                "重点排污单位在线监测超标情况".to_owned(),
                "按 HJ 75-2017 有效小时均值（有折算浓度的用折算浓度）与限值比较，超标倍数 =（C−L）/L。".to_owned(),
                self.exceedance_sheet(),
            ),
            (
                "督办单办理情况".to_owned(),
                "按责任单位统计：本月新立、本月销号、月末（当月为今日）未销号的督办单，逾期为超过办结时限仍未销号。".to_owned(),
                self.cases_sheet(),
            ),
            (
                ACCOUNTABILITY_SECTION.to_owned(),
                "攻坚办登记的本月约谈、通报、问责（月问责），按决定日期排列；已作废的不列入。".to_owned(),
                self.accountability_sheet(),
            ),
        ];
        // Before 问责, which the live page draws last with its form.
        if !self.controls.is_empty() {
            let section = (
                "乡镇月度控制指标（PM2.5、用电量、排放量）".to_owned(),
                CONTROLS_NOTE.to_owned(),
                self.controls_sheet(),
            );
            out.insert(out.len() - 1, section);
        }
        out.drain(..)
            .enumerate()
            .map(|(i, (title, note, sheet))| ReportSection {
                title: format!("{}、{title}", NUMERALS.get(i).copied().unwrap_or("")),
                note,
                sheet,
            })
            .collect()
    }

    /// The XLSX sheets.
    pub fn sheets(&self) -> Vec<Sheet> {
        self.sections().into_iter().map(|s| s.sheet).collect()
    }

    /// The XLSX workbook.
    pub fn xlsx(&self, file: &str) -> Result<Vec<u8>, gongjian_tabular::Error> {
        // Each sheet opens with the report's title and its section, as the
        // printed report does.
        let sections = self.sections();
        let titles: Vec<String> = sections
            .iter()
            .map(|s| match &self.document_number {
                Some(n) => format!("{} · {} · {}", self.title, n, s.title),
                None => format!("{} · {}", self.title, s.title),
            })
            .collect();
        let sheets: Vec<Sheet> = sections.into_iter().map(|s| s.sheet).collect();
        gongjian_tabular::xlsx_bytes_titled(file, &sheets, &titles)
    }

    /// The standards the targets were evaluated by, each once, in order.
    fn rules_used(&self) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for r in self.targets.iter().flat_map(|t| &t.rules) {
            if !seen.contains(&r.as_str()) {
                seen.push(r);
            }
        }
        if seen.is_empty() {
            "—".to_owned()
        } else {
            seen.join("；")
        }
    }

    fn cases_sheet(&self) -> Sheet {
        Sheet {
            name: "督办单".into(),
            headers: headers(&["责任单位", "本月新立", "本月销号", "未销号", "其中逾期"]),
            rows: self
                .cases
                .iter()
                .map(|c| {
                    vec![
                        text(&c.organisation),
                        count(c.opened),
                        count(c.closed),
                        count(c.open),
                        count(c.overdue),
                    ]
                })
                .collect(),
        }
    }

    fn controls_sheet(&self) -> Sheet {
        let cell = |f: &Option<crate::controls::ControlFigure>| -> (String, String) {
            match f {
                None => ("—".into(), "未下达".into()),
                Some(f) => (
                    match f.actual {
                        Some(a) => a.to_string(),
                        None if f.days_measured == 0 => "无数据".into(),
                        None => format!("数据不全（{}/{} 天）", f.days_measured, f.days),
                    },
                    f.control.normalize().to_string(),
                ),
            }
        };
        Sheet {
            name: "乡镇控制指标".into(),
            headers: headers(&[
                "乡镇",
                "PM2.5(µg/m³)",
                "PM2.5 控制值",
                "用电量(kWh)",
                "用电量控制值",
                "二氧化硫(t)",
                "二氧化硫控制值",
                "氮氧化物(t)",
                "氮氧化物控制值",
                "颗粒物(t)",
                "颗粒物控制值",
                "结论",
            ]),
            rows: self
                .controls
                .iter()
                .map(|c| {
                    let pm25 = Some(c.pm25.clone());
                    let figures = [
                        ("PM2.5", &pm25),
                        ("用电量", &c.electricity_kwh),
                        ("二氧化硫", &c.so2_t),
                        ("氮氧化物", &c.nox_t),
                        ("颗粒物", &c.pm_t),
                    ];
                    let over: Vec<&str> = figures
                        .iter()
                        .filter(|(_, f)| f.as_ref().is_some_and(|f| f.over == Some(true)))
                        .map(|(name, _)| *name)
                        .collect();
                    let judged = figures
                        .iter()
                        .any(|(_, f)| f.as_ref().is_some_and(|f| f.over.is_some()));
                    let mut row = vec![text(&c.township)];
                    for (_, f) in &figures {
                        let (actual, control) = cell(f);
                        row.push(text(&actual));
                        row.push(text(&control));
                    }
                    row.push(text(&if !over.is_empty() {
                        format!("超控制值：{}", over.join("、"))
                    } else if judged {
                        "未超控制值".to_owned()
                    } else {
                        "无法判定".to_owned()
                    }));
                    row
                })
                .collect(),
        }
    }

    fn accountability_sheet(&self) -> Sheet {
        Sheet {
            name: "问责记录".into(),
            headers: headers(&["被问责单位", "方式", "事由", "文号", "决定日期", "登记人"]),
            rows: self
                .accountability
                .iter()
                .map(|a| {
                    vec![
                        text(&a.organisation),
                        text(&a.kind),
                        text(&a.reason),
                        text(&a.document_number),
                        text(&a.decided_on.to_string()),
                        text(&a.recorded_by),
                    ]
                })
                .collect(),
        }
    }

    fn targets_sheet(&self) -> Sheet {
        let figure = |f: &Option<crate::targets::Figure>| opt_text(f);
        Sheet {
            name: "目标".into(),
            headers: headers(&[
                "指标",
                "目标",
                "单位",
                "本月",
                "年累计",
                "去年同期",
                "进度",
                "余量",
            ]),
            rows: self
                .targets
                .iter()
                .map(|t| {
                    vec![
                        text(&t.indicator),
                        text(&t.requirement),
                        text(&t.unit),
                        figure(&t.current),
                        figure(&t.ytd),
                        figure(&t.last_year),
                        text(t.progress_text()),
                        Cell::from(t.allowance_text()),
                    ]
                })
                .collect(),
        }
    }

    fn water_sheet(&self) -> Sheet {
        Sheet {
            name: "水质断面".into(),
            headers: headers(&[
                "序号",
                "乡镇",
                "河流",
                "断面",
                "目标",
                "本月类别",
                "累计类别",
                "累计达标",
                "超标项目",
                "说明",
            ]),
            rows: self
                .water_sections
                .iter()
                .map(|s| {
                    vec![
                        count(s.number),
                        text(&s.township),
                        text(&s.river),
                        text(&s.section),
                        text(&s.target),
                        opt_text(&s.month_class),
                        opt_text(&s.ytd_class),
                        s.compliant
                            .map_or(Cell::Empty, |c| text(if c { "是" } else { "否" })),
                        Cell::from(s.failing.join("；")),
                        text(&s.note),
                    ]
                })
                .collect(),
        }
    }

    fn tasks_sheet(&self) -> Sheet {
        Sheet {
            name: "任务调度".into(),
            headers: headers(&["单位", "任务分工", "本月到期", "已完成", "逾期", "本月退回"]),
            rows: self
                .tasks_by_organisation
                .iter()
                .map(|o| {
                    vec![
                        text(&o.organisation),
                        count(o.assignments),
                        count(o.due),
                        count(o.done),
                        count(o.overdue),
                        count(o.returned),
                    ]
                })
                .collect(),
        }
    }

    fn fire_sheet(&self) -> Sheet {
        Sheet {
            name: "火点扣款".into(),
            headers: headers(&[
                "乡镇",
                "月份",
                "火点数",
                "秸秆火点",
                "其他火点",
                "扣款(万元)",
            ]),
            rows: self
                .fire_points
                .iter()
                .map(|f| {
                    vec![
                        text(&f.township),
                        text(&f.month),
                        count(f.points),
                        count(f.straw_points),
                        count(f.other_points),
                        Cell::Number(wan(Decimal::from_str_exact(&f.amount).unwrap_or_default())),
                    ]
                })
                .collect(),
        }
    }

    fn assessment_sheet(&self) -> Sheet {
        Sheet {
            name: "月考核".into(),
            headers: headers(&["单位", "类型", "基础分", "加减分明细", "合计"]),
            rows: self
                .assessment
                .iter()
                .map(|a| {
                    let detail: Vec<String> = a
                        .items
                        .iter()
                        .map(|i| {
                            let sign = if i.points > Decimal::ZERO { "+" } else { "" };
                            format!("{}：{}（{sign}{}）", i.rule, i.basis, i.points)
                        })
                        .collect();
                    vec![
                        text(&a.organisation),
                        text(&a.kind),
                        Cell::Number(a.base),
                        text(&detail.join("；")),
                        Cell::Number(a.total),
                    ]
                })
                .collect(),
        }
    }

    fn exceedance_sheet(&self) -> Sheet {
        Sheet {
            name: "在线监测超标".into(),
            headers: headers(&[
                "企业",
                "监测点",
                "因子",
                "单位",
                "限值",
                "有效小时",
                "超标小时",
                "最大值",
                "最大超标倍数",
                "最近超标",
            ]),
            rows: self
                .exceedances
                .iter()
                .map(|e| {
                    vec![
                        opt_text(&e.enterprise),
                        text(&e.site),
                        text(&e.factor_name),
                        text(&e.unit),
                        text(&e.limit),
                        count(e.valid_hours),
                        count(e.hours_over),
                        opt_text(&e.max_value),
                        opt_text(&e.max_multiple),
                        opt_text(&e.last_over),
                    ]
                })
                .collect(),
        }
    }
}

fn ranking_section(name: &str, r: &Ranking) -> (String, String, Sheet) {
    let title = format!("环境空气质量{}", name.replace('(', "（").replace(')', "）"));
    let sheet = Sheet {
        name: name.to_owned(),
        headers: headers(&[
            "排名",
            "名称",
            "综合指数",
            "去年同期",
            "变化率(%)",
            "改善排名",
            "PM2.5",
            "优良率(%)",
        ]),
        rows: r
            .rows
            .iter()
            .map(|x| {
                vec![
                    match x.rank {
                        Some(k) => count(k),
                        None if !x.sufficient => text(INSUFFICIENT),
                        None => Cell::Empty,
                    },
                    text(&x.name),
                    opt_text(&x.index),
                    opt_text(&x.base_index),
                    opt_text(&x.change_rate),
                    x.change_rank.map_or(Cell::Empty, count),
                    opt_text(&x.pm25),
                    opt_text(&x.good_ratio),
                ]
            })
            .collect(),
    };
    (title, RANKING_NOTE.to_owned(), sheet)
}
