//! Events of a batch the broker refused (`INVALID_RECORD`, e.g. from
//! tansu's schema validation, which refuses the whole batch for one invalid
//! record) are sent again one per batch, through a second producer
//! configured with `batch.num.messages=1`: a valid event is then taken, and
//! only an invalid one is refused, for good, with its event id. While
//! they are in flight, new events wait in the retry buffer, and the
//! buffer is drained past them once they are settled, so that they land
//! before the events published after them.

use super::callbacks::ProducerCallbacks;
use super::dispatcher::Dispatcher;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, Producer};
use std::sync::Arc;
use std::time::Duration;

/// How long the drainer waits for the events sent alone to be settled
/// before it moves on: an answer from the broker takes milliseconds; past
/// this (the broker unreachable), their order against later events is
/// no longer kept.
const SINGLE_RECORDS_WAIT: Duration = Duration::from_secs(5);

impl Dispatcher {
    /// The producer that sends one record per batch, made on first use
    /// with the sink's configuration. The delivery thread serves its
    /// callbacks.
    pub(super) fn single_record_producer(
        &self,
    ) -> Result<&BaseProducer<ProducerCallbacks>, KafkaError> {
        if let Some(producer) = self.single.get() {
            return Ok(producer);
        }
        let mut config = self.client_config.clone();
        // Not idempotent: an idempotent producer whose record is refused
        // bumps its epoch, and tansu then fences it. One request in flight
        // keeps the order instead.
        config
            .set("batch.num.messages", "1")
            .set("enable.idempotence", "false")
            .set("max.in.flight.requests.per.connection", "1");
        let producer = config.create_with_context(ProducerCallbacks {
            state: Arc::clone(&self.state),
            single: true,
        })?;
        tracing::info!(target: "onex_events::kafka", "a batch was refused; its events are sent again one per batch");
        // Only the drainer makes it: no other can have been set meanwhile.
        Ok(self.single.get_or_init(|| producer))
    }

    /// True while events sent alone are in flight.
    #[inline]
    pub(super) fn single_records_in_flight(&self) -> bool {
        self.single.get().is_some_and(|p| p.in_flight_count() > 0)
    }

    /// Waits until the events sent alone are settled (delivered, refused,
    /// or back in the retry buffer), serving their callbacks, for up to
    /// [`SINGLE_RECORDS_WAIT`].
    pub(super) fn wait_for_single_records(&self) {
        if let Some(producer) = self.single.get().filter(|p| p.in_flight_count() > 0) {
            let _ = producer.flush(SINGLE_RECORDS_WAIT);
        }
    }
}
