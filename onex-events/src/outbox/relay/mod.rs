//! The relay: a thread that publishes committed outbox rows to Kafka, in
//! commit order per key, and records what happened to each.
//!
//! It claims up to `batch_size` pending rows in `seq` order and sends them
//! through one idempotent producer (`enable.idempotence=true`, `acks=all`,
//! which keeps each partition in order across librdkafka's own retries).
//! It does not wait for a batch's delivery reports before it claims and
//! sends the next: up to [`RelayConfig::batches_in_flight`] batches are in
//! flight (one for PostgreSQL, whose claim is a transaction). Each batch is
//! recorded, in the order sent, once its reports are in: delivered rows
//! marked, failed ones scheduled for a retry with exponential backoff.
//! Per-key order holds on failures and retries: a row whose key is in a
//! batch still in flight waits for it, and a failure makes the relay start
//! again from the oldest pending row (see `order.rs`). An event that keeps
//! failing with an error naming the record (too large, invalid topic, not
//! authorized…) moves to the dead-letter table after `max_attempts`, and
//! to the dead-letter topic if one is configured; while the cluster is
//! merely unreachable, events wait for it without limit. Delivered rows
//! are deleted after the retention period.
//!
//! Crash safety: a row is marked delivered only after the cluster
//! acknowledged it, so after a crash the next relay sends again whatever
//! was not marked. When marking fails (full disk…), the relay keeps that
//! batch, claims and sends nothing new, and retries the marking until it
//! works: an acknowledged row is not sent again because its marking
//! failed (only a relay stopped meanwhile leaves it to be sent again). That is at-least-once: a record acknowledged just before
//! a crash is sent twice, with the same `event_id` (and `ce_id` header),
//! so a consumer that dedups by event id sees each event once.
//!
//! The database side (claiming rows, recording outcomes, retention) is a
//! [`RelayStore`]: the SQLite file or a shared PostgreSQL table.

mod config;
mod context;
mod headers;
mod order;
mod store;
mod worker;

pub use self::config::RelayConfig;
pub(crate) use self::store::{Outcome, Pending, RelayStore};

use self::worker::Worker;
use super::failures::Failures;
use super::wake::Wake;
use super::OutboxError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A running relay thread; stops (and joins) on drop.
pub(crate) struct Relay {
    stop: Arc<AtomicBool>,
    wake: Arc<Wake>,
    handle: Option<JoinHandle<()>>,
}

impl Relay {
    /// Starts the relay of `store` with `config`; it waits on `wake` for
    /// new rows and keeps its errors in `failures`.
    pub fn spawn(
        config: &RelayConfig,
        store: impl RelayStore,
        wake: Arc<Wake>,
        failures: Arc<Failures>,
    ) -> Result<Relay, OutboxError> {
        let stop = Arc::new(AtomicBool::new(false));
        let outbox = store.describe();
        let mut worker = Worker::new(
            config,
            store,
            Arc::clone(&wake),
            failures,
            Arc::clone(&stop),
        )?;
        let handle = std::thread::Builder::new()
            .name("onex-outbox-relay".to_owned())
            .spawn(move || worker.run())
            .map_err(|source| OutboxError::Thread {
                what: "relay",
                source,
            })?;
        tracing::info!(
            target: "onex_events::outbox",
            outbox,
            bootstrap_servers = config.kafka.bootstrap_servers(),
            "outbox relay started"
        );
        Ok(Relay {
            stop,
            wake,
            handle: Some(handle),
        })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.wake.notify();
        if let Some(handle) = self.handle.take() {
            if handle.join().is_err() {
                tracing::error!(target: "onex_events::outbox", "the outbox relay thread panicked");
            }
        }
    }
}
