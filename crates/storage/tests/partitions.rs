//! Monthly partitions of `series` (issue 16, migration 0033): created ahead
//! and back-filled from the default partition on PostgreSQL, dropped whole
//! for retention; no-ops on SQLite. The PostgreSQL tests are a recorded
//! skip without `GONGJIAN_TEST_POSTGRES_URL`.

use gongjian_storage::testing;
use gongjian_storage::{
    Actor, Db, IngestBatch, NewSite, RollupValue, SeriesMonth, SeriesValue, Upload,
};

const FACTOR: &str = "a21026";

fn month(year: i32, month: u32) -> SeriesMonth {
    SeriesMonth::new(year, month).unwrap()
}

fn rollup(site_id: i64, kind: &'static str, at: i64, value: &str) -> RollupValue {
    RollupValue {
        site_id,
        factor: FACTOR.into(),
        kind,
        period_start: at,
        value: Some(value.into()),
        converted: None,
        flag: "N".into(),
        day_start: None,
    }
}

async fn new_site(db: &Db) -> i64 {
    db.monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "P1".into(),
                name: "分区测试站".into(),
                kind: "stack_gas".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap()
        .id
}

/// Hourly values at the first hour, the middle and the last hour of each
/// month (the boundaries are where an off-by-one would show), and one rtd
/// value per month; the value names the month.
fn values_for(site_id: i64, months: &[SeriesMonth]) -> Vec<RollupValue> {
    let mut out = Vec::new();
    for m in months {
        let tag = m.table();
        for at in [m.start(), m.start() + 14 * 86_400, m.end() - 3600] {
            out.push(rollup(site_id, "hour", at, &format!("{tag}-{at}")));
        }
        out.push(rollup(
            site_id,
            "rtd",
            m.start() + 30,
            &format!("{tag}-rtd"),
        ));
    }
    out
}

async fn count(db: &Db, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(db.read_pool()).await.unwrap();
    n
}

/// The partitions of `series` as PostgreSQL's catalogue lists them.
async fn catalogue_partitions(db: &Db) -> Vec<String> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT c.relname::text FROM pg_inherits i \
         JOIN pg_class c ON c.oid = i.inhrelid \
         JOIN pg_class p ON p.oid = i.inhparent \
         WHERE p.relname = 'series' ORDER BY c.relname",
    )
    .fetch_all(db.read_pool())
    .await
    .unwrap();
    rows.into_iter().map(|(n,)| n).collect()
}

async fn hours(db: &Db, site_id: i64, m: SeriesMonth) -> Vec<(i64, Option<String>)> {
    db.monitoring()
        .series_points(site_id, FACTOR, "hour", m.start(), m.end())
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.period_start, p.value))
        .collect()
}

#[tokio::test]
async fn monthly_partitions_take_the_rows_and_drop_whole_months() {
    let Some(t) = testing::postgres().await else {
        return;
    };
    let db = &t.db;
    let site = new_site(db).await;
    let (jan, feb, mar, apr, may) = (
        month(2024, 1),
        month(2024, 2),
        month(2024, 3),
        month(2024, 4),
        month(2024, 5),
    );
    // Written before any monthly partition exists: all in the default one.
    let written = values_for(site, &[jan, feb, mar]);
    db.monitoring().store_rollups(&written).await.unwrap();
    // A period far ahead, beyond the partitions made below.
    let far = month(2030, 6);
    db.monitoring()
        .store_rollups(&[rollup(site, "hour", far.start(), "far")])
        .await
        .unwrap();
    assert_eq!(count(db, "SELECT COUNT(*) FROM series_default").await, 13);
    assert_eq!(
        catalogue_partitions(db).await,
        ["series_default"],
        "migration 0033 makes only the default partition"
    );

    // Mid-March (CST), two months ahead: Jan and Feb for their rows,
    // March to May for the current month and the two ahead.
    let now = mar.start() + 10 * 86_400;
    let report = db
        .partitions()
        .ensure_series_partitions(now, 2)
        .await
        .unwrap();
    assert_eq!(report.created, vec![jan, feb, mar, apr, may]);
    assert_eq!(report.rows_moved, 12);
    assert_eq!(
        db.partitions().series_partitions().await.unwrap(),
        vec![jan, feb, mar, apr, may]
    );
    assert_eq!(
        catalogue_partitions(db).await,
        [
            "series_default",
            "series_p202401",
            "series_p202402",
            "series_p202403",
            "series_p202404",
            "series_p202405"
        ]
    );
    // Each is a partition of `series` with the month's CST range.
    let (bound,): (String,) = sqlx::query_as(
        "SELECT pg_get_expr(c.relpartbound, c.oid)::text FROM pg_class c \
         WHERE c.relname = 'series_p202402'",
    )
    .fetch_one(db.read_pool())
    .await
    .unwrap();
    assert_eq!(
        bound,
        format!("FOR VALUES FROM ('{}') TO ('{}')", feb.start(), feb.end())
    );
    // Every row moved into its month; only the far one is left behind.
    for (m, n) in [(jan, 4), (feb, 4), (mar, 4), (apr, 0), (may, 0)] {
        assert_eq!(
            count(db, &format!("SELECT COUNT(*) FROM {}", m.table())).await,
            n,
            "{m}"
        );
    }
    assert_eq!(count(db, "SELECT COUNT(*) FROM series_default").await, 1);
    assert_eq!(
        count(
            db,
            &format!(
                "SELECT COUNT(*) FROM series_default WHERE period_start >= {} \
                 AND period_start < {}",
                jan.start(),
                may.end()
            )
        )
        .await,
        0
    );
    // The range CHECK used for the attach is gone; the kind CHECK stays.
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM pg_constraint WHERE conname = 'series_p202402_range'"
        )
        .await,
        0
    );
    // Every row still reads back through the storage API, value for value.
    for m in [jan, feb, mar] {
        let tag = m.table();
        let expected: Vec<(i64, Option<String>)> =
            [m.start(), m.start() + 14 * 86_400, m.end() - 3600]
                .into_iter()
                .map(|at| (at, Some(format!("{tag}-{at}"))))
                .collect();
        assert_eq!(hours(db, site, m).await, expected, "{m}");
        let rtd = db
            .monitoring()
            .series_points(site, FACTOR, "rtd", m.start(), m.end())
            .await
            .unwrap();
        assert_eq!(rtd.len(), 1, "{m}");
        assert_eq!(rtd[0].value.as_deref(), Some(format!("{tag}-rtd").as_str()));
    }
    assert_eq!(hours(db, site, far).await.len(), 1);

    // A second run finds everything in place.
    let again = db
        .partitions()
        .ensure_series_partitions(now, 2)
        .await
        .unwrap();
    assert!(again.created.is_empty(), "{again:?}");
    assert_eq!(again.rows_moved, 0);

    // An upsert of a moved row conflicts on the partitioned table's key and
    // replaces the value; nothing is stored twice.
    let at = feb.start() + 14 * 86_400;
    db.monitoring()
        .store_rollups(&[rollup(site, "hour", at, "replaced")])
        .await
        .unwrap();
    let feb_hours = hours(db, site, feb).await;
    assert_eq!(feb_hours.len(), 3);
    assert!(feb_hours.contains(&(at, Some("replaced".into()))));
    assert_eq!(count(db, "SELECT COUNT(*) FROM series_p202402").await, 4);
    // So does the HJ 212 write path (its own upsert statements).
    let upload = Upload {
        mn: "MNP1".into(),
        cn: "2061".into(),
        datatime: "20240215000000".into(),
        pno: 0,
        site_id: site,
        values: vec![SeriesValue {
            factor: FACTOR.into(),
            kind: "hour",
            period_start: at,
            value: Some("7.5".into()),
            converted: None,
            flag: "N".into(),
        }],
    };
    db.monitoring()
        .commit_ingest(&IngestBatch {
            uploads: vec![upload],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    assert_eq!(hours(db, site, feb).await.len(), 3);
    assert_eq!(count(db, "SELECT COUNT(*) FROM series_p202402").await, 4);
    // A plain second insert of an existing key is refused.
    let dup = sqlx::query(&format!(
        "INSERT INTO series (site_id, factor, kind, period_start, flag, source, received_at) \
         VALUES ({site}, '{FACTOR}', 'hour', {at}, 'N', 'import', 0)"
    ))
    .execute(db.write_pool())
    .await;
    assert!(dup.is_err(), "the key refuses a second row");
    // The foreign key to `sites` holds on the partitioned table.
    let orphan = sqlx::query(&format!(
        "INSERT INTO series (site_id, factor, kind, period_start, flag, source, received_at) \
         VALUES (987654, '{FACTOR}', 'hour', {}, 'N', 'import', 0)",
        apr.start()
    ))
    .execute(db.write_pool())
    .await;
    assert!(orphan.is_err(), "a series row needs its site");
    // New rows go straight to their month.
    db.monitoring()
        .store_rollups(&[rollup(site, "hour", apr.start() + 3600, "april")])
        .await
        .unwrap();
    let (home,): (String,) = sqlx::query_as(&format!(
        "SELECT tableoid::regclass::text FROM series WHERE period_start = {}",
        apr.start() + 3600
    ))
    .fetch_one(db.read_pool())
    .await
    .unwrap();
    assert_eq!(home, "series_p202404");

    // Retention before February: January goes, with its rows, nothing else.
    let dropped = db
        .partitions()
        .drop_series_partitions_before(feb.start())
        .await
        .unwrap();
    assert_eq!(dropped, vec![jan]);
    assert!(hours(db, site, jan).await.is_empty());
    let rtd_jan = db
        .monitoring()
        .series_points(site, FACTOR, "rtd", jan.start(), jan.end())
        .await
        .unwrap();
    assert!(rtd_jan.is_empty());
    assert_eq!(hours(db, site, feb).await.len(), 3);
    assert_eq!(hours(db, site, mar).await.len(), 3);
    assert_eq!(hours(db, site, far).await.len(), 1);
    assert_eq!(
        db.partitions().series_partitions().await.unwrap(),
        vec![feb, mar, apr, may]
    );
    // A month not entirely before the cut-off stays.
    let none = db
        .partitions()
        .drop_series_partitions_before(mar.start() - 1)
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
    // A dropped month without rows is not made again.
    let later = db
        .partitions()
        .ensure_series_partitions(now, 2)
        .await
        .unwrap();
    assert!(later.created.is_empty(), "{later:?}");
    // Time moves on: the months ahead follow.
    let june = db
        .partitions()
        .ensure_series_partitions(may.start() + 86_400, 1)
        .await
        .unwrap();
    assert_eq!(june.created, vec![month(2024, 6)]);
}

/// A month whose rows arrive late (after the months around it were
/// partitioned) lands in the default partition and gets its own partition
/// on the next run.
#[tokio::test]
async fn a_late_month_is_moved_on_the_next_run() {
    let Some(t) = testing::postgres().await else {
        return;
    };
    let db = &t.db;
    let site = new_site(db).await;
    let (oct, nov) = (month(2023, 10), month(2023, 11));
    let now = month(2024, 3).start();
    let first = db
        .partitions()
        .ensure_series_partitions(now, 0)
        .await
        .unwrap();
    assert_eq!(first.created, vec![month(2024, 3)]);
    assert_eq!(first.rows_moved, 0);
    // An import of old data: no partition yet, so the default takes it.
    db.monitoring()
        .store_rollups(&values_for(site, &[oct, nov]))
        .await
        .unwrap();
    assert_eq!(count(db, "SELECT COUNT(*) FROM series_default").await, 8);
    let next = db
        .partitions()
        .ensure_series_partitions(now, 0)
        .await
        .unwrap();
    assert_eq!(next.created, vec![oct, nov]);
    assert_eq!(next.rows_moved, 8);
    assert_eq!(count(db, "SELECT COUNT(*) FROM series_default").await, 0);
    assert_eq!(hours(db, site, oct).await.len(), 3);
    assert_eq!(hours(db, site, nov).await.len(), 3);
    // December had no rows and is not partitioned.
    assert_eq!(
        db.partitions().series_partitions().await.unwrap(),
        vec![oct, nov, month(2024, 3)]
    );
}

#[tokio::test]
async fn sqlite_keeps_one_table_and_the_functions_do_nothing() {
    let t = testing::sqlite().await;
    let db = &t.db;
    let site = new_site(db).await;
    let (jan, feb, mar) = (month(2024, 1), month(2024, 2), month(2024, 3));
    db.monitoring()
        .store_rollups(&values_for(site, &[jan, feb, mar]))
        .await
        .unwrap();
    let now = mar.start() + 10 * 86_400;
    let report = db
        .partitions()
        .ensure_series_partitions(now, 2)
        .await
        .unwrap();
    assert!(report.created.is_empty());
    assert_eq!(report.rows_moved, 0);
    assert!(
        db.partitions()
            .series_partitions()
            .await
            .unwrap()
            .is_empty()
    );
    let dropped = db
        .partitions()
        .drop_series_partitions_before(mar.end())
        .await
        .unwrap();
    assert!(dropped.is_empty());
    for m in [jan, feb, mar] {
        assert_eq!(hours(db, site, m).await.len(), 3, "{m}");
    }
    assert_eq!(count(db, "SELECT COUNT(*) FROM series").await, 12);
}
