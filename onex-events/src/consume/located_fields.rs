//! The envelope's fields of a received record, held to the contract and
//! located in the record's value: ranges of it, or copies of the text the
//! JSON escaped.

use super::envelope_contract::{
    is_event_type, is_utc_timestamp, uuid as contract_uuid, EVENT_TYPE_RULE, OBJECT_RULE,
    SOURCE_NODE_RULE, TIMESTAMP_RULE, UUID_RULE,
};
use super::envelope_fields::{EnvelopeFields, JsonText};
use super::malformed_event::{breach, not_utf8, shape_breach, MalformedEvent};
use crate::envelope::ENVELOPE_VERSION;
use serde_json::value::RawValue;
use std::ops::Range;
use uuid::Uuid;

/// Where a text field of the envelope is: a range of the value, or a copy
/// for text the JSON escaped.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Text {
    At(Range<usize>),
    Unescaped(Box<str>),
}

/// The envelope's fields, located in the record's value.
#[derive(Debug, PartialEq)]
pub(super) struct Fields {
    pub event_id: Uuid,
    pub correlation_id: Option<Uuid>,
    pub event_type: Text,
    pub timestamp: Text,
    pub source_node_id: Text,
    pub payload: Range<usize>,
    /// The metadata object, where `causation_id` is found when asked.
    pub metadata: Range<usize>,
}

/// Where `payload`, read from `base`, is in it.
pub(super) fn payload_range(base: &[u8], payload: &RawValue) -> Range<usize> {
    range_of(base, payload.get().as_bytes())
}

/// Where `text` is: in `base`, or a checked copy.
fn locate(text: JsonText<'_>, base: &[u8], field: &'static str) -> Result<Text, MalformedEvent> {
    match text {
        JsonText::At(b) => Ok(Text::At(range_of(base, b))),
        JsonText::Unescaped(b) => String::from_utf8(b)
            .map(|s| Text::Unescaped(s.into_boxed_str()))
            .map_err(|_| not_utf8(field)),
    }
}

/// The UUID `text` holds in the contract's form.
fn uuid(text: &JsonText<'_>, field: &'static str) -> Result<Uuid, MalformedEvent> {
    contract_uuid(text.bytes()).ok_or_else(|| breach(field, UUID_RULE))
}

/// Where `part`, a slice of `base`, is in it.
fn range_of(base: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - base.as_ptr() as usize;
    start..start + part.len()
}

/// The fields of `envelope`, a value read from `base`, located, its
/// payload (lying at `payload` in `base`) given back.
pub(super) fn fields_of<P>(
    envelope: EnvelopeFields<'_, P>,
    payload: Range<usize>,
    base: &[u8],
) -> Result<(Fields, P), MalformedEvent> {
    let version = envelope.envelope_version.bytes();
    if version != ENVELOPE_VERSION.as_bytes() {
        return Err(MalformedEvent::Version(
            String::from_utf8_lossy(version).into_owned(),
        ));
    }
    let event_type = envelope.event_type.bytes();
    if !is_event_type(event_type) {
        return Err(shape_breach("event_type", event_type, EVENT_TYPE_RULE));
    }
    let timestamp = envelope.event_timestamp.bytes();
    if !is_utc_timestamp(timestamp) {
        return Err(shape_breach("event_timestamp", timestamp, TIMESTAMP_RULE));
    }
    if envelope.source_node_id.bytes().is_empty() {
        return Err(breach("source_node_id", SOURCE_NODE_RULE));
    }
    if base.get(payload.start) != Some(&b'{') {
        return Err(breach("payload", OBJECT_RULE));
    }
    if !envelope.metadata.starts_with('{') {
        return Err(breach("metadata", OBJECT_RULE));
    }
    let correlation_id = match &envelope.correlation_id {
        Some(text) => Some(uuid(text, "correlation_id")?),
        None => None,
    };
    let fields = Fields {
        event_id: uuid(&envelope.event_id, "event_id")?,
        correlation_id,
        event_type: locate(envelope.event_type, base, "event_type")?,
        timestamp: locate(envelope.event_timestamp, base, "event_timestamp")?,
        source_node_id: locate(envelope.source_node_id, base, "source_node_id")?,
        payload,
        metadata: range_of(base, envelope.metadata.as_bytes()),
    };
    Ok((fields, envelope.payload))
}
