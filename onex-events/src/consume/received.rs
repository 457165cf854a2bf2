//! A record as a consumer received it, with its envelope checked and its
//! fields located: what every handler of the event shares.

use super::envelope_fields::{EnvelopeFields, JsonText, MetadataFields};
use super::received_record::ReceivedRecord;
use super::record_headers::RecordHeaders;
use crate::envelope::ENVELOPE_VERSION;
use std::ops::Range;
use std::sync::Arc;
use uuid::Uuid;

/// The parts of a record as they came off the wire (or the in-process bus).
#[derive(Debug, Clone, Default)]
pub struct RecordParts {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The offset in the partition.
    pub offset: i64,
    /// The key, if any.
    pub key: Option<Vec<u8>>,
    /// The value: an OnexEnvelopeV1 as JSON, if all is well.
    pub value: Vec<u8>,
    /// The headers.
    pub headers: RecordHeaders,
}

/// Why a record is not an OnexEnvelopeV1 event. Such a record goes to the
/// dead-letter topic at once, with this as its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedEvent {
    /// The record has no value.
    #[error("the record has no value")]
    Empty,
    /// The value is not JSON, or not an envelope (a field missing or of the
    /// wrong type).
    #[error("not an OnexEnvelopeV1: {0}")]
    NotAnEnvelope(String),
    /// The envelope has another version.
    #[error("envelope_version is {0:?}, expected \"{ENVELOPE_VERSION}\"")]
    Version(String),
}

/// A record that is not an OnexEnvelopeV1, given back with the reason.
#[derive(Debug)]
pub struct Undecoded {
    /// Why it is not an envelope.
    pub reason: MalformedEvent,
    /// The record.
    pub record: ReceivedRecord,
}

/// Where a text field of the envelope is: a range of the value, or a copy
/// for text the JSON escaped.
#[derive(Debug, Clone)]
enum Text {
    At(Range<usize>),
    Unescaped(Box<str>),
}

/// A received record whose value is an OnexEnvelopeV1: its envelope fields
/// read once, its payload left as JSON for each handler to decode.
#[derive(Debug)]
pub struct ReceivedEvent {
    record: ReceivedRecord,
    fields: Fields,
}

/// The envelope's fields, located in the record's value.
#[derive(Debug)]
struct Fields {
    event_id: Uuid,
    correlation_id: Option<Uuid>,
    event_type: Text,
    timestamp: Text,
    source_node_id: Text,
    payload: Range<usize>,
    /// `metadata`, an object, read only when asked.
    metadata: Range<usize>,
}

/// Where `text` is: in `base`, or a checked copy.
fn locate(text: JsonText<'_>, base: &[u8], field: &str) -> Result<Text, MalformedEvent> {
    match text {
        JsonText::At(b) => Ok(Text::At(range_of(base, b))),
        JsonText::Unescaped(b) => String::from_utf8(b)
            .map(|s| Text::Unescaped(s.into_boxed_str()))
            .map_err(|_| not_utf8(field)),
    }
}

fn uuid(text: &JsonText<'_>, field: &str) -> Result<Uuid, MalformedEvent> {
    Uuid::try_parse_ascii(text.bytes())
        .map_err(|e| MalformedEvent::NotAnEnvelope(format!("{field} is not a UUID: {e}")))
}

fn not_utf8(field: &str) -> MalformedEvent {
    MalformedEvent::NotAnEnvelope(format!("{field} is not UTF-8"))
}

/// Where `part`, a slice of `base`, is in it.
fn range_of(base: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - base.as_ptr() as usize;
    start..start + part.len()
}

/// The fields of `envelope`, a value read from `base`, located.
fn fields_of(envelope: EnvelopeFields<'_>, base: &[u8]) -> Result<Fields, MalformedEvent> {
    let version = envelope.envelope_version.bytes();
    if version != ENVELOPE_VERSION.as_bytes() {
        return Err(MalformedEvent::Version(
            String::from_utf8_lossy(version).into_owned(),
        ));
    }
    // Checked now: handlers are found by it.
    std::str::from_utf8(envelope.event_type.bytes()).map_err(|_| not_utf8("event_type"))?;
    let metadata = envelope.metadata.get().as_bytes();
    if metadata.first() != Some(&b'{') {
        return Err(MalformedEvent::NotAnEnvelope(
            "metadata is not an object".to_owned(),
        ));
    }
    let correlation_id = match &envelope.correlation_id {
        Some(text) => Some(uuid(text, "correlation_id")?),
        None => None,
    };
    Ok(Fields {
        event_id: uuid(&envelope.event_id, "event_id")?,
        correlation_id,
        event_type: locate(envelope.event_type, base, "event_type")?,
        timestamp: locate(envelope.event_timestamp, base, "event_timestamp")?,
        source_node_id: locate(envelope.source_node_id, base, "source_node_id")?,
        payload: range_of(base, envelope.payload.get().as_bytes()),
        metadata: range_of(base, metadata),
    })
}

impl ReceivedEvent {
    /// Reads the envelope of a record, or says why it is not one.
    pub fn decode(record: impl Into<ReceivedRecord>) -> Result<Self, MalformedEvent> {
        Self::try_decode(record).map_err(|undecoded| undecoded.reason)
    }

    /// [`ReceivedEvent::decode`], giving the record back with the reason
    /// when it is not an envelope (for its dead letter).
    pub fn try_decode(record: impl Into<ReceivedRecord>) -> Result<Self, Box<Undecoded>> {
        let record = record.into();
        match Self::fields(record.value()) {
            Ok(fields) => Ok(ReceivedEvent { record, fields }),
            Err(reason) => Err(Box::new(Undecoded { reason, record })),
        }
    }

    /// The envelope fields located in `value`.
    fn fields(value: &[u8]) -> Result<Fields, MalformedEvent> {
        if value.is_empty() {
            return Err(MalformedEvent::Empty);
        }
        match serde_json::from_slice::<EnvelopeFields<'_>>(value) {
            Ok(envelope) => fields_of(envelope, value),
            Err(e) => Err(MalformedEvent::NotAnEnvelope(e.to_string())),
        }
    }

    fn text<'a>(&'a self, text: &'a Text) -> &'a str {
        match text {
            // Ranges of `&str`s serde borrowed from the value: UTF-8.
            Text::At(range) => {
                std::str::from_utf8(&self.record.value()[range.clone()]).unwrap_or_default()
            }
            Text::Unescaped(s) => s,
        }
    }

    /// `event_id`.
    pub fn event_id(&self) -> Uuid {
        self.fields.event_id
    }

    /// `event_type`.
    pub fn event_type(&self) -> &str {
        self.text(&self.fields.event_type)
    }

    /// `event_timestamp`, RFC 3339 in UTC as the producer wrote it.
    pub fn timestamp(&self) -> &str {
        self.text(&self.fields.timestamp)
    }

    /// `source_node_id`.
    pub fn source_node_id(&self) -> &str {
        self.text(&self.fields.source_node_id)
    }

    /// `correlation_id`.
    pub fn correlation_id(&self) -> Option<Uuid> {
        self.fields.correlation_id
    }

    /// `metadata.causation_id` (`None` if absent or not a UUID).
    pub fn causation_id(&self) -> Option<Uuid> {
        let metadata = &self.record.value()[self.fields.metadata.clone()];
        let text = serde_json::from_slice::<MetadataFields<'_>>(metadata)
            .ok()?
            .causation_id?;
        Uuid::try_parse_ascii(text.bytes()).ok()
    }

    /// The payload's JSON text.
    pub fn payload_json(&self) -> &str {
        std::str::from_utf8(self.payload_bytes()).unwrap_or_default()
    }

    /// The payload's JSON, as bytes (no UTF-8 check: serde checked it
    /// when it read the envelope).
    pub(crate) fn payload_bytes(&self) -> &[u8] {
        &self.record.value()[self.fields.payload.clone()]
    }

    /// The record: topic, partition, offset, key, value and headers.
    pub fn record(&self) -> &ReceivedRecord {
        &self.record
    }

    /// The record, given back.
    pub fn into_record(self) -> ReceivedRecord {
        self.record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(value: &str) -> RecordParts {
        RecordParts {
            value: value.as_bytes().to_vec(),
            ..RecordParts::default()
        }
    }

    const ENVELOPE: &str = r#"{"envelope_version":"1.0","event_id":"6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b","event_type":"orchestrator.orchestration.completed","event_timestamp":"2026-11-30T12:00:00.000000Z","source_node_id":"orch\"1","correlation_id":"0b7d8c9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e","payload":{"operation":"orchestration","execution_time_ms":1.5},"metadata":{"node_type":"orchestrator","causation_id":"1b7d8c9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"}}"#;

    #[test]
    fn an_envelope_is_read_with_its_fields_located() {
        let event = ReceivedEvent::decode(parts(ENVELOPE)).unwrap();
        assert_eq!(event.event_type(), "orchestrator.orchestration.completed");
        assert_eq!(event.timestamp(), "2026-11-30T12:00:00.000000Z");
        assert_eq!(event.source_node_id(), "orch\"1");
        assert_eq!(
            event.payload_json(),
            r#"{"operation":"orchestration","execution_time_ms":1.5}"#
        );
        assert_eq!(
            event.causation_id().map(|c| c.to_string()).as_deref(),
            Some("1b7d8c9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e")
        );
    }

    #[test]
    fn a_record_that_is_not_an_envelope_says_why() {
        assert_eq!(
            ReceivedEvent::decode(parts("")).unwrap_err(),
            MalformedEvent::Empty
        );
        let not_json = ReceivedEvent::decode(parts("not json")).unwrap_err();
        assert!(
            matches!(not_json, MalformedEvent::NotAnEnvelope(_)),
            "{not_json}"
        );
        let missing = ReceivedEvent::decode(parts(r#"{"envelope_version":"1.0"}"#)).unwrap_err();
        assert!(missing.to_string().contains("missing field"), "{missing}");
        let twice = ENVELOPE.replace(
            r#""envelope_version":"1.0","#,
            r#""envelope_version":"1.0","event_type":"a.b.c","#,
        );
        let twice = ReceivedEvent::decode(parts(&twice)).unwrap_err();
        assert!(
            twice.to_string().contains("duplicate field `event_type`"),
            "{twice}"
        );
        let no_metadata = &ENVELOPE[..ENVELOPE.find(r#","metadata""#).unwrap()];
        let no_metadata = ReceivedEvent::decode(parts(&format!("{no_metadata}}}"))).unwrap_err();
        assert!(
            no_metadata.to_string().contains("missing field `metadata`"),
            "{no_metadata}"
        );
        let metadata_at = ENVELOPE.find(r#""metadata":"#).unwrap();
        let metadata_not_object = format!(r#"{}"metadata":["x"]}}"#, &ENVELOPE[..metadata_at]);
        let metadata_not_object = ReceivedEvent::decode(parts(&metadata_not_object)).unwrap_err();
        assert_eq!(
            metadata_not_object,
            MalformedEvent::NotAnEnvelope("metadata is not an object".into())
        );
        let not_object = ReceivedEvent::decode(parts("[1, 2]")).unwrap_err();
        assert!(
            matches!(not_object, MalformedEvent::NotAnEnvelope(_)),
            "{not_object}"
        );
        let bad_id = ENVELOPE.replace("6f1f2c3e-8d7a", "not-a-uuid-8d7a");
        let bad_id = ReceivedEvent::decode(parts(&bad_id)).unwrap_err();
        assert!(
            bad_id.to_string().contains("event_id is not a UUID"),
            "{bad_id}"
        );
        let mut not_utf8 = ENVELOPE.as_bytes().to_vec();
        let at = ENVELOPE.find("orchestrator.orchestration").unwrap();
        not_utf8[at] = 0xff;
        let not_utf8 = ReceivedEvent::decode(RecordParts {
            value: not_utf8,
            ..RecordParts::default()
        })
        .unwrap_err();
        assert!(
            not_utf8.to_string().contains("event_type is not UTF-8"),
            "{not_utf8}"
        );
        let v2 = ENVELOPE.replace(r#""envelope_version":"1.0""#, r#""envelope_version":"2.0""#);
        assert_eq!(
            ReceivedEvent::decode(parts(&v2)).unwrap_err(),
            MalformedEvent::Version("2.0".into())
        );
    }
}
