//! The OnexEnvelopeV1 wire format: every event, with exactly eight top-level
//! keys. What else we carry (node type, operation, service, namespace,
//! instance id, causation id) goes inside `metadata`.

use crate::event_type::EventType;
use crate::node::NodeIdentity;
use crate::payload::Payload;
use crate::timestamp::Timestamp;
use crate::trace_parent::TraceParent;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
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
    /// The W3C trace context the event was published in, if any: sent as
    /// the `traceparent` record header, never in the envelope JSON.
    pub trace_parent: Option<TraceParent>,
}

impl Event {
    /// The envelope as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing our own types to a Value cannot fail: every map key is
        // a string and every number is finite or written as null.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Appends the envelope's JSON text to `out`: the same text as
    /// `serde_json::to_writer(out, self)`, faster.
    ///
    /// The hot path of the serializing sinks. Keys, ids, the timestamp and
    /// the (validated, `[a-z0-9_.]`) event type never need escaping, so
    /// they are copied as they are; every other string goes through
    /// `serde_json`'s escaping.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.extend_from_slice(b"{\"envelope_version\":\"");
        out.extend_from_slice(ENVELOPE_VERSION.as_bytes());
        out.extend_from_slice(b"\",\"event_id\":");
        write_uuid(out, &self.event_id);
        out.extend_from_slice(b",\"event_type\":\"");
        out.extend_from_slice(self.event_type.as_str().as_bytes());
        out.extend_from_slice(b"\",\"event_timestamp\":\"");
        out.extend_from_slice(&self.timestamp.format());
        out.extend_from_slice(b"\",\"source_node_id\":");
        write_str(out, &self.node.node_id)?;
        out.extend_from_slice(b",\"correlation_id\":");
        match &self.correlation_id {
            Some(id) => write_uuid(out, id),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"payload\":");
        serde_json::to_writer(&mut *out, &self.payload)?;
        out.extend_from_slice(b",\"metadata\":{\"node_type\":");
        write_str(out, self.node.node_type)?;
        out.extend_from_slice(b",\"service\":");
        write_str(out, &self.node.service)?;
        out.extend_from_slice(b",\"namespace\":");
        write_str(out, &self.node.namespace)?;
        out.extend_from_slice(b",\"instance_id\":");
        write_uuid(out, &self.node.instance_id);
        if let Some(op) = self.operation() {
            out.extend_from_slice(b",\"operation\":");
            write_str(out, op)?;
        }
        if let Some(id) = &self.causation_id {
            out.extend_from_slice(b",\"causation_id\":");
            write_uuid(out, id);
        }
        if let Some(declared) = self.payload.declared() {
            for (key, value) in declared_metadata(declared) {
                out.push(b',');
                write_str(out, key)?;
                out.push(b':');
                write_str(out, value)?;
            }
        }
        out.extend_from_slice(b"}}");
        Ok(())
    }

    /// The envelope's JSON text.
    pub fn to_json_string(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The operation `metadata` names: a lifecycle payload's, or for a
    /// [`Payload::Json`] the event type's.
    fn operation(&self) -> Option<&'static str> {
        match &self.payload {
            Payload::Json(_) => self.event_type.operation(),
            payload => payload.operation(),
        }
    }

    /// The key that keeps events in order: a declared event's id (the
    /// aggregate id of a domain event, so one aggregate's events stay in
    /// order), else the correlation id, which keeps every event of one
    /// operation, and of one request, in order; the source node id without
    /// either.
    pub fn partition_key(&self) -> PartitionKey<'_> {
        if let Some(id) = self.payload.declared().and_then(|d| d.id.as_deref()) {
            return PartitionKey::Declared(id);
        }
        match self.correlation_id {
            Some(id) => PartitionKey::Correlation(id),
            None => PartitionKey::Node(&self.node.node_id),
        }
    }
}

/// A JSON string, escaped by `serde_json`.
fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, s)
}

/// A UUID as a JSON string, hyphenated and lowercase like its `Serialize`.
fn write_uuid(out: &mut Vec<u8>, id: &Uuid) {
    let mut buf = Uuid::encode_buffer();
    out.push(b'"');
    out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
    out.push(b'"');
}

/// See [`Event::partition_key`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionKey<'a> {
    /// The correlation id.
    Correlation(Uuid),
    /// The source node id.
    Node(&'a str),
    /// A declared event's id: the aggregate id of a domain event, the
    /// resource id of an audit event, the key of any other.
    Declared(&'a str),
}

/// The `metadata` entries of a declared event, after the standard ones:
/// `event_kind`, the kind's fixed attributes, then its id.
fn declared_metadata(
    declared: &crate::typed::DeclaredPayload,
) -> impl Iterator<Item = (&'static str, &str)> + Clone {
    let d = declared.descriptor;
    std::iter::once(("event_kind", d.kind.as_str()))
        .chain(d.attributes.iter().copied())
        .chain(declared.id.as_deref().map(|id| (d.kind.id_field(), id)))
}

struct Metadata<'a> {
    event: &'a Event,
}

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.event;
        let op = e.operation();
        let declared = e.payload.declared().map(declared_metadata);
        let n = 4
            + usize::from(op.is_some())
            + usize::from(e.causation_id.is_some())
            + declared.clone().map_or(0, Iterator::count);
        let mut m = s.serialize_map(Some(n))?;
        m.serialize_entry("node_type", e.node.node_type)?;
        m.serialize_entry("service", &e.node.service)?;
        m.serialize_entry("namespace", &e.node.namespace)?;
        m.serialize_entry("instance_id", &e.node.instance_id)?;
        if let Some(op) = op {
            m.serialize_entry("operation", op)?;
        }
        if let Some(c) = &e.causation_id {
            m.serialize_entry("causation_id", c)?;
        }
        for (key, value) in declared.into_iter().flatten() {
            m.serialize_entry(key, value)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{ArgSpec, Captured, ErrorInfo, Input, ResultSummary};

    static ARGS: &[ArgSpec] = &[
        ArgSpec {
            name: "job",
            ty: "u32",
        },
        ArgSpec {
            name: "odd \"name\"",
            ty: "Vec<&'static str>",
        },
    ];

    fn event(node_id: &str, correlated: bool, payload: Payload) -> Event {
        let id = Uuid::new_v4();
        Event {
            event_id: Uuid::new_v4(),
            event_type: EventType::parse("orchestrator.orchestration.started").unwrap(),
            timestamp: Timestamp::now(),
            correlation_id: correlated.then_some(id),
            causation_id: correlated.then(Uuid::new_v4),
            node: Arc::new(NodeIdentity {
                node_id: node_id.to_owned(),
                node_type: "orchestrator",
                service: "svc\\\"é\u{1}".to_owned(),
                namespace: "onex".to_owned(),
                instance_id: Uuid::new_v4(),
            }),
            payload,
            trace_parent: None,
        }
    }

    #[test]
    fn write_json_matches_serialize() {
        let payloads = [
            Payload::Started {
                operation: "orchestration",
                input: Input::summary(ARGS)
                    .value("job", Captured::of(&7u32))
                    .value("odd \"name\"", Captured::Error("no \"serde\"".into())),
            },
            Payload::Completed {
                operation: "orchestration",
                execution_time_ms: 0.125,
                result: ResultSummary {
                    ty: "u32",
                    value: Some(Captured::of("a\nb")),
                },
            },
            Payload::Failed {
                operation: "orchestration",
                execution_time_ms: f64::NAN,
                error: ErrorInfo::from_message("E", "bad \"thing\"\t".into()),
            },
            Payload::StateChanged {
                old_state: "idle".into(),
                new_state: "busy".into(),
                transition_reason: "work\u{7f}".into(),
            },
            Payload::MetricRecorded {
                metric_name: "latency".into(),
                metric_value: 1e300,
                metric_unit: "ms".into(),
            },
            Payload::Json(
                serde_json::value::RawValue::from_string(r#"{"a":[1,"\u00e9"]}"#.into()).unwrap(),
            ),
        ];
        for payload in payloads {
            for correlated in [true, false] {
                for node_id in ["orchestrator-1", "q\"uote\\", "ünï"] {
                    let e = event(node_id, correlated, payload.clone());
                    let mut fast = b"prefix".to_vec();
                    e.write_json(&mut fast).unwrap();
                    let mut slow = b"prefix".to_vec();
                    serde_json::to_writer(&mut slow, &e).unwrap();
                    assert_eq!(
                        String::from_utf8(fast).unwrap(),
                        String::from_utf8(slow).unwrap()
                    );
                }
            }
        }
    }

    #[test]
    fn a_json_payload_is_written_as_it_is_with_its_type_s_operation() {
        let json = r#"{"job": 7}"#;
        let raw = serde_json::value::RawValue::from_string(json.into()).unwrap();
        let e = event("n-1", true, Payload::Json(raw));
        let value = e.to_json();
        assert_eq!(value["payload"], serde_json::json!({"job": 7}));
        assert_eq!(value["metadata"]["operation"], "orchestration");
    }
}
