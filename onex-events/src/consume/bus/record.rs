//! A published event as the record a consumer would read: with the `kafka`
//! feature, the very record the Kafka sink writes (the layer's
//! [`RecordEncoder`](crate::kafka::RecordEncoder): topic, key, envelope,
//! CloudEvents headers); without it, the same envelope and key, the event
//! type as topic and no headers.

use crate::consume::{RecordHeaders, RecordParts};
use crate::envelope::Event;
use std::sync::Arc;

/// Writes events as records, one offset after another on partition 0.
pub(super) struct RecordWriter {
    #[cfg(feature = "kafka")]
    routing: crate::kafka::TopicRouting,
    #[cfg(feature = "kafka")]
    encoder: crate::kafka::RecordEncoder,
}

impl RecordWriter {
    /// Records routed by `routing`.
    #[cfg(feature = "kafka")]
    pub(super) fn new(routing: crate::kafka::TopicRouting) -> Self {
        RecordWriter {
            routing,
            encoder: crate::kafka::RecordEncoder::new(),
        }
    }

    /// Records whose topic is the event type.
    #[cfg(not(feature = "kafka"))]
    pub(super) fn new() -> Self {
        RecordWriter {}
    }

    /// `event` as the record at `offset`; fails only if its envelope
    /// cannot be serialized.
    #[cfg(feature = "kafka")]
    pub(super) fn write(&mut self, event: &Event, offset: i64) -> Result<RecordParts, String> {
        use crate::kafka::rdkafka::message::Headers;
        let record = self
            .encoder
            .encode(event, &self.routing)
            .map_err(|e| e.to_string())?;
        let mut headers = RecordHeaders::with_capacity(record.headers.count(), 256);
        for header in record.headers.iter() {
            headers.push(header.key, header.value);
        }
        Ok(RecordParts {
            topic: Arc::from(record.topic),
            partition: 0,
            offset,
            key: Some(record.key.to_vec()),
            value: record.payload.to_vec(),
            headers,
        })
    }

    /// `event` as the record at `offset`; fails only if its envelope
    /// cannot be serialized.
    #[cfg(not(feature = "kafka"))]
    pub(super) fn write(&mut self, event: &Event, offset: i64) -> Result<RecordParts, String> {
        use crate::envelope::PartitionKey;
        let mut value = Vec::with_capacity(640);
        event.write_json(&mut value).map_err(|e| e.to_string())?;
        let key = match event.partition_key() {
            PartitionKey::Correlation(id) => id.hyphenated().to_string().into_bytes(),
            PartitionKey::Node(id) | PartitionKey::Declared(id) => id.as_bytes().to_vec(),
        };
        Ok(RecordParts {
            topic: Arc::from(event.event_type.as_str()),
            partition: 0,
            offset,
            key: Some(key),
            value,
            headers: RecordHeaders::default(),
        })
    }
}
