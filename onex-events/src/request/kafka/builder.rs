//! [`RequesterBuilder`]: the node whose requests are sent, the cluster, and
//! the response topics, positioned before the first request.

use super::error::RequesterError;
use super::replies::{self, Waiting};
use super::requester::Requester;
use crate::event_type::EventType;
use crate::kafka::rdkafka::consumer::{Consumer, StreamConsumer};
use crate::kafka::rdkafka::metadata::Metadata;
use crate::kafka::rdkafka::producer::FutureProducer;
use crate::kafka::rdkafka::producer::Producer;
use crate::kafka::rdkafka::{Offset, TopicPartitionList};
use crate::kafka::{KafkaConfig, TopicSubscription, TracingContext};
use crate::node::NodeContext;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long reading the response topics' metadata may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a [`Requester`]: see [`Requester::builder`].
#[must_use]
#[derive(Debug)]
pub struct RequesterBuilder {
    kafka: KafkaConfig,
    node: NodeContext,
}

impl Requester {
    /// A requester of the requests `node` declares, on the cluster of
    /// `kafka` (its topic routing names the topics).
    pub fn builder(kafka: KafkaConfig, node: &NodeContext) -> RequesterBuilder {
        RequesterBuilder {
            kafka,
            node: node.clone(),
        }
    }
}

impl RequesterBuilder {
    /// Creates the clients, assigns the reader every partition of the
    /// response topics at their end (so a response to any request sent
    /// from now on is read), and starts it. Requests go to
    /// `{namespace}.{request type}.v1` and responses come from
    /// `{namespace}.{response type}.v1` under the default routing, the
    /// namespace being the node's: responders share it. The request and
    /// response topics must exist. Call it inside a tokio runtime.
    pub async fn build(self) -> Result<Requester, RequesterError> {
        self.kafka.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(RequesterError::NoRuntime);
        }
        let catalog = self.node.catalog();
        if catalog.requests.is_empty() {
            return Err(RequesterError::NoRequest(catalog.node_type));
        }
        let routing = self.kafka.topic_routing().clone();
        let node = self.node;
        let namespace = node.identity().namespace.clone();
        let mut requests = Vec::new();
        let mut request_topics = Vec::new();
        let mut topics = Vec::new();
        for &request in catalog.requests {
            let request_type = EventType::parse(request)
                .map_err(|_| RequesterError::NoRequest(catalog.node_type))?;
            // The response's name, as `#[onex_node]` wrote it in the catalog.
            let response = request_type
                .response_name()
                .and_then(|name| catalog.consumed_events.iter().find(|t| **t == name))
                .and_then(|name| EventType::parse(name).ok())
                .ok_or(RequesterError::NoRequest(catalog.node_type))?;
            match routing.topics_carrying(response, Some(&namespace), None) {
                TopicSubscription::Topic(topic) => topics.push(topic),
                _ => return Err(RequesterError::UnknownTopic(request)),
            }
            if let TopicSubscription::Topic(topic) =
                routing.topics_carrying(request_type, Some(&namespace), None)
            {
                request_topics.push(topic);
            }
            requests.push(request_type);
        }
        topics.sort();
        topics.dedup();

        let id = Uuid::new_v4();
        let producer: FutureProducer<TracingContext> = self
            .kafka
            .request_producer_client_config()
            .create_with_context(TracingContext)?;
        let consumer: StreamConsumer<TracingContext> = self
            .kafka
            .reply_reader_client_config(&format!("onex-requester-{id}"))
            .create_with_context(TracingContext)?;
        let assigned = topics.clone();
        let (consumer, producer) = tokio::task::spawn_blocking(move || {
            assign_at_end(&consumer, &assigned)?;
            // The producer connected before the first request: it would
            // otherwise pay for it within the request's timeout.
            for topic in &request_topics {
                partitions(
                    producer
                        .client()
                        .fetch_metadata(Some(topic), METADATA_TIMEOUT)?,
                    topic,
                )?;
            }
            Ok::<_, RequesterError>((consumer, producer))
        })
        .await
        .map_err(|_| RequesterError::NoRuntime)??;
        let waiting = Arc::new(Waiting::default());
        let reader = tokio::spawn(replies::read(consumer, Arc::clone(&waiting), id));
        tracing::info!(requester = %id, response_topics = ?topics, "requester ready");
        Ok(Requester {
            node,
            requests,
            routing,
            producer,
            waiting,
            reader,
            id,
            topics,
        })
    }
}

/// Assigns every partition of `topics` at its high watermark.
fn assign_at_end(
    consumer: &StreamConsumer<TracingContext>,
    topics: &[String],
) -> Result<(), RequesterError> {
    let mut list = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT)?;
        for partition in partitions(metadata, topic)? {
            let (_, high) = consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT)?;
            list.add_partition_offset(topic, partition, Offset::Offset(high))?;
        }
    }
    consumer.assign(&list)?;
    Ok(())
}

/// The partitions of `topic` in `metadata`, if it exists.
fn partitions(metadata: Metadata, topic: &str) -> Result<Vec<i32>, RequesterError> {
    metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .filter(|t| t.error().is_none())
        .map(|t| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| RequesterError::MissingTopic(topic.to_owned()))
}
