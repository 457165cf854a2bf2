//! The Kafka transport (feature `kafka`): [`KafkaSink`] publishes every
//! envelope to a Kafka cluster through librdkafka, without ever blocking
//! or failing the user's operation.
//!
//! - **Record**: the value is the OnexEnvelopeV1 JSON, unchanged; the key
//!   is the correlation id (its hyphenated text; the source node id for an
//!   event without one), so every event of one operation, and of one
//!   request, hashes to the same partition of its topic and is read back in
//!   publish order; the Kafka timestamp is the event's; the headers are the
//!   CloudEvents binary-mode attributes of [`headers`].
//! - **Topics**: see [`TopicRouting`]; the default is
//!   `{namespace}.{service}.{node_type}.{operation}.v1`.
//! - **Delivery**: `enable.idempotence=true` and `acks=all` by default, so
//!   librdkafka's retries neither lose nor duplicate nor reorder records.
//! - **Degradation**: `publish` only enqueues. While the cluster is
//!   unreachable, an event joins the sink's bounded retry buffer
//!   ([`KafkaConfig::buffer_capacity`]) as it is, and the sink's delivery
//!   thread serializes it and moves it into librdkafka's queue
//!   (`queue.buffering.max.messages`, default 100,000) as room allows, so
//!   an operation pays about a microsecond per event for a broker that is
//!   down; each event published meanwhile is also logged through `tracing`
//!   (target `onex_events::event`, the seed's "Kafka unavailable"
//!   fallback). They
//!   are delivered when the cluster returns. What cannot be kept is counted
//!   ([`KafkaSink::stats`]), logged with its event id and reported to the
//!   [`KafkaConfig::on_delivery`] listener: nothing is dropped silently.
//! - **Shutdown**: call [`Sink::flush`] (or [`Publisher::flush`]) before
//!   exiting; dropping the sink purges what is still queued, and reports
//!   each such event as [`Outcome::Lost`].
//!
//! [`Publisher::flush`]: crate::Publisher::flush
//!
//! ```no_run
//! use onex_events::sink::kafka::{KafkaConfig, KafkaSink};
//! use onex_events::Publisher;
//! use std::time::Duration;
//!
//! let sink = KafkaSink::new(KafkaConfig::new("127.0.0.1:9092"))?;
//! let publisher = Publisher::new(sink);
//! // … run nodes with `publisher` …
//! publisher.flush(Duration::from_secs(10))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
pub mod headers;
mod report;
mod stats;
mod topic;

pub use self::config::{env, KafkaConfig, KafkaConfigError};
pub use self::report::{DeliveryReport, Outcome};
pub use self::stats::KafkaStats;
pub use self::topic::{TopicRouting, TopicStrategy};
/// The `rdkafka` crate this sink is built on, for consumers and admin
/// clients in tests and tools.
pub use rdkafka;

use self::report::DeliveryListener;
use self::stats::Counters;
use super::{Sink, SinkError};
use crate::envelope::{Event, PartitionKey};
use crate::NodeIdentity;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, OwnedHeaders};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Publishes envelopes to Kafka. See the [module documentation](self).
pub struct KafkaSink {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

struct Shared {
    /// Replaced when it is stuck (see `Shared::recycle`).
    producer: RwLock<Arc<BaseProducer<Context>>>,
    client_config: rdkafka::ClientConfig,
    /// Deliveries failing for this long, with no success, recycle the producer.
    recycle_after: Duration,
    core: Arc<Core>,
    routing: TopicRouting,
    stop: AtomicBool,
    /// Held while moving the retry buffer into librdkafka.
    draining: Mutex<()>,
}

/// State shared with librdkafka's callbacks.
struct Core {
    counters: Counters,
    retry: Mutex<RetryQueue>,
    /// Events in the retry buffer, or taken from it and not yet re-enqueued.
    /// While non-zero, new events queue behind them, to keep their order.
    retrying: AtomicUsize,
    available: AtomicBool,
    closing: AtomicBool,
    /// Nanoseconds since `epoch` of the first delivery failure since the
    /// last success; 0 when the last delivery succeeded.
    failing_since: AtomicU64,
    /// Set on a fatal error: the producer must be replaced.
    fatal: AtomicBool,
    /// Set while the producer is replaced (see `Shared::recycle`): the old
    /// producer's records are collected in `purged`, not buffered, and
    /// `retrying` holds one extra count so that new events wait behind them.
    replacing: AtomicBool,
    purged: Mutex<Vec<Pending>>,
    epoch: Instant,
    capacity: usize,
    max_bytes: usize,
    ttl: Duration,
    fallback_log: bool,
    listener: Option<DeliveryListener>,
}

#[derive(Default)]
struct RetryQueue {
    items: VecDeque<Pending>,
    bytes: usize,
}

/// An event held by the sink, with everything needed to send it again.
struct Pending {
    event_id: Uuid,
    /// Nanoseconds since `Core::epoch` when it was published.
    published_at: usize,
    body: Body,
}

enum Body {
    /// Not encoded yet: the delivery thread encodes it when it sends it,
    /// so that a publish behind the retry buffer (or while the cluster is
    /// unavailable) costs the operation next to nothing.
    Event(Box<Event>),
    Encoded(Encoded),
}

/// A record's parts, as librdkafka takes them.
struct Encoded {
    topic: String,
    key: Vec<u8>,
    payload: Vec<u8>,
    headers: Option<OwnedHeaders>,
    timestamp: Option<i64>,
}

/// What an event not encoded yet counts for against
/// [`KafkaConfig::buffer_max_bytes`] (about its encoded size, headers
/// included).
const UNENCODED_SIZE: usize = 1024;

impl Pending {
    fn size(&self) -> usize {
        match &self.body {
            Body::Event(_) => UNENCODED_SIZE,
            Body::Encoded(e) => e.payload.len() + e.key.len() + e.topic.len(),
        }
    }
}

/// Per-thread scratch buffers of `publish`, reused across events.
#[derive(Default)]
struct Scratch {
    payload: Vec<u8>,
    topic: String,
    /// `ce_source` of the last node published from, with that node: held,
    /// so that its address cannot be reused by another node.
    source: Option<(Arc<NodeIdentity>, String)>,
}

impl Scratch {
    /// `ce_source` of `node`, built once per node in a row.
    fn source(&mut self, node: &Arc<NodeIdentity>) -> &str {
        let source = match self.source.take() {
            Some((cached, source)) if Arc::ptr_eq(&cached, node) => (cached, source),
            _ => (Arc::clone(node), headers::node_source(node)),
        };
        &self.source.insert(source).1
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl KafkaSink {
    /// Builds the producer and starts its delivery thread. Fails only on a
    /// configuration librdkafka rejects; an unreachable cluster is not an
    /// error (events wait for it).
    pub fn new(config: KafkaConfig) -> Result<Self, KafkaConfigError> {
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
        let core = Arc::new(Core {
            counters: Counters::default(),
            retry: Mutex::new(RetryQueue::default()),
            retrying: AtomicUsize::new(0),
            available: AtomicBool::new(true),
            closing: AtomicBool::new(false),
            failing_since: AtomicU64::new(0),
            fatal: AtomicBool::new(false),
            replacing: AtomicBool::new(false),
            purged: Mutex::default(),
            epoch: Instant::now(),
            capacity: config.buffer_capacity,
            max_bytes: config.buffer_max_bytes,
            ttl: config.buffer_ttl,
            fallback_log: config.fallback_log,
            listener: config.listener.clone(),
        });
        let producer: BaseProducer<Context> = client_config
            .create_with_context(Context {
                core: Arc::clone(&core),
            })
            .map_err(|e| KafkaConfigError::Client(e.to_string()))?;
        let shared = Arc::new(Shared {
            producer: RwLock::new(Arc::new(producer)),
            client_config,
            recycle_after: message_timeout.max(Duration::from_secs(1)),
            core,
            routing: config.topics.clone(),
            stop: AtomicBool::new(false),
            draining: Mutex::new(()),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("onex-kafka".to_owned())
                .spawn(move || shared.run())
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
            shared,
            worker: Some(worker),
        })
    }

    /// [`KafkaSink::new`] over [`KafkaConfig::from_env`].
    pub fn from_env() -> Result<Self, KafkaConfigError> {
        KafkaSink::new(KafkaConfig::from_env()?)
    }

    /// The sink's counters now.
    pub fn stats(&self) -> KafkaStats {
        let core = &self.shared.core;
        let retrying = core.retrying.load(Ordering::Acquire);
        // Not the extra count held while the producer is replaced.
        let buffered = retrying.saturating_sub(usize::from(core.replacing.load(Ordering::Acquire)));
        core.counters
            .snapshot(buffered as u64, core.available.load(Ordering::Relaxed))
    }
}

impl Sink for KafkaSink {
    fn publish(&self, event: Event) {
        let shared = &*self.shared;
        let core = &*shared.core;
        let published_at = core.now();
        Counters::bump(&core.counters.published);
        let event_id = event.event_id;
        let sent = SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => shared.send_event(event, &mut scratch, published_at),
            // Re-entered from a callback on this thread: fresh buffers.
            Err(_) => shared.send_event(event, &mut Scratch::default(), published_at),
        });
        if let Err(error) = sent {
            let outcome = Outcome::Failed { error };
            core.settle(&core.counters.failed, event_id, outcome, published_at);
        }
    }

    /// Waits until every event published before the call has had its final
    /// report (delivered or given up), wherever it is: the producer, the
    /// retry buffer, a producer being replaced, or a thread moving it
    /// between them. Events published meanwhile are waited for too.
    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let shared = &*self.shared;
        let core = &*shared.core;
        let deadline = Instant::now() + timeout;
        loop {
            if core.counters.unsettled() == 0 {
                return Ok(());
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            // Serve the producer's callbacks here too. While the retry buffer
            // is not empty, or once the producer is (the rest is held by a
            // producer being replaced), the delivery thread is moving the
            // events: wait a little.
            let elsewhere = core.retrying.load(Ordering::Acquire) > 0
                || shared
                    .current()
                    .flush(remaining.min(Duration::from_millis(100)))
                    .is_ok();
            if elsewhere && core.counters.unsettled() > 0 {
                std::thread::sleep(remaining.min(Duration::from_millis(1)));
            }
            if Instant::now() >= deadline && core.counters.unsettled() > 0 {
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
}

impl Shared {
    /// Serializes and enqueues `event`; buffers it when librdkafka cannot
    /// take it now. `Err` for an event that can never be sent.
    ///
    /// While the cluster is unavailable, or events wait in the retry
    /// buffer, `event` joins the buffer with its headers still to build:
    /// the delivery thread builds and enqueues them, so an operation pays
    /// for little more than its JSON when the broker is down.
    fn send_event(
        &self,
        event: Event,
        scratch: &mut Scratch,
        published_at: usize,
    ) -> Result<(), String> {
        let core = &*self.core;
        let available = core.available.load(Ordering::Relaxed);
        if !available || core.retrying.load(Ordering::Acquire) > 0 {
            if !available {
                core.log_fallback(&event);
            }
            let pending = Pending {
                event_id: event.event_id,
                published_at,
                body: Body::Event(Box::new(event)),
            };
            if let Err(pending) = core.try_buffer(pending) {
                // Full: move what librdkafka's queue takes now (the cost
                // falls on the publisher only here), then keep it or
                // count it as overflowed.
                self.drain();
                core.buffer(pending);
            }
            return Ok(());
        }
        scratch.payload.clear();
        event
            .write_json(&mut scratch.payload)
            .map_err(|e| format!("cannot serialize the envelope: {e}"))?;
        self.routing.write_topic(&event, &mut scratch.topic);
        let mut uuid_text = Uuid::encode_buffer();
        let key = record_key(&event, &mut uuid_text);
        let timestamp = Some(event.timestamp.as_datetime().timestamp_millis());
        let headers = headers::cloudevents_headers_with_source(&event, scratch.source(&event.node));
        let mut record = BaseRecord::with_opaque_to(&scratch.topic, published_at)
            .key(key)
            .payload(&scratch.payload[..])
            .headers(headers);
        record.timestamp = timestamp;
        match self.producer().send(record) {
            Ok(()) => Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), record)) => {
                // librdkafka's queue is full: keep it in ours.
                core.buffer(Pending {
                    event_id: event.event_id,
                    published_at,
                    body: Body::Encoded(Encoded {
                        topic: scratch.topic.clone(),
                        key: key.to_vec(),
                        payload: scratch.payload.clone(),
                        headers: record.headers,
                        timestamp,
                    }),
                });
                Ok(())
            }
            Err((e, _)) => Err(e.to_string()),
        }
    }

    /// `event` as a record, for the retry buffer's way to librdkafka.
    fn encode(&self, event: &Event) -> Result<Encoded, String> {
        let mut payload = Vec::with_capacity(640);
        event
            .write_json(&mut payload)
            .map_err(|e| format!("cannot serialize the envelope: {e}"))?;
        let mut topic = String::new();
        self.routing.write_topic(event, &mut topic);
        let mut uuid_text = Uuid::encode_buffer();
        Ok(Encoded {
            topic,
            key: record_key(event, &mut uuid_text).to_vec(),
            payload,
            headers: Some(headers::cloudevents_headers(event)),
            timestamp: Some(event.timestamp.as_datetime().timestamp_millis()),
        })
    }

    /// The delivery thread: runs librdkafka's callbacks and re-enqueues the
    /// retry buffer.
    fn run(&self) {
        while !self.stop.load(Ordering::Acquire) {
            let busy = self.core.retrying.load(Ordering::Acquire) > 0;
            self.current()
                .poll(Duration::from_millis(if busy { 5 } else { 20 }));
            if busy {
                self.drain();
            }
            if self.stuck() {
                self.recycle();
            }
        }
    }

    /// The producer, for a short non-blocking call.
    fn producer(&self) -> RwLockReadGuard<'_, Arc<BaseProducer<Context>>> {
        self.producer.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The producer, for a call that may wait.
    fn current(&self) -> Arc<BaseProducer<Context>> {
        Arc::clone(&self.producer())
    }

    /// True when the producer hit a fatal error, or its deliveries have
    /// failed for `recycle_after` with no success.
    fn stuck(&self) -> bool {
        let core = &*self.core;
        if core.fatal.load(Ordering::Acquire) {
            return true;
        }
        let since = core.failing_since.load(Ordering::Acquire);
        since != 0
            && Duration::from_nanos((core.now() as u64).saturating_sub(since)) > self.recycle_after
    }

    /// Replaces a stuck producer: an idempotent producer whose cluster lost
    /// its producer id (a broker that restarted empty) retries forever, and
    /// one with a fatal error fails every record. The old producer's records
    /// are purged into the retry buffer and sent again by the new one (a
    /// record purged in flight may have been written: consumers dedupe by
    /// event id). Events keep their publish order per key: those published
    /// meanwhile wait in the retry buffer behind the purged ones.
    fn recycle(&self) {
        let core = &*self.core;
        let context = Context {
            core: Arc::clone(&self.core),
        };
        let new: BaseProducer<Context> = match self.client_config.create_with_context(context) {
            Ok(p) => p,
            Err(error) => {
                tracing::error!(target: "onex_events::kafka", %error, "cannot recreate the Kafka producer");
                core.failing_since
                    .store(core.now() as u64, Ordering::Release);
                return;
            }
        };
        tracing::warn!(
            target: "onex_events::kafka",
            after = ?self.recycle_after,
            "Kafka deliveries keep failing; replacing the producer"
        );
        core.fatal.store(false, Ordering::Release);
        core.failing_since.store(0, Ordering::Release);
        let old = self.begin_replacement(new);
        self.finish_replacement(&old);
    }

    /// Swaps in `new`; from now on, new events go to the retry buffer.
    fn begin_replacement(&self, new: BaseProducer<Context>) -> Arc<BaseProducer<Context>> {
        let core = &*self.core;
        core.replacing.store(true, Ordering::Release);
        core.retrying.fetch_add(1, Ordering::AcqRel);
        let mut guard = self.producer.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *guard, Arc::new(new))
    }

    /// Purges `old` and puts its records in the retry buffer, in front of
    /// the events published since `begin_replacement`, all in publish order.
    fn finish_replacement(&self, old: &BaseProducer<Context>) {
        let core = &*self.core;
        old.purge(PurgeConfig::default().queue().inflight());
        // Runs the purged records' callbacks, which collect them in `purged`.
        let _ = old.flush(Duration::from_secs(1));
        let purged = std::mem::take(&mut *core.purged.lock().unwrap_or_else(|e| e.into_inner()));
        {
            let mut q = core.lock_retry();
            let n = purged.len();
            let mut all: Vec<Pending> = purged.into_iter().chain(q.items.drain(..)).collect();
            // Stable: equal times keep the purged (older) records first.
            all.sort_by_key(|p| p.published_at);
            q.bytes += all.iter().take(n).map(Pending::size).sum::<usize>();
            q.items = all.into();
            core.retrying.fetch_add(n, Ordering::AcqRel);
            core.counters.retried.fetch_add(n as u64, Ordering::Relaxed);
        }
        // Records still held by `old` (not purged within the flush) reach
        // the retry buffer's back when it is dropped.
        core.replacing.store(false, Ordering::Release);
        core.retrying.fetch_sub(1, Ordering::AcqRel);
    }

    /// Moves the retry buffer, oldest first, into librdkafka's queue until
    /// it is full; gives up events older than the time-to-live.
    fn drain(&self) {
        let core = &*self.core;
        if core.replacing.load(Ordering::Acquire) {
            return;
        }
        // One drainer at a time (the delivery thread, or a publisher
        // facing a full buffer), so the buffer's order is kept.
        let _draining = self.draining.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let batch: Vec<Pending> = {
                let mut q = core.lock_retry();
                let n = q.items.len().min(256);
                let batch: Vec<Pending> = q.items.drain(..n).collect();
                q.bytes -= batch.iter().map(Pending::size).sum::<usize>();
                batch
            };
            if batch.is_empty() {
                return;
            }
            let mut rest = batch.into_iter();
            while let Some(p) = rest.next() {
                if core.age(p.published_at) > core.ttl {
                    core.settle_retry(
                        &core.counters.expired,
                        p.event_id,
                        Outcome::Expired,
                        p.published_at,
                    );
                    continue;
                }
                let (event_id, published_at) = (p.event_id, p.published_at);
                let encoded = match p.body {
                    Body::Encoded(e) => e,
                    Body::Event(event) => match self.encode(&event) {
                        Ok(e) => e,
                        Err(error) => {
                            let outcome = Outcome::Failed { error };
                            core.settle_retry(
                                &core.counters.failed,
                                event_id,
                                outcome,
                                published_at,
                            );
                            continue;
                        }
                    },
                };
                let mut record = BaseRecord::with_opaque_to(&encoded.topic, published_at)
                    .key(&encoded.key[..])
                    .payload(&encoded.payload[..]);
                record.headers = encoded.headers;
                record.timestamp = encoded.timestamp;
                let sent = self.producer().send(record);
                match sent {
                    Ok(()) => {
                        core.retrying.fetch_sub(1, Ordering::AcqRel);
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), record)) => {
                        // Still full: put this one and the rest back in front.
                        let headers = record.headers;
                        let p = Pending {
                            event_id,
                            published_at,
                            body: Body::Encoded(Encoded { headers, ..encoded }),
                        };
                        let mut q = core.lock_retry();
                        for p in rest.rev().chain(std::iter::once(p)) {
                            q.bytes += p.size();
                            q.items.push_front(p);
                        }
                        return;
                    }
                    Err((e, _)) => {
                        let error = e.to_string();
                        core.settle_retry(
                            &core.counters.failed,
                            event_id,
                            Outcome::Failed { error },
                            published_at,
                        );
                    }
                }
            }
        }
    }
}

impl Core {
    fn now(&self) -> usize {
        usize::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(usize::MAX)
    }

    fn age(&self, published_at: usize) -> Duration {
        Duration::from_nanos(self.now().saturating_sub(published_at) as u64)
    }

    fn lock_retry(&self) -> MutexGuard<'_, RetryQueue> {
        // The queue stays consistent even if a holder panicked.
        self.retry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `p` in the retry buffer, or counts it as overflowed.
    fn buffer(&self, p: Pending) {
        if let Err(p) = self.try_buffer(p) {
            let (event_id, published_at) = (p.event_id, p.published_at);
            self.settle(
                &self.counters.overflowed,
                event_id,
                Outcome::Overflowed,
                published_at,
            );
        }
    }

    /// Keeps `p` in the retry buffer; gives it back when the buffer is full.
    fn try_buffer(&self, p: Pending) -> Result<(), Pending> {
        let mut q = self.lock_retry();
        let full = self.retrying.load(Ordering::Acquire) >= self.capacity
            || q.bytes + p.size() > self.max_bytes;
        if full {
            return Err(p);
        }
        Counters::bump(&self.counters.retried);
        self.retrying.fetch_add(1, Ordering::AcqRel);
        q.bytes += p.size();
        q.items.push_back(p);
        Ok(())
    }

    /// Gives up an event taken from the retry buffer.
    fn settle_retry(
        &self,
        counter: &AtomicU64,
        event_id: Uuid,
        outcome: Outcome,
        published_at: usize,
    ) {
        self.retrying.fetch_sub(1, Ordering::AcqRel);
        self.settle(counter, event_id, outcome, published_at);
    }

    /// An event's final outcome: reported, then counted in `counter`, so
    /// that a `flush` that sees the count also sees the report.
    fn settle(&self, counter: &AtomicU64, event_id: Uuid, outcome: Outcome, published_at: usize) {
        self.report(event_id, outcome, published_at);
        Counters::settle(counter);
    }

    /// Logs an event's final outcome unless delivered, and tells the listener.
    fn report(&self, event_id: Uuid, outcome: Outcome, published_at: usize) {
        match &outcome {
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
        if let Some(listener) = &self.listener {
            listener(&DeliveryReport {
                event_id,
                outcome,
                latency: self.age(published_at),
            });
        }
    }

    /// The seed's fallback: the event logged while Kafka is unavailable.
    fn log_fallback(&self, event: &Event) {
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

    fn set_available(&self, available: bool, reason: &str) {
        if self.available.swap(available, Ordering::Relaxed) != available {
            if available {
                tracing::info!(target: "onex_events::kafka", "Kafka available again; delivering buffered events");
            } else {
                tracing::warn!(target: "onex_events::kafka", reason, "Kafka unavailable; events are logged and kept until it returns");
            }
        }
    }
}

/// The record key of `event`: its correlation id (hyphenated text, written
/// into `buf`), or its node id for an event without one.
fn record_key<'a>(event: &'a Event, buf: &'a mut [u8; 45]) -> &'a [u8] {
    match event.partition_key() {
        PartitionKey::Correlation(id) => id.hyphenated().encode_lower(buf).as_bytes(),
        PartitionKey::Node(node_id) => node_id.as_bytes(),
    }
}

/// A record that will not succeed on retry.
pub(crate) fn is_permanent(code: Option<RDKafkaErrorCode>) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        Some(
            C::MessageSizeTooLarge
                | C::InvalidMessageSize
                | C::InvalidMessage
                | C::InvalidTopic
                | C::UnknownTopic
                | C::TopicAuthorizationFailed
                | C::ClusterAuthorizationFailed
                | C::InvalidRecord
                | C::InvalidArgument
        )
    )
}

/// Forwards a librdkafka log line to `tracing` (target `librdkafka`).
pub(crate) fn forward_librdkafka_log(level: RDKafkaLogLevel, fac: &str, message: &str) {
    use RDKafkaLogLevel as L;
    match level {
        L::Emerg | L::Alert | L::Critical | L::Error | L::Warning => {
            tracing::warn!(target: "librdkafka", fac, "{message}")
        }
        L::Notice | L::Info => tracing::info!(target: "librdkafka", fac, "{message}"),
        L::Debug => tracing::debug!(target: "librdkafka", fac, "{message}"),
    }
}

/// librdkafka's callbacks.
struct Context {
    core: Arc<Core>,
}

impl ClientContext for Context {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        forward_librdkafka_log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::AllBrokersDown) => self.core.set_available(false, reason),
            Some(RDKafkaErrorCode::Fatal) => {
                tracing::error!(target: "onex_events::kafka", %error, reason, "fatal Kafka producer error; replacing the producer");
                self.core.fatal.store(true, Ordering::Release);
            }
            _ => {
                tracing::debug!(target: "onex_events::kafka", %error, reason, "Kafka client error")
            }
        }
    }
}

impl ProducerContext for Context {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, published_at: usize) {
        let core = &*self.core;
        match result {
            Ok(message) => {
                // Read first: a store per delivery would bounce the cache
                // line `publish` reads.
                if core.failing_since.load(Ordering::Relaxed) != 0 {
                    core.failing_since.store(0, Ordering::Relaxed);
                }
                if !core.available.load(Ordering::Relaxed) {
                    core.set_available(true, "");
                }
                if core.listener.is_some() {
                    let event_id = headers::event_id(message.headers()).unwrap_or_default();
                    let outcome = Outcome::Delivered {
                        partition: message.partition(),
                        offset: message.offset(),
                    };
                    core.report(event_id, outcome, published_at);
                }
                Counters::settle(&core.counters.delivered);
            }
            Err((error, message)) => {
                let event_id = headers::event_id(message.headers()).unwrap_or_default();
                let code = error.rdkafka_error_code();
                if core.closing.load(Ordering::Acquire) {
                    core.settle(&core.counters.lost, event_id, Outcome::Lost, published_at);
                } else if is_permanent(code) {
                    let outcome = Outcome::Failed {
                        error: error.to_string(),
                    };
                    core.settle(&core.counters.failed, event_id, outcome, published_at);
                } else {
                    let purged = matches!(
                        code,
                        Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)
                    );
                    let now = if purged {
                        0
                    } else {
                        (core.now() as u64).max(1)
                    };
                    let _ = core.failing_since.compare_exchange(
                        0,
                        now,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    );
                    core.set_available(false, &error.to_string());
                    tracing::debug!(target: "onex_events::kafka", %event_id, %error, "delivery failed; retrying");
                    let pending = Pending {
                        event_id,
                        published_at,
                        body: Body::Encoded(Encoded {
                            topic: message.topic().to_owned(),
                            key: message.key().unwrap_or_default().to_vec(),
                            payload: message.payload().unwrap_or_default().to_vec(),
                            headers: message.headers().map(|h| h.detach()),
                            timestamp: message.timestamp().to_millis(),
                        }),
                    };
                    if purged && core.replacing.load(Ordering::Acquire) {
                        // Kept whatever the buffer's capacity: these events
                        // were accepted already.
                        core.purged
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(pending);
                    } else {
                        core.buffer(pending);
                    }
                }
            }
        }
    }
}

impl Drop for KafkaSink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(worker) = self.worker.take() {
            if worker.join().is_err() {
                tracing::error!(target: "onex_events::kafka", "the Kafka delivery thread panicked");
            }
        }
        let core = &*self.shared.core;
        core.closing.store(true, Ordering::Release);
        let stats = self.stats();
        if stats.pending() > 0 {
            tracing::error!(
                target: "onex_events::kafka",
                pending = stats.pending(),
                "Kafka sink dropped with undelivered events; call flush() before exiting"
            );
        }
        let items = std::mem::take(&mut core.lock_retry().items);
        for p in items {
            core.settle_retry(
                &core.counters.lost,
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
            .field("topics", &self.shared.routing)
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
pub(crate) fn test_event(event_type: crate::EventType) -> Event {
    Event {
        event_id: Uuid::new_v4(),
        event_type,
        timestamp: crate::Timestamp::now(),
        correlation_id: Some(Uuid::new_v4()),
        causation_id: None,
        node: Arc::new(crate::NodeIdentity {
            node_id: "node-1".to_owned(),
            node_type: event_type.node_type(),
            service: "svc".to_owned(),
            namespace: "onex".to_owned(),
            instance_id: Uuid::new_v4(),
        }),
        payload: crate::Payload::StateChanged {
            old_state: "a".to_owned(),
            new_state: "b".to_owned(),
            transition_reason: "test".to_owned(),
        },
        trace_parent: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventType;

    /// Events of one key published before, during and after a producer
    /// replacement reach the cluster in publish order: the old producer's
    /// purged records go back in front of those published meanwhile.
    #[test]
    fn replacing_the_producer_keeps_the_order_of_one_key() {
        use rdkafka::mocking::MockCluster;
        use rdkafka::producer::DefaultProducerContext;

        let mock: MockCluster<'static, DefaultProducerContext> = MockCluster::new(1).unwrap();
        mock.create_topic("replaced", 1, 1).unwrap();
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let config = {
            let delivered = Arc::clone(&delivered);
            KafkaConfig::new(mock.bootstrap_servers())
                .topics(TopicRouting::single("replaced"))
                .on_delivery(move |r: &DeliveryReport| {
                    assert!(r.outcome.is_delivered(), "{r:?}");
                    delivered.lock().unwrap().push(r.event_id);
                })
        };
        let sink = KafkaSink::new(config).unwrap();
        let event_type = EventType::parse("orchestrator.state.changed").unwrap();
        let correlation = Some(Uuid::new_v4());
        let mut ids = Vec::new();
        let mut publish = |n: usize| {
            for _ in 0..n {
                let mut event = test_event(event_type);
                event.correlation_id = correlation;
                ids.push(event.event_id);
                sink.publish(event);
            }
        };
        publish(5);
        sink.flush(Duration::from_secs(10)).unwrap();
        // Queued in the old producer: the broker is down.
        mock.broker_down(1).unwrap();
        publish(20);
        let shared = &*sink.shared;
        let context = Context {
            core: Arc::clone(&shared.core),
        };
        let old =
            shared.begin_replacement(shared.client_config.create_with_context(context).unwrap());
        publish(20);
        shared.finish_replacement(&old);
        drop(old);
        publish(20);
        mock.broker_up(1).unwrap();
        sink.flush(Duration::from_secs(30)).unwrap();
        let stats = sink.stats();
        assert_eq!(stats.delivered, 65, "{stats:?}");
        assert!(
            stats.retried >= 20,
            "the old producer's records were purged: {stats:?}"
        );
        assert_eq!(*delivered.lock().unwrap(), ids);
    }

    /// The window of `Shared::recycle` between swapping the producer and
    /// purging the old one: the events are in neither the retry buffer nor
    /// the current producer, and `flush` must still wait for them.
    #[test]
    fn flush_waits_for_events_held_by_a_replaced_producer() {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let config = {
            let reports = Arc::clone(&reports);
            // Nothing listens on port 1: the records stay queued.
            KafkaConfig::new("127.0.0.1:1").on_delivery(move |r: &DeliveryReport| {
                reports.lock().unwrap().push(r.event_id);
            })
        };
        let sink = KafkaSink::new(config).unwrap();
        let event_type = EventType::parse("orchestrator.state.changed").unwrap();
        for _ in 0..10 {
            sink.publish(test_event(event_type));
        }
        // All in the producer's queue (events published once the cluster
        // was known unreachable go there through the retry buffer).
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.stats().buffered > 0 {
            assert!(Instant::now() < deadline, "{:?}", sink.stats());
            std::thread::sleep(Duration::from_millis(5));
        }
        let shared = &*sink.shared;
        let context = Context {
            core: Arc::clone(&shared.core),
        };
        let new = shared.client_config.create_with_context(context).unwrap();
        let old = std::mem::replace(&mut *shared.producer.write().unwrap(), Arc::new(new));
        assert_eq!(shared.core.retrying.load(Ordering::Acquire), 0);

        let flushed = sink.flush(Duration::from_millis(300));
        assert!(
            matches!(flushed, Err(SinkError::Timeout { pending: 10, .. })),
            "{flushed:?}"
        );
        assert!(reports.lock().unwrap().is_empty());
        assert_eq!(sink.stats().pending(), 10);

        // Purged, the old producer's records go back to the retry buffer
        // and on to the new producer, still without an outcome.
        drop(old);
        assert_eq!(sink.stats().pending(), 10);
        assert!(sink.flush(Duration::from_millis(100)).is_err());
        assert!(reports.lock().unwrap().is_empty());
        drop(sink);
        assert_eq!(reports.lock().unwrap().len(), 10);
    }
}
