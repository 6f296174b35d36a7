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

/// The last migration before `series` and `hj212_uploads` became
/// WITHOUT ROWID tables on SQLite (0029).
const BEFORE_WITHOUT_ROWID: i64 = 28;

/// A row of `series`, every column.
type SeriesRow = (
    i64,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
);

const SERIES_ALL: &str = "SELECT site_id, factor, kind, period_start, value, converted, flag, \
     source, received_at FROM series ORDER BY site_id, factor, kind, period_start";
const UPLOADS_ALL: &str = "SELECT mn, cn, datatime, pno, received_at FROM hj212_uploads \
     ORDER BY mn, cn, datatime, pno";

/// Issue 16: 0029 rebuilds `series` and the upload ledger on SQLite (a
/// no-op on PostgreSQL). A database made with the schema before it, holding
/// rows of every kind — values with and without a 折算 value, missing
/// values, flags, sources, awkward decimal text — is upgraded, and every
/// row reads back identically, through SQL and through the storage API;
/// the keys still refuse a second row and the partial indexes are back.
async fn series_survive_the_rebuild(url: &str, raw_url: &str, backend: &str) {
    sqlx::any::install_default_drivers();
    let (before, _files) = migrator_up_to(backend, BEFORE_WITHOUT_ROWID).await;
    let pool = sqlx::AnyPool::connect(raw_url).await.unwrap();
    before.run(&pool).await.unwrap();
    pool.close().await;

    let db = Db::connect(url, &DbOptions::default()).await.unwrap();
    let actor = Actor::cli();
    let mut sites = Vec::new();
    for i in 0..3 {
        let site = db
            .monitoring()
            .create_site(
                &actor,
                &NewSite {
                    code: format!("ROWID-{i}"),
                    name: format!("重建前的站点{i}"),
                    kind: "stack_gas".into(),
                    ..NewSite::default()
                },
            )
            .await
            .unwrap();
        sites.push(site.id);
    }
    let values = [
        "12.345",
        "0",
        "-0.001",
        "1E+3",
        "007.50",
        "3.14159265358979323846",
    ];
    let mut rows: Vec<SeriesRow> = Vec::new();
    let t0 = 1_735_660_800_i64; // 2025-01-01T00:00:00Z
    for (s, &site) in sites.iter().enumerate() {
        for factor in ["a21026", "a21002", "a34013", "w01018"] {
            for (kind, step) in [("rtd", 30), ("min", 600), ("hour", 3600), ("day", 86_400)] {
                for n in 0..40_i64 {
                    let i = rows.len();
                    let value = (i % 7 != 3).then(|| values[i % values.len()].to_owned());
                    let converted = i.is_multiple_of(3).then(|| format!("{}.{}", n, s));
                    let flag = ["N", "N", "N", "D", "M", "C", "T"][i % 7].to_owned();
                    let source = ["hj212", "import", "rollup"][i % 3].to_owned();
                    rows.push((
                        site,
                        factor.to_owned(),
                        kind.to_owned(),
                        t0 + n * step,
                        value,
                        converted,
                        flag,
                        source,
                        t0 + n * step + 17,
                    ));
                }
            }
        }
    }
    let uploads: Vec<(String, String, String, i64, i64)> = (0..200)
        .map(|i| {
            (
                format!("MN{:04}", i % 5),
                ["2011", "2051", "2061"][i % 3].to_owned(),
                format!("2025010100{:02}00", i % 60),
                (i / 60) as i64,
                t0 + i as i64,
            )
        })
        .collect();
    {
        // Rows written in shuffled order, as ingestion interleaves sites.
        let mut tx = db.write_pool().begin().await.unwrap();
        // 7919 is prime and does not divide the row count (1,920): a
        // permutation.
        for i in (0..rows.len()).map(|i| (i * 7919) % rows.len()) {
            let r = &rows[i];
            sqlx::query(
                "INSERT INTO series (site_id, factor, kind, period_start, value, converted, \
                 flag, source, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(r.0)
            .bind(&r.1)
            .bind(&r.2)
            .bind(r.3)
            .bind(&r.4)
            .bind(&r.5)
            .bind(&r.6)
            .bind(&r.7)
            .bind(r.8)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        for u in &uploads {
            sqlx::query(
                "INSERT INTO hj212_uploads (mn, cn, datatime, pno, received_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&u.0)
            .bind(&u.1)
            .bind(&u.2)
            .bind(u.3)
            .bind(u.4)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    rows.sort_by(|a, b| (a.0, &a.1, &a.2, a.3).cmp(&(b.0, &b.1, &b.2, b.3)));
    let series_before: Vec<SeriesRow> = sqlx::query_as(SERIES_ALL)
        .fetch_all(db.read_pool())
        .await
        .unwrap();
    assert_eq!(series_before, rows, "the rows as written");
    let uploads_before: Vec<(String, String, String, i64, i64)> = sqlx::query_as(UPLOADS_ALL)
        .fetch_all(db.read_pool())
        .await
        .unwrap();
    assert_eq!(uploads_before.len(), uploads.len());

    db.migrate().await.unwrap();
    let applied = db.applied_migrations().await.unwrap();
    assert!(
        applied.iter().any(|(v, _)| *v == BEFORE_WITHOUT_ROWID + 1),
        "{applied:?}"
    );

    let series_after: Vec<SeriesRow> = sqlx::query_as(SERIES_ALL)
        .fetch_all(db.read_pool())
        .await
        .unwrap();
    assert_eq!(
        series_after, series_before,
        "every series row, every column"
    );
    let uploads_after: Vec<(String, String, String, i64, i64)> = sqlx::query_as(UPLOADS_ALL)
        .fetch_all(db.read_pool())
        .await
        .unwrap();
    assert_eq!(uploads_after, uploads_before, "every upload of the ledger");

    // Through the storage API, one series per kind.
    for (kind, step) in [("rtd", 30), ("min", 600), ("hour", 3600), ("day", 86_400)] {
        let points = db
            .monitoring()
            .series_points(sites[1], "a34013", kind, t0, t0 + 40 * step)
            .await
            .unwrap();
        let expected: Vec<&SeriesRow> = rows
            .iter()
            .filter(|r| r.0 == sites[1] && r.1 == "a34013" && r.2 == kind)
            .collect();
        assert_eq!(points.len(), expected.len(), "{kind}");
        for (p, r) in points.iter().zip(expected) {
            assert_eq!(p.period_start, r.3);
            assert_eq!(p.value, r.4, "kept exactly");
            assert_eq!(p.converted, r.5);
            assert_eq!(p.flag, r.6);
            assert_eq!(p.source, r.7);
        }
    }

    // The keys still hold: a second row of a key is refused or ignored.
    let r = &rows[0];
    let dup = sqlx::query(
        "INSERT INTO series (site_id, factor, kind, period_start, value, flag, source, \
         received_at) VALUES ($1, $2, $3, $4, '1', 'N', 'hj212', 0)",
    )
    .bind(r.0)
    .bind(&r.1)
    .bind(&r.2)
    .bind(r.3)
    .execute(db.write_pool())
    .await;
    assert!(dup.is_err(), "the series key refuses a second row");
    let u = &uploads[0];
    let again = sqlx::query(
        "INSERT INTO hj212_uploads (mn, cn, datatime, pno, received_at) \
         VALUES ($1, $2, $3, $4, 0) ON CONFLICT (mn, cn, datatime, pno) DO NOTHING",
    )
    .bind(&u.0)
    .bind(&u.1)
    .bind(&u.2)
    .bind(u.3)
    .execute(db.write_pool())
    .await
    .unwrap();
    assert_eq!(again.rows_affected(), 0, "a retransmission is recognised");
    let bad_kind = sqlx::query(
        "INSERT INTO series (site_id, factor, kind, period_start, flag, source, received_at) \
         VALUES ($1, 'a21026', 'week', 0, 'N', 'hj212', 0)",
    )
    .bind(sites[0])
    .execute(db.write_pool())
    .await;
    assert!(bad_kind.is_err(), "the kind check is kept");

    if backend == "sqlite" {
        let tables: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
             AND name IN ('series', 'hj212_uploads') ORDER BY name",
        )
        .fetch_all(db.read_pool())
        .await
        .unwrap();
        assert_eq!(tables.len(), 2, "{tables:?}");
        for (name, sql) in &tables {
            assert!(sql.ends_with("WITHOUT ROWID"), "{name}: {sql}");
        }
        let leftovers: Vec<(String,)> =
            sqlx::query_as("SELECT name FROM sqlite_master WHERE name LIKE '%before_0029%'")
                .fetch_all(db.read_pool())
                .await
                .unwrap();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let mut indexes: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'index' \
             AND tbl_name IN ('series', 'hj212_uploads') AND sql IS NOT NULL ORDER BY name",
        )
        .fetch_all(db.read_pool())
        .await
        .unwrap();
        indexes.sort();
        assert_eq!(
            indexes.into_iter().map(|(n,)| n).collect::<Vec<_>>(),
            [
                "hj212_uploads_received",
                "series_hour_period",
                "series_hour_received",
                "series_min_period"
            ]
        );
        let check: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(db.read_pool())
            .await
            .unwrap();
        assert_eq!(check, [("ok".to_owned(),)]);
    }
    db.close().await;
}

#[tokio::test]
async fn series_and_uploads_survive_the_without_rowid_rebuild_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("before-0029.db");
    let url = format!("sqlite://{}", file.display());
    series_survive_the_rebuild(&url, &format!("{url}?mode=rwc"), "sqlite").await;
}

#[tokio::test]
async fn series_and_uploads_survive_the_without_rowid_rebuild_postgres() {
    let Some((url, _drop)) = testing::postgres_empty().await else {
        return;
    };
    series_survive_the_rebuild(&url, &url, "postgres").await;
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
