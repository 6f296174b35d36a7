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

on_both_stores!(item_6_a_storage_refusal_reads_in_chinese_on_the_command_line);
/// Issue 13 item 6: an error from the store reaches the command line in
/// Chinese (its English `Display` text stays in the logs): an unknown
/// campaign, an account that already exists.
fn item_6_a_storage_refusal_reads_in_chinese_on_the_command_line(store: Store) {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
        cmd.args(args)
            .arg("--data-dir")
            .arg(data.path())
            .env("GONGJIAN_LOG_LEVEL", "warn");
        store.apply(&mut cmd);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(text) = stdin {
            use std::io::Write;
            writeln!(child.stdin.take().unwrap(), "{text}").unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let out = run(&["plan", "activate", "pingyuan-2099"], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("攻坚方案“pingyuan-2099”不存在"), "{stderr}");
    assert!(!stderr.contains("not found"), "{stderr}");
    let add = [
        "user",
        "add",
        "--role",
        "office",
        "--org",
        "区环境攻坚办",
        "--org-kind",
        "office",
        "--password-stdin",
        "wangke",
    ];
    assert!(run(&add, Some("a-long-password-1")).status.success());
    let out = run(&add, Some("a-long-password-1"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("用户“wangke”已存在"), "{stderr}");
    assert!(!stderr.contains("already exists"), "{stderr}");
}
