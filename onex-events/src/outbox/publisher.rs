//! The outbox publisher of [`Publisher::from_env`](crate::Publisher::from_env):
//! the backend the configuration names, and never a failure.

use super::config::{Location, OutboxConfig};
use super::sqlite::OutboxSink;
use crate::Publisher;

/// A publisher on the outbox `config` names: the PostgreSQL outbox for a
/// [`Location::Postgres`], the SQLite file otherwise. Never fails: an
/// outbox that cannot be opened (an unusable location, or a PostgreSQL one
/// without the feature `outbox-postgres`) gives a sink that logs the error
/// once, then logs and counts every event (see
/// [`OutboxSink::open_or_unavailable`]).
pub(crate) fn open(config: OutboxConfig) -> Publisher {
    if let Err(error) = config.location.check() {
        return Publisher::new(OutboxSink::unavailable(&config, error));
    }
    match &config.location {
        Location::Sqlite(_) => Publisher::new(OutboxSink::open_or_unavailable(config)),
        Location::Postgres(_) => open_postgres(config),
    }
}

#[cfg(feature = "outbox-postgres")]
fn open_postgres(config: OutboxConfig) -> Publisher {
    Publisher::new(super::postgres::PgOutboxSink::open_or_unavailable(config))
}

#[cfg(not(feature = "outbox-postgres"))]
fn open_postgres(config: OutboxConfig) -> Publisher {
    Publisher::new(OutboxSink::unavailable(
        &config,
        super::OutboxError::PostgresNotEnabled,
    ))
}
