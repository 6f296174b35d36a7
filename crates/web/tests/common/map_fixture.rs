#![allow(dead_code)]
//! What the map tests draw: a station with a valid hour (AQI 50, 优), a
//! source of one enterprise with an open alarm and one of another without,
//! a case with a position for each enterprise, on this year's plan (whose
//! folder has the schematic `boundaries.geojson`). Included with `#[path]`
//! by `map.rs` and `browser.rs`.

use gongjian_alarms::{Episode, RuleKind, RuleSet, Severity};
use gongjian_storage::{
    Actor, Device, IngestBatch, NewCase, NewSite, OrgKind, Role, SeriesValue, Upload,
};

use crate::common::TestApp;

pub struct MapFixture {
    pub station: i64,
    pub alarmed: i64,
    pub quiet: i64,
    pub case_a: i64,
    pub case_b: i64,
}

/// The enterprise whose source is in alarm, with user `firm-a`.
pub const FIRM_A: &str = "平原热电有限公司";
/// Another enterprise, with user `firm-b`.
pub const FIRM_B: &str = "新乡化工有限公司";
/// A hostile site name: must reach the popup as text.
pub const HOSTILE: &str = "<img src=x onerror=alert(1)>排口";

pub async fn map_fixture(app: &TestApp) -> MapFixture {
    app.load_this_years_plan().await;
    app.user("office", Role::Office, "区环境攻坚办", OrgKind::Office)
        .await;
    app.user("firm-a", Role::Enterprise, FIRM_A, OrgKind::Enterprise)
        .await;
    app.user("firm-b", Role::Enterprise, FIRM_B, OrgKind::Enterprise)
        .await;
    let a = app.org(FIRM_A, OrgKind::Enterprise).await;
    let b = app.org(FIRM_B, OrgKind::Enterprise).await;
    let actor = Actor::cli();
    let site =
        |code: &str, name: &str, kind: &str, org: Option<i64>, lon: &str, lat: &str| NewSite {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            organisation_id: org,
            township_id: None,
            longitude: Some(lon.into()),
            latitude: Some(lat.into()),
            ..NewSite::default()
        };
    let station = app
        .db
        .monitoring()
        .create_site(
            &actor,
            &site("PY001", "龙源站", "air_station", None, "113.97", "35.08"),
        )
        .await
        .unwrap();
    let alarmed = app
        .db
        .monitoring()
        .create_site(
            &actor,
            &site("S1", HOSTILE, "stack_gas", Some(a), "113.90", "35.12"),
        )
        .await
        .unwrap();
    let quiet = app
        .db
        .monitoring()
        .create_site(
            &actor,
            &site(
                "S2",
                "化工二号排口",
                "waste_water",
                Some(b),
                "113.75",
                "35.20",
            ),
        )
        .await
        .unwrap();

    // The station's last complete hour: SO2 10, NO2 20, CO 0.5, O3 60,
    // PM10 50, PM2.5 35 → hourly AQI 50 (优).
    app.db
        .monitoring()
        .upsert_device(
            &actor,
            &Device::new("AIRTEST000000000000000001", "123456", station.id),
        )
        .await
        .unwrap();
    let hour = gongjian_storage::now() / 3600 * 3600 - 2 * 3600;
    let values = [
        ("a21026", "10"),
        ("a21004", "20"),
        ("a21005", "0.5"),
        ("a05024", "60"),
        ("a34002", "50"),
        ("a34004", "35"),
    ]
    .into_iter()
    .map(|(factor, v)| SeriesValue {
        factor: factor.into(),
        kind: "hour",
        period_start: hour,
        value: Some(v.into()),
        converted: None,
        flag: "N".into(),
    })
    .collect();
    app.db
        .monitoring()
        .commit_ingest(&IngestBatch {
            uploads: vec![Upload {
                mn: "AIRTEST000000000000000001".into(),
                cn: "2061".into(),
                datatime: "20250101000000".into(),
                pno: 0,
                site_id: station.id,
                values,
            }],
            ..IngestBatch::default()
        })
        .await
        .unwrap();

    // An open SO2 exceedance at enterprise A's stack.
    let rules = RuleSet::defaults();
    let h = gongjian_storage::now() / 3600 * 3600 - 3 * 3600;
    app.db
        .alarms()
        .reconcile_alarms(
            alarmed.id,
            0,
            &rules,
            &[Episode {
                rule: "source_exceedance".into(),
                kind: RuleKind::Exceedance,
                factor: "a21026".into(),
                started_at: h,
                last_at: h + 7200,
                ongoing: true,
                hours: 3,
                peak: Some(rust_decimal::Decimal::from(52)),
                multiple: Some(rust_decimal::Decimal::new(49, 2)),
                evidence: Vec::new(),
                summary: "二氧化硫超标 3 小时".into(),
            }],
        )
        .await
        .unwrap();

    let case = |org: i64, title: &str, lon: &str, lat: &str| NewCase {
        title: title.into(),
        source: "patrol".into(),
        category: "散乱污".into(),
        severity: Severity::Minor,
        description: String::new(),
        site_id: None,
        alarm_id: None,
        rule: None,
        factor: None,
        organisation_id: org,
        township_id: None,
        due_on: gongjian_storage::today_cst() + chrono::Duration::days(7),
        contact: None,
        longitude: Some(lon.into()),
        latitude: Some(lat.into()),
        attachments: Vec::new(),
    };
    let case_a = app
        .db
        .cases()
        .create_case(&actor, &case(a, "热电厂区露天堆放", "113.91", "35.11"))
        .await
        .unwrap();
    let case_b = app
        .db
        .cases()
        .create_case(&actor, &case(b, "化工厂雨水口异味", "113.76", "35.19"))
        .await
        .unwrap();
    MapFixture {
        station: station.id,
        alarmed: alarmed.id,
        quiet: quiet.id,
        case_a,
        case_b,
    }
}
