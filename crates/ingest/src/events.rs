//! Typed internal events, in the style of Vector's `InternalEvent`: each
//! notable thing the listener does is a struct whose `emit` writes exactly
//! one log line and bumps exactly one metric. [`Metrics::render`] prints the
//! counters in the Prometheus text format for `/metrics`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters of the HJ 212 listener. Shared by all connections.
#[derive(Debug, Default)]
pub struct Metrics {
    pub connections_opened: AtomicU64,
    pub connections_closed: AtomicU64,
    pub connections_refused: AtomicU64,
    pub idle_timeouts: AtomicU64,
    pub frames_received: AtomicU64,
    pub frames_rejected_crc: AtomicU64,
    pub frames_rejected_parse: AtomicU64,
    pub frames_quarantined: AtomicU64,
    pub auth_failures: AtomicU64,
    pub uploads_stored: AtomicU64,
    pub uploads_duplicate: AtomicU64,
    pub values_stored: AtomicU64,
    pub acks_sent: AtomicU64,
    pub batches_committed: AtomicU64,
    pub batch_failures: AtomicU64,
    /// Frames a gateway published and JetStream confirmed (PubAck).
    pub jetstream_published: AtomicU64,
    /// Frames a gateway could not publish (no PubAck: the logger resends).
    pub jetstream_publish_failures: AtomicU64,
    pub rollups_computed: AtomicU64,
    pub time_syncs_sent: AtomicU64,
    pub connections_refused_per_addr: AtomicU64,
    pub auth_timeouts: AtomicU64,
    pub garbage_disconnects: AtomicU64,
    pub unauthenticated_frames: AtomicU64,
    pub unauthenticated_not_archived: AtomicU64,
    pub auth_lockouts: AtomicU64,
    pub auth_refused_locked: AtomicU64,
    /// Per-address counts of unauthenticated frames this hour (set by the service).
    pub(crate) unauth_sampler: std::sync::OnceLock<std::sync::Arc<crate::guard::UnauthSampler>>,
    /// Frame received → ack written, cumulative histogram buckets (ms).
    pub ack_latency: Histogram,
    /// Per-frame and per-connection warnings are rate-limited: a swarm of
    /// misconfigured loggers must not turn the log into the bottleneck.
    pub warn_budget: WarnBudget,
}

/// How many warnings of one kind are written per second; the rest are
/// counted and reported in one line when the next second opens.
pub const WARNINGS_PER_SECOND: u32 = 10;

/// The kinds of rate-limited warning, one budget each.
#[derive(Debug, Clone, Copy)]
pub enum WarnKind {
    ConnectionRefused,
    ConnectionRefusedPerAddr,
    FrameQuarantined,
    AuthFailed,
    GarbageDisconnect,
}

const WARN_KINDS: usize = 5;

#[derive(Debug, Default)]
pub struct WarnBudget {
    slots: [WarnSlot; WARN_KINDS],
}

#[derive(Debug, Default)]
struct WarnSlot {
    /// The second (monotonic, since the budget's first use) and the count
    /// within it, packed as `second << 32 | count` so one CAS updates both.
    window: AtomicU64,
    suppressed: AtomicU64,
}

fn monotonic_secs() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs()
}

impl WarnBudget {
    /// Whether a warning of `kind` may be written at second `now`. When a
    /// new second opens after suppression, the number suppressed is
    /// returned so the caller can say so once.
    pub fn admit_at(&self, kind: WarnKind, now: u64) -> (bool, u64) {
        let slot = &self.slots[kind as usize];
        let mut cur = slot.window.load(Ordering::Relaxed);
        loop {
            let (second, count) = (cur >> 32, cur & 0xffff_ffff);
            let (next, admitted, opened) = if second != now {
                ((now << 32) | 1, true, true)
            } else if count < WARNINGS_PER_SECOND as u64 {
                (cur + 1, true, false)
            } else {
                (cur, false, false)
            };
            if next == cur {
                slot.suppressed.fetch_add(1, Ordering::Relaxed);
                return (false, 0);
            }
            match slot
                .window
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    let dropped = if opened {
                        slot.suppressed.swap(0, Ordering::Relaxed)
                    } else {
                        0
                    };
                    return (admitted, dropped);
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// [`WarnBudget::admit_at`] now; logs the suppressed count itself.
    fn admit(&self, kind: WarnKind) -> bool {
        let (admitted, dropped) = self.admit_at(kind, monotonic_secs());
        if dropped > 0 {
            tracing::warn!(kind = ?kind, suppressed = dropped, "hj212 warnings suppressed (more than {WARNINGS_PER_SECOND} a second)");
        }
        admitted
    }
}

/// Upper bounds (ms) of the ack-latency histogram.
pub const LATENCY_BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let ms = d.as_secs_f64() * 1000.0;
        for (i, b) in LATENCY_BUCKETS_MS.iter().enumerate() {
            if ms <= *b as f64 {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Smallest bucket bound (ms) below which at least `q` of observations fall.
    pub fn quantile_bound_ms(&self, q: f64) -> Option<u64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let want = (q * n as f64).ceil() as u64;
        LATENCY_BUCKETS_MS
            .iter()
            .zip(&self.buckets)
            .find(|(_, c)| c.load(Ordering::Relaxed) >= want)
            .map(|(b, _)| *b)
    }
}

fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters: [(&str, &str, &AtomicU64); 26] = [
            (
                "connections_opened_total",
                "HJ 212 connections accepted.",
                &self.connections_opened,
            ),
            (
                "connections_closed_total",
                "HJ 212 connections closed.",
                &self.connections_closed,
            ),
            (
                "connections_refused_total",
                "Connections refused at the connection limit.",
                &self.connections_refused,
            ),
            (
                "idle_timeouts_total",
                "Connections closed after the idle timeout.",
                &self.idle_timeouts,
            ),
            (
                "frames_received_total",
                "Frames decoded.",
                &self.frames_received,
            ),
            (
                "frames_rejected_crc_total",
                "Frames rejected for a bad CRC.",
                &self.frames_rejected_crc,
            ),
            (
                "frames_rejected_parse_total",
                "Frames rejected for framing or syntax.",
                &self.frames_rejected_parse,
            ),
            (
                "frames_quarantined_total",
                "Frames quarantined (unknown MN, wrong PW).",
                &self.frames_quarantined,
            ),
            (
                "auth_failures_total",
                "Frames with a wrong password.",
                &self.auth_failures,
            ),
            (
                "uploads_stored_total",
                "Data uploads committed.",
                &self.uploads_stored,
            ),
            (
                "uploads_duplicate_total",
                "Retransmitted uploads recognised.",
                &self.uploads_duplicate,
            ),
            (
                "values_stored_total",
                "Values written to series.",
                &self.values_stored,
            ),
            (
                "acks_sent_total",
                "Answers sent (9011/9012/9013/9014).",
                &self.acks_sent,
            ),
            (
                "batches_committed_total",
                "Writer transactions committed.",
                &self.batches_committed,
            ),
            (
                "batch_failures_total",
                "Writer transactions that failed.",
                &self.batch_failures,
            ),
            (
                "jetstream_published_total",
                "Frames published to JetStream and confirmed (gateway).",
                &self.jetstream_published,
            ),
            (
                "jetstream_publish_failures_total",
                "Frames whose JetStream publish was not confirmed (gateway; not acknowledged).",
                &self.jetstream_publish_failures,
            ),
            (
                "rollups_computed_total",
                "Hour/day rollups computed.",
                &self.rollups_computed,
            ),
            (
                "time_syncs_sent_total",
                "Time-sync (1012) commands sent.",
                &self.time_syncs_sent,
            ),
            (
                "connections_refused_per_addr_total",
                "Connections refused at the per-address limit.",
                &self.connections_refused_per_addr,
            ),
            (
                "auth_timeouts_total",
                "Connections closed for sending no valid frame of a registered device in time.",
                &self.auth_timeouts,
            ),
            (
                "garbage_disconnects_total",
                "Connections closed after repeated bad frames or garbage bytes.",
                &self.garbage_disconnects,
            ),
            (
                "unauthenticated_frames_total",
                "Frames that failed before a device was authenticated.",
                &self.unauthenticated_frames,
            ),
            (
                "unauthenticated_not_archived_total",
                "Unauthenticated frames counted but not archived (sample cap reached).",
                &self.unauthenticated_not_archived,
            ),
            (
                "auth_lockouts_total",
                "Lockouts of an MN or a peer address after repeated wrong passwords.",
                &self.auth_lockouts,
            ),
            (
                "auth_refused_locked_total",
                "Frames refused because their MN or peer address is locked out.",
                &self.auth_refused_locked,
            ),
        ];
        for (name, help, c) in counters {
            out.push_str(&format!(
                "# HELP gongjian_hj212_{name} {help}\n# TYPE gongjian_hj212_{name} counter\ngongjian_hj212_{name} {}\n",
                c.load(Ordering::Relaxed)
            ));
        }
        if let Some(sampler) = self.unauth_sampler.get() {
            out.push_str("# HELP gongjian_hj212_unauthenticated_frames_hour Unauthenticated frames this hour, top peer addresses.\n");
            out.push_str("# TYPE gongjian_hj212_unauthenticated_frames_hour gauge\n");
            for (ip, n) in sampler.top(20) {
                out.push_str(&format!(
                    "gongjian_hj212_unauthenticated_frames_hour{{peer=\"{ip}\"}} {n}\n"
                ));
            }
        }
        out.push_str("# HELP gongjian_hj212_ack_latency_ms Frame received to answer written.\n");
        out.push_str("# TYPE gongjian_hj212_ack_latency_ms histogram\n");
        for (b, c) in LATENCY_BUCKETS_MS.iter().zip(&self.ack_latency.buckets) {
            out.push_str(&format!(
                "gongjian_hj212_ack_latency_ms_bucket{{le=\"{b}\"}} {}\n",
                c.load(Ordering::Relaxed)
            ));
        }
        let n = self.ack_latency.count();
        out.push_str(&format!(
            "gongjian_hj212_ack_latency_ms_bucket{{le=\"+Inf\"}} {n}\ngongjian_hj212_ack_latency_ms_sum {}\ngongjian_hj212_ack_latency_ms_count {n}\n",
            self.ack_latency.sum_us.load(Ordering::Relaxed) as f64 / 1000.0
        ));
        out
    }
}

/// An event that logs one line and bumps one metric.
pub trait InternalEvent {
    fn emit(self, m: &Metrics);
}

pub struct ConnectionOpened {
    pub peer: SocketAddr,
}
impl InternalEvent for ConnectionOpened {
    fn emit(self, m: &Metrics) {
        tracing::debug!(peer = %self.peer, "hj212 connection opened");
        inc(&m.connections_opened);
    }
}

pub struct ConnectionClosed {
    pub peer: SocketAddr,
    pub mn: Option<String>,
}
impl InternalEvent for ConnectionClosed {
    fn emit(self, m: &Metrics) {
        tracing::debug!(peer = %self.peer, mn = ?self.mn, "hj212 connection closed");
        inc(&m.connections_closed);
    }
}

pub struct ConnectionRefused {
    pub peer: SocketAddr,
    pub limit: usize,
}
impl InternalEvent for ConnectionRefused {
    fn emit(self, m: &Metrics) {
        if m.warn_budget.admit(WarnKind::ConnectionRefused) {
            tracing::warn!(peer = %self.peer, limit = self.limit, "hj212 connection refused: connection limit reached");
        }
        inc(&m.connections_refused);
    }
}

pub struct IdleTimeout {
    pub peer: SocketAddr,
    pub after: Duration,
}
impl InternalEvent for IdleTimeout {
    fn emit(self, m: &Metrics) {
        tracing::info!(peer = %self.peer, secs = self.after.as_secs(), "hj212 connection idle; closed");
        inc(&m.idle_timeouts);
    }
}

pub struct FrameReceived<'a> {
    pub peer: SocketAddr,
    pub mn: Option<&'a str>,
    pub cn: Option<&'a str>,
}
impl InternalEvent for FrameReceived<'_> {
    fn emit(self, m: &Metrics) {
        tracing::trace!(peer = %self.peer, mn = ?self.mn, cn = ?self.cn, "hj212 frame");
        inc(&m.frames_received);
    }
}

pub struct FrameRejected<'a> {
    pub peer: SocketAddr,
    pub mn: Option<&'a str>,
    pub crc: bool,
    pub error: &'a str,
}
impl InternalEvent for FrameRejected<'_> {
    fn emit(self, m: &Metrics) {
        tracing::debug!(peer = %self.peer, mn = ?self.mn, error = self.error, "hj212 frame rejected");
        inc(if self.crc {
            &m.frames_rejected_crc
        } else {
            &m.frames_rejected_parse
        });
    }
}

pub struct FrameQuarantined<'a> {
    pub peer: SocketAddr,
    pub mn: Option<&'a str>,
    pub reason: &'a str,
}
impl InternalEvent for FrameQuarantined<'_> {
    fn emit(self, m: &Metrics) {
        if m.warn_budget.admit(WarnKind::FrameQuarantined) {
            tracing::warn!(peer = %self.peer, mn = ?self.mn, reason = self.reason, "hj212 frame quarantined");
        }
        inc(&m.frames_quarantined);
    }
}

pub struct AuthFailed<'a> {
    pub peer: SocketAddr,
    pub mn: &'a str,
}
impl InternalEvent for AuthFailed<'_> {
    fn emit(self, m: &Metrics) {
        if m.warn_budget.admit(WarnKind::AuthFailed) {
            tracing::warn!(peer = %self.peer, mn = self.mn, "hj212 wrong password");
        }
        inc(&m.auth_failures);
    }
}

pub struct ConnectionRefusedPerAddr {
    pub peer: SocketAddr,
    pub limit: usize,
}
impl InternalEvent for ConnectionRefusedPerAddr {
    fn emit(self, m: &Metrics) {
        if m.warn_budget.admit(WarnKind::ConnectionRefusedPerAddr) {
            tracing::warn!(peer = %self.peer, limit = self.limit, "hj212 connection refused: per-address connection limit reached");
        }
        inc(&m.connections_refused_per_addr);
    }
}

pub struct AuthTimeout {
    pub peer: SocketAddr,
    pub after: Duration,
}
impl InternalEvent for AuthTimeout {
    fn emit(self, m: &Metrics) {
        tracing::info!(peer = %self.peer, secs = self.after.as_secs(), "hj212 connection sent no valid frame of a registered device in time; closed");
        inc(&m.auth_timeouts);
    }
}

pub struct GarbageDisconnect<'a> {
    pub peer: SocketAddr,
    pub why: &'a str,
}
impl InternalEvent for GarbageDisconnect<'_> {
    fn emit(self, m: &Metrics) {
        if m.warn_budget.admit(WarnKind::GarbageDisconnect) {
            tracing::warn!(peer = %self.peer, why = self.why, "hj212 connection closed after repeated garbage");
        }
        inc(&m.garbage_disconnects);
    }
}

pub struct UnauthenticatedFrame {
    pub peer: SocketAddr,
    pub archived: bool,
}
impl InternalEvent for UnauthenticatedFrame {
    fn emit(self, m: &Metrics) {
        tracing::trace!(peer = %self.peer, archived = self.archived, "hj212 unauthenticated frame");
        inc(&m.unauthenticated_frames);
        if !self.archived {
            inc(&m.unauthenticated_not_archived);
        }
    }
}

pub struct AuthLockedOut<'a> {
    pub peer: SocketAddr,
    pub subject: &'a str,
    pub failures: u32,
    pub duration: Duration,
}
impl InternalEvent for AuthLockedOut<'_> {
    fn emit(self, m: &Metrics) {
        tracing::warn!(
            peer = %self.peer,
            subject = self.subject,
            failures = self.failures,
            secs = self.duration.as_secs(),
            "hj212 device password guessing: locked out"
        );
        inc(&m.auth_lockouts);
    }
}

pub struct AuthRefusedLocked<'a> {
    pub peer: SocketAddr,
    pub mn: &'a str,
}
impl InternalEvent for AuthRefusedLocked<'_> {
    fn emit(self, m: &Metrics) {
        tracing::debug!(peer = %self.peer, mn = self.mn, "hj212 frame refused: MN or address locked out");
        inc(&m.auth_refused_locked);
    }
}

pub struct UploadCommitted {
    pub duplicate: bool,
    pub values: u64,
}
impl InternalEvent for UploadCommitted {
    fn emit(self, m: &Metrics) {
        tracing::trace!(
            duplicate = self.duplicate,
            values = self.values,
            "hj212 upload committed"
        );
        if self.duplicate {
            inc(&m.uploads_duplicate);
        } else {
            inc(&m.uploads_stored);
            m.values_stored.fetch_add(self.values, Ordering::Relaxed);
        }
    }
}

pub struct AnswerSent<'a> {
    pub mn: &'a str,
    pub cn: &'a str,
    pub latency: Duration,
}
impl InternalEvent for AnswerSent<'_> {
    fn emit(self, m: &Metrics) {
        tracing::trace!(
            mn = self.mn,
            cn = self.cn,
            us = self.latency.as_micros() as u64,
            "hj212 answer sent"
        );
        inc(&m.acks_sent);
        m.ack_latency.observe(self.latency);
    }
}

pub struct BatchCommitted {
    pub frames: usize,
    pub took: Duration,
}
impl InternalEvent for BatchCommitted {
    fn emit(self, m: &Metrics) {
        tracing::trace!(
            frames = self.frames,
            ms = self.took.as_millis() as u64,
            "hj212 batch committed"
        );
        inc(&m.batches_committed);
    }
}

pub struct BatchFailed<'a> {
    pub frames: usize,
    pub error: &'a str,
}
impl InternalEvent for BatchFailed<'_> {
    fn emit(self, m: &Metrics) {
        tracing::error!(
            frames = self.frames,
            error = self.error,
            "hj212 batch failed; frames not acknowledged"
        );
        inc(&m.batch_failures);
    }
}

pub struct JetStreamPublished {
    pub frames: usize,
    pub took: Duration,
}
impl InternalEvent for JetStreamPublished {
    fn emit(self, m: &Metrics) {
        tracing::trace!(
            frames = self.frames,
            ms = self.took.as_millis() as u64,
            "hj212 frames published to JetStream"
        );
        m.jetstream_published
            .fetch_add(self.frames as u64, Ordering::Relaxed);
    }
}

pub struct JetStreamPublishFailed<'a> {
    pub frames: usize,
    pub error: &'a str,
}
impl InternalEvent for JetStreamPublishFailed<'_> {
    fn emit(self, m: &Metrics) {
        tracing::error!(
            frames = self.frames,
            error = self.error,
            "hj212 JetStream publish failed; frames not acknowledged"
        );
        m.jetstream_publish_failures
            .fetch_add(self.frames as u64, Ordering::Relaxed);
    }
}

pub struct RollupsComputed {
    pub count: usize,
}
impl InternalEvent for RollupsComputed {
    fn emit(self, m: &Metrics) {
        tracing::debug!(count = self.count, "hj212 rollups computed");
        m.rollups_computed
            .fetch_add(self.count as u64, Ordering::Relaxed);
    }
}

pub struct TimeSyncSent<'a> {
    pub mn: &'a str,
}
impl InternalEvent for TimeSyncSent<'_> {
    fn emit(self, m: &Metrics) {
        tracing::info!(mn = self.mn, "hj212 time sync sent");
        inc(&m.time_syncs_sent);
    }
}

static GLOBAL: std::sync::RwLock<Option<std::sync::Arc<Metrics>>> = std::sync::RwLock::new(None);

/// Make these counters the ones [`render_global`] prints (the running
/// listener's; `serve` registers it at start).
pub fn register_global(metrics: std::sync::Arc<Metrics>) {
    if let Ok(mut g) = GLOBAL.write() {
        *g = Some(metrics);
    }
}

/// The registered listener's counters in Prometheus text, or nothing.
pub fn render_global() -> String {
    GLOBAL
        .read()
        .ok()
        .and_then(|g| g.as_ref().map(|m| m.render()))
        .unwrap_or_default()
}

/// Count rollups computed (by the rollup job) on the registered listener's
/// counters; nothing when no listener runs.
pub fn record_rollups(count: usize) {
    if let Some(m) = GLOBAL.read().ok().and_then(|g| g.clone()) {
        RollupsComputed { count }.emit(&m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_limited_per_second_and_the_suppressed_are_counted() {
        let budget = WarnBudget::default();
        let admitted = (0..25)
            .filter(|_| budget.admit_at(WarnKind::AuthFailed, 7).0)
            .count();
        assert_eq!(admitted, WARNINGS_PER_SECOND as usize);
        // Another kind has its own budget.
        assert!(budget.admit_at(WarnKind::FrameQuarantined, 7).0);
        // The next second admits again and reports the 15 dropped once.
        assert_eq!(budget.admit_at(WarnKind::AuthFailed, 8), (true, 15));
        assert_eq!(budget.admit_at(WarnKind::AuthFailed, 8), (true, 0));
    }
}
