//! Parser and validator tests on small fixtures: good input normalises as
//! documented; each kind of bad input is reported with file, line and reason.

use gongjian_campaign::{
    Comparator, Measure, Scope, Source, Statistic, TaskKind, WaterClass, parse,
};
use rust_decimal::Decimal;

const CAMPAIGN: &str = r#"
[campaign]
key = "test-2020"
name = "测试区 2020 年攻坚战"
district = "测试区"
year = 2020
issued = "2020-06-24"
issuer = "攻坚办"
plans = ["air", "water"]

[[organisation]]
key = "office"
name = "区环境攻坚办"
kind = "office"
aliases = ["攻坚办"]

[[organisation]]
key = "enforcement"
name = "区行政综合执法局"
kind = "department"
aliases = ["行政综合执法局", "行政执法局"]

[[organisation]]
key = "finance"
name = "区财政局"
kind = "department"
aliases = ["财政局"]

[[organisation]]
key = "power"
name = "电力公司"
kind = "outside"

[[organisation]]
key = "yuanwu"
name = "原武镇"
kind = "township"

[[organisation]]
key = "longyuan"
name = "龙源街道办事处"
kind = "township"
aliases = ["龙源办事处"]
"#;

const AIR: &str = r#"
[plan]
id = "air"
title = "大气"
numbering = "plan"
default_townships = ["原武镇", "龙源办事处"]

[[group]]
id = "一"
title = "产业结构"

[[group]]
id = "四(四)"
title = "强化执法监管"
kind = "duty"

[[target]]
key = "air-pm25"
indicator = "PM2.5 年均浓度"
scope = "district"
comparator = "<="
value = 62
unit = "µg/m³"
period = "2020"
measured = "data"
statistic = "annual-mean:PM2.5"

[[task]]
number = 1
chapter = "一"
title = "着力调整产业布局"
summary = "排查建立淘汰类工业产能和装备清单台账"
lead = ["行政执法局"]
cooperating = ["财政局", "电力公司"]
milestones = [
  { date = "2020-04-30", what = "建立台账", as_written = "2020 年 4 月底前" },
  { date = "2020-12-31", what = "关停淘汰完毕" },
]
indicators = [
  { name = "绿地率", comparator = ">=", value = "36.5", unit = "%" },
]

[[task]]
number = 2
chapter = "一"
title = "两段任务"
summary = "两段，各有牵头"
townships = ["原武镇"]
limit_sets = ["test-gas"]
[[task.parts]]
title = "第一段"
lead = ["区财政局"]
cooperating = ["行政综合执法局"]
[[task.parts]]
title = "第二段"
lead = ["区行政综合执法局"]
cooperating = ["电力公司"]

[[task]]
number = 1
group = "四(四)"
title = "专项执法检查"
summary = "区行政综合执法局负责专项执法检查"
lead = ["区行政综合执法局"]

[[limit_set]]
name = "test-gas"
title = "燃气锅炉"
task = "air-2"
reference_o2 = "3.5"
deadline = "2020-09-30"
applies_to = "燃气锅炉"
limits = [
  { pollutant = "烟尘", code = "a34013", value = 5 },
  { pollutant = "氮氧化物", code = "a21002", value = 30 },
]
"#;

const WATER: &str = r#"
[plan]
id = "water"
title = "水"
numbering = "group"

[[group]]
id = "一"
title = "全面清河"

[[group]]
id = "二"
title = "控源截污"

[[section]]
number = 1
township = "测试区"
river = "天然渠"
section = "韩董庄"
basin = "黄河流域"
target_class = "Ⅲ类"

[[target]]
key = "water-hdz"
indicator = "天然渠水质类别"
scope = "section:韩董庄"
comparator = "<="
value = 3
unit = "类"
period = "2020-12"
measured = "data"
statistic = "section-class"

[[task]]
number = 1
group = "一"
title = "全面落实河长制"
summary = "河长巡河"
lead = ["财政局"]

[[task]]
number = 1
group = "二"
title = "推进污水处理厂"
summary = "污水处理率要达到93%以上"
lead = ["行政执法局"]
milestones = [{ date = "2020-12-31", what = "污水处理率达到 93%" }]
indicators = [{ name = "污水处理率", comparator = "≥", value = "93", unit = "%" }]
"#;

fn good() -> Vec<(&'static str, String)> {
    vec![
        ("plan.toml", CAMPAIGN.to_owned()),
        ("air.toml", AIR.to_owned()),
        ("water.toml", WATER.to_owned()),
    ]
}

fn run(
    files: &[(&'static str, String)],
) -> Result<gongjian_campaign::Campaign, gongjian_campaign::PlanError> {
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(n, t)| Source { name: n, text: t })
        .collect();
    parse(&sources)
}

/// Replaces `from` (which must occur exactly once) in one file.
fn edit(file: &str, from: &str, to: &str) -> Vec<(&'static str, String)> {
    let mut files = good();
    let f = files.iter_mut().find(|(n, _)| *n == file).unwrap();
    assert_eq!(
        f.1.matches(from).count(),
        1,
        "fixture edit must be unambiguous: {from}"
    );
    f.1 = f.1.replace(from, to);
    files
}

/// 1-based line of the first occurrence of `needle` in `file`'s edited text.
fn line_of(files: &[(&'static str, String)], file: &str, needle: &str) -> usize {
    let text = &files.iter().find(|(n, _)| *n == file).unwrap().1;
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in {file}"));
    text[..at].matches('\n').count() + 1
}

/// Expects exactly one diagnostic, in `file` on the line containing `needle`,
/// whose message contains `reason`.
fn expect_error(files: Vec<(&'static str, String)>, file: &str, needle: &str, reason: &str) {
    let err = run(&files).expect_err("the plan should be rejected");
    let line = line_of(&files, file, needle);
    assert!(
        err.diagnostics
            .iter()
            .any(|d| d.file == file && d.line == line && d.message.contains(reason)),
        "expected {file}:{line}: …{reason}…, got:\n{err}"
    );
}

#[test]
fn good_fixture_normalises() {
    let c = run(&good()).unwrap();
    assert_eq!(c.key, "test-2020");
    assert_eq!(c.issuer.as_deref(), Some("区环境攻坚办"));
    assert_eq!(
        c.plans.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["air", "water"]
    );

    let t1 = c.task("air-1").unwrap();
    assert_eq!(t1.lead, ["区行政综合执法局"]);
    assert_eq!(t1.cooperating, ["区财政局", "电力公司"]);
    // Default townships of the plan, aliases normalised.
    assert_eq!(t1.townships, ["原武镇", "龙源街道办事处"]);
    assert_eq!(t1.milestones[0].date.to_string(), "2020-04-30");
    assert_eq!(
        t1.milestones[0].as_written.as_deref(),
        Some("2020 年 4 月底前")
    );
    assert_eq!(t1.indicators[0].value, Decimal::new(365, 1));
    assert_eq!(t1.indicators[0].comparator, Comparator::Ge);
    assert_eq!(t1.group, None);
    assert_eq!(t1.chapter.as_deref(), Some("一"));

    // Parts: leads united, cooperating minus leads.
    let t2 = c.task("air-2").unwrap();
    assert_eq!(t2.lead, ["区财政局", "区行政综合执法局"]);
    assert_eq!(t2.cooperating, ["电力公司"]);
    assert_eq!(t2.townships, ["原武镇"]);
    // Indicators derived from the limit set.
    assert_eq!(t2.indicators.len(), 2);
    assert_eq!(
        t2.indicators[1].name,
        "燃气锅炉：氮氧化物（基准氧含量 3.5%）"
    );
    assert_eq!(t2.indicators[1].value, Decimal::from(30));

    let duty = c.task("air-四(四)-1").unwrap();
    assert_eq!(duty.kind, TaskKind::Duty);
    assert_eq!(duty.group.as_deref(), Some("四(四)"));

    let w = c.task("water-二-1").unwrap();
    assert_eq!(w.indicators[0].comparator, Comparator::Ge);
    assert!(w.townships.is_empty());

    let counts = c.counts();
    assert_eq!(counts[0].tasks, 2);
    assert_eq!(counts[0].duties, 1);
    assert_eq!(counts[1].tasks, 2);
    assert_eq!(
        counts[1].groups,
        [
            ("一".to_owned(), TaskKind::Task, 1),
            ("二".to_owned(), TaskKind::Task, 1)
        ]
    );

    let pm = &c.targets[0];
    assert_eq!(pm.scope, Scope::District);
    assert_eq!(
        pm.measured,
        Measure::Data {
            statistic: Statistic::AnnualMean("PM2.5".into())
        }
    );
    assert_eq!(c.sections[0].target_class, WaterClass::III);
    assert_eq!(c.sections[0].township, "测试区");
    assert_eq!(c.limit_sets[0].reference_o2, Decimal::new(35, 1));
}

#[test]
fn json_view_has_the_documented_shape() {
    let c = run(&good()).unwrap();
    let v = serde_json::to_value(c.to_json()).unwrap();
    let keys = |o: &serde_json::Value| {
        let mut k: Vec<String> = o.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&v), ["organisations", "sections", "targets", "tasks"]);
    assert_eq!(keys(&v["organisations"][0]), ["kind", "name"]);
    assert_eq!(
        keys(&v["targets"][0]),
        [
            "comparator",
            "indicator",
            "measured",
            "period",
            "plan",
            "scope",
            "unit",
            "value"
        ]
    );
    assert_eq!(
        keys(&v["tasks"][0]),
        [
            "cooperating",
            "group",
            "indicators",
            "lead",
            "milestones",
            "number",
            "plan",
            "title",
            "townships"
        ]
    );
    assert_eq!(
        keys(&v["sections"][0]),
        ["basin", "river", "section", "target_class", "township"]
    );
    assert_eq!(v["tasks"][0]["group"], serde_json::Value::Null);
    assert_eq!(v["tasks"][0]["number"], "1");
    assert_eq!(v["tasks"][0]["indicators"][0]["value"], "36.5");
    assert_eq!(v["tasks"][0]["indicators"][0]["report"], true);
    assert_eq!(v["targets"][0]["measured"], "data:annual-mean:PM2.5");
    assert_eq!(v["targets"][1]["scope"], "section:韩董庄");
    assert_eq!(v["sections"][0]["target_class"], "Ⅲ");
    assert_eq!(
        v["organisations"][0],
        serde_json::json!({"name": "区环境攻坚办", "kind": "office"})
    );
}

#[test]
fn unknown_organisation_is_reported_with_its_line() {
    let files = edit(
        "air.toml",
        r#"cooperating = ["财政局", "电力公司"]"#,
        r#"cooperating = ["财政局", "水务局"]"#,
    );
    expect_error(
        files,
        "air.toml",
        "水务局",
        "unknown organisation \"水务局\"",
    );
}

#[test]
fn unknown_organisation_in_a_part_is_reported() {
    let files = edit(
        "air.toml",
        r#"cooperating = ["电力公司"]"#,
        r#"cooperating = ["燃气公司"]"#,
    );
    expect_error(files, "air.toml", "燃气公司", "unknown organisation");
}

#[test]
fn impossible_date_is_reported() {
    let files = edit(
        "air.toml",
        r#"date = "2020-12-31""#,
        r#"date = "2020-02-30""#,
    );
    expect_error(
        files,
        "air.toml",
        "2020-02-30",
        "impossible date \"2020-02-30\"",
    );
}

#[test]
fn badly_written_date_is_reported() {
    let files = edit(
        "water.toml",
        r#"date = "2020-12-31""#,
        r#"date = "2020年底""#,
    );
    expect_error(files, "water.toml", "2020年底", "not written YYYY-MM-DD");
}

#[test]
fn duplicate_task_number_is_reported_with_the_first_place() {
    let files = edit(
        "water.toml",
        "number = 1\ngroup = \"二\"",
        "number = 1\ngroup = \"一\"",
    );
    let err = run(&files).unwrap_err();
    let first = line_of(&files, "water.toml", "number = 1\ngroup");
    let text = &files[2].1;
    let second_at = text.rfind("number = 1\ngroup").unwrap();
    let second = text[..second_at].matches('\n').count() + 1;
    let d = &err.diagnostics[0];
    assert_eq!((d.file.as_str(), d.line), ("water.toml", second), "{err}");
    assert!(
        d.message
            .contains("duplicate task number 1 in plan water group 一"),
        "{err}"
    );
    assert!(
        d.message.contains(&format!("first at water.toml:{first}")),
        "{err}"
    );
}

#[test]
fn same_number_in_different_groups_is_fine() {
    // water 一-1 and 二-1 both exist in the good fixture.
    assert!(run(&good()).is_ok());
}

#[test]
fn float_value_is_refused_as_inexact() {
    let files = edit("air.toml", r#"value = "36.5""#, "value = 36.5");
    expect_error(
        files,
        "air.toml",
        "value = 36.5",
        "write decimal values as strings",
    );
}

#[test]
fn malformed_indicator_comparator_is_reported() {
    let files = edit(
        "air.toml",
        r#"comparator = ">=", value = "36.5""#,
        r#"comparator = "at least", value = "36.5""#,
    );
    expect_error(files, "air.toml", "at least", "comparator \"at least\"");
}

#[test]
fn non_numeric_indicator_value_is_reported() {
    let files = edit("water.toml", r#"value = "93""#, r#"value = "九十三""#);
    expect_error(files, "water.toml", "九十三", "not a decimal number");
}

#[test]
fn unknown_field_is_a_toml_error_with_line() {
    let files = edit(
        "water.toml",
        "title = \"全面落实河长制\"",
        "title = \"全面落实河长制\"\nleader = [\"财政局\"]",
    );
    expect_error(files, "water.toml", "leader", "unknown field `leader`");
}

#[test]
fn toml_syntax_error_has_line() {
    let files = edit("air.toml", "number = 2\n", "number = = 2\n");
    expect_error(files, "air.toml", "number = = 2", "TOML");
}

#[test]
fn department_given_as_township_is_reported() {
    let files = edit(
        "air.toml",
        r#"townships = ["原武镇"]"#,
        r#"townships = ["财政局"]"#,
    );
    expect_error(
        files,
        "air.toml",
        r#"townships = ["财政局"]"#,
        "is a department, not a township",
    );
}

#[test]
fn alias_naming_two_organisations_is_reported() {
    let files = edit(
        "plan.toml",
        r#"aliases = ["财政局"]"#,
        r#"aliases = ["财政局", "攻坚办"]"#,
    );
    expect_error(
        files,
        "plan.toml",
        r#""财政局", "攻坚办""#,
        "already names organisation \"区环境攻坚办\"",
    );
}

#[test]
fn same_organisation_twice_after_normalisation_is_reported() {
    let files = edit(
        "air.toml",
        r#"cooperating = ["财政局", "电力公司"]"#,
        r#"cooperating = ["财政局", "区财政局"]"#,
    );
    expect_error(
        files,
        "air.toml",
        "区财政局\"]",
        "listed twice in cooperating",
    );
}

#[test]
fn lead_also_cooperating_is_reported() {
    let files = edit(
        "air.toml",
        r#"cooperating = ["财政局", "电力公司"]"#,
        r#"cooperating = ["财政局", "行政综合执法局"]"#,
    );
    expect_error(
        files,
        "air.toml",
        r#""行政综合执法局"]"#,
        "both lead and cooperating",
    );
}

#[test]
fn task_without_group_in_group_numbered_plan_is_reported() {
    let files = edit("water.toml", "number = 1\ngroup = \"二\"\n", "number = 2\n");
    expect_error(files, "water.toml", "number = 2", "needs `group`");
}

#[test]
fn unknown_group_is_reported() {
    let files = edit("water.toml", "group = \"二\"", "group = \"七\"");
    expect_error(
        files,
        "water.toml",
        "group = \"七\"",
        "unknown group \"七\"",
    );
}

#[test]
fn section_target_disagreeing_with_annex_is_reported() {
    let files = edit("water.toml", "value = 3\n", "value = 5\n");
    expect_error(
        files,
        "water.toml",
        "value = 5",
        "disagrees with the annex (Ⅲ)",
    );
}

#[test]
fn unknown_limit_set_is_reported() {
    let files = edit(
        "air.toml",
        r#"limit_sets = ["test-gas"]"#,
        r#"limit_sets = ["test-oil"]"#,
    );
    expect_error(
        files,
        "air.toml",
        "test-oil",
        "unknown limit set \"test-oil\"",
    );
}

#[test]
fn data_target_without_statistic_is_reported() {
    let files = edit("air.toml", "statistic = \"annual-mean:PM2.5\"\n", "");
    expect_error(files, "air.toml", "measured = \"data\"", "needs `statistic");
}

#[test]
fn unlisted_plan_is_reported() {
    let files = edit(
        "plan.toml",
        r#"plans = ["air", "water"]"#,
        r#"plans = ["air", "water", "soil"]"#,
    );
    expect_error(
        files,
        "plan.toml",
        "plans = ",
        "plan \"soil\" is listed in [campaign]",
    );
}

#[test]
fn missing_campaign_is_reported() {
    let mut files = good();
    files[0].1 = files[0]
        .1
        .replace("[campaign]", "[organisation_placeholder]");
    let err = run(&files).unwrap_err();
    assert!(err.to_string().contains("plan.toml"), "{err}");
}

#[test]
fn all_problems_are_collected_not_just_the_first() {
    let mut files = edit(
        "air.toml",
        r#"date = "2020-12-31""#,
        r#"date = "2020-13-01""#,
    );
    let w = files.iter_mut().find(|(n, _)| *n == "water.toml").unwrap();
    w.1 =
        w.1.replace(r#"lead = ["财政局"]"#, r#"lead = ["不存在局"]"#);
    let err = run(&files).unwrap_err();
    assert_eq!(err.diagnostics.len(), 2, "{err}");
    assert_eq!(err.diagnostics[0].file, "air.toml");
    assert_eq!(err.diagnostics[1].file, "water.toml");
}

/// Issue 12: the monthly assessment scheme and control values.
fn with_assessment(text: &str) -> Vec<(&'static str, String)> {
    let mut files = good();
    files.push(("assessment.toml", text.to_owned()));
    files
}

const ASSESSMENT: &str = r#"
[assessment]
base = 100

[[assessment.rule]]
kind = "air-rank"
points = ["3", "2", "1"]

[[assessment.rule]]
kind = "pm25-control"
points = "-0.5"

[[assessment.rule]]
kind = "overdue"
points = -2

[[control]]
township = "原武镇"
pm25 = [95, 85, 70, 60, 50, 40, 35, 35, 45, 60, 80, 95]
"#;

#[test]
fn assessment_scheme_and_controls_are_read_and_checked() {
    let c = run(&with_assessment(ASSESSMENT)).unwrap();
    let a = c.assessment.as_ref().unwrap();
    assert_eq!(a.base, Decimal::from(100));
    assert_eq!(a.rules.len(), 3);
    assert_eq!(a.rules[0].points.len(), 3);
    assert_eq!(a.rules[2].applies, gongjian_campaign::Applies::All);
    assert_eq!(c.controls[0].township, "原武镇");
    assert_eq!(c.controls[0].pm25[6], Decimal::from(35));

    let bad = |from: &str, to: &str, needle: &str, reason: &str| {
        let text = ASSESSMENT.replacen(from, to, 1);
        expect_error(with_assessment(&text), "assessment.toml", needle, reason);
    };
    bad(
        "kind = \"overdue\"",
        "kind = \"late\"",
        "kind = \"late\"",
        "unknown assessment rule",
    );
    bad(
        "points = [\"3\", \"2\", \"1\"]",
        "points = \"3\"",
        "points = \"3\"",
        "list of points by rank",
    );
    bad(
        "points = \"-0.5\"",
        "points = [\"-0.5\"]",
        "points = [\"-0.5\"]",
        "one figure per occurrence",
    );
    bad(
        "points = -2",
        "points = -2.5",
        "points = -2.5",
        "TOML float",
    );
    bad(
        "45, 60, 80, 95]",
        "45, 60, 80]",
        "pm25 =",
        "12 monthly values",
    );
    bad(
        "township = \"原武镇\"",
        "township = \"区财政局\"",
        "township = \"区财政局\"",
        "not a township",
    );
    bad(
        "kind = \"air-rank\"",
        "kind = \"air-rank\"\napplies = \"departments\"",
        "applies = \"departments\"",
        "territory",
    );
}

/// Issue 13 item 11: `report = false` marks a figure of the plan that is
/// not a progress measure; indicators are reported by default; the limits
/// a task takes from a limit set are never reported; an indicator that
/// measures a reported target cannot be marked.
#[test]
fn indicators_say_whether_they_are_reported() {
    let files = edit(
        "air.toml",
        r#"  { name = "绿地率", comparator = ">=", value = "36.5", unit = "%" },"#,
        r#"  { name = "绿地率", comparator = ">=", value = "36.5", unit = "%" },
  { name = "秸秆焚烧扣减地方财力", comparator = "=", value = 500000, unit = "元/火点", report = false },"#,
    );
    let c = run(&files).unwrap();
    let task = |key: &str| c.tasks.iter().find(|t| t.key == key).unwrap();
    let reported: Vec<(&str, bool)> = task("air-1")
        .indicators
        .iter()
        .map(|i| (i.name.as_str(), i.report))
        .collect();
    assert_eq!(
        reported,
        [("绿地率", true), ("秸秆焚烧扣减地方财力", false)]
    );
    assert!(!task("air-2").indicators.is_empty());
    assert!(task("air-2").indicators.iter().all(|i| !i.report));
    let v = serde_json::to_value(c.to_json()).unwrap();
    assert_eq!(v["tasks"][0]["indicators"][1]["report"], false);

    // A reported target measured by an indicator marked not reported.
    let mut files = edit(
        "water.toml",
        r#"indicators = [{ name = "污水处理率", comparator = "≥", value = "93", unit = "%" }]"#,
        r#"indicators = [{ name = "污水处理率", comparator = "≥", value = "93", unit = "%", report = false }]"#,
    );
    let water = files.iter_mut().find(|(n, _)| *n == "water.toml").unwrap();
    water.1.push_str(
        r#"
[[target]]
key = "water-sewage"
indicator = "污水处理率"
scope = "district"
comparator = ">="
value = 93
unit = "%"
period = "2020"
measured = "reported"
"#,
    );
    expect_error(files, "water.toml", "report = false", "water-sewage");
}

/// Issue 12: `plan check` refuses a milestone outside the campaign's year
/// (a copied plan whose dates were not moved) unless the plan marks it.
#[test]
fn a_milestone_outside_the_year_is_refused_unless_marked() {
    let files = edit(
        "air.toml",
        r#"{ date = "2020-12-31", what = "关停淘汰完毕" }"#,
        r#"{ date = "2021-03-31", what = "关停淘汰完毕" }"#,
    );
    expect_error(
        files,
        "air.toml",
        "2021-03-31",
        "outside the campaign year 2020",
    );
    let marked = edit(
        "air.toml",
        r#"{ date = "2020-12-31", what = "关停淘汰完毕" }"#,
        r#"{ date = "2021-03-31", what = "关停淘汰完毕", outside_year = true }"#,
    );
    assert!(run(&marked).is_ok());
}

/// Issue 12: `plan check` refuses a target that nothing can measure — a
/// reported target whose indicator no task reports.
#[test]
fn a_reported_target_that_no_task_reports_is_refused() {
    let with_target = |file: &str, indicator: &str| {
        let mut files = good();
        let f = files.iter_mut().find(|(n, _)| *n == file).unwrap();
        f.1.push_str(&format!(
            r#"
[[target]]
key = "sewage-rate"
indicator = "{indicator}"
scope = "district"
comparator = ">="
value = 93
unit = "%"
period = "2020"
measured = "reported"
"#
        ));
        files
    };
    // Water 二-1 reports 污水处理率: the target is measured, from its own
    // plan or from another one.
    assert!(run(&with_target("water.toml", "污水处理率")).is_ok());
    assert!(run(&with_target("air.toml", "污水处理率")).is_ok());

    // No task carries the name.
    expect_error(
        with_target("water.toml", "城镇污水处理率"),
        "water.toml",
        "城镇污水处理率",
        "reported target sewage-rate is measured by indicator \"城镇污水处理率\", but no task reports it",
    );
    // The limits a task takes from a limit set are never reported.
    expect_error(
        with_target("air.toml", "燃气锅炉：烟尘（基准氧含量 3.5%）"),
        "air.toml",
        "indicator = \"燃气锅炉",
        "but no task reports it",
    );
    // One marked `report = false` is refused once, at the indicator.
    let mut files = with_target("water.toml", "污水处理率");
    let water = files.iter_mut().find(|(n, _)| *n == "water.toml").unwrap();
    water.1 = water.1.replace(
        r#"value = "93", unit = "%" }]"#,
        r#"value = "93", unit = "%", report = false }]"#,
    );
    let err = run(&files).unwrap_err();
    assert_eq!(err.diagnostics.len(), 1, "{err}");
    assert!(
        err.diagnostics[0]
            .message
            .contains("remove `report = false`"),
        "{err}"
    );
}

/// Issue 12: a reported target may name the task whose indicator measures
/// it (`task`); the task must exist and report an indicator of that name,
/// and a target measured from data names none.
#[test]
fn a_target_names_the_task_that_measures_it() {
    let with_target = |indicator: &str, measured: &str, task: &str| {
        let mut files = good();
        let f = files.iter_mut().find(|(n, _)| *n == "water.toml").unwrap();
        let statistic = if measured == "data" {
            "statistic = \"good-days\"\n"
        } else {
            ""
        };
        f.1.push_str(&format!(
            r#"
[[target]]
key = "sewage-rate"
indicator = "{indicator}"
scope = "district"
comparator = ">="
value = 93
unit = "%"
period = "2020"
measured = "{measured}"
{statistic}task = "{task}"
"#
        ));
        files
    };
    // Water 二-1 reports 污水处理率.
    assert!(run(&with_target("污水处理率", "reported", "water-二-1")).is_ok());
    expect_error(
        with_target("污水处理率", "reported", "water-二-9"),
        "water.toml",
        "task = \"water-二-9\"",
        "names task \"water-二-9\", which is not in the campaign",
    );
    expect_error(
        with_target("污水处理率", "reported", "water-一-1"),
        "water.toml",
        "task = \"water-一-1\"",
        "is measured by indicator \"污水处理率\" of task water-一-1, but that task does not report it",
    );
    expect_error(
        with_target("优良天数", "data", "water-二-1"),
        "water.toml",
        "task = \"water-二-1\"",
        "only a reported target names a `task`",
    );
}

/// Issue 12: `baseline = { year, value }` states the baseline year's figure.
#[test]
fn stated_baseline_is_read_and_a_bad_one_reported() {
    let files = edit(
        "air.toml",
        "value = 62\n",
        "baseline = { year = 2019, value = \"70.5\" }\n",
    );
    let c = run(&files).unwrap();
    let b = c.targets[0].baseline.clone().unwrap();
    assert_eq!(b.year, 2019);
    assert_eq!(b.value, Some(rust_decimal::Decimal::new(705, 1)));
    assert_eq!(c.targets[0].threshold(), b.value);

    let files = edit("air.toml", "value = 62\n", "baseline = \"2019\"\n");
    let c = run(&files).unwrap();
    assert_eq!(c.targets[0].baseline.as_ref().unwrap().value, None);

    let files = edit("air.toml", "value = 62\n", "baseline = \"2020\"\n");
    expect_error(
        files,
        "air.toml",
        "baseline = ",
        "not before the campaign's year 2020",
    );
    let files = edit(
        "air.toml",
        "value = 62\n",
        "baseline = { year = 2019, value = 70.5 }\n",
    );
    expect_error(files, "air.toml", "baseline = ", "TOML float");
    let files = edit("air.toml", "value = 62\n", "baseline = \"去年\"\n");
    expect_error(files, "air.toml", "baseline = ", "four-digit year");

    // Heavy-pollution days: whole days, and a measured baseline only of
    // the year before (the data kept at hand).
    let heavy = |baseline: &str| {
        let files = edit("air.toml", "value = 62\n", baseline);
        files
            .into_iter()
            .map(|(n, t)| {
                (
                    n,
                    t.replace("annual-mean:PM2.5", "heavy-pollution-days")
                        .replace(
                            "comparator = \"<=\"\nbaseline",
                            "comparator = \"<\"\nbaseline",
                        ),
                )
            })
            .collect::<Vec<_>>()
    };
    assert!(run(&heavy("baseline = { year = 2019, value = 7 }\n")).is_ok());
    assert!(run(&heavy("baseline = \"2019\"\n")).is_ok());
    expect_error(
        heavy("baseline = \"2018\"\n"),
        "air.toml",
        "baseline = ",
        "only the year before the campaign (2019)",
    );
    assert!(run(&heavy("baseline = { year = 2018, value = 7 }\n")).is_ok());
    expect_error(
        heavy("baseline = { year = 2019, value = \"7.5\" }\n"),
        "air.toml",
        "baseline = ",
        "whole number of days",
    );
}
