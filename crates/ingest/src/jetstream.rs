//! The NATS JetStream path (docs/decisions/0006): a *sink* for the listener
//! in `gongjian gateway` (each frame's writes are published to a stream and
//! the logger is answered only after JetStream's PubAck), and a *source* for
//! `gongjian serve --ingest nats` (durable pull consumers that commit what
//! they fetch with the same `commit_ingest`, one transaction per batch, and
//! acknowledge the messages only after the commit).
//!
//! Naming after vector: the listener is the source of `Job`s, the database
//! writer (`writer.rs`) and [`publish`] are its sinks; [`consume`] is the
//! source of the writers.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind, consumer, stream};
use futures::{FutureExt, StreamExt};
use gongjian_storage::{CounterDelta, Db, Quarantined, RawFrame, Upload};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::events::{InternalEvent, JetStreamPublishFailed, JetStreamPublished, Metrics};
use crate::writer::{self, Job};

/// Where the stream is and how it is named.
#[derive(Debug, Clone)]
pub struct JetStreamSettings {
    /// `nats://host:port`, several comma-separated for a cluster.
    pub url: String,
    /// The stream (created when missing).
    pub stream: String,
    /// Frames go to `<subject_prefix>.<MN>`.
    pub subject_prefix: String,
    /// The durable pull consumer every writer shares.
    pub durable: String,
    /// Replicas of the stream when it is created (3 on a three-node cluster).
    pub replicas: usize,
    /// Most messages per writer transaction (and per publish batch).
    pub max_batch: usize,
    /// How long a fetched message may stay unacknowledged before JetStream
    /// redelivers it.
    pub ack_wait: Duration,
    /// How long a gateway waits for a PubAck before the frame counts as not
    /// stored (the logger is not answered and resends).
    pub publish_timeout: Duration,
}

impl Default for JetStreamSettings {
    fn default() -> Self {
        JetStreamSettings {
            url: "nats://127.0.0.1:4222".into(),
            stream: "GONGJIAN_HJ212".into(),
            subject_prefix: "gongjian.hj212".into(),
            durable: "gongjian-writer".into(),
            replicas: 1,
            max_batch: 2048,
            ack_wait: Duration::from_secs(30),
            publish_timeout: Duration::from_secs(5),
        }
    }
}

/// Errors of the NATS path (connecting, creating the stream or consumer).
#[derive(Debug, thiserror::Error)]
pub enum JetStreamError {
    #[error("cannot connect to NATS at {url}: {error}")]
    Connect { url: String, error: String },
    #[error("JetStream stream {stream}: {error}")]
    Stream { stream: String, error: String },
    #[error("JetStream consumer {durable}: {error}")]
    Consumer { durable: String, error: String },
}

/// The wire form of one frame's writes: JSON, with the frame bytes as text
/// when they are UTF-8 (see `gongjian_storage::RawFrame`). `v` is the
/// format's version, so a writer refuses what it does not understand.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WireJob {
    pub v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<Upload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawFrame>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<Quarantined>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<(String, CounterDelta)>,
}

/// The wire format version this build writes and reads.
pub const WIRE_VERSION: u32 = 1;

impl WireJob {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a job serializes")
    }

    pub fn decode(payload: &[u8]) -> Result<WireJob, String> {
        let job: WireJob = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if job.v != WIRE_VERSION {
            return Err(format!("unknown wire version {}", job.v));
        }
        Ok(job)
    }

    /// The MN the job belongs to, if any.
    pub fn mn(&self) -> Option<&str> {
        self.upload
            .as_ref()
            .map(|u| u.mn.as_str())
            .or_else(|| self.raw.as_ref().and_then(|r| r.mn.as_deref()))
            .or_else(|| self.quarantine.as_ref().and_then(|q| q.mn.as_deref()))
            .or_else(|| self.counter.as_ref().map(|(mn, _)| mn.as_str()))
            .filter(|mn| !mn.is_empty())
    }

    fn from_job(job: &mut Job) -> WireJob {
        WireJob {
            v: WIRE_VERSION,
            upload: job.upload.take(),
            raw: job.raw.take(),
            quarantine: job.quarantine.take(),
            counter: job.counter.take(),
        }
    }

    fn into_job(self) -> Job {
        Job {
            upload: self.upload,
            raw: self.raw,
            quarantine: self.quarantine,
            counter: self.counter,
            stream_seq: None,
            done: None,
        }
    }
}

/// The subject token of an MN: letters, digits and `-` as they are; every
/// other byte (`.`, `*`, `>`, space, `_`, non-ASCII) as `_XX` (hex), so two
/// MNs never share a subject and no MN can become a wildcard.
pub fn subject_token(mn: &str) -> String {
    let mut out = String::with_capacity(mn.len());
    for b in mn.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    out
}

/// The subject of frames without an MN (garbage, `no_mn`): no MN maps to it,
/// since [`subject_token`] writes `_` only before two hex digits.
pub const NO_MN_TOKEN: &str = "_none";

/// `<prefix>.<MN token>` or `<prefix>._none`.
pub fn subject_for(prefix: &str, mn: Option<&str>) -> String {
    match mn {
        Some(mn) => format!("{prefix}.{}", subject_token(mn)),
        None => format!("{prefix}.{NO_MN_TOKEN}"),
    }
}

/// Connect to NATS (`url` may list several servers, comma-separated).
pub async fn connect(
    settings: &JetStreamSettings,
    name: &str,
) -> Result<jetstream::Context, JetStreamError> {
    let urls: Vec<&str> = settings.url.split(',').map(str::trim).collect();
    let client = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .connect(urls)
        .await
        .map_err(|e| JetStreamError::Connect {
            url: settings.url.clone(),
            error: e.to_string(),
        })?;
    Ok(jetstream::ContextBuilder::new()
        .timeout(settings.publish_timeout)
        .ack_timeout(settings.publish_timeout)
        .build(client))
}

/// The stream, created when missing: file storage, work-queue retention
/// (a message is removed once a writer acknowledged it), the configured
/// replicas. An existing stream is used as it is.
pub async fn ensure_stream(
    js: &jetstream::Context,
    settings: &JetStreamSettings,
) -> Result<stream::Stream, JetStreamError> {
    js.get_or_create_stream(stream::Config {
        name: settings.stream.clone(),
        subjects: vec![format!("{}.>", settings.subject_prefix)],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::WorkQueue,
        num_replicas: settings.replicas.max(1),
        description: Some("gongjian HJ 212 frames from gateways to writers".into()),
        ..stream::Config::default()
    })
    .await
    .map_err(|e| JetStreamError::Stream {
        stream: settings.stream.clone(),
        error: e.to_string(),
    })
}

/// The gateway's sink: publishes each job to `<prefix>.<MN>` and releases
/// its `done` only once JetStream has confirmed the publish (PubAck). A
/// failed or timed-out publish releases `done` with the error: the logger
/// gets no answer and resends. Ends when every sender is gone, after the
/// acknowledgements in flight.
pub(crate) async fn publish(
    js: jetstream::Context,
    prefix: String,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    metrics: Arc<Metrics>,
) {
    let mut in_flight = tokio::task::JoinSet::new();
    let mut jobs: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let mut acks = Vec::with_capacity(jobs.len());
        for mut job in jobs.drain(..) {
            let done = job.done.take();
            let wire = WireJob::from_job(&mut job);
            let subject = subject_for(&prefix, wire.mn());
            let sent = js.publish(subject, wire.encode().into()).await;
            acks.push((sent, done));
        }
        // PubAcks are awaited apart from the loop, so the next batch is
        // published while this one's are on their way.
        let metrics = metrics.clone();
        in_flight.spawn(async move {
            let frames = acks.len();
            let mut failed = 0usize;
            let mut last_error = String::new();
            let waits = acks.into_iter().map(|(sent, done)| async move {
                let result = match sent {
                    Ok(ack) => ack.await.map(|_| ()).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                if let Some(done) = done {
                    let _ = done.send(result.clone().map(|()| None));
                }
                result
            });
            for r in futures::future::join_all(waits).await {
                if let Err(e) = r {
                    failed += 1;
                    last_error = e;
                }
            }
            if failed > 0 {
                JetStreamPublishFailed {
                    frames: failed,
                    error: &last_error,
                }
                .emit(&metrics);
            }
            if frames > failed {
                JetStreamPublished {
                    frames: frames - failed,
                    took: started.elapsed(),
                }
                .emit(&metrics);
            }
        });
        // Reap finished batches without waiting.
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

/// A writer: the durable pull consumer `settings.durable` on the stream
/// (created when missing; every writer shares it, so JetStream hands each
/// message to one of them). Each batch fetched is committed in one
/// transaction; its messages are acknowledged only after the commit. A
/// failed commit acknowledges nothing (a delayed negative ack): the messages
/// are redelivered.
///
/// Redelivery (`delivered > 1`: the writer before crashed, or its ack was
/// lost) stores nothing twice: an upload whose (MN, CN, DataTime, PNO) is in
/// the `hj212_uploads` ledger is dropped whole (its raw-archive row and
/// counters went in with it) when the ledger row carries the message's own
/// stream sequence — decided inside the commit's transaction, so a first
/// delivery still committing on another writer is seen
/// (`IngestBatch::streamed`); a logger's retransmission is another message
/// and is counted as a duplicate. Frames without an upload (notices, heartbeats, refused
/// frames) have no such key: a redelivered one after a commit whose ack was
/// lost is archived and counted once more (docs/ingestion.md).
pub struct Writer {
    consumer: consumer::PullConsumer,
    settings: JetStreamSettings,
}

impl Writer {
    /// Connect, create the stream and the durable consumer when missing.
    pub async fn connect(settings: &JetStreamSettings) -> Result<Writer, JetStreamError> {
        let js = connect(settings, "gongjian-writer").await?;
        let stream = ensure_stream(&js, settings).await?;
        let durable = settings.durable.clone();
        let consumer: consumer::PullConsumer = stream
            .get_or_create_consumer(
                &durable,
                consumer::pull::Config {
                    durable_name: Some(durable.clone()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: settings.ack_wait,
                    max_ack_pending: (settings.max_batch as i64 * 8).max(1024),
                    filter_subject: format!("{}.>", settings.subject_prefix),
                    ..consumer::pull::Config::default()
                },
            )
            .await
            .map_err(|e| JetStreamError::Consumer {
                durable: durable.clone(),
                error: e.to_string(),
            })?;
        Ok(Writer {
            consumer,
            settings: settings.clone(),
        })
    }

    async fn messages(&self) -> Result<consumer::pull::Stream, JetStreamError> {
        self.consumer
            .stream()
            .max_messages_per_batch(self.settings.max_batch)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(|e| JetStreamError::Consumer {
                durable: self.settings.durable.clone(),
                error: e.to_string(),
            })
    }

    /// Fetch, commit and acknowledge until `shutdown` resolves; the batch in
    /// hand is finished first.
    pub async fn run(
        self,
        db: Db,
        metrics: Arc<Metrics>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), JetStreamError> {
        let max_batch = self.settings.max_batch;
        let mut messages = self.messages().await?;
        tracing::info!(
            stream = %self.settings.stream,
            durable = %self.settings.durable,
            "JetStream writer consuming"
        );
        tokio::pin!(shutdown);
        let mut batch: Vec<jetstream::Message> = Vec::with_capacity(max_batch);
        loop {
            let first = tokio::select! {
                _ = &mut shutdown => break,
                next = messages.next() => next,
            };
            match first {
                None => {
                    tracing::warn!("JetStream message stream ended; reopening");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    match self.messages().await {
                        Ok(m) => messages = m,
                        Err(e) => tracing::warn!(error = %e, "JetStream consumer unavailable"),
                    }
                    continue;
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "JetStream fetch failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Some(Ok(m)) => batch.push(m),
            }
            // Whatever else has arrived: one transaction for all of it.
            while batch.len() < max_batch {
                match messages.next().now_or_never() {
                    Some(Some(Ok(m))) => batch.push(m),
                    _ => break,
                }
            }
            commit_messages(&db, &mut batch, &metrics).await;
        }
        Ok(())
    }
}

/// [`Writer::connect`] then [`Writer::run`].
pub async fn consume(
    db: Db,
    settings: JetStreamSettings,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), JetStreamError> {
    Writer::connect(&settings)
        .await?
        .run(db, metrics, shutdown)
        .await
}

/// Decode, commit and acknowledge one batch of messages (see [`consume`]).
async fn commit_messages(db: &Db, batch: &mut Vec<jetstream::Message>, metrics: &Arc<Metrics>) {
    let mut jobs = Vec::with_capacity(batch.len());
    let mut settled = Vec::new();
    for (i, m) in batch.iter().enumerate() {
        let wire = match WireJob::decode(&m.payload) {
            Ok(w) => w,
            Err(e) => {
                // A message no writer can read would come back forever.
                tracing::error!(subject = %m.subject, error = %e, "undecodable JetStream message dropped");
                settled.push((i, AckKind::Term));
                continue;
            }
        };
        let mut job = wire.into_job();
        // Without it, a redelivery would be counted as a retransmission.
        job.stream_seq = m.info().ok().map(|info| info.stream_sequence as i64);
        jobs.push((i, job));
    }
    let committed = if jobs.is_empty() {
        true
    } else {
        let mut only: Vec<Job> = jobs.iter_mut().map(|(_, j)| std::mem::take(j)).collect();
        writer::commit(db, &mut only, metrics).await.is_ok()
    };
    let kind = if committed {
        AckKind::Ack
    } else {
        // Redelivered after a pause, to this writer or another.
        AckKind::Nak(Some(Duration::from_secs(1)))
    };
    let acks = jobs
        .iter()
        .map(|(i, _)| (*i, kind))
        .chain(settled)
        .map(|(i, kind)| {
            let m = &batch[i];
            async move {
                if let Err(e) = m.ack_with(kind).await {
                    // The commit stands; the message comes back and the
                    // ledger finds it.
                    tracing::warn!(error = %e, "JetStream ack failed");
                }
            }
        });
    futures::future::join_all(acks).await;
    batch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_never_collide_or_wildcard() {
        assert_eq!(subject_token("88888880000001"), "88888880000001");
        assert_eq!(subject_token("A.B"), "A_2EB");
        assert_eq!(subject_token("*>"), "_2A_3E");
        assert_eq!(subject_token("a_2E"), "a_5F2E");
        assert_ne!(subject_token("a_2E"), subject_token("a."));
        assert_eq!(subject_for("p.q", None), "p.q._none");
        assert_eq!(subject_for("p.q", Some("MN1")), "p.q.MN1");
        assert_ne!(subject_token("_none"), NO_MN_TOKEN);
    }

    #[test]
    fn wire_job_round_trips_with_binary_frames() {
        let job = WireJob {
            v: WIRE_VERSION,
            upload: Some(Upload {
                mn: "MN1".into(),
                cn: "2051".into(),
                datatime: "20260101000000".into(),
                pno: 0,
                site_id: 7,
                values: vec![gongjian_storage::SeriesValue {
                    factor: "a21026".into(),
                    kind: "min",
                    period_start: 1_767_196_800,
                    value: Some("12.50".into()),
                    converted: None,
                    flag: "N".into(),
                }],
            }),
            raw: Some(RawFrame {
                peer: "1.2.3.4:5".into(),
                mn: Some("MN1".into()),
                cn: Some("2051".into()),
                frame: vec![b'#', b'#', 0xB9, 0xFA, b'\r', b'\n'],
                outcome: "ok",
                error: None,
            }),
            quarantine: None,
            counter: Some((
                "MN1".into(),
                CounterDelta {
                    frames: 1,
                    ..CounterDelta::default()
                },
            )),
        };
        let bytes = job.encode();
        let back = WireJob::decode(&bytes).unwrap();
        assert_eq!(back.upload, job.upload);
        assert_eq!(back.raw, job.raw);
        assert_eq!(back.counter, job.counter);
        let text = WireJob {
            raw: Some(RawFrame {
                frame: b"##0010QN=1\r\n".to_vec(),
                ..job.raw.clone().unwrap()
            }),
            ..WireJob::default()
        };
        let text = WireJob {
            v: WIRE_VERSION,
            ..text
        };
        let encoded = String::from_utf8(text.encode()).unwrap();
        assert!(encoded.contains("##0010QN=1"), "{encoded}");
        assert_eq!(WireJob::decode(encoded.as_bytes()).unwrap().raw, text.raw);
        assert!(WireJob::decode(br#"{"v":2}"#).is_err());
    }
}
