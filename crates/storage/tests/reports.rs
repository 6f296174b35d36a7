//! Air imports, the daily cache and published reports, on SQLite and (when
//! configured) PostgreSQL.

use chrono::{NaiveDate, NaiveDateTime};
use gongjian_standards::cst::{hour_end_local, hour_start_utc};
use gongjian_storage::testing;
use gongjian_storage::{Actor, AirHour, Db};
use rust_decimal::Decimal;

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

fn end(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// 24 hours of one local day for a site with PM2.5 = `pm25`.
fn day_rows(site: i64, day: NaiveDate, pm25: &str) -> Vec<AirHour> {
    (1..=24)
        .map(|h| {
            let e = day.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(h);
            AirHour {
                site_id: site,
                period_start: hour_start_utc(e),
                values: [
                    Some(d("10")),
                    Some(d("20")),
                    Some(d("0.5")),
                    Some(d("50")),
                    Some(d("80")),
                    Some(d(pm25)),
                ],
            }
        })
        .collect()
}

#[test]
fn hour_end_local_to_start_utc() {
    // The hour ending 2020-01-01 01:00 CST starts 2019-12-31 16:00 UTC.
    let s = hour_start_utc(end("2020-01-01 01:00"));
    assert_eq!(s, 1_577_808_000);
    assert_eq!(hour_end_local(s), end("2020-01-01 01:00"));
}

storage_test!(stations_are_created_once, |db: Db| async move {
    let a = Actor::cli();
    let m = db
        .air()
        .ensure_air_stations(&a, &["1001A".into(), "1002A".into()])
        .await
        .unwrap();
    let again = db
        .air()
        .ensure_air_stations(&a, &["1001A".into()])
        .await
        .unwrap();
    assert_eq!(m["1001A"], again["1001A"]);
    assert_ne!(m["1001A"], m["1002A"]);
    let sites = db.air().sites_of_kind("air_station").await.unwrap();
    assert_eq!(sites.len(), 2);
});

storage_test!(
    upsert_is_idempotent_and_updates_cache,
    |db: Db| async move {
        let a = Actor::cli();
        let m = db
            .air()
            .ensure_air_stations(&a, &["1001A".into()])
            .await
            .unwrap();
        let site = m["1001A"];
        let day = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let rows = day_rows(site, day, "70");
        let s1 = db.air().upsert_air_hours(&a, "t.csv", &rows).await.unwrap();
        assert_eq!(s1.written, 24 * 6);
        let s2 = db.air().upsert_air_hours(&a, "t.csv", &rows).await.unwrap();
        assert_eq!(s2.written, 0);
        assert_eq!(s2.unchanged, 24 * 6);
        let hours = db
            .air()
            .air_hours(
                site,
                hour_start_utc(end("2020-01-01 01:00")),
                hour_start_utc(end("2020-01-02 01:00")),
            )
            .await
            .unwrap();
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[0].end, end("2020-01-01 01:00"));
        assert_eq!(hours[23].end, end("2020-01-02 00:00"));
        let days = db.air().air_station_days(day, day).await.unwrap();
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].days.len(), 1);
        assert_eq!(days[0].days[0].values.pm25.value, Some(d("70")));
        assert_eq!(days[0].days[0].aqi.aqi, Some(94));
        // Late correction of one hour: 23 × 70 + 94 = 1704 → 71.
        let mut late = day_rows(site, day, "70");
        late.truncate(1);
        late[0].values[5] = Some(d("94"));
        let s3 = db
            .air()
            .upsert_air_hours(&a, "late.csv", &late)
            .await
            .unwrap();
        assert_eq!(s3.written, 1);
        let days = db.air().air_station_days(day, day).await.unwrap();
        assert_eq!(days[0].days[0].values.pm25.value, Some(d("71")));
        assert!(db.air().air_daily_refreshed_at().await.unwrap().is_some());
        assert_eq!(
            db.air().latest_air_hour().await.unwrap(),
            Some(hour_start_utc(end("2020-01-02 00:00")))
        );
        // Issue 13 item 1: the latest valid hour over by `now`; an hour
        // still running at `now` is not one.
        let last = hour_start_utc(end("2020-01-02 00:00"));
        assert_eq!(
            db.air()
                .latest_valid_air_hour(&[site], last + 3600)
                .await
                .unwrap(),
            Some(last)
        );
        assert_eq!(
            db.air()
                .latest_valid_air_hour(&[site], last + 1800)
                .await
                .unwrap(),
            Some(last - 3600)
        );
        assert_eq!(
            db.air()
                .latest_valid_air_hour(&[site + 1000], last + 3600)
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            db.air().latest_valid_air_hour(&[], last).await.unwrap(),
            None
        );
    }
);

storage_test!(
    published_reports_are_numbered_and_frozen,
    |db: Db| async move {
        let a = Actor::cli();
        let v1 = db
            .air()
            .publish_report(&a, "2020-03", "3月调度", &serde_json::json!({"pm25": 60}))
            .await
            .unwrap();
        let v2 = db
            .air()
            .publish_report(&a, "2020-03", "3月调度", &serde_json::json!({"pm25": 61}))
            .await
            .unwrap();
        assert_eq!((v1.version, v2.version), (1, 2));
        let got = db.air().published_report("2020-03", 1).await.unwrap();
        assert_eq!(got.payload["pm25"], 60);
        let all = db.air().published_reports(Some("2020-03")).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].version, 2);
        assert!(
            db.air()
                .published_reports(Some("2020-04"))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(db.air().published_reports(None).await.unwrap().len(), 2);
        assert!(db.air().published_report("2020-03", 3).await.is_err());
        assert!(
            db.air()
                .publish_report(&a, "2020-13", "x", &serde_json::json!({}))
                .await
                .is_err()
        );
    }
);
