//! What a handler receives: the envelope's fields, its payload decoded into
//! the type the handler asks for, and the record it came in.

use super::payload_decoder::PayloadDecoder;
use super::received::ReceivedEvent;
use super::received_record::ReceivedHeaders;
use crate::correlation::Correlation;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use uuid::Uuid;

/// An incoming event with its payload decoded into `T` (any
/// `serde::Deserialize` type; `serde_json::Value` takes any payload).
///
/// ```
/// use onex_events::consume::Incoming;
///
/// #[derive(serde::Deserialize)]
/// struct Completed {
///     operation: String,
/// }
///
/// fn describe(event: &Incoming<Completed>) -> String {
///     format!("{} {} from {}", event.event_type(), event.payload.operation, event.source_node_id())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Incoming<T> {
    /// The payload, decoded.
    pub payload: T,
    event: Arc<ReceivedEvent>,
}

/// The payload of an event does not decode into the type its handler asks
/// for. The event goes to the dead-letter topic at once: running the
/// handler again would not change it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the payload of `{event_type}` is not a `{rust_type}`: {reason}")]
pub struct PayloadError {
    /// The event type.
    pub event_type: String,
    /// The type the handler asks for.
    pub rust_type: &'static str,
    /// What serde said.
    pub reason: String,
}

impl<T> Incoming<T> {
    /// An incoming event whose payload was decoded as `payload`.
    pub fn new(event: Arc<ReceivedEvent>, payload: T) -> Self {
        Incoming { payload, event }
    }

    /// The event as received, payload undecoded.
    pub fn received(&self) -> &Arc<ReceivedEvent> {
        &self.event
    }

    /// `event_id`.
    pub fn event_id(&self) -> Uuid {
        self.event.event_id()
    }

    /// `event_type`.
    pub fn event_type(&self) -> &str {
        self.event.event_type()
    }

    /// `event_timestamp` as written (RFC 3339, UTC).
    pub fn timestamp(&self) -> &str {
        self.event.timestamp()
    }

    /// `source_node_id`.
    pub fn source_node_id(&self) -> &str {
        self.event.source_node_id()
    }

    /// `correlation_id`.
    pub fn correlation_id(&self) -> Option<Uuid> {
        self.event.correlation_id()
    }

    /// `metadata.causation_id`: the event that caused this one.
    pub fn causation_id(&self) -> Option<Uuid> {
        self.event.causation_id()
    }

    /// The correlation of what the handler does: the incoming correlation
    /// id (a fresh one if it has none), caused by this event.
    pub fn correlation(&self) -> Correlation {
        Correlation {
            correlation_id: self.correlation_id().unwrap_or_else(Uuid::new_v4),
            causation_id: Some(self.event_id()),
        }
    }

    /// The record's headers.
    pub fn headers(&self) -> ReceivedHeaders<'_> {
        self.event.record().headers()
    }

    /// The record's key.
    pub fn key(&self) -> Option<&[u8]> {
        self.event.record().key()
    }

    /// The topic it came from.
    pub fn topic(&self) -> &str {
        self.event.record().topic()
    }

    /// Its partition.
    pub fn partition(&self) -> i32 {
        self.event.record().partition()
    }

    /// Its offset.
    pub fn offset(&self) -> i64 {
        self.event.record().offset()
    }

    /// The payload, taken out.
    pub fn into_payload(self) -> T {
        self.payload
    }
}

/// The one argument of a handler: [`Incoming<T>`].
#[diagnostic::on_unimplemented(
    message = "a handler's argument must be `Incoming<T>`, not `{Self}`",
    label = "handlers take one `Incoming<T>` argument",
    note = "write `event: onex_events::consume::Incoming<MyPayload>` with `MyPayload: serde::Deserialize`, or `Incoming<serde_json::Value>` for any payload"
)]
pub trait HandlerInput: Sized + Send + 'static {
    /// How the payload is decoded with the envelope, if it can be.
    #[doc(hidden)]
    const PAYLOAD: Option<PayloadDecoder> = None;

    /// Decodes the payload of `event` for the handler.
    fn decode(event: Arc<ReceivedEvent>) -> Result<Self, PayloadError>;

    /// The event as received.
    fn received(&self) -> &Arc<ReceivedEvent>;
}

impl<T: DeserializeOwned + Send + 'static> HandlerInput for Incoming<T> {
    const PAYLOAD: Option<PayloadDecoder> = Some(PayloadDecoder::of::<T>());

    fn decode(event: Arc<ReceivedEvent>) -> Result<Self, PayloadError> {
        if let Some(payload) = event.take_payload() {
            return Ok(Incoming { payload, event });
        }
        // Read as text: the envelope's reading checked it as UTF-8, so
        // serde need not check each string again.
        match serde_json::from_str(event.payload_json()) {
            Ok(payload) => Ok(Incoming { payload, event }),
            Err(e) => Err(PayloadError {
                event_type: event.event_type().to_owned(),
                rust_type: std::any::type_name::<T>(),
                reason: e.to_string(),
            }),
        }
    }

    fn received(&self) -> &Arc<ReceivedEvent> {
        &self.event
    }
}

/// What a handler subscribed to a declared event by its type may take: the
/// payload as that type, or as any JSON (`Incoming<serde_json::Value>`).
/// `#[onex_handler(UserCreated)]` checks its argument with it.
#[diagnostic::on_unimplemented(
    message = "a handler of `{E}` takes `Incoming<{E}>`, not `{Self}`",
    label = "the payload of `{E}` is not decoded as this type",
    note = "take `Incoming<{E}>`, or `Incoming<serde_json::Value>` for the payload as JSON"
)]
pub trait TakesPayloadOf<E> {}

impl<E> TakesPayloadOf<E> for Incoming<E> {}

impl<E: crate::OnexEvent> TakesPayloadOf<E> for Incoming<serde_json::Value> {}
