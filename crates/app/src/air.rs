//! Air-station data: the import of hourly station files and the year cache
//! of station, township and district days that targets and rankings read.
//!
//! Days come from the daily cache (`air_daily`), which the `air_cache` job
//! and every import bring up to date; reading them never writes, so a page
//! view does not queue behind ingestion for the single SQLite writer.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use gongjian_standards::cst::hour_start_utc;
use gongjian_standards::evaluation::{DailyRecord, Pollutant};
use gongjian_storage::{Actor, AirHour, Db, StationDays, StorageError};
use gongjian_tabular::Table;
use gongjian_targets::air;
use gongjian_targets::import::{ParsedFile, Rejected, parse_air};
use serde::Serialize;

use crate::AppError;

// ---------------------------------------------------------------- import

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub file: String,
    /// Rows accepted.
    pub accepted: usize,
    /// Values written (new or changed).
    pub written: u64,
    /// Values already stored identically.
    pub unchanged: u64,
    /// Stations in the file.
    pub stations: Vec<String>,
    /// Rejected rows with file, line, column.
    pub rejected: Vec<Rejected>,
}

/// Import a parsed air file: map station codes to sites (creating unknown
/// ones as `air_station`), upsert every station-hour (idempotent), refresh
/// the daily cache.
pub async fn import_parsed(
    db: &Db,
    actor: &Actor,
    file: &str,
    parsed: &ParsedFile,
) -> Result<ImportOutcome, StorageError> {
    let stations = parsed.stations();
    let ids = db.ensure_air_stations(actor, &stations).await?;
    let rows: Vec<AirHour> = parsed
        .hours
        .iter()
        .filter_map(|h| {
            let site_id = *ids.get(h.station.trim())?;
            let v = h.values;
            Some(AirHour {
                site_id,
                period_start: hour_start_utc(h.end),
                values: [v.so2, v.no2, v.co, v.o3, v.pm10, v.pm25],
            })
        })
        .collect();
    let stats = db.upsert_air_hours(actor, file, &rows).await?;
    Ok(ImportOutcome {
        file: file.to_owned(),
        accepted: rows.len(),
        written: stats.written,
        unchanged: stats.unchanged,
        stations,
        rejected: parsed.rejected.clone(),
    })
}

/// Parse and import a table (CSV or XLSX already read).
pub async fn import_table(
    db: &Db,
    actor: &Actor,
    table: &Table,
) -> Result<ImportOutcome, AppError> {
    let parsed = parse_air(table).map_err(|e| AppError::InvalidFile(e.to_string()))?;
    Ok(import_parsed(db, actor, table.source(), &parsed).await?)
}

// ---------------------------------------------------------------- air data

/// Air data loaded for a year: station days from 1 January of the previous
/// year (for same-period comparisons) to the end of `year`.
#[derive(Debug, Clone)]
pub struct AirData {
    pub year: i32,
    pub stations: Vec<StationDays>,
    /// District days (mean of the stations per day).
    pub district: Vec<DailyRecord>,
    /// Township → its days (mean of its stations).
    pub townships: BTreeMap<String, Vec<DailyRecord>>,
    /// Last day of `year` with a valid district PM2.5 value.
    pub as_of: Option<NaiveDate>,
    /// When the daily cache was last brought up to date.
    pub refreshed_at: Option<i64>,
}

impl AirData {
    /// The same data seen from the end of `last_day` (or earlier, when the
    /// data stop earlier): what a month's report counts.
    pub fn up_to(&self, last_day: NaiveDate) -> AirData {
        let mut out = self.clone();
        out.as_of = self.as_of.map(|a| a.min(last_day));
        out
    }
}

/// Bring the daily cache up to date, then load `year` (for one-shot
/// callers such as `gongjian targets`; the server reads through
/// [`AirCache`] and leaves refreshing to the `air_cache` job).
pub async fn load_air(db: &Db, year: i32) -> Result<AirData, StorageError> {
    db.refresh_air_daily().await?;
    load_air_as_cached(db, year).await
}

/// Air data per year, kept while the daily cache is unchanged: rebuilding a
/// year's district and township days costs far more than checking whether
/// anything arrived. An entry also expires after `AirCache::MAX_AGE`, so
/// a change the stamp cannot see (another process writing in the same
/// second) is picked up soon; pages say how old the daily cache is.
#[derive(Debug, Default)]
pub struct AirCache {
    years: Mutex<HashMap<i32, CachedAir>>,
}

#[derive(Debug)]
struct CachedAir {
    stamp: Option<i64>,
    built: Instant,
    data: Arc<AirData>,
}

impl AirCache {
    const MAX_AGE: Duration = Duration::from_secs(600);

    fn get(&self, year: i32, stamp: Option<i64>) -> Option<Arc<AirData>> {
        let years = self.years.lock().ok()?;
        years
            .get(&year)
            .filter(|c| c.stamp == stamp && c.built.elapsed() < Self::MAX_AGE)
            .map(|c| c.data.clone())
    }

    fn put(&self, year: i32, stamp: Option<i64>, data: Arc<AirData>) {
        if let Ok(mut years) = self.years.lock() {
            years.insert(
                year,
                CachedAir {
                    stamp,
                    built: Instant::now(),
                    data,
                },
            );
        }
    }

    fn clear(&self) {
        if let Ok(mut years) = self.years.lock() {
            years.clear();
        }
    }
}

/// The air data of `year` through `cache`. Only reads.
pub async fn air_data(db: &Db, cache: &AirCache, year: i32) -> Result<Arc<AirData>, StorageError> {
    let stamp = db.air_daily_refreshed_at().await?;
    if let Some(d) = cache.get(year, stamp) {
        return Ok(d);
    }
    let data = Arc::new(load_air_as_cached(db, year).await?);
    cache.put(year, stamp, data.clone());
    Ok(data)
}

/// One tick of the `air_cache` job: recompute the station-days whose hours
/// arrived or changed, and drop the year cache when any did. Returns the
/// number of station-days recomputed.
pub async fn refresh_air_cache(db: &Db, cache: &AirCache) -> Result<u64, StorageError> {
    let n = db.refresh_air_daily().await?;
    if n > 0 {
        cache.clear();
    }
    Ok(n)
}

/// The air data of `year` from the daily cache as it stands.
async fn load_air_as_cached(db: &Db, year: i32) -> Result<AirData, StorageError> {
    let from = NaiveDate::from_ymd_opt(year - 1, 1, 1).unwrap_or(NaiveDate::MIN);
    let to = gongjian_targets::year_end(year);
    let stations = db.air_station_days(from, to).await?;
    let slices: Vec<&[DailyRecord]> = stations.iter().map(|s| s.days.as_slice()).collect();
    let district = air::region_days(&slices);
    let mut by_township: BTreeMap<String, Vec<&[DailyRecord]>> = BTreeMap::new();
    for s in &stations {
        if let Some(t) = &s.site.township {
            by_township.entry(t.clone()).or_default().push(&s.days);
        }
    }
    let townships = by_township
        .into_iter()
        .map(|(k, v)| (k, air::region_days(&v)))
        .collect();
    let as_of = district
        .iter()
        .rev()
        .find(|d| d.date.year() == year && d.value(Pollutant::Pm25).is_some())
        .map(|d| d.date);
    Ok(AirData {
        year,
        stations,
        district,
        townships,
        as_of,
        refreshed_at: db.air_daily_refreshed_at().await?,
    })
}

/// A station's PM2.5 mean from 1 January to `through` (大气 station list).
pub fn station_ytd_pm25(s: &StationDays, through: NaiveDate) -> Option<rust_decimal::Decimal> {
    let from = gongjian_targets::year_start(through);
    let days: Vec<DailyRecord> = s
        .days
        .iter()
        .filter(|x| x.date >= from && x.date <= through)
        .cloned()
        .collect();
    gongjian_standards::evaluation::period_mean(&days, Pollutant::Pm25)
}
