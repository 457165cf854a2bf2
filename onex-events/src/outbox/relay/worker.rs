//! The relay thread's loop: claim pending rows, send them, record what
//! became of each, delete old delivered rows.
//!
//! **Batches in flight.** The relay does not wait for a batch's delivery
//! reports before it claims and sends the next: up to
//! [`RelayStore::batches_at_once`] batches are in flight (several for the
//! SQLite file, one for a PostgreSQL table, whose claim is a transaction).
//! Batches are recorded in the order they were sent, each once every
//! report is in. [`KeyOrder`] decides what may be sent meanwhile so that
//! no row overtakes an earlier row of its key, on failures and retries
//! too.

use super::super::clock::{deadline_after, millis, now_ms};
use super::super::failures::Failures;
use super::super::lock::lock;
use super::super::wake::Wake;
use super::super::OutboxError;
use super::context::{RelayContext, Report, DEAD_LETTER};
use super::headers::headers_from_json;
use super::order::KeyOrder;
use super::{Outcome, Pending, RelayConfig, RelayStore};
use crate::kafka::rdkafka::error::KafkaError;
use crate::kafka::rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use crate::kafka::rdkafka::ClientConfig;
use crate::kafka::{is_permanent, is_queue_full};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a stopping relay still waits for the reports of its batches.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// How long a relay with batches in flight and nothing to claim waits for
/// delivery reports at a time.
const REPORT_POLL: Duration = Duration::from_millis(20);

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
    /// Batches sent and not yet recorded, oldest first.
    in_flight: VecDeque<Batch>,
    order: KeyOrder,
    /// The opaque of the next record sent: batches number their rows from
    /// their `first`.
    next_opaque: usize,
    /// Replace the producer once nothing is in flight.
    recreate: bool,
    /// The oldest batch in flight could not be recorded (full disk…): it
    /// is recorded again, not sent again, and nothing new is sent meanwhile.
    unrecorded: bool,
}

/// One batch sent, waiting for its delivery reports.
struct Batch {
    rows: Vec<Pending>,
    reports: Vec<Option<Report>>,
    /// The opaque of `rows[0]`; `rows[i]` has `first + i`.
    first: usize,
    /// Reports still expected.
    missing: usize,
    /// Recorded as it is by then (what has no report is sent again).
    deadline: Instant,
}

/// What a step of the relay did.
enum Step {
    /// Something was sent or recorded: step again at once.
    Busy,
    /// Nothing to do: wait this long (or until woken).
    Idle(Duration),
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
        kafka.validate()?;
        let mut client = kafka.client_config();
        if kafka.get("message.timeout.ms").is_none() {
            // librdkafka's maximum: a longer timeout waits as long as that.
            let ms = config
                .delivery_timeout
                .as_millis()
                .clamp(1, i32::MAX as u128);
            client.set("message.timeout.ms", ms.to_string());
        }
        let producer: BaseProducer<RelayContext> = client
            .create_with_context(RelayContext::default())
            .map_err(|e| crate::kafka::KafkaConfigError::Client(e.to_string()))?;
        Ok(Worker {
            config: config.clone(),
            client,
            store,
            wake,
            failures,
            producer,
            stop,
            last_retention: Instant::now(),
            in_flight: VecDeque::new(),
            order: KeyOrder::default(),
            next_opaque: 0,
            recreate: false,
            unrecorded: false,
        })
    }

    pub fn run(&mut self) {
        let mut error_backoff = self.config.backoff_initial;
        while !self.stopping() {
            let wait = match self.step() {
                Ok(Step::Busy) => {
                    error_backoff = self.config.backoff_initial;
                    Duration::ZERO
                }
                Ok(Step::Idle(wait)) => wait,
                Err(error) => {
                    tracing::error!(target: "onex_events::outbox", %error, "outbox relay cycle failed; retrying");
                    self.failures.set_error(Arc::new(error));
                    error_backoff = error_backoff.saturating_mul(2).min(self.config.backoff_max);
                    error_backoff
                }
            };
            if let Err(error) = self.store.keep_alive() {
                tracing::warn!(target: "onex_events::outbox", %error, "cannot renew the outbox relay's lease");
            }
            if let Err(error) = self.retention() {
                tracing::warn!(target: "onex_events::outbox", %error, "deleting delivered outbox rows failed");
            }
            if !wait.is_zero() && !self.stopping() {
                self.wake.wait(wait);
            }
        }
        // Record what the batches in flight report within the grace period;
        // what has no report by then stays pending.
        let grace = deadline_after(STOP_GRACE);
        for batch in &mut self.in_flight {
            batch.deadline = batch.deadline.min(grace);
        }
        while !self.in_flight.is_empty() {
            if let Err(error) = self.collect(REPORT_POLL) {
                tracing::warn!(target: "onex_events::outbox", %error, "recording the last outbox deliveries failed");
                break;
            }
        }
        // Let librdkafka finish what is in flight (dead letters).
        let _ = self.producer.flush(STOP_GRACE);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Claims and sends batches while the pipeline has room, then collects
    /// delivery reports and records the batches they complete.
    fn step(&mut self) -> Result<Step, OutboxError> {
        if self.in_flight.is_empty() {
            if std::mem::take(&mut self.recreate) {
                self.recreate_producer();
            }
            // Completes a rewind; claims start over from the oldest
            // pending row (rows of another claim, or committed late, may
            // lie before the cursor).
            self.order.settle();
        }
        let mut earliest_retry: Option<i64> = None;
        let mut sent = false;
        let limit = self.config.batch_size;
        while !self.unrecorded
            && self
                .order
                .may_claim(self.in_flight.len(), self.store.batches_at_once(), limit)
        {
            let claimed = self.store.claim(self.order.cursor(), limit)?;
            let new_rows = !claimed.is_empty();
            let admitted = self.order.admit(claimed, now_ms());
            if let Some(t) = admitted.earliest_retry {
                earliest_retry = Some(earliest_retry.map_or(t, |e: i64| e.min(t)));
            }
            if admitted.send.is_empty() {
                self.store.release()?;
                break;
            }
            self.send(admitted.send);
            sent = true;
            if !new_rows {
                break;
            }
        }
        if self.in_flight.is_empty() {
            // Nothing pending, or only rows waiting for their backoff.
            let now = now_ms();
            let until = earliest_retry.map_or(self.config.idle_poll, |t| {
                Duration::from_millis(u64::try_from(t - now).unwrap_or(0))
            });
            return Ok(Step::Idle(
                until
                    .min(self.config.idle_poll)
                    .max(Duration::from_millis(1)),
            ));
        }
        let recorded = self.collect(if sent { Duration::ZERO } else { REPORT_POLL })?;
        Ok(if sent || recorded {
            Step::Busy
        } else {
            Step::Idle(Duration::ZERO)
        })
    }

    /// Sends `rows` as one batch. A row that cannot be enqueued fails at
    /// once, and the later rows of its key in the batch are not sent.
    fn send(&mut self, rows: Vec<Pending>) {
        let first = self.next_opaque;
        self.next_opaque = self.next_opaque.wrapping_add(rows.len());
        let mut reports: Vec<Option<Report>> = Vec::new();
        reports.resize_with(rows.len(), || None);
        let mut missing = 0usize;
        let mut failed_keys: HashSet<&str> = HashSet::new();
        for (i, row) in rows.iter().enumerate() {
            if failed_keys.contains(row.key.as_str()) {
                reports[i] = Some(Report::NotSent);
                continue;
            }
            match self.produce(row, first.wrapping_add(i), None) {
                Ok(()) => missing += 1,
                Err(error) => {
                    failed_keys.insert(&row.key);
                    reports[i] = Some(Report::Failed {
                        error: error.to_string(),
                        permanent: is_permanent(error.rdkafka_error_code()),
                    });
                }
            }
        }
        self.in_flight.push_back(Batch {
            rows,
            reports,
            first,
            missing,
            deadline: deadline_after(
                self.config
                    .delivery_timeout
                    .saturating_add(Duration::from_secs(10)),
            ),
        });
    }

    /// Serves delivery reports (waiting up to `wait` for one), then records
    /// every batch at the front that is complete or overdue. Returns
    /// whether a batch was recorded.
    fn collect(&mut self, wait: Duration) -> Result<bool, OutboxError> {
        self.producer.poll(wait);
        for (opaque, report) in lock(&self.producer.context().reports).drain(..) {
            let batch = self
                .in_flight
                .iter_mut()
                .find(|b| opaque.wrapping_sub(b.first) < b.rows.len());
            if let Some(batch) = batch {
                let slot = &mut batch.reports[opaque.wrapping_sub(batch.first)];
                if slot.is_none() {
                    batch.missing -= 1;
                }
                *slot = Some(report);
            }
        }
        let mut recorded = false;
        while let Some(front) = self.in_flight.front() {
            if front.missing > 0 {
                if Instant::now() < front.deadline {
                    break;
                }
                if !self.stopping() && !self.unrecorded {
                    tracing::warn!(target: "onex_events::outbox", missing = front.missing, "delivery reports overdue; retrying those events");
                }
            }
            self.record_front()?;
            recorded = true;
        }
        Ok(recorded)
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
    ///
    /// Nothing of the outbox is in flight then, but dead letters sent to
    /// the dead-letter topic may still be in the old producer's queue, and
    /// dropping a producer purges its queue: the old one first gets up to
    /// [`STOP_GRACE`] to deliver them (what it cannot is logged as not
    /// delivered to the dead-letter topic).
    fn recreate_producer(&mut self) {
        match self.client.create_with_context(RelayContext::default()) {
            Ok(producer) => {
                tracing::warn!(target: "onex_events::outbox", "replacing the outbox relay's Kafka producer");
                let old = std::mem::replace(&mut self.producer, producer);
                if let Err(error) = old.flush(STOP_GRACE) {
                    tracing::warn!(target: "onex_events::outbox", %error, "the replaced producer did not deliver everything in time");
                }
            }
            Err(error) => {
                tracing::error!(target: "onex_events::outbox", %error, "cannot recreate the relay's Kafka producer")
            }
        }
    }

    /// Decides each row's outcome of the oldest batch in flight
    /// (delivered, retry with backoff, dead letter), has the store record
    /// them, then sends the dead letters to the dead-letter topic.
    ///
    /// When the store cannot record them (full disk…), the batch stays in
    /// flight, counted as sent but not recorded: the next cycles record it
    /// again, and claim and send nothing new until that works, so no row
    /// the cluster acknowledged is sent again because its marking failed.
    fn record_front(&mut self) -> Result<(), OutboxError> {
        let Some(batch) = self.in_flight.front() else {
            return Ok(());
        };
        let now = now_ms();
        let config = &self.config;
        let mut dead: Vec<(usize, String)> = Vec::new();
        let mut failed = 0usize;
        let answered = batch.reports.iter().filter(|r| r.is_some()).count();
        let outcomes: Vec<Outcome> = batch
            .rows
            .iter()
            .zip(&batch.reports)
            .enumerate()
            .map(|(i, (row, report))| match report.clone() {
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
                            next_attempt_at: now.saturating_add(backoff_ms(config, attempts)),
                            error,
                        }
                    }
                }
                // Not sent (behind a failure of its key), no report
                // (stopping, or overdue): sent again later.
                Some(Report::NotSent) | None => Outcome::Unsent,
            })
            .collect();
        let rows: Vec<&Pending> = batch.rows.iter().collect();
        let delivered = match self.store.record(&rows, &outcomes, now) {
            Ok(delivered) => delivered,
            Err(error) => {
                let acknowledged = outcomes
                    .iter()
                    .filter(|o| **o == Outcome::Delivered)
                    .count();
                self.failures.set_unrecorded_by_relay(acknowledged as u64);
                if !std::mem::replace(&mut self.unrecorded, true) {
                    tracing::error!(target: "onex_events::outbox", %error, acknowledged, "cannot record what the cluster acknowledged; recording it again, sending nothing new until that works");
                }
                return Err(error);
            }
        };
        if std::mem::replace(&mut self.unrecorded, false) {
            tracing::info!(target: "onex_events::outbox", "outbox deliveries are recorded again; the relay resumes");
        }
        self.failures.set_unrecorded_by_relay(0);
        crate::metrics::record::outbox_relayed(delivered, dead.len());
        let Some(batch) = self.in_flight.pop_front() else {
            return Ok(());
        };
        // A fatal error, or a batch that failed whole (e.g. a broker that
        // restarted and lost the producer id): a new producer, once
        // nothing is in flight.
        if self.producer.context().fatal.swap(false, Ordering::AcqRel)
            || (answered > 0 && failed == answered)
        {
            self.recreate = true;
        }
        self.order.recorded(&batch.rows, &outcomes);
        if failed > 0 {
            tracing::warn!(target: "onex_events::outbox", delivered, failed, dead = dead.len(), "outbox delivery failures; retrying with backoff");
        }
        for (i, error) in &dead {
            let row = &batch.rows[*i];
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
        let cutoff = now_ms().saturating_sub(millis(self.config.retention));
        let Some(deleted) = self.store.delete_delivered(cutoff)? else {
            return Ok(());
        };
        self.last_retention = Instant::now();
        if deleted > 0 {
            tracing::debug!(target: "onex_events::outbox", deleted, "deleted delivered outbox rows");
        }
        Ok(())
    }
}

/// The backoff before retry number `attempts`: doubling, capped.
fn backoff_ms(config: &RelayConfig, attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let d = config
        .backoff_initial
        .saturating_mul(1u32 << shift)
        .min(config.backoff_max);
    millis(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let c = RelayConfig::new(crate::kafka::KafkaConfig::new("k:9092"))
            .backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(backoff_ms(&c, 1), 100);
        assert_eq!(backoff_ms(&c, 2), 200);
        assert_eq!(backoff_ms(&c, 4), 800);
        assert_eq!(backoff_ms(&c, 5), 1000);
        assert_eq!(backoff_ms(&c, 500), 1000);
    }
}
