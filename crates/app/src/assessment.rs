//! 月考核: each township's and department's score for a month, computed
//! from the month's 月调度 figures with the plan's scheme (`[assessment]`
//! and the townships' `[[control]]` values). Every item says what it
//! counted, from which figure, and where the evidence is.

use chrono::{Datelike, NaiveDate};
use gongjian_campaign::{AssessmentKind, AssessmentRule, Campaign, OrgKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::report::MonthlyReport;

/// One organisation's month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgAssessment {
    pub organisation: String,
    /// 乡镇 or 部门.
    pub kind: String,
    pub base: Decimal,
    pub items: Vec<AssessmentItem>,
    /// `base` plus every item's points.
    pub total: Decimal,
}

/// One rule applied to one organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentItem {
    /// The rule's name (空气质量月排名 …).
    pub rule: String,
    /// What was counted, with the figures (第 2 名，综合指数 4.12).
    pub basis: String,
    /// Points added (negative: deducted).
    pub points: Decimal,
    /// Where the evidence is (a page of the platform), if anywhere.
    pub evidence: Option<String>,
}

/// The month's assessment of every township, and of every department with
/// a part in the campaign, from `report` (the month's 月调度) — townships
/// first, each group by total, best first. Empty when the plan has no
/// `[assessment]`.
pub fn assess(plan: &Campaign, month: NaiveDate, report: &MonthlyReport) -> Vec<OrgAssessment> {
    let Some(scheme) = &plan.assessment else {
        return Vec::new();
    };
    let mut orgs: Vec<(&str, OrgKind)> = plan
        .organisations
        .iter()
        .filter(|o| o.kind == OrgKind::Township)
        .map(|o| (o.name.as_str(), o.kind))
        .collect();
    for t in &report.tasks_by_organisation {
        if let Some(o) = plan.organisation(&t.organisation)
            && o.kind == OrgKind::Department
        {
            orgs.push((o.name.as_str(), o.kind));
        }
    }
    let mut out: Vec<OrgAssessment> = orgs
        .into_iter()
        .map(|(name, kind)| {
            let items: Vec<AssessmentItem> = scheme
                .rules
                .iter()
                .filter(|r| r.applies.includes(kind))
                .filter_map(|r| item(plan, month, report, name, r))
                .collect();
            let total = scheme.base + items.iter().map(|i| i.points).sum::<Decimal>();
            OrgAssessment {
                organisation: name.to_owned(),
                kind: if kind == OrgKind::Township {
                    "乡镇".into()
                } else {
                    "部门".into()
                },
                base: scheme.base,
                items,
                total,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.kind != "乡镇")
            .cmp(&(b.kind != "乡镇"))
            .then(b.total.cmp(&a.total))
            .then(a.organisation.cmp(&b.organisation))
    });
    out
}

fn per(rule: &AssessmentRule) -> Decimal {
    rule.points.first().copied().unwrap_or_default()
}

/// The rule applied to one organisation; None when it does not bear on it.
fn item(
    plan: &Campaign,
    month: NaiveDate,
    report: &MonthlyReport,
    org: &str,
    rule: &AssessmentRule,
) -> Option<AssessmentItem> {
    let key = &report.month;
    let make = |basis: String, points: Decimal, evidence: Option<String>| AssessmentItem {
        rule: rule.kind.label().to_owned(),
        basis,
        points: points.normalize(),
        evidence,
    };
    let ranking = || {
        report
            .township_ranking_month
            .rows
            .iter()
            .find(|r| r.name == org)
    };
    Some(match rule.kind {
        AssessmentKind::AirRank => match ranking().and_then(|r| r.rank.zip(r.index)) {
            Some((rank, index)) => make(
                format!("第 {rank} 名，综合指数 {index}"),
                rule.points
                    .get(rank as usize - 1)
                    .copied()
                    .unwrap_or_default(),
                Some(format!("/reports?month={key}")),
            ),
            None => make(
                "数据不足，不排名".into(),
                Decimal::ZERO,
                Some(format!("/reports?month={key}")),
            ),
        },
        AssessmentKind::Pm25Control => {
            let control = plan
                .controls
                .iter()
                .find(|c| c.township == org)?
                .pm25
                .get(month.month0() as usize)
                .copied()?;
            match ranking().and_then(|r| r.pm25) {
                Some(pm25) => {
                    let over = (pm25 - control).max(Decimal::ZERO);
                    make(
                        if over > Decimal::ZERO {
                            format!("PM2.5 {pm25} µg/m³，控制值 {control}，超 {over}")
                        } else {
                            format!("PM2.5 {pm25} µg/m³，未超控制值 {control}")
                        },
                        per(rule) * over,
                        Some(format!("/reports?month={key}")),
                    )
                }
                None => make(
                    format!("本月无 PM2.5 有效月均值（控制值 {control}）"),
                    Decimal::ZERO,
                    None,
                ),
            }
        }
        AssessmentKind::Overdue | AssessmentKind::Returned => {
            let t = report
                .tasks_by_organisation
                .iter()
                .find(|t| t.organisation == org);
            let (n, what, link) = match rule.kind {
                AssessmentKind::Overdue => (
                    t.map_or(0, |t| t.overdue),
                    "逾期分工",
                    "/tasks?status=overdue",
                ),
                _ => (t.map_or(0, |t| t.returned), "本月被退回的报送", "/tasks"),
            };
            make(
                format!("{what} {n} 项"),
                per(rule) * Decimal::from(n),
                (n > 0).then(|| link.to_owned()),
            )
        }
        AssessmentKind::FirePoint => {
            let f = report
                .fire_points
                .iter()
                .find(|f| f.township == org && &f.month == key);
            let n = f.map_or(0, |f| f.points);
            make(
                match f {
                    Some(f) => format!(
                        "火点 {n} 个（秸秆 {}，其他 {}），扣减财力 {} 元",
                        f.straw_points, f.other_points, f.amount
                    ),
                    None => "本月无火点".into(),
                },
                per(rule) * Decimal::from(n),
                (n > 0).then(|| "/ledger".to_owned()),
            )
        }
        AssessmentKind::CaseOverdue => {
            let c = report.cases.iter().find(|c| c.organisation == org);
            let own = c.map_or(0, |c| c.overdue);
            let territory = c.map_or(0, |c| c.territory_overdue);
            let n = own + territory;
            make(
                if territory > 0 {
                    format!("逾期未销号督办单 {n} 件（本单位 {own}，辖区企业 {territory}）")
                } else {
                    format!("逾期未销号督办单 {n} 件")
                },
                per(rule) * Decimal::from(n),
                (n > 0).then(|| "/cases?state=overdue".to_owned()),
            )
        }
        AssessmentKind::Section => {
            let failing: Vec<String> = report
                .water_sections
                .iter()
                .filter(|s| s.township == org && s.compliant == Some(false))
                .map(|s| format!("{}{}", s.river, s.section))
                .collect();
            let mine = report.water_sections.iter().any(|s| s.township == org);
            if !mine {
                return None;
            }
            make(
                if failing.is_empty() {
                    "考核断面均达标或无数据".into()
                } else {
                    format!("未达标：{}", failing.join("、"))
                },
                per(rule) * Decimal::from(failing.len() as u64),
                (!failing.is_empty()).then(|| "/water".to_owned()),
            )
        }
    })
}
