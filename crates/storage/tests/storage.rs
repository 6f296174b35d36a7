//! The storage suite. Every test runs on SQLite, and on PostgreSQL when
//! `GONGJIAN_TEST_POSTGRES_URL` is set; each run gets a fresh database.

use gongjian_storage::testing;
use gongjian_storage::{
    Actor, AuditFilter, Db, LoginLimits, LoginRefusal, NewUser, OrgKind, Role, SessionLimits,
    StorageError,
};

macro_rules! storage_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let t = testing::sqlite().await;
                ($body)(t.db.clone()).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(t) = testing::postgres().await {
                    ($body)(t.db.clone()).await;
                }
            }
        }
    };
}

const LIMITS: LoginLimits = LoginLimits::DEFAULT;
const SESSIONS: SessionLimits = SessionLimits {
    idle_secs: 1800,
    absolute_secs: 43200,
};

async fn department_user(db: &Db, username: &str, org: &str) -> gongjian_storage::User {
    let org = db
        .organisations()
        .create_organisation(&Actor::cli(), org, OrgKind::Department, None)
        .await
        .unwrap();
    db.accounts()
        .create_user(
            &Actor::cli(),
            &NewUser {
                username: username.into(),
                display_name: String::new(),
                password: "correct-horse".into(),
                role: Role::Department,
                organisation_id: org.id,
                must_change_password: false,
            },
        )
        .await
        .unwrap()
}

storage_test!(migrations_are_idempotent, |db: Db| async move {
    db.migrate().await.unwrap();
    let applied = db.applied_migrations().await.unwrap();
    assert!(!applied.is_empty());
    assert_eq!(applied[0].0, 1);
});

storage_test!(organisation_crud_is_audited, |db: Db| async move {
    let actor = Actor::cli();
    let org = db
        .organisations()
        .create_organisation(&actor, " 区生态环境分局 ", OrgKind::Department, None)
        .await
        .unwrap();
    assert_eq!(org.name, "区生态环境分局");
    let dup = db
        .organisations()
        .create_organisation(&actor, "区生态环境分局", OrgKind::Department, None)
        .await
        .unwrap_err();
    assert!(matches!(dup, StorageError::Conflict { .. }), "{dup}");
    let renamed = db
        .organisations()
        .update_organisation(&actor, org.id, "区行政综合执法局", OrgKind::Department)
        .await
        .unwrap();
    assert_eq!(renamed.name, "区行政综合执法局");
    let log = db
        .audit()
        .list(&AuditFilter {
            entity: Some("organisation".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].action, "update");
    assert_eq!(log[0].before.as_ref().unwrap()["name"], "区生态环境分局");
    assert_eq!(log[0].after.as_ref().unwrap()["name"], "区行政综合执法局");
    assert!(log[0].actor_name.starts_with("cli:"));
});

storage_test!(audit_log_is_append_only, |db: Db| async move {
    db.organisations()
        .create_organisation(&Actor::cli(), "韩董庄镇", OrgKind::Township, None)
        .await
        .unwrap();
    let update = sqlx::query("UPDATE audit_log SET actor_name = 'x'")
        .execute(db.write_pool())
        .await;
    assert!(update.is_err(), "audit_log accepted an UPDATE");
    let delete = sqlx::query("DELETE FROM audit_log")
        .execute(db.write_pool())
        .await;
    assert!(delete.is_err(), "audit_log accepted a DELETE");
    assert_eq!(
        db.audit()
            .list(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
});

storage_test!(users_and_passwords, |db: Db| async move {
    let user = department_user(&db, "zhang.san", "区农业农村局").await;
    assert_eq!(user.role, Role::Department);
    assert_eq!(user.organisation_name, "区农业农村局");
    assert!(!user.disabled);
    let ok = db
        .sessions()
        .authenticate("zhang.san", "correct-horse", "10.0.0.1", LIMITS)
        .await
        .unwrap();
    assert_eq!(ok.unwrap().id, user.id);
    let bad = db
        .sessions()
        .authenticate("zhang.san", "wrong-password", "10.0.0.1", LIMITS)
        .await
        .unwrap();
    assert_eq!(bad.unwrap_err(), LoginRefusal::BadCredentials);
    let unknown = db
        .sessions()
        .authenticate("nobody", "whatever1", "10.0.0.1", LIMITS)
        .await
        .unwrap();
    assert_eq!(unknown.unwrap_err(), LoginRefusal::BadCredentials);
    // Too short a password is refused and nothing changes.
    let err = db
        .accounts()
        .set_password(&Actor::cli(), user.id, "short", false)
        .await
        .unwrap_err();
    assert_eq!(err.broken_rule(), Some(gongjian_storage::Rule::Password));
    db.accounts()
        .set_password(&Actor::cli(), user.id, "new-password-1", true)
        .await
        .unwrap();
    let u = db.accounts().user(user.id).await.unwrap();
    assert!(u.must_change_password);
    assert!(
        db.sessions()
            .authenticate("zhang.san", "new-password-1", "10.0.0.1", LIMITS)
            .await
            .unwrap()
            .is_ok()
    );
    // A disabled account cannot log in even with the right password.
    db.accounts()
        .set_user_disabled(&Actor::cli(), user.id, true)
        .await
        .unwrap();
    assert!(
        db.sessions()
            .authenticate("zhang.san", "new-password-1", "10.0.0.1", LIMITS)
            .await
            .unwrap()
            .is_err()
    );
    // The audit log never holds the hash.
    let log = db.audit().list(&AuditFilter::default()).await.unwrap();
    assert!(log.iter().all(|e| {
        !e.after
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_default()
            .contains("argon2")
    }));
});

storage_test!(account_locks_from_many_addresses, |db: Db| async move {
    department_user(&db, "li.si", "区财政局").await;
    // Fewer than the per-pair limit from each address, the account's limit
    // in all.
    for i in 0..LIMITS.account_max_failures {
        let r = db
            .sessions()
            .authenticate("li.si", "wrong-password", &format!("10.0.1.{i}"), LIMITS)
            .await
            .unwrap();
        assert_eq!(r.unwrap_err(), LoginRefusal::BadCredentials);
    }
    // Locked now, even with the right password and from a fresh address.
    let r = db
        .sessions()
        .authenticate("li.si", "correct-horse", "10.0.2.1", LIMITS)
        .await
        .unwrap();
    assert_eq!(r.unwrap_err(), LoginRefusal::Locked);
});

storage_test!(item_9_shared_address_slowed, |db: Db| async move {
    department_user(&db, "wang.wu", "区交通运输局").await;
    department_user(&db, "zhou.ba", "区水务局").await;
    // A neighbour behind the same address locks their own account out.
    for _ in 0..LIMITS.max_failures {
        db.sessions()
            .authenticate("zhou.ba", "wrong-password", "10.9.9.9", LIMITS)
            .await
            .unwrap()
            .unwrap_err();
    }
    let r = db
        .sessions()
        .authenticate("zhou.ba", "correct-horse", "10.9.9.9", LIMITS)
        .await
        .unwrap();
    assert_eq!(r.unwrap_err(), LoginRefusal::Locked);
    // A colleague at the same address still logs in.
    assert!(
        db.sessions()
            .authenticate("wang.wu", "correct-horse", "10.9.9.9", LIMITS)
            .await
            .unwrap()
            .is_ok()
    );
    // Guessing across many accounts from one address is slowed down: past
    // the per-minute rate the address waits, whatever the password.
    let slow = LoginLimits {
        address_failures_per_minute: 3,
        ..LIMITS
    };
    for i in 0..3 {
        let r = db
            .sessions()
            .authenticate(&format!("guess{i}"), "wrong-password", "10.9.9.7", slow)
            .await
            .unwrap();
        assert_eq!(r.unwrap_err(), LoginRefusal::BadCredentials);
    }
    let r = db
        .sessions()
        .authenticate("wang.wu", "correct-horse", "10.9.9.7", slow)
        .await
        .unwrap();
    assert_eq!(r.unwrap_err(), LoginRefusal::Throttled);
    // Another address is not affected.
    assert!(
        db.sessions()
            .authenticate("wang.wu", "correct-horse", "10.9.9.8", slow)
            .await
            .unwrap()
            .is_ok()
    );
});

storage_test!(item_17_weak_passwords_are_refused, |db: Db| async move {
    let user = department_user(&db, "qian.jiu", "区林业局").await;
    for weak in [
        "12345678",
        "password",
        "password2020",
        "123456789",
        "qwertyuiop",
        "1qaz2wsx",
        "woaini1314",
        "1234567890",
        "qian.jiu",
        "qian.jiu2020",
        "aaaaaaaaaaaa",
    ] {
        let err = db
            .accounts()
            .set_password(&Actor::cli(), user.id, weak, false)
            .await
            .unwrap_err();
        match err {
            StorageError::Rule {
                rule: gongjian_storage::Rule::Password,
                detail,
            } => assert!(detail.contains("密码"), "{weak}: {detail}"),
            other => panic!("{weak}: {other}"),
        }
    }
    let org = db
        .organisations()
        .organisation_by_name("区林业局")
        .await
        .unwrap()
        .unwrap();
    let err = db
        .accounts()
        .create_user(
            &Actor::cli(),
            &NewUser {
                username: "sun.shi".into(),
                display_name: String::new(),
                password: "password".into(),
                role: Role::Department,
                organisation_id: org.id,
                must_change_password: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.broken_rule(), Some(gongjian_storage::Rule::Password));
    // The demo accounts' password passes.
    db.accounts()
        .set_password(&Actor::cli(), user.id, "gongjian2020", false)
        .await
        .unwrap();
});

storage_test!(sessions_expire, |db: Db| async move {
    let user = department_user(&db, "zhao.liu", "区发展改革局").await;
    let (token, csrf) = db
        .sessions()
        .create_session(user.id, "10.0.0.1")
        .await
        .unwrap();
    let s = db
        .sessions()
        .session(&token, SESSIONS)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.user.id, user.id);
    assert_eq!(s.csrf_token, csrf);
    assert!(
        db.sessions()
            .session("not-a-token", SESSIONS)
            .await
            .unwrap()
            .is_none()
    );
    // Idle past the limit: gone.
    db.sessions().age_session(&token, 1801).await.unwrap();
    assert!(
        db.sessions()
            .session(&token, SESSIONS)
            .await
            .unwrap()
            .is_none()
    );
    // Logout removes a session.
    let (token2, _) = db
        .sessions()
        .create_session(user.id, "10.0.0.1")
        .await
        .unwrap();
    db.sessions().delete_session(&token2).await.unwrap();
    assert!(
        db.sessions()
            .session(&token2, SESSIONS)
            .await
            .unwrap()
            .is_none()
    );
});

storage_test!(password_change_ends_sessions, |db: Db| async move {
    let user = department_user(&db, "sun.qi", "区城乡建设管理局").await;
    let (token, _) = db
        .sessions()
        .create_session(user.id, "10.0.0.1")
        .await
        .unwrap();
    db.accounts()
        .set_password(&Actor::cli(), user.id, "another-pass", false)
        .await
        .unwrap();
    assert!(
        db.sessions()
            .session(&token, SESSIONS)
            .await
            .unwrap()
            .is_none()
    );
});

storage_test!(
    user_with_unknown_organisation_is_refused,
    |db: Db| async move {
        let err = db
            .accounts()
            .create_user(
                &Actor::cli(),
                &NewUser {
                    username: "ghost".into(),
                    display_name: String::new(),
                    password: "correct-horse".into(),
                    role: Role::Viewer,
                    organisation_id: 4242,
                    must_change_password: false,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::NotFound { .. }), "{err}");
        assert_eq!(db.accounts().user_count().await.unwrap(), 0);
    }
);

// Issue 13 item 13: a role must match its organisation's kind.
storage_test!(role_must_match_organisation_kind, |db: Db| async move {
    let cli = Actor::cli();
    let finance = db
        .organisations()
        .create_organisation(&cli, "区财政局", OrgKind::Department, None)
        .await
        .unwrap();
    let yuanwu = db
        .organisations()
        .create_organisation(&cli, "原武镇", OrgKind::Township, None)
        .await
        .unwrap();
    let office = db
        .organisations()
        .create_organisation(&cli, "区环境攻坚办", OrgKind::Office, None)
        .await
        .unwrap();
    let new = |username: &str, role: Role, organisation_id: i64| NewUser {
        username: username.into(),
        display_name: String::new(),
        password: "correct-horse".into(),
        role,
        organisation_id,
        must_change_password: false,
    };
    let refused = |err: StorageError| match err {
        StorageError::Rule {
            rule: gongjian_storage::Rule::RoleOrganisation,
            detail,
        } => detail,
        other => panic!("expected the role/organisation rule, got {other}"),
    };
    // A 乡镇 user on 区财政局, an 企业 user on 原武镇, an 攻坚办 user on a
    // township, a 部门 user on the office: refused, nothing stored.
    for (name, role, org) in [
        ("xiang", Role::Township, finance.id),
        ("qiye", Role::Enterprise, yuanwu.id),
        ("ban", Role::Office, yuanwu.id),
        ("bumen", Role::Department, office.id),
        ("guanli", Role::Admin, yuanwu.id),
    ] {
        let err = db
            .accounts()
            .create_user(&cli, &new(name, role, org))
            .await
            .unwrap_err();
        let detail = refused(err);
        assert!(
            detail.contains("角色") && detail.contains("单位"),
            "{detail}"
        );
    }
    let detail = refused(
        db.accounts()
            .create_user(&cli, &new("xiang", Role::Township, finance.id))
            .await
            .unwrap_err(),
    );
    assert!(
        detail.contains("乡镇/街道") && detail.contains("区财政局") && detail.contains("部门"),
        "{detail}"
    );
    assert_eq!(db.accounts().user_count().await.unwrap(), 0);
    assert_eq!(
        gongjian_storage::Rule::RoleOrganisation.code(),
        "E2303",
        "stable code"
    );

    // Matching roles are accepted; read-only and admin users in the office.
    let yw = db
        .accounts()
        .create_user(&cli, &new("yuanwu", Role::Township, yuanwu.id))
        .await
        .unwrap();
    db.accounts()
        .create_user(&cli, &new("viewer", Role::Viewer, office.id))
        .await
        .unwrap();
    db.accounts()
        .create_user(&cli, &new("admin", Role::Admin, office.id))
        .await
        .unwrap();
    db.accounts()
        .create_user(&cli, &new("caizheng", Role::Department, finance.id))
        .await
        .unwrap();

    // Moving the township user to a department, or giving them the
    // enterprise role, is refused; the user is unchanged.
    refused(
        db.accounts()
            .update_user(&cli, yw.id, "原武镇联络员", Role::Township, finance.id)
            .await
            .unwrap_err(),
    );
    refused(
        db.accounts()
            .update_user(&cli, yw.id, "原武镇联络员", Role::Enterprise, yuanwu.id)
            .await
            .unwrap_err(),
    );
    let after = db.accounts().user(yw.id).await.unwrap();
    assert_eq!(
        (after.role, after.organisation_id),
        (Role::Township, yuanwu.id)
    );
    // A matching change is accepted.
    let moved = db
        .accounts()
        .update_user(&cli, yw.id, "财政局联络员", Role::Department, finance.id)
        .await
        .unwrap();
    assert_eq!(moved.role, Role::Department);

    // Changing an organisation's kind must keep its users' roles valid.
    let detail = refused(
        db.organisations()
            .update_organisation(&cli, finance.id, "区财政局", OrgKind::Township)
            .await
            .unwrap_err(),
    );
    assert!(detail.contains("caizheng"), "{detail}");
    assert_eq!(
        db.organisations()
            .organisation(finance.id)
            .await
            .unwrap()
            .kind,
        OrgKind::Department
    );
});

#[tokio::test]
async fn sqlite_backup_is_a_consistent_copy() {
    let t = testing::sqlite().await;
    t.db.organisations()
        .create_organisation(&Actor::cli(), "龙源街道办事处", OrgKind::Township, None)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("backup.db");
    t.db.backup_sqlite(&dest).await.unwrap();
    // Refuses to overwrite.
    assert!(t.db.backup_sqlite(&dest).await.is_err());
    let copy = Db::connect(&format!("sqlite://{}", dest.display()), &Default::default())
        .await
        .unwrap();
    let orgs = copy.organisations().list().await.unwrap();
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].name, "龙源街道办事处");
}

#[tokio::test]
async fn unreachable_database_gives_a_clear_error() {
    let err = Db::connect("postgres://gj:secret@127.0.0.1:1/none", &Default::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("secret"), "password leaked: {err}");
}

/// Drop the triggers that guard `audit_log`, as someone with direct access
/// to the database could.
async fn drop_audit_triggers(db: &Db) {
    let statements: &[&str] = match db.backend() {
        gongjian_storage::Backend::Sqlite => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
            "DROP TRIGGER audit_log_no_replace",
        ],
        gongjian_storage::Backend::Postgres => &["ALTER TABLE audit_log DISABLE TRIGGER USER"],
    };
    for sql in statements {
        sqlx::query(sql).execute(db.write_pool()).await.unwrap();
    }
}

async fn three_audit_entries(db: &Db) -> Vec<i64> {
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
    assert_eq!(ids.len(), 3);
    ids
}

// Issue #10 item 11: SQLite's INSERT OR REPLACE overwrote row 1 (REPLACE
// deletes without firing the DELETE trigger) and PostgreSQL's TRUNCATE
// emptied the log. Both are refused now, as are UPDATE, DELETE and an
// upsert; the log stays whole and its chain verifies.
storage_test!(
    item_11_audit_log_refuses_replace_and_truncate,
    |db: Db| async move {
        let ids = three_audit_entries(&db).await;
        let forged = match db.backend() {
            gongjian_storage::Backend::Sqlite => {
                "INSERT OR REPLACE INTO audit_log (id, at, actor_name, client_addr, action, \
                 entity, entity_id) VALUES ($1, 0, 'x', 'x', 'x', 'x', 'x')"
            }
            gongjian_storage::Backend::Postgres => {
                "INSERT INTO audit_log (id, at, actor_name, client_addr, action, entity, \
                 entity_id) VALUES ($1, 0, 'x', 'x', 'x', 'x', 'x') \
                 ON CONFLICT (id) DO UPDATE SET actor_name = excluded.actor_name"
            }
        };
        let replace = sqlx::query(forged)
            .bind(ids[0])
            .execute(db.write_pool())
            .await;
        assert!(replace.is_err(), "audit_log accepted {forged}");
        if db.backend() == gongjian_storage::Backend::Postgres {
            let truncate = sqlx::query("TRUNCATE audit_log")
                .execute(db.write_pool())
                .await;
            assert!(truncate.is_err(), "audit_log accepted a TRUNCATE");
        }
        for sql in [
            "UPDATE audit_log SET actor_name = 'x'",
            "UPDATE audit_log SET hash = NULL, prev_hash = NULL",
            "DELETE FROM audit_log",
        ] {
            let r = sqlx::query(sql).execute(db.write_pool()).await;
            assert!(r.is_err(), "audit_log accepted {sql}");
        }
        let log = db.audit().list(&AuditFilter::default()).await.unwrap();
        assert_eq!(log.len(), 3);
        assert!(log.iter().all(|e| e.actor_name.starts_with("cli:")));
        let v = db.audit().verify().await.unwrap();
        assert_eq!((v.rows, v.broken), (3, None));
        assert_eq!(v.head.unwrap().len(), 64);
    }
);

// Item 11, tamper evidence: with the triggers dropped, a changed field or a
// deleted row is found by walking the hash chain, at the row concerned.
storage_test!(
    item_11_audit_verify_finds_the_tampered_row,
    |db: Db| async move {
        let ids = three_audit_entries(&db).await;
        drop_audit_triggers(&db).await;
        sqlx::query("UPDATE audit_log SET actor_name = 'someone-else' WHERE id = $1")
            .bind(ids[1])
            .execute(db.write_pool())
            .await
            .unwrap();
        let v = db.audit().verify().await.unwrap();
        let broken = v.broken.expect("tampering not found");
        assert_eq!(broken.id, ids[1]);
        assert!(broken.problem.contains("内容被改动"), "{}", broken.problem);
        assert_eq!(v.rows, 1);

        sqlx::query("DELETE FROM audit_log WHERE id = $1")
            .bind(ids[1])
            .execute(db.write_pool())
            .await
            .unwrap();
        let broken = db.audit().verify().await.unwrap().broken.unwrap();
        assert_eq!(broken.id, ids[2]);
        assert!(broken.problem.contains("链接断开"), "{}", broken.problem);
    }
);

// Item 11: entries written before the chain existed are chained once by
// `migrate`; a hash-less row added after that is reported, not chained.
storage_test!(
    item_11_legacy_audit_rows_are_chained_once,
    |db: Db| async move {
        let legacy = "INSERT INTO audit_log (at, actor_name, client_addr, action, entity, \
                      entity_id, before_json) VALUES ($1, 'cli:old', '', 'create', 'x', $2, NULL)";
        for i in 0..3i64 {
            sqlx::query(legacy)
                .bind(1_600_000_000 + i)
                .bind(i.to_string())
                .execute(db.write_pool())
                .await
                .unwrap();
        }
        assert!(db.audit().verify().await.unwrap().broken.is_some());
        db.migrate().await.unwrap();
        let v = db.audit().verify().await.unwrap();
        assert_eq!((v.rows, v.broken), (3, None));
        db.organisations()
            .create_organisation(&Actor::cli(), "韩董庄镇", OrgKind::Township, None)
            .await
            .unwrap();
        assert_eq!(db.audit().verify().await.unwrap().rows, 4);
        sqlx::query(legacy)
            .bind(1_700_000_000i64)
            .bind("forged")
            .execute(db.write_pool())
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let v = db.audit().verify().await.unwrap();
        assert_eq!(v.rows, 4);
        assert!(v.broken.unwrap().problem.contains("没有哈希"));
    }
);

// Issue 13 item 12: people are shown by display name and organisation; an
// account without a display name by its login name; the command line and
// the platform by their origin; an unknown name as recorded. More names
// than one statement binds are looked up in chunks.
storage_test!(
    people_are_labelled_by_name_and_organisation,
    |db: Db| async move {
        let org = db
            .organisations()
            .create_organisation(&Actor::cli(), "原武镇", OrgKind::Township, None)
            .await
            .unwrap();
        db.accounts()
            .create_user(
                &Actor::cli(),
                &NewUser {
                    username: "yuanwu".into(),
                    display_name: "原武镇联络员".into(),
                    password: "correct-horse".into(),
                    role: Role::Township,
                    organisation_id: org.id,
                    must_change_password: false,
                },
            )
            .await
            .unwrap();
        department_user(&db, "nongye", "区农业农村局").await;
        let mut names: Vec<String> = (0..450).map(|i| format!("nobody{i}")).collect();
        names.extend(
            ["yuanwu", "nongye", "cli:root", "system:demo", "yuanwu"]
                .iter()
                .map(|s| s.to_string()),
        );
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let labels = db.accounts().people_labels(&refs).await.unwrap();
        assert_eq!(labels.len(), 454);
        assert_eq!(labels["yuanwu"], "原武镇联络员（原武镇）");
        assert_eq!(labels["nongye"], "nongye（区农业农村局）");
        assert_eq!(labels["cli:root"], "命令行（root）");
        assert_eq!(labels["system:demo"], "系统（演示数据）");
        assert_eq!(labels["nobody7"], "nobody7");
    }
);
