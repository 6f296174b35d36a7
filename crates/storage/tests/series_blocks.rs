//! Minute and real-time values of closed days packed into day blocks
//! (migration 0034), on SQLite and (when `GONGJIAN_TEST_POSTGRES_URL` is
//! set) PostgreSQL: reads give the same values before and after packing, a
//! late row wins over its packed value, and packing twice or two packers
//! at once store every value once.

use gongjian_standards::cst::local_day_start;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, Db, NewSite, SeriesPoint, SeriesValue, on_both_backends};

/// 2026-03-01 00:00 CST.
const DAY1: i64 = 1_772_294_400;
const DAY: i64 = 86_400;

async fn site(db: &Db, code: &str) -> i64 {
    db.monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: code.into(),
                name: format!("站点{code}"),
                kind: "stack_gas".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap()
        .id
}

/// One `series` row as `commit_ingest` stores it.
#[allow(clippy::too_many_arguments)]
async fn row(
    db: &Db,
    site: i64,
    factor: &str,
    kind: &str,
    at: i64,
    value: Option<&str>,
    flag: &str,
) {
    sqlx::query(
        "INSERT INTO series (site_id, factor, kind, period_start, value, converted, flag, \
         source, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'hj212', $8) \
         ON CONFLICT (site_id, factor, kind, period_start) DO UPDATE SET value = excluded.value, \
         converted = excluded.converted, \
         flag = excluded.flag, received_at = excluded.received_at",
    )
    .bind(site)
    .bind(factor)
    .bind(kind)
    .bind(at)
    .bind(value)
    .bind(value.map(|v| format!("{v}0")))
    .bind(flag)
    .bind(at + 61)
    .execute(db.write_pool())
    .await
    .unwrap();
}

/// Three days of minute values every 10 minutes, real-time values every
/// 30 s on the first two hours of each day, and hourly values.
async fn three_days(db: &Db, site: i64) {
    for d in 0..3 {
        let day = DAY1 + d * DAY;
        for m in (0..1440).step_by(10) {
            let v = format!("{}.{}", (m * 7 + d) % 113, m % 10);
            let flag = if m % 50 == 0 { "D" } else { "N" };
            row(db, site, "a34013", "min", day + m * 60, Some(&v), flag).await;
        }
        row(db, site, "a34013", "min", day + 5 * 60, None, "N").await;
        for s in (0..7200).step_by(30) {
            row(
                db,
                site,
                "a21026",
                "rtd",
                day + s,
                Some(&format!("{}", s % 77)),
                "N",
            )
            .await;
        }
        for h in 0..24 {
            row(
                db,
                site,
                "a34013",
                "hour",
                day + h * 3600,
                Some("12.5"),
                "N",
            )
            .await;
        }
    }
}

async fn points(db: &Db, site: i64, factor: &str, kind: &str) -> Vec<SeriesPoint> {
    db.monitoring()
        .series_points(site, factor, kind, DAY1 - DAY, DAY1 + 4 * DAY)
        .await
        .unwrap()
}

async fn rows_of(db: &Db, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) AS n FROM series WHERE kind = $1")
        .bind(kind)
        .fetch_one(db.read_pool())
        .await
        .unwrap()
}

type Snapshot = [Vec<SeriesPoint>; 3];

async fn snapshot(db: &Db, site: i64) -> Snapshot {
    [
        points(db, site, "a34013", "min").await,
        points(db, site, "a21026", "rtd").await,
        points(db, site, "a34013", "hour").await,
    ]
}

async fn closed_days_are_packed_and_read_back_the_same(t: TestDb) {
    let db = t.db.clone();
    let s = site(&db, "S1").await;
    three_days(&db, s).await;
    let before = snapshot(&db, s).await;
    assert_eq!(before[0].len(), 3 * 145);
    assert_eq!(before[1].len(), 3 * 240);

    // The third day has not ended an hour ago: it stays rows.
    let report = db
        .series_blocks()
        .pack_series(DAY1 + 2 * DAY + 3600)
        .await
        .unwrap();
    assert_eq!(report.values, 2 * 145 + 2 * 240);
    assert_eq!(report.blocks, 4);
    assert_eq!(rows_of(&db, "min").await, 145);
    assert_eq!(rows_of(&db, "rtd").await, 240);
    assert_eq!(rows_of(&db, "hour").await, 72);
    assert_eq!(snapshot(&db, s).await, before);

    // A range inside a packed day and across the packed/unpacked edge.
    let inside = db
        .monitoring()
        .series_points(s, "a34013", "min", DAY1 + 600, DAY1 + 1800)
        .await
        .unwrap();
    assert_eq!(
        inside.iter().map(|p| p.period_start).collect::<Vec<_>>(),
        [DAY1 + 600, DAY1 + 1200]
    );
    let edge = db
        .monitoring()
        .series_points(
            s,
            "a34013",
            "min",
            DAY1 + 2 * DAY - 1200,
            DAY1 + 2 * DAY + 601,
        )
        .await
        .unwrap();
    assert_eq!(edge.len(), 5); // -20, -10 min; 0, 5 (no value), 10 min

    // Packing again finds nothing; packing everything takes the third day.
    let again = db
        .series_blocks()
        .pack_series(DAY1 + 2 * DAY + 3600)
        .await
        .unwrap();
    assert_eq!(again.values, 0);
    db.series_blocks()
        .pack_series(DAY1 + 4 * DAY)
        .await
        .unwrap();
    assert_eq!(rows_of(&db, "min").await + rows_of(&db, "rtd").await, 0);
    assert_eq!(snapshot(&db, s).await, before);
    let (blocks, values, bytes) = db.series_blocks().block_stats().await.unwrap();
    assert_eq!((blocks, values), (6, 3 * 145 + 3 * 240));
    assert!(
        bytes > 0 && bytes < values * 8,
        "{bytes} bytes for {values} values"
    );
}
on_both_backends!(closed_days_are_packed_and_read_back_the_same);

/// A backlog upload or an import for a packed day: the new row wins at
/// once, and the next pass merges it into the block.
async fn a_late_row_wins_over_its_packed_value(t: TestDb) {
    let db = t.db.clone();
    let s = site(&db, "S1").await;
    three_days(&db, s).await;
    db.series_blocks()
        .pack_series(DAY1 + 2 * DAY + 3600)
        .await
        .unwrap();
    let at = DAY1 + 600;
    row(&db, s, "a34013", "min", at, Some("99.9"), "N").await;
    row(&db, s, "a34013", "min", at + 60, Some("1.0"), "N").await;
    let value_at = |pts: &[SeriesPoint], t: i64| {
        pts.iter()
            .find(|p| p.period_start == t)
            .and_then(|p| p.value.clone())
    };
    let merged = points(&db, s, "a34013", "min").await;
    assert_eq!(merged.len(), 3 * 145 + 1);
    assert_eq!(value_at(&merged, at).as_deref(), Some("99.9"));
    assert_eq!(value_at(&merged, at + 60).as_deref(), Some("1.0"));

    let report = db
        .series_blocks()
        .pack_series(DAY1 + 2 * DAY + 3600)
        .await
        .unwrap();
    assert_eq!((report.values, report.blocks), (2, 1));
    assert_eq!(points(&db, s, "a34013", "min").await, merged);
    assert_eq!(rows_of(&db, "min").await, 145);
}
on_both_backends!(a_late_row_wins_over_its_packed_value);

/// A key read in pieces (a backlog larger than one read): each piece
/// merges into the block of the day the previous one left half-read.
async fn days_packed_in_pieces_read_back_the_same(t: TestDb) {
    let db = t.db.clone();
    let s = site(&db, "S1").await;
    three_days(&db, s).await;
    let before = snapshot(&db, s).await;
    let report = db
        .series_blocks()
        .pack_series_in_steps(DAY1 + 4 * DAY, 3, 50)
        .await
        .unwrap();
    assert_eq!(report.values, 3 * (145 + 240));
    assert_eq!(rows_of(&db, "min").await + rows_of(&db, "rtd").await, 0);
    assert_eq!(db.series_blocks().block_stats().await.unwrap().0, 6);
    assert_eq!(snapshot(&db, s).await, before);
}
on_both_backends!(days_packed_in_pieces_read_back_the_same);

/// A damaged block keeps its day's rows and holds up no other key.
async fn a_damaged_block_holds_up_no_other_key(t: TestDb) {
    let db = t.db.clone();
    let (s1, s2) = (site(&db, "S1").await, site(&db, "S2").await);
    for s in [s1, s2] {
        row(&db, s, "a34013", "min", DAY1, Some("1.0"), "N").await;
    }
    db.series_blocks()
        .pack_series(DAY1 + 2 * DAY)
        .await
        .unwrap();
    sqlx::query("UPDATE series_blocks SET body = $1 WHERE site_id = $2")
        .bind(b"not zstd".to_vec())
        .bind(s1)
        .execute(db.write_pool())
        .await
        .unwrap();
    for s in [s1, s2] {
        row(&db, s, "a34013", "min", DAY1 + 60, Some("2.0"), "N").await;
    }
    let report = db
        .series_blocks()
        .pack_series(DAY1 + 2 * DAY)
        .await
        .unwrap();
    assert_eq!(report.values, 1);
    let left: Vec<i64> = sqlx::query_scalar("SELECT site_id FROM series WHERE kind = 'min'")
        .fetch_all(db.read_pool())
        .await
        .unwrap();
    assert_eq!(left, [s1]);
    assert_eq!(points(&db, s2, "a34013", "min").await.len(), 2);
    let err = db
        .monitoring()
        .series_points(s1, "a34013", "min", DAY1, DAY1 + DAY)
        .await
        .unwrap_err();
    assert!(
        matches!(err, gongjian_storage::StorageError::Corrupt(_)),
        "{err}"
    );
}
on_both_backends!(a_damaged_block_holds_up_no_other_key);

/// Late values for packed days arriving while the packer runs: every one
/// is read back, and nothing else changes.
async fn values_written_while_packing_are_kept(t: TestDb) {
    let db = t.db.clone();
    let s = site(&db, "S1").await;
    three_days(&db, s).await;
    let before = snapshot(&db, s).await;
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            for i in 0..150 {
                row(
                    &db,
                    s,
                    "a34013",
                    "min",
                    DAY1 + i * 60,
                    Some(&format!("late{i}")),
                    "N",
                )
                .await;
                tokio::task::yield_now().await;
            }
        })
    };
    let packer = {
        let db = db.clone();
        tokio::spawn(async move {
            for _ in 0..30 {
                db.series_blocks()
                    .pack_series_in_steps(DAY1 + 4 * DAY, 3, 40)
                    .await
                    .unwrap();
            }
        })
    };
    writer.await.unwrap();
    packer.await.unwrap();
    db.series_blocks()
        .pack_series(DAY1 + 4 * DAY)
        .await
        .unwrap();
    let after = points(&db, s, "a34013", "min").await;
    let mut expected = before[0].clone();
    for i in 0..150 {
        let at = DAY1 + i * 60;
        match expected.iter_mut().find(|p| p.period_start == at) {
            Some(p) => {
                p.value = Some(format!("late{i}"));
                p.converted = Some(format!("late{i}0"));
                p.flag = "N".into();
            }
            None => expected.push(SeriesPoint {
                period_start: at,
                value: Some(format!("late{i}")),
                converted: Some(format!("late{i}0")),
                flag: "N".into(),
                source: "hj212".into(),
            }),
        }
    }
    expected.sort_by_key(|p| p.period_start);
    assert_eq!(after, expected);
    assert_eq!(points(&db, s, "a21026", "rtd").await, before[1]);
}
on_both_backends!(flavor = "multi_thread"; values_written_while_packing_are_kept);

/// Two packers at once (each NATS writer runs the job; the job and a
/// `gongjian series pack`): every value ends in one block, once.
async fn two_packers_at_once_store_each_value_once(t: TestDb) {
    let db = t.db.clone();
    let s = site(&db, "S1").await;
    let s2 = site(&db, "S2").await;
    three_days(&db, s).await;
    three_days(&db, s2).await;
    let before = (snapshot(&db, s).await, snapshot(&db, s2).await);
    let (one, two) = (db.series_blocks(), db.series_blocks());
    let (a, b) = tokio::join!(
        one.pack_series(DAY1 + 4 * DAY),
        two.pack_series(DAY1 + 4 * DAY)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.values + b.values, 2 * 3 * (145 + 240));
    let (_, values, _) = db.series_blocks().block_stats().await.unwrap();
    assert_eq!(values, 2 * 3 * (145 + 240));
    assert_eq!((snapshot(&db, s).await, snapshot(&db, s2).await), before);
}
on_both_backends!(flavor = "multi_thread"; two_packers_at_once_store_each_value_once);

/// Re-importing meter minutes of a packed day writes nothing (the packed
/// value stands in for the row); a changed value is written and wins.
async fn reimporting_a_packed_day_writes_nothing(t: TestDb) {
    let db = t.db.clone();
    let s = site(&db, "M1").await;
    let reading = |m: i64, v: &str| {
        (
            s,
            SeriesValue {
                factor: "Pt".into(),
                kind: "min",
                period_start: DAY1 + m * 60,
                value: Some(v.into()),
                converted: None,
                flag: "N".into(),
            },
        )
    };
    let file: Vec<_> = (0..3).map(|m| reading(m, "41.5")).collect();
    let first = db
        .power()
        .store_readings(&Actor::cli(), "a.csv", &file)
        .await
        .unwrap();
    assert_eq!((first.written, first.unchanged), (3, 0));
    db.series_blocks()
        .pack_series(DAY1 + 2 * DAY)
        .await
        .unwrap();
    assert_eq!(rows_of(&db, "min").await, 0);
    let again = db
        .power()
        .store_readings(&Actor::cli(), "a.csv", &file)
        .await
        .unwrap();
    assert_eq!((again.written, again.unchanged), (0, 3));
    assert_eq!(rows_of(&db, "min").await, 0);
    let changed = db
        .power()
        .store_readings(
            &Actor::cli(),
            "b.csv",
            &[reading(1, "40.0"), reading(2, "41.5")],
        )
        .await
        .unwrap();
    assert_eq!((changed.written, changed.unchanged), (1, 1));
    let values: Vec<_> = db
        .monitoring()
        .series_points(s, "Pt", "min", DAY1, DAY1 + DAY)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.value.unwrap())
        .collect();
    assert_eq!(values, ["41.5", "40.0", "41.5"]);
}
on_both_backends!(reimporting_a_packed_day_writes_nothing);

#[test]
fn packing_days_are_china_standard_time_days() {
    assert_eq!(local_day_start(DAY1 + 3), DAY1);
    assert_eq!(local_day_start(DAY1 - 1), DAY1 - DAY);
}
