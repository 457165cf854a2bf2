//! [`ProducerCallbacks`]: librdkafka's callbacks for the sink's producer —
//! client errors (the cluster unreachable, a fatal error) and delivery
//! reports, each event settled, or kept for a retry (alone in its batch
//! when the broker refused the batch it was in).

use super::delivery_state::DeliveryState;
use super::retry_buffer::{Body, Pending};
use crate::kafka::headers;
use crate::kafka::{
    forward_librdkafka_log, is_batch_refused, is_permanent, is_purged, Outcome, OwnedRecord,
};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// librdkafka's callbacks for the sink's producer.
pub(super) struct ProducerCallbacks {
    pub(super) state: Arc<DeliveryState>,
    /// The callbacks of the producer that sends one record per batch
    /// (`single_records.rs`): what it fails, it fails alone.
    pub(super) single: bool,
}

impl ClientContext for ProducerCallbacks {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        forward_librdkafka_log(level, fac, message);
    }

    /// Client errors: all brokers down marks the cluster unavailable; a
    /// fatal error has the producer replaced; every error but a fatal one is
    /// kept as the sink's `last_error()`, a configuration failure
    /// (authentication, TLS, SASL mechanism) logged at ERROR once per kind.
    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::AllBrokersDown) => {
                self.state.client_error(&error, reason);
                self.state.set_available(false, reason);
            }
            Some(RDKafkaErrorCode::Fatal) => {
                tracing::error!(target: "onex_events::kafka", %error, reason, "fatal Kafka producer error; replacing the producer");
                self.state.fatal.store(true, Ordering::Release);
            }
            _ => self.state.client_error(&error, reason),
        }
    }
}

impl ProducerContext for ProducerCallbacks {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, published_at: usize) {
        let state = &*self.state;
        match result {
            Ok(message) => {
                // Read first: a store per delivery would bounce the cache
                // line `publish` reads.
                if state.failing_since.load(Ordering::Relaxed) != 0 {
                    state.failing_since.store(0, Ordering::Relaxed);
                }
                if !state.available.load(Ordering::Relaxed) {
                    state.set_available(true, "");
                }
                if state.listener.is_some() {
                    let event_id = headers::event_id(message.headers()).unwrap_or_default();
                    let outcome = Outcome::Delivered {
                        partition: message.partition(),
                        offset: message.offset(),
                    };
                    state.report(event_id, outcome, published_at);
                }
                state.counters.delivered();
            }
            Err((error, message)) => {
                let event_id = headers::event_id(message.headers()).unwrap_or_default();
                let code = error.rdkafka_error_code();
                if state.closing.load(Ordering::Acquire) {
                    state.settle(&state.counters.lost, event_id, Outcome::Lost, published_at);
                } else if is_batch_refused(code) && !self.single {
                    // Maybe for a neighbour's sake: sent again alone, so
                    // that only an invalid record fails.
                    tracing::debug!(target: "onex_events::kafka", %event_id, %error, "batch refused; sending the event again alone");
                    state.batch_refused.store(true, Ordering::Release);
                    state.buffer(Pending {
                        event_id,
                        published_at,
                        body: Body::EncodedAlone(Box::new(OwnedRecord::from_message(message))),
                    });
                } else if is_permanent(code) {
                    let outcome = Outcome::Failed {
                        error: error.to_string(),
                    };
                    state.settle(&state.counters.failed, event_id, outcome, published_at);
                } else {
                    let purged = is_purged(code);
                    let now = if purged {
                        0
                    } else {
                        (state.now() as u64).max(1)
                    };
                    let _ = state.failing_since.compare_exchange(
                        0,
                        now,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    );
                    state.set_available(false, &error.to_string());
                    tracing::debug!(target: "onex_events::kafka", %event_id, %error, "delivery failed; retrying");
                    let record = OwnedRecord::from_message(message);
                    let pending = Pending {
                        event_id,
                        published_at,
                        body: match self.single {
                            true => Body::EncodedAlone(Box::new(record)),
                            false => Body::Encoded(record),
                        },
                    };
                    if purged && state.replacing.load(Ordering::Acquire) {
                        // Kept whatever the buffer's capacity: these events
                        // were accepted already.
                        state
                            .purged
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(pending);
                    } else {
                        state.buffer(pending);
                    }
                }
            }
        }
    }
}
