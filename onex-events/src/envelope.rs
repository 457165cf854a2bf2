//! The OnexEnvelopeV1 wire format: every event, with exactly eight top-level
//! keys. What else we carry (node type, operation, service, namespace,
//! instance id, causation id) goes inside `metadata`.

use crate::event_type::EventType;
use crate::node::NodeIdentity;
use crate::payload::Payload;
use crate::timestamp::Timestamp;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use std::sync::Arc;
use uuid::Uuid;

/// The value of `envelope_version`.
pub const ENVELOPE_VERSION: &str = "1.0";

/// One event, serialized as an OnexEnvelopeV1:
///
/// ```json
/// {"envelope_version":"1.0","event_id":"…","event_type":"orchestrator.routing.started",
///  "event_timestamp":"2026-11-22T21:56:33.123456Z","source_node_id":"orchestrator-1",
///  "correlation_id":"…","payload":{…},
///  "metadata":{"node_type":"orchestrator","service":"…","namespace":"…",
///              "instance_id":"…","operation":"routing","causation_id":"…"}}
/// ```
#[derive(Clone, Debug)]
pub struct Event {
    /// Unique id of this event (UUID v4); stable across retries.
    pub event_id: Uuid,
    /// What happened.
    pub event_type: EventType,
    /// When, in UTC.
    pub timestamp: Timestamp,
    /// The correlation id shared by every event of one request.
    pub correlation_id: Option<Uuid>,
    /// The event that caused this one (the parent operation's `started`, or
    /// this operation's own `started` for its end event).
    pub causation_id: Option<Uuid>,
    /// The node that published it.
    pub node: Arc<NodeIdentity>,
    /// The event-specific data.
    pub payload: Payload,
}

impl Event {
    /// The envelope as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing our own types to a Value cannot fail: every map key is
        // a string and every number is finite or written as null.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Appends the envelope's JSON text to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(out, self)
    }

    /// The envelope's JSON text.
    pub fn to_json_string(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The key that keeps every event of one operation, and of one request,
    /// in order: the correlation id, or the source node id without one.
    pub fn partition_key(&self) -> PartitionKey<'_> {
        match self.correlation_id {
            Some(id) => PartitionKey::Correlation(id),
            None => PartitionKey::Node(&self.node.node_id),
        }
    }
}

/// See [`Event::partition_key`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionKey<'a> {
    /// The correlation id.
    Correlation(Uuid),
    /// The source node id.
    Node(&'a str),
}

struct Metadata<'a> {
    event: &'a Event,
}

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.event;
        let op = e.payload.operation();
        let n = 4 + usize::from(op.is_some()) + usize::from(e.causation_id.is_some());
        let mut m = s.serialize_struct("Metadata", n)?;
        m.serialize_field("node_type", e.node.node_type)?;
        m.serialize_field("service", &e.node.service)?;
        m.serialize_field("namespace", &e.node.namespace)?;
        m.serialize_field("instance_id", &e.node.instance_id)?;
        if let Some(op) = op {
            m.serialize_field("operation", op)?;
        }
        if let Some(c) = &e.causation_id {
            m.serialize_field("causation_id", c)?;
        }
        m.end()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("OnexEnvelopeV1", 8)?;
        m.serialize_field("envelope_version", ENVELOPE_VERSION)?;
        m.serialize_field("event_id", &self.event_id)?;
        m.serialize_field("event_type", &self.event_type)?;
        m.serialize_field("event_timestamp", &self.timestamp)?;
        m.serialize_field("source_node_id", &self.node.node_id)?;
        m.serialize_field("correlation_id", &self.correlation_id)?;
        m.serialize_field("payload", &self.payload)?;
        m.serialize_field("metadata", &Metadata { event: self })?;
        m.end()
    }
}
