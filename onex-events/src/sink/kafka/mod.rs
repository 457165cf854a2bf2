//! The Kafka transport (feature `kafka`): [`KafkaSink`] publishes every
//! envelope to a Kafka cluster through librdkafka, without ever blocking
//! or failing the user's operation.
//!
//! - **Record**: the value is the OnexEnvelopeV1 JSON, unchanged; the key
//!   is the correlation id (its hyphenated text; the source node id for an
//!   event without one), so every event of one operation, and of one
//!   request, hashes to the same partition of its topic and is read back in
//!   publish order; the Kafka timestamp is the event's; the headers are the
//!   CloudEvents binary-mode attributes of [`headers`]. The Kafka layer's
//!   codec writes it ([`RecordEncoder`](crate::kafka::RecordEncoder)).
//! - **Topics**: see [`TopicRouting`]; the default is
//!   `{namespace}.{service}.{node_type}.{operation}.v1`.
//! - **Delivery**: `enable.idempotence=true` and `acks=all` by default, so
//!   librdkafka's retries neither lose nor duplicate nor reorder records.
//! - **Degradation**: `publish` only enqueues. While the cluster is
//!   unreachable, an event joins the sink's bounded retry buffer
//!   ([`KafkaConfig::buffer_capacity`]) as it is, and the sink's delivery
//!   thread serializes it and moves it into librdkafka's queue
//!   (`queue.buffering.max.messages`, default 100,000) as room allows, so
//!   an operation pays about a microsecond per event for a broker that is
//!   down. The events published meanwhile are also logged through
//!   `tracing` (target `onex_events::event`, the seed's "Kafka
//!   unavailable, logging … event" fallback), in a bounded way: the first
//!   100 of each outage with their envelope, then a summary with counts at
//!   most every 10 seconds and when the cluster returns
//!   ([`FallbackLog`]; `ONEX_FALLBACK_LOG=full|summary|off` changes it).
//!   They are delivered when the cluster returns. What cannot be kept is
//!   counted ([`KafkaSink::stats`]), reported to the
//!   [`KafkaConfig::on_delivery`] listener, logged at `ERROR` (with its
//!   event id for the first 100 of an outage, then in summaries with
//!   counts), and reported by the next [`Sink::flush`](crate::Sink::flush)
//!   ([`SinkError::Undelivered`](crate::sink::SinkError::Undelivered)):
//!   nothing is dropped silently.
//! - **Refused batches**: a broker validating records (tansu with a schema
//!   registry, see [`schema_registry`](crate::kafka::schema_registry))
//!   refuses a whole batch with `INVALID_RECORD` when one record of it is
//!   invalid. Each event of a refused batch is sent again in a batch of its
//!   own, by a second producer made for that (`batch.num.messages=1`), so
//!   the valid ones are delivered and only the invalid one is reported
//!   [`Outcome::Failed`], with its event id. Events published meanwhile
//!   wait in the retry buffer behind them, keeping the order per key.
//! - **Shutdown**: call [`Sink::flush`](crate::Sink::flush) (or
//!   [`Publisher::flush`]) before exiting; dropping the sink purges what is
//!   still queued, and reports each such event as [`Outcome::Lost`].
//!
//! [`Publisher::flush`]: crate::Publisher::flush
//!
//! The sink's parts, one a file: [`KafkaSink`] itself (`sink.rs`); the
//! dispatcher, which encodes and enqueues each event and runs the delivery
//! thread (`dispatcher.rs`); the retry buffer (`retry_buffer.rs`); producer
//! replacement (`replacement.rs`); events of a refused batch sent again one
//! per batch (`single_records.rs`); the state shared with librdkafka's
//! callbacks (`delivery_state.rs`) and the callbacks (`callbacks.rs`); the
//! counters (`stats.rs`). Configuration, routing, the record codec and
//! error classification are the [Kafka layer](crate::kafka)'s.
//!
//! ```no_run
//! use onex_events::{KafkaConfig, KafkaSink, Publisher};
//! use std::time::Duration;
//!
//! let sink = KafkaSink::new(KafkaConfig::new("127.0.0.1:9092"))?;
//! let publisher = Publisher::new(sink);
//! // … run nodes with `publisher` …
//! publisher.flush(Duration::from_secs(10))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod backlog;
mod callbacks;
mod delivery_state;
mod dispatcher;
mod replacement;
mod retry_buffer;
mod single_records;
mod sink;
mod stats;

pub use self::sink::KafkaSink;
pub use self::stats::KafkaStats;
/// The CloudEvents headers: moved to [`crate::kafka::headers`], re-exported
/// here for the paths of earlier releases.
pub use crate::kafka::headers;
pub use crate::kafka::{
    env, rdkafka, DeliveryReport, FallbackLog, KafkaConfig, KafkaConfigError, Outcome,
    TopicRouting, TopicStrategy,
};
