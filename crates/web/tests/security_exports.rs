//! Exports opened in a spreadsheet run nothing (issue #10, item 13): text
//! planted by an unauthenticated visitor (a user name typed at the login
//! form) reaches the audit CSV neutralised.

mod common;

use common::spawn_on;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{OrgKind, Role};
use serde_json::{Value, json};

on_both_backends!(item_13_login_name_formula_is_neutralised_in_audit_csv);
async fn item_13_login_name_formula_is_neutralised_in_audit_csv(db: TestDb) {
    let app = spawn_on(db).await;
    app.user("admin1", Role::Admin, "区攻坚办", OrgKind::Office)
        .await;
    let planted = r#"=HYPERLINK("http://evil.example/","点此查看")"#;
    let visitor = common::client();
    let r = visitor
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": planted, "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let admin = app.login("admin1").await;
    // The attempt is in the log as typed...
    let log: Vec<Value> = admin
        .get(app.url("/api/v1/audit?entity=session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log.iter().any(|e| e["actor_name"] == planted), "{log:?}");
    // ...and in the CSV export as text that a spreadsheet does not run.
    let r = admin
        .get(app.url("/api/v1/audit.csv?entity=session"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    let body = body.strip_prefix(b"\xEF\xBB\xBF").expect("BOM");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body);
    let mut found = false;
    for record in reader.records() {
        let record = record.unwrap();
        for field in record.iter() {
            assert!(
                !field.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a field a spreadsheet would run: {field:?}"
            );
            if field == format!("'{planted}") {
                found = true;
            }
        }
    }
    assert!(found, "{}", String::from_utf8_lossy(body));
}
