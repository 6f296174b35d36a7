//! Issue 13 item 3: air stations have a class, and each figure is computed
//! from the stations that count for it. The district's days come from its
//! assessment stations (national, provincial, city, or a station set to
//! count for the district), a township's from its ranking stations, and a
//! micro station counts for nothing although its readings are shown. On
//! SQLite and PostgreSQL.

use chrono::NaiveDate;
use gongjian_app::air::{AirCache, air_data, refresh_air_cache};
use gongjian_app::overview::latest_hour;
use gongjian_app::targets::rankings;
use gongjian_campaign::{ScopeSetting, StationClass};
use gongjian_standards::evaluation::Pollutant;
use gongjian_storage::on_both_backends;
use gongjian_storage::testing::TestDb;
use gongjian_storage::{Actor, AirHour, NewSite, OrgKind};
use rust_decimal::Decimal;

/// (code, township, class, setting, PM2.5 every hour)
const STATIONS: [(&str, &str, Option<StationClass>, ScopeSetting, i64); 5] = [
    (
        "N1",
        "原武镇",
        Some(StationClass::National),
        ScopeSetting::ByClass,
        30,
    ),
    (
        "T1",
        "原武镇",
        Some(StationClass::Township),
        ScopeSetting::ByClass,
        50,
    ),
    (
        "T2",
        "师寨镇",
        Some(StationClass::Township),
        ScopeSetting::ByClass,
        70,
    ),
    // A township station the office set to count for the district too.
    (
        "T3",
        "师寨镇",
        Some(StationClass::Township),
        ScopeSetting::Both,
        40,
    ),
    (
        "M1",
        "师寨镇",
        Some(StationClass::Micro),
        ScopeSetting::ByClass,
        300,
    ),
];

on_both_backends!(each_figure_uses_the_stations_that_count_for_it);
async fn each_figure_uses_the_stations_that_count_for_it(db: TestDb) {
    let db = db.db.clone();
    let actor = Actor::cli();
    let mut townships = std::collections::HashMap::new();
    for name in ["原武镇", "师寨镇"] {
        let o = db
            .organisations()
            .create_organisation(&actor, name, OrgKind::Township, None)
            .await
            .unwrap();
        townships.insert(name, o.id);
    }
    let first = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let mut rows = Vec::new();
    let mut ids = std::collections::HashMap::new();
    for (code, town, class, setting, pm25) in STATIONS {
        let site = db
            .monitoring()
            .create_site(
                &actor,
                &NewSite {
                    code: code.into(),
                    name: format!("{code} 站"),
                    kind: "air_station".into(),
                    township_id: Some(townships[town]),
                    station_class: class,
                    assessment: setting,
                    ..NewSite::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(site.station_class, class);
        assert_eq!(site.assessment, setting);
        ids.insert(code, site.id);
        // Three whole days of hours (China Standard Time).
        let start = gongjian_standards::cst::from_local(first.and_hms_opt(0, 0, 0).unwrap());
        for h in 0..72 {
            let v = |x: i64| Some(Decimal::from(x));
            rows.push(AirHour {
                site_id: site.id,
                period_start: start + h * 3600,
                values: [
                    v(10),
                    v(30),
                    Some(Decimal::new(10, 1)),
                    v(80),
                    v(pm25 * 2),
                    v(pm25),
                ],
            });
        }
    }
    db.air()
        .upsert_air_hours(&actor, "classes.csv", &rows)
        .await
        .unwrap();
    let cache = AirCache::default();
    refresh_air_cache(&db, &cache).await.unwrap();
    let data = air_data(&db, &cache, 2026).await.unwrap();

    // The district: N1 (national) and T3 (set to both), not T1, T2 or M1.
    let day = data.district.iter().find(|d| d.date == first).unwrap();
    assert_eq!(day.value(Pollutant::Pm25), Some(Decimal::from(35)));
    // The townships: their ranking stations only.
    let town = |name: &str| {
        data.townships[name]
            .iter()
            .find(|d| d.date == first)
            .unwrap()
            .value(Pollutant::Pm25)
    };
    assert_eq!(
        town("原武镇"),
        Some(Decimal::from(50)),
        "N1 is not a township station"
    );
    assert_eq!(town("师寨镇"), Some(Decimal::from(55)), "M1 is not counted");

    // The station ranking leaves the micro station out.
    let r = rankings(&data, first);
    let names: Vec<&str> = r
        .stations_month
        .rows
        .iter()
        .map(|x| x.name.as_str())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(!names.iter().any(|n| n.contains("M1")), "{names:?}");

    // The current hour: the district is the mean of its stations; every
    // station's reading is listed, the micro station's too.
    let now = NaiveDate::from_ymd_opt(2026, 3, 4)
        .unwrap()
        .and_hms_opt(0, 30, 0)
        .unwrap();
    let hour = latest_hour(&db, &data, now).await.unwrap().unwrap();
    assert_eq!(hour.district.pm25, Some(Decimal::from(35)));
    assert_eq!(hour.stations.len(), 5);
    assert!(hour.stations.iter().any(|s| s.site_id == Some(ids["M1"])));
}

on_both_backends!(only_an_air_station_has_a_class);
async fn only_an_air_station_has_a_class(db: TestDb) {
    let db = db.db.clone();
    let err = db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "S1".into(),
                name: "排口".into(),
                kind: "stack_gas".into(),
                station_class: Some(StationClass::National),
                ..NewSite::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("只有空气站有站点类别"), "{err}");
    assert!(db.monitoring().site_by_code("S1").await.unwrap().is_none());
    // An unclassified station counts for both, as every station did.
    let s = db
        .monitoring()
        .create_site(
            &Actor::cli(),
            &NewSite {
                code: "U1".into(),
                name: "未分类".into(),
                kind: "air_station".into(),
                ..NewSite::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(s.station_class, None);
    assert!(s.scope().district && s.scope().township);
}
