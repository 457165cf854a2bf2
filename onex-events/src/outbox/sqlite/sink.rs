//! [`OutboxSink`]: the [`Sink`] of a SQLite outbox. `publish` of an
//! operation's end event returns only once it, and everything published
//! before it, is committed, so every event of an annotated operation is
//! durable before the operation returns (see the
//! [module documentation](crate::outbox)).

use super::super::config::OutboxConfig;
use super::super::sink::Outbox;
use super::super::stats::OutboxStats;
use super::super::OutboxError;
use super::relay::SqliteRelayStore;
use super::store::{insert_rows, SqliteStore};
use crate::envelope::Event;
use crate::sink::{Blocking, Sink, SinkError};
use rusqlite::Transaction;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Commits each operation's events to a SQLite outbox before the operation
/// returns; a relay thread (when the configuration has relay settings)
/// publishes the committed events. The exact guarantee is in the
/// [module documentation](crate::outbox).
///
/// Cheap to clone: clones share the outbox and the relay, which stops when
/// the last clone is dropped (what it has not delivered stays in the file
/// for the next start).
///
/// Never fails or panics into the operation: an event that cannot be
/// committed (full or read-only disk, damaged file) is logged at `ERROR`
/// with its whole envelope (target `onex_events::event`), counted in
/// [`OutboxStats::not_committed`], and the error is kept for
/// [`OutboxSink::last_error`] (and [`Publisher::last_error`](crate::Publisher::last_error)).
#[derive(Clone)]
pub struct OutboxSink {
    outbox: Arc<Outbox<SqliteStore>>,
}

impl OutboxSink {
    /// Opens (creating and migrating) the SQLite outbox of
    /// [`OutboxConfig::sqlite`] and, when `config` has relay settings,
    /// starts its relay.
    pub fn open(config: OutboxConfig) -> Result<OutboxSink, OutboxError> {
        let path = config.sqlite_path()?;
        let store = Arc::new(SqliteStore::open(path, &config)?);
        let outbox = Outbox::start(&config, store, |store, failures| {
            SqliteRelayStore::new(&config, store, failures)
        })?;
        Ok(OutboxSink {
            outbox: Arc::new(outbox),
        })
    }

    /// [`OutboxSink::open`], or, when that fails, a sink that logs the
    /// error once at `ERROR`, then logs and counts every event it receives
    /// (see [`OutboxSink::last_error`]). For callers that must not fail,
    /// like [`Publisher::from_env`](crate::Publisher::from_env).
    pub fn open_or_unavailable(config: OutboxConfig) -> OutboxSink {
        match OutboxSink::open(config.clone()) {
            Ok(sink) => sink,
            Err(error) => OutboxSink::unavailable(&config, error),
        }
    }

    /// The sink of an outbox that could not be opened because of `error`.
    pub(crate) fn unavailable(config: &OutboxConfig, error: OutboxError) -> OutboxSink {
        OutboxSink {
            outbox: Arc::new(Outbox::unavailable(config, error)),
        }
    }

    /// The totals of the outbox file.
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        self.outbox.stats()
    }

    /// Events this sink could not commit (logged instead).
    pub fn not_committed(&self) -> u64 {
        self.outbox.not_committed()
    }

    /// The last error of the outbox: why it could not be opened, or why the
    /// last commit or relay cycle failed. `None` while all is well.
    pub fn last_error(&self) -> Option<Arc<OutboxError>> {
        self.outbox.last_error()
    }

    /// Wakes the relay now, e.g. after committing a transaction that wrote
    /// events (it otherwise finds them within its idle poll interval).
    pub fn notify(&self) {
        self.outbox.notify();
    }

    /// The outbox file, when open.
    pub fn path(&self) -> Option<&Path> {
        self.outbox.store().map(|s| s.path())
    }

    /// Runs `f`; every event this outbox receives **on this thread** while
    /// `f` runs is written into `tx` instead of being committed on its own.
    /// The events become durable, and visible to the relay, when the caller
    /// commits `tx`; they vanish with it on rollback.
    ///
    /// `tx` must be a transaction on the outbox's own SQLite file (open it
    /// yourself: the schema exists once [`OutboxSink::open`] ran). Run async
    /// operations inside `f` with a `block_on` on this thread; events of
    /// tasks spawned elsewhere are committed on their own as usual. Call
    /// [`OutboxSink::notify`] after committing to wake the relay at once.
    ///
    /// Errors when the events cannot be written to `tx`; then roll `tx` back.
    ///
    /// ```no_run
    /// use onex_events::outbox::{OutboxConfig, OutboxSink};
    /// use onex_events::outbox::sqlite::rusqlite::Connection;
    ///
    /// let outbox = OutboxSink::open(OutboxConfig::sqlite("app.db"))?;
    /// let mut conn = Connection::open("app.db")?; // the same file: one database
    /// let tx = conn.transaction()?;
    /// tx.execute("INSERT INTO orders (id) VALUES (?1)", [42])?;
    /// outbox.within(&tx, || {
    ///     // Run annotated operations here (e.g. `block_on(node.place(42))`):
    ///     // the events they publish on this thread go into `tx`.
    /// })?;
    /// tx.commit()?; // the order and its events, atomically
    /// outbox.notify();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn within<R>(&self, tx: &Transaction<'_>, f: impl FnOnce() -> R) -> Result<R, OutboxError> {
        let (value, rows) = self.outbox.capturing(f);
        insert_rows(tx, &rows).map_err(|e| error_on(tx, e))?;
        Ok(value)
    }

    /// Writes `event` into the caller's transaction `tx` (see
    /// [`OutboxSink::within`]), for events built by hand.
    pub fn insert(&self, tx: &Transaction<'_>, event: &Event) -> Result<(), OutboxError> {
        let row = self.outbox.encode(event)?;
        insert_rows(tx, std::slice::from_ref(&row)).map_err(|e| error_on(tx, e))
    }
}

/// An SQLite error on the caller's transaction `tx`.
fn error_on(tx: &Transaction<'_>, e: rusqlite::Error) -> OutboxError {
    OutboxError::sqlite(Path::new(tx.path().unwrap_or_default()), e)
}

impl Sink for OutboxSink {
    /// Queues an operation's `started`; commits any other event, and
    /// everything queued before it, before returning.
    fn publish(&self, event: Event) {
        self.outbox.publish(event);
    }

    /// [`Blocking::LocalCommit`]: an end event waits for its commit.
    fn blocking(&self) -> Blocking {
        Blocking::LocalCommit
    }

    /// Waits until the relay has delivered every committed event (none
    /// pending). Without a relay in this process, returns once everything
    /// queued is committed: another process relays it. Then
    /// [`SinkError::Undelivered`] for the events this sink could not
    /// commit since the previous flush (logged instead; also every event
    /// of an outbox that could not be opened) and, with a relay in this
    /// process, for those moved to the dead-letter table since then, with
    /// their counts and the last error.
    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        self.outbox.flush(timeout)
    }

    fn name(&self) -> &'static str {
        "outbox"
    }

    fn last_error(&self) -> Option<String> {
        OutboxSink::last_error(self).map(|e| e.to_string())
    }
}

impl fmt::Debug for OutboxSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxSink")
            .field("path", &self.path())
            .field("relay", &self.outbox.has_relay())
            .field("last_error", &self.last_error().map(|e| e.to_string()))
            .finish()
    }
}
