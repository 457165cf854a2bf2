//! Whether a type implements `schemars::JsonSchema`, asked at compile time
//! without requiring it: the macros call
//! `(&&Probe::<T>::new()).__onex_schema()` with the traits in scope, and
//! method resolution picks [`ViaJsonSchema`] where `T: JsonSchema` (and the
//! `asyncapi` feature is on), [`NoSchema`] otherwise. A responder's return
//! type is asked one level deeper, `(&&&ReplyProbe::<R>::new())`, so that
//! the `Ok` type of a `Result` comes first ([`ViaOkSchema`]).

use serde_json::Value;
use std::marker::PhantomData;

/// A declared event's (or any value's) type, `T`.
pub struct Probe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

/// A handler's input type, `Incoming<T>`: the payload is its `T`.
pub struct HandlerProbe<I: ?Sized>(PhantomData<fn() -> Box<I>>);

#[allow(clippy::new_without_default)]
/// A responder's return type, `R`: the reply is its `Ok` type if it is a
/// `Result`, else `R`.
pub struct ReplyProbe<R: ?Sized>(PhantomData<fn() -> Box<R>>);

#[allow(clippy::new_without_default)]
impl<R: ?Sized> ReplyProbe<R> {
    /// The probe of `R`.
    pub const fn new() -> Self {
        ReplyProbe(PhantomData)
    }
}

#[allow(clippy::new_without_default)]
impl<T: ?Sized> Probe<T> {
    /// The probe of `T`.
    pub const fn new() -> Self {
        Probe(PhantomData)
    }
}

#[allow(clippy::new_without_default)]
impl<I: ?Sized> HandlerProbe<I> {
    /// The probe of `I`.
    pub const fn new() -> Self {
        HandlerProbe(PhantomData)
    }
}

/// The fallback: no schema.
pub trait NoSchema {
    /// `None`.
    fn __onex_schema(&self) -> Option<Value> {
        None
    }
}

impl<T: ?Sized> NoSchema for Probe<T> {}
impl<I: ?Sized> NoSchema for HandlerProbe<I> {}
impl<R: ?Sized> NoSchema for ReplyProbe<R> {}

/// The type's `schemars` schema.
pub trait ViaJsonSchema {
    /// The schema of the payload type, unless it accepts any JSON (such as
    /// `serde_json::Value`'s), which says nothing about the payload.
    fn __onex_schema(&self) -> Option<Value>;
}

#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema> ViaJsonSchema for &Probe<T> {
    fn __onex_schema(&self) -> Option<Value> {
        schema_of::<T>()
    }
}

#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema> ViaJsonSchema for &HandlerProbe<crate::consume::Incoming<T>> {
    fn __onex_schema(&self) -> Option<Value> {
        schema_of::<T>()
    }
}

#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema> ViaJsonSchema for &ReplyProbe<T> {
    fn __onex_schema(&self) -> Option<Value> {
        schema_of::<T>()
    }
}

/// The schema of the `Ok` type of a `Result`.
pub trait ViaOkSchema {
    /// The `Ok` type's schema, unless it accepts any JSON.
    fn __onex_schema(&self) -> Option<Value>;
}

#[cfg(feature = "asyncapi")]
impl<T: schemars::JsonSchema, E> ViaOkSchema for &&ReplyProbe<Result<T, E>> {
    fn __onex_schema(&self) -> Option<Value> {
        schema_of::<T>()
    }
}

/// `T`'s schema in JSON Schema draft 7 (the dialect of AsyncAPI's schema
/// object), `None` if it accepts anything.
#[cfg(feature = "asyncapi")]
fn schema_of<T: schemars::JsonSchema>() -> Option<Value> {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Value::Object(map) = &mut schema {
        map.remove("$schema");
    }
    match &schema {
        Value::Bool(true) => None,
        // Annotations only (`{"title": "AnyValue"}` of `serde_json::Value`).
        Value::Object(map)
            if map
                .keys()
                .all(|k| matches!(k.as_str(), "title" | "description" | "$comment")) =>
        {
            None
        }
        _ => Some(schema),
    }
}

#[cfg(all(test, feature = "asyncapi"))]
#[allow(clippy::needless_borrow)] // the probe's call, as the macros write it
mod tests {
    use super::*;
    use crate::consume::Incoming;

    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Order {
        id: String,
        amount: u32,
    }

    #[allow(dead_code)]
    struct Opaque;

    #[test]
    fn a_type_with_json_schema_has_its_schema() {
        let schema = (&&Probe::<Order>::new()).__onex_schema().unwrap();
        assert_eq!(schema["title"], "Order");
        assert_eq!(schema["properties"]["amount"]["type"], "integer");
        let handled = (&&HandlerProbe::<Incoming<Order>>::new()).__onex_schema();
        assert_eq!(handled, Some(schema.clone()));
        let ok = (&&&ReplyProbe::<Result<Order, std::io::Error>>::new()).__onex_schema();
        assert_eq!(ok, Some(schema.clone()));
        assert_eq!(
            (&&&ReplyProbe::<Order>::new()).__onex_schema(),
            Some(schema)
        );
    }

    #[test]
    fn a_type_without_json_schema_or_accepting_anything_has_none() {
        assert_eq!((&&Probe::<Opaque>::new()).__onex_schema(), None);
        assert_eq!(
            (&&HandlerProbe::<Incoming<serde_json::Value>>::new()).__onex_schema(),
            None
        );
        assert_eq!((&&HandlerProbe::<String>::new()).__onex_schema(), None);
        assert_eq!(
            (&&&ReplyProbe::<Result<Opaque, ()>>::new()).__onex_schema(),
            None
        );
        assert_eq!((&&&ReplyProbe::<Opaque>::new()).__onex_schema(), None);
    }
}
