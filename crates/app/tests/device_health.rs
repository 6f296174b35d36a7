//! 设备健康's rates (issue 13 item 16), on SQLite and (when
//! `GONGJIAN_TEST_POSTGRES_URL` is set) PostgreSQL: a data logger is
//! expected to send only from the time it was registered, so one that has
//! sent every period since is at 100 %, not at the share of the day that
//! had passed before it existed.

use gongjian_app::summaries::{health_rows, health_summary};
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, Device, IngestBatch, NewSite, SeriesValue, Upload};

on_both_backends!(transmission_rate_counts_from_registration);
async fn transmission_rate_counts_from_registration(db: TestDb) {
    let db = db.db.clone();
    let site = db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "PY001".into(),
                name: "原武镇空气站".into(),
                kind: "air_station".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    // 10-minute data (the default interval).
    db.monitoring()
        .upsert_device(
            &Actor::cli(),
            &Device::new("HEALTH0000000000000000001", "123456", site.id),
        )
        .await
        .unwrap();
    let health = db
        .monitoring()
        .device_health(gongjian_standards::cst::local_day_start(
            gongjian_storage::now(),
        ))
        .await
        .unwrap();
    let registered = health[0].registered_at;
    assert!(registered > 0 && registered <= gongjian_storage::now());
    // Every 10-minute period after registration arrives, up to six of them
    // and within the local day of registration.
    let day_end = gongjian_standards::cst::local_day_start(registered) + 86_400;
    let first = registered / 600 * 600 + 600;
    let k = ((day_end - first) / 600).clamp(0, 6);
    let values = (0..k)
        .map(|i| SeriesValue {
            factor: "a34004".into(),
            kind: "min",
            period_start: first + i * 600,
            value: Some("35".into()),
            converted: None,
            flag: "N".into(),
        })
        .collect();
    db.monitoring()
        .commit_ingest(&IngestBatch {
            uploads: vec![Upload {
                mn: "HEALTH0000000000000000001".into(),
                cn: "2051".into(),
                datatime: "20250101000000".into(),
                pno: 0,
                site_id: site.id,
                values,
            }],
            ..IngestBatch::default()
        })
        .await
        .unwrap();
    if k > 0 {
        // Just before the k-th period after registration closes: k periods
        // are due, k received.
        let now = first + k * 600 - 1;
        let rows = health_rows(&db, now).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].device.minute_periods_today, k);
        assert_eq!(rows[0].transmission_rate.as_deref(), Some("100.0"));
        assert_eq!(
            health_summary(&rows).transmission_rate.as_deref(),
            Some("100.0")
        );
    }
    // Just registered: nothing is due yet, so no rate rather than 0 %.
    let rows = health_rows(&db, registered).await.unwrap();
    assert_eq!(rows[0].transmission_rate, None);
    // Days later the whole day is due: ten hours of that day without data
    // are 0 %.
    let later = day_end + 2 * 86_400 + 36_000;
    let rows = health_rows(&db, later).await.unwrap();
    assert_eq!(rows[0].transmission_rate.as_deref(), Some("0.0"));
}
