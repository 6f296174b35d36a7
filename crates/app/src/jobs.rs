//! Background jobs: the platform's periodic work, each a named [`Job`] with
//! an interval, started by `gongjian serve` with the shared shutdown signal.
//!
//! | job | every | what one tick does |
//! |---|---|---|
//! | `rollups` | 2 s | minute → hour → day rollups of the queue (`gongjian_ingest::run_rollups`), whether or not the HJ 212 listener runs |
//! | `raw_retention` | 1 h | delete raw and quarantined HJ 212 frames older than `hj212.raw_retention_days` (not started when 0) |
//! | `series_partitions` | 6 h | PostgreSQL only (not started on SQLite): make the monthly partitions of `series` up to 2 months ahead and move rows out of the default partition (`Partitions::ensure_series_partitions`); drop months before the last `database.series_retention_months` (0: keep all) |
//! | `series_packing` | 1 h | move the real-time and minute values of CST days that ended more than an hour ago into compressed day blocks (`SeriesBlocks::pack_series`) |
//! | `raw_packing` | 5 min | move raw HJ 212 frames received more than 10 min ago into zstd blocks (`RawArchive::pack_raw`), whatever the retention |
//! | `deadlines` | 1 h | milestone reminders and overdue assignments (`Campaigns::run_deadlines`) |
//! | `session_purge` | 10 min | delete sessions past the `[session]` idle or absolute limit |
//! | `air_cache` | 30 s | refresh the daily air cache (`crate::air::refresh_air_cache`) so GET requests only read it |
//! | `deliveries` | `notify.delivery_seconds` (10 s) | send queued outbound notifications, retry failed ones with backoff (`crate::notify::run_deliveries`) |
//! | `emergency_verification` | 1 h | verify the warnings in force or ended in the last week from meters and CEMS; a 未落实 enterprise gets its 督办 case (`crate::emergency::run_verification`) |
//! | `alarms` | `campaign.alarm_scan_seconds` (60 s) | screen every site's recent hours, keep alarms and their 督办 cases (`crate::alarms::run_alarms`), escalate overdue cases |
//!
//! The runner ([`spawn`]) runs one tick at a time (a slow tick delays the
//! next, it never overlaps it), logs a failed tick with the job's name and
//! carries on, and stops when the shutdown signal turns true. To add a job:
//! a struct implementing [`Job`] in this module (its `tick` testable by
//! calling it directly) and one line in [`start`].

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gongjian_config::Config;
use gongjian_storage::{Db, DeadlineRun, SessionLimits};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::air::AirCache;

/// Why a tick failed (logged by the runner with the job's name).
pub type TickError = Box<dyn std::error::Error + Send + Sync>;

/// A periodic background job.
pub trait Job: Send + Sync + 'static {
    /// What a tick did, logged at debug level.
    type Done: Debug + Send;

    /// The job's name in logs.
    fn name(&self) -> &'static str;

    /// Time between the starts of two ticks; the first runs at once.
    fn interval(&self) -> Duration;

    /// One run of the job.
    fn tick(&self) -> impl Future<Output = Result<Self::Done, TickError>> + Send;
}

/// Run `job` every interval until `stop` turns true (or its sender is
/// gone). A tick in progress is finished before the job stops, unless
/// [`Jobs::stop`] aborts it at its deadline.
pub fn spawn<J: Job>(job: J, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let name = job.name();
        let mut every = tokio::time::interval(job.interval());
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::debug!(job = name, "job started");
        loop {
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => break,
                _ = every.tick() => {}
            }
            match job.tick().await {
                Ok(done) => tracing::debug!(job = name, ?done, "job tick"),
                Err(e) => tracing::warn!(job = name, error = %e, "job tick failed"),
            }
        }
        tracing::debug!(job = name, "job stopped");
    })
}

/// The running jobs of a server.
#[derive(Debug, Default)]
pub struct Jobs {
    running: Vec<(&'static str, JoinHandle<()>)>,
}

impl Jobs {
    /// Spawn `job` (see [`spawn`]) and keep its handle.
    pub fn add<J: Job>(&mut self, job: J, stop: &watch::Receiver<bool>) {
        let name = job.name();
        self.running.push((name, spawn(job, stop.clone())));
    }

    /// Names of the jobs started, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.running.iter().map(|(n, _)| *n).collect()
    }

    /// Wait (after the shutdown signal was sent) until every job has
    /// stopped; a job still in a tick at `deadline` is aborted. Aborting is
    /// safe for every job here: each tick commits in transactions, and the
    /// rollup queue is released only with the results.
    pub async fn stop(self, deadline: Duration) {
        let until = tokio::time::Instant::now() + deadline;
        for (name, mut handle) in self.running {
            if tokio::time::timeout_at(until, &mut handle).await.is_err() {
                tracing::warn!(job = name, "job still running at the shutdown deadline");
                handle.abort();
            }
        }
    }
}

/// Start every background job of `serve` per `config`.
pub fn start(
    config: &Config,
    db: &Db,
    air_cache: Arc<AirCache>,
    stop: &watch::Receiver<bool>,
) -> Jobs {
    let mut jobs = Jobs::default();
    // Independent of `hj212.enabled`: data that arrives otherwise (an
    // import, a restart with a full queue) is rolled up all the same.
    jobs.add(Rollups::new(db.clone()), stop);
    if let Some(job) = RawRetention::from_config(config, db.clone()) {
        jobs.add(job, stop);
    }
    if let Some(job) = SeriesPartitions::from_config(config, db.clone()) {
        jobs.add(job, stop);
    }
    // Packing is not retention: it runs when frames are kept forever too.
    jobs.add(RawPacking::new(db.clone()), stop);
    jobs.add(SeriesPacking::new(db.clone()), stop);
    jobs.add(Deadlines::from_config(config, db.clone()), stop);
    jobs.add(SessionPurge::from_config(config, db.clone()), stop);
    jobs.add(AirCacheRefresh::new(db.clone(), air_cache), stop);
    jobs.add(
        Alarms::new(db.clone()).every(Duration::from_secs(
            config.campaign.alarm_scan_seconds.max(1),
        )),
        stop,
    );
    jobs.add(Deliveries::new(db.clone(), config.notify.clone()), stop);
    jobs.add(EmergencyVerification::new(db.clone()), stop);
    jobs
}

/// Verifies warnings and opens cases for the enterprises that did not
/// carry out their measures (`crate::emergency::run_verification`).
#[derive(Debug, Clone)]
pub struct EmergencyVerification {
    db: Db,
}

impl EmergencyVerification {
    pub fn new(db: Db) -> EmergencyVerification {
        EmergencyVerification { db }
    }
}

impl Job for EmergencyVerification {
    /// The cases opened.
    type Done = Vec<i64>;

    fn name(&self) -> &'static str {
        "emergency_verification"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(3600)
    }

    async fn tick(&self) -> Result<Self::Done, TickError> {
        let opened =
            crate::emergency::run_verification(&self.db, gongjian_storage::today_cst()).await?;
        if !opened.is_empty() {
            tracing::info!(cases = opened.len(), "emergency verification opened cases");
        }
        Ok(opened)
    }
}

/// Sends the queued outbound notifications (`crate::notify::run_deliveries`).
#[derive(Debug, Clone)]
pub struct Deliveries {
    db: Db,
    config: gongjian_config::NotifyConfig,
}

impl Deliveries {
    pub fn new(db: Db, config: gongjian_config::NotifyConfig) -> Deliveries {
        Deliveries { db, config }
    }
}

impl Job for Deliveries {
    type Done = crate::notify::DeliveryRun;

    fn name(&self) -> &'static str {
        "deliveries"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(self.config.delivery_seconds.max(1))
    }

    async fn tick(&self) -> Result<Self::Done, TickError> {
        Ok(crate::notify::run_deliveries(&self.db, &self.config, gongjian_storage::now()).await?)
    }
}

/// The alarm run and the escalation of overdue cases.
#[derive(Debug, Clone)]
pub struct Alarms {
    db: Db,
    interval: Duration,
}

impl Alarms {
    pub fn new(db: Db) -> Alarms {
        Alarms {
            db,
            interval: Duration::from_secs(60),
        }
    }

    /// The same job ticking every `interval` (tests).
    pub fn every(mut self, interval: Duration) -> Alarms {
        self.interval = interval;
        self
    }
}

impl Job for Alarms {
    type Done = (crate::alarms::AlarmRun, u64);

    fn name(&self) -> &'static str {
        "alarms"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn tick(&self) -> Result<Self::Done, TickError> {
        let run = crate::alarms::run_alarms(&self.db, gongjian_storage::now()).await?;
        if run.opened > 0 || run.ended > 0 {
            tracing::info!(
                opened = run.opened,
                ended = run.ended,
                cases = run.cases_opened,
                reopened = run.cases_reopened,
                "alarms"
            );
        }
        let escalated = self
            .db
            .cases()
            .escalate_overdue_cases(gongjian_storage::today_cst())
            .await?;
        Ok((run, escalated))
    }
}

/// Keeps the daily air cache current so that pages only read it.
#[derive(Debug, Clone)]
pub struct AirCacheRefresh {
    db: Db,
    cache: Arc<AirCache>,
}

impl AirCacheRefresh {
    pub fn new(db: Db, cache: Arc<AirCache>) -> AirCacheRefresh {
        AirCacheRefresh { db, cache }
    }
}

impl Job for AirCacheRefresh {
    /// Daily rows refreshed.
    type Done = u64;

    fn name(&self) -> &'static str {
        "air_cache"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(30)
    }

    async fn tick(&self) -> Result<u64, TickError> {
        Ok(crate::air::refresh_air_cache(&self.db, &self.cache).await?)
    }
}

/// Minute → hour → day rollups of everything queued.
#[derive(Debug, Clone)]
pub struct Rollups {
    db: Db,
    interval: Duration,
}

impl Rollups {
    pub fn new(db: Db) -> Rollups {
        Rollups {
            db,
            interval: Duration::from_secs(2),
        }
    }

    /// The same job ticking every `interval` (tests).
    pub fn every(mut self, interval: Duration) -> Rollups {
        self.interval = interval;
        self
    }
}

impl Job for Rollups {
    /// Values stored.
    type Done = usize;

    fn name(&self) -> &'static str {
        "rollups"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn tick(&self) -> Result<usize, TickError> {
        let n = gongjian_ingest::run_rollups(&self.db).await?;
        if n > 0 {
            gongjian_ingest::events::record_rollups(n);
        }
        Ok(n)
    }
}

/// Deletes raw and quarantined HJ 212 frames past the retention period.
#[derive(Debug, Clone)]
pub struct RawRetention {
    db: Db,
    days: u32,
}

impl RawRetention {
    /// `None` when `hj212.raw_retention_days` is 0 (keep forever).
    pub fn from_config(config: &Config, db: Db) -> Option<RawRetention> {
        RawRetention::new(db, config.hj212.raw_retention_days)
    }

    /// `None` for 0 days (keep forever).
    pub fn new(db: Db, days: u32) -> Option<RawRetention> {
        (days > 0).then_some(RawRetention { db, days })
    }
}

impl Job for RawRetention {
    /// Rows deleted.
    type Done = u64;

    fn name(&self) -> &'static str {
        "raw_retention"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(3600)
    }

    async fn tick(&self) -> Result<u64, TickError> {
        let before = gongjian_storage::now() - i64::from(self.days) * 86_400;
        let n = self.db.monitoring().purge_raw_before(before).await?;
        if n > 0 {
            tracing::info!(rows = n, "hj212 raw archive retention");
        }
        Ok(n)
    }
}

/// PostgreSQL's monthly partitions of `series` (migration 0033): creates
/// them [`SeriesPartitions::MONTHS_AHEAD`] months ahead, moves rows left in
/// the default partition into their month, and — only when
/// `database.series_retention_months` is set — drops whole months older
/// than that many months before the current one.
#[derive(Debug, Clone)]
pub struct SeriesPartitions {
    db: Db,
    retention_months: u32,
}

impl SeriesPartitions {
    /// Months after the current one that have their partition ready.
    pub const MONTHS_AHEAD: u32 = 2;

    /// `None` on SQLite, which has no partitions.
    pub fn from_config(config: &Config, db: Db) -> Option<SeriesPartitions> {
        SeriesPartitions::new(db, config.database.series_retention_months)
    }

    /// `None` on SQLite. `retention_months` 0 keeps every month.
    pub fn new(db: Db, retention_months: u32) -> Option<SeriesPartitions> {
        (db.backend() == gongjian_storage::Backend::Postgres).then_some(SeriesPartitions {
            db,
            retention_months,
        })
    }
}

impl Job for SeriesPartitions {
    /// What was created, and the months dropped.
    type Done = (
        gongjian_storage::PartitionReport,
        Vec<gongjian_storage::SeriesMonth>,
    );

    fn name(&self) -> &'static str {
        "series_partitions"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(6 * 3600)
    }

    async fn tick(&self) -> Result<Self::Done, TickError> {
        let now = gongjian_storage::now();
        let partitions = self.db.partitions();
        let report = partitions
            .ensure_series_partitions(now, Self::MONTHS_AHEAD)
            .await?;
        let dropped = if self.retention_months > 0 {
            let keep_from = gongjian_storage::SeriesMonth::containing(now)
                .minus(self.retention_months)
                .start();
            partitions.drop_series_partitions_before(keep_from).await?
        } else {
            Vec::new()
        };
        Ok((report, dropped))
    }
}

/// Moves settled raw HJ 212 frames into compressed blocks
/// (`RawArchive::pack_raw`, migration 0032): every 5 minutes, the rows
/// received more than [`RawPacking::SETTLE`] ago, in blocks of
/// [`gongjian_storage::RAW_BLOCK_FRAMES`].
#[derive(Debug, Clone)]
pub struct RawPacking {
    db: Db,
}

impl RawPacking {
    /// Seconds a raw row stays as written by `commit_ingest` before it is
    /// packed.
    pub const SETTLE: i64 = 600;

    pub fn new(db: Db) -> RawPacking {
        RawPacking { db }
    }
}

impl Job for RawPacking {
    type Done = gongjian_storage::PackReport;

    fn name(&self) -> &'static str {
        "raw_packing"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(300)
    }

    async fn tick(&self) -> Result<gongjian_storage::PackReport, TickError> {
        let older_than = gongjian_storage::now() - Self::SETTLE;
        let report = self
            .db
            .raw_archive()
            .pack_raw(older_than, gongjian_storage::RAW_BLOCK_FRAMES)
            .await?;
        if report.frames > 0 || report.duplicates > 0 {
            tracing::info!(
                frames = report.frames,
                blocks = report.blocks,
                duplicates = report.duplicates,
                payload_bytes = report.payload_bytes,
                body_bytes = report.body_bytes,
                "hj212 raw archive packed"
            );
        }
        Ok(report)
    }
}

/// Moves the real-time and minute values of closed days into compressed
/// day blocks (`SeriesBlocks::pack_series`, migration 0034): every hour,
/// the CST days that ended more than [`SeriesPacking::SETTLE`] ago.
#[derive(Debug, Clone)]
pub struct SeriesPacking {
    db: Db,
}

impl SeriesPacking {
    /// Seconds after a day's end before its values are packed: the
    /// rollup of its last hour reads rows, and late frames arrive first.
    pub const SETTLE: i64 = 3600;

    pub fn new(db: Db) -> SeriesPacking {
        SeriesPacking { db }
    }
}

impl Job for SeriesPacking {
    type Done = gongjian_storage::SeriesPackReport;

    fn name(&self) -> &'static str {
        "series_packing"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(3600)
    }

    async fn tick(&self) -> Result<gongjian_storage::SeriesPackReport, TickError> {
        let before = gongjian_storage::now() - Self::SETTLE;
        let report = self.db.series_blocks().pack_series(before).await?;
        if report.values > 0 {
            tracing::info!(
                values = report.values,
                blocks = report.blocks,
                payload_bytes = report.payload_bytes,
                body_bytes = report.body_bytes,
                "minute and real-time values packed into day blocks"
            );
        }
        Ok(report)
    }
}

/// Milestone reminders and overdue assignments, for today in China
/// Standard Time.
#[derive(Debug, Clone)]
pub struct Deadlines {
    db: Db,
    reminder_days: u32,
}

impl Deadlines {
    pub fn from_config(config: &Config, db: Db) -> Deadlines {
        Deadlines::new(db, config.campaign.reminder_days)
    }

    pub fn new(db: Db, reminder_days: u32) -> Deadlines {
        Deadlines { db, reminder_days }
    }
}

impl Job for Deadlines {
    type Done = DeadlineRun;

    fn name(&self) -> &'static str {
        "deadlines"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(3600)
    }

    async fn tick(&self) -> Result<DeadlineRun, TickError> {
        Ok(self
            .db
            .campaigns()
            .run_deadlines(gongjian_storage::today_cst(), self.reminder_days)
            .await?)
    }
}

/// Deletes sessions past their idle or absolute lifetime (they are refused
/// at use already; this keeps the table from growing).
#[derive(Debug, Clone)]
pub struct SessionPurge {
    db: Db,
    limits: SessionLimits,
}

/// The session lifetimes of `[session]`.
pub fn session_limits(config: &Config) -> SessionLimits {
    SessionLimits {
        idle_secs: config.session.idle_timeout_minutes as i64 * 60,
        absolute_secs: config.session.absolute_timeout_hours as i64 * 3600,
    }
}

impl SessionPurge {
    pub fn from_config(config: &Config, db: Db) -> SessionPurge {
        SessionPurge::new(db, session_limits(config))
    }

    pub fn new(db: Db, limits: SessionLimits) -> SessionPurge {
        SessionPurge { db, limits }
    }
}

impl Job for SessionPurge {
    /// Sessions deleted.
    type Done = u64;

    fn name(&self) -> &'static str {
        "session_purge"
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(600)
    }

    async fn tick(&self) -> Result<u64, TickError> {
        Ok(self.db.sessions().purge_sessions(self.limits).await?)
    }
}
