//! The link-time registry of payload types: one entry per
//! `#[derive(OnexEvent)]`, one per event type of each `#[onex_handler]`,
//! one per responder's reply and one per value an operation opts in
//! (`fields(..)`, `ret`), of nodes that are not generic; each with the
//! schema of its type when that type implements `schemars::JsonSchema`.

use serde_json::Value;

/// What a payload type is to the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadRole {
    /// The type of a declared event (`#[derive(OnexEvent)]`): what the
    /// program publishes.
    Declared,
    /// The `T` of a handler's `Incoming<T>`: what the program expects to
    /// receive.
    Consumed,
    /// The reply of a responder (the `Ok` type of a handler of a request
    /// type): the `reply` of the response it publishes.
    Response,
    /// The argument of this name of an operation, opted in with
    /// `fields(..)`: its `value` in the `input` of `started`.
    Argument(&'static str),
    /// An operation's returned value (the `Ok` of a `Result`), opted in
    /// with `ret`: the `value` in the `result` of `completed`.
    Returned,
}

/// A payload type of the program, for one event type.
#[derive(Debug, Clone, Copy)]
pub struct PayloadType {
    /// The event type, e.g. `user.created`.
    pub event_type: &'static str,
    /// Declared, consumed or a response's reply.
    pub role: PayloadRole,
    /// The Rust type as written, e.g. `Incoming<ValidateCode>` (a
    /// responder's return type for a reply).
    pub rust_type: &'static str,
    schema: fn() -> Option<Value>,
}

impl PayloadType {
    #[doc(hidden)]
    pub const fn new(
        event_type: &'static str,
        role: PayloadRole,
        rust_type: &'static str,
        schema: fn() -> Option<Value>,
    ) -> Self {
        PayloadType {
            event_type,
            role,
            rust_type,
            schema,
        }
    }

    /// The type's JSON Schema (draft 7, a root schema with its own
    /// `definitions`), if it implements `schemars::JsonSchema` and the
    /// `asyncapi` feature is on; `None` for a type that accepts any JSON.
    pub fn schema(&self) -> Option<Value> {
        (self.schema)()
    }
}

/// One entry per payload type the macros saw.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static PAYLOAD_TYPES: [PayloadType];

/// Every payload type of the program, sorted by event type, declared
/// first.
///
/// ```
/// for t in onex_events::schema::payload_types() {
///     println!("{} {:?} {}", t.event_type, t.role, t.rust_type);
/// }
/// ```
pub fn payload_types() -> Vec<&'static PayloadType> {
    let mut all: Vec<&'static PayloadType> = PAYLOAD_TYPES.iter().collect();
    all.sort_by_key(|t| (t.event_type, t.role != PayloadRole::Declared, t.rust_type));
    all
}
