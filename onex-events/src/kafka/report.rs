//! What became of each event: [`DeliveryReport`], passed to the listener of
//! [`KafkaConfig::on_delivery`](super::KafkaConfig::on_delivery).

use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The final outcome of one event. Every event published to a
/// [`KafkaSink`](crate::KafkaSink) gets exactly one, unless the process ends
/// before it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Acknowledged by the cluster (with `acks=all`: by every in-sync replica).
    Delivered {
        /// The partition written to.
        partition: i32,
        /// The record's offset.
        offset: i64,
    },
    /// Rejected for good: the error is not one a retry can fix (e.g. the
    /// record is too large or the topic is not authorized).
    Failed {
        /// librdkafka's error.
        error: String,
    },
    /// Not taken: the retry buffer was full.
    Overflowed,
    /// Undelivered after the buffer's time-to-live. A record that timed out
    /// in flight may still have been written: consumers dedupe by event id.
    Expired,
    /// Still undelivered when the sink was dropped without a successful
    /// `flush`.
    Lost,
}

impl Outcome {
    /// True for [`Outcome::Delivered`].
    pub fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered { .. })
    }
}

/// One event's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The event's id (`event_id`, the `ce_id` header); nil if the record
    /// carried none, which the sink never does.
    pub event_id: Uuid,
    /// What happened.
    pub outcome: Outcome,
    /// From `publish` to the outcome (enqueue to broker ack when delivered).
    pub latency: Duration,
}

/// The listener type of [`KafkaConfig::on_delivery`](super::KafkaConfig::on_delivery).
pub(crate) type DeliveryListener = Arc<dyn Fn(&DeliveryReport) + Send + Sync>;
