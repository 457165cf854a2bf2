//! The seed's fallback when Kafka is unavailable: each event is logged
//! through `tracing` ("Kafka unavailable, logging … event") with its
//! envelope as a field.

use super::Sink;
use crate::envelope::Event;

/// Logs every event at `INFO` on the target `onex_events::event`.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogSink;

impl LogSink {
    /// A new log sink.
    pub fn new() -> Self {
        LogSink
    }
}

impl Sink for LogSink {
    fn publish(&self, event: Event) {
        let envelope = event.to_json_string().unwrap_or_default();
        tracing::info!(
            target: "onex_events::event",
            event_type = %event.event_type,
            event_id = %event.event_id,
            envelope = %envelope,
            "Kafka unavailable, logging {} event",
            event.event_type
        );
    }

    fn name(&self) -> &'static str {
        "log"
    }
}
