//! Issue #10 item 17 through the binary: `gongjian user add` and `gongjian
//! user passwd` refuse short and common passwords with a Chinese message,
//! and accept a good one.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn gongjian(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .env_remove("GONGJIAN_DATABASE_URL")
        .env("GONGJIAN_LOG_LEVEL", "warn")
        .env("GONGJIAN_DATA_DIR", dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn item_17_cli_refuses_weak_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let add = |password: &str| {
        gongjian(
            dir.path(),
            &[
                "user",
                "add",
                "--role",
                "office",
                "--org",
                "区环境攻坚办",
                "--org-kind",
                "office",
                "--password-stdin",
                "office",
            ],
            &format!("{password}\n"),
        )
    };
    for (weak, says) in [
        ("12345678", "至少需要 10 个字符"),
        ("password", "至少需要 10 个字符"),
        ("qwertyuiop", "过于常见"),
        ("office2020", "用户名"),
    ] {
        let out = add(weak);
        assert!(!out.status.success(), "{weak} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{weak}: {stderr}");
    }
    let out = add("gongjian2020");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = |password: &str| {
        gongjian(
            dir.path(),
            &["user", "passwd", "--password-stdin", "office"],
            &format!("{password}\n"),
        )
    };
    let out = passwd("1qaz2wsx3edc");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("过于常见"));
    assert!(passwd("a-long-good-passphrase").status.success());
}
