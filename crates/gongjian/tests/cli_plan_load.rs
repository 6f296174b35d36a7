//! Black-box tests of `gongjian plan load DIR`: idempotent, a new revision
//! with its changes after an edit, nothing loaded from a broken plan.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Store, on_both_stores};

fn plan_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans/pingyuan-2020")
}

/// A copy of the repository's plan that a test may edit.
fn copy_plan(to: &Path) -> PathBuf {
    let dir = to.join("plan");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(plan_dir()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

fn load(plan: &Path, data: &Path) -> Output {
    load_on(&Store::sqlite(), plan, data)
}

fn load_on(store: &Store, plan: &Path, data: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.args(["plan", "load"])
        .arg(plan)
        .arg("--data-dir")
        .arg(data);
    store.apply(&mut cmd).output().expect("run gongjian")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "plan load failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

on_both_stores!(load_is_idempotent_and_an_edit_makes_a_revision);
fn load_is_idempotent_and_an_edit_makes_a_revision(store: Store) {
    let load = |plan: &Path, data: &Path| load_on(&store, plan, data);
    let tmp = tempfile::tempdir().unwrap();
    let plan = copy_plan(tmp.path());
    let data = tmp.path().join("data");

    let first = stdout(&load(&plan, &data));
    assert!(first.contains("pingyuan-2020: 已载入第 1 版"), "{first}");
    assert!(first.contains("首次载入"), "{first}");

    let second = stdout(&load(&plan, &data));
    assert!(
        second.contains("无变化 (unchanged), still revision 1"),
        "{second}"
    );

    let air = plan.join("air.toml");
    let text = std::fs::read_to_string(&air).unwrap();
    let edited = text.replacen(
        "title = \"强化秸秆禁烧工作\"",
        "title = \"全面强化秸秆禁烧工作\"",
        1,
    );
    assert_ne!(text, edited);
    std::fs::write(&air, edited).unwrap();
    let third = stdout(&load(&plan, &data));
    assert!(third.contains("已载入第 2 版"), "{third}");
    assert!(
        third.contains("修改任务 (task changed) air-15: title"),
        "{third}"
    );
    assert_eq!(third.lines().count(), 2, "exactly one change: {third}");

    let fourth = stdout(&load(&plan, &data));
    assert!(fourth.contains("still revision 2"), "{fourth}");
}

#[test]
fn a_broken_plan_loads_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = copy_plan(tmp.path());
    let data = tmp.path().join("data");
    let air = plan.join("air.toml");
    let text = std::fs::read_to_string(&air).unwrap();
    std::fs::write(
        &air,
        text.replacen("lead = [\"区农业农村局\"]", "lead = [\"区不存在局\"]", 1),
    )
    .unwrap();
    let out = load(&plan, &data);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("air.toml:") && err.contains("区不存在局"),
        "{err}"
    );
    assert!(
        !data.join("gongjian.db").exists(),
        "no database is touched for an invalid plan"
    );
}

fn plan_cmd(store: &Store, args: &[&str], data: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.arg("plan").args(args).arg("--data-dir").arg(data);
    store.apply(&mut cmd).output().expect("run gongjian")
}

// Issue 12: the lifecycle from the command line; a closed campaign refuses a
// changed plan and a second close.
on_both_stores!(close_archives_a_campaign_and_refuses_edits);
fn close_archives_a_campaign_and_refuses_edits(store: Store) {
    let tmp = tempfile::tempdir().unwrap();
    let plan = copy_plan(tmp.path());
    let data = tmp.path().join("data");
    stdout(&load_on(&store, &plan, &data));
    let listed = stdout(&plan_cmd(&store, &["list"], &data));
    assert!(listed.contains("pingyuan-2020\t2020\t执行中"), "{listed}");
    let closed = stdout(&plan_cmd(&store, &["close", "pingyuan-2020"], &data));
    assert!(closed.contains("已结束"), "{closed}");
    let listed = stdout(&plan_cmd(&store, &["list"], &data));
    assert!(listed.contains("pingyuan-2020\t2020\t已结束"), "{listed}");

    let again = plan_cmd(&store, &["close", "pingyuan-2020"], &data);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("不能改为「已结束」"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let air = plan.join("air.toml");
    let text = std::fs::read_to_string(&air).unwrap();
    std::fs::write(&air, text.replacen("value = 62", "value = 55", 1)).unwrap();
    let refused = load_on(&store, &plan, &data);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("已结束"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
