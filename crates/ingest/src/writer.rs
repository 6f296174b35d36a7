//! The writer task: groups frames from many connections into one
//! transaction, commits, then releases each frame's answer.

use std::sync::Arc;
use std::time::Instant;

use gongjian_storage::{
    CounterDelta, Db, IngestBatch, Quarantined, RawFrame, Streamed, Upload, UploadOutcome,
};
use tokio::sync::{mpsc, oneshot};

use crate::events::{BatchCommitted, BatchFailed, InternalEvent, Metrics, UploadCommitted};

/// One frame's worth of writes.
#[derive(Debug, Default)]
pub(crate) struct Job {
    pub upload: Option<Upload>,
    pub raw: Option<RawFrame>,
    pub quarantine: Option<Quarantined>,
    pub counter: Option<(String, CounterDelta)>,
    /// The JetStream stream sequence of the message the job came from: an
    /// upload already stored by the same message is dropped whole inside
    /// the commit ([`IngestBatch::streamed`]).
    pub stream_seq: Option<i64>,
    /// Released after the commit (or with the error).
    pub done: Option<oneshot::Sender<Result<Option<UploadOutcome>, String>>>,
}

pub(crate) async fn run(
    db: Db,
    mut rx: mpsc::Receiver<Job>,
    max_batch: usize,
    metrics: Arc<Metrics>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        match commit(&db, &mut jobs, &metrics).await {
            Ok(outcomes) => {
                for (j, outcome) in jobs.drain(..).zip(outcomes) {
                    if let Some(done) = j.done {
                        let _ = done.send(Ok(outcome));
                    }
                }
            }
            Err(msg) => {
                for j in jobs.drain(..) {
                    if let Some(done) = j.done {
                        let _ = done.send(Err(msg.clone()));
                    }
                }
            }
        }
    }
}

/// Commit the writes of `jobs` in one transaction (`commit_ingest`): their
/// uploads, raw frames, quarantined frames and counters are taken out of
/// them; their `done` senders are left for the caller. One outcome per job
/// (`None` for a job without an upload). Shared by the listener's writer
/// and the JetStream writers.
pub(crate) async fn commit(
    db: &Db,
    jobs: &mut [Job],
    metrics: &Metrics,
) -> Result<Vec<Option<UploadOutcome>>, String> {
    let started = Instant::now();
    let mut batch = IngestBatch::default();
    let mut upload_of = Vec::with_capacity(jobs.len());
    let mut streamed_of = Vec::new();
    for (k, j) in jobs.iter_mut().enumerate() {
        if let Some(seq) = j.stream_seq
            && let Some(upload) = j.upload.take()
        {
            upload_of.push(None);
            streamed_of.push((k, upload.values.len() as u64));
            batch.streamed.push(Streamed {
                seq,
                upload,
                raw: j.raw.take(),
                counter: j.counter.take(),
            });
            continue;
        }
        upload_of.push(j.upload.take().map(|u| {
            let n = u.values.len() as u64;
            batch.uploads.push(u);
            (batch.uploads.len() - 1, n)
        }));
        if let Some(r) = j.raw.take() {
            batch.raw.push(r);
        }
        if let Some(q) = j.quarantine.take() {
            batch.quarantine.push(q);
        }
        if let Some((mn, c)) = j.counter.take() {
            batch.counters.entry(mn).or_default().add(&c);
        }
    }
    match db.monitoring().commit_ingest(&batch).await {
        Ok(outcomes) => {
            BatchCommitted {
                frames: jobs.len(),
                took: started.elapsed(),
            }
            .emit(metrics);
            let mut per_job: Vec<Option<UploadOutcome>> = upload_of
                .into_iter()
                .map(|u| {
                    u.map(|(i, n)| {
                        let o = outcomes[i];
                        UploadCommitted {
                            duplicate: o == UploadOutcome::Duplicate,
                            values: n,
                        }
                        .emit(metrics);
                        o
                    })
                })
                .collect();
            let first_streamed = batch.uploads.len();
            for (r, (k, n)) in streamed_of.into_iter().enumerate() {
                let o = outcomes[first_streamed + r];
                UploadCommitted {
                    duplicate: o == UploadOutcome::Duplicate,
                    values: n,
                }
                .emit(metrics);
                per_job[k] = Some(o);
            }
            Ok(per_job)
        }
        Err(e) => {
            let msg = e.to_string();
            BatchFailed {
                frames: jobs.len(),
                error: &msg,
            }
            .emit(metrics);
            Err(msg)
        }
    }
}
