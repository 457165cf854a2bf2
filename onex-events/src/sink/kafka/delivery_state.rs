//! [`DeliveryState`]: what the sink knows about its events, shared by the
//! publishing threads, the delivery thread and librdkafka's callbacks —
//! counters, whether the cluster is reachable, the retry buffer, and each
//! event's final outcome, logged and reported to the listener. The
//! per-event lines (the fallback's, and those of events given up) are
//! bounded: the first [`LOSS_LINES`] of each outage one by one, then
//! summaries with counts (see [`BoundedLog`]).

use super::backlog::Backlog;
use super::retry_buffer::{Pending, RetryQueue};
use super::stats::Counters;
use crate::envelope::Event;
use crate::kafka::{
    is_configuration_failure, DeliveryListener, DeliveryReport, FallbackLog, Outcome,
};
use crate::sink::bounded_log::{BoundedLog, SUMMARY_EVERY};
use crate::sink::describe_losses as describe;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Events given up that are logged one by one per outage; the rest are
/// summarized with counts.
pub(super) const LOSS_LINES: u64 = 100;

/// The sink's state shared with librdkafka's callbacks.
pub(super) struct DeliveryState {
    pub(super) counters: Counters,
    /// The retry buffer (see [`RetryQueue`]).
    pub(super) retry: Mutex<RetryQueue>,
    /// Events in the retry buffer, or taken from it and not yet re-enqueued.
    /// While non-zero, new events queue behind them, to keep their order.
    pub(super) retrying: AtomicUsize,
    /// Whether `retrying` makes the sink backlogged (see [`Backlog`]).
    pub(super) backlog: Backlog,
    pub(super) available: AtomicBool,
    pub(super) closing: AtomicBool,
    /// Nanoseconds since `epoch` of the first delivery failure since the
    /// last success; 0 when the last delivery succeeded.
    pub(super) failing_since: AtomicU64,
    /// Set on a fatal error: the producer must be replaced.
    pub(super) fatal: AtomicBool,
    /// Set when the broker refused a batch: librdkafka's idempotent
    /// producer then bumps its epoch, which tansu 0.6 answers with
    /// `PRODUCER_FENCED` until the producer is replaced; it is replaced at
    /// once.
    pub(super) batch_refused: AtomicBool,
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
    /// How events published while Kafka is unavailable are logged, and
    /// the log's budget and summaries (one kind: events).
    pub(super) fallback: FallbackLog,
    pub(super) fallback_lines: BoundedLog<1>,
    /// The per-event lines of events given up (kinds: failed, overflowed,
    /// expired, lost), bounded per outage like the fallback's.
    pub(super) loss_lines: BoundedLog<4>,
    pub(super) listener: Option<DeliveryListener>,
    /// Why the cluster cannot be reached, as librdkafka last said.
    pub(super) cause: Mutex<ClientCause>,
    /// `security.protocol` is `SSL` or `SASL_SSL`.
    pub(super) tls: bool,
}

/// The last client error that kept events from the cluster, and which kinds
/// were logged already (each kind once until the cluster is reached again:
/// librdkafka repeats them on every reconnect).
#[derive(Debug, Default)]
pub(super) struct ClientCause {
    last: Option<String>,
    logged: Vec<RDKafkaErrorCode>,
}

impl ClientCause {
    /// Keeps `text` as the cause; true the first time `code` is seen (to
    /// be logged then, not on every reconnect).
    fn record(&mut self, code: Option<RDKafkaErrorCode>, text: String) -> bool {
        self.last = Some(text);
        self.record_kind(code)
    }

    /// "All brokers down" names no cause: kept only when nothing better is
    /// known; true the first time it is kept so (to be logged then).
    fn all_brokers_down(&mut self, text: String) -> bool {
        if self.last.is_some() {
            return false;
        }
        self.last = Some(text);
        self.record_kind(Some(RDKafkaErrorCode::AllBrokersDown))
    }

    fn record_kind(&mut self, code: Option<RDKafkaErrorCode>) -> bool {
        let first = code.is_some_and(|c| !self.logged.contains(&c));
        if first {
            self.logged.extend(code);
        }
        first
    }
}

impl DeliveryState {
    /// `n` more events in (or taken from) the retry buffer.
    pub(super) fn retrying_add(&self, n: usize) {
        let now = self.retrying.fetch_add(n, Ordering::AcqRel) + n;
        self.backlog.update(now, self.capacity);
        Counters::buffered(n);
    }

    /// `n` events fewer in (or taken from) the retry buffer.
    pub(super) fn retrying_sub(&self, n: usize) {
        let now = self
            .retrying
            .fetch_sub(n, Ordering::AcqRel)
            .saturating_sub(n);
        self.backlog.update(now, self.capacity);
        Counters::unbuffered(n);
    }

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
        Counters::record(&outcome);
        self.report(event_id, outcome, published_at);
        Counters::settle(counter);
    }

    /// Logs an event's final outcome unless delivered (one by one within
    /// the budget, else in the next summary), and tells the listener.
    pub(super) fn report(&self, event_id: Uuid, outcome: Outcome, published_at: usize) {
        let kind = match &outcome {
            Outcome::Delivered { .. } => None,
            Outcome::Failed { error } => {
                *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.clone());
                Some(0)
            }
            Outcome::Overflowed => Some(1),
            Outcome::Expired => Some(2),
            Outcome::Lost => Some(3),
        };
        match kind {
            Some(kind) if self.loss_lines.admit(kind) => self.log_loss(event_id, &outcome),
            Some(_) if self.loss_lines.due() => self.summarize_losses(false),
            _ => {}
        }
        if let Some(listener) = &self.listener {
            listener(&DeliveryReport {
                event_id,
                outcome,
                latency: self.age(published_at),
            });
        }
    }

    /// The line of one event given up.
    fn log_loss(&self, event_id: Uuid, outcome: &Outcome) {
        match outcome {
            Outcome::Delivered { .. } => {}
            Outcome::Failed { error } => {
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
    }

    /// Logs the summary of the events given up and not logged one by one,
    /// if one is due or `now`.
    pub(super) fn summarize_losses(&self, now: bool) {
        let Some(summary) = self.loss_lines.summary(now) else {
            return;
        };
        let [failed, overflowed, expired, lost] = summary.counts;
        let last_error = self
            .last_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "none".to_owned());
        tracing::error!(
            target: "onex_events::kafka",
            events = summary.total(),
            failed,
            overflowed,
            expired,
            lost,
            last_error,
            "events not delivered to Kafka (beyond the first {LOSS_LINES} of an outage, summarized at most every {SUMMARY_EVERY:?}; each is reported to the delivery listener and counted in the stats)"
        );
    }

    /// Logs the summaries due (or all, `now`): the fallback's and the
    /// losses'.
    pub(super) fn summarize(&self, now: bool) {
        self.summarize_fallback(now);
        self.summarize_losses(now);
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
    /// One by one within the budget of [`FallbackLog`], else counted for
    /// the next summary.
    pub(super) fn log_fallback(&self, event: &Event) {
        if self.fallback == FallbackLog::Off {
            return;
        }
        Counters::bump(&self.counters.fallback_logged);
        if !self.fallback_lines.admit(0) {
            if self.fallback_lines.due() {
                self.summarize_fallback(false);
            }
            return;
        }
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

    fn lock_cause(&self) -> std::sync::MutexGuard<'_, ClientCause> {
        self.cause.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cause of the current trouble reaching the cluster, if any.
    pub(super) fn last_error(&self) -> Option<String> {
        self.lock_cause().last.clone()
    }

    /// A client error from librdkafka: kept as the cause
    /// ([`last_error`](Self::last_error)); logged at ERROR the first time
    /// its kind is seen if it names a configuration failure
    /// (authentication, TLS, SASL mechanism), at DEBUG otherwise. "All
    /// brokers down" is kept only when nothing better is known, with a hint
    /// for TLS, logged at ERROR once: a listener that does not speak TLS
    /// leaves the handshake hanging until
    /// `socket.connection.setup.timeout.ms` (10 s with TLS unless set, [`TLS_SETUP_TIMEOUT_MS`](crate::kafka::TLS_SETUP_TIMEOUT_MS); set it lower
    /// to learn sooner) and librdkafka reports nothing more.
    pub(super) fn client_error(&self, error: &KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if code == Some(RDKafkaErrorCode::AllBrokersDown) {
            let hint = if self.tls {
                " (security.protocol uses TLS: no broker completed the connection; \
                 a listener that does not speak TLS never answers the handshake)"
            } else {
                ""
            };
            let text = format!("{error}: {reason}{hint}");
            let first = self.lock_cause().all_brokers_down(text);
            if first && self.tls {
                tracing::error!(target: "onex_events::kafka", %error, reason, "no broker completed a TLS connection: check that the listener speaks TLS (security.protocol)");
            }
            return;
        }
        let first = self.lock_cause().record(code, format!("{error}: {reason}"));
        if is_configuration_failure(code) {
            if first {
                tracing::error!(target: "onex_events::kafka", %error, reason, "Kafka refuses this client's configuration; events are kept until it is fixed");
            }
        } else {
            tracing::debug!(target: "onex_events::kafka", %error, reason, "Kafka client error");
        }
    }

    /// Logs the summary of the events the fallback did not log one by one,
    /// if one is due or `now`.
    pub(super) fn summarize_fallback(&self, now: bool) {
        if let Some(summary) = self.fallback_lines.summary(now) {
            let [events] = summary.counts;
            tracing::info!(
                target: "onex_events::event",
                events,
                total = self.counters.fallback_logged.load(Ordering::Relaxed),
                mode = %self.fallback,
                "Kafka unavailable, {events} more events kept for delivery without a line each (summarized at most every {SUMMARY_EVERY:?}; ONEX_FALLBACK_LOG=full logs every one)"
            );
        }
    }

    /// An outage starts (a new budget of lines) or ends (its summaries now,
    /// and the cause cleared).
    pub(super) fn set_available(&self, available: bool, reason: &str) {
        if self.available.swap(available, Ordering::Relaxed) != available {
            if available {
                *self.lock_cause() = ClientCause::default();
                self.summarize(true);
                tracing::info!(target: "onex_events::kafka", "Kafka available again; delivering buffered events");
            } else {
                self.fallback_lines.restart();
                self.loss_lines.restart();
                tracing::warn!(target: "onex_events::kafka", reason, fallback_log = %self.fallback, "Kafka unavailable; events are kept until it returns (and logged as ONEX_FALLBACK_LOG says)");
            }
        }
    }
}

impl Drop for DeliveryState {
    /// The last summaries, once the producer's purged records are settled.
    fn drop(&mut self) {
        self.summarize(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_client_error_is_logged_once_and_the_latest_is_the_cause() {
        let mut cause = ClientCause::default();
        let auth = Some(RDKafkaErrorCode::Authentication);
        assert!(cause.record(auth, "SASL handshake failed".to_owned()));
        assert!(!cause.all_brokers_down("1/1 brokers are down".to_owned()));
        assert_eq!(cause.last.as_deref(), Some("SASL handshake failed"));
        for _ in 0..100 {
            assert!(!cause.record(auth, "SASL handshake failed again".to_owned()));
        }
        assert!(cause.record(
            Some(RDKafkaErrorCode::SSL),
            "TLS handshake failed".to_owned()
        ));
        assert_eq!(cause.last.as_deref(), Some("TLS handshake failed"));
        assert_eq!(cause.logged.len(), 2, "bounded by the kinds seen");

        let mut down = ClientCause::default();
        assert!(down.all_brokers_down("1/1 brokers are down".to_owned()));
        assert_eq!(down.last.as_deref(), Some("1/1 brokers are down"));
        down.last = None;
        assert!(!down.all_brokers_down("1/1 brokers are down".to_owned()));
    }
}
