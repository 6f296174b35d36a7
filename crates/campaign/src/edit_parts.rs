//! A task's paragraphs with their own responsibility line (`[[task.parts]]`,
//! 责任分工) edited in the task's form: each paragraph's content (`title`),
//! lead and cooperating organisations changed, paragraphs added or removed.
//! Part of [`crate::edit`]: checked field by field here, written into the
//! task's table, then the whole plan is checked again by `apply_edit`.

use toml_edit::{Array, ArrayOfTables, InlineTable, Item, Table, Value};

use crate::edit::{FieldError, organisations, push, quoted};
use crate::model::Campaign;

/// One paragraph of a task as the form sends it. Organisations are
/// separated as in the task's own lead and cooperating fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartEdit {
    /// The paragraph's content, as the plan titles it.
    pub title: String,
    pub lead: String,
    pub cooperating: String,
}

impl PartEdit {
    fn is_blank(&self) -> bool {
        self.title.trim().is_empty()
            && self.lead.trim().is_empty()
            && self.cooperating.trim().is_empty()
    }
}

/// A paragraph checked: its title, leads and cooperating organisations
/// under the plan's spelling.
#[derive(Debug, Clone)]
pub(crate) struct CheckedPart {
    title: String,
    lead: Vec<String>,
    cooperating: Vec<String>,
}

/// The form's paragraphs checked (blank rows dropped); problems are
/// attached to `part_title_N`, `part_lead_N`, `part_cooperating_N`, or to
/// `parts` when none is left.
pub(crate) fn check_parts(
    plan: &Campaign,
    parts: &[PartEdit],
    errors: &mut Vec<FieldError>,
) -> Vec<CheckedPart> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if p.is_blank() {
            continue;
        }
        let title = p.title.trim();
        if title.is_empty() {
            push(errors, &format!("part_title_{i}"), "请填写本段的工作内容");
        }
        let lead_field = format!("part_lead_{i}");
        let coop_field = format!("part_cooperating_{i}");
        let lead = organisations(plan, &p.lead, &lead_field, errors);
        if p.lead.trim().is_empty() {
            push(errors, &lead_field, "请填写本段的牵头单位");
        }
        let cooperating = organisations(plan, &p.cooperating, &coop_field, errors);
        let both: Vec<String> = cooperating
            .iter()
            .filter(|c| lead.contains(c))
            .map(|c| quoted(c))
            .collect();
        if !both.is_empty() {
            push(
                errors,
                &coop_field,
                format!("{} 已是本段牵头单位，不能同时为配合单位", both.join("、")),
            );
        }
        out.push(CheckedPart {
            title: title.to_owned(),
            lead,
            cooperating,
        });
    }
    if out.is_empty() {
        push(
            errors,
            "parts",
            "按段落分工的任务至少保留一段（含工作内容和牵头单位）",
        );
    }
    out
}

fn names(names: &[String]) -> Value {
    let mut arr = Array::new();
    for n in names {
        arr.push(n.as_str());
    }
    Value::Array(arr)
}

fn fill(t: &mut Table, p: &CheckedPart) {
    t.insert("title", toml_edit::value(p.title.as_str()));
    t.insert("lead", Item::Value(names(&p.lead)));
    if p.cooperating.is_empty() {
        t.remove("cooperating");
    } else {
        t.insert("cooperating", Item::Value(names(&p.cooperating)));
    }
}

/// The task table's paragraphs replaced by `parts`, in the form the file
/// writes them: `[[task.parts]]` tables (the n-th keeps the n-th's place
/// and comments) or an inline `parts = [ … ]`.
pub(crate) fn write_parts(table: &mut Table, parts: &[CheckedPart]) {
    match table.get_mut("parts") {
        Some(Item::Value(Value::Array(_))) => {
            let mut arr = Array::new();
            for p in parts {
                let mut t = Table::new();
                fill(&mut t, p);
                let mut inline: InlineTable = t.into_inline_table();
                inline.fmt();
                arr.push(Value::InlineTable(inline));
            }
            for v in arr.iter_mut() {
                v.decor_mut().set_prefix("\n  ");
            }
            arr.set_trailing("\n");
            arr.set_trailing_comma(true);
            table.insert("parts", Item::Value(Value::Array(arr)));
        }
        Some(Item::ArrayOfTables(aot)) => {
            while aot.len() > parts.len() {
                aot.remove(aot.len() - 1);
            }
            for (i, p) in parts.iter().enumerate() {
                match aot.get_mut(i) {
                    Some(t) => fill(t, p),
                    None => {
                        // No position: written right after the paragraph
                        // before it, so it stays with its task.
                        let mut t = Table::new();
                        fill(&mut t, p);
                        aot.push(t);
                    }
                }
            }
        }
        _ => {
            let mut aot = ArrayOfTables::new();
            for p in parts {
                let mut t = Table::new();
                fill(&mut t, p);
                aot.push(t);
            }
            table.insert("parts", Item::ArrayOfTables(aot));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::{PlanEdit, TaskEdit, apply_edit};

    const PLAN: &str = r#"
[campaign]
key = "t-2021"
name = "测试"
district = "测试区"
year = 2021
plans = ["air"]

[[organisation]]
key = "agri"
name = "区农业农村局"
kind = "department"
aliases = ["农业农村局"]

[[organisation]]
key = "build"
name = "区城乡建设局"
kind = "department"
aliases = ["城乡建设局"]

[[organisation]]
key = "yuanwu"
name = "原武镇"
kind = "township"

[plan]
id = "air"
title = "大气"
numbering = "plan"

[[task]]
number = 1
title = "绿化"
summary = "国土绿化和城市绿化"
[[task.parts]]
title = "着力推进国土绿化"
lead = ["农业农村局"]
cooperating = ["城乡建设局"]
# the second paragraph
[[task.parts]]
title = "强化城市绿化建设"
lead = ["城乡建设局"]

[[task]]
number = 2
title = "秸秆"
summary = "禁烧"
lead = ["农业农村局"]
"#;

    fn plan() -> Campaign {
        crate::parse(&[crate::Source {
            name: "air.toml",
            text: PLAN,
        }])
        .unwrap()
    }

    fn part(title: &str, lead: &str, cooperating: &str) -> PartEdit {
        PartEdit {
            title: title.into(),
            lead: lead.into(),
            cooperating: cooperating.into(),
        }
    }

    fn edit(parts: Vec<PartEdit>) -> PlanEdit {
        PlanEdit::Task {
            key: "air-1".into(),
            edit: TaskEdit {
                title: "绿化".into(),
                summary: "国土绿化和城市绿化".into(),
                parts,
                ..TaskEdit::default()
            },
        }
    }

    #[test]
    fn paragraphs_are_changed_added_and_removed_and_stay_with_their_task() {
        let p = plan();
        let c = apply_edit(
            &p,
            &edit(vec![
                part("着力推进国土绿化", "城乡建设局", "农业农村局、原武镇"),
                part("强化城市绿化建设", "城乡建设局", ""),
                part("村庄绿化", "原武镇", ""),
            ]),
        )
        .unwrap();
        let t = c.task("air-1").unwrap();
        assert_eq!(t.parts.len(), 3);
        assert_eq!(t.parts[0].lead, ["区城乡建设局"]);
        assert_eq!(t.parts[0].cooperating, ["区农业农村局", "原武镇"]);
        assert_eq!(t.parts[2].title, "村庄绿化");
        assert_eq!(t.lead, ["区城乡建设局", "原武镇"]);
        assert!(c.sources[0].text.contains("# the second paragraph"));
        // The other task is untouched and the new paragraph is not its.
        assert!(c.task("air-2").unwrap().parts.is_empty());

        // The second paragraph removed (a blank row), the third kept.
        let c = apply_edit(
            &c,
            &edit(vec![
                part("着力推进国土绿化", "城乡建设局", ""),
                PartEdit::default(),
                part("村庄绿化", "原武镇", ""),
            ]),
        )
        .unwrap();
        let t = c.task("air-1").unwrap();
        let titles: Vec<&str> = t.parts.iter().map(|x| x.title.as_str()).collect();
        assert_eq!(titles, ["着力推进国土绿化", "村庄绿化"]);
        assert!(c.task("air-2").unwrap().parts.is_empty());
    }

    #[test]
    fn bad_paragraphs_are_refused_next_to_their_field() {
        let err = apply_edit(
            &plan(),
            &edit(vec![
                part("", "市水利局", ""),
                part("城市绿化", "", ""),
                part("村庄绿化", "原武镇", "原武镇"),
            ]),
        )
        .unwrap_err();
        let fields: Vec<&str> = err.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "part_title_0",
                "part_lead_0",
                "part_lead_1",
                "part_cooperating_2"
            ]
        );
        assert!(err.problems[1].message.contains("市水利局"));
        let err = apply_edit(&plan(), &edit(vec![PartEdit::default()])).unwrap_err();
        assert_eq!(err.problems[0].field, "parts");
    }
}
