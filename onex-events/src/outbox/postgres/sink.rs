//! [`PgOutboxSink`]: a [`Sink`] that commits each event to a PostgreSQL
//! outbox before `publish` returns, and runs a relay when configured.

use super::super::config::OutboxConfig;
use super::super::relay::Relay;
use super::super::row::Row;
use super::super::stats::OutboxStats;
use super::super::{transaction, OutboxError};
use super::relay::PgRelayStore;
use super::store::{insert_rows, off_runtime, PgCommitter, PgStore};
use crate::envelope::Event;
use crate::kafka::TopicRouting;
use crate::sink::{Sink, SinkError};
use postgres::GenericClient;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Commits each event to a PostgreSQL outbox before `publish` returns; a
/// relay thread (when the configuration names a Kafka cluster) publishes
/// committed events, sharing the table with the relays of other processes.
/// See the [module documentation](super).
///
/// Cheap to clone: clones share the connection and the relay, which stops
/// when the last clone is dropped. Never fails or panics into the
/// operation: an event that cannot be committed (database unreachable…)
/// is logged at `ERROR` with its whole envelope, counted in
/// [`OutboxStats::not_committed`], and kept for [`PgOutboxSink::last_error`].
#[derive(Clone)]
pub struct PgOutboxSink {
    inner: Arc<Inner>,
}

struct Inner {
    // Dropped first: stops the relay.
    relay: Option<Relay>,
    // Then: commits what is queued, and stops.
    _committer: PgCommitter,
    routing: TopicRouting,
    store: Arc<PgStore>,
}

impl PgOutboxSink {
    /// Connects to `url` (e.g. `postgres://user@host:5432/db`, no TLS),
    /// migrates the outbox schema and, when `config` names a Kafka cluster,
    /// starts a relay. Every setting of `config` applies except the
    /// SQLite-only ones (path, durability, size limit, commit linger).
    pub fn open(url: &str, config: OutboxConfig) -> Result<PgOutboxSink, OutboxError> {
        let (store, writer) = off_runtime(|| PgStore::open(url))?;
        let store = Arc::new(store);
        let committer = PgCommitter::spawn(Arc::clone(&store), writer)?;
        let relay = match &config.kafka {
            Some(kafka) => {
                let keep = !config.retention.is_zero();
                let relay_store = off_runtime(|| PgRelayStore::new(Arc::clone(&store), keep))?;
                Some(Relay::spawn(&config, kafka, relay_store)?)
            }
            None => None,
        };
        let routing = config
            .kafka
            .as_ref()
            .map(|k| k.topic_routing().clone())
            .unwrap_or_default();
        Ok(PgOutboxSink {
            inner: Arc::new(Inner {
                relay,
                _committer: committer,
                routing,
                store,
            }),
        })
    }

    /// The totals of the outbox table (over every process).
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        self.inner.store.stats()
    }

    /// Events this sink could not commit (logged instead).
    pub fn not_committed(&self) -> u64 {
        self.inner.store.failures.not_committed()
    }

    /// The last error: why the last commit or relay cycle failed.
    pub fn last_error(&self) -> Option<Arc<OutboxError>> {
        self.inner.store.failures.last_error()
    }

    /// Wakes this process's relay now, e.g. after committing a transaction
    /// that wrote events (it otherwise finds them within its idle poll).
    pub fn notify(&self) {
        self.inner.store.wake.notify();
    }

    /// Runs `f`; every event this outbox receives **on this thread** while
    /// `f` runs is inserted into `tx` (a `postgres::Transaction`, or a
    /// `Client` in a transaction you opened) instead of being committed on
    /// its own. The events become durable, and visible to the relays, when
    /// the caller commits `tx`; they vanish with it on rollback.
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
        tx: &mut impl GenericClient,
        f: impl FnOnce() -> R,
    ) -> Result<R, OutboxError> {
        let (value, rows) = transaction::capturing(self.id(), f);
        insert_rows(tx, &rows).map_err(OutboxError::postgres("inserting events"))?;
        Ok(value)
    }

    /// Inserts `event` into the caller's transaction `tx` (see
    /// [`PgOutboxSink::within`]), for events built by hand.
    pub fn insert(&self, tx: &mut impl GenericClient, event: &Event) -> Result<(), OutboxError> {
        let row = Row::encode(event, &self.inner.routing).map_err(OutboxError::Encode)?;
        insert_rows(tx, std::slice::from_ref(&row))
            .map_err(OutboxError::postgres("inserting events"))
    }

    fn encode(&self, event: &Event) -> Option<Row> {
        match Row::encode(event, &self.inner.routing) {
            Ok(row) => Some(row),
            Err(e) => {
                tracing::error!(target: "onex_events::outbox", event_id = %event.event_id, error = %e, "cannot serialize the envelope; event not committed");
                None
            }
        }
    }

    /// Identifies this outbox for the transaction capture.
    fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }
}

impl Sink for PgOutboxSink {
    fn publish(&self, event: Event) {
        let Some(row) = self.encode(&event) else {
            self.inner.store.failures.count(1);
            return;
        };
        if let Some(row) = transaction::capture(self.id(), row) {
            self.inner.store.commit(row);
        }
    }

    /// Waits until no event is pending in the table (whichever relay
    /// delivers it). Without a relay in this process, returns at once.
    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        if self.inner.relay.is_none() {
            return Ok(());
        }
        crate::outbox::stats::wait_until_drained(timeout, || self.stats())
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
            .field("relay", &self.inner.relay.is_some())
            .field("last_error", &self.last_error().map(|e| e.to_string()))
            .finish()
    }
}
