//! The name of every metric onex-events records, with its kind and labels.
//!
//! | name | kind | labels | what it counts |
//! |---|---|---|---|
//! | `onex_events_published_total` | counter | `node_type`, `sink` | events handed to a [`Publisher`](crate::Publisher)'s sink |
//! | `onex_events_delivered_total` | counter | `sink` | events the sink delivered: acknowledged by Kafka (`kafka`), written to stdout (`stdout`) |
//! | `onex_events_failed_total` | counter | `sink`, `reason` | events a sink gave up; `reason`: `failed`, `overflowed`, `expired`, `lost` (`kafka`), `dropped`, `failed` (`stdout`) |
//! | `onex_events_buffered` | gauge | `sink` | events in the Kafka sink's retry buffer now |
//! | `onex_events_outbox_committed_total` | counter | | events this process committed to an outbox |
//! | `onex_events_outbox_not_committed_total` | counter | | events this process could not commit (logged instead) |
//! | `onex_events_outbox_delivered_total` | counter | | outbox events this process's relay had acknowledged by Kafka |
//! | `onex_events_outbox_dead_total` | counter | | outbox events this process's relay moved to the dead-letter table |
//! | `onex_events_outbox_pending` | gauge | | events committed and not yet delivered, in the whole outbox, as last read (`stats`, `flush`) |
//! | `onex_events_handled_total` | counter | `node_type`, `handler`, `outcome` | a Kafka consumer's handlers that settled an event; `outcome`: `acknowledged` or `failed` (given up) |
//! | `onex_events_handler_retries_total` | counter | `node_type`, `handler` | runs of a handler after a failed one |
//! | `onex_events_handler_duration_seconds` | histogram | `node_type`, `handler`, `outcome` | one run of a handler, from its start to its result; `outcome`: `acknowledged` or `failed` |
//! | `onex_events_dead_lettered_total` | counter | `reason` | records the dead-letter topic acknowledged; `reason`: `handler_failed`, `malformed`, `unhandled` |
//! | `onex_events_skipped_total` | counter | | events no handler takes, skipped |
//! | `onex_events_consumer_lag` | gauge | `topic` | records past the stored offset, summed over the topic's partitions a consumer reads, as librdkafka last reported it |
//!
//! Label values come from the program (node types and handler names of
//! its catalog, sink names, topics) or from the fixed words above: never an
//! event id, a payload value or a credential, so each metric has a handful
//! of series.

/// Counter: events handed to a publisher's sink.
pub const PUBLISHED: &str = "onex_events_published_total";
/// Counter: events a sink delivered.
pub const DELIVERED: &str = "onex_events_delivered_total";
/// Counter: events a sink gave up.
pub const FAILED: &str = "onex_events_failed_total";
/// Gauge: events in the Kafka sink's retry buffer.
pub const BUFFERED: &str = "onex_events_buffered";
/// Counter: events this process committed to an outbox.
pub const OUTBOX_COMMITTED: &str = "onex_events_outbox_committed_total";
/// Counter: events this process could not commit to its outbox.
pub const OUTBOX_NOT_COMMITTED: &str = "onex_events_outbox_not_committed_total";
/// Counter: outbox events this process's relay delivered.
pub const OUTBOX_DELIVERED: &str = "onex_events_outbox_delivered_total";
/// Counter: outbox events this process's relay moved to the dead-letter table.
pub const OUTBOX_DEAD: &str = "onex_events_outbox_dead_total";
/// Gauge: events pending in the outbox, as last read.
pub const OUTBOX_PENDING: &str = "onex_events_outbox_pending";
/// Counter: handlers that settled an event.
pub const HANDLED: &str = "onex_events_handled_total";
/// Counter: runs of a handler after a failed one.
pub const HANDLER_RETRIES: &str = "onex_events_handler_retries_total";
/// Histogram: the duration of one handler run, in seconds.
pub const HANDLER_DURATION: &str = "onex_events_handler_duration_seconds";
/// Counter: records sent to the dead-letter topic.
pub const DEAD_LETTERED: &str = "onex_events_dead_lettered_total";
/// Counter: events no handler takes, skipped.
pub const SKIPPED: &str = "onex_events_skipped_total";
/// Gauge: a consumer's lag per topic.
pub const CONSUMER_LAG: &str = "onex_events_consumer_lag";

/// The labels.
pub mod label {
    /// The node type that published or handles the event.
    pub const NODE_TYPE: &str = "node_type";
    /// The sink's name: `kafka`, `stdout`, `outbox`, `recorder`, `log`…
    pub const SINK: &str = "sink";
    /// Why an event was given up or dead-lettered.
    pub const REASON: &str = "reason";
    /// The handler's name.
    pub const HANDLER: &str = "handler";
    /// How a handler run or a handler's work on an event ended.
    pub const OUTCOME: &str = "outcome";
    /// The topic.
    pub const TOPIC: &str = "topic";
}
