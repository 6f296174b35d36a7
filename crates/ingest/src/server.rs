//! The listener and the per-connection loop.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use gongjian_hj212::codec::Hj212Codec;
use gongjian_hj212::{
    Charset, CrcPolicy, Downlink, FieldKind, FrameError, Message, Options, Packet, QnRtn, Rejected,
    Version, parse_frame,
};
use gongjian_storage::{
    CounterDelta, Db, Device, Quarantined, RawFrame, SeriesValue, Upload, UploadOutcome,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio_util::codec::Framed;

use crate::IngestError;
use crate::events::*;
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
    /// Raw frames and quarantine older than this are deleted (0 = keep).
    pub raw_retention_days: u32,
    /// How often pending rollups are computed.
    pub rollup_interval: Duration,
    /// How long a device lookup (found or not) is cached.
    pub device_cache_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_connections: 5000,
            idle_timeout: Duration::from_secs(600),
            max_data_len: 4096,
            max_batch: 2048,
            shutdown_deadline: Duration::from_secs(5),
            raw_retention_days: 90,
            rollup_interval: Duration::from_secs(2),
            device_cache_ttl: Duration::from_secs(10),
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
        let d = self.db.device(mn).await?;
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
}

/// The HJ 212 ingestion service.
pub struct Service {
    shared: Arc<Shared>,
    writer_rx: mpsc::Receiver<Job>,
}

impl Service {
    pub fn new(db: Db, settings: Settings) -> Service {
        let (tx, rx) = mpsc::channel(settings.max_batch.max(16) * 4);
        let shared = Arc::new(Shared {
            devices: DeviceCache {
                db: db.clone(),
                ttl: settings.device_cache_ttl,
                map: Mutex::new(HashMap::new()),
            },
            db,
            settings,
            metrics: Arc::new(Metrics::default()),
            connections: ConnectionMap::default(),
            writer: tx,
            next_id: 0.into(),
        });
        Service {
            shared,
            writer_rx: rx,
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
        let Service { shared, writer_rx } = self;
        let writer = tokio::spawn(writer::run(
            shared.db.clone(),
            writer_rx,
            shared.settings.max_batch,
            shared.metrics.clone(),
        ));
        let (stop_tx, stop_rx) = watch::channel(false);
        let background = tokio::spawn(crate::rollup::background(
            shared.db.clone(),
            shared.settings.clone(),
            shared.metrics.clone(),
            stop_rx.clone(),
        ));
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
                    let _ = socket.set_nodelay(true);
                    let shared = shared.clone();
                    let stop = stop_rx.clone();
                    let done = done_tx.clone();
                    tokio::spawn(async move {
                        ConnectionOpened { peer }.emit(&shared.metrics);
                        let mn = connection(shared.clone(), socket, peer, stop).await;
                        ConnectionClosed { peer, mn }.emit(&shared.metrics);
                        drop(permit);
                        drop(done);
                    });
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
        background.abort();
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

/// Serve one logger connection; returns the last MN seen.
async fn connection(
    shared: Arc<Shared>,
    socket: TcpStream,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) -> Option<String> {
    let opts = decoder_options(shared.settings.max_data_len, None);
    let mut framed = Framed::new(socket, Hj212Codec::new(opts));
    let (downlink_tx, mut downlink_rx) = mpsc::channel::<Message>(16);
    let id = shared
        .next_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let idle = shared.settings.idle_timeout;
    let mut conn = Conn {
        shared,
        peer,
        peer_text: peer.to_string(),
        id,
        downlink_tx,
        mns: Vec::new(),
    };
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(msg) = downlink_rx.recv() => {
                if framed.send(msg).await.is_err() {
                    break;
                }
            }
            next = tokio::time::timeout(idle, framed.next()) => {
                let decoded = match next {
                    Err(_) => {
                        IdleTimeout { peer, after: idle }.emit(&conn.shared.metrics);
                        break;
                    }
                    Ok(None) => break,
                    Ok(Some(Err(e))) => {
                        tracing::debug!(peer = %peer, error = %e, "hj212 read error");
                        break;
                    }
                    Ok(Some(Ok(d))) => d,
                };
                let received = Instant::now();
                let answers = conn.handle(decoded, &mut framed).await;
                for a in answers {
                    let cn = a.cn.clone();
                    if framed.send(a.clone()).await.is_err() {
                        break;
                    }
                    AnswerSent { mn: &a.mn, cn: &cn, latency: received.elapsed() }
                        .emit(&conn.shared.metrics);
                }
            }
        }
    }
    for mn in &conn.mns {
        conn.shared.connections.remove(mn, conn.id);
        let _ = conn.shared.db.device_connection(mn, false).await;
    }
    conn.mns.last().cloned()
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

fn values_of(packet: &Packet, kind: &'static str, period_start: i64) -> Vec<SeriesValue> {
    let mut out: Vec<SeriesValue> = Vec::new();
    for item in packet.items() {
        let (is_value, is_converted) = match item.kind() {
            FieldKind::Rtd | FieldKind::Avg => (true, false),
            FieldKind::ZsRtd | FieldKind::ZsAvg => (false, true),
            _ => continue,
        };
        let v = item.value.trim();
        let v = (!v.is_empty()).then(|| v.to_owned());
        let flag = item
            .flag
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .unwrap_or("N");
        let slot = match out.iter_mut().find(|s| s.factor == item.code) {
            Some(s) => s,
            None => {
                out.push(SeriesValue {
                    factor: item.code.to_owned(),
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

    async fn handle(
        &mut self,
        decoded: gongjian_hj212::Decoded,
        framed: &mut Framed<TcpStream, Hj212Codec>,
    ) -> Vec<Message> {
        let packet = match decoded {
            Ok(p) => p,
            Err(rejected) => match self.retry_with_device_options(&rejected).await {
                Some(p) => p,
                None => {
                    self.rejected(&rejected).await;
                    return Vec::new();
                }
            },
        };
        let m = &self.shared.metrics;
        FrameReceived {
            peer: self.peer,
            mn: packet.mn(),
            cn: packet.cn(),
        }
        .emit(m);
        let raw_bytes = packet.raw().to_vec();
        let cn = packet.cn().unwrap_or("").to_owned();
        let Some(mn) = packet.mn().map(str::to_owned) else {
            self.quarantine(&raw_bytes, None, &cn, "no_mn").await;
            return Vec::new();
        };
        let device = match self.shared.devices.get(&mn).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "hj212 device lookup failed");
                return Vec::new();
            }
        };
        let Some(device) = device else {
            self.quarantine(&raw_bytes, Some(&mn), &cn, "unknown_mn")
                .await;
            return Vec::new();
        };
        if packet.pw().unwrap_or("") != device.pw {
            AuthFailed {
                peer: self.peer,
                mn: &mn,
            }
            .emit(m);
            self.quarantine(&raw_bytes, Some(&mn), &cn, "wrong_pw")
                .await;
            // A request with a wrong password is refused as the standard says.
            if packet.ack_requested() && !is_upload(&cn) {
                return vec![packet.qn_rtn(QnRtn::PwError)];
            }
            return Vec::new();
        }
        let mut answers = Vec::new();
        if !self.mns.contains(&mn) {
            self.mns.push(mn.clone());
            self.shared.connections.insert(
                &mn,
                ConnectionHandle {
                    id: self.id,
                    peer: self.peer,
                    tx: self.downlink_tx.clone(),
                },
            );
            let _ = self.shared.db.device_connection(&mn, true).await;
            let opts = decoder_options(self.shared.settings.max_data_len, Some(&device));
            if framed.codec().decoder().options() != &opts {
                framed.codec_mut().decoder_mut().set_options(opts);
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
                return self
                    .bad_upload(&raw_bytes, &mn, &cn, "DataTime missing")
                    .await;
            };
            let Some(start) = datatime_to_unix(&datatime) else {
                return self
                    .bad_upload(
                        &raw_bytes,
                        &mn,
                        &cn,
                        &format!("DataTime {datatime:?} is not YYYYMMDDhhmmss"),
                    )
                    .await;
            };
            let upload = Upload {
                mn: mn.clone(),
                cn: cn.clone(),
                datatime,
                pno: packet.pno().map(i64::from).unwrap_or(0),
                site_id: device.site_id,
                values: values_of(&packet, kind, start),
            };
            let job = Job {
                upload: Some(upload),
                raw: Some(self.raw(&raw_bytes, Some(&mn), Some(&cn), "ok", None)),
                counter: Some((mn.clone(), counter)),
                ..Job::default()
            };
            match self.write(job, true).await {
                Some(_) => {
                    if packet.ack_requested() {
                        answers.push(packet.data_ack_with(ack_style(&device)));
                    }
                }
                None => return answers, // not committed: no ack, the logger resends
            }
            return answers;
        }
        // Everything else is archived; answers are sent after the commit.
        let wants_answer = packet.ack_requested() || cn == "1013";
        let job = Job {
            raw: Some(self.raw(&raw_bytes, Some(&mn), Some(&cn), "other", None)),
            counter: Some((mn.clone(), counter)),
            ..Job::default()
        };
        if self.write(job, wants_answer).await.is_none() {
            return answers;
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
        answers
    }

    async fn bad_upload(&self, raw: &[u8], mn: &str, cn: &str, error: &str) -> Vec<Message> {
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
        Vec::new()
    }

    /// A frame rejected with the connection's options may be fine for its
    /// device (MODBUS CRC accepted for legacy loggers, GBK).
    async fn retry_with_device_options(&self, rejected: &Rejected) -> Option<Packet> {
        if !matches!(
            rejected.error(),
            FrameError::ModbusCrc { .. } | FrameError::Charset { .. }
        ) {
            return None;
        }
        let mn = rejected.partial()?.mn()?.to_owned();
        let device = self.shared.devices.get(&mn).await.ok()??;
        let opts = decoder_options(self.shared.settings.max_data_len, Some(&device));
        parse_frame(rejected.raw(), &opts).ok()
    }

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
        let mut raw = rejected.raw().to_vec();
        raw.truncate(16 * 1024);
        let job = Job {
            raw: Some(self.raw(&raw, mn.as_deref(), cn.as_deref(), "rejected", Some(msg))),
            counter,
            ..Job::default()
        };
        self.write(job, false).await;
    }

    async fn quarantine(&self, raw: &[u8], mn: Option<&str>, cn: &str, reason: &'static str) {
        FrameQuarantined {
            peer: self.peer,
            mn,
            reason,
        }
        .emit(&self.shared.metrics);
        let counter = (reason == "wrong_pw").then(|| {
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
        let job = Job {
            quarantine: Some(Quarantined {
                peer: self.peer_text.clone(),
                mn: mn.map(str::to_owned),
                cn: (!cn.is_empty()).then(|| cn.to_owned()),
                reason,
                frame: raw.to_vec(),
            }),
            raw: Some(self.raw(raw, mn, Some(cn), "quarantined", Some(reason.to_owned()))),
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
