//! Black box (issue 12): a task table in the offices' layout is added to a
//! plan folder with `plan import-tasks` — refused whole, with every bad
//! row's row and column, or imported — and a loaded campaign exported,
//! checked and loaded into an empty database is the same campaign.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Store, on_both_stores};

fn plan_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans/pingyuan-2020")
}

fn offline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .args(args)
        .env_remove("GONGJIAN_DATABASE_URL")
        .output()
        .expect("run gongjian")
}

fn on(store: &Store, data: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.args(args).arg("--data-dir").arg(data);
    store.apply(&mut cmd).output().expect("run gongjian")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const HEADERS: [&str; 6] = [
    "序号",
    "任务内容",
    "牵头单位",
    "配合单位",
    "完成时限",
    "指标/目标值",
];

/// An XLSX task table with `rows`.
fn xlsx(path: &Path, rows: &[[&str; 6]]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    wb.save(path).unwrap();
}

const GOOD: [[&str; 6]; 3] = [
    [
        "1",
        "开展秋冬季建筑工地扬尘专项检查，每月通报检查结果。",
        "区城乡建设管理局",
        "行政执法局、原武镇",
        "2026年11月底前",
        "",
    ],
    [
        "2",
        "推进散煤清零，完成清洁取暖改造。",
        "区发展改革局",
        "",
        "年底前",
        "新增清洁取暖户数≥1200户",
    ],
    [
        "3",
        "加强秸秆禁烧巡查，落实网格化监管。",
        "农业农村局",
        "原武镇",
        "2026-10-31",
        "秸秆综合利用率≥90%",
    ],
];

/// `plans/pingyuan-2020` copied to 2026 in `tmp`.
fn plan_2026(tmp: &Path) -> PathBuf {
    let dir = tmp.join("pingyuan-2026");
    ok(&offline(&[
        "plan",
        "copy",
        plan_dir().to_str().unwrap(),
        "--year",
        "2026",
        "-o",
        dir.to_str().unwrap(),
    ]));
    dir
}

fn import(dir: &Path, file: &Path) -> Output {
    offline(&[
        "plan",
        "import-tasks",
        dir.to_str().unwrap(),
        file.to_str().unwrap(),
        "--plan",
        "autumn",
        "--title",
        "2026 年秋冬季大气污染防治攻坚行动",
    ])
}

#[test]
fn a_table_with_bad_rows_is_refused_whole_with_their_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plan_2026(tmp.path());
    let before = std::fs::read_to_string(dir.join("plan.toml")).unwrap();
    let bad = tmp.path().join("bad.xlsx");
    let mut rows = GOOD.to_vec();
    rows[1][2] = "区不存在局";
    rows[2][4] = "2027-01-15";
    rows[2][5] = "完成整治";
    xlsx(&bad, &rows);
    let out = import(&dir, &bad);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("第 3 行「牵头单位」：“区不存在局” 不在方案的单位名单中"),
        "{stderr}"
    );
    assert!(
        stderr.contains("第 4 行「完成时限」：2027-01-15 不在方案年度 2026 年内"),
        "{stderr}"
    );
    assert!(
        stderr.contains("第 4 行「指标/目标值」：无法识别的指标"),
        "{stderr}"
    );
    assert!(stderr.contains("3 个问题，未写入任何文件"), "{stderr}");
    assert!(
        !stderr.contains("第 2 行"),
        "the good row has no problem: {stderr}"
    );
    assert!(!dir.join("autumn.toml").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("plan.toml")).unwrap(),
        before
    );

    // A table without its columns says which.
    let headless = tmp.path().join("headless.csv");
    std::fs::write(&headless, "编号,内容\n1,x\n").unwrap();
    let out = import(&dir, &headless);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("表头「任务内容」：缺少此列"), "{stderr}");
}

#[test]
fn a_good_table_becomes_a_plan_of_the_campaign_also_from_gbk_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plan_2026(tmp.path());
    let good = tmp.path().join("good.xlsx");
    xlsx(&good, &GOOD);
    let out = ok(&import(&dir, &good));
    assert!(out.contains("已导入 3 项任务"), "{out}");
    ok(&offline(&["plan", "check", dir.to_str().unwrap()]));
    let json: serde_json::Value = serde_json::from_str(&ok(&offline(&[
        "plan",
        "show",
        dir.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    let autumn: Vec<&serde_json::Value> = json["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["plan"] == "autumn")
        .collect();
    assert_eq!(autumn.len(), 3);
    assert_eq!(autumn[0]["lead"][0], "区城乡建设管理局");
    assert_eq!(
        autumn[0]["cooperating"][0], "区行政综合执法局",
        "aliases resolve"
    );
    assert_eq!(autumn[0]["milestones"][0]["date"], "2026-11-30");
    assert_eq!(autumn[1]["milestones"][0]["date"], "2026-12-31");
    assert_eq!(autumn[2]["indicators"][0]["value"], "90");

    // The same table as a GBK CSV from Excel.
    let dir2 = tmp.path().join("second");
    std::fs::create_dir(&dir2).unwrap();
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        if p.file_name().unwrap() != "autumn.toml" {
            std::fs::copy(&p, dir2.join(p.file_name().unwrap())).unwrap();
        }
    }
    let plan = std::fs::read_to_string(dir2.join("plan.toml")).unwrap();
    std::fs::write(dir2.join("plan.toml"), plan.replace(", \"autumn\"]", "]")).unwrap();
    let mut csv = HEADERS.join(",") + "\r\n";
    for r in GOOD {
        csv.push_str(&r.map(|c| format!("\"{c}\"")).join(","));
        csv.push_str("\r\n");
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let file = tmp.path().join("good.csv");
    std::fs::write(&file, &gbk).unwrap();
    ok(&import(&dir2, &file));
    assert_eq!(
        std::fs::read_to_string(dir2.join("autumn.toml")).unwrap(),
        std::fs::read_to_string(dir.join("autumn.toml")).unwrap()
    );
}

on_both_stores!(export_check_load_gives_the_same_campaign);
fn export_check_load_gives_the_same_campaign(store: Store) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = plan_2026(tmp.path());
    let good = tmp.path().join("good.xlsx");
    xlsx(&good, &GOOD);
    ok(&import(&dir, &good));
    let first = tmp.path().join("first");
    let loaded = ok(&on(
        &store,
        &first,
        &["plan", "load", dir.to_str().unwrap()],
    ));
    assert!(loaded.contains("已载入第 1 版"), "{loaded}");

    let exported = tmp.path().join("exported");
    ok(&on(
        &store,
        &first,
        &[
            "plan",
            "export",
            "pingyuan-2026",
            "-o",
            exported.to_str().unwrap(),
        ],
    ));
    ok(&offline(&["plan", "check", exported.to_str().unwrap()]));
    let show = |d: &Path| ok(&offline(&["plan", "show", d.to_str().unwrap(), "--json"]));
    assert_eq!(show(&exported), show(&dir));

    // Into an empty database (SQLite in a fresh data directory).
    let second = tmp.path().join("second");
    let again = ok(&on(
        &Store::sqlite(),
        &second,
        &["plan", "load", exported.to_str().unwrap()],
    ));
    assert!(again.contains("pingyuan-2026: 已载入第 1 版"), "{again}");
    // The same counts of tasks, targets and assignments as the first load.
    let counts = |s: &str| {
        s.lines()
            .next()
            .unwrap_or("")
            .split("): ")
            .nth(1)
            .unwrap_or("")
            .to_owned()
    };
    assert!(!counts(&loaded).is_empty(), "{loaded}");
    assert_eq!(counts(&again), counts(&loaded));
    let listed = ok(&on(&Store::sqlite(), &second, &["plan", "list"]));
    assert!(listed.contains("pingyuan-2026\t2026\t执行中"), "{listed}");
}
