//! [`KafkaConfig`]: how a client reaches the cluster, how the sink routes
//! events and behaves when the cluster is unreachable, and how a consumer
//! joins its group; built in code (this file) or read from variables
//! ([`KafkaConfig::from_env`], in [`env`](super::env)).

use super::env;
use super::fallback_log::FallbackLog;
use super::names::check_bootstrap_servers;
use super::report::{DeliveryListener, DeliveryReport};
use super::topic::TopicRouting;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// librdkafka properties that hold a secret or inline key material under a
/// name [`is_secret`]'s patterns do not catch.
const SECRET_PROPERTIES: &[&str] = &[
    // `principal=… clientSecret=…` for the unsecured and OIDC flows.
    "sasl.oauthbearer.config",
    // Inline keys and certificates (the `_` names are set through the C API).
    "ssl_key",
    "ssl_certificate",
];

/// Whether the value of librdkafka property `key` is redacted in `Debug`:
/// passwords, secrets, passphrases (`sasl.password`,
/// `sasl.oauthbearer.client.secret`, `ssl.key.password`,
/// `ssl.keystore.password`, `sasl.oauthbearer.assertion.private.key.passphrase`),
/// inline PEM material (`ssl.key.pem`, `ssl.certificate.pem`,
/// `sasl.oauthbearer.assertion.private.key.pem`), private keys, tokens
/// and credentials (`sasl.oauthbearer.token.endpoint.url` may carry some),
/// and [`SECRET_PROPERTIES`]. Matched without regard to case. File paths
/// (`ssl.key.location`) are not secrets and stay visible.
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_PROPERTIES.contains(&key.as_str())
        || [
            "password",
            "secret",
            "passphrase",
            "private",
            ".pem",
            "credential",
            "token",
        ]
        .iter()
        .any(|word| key.contains(word))
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
    /// A topic name, or a prefix of topic names, that Kafka would reject
    /// (see [`KafkaConfig::validate`]).
    #[error("topic name {topic:?} cannot be used: {reason}")]
    InvalidTopic {
        /// The name.
        topic: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A bootstrap list that is not `host:port[,host:port…]` (see
    /// [`KafkaConfig::validate`]).
    #[error("bootstrap servers {servers:?} cannot be used: {reason}")]
    InvalidBootstrapServers {
        /// The list.
        servers: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// librdkafka rejected the configuration (e.g. an unknown property).
    #[error("invalid Kafka client configuration: {0}")]
    Client(String),
}

/// How a [`KafkaSink`](crate::KafkaSink) reaches the cluster, routes events
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
/// use onex_events::kafka::{KafkaConfig, TopicRouting};
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
    pub(crate) fallback_log: FallbackLog,
    pub(crate) listener: Option<DeliveryListener>,
    pub(crate) consumer_group: Option<String>,
    pub(crate) auto_offset_reset: Option<OffsetReset>,
}

/// Where a consumer group with no committed offset starts reading
/// (librdkafka's `auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// The oldest record still in the partition.
    Earliest,
    /// Only records written after the consumer joined.
    Latest,
}

impl OffsetReset {
    /// The librdkafka value: `earliest` or `latest`.
    pub fn as_str(self) -> &'static str {
        match self {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
        }
    }
}

impl std::str::FromStr for OffsetReset {
    type Err = ();

    /// `earliest` or `latest`, in any case.
    fn from_str(s: &str) -> Result<Self, ()> {
        if s.eq_ignore_ascii_case("earliest") {
            Ok(OffsetReset::Earliest)
        } else if s.eq_ignore_ascii_case("latest") {
            Ok(OffsetReset::Latest)
        } else {
            Err(())
        }
    }
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
            fallback_log: FallbackLog::Bounded,
            listener: None,
            consumer_group: None,
            auto_offset_reset: None,
        };
        config.property("bootstrap.servers", bootstrap_servers)
    }

    /// Sets any librdkafka producer property, e.g. `("linger.ms", "10")`.
    /// Overrides the defaults; checked when the sink is built. The value of
    /// any property that can hold a secret (passwords, secrets, passphrases,
    /// tokens, inline PEM keys and certificates, `sasl.oauthbearer.config`)
    /// is shown as `"***"` in `Debug`.
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
    /// counted as expired and reported. Any duration is accepted:
    /// `Duration::MAX` never gives an event up (it stays until delivered,
    /// or until the buffer's capacity or the sink's drop ends it).
    pub fn buffer_ttl(mut self, ttl: Duration) -> Self {
        self.buffer_ttl = ttl;
        self
    }

    /// Whether the events published while Kafka is unavailable are also
    /// logged through `tracing` (the seed's fallback): `true` is
    /// [`FallbackLog::Bounded`] (the default), `false` is
    /// [`FallbackLog::Off`]. See [`KafkaConfig::fallback_log_mode`].
    pub fn fallback_log(self, on: bool) -> Self {
        self.fallback_log_mode(if on {
            FallbackLog::Bounded
        } else {
            FallbackLog::Off
        })
    }

    /// How the events published while Kafka is unavailable are logged
    /// (the variable `ONEX_FALLBACK_LOG`). Default:
    /// [`FallbackLog::Bounded`], the first 100 of each outage one by one,
    /// then summaries with counts.
    pub fn fallback_log_mode(mut self, mode: FallbackLog) -> Self {
        self.fallback_log = mode;
        self
    }

    /// Calls `listener` once per event with its final outcome: delivered
    /// (with partition, offset and latency), failed, overflowed, expired or
    /// lost. Runs on the producer's thread: keep it short.
    pub fn on_delivery(
        mut self,
        listener: impl Fn(&DeliveryReport) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }

    /// The consumer group a consuming client joins (`group.id`). Producers
    /// ignore it.
    pub fn consumer_group(mut self, group: impl Into<String>) -> Self {
        self.consumer_group = Some(group.into());
        self
    }

    /// Where a consumer group with no committed offset starts reading.
    /// Producers ignore it.
    pub fn auto_offset_reset(mut self, reset: OffsetReset) -> Self {
        self.auto_offset_reset = Some(reset);
        self
    }

    /// The consumer group, if set.
    pub fn consumer_group_id(&self) -> Option<&str> {
        self.consumer_group.as_deref()
    }

    /// Where a new consumer group starts, if set (librdkafka's default,
    /// `latest`, otherwise).
    pub fn offset_reset(&self) -> Option<OffsetReset> {
        self.auto_offset_reset
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

    /// Checks the names librdkafka would otherwise take and fail on per
    /// event: the bootstrap list (every entry `host:port` — an IPv6 address
    /// in brackets —, a port from 1 to 65535, no empty entry; librdkafka
    /// would treat `,,` or `not a host` as an outage and silently wrap port
    /// 99999 to another) and the topic names of the routing (see
    /// [`TopicRouting`]: a single topic must be a name Kafka accepts, a
    /// prefix must leave room for the rest of the topic).
    /// [`KafkaSink::new`](crate::KafkaSink::new), the outbox relays and
    /// [`KafkaConfig::from_lookup`] call it; a well-formed address nothing
    /// answers at is not an error (events wait for it).
    ///
    /// ```
    /// use onex_events::kafka::{KafkaConfig, KafkaConfigError, TopicRouting};
    ///
    /// assert!(KafkaConfig::new("b1:9092").validate().is_ok());
    /// let bad_port = KafkaConfig::new("127.0.0.1:99999").validate();
    /// assert!(matches!(bad_port, Err(KafkaConfigError::InvalidBootstrapServers { .. })));
    /// let bad_topic = KafkaConfig::new("b1:9092").topics(TopicRouting::single("bad topic!"));
    /// assert!(matches!(bad_topic.validate(), Err(KafkaConfigError::InvalidTopic { .. })));
    /// ```
    pub fn validate(&self) -> Result<(), KafkaConfigError> {
        let servers = self.bootstrap_servers();
        if servers.trim().is_empty() {
            return Err(KafkaConfigError::MissingBootstrapServers);
        }
        check_bootstrap_servers(servers).map_err(|reason| {
            KafkaConfigError::InvalidBootstrapServers {
                servers: servers.to_owned(),
                reason,
            }
        })?;
        self.topics
            .check_names()
            .map_err(|(topic, reason)| KafkaConfigError::InvalidTopic { topic, reason })
    }

    /// The librdkafka configuration. With TLS (`security.protocol` `SSL` or
    /// `SASL_SSL`) and no `socket.connection.setup.timeout.ms` of the
    /// user's, a connection setup times out after [`TLS_SETUP_TIMEOUT_MS`]
    /// rather than librdkafka's 30 s: a listener that does not speak TLS
    /// leaves the handshake hanging, and this is how soon the sink can say
    /// so (`last_error()`).
    pub(crate) fn client_config(&self) -> rdkafka::ClientConfig {
        let mut cc = rdkafka::ClientConfig::new();
        for (k, v) in &self.properties {
            cc.set(k, v);
        }
        let tls = self
            .get("security.protocol")
            .is_some_and(|p| p.to_ascii_uppercase().contains("SSL"));
        if tls && self.get(SETUP_TIMEOUT).is_none() {
            cc.set(SETUP_TIMEOUT, TLS_SETUP_TIMEOUT_MS.to_string());
        }
        cc
    }
}

/// librdkafka's connection setup timeout (TCP, TLS and SASL handshakes).
const SETUP_TIMEOUT: &str = "socket.connection.setup.timeout.ms";

/// The connection setup timeout with TLS, unless set: 10 s.
pub const TLS_SETUP_TIMEOUT_MS: u32 = 10_000;

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
            .field("consumer_group", &self.consumer_group)
            .field("auto_offset_reset", &self.auto_offset_reset)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_connection_setup_times_out_within_seconds_unless_set() {
        let setup = |c: &KafkaConfig| c.client_config().get(SETUP_TIMEOUT).map(str::to_owned);
        assert_eq!(setup(&KafkaConfig::new("b:9092")), None);
        let tls = KafkaConfig::new("b:9092").property("security.protocol", "SASL_SSL");
        assert_eq!(setup(&tls), Some(TLS_SETUP_TIMEOUT_MS.to_string()));
        let own = tls.property(SETUP_TIMEOUT, "3000");
        assert_eq!(setup(&own), Some("3000".to_owned()));
    }

    #[test]
    fn pass_through_properties_override_defaults() {
        let config = KafkaConfig::new("b:9092")
            .property("acks", "1")
            .property("ssl.key.password", "pw");
        assert_eq!(config.get("acks"), Some("1"));
        assert!(!format!("{config:?}").contains("\"pw\""));
    }

    #[test]
    fn no_property_that_can_hold_a_secret_appears_in_debug() {
        let secrets = [
            "sasl.password",
            "sasl.oauthbearer.config",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.assertion.private.key.passphrase",
            "sasl.oauthbearer.assertion.private.key.pem",
            "ssl.key.password",
            "ssl.key.pem",
            "ssl.keystore.password",
            "ssl.certificate.pem",
            "ssl_key",
            "ssl_certificate",
            "SSL.Key.Password",
        ];
        let config = secrets.iter().fold(KafkaConfig::new("b:9092"), |c, key| {
            c.property(*key, format!("secret-value-of-{key}"))
        });
        let debug = format!("{config:?}");
        assert!(!debug.contains("secret-value-of"), "{debug}");
        for key in secrets {
            assert!(debug.contains(key), "the key stays visible: {debug}");
        }
        assert!(
            debug.contains("\"b:9092\""),
            "other values stay visible: {debug}"
        );
    }
}
