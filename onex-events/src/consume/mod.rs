//! The consuming half: node methods that handle incoming events.
//!
//! A method marked `#[onex_handler("event.type", ..)]` in an `#[onex_node]`
//! block takes one [`Incoming<T>`]: the envelope's fields, its payload
//! decoded with serde into `T`, and the record it came in. `#[onex_node]`
//! implements [`EventHandlers`] for the node, which is what a consumer (or
//! the [`InProcessBus`] of tests) calls: [`EventHandlers::handle`] decodes the
//! payload for the handler and runs it, and tells [`Handled`] how it ended.
//!
//! With the `kafka` feature, [`kafka::EventConsumer`] runs them on the
//! events of Kafka topics, in a consumer group, at least once, with dead
//! letters; [`kafka::reprocess`] moves dead letters back.

mod attempts;
mod bus;
mod canonical_envelope;
mod envelope_contract;
mod envelope_fields;
mod handler;
mod handler_set;
#[doc(hidden)]
pub(crate) mod handling;
mod incoming;
#[cfg(feature = "kafka")]
pub mod kafka;
mod located_fields;
mod malformed_event;
mod payload_decoder;
mod received;
mod received_record;
mod record_headers;
mod retry;

pub(crate) use attempts::{first_run, settle_after, FirstRun};
pub use attempts::{settle, Failure, Settled};
pub use bus::{BusStats, DeadLetter, InProcessBus};
pub use handler::{EventHandlers, Handled, HandlerFuture, HandlerSpec};
pub use handler_set::{HandlerSet, Route};
pub use incoming::{HandlerInput, Incoming, PayloadError, TakesPayloadOf};
pub use malformed_event::{MalformedEvent, Undecoded};
pub use payload_decoder::PayloadDecoder;
pub use received::{ReceivedEvent, RecordParts};
pub use received_record::{ReceivedHeaders, ReceivedRecord};
pub use record_headers::RecordHeaders;
pub use retry::RetryPolicy;
