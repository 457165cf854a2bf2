//! A record as a consumer received it, with its envelope checked and its
//! fields located: what every handler of the event shares.

use super::canonical_envelope;
use super::envelope_fields::{causation_in, EnvelopeFields};
use super::located_fields::{fields_of, payload_range, Fields, Text};
use super::malformed_event::{not_utf8, MalformedEvent, Undecoded};
use super::payload_decoder::{DecodedPayload, PayloadDecoder};
use super::received_record::ReceivedRecord;
use super::record_headers::RecordHeaders;
use serde_json::value::RawValue;
use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};
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

/// A received record whose value is an OnexEnvelopeV1: its envelope fields
/// read once, its payload left as JSON for each handler to decode (or
/// decoded with the envelope, for handlers that all take one type).
#[derive(Debug)]
pub struct ReceivedEvent {
    record: ReceivedRecord,
    fields: Fields,
    /// The payload, decoded as the envelope was read, until a handler
    /// taking its type takes it.
    decoded: Mutex<Option<DecodedPayload>>,
}

impl ReceivedEvent {
    /// Reads the envelope of a record, or says why it is not one.
    pub fn decode(record: impl Into<ReceivedRecord>) -> Result<Self, MalformedEvent> {
        Self::try_decode(record).map_err(|undecoded| undecoded.reason)
    }

    /// [`ReceivedEvent::decode`], giving the record back with the reason
    /// when it is not an envelope (for its dead letter).
    pub fn try_decode(record: impl Into<ReceivedRecord>) -> Result<Self, Box<Undecoded>> {
        Self::try_decode_as(record.into(), None)
    }

    /// [`ReceivedEvent::try_decode`], the payload decoded by `payload` (if
    /// given and it can) in the same pass, for a handler taking its type.
    pub(crate) fn try_decode_as(
        record: ReceivedRecord,
        payload: Option<PayloadDecoder>,
    ) -> Result<Self, Box<Undecoded>> {
        match Self::fields(record.value(), payload) {
            Ok((fields, decoded)) => Ok(ReceivedEvent {
                record,
                fields,
                decoded: Mutex::new(decoded),
            }),
            Err(reason) => Err(Box::new(Undecoded { reason, record })),
        }
    }

    /// The envelope fields located in `value`, and the payload if
    /// `payload` decoded it.
    fn fields(
        value: &[u8],
        payload: Option<PayloadDecoder>,
    ) -> Result<(Fields, Option<DecodedPayload>), MalformedEvent> {
        if value.is_empty() {
            return Err(MalformedEvent::Empty);
        }
        // Checked as UTF-8 over the whole value at once, cheaper than
        // string by string.
        let Ok(text) = utf8(value) else {
            // Read for the field that is not: text is checked as read.
            let envelope = EnvelopeFields::<&RawValue>::read_bytes(value)?;
            let payload = payload_range(value, envelope.payload);
            fields_of(envelope, payload, value)?;
            return Err(not_utf8("metadata"));
        };
        // A record the decoder cannot read is read again as JSON, which
        // tells why (or leaves the payload to fail in its handler).
        if let Some((fields, decoded)) = payload.and_then(|p| p.read(text)) {
            return Ok((fields, Some(decoded)));
        }
        if let Some((fields, _)) = canonical_envelope::located::<&RawValue>(text) {
            return Ok((fields, None));
        }
        let envelope = EnvelopeFields::<&RawValue>::read(text)?;
        let payload = payload_range(value, envelope.payload);
        Ok((fields_of(envelope, payload, value)?.0, None))
    }

    fn text<'a>(&'a self, text: &'a Text) -> &'a str {
        match text {
            Text::At(range) => {
                let bytes = &self.record.value()[range.clone()];
                // SAFETY: an event is made only of a value checked as
                // UTF-8 whole (`fields`), and a range of it lies between
                // a string's quotes, so on character boundaries.
                unsafe { std::str::from_utf8_unchecked(bytes) }
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
        let text = causation_in(&self.record.value()[self.fields.metadata.clone()])?;
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

    /// The payload as decoded with the envelope, if it was, as a `T`: once.
    pub(crate) fn take_payload<T: Any>(&self) -> Option<T> {
        let decoded = self
            .decoded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()?;
        decoded.downcast().ok().map(|payload| *payload)
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

/// `value` as text, if UTF-8: an ASCII value (most are) is told by a
/// quicker check than `from_utf8`'s.
fn utf8(value: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if value.is_ascii() {
        // SAFETY: ASCII is UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(value) });
    }
    std::str::from_utf8(value)
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

    /// `ENVELOPE` with `from` replaced by `to`: the reason it is refused.
    fn breach(from: &str, to: &str) -> MalformedEvent {
        assert!(ENVELOPE.contains(from), "{from}");
        ReceivedEvent::decode(parts(&ENVELOPE.replacen(from, to, 1))).unwrap_err()
    }

    /// Asserts that `reason` is a breach of `field`, and says so first.
    fn names(reason: &MalformedEvent, field: &str) {
        let text = reason.to_string();
        assert!(
            matches!(reason, MalformedEvent::Field { field: f, .. } if *f == field),
            "{text}"
        );
        assert!(text.starts_with(field), "{text}");
    }

    #[test]
    fn an_event_id_not_in_the_contracts_uuid_form_is_refused() {
        for id in [
            "6F1F2C3E-8D7A-4B8E-9A0B-1C2D3E4F5A6B",
            "6f1f2c3e8d7a4b8e9a0b1c2d3e4f5a6b",
            "{6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b}",
        ] {
            let reason = breach("6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b", id);
            names(&reason, "event_id");
            assert!(reason.to_string().contains("is not a UUID"), "{reason}");
        }
        names(
            &breach(r#""6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b""#, "7"),
            "event_id",
        );
    }

    #[test]
    fn a_correlation_id_must_be_there_and_null_or_a_uuid() {
        let reason = breach(
            "0b7d8c9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e",
            "0B7D8C9E-1F2A-4B3C-8D4E-5F6A7B8C9D0E",
        );
        names(&reason, "correlation_id");
        names(
            &breach(r#""0b7d8c9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e""#, "{}"),
            "correlation_id",
        );
        let missing = breach(
            r#""correlation_id":"0b7d8c9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e","#,
            "",
        );
        assert!(
            missing
                .to_string()
                .contains("missing field `correlation_id`"),
            "{missing}"
        );
        let null = ENVELOPE.replace(r#""0b7d8c9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e""#, "null");
        let event = ReceivedEvent::decode(parts(&null)).unwrap();
        assert_eq!(event.correlation_id(), None);
    }

    #[test]
    fn an_event_type_not_of_dotted_lowercase_names_is_refused() {
        for event_type in [
            "Orchestrator.orchestration.completed",
            "orchestrator",
            "orchestrator..completed",
            "orchestrator.orchestration-x.completed",
            "orchestrator.orchestration.completed.",
        ] {
            let reason = breach("orchestrator.orchestration.completed", event_type);
            names(&reason, "event_type");
            assert!(reason.to_string().contains("dot-separated"), "{reason}");
        }
        // Escaped, the same text is the same event type.
        let escaped = ENVELOPE.replace(
            "orchestrator.orchestration.completed",
            r"orchestrator\u002eorchestration.completed",
        );
        let event = ReceivedEvent::decode(parts(&escaped)).unwrap();
        assert_eq!(event.event_type(), "orchestrator.orchestration.completed");
    }

    #[test]
    fn a_timestamp_not_rfc3339_in_utc_is_refused() {
        for timestamp in [
            "2026-11-30T12:00:00.000000+01:00",
            "2026-11-30 12:00:00.000000Z",
            "2026-11-30T12:00:00.000000",
            "2026-02-30T12:00:00.000000Z",
            "2026-11-30T25:00:00.000000Z",
            "yesterday",
        ] {
            let reason = breach("2026-11-30T12:00:00.000000Z", timestamp);
            names(&reason, "event_timestamp");
            assert!(reason.to_string().contains("RFC 3339"), "{reason}");
        }
        let plus_zero = ENVELOPE.replace("12:00:00.000000Z", "12:00:00+00:00");
        assert!(ReceivedEvent::decode(parts(&plus_zero)).is_ok());
    }

    #[test]
    fn an_empty_or_malformed_source_node_id_is_refused() {
        names(&breach(r#""orch\"1""#, r#""""#), "source_node_id");
        names(&breach(r#""orch\"1""#, "null"), "source_node_id");
        // A raw control character is not JSON text.
        names(&breach(r#""orch\"1""#, "\"orch\u{1}1\""), "source_node_id");
        let mut not_utf8 = ENVELOPE.as_bytes().to_vec();
        not_utf8[ENVELOPE.find("orch\\\"1").unwrap()] = 0xff;
        let reason = ReceivedEvent::decode(RecordParts {
            value: not_utf8,
            ..RecordParts::default()
        })
        .unwrap_err();
        names(&reason, "source_node_id");
    }

    #[test]
    fn a_payload_or_metadata_that_is_not_an_object_is_refused() {
        let payload = r#"{"operation":"orchestration","execution_time_ms":1.5}"#;
        let metadata = ENVELOPE.find(r#""metadata":"#).unwrap() + r#""metadata":"#.len();
        for not_object in ["[1]", "\"x\"", "null", "1"] {
            names(&breach(payload, not_object), "payload");
            let value = format!("{}{not_object}}}", &ENVELOPE[..metadata]);
            let reason = ReceivedEvent::decode(parts(&value)).unwrap_err();
            names(&reason, "metadata");
        }
    }

    #[test]
    fn metadata_is_checked_as_json_text() {
        let mut not_utf8 = ENVELOPE.as_bytes().to_vec();
        not_utf8[ENVELOPE.find(r#""orchestrator","causation"#).unwrap() + 1] = 0xff;
        let reason = ReceivedEvent::decode(RecordParts {
            value: not_utf8,
            ..RecordParts::default()
        })
        .unwrap_err();
        names(&reason, "metadata");
        let control = breach(
            r#""node_type":"orchestrator""#,
            "\"node_type\":\"orch\u{7}\"",
        );
        names(&control, "metadata");
    }

    #[test]
    fn a_field_the_contract_does_not_have_is_refused() {
        let reason = breach(
            r#""envelope_version":"1.0","#,
            r#""envelope_version":"1.0","causation_id":null,"#,
        );
        assert!(
            matches!(reason, MalformedEvent::NotAnEnvelope(_)),
            "{reason}"
        );
        assert!(
            reason.to_string().contains("unknown field `causation_id`"),
            "{reason}"
        );
    }

    #[test]
    fn a_value_of_the_wrong_json_type_names_its_field() {
        let reason = breach(r#""envelope_version":"1.0""#, r#""envelope_version":1.0"#);
        names(&reason, "envelope_version");
        assert!(reason.to_string().contains("invalid type"), "{reason}");
    }
}
