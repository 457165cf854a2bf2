//! Why a consumer cannot be built.

use crate::kafka::rdkafka::error::KafkaError;
use crate::kafka::KafkaConfigError;

/// An [`EventConsumer`](super::EventConsumer) cannot be built with this
/// configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerError {
    /// The Kafka configuration cannot be used (or a variable cannot be read).
    #[error(transparent)]
    Config(#[from] KafkaConfigError),
    /// No consumer group: set one with `.group(..)` or `KAFKA_CONSUMER_GROUP`.
    #[error("no consumer group: set one with .group(..) or KAFKA_CONSUMER_GROUP")]
    MissingGroup,
    /// No node with a handler was added.
    #[error("no handler: add a node with #[onex_handler] methods with .node(..)")]
    NoHandler,
    /// The in-flight limit is 0.
    #[error("max_in_flight must be at least 1")]
    ZeroInFlight,
    /// The topics to read cannot be derived: a catch-all handler, or a
    /// custom topic routing, needs `.topic(..)` or `.pattern(..)`.
    #[error("cannot tell which topics to read: {0}; name them with .topic(..) or .pattern(..)")]
    UnknownTopics(&'static str),
    /// A topic name (of a subscription or a dead-letter topic) Kafka would
    /// reject.
    #[error("topic name {topic:?} cannot be used: {reason}")]
    InvalidTopic {
        /// The name.
        topic: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// An event type a handler names is not `node_type.operation.stage`.
    #[error("handler event type {0:?} is not a valid event type")]
    InvalidEventType(&'static str),
    /// No tokio runtime: build and run the consumer inside one.
    #[error("an EventConsumer is built inside a tokio runtime (with its time driver)")]
    NoRuntime,
    /// librdkafka refused to create the client or to subscribe.
    #[error("Kafka client: {0}")]
    Client(#[from] KafkaError),
}
