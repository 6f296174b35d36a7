//! Black-box tests of `gongjian plan check` and `gongjian plan show --json`
//! on the repository's plan, `plans/pingyuan-2020`, spot-checked against the
//! seed text (平原示范区 2020 年大气、水、土壤污染防治攻坚战实施方案), and on
//! broken copies of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn plan_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans/pingyuan-2020")
}

fn gongjian(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .args(args)
        .output()
        .expect("run gongjian")
}

fn show_json() -> Value {
    let dir = plan_dir();
    let out = gongjian(&["plan", "show", dir.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "plan show failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn task<'a>(plan: &'a Value, p: &str, group: Option<&str>, number: &str) -> &'a Value {
    let found: Vec<&Value> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["plan"] == p && t["group"].as_str() == group && t["number"] == number)
        .collect();
    assert_eq!(found.len(), 1, "task {p} {group:?} {number}");
    found[0]
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

fn dates(t: &Value) -> Vec<&str> {
    t["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["date"].as_str().unwrap())
        .collect()
}

/// The indicator whose name contains `name`: (comparator, value, unit).
fn indicator<'a>(t: &'a Value, name: &str) -> (&'a str, &'a str, &'a str) {
    let found: Vec<&Value> = t["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["name"].as_str().unwrap().contains(name))
        .collect();
    assert_eq!(found.len(), 1, "indicator {name} in {}", t["title"]);
    let i = found[0];
    (
        i["comparator"].as_str().unwrap(),
        i["value"].as_str().unwrap(),
        i["unit"].as_str().unwrap(),
    )
}

const ALL_TOWNSHIPS: [&str; 4] = ["原武镇", "师寨镇", "祝楼乡", "龙源街道办事处"];

#[test]
fn check_prints_46_27_24_and_the_targets() {
    let dir = plan_dir();
    let out = gongjian(&["plan", "check", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("tasks: air 46, water 27, soil 24"),
        "{stdout}"
    );
    // Every 四、工作要求 paragraph is a duty group (issue 12 item 7).
    assert!(stdout.contains("air: 46 tasks + 14 duties"), "{stdout}");
    assert!(stdout.contains("water: 27 tasks + 3 duties"), "{stdout}");
    assert!(stdout.contains("soil: 24 tasks + 5 duties"), "{stdout}");
    // Per group.
    for line in [
        "一 持续调整优化产业结构: 6 tasks",
        "十 提升监测监控能力: 7 tasks",
        "四(四) 强化执法监管（四、工作要求）: 9 duties",
        "四(二) 严格考核奖惩（四、工作要求）: 1 duty",
        "四(三) 落实体制机制（四、工作要求）: 1 duty",
        "二 加快实施控源截污: 6 tasks",
        "六 统筹其它水污染防治工作: 8 tasks",
        "四 加强土壤污染源头治理: 7 tasks",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
    // Targets.
    assert!(stdout.contains("targets: 21"), "{stdout}");
    assert!(stdout.contains("PM2.5 年均浓度 <= 62 µg/m³"), "{stdout}");
    assert!(stdout.contains("PM10 年均浓度 <= 103 µg/m³"), "{stdout}");
    assert!(stdout.contains("优良天数 >= 226 天"), "{stdout}");
    assert!(stdout.contains("sections: 7"), "{stdout}");
}

#[test]
fn json_has_all_tasks_and_the_documented_shape() {
    let v = show_json();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["organisations", "sections", "targets", "tasks"]);
    let tasks = v["tasks"].as_array().unwrap();
    let count = |p: &str, numbered: bool| {
        tasks
            .iter()
            .filter(|t| t["plan"] == p)
            .filter(|t| numbered != t["group"].as_str().is_some_and(|g| g.starts_with("四(")))
            .count()
    };
    assert_eq!(count("air", true), 46);
    assert_eq!(count("air", false), 14);
    assert_eq!(count("water", true), 27);
    assert_eq!(count("water", false), 3);
    assert_eq!(count("soil", true), 24);
    assert_eq!(count("soil", false), 5);
    // Air's numbered tasks have no group; 1..46 each once.
    let mut air: Vec<u32> = tasks
        .iter()
        .filter(|t| t["plan"] == "air" && t["group"].is_null())
        .map(|t| t["number"].as_str().unwrap().parse().unwrap())
        .collect();
    air.sort();
    assert_eq!(air, (1..=46).collect::<Vec<_>>());
    // Water groups 一..六 hold 2, 6, 5, 3, 3, 8 tasks; soil 3, 3, 6, 7, 2, 3.
    for (plan, sizes) in [("water", [2, 6, 5, 3, 3, 8]), ("soil", [3, 3, 6, 7, 2, 3])] {
        for (g, n) in ["一", "二", "三", "四", "五", "六"].iter().zip(sizes) {
            let in_group = tasks
                .iter()
                .filter(|t| t["plan"] == plan && t["group"] == *g)
                .count();
            assert_eq!(in_group, n, "{plan} group {g}");
        }
    }
}

#[test]
fn names_are_normalised_to_one_spelling() {
    let v = show_json();
    let orgs: Vec<&str> = v["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for t in v["tasks"].as_array().unwrap() {
        for field in ["lead", "cooperating", "townships"] {
            for n in names(&t[field]) {
                assert!(
                    orgs.contains(&n),
                    "{n} ({}) is not an organisation",
                    t["title"]
                );
            }
        }
    }
    // Spellings the seed uses that must not survive normalisation.
    let text = serde_json::to_string(&v["tasks"]).unwrap();
    for alias in [
        "\"行政综合执法局\"",
        "\"行政执法局\"",
        "\"国土规划局\"",
        "\"规划国土建设局\"",
        "\"发展改革委\"",
        "\"公安分局\"",
        "\"平原公安分局\"",
        "\"市场监督管理局\"",
        "\"电力部门\"",
        "\"龙源办事处\"",
        "\"科技局\"",
    ] {
        assert!(!text.contains(alias), "alias {alias} left in tasks");
    }
    let kind = |n: &str| {
        v["organisations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == n)
            .map(|o| o["kind"].as_str().unwrap().to_owned())
    };
    assert_eq!(kind("区环境攻坚办").as_deref(), Some("office"));
    assert_eq!(kind("区行政综合执法局").as_deref(), Some("department"));
    assert_eq!(kind("原武镇").as_deref(), Some("township"));
    assert_eq!(kind("电力公司").as_deref(), Some("external"));
    assert_eq!(kind("投资集团").as_deref(), Some("external"));
}

// ---- spot checks against the seed text: air -----------------------------

#[test]
fn air_tasks_match_the_seed() {
    let v = show_json();

    // 1. "区科技与工信局牵头，行政综合执法局、财政局、发展改革局、规划国土局…负责落实";
    //    "2020 年 4 月底前排查建立…台账，年底前关停淘汰完毕".
    let t = task(&v, "air", None, "1");
    assert_eq!(t["title"], "着力调整产业布局");
    assert_eq!(names(&t["lead"]), ["区科技与工信局"]);
    assert_eq!(
        names(&t["cooperating"]),
        [
            "区行政综合执法局",
            "区财政局",
            "区发展改革局",
            "区规划国土管理局"
        ]
    );
    assert_eq!(names(&t["townships"]), ALL_TOWNSHIPS);
    assert_eq!(dates(t), ["2020-04-30", "2020-12-31"]);

    // 2. "2020 年底前完成…关闭退出企业 1 家".
    // "区科技与工信局每月对进展情况进行调度": a month-end duty besides.
    let t = task(&v, "air", None, "2");
    assert_eq!(indicator(t, "关闭退出"), (">=", "1", "家"));
    let all = dates(t);
    assert_eq!(all[0], "2020-12-31");
    assert_eq!(all.len(), 13);
    assert_eq!(all[2], "2020-02-29", "month end of a leap February");
    let recurring = t["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["recurring"] == true)
        .count();
    assert_eq!(recurring, 12);

    // 4. "2020年4月底前…制定…综合整治方案"; "2020年11月底前未按照方案要求完成整改的…".
    let t = task(&v, "air", None, "4");
    assert_eq!(dates(t), ["2020-04-30", "2020-11-30"]);
    assert_eq!(
        names(&t["cooperating"]),
        ["区发展改革局", "区行政综合执法局"]
    );

    // 9. "区发展改革局牵头，财政局、…公安局平原分局、电力公司配合"; 采暖季前.
    let t = task(&v, "air", None, "9");
    assert_eq!(names(&t["lead"]), ["区发展改革局"]);
    let coop = names(&t["cooperating"]);
    assert_eq!(coop.len(), 8);
    assert!(
        coop.contains(&"公安局平原分局")
            && coop.contains(&"电力公司")
            && coop.contains(&"区市场监管局")
    );

    // 13. "公共充电桩与电动汽车比例不低于 1: 8，…服务半径小于 1 公里".
    let t = task(&v, "air", None, "13");
    assert_eq!(names(&t["lead"]), ["区发展改革局", "区科技与工信局"]);
    assert_eq!(
        indicator(t, "公共充电桩与电动汽车比例"),
        (">=", "0.125", "桩/辆")
    );
    assert_eq!(indicator(t, "服务半径"), ("<", "1", "公里"));
    assert_eq!(dates(t), ["2020-12-31"]);

    // 14. Two responsibility lines; "城市建成区绿地率达36.5%".
    let t = task(&v, "air", None, "14");
    assert_eq!(names(&t["lead"]), ["区规划国土管理局", "区城乡建设管理局"]);
    assert_eq!(
        names(&t["cooperating"]),
        [
            "区农业农村局",
            "区交通运输局",
            "区行政综合执法局",
            "区科技与工信局"
        ]
    );
    assert_eq!(indicator(t, "绿地率"), (">=", "36.5", "%"));

    // 15. "秸秆综合利用率平均达到89%以上"; "50万元/火点"; "10万元/火点".
    let t = task(&v, "air", None, "15");
    assert_eq!(names(&t["lead"]), ["区农业农村局"]);
    assert_eq!(names(&t["cooperating"]), ["区行政综合执法局", "区财政局"]);
    assert_eq!(indicator(t, "秸秆综合利用率"), (">=", "89", "%"));
    assert_eq!(indicator(t, "秸秆焚烧扣减"), ("=", "500000", "元/火点"));
    assert_eq!(indicator(t, "枯枝落叶"), ("=", "100000", "元/火点"));

    // 17. "月巡查率不低于20%"; "每季度检测率不低于25%"; "2020年6月底前".
    let t = task(&v, "air", None, "17");
    assert_eq!(names(&t["lead"]), ["区行政综合执法局"]);
    assert_eq!(names(&t["cooperating"]), ["区市场监管局"]);
    assert_eq!(indicator(t, "月巡查率"), (">=", "20", "%"));
    assert_eq!(indicator(t, "每季度检测率"), (">=", "25", "%"));
    assert_eq!(dates(t), ["2020-06-30"]);

    // 20. "城市平均降尘量不得高于 9 吨 / 月 · 平方公里".
    let t = task(&v, "air", None, "20");
    assert_eq!(indicator(t, "降尘量"), ("<=", "9", "吨/(月·平方公里)"));
    assert!(names(&t["cooperating"]).contains(&"区社会事务局"));

    // 22. Boiler retrofits by 9 月底 / 10 月底; gas NOx ≤ 30 at 3.5 % O2.
    let t = task(&v, "air", None, "22");
    assert_eq!(
        dates(t),
        ["2020-09-30", "2020-09-30", "2020-10-31", "2020-10-31"]
    );
    assert_eq!(
        indicator(
            t,
            "燃气锅炉及燃气直燃机低氮改造：氮氧化物（基准氧含量 3.5%）"
        ),
        ("<=", "30", "mg/m³")
    );
    assert_eq!(
        indicator(t, "生物质电厂超低排放改造：二氧化硫（基准氧含量 6%）"),
        ("<=", "35", "mg/m³")
    );

    // 23. "5月底前…6月底前…7月15日前报区行政综合执法局备案".
    let t = task(&v, "air", None, "23");
    assert_eq!(dates(t), ["2020-05-31", "2020-06-30", "2020-07-15"]);
    assert_eq!(names(&t["townships"]), ALL_TOWNSHIPS);

    // 28. "2020 年 6 月底前…一企一策"; chapter 七: "VOCs 排放量减排 10%".
    let t = task(&v, "air", None, "28");
    assert_eq!(names(&t["cooperating"]), ["区科技与工信局"]);
    assert_eq!(indicator(t, "VOCs 排放量减排"), (">=", "10", "%"));
    assert_eq!(dates(t), ["2020-06-30"]);

    // 29. "每个路检路查点位每天检测车辆不得低于50辆次"; "至少3台".
    let t = task(&v, "air", None, "29");
    assert_eq!(
        names(&t["lead"]),
        ["区行政综合执法局", "公安局平原分局", "区交通运输局"]
    );
    assert_eq!(indicator(t, "每天检测车辆"), (">=", "50", "辆次/日"));
    assert_eq!(indicator(t, "检测设备"), (">=", "3", "台"));
    assert_eq!(dates(t), ["2020-06-30"]);

    // 33. "20%以上的汽油加油站"; "2020年底前".
    let t = task(&v, "air", None, "33");
    assert_eq!(names(&t["cooperating"]), ["区商务局", "区交通运输局"]);
    assert_eq!(indicator(t, "汽油加油站比例"), (">=", "20", "%"));
    assert_eq!(dates(t), ["2020-12-31"]);

    // 34. "区商务局牵头，…税务局、市场监管局配合".
    let t = task(&v, "air", None, "34");
    assert_eq!(names(&t["lead"]), ["区商务局"]);
    assert!(names(&t["cooperating"]).contains(&"区税务局"));

    // 41. "2020 年 6 月底前，全区 50%以上柴油货车完成车载在线监控系统安装".
    let t = task(&v, "air", None, "41");
    assert_eq!(indicator(t, "车载在线监控"), (">=", "50", "%"));
    assert_eq!(dates(t), ["2020-06-30", "2020-12-31"]);
    assert_eq!(names(&t["cooperating"]), ["区交通运输局", "区市场监管局"]);

    // 43. "排气筒高度超过 45 米"; 9 月底前, 10 月底前.
    let t = task(&v, "air", None, "43");
    assert_eq!(indicator(t, "排气筒高度"), (">", "45", "米"));
    assert_eq!(dates(t), ["2020-09-30", "2020-10-31"]);

    // 四（四）: "区农业农村局负责对秸秆禁烧情况开展专项督导检查".
    let t = task(&v, "air", Some("四(四)"), "7");
    assert_eq!(names(&t["lead"]), ["区农业农村局"]);
    assert!(t["townships"].as_array().unwrap().is_empty());
}

// ---- spot checks against the seed text: water ---------------------------

#[test]
fn water_tasks_match_the_seed() {
    let v = show_json();

    // 一-1: "区社会事务局牵头，区行政综合执法局、规划国土管理局、农业农村局参与".
    let t = task(&v, "water", Some("一"), "1");
    assert_eq!(names(&t["lead"]), ["区社会事务局"]);
    assert_eq!(
        names(&t["cooperating"]),
        ["区行政综合执法局", "区规划国土管理局", "区农业农村局"]
    );
    assert_eq!(names(&t["townships"]), ALL_TOWNSHIPS);

    // 二-1: "2020年底，污水处理率要达到93%以上"; "…财政局、投资集团参与".
    let t = task(&v, "water", Some("二"), "1");
    assert_eq!(names(&t["lead"]), ["区城乡建设管理局", "区行政综合执法局"]);
    assert!(names(&t["cooperating"]).contains(&"投资集团"));
    assert_eq!(indicator(t, "污水处理率"), (">=", "93", "%"));
    assert!(dates(t).contains(&"2020-12-31"));

    // 二-5: "2020年底，污泥无害化处理率达到85%以上".
    let t = task(&v, "water", Some("二"), "5");
    assert_eq!(indicator(t, "污泥无害化处理率"), (">=", "85", "%"));
    assert_eq!(dates(t), ["2020-12-31"]);
    assert_eq!(names(&t["cooperating"]).len(), 6);

    // 三-1: "…社会事务局、电力部门参与".
    let t = task(&v, "water", Some("三"), "1");
    assert!(names(&t["cooperating"]).contains(&"电力公司"));
    assert!(names(&t["cooperating"]).contains(&"公安局平原分局"));

    // 三-4: "2020年完成5个村庄环境综合整治任务".
    let t = task(&v, "water", Some("三"), "4");
    assert_eq!(indicator(t, "村庄"), (">=", "5", "个"));

    // 三-5: "粪污设施配套率达到95%以上，…综合利用率达到80%以上".
    let t = task(&v, "water", Some("三"), "5");
    assert_eq!(names(&t["lead"]), ["区农业农村局"]);
    assert_eq!(indicator(t, "配套率"), (">=", "95", "%"));
    assert_eq!(indicator(t, "综合利用率"), (">=", "80", "%"));
    assert_eq!(dates(t), ["2020-12-31"]);

    // 四-3: "确保2020年底天然渠韩董庄断面达到或优于Ⅲ类水质".
    let t = task(&v, "water", Some("四"), "3");
    assert_eq!(
        names(&t["lead"]),
        ["区行政综合执法局", "区城乡建设管理局", "区社会事务局"]
    );
    assert_eq!(indicator(t, "韩董庄"), ("<=", "3", "类"));

    // 五-1: "下降25%以上"; "农田灌溉水有效利用系数达到 0.584 以上".
    let t = task(&v, "water", Some("五"), "1");
    assert_eq!(indicator(t, "灌溉水有效利用系数"), (">=", "0.584", ""));
    assert_eq!(indicator(t, "万元国内生产总值用水量"), (">=", "25", "%"));

    // 六-6: "(区行政综合执法局、社会事务局按职责分工负责，市应急局参与)".
    let t = task(&v, "water", Some("六"), "6");
    assert_eq!(names(&t["lead"]), ["区行政综合执法局", "区社会事务局"]);
    assert_eq!(names(&t["cooperating"]), ["市应急局"]);

    // 六-7: "区交通运输管理局牵头".
    let t = task(&v, "water", Some("六"), "7");
    assert_eq!(names(&t["lead"]), ["区交通运输局"]);
}

// ---- spot checks against the seed text: soil ----------------------------

#[test]
fn soil_tasks_match_the_seed() {
    let v = show_json();
    let three = ["原武镇", "师寨镇", "祝楼乡"];

    // 一-1: "区行政综合执法局牵头，科技与工信局、市场监管局等参与，各乡、镇负责落实".
    let t = task(&v, "soil", Some("一"), "1");
    assert_eq!(names(&t["lead"]), ["区行政综合执法局"]);
    assert_eq!(names(&t["cooperating"]), ["区科技与工信局", "区市场监管局"]);
    assert_eq!(names(&t["townships"]), three);

    // 一-3: "各乡、镇、龙源办事处等参与".
    let t = task(&v, "soil", Some("一"), "3");
    assert_eq!(names(&t["townships"]), ALL_TOWNSHIPS);

    // 二-3: "2020年10月底前，实施安全利用类耕地技术措施全覆盖".
    let t = task(&v, "soil", Some("二"), "3");
    assert_eq!(names(&t["lead"]), ["区农业农村局"]);
    assert!(names(&t["cooperating"]).contains(&"区发展改革局"));
    assert_eq!(dates(t), ["2020-10-31"]);
    assert_eq!(indicator(t, "技术措施覆盖率"), (">=", "100", "%"));

    // 三-1: "六个月内完成土壤环境初步调查".
    let t = task(&v, "soil", Some("三"), "1");
    assert_eq!(indicator(t, "初步调查时限"), ("<=", "6", "月"));

    // 三-3: "于2020年10月底前完成".
    let t = task(&v, "soil", Some("三"), "3");
    assert_eq!(names(&t["lead"]), ["区规划国土管理局"]);
    assert_eq!(dates(t), ["2020-10-31"]);

    // 三-4: "3月底前制定…年度计划…10月底前组织开展…监测".
    let t = task(&v, "soil", Some("三"), "4");
    assert_eq!(dates(t), ["2020-03-31", "2020-10-31"]);

    // 四-1: "分别牵头，区财政局参与"; "2020年10月底前全部完成整治工作".
    let t = task(&v, "soil", Some("四"), "1");
    assert_eq!(
        names(&t["lead"]),
        ["区行政综合执法局", "区农业农村局", "区规划国土管理局"]
    );
    assert_eq!(names(&t["cooperating"]), ["区财政局"]);
    assert_eq!(dates(t), ["2020-10-31"]);

    // 四-6: "…财政局、文教体卫局参与".
    let t = task(&v, "soil", Some("四"), "6");
    assert_eq!(names(&t["lead"]), ["区发展改革局", "区行政综合执法局"]);
    assert!(names(&t["cooperating"]).contains(&"区文教体卫局"));

    // 六-1: "（各乡、镇负责落实）" only.
    let t = task(&v, "soil", Some("六"), "1");
    assert!(t["lead"].as_array().unwrap().is_empty());
    assert_eq!(names(&t["townships"]), three);

    // 六-3: two lines; the second "区公安分局、科技与工信局、规划国土管理局参与".
    let t = task(&v, "soil", Some("六"), "3");
    assert_eq!(names(&t["lead"]), ["区农业农村局", "区行政综合执法局"]);
    assert_eq!(
        names(&t["cooperating"]),
        ["公安局平原分局", "区科技与工信局", "区规划国土管理局"]
    );
}

#[test]
fn targets_and_sections_match_the_seed() {
    let v = show_json();
    let targets = v["targets"].as_array().unwrap();
    let find = |indicator: &str| {
        let t: Vec<&Value> = targets
            .iter()
            .filter(|t| t["indicator"].as_str().unwrap().contains(indicator))
            .collect();
        assert_eq!(t.len(), 1, "target {indicator}");
        t[0]
    };
    let t = find("PM2.5 年均浓度");
    assert_eq!(
        (
            &t["plan"],
            &t["comparator"],
            &t["value"],
            &t["unit"],
            &t["scope"],
            &t["measured"]
        ),
        (
            &Value::from("air"),
            &Value::from("<="),
            &Value::from("62"),
            &Value::from("µg/m³"),
            &Value::from("district"),
            &Value::from("data:annual-mean:PM2.5")
        )
    );
    let t = find("PM10 年均浓度");
    assert_eq!(
        (t["comparator"].as_str(), t["value"].as_str()),
        (Some("<="), Some("103"))
    );
    let t = find("优良天数");
    assert_eq!(
        (
            t["comparator"].as_str(),
            t["value"].as_str(),
            t["measured"].as_str()
        ),
        (Some(">="), Some("226"), Some("data:good-days"))
    );
    let t = find("重度及以上污染天数");
    assert!(t["value"].is_null());
    let t = find("天然渠（韩董庄断面）");
    assert_eq!(
        (
            t["scope"].as_str(),
            t["comparator"].as_str(),
            t["value"].as_str(),
            t["measured"].as_str()
        ),
        (
            Some("section:韩董庄"),
            Some("<="),
            Some("3"),
            Some("data:section-class")
        )
    );
    let t = find("集中式饮用水水源地取水水质达标率");
    assert_eq!(
        (
            t["value"].as_str(),
            t["unit"].as_str(),
            t["measured"].as_str()
        ),
        (Some("100"), Some("%"), Some("reported"))
    );
    let t = find("较 2013 年下降");
    assert_eq!(
        (t["plan"].as_str(), t["value"].as_str()),
        (Some("soil"), Some("12"))
    );
    assert_eq!(targets.len(), 21);

    // The annex: 7 sections, each with a class target.
    let sections = v["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 7);
    assert_eq!(
        sections[0],
        serde_json::json!({"township": "平原示范区", "river": "天然渠", "section": "韩董庄", "basin": "黄河流域", "target_class": "Ⅲ"})
    );
    assert_eq!(sections[2]["section"], "杨大寨村");
    assert_eq!(sections[2]["river"], "天然一支渠");
    assert_eq!(sections[2]["target_class"], "Ⅴ");
    assert_eq!(sections[6]["township"], "祝楼乡");
    for s in sections {
        let scope = format!("section:{}", s["section"].as_str().unwrap());
        assert!(
            targets.iter().any(|t| t["scope"] == scope.as_str()),
            "no target for {scope}"
        );
    }
}

#[test]
fn show_without_json_prints_a_summary() {
    let dir = plan_dir();
    let out = gongjian(&["plan", "show", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("air-15 强化秸秆禁烧工作"), "{s}");
    assert!(s.contains("water-二-1 推进污水处理厂及配套管网建设"), "{s}");
    assert!(s.contains("牵头: 区农业农村局"), "{s}");
}

/// Copies the plan to a temporary directory, applies an edit to one file and
/// runs `plan check` on it.
fn check_broken(
    file: &str,
    from: &str,
    to: &str,
) -> (bool, String, String, PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(plan_dir()).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, tmp.path().join(p.file_name().unwrap())).unwrap();
    }
    let path = tmp.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "edit must be unambiguous: {from}"
    );
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    let out = gongjian(&["plan", "check", tmp.path().to_str().unwrap()]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        path,
        tmp,
    )
}

fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find(needle).unwrap();
    text[..at].matches('\n').count() + 1
}

#[test]
fn check_rejects_an_unknown_organisation_with_file_and_line() {
    let (ok, stdout, stderr, path, _tmp) = check_broken(
        "water.toml",
        r#"cooperating = ["市应急局"]"#,
        r#"cooperating = ["市水利局"]"#,
    );
    assert!(!ok, "{stdout}");
    let line = line_of(&path, "市水利局");
    let expected = format!("{}:{line}:", path.display());
    assert!(stderr.contains(&expected), "{expected} not in {stderr}");
    assert!(
        stderr.contains("unknown organisation \"市水利局\""),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "nothing printed as if valid: {stdout}");
}

#[test]
fn check_reads_the_map_outlines_and_rejects_a_bad_one_in_chinese() {
    // The repository's folder, outlines included, checks clean (other tests).
    let (ok, stdout, stderr, path, _tmp) = check_broken(
        "boundaries.geojson",
        r#""level":"district""#,
        r#""level":"county""#,
    );
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains(&path.display().to_string()),
        "the file is named: {stderr}"
    );
    assert!(
        stderr.contains("properties.level 应为 district（全区）"),
        "{stderr}"
    );
}

#[test]
fn check_rejects_an_impossible_date_with_file_and_line() {
    let (ok, _, stderr, path, _tmp) = check_broken(
        "soil.toml",
        r#"{ date = "2020-03-31""#,
        r#"{ date = "2020-02-30""#,
    );
    assert!(!ok);
    let line = line_of(&path, "2020-02-30");
    assert!(
        stderr.contains(&format!("{}:{line}:", path.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("impossible date \"2020-02-30\""),
        "{stderr}"
    );
}

#[test]
fn check_rejects_a_duplicate_task_number_with_file_and_line() {
    let (ok, _, stderr, path, _tmp) = check_broken("air.toml", "number = 46\n", "number = 45\n");
    assert!(!ok);
    let text = std::fs::read_to_string(&path).unwrap();
    let second = text.rfind("number = 45").unwrap();
    let line = text[..second].matches('\n').count() + 1;
    assert!(
        stderr.contains(&format!("{}:{line}:", path.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("duplicate task number 45 in plan air"),
        "{stderr}"
    );
}

#[test]
fn check_fails_cleanly_on_a_missing_directory() {
    let out = gongjian(&["plan", "check", "/nonexistent/plan-dir"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read plan directory"), "{stderr}");
}
