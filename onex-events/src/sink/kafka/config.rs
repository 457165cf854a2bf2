//! [`KafkaConfig`]: how to reach the cluster and how to behave when it is
//! unreachable, from the environment ([`KafkaConfig::from_env`]) or from code.

use super::report::DeliveryListener;
use super::topic::TopicRouting;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The environment variables [`KafkaConfig::from_env`] reads.
pub mod env {
    /// Comma-separated `host:port` list; required.
    pub const BOOTSTRAP_SERVERS: &str = "KAFKA_BOOTSTRAP_SERVERS";
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub const SECURITY_PROTOCOL: &str = "KAFKA_SECURITY_PROTOCOL";
    /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`, …
    pub const SASL_MECHANISM: &str = "KAFKA_SASL_MECHANISM";
    /// SASL user name.
    pub const SASL_USERNAME: &str = "KAFKA_SASL_USERNAME";
    /// SASL password (never logged).
    pub const SASL_PASSWORD: &str = "KAFKA_SASL_PASSWORD";
    /// Maximum in-flight requests per broker connection
    /// (`max.in.flight.requests.per.connection`, at most 5 with idempotence).
    pub const MAX_IN_FLIGHT: &str = "KAFKA_MAX_IN_FLIGHT";
    /// Prefix prepended, with a `.`, to every topic of the default routing.
    pub const TOPIC_PREFIX: &str = "KAFKA_TOPIC_PREFIX";
    /// Publish every event to this one topic instead of the default routing.
    pub const TOPIC: &str = "KAFKA_TOPIC";
    /// The service name, sent to the brokers as `client.id`.
    pub const SERVICE_NAME: &str = "SERVICE_NAME";
}

/// librdkafka properties whose values are secrets: redacted in `Debug`.
const SECRET_PROPERTIES: &[&str] = &[
    "sasl.password",
    "sasl.oauthbearer.client.secret",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "ssl_key",
];

fn is_secret(key: &str) -> bool {
    SECRET_PROPERTIES.contains(&key) || key.contains("password") || key.contains("secret")
}

/// A Kafka configuration could not be read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaConfigError {
    /// `KAFKA_BOOTSTRAP_SERVERS` is unset or empty.
    #[error("{} is not set", env::BOOTSTRAP_SERVERS)]
    MissingBootstrapServers,
    /// An environment variable holds a value that cannot be used.
    #[error("{name}={value:?}: {reason}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// Its value (never a secret).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// librdkafka rejected the configuration (e.g. an unknown property).
    #[error("invalid Kafka client configuration: {0}")]
    Client(String),
}

/// How a [`KafkaSink`](super::KafkaSink) reaches the cluster, routes events
/// and degrades. Build one with [`KafkaConfig::new`] and the builder
/// methods, or read it with [`KafkaConfig::from_env`].
///
/// Defaults: `enable.idempotence=true`, `acks=all` (no loss or duplicates
/// from producer retries), `linger.ms=1` (low latency; batches still fill
/// under load), librdkafka's other defaults, the
/// per-operation topic routing of [`TopicRouting::default`], and a retry
/// buffer of 100,000 events / 64 MiB whose events expire after 10 minutes.
///
/// ```
/// use onex_events::sink::kafka::{KafkaConfig, TopicRouting};
/// use std::time::Duration;
///
/// let config = KafkaConfig::new("broker-1:9092,broker-2:9092")
///     .sasl("SASL_SSL", "SCRAM-SHA-512", "svc-orchestrator", "s3cret")
///     .topics(TopicRouting::prefixed("prod"))
///     .buffer_capacity(50_000)
///     .buffer_ttl(Duration::from_secs(120))
///     .property("linger.ms", "10");
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone)]
#[must_use]
pub struct KafkaConfig {
    pub(crate) properties: BTreeMap<String, String>,
    pub(crate) topics: TopicRouting,
    pub(crate) buffer_capacity: usize,
    pub(crate) buffer_max_bytes: usize,
    pub(crate) buffer_ttl: Duration,
    pub(crate) fallback_log: bool,
    pub(crate) listener: Option<DeliveryListener>,
}

impl KafkaConfig {
    /// A configuration for the cluster at `bootstrap_servers`
    /// (`host:port[,host:port…]`) with the safe defaults.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        let mut properties = BTreeMap::new();
        let mut set = |k: &str, v: &str| {
            properties.insert(k.to_owned(), v.to_owned());
        };
        set("bootstrap.servers", "");
        set("client.id", "onex-events");
        set("enable.idempotence", "true");
        set("acks", "all");
        // librdkafka's default linger of 5 ms alone puts the p95 publish
        // latency near 5 ms at moderate rates; at high rates batches fill
        // without waiting, so 1 ms costs little throughput.
        set("linger.ms", "1");
        let config = KafkaConfig {
            properties,
            topics: TopicRouting::default(),
            buffer_capacity: 100_000,
            buffer_max_bytes: 64 << 20,
            buffer_ttl: Duration::from_secs(600),
            fallback_log: true,
            listener: None,
        };
        config.property("bootstrap.servers", bootstrap_servers)
    }

    /// Reads the configuration from the environment (see [`env`](mod@env)):
    /// `KAFKA_BOOTSTRAP_SERVERS` (required), `KAFKA_SECURITY_PROTOCOL`,
    /// `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`,
    /// `KAFKA_MAX_IN_FLIGHT`, `KAFKA_TOPIC_PREFIX`, `KAFKA_TOPIC` and
    /// `SERVICE_NAME`. Unset or empty variables keep the defaults.
    pub fn from_env() -> Result<Self, KafkaConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`KafkaConfig::from_env`] over any lookup (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, KafkaConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let servers =
            get(env::BOOTSTRAP_SERVERS).ok_or(KafkaConfigError::MissingBootstrapServers)?;
        let mut config = KafkaConfig::new(servers.trim());
        if let Some(v) = get(env::SECURITY_PROTOCOL) {
            config = config.property("security.protocol", v.trim());
        }
        if let Some(v) = get(env::SASL_MECHANISM) {
            config = config.property("sasl.mechanism", v.trim());
        }
        if let Some(v) = get(env::SASL_USERNAME) {
            config = config.property("sasl.username", v);
        }
        if let Some(v) = lookup(env::SASL_PASSWORD).filter(|v| !v.is_empty()) {
            config = config.property("sasl.password", v);
        }
        if let Some(v) = get(env::MAX_IN_FLIGHT) {
            let n = v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| KafkaConfigError::InvalidEnv {
                    name: env::MAX_IN_FLIGHT,
                    value: v.clone(),
                    reason: "expected a positive integer",
                })?;
            config = config.max_in_flight(n);
        }
        if let Some(v) = get(env::SERVICE_NAME) {
            config = config.property("client.id", v.trim());
        }
        if let Some(topic) = get(env::TOPIC) {
            config = config.topics(TopicRouting::single(topic.trim()));
        } else if let Some(prefix) = get(env::TOPIC_PREFIX) {
            config = config.topics(TopicRouting::prefixed(prefix.trim()));
        }
        Ok(config)
    }

    /// Sets any librdkafka producer property, e.g. `("linger.ms", "10")`.
    /// Overrides the defaults; checked when the sink is built.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// `security.protocol`, `sasl.mechanism`, `sasl.username` and
    /// `sasl.password` at once. The password is redacted in `Debug`.
    pub fn sasl(
        self,
        security_protocol: &str,
        mechanism: &str,
        username: &str,
        password: &str,
    ) -> Self {
        self.property("security.protocol", security_protocol)
            .property("sasl.mechanism", mechanism)
            .property("sasl.username", username)
            .property("sasl.password", password)
    }

    /// `max.in.flight.requests.per.connection`. Idempotence keeps ordering
    /// with up to 5; above 5 librdkafka refuses idempotence.
    pub fn max_in_flight(self, n: u32) -> Self {
        self.property("max.in.flight.requests.per.connection", n.to_string())
    }

    /// How events are routed to topics. Default: [`TopicRouting::default`].
    pub fn topics(mut self, topics: TopicRouting) -> Self {
        self.topics = topics;
        self
    }

    /// How many events the retry buffer holds while the cluster cannot take
    /// them, besides librdkafka's own queue
    /// (`queue.buffering.max.messages`), into which the sink moves them as
    /// room allows. Beyond both, events are counted as overflowed and
    /// reported.
    pub fn buffer_capacity(mut self, events: usize) -> Self {
        self.buffer_capacity = events;
        self
    }

    /// The retry buffer's limit in bytes of envelope JSON (an event the
    /// sink has not serialized yet counts as 1 KiB).
    pub fn buffer_max_bytes(mut self, bytes: usize) -> Self {
        self.buffer_max_bytes = bytes;
        self
    }

    /// How long after it was published an undelivered event is given up,
    /// counted as expired and reported.
    pub fn buffer_ttl(mut self, ttl: Duration) -> Self {
        self.buffer_ttl = ttl;
        self
    }

    /// Whether each event published while Kafka is unavailable is also
    /// logged through `tracing` (the seed's fallback). Default: true.
    pub fn fallback_log(mut self, on: bool) -> Self {
        self.fallback_log = on;
        self
    }

    /// Calls `listener` once per event with its final outcome: delivered
    /// (with partition, offset and latency), failed, overflowed, expired or
    /// lost. Runs on the producer's thread: keep it short.
    pub fn on_delivery(
        mut self,
        listener: impl Fn(&super::DeliveryReport) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// The value of a librdkafka property, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    /// The bootstrap servers.
    pub fn bootstrap_servers(&self) -> &str {
        self.get("bootstrap.servers").unwrap_or_default()
    }

    /// The topic routing.
    pub fn topic_routing(&self) -> &TopicRouting {
        &self.topics
    }

    pub(crate) fn client_config(&self) -> rdkafka::ClientConfig {
        let mut cc = rdkafka::ClientConfig::new();
        for (k, v) in &self.properties {
            cc.set(k, v);
        }
        cc
    }
}

/// Property values, with secrets replaced by `"***"`.
struct Redacted<'a>(&'a BTreeMap<String, String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let v: &dyn fmt::Debug = if is_secret(k) { &"***" } else { v };
                (k, v)
            }))
            .finish()
    }
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("properties", &Redacted(&self.properties))
            .field("topics", &self.topics)
            .field("buffer_capacity", &self.buffer_capacity)
            .field("buffer_max_bytes", &self.buffer_max_bytes)
            .field("buffer_ttl", &self.buffer_ttl)
            .field("fallback_log", &self.fallback_log)
            .field("on_delivery", &self.listener.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_the_seed_variables() {
        let config = KafkaConfig::from_lookup(lookup(&[
            ("KAFKA_BOOTSTRAP_SERVERS", " b1:9092,b2:9092 "),
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_MECHANISM", "PLAIN"),
            ("KAFKA_SASL_USERNAME", "user"),
            ("KAFKA_SASL_PASSWORD", "hunter2"),
            ("KAFKA_MAX_IN_FLIGHT", "5"),
            ("KAFKA_TOPIC_PREFIX", "prod"),
            ("SERVICE_NAME", "orchestrator"),
        ]))
        .unwrap();
        assert_eq!(config.bootstrap_servers(), "b1:9092,b2:9092");
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.mechanism"), Some("PLAIN"));
        assert_eq!(config.get("sasl.username"), Some("user"));
        assert_eq!(config.get("sasl.password"), Some("hunter2"));
        assert_eq!(
            config.get("max.in.flight.requests.per.connection"),
            Some("5")
        );
        assert_eq!(config.get("client.id"), Some("orchestrator"));
        assert_eq!(config.get("enable.idempotence"), Some("true"));
        assert_eq!(config.get("acks"), Some("all"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("***"));
        assert!(debug.contains("prod"));
    }

    #[test]
    fn requires_bootstrap_servers_and_valid_numbers() {
        assert_eq!(
            KafkaConfig::from_lookup(lookup(&[])).unwrap_err(),
            KafkaConfigError::MissingBootstrapServers
        );
        assert_eq!(
            KafkaConfig::from_lookup(lookup(&[("KAFKA_BOOTSTRAP_SERVERS", "  ")])).unwrap_err(),
            KafkaConfigError::MissingBootstrapServers
        );
        let err = KafkaConfig::from_lookup(lookup(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
            ("KAFKA_MAX_IN_FLIGHT", "many"),
        ]))
        .unwrap_err();
        assert!(
            matches!(err, KafkaConfigError::InvalidEnv { name, .. } if name == "KAFKA_MAX_IN_FLIGHT")
        );
    }

    #[test]
    fn pass_through_properties_override_defaults() {
        let config = KafkaConfig::new("b:9092")
            .property("acks", "1")
            .property("ssl.key.password", "pw");
        assert_eq!(config.get("acks"), Some("1"));
        assert!(!format!("{config:?}").contains("\"pw\""));
    }
}
