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
use gongjian_storage::{Actor, AirHour, Db, Site, StationDays, StorageError, site_kind_label};
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
    /// Stations of a national publication file that are not registered
    /// here and were passed over (the file covers the whole country).
    pub skipped: Vec<String>,
    /// Rejected rows with file, line, column.
    pub rejected: Vec<Rejected>,
}

/// Import a parsed air file: map station codes to registered air stations,
/// upsert every station-hour (idempotent), refresh the daily cache.
///
/// A code that is not registered as an air station (a typo, a station never
/// registered) refuses the whole file, naming the codes and their rows:
/// nothing is imported, and no station is created by an import. Stations
/// are registered through 站点导入 / `gongjian sites import` first.
pub async fn import_parsed(
    db: &Db,
    actor: &Actor,
    file: &str,
    parsed: &ParsedFile,
) -> Result<ImportOutcome, AppError> {
    let mut stations = parsed.stations();
    let sites = db.monitoring().sites().await?;
    // A national publication lists every station of the country: only the
    // ones registered here are imported, the rest are counted. A district's
    // own file must name only its stations (a typo refuses the file).
    let mut skipped = Vec::new();
    if parsed.layout != gongjian_targets::import::Layout::Long {
        let (here, elsewhere): (Vec<String>, Vec<String>) = stations
            .into_iter()
            .partition(|c| sites.iter().any(|s| s.code == c.trim()));
        stations = here;
        skipped = elsewhere;
        if stations.is_empty() {
            return Err(AppError::InvalidFile(format!(
                "{file}: 全国发布文件中没有本区已登记的空气站（共 {} 个站点；请先在站点导入中登记本区站点，站点编码同发布文件）",
                skipped.len()
            )));
        }
    }
    let ids = station_ids(file, parsed, &stations, &sites)?;
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
    let stats = db.air().upsert_air_hours(actor, file, &rows).await?;
    Ok(ImportOutcome {
        file: file.to_owned(),
        accepted: rows.len(),
        written: stats.written,
        unchanged: stats.unchanged,
        stations,
        skipped,
        rejected: parsed.rejected.clone(),
    })
}

impl ImportOutcome {
    /// “；跳过未登记站点 1,600 个” for a national file, else nothing.
    pub fn skipped_text(&self) -> String {
        if self.skipped.is_empty() {
            String::new()
        } else {
            format!("；跳过本区未登记的站点 {} 个", self.skipped.len())
        }
    }
}

/// At most this many codes, and rows per code, are named in a refusal.
const LIST_MAX: usize = 20;

/// The site id of every station code of the file, or the refusal naming
/// each code that is not a registered air station with its rows.
fn station_ids(
    file: &str,
    parsed: &ParsedFile,
    stations: &[String],
    sites: &[Site],
) -> Result<HashMap<String, i64>, AppError> {
    let mut ids = HashMap::new();
    // Refused codes in file order, with why.
    let mut refused: Vec<(&str, String)> = Vec::new();
    for code in stations {
        let code = code.trim();
        if ids.contains_key(code) || refused.iter().any(|(c, _)| *c == code) {
            continue;
        }
        match sites.iter().find(|s| s.code == code) {
            Some(s) if s.kind == "air_station" => {
                ids.insert(code.to_owned(), s.id);
            }
            Some(s) => refused.push((
                code,
                format!("已登记为{}，不是空气站", site_kind_label(&s.kind)),
            )),
            None => refused.push((code, "未登记".to_owned())),
        }
    }
    if refused.is_empty() {
        return Ok(ids);
    }
    // The rows of the codes named (one pass; at most LIST_MAX lines kept).
    let named: HashMap<&str, usize> = refused
        .iter()
        .take(LIST_MAX)
        .enumerate()
        .map(|(i, (c, _))| (*c, i))
        .collect();
    let mut rows: Vec<(usize, Vec<u64>)> = vec![(0, Vec::new()); named.len()];
    for h in &parsed.hours {
        if let Some(&i) = named.get(h.station.trim()) {
            rows[i].0 += 1;
            if h.line > 0 && rows[i].1.len() < LIST_MAX {
                rows[i].1.push(h.line);
            }
        }
    }
    let mut parts: Vec<String> = refused
        .iter()
        .zip(&rows)
        .map(|((code, why), (total, lines))| {
            let at = if lines.is_empty() {
                format!("共 {total} 行")
            } else {
                let shown: Vec<String> = lines.iter().map(u64::to_string).collect();
                if *total > lines.len() {
                    format!("第 {} 行等共 {total} 行", shown.join("、"))
                } else {
                    format!("第 {} 行", shown.join("、"))
                }
            };
            format!("“{code}”{why}（{at}）")
        })
        .collect();
    if refused.len() > LIST_MAX {
        parts.push(format!("等共 {} 个站点编码", refused.len()));
    }
    Err(AppError::InvalidFile(format!(
        "{file}：站点编码不是已登记的空气站，未导入任何数据：{}。请核对编码，或先在“污染源监测”页的“导入站点”（命令行 gongjian sites import）登记为空气站后再导入",
        parts.join("；")
    )))
}

/// Parse and import a table (CSV or XLSX already read).
pub async fn import_table(
    db: &Db,
    actor: &Actor,
    table: &Table,
) -> Result<ImportOutcome, AppError> {
    let parsed = parse_air(table).map_err(|e| AppError::InvalidFile(e.to_string()))?;
    import_parsed(db, actor, table.source(), &parsed).await
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
    db.air().refresh_air_daily().await?;
    load_air_as_cached(db, year).await
}

/// Air data per year, kept while the daily cache is unchanged (its
/// generation, which every refresh that recomputes a day moves on, in this
/// process or another): rebuilding a year's district and township days
/// costs far more than checking whether anything changed. Entries also
/// expire after `AirCache::MAX_AGE` to bound memory held for old years.
#[derive(Debug, Default)]
pub struct AirCache {
    years: Mutex<HashMap<i32, CachedAir>>,
}

#[derive(Debug)]
struct CachedAir {
    stamp: i64,
    built: Instant,
    data: Arc<AirData>,
}

impl AirCache {
    const MAX_AGE: Duration = Duration::from_secs(600);

    fn get(&self, year: i32, stamp: i64) -> Option<Arc<AirData>> {
        let years = self.years.lock().ok()?;
        years
            .get(&year)
            .filter(|c| c.stamp == stamp && c.built.elapsed() < Self::MAX_AGE)
            .map(|c| c.data.clone())
    }

    fn put(&self, year: i32, stamp: i64, data: Arc<AirData>) {
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
    let stamp = db.air().air_daily_generation().await?;
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
    let n = db.air().refresh_air_daily().await?;
    if n > 0 {
        cache.clear();
    }
    Ok(n)
}

/// The air data of `year` from the daily cache as it stands.
pub(crate) async fn load_air_as_cached(db: &Db, year: i32) -> Result<AirData, StorageError> {
    let from = NaiveDate::from_ymd_opt(year - 1, 1, 1).unwrap_or(NaiveDate::MIN);
    let to = gongjian_targets::year_end(year);
    let stations = db.air().air_station_days(from, to).await?;
    // Each figure from the stations that count for it (issue 13 item 3):
    // the district's from its assessment stations, a township's from its
    // ranking stations; micro stations count for neither.
    let slices: Vec<&[DailyRecord]> = stations
        .iter()
        .filter(|s| s.site.scope().district)
        .map(|s| s.days.as_slice())
        .collect();
    let district = air::region_days(&slices);
    let mut by_township: BTreeMap<String, Vec<&[DailyRecord]>> = BTreeMap::new();
    for s in stations.iter().filter(|s| s.site.scope().township) {
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
        refreshed_at: db.air().air_daily_refreshed_at().await?,
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
