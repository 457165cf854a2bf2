//! The outbox's variables, read from the process environment or from any
//! map of variables (tests need no `set_var`): [`OutboxConfig::from_lookup`]
//! and [`enabled_in`].

use super::config::{Location, OutboxConfig};
use super::relay::RelayConfig;
use super::OutboxError;
use crate::kafka::KafkaConfig;
use std::time::Duration;

/// `true`/`1`/`yes`/`on` switches [`Publisher::from_env`](crate::Publisher::from_env)
/// to the outbox (the seed's name); `false`/`0`/`no`/`off`, empty or unset
/// leave it off (ASCII case and surrounding blanks ignored). Any other
/// value is an error at start: see [`enabled_in`].
pub const USE_OUTBOX_PATTERN: &str = crate::outbox_switch::USE_OUTBOX_PATTERN;
/// The SQLite file; default `onex-outbox.db` in the working directory.
/// Ignored when [`URL`] is set.
pub const PATH: &str = "ONEX_OUTBOX_PATH";
/// A PostgreSQL outbox instead of the SQLite file: a `postgres://…` or
/// `postgresql://…` URL (TLS with `sslmode=require`, see
/// `outbox::postgres`), opened with `PgOutboxSink` when onex-events is
/// built with the feature `outbox-postgres`. Without that feature the
/// outbox is unavailable (logged at `ERROR`, see
/// [`Publisher::from_env`](crate::Publisher::from_env)).
pub const URL: &str = "ONEX_OUTBOX_URL";
/// Seconds delivered rows are kept before they are deleted (default 3600).
pub const RETENTION_SECS: &str = "ONEX_OUTBOX_RETENTION_SECS";
/// Topic that also receives dead-lettered events (default: none).
pub const DEAD_LETTER_TOPIC: &str = "ONEX_OUTBOX_DEAD_LETTER_TOPIC";

/// Whether `USE_OUTBOX_PATTERN` of the process environment asks for the
/// outbox: [`enabled_in`] of the environment.
pub fn enabled_in_env() -> Result<bool, OutboxError> {
    enabled_in(|name| std::env::var(name).ok())
}

/// Whether `USE_OUTBOX_PATTERN`, as `lookup` gives it, asks for the outbox:
/// on for `true`/`1`/`yes`/`on`, off for `false`/`0`/`no`/`off`, empty or
/// unset (ASCII case and surrounding blanks ignored), and
/// [`OutboxError::InvalidEnv`] for any other value (`ture`, `enabled`,
/// `y`…): a misspelled switch is an error, never the outbox silently off.
///
/// ```
/// use onex_events::outbox::enabled_in;
/// let switch = |value: &'static str| {
///     enabled_in(move |name| (name == "USE_OUTBOX_PATTERN").then(|| value.to_owned()))
/// };
/// assert!(switch("true")?);
/// assert!(!switch("off")?);
/// assert!(!enabled_in(|_| None)?);
/// assert!(switch("ture").is_err());
/// # Ok::<(), onex_events::outbox::OutboxError>(())
/// ```
pub fn enabled_in(lookup: impl Fn(&str) -> Option<String>) -> Result<bool, OutboxError> {
    crate::outbox_switch::outbox_requested(lookup).map_err(|_| OutboxError::InvalidEnv {
        name: USE_OUTBOX_PATTERN,
        reason: "expected one of true, false, 1, 0, yes, no, on, off (or empty)",
    })
}

impl OutboxConfig {
    /// [`OutboxConfig::from_lookup`] of the process environment.
    pub fn from_env() -> Result<Self, OutboxError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The outbox `lookup` describes: PostgreSQL at `ONEX_OUTBOX_URL` when
    /// it is set, else the SQLite file `ONEX_OUTBOX_PATH` (default
    /// `onex-outbox.db`); a relay with `ONEX_OUTBOX_RETENTION_SECS`,
    /// `ONEX_OUTBOX_DEAD_LETTER_TOPIC` and the Kafka variables of
    /// [`KafkaConfig::from_lookup`] (which requires
    /// `KAFKA_BOOTSTRAP_SERVERS`). Empty values count as unset. A location
    /// the backend cannot use is reported when the outbox is opened.
    ///
    /// ```
    /// use onex_events::outbox::{Location, OutboxConfig};
    /// let vars = [("KAFKA_BOOTSTRAP_SERVERS", "k:9092"), ("ONEX_OUTBOX_PATH", "o.db")];
    /// let lookup = |name: &str| {
    ///     vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    /// };
    /// let config = OutboxConfig::from_lookup(lookup)?;
    /// assert_eq!(config.location(), &Location::Sqlite("o.db".into()));
    /// # Ok::<(), onex_events::outbox::OutboxError>(())
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, OutboxError> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let location = match (var(URL), var(PATH)) {
            (Some(url), _) => Location::Postgres(url),
            (None, path) => {
                Location::Sqlite(path.unwrap_or_else(|| "onex-outbox.db".into()).into())
            }
        };
        let mut relay = RelayConfig::new(KafkaConfig::from_lookup(&lookup)?);
        if let Some(v) = var(RETENTION_SECS) {
            let secs = v.parse::<u64>().map_err(|_| OutboxError::InvalidEnv {
                name: RETENTION_SECS,
                reason: "expected a number of seconds",
            })?;
            relay = relay.retention(Duration::from_secs(secs));
        }
        if let Some(topic) = var(DEAD_LETTER_TOPIC) {
            relay = relay.dead_letter_topic(topic);
        }
        Ok(OutboxConfig::at(location).relay(relay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(
        vars: &'a [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    const KAFKA: (&str, &str) = ("KAFKA_BOOTSTRAP_SERVERS", "k:9092");

    #[test]
    fn the_outbox_url_picks_postgresql_and_the_path_sqlite() {
        let pg = "postgres://app@db:5432/app";
        let location = |vars: &[(&'static str, &'static str)]| {
            OutboxConfig::from_lookup(lookup(vars)).unwrap().location
        };
        assert_eq!(
            location(&[KAFKA]),
            Location::Sqlite("onex-outbox.db".into())
        );
        assert_eq!(
            location(&[KAFKA, (URL, "  "), (PATH, "o.db")]),
            Location::Sqlite("o.db".into())
        );
        assert_eq!(
            location(&[KAFKA, (URL, pg), (PATH, "o.db")]),
            Location::Postgres(pg.to_owned())
        );
        assert_eq!(
            location(&[KAFKA, (URL, " PostgreSQL://h/db ")]),
            Location::Postgres("PostgreSQL://h/db".to_owned())
        );
    }

    #[test]
    fn relay_settings_come_from_their_variables() {
        let config = OutboxConfig::from_lookup(lookup(&[
            KAFKA,
            (RETENTION_SECS, " 60 "),
            (DEAD_LETTER_TOPIC, "dead"),
        ]))
        .unwrap();
        let relay = config.relay_config().unwrap();
        assert_eq!(relay.retention, Duration::from_secs(60));
        assert_eq!(relay.dead_letter_topic.as_deref(), Some("dead"));
        assert_eq!(relay.kafka.bootstrap_servers(), "k:9092");
    }

    #[test]
    fn a_bad_retention_is_an_outbox_error_naming_the_variable() {
        let err =
            OutboxConfig::from_lookup(lookup(&[KAFKA, (RETENTION_SECS, "an hour")])).unwrap_err();
        assert!(
            matches!(err, OutboxError::InvalidEnv { name, .. } if name == RETENTION_SECS),
            "{err:?}"
        );
        assert!(err.to_string().contains(RETENTION_SECS), "{err}");
    }

    #[test]
    fn the_switch_reads_the_seeds_values_and_refuses_others() {
        for on in ["true", " TRUE ", "1", "yes", "on"] {
            assert!(
                enabled_in(lookup(&[(USE_OUTBOX_PATTERN, on)])).unwrap(),
                "{on}"
            );
        }
        for off in ["false", "0", "", "no", "OFF"] {
            assert!(
                !enabled_in(lookup(&[(USE_OUTBOX_PATTERN, off)])).unwrap(),
                "{off}"
            );
        }
        assert!(!enabled_in(lookup(&[])).unwrap());
        for bad in ["nope", "ture", "enabled", "y"] {
            let err = enabled_in(lookup(&[(USE_OUTBOX_PATTERN, bad)])).unwrap_err();
            assert!(err.to_string().contains(USE_OUTBOX_PATTERN), "{err}");
        }
    }
}
