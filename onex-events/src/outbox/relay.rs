//! The relay: a thread that publishes committed outbox rows to Kafka, in
//! commit order per key, and records what happened to each.
//!
//! Each cycle reads up to `batch_size` pending rows in `seq` order, skips
//! every row whose key has an earlier row still waiting for its retry
//! backoff (so a key's events never overtake each other), sends the rest
//! through one idempotent producer (`enable.idempotence=true`, `acks=all`,
//! which keeps each partition in order across librdkafka's own retries),
//! waits for every delivery report and then, in one transaction, marks the
//! delivered rows and schedules the failed ones for a retry with
//! exponential backoff. An event that keeps failing with an error naming
//! the record (too large, invalid topic, not authorized…) moves to the
//! dead-letter table after `max_attempts`, and to the dead-letter topic if
//! one is configured; while the cluster is merely unreachable, events wait
//! for it without limit. Delivered rows are deleted after the retention
//! period.
//!
//! Crash safety: a row is marked delivered only after the cluster
//! acknowledged it, so after a crash the next relay sends again whatever
//! was not marked. That is at-least-once: a record acknowledged just before
//! a crash is sent twice, with the same `event_id` (and `ce_id` header),
//! so a consumer that dedups by event id sees each event once.
//!
//! The database side (claiming rows, recording outcomes, retention) is a
//! [`RelayStore`]: the SQLite file or a shared PostgreSQL table.

use super::backend::{Outcome, Pending, RelayStore};
use super::config::OutboxConfig;
use super::store::{lock, now_ms, Wake};
use super::OutboxError;
use crate::kafka::headers::DEAD_LETTER_ERROR;
use crate::kafka::rdkafka::client::ClientContext;
use crate::kafka::rdkafka::config::RDKafkaLogLevel;
use crate::kafka::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use crate::kafka::rdkafka::message::{Header, OwnedHeaders};
use crate::kafka::rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext,
};
use crate::kafka::KafkaConfig;
use crate::kafka::{forward_librdkafka_log, is_permanent, is_queue_full};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The opaque of records sent to the dead-letter topic.
const DEAD_LETTER: usize = usize::MAX;
/// How long a stopping relay still waits for the reports of its last batch.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A running relay thread; stops (and joins) on drop.
pub(crate) struct Relay {
    stop: Arc<AtomicBool>,
    wake: Arc<Wake>,
    handle: Option<JoinHandle<()>>,
}

impl Relay {
    /// Starts the relay of `store` to the cluster of `kafka`.
    pub fn spawn(
        config: &OutboxConfig,
        kafka: &KafkaConfig,
        store: impl RelayStore,
    ) -> Result<Relay, OutboxError> {
        let mut client = kafka.client_config();
        if kafka.get("message.timeout.ms").is_none() {
            let ms = config.delivery_timeout.as_millis().max(1);
            client.set("message.timeout.ms", ms.to_string());
        }
        let context = RelayContext::default();
        let producer: BaseProducer<RelayContext> = client
            .create_with_context(context)
            .map_err(|e| crate::kafka::KafkaConfigError::Client(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let wake = store.wake();
        let outbox = store.describe();
        let mut worker = Worker {
            config: config.clone(),
            client,
            routing_dead_letter: config.dead_letter_topic.clone(),
            wake: Arc::clone(&wake),
            store,
            producer,
            stop: Arc::clone(&stop),
            last_retention: Instant::now(),
        };
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
            bootstrap_servers = kafka.bootstrap_servers(),
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

/// What happened to one sent row.
enum Report {
    Delivered,
    Failed { error: String, permanent: bool },
}

struct Worker<S> {
    config: OutboxConfig,
    client: crate::kafka::rdkafka::ClientConfig,
    routing_dead_letter: Option<String>,
    store: S,
    wake: Arc<Wake>,
    producer: BaseProducer<RelayContext>,
    stop: Arc<AtomicBool>,
    last_retention: Instant,
}

impl<S: RelayStore> Worker<S> {
    fn run(&mut self) {
        let mut error_backoff = self.config.backoff_initial;
        while !self.stop.load(Ordering::Acquire) {
            let wait = match self.cycle() {
                Ok(Idle::Sent) => {
                    error_backoff = self.config.backoff_initial;
                    Duration::ZERO
                }
                Ok(Idle::Until(wait)) => wait,
                Err(error) => {
                    tracing::error!(target: "onex_events::outbox", %error, "outbox relay cycle failed; retrying");
                    self.store.set_error(error);
                    error_backoff = (error_backoff * 2).min(self.config.backoff_max);
                    error_backoff
                }
            };
            if let Err(error) = self.retention() {
                tracing::warn!(target: "onex_events::outbox", %error, "deleting delivered outbox rows failed");
            }
            self.store.housekeeping();
            if !wait.is_zero() && !self.stop.load(Ordering::Acquire) {
                self.wake.wait(wait);
            }
        }
        // Let librdkafka finish what is in flight (dead letters).
        let _ = self.producer.flush(STOP_GRACE);
    }

    /// Sends one batch. `Idle::Until` when nothing could be sent.
    fn cycle(&mut self) -> Result<Idle, OutboxError> {
        let rows = self.store.claim(self.config.batch_size)?;
        let now = now_ms();
        let mut blocked: HashSet<&str> = HashSet::new();
        let mut earliest: Option<i64> = None;
        let mut batch: Vec<&Pending> = Vec::with_capacity(rows.len());
        for row in &rows {
            if blocked.contains(row.key.as_str()) {
                continue;
            }
            if row.next_attempt_at > now {
                blocked.insert(&row.key);
                earliest =
                    Some(earliest.map_or(row.next_attempt_at, |e| e.min(row.next_attempt_at)));
                continue;
            }
            batch.push(row);
        }
        if batch.is_empty() {
            self.store.release()?;
            let until = earliest.map_or(self.config.idle_poll, |t| {
                Duration::from_millis(u64::try_from(t - now).unwrap_or(0))
            });
            return Ok(Idle::Until(
                until
                    .min(self.config.idle_poll)
                    .max(Duration::from_millis(1)),
            ));
        }
        let reports = self.send(&batch);
        self.record(&batch, reports)?;
        Ok(Idle::Sent)
    }

    /// Sends `batch` and waits for every delivery report.
    fn send(&mut self, batch: &[&Pending]) -> Vec<Option<Report>> {
        let mut reports: Vec<Option<Report>> = Vec::new();
        reports.resize_with(batch.len(), || None);
        let mut sent = 0usize;
        for (i, row) in batch.iter().enumerate() {
            match self.produce(row, i, None) {
                Ok(()) => sent += 1,
                Err(error) => {
                    let permanent = is_permanent(error.rdkafka_error_code());
                    reports[i] = Some(Report::Failed {
                        error: error.to_string(),
                        permanent,
                    });
                }
            }
        }
        let deadline = Instant::now() + self.config.delivery_timeout + Duration::from_secs(10);
        let mut stop_deadline: Option<Instant> = None;
        let mut received = 0usize;
        while received < sent {
            self.producer.poll(Duration::from_millis(20));
            for (i, result) in lock(&self.producer.context().reports).drain(..) {
                if let Some(slot) = reports.get_mut(i) {
                    if slot.is_none() {
                        received += 1;
                    }
                    *slot = Some(result);
                }
            }
            let now = Instant::now();
            if self.stop.load(Ordering::Acquire) {
                let d = *stop_deadline.get_or_insert(now + STOP_GRACE);
                if now >= d {
                    break;
                }
            }
            if now >= deadline {
                tracing::warn!(target: "onex_events::outbox", missing = sent - received, "delivery reports overdue; retrying those events");
                break;
            }
        }
        let all_failed = received > 0
            && reports
                .iter()
                .all(|r| matches!(r, Some(Report::Failed { .. })));
        if self.producer.context().fatal.swap(false, Ordering::AcqRel) || all_failed {
            self.recreate_producer();
        }
        reports
    }

    /// Enqueues one row, waiting while librdkafka's queue is full.
    fn produce(
        &self,
        row: &Pending,
        opaque: usize,
        dead_letter: Option<(&str, &str)>,
    ) -> Result<(), KafkaError> {
        let headers = headers_from_json(&row.headers, dead_letter.map(|(_, e)| e));
        let topic = dead_letter.map_or(row.topic.as_str(), |(t, _)| t);
        let mut record = BaseRecord::with_opaque_to(topic, opaque)
            .key(row.key.as_bytes())
            .payload(row.payload.as_bytes())
            .headers(headers);
        record.timestamp = Some(row.created_at);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((e, back)) if is_queue_full(&e) => {
                    record = back;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Replaces the producer: after a fatal error, or when a whole batch
    /// failed (e.g. a broker that restarted and lost the producer id).
    fn recreate_producer(&mut self) {
        match self.client.create_with_context(RelayContext::default()) {
            Ok(producer) => {
                tracing::warn!(target: "onex_events::outbox", "replacing the outbox relay's Kafka producer");
                self.producer = producer;
            }
            Err(error) => {
                tracing::error!(target: "onex_events::outbox", %error, "cannot recreate the relay's Kafka producer")
            }
        }
    }

    /// Decides each row's outcome (delivered, retry with backoff, dead
    /// letter), has the store record them, then sends the dead letters to
    /// the dead-letter topic.
    fn record(
        &mut self,
        batch: &[&Pending],
        reports: Vec<Option<Report>>,
    ) -> Result<(), OutboxError> {
        let now = now_ms();
        let config = &self.config;
        let mut dead: Vec<(usize, String)> = Vec::new();
        let mut failed = 0usize;
        let outcomes: Vec<Outcome> = batch
            .iter()
            .zip(reports)
            .enumerate()
            .map(|(i, (row, report))| match report {
                Some(Report::Delivered) => Outcome::Delivered,
                Some(Report::Failed { error, permanent }) => {
                    failed += 1;
                    let attempts = row.attempts + 1;
                    if permanent && attempts >= i64::from(config.max_attempts) {
                        dead.push((i, error.clone()));
                        Outcome::Dead { attempts, error }
                    } else {
                        Outcome::Retry {
                            attempts,
                            next_attempt_at: now + backoff_ms(config, attempts),
                            error,
                        }
                    }
                }
                // No report (stopping, or overdue): sent again later.
                None => Outcome::Unsent,
            })
            .collect();
        let delivered = self.store.record(batch, &outcomes, now)?;
        if failed > 0 {
            tracing::warn!(target: "onex_events::outbox", delivered, failed, dead = dead.len(), "outbox delivery failures; retrying with backoff");
        }
        for (i, error) in &dead {
            let row = batch[*i];
            tracing::error!(target: "onex_events::outbox", event_id = row.id, %error, attempts = row.attempts + 1, "event moved to the outbox dead-letter table");
            if let Some(topic) = &self.routing_dead_letter {
                if let Err(e) = self.produce(row, DEAD_LETTER, Some((topic, error))) {
                    tracing::error!(target: "onex_events::outbox", event_id = row.id, error = %e, "cannot send to the dead-letter topic");
                }
            }
        }
        Ok(())
    }

    /// Deletes delivered rows older than the retention period, at most
    /// every few seconds.
    fn retention(&mut self) -> Result<(), OutboxError> {
        let every =
            (self.config.retention / 2).clamp(Duration::from_millis(100), Duration::from_secs(10));
        if self.config.retention.is_zero() || self.last_retention.elapsed() < every {
            return Ok(());
        }
        self.last_retention = Instant::now();
        let cutoff =
            now_ms() - i64::try_from(self.config.retention.as_millis()).unwrap_or(i64::MAX);
        let deleted = self.store.delete_delivered(cutoff)?;
        if deleted > 0 {
            tracing::debug!(target: "onex_events::outbox", deleted, "deleted delivered outbox rows");
        }
        Ok(())
    }
}

enum Idle {
    Sent,
    Until(Duration),
}

/// The backoff before retry number `attempts`: doubling, capped.
fn backoff_ms(config: &OutboxConfig, attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let d = config
        .backoff_initial
        .saturating_mul(1u32 << shift)
        .min(config.backoff_max);
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The stored CloudEvents headers (a JSON object of strings), in their
/// stored order, plus the dead-letter error when given.
fn headers_from_json(json: &str, dead_letter_error: Option<&str>) -> OwnedHeaders {
    let pairs = serde_json::from_str::<HeaderPairs<'_>>(json).unwrap_or_else(|error| {
        tracing::warn!(target: "onex_events::outbox", %error, headers = json, "stored headers are not a JSON object of strings; sending the record without them");
        HeaderPairs(Vec::new())
    });
    let error = dead_letter_error.map(|e| (DEAD_LETTER_ERROR, e));
    let pairs = pairs.0.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    pairs.chain(error).fold(
        OwnedHeaders::new_with_capacity(10),
        |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            })
        },
    )
}

/// A JSON object of strings as its pairs, in order, borrowed from the
/// input (no allocation per string) unless a string has escapes.
struct HeaderPairs<'de>(Vec<(Text<'de>, Text<'de>)>);

/// A string borrowed from the JSON input, or unescaped into its own.
struct Text<'de>(Cow<'de, str>);

impl Text<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for HeaderPairs<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeaderPairs<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of strings")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(10));
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(HeaderPairs(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// librdkafka's callbacks for the relay's producer.
#[derive(Default)]
struct RelayContext {
    /// `(index in the batch, report)`, filled by `poll` on the relay thread.
    reports: Mutex<Vec<(usize, Report)>>,
    fatal: AtomicBool,
}

impl ClientContext for RelayContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        forward_librdkafka_log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::Fatal) => {
                tracing::error!(target: "onex_events::outbox", %error, reason, "fatal Kafka producer error in the outbox relay");
                self.fatal.store(true, Ordering::Release);
            }
            Some(RDKafkaErrorCode::AllBrokersDown) => {
                tracing::warn!(target: "onex_events::outbox", reason, "Kafka unreachable; outbox events wait for it")
            }
            _ => {
                tracing::debug!(target: "onex_events::outbox", %error, reason, "Kafka client error")
            }
        }
    }
}

impl ProducerContext for RelayContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let report = match result {
            Ok(_) => Report::Delivered,
            Err((error, _)) => Report::Failed {
                error: error.to_string(),
                permanent: is_permanent(error.rdkafka_error_code()),
            },
        };
        if index == DEAD_LETTER {
            if let Report::Failed { error, .. } = report {
                tracing::error!(target: "onex_events::outbox", %error, "event not delivered to the dead-letter topic");
            }
            return;
        }
        lock(&self.reports).push((index, report));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let c = OutboxConfig::new("x").backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(backoff_ms(&c, 1), 100);
        assert_eq!(backoff_ms(&c, 2), 200);
        assert_eq!(backoff_ms(&c, 4), 800);
        assert_eq!(backoff_ms(&c, 5), 1000);
        assert_eq!(backoff_ms(&c, 500), 1000);
    }

    fn pairs(h: &OwnedHeaders) -> Vec<(String, String)> {
        use crate::kafka::rdkafka::message::Headers;
        h.iter()
            .map(|h| {
                let v = String::from_utf8_lossy(h.value.unwrap_or_default());
                (h.key.to_owned(), v.into_owned())
            })
            .collect()
    }

    #[test]
    fn stored_headers_keep_their_order_and_escapes() {
        let h = headers_from_json(r#"{"ce_type":"a.b","ce_id":"1","x":"q\"uote\u00e9"}"#, None);
        let expected = [("ce_type", "a.b"), ("ce_id", "1"), ("x", "q\"uote\u{e9}")];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs(&h), expected);
        let dead = headers_from_json(r#"{"ce_id":"1"}"#, Some("too large"));
        assert_eq!(
            pairs(&dead)[1],
            (DEAD_LETTER_ERROR.to_owned(), "too large".to_owned())
        );
        assert!(pairs(&headers_from_json("[1]", None)).is_empty());
    }
}
