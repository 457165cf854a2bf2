//! An event the in-process bus gave up on, with what a dead-letter topic
//! would say about it.

use crate::consume::RecordParts;
use crate::envelope::Event;

/// An event that went to the dead letters instead of being handled: its
/// record (value, key and headers as the consumer read them), the handler
/// that failed and why.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The event as published; `None` for a raw record
    /// ([`InProcessBus::publish_record`](super::InProcessBus::publish_record)).
    pub event: Option<Event>,
    /// The record: topic, partition 0, offset (the bus's sequence number),
    /// key, value and headers.
    pub record: RecordParts,
    /// `{node_type}.{handler}` of the handler that failed; `None` when the
    /// record never reached one (not an OnexEnvelopeV1).
    pub handler: Option<String>,
    /// The error's type: the Rust type of an `Err`, `panic`, `timeout`,
    /// `undecodable_payload`, or `malformed_event` for a record that is not
    /// an OnexEnvelopeV1.
    pub error_type: String,
    /// The error's message.
    pub message: String,
    /// Runs of the handler (0 when none ran).
    pub attempts: u32,
}

impl DeadLetter {
    /// The event type, when the record is an envelope.
    pub fn event_type(&self) -> Option<&str> {
        self.event.as_ref().map(|e| e.event_type.as_str())
    }
}
