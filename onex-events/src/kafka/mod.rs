//! The Kafka layer (feature `kafka`): what every part of this crate that
//! talks to Kafka stands on — the [`KafkaSink`](crate::KafkaSink), the
//! outbox relays, the [`EventConsumer`](crate::consume::kafka::EventConsumer),
//! and the clients that read what they wrote.
//!
//! - [`KafkaConfig`]: client configuration, from code or from variables
//!   ([`env`](mod@env) names every variable the seeds use), for producers
//!   and for consumers (at-least-once offset handling);
//! - [`TopicRouting`]: an event to its topic, and an event type to the
//!   topics that can carry it ([`TopicRouting::topics_carrying`]);
//! - the record codec: an event to its record ([`RecordEncoder`]: value,
//!   key, timestamp, CloudEvents [`headers`]) and a record back to its
//!   envelope and attributes ([`DecodedRecord`]);
//! - [`schema_registry`]: the per-topic schemas of the program's events for
//!   tansu's embedded schema registry (broker-side validation);
//! - error classification ([`is_permanent`] and friends) and librdkafka's
//!   log forwarded to `tracing` ([`TracingContext`]);
//! - [`rdkafka`], re-exported: the one place to import the client crate
//!   from, so its version is always the one this crate links.
//!
//! ```
//! use onex_events::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
//! use onex_events::kafka::{KafkaConfig, TracingContext};
//!
//! let config = KafkaConfig::new("127.0.0.1:9092");
//! let mut client = onex_events::kafka::rdkafka::ClientConfig::new();
//! client
//!     .set("bootstrap.servers", config.bootstrap_servers())
//!     .set("group.id", "reader");
//! let consumer: BaseConsumer<TracingContext> = client.create_with_context(TracingContext)?;
//! # let _ = consumer.subscription();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod classify;
mod client_roles;
mod config;
pub mod env;
mod fallback_log;
pub mod headers;
mod log;
mod names;
mod record;
mod report;
pub mod schema_registry;
mod topic;

pub use self::classify::{
    is_batch_refused, is_configuration_failure, is_permanent, is_purged, is_queue_full,
};
pub use self::client_roles::REPLY_FETCH_WAIT_MS;
pub use self::config::{KafkaConfig, KafkaConfigError, OffsetReset, TLS_SETUP_TIMEOUT_MS};
pub use self::fallback_log::FallbackLog;
pub use self::log::{forward_librdkafka_log, TracingContext};
pub use self::record::{
    record_key, DecodeError, DecodedRecord, OwnedRecord, Record, RecordEncoder, KEY_BUFFER_LEN,
};
pub use self::report::{DeliveryReport, Outcome};
pub use self::topic::{TopicRouting, TopicStrategy, TopicSubscription};
/// The `rdkafka` crate this layer is built on (librdkafka's Rust binding),
/// for consumers, admin clients and producers of your own in tests and
/// tools: use it from here so its version matches this crate's.
pub use rdkafka;

pub(crate) use self::env::consumer_from_lookup;
pub(crate) use self::names::check_topic;
pub(crate) use self::report::DeliveryListener;

/// An event for unit tests: a state change of node `node-1` of service
/// `svc`, namespace `onex`, with a correlation id.
#[cfg(test)]
pub(crate) fn test_event(event_type: crate::EventType) -> crate::Event {
    use std::sync::Arc;
    use uuid::Uuid;
    crate::Event {
        event_id: Uuid::new_v4(),
        event_type,
        timestamp: crate::Timestamp::now(),
        correlation_id: Some(Uuid::new_v4()),
        causation_id: None,
        node: Arc::new(crate::NodeIdentity {
            node_id: "node-1".to_owned(),
            node_type: event_type.node_type(),
            service: "svc".to_owned(),
            namespace: "onex".to_owned(),
            instance_id: Uuid::new_v4(),
        }),
        payload: crate::Payload::StateChanged {
            old_state: "a".to_owned(),
            new_state: "b".to_owned(),
            transition_reason: "test".to_owned(),
        },
        trace_parent: None,
    }
}
