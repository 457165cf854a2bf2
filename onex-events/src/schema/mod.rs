//! JSON Schemas of event payloads and record values: the envelope's and
//! the standard payloads' (`contracts/`), and, with the `asyncapi` feature,
//! those of the types the program declares (`#[derive(OnexEvent)]`),
//! handles (`Incoming<T>`) or replies with that implement
//! `schemars::JsonSchema`, found at compile time and listed in a link-time
//! registry; one lookup per event type ([`payload_schema`],
//! [`envelope_schema`]).

mod probe;
mod registry;

mod contract;
mod lookup;

#[doc(hidden)]
pub use self::probe::{HandlerProbe, NoSchema, Probe, ReplyProbe, ViaJsonSchema, ViaOkSchema};
#[doc(hidden)]
pub use self::registry::PAYLOAD_TYPES;
pub use self::registry::{payload_types, PayloadRole, PayloadType};

pub use self::contract::{envelope, headers, lifecycle_payload, response_payload};
pub use self::lookup::{envelope_schema, payload_schema, rebase_refs};
#[cfg(feature = "asyncapi")]
pub(crate) use self::lookup::{escape, handled_schema, move_refs};
