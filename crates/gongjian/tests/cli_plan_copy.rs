//! Black box (issue 12): next year's plan is written with `plan copy`, edited,
//! loaded, and then drives that year's numbers — on the command line and
//! through the API — while the earlier year keeps its own plan. `plan
//! export` gives back exactly what was loaded.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Store, free_port, on_both_stores, serve_command_on, wait_listening};
use serde_json::{Value, json};

fn plan_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plans/pingyuan-2020")
}

fn gongjian(store: &Store, data: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.args(args).arg("--data-dir").arg(data);
    store.apply(&mut cmd).output().expect("run gongjian")
}

/// A command that needs no database.
fn offline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gongjian"))
        .args(args)
        .env_remove("GONGJIAN_DATABASE_URL")
        .output()
        .expect("run gongjian")
}

/// `gongjian plan copy` of the repository's 2020 plan.
fn plan_copy(year: &str, out: &Path) -> Output {
    offline(&[
        "plan",
        "copy",
        plan_dir().to_str().unwrap(),
        "--year",
        year,
        "-o",
        out.to_str().unwrap(),
    ])
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

fn pm25(targets: &[Value]) -> String {
    let t = targets
        .iter()
        .find(|t| t["key"] == "air-pm25")
        .expect("air-pm25 target");
    t["value"].as_str().expect("value").to_owned()
}

#[test]
fn copy_moves_every_date_and_year_and_checks_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pingyuan-2026");
    let copied = ok(&plan_copy("2026", &out));
    assert!(copied.contains("pingyuan-2020 → pingyuan-2026"), "{copied}");
    let checked = ok(&offline(&["plan", "check", out.to_str().unwrap()]));
    assert!(checked.contains("(pingyuan-2026)"), "{checked}");

    let json = |dir: &Path| -> Value {
        serde_json::from_slice(
            &ok(&offline(&["plan", "show", dir.to_str().unwrap(), "--json"])).into_bytes(),
        )
        .unwrap()
    };
    let (old, new) = (json(&plan_dir()), json(&out));
    assert_eq!(
        old["tasks"].as_array().unwrap().len(),
        new["tasks"].as_array().unwrap().len()
    );
    assert_eq!(old["targets"], {
        // Targets are the same but for their period and baseline years.
        let text = serde_json::to_string(&new["targets"]).unwrap();
        serde_json::from_str::<Value>(&text.replace("2026", "2020").replace("2025", "2019"))
            .unwrap()
    });
    // Every milestone moved by exactly six years, month and day kept.
    let dates = |v: &Value| -> Vec<String> {
        let mut d = Vec::new();
        for t in v["tasks"].as_array().unwrap() {
            for m in t["milestones"].as_array().into_iter().flatten() {
                d.push(m["date"].as_str().unwrap().to_owned());
            }
        }
        d
    };
    let (before, after) = (dates(&old), dates(&new));
    assert!(!before.is_empty());
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        let year: i32 = b[..4].parse().unwrap();
        // 29 February 2020 (a month-end duty) is 28 February 2026.
        let want = match &b[4..] {
            "-02-29" => format!("{}-02-28", year + 6),
            rest => format!("{}{rest}", year + 6),
        };
        assert_eq!(a, &want, "{b} → {a}");
    }
    // The document number is left for the new plan's notice.
    let plan_toml = std::fs::read_to_string(out.join("plan.toml")).unwrap();
    assert!(plan_toml.contains("# document = "), "{plan_toml}");

    // Never over someone's edits.
    let again = plan_copy("2027", &out);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("不为空"));
}

on_both_stores!(a_copied_plan_drives_its_own_year);
fn a_copied_plan_drives_its_own_year(store: Store) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let next = tmp.path().join("pingyuan-2026");
    ok(&plan_copy("2026", &next));
    let air = next.join("air.toml");
    let text = std::fs::read_to_string(&air).unwrap();
    let edited = text.replacen("value = 62", "value = 55", 1);
    assert_ne!(text, edited);
    // The heavy-pollution days get the figure of their baseline year.
    let (head, tail) = edited.split_once("key = \"air-heavy-days\"").unwrap();
    let tail = tail.replacen(
        "baseline = \"2025\"",
        "baseline = { year = 2025, value = 9 }",
        1,
    );
    let edited = format!("{head}key = \"air-heavy-days\"{tail}");
    std::fs::write(&air, edited).unwrap();

    // Nothing loaded: the year has no plan, and the error says so.
    let none = gongjian(&store, &data, &["targets", "--year", "2026", "--json"]);
    assert!(!none.status.success());
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("2026 年没有执行中或已结束的攻坚方案"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );

    ok(&gongjian(
        &store,
        &data,
        &["plan", "load", plan_dir().to_str().unwrap()],
    ));
    ok(&gongjian(
        &store,
        &data,
        &["plan", "load", next.to_str().unwrap()],
    ));
    let listed = ok(&gongjian(&store, &data, &["plan", "list"]));
    assert!(listed.contains("pingyuan-2026\t2026\t执行中"), "{listed}");

    let targets = |year: &str| -> Vec<Value> {
        serde_json::from_str(&ok(&gongjian(
            &store,
            &data,
            &["targets", "--year", year, "--json"],
        )))
        .unwrap()
    };
    assert_eq!(pm25(&targets("2026")), "55");
    assert_eq!(pm25(&targets("2020")), "62");
    let heavy = |year: &str| -> String {
        let all = targets(year);
        let t = all.iter().find(|t| t["key"] == "air-heavy-days").unwrap();
        t["requirement"].as_str().unwrap().to_owned()
    };
    assert_eq!(heavy("2026"), "< 9（2025 年值）");
    assert_eq!(heavy("2020"), "< 2019 年值");

    // Export gives back what was loaded: check passes and shows the same plan.
    let exported = tmp.path().join("exported");
    ok(&gongjian(
        &store,
        &data,
        &[
            "plan",
            "export",
            "pingyuan-2026",
            "-o",
            exported.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        ok(&offline(&[
            "plan",
            "show",
            exported.to_str().unwrap(),
            "--json"
        ])),
        ok(&offline(&[
            "plan",
            "show",
            next.to_str().unwrap(),
            "--json"
        ]))
    );
    let unknown = gongjian(
        &store,
        &data,
        &[
            "plan",
            "export",
            "nope",
            "-o",
            tmp.path().join("x").to_str().unwrap(),
        ],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("没有攻坚方案 nope"));

    // The API answers from the same campaigns.
    let mut add = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    add.args(["user", "add", "--role", "office", "--org", "区环境攻坚办"])
        .args(["--org-kind", "office", "--password-stdin", "office"])
        .arg("--data-dir")
        .arg(&data);
    let mut child = store
        .apply(&mut add)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "office-pass-2026").unwrap();
    assert!(child.wait().unwrap().success());

    let (http, hj212) = (free_port(), free_port());
    let mut server = serve_command_on(&store, &data, http, hj212)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(SocketAddr::from(([127, 0, 0, 1], http)));
    let result = std::panic::catch_unwind(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let base = format!("http://127.0.0.1:{http}");
                let client = reqwest::Client::builder()
                    .cookie_store(true)
                    .build()
                    .unwrap();
                let login = client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&json!({"username": "office", "password": "office-pass-2026"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(login.status(), 200);
                for (year, want) in [("2026", "55"), ("2020", "62")] {
                    let v: Value = client
                        .get(format!("{base}/api/v1/targets?year={year}"))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    assert_eq!(v["campaign"]["key"], format!("pingyuan-{year}"), "{v}");
                    assert_eq!(pm25(v["targets"].as_array().unwrap()), want, "{v}");
                }
                let missing = client
                    .get(format!("{base}/api/v1/targets?year=2031"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(missing.status(), 404);
            })
    });
    let _ = server.kill();
    let _ = server.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
