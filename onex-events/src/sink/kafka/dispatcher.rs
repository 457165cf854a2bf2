//! [`Dispatcher`]: the sink's way to librdkafka — encodes each event on
//! the publishing thread and enqueues it in the current producer (or the
//! retry buffer), and runs the delivery thread, which serves librdkafka's
//! callbacks, drains the retry buffer and replaces a stuck producer.

use super::callbacks::ProducerCallbacks;
use super::delivery_state::DeliveryState;
use super::retry_buffer::{Body, Pending};
use crate::envelope::Event;
use crate::kafka::{is_queue_full, OwnedRecord, RecordEncoder, TopicRouting};
use rdkafka::producer::BaseProducer;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard};
use std::time::Duration;

/// Sends the sink's events through a producer it replaces when stuck.
pub(super) struct Dispatcher {
    /// Replaced when it is stuck (see `Dispatcher::recycle`).
    pub(super) producer: RwLock<Arc<BaseProducer<ProducerCallbacks>>>,
    pub(super) client_config: rdkafka::ClientConfig,
    /// Deliveries failing for this long, with no success, recycle the producer.
    pub(super) recycle_after: Duration,
    pub(super) state: Arc<DeliveryState>,
    pub(super) routing: TopicRouting,
    pub(super) stop: AtomicBool,
    /// Held while moving the retry buffer into librdkafka, with the
    /// encoder of the events in it.
    pub(super) draining: Mutex<RecordEncoder>,
    /// The producer that sends one record per batch, made when a batch is
    /// first refused (`single_records.rs`).
    pub(super) single: OnceLock<BaseProducer<ProducerCallbacks>>,
}

thread_local! {
    /// Per-thread buffers of `publish`, reused across events.
    pub(super) static ENCODER: RefCell<RecordEncoder> = const { RefCell::new(RecordEncoder::new()) };
}

impl Dispatcher {
    /// Serializes and enqueues `event`; buffers it when librdkafka cannot
    /// take it now. `Err` for an event that can never be sent.
    ///
    /// While the cluster is unavailable, events wait in the retry buffer,
    /// or events of a refused batch are sent again alone, `event` joins the
    /// buffer with its headers still to build:
    /// the delivery thread builds and enqueues them, so an operation pays
    /// for little more than its JSON when the broker is down.
    #[inline]
    pub(super) fn send_event(
        &self,
        event: Event,
        encoder: &mut RecordEncoder,
        published_at: usize,
    ) -> Result<(), String> {
        let state = &*self.state;
        let available = state.available.load(Ordering::Relaxed);
        if !available
            || state.retrying.load(Ordering::Acquire) > 0
            || self.single_records_in_flight()
        {
            if !available {
                state.log_fallback(&event);
            }
            let pending = Pending {
                event_id: event.event_id,
                published_at,
                body: Body::Event(Box::new(event)),
            };
            if let Err(pending) = state.try_buffer(pending) {
                // Full: move what librdkafka's queue takes now (the cost
                // falls on the publisher only here), then keep it or
                // count it as overflowed.
                self.drain();
                state.buffer(pending);
            }
            return Ok(());
        }
        let record = encoder
            .encode(&event, &self.routing)
            .map_err(|e| format!("cannot serialize the envelope: {e}"))?;
        match self.producer().send(record.into_base_record(published_at)) {
            Ok(()) => Ok(()),
            Err((e, record)) if is_queue_full(&e) => {
                // librdkafka's queue is full: keep it in ours.
                state.buffer(Pending {
                    event_id: event.event_id,
                    published_at,
                    body: Body::Encoded(OwnedRecord::from_base_record(record)),
                });
                Ok(())
            }
            Err((e, _)) => Err(e.to_string()),
        }
    }

    /// The delivery thread: runs librdkafka's callbacks, re-enqueues the
    /// retry buffer and logs the summaries due.
    pub(super) fn run(&self) {
        while !self.stop.load(Ordering::Acquire) {
            let busy = self.state.retrying.load(Ordering::Acquire) > 0;
            self.current()
                .poll(Duration::from_millis(if busy { 5 } else { 20 }));
            if let Some(single) = self.single.get() {
                single.poll(Duration::ZERO);
            }
            if busy {
                self.drain();
            }
            if self.stuck() {
                self.recycle();
            }
            self.state.summarize(false);
        }
    }

    /// The producer, for a short non-blocking call.
    #[inline]
    pub(super) fn producer(&self) -> RwLockReadGuard<'_, Arc<BaseProducer<ProducerCallbacks>>> {
        self.producer.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The producer, for a call that may wait.
    pub(super) fn current(&self) -> Arc<BaseProducer<ProducerCallbacks>> {
        Arc::clone(&self.producer())
    }
}
