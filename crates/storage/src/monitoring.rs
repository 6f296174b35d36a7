//! Monitoring sites, HJ 212 devices, value series and the ingestion tables
//! (migrations 0002 and 0003).
//!
//! Person-made changes (sites, devices, factors) take an [`Actor`] and are
//! audited. Machine writes from the HJ 212 listener go through
//! [`Monitoring::commit_ingest`], which writes a whole batch of frames from many
//! connections in one transaction with multi-row statements, and reports per
//! upload whether it was new or a retransmission.

use std::collections::{BTreeMap, HashMap, HashSet};

use gongjian_campaign::{ScopeSetting, StationClass, StationScope, station_scope};
use gongjian_standards::cst::local_day_start;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, FromRow};

use crate::audit::{AuditRecord, append};
use crate::db::insert_rows;
use crate::{Actor, StorageError, now, validate};

crate::db::area!(
    /// Monitoring sites, devices, factors, ingestion, series and rollups.
    Monitoring,
    monitoring
);

/// Site kinds of migration 0002, with their Chinese labels.
pub const SITE_KINDS: &[(&str, &str)] = &[
    ("air_station", "空气站"),
    ("stack_gas", "废气排口"),
    ("waste_water", "废水排口"),
    ("surface_water", "地表水断面"),
    ("dust", "扬尘监测点"),
    ("vocs", "VOCs 监测点"),
    ("fume", "油烟监测点"),
    ("power", "用电监控"),
];

/// HJ 212 system codes (ST) a data logger can be registered with: HJ 212-2017
/// Table 5, and two vendor codes seen in the field (80 electricity use, 99
/// restaurant fume). Labels in Chinese.
pub const ST_CODES: &[(&str, &str)] = &[
    ("21", "地表水环境质量"),
    ("22", "环境空气质量"),
    ("23", "声环境质量"),
    ("24", "地下水环境质量"),
    ("25", "土壤环境质量"),
    ("26", "海水环境质量"),
    ("27", "挥发性有机物监测"),
    ("31", "大气环境污染源（废气）"),
    ("32", "地表水环境污染源（废水）"),
    ("33", "地下水环境污染源"),
    ("34", "海洋环境污染源"),
    ("35", "土壤环境污染源"),
    ("36", "声环境污染源"),
    ("37", "振动环境污染源"),
    ("38", "放射性环境污染源"),
    ("39", "工地扬尘污染源"),
    ("41", "电磁环境污染源"),
    ("51", "烟气排放过程监控"),
    ("52", "污水排放过程监控"),
    ("80", "用电监控（厂商扩展）"),
    ("99", "餐饮油烟（厂商扩展）"),
];

/// The HJ 212 system code (ST) a data logger of a site of `kind` sends by
/// default: a stack is an atmospheric pollution source (31), a wastewater
/// outfall a water pollution source (32), an air station 22, a surface-water
/// section 21, dust 39, VOCs 27, restaurant fume 31 (an air source),
/// electricity use 80 (vendor code; HJ 212-2017 has none).
pub fn default_st(kind: &str) -> &'static str {
    match kind {
        "air_station" => "22",
        "waste_water" => "32",
        "surface_water" => "21",
        "dust" => "39",
        "vocs" => "27",
        "power" => "80",
        // stack_gas, fume
        _ => "31",
    }
}

/// The Chinese label of a site kind (the code itself when unknown).
pub fn site_kind_label(kind: &str) -> &str {
    SITE_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, l)| *l)
        .unwrap_or(kind)
}

/// Parse a site kind given as code or Chinese label.
pub fn parse_site_kind(text: &str) -> Option<&'static str> {
    let t = text.trim();
    SITE_KINDS
        .iter()
        .find(|(k, l)| *k == t || *l == t || l.replace(' ', "") == t.replace(' ', ""))
        .map(|(k, _)| *k)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub organisation_id: Option<i64>,
    pub township_id: Option<i64>,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
    /// Air stations only: the network it belongs to (None: unclassified).
    pub station_class: Option<StationClass>,
    /// Air stations only: what it counts for, when set for this station.
    pub assessment: ScopeSetting,
    pub created_at: i64,
}

impl Site {
    /// What this air station's data is used for.
    pub fn scope(&self) -> StationScope {
        station_scope(self.station_class, self.assessment)
    }
}

/// Fields of a site as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewSite {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub organisation_id: Option<i64>,
    pub township_id: Option<i64>,
    pub longitude: Option<String>,
    pub latitude: Option<String>,
    pub station_class: Option<StationClass>,
    pub assessment: ScopeSetting,
}

/// A registered data logger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub mn: String,
    /// The access password (PW). Not serialized into audit records.
    #[serde(skip_serializing)]
    pub pw: String,
    pub site_id: i64,
    /// `2005`, `2017` or `2025`.
    pub protocol: String,
    pub st: String,
    /// `auto`, `utf-8` or `gbk`.
    pub charset: String,
    pub accept_modbus_crc: bool,
    pub time_sync_on_connect: bool,
    /// Minute-data (2051) interval in minutes.
    pub min_interval: i64,
}

impl Device {
    /// Check the settings as [`Monitoring::upsert_device`] does.
    pub fn validate(&self) -> Result<(), StorageError> {
        validate_device(self)
    }

    pub fn new(mn: &str, pw: &str, site_id: i64) -> Device {
        Device {
            mn: mn.to_owned(),
            pw: pw.to_owned(),
            site_id,
            protocol: "2017".into(),
            st: "32".into(),
            charset: "auto".into(),
            accept_modbus_crc: false,
            time_sync_on_connect: false,
            min_interval: 10,
        }
    }
}

/// A factor a site measures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SiteFactor {
    pub factor: String,
    pub name: String,
    pub unit: String,
    /// Exact decimal as text.
    pub limit_value: Option<String>,
}

impl SiteFactor {
    /// Check a site's factor list as [`Monitoring::set_site_factors`] does, so a
    /// caller can refuse a whole submission before storing any of it.
    pub fn validate_all(factors: &[SiteFactor]) -> Result<(), StorageError> {
        let mut seen = HashSet::new();
        for f in factors {
            if f.factor.trim().is_empty() {
                return Err(StorageError::rule(crate::Rule::Site, "因子编码不能为空"));
            }
            validate::line("因子编码", f.factor.trim(), validate::CODE_MAX)?;
            validate::line("因子名称", f.name.trim(), validate::NAME_MAX)?;
            validate::line("计量单位", f.unit.trim(), COORDINATE_MAX)?;
            if let Some(l) = &f.limit_value {
                validate::line("限值", l.trim(), COORDINATE_MAX)?;
            }
            if !seen.insert(f.factor.trim()) {
                return Err(StorageError::rule(
                    crate::Rule::Site,
                    format!("因子 {} 重复填写", f.factor),
                ));
            }
            if let Some(l) = &f.limit_value
                && l.trim().parse::<f64>().is_err()
            {
                return Err(StorageError::rule(
                    crate::Rule::Site,
                    format!("因子 {1} 的限值“{0}”不是数字", l, f.factor),
                ));
            }
        }
        Ok(())
    }
}

/// One value to store in `series`.
/// (Deserialize: `wire::SeriesValueWire`, the kind checked.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeriesValue {
    pub factor: String,
    /// rtd | min | hour | day
    pub kind: &'static str,
    pub period_start: i64,
    pub value: Option<String>,
    pub converted: Option<String>,
    pub flag: String,
}

/// A stored series row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SeriesPoint {
    pub period_start: i64,
    pub value: Option<String>,
    pub converted: Option<String>,
    pub flag: String,
    pub source: String,
}

/// A data upload (2011/2051/2061/2031…) from an authenticated device.
///
/// The ingestion types (`Upload`, `RawFrame`, `Quarantined`, `CounterDelta`)
/// are serializable: the NATS gateway publishes them and the writers that
/// consume the stream commit them (docs/decisions/0006).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub mn: String,
    pub cn: String,
    pub datatime: String,
    /// Sub-packet number, 0 when the frame is not split.
    pub pno: i64,
    pub site_id: i64,
    pub values: Vec<SeriesValue>,
}

/// (Deserialize: `wire::RawFrameWire`, the outcome checked.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawFrame {
    pub peer: String,
    pub mn: Option<String>,
    pub cn: Option<String>,
    #[serde(with = "wire::frame_bytes")]
    pub frame: Vec<u8>,
    /// ok | duplicate | quarantined | rejected | other
    pub outcome: &'static str,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub peer: String,
    pub mn: Option<String>,
    pub cn: Option<String>,
    /// unknown_mn | wrong_pw | no_mn | locked, or "<field> 取值非法" naming the
    /// field of an authenticated frame that broke the protocol.
    pub reason: String,
    #[serde(with = "wire::frame_bytes")]
    pub frame: Vec<u8>,
}

/// Counter increments for one device. Zero fields and `None`s are left out
/// of its serialized form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CounterDelta {
    #[serde(skip_serializing_if = "wire::is_zero")]
    pub frames: i64,
    #[serde(skip_serializing_if = "wire::is_zero")]
    pub values_stored: i64,
    #[serde(skip_serializing_if = "wire::is_zero")]
    pub duplicates: i64,
    #[serde(skip_serializing_if = "wire::is_zero")]
    pub crc_errors: i64,
    #[serde(skip_serializing_if = "wire::is_zero")]
    pub parse_errors: i64,
    #[serde(skip_serializing_if = "wire::is_zero")]
    pub auth_failures: i64,
    #[serde(skip_serializing_if = "wire::is_zero")]
    pub quarantined: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_frame_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_peer: Option<String>,
    /// The device (re)connected at this time (Unix s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_at: Option<i64>,
    /// The device's connection closed at this time (Unix s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnected_at: Option<i64>,
}

impl CounterDelta {
    pub fn add(&mut self, other: &CounterDelta) {
        self.frames += other.frames;
        self.values_stored += other.values_stored;
        self.duplicates += other.duplicates;
        self.crc_errors += other.crc_errors;
        self.parse_errors += other.parse_errors;
        self.auth_failures += other.auth_failures;
        self.quarantined += other.quarantined;
        if other.last_frame_at.is_some() {
            self.last_frame_at = other.last_frame_at;
            self.last_peer = other.last_peer.clone();
        }
        self.connected_at = self.connected_at.max(other.connected_at);
        self.disconnected_at = self.disconnected_at.max(other.disconnected_at);
    }
}

/// Everything one writer transaction commits.
#[derive(Debug, Clone, Default)]
pub struct IngestBatch {
    pub uploads: Vec<Upload>,
    pub raw: Vec<RawFrame>,
    pub quarantine: Vec<Quarantined>,
    pub counters: BTreeMap<String, CounterDelta>,
    /// Uploads consumed from the JetStream stream, each with its stream
    /// sequence. When one's key is already in the ledger, the stored
    /// sequence decides, inside the transaction: the same sequence is the
    /// same message delivered again (a writer crashed or its ack was lost,
    /// possibly while the first delivery was still committing) and is
    /// dropped whole — no raw row, no counter, no duplicate counted; another
    /// sequence is the logger sending the frame again, a duplicate as on
    /// the listener.
    pub streamed: Vec<Streamed>,
}

/// One upload from the JetStream stream (see [`IngestBatch::streamed`]).
#[derive(Debug, Clone)]
pub struct Streamed {
    pub seq: i64,
    pub upload: Upload,
    pub raw: Option<RawFrame>,
    pub counter: Option<(String, CounterDelta)>,
}

/// What happened to one upload of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// New data, committed.
    Stored,
    /// The same (MN, CN, DataTime, PNO) was stored before: nothing written.
    Duplicate,
}

/// A period whose rollup must be computed: a row of the rollup queue as it
/// was read. The row stays queued until [`Monitoring::store_rollups_and_release`]
/// commits the result (docs/decisions/0003).
#[derive(Debug, Clone, PartialEq, Eq, Hash, sqlx::FromRow)]
pub struct PendingRollup {
    pub site_id: i64,
    pub factor: String,
    /// `hour` (from minutes) or `day` (from hours).
    pub kind: String,
    pub period_start: i64,
    /// Bumped whenever the period is queued again; the row is released only
    /// if it still has the generation that was read.
    pub generation: i64,
}

/// A computed rollup to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupValue {
    pub site_id: i64,
    pub factor: String,
    pub kind: &'static str,
    pub period_start: i64,
    pub value: Option<String>,
    pub converted: Option<String>,
    pub flag: String,
    /// For hours: the day (start, Unix s) that must be recomputed after this hour.
    pub day_start: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct LatestValue {
    pub site_id: i64,
    pub factor: String,
    pub kind: String,
    pub period_start: i64,
    pub value: Option<String>,
    pub converted: Option<String>,
    pub flag: String,
    pub received_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DeviceHealth {
    pub mn: String,
    pub site_id: i64,
    pub site_name: String,
    pub site_kind: String,
    pub organisation_id: Option<i64>,
    pub township_id: Option<i64>,
    pub min_interval: i64,
    pub frames: i64,
    pub values_stored: i64,
    pub duplicates: i64,
    pub crc_errors: i64,
    pub parse_errors: i64,
    pub auth_failures: i64,
    pub quarantined: i64,
    pub last_frame_at: Option<i64>,
    pub last_peer: Option<String>,
    /// When the device was registered (Unix s): no data are due before.
    #[sqlx(rename = "created_at")]
    pub registered_at: i64,
    /// Distinct minute periods received since `day_start`.
    #[sqlx(rename = "periods")]
    pub minute_periods_today: i64,
    /// Minute values since `day_start`, and those flagged N.
    #[sqlx(rename = "total")]
    pub minute_values_today: i64,
    #[sqlx(rename = "valid")]
    pub minute_values_valid_today: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineEntry {
    pub id: i64,
    pub received_at: i64,
    pub peer: String,
    pub mn: Option<String>,
    pub cn: Option<String>,
    pub reason: String,
    /// The frame, decoded lossily for display.
    pub frame: String,
}

/// An `hj212_quarantine` row: the frame as stored bytes.
#[derive(sqlx::FromRow)]
struct QuarantineRow {
    id: i64,
    received_at: i64,
    peer: String,
    mn: Option<String>,
    cn: Option<String>,
    reason: String,
    frame: Vec<u8>,
}

impl From<QuarantineRow> for QuarantineEntry {
    fn from(r: QuarantineRow) -> Self {
        QuarantineEntry {
            id: r.id,
            received_at: r.received_at,
            peer: r.peer,
            mn: r.mn,
            cn: r.cn,
            reason: r.reason,
            frame: String::from_utf8_lossy(&r.frame).into_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Disagreement {
    pub site_id: i64,
    pub factor: String,
    pub kind: String,
    pub period_start: i64,
    pub logger_value: Option<String>,
    pub logger_flag: String,
    pub rollup_value: Option<String>,
    pub rollup_flag: String,
    pub detected_at: i64,
}

const SITE_COLUMNS: &str = "id, code, name, kind, organisation_id, township_id, longitude, latitude, \
     station_class, assessment, created_at";
const DEVICE_COLUMNS: &str = "mn, pw, site_id, protocol, st, charset, \
     CASE WHEN accept_modbus_crc THEN 1 ELSE 0 END AS accept_modbus_crc, \
     CASE WHEN time_sync_on_connect THEN 1 ELSE 0 END AS time_sync_on_connect, min_interval";

/// A row of [`SITE_COLUMNS`]: station class and assessment as stored text.
#[derive(sqlx::FromRow)]
struct SiteRow {
    id: i64,
    code: String,
    name: String,
    kind: String,
    organisation_id: Option<i64>,
    township_id: Option<i64>,
    longitude: Option<String>,
    latitude: Option<String>,
    station_class: Option<String>,
    assessment: Option<String>,
    created_at: i64,
}

impl TryFrom<SiteRow> for Site {
    type Error = StorageError;

    fn try_from(row: SiteRow) -> Result<Self, StorageError> {
        Ok(Site {
            station_class: station_class_column(row.station_class.as_deref())?,
            assessment: assessment_column(row.assessment.as_deref())?,
            id: row.id,
            code: row.code,
            name: row.name,
            kind: row.kind,
            organisation_id: row.organisation_id,
            township_id: row.township_id,
            longitude: row.longitude,
            latitude: row.latitude,
            created_at: row.created_at,
        })
    }
}

/// The `station_class` column of a site row, as stored.
pub(crate) fn station_class_column(
    text: Option<&str>,
) -> Result<Option<StationClass>, StorageError> {
    text.map(|t| {
        StationClass::parse(t)
            .ok_or_else(|| StorageError::Corrupt(format!("sites.station_class {t:?}")))
    })
    .transpose()
}

/// The `assessment` column of a site row, as stored.
pub(crate) fn assessment_column(text: Option<&str>) -> Result<ScopeSetting, StorageError> {
    match text {
        None => Ok(ScopeSetting::ByClass),
        Some(t) => ScopeSetting::parse(t)
            .ok_or_else(|| StorageError::Corrupt(format!("sites.assessment {t:?}"))),
    }
}

/// A row of [`DEVICE_COLUMNS`]: the two switches as 0/1.
#[derive(sqlx::FromRow)]
struct DeviceRow {
    mn: String,
    pw: String,
    site_id: i64,
    protocol: String,
    st: String,
    charset: String,
    accept_modbus_crc: i64,
    time_sync_on_connect: i64,
    min_interval: i64,
}

impl From<DeviceRow> for Device {
    fn from(row: DeviceRow) -> Self {
        Device {
            mn: row.mn,
            pw: row.pw,
            site_id: row.site_id,
            protocol: row.protocol,
            st: row.st,
            charset: row.charset,
            accept_modbus_crc: row.accept_modbus_crc != 0,
            time_sync_on_connect: row.time_sync_on_connect != 0,
            min_interval: row.min_interval,
        }
    }
}

fn validate_site(site: &NewSite) -> Result<(), StorageError> {
    if site.code.trim().is_empty() {
        return Err(StorageError::rule(crate::Rule::Site, "监测点编码不能为空"));
    }
    if site.name.trim().is_empty() {
        return Err(StorageError::rule(crate::Rule::Site, "监测点名称不能为空"));
    }
    validate::line("站点编码", site.code.trim(), validate::CODE_MAX)?;
    validate::line("站点名称", site.name.trim(), validate::NAME_MAX)?;
    validate::line("站点类型", &site.kind, validate::CODE_MAX)?;
    for (label, v) in [("经度", &site.longitude), ("纬度", &site.latitude)] {
        if let Some(v) = v {
            validate::line(label, v.trim(), COORDINATE_MAX)?;
        }
    }
    if !SITE_KINDS.iter().any(|(k, _)| *k == site.kind) {
        return Err(StorageError::rule(
            crate::Rule::Site,
            format!(
                "未知的监测点类型“{}”（应为 {}）",
                site.kind,
                SITE_KINDS
                    .iter()
                    .map(|(_, label)| *label)
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        ));
    }
    for (what, v) in [("经度", &site.longitude), ("纬度", &site.latitude)] {
        if let Some(v) = v
            && v.trim().parse::<f64>().is_err()
        {
            return Err(StorageError::rule(
                crate::Rule::Site,
                format!("{what}“{v}”不是数字"),
            ));
        }
    }
    if site.kind != "air_station"
        && (site.station_class.is_some() || site.assessment != ScopeSetting::ByClass)
    {
        return Err(StorageError::rule(
            crate::Rule::Site,
            "只有空气站有站点类别和考核范围",
        ));
    }
    Ok(())
}

/// Characters of a coordinate, a limit value or a unit as text.
const COORDINATE_MAX: usize = 32;

fn validate_device(d: &Device) -> Result<(), StorageError> {
    validate::line("数采仪 MN", d.mn.trim(), validate::CODE_MAX)?;
    validate::line("数采仪密码", &d.pw, validate::CODE_MAX)?;
    validate::line("系统编码 ST", &d.st, 8)?;
    if d.mn.trim().is_empty() || d.mn.len() > 64 {
        return Err(StorageError::rule(
            crate::Rule::Site,
            format!("数采仪 MN“{}”须为 1–64 个字符", d.mn),
        ));
    }
    if !["2005", "2017", "2025"].contains(&d.protocol.as_str()) {
        return Err(StorageError::rule(
            crate::Rule::Site,
            format!("协议版本“{}”须为 2005、2017 或 2025", d.protocol),
        ));
    }
    if !["auto", "utf-8", "gbk"].contains(&d.charset.as_str()) {
        return Err(StorageError::rule(
            crate::Rule::Site,
            format!("字符集“{}”须为 auto、utf-8 或 gbk", d.charset),
        ));
    }
    if !(1..=60).contains(&d.min_interval) {
        return Err(StorageError::rule(
            crate::Rule::Site,
            format!("分钟数据间隔 {} 须在 1–60 之间", d.min_interval),
        ));
    }
    Ok(())
}

async fn insert_site_on(
    tx: &mut AnyConnection,
    actor: &Actor,
    site: &NewSite,
) -> Result<Site, StorageError> {
    let row = sqlx::query_as::<_, SiteRow>(&format!(
        "INSERT INTO sites (code, name, kind, organisation_id, township_id, longitude, \
             latitude, station_class, assessment, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {SITE_COLUMNS}"
    ))
    .bind(site.code.trim())
    .bind(site.name.trim())
    .bind(&site.kind)
    .bind(site.organisation_id)
    .bind(site.township_id)
    .bind(site.longitude.as_deref().map(str::trim))
    .bind(site.latitude.as_deref().map(str::trim))
    .bind(site.station_class.map(StationClass::code))
    .bind(site.assessment.code())
    .bind(now())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| StorageError::unique(e, "site", &site.code))?;
    let created = Site::try_from(row)?;
    append(
        tx,
        actor,
        AuditRecord::new("create", "site", created.id).after(&created),
    )
    .await?;
    Ok(created)
}

async fn update_site_on(
    tx: &mut AnyConnection,
    actor: &Actor,
    id: i64,
    site: &NewSite,
) -> Result<Site, StorageError> {
    let before =
        sqlx::query_as::<_, SiteRow>(&format!("SELECT {SITE_COLUMNS} FROM sites WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StorageError::NotFound {
                entity: "site",
                key: id.to_string(),
            })?;
    let before = Site::try_from(before)?;
    let row = sqlx::query_as::<_, SiteRow>(&format!(
        "UPDATE sites SET code = $1, name = $2, kind = $3, organisation_id = $4, \
             township_id = $5, longitude = $6, latitude = $7, station_class = $8, \
             assessment = $9 WHERE id = $10 RETURNING {SITE_COLUMNS}"
    ))
    .bind(site.code.trim())
    .bind(site.name.trim())
    .bind(&site.kind)
    .bind(site.organisation_id)
    .bind(site.township_id)
    .bind(site.longitude.as_deref().map(str::trim))
    .bind(site.latitude.as_deref().map(str::trim))
    .bind(site.station_class.map(StationClass::code))
    .bind(site.assessment.code())
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| StorageError::unique(e, "site", &site.code))?;
    let after = Site::try_from(row)?;
    append(
        tx,
        actor,
        AuditRecord::new("update", "site", id)
            .before(&before)
            .after(&after),
    )
    .await?;
    Ok(after)
}

async fn upsert_device_on(
    tx: &mut AnyConnection,
    actor: &Actor,
    d: &Device,
) -> Result<(), StorageError> {
    let before = sqlx::query_as::<_, DeviceRow>(&format!(
        "SELECT {DEVICE_COLUMNS} FROM devices WHERE mn = $1"
    ))
    .bind(&d.mn)
    .fetch_optional(&mut *tx)
    .await?
    .map(Device::from);
    let t = now();
    sqlx::query(
        "INSERT INTO devices (mn, pw, site_id, protocol, st, charset, accept_modbus_crc, \
             time_sync_on_connect, min_interval, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT (mn) DO UPDATE SET pw = excluded.pw, site_id = excluded.site_id, \
             protocol = excluded.protocol, st = excluded.st, charset = excluded.charset, \
             accept_modbus_crc = excluded.accept_modbus_crc, \
             time_sync_on_connect = excluded.time_sync_on_connect, \
             min_interval = excluded.min_interval, updated_at = excluded.updated_at",
    )
    .bind(d.mn.trim())
    .bind(&d.pw)
    .bind(d.site_id)
    .bind(&d.protocol)
    .bind(&d.st)
    .bind(&d.charset)
    .bind(d.accept_modbus_crc)
    .bind(d.time_sync_on_connect)
    .bind(d.min_interval)
    .bind(t)
    .execute(&mut *tx)
    .await?;
    let mut record = AuditRecord::new(
        if before.is_some() { "update" } else { "create" },
        "device",
        &d.mn,
    )
    .after(d);
    if let Some(b) = &before {
        record = record.before(b);
    }
    // The password itself never enters the log (it is not serialized);
    // that it was set or changed does, masked, so a change is visible.
    let masked = match &before {
        None => Some(("******", "已设置")),
        Some(b) if b.pw != d.pw => Some(("******", "已修改")),
        Some(_) => None,
    };
    if let Some((was, now_is)) = masked {
        for (side, text) in [(&mut record.before, was), (&mut record.after, now_is)] {
            if let Some(serde_json::Value::Object(map)) = side {
                map.insert("password".into(), text.into());
            }
        }
    }
    append(tx, actor, record).await?;
    Ok(())
}

/// The newest stored value per (site, factor), for `latest_values`.
pub(crate) type LatestBySite<'a> = HashMap<(i64, &'a str), &'a SeriesValue>;

/// The rollup periods stored values make due: (site, factor, kind, start).
pub(crate) type PendingRollups<'a> = HashSet<(i64, &'a str, &'static str, i64)>;

/// Note a value just stored at `site`: it may be the factor's latest, and
/// it makes rollups due — a minute its hour, an hour its hour (a logger's
/// own hour is checked against the minutes) and its day, a day itself.
pub(crate) fn note_stored<'a>(
    latest: &mut LatestBySite<'a>,
    pending: &mut PendingRollups<'a>,
    site: i64,
    v: &'a SeriesValue,
) {
    match latest.get(&(site, v.factor.as_str())) {
        Some(old) if old.period_start > v.period_start => {}
        _ => {
            latest.insert((site, &v.factor), v);
        }
    }
    match v.kind {
        "min" => {
            pending.insert((
                site,
                &v.factor,
                "hour",
                v.period_start - v.period_start.rem_euclid(3600),
            ));
        }
        "hour" => {
            pending.insert((site, &v.factor, "hour", v.period_start));
            pending.insert((site, &v.factor, "day", local_day_start(v.period_start)));
        }
        "day" => {
            pending.insert((site, &v.factor, "day", v.period_start));
        }
        _ => {}
    }
}

/// What [`note_stored`] gathered, sorted by key: B-tree pages are then
/// visited in order rather than at random (see `ingest::commit_batch`).
#[allow(clippy::type_complexity)]
pub(crate) fn in_key_order<'a>(
    latest: LatestBySite<'a>,
    pending: PendingRollups<'a>,
) -> (
    Vec<((i64, &'a str), &'a SeriesValue)>,
    Vec<(i64, &'a str, &'static str, i64)>,
) {
    let mut latest: Vec<_> = latest.into_iter().collect();
    latest.sort_unstable_by_key(|(k, _)| *k);
    let mut pending: Vec<_> = pending.into_iter().collect();
    pending.sort_unstable();
    (latest, pending)
}

/// Write what [`note_stored`] gathered: the latest values (a newer stored
/// period is never replaced by an older one) and the rollup queue (an
/// entry already queued gets a new generation, so a rollup computed before
/// this value is not taken as current).
pub(crate) async fn store_latest_and_pending(
    tx: &mut AnyConnection,
    backend: crate::db::Backend,
    latest: LatestBySite<'_>,
    pending: PendingRollups<'_>,
    received_at: i64,
) -> Result<(), StorageError> {
    let (latest, pending) = in_key_order(latest, pending);
    insert_rows(
        tx,
        backend,
        "INSERT INTO latest_values (site_id, factor, kind, period_start, value, converted, \
         flag, received_at)",
        crate::ingest::LATEST_CONFLICT,
        8,
        &latest,
        |q, ((site, _), v)| {
            q.bind(*site)
                .bind(&v.factor)
                .bind(v.kind)
                .bind(v.period_start)
                .bind(&v.value)
                .bind(&v.converted)
                .bind(&v.flag)
                .bind(received_at)
        },
    )
    .await?;
    insert_rows(
        tx,
        backend,
        "INSERT INTO rollup_pending (site_id, factor, kind, period_start)",
        crate::ingest::PENDING_CONFLICT,
        4,
        &pending,
        |q, (site, factor, kind, start)| q.bind(*site).bind(*factor).bind(*kind).bind(*start),
    )
    .await?;
    Ok(())
}

async fn set_site_factors_on(
    tx: &mut AnyConnection,
    actor: &Actor,
    site_id: i64,
    factors: &[SiteFactor],
) -> Result<(), StorageError> {
    let before: Vec<SiteFactor> = sqlx::query_as(
        "SELECT factor, name, unit, limit_value FROM site_factors WHERE site_id = $1 \
         ORDER BY factor",
    )
    .bind(site_id)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM site_factors WHERE site_id = $1")
        .bind(site_id)
        .execute(&mut *tx)
        .await?;
    for f in factors {
        sqlx::query(
            "INSERT INTO site_factors (site_id, factor, name, unit, limit_value) \
                 VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(site_id)
        .bind(f.factor.trim())
        .bind(f.name.trim())
        .bind(f.unit.trim())
        .bind(f.limit_value.as_deref().map(str::trim))
        .execute(&mut *tx)
        .await?;
    }
    append(
        tx,
        actor,
        AuditRecord::new("set_factors", "site", site_id)
            .before(&before)
            .after(&factors),
    )
    .await?;
    Ok(())
}

impl Monitoring<'_> {
    // ----------------------------------------------------------------- sites

    pub async fn create_site(&self, actor: &Actor, site: &NewSite) -> Result<Site, StorageError> {
        validate_site(site)?;
        let mut tx = self.write.begin().await?;
        let created = insert_site_on(&mut tx, actor, site).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Register or change a site with its data logger and factors in one
    /// transaction: a refused part (a taken code or MN, a bad limit) leaves
    /// nothing stored. `device.site_id` is set to the site's id; `factors`
    /// (when given) replace the site's factors.
    pub async fn save_site(
        &self,
        actor: &Actor,
        id: Option<i64>,
        site: &NewSite,
        device: Option<&Device>,
        factors: Option<&[SiteFactor]>,
    ) -> Result<Site, StorageError> {
        validate_site(site)?;
        if let Some(d) = device {
            validate_device(d)?;
        }
        if let Some(f) = factors {
            SiteFactor::validate_all(f)?;
        }
        let mut tx = self.write.begin().await?;
        let saved = match id {
            Some(id) => update_site_on(&mut tx, actor, id, site).await?,
            None => insert_site_on(&mut tx, actor, site).await?,
        };
        if let Some(d) = device {
            let d = Device {
                site_id: saved.id,
                ..d.clone()
            };
            // An MN registered at another site is not moved silently.
            let owner: Option<i64> =
                sqlx::query_scalar("SELECT site_id FROM devices WHERE mn = $1")
                    .bind(d.mn.trim())
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(other) = owner.filter(|o| *o != saved.id) {
                return Err(StorageError::rule(
                    crate::Rule::Site,
                    format!("数采仪 MN“{}”已登记在站点 #{other}", d.mn.trim()),
                ));
            }
            upsert_device_on(&mut tx, actor, &d).await?;
        }
        if let Some(f) = factors {
            set_site_factors_on(&mut tx, actor, saved.id, f).await?;
        }
        tx.commit().await?;
        Ok(saved)
    }

    pub async fn update_site(
        &self,
        actor: &Actor,
        id: i64,
        site: &NewSite,
    ) -> Result<Site, StorageError> {
        validate_site(site)?;
        let mut tx = self.write.begin().await?;
        let after = update_site_on(&mut tx, actor, id, site).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn sites(&self) -> Result<Vec<Site>, StorageError> {
        let rows =
            sqlx::query_as::<_, SiteRow>(&format!("SELECT {SITE_COLUMNS} FROM sites ORDER BY id"))
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(Site::try_from).collect()
    }

    pub async fn site(&self, id: i64) -> Result<Option<Site>, StorageError> {
        let row = sqlx::query_as::<_, SiteRow>(&format!(
            "SELECT {SITE_COLUMNS} FROM sites WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.map(Site::try_from).transpose()
    }

    pub async fn site_by_code(&self, code: &str) -> Result<Option<Site>, StorageError> {
        let row = sqlx::query_as::<_, SiteRow>(&format!(
            "SELECT {SITE_COLUMNS} FROM sites WHERE code = $1"
        ))
        .bind(code)
        .fetch_optional(&self.read)
        .await?;
        row.map(Site::try_from).transpose()
    }

    // --------------------------------------------------------------- devices

    /// Register a device or change its settings (keyed by MN).
    pub async fn upsert_device(&self, actor: &Actor, d: &Device) -> Result<Device, StorageError> {
        validate_device(d)?;
        let mut tx = self.write.begin().await?;
        upsert_device_on(&mut tx, actor, d).await?;
        tx.commit().await?;
        Ok(d.clone())
    }

    pub async fn delete_device(&self, actor: &Actor, mn: &str) -> Result<(), StorageError> {
        let mut tx = self.write.begin().await?;
        let before = sqlx::query_as::<_, DeviceRow>(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE mn = $1"
        ))
        .bind(mn)
        .fetch_optional(&mut *tx)
        .await?
        .map(Device::from)
        .ok_or_else(|| StorageError::NotFound {
            entity: "device",
            key: mn.to_owned(),
        })?;
        sqlx::query("DELETE FROM devices WHERE mn = $1")
            .bind(mn)
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            actor,
            AuditRecord::new("delete", "device", mn).before(&before),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn device(&self, mn: &str) -> Result<Option<Device>, StorageError> {
        let row = sqlx::query_as::<_, DeviceRow>(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE mn = $1"
        ))
        .bind(mn)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(Device::from))
    }

    pub async fn devices(&self) -> Result<Vec<Device>, StorageError> {
        let rows = sqlx::query_as::<_, DeviceRow>(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY mn"
        ))
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Device::from).collect())
    }

    // --------------------------------------------------------------- factors

    /// Replace the factors of a site.
    pub async fn set_site_factors(
        &self,
        actor: &Actor,
        site_id: i64,
        factors: &[SiteFactor],
    ) -> Result<(), StorageError> {
        SiteFactor::validate_all(factors)?;
        let mut tx = self.write.begin().await?;
        set_site_factors_on(&mut tx, actor, site_id, factors).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn site_factors(&self, site_id: i64) -> Result<Vec<SiteFactor>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT factor, name, unit, limit_value FROM site_factors WHERE site_id = $1 \
             ORDER BY factor",
        )
        .bind(site_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Every site's factors, by site id.
    pub async fn all_site_factors(&self) -> Result<HashMap<i64, Vec<SiteFactor>>, StorageError> {
        /// A factor with its site.
        #[derive(sqlx::FromRow)]
        struct SiteFactorRow {
            site_id: i64,
            #[sqlx(flatten)]
            factor: SiteFactor,
        }
        let rows = sqlx::query_as::<_, SiteFactorRow>(
            "SELECT site_id, factor, name, unit, limit_value FROM site_factors \
             ORDER BY site_id, factor",
        )
        .fetch_all(&self.read)
        .await?;
        let mut out: HashMap<i64, Vec<SiteFactor>> = HashMap::new();
        for r in rows {
            out.entry(r.site_id).or_default().push(r.factor);
        }
        Ok(out)
    }

    // ------------------------------------------------------------- ingestion

    /// Commit one batch of ingested frames in a single transaction. Returns one
    /// outcome per upload, in order, then one per streamed upload. A
    /// retransmission (same MN, CN, DataTime, PNO as an earlier upload, or
    /// earlier in this batch) writes no values; a stream message stored
    /// before writes nothing at all.
    pub async fn commit_ingest(
        &self,
        batch: &IngestBatch,
    ) -> Result<Vec<UploadOutcome>, StorageError> {
        crate::ingest::commit(self, batch).await
    }

    /// When a device last connected and disconnected (Unix s): written by
    /// the HJ 212 writer with its batches ([`CounterDelta::connected_at`]).
    pub async fn device_connection_times(
        &self,
        mn: &str,
    ) -> Result<(Option<i64>, Option<i64>), StorageError> {
        let row = sqlx::query_as::<_, (Option<i64>, Option<i64>)>(
            "SELECT connected_at, disconnected_at FROM device_counters WHERE mn = $1",
        )
        .bind(mn)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.unwrap_or((None, None)))
    }

    /// Whether an upload with this key has been stored.
    pub async fn upload_stored(
        &self,
        mn: &str,
        cn: &str,
        datatime: &str,
        pno: i64,
    ) -> Result<bool, StorageError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM hj212_uploads WHERE mn = $1 AND cn = $2 AND datatime = $3 \
             AND pno = $4",
        )
        .bind(mn)
        .bind(cn)
        .bind(datatime)
        .bind(pno)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }

    /// Delete raw frames and quarantined frames received before `before`
    /// (Unix s), and the packed blocks whose newest frame is older. Returns
    /// the number of frames removed (rows, and the frames of the blocks).
    pub async fn purge_raw_before(&self, before: i64) -> Result<u64, StorageError> {
        let a = sqlx::query("DELETE FROM hj212_raw WHERE received_at < $1")
            .bind(before)
            .execute(&self.write)
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM hj212_quarantine WHERE received_at < $1")
            .bind(before)
            .execute(&self.write)
            .await?
            .rows_affected();
        // Packed frames go with their whole block (migration 0032).
        let c = self.raw_archive().purge_blocks_before(before).await?;
        Ok(a + b + c)
    }

    // --------------------------------------------------------------- rollups

    /// Up to `limit` queued rollups, hours before days, oldest first. Nothing
    /// is removed: a row leaves the queue only when its result is committed
    /// by [`Monitoring::store_rollups_and_release`], so a crash between reading and
    /// storing loses no period (docs/decisions/0003).
    pub async fn pending_rollups(&self, limit: i64) -> Result<Vec<PendingRollup>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT site_id, factor, kind, period_start, generation FROM rollup_pending \
             ORDER BY kind DESC, period_start LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Values of one site and factor with `from <= period_start < to`, in
    /// period order: the rows, and for real-time and minute values also
    /// the day blocks packed from them (a row wins over a packed value).
    pub async fn series_points(
        &self,
        site_id: i64,
        factor: &str,
        kind: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<SeriesPoint>, StorageError> {
        let rows: Vec<SeriesPoint> = sqlx::query_as(
            "SELECT period_start, value, converted, flag, source FROM series \
             WHERE site_id = $1 AND factor = $2 AND kind = $3 AND period_start >= $4 \
             AND period_start < $5 ORDER BY period_start",
        )
        .bind(site_id)
        .bind(factor)
        .bind(kind)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        let packed = self
            .series_blocks()
            .packed_points(site_id, factor, kind, from, to)
            .await?;
        Ok(crate::series_blocks::merge_points(rows, packed))
    }

    /// Store computed rollups. A value the logger sent itself (source
    /// `hj212`) is kept; when ours differs, a disagreement is recorded.
    /// Hours queue their day for recomputation.
    pub async fn store_rollups(&self, values: &[RollupValue]) -> Result<(), StorageError> {
        self.store_rollups_and_release(values, &[]).await?;
        Ok(())
    }

    /// Store computed rollups (as [`Monitoring::store_rollups`]) and, in the same
    /// transaction, remove the queue rows they were computed for — each only
    /// if it was not queued again since it was read (its generation is
    /// unchanged), so data that arrived during the computation gets its own
    /// pass. Hours queue their day with a new generation before the release,
    /// so a day read in the same pass as one of its hours stays queued.
    /// Returns how many queue rows were released.
    pub async fn store_rollups_and_release(
        &self,
        values: &[RollupValue],
        done: &[PendingRollup],
    ) -> Result<u64, StorageError> {
        if values.is_empty() && done.is_empty() {
            return Ok(0);
        }
        let t = now();
        // One value per period (the last), so no multi-row upsert below
        // touches a row twice (PostgreSQL refuses that).
        let mut by_period: HashMap<(i64, &str, &str, i64), &RollupValue> = HashMap::new();
        for v in values {
            by_period.insert((v.site_id, &v.factor, v.kind, v.period_start), v);
        }
        let values: Vec<&RollupValue> = by_period.into_values().collect();
        let mut tx = self.write.begin().await?;
        // Every statement below is multi-row: a pass stores thousands of
        // periods through the one writer that ingestion also waits for.
        let logger_rows = insert_rows(
            &mut tx,
            self.backend(),
            "SELECT site_id, factor, kind, period_start, value, flag FROM series \
             WHERE source = 'hj212' AND (site_id, factor, kind, period_start) IN (",
            ")",
            4,
            &values,
            |q, v| {
                q.bind(v.site_id)
                    .bind(&v.factor)
                    .bind(v.kind)
                    .bind(v.period_start)
            },
        )
        .await?;
        // The logger's own (value, flag) by period.
        type Period = (i64, String, String, i64);
        let mut logger: HashMap<Period, (Option<String>, String)> =
            HashMap::with_capacity(logger_rows.len());
        for r in &logger_rows {
            let (site, factor, kind, start, value, flag) =
                <(i64, String, String, i64, Option<String>, String)>::from_row(r)?;
            logger.insert((site, factor, kind, start), (value, flag));
        }
        // Hours queue their day, once per day.
        let days: Vec<(i64, &str, i64)> = values
            .iter()
            .filter_map(|v| v.day_start.map(|d| (v.site_id, v.factor.as_str(), d)))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let (mut ours, mut disagree, mut agree) = (Vec::new(), Vec::new(), Vec::new());
        for v in values {
            let key = (
                v.site_id,
                v.factor.clone(),
                v.kind.to_owned(),
                v.period_start,
            );
            match logger.remove(&key) {
                None => ours.push(v),
                Some((lv, lf)) if same_value(lv.as_deref(), v.value.as_deref()) && lf == v.flag => {
                    agree.push(v)
                }
                Some(l) => disagree.push((v, l)),
            }
        }
        // A value the logger sent itself is kept; ours is stored where it
        // sent none.
        insert_rows(
            &mut tx,
            self.backend(),
            "INSERT INTO series (site_id, factor, kind, period_start, value, converted, flag, \
             source, received_at)",
            "ON CONFLICT (site_id, factor, kind, period_start) DO UPDATE SET \
             value = excluded.value, converted = excluded.converted, \
             flag = excluded.flag, received_at = excluded.received_at \
             WHERE series.source <> 'hj212'",
            9,
            &ours,
            |q, v| {
                q.bind(v.site_id)
                    .bind(&v.factor)
                    .bind(v.kind)
                    .bind(v.period_start)
                    .bind(&v.value)
                    .bind(&v.converted)
                    .bind(&v.flag)
                    .bind("rollup")
                    .bind(t)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            self.backend(),
            "INSERT INTO rollup_disagreements (site_id, factor, kind, period_start, \
             logger_value, logger_flag, rollup_value, rollup_flag, detected_at)",
            "ON CONFLICT (site_id, factor, kind, period_start) DO UPDATE SET \
             logger_value = excluded.logger_value, logger_flag = excluded.logger_flag, \
             rollup_value = excluded.rollup_value, rollup_flag = excluded.rollup_flag, \
             detected_at = excluded.detected_at",
            9,
            &disagree,
            |q, (v, (lv, lf))| {
                q.bind(v.site_id)
                    .bind(&v.factor)
                    .bind(v.kind)
                    .bind(v.period_start)
                    .bind(lv)
                    .bind(lf)
                    .bind(&v.value)
                    .bind(&v.flag)
                    .bind(t)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            self.backend(),
            "DELETE FROM rollup_disagreements \
             WHERE (site_id, factor, kind, period_start) IN (",
            ")",
            4,
            &agree,
            |q, v| {
                q.bind(v.site_id)
                    .bind(&v.factor)
                    .bind(v.kind)
                    .bind(v.period_start)
            },
        )
        .await?;
        insert_rows(
            &mut tx,
            self.backend(),
            "INSERT INTO rollup_pending (site_id, factor, kind, period_start)",
            "ON CONFLICT (site_id, factor, kind, period_start) DO UPDATE SET \
             generation = rollup_pending.generation + 1",
            4,
            &days,
            |q, (site, factor, day)| q.bind(*site).bind(*factor).bind("day").bind(*day),
        )
        .await?;
        // Released in multi-row statements: a work item re-queued since it
        // was read (a newer generation) stays.
        let released = insert_rows(
            &mut tx,
            self.backend(),
            "DELETE FROM rollup_pending \
             WHERE (site_id, factor, kind, period_start, generation) IN (",
            ") RETURNING site_id",
            5,
            done,
            |q, p| {
                q.bind(p.site_id)
                    .bind(&p.factor)
                    .bind(&p.kind)
                    .bind(p.period_start)
                    .bind(p.generation)
            },
        )
        .await?
        .len() as u64;
        tx.commit().await?;
        Ok(released)
    }

    /// Number of periods in the rollup queue (for tests and the health page).
    pub async fn pending_rollup_count(&self) -> Result<i64, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) AS n FROM rollup_pending")
                .fetch_one(&self.read)
                .await?,
        )
    }

    pub async fn rollup_disagreements(
        &self,
        site_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Disagreement>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT site_id, factor, kind, period_start, logger_value, logger_flag, \
             rollup_value, rollup_flag, detected_at FROM rollup_disagreements \
             WHERE ($1 < 0 OR site_id = $1) ORDER BY period_start DESC LIMIT $2",
        )
        .bind(site_id.unwrap_or(-1))
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    // ---------------------------------------------------------- dashboards

    pub async fn latest_values(&self) -> Result<Vec<LatestValue>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT site_id, factor, kind, period_start, value, converted, flag, received_at \
             FROM latest_values ORDER BY site_id, factor",
        )
        .fetch_all(&self.read)
        .await?)
    }

    /// Health of every registered device; minute counts from `day_start` on.
    /// Grouping by `site_id + 0`, not `site_id`: SQLite would otherwise
    /// walk the whole primary key (in site order) to group, instead of
    /// today's rows in the minute index — seconds instead of milliseconds
    /// on a year of minute data.
    pub async fn device_health(&self, day_start: i64) -> Result<Vec<DeviceHealth>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT d.mn, d.site_id, d.min_interval, d.created_at, s.name AS site_name, s.kind AS site_kind, \
             s.organisation_id, s.township_id, \
             COALESCE(c.frames, 0) AS frames, COALESCE(c.values_stored, 0) AS values_stored, \
             COALESCE(c.duplicates, 0) AS duplicates, COALESCE(c.crc_errors, 0) AS crc_errors, \
             COALESCE(c.parse_errors, 0) AS parse_errors, \
             COALESCE(c.auth_failures, 0) AS auth_failures, \
             COALESCE(c.quarantined, 0) AS quarantined, c.last_frame_at, c.last_peer, \
             COALESCE(m.periods, 0) AS periods, COALESCE(m.total, 0) AS total, \
             COALESCE(m.valid, 0) AS valid \
             FROM devices d JOIN sites s ON s.id = d.site_id \
             LEFT JOIN device_counters c ON c.mn = d.mn \
             LEFT JOIN (SELECT site_id + 0 AS site_id, COUNT(DISTINCT period_start) AS periods, \
                        COUNT(*) AS total, \
                        SUM(CASE WHEN flag = 'N' THEN 1 ELSE 0 END) AS valid \
                        FROM series WHERE kind = 'min' AND period_start >= $1 \
                        GROUP BY site_id + 0) m ON m.site_id = d.site_id \
             ORDER BY s.name, d.mn",
        )
        .bind(day_start)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn quarantine(&self, limit: i64) -> Result<Vec<QuarantineEntry>, StorageError> {
        let rows = sqlx::query_as::<_, QuarantineRow>(
            "SELECT id, received_at, peer, mn, cn, reason, frame FROM hj212_quarantine \
             ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(QuarantineEntry::from).collect())
    }

    /// Counts of quarantined frames by reason.
    pub async fn quarantine_counts(&self) -> Result<Vec<(String, i64)>, StorageError> {
        Ok(sqlx::query_as(
            "SELECT reason, COUNT(*) AS n FROM hj212_quarantine GROUP BY reason ORDER BY reason",
        )
        .fetch_all(&self.read)
        .await?)
    }

    /// Number of rows in the raw archive (for tests and the health page).
    pub async fn raw_frame_count(&self) -> Result<i64, StorageError> {
        // Rows not packed yet and the frames of the blocks (migration 0032).
        self.raw_archive().frame_count().await
    }
}

/// Two decimal strings denote the same number (`1.50` = `1.5`).
fn same_value(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => {
            let norm = |s: &str| {
                let s = s.trim();
                if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_owned()
                } else {
                    s.to_owned()
                }
            };
            norm(x) == norm(y)
        }
        _ => false,
    }
}

/// Serde helpers of the ingestion types' wire form (the NATS path).
mod wire {
    use serde::Deserialize;

    pub(super) fn is_zero(n: &i64) -> bool {
        *n == 0
    }

    fn known(word: &str, words: &[&'static str], what: &str) -> Result<&'static str, String> {
        words
            .iter()
            .find(|w| **w == word)
            .copied()
            .ok_or_else(|| format!("unknown {what} {word:?}"))
    }

    impl<'de> Deserialize<'de> for super::SeriesValue {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            SeriesValueWire::deserialize(d)?
                .try_into()
                .map_err(serde::de::Error::custom)
        }
    }

    impl<'de> Deserialize<'de> for super::RawFrame {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            RawFrameWire::deserialize(d)?
                .try_into()
                .map_err(serde::de::Error::custom)
        }
    }

    /// [`super::SeriesValue`] as read, with its kind owned.
    #[derive(Deserialize)]
    struct SeriesValueWire {
        factor: String,
        kind: String,
        period_start: i64,
        value: Option<String>,
        converted: Option<String>,
        flag: String,
    }

    impl TryFrom<SeriesValueWire> for super::SeriesValue {
        type Error = String;

        fn try_from(w: SeriesValueWire) -> Result<Self, String> {
            Ok(super::SeriesValue {
                kind: known(&w.kind, &["rtd", "min", "hour", "day"], "series kind")?,
                factor: w.factor,
                period_start: w.period_start,
                value: w.value,
                converted: w.converted,
                flag: w.flag,
            })
        }
    }

    /// [`super::RawFrame`] as read, with its outcome owned.
    #[derive(Deserialize)]
    struct RawFrameWire {
        peer: String,
        mn: Option<String>,
        cn: Option<String>,
        #[serde(with = "frame_bytes")]
        frame: Vec<u8>,
        outcome: String,
        error: Option<String>,
    }

    impl TryFrom<RawFrameWire> for super::RawFrame {
        type Error = String;

        fn try_from(w: RawFrameWire) -> Result<Self, String> {
            Ok(super::RawFrame {
                outcome: known(
                    &w.outcome,
                    &["ok", "duplicate", "quarantined", "rejected", "other"],
                    "raw frame outcome",
                )?,
                peer: w.peer,
                mn: w.mn,
                cn: w.cn,
                frame: w.frame,
                error: w.error,
            })
        }
    }

    /// A frame as text when it is UTF-8 (HJ 212 frames nearly always are:
    /// compact in JSON), otherwise as its bytes; either is read back.
    pub(super) mod frame_bytes {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        #[serde(untagged)]
        enum Form<'a> {
            Text(std::borrow::Cow<'a, str>),
            Bytes(Vec<u8>),
        }

        pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
            match std::str::from_utf8(bytes) {
                Ok(text) => Form::Text(text.into()).serialize(s),
                Err(_) => s.collect_seq(bytes),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            Ok(match Form::deserialize(d)? {
                Form::Text(t) => t.into_owned().into_bytes(),
                Form::Bytes(b) => b,
            })
        }
    }
}
