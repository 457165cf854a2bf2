//! The SQLite outbox file: opening it (WAL, migrations), group commits of
//! published events, and the relay's updates.
//!
//! **Group commit.** Each publisher hands its row to the store and waits
//! until a transaction holding it has committed. The first publisher to
//! find no commit running becomes the leader: it takes every row queued so
//! far, writes them in one transaction and wakes the others; rows queued
//! meanwhile go in the next transaction, led by one of their publishers. So
//! one publisher pays one commit per event, and many concurrent publishers
//! share each commit. Every write of this process (publishers and relay)
//! goes through one connection, serialized by a mutex rather than by
//! SQLite's busy-wait sleeps.

use super::config::{Durability, OutboxConfig};
use super::row::Row;
use super::stats::{self, OutboxStats};
use super::{schema, OutboxError};
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The outbox of one process.
pub(crate) struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    group: Mutex<Group>,
    committed_cv: Condvar,
    /// Wakes the relay after a commit.
    pub(crate) wake: Wake,
    pub(crate) not_committed: AtomicU64,
    last_error: Mutex<Option<Arc<OutboxError>>>,
}

#[derive(Default)]
struct Group {
    queue: Vec<Row>,
    /// The batch the queued rows belong to.
    filling: u64,
    /// The last batch written (committed or failed).
    done: u64,
    committing: bool,
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
        let reader = connect(config)?;
        tracing::info!(target: "onex_events::outbox", path = %path.display(), "outbox open");
        Ok(Store {
            path,
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            group: Mutex::new(Group {
                filling: 1,
                ..Group::default()
            }),
            committed_cv: Condvar::new(),
            wake: Wake::default(),
            not_committed: AtomicU64::new(0),
            last_error: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits `row`, sharing the transaction with concurrent callers;
    /// returns once it is committed (or known to have failed: then it is
    /// logged and counted).
    pub fn commit(&self, row: Row) {
        let mut g = lock(&self.group);
        g.queue.push(row);
        let mine = g.filling;
        while g.done < mine {
            if g.committing {
                g = self.committed_cv.wait(g).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            g.committing = true;
            if g.queue.len() < 8 {
                // Publishers just woken by the last commit are about to
                // queue: let them join this transaction.
                drop(g);
                std::thread::yield_now();
                g = lock(&self.group);
            }
            let batch = std::mem::take(&mut g.queue);
            let number = g.filling;
            g.filling += 1;
            drop(g);
            let n = batch.len();
            let written = catch_unwind(AssertUnwindSafe(|| self.write_batch(batch)));
            if written.is_err() {
                // Never leave the others waiting for a leader that is gone.
                self.not_committed.fetch_add(n as u64, Ordering::Relaxed);
                tracing::error!(target: "onex_events::outbox", events = n, "outbox commit panicked; events not committed");
            }
            g = lock(&self.group);
            g.committing = false;
            g.done = number;
            self.committed_cv.notify_all();
        }
    }

    fn write_batch(&self, batch: Vec<Row>) {
        let result = {
            let mut conn = lock(&self.writer);
            write_rows(&mut conn, &batch)
        };
        match result {
            Ok(()) => {
                self.wake.notify();
            }
            Err(e) => {
                let error = Arc::new(OutboxError::sqlite(&self.path, e));
                for row in &batch {
                    self.log_not_committed(row, &error);
                }
                self.set_error(error);
            }
        }
    }

    /// Logs an event that could not be committed, with its envelope, and
    /// counts it: never dropped silently.
    pub fn log_not_committed(&self, row: &Row, error: &OutboxError) {
        self.not_committed.fetch_add(1, Ordering::Relaxed);
        log_not_committed(&row.id, &row.event_type, &row.payload, error);
    }

    pub fn set_error(&self, error: Arc<OutboxError>) {
        *lock(&self.last_error) = Some(error);
    }

    pub fn last_error(&self) -> Option<Arc<OutboxError>> {
        lock(&self.last_error).clone()
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
        s.not_committed = self.not_committed.load(Ordering::Relaxed);
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

/// The seed's fallback for an event the outbox could not take: the whole
/// envelope at `ERROR`, so it can be recovered from the logs.
pub(crate) fn log_not_committed(id: &str, event_type: &str, envelope: &str, error: &OutboxError) {
    tracing::error!(
        target: "onex_events::event",
        event_id = id,
        event_type,
        envelope,
        %error,
        "outbox unavailable, logging {event_type} event"
    );
}

/// Bumps a counter of `onex_outbox_counters`.
pub(crate) fn bump(tx: &Connection, name: &str, by: usize) -> rusqlite::Result<()> {
    if by > 0 {
        tx.prepare_cached("UPDATE onex_outbox_counters SET value = value + ?1 WHERE name = ?2")?
            .execute(params![by as i64, name])?;
    }
    Ok(())
}
