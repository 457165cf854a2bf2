//! The payload type a handler takes, decoded in the same pass as the
//! envelope: a consumer whose handlers all take one type reads each
//! record's payload once, not as JSON first and then again for the handler.

use super::canonical_envelope;
use super::envelope_fields::EnvelopeFields;
use super::located_fields::{fields_of, Fields};
use serde::de::DeserializeOwned;
use std::any::{Any, TypeId};
use std::fmt;

/// A payload decoded for a handler, waiting to be taken.
pub(super) type DecodedPayload = Box<dyn Any + Send>;

/// An envelope read with its payload decoded: `None` if either fails.
type Read = fn(&str) -> Option<(Fields, DecodedPayload)>;

/// How a consumer decodes the payload type `T` of a handler's
/// [`Incoming<T>`](super::Incoming) while it reads the envelope.
/// `#[onex_node]` gives one per handler ([`HandlerSpec::payload`](super::HandlerSpec)).
#[derive(Clone, Copy)]
pub struct PayloadDecoder {
    type_id: fn() -> TypeId,
    type_name: fn() -> &'static str,
    read: Read,
}

impl PayloadDecoder {
    /// The decoder of `T`.
    pub const fn of<T: DeserializeOwned + Send + 'static>() -> Self {
        PayloadDecoder {
            type_id: TypeId::of::<T>,
            type_name: std::any::type_name::<T>,
            read: read_as::<T>,
        }
    }

    /// The envelope in `text` with its payload decoded; `None` if either
    /// fails (the caller reads it again as JSON, to say why).
    pub(super) fn read(&self, text: &str) -> Option<(Fields, DecodedPayload)> {
        (self.read)(text)
    }
}

fn read_as<T: DeserializeOwned + Send + 'static>(text: &str) -> Option<(Fields, DecodedPayload)> {
    if let Some((fields, decoded)) = canonical_envelope::located::<T>(text) {
        return Some((fields, Box::new(decoded)));
    }
    let envelope = EnvelopeFields::<T>::read(text).ok()?;
    let value = text.as_bytes();
    let payload = envelope.payload_bounds.range(value)?;
    let (fields, decoded) = fields_of(envelope, payload, value).ok()?;
    Some((fields, Box::new(decoded)))
}

impl PartialEq for PayloadDecoder {
    fn eq(&self, other: &Self) -> bool {
        (self.type_id)() == (other.type_id)()
    }
}

impl Eq for PayloadDecoder {}

impl fmt::Debug for PayloadDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PayloadDecoder<{}>", (self.type_name)())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consume::{MalformedEvent, ReceivedEvent, RecordParts};

    const ENVELOPE: &str = r#"{"envelope_version":"1.0","event_id":"6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b","event_type":"orchestrator.state.changed","event_timestamp":"2026-11-30T12:00:00.000000Z","source_node_id":"orch-1","correlation_id":null,"payload":{"old_state":"a","new_state":"b"},"metadata":{"node_type":"orchestrator"}}"#;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct StateChange {
        old_state: String,
        new_state: String,
    }

    fn read(value: &str, decoder: Option<PayloadDecoder>) -> Result<ReceivedEvent, MalformedEvent> {
        let parts = RecordParts {
            value: value.as_bytes().to_vec(),
            ..RecordParts::default()
        };
        ReceivedEvent::try_decode_as(parts.into(), decoder).map_err(|u| u.reason)
    }

    /// `ENVELOPE` laid out otherwise: spaces, the payload last or first,
    /// escaped keys around it.
    fn layouts() -> Vec<String> {
        let payload = r#""payload":{"old_state":"a","new_state":"b"},"#;
        let without = ENVELOPE.replace(payload, "");
        vec![
            ENVELOPE.to_owned(),
            ENVELOPE
                .replace(r#""payload":{"#, "\"payload\" :\n\t {")
                .replace(r#""b"},"metadata""#, "\"b\"} \r\n , \"metadata\""),
            format!(
                "{}, {} }} ",
                &without[..without.len() - 1],
                &payload[..payload.len() - 1]
            ),
            format!("{{{payload}{}", &without[1..]),
            ENVELOPE.replace(r#""metadata""#, r#""meta\u0064ata""#),
            ENVELOPE.replace(r#""payload""#, r#""p\u0061yload""#),
            ENVELOPE
                .replace("\"a\"", "\"\\u00e9\\n\"")
                .replace("orch-1", "orch-é"),
        ]
    }

    #[test]
    fn a_payload_decoded_with_the_envelope_is_the_payload_read_as_json() {
        let decoder = Some(PayloadDecoder::of::<StateChange>());
        for value in layouts() {
            let plain = read(&value, None).unwrap();
            let typed = read(&value, decoder).unwrap();
            assert_eq!(typed.payload_json(), plain.payload_json(), "{value}");
            assert_eq!(typed.event_id(), plain.event_id());
            assert_eq!(typed.source_node_id(), plain.source_node_id());
            let json: StateChange = serde_json::from_str(plain.payload_json()).unwrap();
            let taken = typed.take_payload::<StateChange>();
            // Escaped keys around the payload hide where it lies: then
            // it is read as JSON alone.
            if !value.contains(r"\u0064") && !value.contains(r"\u0061") {
                assert_eq!(taken.as_ref(), Some(&json), "{value}");
            }
            assert_eq!(typed.take_payload::<StateChange>(), None, "taken once");
        }
    }

    #[test]
    fn a_payload_not_of_the_type_is_left_for_its_handler() {
        let other = ENVELOPE.replace(r#"{"old_state":"a","new_state":"b"}"#, r#"{"n":1}"#);
        let event = read(&other, Some(PayloadDecoder::of::<StateChange>())).unwrap();
        assert_eq!(event.take_payload::<StateChange>(), None);
        assert_eq!(event.payload_json(), r#"{"n":1}"#);
        // A struct decodes from an array too: the payload is still refused.
        let array = ENVELOPE.replace(r#"{"old_state":"a","new_state":"b"}"#, r#"["a","b"]"#);
        let reason = read(&array, Some(PayloadDecoder::of::<StateChange>())).unwrap_err();
        assert_eq!(reason, read(&array, None).unwrap_err());
        assert!(reason.to_string().starts_with("payload"), "{reason}");
    }

    #[test]
    fn a_malformed_envelope_is_refused_for_the_same_reason_with_a_decoder() {
        let decoder = Some(PayloadDecoder::of::<StateChange>());
        for bad in [
            ENVELOPE.replace("6f1f2c3e-8d7a", "6F1F2C3E-8D7A"),
            ENVELOPE.replace(r#""1.0""#, r#""2.0""#),
            ENVELOPE.replace(r#","metadata":{"node_type":"orchestrator"}"#, ""),
            ENVELOPE.replace(r#"{"node_type":"orchestrator"}"#, "[1]"),
            format!("{ENVELOPE} x"),
            ENVELOPE.replace("orch-1", "orch\u{1}"),
        ] {
            assert_eq!(
                read(&bad, decoder).unwrap_err(),
                read(&bad, None).unwrap_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn decoders_are_equal_when_their_types_are() {
        assert_eq!(
            PayloadDecoder::of::<StateChange>(),
            PayloadDecoder::of::<StateChange>()
        );
        assert_ne!(
            PayloadDecoder::of::<StateChange>(),
            PayloadDecoder::of::<serde_json::Value>()
        );
        assert!(format!("{:?}", PayloadDecoder::of::<StateChange>()).contains("StateChange"));
    }
}
