//! What an outbox could not commit: each such event logged in full at
//! `ERROR` (the seed's fallback, so it can be recovered from the logs) and
//! counted, and the last error kept for the sink's error accessor. Never
//! dropped silently. Also what the relay sent and could not record yet.

use super::lock::lock;
use super::row::Row;
use super::OutboxError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub(crate) struct Failures {
    not_committed: AtomicU64,
    last_error: Mutex<Option<Arc<OutboxError>>>,
    /// Acknowledged by the cluster, not yet marked delivered because the
    /// marking failed: in the relay's oldest batch, and in the store's
    /// writes it retries (SQLite's recorder).
    unrecorded_by_relay: AtomicU64,
    unrecorded_by_store: AtomicU64,
}

impl Failures {
    /// Failures of an outbox that could not be opened, for `error`.
    pub fn unavailable(error: OutboxError) -> Self {
        Failures {
            last_error: Mutex::new(Some(Arc::new(error))),
            ..Failures::default()
        }
    }

    /// `row` could not be committed: logged in full and counted.
    pub fn row(&self, row: &Row, error: &OutboxError) {
        crate::metrics::record::outbox_not_committed(1);
        self.not_committed.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            target: "onex_events::event",
            event_id = row.id,
            event_type = row.event_type,
            envelope = row.payload,
            %error,
            "outbox unavailable, logging {} event",
            row.event_type
        );
    }

    /// A batch could not be committed: each row logged and counted, the
    /// error kept.
    pub fn batch(&self, rows: &[Row], error: OutboxError) {
        for row in rows {
            self.row(row, &error);
        }
        self.set_error(Arc::new(error));
    }

    /// Counts `n` events that could not be committed, logged by the caller.
    pub fn count(&self, n: usize) {
        crate::metrics::record::outbox_not_committed(n);
        self.not_committed.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Events not committed so far.
    pub fn not_committed(&self) -> u64 {
        self.not_committed.load(Ordering::Relaxed)
    }

    /// Deliveries of the relay's oldest batch it could not record yet.
    pub fn set_unrecorded_by_relay(&self, n: u64) {
        self.unrecorded_by_relay.store(n, Ordering::Relaxed);
    }

    /// Deliveries handed to the store that it could not write yet.
    pub fn set_unrecorded_by_store(&self, n: u64) {
        self.unrecorded_by_store.store(n, Ordering::Relaxed);
    }

    /// Events the cluster acknowledged that are not marked delivered yet
    /// because marking them failed (retried until it works).
    pub fn unrecorded(&self) -> u64 {
        self.unrecorded_by_relay.load(Ordering::Relaxed)
            + self.unrecorded_by_store.load(Ordering::Relaxed)
    }

    pub fn set_error(&self, error: Arc<OutboxError>) {
        *lock(&self.last_error) = Some(error);
    }

    pub fn last_error(&self) -> Option<Arc<OutboxError>> {
        lock(&self.last_error).clone()
    }
}
