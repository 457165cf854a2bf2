//! A record as the commands show it: where it was read, its key and
//! headers, and the OnexEnvelopeV1 envelope it carries — or, for a record
//! that is not an event, its value as text and why it is not one.

use chrono::{DateTime, SecondsFormat, Utc};
use onex_events::kafka::rdkafka::message::{Headers, Message};
use onex_events::kafka::DecodedRecord;
use serde_json::{json, Map, Value};

/// The longest payload a readable line shows, in characters.
const PAYLOAD_CHARS: usize = 160;

/// A record read from a topic.
#[derive(Debug, Clone)]
pub struct TopicRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch, if the record has a timestamp.
    pub timestamp_ms: Option<i64>,
    /// The key, as text (lossy for bytes that are not UTF-8).
    pub key: Option<String>,
    /// The headers, in order, their values as text.
    pub headers: Vec<(String, String)>,
    pub content: Content,
}

/// What a record carries.
#[derive(Debug, Clone)]
pub enum Content {
    /// An OnexEnvelopeV1 envelope.
    Envelope(Value),
    /// Anything else.
    Other {
        /// The value as text (lossy), empty for none.
        value: String,
        /// Why it is not an envelope.
        reason: String,
    },
}

impl TopicRecord {
    /// The record of a consumed message. Its envelope is decoded by the
    /// library's record codec; a value with the envelope's shape but
    /// without (or with other) CloudEvents headers is still shown as one.
    pub fn from_message(message: &impl Message) -> Self {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), text(h.value.unwrap_or_default())))
                    .collect()
            })
            .unwrap_or_default();
        let value = message.payload().unwrap_or_default();
        let content = match DecodedRecord::from_message(message) {
            Ok(decoded) => Content::Envelope(decoded.envelope),
            Err(error) => match serde_json::from_slice::<Value>(value) {
                Ok(envelope) if looks_like_envelope(&envelope) => Content::Envelope(envelope),
                _ => Content::Other {
                    value: text(value),
                    reason: error.to_string(),
                },
            },
        };
        TopicRecord {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            timestamp_ms: message.timestamp().to_millis(),
            key: message.key().map(text),
            headers,
            content,
        }
    }

    /// The envelope, if the record carries one.
    pub fn envelope(&self) -> Option<&Value> {
        match &self.content {
            Content::Envelope(envelope) => Some(envelope),
            Content::Other { .. } => None,
        }
    }

    /// A field of the envelope that is text: `event_type`, `correlation_id`, ..
    pub fn field(&self, name: &str) -> Option<&str> {
        self.envelope()?.get(name)?.as_str()
    }

    /// The value of header `name`, if the record has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Where the record is: `topic/partition@offset`.
    pub fn position(&self) -> String {
        format!("{}/{}@{}", self.topic, self.partition, self.offset)
    }

    /// One JSON object, kcat `-J` style: the record's topic, partition,
    /// offset, timestamp, key and headers, with `envelope` (or `value` and
    /// `error` for a record that is not an event).
    pub fn to_json(&self) -> Value {
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut object = json!({
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp_ms": self.timestamp_ms,
            "key": self.key,
            "headers": headers,
        });
        match &self.content {
            Content::Envelope(envelope) => object["envelope"] = envelope.clone(),
            Content::Other { value, reason } => {
                object["envelope"] = Value::Null;
                object["value"] = Value::String(value.clone());
                object["error"] = Value::String(reason.clone());
            }
        }
        object
    }

    /// One readable line: time, event type, correlation id, source node,
    /// position, and the payload (shortened).
    pub fn readable_line(&self) -> String {
        let time = self
            .field("event_timestamp")
            .map(str::to_owned)
            .or_else(|| self.timestamp_ms.and_then(format_millis))
            .unwrap_or_else(|| "-".to_owned());
        match &self.content {
            Content::Envelope(envelope) => {
                let payload = envelope
                    .get("payload")
                    .map_or_else(String::new, |p| shorten(&p.to_string(), PAYLOAD_CHARS));
                format!(
                    "{time} {} correlation={} source={} {} {payload}",
                    self.field("event_type").unwrap_or("?"),
                    self.field("correlation_id").unwrap_or("-"),
                    self.field("source_node_id").unwrap_or("?"),
                    self.position(),
                )
            }
            Content::Other { value, reason } => format!(
                "{time} (not an event: {reason}) {} key={} value={}",
                self.position(),
                self.key.as_deref().unwrap_or("-"),
                shorten(value, PAYLOAD_CHARS)
            ),
        }
    }
}

/// True for a JSON object with the envelope's `event_id` and `event_type`.
fn looks_like_envelope(value: &Value) -> bool {
    ["event_id", "event_type"]
        .iter()
        .all(|k| value.get(k).is_some_and(Value::is_string))
}

/// A timestamp in milliseconds as RFC 3339 UTC text.
pub fn format_millis(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// `text` cut to `max` characters, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(content: Content) -> TopicRecord {
        TopicRecord {
            topic: "onex.svc.orchestrator.routing.v1".to_owned(),
            partition: 0,
            offset: 7,
            timestamp_ms: Some(1_700_000_000_123),
            key: Some("k".to_owned()),
            headers: vec![(
                "ce_type".to_owned(),
                "orchestrator.routing.started".to_owned(),
            )],
            content,
        }
    }

    fn envelope() -> Value {
        json!({
            "envelope_version": "1.0",
            "event_id": "8f3c5bd2-0000-4000-8000-000000000001",
            "event_type": "orchestrator.routing.started",
            "event_timestamp": "2026-11-30T19:00:00.000001Z",
            "source_node_id": "orchestrator-1",
            "correlation_id": "5b1e7e5e-0000-4000-8000-000000000002",
            "payload": {"operation": "routing"},
            "metadata": {}
        })
    }

    #[test]
    fn a_readable_line_names_type_correlation_source_and_position() {
        let line = record(Content::Envelope(envelope())).readable_line();
        assert_eq!(
            line,
            "2026-11-30T19:00:00.000001Z orchestrator.routing.started \
             correlation=5b1e7e5e-0000-4000-8000-000000000002 source=orchestrator-1 \
             onex.svc.orchestrator.routing.v1/0@7 {\"operation\":\"routing\"}"
        );
    }

    #[test]
    fn a_record_that_is_not_an_event_is_shown_with_the_reason() {
        let other = record(Content::Other {
            value: "hello".to_owned(),
            reason: "the record has no headers".to_owned(),
        });
        assert_eq!(
            other.readable_line(),
            "2023-11-14T22:13:20.123Z (not an event: the record has no headers) \
             onex.svc.orchestrator.routing.v1/0@7 key=k value=hello"
        );
        let json = other.to_json();
        assert_eq!(json["envelope"], Value::Null);
        assert_eq!(json["value"], "hello");
    }

    #[test]
    fn the_json_line_holds_the_envelope_and_the_record_s_place_key_and_headers() {
        let json = record(Content::Envelope(envelope())).to_json();
        assert_eq!(json["topic"], "onex.svc.orchestrator.routing.v1");
        assert_eq!(
            (json["partition"].as_i64(), json["offset"].as_i64()),
            (Some(0), Some(7))
        );
        assert_eq!(json["key"], "k");
        assert_eq!(json["headers"]["ce_type"], "orchestrator.routing.started");
        assert_eq!(json["envelope"], envelope());
    }

    #[test]
    fn shorten_cuts_at_characters_not_bytes() {
        assert_eq!(shorten("ééé", 2), "éé…");
        assert_eq!(shorten("ab", 2), "ab");
    }
}
