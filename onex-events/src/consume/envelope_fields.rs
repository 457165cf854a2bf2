//! The envelope's fields as a consumer reads them off the wire, in one
//! pass: keys matched as bytes, a field the contract does not have
//! refused, the payload located (or decoded as its handler's type). A
//! value known to be UTF-8 is read as text, so serde does not check its
//! strings as UTF-8 again; its free text (source node id) is checked for
//! raw control characters, the rest being held to ASCII shapes after. A
//! value that is not UTF-8 is read only to tell which field is not.

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

/// The envelope's top-level keys: all required, no other allowed.
const FIELDS: &[&str] = &[
    "envelope_version",
    "event_id",
    "event_type",
    "event_timestamp",
    "source_node_id",
    "correlation_id",
    "payload",
    "metadata",
];

/// The fields of an OnexEnvelopeV1 a consumer reads, the payload as `P`:
/// raw JSON, or decoded in the same pass.
pub(super) struct EnvelopeFields<'a, P = &'a RawValue> {
    pub envelope_version: JsonText<'a>,
    pub event_id: JsonText<'a>,
    pub event_type: JsonText<'a>,
    pub event_timestamp: JsonText<'a>,
    pub source_node_id: JsonText<'a>,
    /// `None`: `null`.
    pub correlation_id: Option<JsonText<'a>>,
    pub payload: P,
    /// Where the payload's value lies, told by the keys around it.
    pub payload_bounds: PayloadBounds<'a>,
    /// The metadata's JSON text (checked as JSON), where `causation_id` is
    /// found when asked ([`causation_in`]).
    pub metadata: &'a str,
}

/// The keys around the payload's value, as they lie in the envelope.
pub(super) struct PayloadBounds<'a> {
    /// The key `payload` (`None`: escaped, so not where its text is).
    pub key: Option<&'a [u8]>,
    /// What follows the payload's value.
    pub after: AfterPayload<'a>,
}

impl PayloadBounds<'_> {
    /// Where the payload's value lies in `base`, the envelope's JSON (read
    /// whole, so valid): `None` if a key around it has an escape.
    pub fn range(&self, base: &[u8]) -> Option<Range<usize>> {
        let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        let offset = |part: &[u8]| part.as_ptr() as usize - base.as_ptr() as usize;
        // After the key's closing quote: spaces, `:`, spaces.
        let colon_from = offset(self.key?) + self.key?.len() + 1;
        let colon = colon_from + base.get(colon_from..)?.iter().position(|b| !is_space(b))?;
        let value_from = colon + 1;
        let start = value_from + base.get(value_from..)?.iter().position(|b| !is_space(b))?;
        // Before the next key's opening quote (or the end): spaces, `,`
        // (or the envelope's `}`), spaces.
        let (head, separator) = match self.after {
            AfterPayload::Key(next) => (base.get(..offset(next).checked_sub(1)?)?, b','),
            AfterPayload::End => (base, b'}'),
            AfterPayload::EscapedKey => return None,
        };
        let separator_at = head.iter().rposition(|b| !is_space(b))?;
        let end = head
            .get(..separator_at)?
            .iter()
            .rposition(|b| !is_space(b))?
            + 1;
        (base[colon] == b':' && head[separator_at] == separator && start < end)
            .then_some(start..end)
    }
}

/// What follows the payload's value in the envelope.
#[derive(Clone, Copy)]
pub(super) enum AfterPayload<'a> {
    /// The key lying here.
    Key(&'a [u8]),
    /// A key with an escape: not where its text is.
    EscapedKey,
    /// The object's end.
    End,
}

/// `metadata.causation_id` in `metadata`, the metadata object of an
/// envelope read (`None`: absent or not a string).
pub(super) fn causation_in(metadata: &[u8]) -> Option<JsonText<'_>> {
    let mut deserializer = serde_json::Deserializer::from_slice(metadata);
    deserializer
        .deserialize_map(CausationInMetadata(PhantomData))
        .ok()?
}

/// A JSON string as bytes: borrowed from the value when it has no escapes,
/// else unescaped into a copy. Not checked as UTF-8, nor for raw control
/// characters, unless read as [`CheckedText`].
pub(super) enum JsonText<'a> {
    At(&'a [u8]),
    Unescaped(Vec<u8>),
}

impl<'a> JsonText<'a> {
    /// The text's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            JsonText::At(b) => b,
            JsonText::Unescaped(b) => b,
        }
    }

    /// The text where it lies in the value, if it has no escape.
    fn at(&self) -> Option<&'a [u8]> {
        match self {
            JsonText::At(b) => Some(b),
            JsonText::Unescaped(_) => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // serde_json gives a string's bytes without checking them as UTF-8.
        deserializer.deserialize_bytes(TextVisitor(PhantomData))
    }
}

/// A JSON string read as a [`JsonText`] checked as JSON text: UTF-8, no
/// raw control character.
struct CheckedText<'a>(JsonText<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for CheckedText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_str(TextVisitor(PhantomData))
            .map(CheckedText)
    }
}

/// `metadata.causation_id`: its text if a string (checked as JSON text),
/// else `None` (the contract lets metadata hold anything).
struct CausationSeed<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> DeserializeSeed<'de> for CausationSeed<'a> {
    type Value = Option<JsonText<'a>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for CausationSeed<'a> {
    type Value = Option<JsonText<'a>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(JsonText::At(v.as_bytes())))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(JsonText::Unescaped(v.as_bytes().to_vec())))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
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

/// Why a value is not an envelope: the error, and the field whose value
/// was being read when it came (`None`: the object itself).
pub(super) struct EnvelopeError {
    pub field: Option<&'static str>,
    pub error: serde_json::Error,
}

impl<'a, P: Deserialize<'a>> EnvelopeFields<'a, P> {
    /// Reads the envelope in `text`, a whole JSON document, its payload as
    /// `P`, whatever its layout. Text known to be UTF-8 is not checked as
    /// such again; its free text is checked for raw control characters.
    pub fn read(text: &'a str) -> Result<Self, EnvelopeError> {
        Self::read_from(serde_json::Deserializer::from_str(text))
    }

    /// Reads the envelope in `value`, which is not UTF-8: to tell where
    /// (its text checked as it is read).
    pub fn read_bytes(value: &'a [u8]) -> Result<Self, EnvelopeError> {
        Self::read_from(serde_json::Deserializer::from_slice(value))
    }

    fn read_from<R: serde_json::de::Read<'a>>(
        mut deserializer: serde_json::Deserializer<R>,
    ) -> Result<Self, EnvelopeError> {
        let reading = Cell::new(None);
        deserializer
            .deserialize_map(EnvelopeVisitor {
                reading: &reading,
                payload: PhantomData,
            })
            .and_then(|fields| deserializer.end().map(|()| fields))
            .map_err(|error| EnvelopeError {
                field: reading.get(),
                error,
            })
    }
}

struct EnvelopeVisitor<'r, 'a, P> {
    /// The field whose value is being read.
    reading: &'r Cell<Option<&'static str>>,
    /// The value's lifetime, and how the payload is read.
    payload: PhantomData<(&'a (), P)>,
}

impl<P> EnvelopeVisitor<'_, '_, P> {
    /// The value of `field`, read with `field` marked as the one being read.
    fn value<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
        &self,
        map: &mut A,
        field: &'static str,
    ) -> Result<T, A::Error> {
        self.value_seed(map, field, PhantomData)
    }

    /// [`EnvelopeVisitor::value`] through `seed`.
    fn value_seed<'de, S: DeserializeSeed<'de>, A: MapAccess<'de>>(
        &self,
        map: &mut A,
        field: &'static str,
        seed: S,
    ) -> Result<S::Value, A::Error> {
        self.reading.set(Some(field));
        let value = map.next_value_seed(seed)?;
        self.reading.set(None);
        Ok(value)
    }
}

impl<'de: 'a, 'a, P: Deserialize<'de>> Visitor<'de> for EnvelopeVisitor<'_, 'a, P> {
    type Value = EnvelopeFields<'a, P>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an OnexEnvelopeV1 object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut version, mut event_id, mut event_type, mut timestamp) = (None, None, None, None);
        let (mut source, mut correlation, mut payload, mut metadata) = (None, None, None, None);
        let (mut payload_key, mut after_payload) = (None, None);
        // Keys read as checked text: serde's scan for a short string's end
        // is quicker so, and a key is JSON text like any other.
        while let Some(CheckedText(key)) = map.next_key::<CheckedText<'a>>()? {
            if payload.is_some() && after_payload.is_none() {
                after_payload = Some(match key.at() {
                    Some(at) => AfterPayload::Key(at),
                    None => AfterPayload::EscapedKey,
                });
            }
            match key.bytes() {
                b"envelope_version" => once(
                    &mut version,
                    "envelope_version",
                    self.value(&mut map, "envelope_version")?,
                )?,
                b"event_id" => once(&mut event_id, "event_id", self.value(&mut map, "event_id")?)?,
                b"event_type" => once(
                    &mut event_type,
                    "event_type",
                    self.value(&mut map, "event_type")?,
                )?,
                b"event_timestamp" => once(
                    &mut timestamp,
                    "event_timestamp",
                    self.value(&mut map, "event_timestamp")?,
                )?,
                b"source_node_id" => once(
                    &mut source,
                    "source_node_id",
                    self.value::<CheckedText<'a>, _>(&mut map, "source_node_id")?
                        .0,
                )?,
                b"correlation_id" => once(
                    &mut correlation,
                    "correlation_id",
                    self.value(&mut map, "correlation_id")?,
                )?,
                b"payload" => {
                    payload_key = key.at();
                    once(
                        &mut payload,
                        "payload",
                        self.value::<P, _>(&mut map, "payload")?,
                    )?
                }
                b"metadata" => once(
                    &mut metadata,
                    "metadata",
                    self.value::<&'a RawValue, _>(&mut map, "metadata")?.get(),
                )?,
                other => {
                    return Err(de::Error::unknown_field(
                        &String::from_utf8_lossy(other),
                        FIELDS,
                    ))
                }
            }
        }
        Ok(EnvelopeFields {
            envelope_version: required(version, "envelope_version")?,
            event_id: required(event_id, "event_id")?,
            event_type: required(event_type, "event_type")?,
            event_timestamp: required(timestamp, "event_timestamp")?,
            source_node_id: required(source, "source_node_id")?,
            correlation_id: required(correlation, "correlation_id")?,
            payload: required(payload, "payload")?,
            payload_bounds: PayloadBounds {
                key: payload_key,
                after: after_payload.unwrap_or(AfterPayload::End),
            },
            metadata: required(metadata, "metadata")?,
        })
    }
}

/// Finds `causation_id` in a metadata object: its text if a string,
/// else `None`; the other values skipped.
struct CausationInMetadata<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for CausationInMetadata<'a> {
    type Value = Option<JsonText<'a>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the envelope's metadata object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut causation = None;
        while let Some(key) = map.next_key::<JsonText<'a>>()? {
            match key.bytes() {
                b"causation_id" => once(
                    &mut causation,
                    "causation_id",
                    map.next_value_seed(CausationSeed(PhantomData))?,
                )?,
                _ => map.next_value::<IgnoredAny>().map(drop)?,
            }
        }
        Ok(causation.flatten())
    }
}
