//! [`EventConsumerBuilder`]: what a consumer serves and reads, checked
//! when it is built.

use super::consumer::EventConsumer;
use super::context::GroupContext;
use super::dead_letter::{DeadLetterTopic, DeadLetters};
use super::error::ConsumerError;
use super::job::Unhandled;
use super::run_loop::Settings;
use super::shutdown::ShutdownSignal;
use super::stats::Counters;
use crate::consume::{EventHandlers, HandlerSet};
use crate::kafka::rdkafka::consumer::{Consumer, StreamConsumer};
use crate::kafka::rdkafka::producer::FutureProducer;
use crate::kafka::{check_topic, KafkaConfig, TopicSubscription, TracingContext};
use crate::EventType;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The in-flight limit unless set.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// Builds an [`EventConsumer`]: see [`EventConsumer::builder`].
///
/// Where events come from, by what is given (several may be combined):
/// - [`source`](Self::source)`(namespace, service)`: the topics the
///   producing service's routing (the configuration's
///   [`TopicRouting`](crate::kafka::TopicRouting)) writes each handled
///   event type to;
/// - [`topic`](Self::topic): a topic by name;
/// - [`pattern`](Self::pattern): every topic matching a regular expression;
/// - none of them: for each handled event type, the topics of that routing
///   from any namespace and service (patterns). A catch-all handler then
///   needs a topic or pattern.
///
/// When one topic carries several event types, each record goes to the
/// handlers of its own (the envelope's `event_type`).
#[must_use]
pub struct EventConsumerBuilder {
    kafka: KafkaConfig,
    handlers: HandlerSet,
    group: Option<String>,
    max_in_flight: usize,
    sources: Vec<(String, String)>,
    topics: Vec<String>,
    patterns: Vec<String>,
    dead_letter_topic: DeadLetterTopic,
    unhandled: Unhandled,
    shutdown_timeout: Duration,
    stats_interval: Duration,
    sink_backpressure: bool,
}

impl std::fmt::Debug for EventConsumerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventConsumerBuilder")
            .field("kafka", &self.kafka)
            .field("handlers", &self.handlers)
            .field("group", &self.group)
            .field("max_in_flight", &self.max_in_flight)
            .field("sources", &self.sources)
            .field("topics", &self.topics)
            .field("patterns", &self.patterns)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .field("unhandled", &self.unhandled)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("stats_interval", &self.stats_interval)
            .field("sink_backpressure", &self.sink_backpressure)
            .finish()
    }
}

impl EventConsumerBuilder {
    pub(crate) fn new(kafka: KafkaConfig) -> Self {
        EventConsumerBuilder {
            group: kafka.consumer_group_id().map(str::to_owned),
            kafka,
            handlers: HandlerSet::new(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            sources: Vec::new(),
            topics: Vec::new(),
            patterns: Vec::new(),
            dead_letter_topic: DeadLetterTopic::default(),
            unhandled: Unhandled::Skip,
            shutdown_timeout: Duration::from_secs(30),
            stats_interval: Duration::from_secs(30),
            sink_backpressure: true,
        }
    }

    /// Serves the handlers of `node`. Several nodes may be served; an event
    /// type several of them handle goes to each.
    pub fn node<N: EventHandlers>(mut self, node: Arc<N>) -> Self {
        self.handlers.add(node);
        self
    }

    /// The consumer group (`group.id`); default: the configuration's
    /// (`KAFKA_CONSUMER_GROUP`). Required.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// How many records may be in hand at once — being handled, or waiting
    /// behind another of their key (default 256; `KAFKA_MAX_IN_FLIGHT`).
    /// At the limit the consumer stops fetching.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// Reads the events of the handled types that nodes of `namespace` and
    /// `service` publish, from the topics the configuration's routing
    /// sends them to.
    pub fn source(mut self, namespace: impl Into<String>, service: impl Into<String>) -> Self {
        self.sources.push((namespace.into(), service.into()));
        self
    }

    /// Reads `topic`.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topics.push(topic.into());
        self
    }

    /// Reads every topic matching the regular expression `regex`
    /// (librdkafka's syntax; a leading `^` is added if missing). Topics
    /// created later are picked up as the metadata refreshes.
    pub fn pattern(mut self, regex: impl Into<String>) -> Self {
        let regex = regex.into();
        self.patterns.push(if regex.starts_with('^') {
            regex
        } else {
            format!("^{regex}")
        });
        self
    }

    /// Where records a consumer gives up on go; default `<topic>.dlq`.
    pub fn dead_letter_topic(mut self, topic: DeadLetterTopic) -> Self {
        self.dead_letter_topic = topic;
        self
    }

    /// What to do with an event no handler takes (default: skip it).
    pub fn unhandled(mut self, unhandled: Unhandled) -> Self {
        self.unhandled = unhandled;
        self
    }

    /// Whether the consumer takes no record while a Kafka sink of the
    /// process is backlogged, its retry buffer half full until a quarter
    /// (default: it holds). Holding keeps the events handlers publish from
    /// overflowing the buffer when the consumer outruns its producer; turn
    /// it off for a consumer that must go on while an unrelated sink of the
    /// process cannot deliver (its handlers' events may then be lost when
    /// the buffer is full).
    pub fn sink_backpressure(mut self, hold: bool) -> Self {
        self.sink_backpressure = hold;
        self
    }

    /// How long running handlers get to finish at shutdown (default 30 s).
    /// Those still running then are dropped; their events are not
    /// committed, so they are delivered again.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How often the stats are logged and the lag refreshed (default
    /// 30 s; at least 1 ms).
    pub fn stats_interval(mut self, interval: Duration) -> Self {
        self.stats_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The subscription: topics and patterns, each once.
    fn subscription(&self) -> Result<Vec<String>, ConsumerError> {
        let routing = self.kafka.topic_routing();
        let event_types = self
            .handlers
            .event_types()
            .into_iter()
            .map(|t| EventType::parse(t).map_err(|_| ConsumerError::InvalidEventType(t)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut all = Vec::new();
        for topic in &self.topics {
            check_topic(topic).map_err(|reason| ConsumerError::InvalidTopic {
                topic: topic.clone(),
                reason,
            })?;
            all.push(topic.clone());
        }
        all.extend(self.patterns.iter().cloned());
        let mut carrying = |namespace: Option<&str>, service: Option<&str>| {
            for event_type in &event_types {
                match routing.topics_carrying(*event_type, namespace, service) {
                    TopicSubscription::Topic(t) | TopicSubscription::Pattern(t) => all.push(t),
                    _ => {
                        return Err(ConsumerError::UnknownTopics(
                            "a custom topic routing cannot be reversed",
                        ))
                    }
                }
            }
            Ok(())
        };
        for (namespace, service) in &self.sources {
            carrying(Some(namespace), Some(service))?;
        }
        if self.sources.is_empty() && self.topics.is_empty() && self.patterns.is_empty() {
            if self.handlers.has_catch_all() {
                return Err(ConsumerError::UnknownTopics(
                    "a catch-all handler takes events of any type",
                ));
            }
            carrying(None, None)?;
        }
        all.sort();
        all.dedup();
        Ok(all)
    }

    /// Checks the configuration, creates the client and subscribes. Call
    /// it inside a tokio runtime.
    pub fn build(self) -> Result<EventConsumer, ConsumerError> {
        self.kafka.validate()?;
        let group = self
            .group
            .clone()
            .filter(|g| !g.trim().is_empty())
            .ok_or(ConsumerError::MissingGroup)?;
        if self.handlers.is_empty() {
            return Err(ConsumerError::NoHandler);
        }
        if self.max_in_flight == 0 {
            return Err(ConsumerError::ZeroInFlight);
        }
        self.dead_letter_topic
            .check()
            .map_err(|(topic, reason)| ConsumerError::InvalidTopic { topic, reason })?;
        let topics = self.subscription()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConsumerError::NoRuntime);
        }
        let counters = Arc::new(Counters::default());
        let context = GroupContext {
            offsets: Arc::new(Mutex::new(Default::default())),
            counters: Arc::clone(&counters),
        };
        let stats_ms = u64::try_from(self.stats_interval.as_millis()).unwrap_or(u64::MAX);
        let consumer: StreamConsumer<GroupContext> = self
            .kafka
            .consumer_client_config(&group, stats_ms)
            .create_with_context(context)?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&names)?;
        let producer: FutureProducer<TracingContext> = self
            .kafka
            .producer_client_config()
            .create_with_context(TracingContext)?;
        tracing::info!(%group, subscription = ?topics, "consumer subscribed");
        Ok(EventConsumer {
            consumer: Arc::new(consumer),
            handlers: self.handlers,
            dead_letters: DeadLetters::new(producer, self.dead_letter_topic, group),
            counters,
            settings: Settings {
                max_in_flight: self.max_in_flight,
                unhandled: self.unhandled,
                shutdown_timeout: self.shutdown_timeout,
                stats_interval: self.stats_interval,
                sink_backpressure: self.sink_backpressure,
            },
            shutdown: Arc::new(ShutdownSignal::default()),
            topics,
        })
    }
}
