//! Sites, devices and the HJ 212 ingestion tables, on SQLite and (when
//! `GONGJIAN_TEST_POSTGRES_URL` is set) PostgreSQL.

use gongjian_standards::cst::local_day_start;
use gongjian_storage::testing;
use gongjian_storage::{
    Actor, CounterDelta, Db, Device, IngestBatch, NewSite, Quarantined, RawFrame, RollupValue,
    SeriesValue, SiteFactor, StorageError, Streamed, Upload, UploadOutcome,
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

fn site(code: &str, kind: &str) -> NewSite {
    NewSite {
        code: code.into(),
        name: format!("站点{code}"),
        kind: kind.into(),
        longitude: Some("113.9".into()),
        latitude: Some("35.1".into()),
        ..NewSite::default()
    }
}

fn value(factor: &str, kind: &'static str, start: i64, v: &str) -> SeriesValue {
    SeriesValue {
        factor: factor.into(),
        kind,
        period_start: start,
        value: Some(v.into()),
        converted: None,
        flag: "N".into(),
    }
}

fn upload(mn: &str, site_id: i64, cn: &str, datatime: &str, values: Vec<SeriesValue>) -> Upload {
    Upload {
        mn: mn.into(),
        cn: cn.into(),
        datatime: datatime.into(),
        pno: 0,
        site_id,
        values,
    }
}

storage_test!(sites_devices_and_factors, |db: Db| async move {
    let actor = Actor::cli();
    let s = db
        .monitoring()
        .create_site(&actor, &site("S1", "stack_gas"))
        .await
        .unwrap();
    assert_eq!(
        db.monitoring()
            .site_by_code("S1")
            .await
            .unwrap()
            .unwrap()
            .id,
        s.id
    );
    let dup = db
        .monitoring()
        .create_site(&actor, &site("S1", "stack_gas"))
        .await;
    assert!(matches!(dup, Err(StorageError::Conflict { .. })), "{dup:?}");
    let bad = db
        .monitoring()
        .create_site(&actor, &site("S2", "volcano"))
        .await;
    assert_eq!(
        bad.as_ref().err().and_then(StorageError::broken_rule),
        Some(gongjian_storage::Rule::Site),
        "{bad:?}"
    );

    let mut upd = site("S1", "stack_gas");
    upd.name = "1号排口".into();
    assert_eq!(
        db.monitoring()
            .update_site(&actor, s.id, &upd)
            .await
            .unwrap()
            .name,
        "1号排口"
    );

    let mut d = Device::new("MN0001", "123456", s.id);
    d.accept_modbus_crc = true;
    db.monitoring().upsert_device(&actor, &d).await.unwrap();
    let got = db.monitoring().device("MN0001").await.unwrap().unwrap();
    assert!(got.accept_modbus_crc);
    assert!(!got.time_sync_on_connect);
    d.time_sync_on_connect = true;
    d.pw = "654321".into();
    db.monitoring().upsert_device(&actor, &d).await.unwrap();
    let got = db.monitoring().device("MN0001").await.unwrap().unwrap();
    assert_eq!(got.pw, "654321");
    assert!(got.time_sync_on_connect);
    let mut bad = d.clone();
    bad.protocol = "1999".into();
    assert!(db.monitoring().upsert_device(&actor, &bad).await.is_err());

    db.monitoring()
        .set_site_factors(
            &actor,
            s.id,
            &[
                SiteFactor {
                    factor: "a21026".into(),
                    name: "二氧化硫".into(),
                    unit: "mg/m³".into(),
                    limit_value: Some("35".into()),
                },
                SiteFactor {
                    factor: "a19001".into(),
                    name: "氧气".into(),
                    unit: "%".into(),
                    limit_value: None,
                },
            ],
        )
        .await
        .unwrap();
    let f = db.monitoring().site_factors(s.id).await.unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[1].limit_value.as_deref(), Some("35"));
    assert!(
        db.monitoring()
            .set_site_factors(
                &actor,
                s.id,
                &[SiteFactor {
                    factor: "a21026".into(),
                    name: String::new(),
                    unit: String::new(),
                    limit_value: Some("abc".into()),
                }]
            )
            .await
            .is_err()
    );
    db.monitoring()
        .delete_device(&actor, "MN0001")
        .await
        .unwrap();
    assert!(db.monitoring().device("MN0001").await.unwrap().is_none());
});

storage_test!(ingest_batch_is_idempotent, |db: Db| async move {
    let actor = Actor::cli();
    let s = db
        .monitoring()
        .create_site(&actor, &site("S1", "stack_gas"))
        .await
        .unwrap();
    db.monitoring()
        .upsert_device(&actor, &Device::new("MN1", "pw", s.id))
        .await
        .unwrap();
    let t0 = 1_700_000_400; // a minute period
    let u = upload(
        "MN1",
        s.id,
        "2051",
        "20231115064000",
        vec![
            value("a21026", "min", t0, "12.5"),
            value("a21002", "min", t0, "30"),
        ],
    );
    let mut batch = IngestBatch {
        uploads: vec![u.clone(), u.clone()],
        raw: vec![RawFrame {
            peer: "127.0.0.1:5".into(),
            mn: Some("MN1".into()),
            cn: Some("2051".into()),
            frame: b"##0000\xb5\xe7".to_vec(),
            outcome: "ok",
            error: None,
        }],
        ..IngestBatch::default()
    };
    batch.counters.insert(
        "MN1".into(),
        CounterDelta {
            frames: 2,
            last_frame_at: Some(t0),
            ..CounterDelta::default()
        },
    );
    let out = db.monitoring().commit_ingest(&batch).await.unwrap();
    assert_eq!(out, vec![UploadOutcome::Stored, UploadOutcome::Duplicate]);
    // A later retransmission is a duplicate too and changes nothing.
    let mut again = u.clone();
    again.values[0].value = Some("99".into());
    let out = db
        .monitoring()
        .commit_ingest(&IngestBatch {
            uploads: vec![again],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    assert_eq!(out, vec![UploadOutcome::Duplicate]);
    let pts = db
        .monitoring()
        .series_points(s.id, "a21026", "min", t0, t0 + 60)
        .await
        .unwrap();
    assert_eq!(pts.len(), 1);
    assert_eq!(pts[0].value.as_deref(), Some("12.5"));
    assert_eq!(pts[0].source, "hj212");
    assert!(
        db.monitoring()
            .upload_stored("MN1", "2051", "20231115064000", 0)
            .await
            .unwrap()
    );
    assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 1);

    let latest = db.monitoring().latest_values().await.unwrap();
    assert_eq!(latest.len(), 2);
    // Backfill of an older period does not replace the latest value.
    db.monitoring()
        .commit_ingest(&IngestBatch {
            uploads: vec![upload(
                "MN1",
                s.id,
                "2051",
                "20231115060000",
                vec![value("a21026", "min", t0 - 2400, "1.0")],
            )],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    let latest = db.monitoring().latest_values().await.unwrap();
    let so2 = latest.iter().find(|l| l.factor == "a21026").unwrap();
    assert_eq!(so2.value.as_deref(), Some("12.5"));

    let health = db
        .monitoring()
        .device_health(local_day_start(t0))
        .await
        .unwrap();
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].frames, 2);
    assert_eq!(health[0].duplicates, 2);
    assert_eq!(health[0].values_stored, 3);
    assert_eq!(health[0].minute_periods_today, 2);

    // Minute data queued the hour for rollup.
    let pending = db.monitoring().pending_rollups(100).await.unwrap();
    assert!(
        pending
            .iter()
            .any(|p| p.kind == "hour" && p.period_start == t0 - t0 % 3600),
        "{pending:?}"
    );
    // Reading does not consume the queue; releasing with the results does.
    assert_eq!(db.monitoring().pending_rollups(100).await.unwrap(), pending);
    db.monitoring()
        .store_rollups_and_release(&[], &pending)
        .await
        .unwrap();
    assert!(
        db.monitoring()
            .pending_rollups(100)
            .await
            .unwrap()
            .is_empty()
    );
});

// Regression (stop 29): a JetStream redelivery racing its first delivery's
// commit was counted as a logger retransmission (a duplicate, a second raw
// row). The stream sequence in the ledger decides inside the transaction,
// whichever delivery commits first.
storage_test!(
    a_stream_message_is_stored_once_whichever_delivery_commits_first,
    |db: Db| async move {
        let actor = Actor::cli();
        let s = db
            .monitoring()
            .create_site(&actor, &site("S1", "stack_gas"))
            .await
            .unwrap();
        db.monitoring()
            .upsert_device(&actor, &Device::new("MN1", "pw", s.id))
            .await
            .unwrap();
        let t0 = 1_700_000_400;
        let message = |seq: i64, datatime: &str| Streamed {
            seq,
            upload: upload(
                "MN1",
                s.id,
                "2051",
                datatime,
                vec![value("a21026", "min", t0, "12.5")],
            ),
            raw: Some(RawFrame {
                peer: "127.0.0.1:5".into(),
                mn: Some("MN1".into()),
                cn: Some("2051".into()),
                frame: datatime.as_bytes().to_vec(),
                outcome: "ok",
                error: None,
            }),
            counter: Some((
                "MN1".into(),
                CounterDelta {
                    frames: 1,
                    last_frame_at: Some(t0),
                    ..CounterDelta::default()
                },
            )),
        };
        let commit = |streamed: Vec<Streamed>| {
            let db = db.clone();
            async move {
                db.monitoring()
                    .commit_ingest(&IngestBatch {
                        streamed,
                        ..IngestBatch::default()
                    })
                    .await
                    .unwrap()
            }
        };
        // Message 7 twice in one batch, then again (a redelivery) alone.
        assert_eq!(
            commit(vec![
                message(7, "20231115064000"),
                message(7, "20231115064000")
            ])
            .await,
            vec![UploadOutcome::Stored, UploadOutcome::Duplicate]
        );
        assert_eq!(
            commit(vec![message(7, "20231115064000")]).await,
            vec![UploadOutcome::Duplicate]
        );
        // The logger sending the same frame again is another message: a duplicate.
        assert_eq!(
            commit(vec![message(8, "20231115064000")]).await,
            vec![UploadOutcome::Duplicate]
        );
        // Review regression: a retransmission (message 10) ahead of a
        // redelivery of message 7 in one batch; the ledger, not the batch's
        // first, holds the key: 10 is a duplicate, 7 is dropped whole.
        assert_eq!(
            commit(vec![
                message(10, "20231115064000"),
                message(7, "20231115064000")
            ])
            .await,
            vec![UploadOutcome::Duplicate, UploadOutcome::Duplicate]
        );
        // Two deliveries of message 9 committing at the same time.
        let (a, b) = tokio::join!(
            commit(vec![message(9, "20231115064100")]),
            commit(vec![message(9, "20231115064100")])
        );
        let mut both = [a[0], b[0]];
        both.sort_by_key(|o| *o == UploadOutcome::Duplicate);
        assert_eq!(both, [UploadOutcome::Stored, UploadOutcome::Duplicate]);

        // Messages 7 and 9 once each, messages 8 and 10 as the duplicates.
        assert_eq!(db.monitoring().raw_frame_count().await.unwrap(), 4);
        let health = db
            .monitoring()
            .device_health(local_day_start(t0))
            .await
            .unwrap();
        assert_eq!(health.len(), 1);
        assert_eq!(
            (
                health[0].frames,
                health[0].duplicates,
                health[0].values_stored
            ),
            (4, 2, 2)
        );
    }
);

storage_test!(quarantine_and_retention, |db: Db| async move {
    let mut batch = IngestBatch::default();
    batch.quarantine.push(Quarantined {
        peer: "10.0.0.1:1".into(),
        mn: Some("UNKNOWN".into()),
        cn: Some("2011".into()),
        reason: "unknown_mn".into(),
        frame: b"##0010abc".to_vec(),
    });
    batch.counters.insert(
        "UNKNOWN".into(),
        CounterDelta {
            quarantined: 1,
            ..CounterDelta::default()
        },
    );
    db.monitoring().commit_ingest(&batch).await.unwrap();
    let q = db.monitoring().quarantine(10).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].reason, "unknown_mn");
    assert_eq!(
        db.monitoring().quarantine_counts().await.unwrap(),
        vec![("unknown_mn".to_string(), 1)]
    );
    assert_eq!(db.monitoring().purge_raw_before(0).await.unwrap(), 0);
    assert_eq!(db.monitoring().purge_raw_before(i64::MAX).await.unwrap(), 1);
    assert!(db.monitoring().quarantine(10).await.unwrap().is_empty());
});

storage_test!(rollups_respect_logger_values, |db: Db| async move {
    let actor = Actor::cli();
    let s = db
        .monitoring()
        .create_site(&actor, &site("S1", "stack_gas"))
        .await
        .unwrap();
    let hour = 1_700_000_000 - 1_700_000_000 % 3600;
    // The logger sent its own hour.
    db.monitoring()
        .commit_ingest(&IngestBatch {
            uploads: vec![upload(
                "MN1",
                s.id,
                "2061",
                "x",
                vec![value("a21026", "hour", hour, "10.0")],
            )],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    let ours = |v: &str, kind: &'static str, start: i64| RollupValue {
        site_id: s.id,
        factor: "a21026".into(),
        kind,
        period_start: start,
        value: Some(v.into()),
        converted: None,
        flag: "N".into(),
        day_start: (kind == "hour").then(|| local_day_start(start)),
    };
    // Same number, different spelling: no disagreement.
    db.monitoring()
        .store_rollups(&[ours("10", "hour", hour)])
        .await
        .unwrap();
    assert!(
        db.monitoring()
            .rollup_disagreements(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    db.monitoring()
        .store_rollups(&[ours("11", "hour", hour)])
        .await
        .unwrap();
    let d = db
        .monitoring()
        .rollup_disagreements(Some(s.id), 10)
        .await
        .unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].logger_value.as_deref(), Some("10.0"));
    assert_eq!(d[0].rollup_value.as_deref(), Some("11"));
    let pts = db
        .monitoring()
        .series_points(s.id, "a21026", "hour", hour, hour + 1)
        .await
        .unwrap();
    assert_eq!(pts[0].value.as_deref(), Some("10.0"), "logger value stays");
    // A rollup where the logger sent nothing is stored as such.
    db.monitoring()
        .store_rollups(&[ours("12", "hour", hour + 3600)])
        .await
        .unwrap();
    let pts = db
        .monitoring()
        .series_points(s.id, "a21026", "hour", hour, hour + 7200)
        .await
        .unwrap();
    assert_eq!(pts.len(), 2);
    assert_eq!(pts[1].source, "rollup");
    let pending = db.monitoring().pending_rollups(100).await.unwrap();
    assert!(pending.iter().any(|p| p.kind == "day"));
});

#[test]
fn local_day_is_cst() {
    // 2024-01-01T16:00:00Z is 2024-01-02 00:00 in Beijing.
    assert_eq!(local_day_start(1_704_124_800), 1_704_124_800);
    assert_eq!(local_day_start(1_704_124_799), 1_704_124_800 - 86_400);
}

storage_test!(
    limited_hours_join_limits_and_skip_air_stations,
    |db: Db| async move {
        let actor = Actor::cli();
        let stack = db
            .monitoring()
            .create_site(&actor, &site("S1", "stack_gas"))
            .await
            .unwrap();
        let air = db
            .monitoring()
            .create_site(&actor, &site("A1", "air_station"))
            .await
            .unwrap();
        let limited = |factor: &str, limit: Option<&str>| SiteFactor {
            factor: factor.into(),
            name: factor.into(),
            unit: "mg/m³".into(),
            limit_value: limit.map(str::to_owned),
        };
        db.monitoring()
            .set_site_factors(
                &actor,
                stack.id,
                &[limited("a21026", Some("35")), limited("a19001", None)],
            )
            .await
            .unwrap();
        db.monitoring()
            .set_site_factors(&actor, air.id, &[limited("a34004", Some("75"))])
            .await
            .unwrap();
        let hour = 1_700_000_000 - 1_700_000_000 % 3600;
        let row = |site_id: i64, factor: &str, start: i64, v: &str| RollupValue {
            site_id,
            factor: factor.into(),
            kind: "hour",
            period_start: start,
            value: Some(v.into()),
            converted: Some(v.into()),
            flag: "N".into(),
            day_start: None,
        };
        db.monitoring()
            .store_rollups(&[
                row(stack.id, "a21026", hour, "40"),
                row(stack.id, "a21026", hour + 3600, "20"),
                row(stack.id, "a21026", hour + 7200, "99"), // outside the range
                row(stack.id, "a19001", hour, "9"),         // no limit
                row(air.id, "a34004", hour, "120"),         // ambient air: not a source
            ])
            .await
            .unwrap();
        let rows = db
            .summaries()
            .limited_hours(hour, hour + 7200)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows.iter()
                .all(|r| r.site_id == stack.id && r.limit_value == "35")
        );
        assert_eq!(rows[0].converted.as_deref(), Some("40"));
        assert_eq!(rows[0].site_kind, "stack_gas");
    }
);

// Issue #10 item 16: a device-password change used to leave identical
// before and after in the audit log. It is now recorded, masked; neither the
// old nor the new password appears anywhere in the entry.
storage_test!(
    item_16_device_password_change_is_audited_masked,
    |db: Db| async move {
        use gongjian_storage::AuditFilter;
        let actor = Actor::cli();
        let s = db
            .monitoring()
            .create_site(&actor, &site("S16", "stack_gas"))
            .await
            .unwrap();
        let mut d = Device::new("MN0016", "old-secret-16", s.id);
        db.monitoring().upsert_device(&actor, &d).await.unwrap();
        d.pw = "new-secret-16".into();
        db.monitoring().upsert_device(&actor, &d).await.unwrap();
        // A save that leaves the password alone says nothing about it.
        db.monitoring().upsert_device(&actor, &d).await.unwrap();
        let log = db
            .audit()
            .list(&AuditFilter {
                entity: Some("device".into()),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(log.len(), 3);
        let (unchanged, changed, created) = (&log[0], &log[1], &log[2]);
        assert_eq!(created.after.as_ref().unwrap()["password"], "已设置");
        assert_eq!(changed.action, "update");
        assert_eq!(changed.before.as_ref().unwrap()["password"], "******");
        assert_eq!(changed.after.as_ref().unwrap()["password"], "已修改");
        assert_ne!(changed.before, changed.after, "the change is invisible");
        assert!(unchanged.after.as_ref().unwrap().get("password").is_none());
        assert_eq!(unchanged.before, unchanged.after);
        for entry in &log {
            let text = format!("{:?} {:?}", entry.before, entry.after);
            assert!(!text.contains("secret-16"), "password leaked: {text}");
        }
    }
);
