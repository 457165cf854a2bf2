//! [`Outbox`]: what both sinks ([`OutboxSink`](super::OutboxSink) and, with
//! PostgreSQL, `PgOutboxSink`) do the same way: encode each event, hand it
//! to the transaction capture or the group committer, and report the
//! totals and the last error; each backend's `sink.rs` wraps one.

use super::capture;
use super::committer::Committer;
use super::config::OutboxConfig;
use super::failures::Failures;
use super::relay::{Relay, RelayStore};
use super::row::Row;
use super::stats::{self, OutboxStats};
use super::store::Store;
use super::wake::Wake;
use super::OutboxError;
use crate::envelope::Event;
use crate::event_type::Stage;
use crate::kafka::TopicRouting;
use crate::sink::{describe_losses, ReportedLosses, SinkError};
use std::sync::Arc;
use std::time::Duration;

/// One outbox as its sink sees it: its store, committer and relay, or the
/// error that kept it from opening.
pub(crate) struct Outbox<S: Store> {
    routing: TopicRouting,
    failures: Arc<Failures>,
    wake: Arc<Wake>,
    /// `None` when the outbox could not be opened (the error is
    /// `failures`' last): events are logged and counted.
    store: Option<Arc<S>>,
    // Fields drop in declaration order: the committer first (it commits
    // what is queued, then stops), then the relay (it stops; what it has
    // not delivered stays pending for the next start).
    committer: Option<Committer<S>>,
    relay: Option<Relay>,
    /// The outbox's dead letters when its relay started here: those a
    /// flush reports are the ones moved since.
    dead_at_start: u64,
    /// The events not committed, and those moved to the dead-letter
    /// table, that a flush reported.
    reported: ReportedLosses<2>,
}

impl<S: Store> Outbox<S> {
    /// The outbox of the open `store`: starts its committer and, when
    /// `config` has relay settings, a relay on the store `relay_store`
    /// makes (given the failures it may report, e.g. deliveries it could
    /// not record yet).
    pub fn start<R: RelayStore>(
        config: &OutboxConfig,
        store: Arc<S>,
        relay_store: impl FnOnce(&Arc<S>, &Arc<Failures>) -> Result<R, OutboxError>,
    ) -> Result<Self, OutboxError> {
        let wake = Arc::new(Wake::default());
        let failures = Arc::new(Failures::default());
        let committer = Committer::spawn(
            Arc::clone(&store),
            config.commit_linger,
            Arc::clone(&wake),
            Arc::clone(&failures),
        )?;
        let dead_at_start = match &config.relay {
            Some(_) => store.stats()?.dead,
            None => 0,
        };
        let relay = match &config.relay {
            Some(relay) => Some(Relay::spawn(
                relay,
                relay_store(&store, &failures)?,
                Arc::clone(&wake),
                Arc::clone(&failures),
            )?),
            None => None,
        };
        Ok(Outbox {
            routing: config.routing(),
            failures,
            wake,
            store: Some(store),
            committer: Some(committer),
            relay,
            dead_at_start,
            reported: ReportedLosses::default(),
        })
    }

    /// The outbox that could not be opened because of `error`: logs it
    /// once at `ERROR`, then logs and counts every event it receives.
    pub fn unavailable(config: &OutboxConfig, error: OutboxError) -> Self {
        tracing::error!(
            target: "onex_events::outbox",
            %error,
            "cannot open the outbox; events will be logged, not delivered"
        );
        Outbox {
            routing: config.routing(),
            failures: Arc::new(Failures::unavailable(error)),
            wake: Arc::default(),
            store: None,
            committer: None,
            relay: None,
            dead_at_start: 0,
            reported: ReportedLosses::default(),
        }
    }

    pub fn store(&self) -> Option<&Arc<S>> {
        self.store.as_ref()
    }

    pub fn has_relay(&self) -> bool {
        self.relay.is_some()
    }

    /// Identifies this outbox for the transaction capture.
    pub fn id(&self) -> usize {
        self as *const Self as usize
    }

    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        match &self.store {
            Some(store) => {
                let mut stats = store.stats()?;
                stats.not_committed = self.failures.not_committed();
                stats.sent_unrecorded = self.failures.unrecorded();
                crate::metrics::record::outbox_pending(stats.pending);
                Ok(stats)
            }
            None => match self.failures.last_error() {
                Some(error) => Err(OutboxError::Unavailable(error)),
                None => Ok(OutboxStats::default()),
            },
        }
    }

    pub fn not_committed(&self) -> u64 {
        self.failures.not_committed()
    }

    pub fn last_error(&self) -> Option<Arc<OutboxError>> {
        self.failures.last_error()
    }

    pub fn notify(&self) {
        self.wake.notify();
    }

    /// Encodes `event` for this outbox's routing.
    pub fn encode(&self, event: &Event) -> Result<Row, OutboxError> {
        Row::encode(event, &self.routing).map_err(OutboxError::Encode)
    }

    /// Runs `f`, capturing the rows this outbox receives on this thread.
    pub fn capturing<T>(&self, f: impl FnOnce() -> T) -> (T, Vec<Row>) {
        capture::capturing(self.id(), f)
    }

    /// The sink's `publish`: the end of an operation (and any event but a
    /// `started`) waits for its commit; a `started` only queues (it is
    /// committed with the end event at the latest).
    pub fn publish(&self, event: Event) {
        let wait = event.event_type.stage() != Stage::Started;
        let row = match self.encode(&event) {
            Ok(row) => row,
            Err(error) => {
                tracing::error!(target: "onex_events::outbox", event_id = %event.event_id, %error, "event not committed");
                self.failures.count(1);
                return;
            }
        };
        let Some(row) = capture::capture(self.id(), row) else {
            return;
        };
        match &self.committer {
            Some(committer) => committer.commit(row, wait),
            None => {
                if let Some(error) = self.failures.last_error() {
                    self.failures.row(&row, &error);
                }
            }
        }
    }

    /// The sink's `flush`: everything queued committed, then, with a relay
    /// in this process, nothing pending; then [`SinkError::Undelivered`]
    /// for the events not committed since the previous flush (a failed
    /// commit, an outbox that could not be opened) and, with a relay here,
    /// for those moved to the dead-letter table since then (by any relay
    /// of the outbox).
    pub fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        if let Some(committer) = &self.committer {
            committer.sync();
        }
        let mut dead = 0;
        if self.relay.is_some() {
            stats::wait_until_drained(timeout, || self.stats())?;
            // Read again: a failure to read leaves the dead letters to the
            // next flush.
            if let Ok(stats) = self.stats() {
                dead = stats.dead.saturating_sub(self.dead_at_start);
            }
        }
        self.reported
            .report([self.failures.not_committed(), dead], |new| {
                describe_losses(&[
                    (new[0], &|| {
                        let error = self.failures.last_error();
                        let error = error.map_or_else(|| "unknown".to_owned(), |e| e.to_string());
                        format!("not committed to the outbox, logged instead (last error: {error})")
                    }),
                    (new[1], &|| {
                        "moved to the dead-letter table: Kafka kept rejecting them".to_owned()
                    }),
                ])
            })
    }
}
