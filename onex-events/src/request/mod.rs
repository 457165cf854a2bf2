//! Request/response over topics: a node asks another node of the program,
//! or of any other, and waits for its answer.
//!
//! - **The responder** is an `#[onex_handler]` of a request type,
//!   `{node_type}.request.{name}` (`codegen.request.validate`): its return
//!   value is the reply, published as `{node_type}.response.{name}`
//!   (`codegen.response.validate`) between the handler's `started` and
//!   `completed` events; an `Err` is an error reply (and `failed`), which
//!   the caller receives as [`RequestError::ErrorReply`](kafka::RequestError::ErrorReply).
//!   The reply goes out through the node's publisher, like its lifecycle
//!   events: a responder served over Kafka publishes to Kafka (a
//!   [`KafkaSink`](crate::KafkaSink) or an outbox).
//! - **The caller's node** declares what it requests,
//!   `#[onex_node("orchestrator", requests("codegen.request.validate"))]`,
//!   and a [`Requester`](kafka::Requester) sends them:
//!   `requester.request("codegen.request.validate", &payload, timeout)`.
//!   Both event types are in both nodes' catalogs: the caller's
//!   [`requests`](crate::Catalog::requests) and
//!   [`consumed_events`](crate::Catalog::consumed_events), the responder's
//!   `consumed_events` and [`responses`](crate::Catalog::responses).
//!
//! # Wire protocol
//!
//! For a service in another language to call or answer. Both messages are
//! OnexEnvelopeV1 records with the CloudEvents headers of every event
//! ([`kafka::headers`](crate::kafka::headers)); the default routing puts
//! them on one topic per event type and namespace.
//!
//! | | request | response |
//! |---|---|---|
//! | topic | `{namespace}.{node_type}.request.{name}.v1` | `{namespace}.{node_type}.response.{name}.v1` |
//! | `event_type` (`ce_type`) | `{node_type}.request.{name}` | `{node_type}.response.{name}` |
//! | `event_id` (`ce_id`) | new | new |
//! | `correlation_id` (`ce_correlationid`) | the caller's, or new | the request's |
//! | `metadata.causation_id` (`ce_causationid`) | the caller's cause, if any | **the request's `event_id`**: what a caller matches |
//! | header `onex_reply_to` | the requester's id (a UUID) | copied from the request |
//! | key | the correlation id | the correlation id |
//! | `payload` | the request body, as is | `{"status":"ok","reply":..}` or `{"status":"error","error":{"error_type":..,"message":..,"chain":[..],"kind":"error"}}`, plus `"reply_to"` |
//!
//! A caller writes the request and reads the response topic from its end,
//! without a consumer group (every instance reads every partition): it
//! keeps the records whose `onex_reply_to` is its own id, and hands each to
//! the request whose `event_id` is its `causation_id`. A response no
//! request waits for any more (it timed out) is counted as late and
//! dropped; one to another instance is skipped before it is decoded. A
//! responder is a consumer group on the request topic; it answers each
//! request once it handled it, whether the handler returned a value or an
//! error (an undecodable request is answered with an `undecodable_payload`
//! error, and dead-lettered). A responder that panics, or runs out of
//! retries, does not answer: the caller times out.

#[cfg(feature = "kafka")]
pub mod kafka;
mod reply;
#[doc(hidden)]
pub mod responding;

pub use reply::{Reply, ReplyOutcome, REPLY_TO};
