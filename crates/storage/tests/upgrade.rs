//! Issue 16: a database made by the previous release upgrades in place
//! and keeps its data. The previous release's schema is built from this
//! tree's own migration files up to its last one (the files are never
//! edited once released: sqlx checks their checksums), data is written
//! into it, and `Db::migrate` brings it to the current schema. On SQLite
//! and (when configured) PostgreSQL.

use std::path::Path;

use gongjian_storage::testing;
use gongjian_storage::{Actor, Db, DbOptions, NewSite, OrgKind, RollupValue};

/// The last migration of the previous release (da17b06, stop 26).
const PREVIOUS_RELEASE: i64 = 24;

/// A migrator of `backend`'s migrations up to `last`, from a copy of the
/// files (kept alive by the returned directory).
async fn migrator_up_to(backend: &str, last: i64) -> (sqlx::migrate::Migrator, tempfile::TempDir) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let version: i64 = name
            .split('_')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(i64::MAX);
        if version <= last {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    assert_eq!(
        migrator.iter().map(|m| m.version).max(),
        Some(last),
        "the previous release's migrations are all here"
    );
    (migrator, dir)
}

async fn upgrade_keeps_the_data(url: &str, raw_url: &str, backend: &str) {
    sqlx::any::install_default_drivers();
    let (previous, _files) = migrator_up_to(backend, PREVIOUS_RELEASE).await;
    let pool = sqlx::AnyPool::connect(raw_url).await.unwrap();
    previous.run(&pool).await.unwrap();
    pool.close().await;

    // Data as the previous release wrote it.
    let db = Db::connect(url, &DbOptions::default()).await.unwrap();
    let actor = Actor::cli();
    let org = db
        .organisations()
        .create_organisation(&actor, "原武镇", OrgKind::Township, None)
        .await
        .unwrap();
    let site = db
        .monitoring()
        .create_site(
            &actor,
            &NewSite {
                code: "UPG-1".into(),
                name: "升级前的站点".into(),
                kind: "stack_gas".into(),
                organisation_id: Some(org.id),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    db.monitoring()
        .store_rollups(&[RollupValue {
            site_id: site.id,
            factor: "a21026".into(),
            kind: "hour",
            period_start: 1_704_153_600,
            value: Some("12.345".into()),
            converted: Some("20.1".into()),
            flag: "N".into(),
            day_start: None,
        }])
        .await
        .unwrap();
    let applied_before = db.applied_migrations().await.unwrap();
    assert_eq!(applied_before.last().unwrap().0, PREVIOUS_RELEASE);

    db.migrate().await.unwrap();

    let applied = db.applied_migrations().await.unwrap();
    assert!(applied.len() > applied_before.len(), "{applied:?}");
    let site_after = db.monitoring().site(site.id).await.unwrap().unwrap();
    assert_eq!(site_after.name, "升级前的站点");
    assert_eq!(site_after.organisation_id, Some(org.id));
    let points = db
        .monitoring()
        .series_points(site.id, "a21026", "hour", 1_704_153_600, 1_704_153_601)
        .await
        .unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].value.as_deref(), Some("12.345"), "kept exactly");
    assert_eq!(points[0].converted.as_deref(), Some("20.1"));
    // The audit chain of the writes before the upgrade still verifies.
    let chain = db.audit().verify().await.unwrap();
    assert!(chain.broken.is_none(), "{:?}", chain.broken);
    assert!(
        chain.rows >= 2,
        "the organisation and the site were audited"
    );
    // And what the upgrade added is usable.
    assert!(
        db.accountability()
            .list("pingyuan-2020", None)
            .await
            .unwrap()
            .is_empty()
    );
    db.close().await;
}

#[tokio::test]
async fn a_database_of_the_previous_release_upgrades_with_its_data_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.db");
    let url = format!("sqlite://{}", file.display());
    upgrade_keeps_the_data(&url, &format!("{url}?mode=rwc"), "sqlite").await;
}

#[tokio::test]
async fn a_database_of_the_previous_release_upgrades_with_its_data_postgres() {
    let Some((url, _drop)) = testing::postgres_empty().await else {
        return;
    };
    upgrade_keeps_the_data(&url, &url, "postgres").await;
}
