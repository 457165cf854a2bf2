//! The SQLite relay's recorder: a thread that writes what became of each
//! sent batch, so that the relay thread goes on claiming, sending and
//! collecting delivery reports while those writes wait for the file's
//! write lock (shared with the publishers' commits).
//!
//! Jobs are written in the order they were submitted. A claim from the
//! start of the table first waits for every job ([`Recorder::wait`]): it
//! must see the rows delivered as delivered, and retries with their backoff.
//!
//! **Checkpoints.** The recorder also copies the WAL into the database
//! file (a passive checkpoint at most every 100 ms, on a connection of its
//! own), beside the publishers' commits rather than inside them: a
//! checkpoint inside a commit would stall every publisher waiting for it.

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
    /// The first write that failed since it was last reported.
    error: Option<OutboxError>,
    stopping: bool,
}

impl Recorder {
    /// Starts the thread that writes jobs with `write`, and checkpoints
    /// on `checkpoint`.
    pub fn spawn(
        store: Arc<SqliteStore>,
        write: fn(&SqliteStore, &Job) -> Result<(), OutboxError>,
        checkpoint: Connection,
    ) -> Result<Recorder, OutboxError> {
        let queue = Arc::new(RecordQueue {
            queue: Mutex::new(Queue::default()),
            work_cv: Condvar::new(),
            written_cv: Condvar::new(),
        });
        let thread_queue = Arc::clone(&queue);
        let handle = std::thread::Builder::new()
            .name("onex-outbox-record".to_owned())
            .spawn(move || thread_queue.run(&store, write, &checkpoint))
            .map_err(|source| OutboxError::Thread {
                what: "record",
                source,
            })?;
        Ok(Recorder {
            queue,
            handle: Some(handle),
        })
    }

    /// Queues `job`. Errors when an earlier job could not be written (its
    /// rows are still pending as they were).
    pub fn submit(&self, job: Job) -> Result<(), OutboxError> {
        let mut q = lock(&self.queue.queue);
        q.jobs.push_back(job);
        q.submitted += 1;
        let error = q.error.take();
        drop(q);
        self.queue.work_cv.notify_one();
        error.map_or(Ok(()), Err)
    }

    /// Waits until every job submitted is written. Errors when one could
    /// not be.
    pub fn wait(&self) -> Result<(), OutboxError> {
        let mut q = lock(&self.queue.queue);
        let target = q.submitted;
        while q.written < target && q.error.is_none() {
            q = self
                .queue
                .written_cv
                .wait(q)
                .unwrap_or_else(|e| e.into_inner());
        }
        q.error.take().map_or(Ok(()), Err)
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
    ) {
        let mut last_checkpoint = Instant::now();
        loop {
            let mut q = lock(&self.queue);
            while q.jobs.is_empty() && !q.stopping {
                let wait = CHECKPOINT_EVERY.saturating_sub(last_checkpoint.elapsed());
                if wait.is_zero() {
                    break;
                }
                q = self
                    .work_cv
                    .wait_timeout(q, wait)
                    .map(|(q, _)| q)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            // Everything queued, in one job: small batches (a relay keeping
            // up with publishers sends many) share transactions.
            let jobs = q.jobs.len() as u64;
            let job = q.jobs.drain(..).reduce(|mut all, job| {
                all.seqs.extend(job.seqs);
                all.outcomes.extend(job.outcomes);
                all.now = all.now.max(job.now);
                all
            });
            let stop = job.is_none() && q.stopping;
            drop(q);
            if let Some(job) = job {
                let result = write(store, &job);
                let mut q = lock(&self.queue);
                q.written += jobs;
                if let Err(error) = result {
                    tracing::error!(target: "onex_events::outbox", %error, "cannot record outbox deliveries; those events stay pending");
                    q.error.get_or_insert(error);
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
