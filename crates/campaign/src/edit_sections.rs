//! The water annex's sections (`[[section]]`) edited in the app's forms: a
//! section's assessed area, river, basin and class target. Its name stays
//! as written: targets (`section:NAME`) and monitoring sites refer to a
//! section by it. A changed class is also written to the section's
//! `section-class` targets, which must agree with the annex (their old
//! wording dropped). Part of [`crate::edit`]: checked field by field here,
//! written into the plan's files, then the whole plan is checked again by
//! `apply_edit`.

use toml_edit::{DocumentMut, Item};

use crate::edit::{EditRefused, push, quoted, with_document};
use crate::model::{Campaign, OrgKind, WaterClass};

/// Longest river or basin name a form may set.
const NAME_MAX: usize = 100;

/// A section as the form sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionEdit {
    /// 考核区域: a township (name or alias) or the district.
    pub township: String,
    pub river: String,
    pub basin: String,
    /// 水质目标: `Ⅲ`, `III`, `3`, `劣Ⅴ` …
    pub target_class: String,
}

/// Section `name` given `edit`. Whether the files changed.
pub(crate) fn edit_section(
    plan: &Campaign,
    files: &mut [crate::model::PlanFile],
    name: &str,
    edit: &SectionEdit,
) -> Result<bool, EditRefused> {
    let Some(current) = plan.sections.iter().find(|s| s.section == name) else {
        return Err(EditRefused::general(format!(
            "方案中没有断面 {}",
            quoted(name)
        )));
    };
    let mut errors = Vec::new();
    let typed = edit.township.trim();
    let township = if typed == plan.district {
        Some(plan.district.clone())
    } else {
        match plan
            .organisations
            .iter()
            .find(|o| o.name == typed || o.aliases.iter().any(|a| a == typed))
        {
            _ if typed.is_empty() => {
                push(&mut errors, "township", "请填写考核区域（乡镇或全区）");
                None
            }
            Some(o) if o.kind == OrgKind::Township => Some(o.name.clone()),
            Some(o) => {
                push(
                    &mut errors,
                    "township",
                    format!("{} 不是乡镇（街道），也不是全区", quoted(&o.name)),
                );
                None
            }
            None => {
                push(
                    &mut errors,
                    "township",
                    format!(
                        "未知考核区域 {}：不是方案中任何乡镇的名称或简称，也不是“{}”",
                        quoted(typed),
                        plan.district
                    ),
                );
                None
            }
        }
    };
    for (field, label, value) in [
        ("river", "所在水体", &edit.river),
        ("basin", "所属流域", &edit.basin),
    ] {
        let v = value.trim();
        if v.is_empty() {
            push(&mut errors, field, format!("请填写{label}"));
        } else if v.chars().count() > NAME_MAX {
            push(
                &mut errors,
                field,
                format!("{label}不能超过 {NAME_MAX} 个字"),
            );
        }
    }
    let class = match edit.target_class.trim().parse::<WaterClass>() {
        Ok(c) => Some(c),
        Err(_) => {
            push(
                &mut errors,
                "target_class",
                format!(
                    "水质目标 {} 不是水质类别（Ⅰ—Ⅴ 或 劣Ⅴ）",
                    quoted(&edit.target_class)
                ),
            );
            None
        }
    };
    let (Some(township), Some(class), true) = (township, class, errors.is_empty()) else {
        return Err(EditRefused { problems: errors });
    };
    let changed = with_document(files, |doc| {
        let Some(aot) = doc
            .get_mut("section")
            .and_then(Item::as_array_of_tables_mut)
        else {
            return false;
        };
        match aot
            .iter_mut()
            .find(|t| t.get("section").and_then(Item::as_str) == Some(name))
        {
            Some(t) => {
                t.insert("township", toml_edit::value(township.as_str()));
                t.insert("river", toml_edit::value(edit.river.trim()));
                t.insert("basin", toml_edit::value(edit.basin.trim()));
                t.insert("target_class", toml_edit::value(class.label()));
                true
            }
            None => false,
        }
    })?;
    if changed && class != current.target_class {
        follow_class(files, name, class)?;
    }
    Ok(changed)
}

/// The section's `section-class` targets set to `class`, in every file.
fn follow_class(
    files: &mut [crate::model::PlanFile],
    name: &str,
    class: WaterClass,
) -> Result<(), EditRefused> {
    let scope = format!("section:{name}");
    for file in files.iter_mut() {
        if !file.name.ends_with(".toml") {
            continue;
        }
        let mut doc: DocumentMut = file
            .text
            .parse()
            .map_err(|e| EditRefused::general(format!("方案文件 {} 无法读取：{e}", file.name)))?;
        let mut changed = false;
        if let Some(aot) = doc.get_mut("target").and_then(Item::as_array_of_tables_mut) {
            for t in aot.iter_mut() {
                let ours = t.get("scope").and_then(Item::as_str) == Some(scope.as_str())
                    && t.get("statistic").and_then(Item::as_str) == Some("section-class");
                if ours {
                    t.insert("value", toml_edit::value(i64::from(class.number())));
                    t.remove("as_written");
                    changed = true;
                }
            }
        }
        if changed {
            file.text = doc.to_string();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::{PlanEdit, apply_edit};

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

[[organisation]]
key = "yuanwu"
name = "原武镇"
kind = "township"
aliases = ["原武"]
"#;

    const WATER: &str = r#"
[plan]
id = "water"
title = "水"
numbering = "group"

[[target]]
key = "w-1"
indicator = "甲断面水质类别"
scope = "section:甲"
comparator = "<="
value = 3
unit = "类"
period = "2021"
measured = "data"
statistic = "section-class"
as_written = "Ⅲ类"

# the annex
[[section]]
number = 1
township = "测试区"
river = "天然渠"
section = "甲"
basin = "黄河流域"
target_class = "Ⅲ"
"#;

    fn plan() -> Campaign {
        crate::parse(&[
            crate::Source {
                name: "plan.toml",
                text: PLAN,
            },
            crate::Source {
                name: "water.toml",
                text: WATER,
            },
        ])
        .unwrap()
    }

    fn edit(township: &str, class: &str) -> PlanEdit {
        PlanEdit::Section {
            section: "甲".into(),
            edit: SectionEdit {
                township: township.into(),
                river: "天然渠".into(),
                basin: "黄河流域".into(),
                target_class: class.into(),
            },
        }
    }

    #[test]
    fn a_class_change_follows_into_the_sections_target() {
        let c = apply_edit(&plan(), &edit("原武", "IV")).unwrap();
        assert_eq!(c.sections[0].target_class, WaterClass::IV);
        assert_eq!(c.sections[0].township, "原武镇");
        assert_eq!(
            c.targets[0].value,
            Some(rust_decimal::Decimal::from(4)),
            "the section-class target agrees"
        );
        assert_eq!(c.targets[0].as_written, None);
        assert!(c.sources[1].text.contains("# the annex"));
    }

    #[test]
    fn bad_values_are_refused_next_to_their_field() {
        let err = apply_edit(&plan(), &edit("区农业农村局", "Ⅷ")).unwrap_err();
        let fields: Vec<&str> = err.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["township", "target_class"]);
        assert!(err.problems[1].message.contains("“Ⅷ” 不是水质类别"));
        let err = apply_edit(
            &plan(),
            &PlanEdit::Section {
                section: "乙".into(),
                edit: SectionEdit::default(),
            },
        )
        .unwrap_err();
        assert!(err.problems[0].message.contains("没有断面"));
    }
}
