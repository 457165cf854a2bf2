//! [`OutboxConfig`]: which backend holds the outbox and where, how its
//! commits are made, and (apart, in a [`RelayConfig`]) how its relay
//! delivers. From code, or from variables (see [`env`](super::env)).

use super::relay::RelayConfig;
use super::OutboxError;
use crate::kafka::{KafkaConfig, TopicRouting};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where an outbox lives: the backend and its location.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A SQLite file (`OutboxSink`).
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its `postgres://` or `postgresql://` URL
    /// (`PgOutboxSink`, feature `outbox-postgres`).
    Postgres(String),
}

impl Location {
    /// The backend's name, as in errors and logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Location::Sqlite(_) => "SQLite",
            Location::Postgres(_) => "PostgreSQL",
        }
    }

    /// Refuses a PostgreSQL location that is not a PostgreSQL URL, and a
    /// PostgreSQL URL given as a SQLite file name. The value is never
    /// repeated: a URL may hold a password.
    pub(crate) fn check(&self) -> Result<(), OutboxError> {
        match self {
            Location::Postgres(url) if !is_postgres_url(url) => Err(OutboxError::NotPostgresUrl),
            Location::Sqlite(path) if path.to_str().is_some_and(is_postgres_url) => {
                Err(OutboxError::PostgresUrlAsPath)
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Location {
    /// Never shows a PostgreSQL URL: it may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Location::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// Whether `s` is a PostgreSQL URL (`postgres://` or `postgresql://`).
pub(crate) fn is_postgres_url(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
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

/// Where an outbox lives, how its commits are made and, when it runs a
/// relay in this process, the relay's settings ([`RelayConfig`]).
///
/// ```no_run
/// use onex_events::outbox::{OutboxConfig, OutboxSink, RelayConfig};
/// use onex_events::kafka::KafkaConfig;
/// use onex_events::Publisher;
/// use std::time::Duration;
///
/// let config = OutboxConfig::sqlite("/var/lib/orders/outbox.db").relay(
///     RelayConfig::new(KafkaConfig::new("broker-1:9092"))
///         .retention(Duration::from_secs(600))
///         .dead_letter_topic("orders.dead-letter"),
/// );
/// let publisher = Publisher::new(OutboxSink::open(config)?);
/// # Ok::<(), onex_events::outbox::OutboxError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct OutboxConfig {
    pub(crate) location: Location,
    pub(crate) relay: Option<RelayConfig>,
    pub(crate) commit_linger: Duration,
    pub(crate) durability: Durability,
    pub(crate) max_size_bytes: Option<u64>,
}

impl OutboxConfig {
    /// An outbox at `location`, with no relay until [`OutboxConfig::relay`].
    pub fn at(location: Location) -> Self {
        OutboxConfig {
            location,
            relay: None,
            commit_linger: Duration::from_millis(1),
            durability: Durability::default(),
            max_size_bytes: None,
        }
    }

    /// An outbox in the SQLite file at `path` (created if missing; its
    /// directory must exist), opened with `OutboxSink::open`.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        OutboxConfig::at(Location::Sqlite(path.into()))
    }

    /// An outbox in the PostgreSQL database at `url`
    /// (`postgres://user@host:5432/db`; TLS with `sslmode=require`, see
    /// `outbox::postgres`), opened with `PgOutboxSink::open` (feature
    /// `outbox-postgres`).
    pub fn postgres(url: impl Into<String>) -> Self {
        OutboxConfig::at(Location::Postgres(url.into()))
    }

    /// Runs a relay with these settings in the process that opens the
    /// outbox.
    pub fn relay(mut self, relay: RelayConfig) -> Self {
        self.relay = Some(relay);
        self
    }

    /// Runs a relay to this cluster with the default relay settings:
    /// `relay(RelayConfig::new(kafka))`.
    pub fn kafka(self, kafka: KafkaConfig) -> Self {
        self.relay(RelayConfig::new(kafka))
    }

    /// How long the committer may hold events nobody waits for (an
    /// operation's `started`) to commit them together with later ones; an
    /// event a publisher waits for is committed at once, with everything
    /// queued before it. Default: 1 ms; at most 1 s.
    pub fn commit_linger(mut self, linger: Duration) -> Self {
        self.commit_linger = linger.min(Duration::from_secs(1));
        self
    }

    /// SQLite: commit durability. Default: [`Durability::Process`].
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// SQLite: caps the file's size; a commit beyond it fails like a full
    /// disk.
    pub fn max_size_bytes(mut self, bytes: u64) -> Self {
        self.max_size_bytes = Some(bytes);
        self
    }

    /// Where the outbox lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The SQLite file, for a SQLite outbox.
    pub fn path(&self) -> Option<&Path> {
        match &self.location {
            Location::Sqlite(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }

    /// The relay's settings, when this process runs one.
    pub fn relay_config(&self) -> Option<&RelayConfig> {
        self.relay.as_ref()
    }

    /// The topic routing of rows: the relay's, or the default.
    pub(crate) fn routing(&self) -> TopicRouting {
        self.relay
            .as_ref()
            .map(|r| r.kafka.topic_routing().clone())
            .unwrap_or_default()
    }

    /// The SQLite file, for `OutboxSink::open`; an error for another
    /// backend's location.
    pub(crate) fn sqlite_path(&self) -> Result<&Path, OutboxError> {
        self.location.check()?;
        match &self.location {
            Location::Sqlite(path) => Ok(path),
            other => Err(OutboxError::OtherBackend {
                config: other.backend(),
                sink: "SQLite",
            }),
        }
    }

    /// The PostgreSQL URL, for `PgOutboxSink::open`; an error for another
    /// backend's location.
    #[cfg(feature = "outbox-postgres")]
    pub(crate) fn postgres_url(&self) -> Result<&str, OutboxError> {
        self.location.check()?;
        match &self.location {
            Location::Postgres(url) => Ok(url),
            other => Err(OutboxError::OtherBackend {
                config: other.backend(),
                sink: "PostgreSQL",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_that_is_not_its_backends_is_refused_without_echoing_it() {
        let err = Location::Postgres("mysql://root:secret@h/db".to_owned())
            .check()
            .unwrap_err();
        assert!(matches!(err, OutboxError::NotPostgresUrl), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        let err = Location::Sqlite("postgres://u:secret@h/db".into())
            .check()
            .unwrap_err();
        assert!(matches!(err, OutboxError::PostgresUrlAsPath), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(
            !format!("{:?}", Location::Postgres("postgres://u:secret@h".into())).contains("secret")
        );
    }

    #[test]
    fn a_sink_refuses_the_other_backends_config() {
        let config = OutboxConfig::postgres("postgres://h/db");
        assert!(matches!(
            config.sqlite_path(),
            Err(OutboxError::OtherBackend { .. })
        ));
        assert!(OutboxConfig::sqlite("o.db").sqlite_path().is_ok());
    }
}
