//! Typed payloads of the five standard events, serialized to the minimum
//! contract of `contracts/lifecycle-payloads.schema.json` and more, and of
//! declared events.
//!
//! Privacy by default: `input` and `result` hold a *summary* (argument names
//! and declared types, the result's type) unless the user opted a value in
//! with `fields(..)` or `ret`.

use crate::finite::Finite;
use crate::panic_message::panic_message;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::error::Error as StdError;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An argument of an operation as declared in its signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgSpec {
    /// The argument's name.
    pub name: &'static str,
    /// The argument's type as written in the signature, e.g. `Vec<u8>`.
    pub ty: &'static str,
}

/// A value the user opted in, already serialized to JSON.
#[derive(Clone, Debug)]
pub enum Captured {
    /// The value's JSON text.
    Value(Box<RawValue>),
    /// The value could not be serialized: the serde error message,
    /// `not a finite number: NaN` (or `inf`, `-inf`), or
    /// `serialization panicked: <panic message>`. Events carry it as
    /// `"value_error"`.
    Error(String),
}

impl Captured {
    /// Serializes `value` with serde. An error is kept, never raised, and
    /// so is a panic of `value`'s `Serialize`: the panic is caught and
    /// becomes [`Captured::Error`], so an operation with `fields(..)` or
    /// `ret` still runs its body and returns what the body returned.
    ///
    /// JSON has no NaN or infinity, and `serde_json` would write them as
    /// `null`, a value that says nothing went wrong. A NaN or infinite
    /// `f32`/`f64` anywhere in `value` is an error instead, like any other
    /// that serialization reports: the event carries
    /// `"value_error": "not a finite number: NaN"` (or `inf`, `-inf`) in
    /// place of the value, as `metric_recorded` refuses such a metric.
    ///
    /// A caught panic still goes through the panic hook: the default hook
    /// prints its message (and, with `RUST_BACKTRACE`, a backtrace) to
    /// stderr, as for any panic caught with `catch_unwind`. A `Serialize`
    /// that panics is a bug, and that is where it shows. With
    /// `panic = "abort"` nothing is caught and the process aborts, as with
    /// any panic. A `Serialize` that mutates interior state leaves `value`
    /// as the panic left it.
    ///
    /// ```
    /// use onex_events::Captured;
    ///
    /// struct Broken;
    /// impl serde::Serialize for Broken {
    ///     fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
    ///         panic!("no")
    ///     }
    /// }
    ///
    /// assert_eq!(Captured::of(&[1, 2]).json(), Some("[1,2]"));
    /// match Captured::of(&[1.5, f64::NAN]) {
    ///     Captured::Error(reason) => assert_eq!(reason, "not a finite number: NaN"),
    ///     Captured::Value(_) => unreachable!(),
    /// }
    /// match Captured::of(&Broken) {
    ///     Captured::Error(reason) => assert_eq!(reason, "serialization panicked: no"),
    ///     Captured::Value(_) => unreachable!(),
    /// }
    /// ```
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Self {
        // Unwinding costs nothing until a panic: the normal path is the
        // serialization alone.
        match catch_unwind(AssertUnwindSafe(|| {
            serde_json::value::to_raw_value(&Finite(value))
        })) {
            Ok(Ok(raw)) => Captured::Value(raw),
            Ok(Err(e)) => Captured::Error(e.to_string()),
            Err(payload) => Captured::Error(format!(
                "serialization panicked: {}",
                panic_message(&*payload)
            )),
        }
    }

    /// The captured JSON text, if serialization succeeded.
    pub fn json(&self) -> Option<&str> {
        match self {
            Captured::Value(raw) => Some(raw.get()),
            Captured::Error(_) => None,
        }
    }
}

/// Captures an opted-in argument or return value as [`Captured::of`] does.
/// The macros call it with the span of the argument (or of `ret`), so a type
/// that is not `Serialize` is reported there.
#[doc(hidden)]
pub fn capture<T: Serialize + ?Sized>(value: &T) -> Captured {
    Captured::of(value)
}

/// The `input` of a `started` event: every argument not skipped, by name,
/// with its declared type and, where opted in, its value.
///
/// Serializes as `{"<arg>": {"type": "<declared type>", "value": <json>?}}`.
#[derive(Clone, Debug, Default)]
pub struct Input {
    args: &'static [ArgSpec],
    values: Vec<(&'static str, Captured)>,
}

impl Input {
    /// A summary of `args`, with no values.
    pub const fn summary(args: &'static [ArgSpec]) -> Self {
        Input {
            args,
            values: Vec::new(),
        }
    }

    /// Adds the value of the argument `name`.
    #[must_use]
    pub fn value(mut self, name: &'static str, value: Captured) -> Self {
        self.values.push((name, value));
        self
    }

    /// The arguments summarized.
    pub fn args(&self) -> &'static [ArgSpec] {
        self.args
    }

    /// The value captured for `name`, if it was opted in.
    pub fn get(&self, name: &str) -> Option<&Captured> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

struct TypedValue<'a> {
    ty: &'a str,
    value: Option<&'a Captured>,
}

impl Serialize for TypedValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.ty)?;
        match self.value {
            Some(Captured::Value(raw)) => m.serialize_entry("value", raw)?,
            Some(Captured::Error(e)) => m.serialize_entry("value_error", e)?,
            None => {}
        }
        m.end()
    }
}

impl Serialize for Input {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.args.len()))?;
        for arg in self.args {
            let value = self.get(arg.name);
            m.serialize_entry(arg.name, &TypedValue { ty: arg.ty, value })?;
        }
        m.end()
    }
}

/// The `result` of a `completed` event: the type of the value returned (the
/// `Ok` type of a `Result`) and, with `ret`, the value.
#[derive(Clone, Debug)]
pub struct ResultSummary {
    /// `std::any::type_name` of the returned value.
    pub ty: &'static str,
    /// The value, if the user opted in with `ret`.
    pub value: Option<Captured>,
}

impl Serialize for ResultSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        TypedValue {
            ty: self.ty,
            value: self.value.as_ref(),
        }
        .serialize(s)
    }
}

/// Why an operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The operation returned `Err`.
    Error,
    /// The operation's body panicked; the panic propagated unchanged.
    Panic,
    /// The operation's future was dropped before it finished.
    Cancelled,
}

/// The `error` of a `failed` event.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorInfo {
    /// Error, panic or cancellation.
    pub kind: ErrorKind,
    /// The error's type name (`std::any::type_name`), `panic` or `cancelled`.
    pub error_type: Cow<'static, str>,
    /// The error's `Display` message, or the panic message.
    pub message: String,
    /// The `Display` of each `source()` in turn, outermost first.
    pub chain: Vec<String>,
}

impl ErrorInfo {
    /// Describes an error and its `source()` chain. A panic of their
    /// `Display` or `source()` is caught (as in [`Captured::of`]) and the
    /// message says so: `describing the error panicked: <panic message>`.
    pub fn from_error(error_type: &'static str, error: &(dyn StdError + 'static)) -> Self {
        Self::described(error_type, || {
            let mut chain = Vec::new();
            let mut next = error.source();
            while let Some(e) = next {
                chain.push(e.to_string());
                next = e.source();
            }
            ErrorInfo {
                kind: ErrorKind::Error,
                error_type: Cow::Borrowed(error_type),
                message: error.to_string(),
                chain,
            }
        })
    }

    /// Describes an error by the text `message` makes of it (its `Display`
    /// or `Debug`), catching a panic of it as [`ErrorInfo::from_error`] does.
    pub(crate) fn from_message_of(
        error_type: &'static str,
        message: impl FnOnce() -> String,
    ) -> Self {
        Self::described(error_type, || Self::from_message(error_type, message()))
    }

    fn described(error_type: &'static str, describe: impl FnOnce() -> Self) -> Self {
        catch_unwind(AssertUnwindSafe(describe)).unwrap_or_else(|payload| {
            Self::from_message(
                error_type,
                format!(
                    "describing the error panicked: {}",
                    panic_message(&*payload)
                ),
            )
        })
    }

    /// Describes an error known only by a message.
    pub fn from_message(error_type: &'static str, message: String) -> Self {
        ErrorInfo {
            kind: ErrorKind::Error,
            error_type: Cow::Borrowed(error_type),
            message,
            chain: Vec::new(),
        }
    }

    /// Describes a panic with its message.
    pub fn panic(message: String) -> Self {
        ErrorInfo {
            kind: ErrorKind::Panic,
            error_type: Cow::Borrowed("panic"),
            message,
            chain: Vec::new(),
        }
    }

    /// Describes a future dropped before it finished.
    pub fn cancelled() -> Self {
        ErrorInfo {
            kind: ErrorKind::Cancelled,
            error_type: Cow::Borrowed("cancelled"),
            message: "the operation's future was dropped before it finished".to_owned(),
            chain: Vec::new(),
        }
    }
}

/// The payload of an event.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Payload {
    /// `{node_type}.{operation}.started`
    Started {
        /// The operation's name.
        operation: &'static str,
        /// The arguments' summary and opted-in values.
        input: Input,
    },
    /// `{node_type}.{operation}.completed`
    Completed {
        /// The operation's name.
        operation: &'static str,
        /// Wall time from `started` to the end of the body, in milliseconds.
        execution_time_ms: f64,
        /// The result's summary and, where opted in, value.
        result: ResultSummary,
    },
    /// `{node_type}.{operation}.failed`
    Failed {
        /// The operation's name.
        operation: &'static str,
        /// Wall time from `started` to the failure, in milliseconds.
        execution_time_ms: f64,
        /// What went wrong.
        error: ErrorInfo,
    },
    /// `{node_type}.state.changed`
    StateChanged {
        /// The state before.
        old_state: String,
        /// The state after.
        new_state: String,
        /// Why it changed.
        transition_reason: String,
    },
    /// `{node_type}.metric.recorded`
    MetricRecorded {
        /// The metric's name.
        metric_name: String,
        /// Its value.
        metric_value: f64,
        /// Its unit, e.g. `ms`.
        metric_unit: String,
    },
    /// An event declared with `#[derive(OnexEvent)]`: the value's JSON.
    Declared(crate::typed::DeclaredPayload),
    /// `{node_type}.request.{name}`: the request's body, as the caller
    /// serialized it.
    Request(Box<RawValue>),
    /// `{node_type}.response.{name}`: the reply, or the responder's error.
    Response(crate::request::Reply),
    /// Any payload given as JSON, written as it is: what a tool or a test
    /// publishes for an event type it has no Rust type for (e.g.
    /// `onex-events publish`). With a lifecycle event type, the envelope's
    /// `metadata.operation` is the type's operation.
    Json(Box<RawValue>),
}

impl Payload {
    /// The declaration and id of a declared event's payload.
    pub fn declared(&self) -> Option<&crate::typed::DeclaredPayload> {
        match self {
            Payload::Declared(declared) => Some(declared),
            _ => None,
        }
    }

    /// The operation of a lifecycle payload.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Payload::Started { operation, .. }
            | Payload::Completed { operation, .. }
            | Payload::Failed { operation, .. } => Some(operation),
            _ => None,
        }
    }
}
