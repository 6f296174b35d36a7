//! Layered configuration: built-in defaults, then a TOML file, then
//! `GONGJIAN_…` environment variables, then command-line flags (applied by the
//! binary). Unknown keys in the file are rejected so a typo never silently
//! falls back to a default.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?}: {message}")]
    Env {
        name: String,
        value: String,
        message: String,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory for the SQLite database, attachments, backups and the raw archive.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub hj212: Hj212Config,
    pub ingest: IngestConfig,
    pub database: DatabaseConfig,
    pub session: SessionConfig,
    pub login: LoginConfig,
    pub log: LogConfig,
    pub campaign: CampaignConfig,
    pub notify: NotifyConfig,
    pub map: MapConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Close a connection that has not sent a complete request head (line
    /// and headers) this many seconds after it opened or after its last answer.
    pub header_read_timeout_secs: u64,
    /// Longest time for one request (body and handler) in seconds.
    pub request_timeout_secs: u64,
    /// Longest time for an upload (multipart or a body over 64 KiB) in seconds.
    pub upload_timeout_secs: u64,
    /// Web connections open at once; more are closed as soon as accepted.
    pub max_connections: u32,
    /// Web connections open at once from one address (IPv6: one /64).
    pub max_connections_per_address: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hj212Config {
    /// TCP address the HJ 212 data-logger listener binds to.
    pub listen: SocketAddr,
    /// Whether `serve` starts the HJ 212 listener at all.
    pub enabled: bool,
    pub max_connections: u32,
    pub idle_timeout_secs: u64,
    /// Largest accepted data segment in bytes (the standard says 1024; real loggers send more).
    pub max_data_len: u32,
    /// Days the raw frame archive keeps every received frame (0: forever).
    pub raw_retention_days: u32,
    /// Concurrent connections accepted from one IP address.
    pub max_connections_per_addr: u32,
    /// Close a connection that has not sent a valid frame from a registered
    /// device with its password within this many seconds.
    pub auth_timeout_secs: u64,
    /// Close a connection after this many bad frames in a row (garbage, bad CRC,
    /// unknown MN) without a valid frame between them.
    pub max_bad_frames: u32,
    /// Close a connection after this many garbage bytes without a valid frame.
    pub max_garbage_bytes: u64,
    /// Frames failing before authentication archived per peer address and hour
    /// (the rest are only counted).
    pub unauth_raw_per_peer_hour: u32,
    /// Frames failing before authentication archived per hour, all peers together.
    pub unauth_raw_per_hour: u32,
    /// Wrong passwords per MN and per peer address before they are locked out.
    pub auth_max_failures: u32,
    /// First lockout after `auth_max_failures` wrong passwords, in seconds; each
    /// further lockout without a successful login doubles it.
    pub auth_lockout_secs: u64,
    /// Longest lockout, in seconds.
    pub auth_lockout_max_secs: u64,
    /// Vendor item keys (`CODE-FIELD`) stored as a factor of their own.
    /// Electricity-use monitors (ST 80) have no HJ 212-2017 code: the common
    /// vendor form sends `100000-Pt=…;100000-Ept=…` (hj212.md §9), which
    /// would otherwise be dropped. Default: that form's `Pt` (kW), `Ept`
    /// (kWh counter), `Ia` (A) and `Ua` (V). A `[hj212.field_map]` table
    /// replaces the default as a whole.
    pub field_map: BTreeMap<String, String>,
}

/// The vendor electricity-monitor form (ST 80, code `100000`).
pub fn default_field_map() -> BTreeMap<String, String> {
    ["Pt", "Ept", "Ia", "Ua"]
        .into_iter()
        .map(|f| (format!("100000-{f}"), f.to_owned()))
        .collect()
}

/// Where `serve` takes HJ 212 data from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IngestSource {
    /// Its own HJ 212 listener writes straight to the database.
    Listener,
    /// Durable consumers of the NATS JetStream stream that `gongjian gateway`
    /// processes publish to (docs/decisions/0006).
    Nats,
}

/// `[ingest]`: the NATS JetStream path (gateways publish, writers commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// `listener` (default) or `nats`.
    pub source: IngestSource,
    /// NATS server(s), comma-separated: `nats://host:4222,nats://host2:4222`.
    pub nats_url: String,
    /// JetStream stream name (created by the first gateway or writer if missing).
    pub stream: String,
    /// Subject prefix; frames go to `<prefix>.<MN>`.
    pub subject_prefix: String,
    /// Durable consumer name shared by all writers.
    pub durable: String,
    /// Stream replicas when the stream is created (3 on a three-node cluster).
    pub replicas: u32,
    /// Most messages one writer commits per transaction.
    pub max_batch: u32,
    /// Seconds a fetched message may stay unacknowledged before JetStream
    /// redelivers it to another writer.
    pub ack_wait_secs: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            source: IngestSource::Listener,
            nats_url: "nats://127.0.0.1:4222".into(),
            stream: "GONGJIAN_HJ212".into(),
            subject_prefix: "gongjian.hj212".into(),
            durable: "gongjian-writer".into(),
            replicas: 1,
            max_batch: 2048,
            ack_wait_secs: 30,
        }
    }
}

impl IngestConfig {
    /// Names NATS accepts as stream and consumer names, and subject tokens.
    fn validate(&self) -> Result<(), ConfigError> {
        let name_ok = |t: &str| {
            !t.is_empty()
                && t.len() <= 64
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        let bad = |msg: &str| Err(ConfigError::Invalid(msg.to_owned()));
        let urls: Vec<&str> = self.nats_url.split(',').map(str::trim).collect();
        if urls.iter().any(|u| {
            !(u.starts_with("nats://") || u.starts_with("tls://")) || u.len() <= "nats://".len()
        }) {
            return Err(ConfigError::Invalid(format!(
                "NATS 地址无效 (ingest.nats_url must be nats://HOST:PORT or tls://HOST:PORT, \
                 comma-separated), got {:?}",
                self.nats_url
            )));
        }
        if !name_ok(&self.stream) {
            return bad("JetStream 流名称无效 (ingest.stream: 1–64 letters, digits, _ or -)");
        }
        if !name_ok(&self.durable) {
            return bad(
                "JetStream 持久消费者名称无效 (ingest.durable: 1–64 letters, digits, _ or -)",
            );
        }
        if self.subject_prefix.len() > 128 || !self.subject_prefix.split('.').all(name_ok) {
            return bad(
                "NATS 主题前缀无效 (ingest.subject_prefix: dot-separated tokens of letters, \
                 digits, _ or -, e.g. gongjian.hj212)",
            );
        }
        if !(1..=5).contains(&self.replicas) {
            return bad("JetStream 副本数必须在 1 到 5 之间 (ingest.replicas must be 1–5)");
        }
        if self.max_batch == 0 || self.ack_wait_secs == 0 {
            return bad(
                "接入配置值必须大于零 (ingest.max_batch and ingest.ack_wait_secs must be \
                 greater than zero)",
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://…`. Empty means `sqlite://<data_dir>/gongjian.db`.
    pub url: String,
    pub max_connections: u32,
    /// SQLite busy timeout in milliseconds.
    pub busy_timeout_ms: u64,
    /// PostgreSQL: whole months of `series` (monthly partitions) kept before
    /// the current month; older months are dropped by the `series_partitions`
    /// job. 0 keeps every value. Ignored on SQLite.
    pub series_retention_months: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub cookie_name: String,
    /// Set the cookie's `Secure` attribute; turn on when served over TLS.
    pub secure: bool,
    pub idle_timeout_minutes: u64,
    pub absolute_timeout_hours: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// Failed attempts allowed per (account, client address) before locking.
    pub max_failures: u32,
    pub lockout_minutes: u64,
    /// Failed attempts allowed per account from all addresses before locking.
    pub account_max_failures: u32,
    /// Failed password checks per client address per minute; beyond it the
    /// address waits for the next minute (slowed, never locked).
    pub address_failures_per_minute: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `gongjian_web=debug,info`, …
    pub level: String,
    pub format: LogFormat,
}

/// The levels a tracing filter directive may name.
const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

impl LogConfig {
    /// `log.level` is checked here, as a subset of the tracing filter
    /// syntax (`level` or `target=level`, comma-separated), so a typo stops
    /// the program with a message instead of silently logging at `info`.
    /// A bare target, which tracing reads as "everything from it", is
    /// refused because a misspelt level (`infoo`) would read as one.
    fn validate(&self) -> Result<(), ConfigError> {
        let level = &self.level;
        let bad = |why: String| {
            ConfigError::Invalid(format!(
                "日志级别无效 (log.level {why}; expected e.g. info, warn, \
                 gongjian_ingest=debug,info), got {level:?}"
            ))
        };
        if level.trim().is_empty() || level.len() > 500 {
            return Err(bad("must be 1–500 characters".into()));
        }
        let is_target = |t: &str| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
        };
        for directive in level.split(',').map(str::trim) {
            let ok = match directive.rsplit_once('=') {
                Some((target, lvl)) => {
                    is_target(target) && LOG_LEVELS.contains(&lvl.to_ascii_lowercase().as_str())
                }
                None => LOG_LEVELS.contains(&directive.to_ascii_lowercase().as_str()),
            };
            if !ok {
                return Err(bad(format!("has an invalid directive {directive:?}")));
            }
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("gongjian-data"),
            http: HttpConfig::default(),
            hj212: Hj212Config::default(),
            ingest: IngestConfig::default(),
            database: DatabaseConfig::default(),
            session: SessionConfig::default(),
            login: LoginConfig::default(),
            log: LogConfig::default(),
            campaign: CampaignConfig::default(),
            notify: NotifyConfig::default(),
            map: MapConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            upload_timeout_secs: 300,
            max_connections: 1024,
            max_connections_per_address: 256,
        }
    }
}

impl Default for Hj212Config {
    fn default() -> Self {
        Hj212Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 9212)),
            enabled: true,
            max_connections: 5000,
            idle_timeout_secs: 600,
            max_data_len: 4096,
            raw_retention_days: 90,
            max_connections_per_addr: 64,
            auth_timeout_secs: 60,
            max_bad_frames: 5,
            max_garbage_bytes: 64 * 1024,
            unauth_raw_per_peer_hour: 100,
            unauth_raw_per_hour: 10_000,
            auth_max_failures: 5,
            auth_lockout_secs: 900,
            auth_lockout_max_secs: 86_400,
            field_map: default_field_map(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            max_connections: 8,
            busy_timeout_ms: 5000,
            series_retention_months: 0,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            cookie_name: "gongjian_session".into(),
            secure: false,
            idle_timeout_minutes: 30,
            absolute_timeout_hours: 12,
        }
    }
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            max_failures: 5,
            lockout_minutes: 15,
            account_max_failures: 10,
            address_failures_per_minute: 20,
        }
    }
}

/// Campaign workflow: deadline reminders and report attachments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CampaignConfig {
    /// Raise a reminder this many days before a task milestone.
    pub reminder_days: u32,
    /// Largest accepted attachment (report evidence, fire-point photos), in bytes.
    pub attachment_max_bytes: u64,
    /// Largest request body of a submission with attachments (a report or a
    /// fire point: every file and field together), in bytes.
    pub upload_request_max_bytes: u64,
    /// Most files in one submission.
    pub upload_max_files: u32,
    /// Uploads (submissions with files, spreadsheet imports) one user may
    /// run at the same time; more are refused with HTTP 429.
    pub uploads_per_user: u32,
    /// Uploads the whole server runs at the same time; more are refused
    /// with HTTP 429.
    pub uploads_total: u32,
    /// Largest request body of a spreadsheet import (tasks, sites, air
    /// data, fire points), in bytes. Imports are parsed in memory.
    pub import_max_bytes: u64,
    /// Seconds between two alarm runs (screens → alarms → 督办 cases).
    pub alarm_scan_seconds: u64,
}

/// Outbound notifications (e-mail, webhooks, robots, SMS): the channels
/// themselves are configured by the administrator in the app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The platform's address as users reach it (e.g.
    /// `http://10.1.2.3:8080`), put before the links in outbound messages;
    /// empty: messages carry the path only.
    pub public_url: String,
    /// Seconds between two delivery runs.
    pub delivery_seconds: u64,
    /// Attempts per delivery before it is marked failed (retries back off
    /// from 30 s, doubling, up to an hour).
    pub max_attempts: u32,
    /// Seconds one send may take.
    pub timeout_seconds: u64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            public_url: String::new(),
            delivery_seconds: 10,
            max_attempts: 6,
            timeout_seconds: 15,
        }
    }
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            reminder_days: 7,
            attachment_max_bytes: 20 * 1024 * 1024,
            upload_request_max_bytes: 64 * 1024 * 1024,
            upload_max_files: 10,
            uploads_per_user: 2,
            uploads_total: 16,
            import_max_bytes: 20 * 1024 * 1024,
            alarm_scan_seconds: 60,
        }
    }
}

/// The map page (一张图): its base layer. Boundaries and points are drawn
/// without one, so an offline platform needs no setting here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MapConfig {
    /// Tile URL template with `{z}`, `{x}` and `{y}`, e.g. an intranet
    /// 天地图 service; empty: no base layer.
    pub tile_url: String,
    /// Attribution shown in the map's corner for the tiles.
    pub attribution: String,
}

impl MapConfig {
    /// The scheme, host and port of `tile_url` (what the Content-Security-
    /// Policy must allow images from), or None when no tiles are configured.
    pub fn tile_origin(&self) -> Option<String> {
        let url = self.tile_url.trim();
        let rest = url
            .strip_prefix("https://")
            .map(|r| ("https://", r))
            .or_else(|| url.strip_prefix("http://").map(|r| ("http://", r)))?;
        let host = rest.1.split('/').next().unwrap_or("");
        (!host.is_empty()).then(|| format!("{}{host}", rest.0))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.tile_url;
        if !url.is_empty() {
            let bad = |why: &str| {
                ConfigError::Invalid(format!(
                    "地图瓦片地址无效 (map.tile_url {why}), got {url:?}"
                ))
            };
            if url.len() > 500 {
                return Err(bad("is longer than 500 characters"));
            }
            if !url.starts_with("http://") && !url.starts_with("https://") {
                return Err(bad("must start with http:// or https://"));
            }
            // It goes into the Content-Security-Policy header and a page
            // attribute: only URL characters, no separators of either.
            let allowed =
                |c: char| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&()*+=%{}".contains(c);
            if !url.chars().all(allowed) {
                return Err(bad("has a character that is not allowed in a URL"));
            }
            for part in ["{z}", "{x}", "{y}"] {
                if !url.contains(part) {
                    return Err(bad(&format!("must contain {part}")));
                }
            }
            match self.tile_origin() {
                Some(origin) if !origin.contains(['{', '}', '?', '#', '@']) => {}
                _ => {
                    return Err(bad(
                        "must name a fixed host (no {s} or placeholder in the host)",
                    ));
                }
            }
        }
        let a = &self.attribution;
        if a.chars().count() > 200 || a.chars().any(char::is_control) {
            return Err(ConfigError::Invalid(
                "地图版权说明过长或含控制字符 (map.attribution: at most 200 characters, one line)"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Parse a TOML document; unknown keys are an error.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Defaults, overlaid with the file (if any), overlaid with `GONGJIAN_…`
    /// variables from `env`.
    pub fn load(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let mut value = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                // Validate the file on its own first so errors name the file.
                Config::from_toml(&text, path)?;
                toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut value, env)?;
        let config: Config = toml::Value::Table(value)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        if !url.is_empty() && !url.starts_with("sqlite:") && !url.starts_with("postgres") {
            return Err(ConfigError::Invalid(format!(
                "database.url must start with sqlite:// or postgres://, got {url:?}"
            )));
        }
        let h = &self.http;
        if h.header_read_timeout_secs == 0
            || h.request_timeout_secs == 0
            || h.upload_timeout_secs == 0
            || h.max_connections == 0
            || h.max_connections_per_address == 0
        {
            return Err(ConfigError::Invalid(
                "http timeouts and connection limits must be greater than zero".into(),
            ));
        }
        if self.session.idle_timeout_minutes == 0 || self.session.absolute_timeout_hours == 0 {
            return Err(ConfigError::Invalid(
                "session timeouts must be greater than zero".into(),
            ));
        }
        let name = &self.session.cookie_name;
        if name.is_empty() || !name.bytes().all(is_cookie_token_byte) {
            return Err(ConfigError::Invalid(format!(
                "会话 Cookie 名称无效 (session.cookie_name must be a cookie token: \
                 letters, digits and !#$%&'*+-.^_`|~), got {name:?}"
            )));
        }
        self.map.validate()?;
        self.log.validate()?;
        self.ingest.validate()?;
        self.validate_field_map()?;
        self.validate_hj212()
    }

    /// `[hj212.field_map]`: at most 64 entries, each key `CODE-FIELD` and
    /// each factor a code of letters, digits and `_` (at most 32 bytes), as
    /// a factor is stored and shown.
    fn validate_field_map(&self) -> Result<(), ConfigError> {
        let map = &self.hj212.field_map;
        if map.len() > 64 {
            return Err(ConfigError::Invalid(
                "hj212.field_map: at most 64 entries".into(),
            ));
        }
        let code = |s: &str| {
            !s.is_empty()
                && s.len() <= 32
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        for (key, factor) in map {
            let ok_key = key
                .rsplit_once('-')
                .is_some_and(|(c, f)| code(c) && code(f));
            if !ok_key || !code(factor) {
                return Err(ConfigError::Invalid(format!(
                    "hj212.field_map: {key:?} = {factor:?} must map CODE-FIELD to a factor code \
                     (letters, digits, _; at most 32 bytes each)"
                )));
            }
        }
        Ok(())
    }

    /// Every `[hj212]` number: zero (and, for the data length, more than the
    /// frame's 4-digit length field can say) is refused, not clamped.
    fn validate_hj212(&self) -> Result<(), ConfigError> {
        let h = &self.hj212;
        let positive: [(&str, u64); 9] = [
            ("max_connections", h.max_connections.into()),
            ("idle_timeout_secs", h.idle_timeout_secs),
            (
                "max_connections_per_addr",
                h.max_connections_per_addr.into(),
            ),
            ("auth_timeout_secs", h.auth_timeout_secs),
            ("max_bad_frames", h.max_bad_frames.into()),
            ("max_garbage_bytes", h.max_garbage_bytes),
            ("auth_max_failures", h.auth_max_failures.into()),
            ("auth_lockout_secs", h.auth_lockout_secs),
            ("auth_lockout_max_secs", h.auth_lockout_max_secs),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "HJ 212 配置值必须大于零 (hj212.{key} must be greater than zero)"
                )));
            }
        }
        // 64 bytes: the smallest useful data segment; 9999: the largest the
        // frame's 4-digit length field can express.
        if !(64..=9999).contains(&h.max_data_len) {
            return Err(ConfigError::Invalid(format!(
                "HJ 212 数据段长度上限超出范围 (hj212.max_data_len must be between 64 and 9999), got {}",
                h.max_data_len
            )));
        }
        if h.auth_lockout_max_secs < h.auth_lockout_secs {
            return Err(ConfigError::Invalid(format!(
                "HJ 212 最长锁定时间小于首次锁定时间 (hj212.auth_lockout_max_secs {} is less than hj212.auth_lockout_secs {})",
                h.auth_lockout_max_secs, h.auth_lockout_secs
            )));
        }
        Ok(())
    }

    /// The database URL, with the default SQLite file under the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("gongjian.db").display())
        } else {
            self.database.url.clone()
        }
    }

    /// Every key the configuration knows, as `section.key`, with its
    /// environment variable name. Used for documentation and tests.
    pub fn keys() -> Vec<(String, String)> {
        let defaults = toml::Table::try_from(Config::default()).expect("config serialises");
        let mut out = Vec::new();
        collect_keys(&defaults, "", &mut out);
        out.into_iter()
            .map(|k| {
                let env = env_name(&k);
                (k, env)
            })
            .collect()
    }
}

/// Tables whose keys are data, not settings: set in the file only (no
/// environment variable per entry).
const FREE_TABLES: &[&str] = &["hj212.field_map"];

fn collect_keys(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if FREE_TABLES.contains(&path.as_str()) {
            continue;
        }
        match v {
            toml::Value::Table(t) => collect_keys(t, &path, out),
            _ => out.push(path),
        }
    }
}

fn env_name(key: &str) -> String {
    format!("GONGJIAN_{}", key.replace('.', "_").to_uppercase())
}

/// Overlay `GONGJIAN_SECTION_KEY` variables. Each known key's variable is
/// parsed with the type of its default so `GONGJIAN_SESSION_SECURE=true`
/// becomes a boolean and a typo in a value is reported with the variable's name.
fn apply_env(table: &mut toml::Table, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    let defaults = toml::Table::try_from(Config::default()).expect("config serialises");
    let mut keys = Vec::new();
    collect_keys(&defaults, "", &mut keys);
    for key in keys {
        let name = env_name(&key);
        let Some(raw) = env.get(&name) else { continue };
        let default = lookup(&defaults, &key).expect("key from defaults");
        let value = match default {
            toml::Value::Boolean(_) => match raw.as_str() {
                "true" | "1" | "yes" => toml::Value::Boolean(true),
                "false" | "0" | "no" => toml::Value::Boolean(false),
                _ => {
                    return Err(ConfigError::Env {
                        name,
                        value: raw.clone(),
                        message: "expected true or false".into(),
                    });
                }
            },
            toml::Value::Integer(_) => {
                toml::Value::Integer(raw.parse().map_err(|_| ConfigError::Env {
                    name: name.clone(),
                    value: raw.clone(),
                    message: "expected an integer".into(),
                })?)
            }
            _ => toml::Value::String(raw.clone()),
        };
        insert(table, &key, value);
    }
    Ok(())
}

fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut parts = key.split('.');
    let mut current = table.get(parts.next()?)?;
    for part in parts {
        current = current.as_table()?.get(part)?;
    }
    Some(current)
}

fn insert(table: &mut toml::Table, key: &str, value: toml::Value) {
    let parts: Vec<&str> = key.split('.').collect();
    let mut current = table;
    for part in &parts[..parts.len() - 1] {
        current = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("config sections are tables");
    }
    current.insert(parts[parts.len() - 1].to_string(), value);
}

/// RFC 6265 `cookie-name` = RFC 7230 `token`.
fn is_cookie_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(None, &env)
    }

    #[test]
    fn log_level_typos_are_refused() {
        for good in [
            "info",
            "WARN",
            "gongjian_ingest=debug,info",
            "tower_http::trace=warn",
        ] {
            assert!(with_env(&[("GONGJIAN_LOG_LEVEL", good)]).is_ok(), "{good}");
        }
        for bad in [
            "",
            "infoo",
            "infoo=",
            "gongjian=verbose",
            "info,,warn",
            "a b",
            "x=debug;rm",
        ] {
            let err = with_env(&[("GONGJIAN_LOG_LEVEL", bad)])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("日志级别无效") && err.contains("log.level"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn cookie_name_must_be_a_token() {
        assert!(with_env(&[("GONGJIAN_SESSION_COOKIE_NAME", "gj_session")]).is_ok());
        for bad in ["", "gj session", "gj;x", "会话", "a=b"] {
            let err = with_env(&[("GONGJIAN_SESSION_COOKIE_NAME", bad)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("session.cookie_name"), "{bad:?}: {err}");
            assert!(err.contains("会话 Cookie 名称无效"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn hj212_numbers_are_refused_not_clamped() {
        for key in [
            "MAX_CONNECTIONS",
            "IDLE_TIMEOUT_SECS",
            "MAX_CONNECTIONS_PER_ADDR",
            "AUTH_TIMEOUT_SECS",
            "MAX_BAD_FRAMES",
            "MAX_GARBAGE_BYTES",
            "AUTH_MAX_FAILURES",
            "AUTH_LOCKOUT_SECS",
            "AUTH_LOCKOUT_MAX_SECS",
        ] {
            let err = with_env(&[(&format!("GONGJIAN_HJ212_{key}"), "0")])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("hj212.{}", key.to_lowercase()))
                    && err.contains("必须大于零"),
                "{key}: {err}"
            );
        }
        for bad in ["0", "63", "10000"] {
            let err = with_env(&[("GONGJIAN_HJ212_MAX_DATA_LEN", bad)])
                .unwrap_err()
                .to_string();
            assert!(err.contains("hj212.max_data_len"), "{bad}: {err}");
        }
        assert!(with_env(&[("GONGJIAN_HJ212_MAX_DATA_LEN", "9999")]).is_ok());
        let err = with_env(&[
            ("GONGJIAN_HJ212_AUTH_LOCKOUT_SECS", "900"),
            ("GONGJIAN_HJ212_AUTH_LOCKOUT_MAX_SECS", "60"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("hj212.auth_lockout_max_secs"), "{err}");
        // Zero still means what it is documented to mean where it has a meaning.
        assert!(with_env(&[("GONGJIAN_HJ212_RAW_RETENTION_DAYS", "0")]).is_ok());
    }

    #[test]
    fn map_tile_url_is_checked_and_gives_its_origin() {
        let ok = with_env(&[(
            "GONGJIAN_MAP_TILE_URL",
            "http://10.1.2.3:8080/tianditu/{z}/{x}/{y}.png",
        )])
        .unwrap();
        assert_eq!(
            ok.map.tile_origin().as_deref(),
            Some("http://10.1.2.3:8080")
        );
        assert_eq!(Config::default().map.tile_origin(), None);
        for bad in [
            "ftp://x/{z}/{x}/{y}.png",
            "http://x/{z}/{x}.png",
            "http://x/{z}/{x}/{y}.png; script-src *",
            "http://{s}.tiles/{z}/{x}/{y}.png",
            "http://x/{z}/{x}/{y}.png\"'",
        ] {
            assert!(
                with_env(&[("GONGJIAN_MAP_TILE_URL", bad)]).is_err(),
                "{bad} accepted"
            );
        }
        assert!(with_env(&[("GONGJIAN_MAP_ATTRIBUTION", "a\nb")]).is_err());
        assert!(with_env(&[("GONGJIAN_MAP_ATTRIBUTION", "©天地图")]).is_ok());
    }

    fn example_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../gongjian.example.toml")
    }

    #[test]
    fn example_file_loads_and_documents_every_key() {
        let path = example_path();
        let text = std::fs::read_to_string(&path).unwrap();
        let config = Config::load(Some(&path), &BTreeMap::new()).unwrap();
        // The example restates the defaults, so loading it changes nothing.
        assert_eq!(config, Config::default());
        for (key, env) in Config::keys() {
            let leaf = key.rsplit('.').next().unwrap();
            assert!(
                text.contains(&format!("{leaf} =")),
                "example file does not document {key}"
            );
            assert!(text.contains(&env), "example file does not name {env}");
        }
    }

    #[test]
    fn ingest_source_and_nats_names_are_checked() {
        let config = with_env(&[
            ("GONGJIAN_INGEST_SOURCE", "nats"),
            (
                "GONGJIAN_INGEST_NATS_URL",
                "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
            ),
        ])
        .unwrap();
        assert_eq!(config.ingest.source, IngestSource::Nats);
        for (key, bad) in [
            ("GONGJIAN_INGEST_SOURCE", "kafka"),
            ("GONGJIAN_INGEST_NATS_URL", "http://x:4222"),
            ("GONGJIAN_INGEST_STREAM", "a.b"),
            ("GONGJIAN_INGEST_DURABLE", "has space"),
            ("GONGJIAN_INGEST_SUBJECT_PREFIX", "a..b"),
            ("GONGJIAN_INGEST_SUBJECT_PREFIX", "a.*"),
            ("GONGJIAN_INGEST_REPLICAS", "0"),
            ("GONGJIAN_INGEST_MAX_BATCH", "0"),
        ] {
            let err = with_env(&[(key, bad)]).unwrap_err().to_string();
            assert!(
                err.contains("ingest") || err.contains("source"),
                "{key}={bad}: {err}"
            );
        }
        let err = with_env(&[("GONGJIAN_INGEST_REPLICAS", "7")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("副本数"), "{err}");
    }

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let err = Config::from_toml(
            "[http]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n",
            Path::new("x.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("lisen"), "{err}");
        assert!(err.contains("x.toml"), "{err}");
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[http]\nlisten = \"127.0.0.1:9000\"\n[session]\nsecure = false\n",
        )
        .unwrap();
        let env = BTreeMap::from([
            (
                "GONGJIAN_HTTP_LISTEN".to_string(),
                "127.0.0.1:9001".to_string(),
            ),
            ("GONGJIAN_SESSION_SECURE".to_string(), "true".to_string()),
            ("GONGJIAN_LOGIN_MAX_FAILURES".to_string(), "3".to_string()),
        ]);
        let config = Config::load(Some(&path), &env).unwrap();
        assert_eq!(config.http.listen.port(), 9001);
        assert!(config.session.secure);
        assert_eq!(config.login.max_failures, 3);
    }

    #[test]
    fn bad_environment_value_names_the_variable() {
        let env = BTreeMap::from([("GONGJIAN_SESSION_SECURE".to_string(), "perhaps".to_string())]);
        let err = Config::load(None, &env).unwrap_err().to_string();
        assert!(err.contains("GONGJIAN_SESSION_SECURE"), "{err}");
    }

    #[test]
    fn database_url_defaults_to_sqlite_under_data_dir() {
        let mut config = Config {
            data_dir: PathBuf::from("/srv/gj"),
            ..Config::default()
        };
        assert_eq!(config.database_url(), "sqlite:///srv/gj/gongjian.db");
        config.database.url = "mysql://x".into();
        assert!(config.validate().is_err());
    }

    #[test]
    fn the_vendor_field_map_defaults_and_is_checked() {
        let config = Config::load(None, &BTreeMap::new()).unwrap();
        assert_eq!(config.hj212.field_map.get("100000-Ept").unwrap(), "Ept");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gongjian.toml");
        std::fs::write(&path, "[hj212.field_map]\n\"e30101-Rtd\" = \"Pt\"\n").unwrap();
        let config = Config::load(Some(&path), &BTreeMap::new()).unwrap();
        assert_eq!(config.hj212.field_map.len(), 1, "replaces the default");
        std::fs::write(&path, "[hj212.field_map]\n\"Pt\" = \"Pt\"\n").unwrap();
        let err = Config::load(Some(&path), &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("CODE-FIELD"), "{err}");
        std::fs::write(&path, "[hj212.field_map]\n\"100000-Pt\" = \"P t<\"\n").unwrap();
        assert!(Config::load(Some(&path), &BTreeMap::new()).is_err());
    }
}
