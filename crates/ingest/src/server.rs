//! The listener and the per-connection loop.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use gongjian_hj212::codec::CodecError;
use gongjian_hj212::codec::Hj212Codec;
use gongjian_hj212::{
    Charset, CrcPolicy, Downlink, FieldKind, FrameError, Message, Options, Packet, QnRtn, Rejected,
    Version, parse_frame,
};
use gongjian_storage::{
    Actor, AuditRecord, CounterDelta, Db, Device, Quarantined, RawFrame, SeriesValue, Upload,
    UploadOutcome,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder, Framed};
use tracing::Instrument;

use crate::IngestError;
use crate::events::*;
use crate::guard::{AddrSlots, AuthThrottle, Lockout, Subject, UnauthSampler};
use crate::time::{datatime_to_unix, qn_for_millis, unix_to_datatime};
use crate::writer::{self, Job};

/// Listener settings (from `[hj212]` in the configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_connections: usize,
    pub idle_timeout: Duration,
    /// Largest data segment accepted; also caps each connection's read buffer.
    pub max_data_len: usize,
    /// Most frames per writer transaction.
    pub max_batch: usize,
    /// How long shutdown waits for connections and the writer to finish.
    pub shutdown_deadline: Duration,
    /// How long a device lookup (found or not) is cached.
    pub device_cache_ttl: Duration,
    /// Concurrent connections from one IP address.
    pub max_connections_per_addr: usize,
    /// A connection that has sent no valid frame of a registered device (right
    /// MN and password) within this time is closed.
    pub auth_timeout: Duration,
    /// Bad frames in a row (garbage, bad CRC, unknown MN) before the connection is closed.
    pub max_bad_frames: u32,
    /// Garbage bytes without a valid frame before the connection is closed.
    pub max_garbage_bytes: u64,
    /// Frames failing before authentication archived per peer address and hour.
    pub unauth_raw_per_peer_hour: u32,
    /// Frames failing before authentication archived per hour, all peers.
    pub unauth_raw_per_hour: u32,
    /// Wrong passwords per MN and per address before a lockout.
    pub auth_max_failures: u32,
    /// First lockout; each further one doubles it.
    pub auth_lockout: Duration,
    /// Longest lockout.
    pub auth_lockout_max: Duration,
    /// Vendor item keys (`CODE-FIELD`, e.g. `100000-Pt`) stored as the
    /// factor they map to (`Pt`): `[hj212.field_map]`. Empty by default.
    pub field_map: Arc<HashMap<String, String>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: 5000,
            idle_timeout: Duration::from_secs(600),
            max_data_len: 4096,
            max_batch: 2048,
            shutdown_deadline: Duration::from_secs(5),
            device_cache_ttl: Duration::from_secs(10),
            max_connections_per_addr: 64,
            auth_timeout: Duration::from_secs(60),
            max_bad_frames: 5,
            max_garbage_bytes: 64 * 1024,
            unauth_raw_per_peer_hour: 100,
            unauth_raw_per_hour: 10_000,
            auth_max_failures: 5,
            auth_lockout: Duration::from_secs(900),
            auth_lockout_max: Duration::from_secs(86_400),
            field_map: Arc::default(),
        }
    }
}

/// A live connection's downlink: frames queued here are written to the
/// logger by its connection task.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    pub id: u64,
    pub peer: SocketAddr,
    pub tx: mpsc::Sender<Message>,
}

/// MN → the device's current connection (a new connection replaces the old).
#[derive(Debug, Clone, Default)]
pub struct ConnectionMap(Arc<Mutex<HashMap<String, ConnectionHandle>>>);

impl ConnectionMap {
    pub fn get(&self, mn: &str) -> Option<ConnectionHandle> {
        self.0.lock().ok()?.get(mn).cloned()
    }

    pub fn online(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Queue a downlink frame for a connected device. False when offline.
    pub fn send(&self, mn: &str, msg: Message) -> bool {
        self.get(mn).is_some_and(|h| h.tx.try_send(msg).is_ok())
    }

    fn insert(&self, mn: &str, h: ConnectionHandle) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(mn.to_owned(), h);
        }
    }

    fn remove(&self, mn: &str, id: u64) {
        if let Ok(mut m) = self.0.lock()
            && m.get(mn).is_some_and(|h| h.id == id)
        {
            m.remove(mn);
        }
    }
}

#[derive(Debug)]
struct DeviceCache {
    db: Db,
    ttl: Duration,
    map: Mutex<HashMap<String, (Option<Device>, Instant)>>,
}

impl DeviceCache {
    async fn get(&self, mn: &str) -> Result<Option<Device>, IngestError> {
        if let Some((d, at)) = self.map.lock().ok().and_then(|m| m.get(mn).cloned())
            && at.elapsed() < self.ttl
        {
            return Ok(d);
        }
        let d = self.db.monitoring().device(mn).await?;
        if let Ok(mut m) = self.map.lock() {
            if m.len() > 100_000 {
                m.clear();
            }
            m.insert(mn.to_owned(), (d.clone(), Instant::now()));
        }
        Ok(d)
    }
}

struct Shared {
    db: Db,
    settings: Settings,
    metrics: Arc<Metrics>,
    devices: DeviceCache,
    connections: ConnectionMap,
    writer: mpsc::Sender<Job>,
    next_id: std::sync::atomic::AtomicU64,
    addr_slots: Arc<AddrSlots>,
    sampler: Arc<UnauthSampler>,
    throttle: AuthThrottle,
}

/// Where the listener's writes go.
pub enum Sink {
    /// The batching database writer (`gongjian serve`): commit, then answer.
    Database,
    /// A NATS JetStream stream (`gongjian gateway`): publish, then answer on
    /// the PubAck; the writers of `gongjian serve --ingest nats` commit.
    JetStream {
        context: Box<async_nats::jetstream::Context>,
        subject_prefix: String,
    },
}

/// The HJ 212 ingestion service.
pub struct Service {
    shared: Arc<Shared>,
    writer_rx: mpsc::Receiver<Job>,
    sink: Sink,
}

impl Service {
    /// The listener writing to the database `db`.
    pub fn new(db: Db, settings: Settings) -> Service {
        Service::with_sink(db, settings, Sink::Database)
    }

    /// The listener writing to `sink`; `db` is read for devices (cached for
    /// `device_cache_ttl`) and written only for the audit entries of
    /// password-guessing lockouts.
    pub fn with_sink(db: Db, settings: Settings, sink: Sink) -> Service {
        let (tx, rx) = mpsc::channel(settings.max_batch.max(16) * 4);
        let metrics = Arc::new(Metrics::default());
        let sampler = Arc::new(UnauthSampler::new(
            settings.unauth_raw_per_peer_hour,
            settings.unauth_raw_per_hour,
        ));
        let _ = metrics.unauth_sampler.set(sampler.clone());
        let shared = Arc::new(Shared {
            addr_slots: AddrSlots::new(settings.max_connections_per_addr),
            sampler,
            throttle: AuthThrottle::new(
                settings.auth_max_failures,
                settings.auth_lockout,
                settings.auth_lockout_max,
            ),
            devices: DeviceCache {
                db: db.clone(),
                ttl: settings.device_cache_ttl,
                map: Mutex::new(HashMap::new()),
            },
            db,
            settings,
            metrics,
            connections: ConnectionMap::default(),
            writer: tx,
            next_id: 0.into(),
        });
        Service {
            shared,
            writer_rx: rx,
            sink,
        }
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    pub fn connections(&self) -> ConnectionMap {
        self.shared.connections.clone()
    }

    /// Accept loggers on `listener` until `shutdown` resolves; then stop
    /// accepting, close connections, and let the writer commit what it has
    /// (within the shutdown deadline).
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), IngestError> {
        let Service {
            shared,
            writer_rx,
            sink,
        } = self;
        let writer = match sink {
            Sink::Database => tokio::spawn(writer::run(
                shared.db.clone(),
                writer_rx,
                shared.settings.max_batch,
                shared.metrics.clone(),
            )),
            Sink::JetStream {
                context,
                subject_prefix,
            } => tokio::spawn(crate::jetstream::publish(
                *context,
                subject_prefix,
                writer_rx,
                shared.settings.max_batch,
                shared.metrics.clone(),
            )),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let limit = Arc::new(Semaphore::new(shared.settings.max_connections));
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => {
                    let (socket, peer) = match accepted {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::warn!(error = %e, "hj212 accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        ConnectionRefused { peer, limit: shared.settings.max_connections }
                            .emit(&shared.metrics);
                        drop(socket);
                        continue;
                    };
                    let Some(slot) = shared.addr_slots.try_take(peer.ip()) else {
                        ConnectionRefusedPerAddr {
                            peer,
                            limit: shared.settings.max_connections_per_addr,
                        }
                        .emit(&shared.metrics);
                        drop(socket);
                        continue;
                    };
                    let _ = socket.set_nodelay(true);
                    let shared = shared.clone();
                    let stop = stop_rx.clone();
                    let done = done_tx.clone();
                    // One span per connection: every line logged while it
                    // is served carries the peer, and the MN once known.
                    let span = tracing::info_span!("hj212_connection", %peer, mn = tracing::field::Empty);
                    tokio::spawn(async move {
                        ConnectionOpened { peer }.emit(&shared.metrics);
                        let mn = connection(shared.clone(), socket, peer, stop).await;
                        ConnectionClosed { peer, mn }.emit(&shared.metrics);
                        drop(slot);
                        drop(permit);
                        drop(done);
                    }.instrument(span));
                }
            }
        }
        drop(listener);
        let _ = stop_tx.send(true);
        drop(done_tx);
        let deadline = shared.settings.shutdown_deadline;
        if tokio::time::timeout(deadline, done_rx.recv())
            .await
            .is_err()
        {
            tracing::warn!("hj212: connections still open at the shutdown deadline");
        }
        // The writer ends when every sender is gone: ours (in `shared`) and
        // the connections'.
        drop(shared);
        if tokio::time::timeout(deadline, writer).await.is_err() {
            tracing::warn!("hj212: writer did not finish before the shutdown deadline");
        }
        Ok(())
    }
}

fn decoder_options(max_data_len: usize, device: Option<&Device>) -> Options {
    Options {
        max_data_len,
        crc: match device {
            Some(d) if d.accept_modbus_crc => CrcPolicy::AcceptModbus,
            _ => CrcPolicy::Strict,
        },
        charset: match device.map(|d| d.charset.as_str()) {
            Some("gbk") => Charset::Gbk,
            Some("utf-8") => Charset::Utf8,
            _ => Charset::Auto,
        },
        lenient_length: false,
    }
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    peer_text: String,
    id: u64,
    downlink_tx: mpsc::Sender<Message>,
    /// MNs identified on this connection (a DTU may multiplex several).
    mns: Vec<String>,
}

/// What one frame proved about its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// A valid frame of a registered device with its password: the connection
    /// is authenticated and its idle timer starts over.
    Valid,
    /// A registered device with its password, but the frame was not valid
    /// (quarantined for a bad value, bad upload): authenticated, idle timer kept.
    Authenticated,
    /// Garbage, bad CRC, unknown or missing MN: counts toward `max_bad_frames`.
    Bad,
    /// Wrong password or lockout: refused, handled by the throttle.
    Refused,
    /// Nothing to conclude (a storage error).
    Neutral,
}

/// The HJ 212 codec with a bound on the garbage bytes it drops between two
/// valid frames: past it, decoding fails and the connection ends.
struct GuardedCodec {
    inner: Hj212Codec,
    mark: u64,
    max_garbage: u64,
    over: bool,
}

impl GuardedCodec {
    fn garbage(&self) -> u64 {
        self.inner.decoder().stats().garbage_bytes
    }

    /// A valid frame arrived: garbage is counted afresh from here.
    fn mark_valid(&mut self) {
        self.mark = self.garbage();
    }

    fn check(&mut self) -> Result<(), CodecError> {
        if self.garbage().saturating_sub(self.mark) > self.max_garbage {
            self.over = true;
            return Err(CodecError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "too many garbage bytes without a valid frame",
            )));
        }
        Ok(())
    }
}

impl Decoder for GuardedCodec {
    type Item = gongjian_hj212::Decoded;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        let d = self.inner.decode(src)?;
        self.check()?;
        Ok(d)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        let d = self.inner.decode_eof(src)?;
        self.check()?;
        Ok(d)
    }
}

impl Encoder<Message> for GuardedCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Message, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.inner.encode(item, dst)
    }
}

type Link = Framed<TcpStream, GuardedCodec>;

/// Serve one logger connection; returns the last MN seen.
async fn connection(
    shared: Arc<Shared>,
    socket: TcpStream,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) -> Option<String> {
    let opts = decoder_options(shared.settings.max_data_len, None);
    let codec = GuardedCodec {
        inner: Hj212Codec::new(opts),
        mark: 0,
        max_garbage: shared.settings.max_garbage_bytes,
        over: false,
    };
    let mut framed = Framed::new(socket, codec);
    let (downlink_tx, mut downlink_rx) = mpsc::channel::<Message>(16);
    let id = shared
        .next_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let idle = shared.settings.idle_timeout;
    let auth_timeout = shared.settings.auth_timeout;
    let max_bad = shared.settings.max_bad_frames.max(1);
    let mut conn = Conn {
        shared,
        peer,
        peer_text: peer.to_string(),
        id,
        downlink_tx,
        mns: Vec::new(),
    };
    let opened = tokio::time::Instant::now();
    let auth_deadline = opened + auth_timeout;
    let mut authenticated = false;
    // Only valid frames move this: rejected fragments never keep a slot.
    let mut last_valid = opened;
    let mut bad_in_row = 0u32;
    loop {
        let idle_deadline = last_valid + idle;
        let deadline = if authenticated {
            idle_deadline
        } else {
            idle_deadline.min(auth_deadline)
        };
        tokio::select! {
            _ = stop.changed() => break,
            Some(msg) = downlink_rx.recv() => {
                if framed.send(msg).await.is_err() {
                    break;
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                if authenticated || idle_deadline < auth_deadline {
                    IdleTimeout { peer, after: idle }.emit(&conn.shared.metrics);
                } else {
                    AuthTimeout { peer, after: auth_timeout }.emit(&conn.shared.metrics);
                }
                break;
            }
            next = framed.next() => {
                let decoded = match next {
                    None => break,
                    Some(Err(e)) => {
                        if framed.codec().over {
                            GarbageDisconnect { peer, why: "garbage bytes" }
                                .emit(&conn.shared.metrics);
                        } else {
                            tracing::debug!(peer = %peer, error = %e, "hj212 read error");
                        }
                        break;
                    }
                    Some(Ok(d)) => d,
                };
                let received = Instant::now();
                let (verdict, answers) = conn.handle(decoded, &mut framed).await;
                for a in answers {
                    let cn = a.cn.clone();
                    if framed.send(a.clone()).await.is_err() {
                        break;
                    }
                    AnswerSent { mn: &a.mn, cn: &cn, latency: received.elapsed() }
                        .emit(&conn.shared.metrics);
                }
                match verdict {
                    Verdict::Valid => {
                        authenticated = true;
                        last_valid = tokio::time::Instant::now();
                        bad_in_row = 0;
                        framed.codec_mut().mark_valid();
                    }
                    Verdict::Authenticated => authenticated = true,
                    Verdict::Bad => {
                        bad_in_row += 1;
                        if bad_in_row >= max_bad {
                            GarbageDisconnect { peer, why: "bad frames" }
                                .emit(&conn.shared.metrics);
                            break;
                        }
                    }
                    Verdict::Refused | Verdict::Neutral => {}
                }
            }
        }
    }
    for mn in &conn.mns {
        conn.shared.connections.remove(mn, conn.id);
        conn.queue(connection_state(mn, false)).await;
    }
    conn.mns.last().cloned()
}

/// A device's connection opened or closed: written by the writer with the
/// next batch, like every other write of the listener (not around it).
fn connection_state(mn: &str, connected: bool) -> Job {
    let at = Some(gongjian_storage::now());
    let delta = if connected {
        CounterDelta {
            connected_at: at,
            ..CounterDelta::default()
        }
    } else {
        CounterDelta {
            disconnected_at: at,
            ..CounterDelta::default()
        }
    };
    Job {
        counter: Some((mn.to_owned(), delta)),
        ..Job::default()
    }
}

/// Data uploads that are stored, and the series kind of each.
fn series_kind(cn: &str) -> Option<&'static str> {
    match cn {
        "2011" => Some("rtd"),
        "2051" => Some("min"),
        "2061" => Some("hour"),
        "2031" => Some("day"),
        _ => None,
    }
}

/// Uploads and notices that want a 9014 data ack when A=1.
fn is_upload(cn: &str) -> bool {
    matches!(
        cn,
        "2011" | "2021" | "2031" | "2041" | "2051" | "2061" | "2081" | "3015" | "3019" | "3020"
    ) || cn.starts_with("20")
        || cn.starts_with("30")
        || cn == "9015"
        || cn == "9021"
}

/// The values of an upload: each factor's `Rtd`/`Avg` and converted
/// `ZsRtd`/`ZsAvg`, and each vendor item `field_map` names (`100000-Pt` →
/// `Pt`) as a value of the factor it maps to.
fn values_of(
    packet: &Packet,
    kind: &'static str,
    period_start: i64,
    field_map: &HashMap<String, String>,
) -> Vec<SeriesValue> {
    let mut out: Vec<SeriesValue> = Vec::new();
    for item in packet.items() {
        let (is_value, is_converted, code) = match item.kind() {
            FieldKind::Rtd | FieldKind::Avg => (true, false, item.code),
            FieldKind::ZsRtd | FieldKind::ZsAvg => (false, true, item.code),
            // Looked up only for fields HJ 212 does not define: a standard
            // frame costs nothing.
            FieldKind::Other if !field_map.is_empty() => {
                match field_map.get(&format!("{}-{}", item.code, item.field)) {
                    Some(factor) => (true, false, factor.as_str()),
                    None => continue,
                }
            }
            _ => continue,
        };
        let v = item.value.trim();
        let v = (!v.is_empty()).then(|| v.to_owned());
        let flag = item
            .flag
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .unwrap_or("N");
        let slot = match out.iter_mut().find(|s| s.factor == code) {
            Some(s) => s,
            None => {
                out.push(SeriesValue {
                    factor: code.to_owned(),
                    kind,
                    period_start,
                    value: None,
                    converted: None,
                    flag: flag.to_owned(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        if is_value && slot.value.is_none() {
            slot.value = v;
        } else if is_converted && slot.converted.is_none() {
            slot.converted = v;
        }
    }
    out
}

/// How an authenticated frame that broke the protocol is quarantined: the
/// field it broke, in Chinese for the office ("a21026-Flag 取值非法").
fn invalid_value_reason(rejected: &Rejected) -> Option<String> {
    let mut reason = None;
    for e in rejected.errors() {
        match e {
            FrameError::InvalidValue { key, .. } => {
                let named = key.rsplit_once('-').is_some_and(|(code, field)| {
                    gongjian_hj212::validate::is_factor_code(code)
                        && !field.is_empty()
                        && field.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
                });
                reason.get_or_insert_with(|| {
                    if named {
                        format!("{key} 取值非法")
                    } else {
                        "因子编码非法".to_owned()
                    }
                });
            }
            FrameError::InvalidField { field, .. } if !matches!(*field, "MN" | "PW") => {
                reason.get_or_insert_with(|| format!("{field} 取值非法"));
            }
            // Anything else (CRC, framing, an invalid MN or PW) means the sender
            // cannot be authenticated from this frame.
            _ => return None,
        }
    }
    reason
}

impl Conn {
    fn raw(
        &self,
        frame: &[u8],
        mn: Option<&str>,
        cn: Option<&str>,
        outcome: &'static str,
        error: Option<String>,
    ) -> RawFrame {
        RawFrame {
            peer: self.peer_text.clone(),
            mn: mn.map(str::to_owned),
            cn: cn.map(str::to_owned),
            frame: frame.to_vec(),
            outcome,
            error,
        }
    }

    /// Queue writes; wait for the commit when `wait`. None on a failed commit.
    /// Hand a job to the writer without waiting for its commit; waits only
    /// while the writer's queue is full.
    async fn queue(&self, job: Job) {
        let _ = self.shared.writer.send(job).await;
    }

    async fn write(&self, mut job: Job, wait: bool) -> Option<Option<UploadOutcome>> {
        if !wait {
            // Best effort: never block a connection on an overloaded writer for
            // frames that get no answer anyway.
            let _ = self.shared.writer.try_send(job);
            return Some(None);
        }
        let (tx, rx) = oneshot::channel();
        job.done = Some(tx);
        self.shared.writer.send(job).await.ok()?;
        rx.await.ok()?.ok()
    }

    /// Count a frame that failed before authentication; true when it may be
    /// archived (the per-peer and global hourly sample caps).
    fn admit_unauthenticated(&self) -> bool {
        let hour = gongjian_storage::now().div_euclid(3600);
        let archived = self.shared.sampler.admit(self.peer.ip(), hour);
        UnauthenticatedFrame {
            peer: self.peer,
            archived,
        }
        .emit(&self.shared.metrics);
        archived
    }

    async fn handle(
        &mut self,
        decoded: gongjian_hj212::Decoded,
        framed: &mut Link,
    ) -> (Verdict, Vec<Message>) {
        let decoded = match decoded {
            Err(rejected) => self.retry_with_device_options(rejected).await,
            ok => ok,
        };
        let packet = match decoded {
            Ok(p) => p,
            Err(rejected) => {
                if let Some(reason) = invalid_value_reason(&rejected)
                    && let Some(partial) = rejected.partial()
                {
                    return self.invalid_values(partial, reason).await;
                }
                self.rejected(&rejected).await;
                return (Verdict::Bad, Vec::new());
            }
        };
        let m = &self.shared.metrics;
        FrameReceived {
            peer: self.peer,
            mn: packet.mn(),
            cn: packet.cn(),
        }
        .emit(m);
        let device = match self.authenticate(&packet).await {
            Ok(d) => d,
            Err(refusal) => return refusal,
        };
        let raw_bytes = packet.raw().to_vec();
        let cn = packet.cn().unwrap_or("").to_owned();
        let mn = device.mn.clone();
        let mut answers = Vec::new();
        if !self.mns.contains(&mn) {
            if self.mns.is_empty() {
                tracing::Span::current().record("mn", mn.as_str());
            }
            self.mns.push(mn.clone());
            self.shared.connections.insert(
                &mn,
                ConnectionHandle {
                    id: self.id,
                    peer: self.peer,
                    tx: self.downlink_tx.clone(),
                },
            );
            self.queue(connection_state(&mn, true)).await;
            let opts = decoder_options(self.shared.settings.max_data_len, Some(&device));
            let decoder = framed.codec_mut().inner.decoder_mut();
            if decoder.options() != &opts {
                decoder.set_options(opts);
            }
            if device.time_sync_on_connect {
                answers.push(time_sync(&device));
                TimeSyncSent { mn: &mn }.emit(m);
            }
        }
        let counter = CounterDelta {
            frames: 1,
            last_frame_at: Some(gongjian_storage::now()),
            last_peer: Some(self.peer_text.clone()),
            ..CounterDelta::default()
        };
        // Data uploads: stored, then acknowledged.
        if let Some(kind) = series_kind(&cn) {
            let Some(datatime) = packet.datatime().map(str::to_owned) else {
                self.bad_upload(&raw_bytes, &mn, &cn, "DataTime missing")
                    .await;
                return (Verdict::Authenticated, answers);
            };
            let Some(start) = datatime_to_unix(&datatime) else {
                let shown: String = datatime.chars().take(32).collect();
                self.bad_upload(
                    &raw_bytes,
                    &mn,
                    &cn,
                    &format!("DataTime {shown:?} is not YYYYMMDDhhmmss"),
                )
                .await;
                return (Verdict::Authenticated, answers);
            };
            let upload = Upload {
                mn: mn.clone(),
                cn: cn.clone(),
                datatime,
                pno: packet.pno().map(i64::from).unwrap_or(0),
                site_id: device.site_id,
                values: values_of(&packet, kind, start, &self.shared.settings.field_map),
            };
            let job = Job {
                upload: Some(upload),
                raw: Some(self.raw(&raw_bytes, Some(&mn), Some(&cn), "ok", None)),
                counter: Some((mn.clone(), counter)),
                ..Job::default()
            };
            // Not committed: no ack, the logger resends.
            if self.write(job, true).await.is_some() && packet.ack_requested() {
                answers.push(packet.data_ack_with(ack_style(&device)));
            }
            return (Verdict::Valid, answers);
        }
        // Everything else is archived; answers are sent after the commit.
        let wants_answer = packet.ack_requested() || cn == "1013";
        let job = Job {
            raw: Some(self.raw(&raw_bytes, Some(&mn), Some(&cn), "other", None)),
            counter: Some((mn.clone(), counter)),
            ..Job::default()
        };
        if self.write(job, wants_answer).await.is_none() {
            return (Verdict::Valid, answers);
        }
        match cn.as_str() {
            // Time-calibration request: answer, then set the clock.
            "1013" => {
                answers.push(packet.notice_ack_with(ack_style(&device)));
                answers.push(time_sync(&device));
                TimeSyncSent { mn: &mn }.emit(m);
            }
            // Answers to our own requests need no answer.
            "9011" | "9012" | "9013" | "9014" => {}
            _ if packet.ack_requested() && is_upload(&cn) => {
                answers.push(packet.data_ack_with(ack_style(&device)));
            }
            // A request the platform does not execute.
            _ if packet.ack_requested() => answers.push(packet.qn_rtn(QnRtn::Rejected)),
            _ => {}
        }
        (Verdict::Valid, answers)
    }

    /// The frame's device, if it is registered, its password is right and
    /// neither its MN nor this peer address is locked out. Otherwise the frame
    /// is quarantined (within the sample caps) and the refusal returned.
    async fn authenticate(&self, packet: &Packet) -> Result<Device, (Verdict, Vec<Message>)> {
        let raw = packet.raw();
        let cn = packet.cn().unwrap_or("");
        let Some(mn) = packet.mn() else {
            self.quarantine(raw, None, cn, "no_mn", false).await;
            return Err((Verdict::Bad, Vec::new()));
        };
        let device = match self.shared.devices.get(mn).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "hj212 device lookup failed");
                return Err((Verdict::Neutral, Vec::new()));
            }
        };
        let Some(device) = device else {
            self.quarantine(raw, Some(mn), cn, "unknown_mn", false)
                .await;
            return Err((Verdict::Bad, Vec::new()));
        };
        // A request with a wrong password (or while locked out) is refused as
        // the standard says; uploads get no answer.
        let refusal = || {
            if packet.ack_requested() && !is_upload(cn) {
                vec![packet.qn_rtn(QnRtn::PwError)]
            } else {
                Vec::new()
            }
        };
        let ip = self.peer.ip();
        let now = Instant::now();
        if self.shared.throttle.locked(mn, ip, now).is_some() {
            AuthRefusedLocked {
                peer: self.peer,
                mn,
            }
            .emit(&self.shared.metrics);
            self.quarantine(raw, Some(mn), cn, "locked", true).await;
            return Err((Verdict::Refused, refusal()));
        }
        if packet.pw().unwrap_or("") != device.pw {
            AuthFailed {
                peer: self.peer,
                mn,
            }
            .emit(&self.shared.metrics);
            self.quarantine(raw, Some(mn), cn, "wrong_pw", true).await;
            for lockout in self.shared.throttle.failure(mn, ip, now) {
                self.alarm_lockout(mn, &lockout).await;
            }
            return Err((Verdict::Refused, refusal()));
        }
        self.shared.throttle.success(mn, ip);
        Ok(device)
    }

    /// Password guessing: a warning line, a metric and an audit entry, so the
    /// office sees it in the audit log.
    async fn alarm_lockout(&self, mn: &str, lockout: &Lockout) {
        let subject = lockout.subject.to_string();
        AuthLockedOut {
            peer: self.peer,
            subject: &subject,
            failures: lockout.failures,
            duration: lockout.duration,
        }
        .emit(&self.shared.metrics);
        let (entity, entity_id) = match &lockout.subject {
            Subject::Mn(mn) => ("hj212_device", mn.clone()),
            Subject::Addr(ip) => ("hj212_peer", ip.to_string()),
        };
        let mut actor = Actor::system("hj212");
        actor.client_addr = self.peer_text.clone();
        let mut record = AuditRecord::new("hj212.auth_lockout", entity, entity_id);
        record.after = Some(serde_json::json!({
            "mn": mn,
            "peer": self.peer_text,
            "failures": lockout.failures,
            "locked_seconds": lockout.duration.as_secs(),
        }));
        if let Err(e) = self.shared.db.audit().record(&actor, record).await {
            tracing::error!(error = %e, "hj212 lockout could not be written to the audit log");
        }
    }

    /// A frame whose CRC and header are right but a value breaks the protocol
    /// (a flag that is not a data flag, text in a number…): quarantined naming
    /// the field when its device authenticates, treated as garbage otherwise.
    async fn invalid_values(&self, partial: &Packet, reason: String) -> (Verdict, Vec<Message>) {
        let device = match self.authenticate(partial).await {
            Ok(d) => d,
            Err(refusal) => return refusal,
        };
        let cn = partial.cn().unwrap_or("");
        FrameQuarantined {
            peer: self.peer,
            mn: Some(&device.mn),
            reason: &reason,
        }
        .emit(&self.shared.metrics);
        let raw = partial.raw();
        let job = Job {
            quarantine: Some(Quarantined {
                peer: self.peer_text.clone(),
                mn: Some(device.mn.clone()),
                cn: (!cn.is_empty()).then(|| cn.to_owned()),
                reason: reason.clone(),
                frame: raw.to_vec(),
            }),
            raw: Some(self.raw(raw, Some(&device.mn), Some(cn), "quarantined", Some(reason))),
            counter: Some((
                device.mn.clone(),
                CounterDelta {
                    frames: 1,
                    parse_errors: 1,
                    quarantined: 1,
                    ..CounterDelta::default()
                },
            )),
            ..Job::default()
        };
        self.write(job, false).await;
        (Verdict::Authenticated, Vec::new())
    }

    async fn bad_upload(&self, raw: &[u8], mn: &str, cn: &str, error: &str) {
        FrameRejected {
            peer: self.peer,
            mn: Some(mn),
            crc: false,
            error,
        }
        .emit(&self.shared.metrics);
        let job = Job {
            raw: Some(self.raw(raw, Some(mn), Some(cn), "rejected", Some(error.to_owned()))),
            counter: Some((
                mn.to_owned(),
                CounterDelta {
                    frames: 1,
                    parse_errors: 1,
                    ..CounterDelta::default()
                },
            )),
            ..Job::default()
        };
        self.write(job, false).await;
    }

    /// A frame rejected with the connection's options may be fine for its
    /// device (MODBUS CRC accepted for legacy loggers, GBK).
    /// The frame parsed again with its device's options when those could
    /// change the outcome; otherwise the rejection as it was.
    async fn retry_with_device_options(&self, rejected: Rejected) -> gongjian_hj212::Decoded {
        if !matches!(
            rejected.error(),
            FrameError::ModbusCrc { .. } | FrameError::Charset { .. }
        ) {
            return Err(rejected);
        }
        let Some(mn) = rejected.partial().and_then(Packet::mn) else {
            return Err(rejected);
        };
        let Ok(Some(device)) = self.shared.devices.get(mn).await else {
            return Err(rejected);
        };
        let opts = decoder_options(self.shared.settings.max_data_len, Some(&device));
        parse_frame(rejected.raw(), &opts)
    }

    /// A frame the codec refused, from a sender not authenticated by it:
    /// counted, and archived only within the sample caps.
    async fn rejected(&self, rejected: &Rejected) {
        let mn = rejected.partial().and_then(|p| p.mn()).map(str::to_owned);
        let cn = rejected.partial().and_then(|p| p.cn()).map(str::to_owned);
        let crc = matches!(
            rejected.error(),
            FrameError::CrcMismatch { .. }
                | FrameError::ModbusCrc { .. }
                | FrameError::BadCrcField(_)
        );
        let msg = rejected.message();
        FrameRejected {
            peer: self.peer,
            mn: mn.as_deref(),
            crc,
            error: &msg,
        }
        .emit(&self.shared.metrics);
        // Counters only for registered devices: garbage must not create rows
        // without bound.
        let known = match &mn {
            Some(mn) => matches!(self.shared.devices.get(mn).await, Ok(Some(_))),
            None => false,
        };
        let counter = mn.clone().filter(|_| known).map(|mn| {
            (
                mn,
                CounterDelta {
                    crc_errors: i64::from(crc),
                    parse_errors: i64::from(!crc),
                    ..CounterDelta::default()
                },
            )
        });
        let raw = self.admit_unauthenticated().then(|| {
            let mut raw = rejected.raw().to_vec();
            raw.truncate(16 * 1024);
            self.raw(&raw, mn.as_deref(), cn.as_deref(), "rejected", Some(msg))
        });
        if raw.is_none() && counter.is_none() {
            return;
        }
        let job = Job {
            raw,
            counter,
            ..Job::default()
        };
        self.write(job, false).await;
    }

    /// Quarantine a frame whose sender did not authenticate, within the sample
    /// caps; a wrong password still counts on the device's counters (`known`).
    async fn quarantine(
        &self,
        raw: &[u8],
        mn: Option<&str>,
        cn: &str,
        reason: &'static str,
        known: bool,
    ) {
        FrameQuarantined {
            peer: self.peer,
            mn,
            reason,
        }
        .emit(&self.shared.metrics);
        let counter = known.then(|| {
            (
                mn.unwrap_or("").to_owned(),
                CounterDelta {
                    frames: 1,
                    auth_failures: 1,
                    quarantined: 1,
                    ..CounterDelta::default()
                },
            )
        });
        let archived = self.admit_unauthenticated();
        if !archived && counter.is_none() {
            return;
        }
        let job = Job {
            quarantine: archived.then(|| Quarantined {
                peer: self.peer_text.clone(),
                mn: mn.map(str::to_owned),
                cn: (!cn.is_empty()).then(|| cn.to_owned()),
                reason: reason.to_owned(),
                frame: raw.to_vec(),
            }),
            raw: archived
                .then(|| self.raw(raw, mn, Some(cn), "quarantined", Some(reason.to_owned()))),
            counter,
            ..Job::default()
        };
        self.write(job, false).await;
    }
}

fn ack_style(device: &Device) -> gongjian_hj212::AckStyle {
    if device.protocol == "2005" {
        gongjian_hj212::AckStyle::QnInCp
    } else {
        gongjian_hj212::AckStyle::Standard
    }
}

fn device_version(device: &Device) -> Version {
    match device.protocol.as_str() {
        "2005" => Version::V2005,
        "2025" => Version::V2025,
        _ => Version::V2017,
    }
}

/// 1012 set-time request with the platform clock (Beijing time).
fn time_sync(device: &Device) -> Message {
    let ms = now_millis();
    let dl = Downlink::new(device_version(device), &device.st, &device.pw, &device.mn);
    let system_time = unix_to_datatime(ms.div_euclid(1000));
    dl.set_time(&qn_for_millis(ms), &system_time, None)
        .unwrap_or_else(|_| dl.request(&qn_for_millis(ms), "1012"))
}
