//! librdkafka's callbacks for the relay's producer: delivery reports
//! collected for the relay thread, fatal errors flagged, logs forwarded.

use super::super::lock::lock;
use crate::kafka::rdkafka::client::ClientContext;
use crate::kafka::rdkafka::config::RDKafkaLogLevel;
use crate::kafka::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use crate::kafka::rdkafka::producer::{DeliveryResult, ProducerContext};
use crate::kafka::{forward_librdkafka_log, is_permanent};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The opaque of records sent to the dead-letter topic.
pub(super) const DEAD_LETTER: usize = usize::MAX;

/// What happened to one sent row.
#[derive(Clone)]
pub(super) enum Report {
    Delivered,
    Failed {
        error: String,
        permanent: bool,
    },
    /// Not sent: an earlier row of its key in the batch failed at once.
    NotSent,
}

/// librdkafka's callbacks for the relay's producer.
#[derive(Default)]
pub(super) struct RelayContext {
    /// `(opaque of the record, report)`, filled by `poll` on the relay thread.
    pub reports: Mutex<Vec<(usize, Report)>>,
    pub fatal: AtomicBool,
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
