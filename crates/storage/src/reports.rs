//! Air-station data imports, the daily cache behind targets and rankings,
//! and published monthly reports (月调度).
//!
//! Hourly air data live in `series` (kind `hour`, `period_start` = the
//! hour's START in UTC). Imported files label hours by their END in local
//! time (CST, UTC+8): the hour ending 2020-01-01 01:00 CST starts at
//! 2019-12-31 16:00 UTC.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use gongjian_standards::evaluation::{
    self, DailyRecord, DailyValue, HourRecord, Options, PerPollutant, Pollutant,
};
use gongjian_standards::rules::AirRules;
use rust_decimal::Decimal;
use serde::Serialize;

use gongjian_standards::cst::{day_start_utc, hour_end_local};

use crate::audit::{AuditRecord, append};
use crate::db::insert_rows;
use crate::{Actor, StorageError, now, validate};

crate::db::area!(
    /// Air-station hours, the daily air cache and published 月调度 reports.
    AirData,
    air
);

/// HJ 212-2017 factor codes of the six air pollutants, in
/// `Pollutant::ALL` order (SO₂, NO₂, CO, O₃, PM10, PM2.5).
pub const AIR_FACTORS: [(Pollutant, &str); 6] = [
    (Pollutant::So2, "a21026"),
    (Pollutant::No2, "a21004"),
    (Pollutant::Co, "a21005"),
    (Pollutant::O3, "a05024"),
    (Pollutant::Pm10, "a34002"),
    (Pollutant::Pm25, "a34004"),
];

/// A site (monitoring point).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationSite {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub organisation_id: Option<i64>,
    pub township_id: Option<i64>,
    /// Name of the township organisation, when set.
    pub township: Option<String>,
    pub station_class: Option<gongjian_campaign::StationClass>,
    pub assessment: gongjian_campaign::ScopeSetting,
}

impl StationSite {
    /// What this air station's data is used for.
    pub fn scope(&self) -> gongjian_campaign::StationScope {
        gongjian_campaign::station_scope(self.station_class, self.assessment)
    }
}

/// One station-hour to store: values as the exact decimal text received
/// (`None` = missing, not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AirHour {
    pub site_id: i64,
    /// UTC start of the hour.
    pub period_start: i64,
    /// In `AIR_FACTORS` order.
    pub values: [Option<Decimal>; 6],
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpsertStats {
    /// Values written for the first time or changed.
    pub written: u64,
    /// Values already stored with the same text.
    pub unchanged: u64,
}

/// A stored daily record of one station.
#[derive(Debug, Clone)]
pub struct StationDays {
    pub site: StationSite,
    pub days: Vec<DailyRecord>,
}

/// A published report: frozen payload and its number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedReport {
    pub id: i64,
    /// `YYYY-MM`.
    pub month: String,
    pub version: i64,
    pub title: String,
    pub payload: serde_json::Value,
    pub publisher: String,
    pub published_at: i64,
}

const SITE_COLUMNS: &str = "s.id, s.code, s.name, s.kind, s.organisation_id, s.township_id, \
     o.name AS township, s.station_class, s.assessment";

/// A row of [`SITE_COLUMNS`]: station class and assessment as stored text.
#[derive(sqlx::FromRow)]
struct StationSiteRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    organisation_id: Option<i64>,
    township_id: Option<i64>,
    township: Option<String>,
    station_class: Option<String>,
    assessment: Option<String>,
}

impl TryFrom<StationSiteRow> for StationSite {
    type Error = StorageError;

    fn try_from(row: StationSiteRow) -> Result<Self, StorageError> {
        Ok(StationSite {
            station_class: crate::monitoring::station_class_column(row.station_class.as_deref())?,
            assessment: crate::monitoring::assessment_column(row.assessment.as_deref())?,
            id: row.id,
            code: row.code,
            name: row.name,
            kind: row.kind,
            organisation_id: row.organisation_id,
            township_id: row.township_id,
            township: row.township,
        })
    }
}

fn dec(s: Option<String>) -> Result<Option<Decimal>, StorageError> {
    s.map(|t| {
        t.parse::<Decimal>()
            .map_err(|e| StorageError::Corrupt(format!("stored decimal {t:?}: {e}")))
    })
    .transpose()
}

/// An `air_daily` row: values as exact decimal text, `counts` as the
/// comma-separated valid-hour counts (in the order of the value columns).
#[derive(sqlx::FromRow)]
struct AirDailyRow {
    site_id: i64,
    day: String,
    so2: Option<String>,
    no2: Option<String>,
    co: Option<String>,
    o3: Option<String>,
    o3_1h: Option<String>,
    pm10: Option<String>,
    pm25: Option<String>,
    counts: String,
}

impl AirData<'_> {
    /// Sites of a kind (e.g. `air_station`), ordered by code.
    pub async fn sites_of_kind(&self, kind: &str) -> Result<Vec<StationSite>, StorageError> {
        let rows = sqlx::query_as::<_, StationSiteRow>(&format!(
            "SELECT {SITE_COLUMNS} FROM sites s LEFT JOIN organisations o ON o.id = s.township_id \
             WHERE s.kind = $1 ORDER BY s.code"
        ))
        .bind(kind)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(StationSite::try_from).collect()
    }

    /// Map station codes to site ids, creating an `air_station` site (named
    /// after its code) for each unknown code. Existing sites of any kind are
    /// matched by code. Returns code → id. For storage fixtures only: the
    /// air import (`gongjian_app::air::import_parsed`) never creates a
    /// station, it refuses codes that are not registered air stations.
    pub async fn ensure_air_stations(
        &self,
        actor: &Actor,
        codes: &[String],
    ) -> Result<HashMap<String, i64>, StorageError> {
        let mut out = HashMap::new();
        let mut tx = self.write.begin().await?;
        for code in codes {
            let code = code.trim();
            if code.is_empty() || out.contains_key(code) {
                continue;
            }
            validate::line("站点编码", code, validate::CODE_MAX)?;
            let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM sites WHERE code = $1")
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
            let id = match existing {
                Some(id) => id,
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO sites (code, name, kind, created_at) \
                         VALUES ($1, $2, 'air_station', $3) RETURNING id",
                    )
                    .bind(code)
                    .bind(code)
                    .bind(now())
                    .fetch_one(&mut *tx)
                    .await?;
                    append(
                        &mut tx,
                        actor,
                        AuditRecord::new("create", "site", id)
                            .after(&serde_json::json!({"code": code, "kind": "air_station"})),
                    )
                    .await?;
                    id
                }
            };
            out.insert(code.to_owned(), id);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Set a site's display name and township (used by the demo and by
    /// administrators).
    pub async fn set_site_place(
        &self,
        actor: &Actor,
        site_id: i64,
        name: &str,
        township_id: Option<i64>,
    ) -> Result<(), StorageError> {
        validate::line("站点名称", name, validate::NAME_MAX)?;
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE sites SET name = $1, township_id = $2 WHERE id = $3")
            .bind(name)
            .bind(township_id)
            .bind(site_id)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("update", "site", site_id)
                .after(&serde_json::json!({"name": name, "township_id": township_id})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Insert or update hourly air values, idempotent per (station, hour,
    /// factor): a value stored with the same text is left alone (its
    /// `received_at` unchanged), a changed value is replaced. One audit
    /// entry for the whole import. Then the daily cache is refreshed.
    pub async fn upsert_air_hours(
        &self,
        actor: &Actor,
        source_name: &str,
        rows: &[AirHour],
    ) -> Result<UpsertStats, StorageError> {
        let mut stats = UpsertStats::default();
        let received = now();
        let mut tx = self.write.begin().await?;
        let flat: Vec<(i64, &str, i64, String)> = rows
            .iter()
            .flat_map(|r| {
                AIR_FACTORS
                    .iter()
                    .zip(r.values.iter())
                    .filter_map(move |((_, f), v)| {
                        v.map(|v| (r.site_id, *f, r.period_start, v.to_string()))
                    })
            })
            .collect();
        // A row comes back only where the value was new or changed.
        let written = insert_rows(
            &mut tx,
            self.backend(),
            "INSERT INTO series (site_id, factor, kind, period_start, value, flag, source, \
             received_at)",
            "ON CONFLICT (site_id, factor, kind, period_start) DO UPDATE SET \
             value = excluded.value, source = excluded.source, \
             received_at = excluded.received_at, flag = excluded.flag \
             WHERE series.value IS DISTINCT FROM excluded.value \
             RETURNING site_id",
            8,
            &flat,
            |q, (site, factor, start, value)| {
                q.bind(*site)
                    .bind(*factor)
                    .bind("hour")
                    .bind(*start)
                    .bind(value.as_str())
                    .bind("N")
                    .bind("import")
                    .bind(received)
            },
        )
        .await?
        .len() as u64;
        stats.written += written;
        stats.unchanged += flat.len() as u64 - written;
        append(
            &mut tx,
            actor,
            AuditRecord::new("import", "series", source_name).after(
                &serde_json::json!({"written": stats.written, "unchanged": stats.unchanged}),
            ),
        )
        .await?;
        tx.commit().await?;
        self.refresh_air_daily().await?;
        Ok(stats)
    }

    /// Hourly air values of a site in `[from_utc, to_utc)` (hour starts),
    /// as hour records labelled by their local END time, ascending.
    pub async fn air_hours(
        &self,
        site_id: i64,
        from_utc: i64,
        to_utc: i64,
    ) -> Result<Vec<HourRecord>, StorageError> {
        let mut by_hour = self.air_hours_of(&[site_id], from_utc, to_utc).await?;
        Ok(by_hour.remove(&site_id).unwrap_or_default())
    }

    /// Hourly air values of several sites (site → hours ascending).
    pub async fn air_hours_of(
        &self,
        site_ids: &[i64],
        from_utc: i64,
        to_utc: i64,
    ) -> Result<BTreeMap<i64, Vec<HourRecord>>, StorageError> {
        let mut out: BTreeMap<i64, BTreeMap<i64, PerPollutant<Option<Decimal>>>> = BTreeMap::new();
        if site_ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let list = site_ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let rows = sqlx::query_as::<_, (i64, String, i64, Option<String>)>(&format!(
            "SELECT site_id, factor, period_start, value FROM series \
             WHERE kind = 'hour' AND period_start >= $1 AND period_start < $2 \
             AND site_id IN ({list}) \
             AND factor IN ('a21026','a21004','a21005','a05024','a34002','a34004')"
        ))
        .bind(from_utc)
        .bind(to_utc)
        .fetch_all(&self.read)
        .await?;
        for (site, factor, start, value) in rows {
            let value = dec(value)?;
            let Some((p, _)) = AIR_FACTORS.iter().find(|(_, f)| *f == factor) else {
                continue;
            };
            out.entry(site).or_default().entry(start).or_default()[*p] = value;
        }
        Ok(out
            .into_iter()
            .map(|(site, hours)| {
                let v = hours
                    .into_iter()
                    .map(|(start, values)| HourRecord {
                        end: hour_end_local(start),
                        values,
                    })
                    .collect();
                (site, v)
            })
            .collect())
    }

    /// Recompute the daily cache for every (air station, local day) whose
    /// hours arrived or changed since the last refresh (late data
    /// included). Returns the number of station-days recomputed.
    ///
    /// The watermark is in whole seconds and never passes the second before
    /// this refresh began, so a row written in the same second as a refresh
    /// (a late correction, say) is taken by the next one rather than lost.
    pub async fn refresh_air_daily(&self) -> Result<u64, StorageError> {
        let started = now();
        let mark: i64 =
            sqlx::query_scalar("SELECT value FROM derived_state WHERE key = 'air_daily_received'")
                .fetch_optional(&self.read)
                .await?
                .unwrap_or(-1);
        // Every hourly value (any site) that arrived since the watermark:
        // the watermark moves past all of them, so stack hours arriving
        // in bulk are read once, not on every refresh.
        let latest: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(received_at) FROM series WHERE kind = 'hour' AND received_at > $1",
        )
        .bind(mark)
        .fetch_one(&self.read)
        .await?;
        let Some(latest) = latest else {
            return Ok(0);
        };
        let new_mark = latest.min(started - 1).max(mark);
        let rows = sqlx::query_as::<_, (i64, i64)>(
            "SELECT DISTINCT se.site_id, se.period_start FROM series se \
             JOIN sites s ON s.id = se.site_id \
             WHERE se.kind = 'hour' AND se.received_at > $1 AND s.kind = 'air_station'",
        )
        .bind(mark)
        .fetch_all(&self.read)
        .await?;
        if rows.is_empty() {
            // Only other sites' hours: move on, at most once a minute so a
            // busy listener does not turn every page view into a write.
            if new_mark > mark + 60 {
                self.set_air_daily_mark(new_mark, started).await?;
            }
            return Ok(0);
        }
        let mut dirty: BTreeMap<i64, std::collections::BTreeSet<NaiveDate>> = BTreeMap::new();
        for &(site, start) in &rows {
            let (day, _) = evaluation::day_of_hour_end(hour_end_local(start));
            dirty.entry(site).or_default().insert(day);
        }
        let mut n = 0u64;
        let computed = now();
        for (site, days) in dirty {
            let (Some(first), Some(last)) = (days.first(), days.last()) else {
                continue;
            };
            let hours = self
                .air_hours(
                    site,
                    day_start_utc(*first),
                    day_start_utc(*last) + 24 * 3600,
                )
                .await?;
            let records = evaluation::daily_records(&hours, &Options::default())
                .map_err(|e| StorageError::Corrupt(e.to_string()))?;
            let mut tx = self.write.begin().await?;
            for d in records.iter().filter(|d| days.contains(&d.date)) {
                let v = |x: &DailyValue| x.value.map(|d| d.to_string());
                let counts = [
                    d.values.so2.count,
                    d.values.no2.count,
                    d.values.co.count,
                    d.values.o3.count,
                    d.o3_max_1h.count,
                    d.values.pm10.count,
                    d.values.pm25.count,
                ]
                .map(|c| c.to_string())
                .join(",");
                sqlx::query(
                    "INSERT INTO air_daily (site_id, day, so2, no2, co, o3, o3_1h, pm10, pm25, \
                     counts, computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                     ON CONFLICT (site_id, day) DO UPDATE SET so2 = excluded.so2, \
                     no2 = excluded.no2, co = excluded.co, o3 = excluded.o3, \
                     o3_1h = excluded.o3_1h, pm10 = excluded.pm10, pm25 = excluded.pm25, \
                     counts = excluded.counts, computed_at = excluded.computed_at",
                )
                .bind(site)
                .bind(d.date.to_string())
                .bind(v(&d.values.so2))
                .bind(v(&d.values.no2))
                .bind(v(&d.values.co))
                .bind(v(&d.values.o3))
                .bind(v(&d.o3_max_1h))
                .bind(v(&d.values.pm10))
                .bind(v(&d.values.pm25))
                .bind(counts)
                .bind(computed)
                .execute(&mut *tx)
                .await?;
                n += 1;
            }
            tx.commit().await?;
        }
        self.set_air_daily_mark(new_mark, computed).await?;
        if n > 0 {
            sqlx::query(
                "INSERT INTO derived_state (key, value, updated_at) \
                 VALUES ('air_daily_generation', 1, $1) ON CONFLICT (key) DO UPDATE \
                 SET value = derived_state.value + 1, updated_at = excluded.updated_at",
            )
            .bind(computed)
            .execute(&self.write)
            .await?;
        }
        Ok(n)
    }

    /// A number that changes whenever a refresh recomputes any station-day
    /// (unlike [`AirData::air_daily_refreshed_at`], it tells apart two refreshes
    /// in the same second), for in-memory caches of the daily values.
    pub async fn air_daily_generation(&self) -> Result<i64, StorageError> {
        Ok(
            sqlx::query_scalar(
                "SELECT value FROM derived_state WHERE key = 'air_daily_generation'",
            )
            .fetch_optional(&self.read)
            .await?
            .unwrap_or(0),
        )
    }

    async fn set_air_daily_mark(&self, mark: i64, at: i64) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO derived_state (key, value, updated_at) VALUES ('air_daily_received', $1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(mark)
        .bind(at)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// When the daily cache was last brought up to date (Unix s), if ever.
    pub async fn air_daily_refreshed_at(&self) -> Result<Option<i64>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT updated_at FROM derived_state WHERE key = 'air_daily_received'",
        )
        .fetch_optional(&self.read)
        .await?)
    }

    /// Daily records of every air station over `from..=to` (local days),
    /// from the cache, rebuilt with each date's rules.
    pub async fn air_station_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<StationDays>, StorageError> {
        let sites = self.sites_of_kind("air_station").await?;
        let rows = sqlx::query_as::<_, AirDailyRow>(
            "SELECT site_id, day, so2, no2, co, o3, o3_1h, pm10, pm25, counts FROM air_daily \
             WHERE day >= $1 AND day <= $2 ORDER BY site_id, day",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.read)
        .await?;
        let mut by_site: HashMap<i64, Vec<DailyRecord>> = HashMap::new();
        for row in rows {
            let site = row.site_id;
            let day = row.day;
            let date: NaiveDate = day
                .parse()
                .map_err(|_| StorageError::Corrupt(format!("air_daily day {day:?}")))?;
            let c: Vec<u8> = row
                .counts
                .split(',')
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            let cnt = |i: usize| c.get(i).copied().unwrap_or(0);
            let get = |value: Option<String>, i: usize| -> Result<DailyValue, StorageError> {
                Ok(DailyValue {
                    value: dec(value)?,
                    count: cnt(i),
                })
            };
            let values = PerPollutant {
                so2: get(row.so2, 0)?,
                no2: get(row.no2, 1)?,
                co: get(row.co, 2)?,
                o3: get(row.o3, 3)?,
                pm10: get(row.pm10, 5)?,
                pm25: get(row.pm25, 6)?,
            };
            let o3_max_1h = get(row.o3_1h, 4)?;
            let rules = AirRules::for_date(date);
            let aqi = evaluation::daily_aqi(rules.aqi, &values, &o3_max_1h);
            by_site.entry(site).or_default().push(DailyRecord {
                date,
                rules,
                values,
                o3_max_1h,
                aqi,
            });
        }
        Ok(sites
            .into_iter()
            .map(|site| {
                let days = by_site.remove(&site.id).unwrap_or_default();
                StationDays { site, days }
            })
            .collect())
    }

    /// The latest hour (UTC start) with any air value, if any.
    pub async fn latest_air_hour(&self) -> Result<Option<i64>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT MAX(se.period_start) FROM series se JOIN sites s ON s.id = se.site_id \
             WHERE se.kind = 'hour' AND s.kind = 'air_station' AND se.factor = 'a34004'",
        )
        .fetch_one(&self.read)
        .await?)
    }

    /// The start (UTC) of the latest hour that is over by `now_utc` and has
    /// a valid PM2.5 hour value (flag `N`, a value) at one of `site_ids`.
    /// An hour still running, or one the rollup found invalid (fewer than
    /// 45 valid minutes: no value, flag `B`), is passed over.
    pub async fn latest_valid_air_hour(
        &self,
        site_ids: &[i64],
        now_utc: i64,
    ) -> Result<Option<i64>, StorageError> {
        if site_ids.is_empty() {
            return Ok(None);
        }
        let list = site_ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        Ok(sqlx::query_scalar(&format!(
            "SELECT MAX(period_start) FROM series WHERE kind = 'hour' AND factor = 'a34004' \
             AND site_id IN ({list}) AND value IS NOT NULL AND flag = 'N' AND period_start <= $1"
        ))
        .bind(now_utc - 3600)
        .fetch_one(&self.read)
        .await?)
    }

    /// Publish a report for `month` (`YYYY-MM`): a new frozen version
    /// numbered after the previous ones. Visible to every role.
    pub async fn publish_report(
        &self,
        actor: &Actor,
        month: &str,
        title: &str,
        payload: &serde_json::Value,
    ) -> Result<PublishedReport, StorageError> {
        if NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() {
            return Err(StorageError::rule(
                crate::Rule::ReportMonth,
                format!("月份“{month}”格式应为 YYYY-MM"),
            ));
        }
        validate::line("报告标题", title, validate::SHORT_TEXT_MAX)?;
        let mut tx = self.write.begin().await?;
        let prev: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM published_reports WHERE month = $1")
                .bind(month)
                .fetch_one(&mut *tx)
                .await?;
        let version = prev.unwrap_or(0) + 1;
        let at = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO published_reports (month, version, title, payload, published_by, \
             publisher, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(month)
        .bind(version)
        .bind(title)
        .bind(payload.to_string())
        .bind(actor.user_id)
        .bind(actor.name.as_str())
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("publish", "report", id)
                .after(&serde_json::json!({"month": month, "version": version})),
        )
        .await?;
        tx.commit().await?;
        Ok(PublishedReport {
            id,
            month: month.to_owned(),
            version,
            title: title.to_owned(),
            payload: payload.clone(),
            publisher: actor.name.clone(),
            published_at: at,
        })
    }

    /// Published versions (newest first); `month` filters to one month.
    pub async fn published_reports(
        &self,
        month: Option<&str>,
    ) -> Result<Vec<PublishedReport>, StorageError> {
        let rows = sqlx::query_as::<_, PublishedReportRow>(
            "SELECT id, month, version, title, payload, publisher, published_at \
             FROM published_reports WHERE ($1 = '' OR month = $1) \
             ORDER BY month DESC, version DESC",
        )
        .bind(month.unwrap_or(""))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(PublishedReport::try_from).collect()
    }

    /// One published version.
    pub async fn published_report(
        &self,
        month: &str,
        version: i64,
    ) -> Result<PublishedReport, StorageError> {
        let row = sqlx::query_as::<_, PublishedReportRow>(
            "SELECT id, month, version, title, payload, publisher, published_at \
             FROM published_reports WHERE month = $1 AND version = $2",
        )
        .bind(month)
        .bind(version)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StorageError::NotFound {
            entity: "report",
            key: format!("{month} v{version}"),
        })?;
        PublishedReport::try_from(row)
    }
}

/// A `published_reports` row: the payload as stored JSON text.
#[derive(sqlx::FromRow)]
struct PublishedReportRow {
    id: i64,
    month: String,
    version: i64,
    title: String,
    payload: String,
    publisher: String,
    published_at: i64,
}

impl TryFrom<PublishedReportRow> for PublishedReport {
    type Error = StorageError;

    fn try_from(row: PublishedReportRow) -> Result<Self, StorageError> {
        Ok(PublishedReport {
            payload: serde_json::from_str(&row.payload)
                .map_err(|e| StorageError::Corrupt(format!("report payload: {e}")))?,
            id: row.id,
            month: row.month,
            version: row.version,
            title: row.title,
            publisher: row.publisher,
            published_at: row.published_at,
        })
    }
}
