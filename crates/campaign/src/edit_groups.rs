//! A plan's task groups (`[[group]]`, the headings 一、二… of 主要任务)
//! edited in the app's forms: a heading renamed, a group added. A group's
//! id is part of its tasks' keys (`water-二-3`), so it is never changed.
//! Part of [`crate::edit`]: checked field by field here, written into the
//! plan's file, then the whole plan is checked again by `apply_edit`.

use toml_edit::{ArrayOfTables, Item, Table};

use crate::edit::{EditRefused, FieldError, push, quoted, with_document};
use crate::model::Campaign;

/// Longest heading and group id a form may set.
const TITLE_MAX: usize = 200;
const ID_MAX: usize = 20;

fn file_plan(doc: &toml_edit::DocumentMut) -> Option<String> {
    doc.get("plan")
        .and_then(|p| p.get("id"))
        .and_then(Item::as_str)
        .map(str::to_owned)
}

fn check_title(title: &str, errors: &mut Vec<FieldError>) -> String {
    let title = title.trim();
    if title.is_empty() {
        push(errors, "group_title", "分组标题不能为空");
    } else if title.chars().count() > TITLE_MAX {
        push(
            errors,
            "group_title",
            format!("分组标题不能超过 {TITLE_MAX} 个字"),
        );
    }
    title.to_owned()
}

/// Group `id` of plan `plan` renamed to `title`. Whether the files changed.
pub(crate) fn rename_group(
    plan: &Campaign,
    files: &mut [crate::model::PlanFile],
    plan_id: &str,
    id: &str,
    title: &str,
) -> Result<bool, EditRefused> {
    let Some(p) = plan.plan(plan_id) else {
        return Err(EditRefused::general(format!(
            "方案中没有 {}",
            quoted(plan_id)
        )));
    };
    if !p.groups.iter().any(|g| g.id == id) {
        return Err(EditRefused::general(format!(
            "{} 中没有“{}”这一组",
            p.title,
            id.chars().take(ID_MAX).collect::<String>()
        )));
    }
    let mut errors = Vec::new();
    let title = check_title(title, &mut errors);
    if !errors.is_empty() {
        return Err(EditRefused { problems: errors });
    }
    with_document(files, |doc| {
        if file_plan(doc).as_deref() != Some(plan_id) {
            return false;
        }
        let Some(aot) = doc.get_mut("group").and_then(Item::as_array_of_tables_mut) else {
            return false;
        };
        match aot
            .iter_mut()
            .find(|t| t.get("id").and_then(Item::as_str) == Some(id))
        {
            Some(t) => {
                t.insert("title", toml_edit::value(title.as_str()));
                true
            }
            None => false,
        }
    })
}

/// A new group `id` with heading `title` after plan `plan`'s last group.
/// Whether the files changed.
pub(crate) fn add_group(
    plan: &Campaign,
    files: &mut [crate::model::PlanFile],
    plan_id: &str,
    id: &str,
    title: &str,
) -> Result<bool, EditRefused> {
    let Some(p) = plan.plan(plan_id) else {
        return Err(EditRefused::general(format!(
            "方案中没有 {}",
            quoted(plan_id)
        )));
    };
    let mut errors = Vec::new();
    let id = id.trim();
    if id.is_empty() {
        push(&mut errors, "group_id", "请填写分组编号（如 五）");
    } else if id.chars().count() > ID_MAX {
        push(
            &mut errors,
            "group_id",
            format!("分组编号不能超过 {ID_MAX} 个字"),
        );
    } else if id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "-/\\#?%&\"'<>".contains(c))
    {
        push(
            &mut errors,
            "group_id",
            format!(
                "分组编号 {} 不能含空格或 - / # ? % & 引号等符号（它是任务编号的一部分）",
                quoted(id)
            ),
        );
    } else if p.groups.iter().any(|g| g.id == id) {
        push(
            &mut errors,
            "group_id",
            format!("{} 已有编号为 {} 的分组", p.title, quoted(id)),
        );
    }
    let title = check_title(title, &mut errors);
    if !errors.is_empty() {
        return Err(EditRefused { problems: errors });
    }
    let mut table = Table::new();
    table.insert("id", toml_edit::value(id));
    table.insert("title", toml_edit::value(title.as_str()));
    with_document(files, |doc| {
        if file_plan(doc).as_deref() != Some(plan_id) {
            return false;
        }
        match doc.get_mut("group").and_then(Item::as_array_of_tables_mut) {
            Some(aot) => aot.push(table.clone()),
            None => {
                let mut aot = ArrayOfTables::new();
                aot.push(table.clone());
                doc.insert("group", Item::ArrayOfTables(aot));
            }
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use crate::edit::{PlanEdit, TaskEdit, apply_edit};
    use crate::model::Campaign;

    const PLAN: &str = r#"
[campaign]
key = "t-2021"
name = "测试"
district = "测试区"
year = 2021
plans = ["water"]

[[organisation]]
key = "agri"
name = "区农业农村局"
kind = "department"

[plan]
id = "water"
title = "水"
numbering = "group"

# the first heading
[[group]]
id = "一"
title = "工业"

[[task]]
number = 1
group = "一"
title = "治理"
summary = "治理"
lead = ["区农业农村局"]
"#;

    fn plan() -> Campaign {
        crate::parse(&[crate::Source {
            name: "water.toml",
            text: PLAN,
        }])
        .unwrap()
    }

    #[test]
    fn a_heading_is_renamed_and_a_group_added_with_a_task() {
        let c = apply_edit(
            &plan(),
            &PlanEdit::Group {
                plan: "water".into(),
                id: "一".into(),
                title: "工业污染防治".into(),
            },
        )
        .unwrap();
        assert_eq!(c.plans[0].groups[0].title, "工业污染防治");
        assert!(c.sources[0].text.contains("# the first heading"));
        assert_eq!(c.task("water-一-1").unwrap().title, "治理");

        let c = apply_edit(
            &c,
            &PlanEdit::AddGroup {
                plan: "water".into(),
                id: "二".into(),
                title: "农业农村".into(),
            },
        )
        .unwrap();
        let ids: Vec<&str> = c.plans[0].groups.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["一", "二"]);
        // The new group takes tasks.
        let c = apply_edit(
            &c,
            &PlanEdit::AddTask {
                plan: "water".into(),
                group: "二".into(),
                edit: TaskEdit {
                    title: "面源".into(),
                    summary: "面源治理".into(),
                    lead: "区农业农村局".into(),
                    ..TaskEdit::default()
                },
            },
        )
        .unwrap();
        assert_eq!(c.task("water-二-1").unwrap().title, "面源");
    }

    #[test]
    fn bad_groups_are_refused_next_to_their_field() {
        let p = plan();
        let rename = |id: &str, title: &str| {
            apply_edit(
                &p,
                &PlanEdit::Group {
                    plan: "water".into(),
                    id: id.into(),
                    title: title.into(),
                },
            )
            .unwrap_err()
        };
        assert_eq!(rename("一", " ").problems[0].field, "group_title");
        assert_eq!(
            rename("一", &"长".repeat(201)).problems[0].field,
            "group_title"
        );
        assert!(
            rename("九", "x").problems[0]
                .message
                .contains("没有“九”这一组")
        );
        for (id, message) in [
            ("", "请填写分组编号"),
            ("一", "已有编号为 “一” 的分组"),
            ("a-b", "不能含空格"),
            ("<b>", "不能含空格"),
        ] {
            let err = apply_edit(
                &p,
                &PlanEdit::AddGroup {
                    plan: "water".into(),
                    id: id.into(),
                    title: "农业".into(),
                },
            )
            .unwrap_err();
            assert_eq!(err.problems[0].field, "group_id", "{id}");
            assert!(err.problems[0].message.contains(message), "{id}: {err}");
        }
    }
}
