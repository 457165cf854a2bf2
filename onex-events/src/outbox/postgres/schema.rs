//! The PostgreSQL outbox tables and their migrations, versioned in
//! `onex_outbox_migrations` (one row per applied version).
//!
//! The same shape as the SQLite outbox (see [`crate::outbox::sqlite::schema`]),
//! with PostgreSQL types: `seq BIGINT GENERATED ALWAYS AS IDENTITY`,
//! `id UUID`, `payload JSON` and `headers JSON` (`JSON`, not `JSONB`: the
//! text is kept byte for byte, so the Kafka record value is the envelope as
//! committed), times as Unix milliseconds (`BIGINT`). Debezium's outbox
//! event router can read the table (`id`, `aggregatetype`, `aggregateid`,
//! `type`, `payload`).
//!
//! Migrations run in one transaction under an advisory lock, so processes
//! starting together migrate once; a database migrated by a newer version
//! of this crate is refused.

use super::super::OutboxError;
use super::LOCK_CLASS;
use postgres::GenericClient;

/// The table recording the applied migrations.
pub const MIGRATIONS_TABLE: &str = "onex_outbox_migrations";

/// Each migration, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the Debezium-style outbox, the dead letters and the counters.
    "CREATE TABLE onex_outbox (
         seq             BIGINT   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         id              UUID     NOT NULL,
         aggregatetype   TEXT     NOT NULL,
         aggregateid     TEXT     NOT NULL,
         type            TEXT     NOT NULL,
         payload         JSON     NOT NULL,
         topic           TEXT     NOT NULL,
         headers         JSON     NOT NULL DEFAULT '{}',
         created_at      BIGINT   NOT NULL,
         status          SMALLINT NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),
         attempts        INTEGER  NOT NULL DEFAULT 0,
         next_attempt_at BIGINT   NOT NULL DEFAULT 0,
         delivered_at    BIGINT,
         last_error      TEXT
     );
     CREATE INDEX onex_outbox_pending ON onex_outbox (seq) WHERE status = 0;
     CREATE INDEX onex_outbox_pending_key ON onex_outbox (aggregateid, seq) WHERE status = 0;
     CREATE INDEX onex_outbox_delivered ON onex_outbox (delivered_at) WHERE status = 1;
     CREATE TABLE onex_outbox_dead (
         seq           BIGINT  PRIMARY KEY,
         id            UUID    NOT NULL UNIQUE,
         aggregatetype TEXT    NOT NULL,
         aggregateid   TEXT    NOT NULL,
         type          TEXT    NOT NULL,
         payload       JSON    NOT NULL,
         topic         TEXT    NOT NULL,
         headers       JSON    NOT NULL,
         created_at    BIGINT  NOT NULL,
         attempts      INTEGER NOT NULL,
         last_error    TEXT,
         dead_at       BIGINT  NOT NULL
     );
     CREATE TABLE onex_outbox_counters (
         name  TEXT   PRIMARY KEY,
         value BIGINT NOT NULL
     );
     INSERT INTO onex_outbox_counters (name, value) VALUES ('delivered', 0), ('dead', 0);",
];

/// The schema version this crate writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the schema to [`VERSION`] in one transaction and returns it;
/// [`OutboxError::SchemaTooNew`] for a database migrated by a newer
/// version of this crate.
pub fn migrate(client: &mut impl GenericClient) -> Result<u32, OutboxError> {
    match migrate_to_version(client).map_err(OutboxError::postgres("migrating"))? {
        Ok(version) => Ok(version),
        Err(found) => Err(OutboxError::SchemaTooNew {
            outbox: "PostgreSQL".to_owned(),
            found,
            supported: VERSION,
        }),
    }
}

/// [`migrate`]; `Ok(Err(found))` for a newer schema.
fn migrate_to_version(
    client: &mut impl GenericClient,
) -> Result<Result<u32, u32>, postgres::Error> {
    let mut tx = client.transaction()?;
    // Serializes concurrent migrations (key 0 of the outbox's lock class).
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_CLASS])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS onex_outbox_migrations (
             version    INTEGER     PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let found: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM onex_outbox_migrations",
            &[],
        )?
        .get(0);
    let found = u32::try_from(found).unwrap_or(0);
    if found > VERSION {
        return Ok(Err(found));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tracing::info!(target: "onex_events::outbox", version, "migrating the PostgreSQL outbox schema");
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO onex_outbox_migrations (version) VALUES ($1)",
            &[&version],
        )?;
    }
    tx.commit()?;
    Ok(Ok(VERSION))
}
