//! The townships' monthly control values (`[[control]]`, air task 35) edited
//! in the app's forms: a row changed, added or removed. Part of
//! [`crate::edit`]: the form's values are checked field by field (Chinese
//! messages next to the field), written into the plan's file with
//! `toml_edit` and the whole plan is then checked again by `apply_edit`.

use rust_decimal::Decimal;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

use crate::edit::{EditRefused, FieldError, decimal, number_value, push, quoted, with_document};
use crate::model::{AssessmentKind, Campaign, OrgKind};

/// The series of a `[[control]]` row: its key in the file (and the form's
/// field prefix), what it is and its unit. `pm25` is required, the others
/// are set for all twelve months or not at all.
pub const CONTROL_SERIES: [(&str, &str, &str); 5] = [
    ("pm25", "PM2.5", "µg/m³"),
    ("electricity_kwh", "用电量", "kWh"),
    ("so2_t", "二氧化硫排放量", "t"),
    ("nox_t", "氮氧化物排放量", "t"),
    ("pm_t", "颗粒物排放量", "t"),
];

/// A `[[control]]` row as the form sends it: the township and, per series
/// of [`CONTROL_SERIES`], twelve values January to December as typed
/// (missing values count as blank).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlEdit {
    pub township: String,
    pub pm25: Vec<String>,
    pub electricity_kwh: Vec<String>,
    pub so2_t: Vec<String>,
    pub nox_t: Vec<String>,
    pub pm_t: Vec<String>,
}

impl ControlEdit {
    /// The typed values of series `key` (one of [`CONTROL_SERIES`]).
    pub fn series(&self, key: &str) -> &[String] {
        match key {
            "pm25" => &self.pm25,
            "electricity_kwh" => &self.electricity_kwh,
            "so2_t" => &self.so2_t,
            "nox_t" => &self.nox_t,
            "pm_t" => &self.pm_t,
            _ => &[],
        }
    }

    /// The values of series `key`, for a form filling them in.
    pub fn series_mut(&mut self, key: &str) -> Option<&mut Vec<String>> {
        match key {
            "pm25" => Some(&mut self.pm25),
            "electricity_kwh" => Some(&mut self.electricity_kwh),
            "so2_t" => Some(&mut self.so2_t),
            "nox_t" => Some(&mut self.nox_t),
            "pm_t" => Some(&mut self.pm_t),
            _ => None,
        }
    }
}

/// The plan's name of a township typed or written as a name or an alias.
fn township_name(plan: &Campaign, typed: &str) -> Option<(String, OrgKind)> {
    let typed = typed.trim();
    plan.organisations
        .iter()
        .find(|o| o.name == typed || o.aliases.iter().any(|a| a == typed))
        .map(|o| (o.name.clone(), o.kind))
}

struct Checked {
    township: String,
    /// Per series of [`CONTROL_SERIES`]: twelve values, or none.
    series: Vec<(&'static str, Option<Vec<Decimal>>)>,
}

fn check(plan: &Campaign, current: &str, t: &ControlEdit, errors: &mut Vec<FieldError>) -> Checked {
    let township = match township_name(plan, &t.township) {
        _ if t.township.trim().is_empty() => {
            push(errors, "township", "请选择乡镇");
            String::new()
        }
        Some((name, OrgKind::Township)) => {
            if name != current && plan.controls.iter().any(|c| c.township == name) {
                push(
                    errors,
                    "township",
                    format!("{} 已有月度控制指标，请修改该行", quoted(&name)),
                );
            }
            name
        }
        Some((name, _)) => {
            push(
                errors,
                "township",
                format!("{} 不是乡镇（街道），不能设乡镇月度控制指标", quoted(&name)),
            );
            String::new()
        }
        None => {
            push(
                errors,
                "township",
                format!(
                    "未知乡镇 {}：不是方案中任何乡镇的名称或简称",
                    quoted(&t.township)
                ),
            );
            String::new()
        }
    };
    let mut series = Vec::new();
    for (key, label, _) in CONTROL_SERIES {
        let typed = t.series(key);
        let value = |m: usize| typed.get(m).map_or("", |s| s.trim());
        let blank = (0..12).all(|m| value(m).is_empty());
        if blank && key != "pm25" {
            series.push((key, None));
            continue;
        }
        if blank {
            push(errors, key, format!("请填写 1—12 月的 {label} 控制值"));
            series.push((key, None));
            continue;
        }
        let mut out = Vec::with_capacity(12);
        let mut missing = false;
        for m in 0..12 {
            let field = format!("{key}_{m}");
            let v = value(m);
            if v.is_empty() {
                missing = true;
                push(errors, &field, format!("请填写 {} 月的值", m + 1));
                continue;
            }
            match decimal(v) {
                Some(d) if d > Decimal::ZERO => out.push(d),
                Some(_) => push(errors, &field, "控制值须大于 0"),
                None => push(
                    errors,
                    &field,
                    format!("{} 不是数字（如 35 或 0.5）", quoted(v)),
                ),
            }
        }
        if missing && key != "pm25" {
            push(
                errors,
                key,
                format!("{label} 须填写全部 12 个月，或全部留空（不设此项）"),
            );
        }
        series.push((key, (out.len() == 12).then_some(out)));
    }
    Checked { township, series }
}

/// Twelve values on one line, as the plan files write them.
fn values(v: &[Decimal]) -> Item {
    let mut arr = Array::new();
    for d in v {
        arr.push(number_value(*d));
    }
    Item::Value(Value::Array(arr))
}

fn write(table: &mut Table, c: &Checked) {
    table.insert("township", toml_edit::value(c.township.as_str()));
    for (key, v) in &c.series {
        match v {
            Some(v) => {
                table.insert(key, values(v));
            }
            None => {
                table.remove(key);
            }
        }
    }
}

/// Whether `table` is the `[[control]]` row of `township` (written in any
/// of its spellings).
fn is_row(plan: &Campaign, table: &Table, township: &str) -> bool {
    table
        .get("township")
        .and_then(Item::as_str)
        .and_then(|t| township_name(plan, t))
        .is_some_and(|(name, _)| name == township)
}

/// The `[[control]]` row of `township` changed, or a new row (`township`
/// empty). Whether the files were changed.
pub(crate) fn edit_control(
    plan: &Campaign,
    files: &mut [crate::model::PlanFile],
    township: &str,
    edit: &ControlEdit,
) -> Result<bool, EditRefused> {
    if !township.is_empty() && !plan.controls.iter().any(|c| c.township == township) {
        return Err(EditRefused::general(format!(
            "方案中没有 {} 的月度控制指标",
            quoted(township)
        )));
    }
    let mut errors = Vec::new();
    let checked = check(plan, township, edit, &mut errors);
    if !errors.is_empty() {
        return Err(EditRefused { problems: errors });
    }
    if !township.is_empty() {
        return with_document(files, |doc| {
            let Some(aot) = doc
                .get_mut("control")
                .and_then(Item::as_array_of_tables_mut)
            else {
                return false;
            };
            match aot.iter_mut().find(|t| is_row(plan, t, township)) {
                Some(table) => {
                    write(table, &checked);
                    true
                }
                None => false,
            }
        });
    }
    let mut table = Table::new();
    write(&mut table, &checked);
    // A new row goes after the others, else next to the [assessment], else
    // into the file of the [campaign].
    let has = |doc: &DocumentMut, key: &str| doc.contains_key(key);
    for key in ["control", "assessment", "campaign"] {
        let changed = with_document(files, |doc| {
            if !has(doc, key) {
                return false;
            }
            match doc
                .get_mut("control")
                .and_then(Item::as_array_of_tables_mut)
            {
                Some(aot) => aot.push(table.clone()),
                None => {
                    let mut aot = ArrayOfTables::new();
                    aot.push(table.clone());
                    doc.insert("control", Item::ArrayOfTables(aot));
                }
            }
            true
        })?;
        if changed {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The `[[control]]` row of `township` removed. Whether the files were
/// changed.
pub(crate) fn delete_control(
    plan: &Campaign,
    files: &mut [crate::model::PlanFile],
    township: &str,
) -> Result<bool, EditRefused> {
    if !plan.controls.iter().any(|c| c.township == township) {
        return Err(EditRefused::general(format!(
            "方案中没有 {} 的月度控制指标",
            quoted(township)
        )));
    }
    let scored = plan.assessment.as_ref().is_some_and(|a| {
        a.rules
            .iter()
            .any(|r| r.kind == AssessmentKind::Pm25Control)
    });
    if scored && plan.controls.len() == 1 {
        return Err(EditRefused::general(
            "月考核有“PM2.5 月控制值”一项，至少要保留一个乡镇的月度控制指标",
        ));
    }
    with_document(files, |doc| {
        let Some(aot) = doc
            .get_mut("control")
            .and_then(Item::as_array_of_tables_mut)
        else {
            return false;
        };
        let at = aot.iter().position(|t| is_row(plan, t, township));
        match at {
            Some(i) => {
                aot.remove(i);
                true
            }
            None => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PlanEdit;
    use crate::edit::apply_edit;

    const PLAN: &str = r#"
[campaign]
key = "t-2021"
name = "测试"
district = "测试区"
year = 2021
plans = []

[[organisation]]
key = "agri"
name = "区农业农村局"
kind = "department"

[[organisation]]
key = "yuanwu"
name = "原武镇"
kind = "township"
aliases = ["原武"]

[[organisation]]
key = "shizhai"
name = "师寨镇"
kind = "township"
"#;

    const ASSESSMENT: &str = r#"[assessment]
base = 100

[[assessment.rule]]
kind = "pm25-control"
points = "-0.5"

# Air task 35: the control values.
[[control]]
township = "原武"
pm25 = [95, 85, 70, 60, 50, 40, 35, 35, 45, 60, 80, 95]
"#;

    fn plan() -> Campaign {
        crate::parse(&[
            crate::Source {
                name: "plan.toml",
                text: PLAN,
            },
            crate::Source {
                name: "assessment.toml",
                text: ASSESSMENT,
            },
        ])
        .unwrap()
    }

    fn row(township: &str, pm25: &[&str]) -> ControlEdit {
        ControlEdit {
            township: township.into(),
            pm25: pm25.iter().map(|s| (*s).to_owned()).collect(),
            ..ControlEdit::default()
        }
    }

    const PM25: [&str; 12] = [
        "95", "85", "70", "60", "50", "40", "33.5", "35", "45", "60", "80", "95",
    ];

    #[test]
    fn a_row_is_changed_added_and_removed_and_the_comments_stay() {
        let p = plan();
        let c = apply_edit(
            &p,
            &PlanEdit::Control {
                township: "原武镇".into(),
                edit: row("原武镇", &PM25),
            },
        )
        .unwrap();
        assert_eq!(c.controls[0].pm25[6].to_string(), "33.5");
        assert_eq!(c.controls[0].pm25[0], Decimal::from(95));
        let text = &c.sources[1].text;
        assert!(
            text.contains("# Air task 35: the control values."),
            "{text}"
        );
        assert!(
            text.contains("\"33.5\""),
            "exact decimal as a string: {text}"
        );

        let mut new = row("师寨镇", &PM25);
        new.electricity_kwh = (1..=12).map(|m| (m * 1000).to_string()).collect();
        let c = apply_edit(
            &c,
            &PlanEdit::Control {
                township: String::new(),
                edit: new,
            },
        )
        .unwrap();
        assert_eq!(c.controls.len(), 2);
        let s = &c.controls[1];
        assert_eq!(s.township, "师寨镇");
        assert_eq!(
            s.electricity_kwh.as_ref().unwrap()[11],
            Decimal::from(12000)
        );
        assert!(s.so2_t.is_none());
        assert!(
            c.sources[1]
                .text
                .contains("[[control]]\ntownship = \"师寨镇\"")
        );

        let c = apply_edit(
            &c,
            &PlanEdit::DeleteControl {
                township: "原武镇".into(),
            },
        )
        .unwrap();
        assert_eq!(c.controls.len(), 1);
        assert_eq!(c.controls[0].township, "师寨镇");
        // The last row of a plan scored on it stays.
        let err = apply_edit(
            &c,
            &PlanEdit::DeleteControl {
                township: "师寨镇".into(),
            },
        )
        .unwrap_err();
        assert!(err.problems[0].message.contains("至少要保留"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_next_to_their_field() {
        let p = plan();
        let mut bad = row("原武镇", &PM25);
        bad.pm25[2] = "七十".into();
        bad.pm25[3] = "0".into();
        bad.pm25[11] = " ".into();
        bad.nox_t = vec!["1".into()];
        let err = apply_edit(
            &p,
            &PlanEdit::Control {
                township: "原武镇".into(),
                edit: bad,
            },
        )
        .unwrap_err();
        let fields: Vec<&str> = err.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "pm25_2", "pm25_3", "pm25_11", "nox_t_1", "nox_t_2", "nox_t_3", "nox_t_4",
                "nox_t_5", "nox_t_6", "nox_t_7", "nox_t_8", "nox_t_9", "nox_t_10", "nox_t_11",
                "nox_t"
            ]
        );
        assert!(err.problems[0].message.contains("“七十” 不是数字"));
        assert!(err.problems[1].message.contains("须大于 0"));

        for (township, field_message) in [
            ("区农业农村局", "不是乡镇"),
            ("<b>x</b>", "未知乡镇"),
            ("", "请选择乡镇"),
            ("原武", "已有月度控制指标"),
        ] {
            let err = apply_edit(
                &p,
                &PlanEdit::Control {
                    township: String::new(),
                    edit: row(township, &PM25),
                },
            )
            .unwrap_err();
            assert_eq!(err.problems[0].field, "township");
            assert!(
                err.problems[0].message.contains(field_message),
                "{township}: {err}"
            );
        }
        let err = apply_edit(
            &p,
            &PlanEdit::DeleteControl {
                township: "师寨镇".into(),
            },
        )
        .unwrap_err();
        assert!(err.problems[0].message.contains("没有"), "{err}");
    }
}
