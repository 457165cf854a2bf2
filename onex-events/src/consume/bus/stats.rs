//! What the in-process bus has done so far, counted as a Kafka consumer
//! counts (`consume::kafka::ConsumerStats`).

/// Counts of an [`InProcessBus`](super::InProcessBus), since it was made.
///
/// `handled` and `failed` count handler runs that settled (an event two
/// nodes handle counts twice); `retried` counts the runs after the first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusStats {
    /// Records taken from the queue: published events and raw records.
    pub delivered: u64,
    /// Handler runs that acknowledged their event (after retries or not).
    pub handled: u64,
    /// Handlers that gave an event up (every attempt failed, or its payload
    /// does not decode): each is a dead letter.
    pub failed: u64,
    /// Runs of a handler after a failed one.
    pub retried: u64,
    /// Dead letters: failed events and malformed records.
    pub dead_lettered: u64,
    /// Records that are not an OnexEnvelopeV1.
    pub malformed: u64,
    /// Events no handler takes, skipped.
    pub skipped: u64,
}
