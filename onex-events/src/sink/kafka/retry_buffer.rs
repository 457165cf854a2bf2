//! The sink's retry buffer: events the cluster could not take yet (it is
//! unreachable, or librdkafka's queue is full), kept in publish order within
//! the buffer's limits and moved into librdkafka's queue as room allows.

use super::callbacks::ProducerCallbacks;
use super::delivery_state::DeliveryState;
use super::dispatcher::Dispatcher;
use super::stats::Counters;
use crate::envelope::Event;
use crate::kafka::{is_queue_full, Outcome, OwnedRecord};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::MutexGuard;
use uuid::Uuid;

/// The events in the buffer, oldest first, and their size in bytes.
#[derive(Default)]
pub(super) struct RetryQueue {
    pub(super) items: VecDeque<Pending>,
    pub(super) bytes: usize,
}

/// An event held by the sink, with everything needed to send it again.
pub(super) struct Pending {
    pub(super) event_id: Uuid,
    /// Nanoseconds since `DeliveryState::epoch` when it was published.
    pub(super) published_at: usize,
    pub(super) body: Body,
}

pub(super) enum Body {
    /// Not encoded yet: the delivery thread encodes it when it sends it,
    /// so that a publish behind the retry buffer (or while the cluster is
    /// unavailable) costs the operation next to nothing.
    Event(Box<Event>),
    Encoded(OwnedRecord),
    /// Encoded, and to be sent in a batch of its own (its batch was
    /// refused): see `single_records.rs`.
    EncodedAlone(Box<OwnedRecord>),
}

/// What became of a record handed to librdkafka.
enum Sent {
    /// In its queue.
    Taken,
    /// Not taken, its queue being full: the record, to keep.
    QueueFull(OwnedRecord),
    /// Refused for good.
    Failed(KafkaError),
}

/// What an event not encoded yet counts for against
/// [`KafkaConfig::buffer_max_bytes`](crate::kafka::KafkaConfig::buffer_max_bytes)
/// (about its encoded size, headers included).
const UNENCODED_SIZE: usize = 1024;

impl Pending {
    pub(super) fn size(&self) -> usize {
        match &self.body {
            Body::Event(_) => UNENCODED_SIZE,
            Body::Encoded(record) => record.size(),
            Body::EncodedAlone(record) => record.size(),
        }
    }
}

impl DeliveryState {
    pub(super) fn lock_retry(&self) -> MutexGuard<'_, RetryQueue> {
        // The queue stays consistent even if a holder panicked.
        self.retry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `p` in the retry buffer, or counts it as overflowed.
    pub(super) fn buffer(&self, p: Pending) {
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
    pub(super) fn try_buffer(&self, p: Pending) -> Result<(), Pending> {
        let mut q = self.lock_retry();
        let full = self.retrying.load(Ordering::Acquire) >= self.capacity
            || q.bytes + p.size() > self.max_bytes;
        if full {
            return Err(p);
        }
        Counters::bump(&self.counters.retried);
        self.retrying_add(1);
        q.bytes += p.size();
        q.items.push_back(p);
        Ok(())
    }

    /// Gives up an event taken from the retry buffer.
    pub(super) fn settle_retry(
        &self,
        counter: &AtomicU64,
        event_id: Uuid,
        outcome: Outcome,
        published_at: usize,
    ) {
        self.retrying_sub(1);
        self.settle(counter, event_id, outcome, published_at);
    }
}

impl Dispatcher {
    /// Moves the retry buffer, oldest first, into librdkafka's queue until
    /// it is full; gives up events older than the time-to-live.
    pub(super) fn drain(&self) {
        let state = &*self.state;
        if state.replacing.load(Ordering::Acquire) {
            return;
        }
        // One drainer at a time (the delivery thread, or a publisher
        // facing a full buffer), so the buffer's order is kept; it encodes
        // events with the encoder it holds.
        let mut encoder = self.draining.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let batch: Vec<Pending> = {
                let mut q = state.lock_retry();
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
                if state.age(p.published_at) > state.ttl {
                    state.settle_retry(
                        &state.counters.expired,
                        p.event_id,
                        Outcome::Expired,
                        p.published_at,
                    );
                    continue;
                }
                let (event_id, published_at) = (p.event_id, p.published_at);
                let alone = matches!(p.body, Body::EncodedAlone(_));
                if !alone {
                    // Those of a refused batch land before what follows.
                    self.wait_for_single_records();
                }
                let sent = match p.body {
                    Body::EncodedAlone(record) => match self.single_record_producer() {
                        Ok(producer) => send_owned(producer, *record, published_at),
                        Err(e) => Sent::Failed(e),
                    },
                    Body::Encoded(record) => send_owned(&self.producer(), record, published_at),
                    Body::Event(event) => match encoder.encode(&event, &self.routing) {
                        Ok(record) => {
                            match self.producer().send(record.into_base_record(published_at)) {
                                Ok(()) => Sent::Taken,
                                Err((e, back)) if is_queue_full(&e) => {
                                    Sent::QueueFull(OwnedRecord::from_base_record(back))
                                }
                                Err((e, _)) => Sent::Failed(e),
                            }
                        }
                        Err(e) => {
                            let error = format!("cannot serialize the envelope: {e}");
                            let outcome = Outcome::Failed { error };
                            state.settle_retry(
                                &state.counters.failed,
                                event_id,
                                outcome,
                                published_at,
                            );
                            continue;
                        }
                    },
                };
                match sent {
                    Sent::Taken => {
                        state.retrying_sub(1);
                    }
                    Sent::QueueFull(record) => {
                        // Still full: put this one and the rest back in front.
                        let body = match alone {
                            true => Body::EncodedAlone(Box::new(record)),
                            false => Body::Encoded(record),
                        };
                        let p = Pending {
                            event_id,
                            published_at,
                            body,
                        };
                        let mut q = state.lock_retry();
                        for p in rest.rev().chain(std::iter::once(p)) {
                            q.bytes += p.size();
                            q.items.push_front(p);
                        }
                        return;
                    }
                    Sent::Failed(e) => {
                        let error = e.to_string();
                        state.settle_retry(
                            &state.counters.failed,
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

/// Enqueues a record kept whole in `producer`.
fn send_owned(
    producer: &BaseProducer<ProducerCallbacks>,
    record: OwnedRecord,
    published_at: usize,
) -> Sent {
    let OwnedRecord {
        topic,
        key,
        payload,
        headers,
        timestamp,
    } = record;
    let mut base = BaseRecord::with_opaque_to(&topic, published_at)
        .key(&key[..])
        .payload(&payload[..]);
    base.headers = headers;
    base.timestamp = timestamp;
    match producer.send(base) {
        Ok(()) => Sent::Taken,
        Err((e, back)) if is_queue_full(&e) => {
            let headers = back.headers;
            Sent::QueueFull(OwnedRecord {
                topic,
                key,
                payload,
                headers,
                timestamp,
            })
        }
        Err((e, _)) => Sent::Failed(e),
    }
}
