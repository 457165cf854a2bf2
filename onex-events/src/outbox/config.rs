//! [`OutboxConfig`]: where the outbox lives, how durable its commits are
//! and how its relay delivers, from code or from the environment.

use super::OutboxError;
use crate::kafka::KafkaConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variables [`OutboxConfig::from_env`] reads.
pub mod env {
    /// `true`/`1`/`yes`/`on` switches [`Publisher::from_env`](crate::Publisher::from_env)
    /// to the outbox (the seed's name).
    pub const USE_OUTBOX_PATTERN: &str = "USE_OUTBOX_PATTERN";
    /// The SQLite file; default `onex-outbox.db` in the working directory.
    /// Ignored when [`URL`] is set.
    pub const PATH: &str = "ONEX_OUTBOX_PATH";
    /// A PostgreSQL outbox instead of the SQLite file: a `postgres://…` or
    /// `postgresql://…` URL (no TLS), opened with `PgOutboxSink::open`
    /// when onex-events is built with the feature `outbox-postgres`.
    /// Without that feature the outbox is unavailable (logged at `ERROR`,
    /// see [`Publisher::from_env`](crate::Publisher::from_env)).
    pub const URL: &str = "ONEX_OUTBOX_URL";
    /// Seconds delivered rows are kept before they are deleted (default 3600).
    pub const RETENTION_SECS: &str = "ONEX_OUTBOX_RETENTION_SECS";
    /// Topic that also receives dead-lettered events (default: none).
    pub const DEAD_LETTER_TOPIC: &str = "ONEX_OUTBOX_DEAD_LETTER_TOPIC";
}

/// Whether `USE_OUTBOX_PATTERN` asks for the outbox.
pub fn enabled_in_env() -> bool {
    std::env::var(env::USE_OUTBOX_PATTERN).is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// Where the environment puts the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// The SQLite file of [`OutboxConfig::path`].
    Sqlite,
    /// The PostgreSQL database at this URL.
    Postgres(String),
}

/// Whether `s` is a PostgreSQL URL (`postgres://` or `postgresql://`).
fn is_postgres_url(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The outbox location given the values of [`env::URL`] and [`env::PATH`]:
/// PostgreSQL when `url` is set, the SQLite file otherwise. A `url` that
/// is not a PostgreSQL URL, or a PostgreSQL URL in `path` (a SQLite file
/// name), is an error. Values are never echoed: a URL may hold a password.
pub(crate) fn location(url: Option<&str>, path: Option<&str>) -> Result<Location, OutboxError> {
    fn set(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|v| !v.is_empty())
    }
    match (set(url), set(path)) {
        (Some(url), _) if is_postgres_url(url) => Ok(Location::Postgres(url.to_owned())),
        (Some(_), _) => Err(OutboxError::InvalidEnv {
            name: env::URL,
            reason: "expected a postgres:// or postgresql:// URL",
        }),
        (None, Some(path)) if is_postgres_url(path) => Err(OutboxError::InvalidEnv {
            name: env::PATH,
            reason: "holds a PostgreSQL URL; set ONEX_OUTBOX_URL instead (ONEX_OUTBOX_PATH names a SQLite file)",
        }),
        (None, _) => Ok(Location::Sqlite),
    }
}

/// [`location`] of the process environment.
pub(crate) fn location_in_env() -> Result<Location, OutboxError> {
    let url = std::env::var(env::URL).ok();
    let path = std::env::var(env::PATH).ok();
    location(url.as_deref(), path.as_deref())
}

/// How durable a commit is (SQLite's `PRAGMA synchronous` in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Survives a crash or `kill -9` of the process; the last commits may be
    /// lost on a power failure or OS crash. No `fsync` per commit.
    #[default]
    Process,
    /// Survives a power failure too: one `fsync` per group commit.
    PowerLoss,
}

/// How an [`OutboxSink`](super::OutboxSink) stores events and how its relay
/// delivers them.
///
/// ```no_run
/// use onex_events::outbox::{OutboxConfig, OutboxSink};
/// use onex_events::sink::kafka::KafkaConfig;
/// use onex_events::Publisher;
/// use std::time::Duration;
///
/// let config = OutboxConfig::new("/var/lib/orders/outbox.db")
///     .kafka(KafkaConfig::new("broker-1:9092"))
///     .retention(Duration::from_secs(600))
///     .dead_letter_topic("orders.dead-letter");
/// let publisher = Publisher::new(OutboxSink::open(config)?);
/// # Ok::<(), onex_events::outbox::OutboxError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct OutboxConfig {
    pub(crate) path: PathBuf,
    pub(crate) kafka: Option<KafkaConfig>,
    pub(crate) durability: Durability,
    pub(crate) retention: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) batch_size: usize,
    pub(crate) delivery_timeout: Duration,
    pub(crate) dead_letter_topic: Option<String>,
    pub(crate) max_size_bytes: Option<u64>,
    pub(crate) idle_poll: Duration,
    pub(crate) commit_linger: Duration,
}

impl OutboxConfig {
    /// An outbox in the SQLite file at `path` (created if missing; its
    /// directory must exist), with no relay until [`OutboxConfig::kafka`].
    pub fn new(path: impl Into<PathBuf>) -> Self {
        OutboxConfig {
            path: path.into(),
            kafka: None,
            durability: Durability::default(),
            retention: Duration::from_secs(3600),
            max_attempts: 10,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(30),
            batch_size: 5_000,
            delivery_timeout: Duration::from_secs(30),
            dead_letter_topic: None,
            max_size_bytes: None,
            idle_poll: Duration::from_millis(100),
            commit_linger: Duration::from_millis(1),
        }
    }

    /// Reads `ONEX_OUTBOX_PATH`, `ONEX_OUTBOX_RETENTION_SECS`,
    /// `ONEX_OUTBOX_DEAD_LETTER_TOPIC` and the Kafka variables of
    /// [`KafkaConfig::from_env`] (which requires `KAFKA_BOOTSTRAP_SERVERS`).
    /// `ONEX_OUTBOX_URL` (a PostgreSQL outbox) is read by
    /// [`Publisher::from_env`](crate::Publisher::from_env), not here.
    pub fn from_env() -> Result<Self, OutboxError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let path = var(env::PATH).unwrap_or_else(|| "onex-outbox.db".to_owned());
        let mut config = OutboxConfig::new(path.trim()).kafka(KafkaConfig::from_env()?);
        if let Some(v) = var(env::RETENTION_SECS) {
            let secs = v.trim().parse::<u64>().map_err(|_| {
                crate::kafka::KafkaConfigError::InvalidEnv {
                    name: env::RETENTION_SECS,
                    value: v.clone(),
                    reason: "expected a number of seconds",
                }
            })?;
            config = config.retention(Duration::from_secs(secs));
        }
        if let Some(topic) = var(env::DEAD_LETTER_TOPIC) {
            config = config.dead_letter_topic(topic.trim());
        }
        Ok(config)
    }

    /// Runs a relay to this cluster in the process that opens the outbox.
    /// Its producer uses `config`'s properties (idempotence, `acks=all`) and
    /// topic routing; its retry buffer settings do not apply (the outbox is
    /// the buffer).
    pub fn kafka(mut self, config: KafkaConfig) -> Self {
        self.kafka = Some(config);
        self
    }

    /// Commit durability. Default: [`Durability::Process`].
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// How long delivered rows are kept before they are deleted. Default:
    /// one hour. Zero deletes them as soon as they are delivered.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Failed deliveries, with an error that names the record (too large,
    /// invalid topic, not authorized…), before an event moves to the
    /// dead-letter table. Default: 10. Failures because the cluster is
    /// unreachable never dead-letter an event: it waits for the cluster.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Backoff between retries of one event: doubles from `initial` up to
    /// `max`. Default: 200 ms to 30 s.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max.max(initial);
        self
    }

    /// Events the relay reads and sends at once. Default: 5,000.
    pub fn batch_size(mut self, events: usize) -> Self {
        self.batch_size = events.max(1);
        self
    }

    /// How long the relay waits for the cluster to acknowledge a batch
    /// (librdkafka's `message.timeout.ms`) before retrying it. Default: 30 s.
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// Also publish each dead-lettered event to `topic`, with the error in
    /// an `onex_dead_letter_error` header.
    pub fn dead_letter_topic(mut self, topic: impl Into<String>) -> Self {
        self.dead_letter_topic = Some(topic.into());
        self
    }

    /// Caps the file's size; a commit beyond it fails like a full disk.
    pub fn max_size_bytes(mut self, bytes: u64) -> Self {
        self.max_size_bytes = Some(bytes);
        self
    }

    /// How often an idle relay looks for rows committed by other
    /// connections (its own commits wake it at once). Default: 100 ms.
    pub fn idle_poll(mut self, interval: Duration) -> Self {
        self.idle_poll = interval;
        self
    }

    /// How long the committer may hold events nobody waits for (an
    /// operation's `started`) to commit them together with later ones; an
    /// event a publisher waits for is committed at once, with everything
    /// queued before it. Default: 1 ms; at most 1 s.
    pub fn commit_linger(mut self, linger: Duration) -> Self {
        self.commit_linger = linger.min(Duration::from_secs(1));
        self
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_url_picks_postgresql_and_the_path_sqlite() {
        let pg = "postgres://app@db:5432/app";
        assert_eq!(location(None, None).unwrap(), Location::Sqlite);
        assert_eq!(
            location(Some("  "), Some("o.db")).unwrap(),
            Location::Sqlite
        );
        assert_eq!(
            location(Some(pg), Some("o.db")).unwrap(),
            Location::Postgres(pg.to_owned())
        );
        assert_eq!(
            location(Some(" PostgreSQL://h/db "), None).unwrap(),
            Location::Postgres("PostgreSQL://h/db".to_owned())
        );
    }

    #[test]
    fn an_outbox_url_that_is_not_postgresql_is_an_error_that_hides_it() {
        let err = location(Some("mysql://root:secret@h/db"), None).unwrap_err();
        assert!(
            matches!(err, OutboxError::InvalidEnv { name, .. } if name == env::URL),
            "{err}"
        );
        assert!(!err.to_string().contains("secret"), "{err}");
        let err = location(None, Some("postgres://u:secret@h/db")).unwrap_err();
        assert!(
            matches!(err, OutboxError::InvalidEnv { name, .. } if name == env::PATH),
            "{err}"
        );
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
