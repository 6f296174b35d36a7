//! Issue #10 item 11, black box: `gongjian audit verify` walks the audit
//! log's hash chain, says it is whole, and names the first row that was
//! changed behind the application's back.

mod common;
use common::{Store, on_both_stores};

use std::path::Path;
use std::process::{Command, Output};

use gongjian_storage::{Actor, AuditFilter, Db, DbOptions, OrgKind};

fn verify(store: &Store, dir: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongjian"));
    cmd.args(["audit", "verify", "--data-dir"])
        .arg(dir)
        .env("GONGJIAN_LOG_LEVEL", "warn");
    store
        .apply(&mut cmd)
        .output()
        .expect("run gongjian audit verify")
}

on_both_stores!(item_11_audit_verify_reports_the_first_broken_link);

fn item_11_audit_verify_reports_the_first_broken_link(store: Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = store.url(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ids = rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        for name in ["韩董庄镇", "原武镇", "师寨镇"] {
            db.organisations()
                .create_organisation(&Actor::cli(), name, OrgKind::Township, None)
                .await
                .unwrap();
        }
        let mut ids: Vec<i64> = db
            .audit()
            .list(&AuditFilter::default())
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        ids.sort();
        db.close().await;
        ids
    });

    let out = verify(&store, dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("审计日志完整：3 条"), "{stdout}");

    // Someone with the database file drops the guard and edits row 2.
    rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        let drop_guard = if store.is_postgres() {
            "DROP TRIGGER audit_log_no_update ON audit_log"
        } else {
            "DROP TRIGGER audit_log_no_update"
        };
        sqlx::query(drop_guard)
            .execute(db.write_pool())
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET after_json = '{\"name\":\"假\"}' WHERE id = $1")
            .bind(ids[1])
            .execute(db.write_pool())
            .await
            .unwrap();
        db.close().await;
    });
    let out = verify(&store, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "tampering not reported");
    assert!(
        stderr.contains(&format!("id {} ", ids[1])) && stderr.contains("内容被改动"),
        "{stderr}"
    );
}
