//! The record codec, both ways: an event to its Kafka record
//! ([`RecordEncoder`]), and a record back to its envelope and CloudEvents
//! attributes ([`DecodedRecord`]).
//!
//! - **Value**: the OnexEnvelopeV1 JSON, unchanged.
//! - **Key**: the correlation id (its hyphenated text; the source node id for
//!   an event without one), so every event of one operation, and of one
//!   request, hashes to the same partition of its topic; a declared event's
//!   id instead when it has one, so one aggregate's domain events stay in
//!   order ([`record_key`]).
//! - **Timestamp**: the event's, in milliseconds.
//! - **Headers**: the CloudEvents binary-mode attributes of
//!   [`headers`](super::headers), `traceparent` included, and a response's
//!   `onex_reply_to` (a request's is added by its requester).
//! - **Topic**: the event's under a [`TopicRouting`].

use super::headers::{self, CloudEventAttributes, HeaderError};
use super::topic::TopicRouting;
use crate::envelope::{Event, PartitionKey};
use crate::NodeIdentity;
use rdkafka::message::{BorrowedMessage, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, FutureRecord};
use rdkafka::util::IntoOpaque;
use std::sync::Arc;
use uuid::Uuid;

/// The length of a buffer [`record_key`] writes a correlation id into.
pub const KEY_BUFFER_LEN: usize = 45;

/// The record key of `event` ([`Event::partition_key`]): a declared event's
/// id (a domain event's aggregate id), else its correlation id (hyphenated
/// text, written into `buf`), or its node id for an event without one.
#[inline]
pub fn record_key<'a>(event: &'a Event, buf: &'a mut [u8; KEY_BUFFER_LEN]) -> &'a [u8] {
    match event.partition_key() {
        PartitionKey::Correlation(id) => id.hyphenated().encode_lower(buf).as_bytes(),
        PartitionKey::Node(node_id) | PartitionKey::Declared(node_id) => node_id.as_bytes(),
    }
}

/// Writes events as records, reusing its buffers from one to the next, and
/// the `ce_source` header of the last node it saw.
///
/// ```
/// use onex_events::kafka::{RecordEncoder, TopicRouting};
/// # use onex_events::{Event, EventType, NodeIdentity, Payload, Timestamp};
/// # let node = std::sync::Arc::new(NodeIdentity {
/// #     node_id: "n-1".into(), node_type: "orchestrator", service: "svc".into(),
/// #     namespace: "onex".into(), instance_id: uuid::Uuid::nil() });
/// # let event = Event { event_id: uuid::Uuid::nil(), event_type:
/// #     EventType::parse("orchestrator.state.changed").unwrap(), timestamp: Timestamp::now(),
/// #     correlation_id: None, causation_id: None, node, trace_parent: None,
/// #     payload: Payload::StateChanged { old_state: "a".into(), new_state: "b".into(),
/// #     transition_reason: "r".into() } };
///
/// let mut encoder = RecordEncoder::default();
/// let record = encoder.encode(&event, &TopicRouting::default())?;
/// assert_eq!(record.topic, "onex.svc.orchestrator.state.v1");
/// assert_eq!(record.key, b"n-1");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub struct RecordEncoder {
    payload: Vec<u8>,
    topic: String,
    key: [u8; KEY_BUFFER_LEN],
    /// `ce_source` of the last node encoded, with that node: held, so that
    /// its address cannot be reused by another node.
    source: Option<(Arc<NodeIdentity>, String)>,
}

impl Default for RecordEncoder {
    fn default() -> Self {
        RecordEncoder::new()
    }
}

impl RecordEncoder {
    /// An encoder with empty buffers (they grow to the largest record).
    pub const fn new() -> Self {
        RecordEncoder {
            payload: Vec::new(),
            topic: String::new(),
            key: [0; KEY_BUFFER_LEN],
            source: None,
        }
    }

    /// `event` as a record routed by `routing`; fails only if the
    /// envelope cannot be serialized.
    #[inline]
    pub fn encode<'a>(
        &'a mut self,
        event: &'a Event,
        routing: &TopicRouting,
    ) -> Result<Record<'a>, serde_json::Error> {
        self.payload.clear();
        event.write_json(&mut self.payload)?;
        routing.write_topic(event, &mut self.topic);
        let key = record_key(event, &mut self.key);
        let source = match self.source.take() {
            Some((cached, source)) if Arc::ptr_eq(&cached, &event.node) => (cached, source),
            _ => (Arc::clone(&event.node), headers::node_source(&event.node)),
        };
        let source = &self.source.insert(source).1;
        Ok(Record {
            topic: &self.topic,
            key,
            payload: &self.payload,
            headers: headers::cloudevents_headers_with_source(event, source),
            timestamp: event.timestamp.as_datetime().timestamp_millis(),
        })
    }
}

/// An event's record, borrowing the buffers of its [`RecordEncoder`].
#[derive(Debug)]
pub struct Record<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The key (see [`record_key`]).
    pub key: &'a [u8],
    /// The envelope's JSON.
    pub payload: &'a [u8],
    /// The CloudEvents headers.
    pub headers: OwnedHeaders,
    /// The event's timestamp, in milliseconds since the epoch.
    pub timestamp: i64,
}

impl<'a> Record<'a> {
    /// The record as librdkafka's producer takes it, with `opaque` for its
    /// delivery report.
    #[inline]
    pub fn into_base_record<D: IntoOpaque>(self, opaque: D) -> BaseRecord<'a, [u8], [u8], D> {
        let mut record = BaseRecord::with_opaque_to(self.topic, opaque)
            .key(self.key)
            .payload(self.payload)
            .headers(self.headers);
        record.timestamp = Some(self.timestamp);
        record
    }

    /// The record as librdkafka's future producer takes it.
    #[inline]
    pub fn into_future_record(self) -> FutureRecord<'a, [u8], [u8]> {
        FutureRecord::to(self.topic)
            .key(self.key)
            .payload(self.payload)
            .headers(self.headers)
            .timestamp(self.timestamp)
    }
}

/// A record's parts, owned: to keep a record the producer could not take
/// now, or gave back, and send it again later.
#[derive(Debug)]
pub struct OwnedRecord {
    /// The topic.
    pub topic: String,
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub payload: Vec<u8>,
    /// The headers.
    pub headers: Option<OwnedHeaders>,
    /// The timestamp, in milliseconds since the epoch.
    pub timestamp: Option<i64>,
}

impl OwnedRecord {
    /// A copy of a record librdkafka gave back (with its headers).
    pub fn from_base_record<D: IntoOpaque>(record: BaseRecord<'_, [u8], [u8], D>) -> Self {
        OwnedRecord {
            topic: record.topic.to_owned(),
            key: record.key.unwrap_or_default().to_vec(),
            payload: record.payload.unwrap_or_default().to_vec(),
            headers: record.headers,
            timestamp: record.timestamp,
        }
    }

    /// A copy of a record in a delivery report.
    pub fn from_message(message: &BorrowedMessage<'_>) -> Self {
        OwnedRecord {
            topic: message.topic().to_owned(),
            key: message.key().unwrap_or_default().to_vec(),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers: message.headers().map(|h| h.detach()),
            timestamp: message.timestamp().to_millis(),
        }
    }

    /// The bytes this record holds (key, value and topic).
    #[inline]
    pub fn size(&self) -> usize {
        self.payload.len() + self.key.len() + self.topic.len()
    }
}

/// A record read back: the envelope it carries and its CloudEvents
/// attributes, checked against each other.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecodedRecord {
    /// The record key, when it is text.
    pub key: Option<String>,
    /// The attributes of its headers.
    pub attributes: CloudEventAttributes,
    /// The OnexEnvelopeV1 envelope, as JSON.
    pub envelope: serde_json::Value,
}

/// A record is not an event this crate wrote.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The record has no headers, or not the CloudEvents ones.
    #[error("not a CloudEvents record: {0}")]
    Headers(#[from] HeaderError),
    /// The record has no headers at all.
    #[error("the record has no headers")]
    NoHeaders,
    /// The value is not an envelope's JSON.
    #[error("the record value is not an envelope: {0}")]
    Envelope(#[from] serde_json::Error),
    /// The envelope and the headers name different events.
    #[error("the envelope's {field} is {envelope:?} but its header says {header:?}")]
    Mismatch {
        /// The envelope field.
        field: &'static str,
        /// Its value in the envelope.
        envelope: String,
        /// Its value in the header.
        header: String,
    },
}

impl DecodedRecord {
    /// Decodes a consumed message.
    pub fn from_message(message: &impl Message) -> Result<Self, DecodeError> {
        let headers = message.headers().ok_or(DecodeError::NoHeaders)?;
        DecodedRecord::decode(
            message.key(),
            message.payload().unwrap_or_default(),
            headers,
        )
    }

    /// Decodes a record's key, value and headers.
    pub fn decode(
        key: Option<&[u8]>,
        payload: &[u8],
        headers: &impl Headers,
    ) -> Result<Self, DecodeError> {
        let attributes = CloudEventAttributes::read(headers)?;
        let envelope: serde_json::Value = serde_json::from_slice(payload)?;
        let field = |name: &'static str| envelope.get(name).and_then(|v| v.as_str());
        let id = attributes.id.hyphenated().to_string();
        for (name, header) in [
            ("event_id", id.as_str()),
            ("event_type", &attributes.event_type),
        ] {
            if field(name) != Some(header) {
                return Err(DecodeError::Mismatch {
                    field: name,
                    envelope: field(name).unwrap_or_default().to_owned(),
                    header: header.to_owned(),
                });
            }
        }
        Ok(DecodedRecord {
            key: key.and_then(|k| std::str::from_utf8(k).ok().map(str::to_owned)),
            attributes,
            envelope,
        })
    }

    /// The event id.
    pub fn event_id(&self) -> Uuid {
        self.attributes.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::test_event;
    use crate::EventType;

    #[test]
    fn an_encoded_record_decodes_to_its_envelope_and_attributes() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut event = test_event(EventType::parse("orchestrator.routing.completed").unwrap());
        event.trace_parent = Some(text.parse().unwrap());
        event.causation_id = Some(Uuid::new_v4());
        let mut encoder = RecordEncoder::default();
        let record = encoder.encode(&event, &TopicRouting::default()).unwrap();
        assert_eq!(record.topic, "onex.svc.orchestrator.routing.v1");
        assert_eq!(
            record.timestamp,
            event.timestamp.as_datetime().timestamp_millis()
        );
        let decoded =
            DecodedRecord::decode(Some(record.key), record.payload, &record.headers).unwrap();
        assert_eq!(decoded.envelope, event.to_json());
        assert_eq!(decoded.event_id(), event.event_id);
        assert_eq!(decoded.key, event.correlation_id.map(|c| c.to_string()));
        assert_eq!(decoded.attributes.trace_parent, event.trace_parent);
        assert_eq!(decoded.attributes.causation_id, event.causation_id);
    }

    #[test]
    fn the_key_is_the_correlation_id_or_the_node_id() {
        let mut event = test_event(EventType::parse("orchestrator.state.changed").unwrap());
        let mut buf = [0; KEY_BUFFER_LEN];
        let correlation = event.correlation_id.unwrap().to_string();
        assert_eq!(record_key(&event, &mut buf), correlation.as_bytes());
        event.correlation_id = None;
        assert_eq!(record_key(&event, &mut buf), b"node-1");
    }

    #[test]
    fn the_encoder_reuses_its_buffers_across_nodes() {
        let mut encoder = RecordEncoder::default();
        let event = test_event(EventType::parse("orchestrator.state.changed").unwrap());
        let mut other = test_event(EventType::parse("orchestrator.state.changed").unwrap());
        let mut node = (*other.node).clone();
        node.node_id = "node-2".to_owned();
        other.node = Arc::new(node);
        for e in [&event, &other, &event] {
            let record = encoder.encode(e, &TopicRouting::default()).unwrap();
            let attributes = CloudEventAttributes::read(&record.headers).unwrap();
            assert_eq!(
                attributes.source,
                format!("/onex/svc/{}", e.node.node_id),
                "the source of each node"
            );
            assert_eq!(record.payload, e.to_json_string().unwrap().as_bytes());
        }
    }

    #[test]
    fn a_record_whose_envelope_and_headers_disagree_is_refused() {
        let event = test_event(EventType::parse("orchestrator.state.changed").unwrap());
        let other = test_event(EventType::parse("orchestrator.state.changed").unwrap());
        let mut encoder = RecordEncoder::default();
        let headers = encoder
            .encode(&other, &TopicRouting::default())
            .unwrap()
            .headers;
        let payload = event.to_json_string().unwrap();
        let error = DecodedRecord::decode(None, payload.as_bytes(), &headers).unwrap_err();
        assert!(
            matches!(
                error,
                DecodeError::Mismatch {
                    field: "event_id",
                    ..
                }
            ),
            "{error}"
        );
        let error = DecodedRecord::decode(None, b"not json", &headers).unwrap_err();
        assert!(matches!(error, DecodeError::Envelope(_)), "{error}");
    }
}
