//! [`PgOutboxSink`]: the [`Sink`] of a PostgreSQL outbox. `publish` of an
//! operation's end event returns only once it, and everything published
//! before it, is committed; a relay runs when configured.

use super::super::config::OutboxConfig;
use super::super::sink::Outbox;
use super::super::stats::OutboxStats;
use super::super::OutboxError;
use super::relay::PgRelayStore;
use super::store::{insert_rows, PgStore};
use crate::envelope::Event;
use crate::sink::{Blocking, Sink, SinkError};
use postgres::Transaction;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Commits each operation's events to a PostgreSQL outbox before the
/// operation returns; a relay thread (when the configuration has relay
/// settings) publishes committed events, sharing the table with the relays
/// of other processes. The guarantee is the SQLite outbox's (see the
/// [outbox documentation](crate::outbox)); see also the
/// [module documentation](super).
///
/// Cheap to clone: clones share the connection and the relay, which stops
/// when the last clone is dropped. Never fails or panics into the
/// operation: an event that cannot be committed (database unreachable…)
/// is logged at `ERROR` with its whole envelope, counted in
/// [`OutboxStats::not_committed`], and kept for [`PgOutboxSink::last_error`].
#[derive(Clone)]
pub struct PgOutboxSink {
    outbox: Arc<Outbox<PgStore>>,
}

impl PgOutboxSink {
    /// Connects to the database of [`OutboxConfig::postgres`], migrates the
    /// outbox schema and, when `config` has relay settings, starts a relay.
    /// The SQLite-only settings (durability, size limit) do not apply.
    pub fn open(config: OutboxConfig) -> Result<PgOutboxSink, OutboxError> {
        let url = config.postgres_url()?;
        let store = Arc::new(PgStore::open(url)?);
        let outbox = Outbox::start(&config, store, |store, _| {
            let keep = config
                .relay
                .as_ref()
                .is_some_and(|r| !r.retention.is_zero());
            let store = Arc::clone(store);
            super::super::off_runtime::off_runtime(|| PgRelayStore::new(store, keep))
        })?;
        Ok(PgOutboxSink {
            outbox: Arc::new(outbox),
        })
    }

    /// [`PgOutboxSink::open`], or, when that fails, a sink that logs the
    /// error once at `ERROR`, then logs and counts every event it receives
    /// (see [`PgOutboxSink::last_error`]). For callers that must not fail,
    /// like [`Publisher::from_env`](crate::Publisher::from_env).
    pub fn open_or_unavailable(config: OutboxConfig) -> PgOutboxSink {
        match PgOutboxSink::open(config.clone()) {
            Ok(sink) => sink,
            Err(error) => PgOutboxSink {
                outbox: Arc::new(Outbox::unavailable(&config, error)),
            },
        }
    }

    /// The totals of the outbox table (over every process).
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

    /// Wakes this process's relay now, e.g. after committing a transaction
    /// that wrote events (it otherwise finds them within its idle poll).
    pub fn notify(&self) {
        self.outbox.notify();
    }

    /// Runs `f`; every event this outbox receives **on this thread** while
    /// `f` runs is inserted into `tx` instead of being committed on its
    /// own. The events become durable, and visible to the relays, when the
    /// caller commits `tx`; they vanish with it on rollback.
    ///
    /// Run async operations inside `f` with a `block_on` on this thread;
    /// events of tasks spawned elsewhere are committed on their own as
    /// usual. Call [`PgOutboxSink::notify`] after committing.
    ///
    /// Errors when the events cannot be inserted; then roll `tx` back.
    ///
    /// ```no_run
    /// # fn f(outbox: onex_events::outbox::postgres::PgOutboxSink) -> Result<(), Box<dyn std::error::Error>> {
    /// use onex_events::outbox::postgres::postgres::{Client, NoTls};
    /// let mut client = Client::connect("postgres://postgres@127.0.0.1/app", NoTls)?;
    /// let mut tx = client.transaction()?;
    /// tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&42i64])?;
    /// outbox.within(&mut tx, || {
    ///     // Run annotated operations here: their events go into `tx`.
    /// })?;
    /// tx.commit()?; // the order and its events, atomically
    /// outbox.notify();
    /// # Ok(()) }
    /// ```
    pub fn within<R>(
        &self,
        tx: &mut Transaction<'_>,
        f: impl FnOnce() -> R,
    ) -> Result<R, OutboxError> {
        let (value, rows) = self.outbox.capturing(f);
        insert_rows(tx, &rows).map_err(OutboxError::postgres("inserting events"))?;
        Ok(value)
    }

    /// Inserts `event` into the caller's transaction `tx` (see
    /// [`PgOutboxSink::within`]), for events built by hand.
    pub fn insert(&self, tx: &mut Transaction<'_>, event: &Event) -> Result<(), OutboxError> {
        let row = self.outbox.encode(event)?;
        insert_rows(tx, std::slice::from_ref(&row))
            .map_err(OutboxError::postgres("inserting events"))
    }
}

impl Sink for PgOutboxSink {
    /// Queues an operation's `started`; commits any other event, and
    /// everything queued before it, before returning.
    fn publish(&self, event: Event) {
        self.outbox.publish(event);
    }

    /// [`Blocking::NetworkCommit`]: an end event waits for its commit.
    fn blocking(&self) -> Blocking {
        Blocking::NetworkCommit
    }

    /// Waits until no event is pending in the table (whichever relay
    /// delivers it). Without a relay in this process, returns once
    /// everything queued is committed. Then [`SinkError::Undelivered`] for
    /// the events this sink could not commit since the previous flush
    /// (logged instead; also when the database could not be reached at
    /// open) and, with a relay in this process, for those moved to the
    /// dead-letter table since then (by any relay on the table), with their
    /// counts and the last error.
    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        self.outbox.flush(timeout)
    }

    fn name(&self) -> &'static str {
        "outbox-postgres"
    }

    fn last_error(&self) -> Option<String> {
        PgOutboxSink::last_error(self).map(|e| e.to_string())
    }
}

impl fmt::Debug for PgOutboxSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgOutboxSink")
            .field("relay", &self.outbox.has_relay())
            .field("last_error", &self.last_error().map(|e| e.to_string()))
            .finish()
    }
}
