//! The SQLite outbox file: opening it (WAL, migrations), the committer's
//! writes and the relay's, and the totals.
//!
//! Every write of this process (the group committer's and the relay's)
//! goes through one connection, serialized by a mutex rather than by
//! SQLite's busy-wait sleeps; the relay reads on its own connection.
//!
//! **Checkpoints.** With a relay, its recorder copies the WAL into the
//! database file (a passive checkpoint every 100 ms, beside the writes; see
//! `recorder.rs`). The writer still checkpoints once the WAL reaches
//! 10,000 pages, so the WAL stays bounded if the relay falls behind.

use super::super::clock::{deadline_after, now_ms};
use super::super::config::{Durability, OutboxConfig};
use super::super::lock::lock;
use super::super::row::Row;
use super::super::stats::OutboxStats;
use super::super::store::Store;
use super::super::OutboxError;
use super::schema;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a connection waits for another process's write lock, and
/// opening waits for its turn.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The writer's `wal_autocheckpoint` when a relay checkpoints (SQLite's
/// default, used without a relay, is 1,000 pages).
const WRITER_CHECKPOINT_PAGES: i64 = 10_000;

/// The SQLite outbox of one process.
pub(crate) struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Commits waiting for `writer`: the relay's writes step aside for them.
    commits_waiting: AtomicUsize,
    /// When this process's publishers last committed (Unix ms).
    last_commit_ms: AtomicI64,
    reader: Mutex<Connection>,
}

/// Runs `open` until it succeeds or fails other than by SQLite's
/// "database is busy/locked" (another process opening, migrating or
/// writing the file: not every step of opening waits in SQLite's busy
/// handler, e.g. switching to WAL), for up to [`BUSY_TIMEOUT`].
fn retry_busy<T>(
    path: &Path,
    mut open: impl FnMut() -> Result<T, OutboxError>,
) -> Result<T, OutboxError> {
    let deadline = deadline_after(BUSY_TIMEOUT);
    let mut pause = Duration::from_millis(2);
    loop {
        match open() {
            Err(error) if error.is_busy() && Instant::now() < deadline => {
                tracing::debug!(target: "onex_events::outbox", path = %path.display(), %error, "outbox busy while opening; waiting for its turn");
                std::thread::sleep(pause);
                pause = pause.saturating_mul(2).min(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

/// Opens a connection to the outbox at `path` with the outbox's
/// settings (WAL, durability, busy timeout, size limit), waiting its turn
/// while another process holds the file's lock.
pub(crate) fn connect(path: &Path, config: &OutboxConfig) -> Result<Connection, OutboxError> {
    retry_busy(path, || connect_once(path, config))
}

fn connect_once(path: &Path, config: &OutboxConfig) -> Result<Connection, OutboxError> {
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
    // into a SIGBUS. `wal_autocheckpoint`: see `SqliteStore::open`.
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

impl SqliteStore {
    /// Opens (creating if needed) and migrates the outbox at `path`, and
    /// checks that it can be written. Several processes may open one file
    /// at once: each waits its turn (up to [`BUSY_TIMEOUT`]) rather than
    /// failing with "database is locked".
    pub fn open(path: &Path, config: &OutboxConfig) -> Result<SqliteStore, OutboxError> {
        retry_busy(path, || Self::open_once(path, config))
    }

    fn open_once(path: &Path, config: &OutboxConfig) -> Result<SqliteStore, OutboxError> {
        let mut writer = connect(path, config)?;
        schema::migrate(&mut writer)?;
        let err = |e| OutboxError::sqlite(path, e);
        // A read-only file fails here rather than at the first event (a
        // migrated file needs no other write to open).
        let tx = writer
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute(
            "UPDATE onex_outbox_counters SET value = value WHERE name = 'delivered'",
            [],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        // Catches a damaged file early rather than at the first event.
        let check: String = writer
            .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
            .map_err(err)?;
        if check != "ok" {
            return Err(OutboxError::Corrupt {
                path: path.to_owned(),
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                    Some(check),
                ),
            });
        }
        if config.relay.is_some() {
            // The relay checkpoints, off the commit path (a checkpoint in a
            // commit stalls every publisher waiting for it); the writer's
            // own checkpoint only bounds the WAL should the relay fall behind.
            writer
                .pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)
                .map_err(err)?;
        }
        let reader = connect(path, config)?;
        tracing::info!(target: "onex_events::outbox", path = %path.display(), "outbox open");
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            commits_waiting: AtomicUsize::new(0),
            last_commit_ms: AtomicI64::new(0),
            reader: Mutex::new(reader),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in an immediate transaction on the write connection.
    pub fn write_with<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, OutboxError> {
        let mut conn = lock(&self.writer);
        self.transaction(&mut conn, f)
    }

    /// Whether this process's publishers committed within the last
    /// `window_ms` milliseconds.
    pub fn committed_within(&self, window_ms: i64) -> bool {
        now_ms() - self.last_commit_ms.load(Ordering::Relaxed) < window_ms
    }

    /// [`SqliteStore::write_with`] for the relay: lets the commits waiting
    /// for the write connection go first (the mutex is not fair: a relay
    /// writing chunk after chunk would otherwise keep publishers waiting).
    pub fn write_after_commits<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, OutboxError> {
        while self.commits_waiting.load(Ordering::Acquire) > 0 {
            std::thread::yield_now();
        }
        self.write_with(f)
    }

    fn transaction<T>(
        &self,
        conn: &mut Connection,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, OutboxError> {
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        result.map_err(|e| OutboxError::sqlite(&self.path, e))
    }
}

impl Store for SqliteStore {
    fn write(&self, rows: &[Row]) -> Result<(), OutboxError> {
        self.commits_waiting.fetch_add(1, Ordering::AcqRel);
        let mut conn = lock(&self.writer);
        self.commits_waiting.fetch_sub(1, Ordering::AcqRel);
        // Another process writing the file for longer than the busy
        // timeout: wait another turn rather than lose the events.
        let written = retry_busy(&self.path, || {
            self.transaction(&mut conn, |tx| insert_rows(tx, rows))
        });
        self.last_commit_ms.store(now_ms(), Ordering::Relaxed);
        written
    }

    fn stats(&self) -> Result<OutboxStats, OutboxError> {
        read_stats(&mut lock(&self.reader)).map_err(|e| OutboxError::sqlite(&self.path, e))
    }
}

/// Inserts `rows` (in order) on `conn`, in the caller's transaction.
pub(crate) fn insert_rows(conn: &Connection, rows: &[Row]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO onex_outbox
             (id, aggregatetype, aggregateid, type, payload, topic, headers, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for row in rows {
        stmt.execute(params![
            row.id,
            row.aggregatetype,
            row.aggregateid,
            row.event_type,
            row.payload,
            row.topic,
            row.headers,
            row.created_at,
        ])?;
    }
    Ok(())
}

/// Bumps a counter of `onex_outbox_counters`.
pub(crate) fn bump(tx: &Connection, name: &str, by: usize) -> rusqlite::Result<()> {
    if by > 0 {
        tx.prepare_cached("UPDATE onex_outbox_counters SET value = value + ?1 WHERE name = ?2")?
            .execute(params![by as i64, name])?;
    }
    Ok(())
}

/// Reads the totals in one read transaction, so they add up. Committed =
/// the `AUTOINCREMENT` high-water mark of `seq`.
fn read_stats(conn: &mut Connection) -> rusqlite::Result<OutboxStats> {
    let tx = conn.transaction()?;
    let committed: Option<i64> = tx
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'onex_outbox'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let counter = |name: &str| -> rusqlite::Result<i64> {
        tx.query_row(
            "SELECT value FROM onex_outbox_counters WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
    };
    let delivered = counter("delivered")?;
    let dead = counter("dead")?;
    let pending: i64 = tx.query_row(
        "SELECT count(*) FROM onex_outbox WHERE status = 0",
        [],
        |r| r.get(0),
    )?;
    let to_u64 = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(OutboxStats {
        committed: to_u64(committed.unwrap_or(0)),
        delivered: to_u64(delivered),
        pending: to_u64(pending),
        dead: to_u64(dead),
        not_committed: 0,
        sent_unrecorded: 0,
    })
}
