//! JSON Schemas of event payloads: the types the program declares
//! (`#[derive(OnexEvent)]`) or handles (`Incoming<T>`) that implement
//! `schemars::JsonSchema`, found at compile time and listed in a link-time
//! registry, and, with the `asyncapi` feature, the schemas of the envelope
//! and of the standard payloads (`contracts/`), with one lookup per event
//! type ([`payload_schema`]).

mod probe;
mod registry;

#[cfg(feature = "asyncapi")]
mod contract;
#[cfg(feature = "asyncapi")]
mod lookup;

#[doc(hidden)]
pub use self::probe::{HandlerProbe, NoSchema, Probe, ReplyProbe, ViaJsonSchema, ViaOkSchema};
#[doc(hidden)]
pub use self::registry::PAYLOAD_TYPES;
pub use self::registry::{payload_types, PayloadRole, PayloadType};

#[cfg(feature = "asyncapi")]
pub use self::contract::{envelope, headers, lifecycle_payload, response_payload};
#[cfg(feature = "asyncapi")]
pub use self::lookup::{envelope_schema, payload_schema, rebase_refs};
#[cfg(feature = "asyncapi")]
pub(crate) use self::lookup::{handled_schema, move_refs};
