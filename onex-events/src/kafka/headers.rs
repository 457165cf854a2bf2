//! CloudEvents 1.0 Kafka protocol binding, binary mode: the record value
//! stays the OnexEnvelopeV1 JSON, unchanged, and the CloudEvents attributes
//! travel as headers, so CloudEvents tooling can read our events. Written
//! by [`cloudevents_headers`], read back by [`CloudEventAttributes::read`].
//!
//! | header             | value                                                  |
//! |--------------------|--------------------------------------------------------|
//! | `ce_specversion`   | `1.0`                                                  |
//! | `ce_id`            | `event_id`                                             |
//! | `ce_type`          | `event_type`                                           |
//! | `ce_source`        | `/{namespace}/{service}/{source_node_id}` (percent-encoded URI reference) |
//! | `ce_time`          | `event_timestamp` (RFC 3339, UTC)                      |
//! | `content-type`     | `application/json`                                     |
//! | `ce_correlationid` | `correlation_id`, when set                             |
//! | `ce_causationid`   | `metadata.causation_id`, when set                      |
//! | `traceparent`      | W3C Trace Context of the event, when one was in scope (see [`TraceParent`]) |
//! | `onex_reply_to`    | a request's requester (its instance id), copied onto the response (not CloudEvents; see [`request`](crate::request)) |
//!
//! [`TraceParent`]: crate::TraceParent

use crate::envelope::Event;
use crate::{NodeIdentity, TraceParent};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use uuid::Uuid;

/// `ce_specversion`.
pub const SPECVERSION: &str = "ce_specversion";
/// `ce_id`: the event id.
pub const ID: &str = "ce_id";
/// `ce_type`: the event type.
pub const TYPE: &str = "ce_type";
/// `ce_source`: the publishing node.
pub const SOURCE: &str = "ce_source";
/// `ce_time`: the event timestamp.
pub const TIME: &str = "ce_time";
/// `content-type` of the record value.
pub const CONTENT_TYPE: &str = "content-type";
/// `ce_correlationid` (CloudEvents extension).
pub const CORRELATION_ID: &str = "ce_correlationid";
/// `ce_causationid` (CloudEvents extension).
pub const CAUSATION_ID: &str = "ce_causationid";
/// `traceparent` (W3C Trace Context).
pub const TRACEPARENT: &str = "traceparent";
/// `onex_reply_to`: on a request, the instance id of the requester waiting
/// for its response; on the response, the same id.
pub const REPLY_TO: &str = crate::request::REPLY_TO;
/// The error that sent a record to a dead-letter topic (not a CloudEvents
/// attribute; only on dead letters, of an outbox or of a consumer): its
/// message.
pub const DEAD_LETTER_ERROR: &str = "onex_dead_letter_error";
/// The start of the name of every header a dead letter carries besides the
/// original record's: what reprocessing strips.
pub const DEAD_LETTER_PREFIX: &str = "onex_dead_letter_";
/// A consumer's dead letter: the error's type (the Rust type of an `Err`,
/// `panic`, `timeout`, `undecodable_payload`, `malformed_event` or
/// `unhandled_event`).
pub const DEAD_LETTER_ERROR_TYPE: &str = "onex_dead_letter_error_type";
/// A consumer's dead letter: how many runs the handler made (0 when none ran).
pub const DEAD_LETTER_ATTEMPTS: &str = "onex_dead_letter_attempts";
/// A consumer's dead letter: the topic the record came from.
pub const DEAD_LETTER_TOPIC: &str = "onex_dead_letter_topic";
/// A consumer's dead letter: its partition there.
pub const DEAD_LETTER_PARTITION: &str = "onex_dead_letter_partition";
/// A consumer's dead letter: its offset there.
pub const DEAD_LETTER_OFFSET: &str = "onex_dead_letter_offset";
/// A consumer's dead letter: the consumer group that gave up on it.
pub const DEAD_LETTER_GROUP: &str = "onex_dead_letter_group";
/// A consumer's dead letter: the handler that failed, `{node_type}.{handler}`
/// (absent when no handler ran).
pub const DEAD_LETTER_HANDLER: &str = "onex_dead_letter_handler";
/// `content-type` of every record the sink and the relays write.
pub const JSON: &str = "application/json";

/// The CloudEvents binary-mode headers of `event`.
pub fn cloudevents_headers(event: &Event) -> OwnedHeaders {
    cloudevents_headers_with_source(event, &source(event))
}

/// [`cloudevents_headers`] with `ce_source` already built (it depends only
/// on the node, so the sink builds it once per node).
pub(crate) fn cloudevents_headers_with_source(event: &Event, source: &str) -> OwnedHeaders {
    let mut id = Uuid::encode_buffer();
    let time = event.timestamp.format();
    let mut headers = OwnedHeaders::new_with_capacity(8)
        .insert(header(SPECVERSION, b"1.0"))
        .insert(header(
            ID,
            event.event_id.hyphenated().encode_lower(&mut id).as_bytes(),
        ))
        .insert(header(TYPE, event.event_type.as_str().as_bytes()))
        .insert(header(SOURCE, source.as_bytes()))
        .insert(header(TIME, &time))
        .insert(header(CONTENT_TYPE, JSON.as_bytes()));
    if let Some(c) = event.correlation_id {
        let mut buf = Uuid::encode_buffer();
        headers = headers.insert(header(
            CORRELATION_ID,
            c.hyphenated().encode_lower(&mut buf).as_bytes(),
        ));
    }
    if let Some(c) = event.causation_id {
        let mut buf = Uuid::encode_buffer();
        headers = headers.insert(header(
            CAUSATION_ID,
            c.hyphenated().encode_lower(&mut buf).as_bytes(),
        ));
    }
    if let Some(tp) = &event.trace_parent {
        let mut buf = [0; 55];
        headers = headers.insert(header(TRACEPARENT, tp.encode(&mut buf).as_bytes()));
    }
    if let crate::Payload::Response(reply) = &event.payload {
        if let Some(id) = reply.reply_to {
            headers = reply_to(headers, id);
        }
    }
    headers
}

/// `headers` with `onex_reply_to` set to `instance_id`.
pub fn reply_to(headers: OwnedHeaders, instance_id: Uuid) -> OwnedHeaders {
    let mut buf = Uuid::encode_buffer();
    headers.insert(header(
        REPLY_TO,
        instance_id.hyphenated().encode_lower(&mut buf).as_bytes(),
    ))
}

fn header<'a>(key: &'a str, value: &'a [u8]) -> Header<'a, &'a [u8]> {
    Header {
        key,
        value: Some(value),
    }
}

/// `ce_source`: `/{namespace}/{service}/{node_id}`, each segment
/// percent-encoded so the result is a valid URI reference.
pub fn source(event: &Event) -> String {
    node_source(&event.node)
}

/// [`source`] of the events of `node`.
pub(crate) fn node_source(node: &NodeIdentity) -> String {
    let mut s =
        String::with_capacity(3 + node.namespace.len() + node.service.len() + node.node_id.len());
    for segment in [&node.namespace, &node.service, &node.node_id] {
        s.push('/');
        push_encoded(&mut s, segment);
    }
    s
}

fn push_encoded(out: &mut String, segment: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        }
    }
}

/// The event id in a record's `ce_id` header, if any.
pub fn event_id(headers: Option<&impl Headers>) -> Option<Uuid> {
    value(headers?, ID).and_then(|v| Uuid::try_parse_ascii(v).ok())
}

/// The value of the first header named `key`.
fn value<'a>(headers: &'a impl Headers, key: &str) -> Option<&'a [u8]> {
    headers.iter().find(|h| h.key == key).and_then(|h| h.value)
}

/// The CloudEvents attributes of a record, read back from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloudEventAttributes {
    /// `ce_id`: the event id.
    pub id: Uuid,
    /// `ce_type`: the event type, e.g. `orchestrator.routing.started`.
    pub event_type: String,
    /// `ce_source`: `/{namespace}/{service}/{node_id}`, percent-encoded.
    pub source: String,
    /// `ce_time`: the event timestamp, RFC 3339.
    pub time: String,
    /// `content-type`, when present.
    pub content_type: Option<String>,
    /// `ce_correlationid`, when present.
    pub correlation_id: Option<Uuid>,
    /// `ce_causationid`, when present.
    pub causation_id: Option<Uuid>,
    /// `traceparent`, when present.
    pub trace_parent: Option<TraceParent>,
}

/// A record's headers are not the CloudEvents headers of an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A required header is absent.
    #[error("header {0} is missing")]
    Missing(&'static str),
    /// A header's value cannot be read.
    #[error("header {name}={value:?} is invalid")]
    Invalid {
        /// The header.
        name: &'static str,
        /// Its value, lossily decoded.
        value: String,
    },
}

impl CloudEventAttributes {
    /// Reads the attributes [`cloudevents_headers`] writes. `ce_specversion`
    /// must be `1.0`; `ce_id`, `ce_type`, `ce_source` and `ce_time` are
    /// required; the others are optional.
    pub fn read(headers: &impl Headers) -> Result<Self, HeaderError> {
        let text = |name: &'static str| -> Result<Option<&str>, HeaderError> {
            value(headers, name)
                .map(|v| {
                    std::str::from_utf8(v).map_err(|_| HeaderError::Invalid {
                        name,
                        value: String::from_utf8_lossy(v).into_owned(),
                    })
                })
                .transpose()
        };
        let required = |name: &'static str| text(name)?.ok_or(HeaderError::Missing(name));
        let parsed = |name: &'static str, v: &str| HeaderError::Invalid {
            name,
            value: v.to_owned(),
        };
        let uuid = |name: &'static str| -> Result<Option<Uuid>, HeaderError> {
            text(name)?
                .map(|v| Uuid::try_parse(v).map_err(|_| parsed(name, v)))
                .transpose()
        };
        let version = required(SPECVERSION)?;
        if version != "1.0" {
            return Err(parsed(SPECVERSION, version));
        }
        Ok(CloudEventAttributes {
            id: uuid(ID)?.ok_or(HeaderError::Missing(ID))?,
            event_type: required(TYPE)?.to_owned(),
            source: required(SOURCE)?.to_owned(),
            time: required(TIME)?.to_owned(),
            content_type: text(CONTENT_TYPE)?.map(str::to_owned),
            correlation_id: uuid(CORRELATION_ID)?,
            causation_id: uuid(CAUSATION_ID)?,
            trace_parent: text(TRACEPARENT)?
                .map(|v| v.parse().map_err(|_| parsed(TRACEPARENT, v)))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::test_event;
    use crate::EventType;

    fn get<'a>(h: &'a OwnedHeaders, key: &str) -> Option<&'a str> {
        h.iter()
            .find(|x| x.key == key)
            .and_then(|x| x.value)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    #[test]
    fn headers_match_the_envelope() {
        let mut event = test_event(EventType::parse("orchestrator.routing.started").unwrap());
        event.causation_id = Some(Uuid::new_v4());
        let h = cloudevents_headers(&event);
        let json = event.to_json();
        assert_eq!(get(&h, SPECVERSION), Some("1.0"));
        assert_eq!(get(&h, ID), json["event_id"].as_str());
        assert_eq!(get(&h, TYPE), json["event_type"].as_str());
        assert_eq!(get(&h, TIME), json["event_timestamp"].as_str());
        assert_eq!(get(&h, CONTENT_TYPE), Some("application/json"));
        assert_eq!(get(&h, CORRELATION_ID), json["correlation_id"].as_str());
        assert_eq!(
            get(&h, CAUSATION_ID),
            json["metadata"]["causation_id"].as_str()
        );
        assert_eq!(get(&h, SOURCE), Some("/onex/svc/node-1"));
        assert_eq!(get(&h, TRACEPARENT), None);
        assert_eq!(event_id(Some(&h)), Some(event.event_id));
    }

    #[test]
    fn optional_headers_are_absent_and_source_is_encoded() {
        let mut event = test_event(EventType::parse("orchestrator.state.changed").unwrap());
        event.correlation_id = None;
        let mut node = (*event.node).clone();
        node.node_id = "a/b?c%".to_owned();
        event.node = std::sync::Arc::new(node);
        let h = cloudevents_headers(&event);
        assert_eq!(get(&h, CORRELATION_ID), None);
        assert_eq!(get(&h, CAUSATION_ID), None);
        assert_eq!(get(&h, SOURCE), Some("/onex/svc/a%2Fb%3Fc%25"));
    }

    #[test]
    fn traceparent_header_carries_the_trace_context() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut event = test_event(EventType::parse("orchestrator.state.changed").unwrap());
        event.trace_parent = Some(text.parse().unwrap());
        let h = cloudevents_headers(&event);
        assert_eq!(get(&h, TRACEPARENT), Some(text));
        assert!(
            !event.to_json().to_string().contains("4bf92f35"),
            "not in the envelope"
        );
    }

    #[test]
    fn attributes_read_back_what_the_headers_carry() {
        let text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut event = test_event(EventType::parse("orchestrator.routing.failed").unwrap());
        event.causation_id = Some(Uuid::new_v4());
        event.trace_parent = Some(text.parse().unwrap());
        let read = CloudEventAttributes::read(&cloudevents_headers(&event)).unwrap();
        assert_eq!(read.id, event.event_id);
        assert_eq!(read.event_type, "orchestrator.routing.failed");
        assert_eq!(read.source, "/onex/svc/node-1");
        assert_eq!(read.time.as_bytes(), event.timestamp.format().as_slice());
        assert_eq!(read.content_type.as_deref(), Some(JSON));
        assert_eq!(read.correlation_id, event.correlation_id);
        assert_eq!(read.causation_id, event.causation_id);
        assert_eq!(read.trace_parent, event.trace_parent);
    }

    #[test]
    fn attributes_need_the_required_headers() {
        let bad_id = OwnedHeaders::new()
            .insert(header(SPECVERSION, b"1.0"))
            .insert(header(ID, b"not-a-uuid"));
        assert_eq!(
            CloudEventAttributes::read(&bad_id),
            Err(HeaderError::Invalid {
                name: ID,
                value: "not-a-uuid".to_owned()
            })
        );
        assert_eq!(
            CloudEventAttributes::read(&OwnedHeaders::new()),
            Err(HeaderError::Missing(SPECVERSION))
        );
        let v2 = OwnedHeaders::new().insert(header(SPECVERSION, b"2.0"));
        assert!(matches!(
            CloudEventAttributes::read(&v2),
            Err(HeaderError::Invalid {
                name: SPECVERSION,
                ..
            })
        ));
    }
}
