//! The 月考核 scheme's rules (`[[assessment.rule]]`) edited in the app's
//! forms: a rule's points (one figure per occurrence, or one per rank for
//! `air-rank`) and its wording. What a rule counts and whom it scores stay
//! as written in the plan folder. Part of [`crate::edit`]: checked field by
//! field here, written into the plan's file, then the whole plan is checked
//! again by `apply_edit`.

use rust_decimal::Decimal;
use toml_edit::{Array, Item, Value};

use crate::edit::{EditRefused, decimal, push, quoted, with_document};
use crate::model::{AssessmentKind, Campaign};

/// Most ranks an `air-rank` rule may score, the largest figure either way
/// and the longest wording.
const RANKS_MAX: usize = 20;
const POINTS_MAX: i64 = 100;
const NOTE_MAX: usize = 500;

/// Rule `index` (0-based, in file order) of the scheme, of `kind` (its
/// `kind` as written: a guard against a stale form), given `points` as
/// typed (figures separated by `、` or `,` for `air-rank`) and `note`.
pub(crate) fn edit_rule(
    plan: &Campaign,
    files: &mut [crate::model::PlanFile],
    index: usize,
    kind: &str,
    points: &str,
    note: &str,
) -> Result<bool, EditRefused> {
    let Some(rule) = plan
        .assessment
        .as_ref()
        .and_then(|a| a.rules.get(index))
        .filter(|r| r.kind.as_str() == kind)
    else {
        return Err(EditRefused::general(
            "方案中没有这条月考核规则（方案可能刚被修改），请重新打开编辑页",
        ));
    };
    let mut errors = Vec::new();
    let typed: Vec<&str> = points
        .split(['、', '，', ',', '；', ';', ' ', '\u{3000}'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut figures = Vec::new();
    for t in &typed {
        match decimal(t) {
            Some(d) if d.abs() <= Decimal::from(POINTS_MAX) => figures.push(d),
            Some(_) => push(
                &mut errors,
                "points",
                format!("分值 {} 须在 -{POINTS_MAX} 到 {POINTS_MAX} 之间", quoted(t)),
            ),
            None => push(
                &mut errors,
                "points",
                format!("分值 {} 不是数字（如 -0.5 或 2）", quoted(t)),
            ),
        }
    }
    let ranks = rule.kind == AssessmentKind::AirRank;
    if typed.is_empty() {
        push(&mut errors, "points", "请填写分值");
    } else if ranks && typed.len() > RANKS_MAX {
        push(
            &mut errors,
            "points",
            format!("名次分值最多 {RANKS_MAX} 个（第 1 名在前）"),
        );
    } else if !ranks && typed.len() > 1 {
        push(
            &mut errors,
            "points",
            "此项每次发生计一个分值，只填一个数（扣分为负数，如 -2）",
        );
    }
    let note = note.trim();
    if note.chars().count() > NOTE_MAX {
        push(
            &mut errors,
            "note",
            format!("规则说明不能超过 {NOTE_MAX} 个字"),
        );
    }
    if !errors.is_empty() {
        return Err(EditRefused { problems: errors });
    }
    // Figures as strings, as the scheme writes them: exact decimals.
    let value = if ranks {
        let mut arr = Array::new();
        for d in &figures {
            arr.push(d.normalize().to_string());
        }
        Value::Array(arr)
    } else {
        Value::from(figures[0].normalize().to_string())
    };
    with_document(files, |doc| {
        let Some(rules) = doc
            .get_mut("assessment")
            .and_then(Item::as_table_mut)
            .and_then(|a| a.get_mut("rule"))
            .and_then(Item::as_array_of_tables_mut)
        else {
            return false;
        };
        let Some(t) = rules.get_mut(index) else {
            return false;
        };
        if t.get("kind").and_then(Item::as_str) != Some(kind) {
            return false;
        }
        t.insert("points", Item::Value(value.clone()));
        if note.is_empty() {
            t.remove("note");
        } else {
            t.insert("note", toml_edit::value(note));
        }
        true
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use crate::edit::{PlanEdit, apply_edit};
    use crate::model::Campaign;

    const PLAN: &str = r#"
[campaign]
key = "t-2021"
name = "测试"
district = "测试区"
year = 2021
plans = []

[[organisation]]
key = "yuanwu"
name = "原武镇"
kind = "township"
"#;

    const ASSESSMENT: &str = r#"# the office's scheme
[assessment]
base = 100

[[assessment.rule]]
kind = "air-rank"
points = ["3", "2", "1", "0"]
note = "排名"

[[assessment.rule]]
kind = "overdue"
applies = "all"
points = "-2"
note = "逾期"
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

    fn edit(index: usize, kind: &str, points: &str, note: &str) -> PlanEdit {
        PlanEdit::AssessmentRule {
            index,
            kind: kind.into(),
            points: points.into(),
            note: note.into(),
        }
    }

    #[test]
    fn points_and_wording_change_and_the_rest_stays() {
        let c = apply_edit(&plan(), &edit(1, "overdue", "-2.5", "")).unwrap();
        let rules = &c.assessment.as_ref().unwrap().rules;
        assert_eq!(rules[1].points, [Decimal::new(-25, 1)]);
        assert_eq!(rules[1].note, None);
        assert_eq!(rules[0].points.len(), 4);
        let text = &c.sources[1].text;
        assert!(text.contains("# the office's scheme"), "{text}");
        assert!(text.contains("points = \"-2.5\""), "{text}");
        assert!(text.contains("applies = \"all\""), "{text}");

        let c = apply_edit(&c, &edit(0, "air-rank", "5、3，1", "前三名加分")).unwrap();
        let rules = &c.assessment.as_ref().unwrap().rules;
        assert_eq!(
            rules[0].points,
            [Decimal::from(5), Decimal::from(3), Decimal::from(1)]
        );
        assert_eq!(rules[0].note.as_deref(), Some("前三名加分"));
    }

    #[test]
    fn bad_points_are_refused_next_to_their_field() {
        let p = plan();
        for (e, field, message) in [
            (edit(1, "overdue", "扣两分", ""), "points", "不是数字"),
            (edit(1, "overdue", "-2、-3", ""), "points", "只填一个数"),
            (edit(1, "overdue", "", ""), "points", "请填写分值"),
            (edit(1, "overdue", "-1000", ""), "points", "之间"),
            (edit(1, "overdue", "-1", &"长".repeat(501)), "note", "500"),
            (edit(1, "air-rank", "1", ""), "", "没有这条月考核规则"),
            (edit(7, "overdue", "1", ""), "", "没有这条月考核规则"),
        ] {
            let err = apply_edit(&p, &e).unwrap_err();
            assert_eq!(err.problems[0].field, field, "{e:?}");
            assert!(err.problems[0].message.contains(message), "{e:?}: {err}");
        }
    }
}
