//! [`OutboxError`]: what can go wrong with an outbox, one variant per
//! failure whichever the backend, named so an operator knows what to fix.

use rusqlite::ErrorCode;
use std::path::{Path, PathBuf};

/// The outbox could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The directory of the outbox file does not exist.
    #[error("outbox {path}: directory {dir} does not exist")]
    MissingDirectory {
        /// The outbox file.
        path: PathBuf,
        /// Its missing directory.
        dir: PathBuf,
    },
    /// The file or its directory is read-only.
    #[error("outbox {path}: read-only file or file system: {source}")]
    ReadOnly {
        /// The outbox file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The disk (or the configured size limit) is full.
    #[error("outbox {path}: disk or size limit full: {source}")]
    Full {
        /// The outbox file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The file is not an SQLite database, or is damaged.
    #[error("outbox {path}: corrupt or not an SQLite database: {source}")]
    Corrupt {
        /// The outbox file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The outbox's schema was migrated by a newer version of onex-events.
    #[error("outbox {outbox}: schema version {found} is newer than the supported {supported}")]
    SchemaTooNew {
        /// The outbox: its SQLite file, or `PostgreSQL`.
        outbox: String,
        /// The version found.
        found: u32,
        /// The newest version this crate knows.
        supported: u32,
    },
    /// An event could not be serialized into an outbox row.
    #[error("outbox: cannot serialize the event: {0}")]
    Encode(#[source] serde_json::Error),
    /// Any other SQLite error.
    #[error("outbox {path}: {source}")]
    Sqlite {
        /// The outbox file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A PostgreSQL outbox could not be reached, migrated or written.
    #[cfg(feature = "outbox-postgres")]
    #[error("outbox (PostgreSQL): {what}: {source}")]
    Postgres {
        /// What was being done.
        what: &'static str,
        /// The client's error.
        source: postgres::Error,
    },
    /// An outbox variable cannot be used (its value is not repeated).
    #[error("outbox: {name}: {reason}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A PostgreSQL location (`ONEX_OUTBOX_URL`) that is not a
    /// `postgres://` or `postgresql://` URL (not repeated: it may hold a
    /// password).
    #[error("outbox: the PostgreSQL location (ONEX_OUTBOX_URL) is not a postgres:// or postgresql:// URL")]
    NotPostgresUrl,
    /// A SQLite file name (`ONEX_OUTBOX_PATH`) that is a PostgreSQL URL.
    #[error(
        "outbox: the SQLite file name (ONEX_OUTBOX_PATH) holds a PostgreSQL URL; give it as the \
         PostgreSQL location (ONEX_OUTBOX_URL) instead"
    )]
    PostgresUrlAsPath,
    /// A sink was given the configuration of another backend's outbox
    /// (e.g. `OutboxSink::open(OutboxConfig::postgres(..))`).
    #[error("outbox: a {config} outbox's configuration given to the {sink} outbox's sink")]
    OtherBackend {
        /// The configuration's backend.
        config: &'static str,
        /// The sink's backend.
        sink: &'static str,
    },
    /// `ONEX_OUTBOX_URL` names a PostgreSQL outbox, but onex-events was
    /// built without the feature `outbox-postgres`.
    #[error(
        "outbox: ONEX_OUTBOX_URL names a PostgreSQL outbox, but onex-events was built without \
         the `outbox-postgres` feature"
    )]
    PostgresNotEnabled,
    /// TLS to PostgreSQL could not be set up (e.g. an unreadable CA file).
    #[cfg(feature = "outbox-postgres")]
    #[error("PostgreSQL outbox TLS: {reason}")]
    PostgresTls {
        /// What went wrong.
        reason: String,
    },
    /// The Kafka configuration of the relay was rejected (by
    /// `KafkaConfig::from_lookup`, or when creating its producer).
    #[error("outbox relay: {0}")]
    Kafka(#[from] crate::kafka::KafkaConfigError),
    /// The outbox could not be opened earlier (see
    /// [`OutboxSink::open_or_unavailable`](super::OutboxSink::open_or_unavailable)).
    #[error("the outbox is unavailable: {0}")]
    Unavailable(#[source] std::sync::Arc<OutboxError>),
    /// The relay cannot record what the cluster acknowledged (full disk…):
    /// it retries the recording, and sends nothing new until it works.
    #[error(
        "cannot record the outbox's deliveries (retrying; nothing new is sent meanwhile): {0}"
    )]
    NotRecorded(#[source] std::sync::Arc<OutboxError>),
    /// A thread could not be started.
    #[error("outbox: cannot start the {what} thread: {source}")]
    Thread {
        /// Which thread.
        what: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
}

impl OutboxError {
    /// A PostgreSQL error while doing `what`.
    #[cfg(feature = "outbox-postgres")]
    pub(crate) fn postgres(what: &'static str) -> impl FnOnce(postgres::Error) -> OutboxError {
        move |source| OutboxError::Postgres { what, source }
    }

    /// Whether this is SQLite's "database is busy/locked": another
    /// connection (maybe another process) holds the lock; worth retrying.
    pub(crate) fn is_busy(&self) -> bool {
        matches!(
            self,
            OutboxError::Sqlite { source, .. }
                if matches!(
                    source.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                )
        )
    }

    /// Classifies an SQLite error on the outbox at `path`.
    pub(crate) fn sqlite(path: &Path, source: rusqlite::Error) -> Self {
        let path = path.to_owned();
        match source.sqlite_error_code() {
            Some(ErrorCode::ReadOnly) => OutboxError::ReadOnly { path, source },
            Some(ErrorCode::DiskFull) => OutboxError::Full { path, source },
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                OutboxError::Corrupt { path, source }
            }
            Some(ErrorCode::CannotOpen) => match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
                    OutboxError::MissingDirectory {
                        dir: dir.to_owned(),
                        path,
                    }
                }
                _ => OutboxError::Sqlite { path, source },
            },
            _ => OutboxError::Sqlite { path, source },
        }
    }
}
