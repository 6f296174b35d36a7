//! Background jobs, each tick called directly, on SQLite and (when
//! `GONGJIAN_TEST_POSTGRES_URL` is set) PostgreSQL; and the rollup-queue
//! kill test: a process killed with SIGKILL between computing rollups and
//! storing them loses no derived period.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gongjian_app::jobs::{self, Job, Rollups, SessionPurge};
use gongjian_standards::cst::local_day_start;
use gongjian_storage::testing::{self, TestDb};
use gongjian_storage::{
    Actor, Db, DbOptions, Device, IngestBatch, NewSite, NewUser, OrgKind, Role, SeriesValue,
    SessionLimits, Upload,
};

/// 2024-01-02 00:00 China Standard Time.
const DAY: i64 = 1_704_124_800;
const FACTORS: [&str; 2] = ["a21026", "a21002"];
/// Hours with minute data: three on the first day, two on the next.
const HOURS: [i64; 5] = [
    DAY + 8 * 3600,
    DAY + 9 * 3600,
    DAY + 10 * 3600,
    DAY + 86_400 + 8 * 3600,
    DAY + 86_400 + 9 * 3600,
];

/// A test database (kept alive by the test's [`TestDb`]) and its URL.
#[derive(Clone)]
struct Fx {
    db: Db,
    url: String,
}

impl Fx {
    fn of(t: &TestDb) -> Fx {
        Fx {
            db: t.db.clone(),
            url: t.url.clone(),
        }
    }
}

macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let t = testing::sqlite().await;
                ($body)(Fx::of(&t)).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(t) = testing::postgres().await {
                    ($body)(Fx::of(&t)).await;
                }
            }
        }
    };
}

/// A stack with a 10-minute logger and six minute records in every hour of
/// [`HOURS`] for both factors, committed as the HJ 212 writer does.
async fn minute_data(db: &Db) -> i64 {
    let site = db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "J1".into(),
                name: "jobs".into(),
                kind: "stack_gas".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    db.monitoring()
        .upsert_device(&Actor::cli(), &Device::new("JOBS0001", "123456", site.id))
        .await
        .unwrap();
    let mut uploads = Vec::new();
    for hour in HOURS {
        for m in 0..6 {
            let start = hour + m * 600;
            uploads.push(Upload {
                mn: "JOBS0001".into(),
                cn: "2051".into(),
                datatime: start.to_string(),
                pno: 0,
                site_id: site.id,
                values: FACTORS
                    .iter()
                    .map(|f| SeriesValue {
                        factor: (*f).into(),
                        kind: "min",
                        period_start: start,
                        value: Some(format!("{}", 10 + m)),
                        converted: None,
                        flag: "N".into(),
                    })
                    .collect(),
            });
        }
    }
    db.monitoring()
        .commit_ingest(&IngestBatch {
            uploads,
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    site.id
}

/// The derived periods missing: every hour of [`HOURS`] and both days, for
/// both factors.
async fn missing_derived(db: &Db, site: i64) -> Vec<String> {
    let mut missing = Vec::new();
    for f in FACTORS {
        let hours = db
            .monitoring()
            .series_points(site, f, "hour", DAY, DAY + 2 * 86_400)
            .await
            .unwrap();
        for h in HOURS {
            if !hours.iter().any(|p| p.period_start == h && p.flag == "N") {
                missing.push(format!("{f} hour {h}"));
            }
        }
        let days = db
            .monitoring()
            .series_points(site, f, "day", DAY, DAY + 2 * 86_400)
            .await
            .unwrap();
        for d in [DAY, DAY + 86_400] {
            assert_eq!(local_day_start(d), d);
            if !days.iter().any(|p| p.period_start == d) {
                missing.push(format!("{f} day {d}"));
            }
        }
    }
    missing
}

const CHILD_ENV: &str = "GONGJIAN_TEST_ROLLUP_KILL_URL";
const COMPUTED: &str = "rollups computed, not stored";

/// The child of the kill test (does nothing unless started by it): runs a
/// rollup pass, says so after the first batch is computed and then waits
/// before storing it, until the parent kills the process.
#[test]
fn rollup_kill_child() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        gongjian_ingest::run_rollups_with(&db, || async {
            println!("{COMPUTED}");
            std::future::pending::<()>().await
        })
        .await
        .unwrap();
    });
    unreachable!("the parent kills this process before the batch is stored");
}

/// SIGKILL the rollup job between compute and store; a restarted job
/// produces every derived hour and day.
async fn killed_between_compute_and_store(t: Fx) {
    let site = minute_data(&t.db).await;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "rollup_kill_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &t.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let waited = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains(COMPUTED))
    });
    let reached = tokio::time::timeout(Duration::from_secs(60), waited).await;
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.wait().unwrap();
    assert!(
        matches!(reached, Ok(Ok(true))),
        "the child never reached the point between compute and store"
    );
    // Killed before the store: nothing derived yet, the queue intact.
    assert_eq!(missing_derived(&t.db, site).await.len(), 14);
    assert!(t.db.monitoring().pending_rollup_count().await.unwrap() > 0);

    // The restarted job (as serve starts it) derives everything.
    let restarted = Rollups::new(t.db.clone());
    let start = Instant::now();
    loop {
        restarted.tick().await.unwrap();
        let missing = missing_derived(&t.db, site).await;
        if missing.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "lost to the kill: {missing:?}"
        );
    }
    assert_eq!(t.db.monitoring().pending_rollup_count().await.unwrap(), 0);
}

both_backends!(
    rollup_queue_survives_sigkill,
    killed_between_compute_and_store
);

both_backends!(rollups_tick_derives_hours_and_days, |t: Fx| async move {
    let site = minute_data(&t.db).await;
    let job = Rollups::new(t.db.clone());
    // One tick rolls the hours up and queues their days; the next the days.
    assert!(job.tick().await.unwrap() > 0);
    job.tick().await.unwrap();
    assert_eq!(missing_derived(&t.db, site).await, Vec::<String>::new());
    assert_eq!(t.db.monitoring().pending_rollup_count().await.unwrap(), 0);
    assert_eq!(job.tick().await.unwrap(), 0, "nothing left to do");
});

both_backends!(
    data_arriving_during_a_pass_is_not_lost,
    |t: Fx| async move {
        let site = minute_data(&t.db).await;
        // Between compute and store, a corrected minute record of the first
        // hour arrives (15 becomes 99): the hour must be computed again.
        let late = t.db.clone();
        gongjian_ingest::run_rollups_with(&t.db, || {
            let db = late.clone();
            async move {
                let minute = db
                    .monitoring()
                    .series_points(site, "a21026", "min", HOURS[0] + 3000, HOURS[0] + 3001)
                    .await
                    .unwrap();
                if minute[0].value.as_deref() == Some("99") {
                    return;
                }
                db.monitoring()
                    .commit_ingest(&IngestBatch {
                        uploads: vec![Upload {
                            mn: "JOBS0001".into(),
                            cn: "2051".into(),
                            datatime: "late".into(),
                            pno: 0,
                            site_id: site,
                            values: vec![SeriesValue {
                                factor: "a21026".into(),
                                kind: "min",
                                period_start: HOURS[0] + 3000,
                                value: Some("99".into()),
                                converted: None,
                                flag: "N".into(),
                            }],
                        }],
                        ..IngestBatch::default()
                    })
                    .await
                    .unwrap();
            }
        })
        .await
        .unwrap();
        Rollups::new(t.db.clone()).tick().await.unwrap();
        let hour =
            t.db.monitoring()
                .series_points(site, "a21026", "hour", HOURS[0], HOURS[0] + 1)
                .await
                .unwrap();
        // (10 + 11 + 12 + 13 + 14 + 99) / 6, not the 12.5 computed before it came.
        assert_eq!(hour[0].value.as_deref(), Some("26.5"), "{hour:?}");
    }
);

both_backends!(rollups_run_with_hj212_disabled, |t: Fx| async move {
    let mut config = gongjian_config::Config::default();
    config.hj212.enabled = false;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let started = jobs::start(&config, &t.db, Default::default(), &stop);
    assert!(
        started.names().contains(&"rollups"),
        "{:?}",
        started.names()
    );
    // Data that did not come through the listener (an import) is rolled up.
    let site = minute_data(&t.db).await;
    let start = Instant::now();
    while !missing_derived(&t.db, site).await.is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "not rolled up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop_tx.send(true).unwrap();
    started.stop(Duration::from_secs(5)).await;
});

both_backends!(session_purge_deletes_expired_sessions, |t: Fx| async move {
    let db = &t.db;
    let org = db
        .organisations()
        .create_organisation(&Actor::cli(), "生态环境分局", OrgKind::Department, None)
        .await
        .unwrap();
    let user = db
        .accounts()
        .create_user(
            &Actor::cli(),
            &NewUser {
                username: "purge".into(),
                display_name: String::new(),
                password: "correct-horse".into(),
                role: Role::Department,
                organisation_id: org.id,
                must_change_password: false,
            },
        )
        .await
        .unwrap();
    let limits = SessionLimits {
        idle_secs: 1800,
        absolute_secs: 43_200,
    };
    let (fresh, _) = db
        .sessions()
        .create_session(user.id, "10.0.0.1")
        .await
        .unwrap();
    let (idle, _) = db
        .sessions()
        .create_session(user.id, "10.0.0.1")
        .await
        .unwrap();
    let (old, _) = db
        .sessions()
        .create_session(user.id, "10.0.0.1")
        .await
        .unwrap();
    db.sessions().age_session(&idle, 1801).await.unwrap();
    db.sessions().age_session(&old, 43_201).await.unwrap();
    let job = SessionPurge::new(db.clone(), limits);
    assert_eq!(job.tick().await.unwrap(), 2);
    assert_eq!(job.tick().await.unwrap(), 0);
    assert!(
        db.sessions()
            .session(&fresh, limits)
            .await
            .unwrap()
            .is_some()
    );
    // The job takes its limits from [session].
    let config = gongjian_config::Config::default();
    let from_config = jobs::session_limits(&config);
    assert_eq!(
        from_config.idle_secs,
        config.session.idle_timeout_minutes as i64 * 60
    );
    assert_eq!(
        from_config.absolute_secs,
        config.session.absolute_timeout_hours as i64 * 3600
    );
});

both_backends!(
    raw_packing_packs_settled_frames_even_when_kept_forever,
    |t: Fx| async move {
        let db = &t.db;
        let now = gongjian_storage::now();
        for (i, at) in [now - 3600, now - 700, now - 60].into_iter().enumerate() {
            sqlx::query(
                "INSERT INTO hj212_raw (received_at, peer, mn, cn, frame, outcome, error) \
             VALUES ($1, '192.0.2.1:1', 'MN1', '2011', $2, 'ok', NULL)",
            )
            .bind(at)
            .bind(format!("##frame {i}").into_bytes())
            .execute(db.write_pool())
            .await
            .unwrap();
        }
        let report = jobs::RawPacking::new(db.clone()).tick().await.unwrap();
        assert_eq!((report.blocks, report.frames), (1, 2), "{report:?}");
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) AS n FROM hj212_raw")
            .fetch_one(db.read_pool())
            .await
            .unwrap();
        assert_eq!(left, 1, "the frame of the last minute is not settled yet");
        assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 3);

        // Started with retention 0 (keep forever): retention off, packing on.
        let mut config = gongjian_config::Config::default();
        config.hj212.raw_retention_days = 0;
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let started = jobs::start(&config, db, Default::default(), &stop);
        assert!(
            started.names().contains(&"raw_packing"),
            "{:?}",
            started.names()
        );
        assert!(
            !started.names().contains(&"raw_retention"),
            "{:?}",
            started.names()
        );
        stop_tx.send(true).unwrap();
        started.stop(Duration::from_secs(5)).await;
    }
);

both_backends!(
    series_partitions_are_made_ahead_on_postgres_only,
    |t: Fx| async move {
        let db = &t.db;
        let config = gongjian_config::Config::default();
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
        let started = jobs::start(&config, db, Default::default(), &stop);
        let is_pg = db.backend() == gongjian_storage::Backend::Postgres;
        assert_eq!(
            started.names().contains(&"series_partitions"),
            is_pg,
            "{:?}",
            started.names()
        );
        stop_tx.send(true).unwrap();
        started.stop(Duration::from_secs(5)).await;
        let Some(job) = jobs::SeriesPartitions::from_config(&config, db.clone()) else {
            assert!(!is_pg, "started on PostgreSQL");
            return;
        };
        let current = gongjian_storage::SeriesMonth::containing(gongjian_storage::now());
        // (The job may have ticked once while started above.)
        let (_, dropped) = job.tick().await.unwrap();
        assert!(dropped.is_empty(), "retention is off by default");
        let ahead = vec![current, current.next(), current.next().next()];
        assert_eq!(db.partitions().series_partitions().await.unwrap(), ahead);
        let (again, _) = job.tick().await.unwrap();
        assert!(again.created.is_empty(), "{again:?}");
        // An old month, kept while retention is off, dropped past it.
        let old = current.minus(30);
        db.partitions()
            .ensure_series_partitions(old.start(), 0)
            .await
            .unwrap();
        let (_, kept) = job.tick().await.unwrap();
        assert!(kept.is_empty());
        let with_retention = jobs::SeriesPartitions::new(db.clone(), 12).unwrap();
        let (_, dropped) = with_retention.tick().await.unwrap();
        assert_eq!(dropped, vec![old]);
        assert_eq!(db.partitions().series_partitions().await.unwrap(), ahead);
    }
);
