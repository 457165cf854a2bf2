//! The environment variables of the seeds, in one place, and
//! [`KafkaConfig::from_env`] / [`KafkaConfig::from_lookup`], which read them
//! from the process environment or from any map of variables.

use super::config::{KafkaConfig, KafkaConfigError, OffsetReset};
use super::fallback_log::FallbackLog;
use super::names::{check_bootstrap_servers, check_topic};
use super::topic::TopicRouting;

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
/// For a producer, the maximum in-flight requests per broker connection
/// (`max.in.flight.requests.per.connection`, at most 5 with idempotence);
/// for a consumer (`EventConsumer::from_env`), as in the seeds, how many
/// events its handlers may have in hand at once (backpressure).
pub const MAX_IN_FLIGHT: &str = "KAFKA_MAX_IN_FLIGHT";
/// Prefix prepended, with a `.`, to every topic of the default routing.
pub const TOPIC_PREFIX: &str = "KAFKA_TOPIC_PREFIX";
/// Publish every event to this one topic instead of the default routing.
pub const TOPIC: &str = "KAFKA_TOPIC";
/// The service name, sent to the brokers as `client.id`.
pub const SERVICE_NAME: &str = "SERVICE_NAME";
/// The consumer group of a consuming client (`group.id`).
pub const CONSUMER_GROUP: &str = "KAFKA_CONSUMER_GROUP";
/// Where a consumer group with no committed offset starts:
/// `earliest` or `latest` (`auto.offset.reset`).
pub const AUTO_OFFSET_RESET: &str = "KAFKA_AUTO_OFFSET_RESET";
/// How the events published while Kafka is unavailable are logged:
/// `bounded` (the default: the first 100 of each outage one by one, then
/// summaries with counts), `full` (every one), `summary` or `off`; see
/// [`FallbackLog`].
pub const FALLBACK_LOG: &str = "ONEX_FALLBACK_LOG";

impl KafkaConfig {
    /// Reads the configuration from the environment (see
    /// [`env`](crate::kafka::env)): `KAFKA_BOOTSTRAP_SERVERS` (required),
    /// `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`,
    /// `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`, `KAFKA_MAX_IN_FLIGHT`,
    /// `KAFKA_TOPIC_PREFIX`, `KAFKA_TOPIC`, `SERVICE_NAME`,
    /// `ONEX_FALLBACK_LOG`, and for consumers `KAFKA_CONSUMER_GROUP` and
    /// `KAFKA_AUTO_OFFSET_RESET`.
    /// Unset or empty variables keep the defaults.
    ///
    /// A value that cannot be used is an error naming the variable,
    /// including a bootstrap list or topic name Kafka would reject (see
    /// [`KafkaConfig::validate`]); a well-formed address nothing answers at
    /// is not an error (events wait for the cluster).
    pub fn from_env() -> Result<Self, KafkaConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`KafkaConfig::from_env`] over any lookup, e.g. a map of variables
    /// (no process environment involved).
    ///
    /// ```
    /// use onex_events::kafka::KafkaConfig;
    /// use std::collections::HashMap;
    ///
    /// let vars = HashMap::from([("KAFKA_BOOTSTRAP_SERVERS", "b1:9092")]);
    /// let config = KafkaConfig::from_lookup(|name| vars.get(name).map(|v| v.to_string()))?;
    /// assert_eq!(config.bootstrap_servers(), "b1:9092");
    /// # Ok::<(), onex_events::kafka::KafkaConfigError>(())
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, KafkaConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let servers = get(BOOTSTRAP_SERVERS).ok_or(KafkaConfigError::MissingBootstrapServers)?;
        check_bootstrap_servers(&servers).map_err(invalid(BOOTSTRAP_SERVERS, &servers))?;
        let mut config = KafkaConfig::new(servers.trim());
        if let Some(v) = get(SECURITY_PROTOCOL) {
            config = config.property("security.protocol", v.trim());
        }
        if let Some(v) = get(SASL_MECHANISM) {
            config = config.property("sasl.mechanism", v.trim());
        }
        if let Some(v) = get(SASL_USERNAME) {
            config = config.property("sasl.username", v);
        }
        if let Some(v) = lookup(SASL_PASSWORD).filter(|v| !v.is_empty()) {
            config = config.property("sasl.password", v);
        }
        if let Some(v) = get(MAX_IN_FLIGHT) {
            config = config.max_in_flight(positive(MAX_IN_FLIGHT, &v)?);
        }
        if let Some(v) = get(SERVICE_NAME) {
            config = config.property("client.id", v.trim());
        }
        if let Some(topic) = get(TOPIC) {
            check_topic(topic.trim()).map_err(invalid(TOPIC, &topic))?;
            config = config.topics(TopicRouting::single(topic.trim()));
        } else if let Some(prefix) = get(TOPIC_PREFIX) {
            config = config.topics(TopicRouting::prefixed(prefix.trim()));
            if let Err((_, reason)) = config.topics.check_names() {
                return Err(invalid(TOPIC_PREFIX, &prefix)(reason));
            }
        }
        if let Some(group) = get(CONSUMER_GROUP) {
            config = config.consumer_group(group.trim());
        }
        if let Some(v) = get(AUTO_OFFSET_RESET) {
            let reset =
                v.trim()
                    .parse::<OffsetReset>()
                    .map_err(|()| KafkaConfigError::InvalidEnv {
                        name: AUTO_OFFSET_RESET,
                        value: v.clone(),
                        reason: "expected `earliest` or `latest`",
                    })?;
            config = config.auto_offset_reset(reset);
        }
        if let Some(v) = get(FALLBACK_LOG) {
            let mode =
                v.trim()
                    .parse::<FallbackLog>()
                    .map_err(|()| KafkaConfigError::InvalidEnv {
                        name: FALLBACK_LOG,
                        value: v.clone(),
                        reason: "expected `bounded`, `full`, `summary` or `off`",
                    })?;
            config = config.fallback_log_mode(mode);
        }
        Ok(config)
    }
}

/// What a consumer reads from variables: the configuration of
/// [`KafkaConfig::from_lookup`], except that [`MAX_IN_FLIGHT`] is the
/// consumer's in-flight limit (a positive integer) rather than a producer
/// property.
pub(crate) fn consumer_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(KafkaConfig, Option<usize>), KafkaConfigError> {
    let config = KafkaConfig::from_lookup(|name| {
        if name == MAX_IN_FLIGHT {
            None
        } else {
            lookup(name)
        }
    })?;
    let limit = lookup(MAX_IN_FLIGHT)
        .filter(|v| !v.trim().is_empty())
        .map(|v| positive(MAX_IN_FLIGHT, &v))
        .transpose()?;
    Ok((config, limit))
}

/// The positive integer variable `name` holds as `value`.
fn positive<T: std::str::FromStr + Default + PartialOrd>(
    name: &'static str,
    value: &str,
) -> Result<T, KafkaConfigError> {
    value
        .trim()
        .parse::<T>()
        .ok()
        .filter(|n| *n > T::default())
        .ok_or_else(|| KafkaConfigError::InvalidEnv {
            name,
            value: value.to_owned(),
            reason: "expected a positive integer",
        })
}

/// A `map_err` for variable `name` holding `value`.
fn invalid(name: &'static str, value: &str) -> impl FnOnce(&'static str) -> KafkaConfigError {
    let value = value.to_owned();
    move |reason| KafkaConfigError::InvalidEnv {
        name,
        value,
        reason,
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
    fn a_topic_name_kafka_would_reject_is_a_configuration_error() {
        for bad in ["bad topic!", &"t".repeat(300), ".", "..", "näme"] {
            let err = KafkaConfig::from_lookup(lookup(&[
                ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
                ("KAFKA_TOPIC", bad),
            ]))
            .unwrap_err();
            assert!(
                matches!(&err, KafkaConfigError::InvalidEnv { name, value, .. } if *name == "KAFKA_TOPIC" && value == bad),
                "{bad}: {err:?}"
            );
        }
        let long_prefix = "p".repeat(300);
        let err = KafkaConfig::from_lookup(lookup(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
            ("KAFKA_TOPIC_PREFIX", &long_prefix),
        ]))
        .unwrap_err();
        assert!(
            matches!(err, KafkaConfigError::InvalidEnv { name, .. } if name == "KAFKA_TOPIC_PREFIX")
        );
        let good = KafkaConfig::from_lookup(lookup(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
            ("KAFKA_TOPIC", " onex.events-all_v1 "),
        ]));
        assert!(good.is_ok());
    }

    #[test]
    fn a_bootstrap_port_out_of_range_is_a_configuration_error() {
        for bad in ["127.0.0.1:99999", "b:0", "b:-1"] {
            let err =
                KafkaConfig::from_lookup(lookup(&[("KAFKA_BOOTSTRAP_SERVERS", bad)])).unwrap_err();
            assert!(
                matches!(&err, KafkaConfigError::InvalidEnv { name, .. } if *name == "KAFKA_BOOTSTRAP_SERVERS"),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("65535"), "{err}");
        }
    }

    #[test]
    fn empty_or_malformed_bootstrap_entries_are_a_configuration_error() {
        for bad in [",,", "b1:9092,,b2:9092", "not a host", "b1", "b1:9092,"] {
            let err =
                KafkaConfig::from_lookup(lookup(&[("KAFKA_BOOTSTRAP_SERVERS", bad)])).unwrap_err();
            assert!(
                matches!(&err, KafkaConfigError::InvalidEnv { name, .. } if *name == "KAFKA_BOOTSTRAP_SERVERS"),
                "{bad}: {err:?}"
            );
        }
        // Well formed, if nothing answers there: an outage, not an error.
        let unreachable = lookup(&[("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1,[::1]:1")]);
        assert!(KafkaConfig::from_lookup(unreachable).is_ok());
    }

    #[test]
    fn for_a_consumer_max_in_flight_is_its_handler_limit() {
        let (config, limit) = consumer_from_lookup(lookup(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
            ("KAFKA_MAX_IN_FLIGHT", " 1000 "),
        ]))
        .unwrap();
        assert_eq!(limit, Some(1000));
        assert_eq!(config.get("max.in.flight.requests.per.connection"), None);
        let (_, none) =
            consumer_from_lookup(lookup(&[("KAFKA_BOOTSTRAP_SERVERS", "b:9092")])).unwrap();
        assert_eq!(none, None);
        for bad in ["0", "-1", "many"] {
            let err = consumer_from_lookup(lookup(&[
                ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
                ("KAFKA_MAX_IN_FLIGHT", bad),
            ]))
            .unwrap_err();
            assert!(
                matches!(err, KafkaConfigError::InvalidEnv { name, .. } if name == "KAFKA_MAX_IN_FLIGHT"),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn reads_the_fallback_log_switch() {
        let read = |value: &str| {
            KafkaConfig::from_lookup(lookup(&[
                ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
                ("ONEX_FALLBACK_LOG", value),
            ]))
        };
        assert_eq!(read("").unwrap().fallback_log, FallbackLog::Bounded);
        assert_eq!(
            read(" Summary ").unwrap().fallback_log,
            FallbackLog::Summary
        );
        assert_eq!(read("off").unwrap().fallback_log, FallbackLog::Off);
        assert_eq!(read("FULL").unwrap().fallback_log, FallbackLog::Full);
        assert!(matches!(
            read("quiet").unwrap_err(),
            KafkaConfigError::InvalidEnv { name, .. } if name == "ONEX_FALLBACK_LOG"
        ));
    }

    #[test]
    fn reads_the_consumer_variables() {
        let config = KafkaConfig::from_lookup(lookup(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
            ("KAFKA_CONSUMER_GROUP", " billing "),
            ("KAFKA_AUTO_OFFSET_RESET", "Earliest"),
        ]))
        .unwrap();
        assert_eq!(config.consumer_group_id(), Some("billing"));
        assert_eq!(config.offset_reset(), Some(OffsetReset::Earliest));
        assert_eq!(config.get("group.id"), None, "not a producer property");

        let plain = KafkaConfig::from_lookup(lookup(&[("KAFKA_BOOTSTRAP_SERVERS", "b:9092")]));
        assert_eq!(plain.unwrap().offset_reset(), None);

        let err = KafkaConfig::from_lookup(lookup(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "b:9092"),
            ("KAFKA_AUTO_OFFSET_RESET", "sometimes"),
        ]))
        .unwrap_err();
        assert!(
            matches!(err, KafkaConfigError::InvalidEnv { name, .. } if name == "KAFKA_AUTO_OFFSET_RESET")
        );
    }
}
