//! The SQLite outbox file: opening it (WAL, migrations), group commits of
//! published events, and the relay's updates.
//!
//! **Batched commits.** Publishers queue their rows; one committer thread
//! writes everything queued in one transaction (one prepared `INSERT` per
//! row), in queue order, and wakes the publishers of that batch with one
//! notify. A row nobody waits for (an operation's `started`) lingers at most
//! [`OutboxConfig::commit_linger`] to join a larger batch; a row a
//! publisher waits for (the operation's end event) is committed at once,
//! together with everything queued before it. Because batches are written
//! in queue order, when an end event is committed so is every event its
//! operation published before it. Every write of this process (committer
//! and relay) goes through one connection, serialized by a mutex rather
//! than by SQLite's busy-wait sleeps; the relay reads on its own.
//!
//! **Checkpoints.** With a relay, the relay's connection copies the WAL
//! into the database file (a passive checkpoint every 100 ms, beside the
//! writes); a checkpoint inside a commit would stall every publisher
//! waiting for it. The writer still checkpoints once the WAL reaches
//! 10,000 pages, so the WAL stays bounded if the relay falls behind.

use super::config::{Durability, OutboxConfig};
use super::failures::Failures;
use super::row::Row;
use super::stats::{self, OutboxStats};
use super::{schema, OutboxError};
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows the committer writes in one transaction at most… once it stops
/// lingering: a queue this long is committed at once.
const MAX_BATCH: usize = 4096;

/// The writer's `wal_autocheckpoint` when a relay checkpoints (SQLite's
/// default, used without a relay, is 1,000 pages).
const WRITER_CHECKPOINT_PAGES: i64 = 10_000;

/// How long the committer waits, once a publisher waits, for the others
/// released by the last batch to queue their rows too.
const GATHER: Duration = Duration::from_micros(300);

/// The outbox of one process.
pub(crate) struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
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
    /// Wakes the relay after a commit.
    pub(crate) wake: Arc<Wake>,
    pub(crate) failures: Failures,
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
    /// The committer has stopped: publishers write on their own thread.
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

/// The committer thread of a store; drains the queue and stops on drop.
pub(crate) struct Committer {
    store: Arc<Store>,
    handle: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts the thread that commits the rows queued on `store`.
    pub fn spawn(store: Arc<Store>, linger: Duration) -> Result<Committer, OutboxError> {
        let thread_store = Arc::clone(&store);
        let handle = std::thread::Builder::new()
            .name("onex-outbox-commit".to_owned())
            .spawn(move || {
                let run = catch_unwind(AssertUnwindSafe(|| thread_store.run_committer(linger)));
                if run.is_err() {
                    tracing::error!(target: "onex_events::outbox", "the outbox commit thread panicked; publishers commit on their own thread");
                    thread_store.stop_committer();
                }
            })
            .map_err(|source| OutboxError::Thread {
                what: "commit",
                source,
            })?;
        Ok(Committer {
            store,
            handle: Some(handle),
        })
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        lock(&self.store.queue).stopping = true;
        self.store.work_cv.notify_one();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        self.store.stop_committer();
    }
}

/// A flag and condition variable: "there may be new rows".
#[derive(Default)]
pub(crate) struct Wake {
    dirty: Mutex<bool>,
    cv: Condvar,
}

impl Wake {
    pub fn notify(&self) {
        *lock(&self.dirty) = true;
        self.cv.notify_one();
    }

    /// Waits until notified or `timeout`; clears the flag.
    pub fn wait(&self, timeout: Duration) {
        let dirty = lock(&self.dirty);
        let (mut dirty, _) = self
            .cv
            .wait_timeout_while(dirty, timeout, |d| !*d)
            .unwrap_or_else(|e| e.into_inner());
        *dirty = false;
    }
}

/// Locks a mutex, also after a holder panicked (the data stays usable:
/// every critical section here leaves it consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Opens a connection to the outbox at `config.path` with the outbox's
/// settings (WAL, durability, busy timeout, size limit).
pub(crate) fn connect(config: &OutboxConfig) -> Result<Connection, OutboxError> {
    let path = &config.path;
    let err = |e| OutboxError::sqlite(path, e);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // Reads the header: fails here on a file that is not a database.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(target: "onex_events::outbox", path = %path.display(), mode, "outbox not in WAL mode");
    }
    let synchronous = match config.durability {
        Durability::Process => "NORMAL",
        Durability::PowerLoss => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(err)?;
    // Default `cache_size` and `temp_store`: larger values measured no
    // better (a reader's cache is dropped whenever the writer commits). No
    // `mmap_size`: a memory map turns an I/O error of a damaged or full disk
    // into a SIGBUS. `wal_autocheckpoint`: see `Store::open`.
    // After a checkpoint, truncate a WAL that grew beyond this.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
        .map_err(err)?;
    if let Some(bytes) = config.max_size_bytes {
        let page_size: i64 = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .map_err(err)?;
        let pages = i64::try_from(bytes).unwrap_or(i64::MAX) / page_size.max(1);
        conn.pragma_update(None, "max_page_count", pages.max(1))
            .map_err(err)?;
    }
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) and migrates the outbox, and checks that
    /// it can be written.
    pub fn open(config: &OutboxConfig) -> Result<Store, OutboxError> {
        let path = config.path.clone();
        let mut writer = connect(config)?;
        match schema::migrate(&mut writer).map_err(|e| OutboxError::sqlite(&path, e))? {
            Ok(_) => {}
            Err(schema::TooNew { found }) => {
                return Err(OutboxError::SchemaTooNew {
                    path,
                    found,
                    supported: schema::VERSION,
                })
            }
        }
        // Catches a damaged file early rather than at the first event.
        let check: String = writer
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(|e| OutboxError::sqlite(&path, e))?;
        if check != "ok" {
            return Err(OutboxError::Corrupt {
                path,
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                    Some(check),
                ),
            });
        }
        if config.kafka.is_some() {
            // The relay checkpoints, off the commit path (a checkpoint in a
            // commit stalls every publisher waiting for it); the writer's
            // own checkpoint only bounds the WAL should the relay fall behind.
            writer
                .pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
                .map_err(|e| OutboxError::sqlite(&path, e))?;
        }
        let reader = connect(config)?;
        tracing::info!(target: "onex_events::outbox", path = %path.display(), "outbox open");
        Ok(Store {
            path,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            queue: Mutex::new(Queue {
                filling: 1,
                want: 1,
                ..Queue::default()
            }),
            work_cv: Condvar::new(),
            written: Mutex::new(Written::default()),
            written_cv: [Condvar::new(), Condvar::new()],
            wake: Arc::default(),
            failures: Failures::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `row` for the committer thread. With `wait`, returns once
    /// it, and every row queued before it, is written (committed, or known
    /// to have failed: then logged and counted); without, returns at once.
    pub fn commit(&self, row: Row, wait: bool) {
        let mut q = lock(&self.queue);
        if q.stopped {
            // No committer any more (the sink is being dropped): write here.
            drop(q);
            self.write_batch(&[row]);
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

    /// Waits until every row queued so far is written.
    pub fn sync(&self) {
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

    /// Publishers write on their own thread from now on.
    fn stop_committer(&self) {
        let rest = {
            let mut q = lock(&self.queue);
            q.stopped = true;
            std::mem::take(&mut q.rows)
        };
        if !rest.is_empty() {
            self.write_batch(&rest);
        }
        lock(&self.written).stopped = true;
        for cv in &self.written_cv {
            cv.notify_all();
        }
    }

    /// The committer thread: writes the queued rows in batches, one
    /// transaction each, in queue order. Commits at once when a publisher
    /// waits; otherwise lingers up to `linger` to gather a larger batch.
    fn run_committer(&self, linger: Duration) {
        let mut batch: Vec<Row> = Vec::new();
        loop {
            let mut q = lock(&self.queue);
            // Rows nobody waits for are committed within one linger period
            // (from the last commit, or from waking up for them).
            let mut until = Instant::now() + linger;
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
                    self.stop_committer();
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
                    until = Instant::now() + linger;
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

    fn write_batch(&self, batch: &[Row]) {
        let result = {
            let mut conn = lock(&self.writer);
            write_rows(&mut conn, batch)
        };
        match result {
            Ok(()) => {
                self.wake.notify();
            }
            Err(e) => self
                .failures
                .batch(batch, OutboxError::sqlite(&self.path, e)),
        }
    }

    /// Runs `f` in an immediate transaction on the write connection.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let mut conn = lock(&self.reader);
        let mut s = stats::read(&mut conn).map_err(|e| OutboxError::sqlite(&self.path, e))?;
        s.not_committed = self.failures.not_committed();
        Ok(s)
    }
}

/// Inserts `rows` in one immediate transaction.
pub(crate) fn write_rows(conn: &mut Connection, rows: &[Row]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for row in rows {
        row.insert(&tx)?;
    }
    tx.commit()
}

/// Bumps a counter of `onex_outbox_counters`.
pub(crate) fn bump(tx: &Connection, name: &str, by: usize) -> rusqlite::Result<()> {
    if by > 0 {
        tx.prepare_cached("UPDATE onex_outbox_counters SET value = value + ?1 WHERE name = ?2")?
            .execute(params![by as i64, name])?;
    }
    Ok(())
}
