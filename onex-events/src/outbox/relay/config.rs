//! [`RelayConfig`]: how a relay delivers an outbox's rows to Kafka,
//! whichever backend holds them.

use crate::kafka::KafkaConfig;
use std::time::Duration;

/// How a relay delivers: its cluster, batches, retries, dead letters and
/// retention. Given to [`OutboxConfig::relay`](crate::outbox::OutboxConfig::relay).
///
/// Every duration is taken as given, up to `Duration::MAX` ("as long as it
/// takes"): none makes the relay panic or overflow.
///
/// ```
/// use onex_events::outbox::RelayConfig;
/// use onex_events::kafka::KafkaConfig;
/// use std::time::Duration;
///
/// let relay = RelayConfig::new(KafkaConfig::new("broker-1:9092"))
///     .retention(Duration::from_secs(600))
///     .max_attempts(5)
///     .dead_letter_topic("orders.dead-letter");
/// # let _ = relay;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RelayConfig {
    pub(crate) kafka: KafkaConfig,
    pub(crate) retention: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) batch_size: usize,
    pub(crate) batches_in_flight: usize,
    pub(crate) delivery_timeout: Duration,
    pub(crate) dead_letter_topic: Option<String>,
    pub(crate) idle_poll: Duration,
}

impl RelayConfig {
    /// A relay to the cluster of `kafka`. Its producer uses `kafka`'s
    /// properties (idempotence, `acks=all`) and topic routing; its retry
    /// buffer settings do not apply (the outbox is the buffer).
    pub fn new(kafka: KafkaConfig) -> Self {
        RelayConfig {
            kafka,
            retention: Duration::from_secs(3600),
            max_attempts: 10,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            batch_size: 5_000,
            batches_in_flight: 4,
            delivery_timeout: Duration::from_secs(30),
            dead_letter_topic: None,
            idle_poll: Duration::from_millis(100),
        }
    }

    /// How long delivered rows are kept before they are deleted. Default:
    /// one hour. Zero deletes them as soon as they are delivered.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Failed deliveries, with an error that names the record (too large,
    /// invalid topic, not authorized…), before an event moves to the
    /// dead-letter table. Default: 10. Failures because the cluster is
    /// unreachable never dead-letter an event: it waits for the cluster.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Backoff between retries of one event: doubles from `initial` up to
    /// `max`. Default: 200 ms to 30 s. The relay also waits this long (and
    /// doubles it, up to `max`) after a cycle that failed, e.g. a disk it
    /// cannot write.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max.max(initial);
        self
    }

    /// Events the relay reads and sends at once. Default: 5,000.
    pub fn batch_size(mut self, events: usize) -> Self {
        self.batch_size = events.max(1);
        self
    }

    /// Batches the relay sends before the first of them is acknowledged
    /// (it claims and sends the next while the cluster acknowledges the
    /// last), with per-key order kept (see `outbox/relay/order.rs`).
    /// Default: 4. The SQLite outbox's relay only, and only while the
    /// publishers of its process are not committing (it keeps one batch in
    /// flight while they are, leaving the cores and the file to their
    /// commits): a PostgreSQL relay's claim is a transaction, one at a time
    /// (run more relays instead).
    pub fn batches_in_flight(mut self, batches: usize) -> Self {
        self.batches_in_flight = batches.max(1);
        self
    }

    /// How long the relay waits for the cluster to acknowledge an event
    /// (librdkafka's `message.timeout.ms`) before retrying it. Default: 30 s.
    /// Longer than librdkafka's limit (`i32::MAX` ms, about 24 days) means
    /// that limit.
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// Also publish each dead-lettered event to `topic`, with the error in
    /// an `onex_dead_letter_error` header.
    pub fn dead_letter_topic(mut self, topic: impl Into<String>) -> Self {
        self.dead_letter_topic = Some(topic.into());
        self
    }

    /// How often an idle relay looks for rows committed by other
    /// connections (this process's commits wake it at once). Default:
    /// 100 ms.
    pub fn idle_poll(mut self, interval: Duration) -> Self {
        self.idle_poll = interval;
        self
    }

    /// The cluster.
    pub fn kafka_config(&self) -> &KafkaConfig {
        &self.kafka
    }
}
