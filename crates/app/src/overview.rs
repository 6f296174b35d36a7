//! 总览's live readings: the latest hour's AQI per station and for the
//! district, and the chart series (24 hours, 30 days). The standards engine
//! does every calculation; the web layer only formats.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use gongjian_standards::aqi::{self, HourlyInput, Level};
use gongjian_standards::cst::{hour_end_local, hour_start_utc};
use gongjian_standards::evaluation::{HourRecord, PerPollutant, Pollutant};
use gongjian_standards::exact::div_round_half_even;
use gongjian_standards::rules::AqiRules;
use gongjian_storage::{Db, StorageError};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::air::AirData;

/// One hourly AQI reading (a station or the district).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AqiReading {
    /// The station's site (None for the district).
    pub site_id: Option<i64>,
    pub name: String,
    /// The published AQI; `None` (shown "NA") when the hour may not be
    /// published (HJ 633: a pollutant missing).
    pub aqi: Option<u16>,
    pub level: Option<Level>,
    /// 首要污染物 names.
    pub primary: Vec<String>,
    pub pm25: Option<Decimal>,
}

impl AqiReading {
    fn of(
        site_id: Option<i64>,
        name: String,
        rules: AqiRules,
        v: &PerPollutant<Option<Decimal>>,
    ) -> AqiReading {
        let r = hourly_report(rules, v);
        let aqi = r
            .as_ref()
            .and_then(|r| r.published.then_some(r.aqi).flatten());
        AqiReading {
            site_id,
            name,
            aqi,
            level: aqi.map(Level::of),
            primary: r
                .map(|r| r.primary.iter().map(|p| p.name().to_owned()).collect())
                .unwrap_or_default(),
            pm25: v.pm25,
        }
    }
}

/// The latest complete, valid hour, read for every station and the district.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourReadings {
    /// Local end of the hour (its label).
    pub end: NaiveDateTime,
    /// Whole minutes between the hour's end and `now`.
    pub age_minutes: i64,
    pub district: AqiReading,
    pub stations: Vec<AqiReading>,
}

impl HourReadings {
    /// How old the reading is, in words: "12 分钟前", "3 小时前", "2 天前".
    pub fn age_text(&self) -> String {
        let m = self.age_minutes.max(0);
        if m < 60 {
            format!("{m} 分钟前")
        } else if m < 48 * 60 {
            format!("{} 小时前", m / 60)
        } else {
            format!("{} 天前", m / (24 * 60))
        }
    }
}

fn hourly_report(rules: AqiRules, v: &PerPollutant<Option<Decimal>>) -> Option<aqi::AqiReport> {
    aqi::hourly(
        rules,
        &HourlyInput {
            so2: v.so2,
            no2: v.no2,
            co: v.co,
            o3: v.o3,
            pm10: v.pm10,
            pm25: v.pm25,
            so2_24h: None,
        },
    )
    .ok()
}

/// District hourly values: the mean of the stations' values for the hour
/// (rounded to the reporting digits, as the standards engine does for days).
fn district_hour(stations: &[&PerPollutant<Option<Decimal>>]) -> PerPollutant<Option<Decimal>> {
    let mut out = PerPollutant::default();
    for p in Pollutant::ALL {
        let vals: Vec<Decimal> = stations.iter().filter_map(|s| s[p]).collect();
        if !vals.is_empty() {
            out[p] = Some(div_round_half_even(
                vals.iter().sum(),
                Decimal::from(vals.len() as u64),
                p.digits(),
            ));
        }
    }
    out
}

/// The stations the district's figures are computed from.
fn district_station_ids(data: &AirData) -> Vec<i64> {
    data.stations
        .iter()
        .filter(|s| s.site.scope().district)
        .map(|s| s.site.id)
        .collect()
}

fn rules_of_hour(end: NaiveDateTime) -> AqiRules {
    AqiRules::for_date((end - Duration::hours(1)).date())
}

/// The latest complete, valid hour at the stations of `data`, as of `now`
/// (local): the hour still running with HJ 212 loggers is invalid until it
/// has 45 valid minutes, and an hour the rollup judged invalid has no
/// value, so both are passed over for the last hour that can be published.
pub async fn latest_hour(
    db: &Db,
    data: &AirData,
    now: NaiveDateTime,
) -> Result<Option<HourReadings>, StorageError> {
    // The hour is the district's: the latest its assessment stations can
    // publish. Every station's reading of that hour is listed (micro
    // stations too: the map shows hot spots with them); the district's
    // value is the mean of its assessment stations only.
    let Some(start) = db
        .air()
        .latest_valid_air_hour(
            &district_station_ids(data),
            gongjian_standards::cst::from_local(now),
        )
        .await?
    else {
        return Ok(None);
    };
    let all: Vec<i64> = data.stations.iter().map(|s| s.site.id).collect();
    let hours = db.air().air_hours_of(&all, start, start + 3600).await?;
    let end = hour_end_local(start);
    let rules = rules_of_hour(end);
    let mut stations = Vec::new();
    let mut vals = Vec::new();
    for s in &data.stations {
        if let Some(h) = hours.get(&s.site.id).and_then(|v| v.first()) {
            stations.push(AqiReading::of(
                Some(s.site.id),
                s.site.name.clone(),
                rules,
                &h.values,
            ));
            if s.site.scope().district {
                vals.push(h.values);
            }
        }
    }
    let refs: Vec<&PerPollutant<Option<Decimal>>> = vals.iter().collect();
    Ok(Some(HourReadings {
        end,
        age_minutes: (now - end).num_minutes(),
        district: AqiReading::of(None, "全区".into(), rules, &district_hour(&refs)),
        stations,
    }))
}

/// One point of an overview chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartPoint {
    /// Axis label (local time).
    pub t: String,
    pub aqi: Option<u16>,
    /// The AQI level's colour (HJ 633 table 2), for the bar.
    pub color: Option<&'static str>,
    pub pm25: Option<String>,
    pub pm10: Option<String>,
}

fn level_color(aqi: Option<u16>) -> Option<&'static str> {
    aqi.map(|a| gongjian_standards::aqi::Level::of(a).color())
}

/// The district's hourly AQI and PM2.5 over the 24 hours up to the latest
/// hour with data.
pub async fn district_hours(db: &Db, data: &AirData) -> Result<Vec<ChartPoint>, StorageError> {
    let Some(last) = db.air().latest_air_hour().await? else {
        return Ok(Vec::new());
    };
    let ids = district_station_ids(data);
    let by_site = db
        .air()
        .air_hours_of(&ids, last - 23 * 3600, last + 3600)
        .await?;
    let mut by_hour: BTreeMap<i64, Vec<&HourRecord>> = BTreeMap::new();
    for hs in by_site.values() {
        for h in hs {
            by_hour.entry(hour_start_utc(h.end)).or_default().push(h);
        }
    }
    Ok(by_hour
        .values()
        .map(|hs| {
            let refs: Vec<&PerPollutant<Option<Decimal>>> = hs.iter().map(|h| &h.values).collect();
            let v = district_hour(&refs);
            let end = hs[0].end;
            let aqi = hourly_report(rules_of_hour(end), &v).and_then(|r| r.aqi);
            ChartPoint {
                t: end.format("%m-%d %H:00").to_string(),
                aqi,
                color: level_color(aqi),
                pm25: v.pm25.map(|d| d.to_string()),
                pm10: None,
            }
        })
        .collect())
}

/// The district's daily AQI, PM2.5 and PM10 over the last 30 days with data.
pub fn district_days(data: &AirData) -> Vec<ChartPoint> {
    let n = data.district.len();
    data.district[n.saturating_sub(30)..]
        .iter()
        .map(|d| ChartPoint {
            t: d.date.format("%m-%d").to_string(),
            aqi: d.aqi.aqi,
            color: level_color(d.aqi.aqi),
            pm25: d.value(Pollutant::Pm25).map(|x| x.to_string()),
            pm10: d.value(Pollutant::Pm10).map(|x| x.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_of_a_reading_is_said_in_minutes_hours_or_days() {
        let at = |m: i64| HourReadings {
            end: NaiveDateTime::default(),
            age_minutes: m,
            district: AqiReading {
                site_id: None,
                name: "全区".into(),
                aqi: None,
                level: None,
                primary: Vec::new(),
                pm25: None,
            },
            stations: Vec::new(),
        };
        assert_eq!(at(0).age_text(), "0 分钟前");
        assert_eq!(at(59).age_text(), "59 分钟前");
        assert_eq!(at(60).age_text(), "1 小时前");
        assert_eq!(at(47 * 60 + 59).age_text(), "47 小时前");
        assert_eq!(at(48 * 60).age_text(), "2 天前");
    }

    #[test]
    fn the_district_hour_is_the_rounded_mean_of_the_stations_that_reported() {
        let a = PerPollutant {
            pm25: Some(Decimal::from(35)),
            co: Some(Decimal::new(12, 1)),
            ..Default::default()
        };
        let b = PerPollutant {
            pm25: Some(Decimal::from(36)),
            ..Default::default()
        };
        let d = district_hour(&[&a, &b]);
        // 35.5 rounds half to even at PM2.5's 0 digits → 36; CO from one station.
        assert_eq!(d.pm25, Some(Decimal::from(36)));
        assert_eq!(d.co, Some(Decimal::new(12, 1)));
        assert_eq!(d.so2, None);
    }
}
