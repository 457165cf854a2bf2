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

/// A `PAYLOAD_TYPES` entry: `$event_type` (a `&'static str` expression) has
/// payloads of type `$ty` in role `$role`, its schema asked of
/// `$probe::<$ty>` (see `schema::probe`). What the macros write for
/// declared events, handlers and replies.
#[doc(hidden)]
#[macro_export]
macro_rules! __onex_payload_type {
    ($event_type:expr, $role:ident $(($arg:literal))?, $probe:ident, $ty:ty) => {
        const _: () = {
            #[$crate::__private::linkme::distributed_slice($crate::__private::PAYLOAD_TYPES)]
            #[linkme(crate = $crate::__private::linkme)]
            static __ONEX_PAYLOAD_TYPE: $crate::__private::PayloadType =
                $crate::__private::PayloadType::new(
                    $event_type,
                    $crate::__private::PayloadRole::$role $(($arg))?,
                    $crate::__private::core::stringify!($ty),
                    || {
                        #[allow(unused_imports)]
                        use $crate::__private::{NoSchema as _, ViaJsonSchema as _, ViaOkSchema as _};
                        #[allow(clippy::needless_borrow)]
                        (&&&$crate::__private::$probe::<$ty>::new()).__onex_schema()
                    },
                );
        };
    };
}

/// The entries of an operation's opted-in values, written in its body
/// next to its descriptor `__ONEX_OPERATION`: `"arg": Type` for each
/// argument in `fields(..)`, then `; Type` with `ret` (its return type).
#[doc(hidden)]
#[macro_export]
macro_rules! __onex_operation_values {
    ($($arg:literal : $ty:ty),* ; $($ret:ty)?) => {
        $($crate::__onex_payload_type!(__ONEX_OPERATION.started.as_str(), Argument($arg), Probe, $ty);)*
        $($crate::__onex_payload_type!(__ONEX_OPERATION.completed.as_str(), Returned, ReplyProbe, $ret);)?
    };
}
