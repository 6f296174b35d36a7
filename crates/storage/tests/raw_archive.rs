//! The raw HJ 212 archive packed in compressed blocks (migration 0032), on
//! SQLite and (when `GONGJIAN_TEST_POSTGRES_URL` is set) PostgreSQL.

use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{ArchivedFrame, Db, StorageError};

/// Insert one raw row as `commit_ingest` would, at `at`; returns its id.
async fn raw(
    db: &Db,
    at: i64,
    mn: Option<&str>,
    frame: &[u8],
    outcome: &str,
    error: Option<&str>,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO hj212_raw (received_at, peer, mn, cn, frame, outcome, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(at)
    .bind("192.0.2.7:40001")
    .bind(mn)
    .bind(mn.map(|_| "2011"))
    .bind(frame.to_vec())
    .bind(outcome)
    .bind(error)
    .fetch_one(db.write_pool())
    .await
    .unwrap()
}

async fn rows_left(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) AS n FROM hj212_raw")
        .fetch_one(db.read_pool())
        .await
        .unwrap()
}

async fn blocks(db: &Db) -> i64 {
    db.raw_archive().block_stats().await.unwrap().0
}

/// MN, frame, outcome, error.
type Awkward = (
    Option<&'static str>,
    Vec<u8>,
    &'static str,
    Option<&'static str>,
);

/// Awkward frames: binary with NUL and 0xFF, GBK text, empty and missing
/// error, no MN, an empty frame, a long frame.
fn awkward() -> Vec<Awkward> {
    // "##0040QN=…;CP=&&名称=测试&&" with 测试 in GBK.
    let mut gbk = b"##0040ST=32;CN=2011;MN=GBK01;CP=&&a=".to_vec();
    gbk.extend_from_slice(&[0xB2, 0xE2, 0xCA, 0xD4]);
    gbk.extend_from_slice(b"&&ABCD\r\n");
    let long: Vec<u8> = (0..60_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    vec![
        (
            Some("MN0001"),
            vec![0, 1, 2, 0xff, 0xfe, b'#', b'\r', b'\n'],
            "rejected",
            Some("CRC 校验失败"),
        ),
        (Some("GBK01"), gbk, "ok", None),
        (Some("MN0001"), b"##0000\r\n".to_vec(), "other", Some("")),
        (None, Vec::new(), "rejected", Some("no MN")),
        (Some("MN0002"), long, "duplicate", None),
    ]
}

async fn awkward_frames_round_trip_through_blocks(t: TestDb) {
    let db = t.db.clone();
    let mut expected = Vec::new();
    for (i, (mn, frame, outcome, error)) in awkward().into_iter().enumerate() {
        let at = 1_000 + i as i64;
        let id = raw(&db, at, mn, &frame, outcome, error).await;
        expected.push(ArchivedFrame {
            id,
            received_at: at,
            peer: "192.0.2.7:40001".into(),
            mn: mn.map(str::to_owned),
            cn: mn.map(|_| "2011".to_owned()),
            frame,
            outcome: outcome.into(),
            error: error.map(str::to_owned),
        });
    }
    // One row stays unpacked: newer than the cut-off.
    let fresh = raw(&db, 5_000, Some("MN0001"), b"fresh", "ok", None).await;
    let before = db
        .raw_archive()
        .raw_frames(None, 0, 10_000, 100)
        .await
        .unwrap();

    // Blocks of 2 frames: 3 blocks for 5 rows.
    let report = db.raw_archive().pack_raw(2_000, 2).await.unwrap();
    assert_eq!((report.blocks, report.frames, report.duplicates), (3, 5, 0));
    assert_eq!(rows_left(&db).await, 1);
    assert_eq!(blocks(&db).await, 3);

    let all = db
        .raw_archive()
        .raw_frames(None, 0, 10_000, 100)
        .await
        .unwrap();
    assert_eq!(all, before, "packing changes nothing a reader sees");
    assert_eq!(&all[..5], &expected[..]);
    assert_eq!(all[5].id, fresh);

    // Filters: by MN, by time, by limit.
    let mn1 = db
        .raw_archive()
        .raw_frames(Some("MN0001"), 0, 10_000, 100)
        .await
        .unwrap();
    assert_eq!(
        mn1.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![expected[0].id, expected[2].id, fresh]
    );
    let window = db
        .raw_archive()
        .raw_frames(None, 1_001, 1_003, 100)
        .await
        .unwrap();
    assert_eq!(window, expected[1..3].to_vec());
    let first_two = db
        .raw_archive()
        .raw_frames(None, 0, 10_000, 2)
        .await
        .unwrap();
    assert_eq!(first_two, expected[..2].to_vec());
}
on_both_backends!(awkward_frames_round_trip_through_blocks);

async fn packing_is_idempotent(t: TestDb) {
    let db = t.db.clone();
    for i in 0..10 {
        raw(
            &db,
            100 + i,
            Some("MN1"),
            format!("frame {i}").as_bytes(),
            "ok",
            None,
        )
        .await;
    }
    let first = db.raw_archive().pack_raw(1_000, 4).await.unwrap();
    assert_eq!((first.blocks, first.frames), (3, 10));
    assert!(first.body_bytes > 0 && first.payload_bytes > 0);
    let again = db.raw_archive().pack_raw(1_000, 4).await.unwrap();
    assert_eq!(again, Default::default(), "nothing left to pack");
    assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 10);
    assert_eq!(blocks(&db).await, 3);
}
on_both_backends!(packing_is_idempotent);

/// Two packers at once (NATS writers each run the job; the job overlapping
/// a `gongjian raw pack`): they read and compress outside the write, so the
/// second finds rows the first took and reads again — every frame ends in
/// exactly one block.
async fn two_packers_at_once_pack_each_frame_once(t: TestDb) {
    let db = t.db.clone();
    for i in 0..200 {
        raw(
            &db,
            100 + i,
            Some("MN1"),
            format!("frame {i}").as_bytes(),
            "ok",
            None,
        )
        .await;
    }
    let (one, two) = (db.raw_archive(), db.raw_archive());
    let (a, b) = tokio::join!(one.pack_raw(1_000, 16), two.pack_raw(1_000, 16));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.frames + b.frames, 200, "{a:?} {b:?}");
    assert_eq!(rows_left(&db).await, 0);
    let frames = db
        .raw_archive()
        .raw_frames(None, 0, 1_000, 1_000)
        .await
        .unwrap();
    let ids: std::collections::BTreeSet<i64> = frames.iter().map(|f| f.id).collect();
    assert_eq!((frames.len(), ids.len()), (200, 200));
    assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 200);
}
on_both_backends!(two_packers_at_once_pack_each_frame_once);

async fn a_block_and_its_leftover_rows_are_not_duplicated(t: TestDb) {
    let db = t.db.clone();
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            raw(
                &db,
                100 + i,
                Some("MN1"),
                format!("frame {i}").as_bytes(),
                "ok",
                None,
            )
            .await,
        );
    }
    db.raw_archive().pack_raw(1_000, 100).await.unwrap();
    // Crash-like: the rows of the block come back (a restored table), and
    // one new row with an id inside the block's range that is not in it.
    let (body, first_id, last_id): (Vec<u8>, i64, i64) =
        sqlx::query_as("SELECT body, first_id, last_id FROM hj212_raw_blocks")
            .fetch_one(db.read_pool())
            .await
            .unwrap();
    assert_eq!((first_id, last_id), (ids[0], ids[5]));
    for (i, id) in ids.iter().enumerate() {
        if i == 3 {
            continue;
        }
        sqlx::query(
            "INSERT INTO hj212_raw (id, received_at, peer, mn, cn, frame, outcome, error) \
         VALUES ($1, $2, '192.0.2.7:40001', 'MN1', '2011', $3, 'ok', NULL)",
        )
        .bind(*id)
        .bind(100 + i as i64)
        .bind(format!("frame {i}").into_bytes())
        .execute(db.write_pool())
        .await
        .unwrap();
    }
    assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 11);
    // Readers already drop the duplicates by id.
    let seen = db
        .raw_archive()
        .raw_frames(None, 0, 1_000, 100)
        .await
        .unwrap();
    assert_eq!(seen.iter().map(|f| f.id).collect::<Vec<_>>(), ids);

    let report = db.raw_archive().pack_raw(1_000, 100).await.unwrap();
    assert_eq!((report.blocks, report.frames, report.duplicates), (0, 0, 5));
    assert_eq!(rows_left(&db).await, 0);
    assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 6);
    let after = db
        .raw_archive()
        .raw_frames(None, 0, 1_000, 100)
        .await
        .unwrap();
    assert_eq!(after, seen);
    let body_after: Vec<u8> = sqlx::query_scalar("SELECT body FROM hj212_raw_blocks")
        .fetch_one(db.read_pool())
        .await
        .unwrap();
    assert_eq!(body_after, body);
}
on_both_backends!(a_block_and_its_leftover_rows_are_not_duplicated);

async fn count_and_purge_see_rows_and_blocks(t: TestDb) {
    let db = t.db.clone();
    for i in 0..5 {
        raw(&db, 100 + i, Some("MN1"), b"old", "ok", None).await;
    }
    for i in 0..5 {
        raw(&db, 200 + i, Some("MN1"), b"mid", "ok", None).await;
    }
    db.raw_archive().pack_raw(300, 5).await.unwrap();
    for i in 0..3 {
        raw(&db, 400 + i, Some("MN1"), b"new", "ok", None).await;
    }
    assert_eq!(blocks(&db).await, 2);
    assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 13);

    // Whole blocks only: frames 100..=103 are older than 104, but their
    // block's newest frame is not.
    assert_eq!(db.monitoring().purge_raw_before(104).await.unwrap(), 0);
    assert_eq!(db.monitoring().purge_raw_before(105).await.unwrap(), 5);
    assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 8);
    assert_eq!(db.monitoring().purge_raw_before(401).await.unwrap(), 6);
    assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 2);
    assert_eq!(blocks(&db).await, 0);
    let left = db
        .raw_archive()
        .raw_frames(None, 0, 1_000, 100)
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|f| f.received_at).collect::<Vec<_>>(),
        vec![401, 402]
    );
}
on_both_backends!(count_and_purge_see_rows_and_blocks);

async fn a_corrupted_block_is_a_clear_error(t: TestDb) {
    let db = t.db.clone();
    for i in 0..3 {
        raw(&db, 100 + i, Some("MN1"), b"frame", "ok", None).await;
    }
    db.raw_archive().pack_raw(1_000, 100).await.unwrap();
    let body: Vec<u8> = sqlx::query_scalar("SELECT body FROM hj212_raw_blocks")
        .fetch_one(db.read_pool())
        .await
        .unwrap();
    let tampered: Vec<Vec<u8>> = vec![
        body[..body.len() / 2].to_vec(),
        body.iter().map(|b| b ^ 0x55).collect(),
        b"not a block".to_vec(),
        Vec::new(),
    ];
    for bad in tampered {
        sqlx::query("UPDATE hj212_raw_blocks SET body = $1")
            .bind(bad)
            .execute(db.write_pool())
            .await
            .unwrap();
        match db.raw_archive().raw_frames(None, 0, 1_000, 100).await {
            Err(e @ StorageError::Corrupt(_)) => {
                assert!(e.to_string().contains("hj212_raw_blocks"), "{e}");
                assert!(e.user_message().contains("数据损坏"));
            }
            other => panic!("expected a corrupt-data error, got {other:?}"),
        }
    }
    sqlx::query("UPDATE hj212_raw_blocks SET body = $1, codec = 'lz4'")
        .bind(body)
        .execute(db.write_pool())
        .await
        .unwrap();
    let err = db
        .raw_archive()
        .raw_frames(None, 0, 1_000, 100)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("codec"), "{err}");
    // Counting does not decode and still works.
    assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 3);
}
on_both_backends!(a_corrupted_block_is_a_clear_error);
