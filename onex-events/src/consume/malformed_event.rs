//! Why a received record is not an OnexEnvelopeV1 event: the reason its
//! dead letter carries.

use super::envelope_fields::EnvelopeError;
use super::received_record::ReceivedRecord;
use crate::envelope::ENVELOPE_VERSION;
use std::borrow::Cow;

/// Why a record is not an OnexEnvelopeV1 event, as
/// `contracts/onex-envelope-v1.schema.json` defines it. Such a record goes
/// to the dead-letter topic at once, with this as its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedEvent {
    /// The record has no value.
    #[error("the record has no value")]
    Empty,
    /// The value is not JSON, or not an envelope: not an object, a field
    /// missing, given twice or not one of the envelope's.
    #[error("not an OnexEnvelopeV1: {0}")]
    NotAnEnvelope(String),
    /// A field's value breaks the envelope contract: its JSON type, or the
    /// shape the contract gives it (UUID, event type, UTC timestamp, …).
    #[error("{field} {rule}")]
    Field {
        /// The field, as named in the envelope.
        field: &'static str,
        /// What is wrong with it, e.g. `is not a UUID in lowercase
        /// hyphenated form (8-4-4-4-12 hex digits)`.
        rule: Cow<'static, str>,
    },
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

/// `field` breaks `rule`.
pub(super) fn breach(field: &'static str, rule: &'static str) -> MalformedEvent {
    MalformedEvent::Field {
        field,
        rule: Cow::Borrowed(rule),
    }
}

/// `field`, of bytes that failed its ASCII shape, breaks `rule`, or is not
/// even UTF-8.
pub(super) fn shape_breach(field: &'static str, text: &[u8], rule: &'static str) -> MalformedEvent {
    match std::str::from_utf8(text) {
        Ok(_) => breach(field, rule),
        Err(_) => not_utf8(field),
    }
}

/// `field` is not UTF-8.
pub(super) fn not_utf8(field: &'static str) -> MalformedEvent {
    breach(field, "is not UTF-8")
}

impl From<EnvelopeError> for MalformedEvent {
    fn from(EnvelopeError { field, error }: EnvelopeError) -> Self {
        match field {
            Some(field) => MalformedEvent::Field {
                field,
                rule: Cow::Owned(format!("is invalid: {error}")),
            },
            None => MalformedEvent::NotAnEnvelope(error.to_string()),
        }
    }
}
