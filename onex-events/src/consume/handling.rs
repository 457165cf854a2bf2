//! The runtime of an `#[onex_handler]` method, as the code `#[onex_node]`
//! generates calls it: the correlation the handler runs in, the incoming
//! event as its `started` event records it, and how its return value tells
//! the consumer whether the event was handled.

use super::handler::{Handled, HandlerFuture};
use super::incoming::TakesPayloadOf;
use super::received::ReceivedEvent;
use crate::correlation::{Correlation, CorrelationExt, InCorrelation};
use crate::outcome::Outcome;
use crate::payload::{Captured, ErrorInfo};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::future::Future;
use uuid::Uuid;

/// What a handler of one event runs in: the incoming correlation id (a
/// fresh one if it has none), caused by the incoming event. Everything the
/// handler publishes carries it on, its `started` event included. With the
/// feature `opentelemetry`, the record's `traceparent` header is the remote
/// parent of OpenTelemetry's current context while the handler runs, so
/// its events (and its spans) join the incoming trace.
#[derive(Debug)]
pub struct HandlerScope {
    correlation: Correlation,
    #[cfg(feature = "opentelemetry")]
    trace_parent: Option<crate::TraceParent>,
}

/// A handler's body running in its [`HandlerScope`].
#[cfg(not(feature = "opentelemetry"))]
pub type InHandlerScope<F> = InCorrelation<F>;

/// A handler's body running in its [`HandlerScope`].
#[cfg(feature = "opentelemetry")]
pub type InHandlerScope<F> = opentelemetry::context::WithContext<InCorrelation<F>>;

/// The W3C Trace Context header, as the Kafka layer writes it.
#[cfg(feature = "opentelemetry")]
const TRACEPARENT: &str = "traceparent";

impl HandlerScope {
    /// The scope of a handler of `event`.
    #[inline]
    pub fn of(event: &ReceivedEvent) -> Self {
        HandlerScope {
            correlation: Correlation {
                correlation_id: event.correlation_id().unwrap_or_else(Uuid::new_v4),
                causation_id: Some(event.event_id()),
            },
            #[cfg(feature = "opentelemetry")]
            trace_parent: event
                .record()
                .headers()
                .get_str(TRACEPARENT)
                .and_then(|text| text.parse().ok()),
        }
    }

    /// The correlation the handler runs in (a response to the event joins it).
    #[inline]
    pub fn correlation(&self) -> Correlation {
        self.correlation
    }

    /// Runs `body` in this scope.
    #[inline]
    pub fn run<F: Future>(self, body: F) -> InHandlerScope<F> {
        let body = body.with_correlation(self.correlation);
        #[cfg(feature = "opentelemetry")]
        {
            use opentelemetry::context::FutureExt;
            use opentelemetry::trace::{
                SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
            };
            let cx = opentelemetry::Context::current();
            let cx = match self.trace_parent {
                Some(tp) => cx.with_remote_span_context(SpanContext::new(
                    TraceId::from_bytes(tp.trace_id()),
                    SpanId::from_bytes(tp.parent_id()),
                    TraceFlags::new(tp.flags()),
                    true,
                    TraceState::default(),
                )),
                None => cx,
            };
            body.with_context(cx)
        }
        #[cfg(not(feature = "opentelemetry"))]
        body
    }
}

/// The incoming event as a handler's `started` event records it in
/// `input`: `{"event_type": .., "event_id": ..}`, plus `"payload"` (or
/// `"payload_error"`) if the handler opted in with `payload`.
pub fn handled_event(event: &ReceivedEvent, payload: Option<Captured>) -> Captured {
    Captured::of(&HandledEvent {
        event_type: event.event_type(),
        event_id: event.event_id(),
        payload: payload.as_ref(),
    })
}

struct HandledEvent<'a> {
    event_type: &'a str,
    event_id: Uuid,
    payload: Option<&'a Captured>,
}

impl Serialize for HandledEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("event_type", self.event_type)?;
        m.serialize_entry("event_id", &self.event_id)?;
        match self.payload {
            Some(Captured::Value(raw)) => m.serialize_entry("payload", raw)?,
            Some(Captured::Error(e)) => m.serialize_entry("payload_error", e)?,
            None => {}
        }
        m.end()
    }
}

/// What a handler's return value says: `Err` of a `Result` is a failure,
/// anything else acknowledges.
#[inline]
pub fn handled(outcome: Outcome) -> Handled {
    match outcome {
        Outcome::Completed { .. } => Handled::Acknowledged,
        Outcome::Failed(error) => Handled::Failed(error),
    }
}

/// A run of handler `index` of node type `node_type`, which has no such
/// handler: a failure, never a panic.
pub fn no_handler(node_type: &'static str, index: usize) -> HandlerFuture {
    Box::pin(std::future::ready(Handled::Failed(
        ErrorInfo::from_message(
            "no_handler",
            format!("node type `{node_type}` has no handler #{index}"),
        ),
    )))
}

/// Compiles only for a node that can be shared between threads, as a node
/// with handlers must be: the consumer runs them concurrently.
pub fn assert_shareable<N: Send + Sync + 'static>() {}

/// Compiles only when a handler subscribed to the declared event `E` takes
/// its payload as `E` (or as JSON).
pub fn assert_takes_payload_of<I: TakesPayloadOf<E>, E>() {}
