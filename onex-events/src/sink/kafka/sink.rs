//! [`KafkaSink`], the sink's public face: building it, publishing,
//! flushing, its counters, and what dropping it does. The work happens in
//! the [`Dispatcher`] and its delivery thread.

use super::callbacks::ProducerCallbacks;
use super::delivery_state::{DeliveryState, LOSS_LINES};
use super::dispatcher::{Dispatcher, ENCODER};
use super::stats::{Counters, KafkaStats};
use crate::deadline::Deadline;
use crate::envelope::Event;
use crate::kafka::{KafkaConfig, KafkaConfigError, Outcome, RecordEncoder};
use crate::sink::bounded_log::BoundedLog;
use crate::sink::{ReportedLosses, Sink, SinkError};
use rdkafka::producer::{BaseProducer, Producer};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Publishes envelopes to Kafka. See the [module documentation](super).
pub struct KafkaSink {
    pub(super) dispatcher: Arc<Dispatcher>,
    worker: Option<JoinHandle<()>>,
    /// Failed, overflowed, expired and lost events reported by `flush`.
    reported: ReportedLosses<4>,
}

impl KafkaSink {
    /// Builds the producer and starts its delivery thread. Fails on a
    /// configuration librdkafka rejects, and on a bootstrap list or topic
    /// name Kafka would reject ([`KafkaConfig::validate`]); an unreachable
    /// cluster is not an error (events wait for it).
    pub fn new(config: KafkaConfig) -> Result<Self, KafkaConfigError> {
        config.validate()?;
        let mut client_config = config.client_config();
        let message_timeout = match config.get("message.timeout.ms") {
            Some(ms) => Duration::from_millis(ms.trim().parse().unwrap_or(300_000)),
            None => {
                // Records time out of librdkafka's queue into the retry
                // buffer, where they live up to the buffer's time-to-live.
                let timeout = config.buffer_ttl.min(Duration::from_secs(30));
                let ms = timeout.as_millis().max(1);
                client_config.set("message.timeout.ms", ms.to_string());
                timeout
            }
        };
        let state = Arc::new(DeliveryState {
            counters: Counters::default(),
            retry: Mutex::default(),
            retrying: AtomicUsize::new(0),
            backlog: Default::default(),
            available: AtomicBool::new(true),
            closing: AtomicBool::new(false),
            failing_since: AtomicU64::new(0),
            fatal: AtomicBool::new(false),
            batch_refused: AtomicBool::new(false),
            replacing: AtomicBool::new(false),
            purged: Mutex::default(),
            last_failure: Mutex::default(),
            epoch: Instant::now(),
            capacity: config.buffer_capacity,
            max_bytes: config.buffer_max_bytes,
            ttl: config.buffer_ttl,
            fallback: config.fallback_log,
            fallback_lines: BoundedLog::new(config.fallback_log.budget()),
            loss_lines: BoundedLog::new(LOSS_LINES),
            listener: config.listener.clone(),
            cause: Mutex::default(),
            tls: config
                .get("security.protocol")
                .is_some_and(|p| p.to_ascii_uppercase().contains("SSL")),
        });
        let producer: BaseProducer<ProducerCallbacks> = client_config
            .create_with_context(ProducerCallbacks {
                state: Arc::clone(&state),
                single: false,
            })
            .map_err(|e| KafkaConfigError::Client(e.to_string()))?;
        let dispatcher = Arc::new(Dispatcher {
            producer: RwLock::new(Arc::new(producer)),
            client_config,
            recycle_after: message_timeout.max(Duration::from_secs(1)),
            state,
            routing: config.topics.clone(),
            stop: AtomicBool::new(false),
            draining: Mutex::new(RecordEncoder::default()),
            single: OnceLock::new(),
        });
        let worker = {
            let dispatcher = Arc::clone(&dispatcher);
            std::thread::Builder::new()
                .name("onex-kafka".to_owned())
                .spawn(move || dispatcher.run())
                .map_err(|e| {
                    KafkaConfigError::Client(format!("cannot start the delivery thread: {e}"))
                })?
        };
        tracing::info!(
            target: "onex_events::kafka",
            bootstrap_servers = config.bootstrap_servers(),
            topics = ?config.topics,
            "Kafka sink started"
        );
        Ok(KafkaSink {
            dispatcher,
            worker: Some(worker),
            reported: ReportedLosses::default(),
        })
    }

    /// [`KafkaSink::new`] over [`KafkaConfig::from_env`].
    pub fn from_env() -> Result<Self, KafkaConfigError> {
        KafkaSink::new(KafkaConfig::from_env()?)
    }

    /// The sink's counters now.
    pub fn stats(&self) -> KafkaStats {
        let state = &self.dispatcher.state;
        let retrying = state.retrying.load(Ordering::Acquire);
        // Not the extra count held while the producer is replaced.
        let buffered =
            retrying.saturating_sub(usize::from(state.replacing.load(Ordering::Acquire)));
        state
            .counters
            .snapshot(buffered as u64, state.available.load(Ordering::Relaxed))
    }
}

impl Sink for KafkaSink {
    fn publish(&self, event: Event) {
        let dispatcher = &*self.dispatcher;
        let state = &*dispatcher.state;
        let published_at = state.now();
        Counters::bump(&state.counters.published);
        let event_id = event.event_id;
        let sent = ENCODER.with(|encoder| match encoder.try_borrow_mut() {
            Ok(mut encoder) => dispatcher.send_event(event, &mut encoder, published_at),
            // Re-entered from a callback on this thread: fresh buffers.
            Err(_) => dispatcher.send_event(event, &mut RecordEncoder::default(), published_at),
        });
        if let Err(error) = sent {
            let outcome = Outcome::Failed { error };
            state.settle(&state.counters.failed, event_id, outcome, published_at);
        }
    }

    /// Waits until every event published before the call has had its final
    /// report (delivered or given up), wherever it is: the producer, the
    /// retry buffer, a producer being replaced, or a thread moving it
    /// between them. Events published meanwhile are waited for too.
    /// `Duration::MAX` (or any timeout too large for the clock) waits as
    /// long as it takes.
    ///
    /// Then [`SinkError::Undelivered`] if events were given up since the
    /// previous flush (rejected by the cluster, not taken by a full retry
    /// buffer, expired), with their counts per kind and the last error;
    /// `Ok(())` when every one was delivered.
    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let dispatcher = &*self.dispatcher;
        let state = &*dispatcher.state;
        let deadline = Deadline::after(timeout);
        loop {
            if state.counters.unsettled() == 0 {
                state.summarize(true);
                let stats = self.stats();
                let totals = [stats.failed, stats.overflowed, stats.expired, stats.lost];
                return self
                    .reported
                    .report(totals, |new| state.describe_losses(new));
            }
            let remaining = deadline.remaining();
            // Serve the producer's callbacks here too. While the retry buffer
            // is not empty, or once the producer is (the rest is held by a
            // producer being replaced), the delivery thread is moving the
            // events: wait a little.
            let elsewhere = state.retrying.load(Ordering::Acquire) > 0
                || dispatcher
                    .current()
                    .flush(remaining.min(Duration::from_millis(100)))
                    .is_ok();
            if elsewhere && state.counters.unsettled() > 0 {
                std::thread::sleep(remaining.min(Duration::from_millis(1)));
            }
            if deadline.passed() && state.counters.unsettled() > 0 {
                let stats = self.stats();
                tracing::warn!(
                    target: "onex_events::kafka",
                    pending = stats.pending(),
                    ?timeout,
                    "Kafka flush timed out"
                );
                return Err(SinkError::Timeout {
                    pending: usize::try_from(stats.pending()).unwrap_or(usize::MAX),
                    timeout,
                });
            }
        }
    }

    fn name(&self) -> &'static str {
        "kafka"
    }

    /// Why the cluster cannot be reached, as librdkafka last reported it:
    /// an authentication or TLS failure, an unsupported SASL mechanism, a
    /// transport error, or all brokers down. Cleared once events are
    /// delivered again. An authentication or SASL failure shows within
    /// moments of the first connection; TLS against a listener that does
    /// not speak it only once `socket.connection.setup.timeout.ms` has
    /// passed (librdkafka's 30 s by default), as the handshake hangs
    /// without an answer.
    fn last_error(&self) -> Option<String> {
        self.dispatcher.state.last_error()
    }
}

impl Drop for KafkaSink {
    fn drop(&mut self) {
        self.dispatcher.stop.store(true, Ordering::Release);
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                tracing::error!(target: "onex_events::kafka", "the Kafka delivery thread panicked");
            }
        }
        let state = &*self.dispatcher.state;
        state.closing.store(true, Ordering::Release);
        let stats = self.stats();
        if stats.pending() > 0 {
            tracing::error!(
                target: "onex_events::kafka",
                pending = stats.pending(),
                "Kafka sink dropped with undelivered events; call flush() before exiting"
            );
        }
        let items = std::mem::take(&mut state.lock_retry().items);
        for p in items {
            state.settle_retry(
                &state.counters.lost,
                p.event_id,
                Outcome::Lost,
                p.published_at,
            );
        }
        // Dropping the producer purges its queue: each purged record reaches
        // the delivery callback, which reports it as lost.
    }
}

impl fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSink")
            .field("topics", &self.dispatcher.routing)
            .field("stats", &self.stats())
            .finish()
    }
}
