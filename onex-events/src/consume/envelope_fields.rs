//! The envelope's fields as a consumer reads them off the wire, in one
//! pass: text as bytes (checked as UTF-8 only where it is used), keys
//! matched as bytes, unknown fields skipped unread, the payload located.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::marker::PhantomData;

/// The fields of an OnexEnvelopeV1 a consumer reads.
pub(super) struct EnvelopeFields<'a> {
    pub envelope_version: JsonText<'a>,
    pub event_id: JsonText<'a>,
    pub event_type: JsonText<'a>,
    pub event_timestamp: JsonText<'a>,
    pub source_node_id: JsonText<'a>,
    pub correlation_id: Option<JsonText<'a>>,
    pub payload: &'a RawValue,
    /// Located only: read when a handler asks for what it holds.
    pub metadata: &'a RawValue,
}

/// A JSON string as bytes: borrowed from the value when it has no escapes,
/// else unescaped into a copy. Not checked as UTF-8.
pub(super) enum JsonText<'a> {
    At(&'a [u8]),
    Unescaped(Vec<u8>),
}

impl JsonText<'_> {
    /// The text's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            JsonText::At(b) => b,
            JsonText::Unescaped(b) => b,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde_json gives a string's bytes without checking them as UTF-8.
        deserializer.deserialize_bytes(TextVisitor(PhantomData))
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = JsonText<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        Ok(JsonText::At(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(JsonText::Unescaped(v.to_vec()))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(JsonText::At(v.as_bytes()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(JsonText::Unescaped(v.as_bytes().to_vec()))
    }
}

/// Fills `slot` once: a field given twice is an error, as serde's derive
/// makes it.
fn once<T, E: de::Error>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), E> {
    match slot {
        Some(_) => Err(E::duplicate_field(name)),
        None => {
            *slot = Some(value);
            Ok(())
        }
    }
}

fn required<T, E: de::Error>(slot: Option<T>, name: &'static str) -> Result<T, E> {
    slot.ok_or_else(|| E::missing_field(name))
}

impl<'de: 'a, 'a> Deserialize<'de> for EnvelopeFields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor(PhantomData))
    }
}

struct EnvelopeVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for EnvelopeVisitor<'a> {
    type Value = EnvelopeFields<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an OnexEnvelopeV1 object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut version, mut event_id, mut event_type, mut timestamp) = (None, None, None, None);
        let (mut source, mut correlation, mut payload, mut metadata) = (None, None, None, None);
        while let Some(key) = map.next_key::<JsonText<'a>>()? {
            match key.bytes() {
                b"envelope_version" => once(&mut version, "envelope_version", map.next_value()?)?,
                b"event_id" => once(&mut event_id, "event_id", map.next_value()?)?,
                b"event_type" => once(&mut event_type, "event_type", map.next_value()?)?,
                b"event_timestamp" => once(&mut timestamp, "event_timestamp", map.next_value()?)?,
                b"source_node_id" => once(&mut source, "source_node_id", map.next_value()?)?,
                b"correlation_id" => once(&mut correlation, "correlation_id", map.next_value()?)?,
                b"payload" => once(&mut payload, "payload", map.next_value::<&'a RawValue>()?)?,
                b"metadata" => once(&mut metadata, "metadata", map.next_value::<&'a RawValue>()?)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(EnvelopeFields {
            envelope_version: required(version, "envelope_version")?,
            event_id: required(event_id, "event_id")?,
            event_type: required(event_type, "event_type")?,
            event_timestamp: required(timestamp, "event_timestamp")?,
            source_node_id: required(source, "source_node_id")?,
            correlation_id: correlation.flatten(),
            payload: required(payload, "payload")?,
            metadata: required(metadata, "metadata")?,
        })
    }
}

/// Of `metadata`, what a received event tells, read when asked.
pub(super) struct MetadataFields<'a> {
    pub causation_id: Option<JsonText<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for MetadataFields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MetadataVisitor(PhantomData))
    }
}

struct MetadataVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for MetadataVisitor<'a> {
    type Value = MetadataFields<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the envelope's metadata object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut causation: Option<Option<JsonText<'a>>> = None;
        while let Some(key) = map.next_key::<JsonText<'a>>()? {
            match key.bytes() {
                b"causation_id" => once(&mut causation, "causation_id", map.next_value()?)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(MetadataFields {
            causation_id: causation.flatten(),
        })
    }
}
