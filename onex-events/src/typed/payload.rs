//! The payload of a declared event: the user's value as JSON, with the
//! declaration and id that go into the envelope's `metadata`.

use super::descriptor::EventDescriptor;
use serde::Serialize;
use serde_json::value::RawValue;

/// The payload of an event declared with `#[derive(OnexEvent)]`: the
/// value's JSON, which is the envelope's `payload` as it is. Its kind, the
/// kind's attributes and its id go into `metadata` (`event_kind`,
/// `aggregate_type`, `aggregate_id`, ..), so the envelope keeps its eight
/// keys and a handler decodes the payload straight into the type.
#[derive(Clone, Debug)]
pub struct DeclaredPayload {
    /// The declaration.
    pub descriptor: &'static EventDescriptor,
    /// The aggregate id (domain), resource id (audit) or key (other kinds),
    /// if any: the record key.
    pub id: Option<String>,
    /// The value's JSON, an object.
    pub data: Box<RawValue>,
}

impl Serialize for DeclaredPayload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}
