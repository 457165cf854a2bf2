//! What an outbox could not commit: each such event logged in full at
//! `ERROR` (the seed's fallback, so it can be recovered from the logs) and
//! counted, and the last error kept for the sink's error accessor. Never
//! dropped silently.

use super::lock::lock;
use super::row::Row;
use super::OutboxError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub(crate) struct Failures {
    not_committed: AtomicU64,
    last_error: Mutex<Option<Arc<OutboxError>>>,
}

impl Failures {
    /// Failures of an outbox that could not be opened, for `error`.
    pub fn unavailable(error: OutboxError) -> Self {
        Failures {
            not_committed: AtomicU64::new(0),
            last_error: Mutex::new(Some(Arc::new(error))),
        }
    }

    /// `row` could not be committed: logged in full and counted.
    pub fn row(&self, row: &Row, error: &OutboxError) {
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
        self.not_committed.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Events not committed so far.
    pub fn not_committed(&self) -> u64 {
        self.not_committed.load(Ordering::Relaxed)
    }

    pub fn set_error(&self, error: Arc<OutboxError>) {
        *lock(&self.last_error) = Some(error);
    }

    pub fn last_error(&self) -> Option<Arc<OutboxError>> {
        lock(&self.last_error).clone()
    }
}
