//! The group committer both backends share: publishers queue their rows,
//! one thread commits everything queued in one transaction of the
//! backend's [`Store`], in queue order, and wakes the publishers of that
//! batch with one notify.
//!
//! A row nobody waits for (an operation's `started`) lingers at most
//! [`OutboxConfig::commit_linger`](super::OutboxConfig::commit_linger) to
//! join a larger batch; a row a publisher waits for (the operation's end
//! event) is committed at once, together with everything queued before it.
//! Because batches are written in queue order, when an end event is
//! committed so is every event its operation published before it. The
//! thread also keeps blocking database clients off the publishers'
//! threads, which may be driving an async runtime.

use super::clock::deadline_after;
use super::failures::Failures;
use super::lock::lock;
use super::off_runtime::off_runtime;
use super::row::Row;
use super::store::Store;
use super::wake::Wake;
use super::OutboxError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Rows written in one transaction at most once the committer stops
/// lingering: a queue this long is committed at once.
const MAX_BATCH: usize = 4096;

/// How long the committer waits, once a publisher waits, for the others
/// released by the last batch to queue their rows too.
const GATHER: Duration = Duration::from_micros(300);

/// The committer thread of a store; commits what is queued and stops on
/// drop.
pub(crate) struct Committer<S: Store> {
    queue: Arc<CommitQueue<S>>,
    handle: Option<JoinHandle<()>>,
}

/// What publishers and the committer thread share.
struct CommitQueue<S> {
    store: Arc<S>,
    queue: Mutex<Queue>,
    /// Wakes the committer.
    work_cv: Condvar,
    /// What is written; its own lock, so that publishers woken together do
    /// not contend with those queueing rows.
    written: Mutex<Written>,
    /// Wake publishers after a batch is written: those of even batches on
    /// the first, odd on the second (so a publisher is not woken by the
    /// commit before the one holding its row).
    written_cv: [Condvar; 2],
    /// Woken after each commit: the relay.
    wake: Arc<Wake>,
    failures: Arc<Failures>,
}

/// The committer thread's state, so publishers wake it only when needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Sleep {
    /// Writing, or about to look at the queue: no wake-up needed.
    #[default]
    Busy,
    /// Waiting at most the linger period: wake it for an urgent row.
    Linger,
    /// Waiting for any row.
    Deep,
}

/// Rows waiting for the committer thread, in queue order, which is
/// commit order. Batches are numbered from 1.
#[derive(Default)]
struct Queue {
    rows: Vec<Row>,
    /// The number of the batch `rows` will be written in.
    filling: u64,
    /// Rows of the filling batch a publisher waits for.
    urgent: usize,
    /// Wake the committer once this many rows are urgent: most of the
    /// publishers released by the last batch.
    want: usize,
    /// What the committer is doing.
    committer: Sleep,
    /// The committer writes what is queued, then stops.
    stopping: bool,
    /// The committer has stopped: publishers write on their own.
    stopped: bool,
}

#[derive(Default)]
struct Written {
    /// Every batch up to this one is written (committed or failed).
    upto: u64,
    /// Publishers waiting on `written_cv`, by batch parity.
    waiting: [usize; 2],
    /// The committer has stopped: nobody waits for it any more.
    stopped: bool,
}

impl<S: Store> Committer<S> {
    /// Starts the thread that commits the rows queued for `store`; wakes
    /// `wake` after each commit and reports failures to `failures`.
    pub fn spawn(
        store: Arc<S>,
        linger: Duration,
        wake: Arc<Wake>,
        failures: Arc<Failures>,
    ) -> Result<Committer<S>, OutboxError> {
        let queue = Arc::new(CommitQueue {
            store,
            queue: Mutex::new(Queue {
                filling: 1,
                want: 1,
                ..Queue::default()
            }),
            work_cv: Condvar::new(),
            written: Mutex::new(Written::default()),
            written_cv: [Condvar::new(), Condvar::new()],
            wake,
            failures,
        });
        let thread_queue = Arc::clone(&queue);
        let handle = std::thread::Builder::new()
            .name("onex-outbox-commit".to_owned())
            .spawn(move || {
                let run = catch_unwind(AssertUnwindSafe(|| thread_queue.run(linger)));
                if run.is_err() {
                    tracing::error!(target: "onex_events::outbox", "the outbox commit thread panicked; publishers commit on their own thread");
                    thread_queue.stop();
                }
            })
            .map_err(|source| OutboxError::Thread {
                what: "commit",
                source,
            })?;
        Ok(Committer {
            queue,
            handle: Some(handle),
        })
    }

    /// Queues `row`. With `wait`, returns once it, and every row queued
    /// before it, is written (committed, or known to have failed: then
    /// logged and counted); without, returns at once.
    pub fn commit(&self, row: Row, wait: bool) {
        self.queue.commit(row, wait);
    }

    /// Waits until every row queued so far is written.
    pub fn sync(&self) {
        self.queue.sync();
    }
}

impl<S: Store> Drop for Committer<S> {
    fn drop(&mut self) {
        lock(&self.queue.queue).stopping = true;
        self.queue.work_cv.notify_one();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        self.queue.stop();
    }
}

impl<S: Store> CommitQueue<S> {
    fn commit(&self, row: Row, wait: bool) {
        let mut q = lock(&self.queue);
        if q.stopped {
            // No committer any more (it panicked): write here.
            drop(q);
            self.write_batch_off_runtime(&[row]);
            return;
        }
        q.rows.push(row);
        let ticket = q.filling;
        if wait {
            q.urgent += 1;
        }
        // A lingering committer is woken for the first row someone waits
        // for (to start gathering), for the one it wants, or a full batch.
        let wake = match q.committer {
            Sleep::Busy => false,
            Sleep::Linger => {
                wait && (q.urgent == 1 || q.urgent == q.want) || q.rows.len() >= MAX_BATCH
            }
            Sleep::Deep => true,
        };
        if wake {
            q.committer = Sleep::Busy;
        }
        drop(q);
        if wake {
            self.work_cv.notify_one();
        }
        if wait {
            self.wait_written(ticket);
        }
    }

    fn sync(&self) {
        let mut q = lock(&self.queue);
        if q.rows.is_empty() {
            // Only the batch being written, if any.
            let ticket = q.filling - 1;
            drop(q);
            return self.wait_written(ticket);
        }
        let ticket = q.filling;
        q.urgent = q.urgent.max(q.want);
        let wake = q.committer != Sleep::Busy;
        if wake {
            q.committer = Sleep::Busy;
        }
        drop(q);
        if wake {
            self.work_cv.notify_one();
        }
        self.wait_written(ticket);
    }

    /// Waits until batch `ticket` is written.
    fn wait_written(&self, ticket: u64) {
        let parity = (ticket % 2) as usize;
        let mut w = lock(&self.written);
        w.waiting[parity] += 1;
        while w.upto < ticket && !w.stopped {
            w = self.written_cv[parity]
                .wait(w)
                .unwrap_or_else(|e| e.into_inner());
        }
        w.waiting[parity] -= 1;
    }

    /// Publishers write on their own from now on.
    fn stop(&self) {
        let rest = {
            let mut q = lock(&self.queue);
            q.stopped = true;
            std::mem::take(&mut q.rows)
        };
        if !rest.is_empty() {
            self.write_batch_off_runtime(&rest);
        }
        lock(&self.written).stopped = true;
        for cv in &self.written_cv {
            cv.notify_all();
        }
    }

    /// The committer thread: writes the queued rows in batches, one
    /// transaction each, in queue order. Commits at once when a publisher
    /// waits; otherwise lingers up to `linger` to gather a larger batch.
    fn run(&self, linger: Duration) {
        let mut batch: Vec<Row> = Vec::new();
        loop {
            let mut q = lock(&self.queue);
            // Rows nobody waits for are committed within one linger period
            // (from the last commit, or from waking up for them).
            let mut until = deadline_after(linger);
            // Once a publisher waits: until most of those released by the
            // last batch are queued too, at most `GATHER` from then.
            let mut gather_until: Option<Instant> = None;
            loop {
                if !q.rows.is_empty()
                    && (q.urgent >= q.want || q.stopping || q.rows.len() >= MAX_BATCH)
                {
                    break;
                }
                if q.rows.is_empty() && q.stopping {
                    drop(q);
                    self.stop();
                    return;
                }
                let now = Instant::now();
                if q.urgent > 0 {
                    let gather = *gather_until.get_or_insert(now + GATHER);
                    if now >= gather {
                        break;
                    }
                    until = until.min(gather);
                }
                if now >= until {
                    if !q.rows.is_empty() {
                        break;
                    }
                    // Idle: sleep until a publisher queues a row.
                    q.committer = Sleep::Deep;
                    q = self.work_cv.wait(q).unwrap_or_else(|e| e.into_inner());
                    until = deadline_after(linger);
                    continue;
                }
                q.committer = Sleep::Linger;
                q = self
                    .work_cv
                    .wait_timeout(q, until - now)
                    .map(|(q, _)| q)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            q.committer = Sleep::Busy;
            std::mem::swap(&mut batch, &mut q.rows);
            let number = q.filling;
            q.filling += 1;
            q.want = (q.urgent * 3 / 4).max(1);
            q.urgent = 0;
            drop(q);
            let n = batch.len();
            if catch_unwind(AssertUnwindSafe(|| self.write_batch(&batch))).is_err() {
                // Never leave publishers waiting for a commit that is gone.
                self.failures.count(n);
                tracing::error!(target: "onex_events::outbox", events = n, "outbox commit panicked; events not committed");
            }
            batch.clear();
            let parity = (number % 2) as usize;
            let mut w = lock(&self.written);
            w.upto = number;
            let waiting = w.waiting[parity] > 0;
            drop(w);
            if waiting {
                // One wake-up call per batch, for the publishers it released.
                self.written_cv[parity].notify_all();
            }
        }
    }

    /// Commits `batch`; wakes the relay, or logs and counts every row.
    fn write_batch(&self, batch: &[Row]) {
        match self.store.write(batch) {
            Ok(()) => {
                crate::metrics::record::outbox_committed(batch.len());
                self.wake.notify();
            }
            Err(error) => self.failures.batch(batch, error),
        }
    }

    /// [`CommitQueue::write_batch`] from a publisher's thread.
    fn write_batch_off_runtime(&self, batch: &[Row]) {
        off_runtime(|| self.write_batch(batch));
    }
}
