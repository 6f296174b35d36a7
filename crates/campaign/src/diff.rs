//! A plan load as a comparison: what loading a validated [`Campaign`]
//! changes in what storage holds of it.
//!
//! Pure: storage reads what it holds ([`Stored`]), [`PlanDiff::of`] works
//! out the new revision (its snapshot and digest, the plan text and its
//! digest, the change lines, which targets and tasks to write and which to
//! deactivate) and storage applies it. Organisations are matched and
//! created only while applying, so the lines for those created are added
//! then ([`PlanDiff::changes`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Campaign, Target, Task};

/// What storage holds of one target or task of a campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    /// Its normalised content ([`target_content`], [`task_content`]) as
    /// written by the load that stored it.
    pub content: String,
    /// Whether it is in the current plan (a removed one stays, inactive).
    pub active: bool,
}

/// What storage holds of a campaign before a load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// Digest of the latest revision; `None` before the first load.
    pub last_digest: Option<String>,
    /// Targets by key.
    pub targets: BTreeMap<String, StoredItem>,
    /// The plan's tasks by key, 交办 (ad-hoc tasks, the office's own, never
    /// touched by a load) left out.
    pub tasks: BTreeMap<String, StoredItem>,
}

/// How one target or task of the plan compares with what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// Stored, active, with the same content: nothing to write.
    Same,
    /// Not stored yet.
    Added,
    /// Stored with another content.
    Changed,
    /// Stored with the same content but inactive (it had left the plan).
    Reactivated,
}

impl Change {
    /// Whether the target or task is (re)written.
    pub fn writes(self) -> bool {
        self != Change::Same
    }
}

/// One target or task of the plan, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// The normalised content to store with it.
    pub content: String,
    pub change: Change,
}

/// What a load of a plan does, worked out from the plan and what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDiff {
    /// The normalised plan as JSON text (kept with the revision).
    pub snapshot: String,
    /// SHA-256 of `snapshot`, hex: the revision's digest.
    pub digest: String,
    /// The plan files as JSON text (kept with the revision).
    pub sources: String,
    /// SHA-256 of `sources`, hex.
    pub sources_digest: String,
    /// The digest equals the latest revision's: nothing to write (every
    /// entry is [`Change::Same`], nothing to deactivate, no change lines).
    pub unchanged: bool,
    /// No revision yet.
    pub first_load: bool,
    /// The plan's targets, in plan order (parallel to `Campaign::targets`).
    pub targets: Vec<Entry>,
    /// The plan's tasks, in plan order (parallel to `Campaign::tasks`).
    pub tasks: Vec<Entry>,
    /// Keys of active stored targets that left the plan, in key order.
    pub deactivate_targets: Vec<String>,
    /// Keys of active stored tasks that left the plan, in key order.
    pub deactivate_tasks: Vec<String>,
    /// Assignments of the whole plan: one per responsible organisation of
    /// each task ([`assignment_count`]).
    pub assignments: usize,
    /// The first-load line, if any.
    opening: Option<String>,
    /// Target and task lines, in the order of the revision's list.
    lines: Vec<String>,
}

impl PlanDiff {
    /// Compare `plan` with what is stored of it.
    pub fn of(plan: &Campaign, stored: &Stored) -> PlanDiff {
        let targets: Vec<(&Target, Value)> = plan
            .targets
            .iter()
            .map(|t| (t, target_content(t)))
            .collect();
        let tasks: Vec<(&Task, Value)> = plan.tasks.iter().map(|t| (t, task_content(t))).collect();
        let organisations: Vec<Value> = plan
            .organisations
            .iter()
            .map(|o| json!({"key": o.key, "name": o.name, "kind": o.kind.as_str()}))
            .collect();
        let sources = serde_json::to_string(&plan.sources).unwrap_or_default();
        let sources_digest = sha256_hex(&sources);
        let snapshot = json!({
            "campaign": {"key": plan.key, "name": plan.name, "district": plan.district, "year": plan.year},
            // The plan's text: an edit the normalised view does not show
            // (sections, limit sets, wording) is a revision too.
            "text": sources_digest,
            "organisations": organisations,
            "targets": targets.iter().map(|(t, v)| json!([t.key, v])).collect::<Vec<_>>(),
            "tasks": tasks.iter().map(|(t, v)| json!([t.key, v])).collect::<Vec<_>>(),
        })
        .to_string();
        let digest = sha256_hex(&snapshot);
        let unchanged = stored.last_digest.as_deref() == Some(digest.as_str());
        let first_load = stored.last_digest.is_none();
        let assignments = plan.tasks.iter().map(assignment_count).sum();

        let mut diff = PlanDiff {
            snapshot,
            digest,
            sources,
            sources_digest,
            unchanged,
            first_load,
            targets: Vec::with_capacity(targets.len()),
            tasks: Vec::with_capacity(tasks.len()),
            deactivate_targets: Vec::new(),
            deactivate_tasks: Vec::new(),
            assignments,
            opening: None,
            lines: Vec::new(),
        };
        if unchanged {
            let same = |key: &str, content: &Value| Entry {
                key: key.to_owned(),
                content: content.to_string(),
                change: Change::Same,
            };
            diff.targets = targets.iter().map(|(t, v)| same(&t.key, v)).collect();
            diff.tasks = tasks.iter().map(|(t, v)| same(&t.key, v)).collect();
            return diff;
        }
        if first_load {
            diff.opening = Some(format!(
                "首次载入 (first load): {} 个任务, {} 个目标",
                plan.tasks.len(),
                plan.targets.len()
            ));
        }

        let mut old = stored.targets.clone();
        for (t, content) in &targets {
            let (entry, line) =
                compare(&mut old, &t.key, content, ("目标", "target"), &t.indicator);
            diff.lines.extend(line.filter(|_| !first_load));
            diff.targets.push(entry);
        }
        for (key, item) in old {
            if item.active {
                diff.lines.push(format!("删除目标 (target removed) {key}"));
                diff.deactivate_targets.push(key);
            }
        }

        let mut old = stored.tasks.clone();
        for (t, content) in &tasks {
            let (entry, line) = compare(&mut old, &t.key, content, ("任务", "task"), &t.title);
            diff.lines.extend(line.filter(|_| !first_load));
            diff.tasks.push(entry);
        }
        for (key, item) in old {
            if item.active {
                diff.lines.push(format!("删除任务 (task removed) {key}"));
                diff.deactivate_tasks.push(key);
            }
        }
        diff
    }

    /// The revision's change lines: the first-load line, one per
    /// organisation the load created (named in `organisations_created`, in
    /// order), the targets' and then the tasks' lines; a line saying only
    /// the metadata or the text changed when there is no other. Empty when
    /// nothing changed.
    pub fn changes(&self, organisations_created: &[String]) -> Vec<String> {
        if self.unchanged {
            return Vec::new();
        }
        let mut out: Vec<String> = self.opening.iter().cloned().collect();
        out.extend(
            organisations_created
                .iter()
                .map(|name| format!("新建单位 (organisation created): {name}")),
        );
        out.extend(self.lines.iter().cloned());
        if out.is_empty() {
            out.push("计划元数据或原文变更 (campaign metadata or plan text changed)".into());
        }
        out
    }
}

/// Compare one target or task with its stored version (taken out of
/// `old`): the entry, and its line unless it is the same. `what` names the
/// kind (Chinese, English); `label` is what an added one's line shows. A
/// re-activated one's line lists no field: only its active flag differs.
fn compare(
    old: &mut BTreeMap<String, StoredItem>,
    key: &str,
    content: &Value,
    (what, what_en): (&str, &str),
    label: &str,
) -> (Entry, Option<String>) {
    let text = content.to_string();
    let (change, line) = match old.remove(key) {
        None => (
            Change::Added,
            Some(format!("新增{what} ({what_en} added) {key}: {label}")),
        ),
        Some(prev) if prev.content == text && prev.active => (Change::Same, None),
        Some(prev) => {
            let change = if prev.content == text {
                Change::Reactivated
            } else {
                Change::Changed
            };
            let prev: Value = serde_json::from_str(&prev.content).unwrap_or(Value::Null);
            let line = format!(
                "修改{what} ({what_en} changed) {key}: {}",
                changed_fields(&prev, content).join(", ")
            );
            (change, Some(line))
        }
    };
    let entry = Entry {
        key: key.to_owned(),
        content: text,
        change,
    };
    (entry, line)
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A target's normalised content: what a load compares and stores.
pub fn target_content(t: &Target) -> Value {
    let mut content = json!({
        "plan": t.plan, "indicator": t.indicator, "scope": t.scope.to_string(),
        "comparator": t.comparator.as_str(), "value": t.value.map(|v| v.to_string()),
        "value_text": t.value_text, "baseline": t.baseline, "unit": t.unit,
        "period": t.period, "measured": t.measured.to_string(), "as_written": t.as_written,
    });
    // Only when set: a plan without it compares equal to what an earlier
    // release stored, so reloading it makes no revision.
    if let Some(task) = &t.task {
        content["task"] = json!(task);
    }
    content
}

/// A task's normalised content: what a load compares and stores.
pub fn task_content(t: &Task) -> Value {
    json!({
        "plan": t.plan, "group": t.group, "chapter": t.chapter, "number": t.number,
        "kind": t.kind.as_str(), "title": t.title, "summary": t.summary,
        "lead": t.lead, "cooperating": t.cooperating, "townships": t.townships,
        // `recurring` only when true, as `report` below.
        "milestones": t.milestones.iter().map(|m| {
            let mut v = json!({
                "date": m.date.to_string(), "what": m.what, "as_written": m.as_written});
            if m.recurring {
                v["recurring"] = json!(true);
            }
            v
        }).collect::<Vec<_>>(),
        // `report` only when false: the content of a task whose figures are
        // all reported reads as it did before the field existed.
        "indicators": t.indicators.iter().map(|i| {
            let mut v = json!({
                "name": i.name, "comparator": i.comparator.as_str(),
                "value": i.value.to_string(), "unit": i.unit});
            if !i.report {
                v["report"] = json!(false);
            }
            v
        }).collect::<Vec<_>>(),
        "limit_sets": t.limit_sets,
    })
}

/// Names of the top-level fields that differ between two JSON objects
/// (`*` when either is not an object).
pub fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (old.as_object(), new.as_object()) else {
        return vec!["*".into()];
    };
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| k.to_string())
        .collect()
}

/// Assignments of a task: one per responsible organisation (lead,
/// cooperating or township), an organisation named twice counted once.
pub fn assignment_count(t: &Task) -> usize {
    let mut s: BTreeSet<&String> = t.lead.iter().collect();
    s.extend(t.cooperating.iter());
    s.extend(t.townships.iter());
    s.len()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use super::*;
    use crate::{Comparator, Measure, Milestone, OrgKind, Organisation, PlanFile, Scope, TaskKind};

    fn target(key: &str, value: i64) -> Target {
        Target {
            key: key.into(),
            plan: "air".into(),
            indicator: "PM2.5 年均浓度".into(),
            scope: Scope::District,
            comparator: Comparator::Le,
            value: Some(Decimal::from(value)),
            value_text: None,
            baseline: None,
            unit: "µg/m³".into(),
            period: "2020".into(),
            measured: Measure::Reported,
            task: None,
            as_written: None,
        }
    }

    fn task(key: &str, title: &str) -> Task {
        Task {
            key: key.into(),
            plan: "air".into(),
            group: None,
            chapter: Some("一".into()),
            number: key.rsplit('-').next().unwrap_or(key).into(),
            kind: TaskKind::Task,
            title: title.into(),
            summary: String::new(),
            lead: vec!["生态环境分局".into()],
            lead_inferred: false,
            cooperating: vec!["住建局".into(), "生态环境分局".into()],
            townships: vec!["王凤楼镇".into()],
            milestones: vec![Milestone {
                date: NaiveDate::from_ymd_opt(2020, 4, 30).unwrap(),
                what: "完成".into(),
                as_written: None,
                recurring: false,
            }],
            indicators: Vec::new(),
            limit_sets: Vec::new(),
            parts: Vec::new(),
        }
    }

    fn plan() -> Campaign {
        let org = |key: &str, name: &str, kind| Organisation {
            key: key.into(),
            name: name.into(),
            kind,
            full_name: None,
            aliases: Vec::new(),
        };
        Campaign {
            key: "pingyuan-2020".into(),
            name: "平原示范区 2020 年污染防治攻坚战实施方案".into(),
            district: "平原示范区".into(),
            year: 2020,
            document: None,
            issued: None,
            issuer: None,
            organisations: vec![
                org("environment", "生态环境分局", OrgKind::Department),
                org("housing", "住建局", OrgKind::Department),
                org("wangfenglou", "王凤楼镇", OrgKind::Township),
            ],
            plans: Vec::new(),
            targets: vec![target("air-pm25", 52), target("air-good-days", 250)],
            tasks: vec![task("air-1", "调整产业结构"), task("air-2", "治理扬尘")],
            sections: Vec::new(),
            limit_sets: Vec::new(),
            assessment: None,
            controls: Vec::new(),
            sources: vec![PlanFile {
                name: "plan.toml".into(),
                text: "[campaign]\nkey = \"pingyuan-2020\"\n".into(),
            }],
        }
    }

    /// What storage holds after `plan` was loaded.
    fn stored_after(plan: &Campaign) -> Stored {
        let diff = PlanDiff::of(plan, &Stored::default());
        let items = |entries: &[Entry]| {
            entries
                .iter()
                .map(|e| {
                    let item = StoredItem {
                        content: e.content.clone(),
                        active: true,
                    };
                    (e.key.clone(), item)
                })
                .collect()
        };
        Stored {
            last_digest: Some(diff.digest.clone()),
            targets: items(&diff.targets),
            tasks: items(&diff.tasks),
        }
    }

    fn changes(entries: &[Entry]) -> Vec<(&str, Change)> {
        entries.iter().map(|e| (e.key.as_str(), e.change)).collect()
    }

    #[test]
    fn first_load_writes_everything() {
        let p = plan();
        let d = PlanDiff::of(&p, &Stored::default());
        assert!(!d.unchanged);
        assert!(d.first_load);
        assert_eq!(
            d.changes(&[]),
            vec!["首次载入 (first load): 2 个任务, 2 个目标"]
        );
        assert_eq!(
            d.changes(&["住建局".into()]),
            vec![
                "首次载入 (first load): 2 个任务, 2 个目标",
                "新建单位 (organisation created): 住建局",
            ]
        );
        assert_eq!(
            changes(&d.targets),
            vec![
                ("air-pm25", Change::Added),
                ("air-good-days", Change::Added)
            ]
        );
        assert_eq!(
            changes(&d.tasks),
            vec![("air-1", Change::Added), ("air-2", Change::Added)]
        );
        assert!(d.deactivate_targets.is_empty() && d.deactivate_tasks.is_empty());
        // 生态环境分局 leads and cooperates: one assignment.
        assert_eq!(assignment_count(&p.tasks[0]), 3);
        assert_eq!(d.assignments, 6);
        assert_eq!(d.digest, sha256_hex(&d.snapshot));
        assert_eq!(d.sources_digest, sha256_hex(&d.sources));
        assert_eq!(
            d.targets[0].content,
            target_content(&p.targets[0]).to_string()
        );
        assert_eq!(d.tasks[1].content, task_content(&p.tasks[1]).to_string());
    }

    #[test]
    fn unchanged_reload_writes_nothing() {
        let p = plan();
        let stored = stored_after(&p);
        let d = PlanDiff::of(&p, &stored);
        assert!(d.unchanged);
        assert!(!d.first_load);
        assert_eq!(d.digest, stored.last_digest.clone().unwrap());
        assert!(d.changes(&[]).is_empty());
        assert!(d.targets.iter().chain(&d.tasks).all(|e| !e.change.writes()));
        assert!(d.deactivate_targets.is_empty() && d.deactivate_tasks.is_empty());
        assert_eq!(d.assignments, 6);
    }

    #[test]
    fn a_changed_target_lists_its_fields() {
        let p = plan();
        let stored = stored_after(&p);
        let mut q = p.clone();
        q.targets[0].value = Some(Decimal::from(50));
        q.targets[0].unit = "微克/立方米".into();
        let d = PlanDiff::of(&q, &stored);
        assert!(!d.unchanged);
        assert_eq!(
            d.changes(&[]),
            vec!["修改目标 (target changed) air-pm25: unit, value"]
        );
        assert_eq!(
            changes(&d.targets),
            vec![
                ("air-pm25", Change::Changed),
                ("air-good-days", Change::Same)
            ]
        );
        assert!(d.tasks.iter().all(|e| e.change == Change::Same));
    }

    #[test]
    fn an_added_task_is_written() {
        let p = plan();
        let stored = stored_after(&p);
        let mut q = p.clone();
        q.tasks.push(task("air-3", "整治散乱污企业"));
        let d = PlanDiff::of(&q, &stored);
        assert_eq!(
            d.changes(&[]),
            vec!["新增任务 (task added) air-3: 整治散乱污企业"]
        );
        assert_eq!(
            changes(&d.tasks),
            vec![
                ("air-1", Change::Same),
                ("air-2", Change::Same),
                ("air-3", Change::Added)
            ]
        );
        assert_eq!(d.assignments, 9);
    }

    #[test]
    fn a_removed_task_is_deactivated() {
        let p = plan();
        let stored = stored_after(&p);
        let mut q = p.clone();
        q.tasks.remove(0);
        q.targets.remove(1);
        let d = PlanDiff::of(&q, &stored);
        assert_eq!(
            d.changes(&["住建局".into()]),
            vec![
                "新建单位 (organisation created): 住建局",
                "删除目标 (target removed) air-good-days",
                "删除任务 (task removed) air-1",
            ]
        );
        assert_eq!(d.deactivate_tasks, vec!["air-1"]);
        assert_eq!(d.deactivate_targets, vec!["air-good-days"]);
        assert_eq!(changes(&d.tasks), vec![("air-2", Change::Same)]);

        // Removed once, it is not removed again.
        let mut stored = stored;
        stored.last_digest = Some(d.digest.clone());
        stored.tasks.get_mut("air-1").unwrap().active = false;
        stored.targets.get_mut("air-good-days").unwrap().active = false;
        let mut r = q.clone();
        r.name.push_str("（修订）");
        let d = PlanDiff::of(&r, &stored);
        assert!(d.deactivate_tasks.is_empty() && d.deactivate_targets.is_empty());
        assert_eq!(
            d.changes(&[]),
            vec!["计划元数据或原文变更 (campaign metadata or plan text changed)"]
        );
    }

    #[test]
    fn a_task_back_in_the_plan_is_reactivated() {
        let p = plan();
        let mut stored = stored_after(&p);
        stored.last_digest = Some("an earlier revision".into());
        stored.tasks.get_mut("air-2").unwrap().active = false;
        let d = PlanDiff::of(&p, &stored);
        assert_eq!(
            changes(&d.tasks),
            vec![("air-1", Change::Same), ("air-2", Change::Reactivated)]
        );
        assert!(d.tasks[1].change.writes());
        // Only the active flag differs: no field is listed.
        assert_eq!(d.changes(&[]), vec!["修改任务 (task changed) air-2: "]);
        assert!(d.deactivate_tasks.is_empty());
    }

    #[test]
    fn the_plan_text_alone_changes_the_digest() {
        let p = plan();
        let stored = stored_after(&p);
        let mut q = p.clone();
        q.sources[0].text.push_str("# 注释\n");
        let d = PlanDiff::of(&q, &stored);
        assert!(!d.unchanged);
        assert_ne!(Some(&d.digest), stored.last_digest.as_ref());
        assert_ne!(d.sources_digest, PlanDiff::of(&p, &stored).sources_digest);
        assert!(d.targets.iter().chain(&d.tasks).all(|e| !e.change.writes()));
        assert_eq!(
            d.changes(&[]),
            vec!["计划元数据或原文变更 (campaign metadata or plan text changed)"]
        );
    }
}
