//! [`OutboxSink`]: a [`Sink`] whose `publish` of an operation's end event
//! returns only once it, and everything published before it, is committed
//! to the outbox, so every event of an annotated operation is durable
//! before the operation returns (see the [module documentation](super)).

use super::config::{location_in_env, Location, OutboxConfig};
use super::failures::Failures;
use super::relay::Relay;
use super::row::Row;
use super::sqlite_relay::SqliteRelayStore;
use super::stats::OutboxStats;
use super::store::{Committer, Store};
use super::{transaction, OutboxError};
use crate::envelope::Event;
use crate::event_type::Stage;
use crate::kafka::TopicRouting;
use crate::sink::{Sink, SinkError};
use crate::Publisher;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Commits each operation's events to a SQLite outbox before the operation
/// returns; a relay thread (when the configuration names a Kafka cluster)
/// publishes the committed events. The exact guarantee is in the
/// [module documentation](super).
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
    inner: Arc<Inner>,
}

struct Inner {
    routing: TopicRouting,
    backend: Backend,
    has_relay: bool,
    // Dropped first: commits what is queued, then stops.
    _committer: Option<Committer>,
    // Dropped before `backend`: stops the relay.
    _relay: Option<Relay>,
}

enum Backend {
    Open(Arc<Store>),
    /// The outbox could not be opened (the error is `failures`' last):
    /// events are logged and counted.
    Unavailable(Failures),
}

impl OutboxSink {
    /// Opens (creating and migrating) the outbox and, when `config` names
    /// a Kafka cluster, starts its relay.
    pub fn open(config: OutboxConfig) -> Result<OutboxSink, OutboxError> {
        let store = Arc::new(Store::open(&config)?);
        let committer = Committer::spawn(Arc::clone(&store), config.commit_linger)?;
        let relay = match &config.kafka {
            Some(kafka) => {
                let relay_store = SqliteRelayStore::new(&config, Arc::clone(&store))?;
                Some(Relay::spawn(&config, kafka, relay_store)?)
            }
            None => None,
        };
        Ok(OutboxSink {
            inner: Arc::new(Inner {
                routing: routing(&config),
                has_relay: relay.is_some(),
                _committer: Some(committer),
                _relay: relay,
                backend: Backend::Open(store),
            }),
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

    /// The sink of an outbox that could not be opened because of `error`:
    /// logs `error` once at `ERROR`, then logs and counts every event it
    /// receives. The fallback of every outbox [`Publisher::from_env`] cannot
    /// open (SQLite or PostgreSQL).
    pub(crate) fn unavailable(config: &OutboxConfig, error: OutboxError) -> OutboxSink {
        tracing::error!(
            target: "onex_events::outbox",
            %error,
            "cannot open the outbox; events will be logged, not delivered"
        );
        OutboxSink {
            inner: Arc::new(Inner {
                routing: routing(config),
                has_relay: false,
                _committer: None,
                _relay: None,
                backend: Backend::Unavailable(Failures::unavailable(error)),
            }),
        }
    }

    /// The totals of the outbox file.
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        match &self.inner.backend {
            Backend::Open(store) => store.stats(),
            Backend::Unavailable(failures) => match failures.last_error() {
                Some(error) => Err(OutboxError::Unavailable(error)),
                None => Ok(OutboxStats::default()),
            },
        }
    }

    /// Events this sink could not commit (logged instead).
    pub fn not_committed(&self) -> u64 {
        self.failures().not_committed()
    }

    /// The last error of the outbox: why it could not be opened, or why the
    /// last commit or relay cycle failed. `None` while all is well.
    pub fn last_error(&self) -> Option<Arc<OutboxError>> {
        self.failures().last_error()
    }

    fn failures(&self) -> &Failures {
        match &self.inner.backend {
            Backend::Open(store) => &store.failures,
            Backend::Unavailable(failures) => failures,
        }
    }

    /// The outbox file, when open.
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.backend {
            Backend::Open(store) => Some(store.path()),
            Backend::Unavailable(_) => None,
        }
    }

    /// Wakes the relay now, e.g. after committing a transaction that wrote
    /// events (it otherwise finds them within its idle poll interval).
    pub fn notify(&self) {
        if let Backend::Open(store) = &self.inner.backend {
            store.wake.notify();
        }
    }

    pub(crate) fn routing(&self) -> &TopicRouting {
        &self.inner.routing
    }

    /// Identifies this outbox for the transaction capture.
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }
}

/// The outbox publisher of [`Publisher::from_env`] for `config`: the
/// PostgreSQL outbox when `ONEX_OUTBOX_URL` names one, the SQLite file
/// otherwise. Never fails: an outbox that cannot be opened (or a PostgreSQL
/// URL without the feature `outbox-postgres`) gives the unavailable sink of
/// [`OutboxSink::open_or_unavailable`].
pub(crate) fn open_from_env(config: OutboxConfig) -> Publisher {
    match location_in_env() {
        Ok(Location::Sqlite) => Publisher::new(OutboxSink::open_or_unavailable(config)),
        Ok(Location::Postgres(url)) => open_postgres(&url, config),
        Err(error) => Publisher::new(OutboxSink::unavailable(&config, error)),
    }
}

#[cfg(feature = "outbox-postgres")]
fn open_postgres(url: &str, config: OutboxConfig) -> Publisher {
    match super::postgres::PgOutboxSink::open(url, config.clone()) {
        Ok(sink) => Publisher::new(sink),
        Err(error) => Publisher::new(OutboxSink::unavailable(&config, error)),
    }
}

#[cfg(not(feature = "outbox-postgres"))]
fn open_postgres(_url: &str, config: OutboxConfig) -> Publisher {
    Publisher::new(OutboxSink::unavailable(
        &config,
        OutboxError::PostgresNotEnabled,
    ))
}

fn routing(config: &OutboxConfig) -> TopicRouting {
    config
        .kafka
        .as_ref()
        .map(|k| k.topic_routing().clone())
        .unwrap_or_default()
}

impl Sink for OutboxSink {
    fn publish(&self, event: Event) {
        // `started` need not wait: the operation's end event waits for its
        // own commit, which comes after (or with) every row queued earlier.
        let wait = event.event_type.stage() != Stage::Started;
        let row = match Row::encode(&event, &self.inner.routing) {
            Ok(row) => row,
            Err(e) => {
                tracing::error!(target: "onex_events::outbox", event_id = %event.event_id, error = %e, "cannot serialize the envelope; event not committed");
                self.failures().count(1);
                return;
            }
        };
        let Some(row) = transaction::capture(self.id(), row) else {
            return;
        };
        match &self.inner.backend {
            Backend::Open(store) => store.commit(row, wait),
            Backend::Unavailable(failures) => {
                if let Some(error) = failures.last_error() {
                    failures.row(&row, &error);
                }
            }
        }
    }

    /// Waits until the relay has delivered every committed event (none
    /// pending). Without a relay in this process, returns at once: the
    /// events are committed, and another process relays them.
    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        if let Backend::Open(store) = &self.inner.backend {
            store.sync();
        }
        if !self.inner.has_relay {
            return Ok(());
        }
        super::stats::wait_until_drained(timeout, || self.stats())
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
            .field("relay", &self.inner.has_relay)
            .field("last_error", &self.last_error().map(|e| e.to_string()))
            .finish()
    }
}
