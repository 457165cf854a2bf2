//! What can go wrong: building a [`Requester`](super::Requester), and one
//! request.

use crate::kafka::rdkafka::error::KafkaError;
use crate::kafka::KafkaConfigError;
use std::time::Duration;

/// A [`Requester`](super::Requester) cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequesterError {
    /// The Kafka configuration is invalid.
    #[error(transparent)]
    Config(#[from] KafkaConfigError),
    /// The node declares no request (`#[onex_node(.., requests(".."))]`).
    #[error("node type `{0}` declares no request: add `requests(\"{0}.request.name\")` to its `#[onex_node]`, naming the request types it sends")]
    NoRequest(&'static str),
    /// A declared request type's responses are routed to no topic that can
    /// be named (a custom routing).
    #[error(
        "the responses to `{0}` have no known topic: a custom topic routing cannot be reversed"
    )]
    UnknownTopic(&'static str),
    /// librdkafka refused the configuration, or the cluster's metadata
    /// could not be read in time.
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// A request or response topic does not exist.
    #[error("the topic `{0}` does not exist: create it (with as many partitions as the responders need)")]
    MissingTopic(String),
    /// Not called inside a tokio runtime.
    #[error("a requester must be built inside a tokio runtime")]
    NoRuntime,
}

/// A request got no reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The responder answered with an error: its handler returned `Err`, or
    /// the request's payload does not decode into the type it takes.
    #[error("the responder answered with an error: {error_type}: {message}")]
    ErrorReply {
        /// The error's type, as the responder named it (the Rust type of
        /// an `Err`, `undecodable_payload`, ..).
        error_type: String,
        /// Its message.
        message: String,
        /// The messages of its sources, outermost first.
        chain: Vec<String>,
    },
    /// The request reached the broker, but no reply came in time.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The request did not reach the broker in time: the broker is down or
    /// unreachable.
    #[error("the request did not reach the broker within {0:?}: is it reachable?")]
    Unreachable(Duration),
    /// The producer gave up on the request (e.g. its topic does not exist).
    #[error("the request could not be sent: {0}")]
    Send(KafkaError),
    /// This node does not declare the request type in its
    /// `#[onex_node(.., requests(..))]`.
    #[error("`{0}` is not one of this node's requests: declare it with `#[onex_node(.., requests(\"{0}\"))]`")]
    Undeclared(String),
    /// The request's payload cannot be serialized.
    #[error("the request cannot be serialized: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The request's payload is not a JSON object (an envelope's payload
    /// is one): send a struct or a map.
    #[error("the request must serialize to a JSON object (the envelope's payload is one)")]
    NotAnObject,
    /// The reply is not what the caller expects: not an envelope, or not a
    /// reply of the type asked for.
    #[error("the reply cannot be read: {0}")]
    UndecodableReply(String),
    /// The requester's reader of responses stopped.
    #[error("the requester's reader of responses stopped")]
    Stopped,
}
