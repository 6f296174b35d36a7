//! The alarm run with the screens that read more than a site's hours
//! (issue 14 item 1): a logger hour the platform's rollup of its minutes
//! contradicts, and a day with too few hours received. On SQLite and (when
//! `GONGJIAN_TEST_POSTGRES_URL` is set) PostgreSQL.

use gongjian_app::alarms::run_alarms;
use gongjian_standards::cst::local_day_start;
use gongjian_storage::testing;
use gongjian_storage::{
    Actor, Db, IngestBatch, NewSite, RollupValue, SeriesValue, SiteFactor, Upload,
};

const HOUR: i64 = 3600;

async fn logger_mismatch_and_transmission_rate(db: &Db) {
    let actor = Actor::cli();
    let site = db
        .create_site(
            &actor,
            &NewSite {
                code: "S01".into(),
                name: "1号锅炉排口".into(),
                kind: "stack_gas".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    db.set_site_factors(
        &actor,
        site.id,
        &[SiteFactor {
            factor: "a21026".into(),
            name: "二氧化硫".into(),
            unit: "mg/m³".into(),
            limit_value: Some("35".into()),
        }],
    )
    .await
    .unwrap();
    let now = gongjian_storage::now();
    let today = local_day_start(now);
    // Yesterday from 10:00: one hour of fourteen arrived (7.1 %).
    let yesterday_hour = today - 14 * HOUR;
    // Today: the logger's own hour (2061) says 20, its minutes say 31.
    let hour = (now - now % HOUR - HOUR).max(today);
    let ours = |start: i64, v: &str| RollupValue {
        site_id: site.id,
        factor: "a21026".into(),
        kind: "hour",
        period_start: start,
        value: Some(v.into()),
        converted: None,
        flag: "N".into(),
        day_start: None,
    };
    db.store_rollups(&[ours(yesterday_hour, "20")])
        .await
        .unwrap();
    db.commit_ingest(&IngestBatch {
        uploads: vec![Upload {
            mn: "TEST0001".into(),
            cn: "2061".into(),
            datatime: hour.to_string(),
            pno: 0,
            site_id: site.id,
            values: vec![SeriesValue {
                factor: "a21026".into(),
                kind: "hour",
                period_start: hour,
                value: Some("20.0".into()),
                converted: None,
                flag: "N".into(),
            }],
        }],
        ..IngestBatch::default()
    })
    .await
    .unwrap();
    db.store_rollups(&[ours(hour, "31")]).await.unwrap();

    run_alarms(db, now).await.unwrap();
    let alarms = db.alarms(&Default::default()).await.unwrap();
    let of = |rule: &str| {
        alarms
            .iter()
            .find(|a| a.rule == rule && a.site_id == site.id)
    };
    let mismatch = of("logger_mismatch").expect("the logger's hour disagrees with its minutes");
    assert_eq!(mismatch.factor, "a21026");
    assert!(mismatch.summary.contains("上报 20"), "{}", mismatch.summary);
    assert!(mismatch.summary.contains("计算 31"), "{}", mismatch.summary);
    let rate = of("transmission_rate").expect("yesterday's rate is low");
    assert!(rate.summary.contains("7.1%"), "{}", rate.summary);
    assert!(rate.ended_at.is_some(), "a past day's alarm is closed");
    assert!(
        of("source_exceedance").is_none(),
        "nothing exceeded: {alarms:?}"
    );

    // A second run finds the same episodes: nothing new.
    let again = run_alarms(db, now).await.unwrap();
    assert_eq!(again.opened, 0, "{again:?}");
}

#[tokio::test]
async fn logger_mismatch_and_transmission_rate_on_sqlite() {
    let t = testing::sqlite().await;
    logger_mismatch_and_transmission_rate(&t.db).await;
}

#[tokio::test]
async fn logger_mismatch_and_transmission_rate_on_postgres() {
    let Some(t) = testing::postgres().await else {
        return;
    };
    logger_mismatch_and_transmission_rate(&t.db).await;
}
