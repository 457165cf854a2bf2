//! The relay thread's loop: claim pending rows, send them, record what
//! became of each, delete old delivered rows.

use super::super::clock::now_ms;
use super::super::failures::Failures;
use super::super::lock::lock;
use super::super::wake::Wake;
use super::super::OutboxError;
use super::context::{RelayContext, Report, DEAD_LETTER};
use super::headers::headers_from_json;
use super::{Outcome, Pending, RelayConfig, RelayStore};
use crate::sink::kafka::is_permanent;
use crate::sink::kafka::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use crate::sink::kafka::rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use crate::sink::kafka::rdkafka::ClientConfig;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a stopping relay still waits for the reports of its last batch.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// The relay thread's state.
pub(super) struct Worker<S> {
    config: RelayConfig,
    client: ClientConfig,
    store: S,
    wake: Arc<Wake>,
    failures: Arc<Failures>,
    producer: BaseProducer<RelayContext>,
    stop: Arc<AtomicBool>,
    last_retention: Instant,
}

impl<S: RelayStore> Worker<S> {
    /// A relay of `store` with its own producer.
    pub fn new(
        config: &RelayConfig,
        store: S,
        wake: Arc<Wake>,
        failures: Arc<Failures>,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, OutboxError> {
        let kafka = &config.kafka;
        let mut client = kafka.client_config();
        if kafka.get("message.timeout.ms").is_none() {
            let ms = config.delivery_timeout.as_millis().max(1);
            client.set("message.timeout.ms", ms.to_string());
        }
        let producer: BaseProducer<RelayContext> = client
            .create_with_context(RelayContext::default())
            .map_err(|e| crate::sink::kafka::KafkaConfigError::Client(e.to_string()))?;
        Ok(Worker {
            config: config.clone(),
            client,
            store,
            wake,
            failures,
            producer,
            stop,
            last_retention: Instant::now(),
        })
    }

    pub fn run(&mut self) {
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
                    self.failures.set_error(Arc::new(error));
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
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
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
            if let Some(topic) = &self.config.dead_letter_topic {
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
fn backoff_ms(config: &RelayConfig, attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let d = config
        .backoff_initial
        .saturating_mul(1u32 << shift)
        .min(config.backoff_max);
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let c = RelayConfig::new(crate::sink::kafka::KafkaConfig::new("k:9092"))
            .backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(backoff_ms(&c, 1), 100);
        assert_eq!(backoff_ms(&c, 2), 200);
        assert_eq!(backoff_ms(&c, 4), 800);
        assert_eq!(backoff_ms(&c, 5), 1000);
        assert_eq!(backoff_ms(&c, 500), 1000);
    }
}
