//! The SQLite relay's recorder: a thread that writes what became of each
//! sent batch, so that the relay thread goes on claiming, sending and
//! collecting delivery reports while those writes wait for the file's
//! write lock (shared with the publishers' commits).
//!
//! Jobs are written in the order they were submitted. A claim from the
//! start of the table first waits for every job ([`Recorder::wait`]): it
//! must see the rows delivered as delivered, and retries with their backoff.
//!
//! **A write that fails** (full disk…) is kept and retried, with a growing
//! pause, until it works; meanwhile the recorder is *stuck*: it takes no
//! new job ([`Recorder::submit`] refuses it, and the relay keeps that batch
//! and sends nothing new) and claims find nothing. So rows the cluster
//! acknowledged are never sent again because marking them failed; the
//! sink's stats count them as `sent_unrecorded` meanwhile.
//!
//! **Checkpoints.** The recorder also copies the WAL into the database
//! file (a passive checkpoint at most every 100 ms, on a connection of its
//! own), beside the publishers' commits rather than inside them: a
//! checkpoint inside a commit would stall every publisher waiting for it.

use super::super::failures::Failures;
use super::super::lock::lock;
use super::super::relay::Outcome;
use super::super::OutboxError;
use super::store::SqliteStore;
use rusqlite::Connection;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the recorder checkpoints the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The pause before retrying a failed write, doubling up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// What became of one sent batch: `outcomes[i]` for the row `seqs[i]`.
pub(super) struct Job {
    pub seqs: Vec<i64>,
    pub outcomes: Vec<Outcome>,
    pub now: i64,
}

/// The recorder thread; writes what is queued and stops on drop.
pub(super) struct Recorder {
    queue: Arc<RecordQueue>,
    handle: Option<JoinHandle<()>>,
}

struct RecordQueue {
    queue: Mutex<Queue>,
    /// Wakes the recorder.
    work_cv: Condvar,
    /// Wakes those waiting for jobs to be written.
    written_cv: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    submitted: u64,
    written: u64,
    /// The write that keeps failing: no new job is taken until it works.
    stuck: Option<Arc<OutboxError>>,
    stopping: bool,
}

impl Recorder {
    /// Starts the thread that writes jobs with `write`, and checkpoints
    /// on `checkpoint`; a write that fails is reported to `failures`.
    pub fn spawn(
        store: Arc<SqliteStore>,
        write: fn(&SqliteStore, &Job) -> Result<(), OutboxError>,
        checkpoint: Connection,
        failures: Arc<Failures>,
    ) -> Result<Recorder, OutboxError> {
        let queue = Arc::new(RecordQueue {
            queue: Mutex::new(Queue::default()),
            work_cv: Condvar::new(),
            written_cv: Condvar::new(),
        });
        let thread_queue = Arc::clone(&queue);
        let handle = std::thread::Builder::new()
            .name("onex-outbox-record".to_owned())
            .spawn(move || thread_queue.run(&store, write, &checkpoint, &failures))
            .map_err(|source| OutboxError::Thread {
                what: "record",
                source,
            })?;
        Ok(Recorder {
            queue,
            handle: Some(handle),
        })
    }

    /// Queues `job`; refuses it ([`OutboxError::NotRecorded`]) while an
    /// earlier write keeps failing: the caller keeps it and submits it
    /// again later.
    pub fn submit(&self, job: Job) -> Result<(), OutboxError> {
        let mut q = lock(&self.queue.queue);
        if let Some(error) = &q.stuck {
            return Err(OutboxError::NotRecorded(Arc::clone(error)));
        }
        q.jobs.push_back(job);
        q.submitted += 1;
        drop(q);
        self.queue.work_cv.notify_one();
        Ok(())
    }

    /// Waits until every job submitted is written; false when a write
    /// keeps failing (it is retried meanwhile).
    pub fn wait(&self) -> bool {
        let mut q = lock(&self.queue.queue);
        let target = q.submitted;
        while q.written < target && q.stuck.is_none() {
            q = self
                .queue
                .written_cv
                .wait(q)
                .unwrap_or_else(|e| e.into_inner());
        }
        q.stuck.is_none()
    }

    /// Whether a write keeps failing.
    pub fn stuck(&self) -> bool {
        lock(&self.queue.queue).stuck.is_some()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        lock(&self.queue.queue).stopping = true;
        self.queue.work_cv.notify_one();
        if let Some(handle) = self.handle.take() {
            if handle.join().is_err() {
                tracing::error!(target: "onex_events::outbox", "the outbox record thread panicked");
            }
        }
    }
}

impl RecordQueue {
    fn run(
        &self,
        store: &SqliteStore,
        write: fn(&SqliteStore, &Job) -> Result<(), OutboxError>,
        checkpoint: &Connection,
        failures: &Failures,
    ) {
        let mut last_checkpoint = Instant::now();
        // A write that failed, with the jobs it holds: retried first.
        let mut retry: Option<(Job, u64)> = None;
        let mut pause = RETRY_FIRST;
        loop {
            let mut q = lock(&self.queue);
            while q.jobs.is_empty() && !q.stopping {
                let wait = if retry.is_some() {
                    pause
                } else {
                    CHECKPOINT_EVERY.saturating_sub(last_checkpoint.elapsed())
                };
                if wait.is_zero() {
                    break;
                }
                let timed_out;
                (q, timed_out) = self
                    .work_cv
                    .wait_timeout(q, wait)
                    .map(|(q, t)| (q, t.timed_out()))
                    .unwrap_or_else(|e| {
                        let (q, t) = e.into_inner();
                        (q, t.timed_out())
                    });
                if timed_out && retry.is_some() {
                    break;
                }
            }
            if q.stopping && retry.is_some() {
                // Still failing at the end: those rows stay pending, sent
                // again by the next relay.
                if let Some((job, _)) = &retry {
                    let delivered = delivered(job);
                    tracing::error!(target: "onex_events::outbox", delivered, "stopping with deliveries not recorded; those events stay pending and are sent again");
                }
                return;
            }
            // Everything queued, in one job (after the one to retry):
            // small batches (a relay keeping up with publishers sends
            // many) share transactions.
            let mut jobs = q.jobs.len() as u64;
            let queued = q.jobs.drain(..);
            let job = match retry.take() {
                Some((job, held)) => {
                    jobs += held;
                    Some(queued.fold(job, merge))
                }
                None => queued.reduce(merge),
            };
            let stop = job.is_none() && q.stopping;
            drop(q);
            if let Some(job) = job {
                let result = write(store, &job);
                let mut q = lock(&self.queue);
                match result {
                    Ok(()) => {
                        q.written += jobs;
                        if q.stuck.take().is_some() {
                            tracing::info!(target: "onex_events::outbox", "outbox deliveries are recorded again");
                            failures.set_unrecorded_by_store(0);
                        }
                        pause = RETRY_FIRST;
                    }
                    Err(error) => {
                        let error = Arc::new(error);
                        if q.stuck.is_none() {
                            tracing::error!(target: "onex_events::outbox", %error, "cannot record outbox deliveries; retrying, and sending nothing new until it works");
                        } else {
                            pause = pause.saturating_mul(2).min(RETRY_MAX);
                        }
                        failures.set_unrecorded_by_store(delivered(&job));
                        failures.set_error(Arc::clone(&error));
                        q.stuck = Some(error);
                        retry = Some((job, jobs));
                    }
                }
                drop(q);
                self.written_cv.notify_all();
            }
            if stop {
                return;
            }
            if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
                last_checkpoint = Instant::now();
                passive_checkpoint(checkpoint);
            }
        }
    }
}

/// `job` followed by `next`, as one job.
fn merge(mut job: Job, next: Job) -> Job {
    job.seqs.extend(next.seqs);
    job.outcomes.extend(next.outcomes);
    job.now = job.now.max(next.now);
    job
}

/// How many of `job`'s rows the cluster acknowledged.
fn delivered(job: &Job) -> u64 {
    job.outcomes
        .iter()
        .filter(|o| **o == Outcome::Delivered)
        .count() as u64
}

/// Copies committed pages from the WAL into the database file, without
/// waiting for readers or writers.
fn passive_checkpoint(conn: &Connection) {
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    });
    match result {
        Ok((wal, copied)) => {
            tracing::trace!(target: "onex_events::outbox", wal, copied, "outbox checkpoint")
        }
        Err(error) => {
            tracing::debug!(target: "onex_events::outbox", %error, "outbox checkpoint failed")
        }
    }
}
