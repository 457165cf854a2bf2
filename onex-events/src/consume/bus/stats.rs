//! What the in-process bus has done so far, counted.

/// Counts of an [`InProcessBus`](super::InProcessBus), since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusStats {
    /// Records taken from the queue: published events and raw records.
    pub delivered: u64,
    /// Runs of a handler that acknowledged its event (one per handler an
    /// event went to).
    pub handled: u64,
    /// Runs of a handler after a failed one.
    pub retried: u64,
    /// Dead letters: a handler failed for good, the payload did not
    /// decode, or the record was not an OnexEnvelopeV1.
    pub dead_lettered: u64,
    /// Events no handler wanted.
    pub skipped: u64,
}
