//! [`DeliveryState`]: what the sink knows about its events, shared by the
//! publishing threads, the delivery thread and librdkafka's callbacks —
//! counters, whether the cluster is reachable, the retry buffer, and each
//! event's final outcome, logged and reported to the listener.

use super::retry_buffer::{Pending, RetryQueue};
use super::stats::Counters;
use crate::envelope::Event;
use crate::kafka::{DeliveryListener, DeliveryReport, Outcome};
use crate::sink::describe_losses as describe;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The sink's state shared with librdkafka's callbacks.
pub(super) struct DeliveryState {
    pub(super) counters: Counters,
    /// The retry buffer (see [`RetryQueue`]).
    pub(super) retry: Mutex<RetryQueue>,
    /// Events in the retry buffer, or taken from it and not yet re-enqueued.
    /// While non-zero, new events queue behind them, to keep their order.
    pub(super) retrying: AtomicUsize,
    pub(super) available: AtomicBool,
    pub(super) closing: AtomicBool,
    /// Nanoseconds since `epoch` of the first delivery failure since the
    /// last success; 0 when the last delivery succeeded.
    pub(super) failing_since: AtomicU64,
    /// Set on a fatal error: the producer must be replaced.
    pub(super) fatal: AtomicBool,
    /// Set while the producer is replaced (see `Dispatcher::recycle`): the
    /// old producer's records are collected in `purged`, not buffered, and
    /// `retrying` holds one extra count so that new events wait behind them.
    pub(super) replacing: AtomicBool,
    pub(super) purged: Mutex<Vec<Pending>>,
    /// The error of the last event the cluster rejected, for `flush`.
    pub(super) last_failure: Mutex<Option<String>>,
    pub(super) epoch: Instant,
    /// The retry buffer's limits: events, bytes, and age.
    pub(super) capacity: usize,
    pub(super) max_bytes: usize,
    pub(super) ttl: Duration,
    pub(super) fallback_log: bool,
    pub(super) listener: Option<DeliveryListener>,
}

impl DeliveryState {
    pub(super) fn now(&self) -> usize {
        usize::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(usize::MAX)
    }

    pub(super) fn age(&self, published_at: usize) -> Duration {
        Duration::from_nanos(self.now().saturating_sub(published_at) as u64)
    }

    /// An event's final outcome: reported, then counted in `counter`, so
    /// that a `flush` that sees the count also sees the report.
    pub(super) fn settle(
        &self,
        counter: &AtomicU64,
        event_id: Uuid,
        outcome: Outcome,
        published_at: usize,
    ) {
        self.report(event_id, outcome, published_at);
        Counters::settle(counter);
    }

    /// Logs an event's final outcome unless delivered, and tells the listener.
    pub(super) fn report(&self, event_id: Uuid, outcome: Outcome, published_at: usize) {
        match &outcome {
            Outcome::Delivered { .. } => {}
            Outcome::Failed { error } => {
                *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.clone());
                tracing::error!(target: "onex_events::kafka", %event_id, %error, "event not delivered to Kafka: rejected")
            }
            Outcome::Overflowed => {
                tracing::error!(target: "onex_events::kafka", %event_id, capacity = self.capacity, "event not delivered to Kafka: retry buffer full")
            }
            Outcome::Expired => {
                tracing::error!(target: "onex_events::kafka", %event_id, ttl = ?self.ttl, "event not delivered to Kafka: expired")
            }
            Outcome::Lost => {
                tracing::error!(target: "onex_events::kafka", %event_id, "event not delivered to Kafka: sink dropped before flush")
            }
        }
        if let Some(listener) = &self.listener {
            listener(&DeliveryReport {
                event_id,
                outcome,
                latency: self.age(published_at),
            });
        }
    }

    /// Events given up, per kind (failed, overflowed, expired, lost), in
    /// words for [`SinkError::Undelivered`](crate::sink::SinkError::Undelivered).
    pub(super) fn describe_losses(&self, counts: &[u64; 4]) -> String {
        let last_failure = || {
            let error = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
            format!(
                "rejected by Kafka (last error: {})",
                error.as_deref().unwrap_or("unknown")
            )
        };
        describe(&[
            (counts[0], &last_failure),
            (counts[1], &|| {
                format!(
                    "not taken: the retry buffer was full (capacity {})",
                    self.capacity
                )
            }),
            (counts[2], &|| {
                format!("expired: undelivered after {:?}", self.ttl)
            }),
            (counts[3], &|| {
                "lost: the sink was dropped before flush".to_owned()
            }),
        ])
    }

    /// The seed's fallback: the event logged while Kafka is unavailable.
    pub(super) fn log_fallback(&self, event: &Event) {
        if !self.fallback_log {
            return;
        }
        Counters::bump(&self.counters.fallback_logged);
        if tracing::enabled!(target: "onex_events::event", tracing::Level::INFO) {
            let mut envelope = Vec::with_capacity(640);
            // Our own types always serialize; a failure leaves it empty.
            let _ = event.write_json(&mut envelope);
            tracing::info!(
                target: "onex_events::event",
                event_type = %event.event_type,
                event_id = %event.event_id,
                envelope = %String::from_utf8_lossy(&envelope),
                "Kafka unavailable, logging {} event",
                event.event_type
            );
        }
    }

    pub(super) fn set_available(&self, available: bool, reason: &str) {
        if self.available.swap(available, Ordering::Relaxed) != available {
            if available {
                tracing::info!(target: "onex_events::kafka", "Kafka available again; delivering buffered events");
            } else {
                tracing::warn!(target: "onex_events::kafka", reason, "Kafka unavailable; events are logged and kept until it returns");
            }
        }
    }
}
