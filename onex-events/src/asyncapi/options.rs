//! What a document says beyond the catalogs: its title and version, and
//! the Kafka settings the program runs with (routing, dead-letter topics,
//! consumer group, brokers).

use super::error::AsyncApiError;
use crate::consume::kafka::DeadLetterTopic;
use crate::kafka::{env, KafkaConfig, TopicRouting};

/// The settings of an AsyncAPI [`document`](super::document).
///
/// ```
/// use onex_events::asyncapi::DocumentOptions;
/// use onex_events::kafka::TopicRouting;
///
/// let options = DocumentOptions::new("billing", "2.1.0")
///     .routing(TopicRouting::prefixed("staging"))
///     .consumer_group("billing")
///     .servers(["broker-1:9092"]);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct DocumentOptions {
    pub(super) title: String,
    pub(super) version: String,
    pub(super) description: Option<String>,
    pub(super) routing: TopicRouting,
    pub(super) dead_letters: DeadLetterTopic,
    pub(super) group: Option<String>,
    pub(super) servers: Vec<String>,
}

impl DocumentOptions {
    /// A document titled `title` (the service), of version `version`, for
    /// the default routing and dead-letter topics (`<topic>.dlq`), with no
    /// consumer group and no server.
    pub fn new(title: impl Into<String>, version: impl Into<String>) -> Self {
        DocumentOptions {
            title: title.into(),
            version: version.into(),
            description: None,
            routing: TopicRouting::default(),
            dead_letters: DeadLetterTopic::default(),
            group: None,
            servers: Vec::new(),
        }
    }

    /// [`DocumentOptions::new`] with the settings of the environment the
    /// library reads ([`KafkaConfig::from_env`]): the routing
    /// (`KAFKA_TOPIC`, `KAFKA_TOPIC_PREFIX`), the consumer group
    /// (`KAFKA_CONSUMER_GROUP`) and the brokers (`KAFKA_BOOTSTRAP_SERVERS`,
    /// which may be unset here). An invalid value is an error.
    pub fn from_env(
        title: impl Into<String>,
        version: impl Into<String>,
    ) -> Result<Self, AsyncApiError> {
        Self::from_lookup(title, version, |name| std::env::var(name).ok())
    }

    /// [`DocumentOptions::from_env`] with the variables `lookup` gives.
    pub fn from_lookup(
        title: impl Into<String>,
        version: impl Into<String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AsyncApiError> {
        let servers = lookup(env::BOOTSTRAP_SERVERS).filter(|s| !s.trim().is_empty());
        // The configuration needs brokers; without any, a stand-in that
        // passes its checks (the document then names no server).
        let config = KafkaConfig::from_lookup(|name| match name {
            env::BOOTSTRAP_SERVERS => {
                Some(servers.clone().unwrap_or_else(|| "localhost:9092".into()))
            }
            other => lookup(other),
        })?;
        let mut options = Self::new(title, version).routing(config.topic_routing().clone());
        if let Some(group) = config.consumer_group_id() {
            options = options.consumer_group(group);
        }
        if servers.is_some() {
            options = options.servers(config.bootstrap_servers().split(','));
        }
        Ok(options)
    }

    /// A description of the service.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The topic routing the program publishes with (default:
    /// [`TopicRouting::default`]). A custom routing gives unknown channel
    /// addresses (`null`).
    pub fn routing(mut self, routing: TopicRouting) -> Self {
        self.routing = routing;
        self
    }

    /// How the program's consumers name dead-letter topics (default:
    /// `<topic>.dlq`).
    pub fn dead_letter_topic(mut self, naming: DeadLetterTopic) -> Self {
        self.dead_letters = naming;
        self
    }

    /// The consumer group of the program's consumers: the `groupId` of the
    /// `receive` operations' Kafka binding.
    pub fn consumer_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into()).filter(|g| !g.trim().is_empty());
        self
    }

    /// The brokers, `host:port` each: one server each in the document.
    pub fn servers<S: AsRef<str>>(mut self, servers: impl IntoIterator<Item = S>) -> Self {
        self.servers = servers
            .into_iter()
            .map(|s| s.as_ref().trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        self
    }
}
