//! [`EventConsumer`]: a consumer group member that runs the handlers of
//! its nodes on the events of the topics it reads.

use super::builder::EventConsumerBuilder;
use super::dead_letter::DeadLetters;
use super::error::ConsumerError;
use super::fetched::SharedConsumer;
use super::run_loop::{self, Settings};
use super::shutdown::{termination_signal, ShutdownHandle, ShutdownSignal};
use super::stats::{ConsumerStats, Counters};
use crate::consume::HandlerSet;
use crate::kafka::rdkafka::consumer::Consumer;
use crate::kafka::{consumer_from_lookup, KafkaConfig};
use std::sync::Arc;

/// Runs the `#[onex_handler]` methods of its nodes on the events of the
/// topics it reads, as a member of a Kafka consumer group.
///
/// - **Delivery: at least once.** A record's offset is stored for commit
///   only once every handler of its event settled (acknowledged, or gave
///   it up and it reached the dead-letter topic), and never past a record
///   still in hand; librdkafka commits the stored offsets every 500 ms
///   (`auto.commit.interval.ms`), in the background.
/// - **Concurrency.** Handlers run side by side in the consumer's task, up
///   to [`max_in_flight`](EventConsumerBuilder::max_in_flight) records in
///   hand; the records of one key (per partition) one after the other, in
///   order. At the limit it stops fetching, so memory stays bounded. It
///   also takes no record while a [`KafkaSink`](crate::sink::kafka::KafkaSink)
///   of the process is backlogged (its retry buffer half full, until a
///   quarter): the events its handlers publish wait there rather than
///   overflow it.
/// - **Failure.** A failed run is retried as the handler's
///   [`RetryPolicy`](crate::consume::RetryPolicy) says; then the event goes
///   to the dead-letter topic (`<topic>.dlq` by default) with its value,
///   key and headers, plus the `onex_dead_letter_*` headers of
///   [`kafka::headers`](crate::kafka::headers) (error type and message,
///   attempts, original topic, partition and offset, group, handler). A
///   panic is a failure. A record that is not an OnexEnvelopeV1 goes there
///   at once with the reason. A failing event holds the records of its key
///   (only) for at most `attempts × timeout + RetryPolicy::worst_case_delay()`
///   (no bound if the handler has no timeout), plus the time the
///   dead-letter topic takes to acknowledge it: until it does, its offset
///   is not committed (the producer retries, logging at ERROR).
/// - **Lifecycle.** [`run`](EventConsumer::run) returns once
///   [`ShutdownHandle::shutdown`] is called ([`run_until_signal`](EventConsumer::run_until_signal):
///   or on SIGINT/SIGTERM): fetching stops, running handlers get the
///   shutdown timeout to finish, settled offsets are committed, and the
///   consumer leaves its group. Before partitions are revoked in a
///   rebalance, what is settled is committed; records of those partitions
///   still in hand are read again by their next owner. While the consumer
///   is at its in-flight limit it does not poll: handlers that stay stuck
///   longer than `max.poll.interval.ms` (5 min by default) make librdkafka
///   leave the group, and their partitions go to another member.
///
/// ```no_run
/// use onex_events::consume::kafka::EventConsumer;
/// use onex_events::KafkaConfig;
/// # use std::sync::Arc;
/// # async fn example<N: onex_events::consume::EventHandlers>(node: Arc<N>) -> Result<(), Box<dyn std::error::Error>> {
/// let consumer = EventConsumer::builder(KafkaConfig::new("127.0.0.1:9092"))
///     .group("effects")
///     .source("onex", "orchestrator") // the producer's namespace and service
///     .node(node)
///     .build()?;
/// let stats = consumer.run_until_signal().await;
/// println!("handled={} failed={} dead_lettered={}", stats.handled, stats.failed, stats.dead_lettered);
/// # Ok(())
/// # }
/// ```
pub struct EventConsumer {
    pub(crate) consumer: SharedConsumer,
    pub(crate) handlers: HandlerSet,
    pub(crate) dead_letters: DeadLetters,
    pub(crate) counters: Arc<Counters>,
    pub(crate) settings: Settings,
    pub(crate) shutdown: Arc<ShutdownSignal>,
    pub(crate) topics: Vec<String>,
}

impl std::fmt::Debug for EventConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventConsumer")
            .field("group", &self.dead_letters.group())
            .field("subscription", &self.topics)
            .field("handlers", &self.handlers)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl EventConsumer {
    /// A consumer of the cluster `kafka` names; the builder sets the
    /// rest.
    pub fn builder(kafka: KafkaConfig) -> EventConsumerBuilder {
        EventConsumerBuilder::new(kafka)
    }

    /// A builder configured from the environment: the variables of
    /// [`KafkaConfig::from_env`], with `KAFKA_CONSUMER_GROUP` (the group),
    /// `KAFKA_AUTO_OFFSET_RESET` (`earliest`/`latest`) and
    /// `KAFKA_MAX_IN_FLIGHT` (the in-flight limit).
    pub fn from_env() -> Result<EventConsumerBuilder, ConsumerError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`EventConsumer::from_env`] over any lookup of variables.
    ///
    /// ```
    /// use onex_events::consume::kafka::EventConsumer;
    /// use std::collections::HashMap;
    ///
    /// let vars = HashMap::from([
    ///     ("KAFKA_BOOTSTRAP_SERVERS", "b1:9092"),
    ///     ("KAFKA_CONSUMER_GROUP", "effects"),
    ///     ("KAFKA_MAX_IN_FLIGHT", "64"),
    /// ]);
    /// let builder = EventConsumer::from_lookup(|name| vars.get(name).map(|v| v.to_string()))?;
    /// # let _ = builder;
    /// # Ok::<(), onex_events::consume::kafka::ConsumerError>(())
    /// ```
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<EventConsumerBuilder, ConsumerError> {
        let (kafka, max_in_flight) = consumer_from_lookup(lookup)?;
        let builder = EventConsumerBuilder::new(kafka);
        Ok(match max_in_flight {
            Some(n) => builder.max_in_flight(n),
            None => builder,
        })
    }

    /// Consumes until [`ShutdownHandle::shutdown`] is called, then stops
    /// gracefully (see the type's documentation) and returns the final
    /// stats, also logged.
    pub async fn run(self) -> ConsumerStats {
        run_loop::run(
            &self.consumer,
            &self.handlers,
            &self.dead_letters,
            &self.counters,
            &self.settings,
            &self.shutdown,
        )
        .await;
        let counters = Arc::clone(&self.counters);
        // Dropping the client leaves the group (committing again what is
        // stored, as partitions are revoked). A record a handler kept holds
        // the client: leave the group now all the same.
        if Arc::strong_count(&self.consumer) > 1 {
            self.consumer.unsubscribe();
        }
        drop(self);
        counters.snapshot()
    }

    /// [`EventConsumer::run`], stopping also on SIGINT or SIGTERM.
    pub async fn run_until_signal(self) -> ConsumerStats {
        let handle = self.shutdown_handle();
        let watcher = tokio::spawn(async move {
            termination_signal().await;
            handle.shutdown();
        });
        let stats = self.run().await;
        watcher.abort();
        stats
    }

    /// A handle that stops the consumer and reads its stats.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            signal: Arc::clone(&self.shutdown),
            counters: Arc::clone(&self.counters),
        }
    }

    /// The stats now.
    pub fn stats(&self) -> ConsumerStats {
        self.counters.snapshot()
    }

    /// The topics and patterns it subscribed to.
    pub fn subscription(&self) -> &[String] {
        &self.topics
    }
}
