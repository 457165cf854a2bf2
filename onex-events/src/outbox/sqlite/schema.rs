//! The SQLite outbox tables and their migrations, versioned in
//! `onex_outbox_migrations` (one row per applied version), as in
//! PostgreSQL. The file's `PRAGMA user_version` is the application's: the
//! outbox never reads or writes it, so the file can hold the application's
//! own tables (and their versioning) too.
//!
//! The table follows the Debezium outbox convention — `id`,
//! `aggregatetype`, `aggregateid`, `type`, `payload` — so Debezium's
//! outbox event router could read it too, plus the columns the relay needs:
//!
//! | column          | type    | meaning                                                     |
//! |-----------------|---------|-------------------------------------------------------------|
//! | `seq`           | INTEGER | primary key, `AUTOINCREMENT`: commit order, never reused     |
//! | `id`            | TEXT    | the `event_id` (UUID v4): consumers dedupe by it; not indexed (a random-key index halves commit throughput) |
//! | `aggregatetype` | TEXT    | the node type, e.g. `orchestrator`                           |
//! | `aggregateid`   | TEXT    | the Kafka message key: the correlation id (else the node id) |
//! | `type`          | TEXT    | the event type, e.g. `orchestrator.routing.completed`        |
//! | `payload`       | TEXT    | the OnexEnvelopeV1 JSON, the Kafka record value, unchanged   |
//! | `topic`         | TEXT    | the Kafka topic chosen by the routing when committed         |
//! | `headers`       | TEXT    | the CloudEvents headers as a JSON object of strings          |
//! | `created_at`    | INTEGER | commit time, Unix milliseconds                               |
//! | `status`        | INTEGER | 0 pending, 1 delivered                                       |
//! | `attempts`      | INTEGER | failed delivery attempts so far                              |
//! | `next_attempt_at` | INTEGER | not retried before this time (Unix ms)                     |
//! | `delivered_at`  | INTEGER | when the cluster acknowledged it (Unix ms)                   |
//! | `last_error`    | TEXT    | the last delivery error                                      |
//!
//! `onex_outbox_dead` holds the events that kept failing (same columns
//! plus `dead_at`); `onex_outbox_counters` counts what was delivered and
//! dead-lettered since the outbox was created, so the totals survive the
//! retention deletes. Committed = the `AUTOINCREMENT` high-water mark of
//! `seq` (`sqlite_sequence`), so `committed = delivered + pending + dead`.
//!
//! `onex_outbox_relay` holds the relay lease (one row: `holder`,
//! `expires_at` in Unix ms): of the processes sharing the file, the one
//! holding it relays (see `lease.rs`).
//!
//! Migrations run in one transaction when the outbox is opened; a file
//! migrated by a newer version of this crate is refused rather than
//! guessed at.

use super::super::clock::now_ms;
use super::super::OutboxError;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::Path;

/// The table of pending and recently delivered events.
pub const TABLE: &str = "onex_outbox";
/// The dead-letter table.
pub const DEAD_TABLE: &str = "onex_outbox_dead";
/// The table recording the applied migrations.
pub const MIGRATIONS_TABLE: &str = "onex_outbox_migrations";

/// Each migration, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the Debezium-style outbox, the dead letters and the counters.
    "CREATE TABLE onex_outbox (
         seq             INTEGER PRIMARY KEY AUTOINCREMENT,
         id              TEXT    NOT NULL,
         aggregatetype   TEXT    NOT NULL,
         aggregateid     TEXT    NOT NULL,
         type            TEXT    NOT NULL,
         payload         TEXT    NOT NULL,
         topic           TEXT    NOT NULL,
         headers         TEXT    NOT NULL DEFAULT '{}',
         created_at      INTEGER NOT NULL,
         status          INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),
         attempts        INTEGER NOT NULL DEFAULT 0,
         next_attempt_at INTEGER NOT NULL DEFAULT 0,
         delivered_at    INTEGER,
         last_error      TEXT
     );
     CREATE INDEX onex_outbox_pending ON onex_outbox (status, seq);
     CREATE TABLE onex_outbox_dead (
         seq           INTEGER PRIMARY KEY,
         id            TEXT    NOT NULL UNIQUE,
         aggregatetype TEXT    NOT NULL,
         aggregateid   TEXT    NOT NULL,
         type          TEXT    NOT NULL,
         payload       TEXT    NOT NULL,
         topic         TEXT    NOT NULL,
         headers       TEXT    NOT NULL,
         created_at    INTEGER NOT NULL,
         attempts      INTEGER NOT NULL,
         last_error    TEXT,
         dead_at       INTEGER NOT NULL
     );
     CREATE TABLE onex_outbox_counters (
         name  TEXT PRIMARY KEY,
         value INTEGER NOT NULL
     ) WITHOUT ROWID;
     INSERT INTO onex_outbox_counters (name, value) VALUES ('delivered', 0), ('dead', 0);",
    // 2: the relay lease: which process relays the file, until when.
    "CREATE TABLE onex_outbox_relay (
         id         INTEGER PRIMARY KEY CHECK (id = 1),
         holder     TEXT    NOT NULL,
         expires_at INTEGER NOT NULL
     );",
];

/// The schema version this crate writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the schema of `conn` to [`VERSION`], in one transaction, and
/// returns it; [`OutboxError::SchemaTooNew`] for a file migrated by a
/// newer version of this crate.
pub fn migrate(conn: &mut Connection) -> Result<u32, OutboxError> {
    let path = conn.path().unwrap_or_default().to_owned();
    let found = migrate_to_version(conn).map_err(|e| OutboxError::sqlite(Path::new(&path), e))?;
    match found {
        Ok(version) => Ok(version),
        Err(found) => Err(OutboxError::SchemaTooNew {
            outbox: path,
            found,
            supported: VERSION,
        }),
    }
}

/// [`migrate`]; `Ok(Err(found))` for a newer schema.
fn migrate_to_version(conn: &mut Connection) -> rusqlite::Result<Result<u32, u32>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS onex_outbox_migrations (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )?;
    let found = version(&tx)?;
    if found > VERSION {
        return Ok(Err(found));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tracing::info!(target: "onex_events::outbox", version = i + 1, "migrating the outbox schema");
        tx.execute_batch(sql)?;
        record(&tx, i + 1)?;
    }
    tx.commit()?;
    Ok(Ok(VERSION))
}

/// The version recorded in `onex_outbox_migrations`. A file from before
/// that table, when the version was kept in `PRAGMA user_version` and
/// version 1 was the only one, has the outbox table: version 1, recorded
/// now (its `user_version` is left as it is).
fn version(tx: &Transaction<'_>) -> rusqlite::Result<u32> {
    let recorded: Option<u32> = tx
        .query_row("SELECT max(version) FROM onex_outbox_migrations", [], |r| {
            r.get(0)
        })
        .optional()?
        .flatten();
    if let Some(version) = recorded {
        return Ok(version);
    }
    let has_outbox: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'onex_outbox')",
        [],
        |r| r.get(0),
    )?;
    if has_outbox {
        record(tx, 1)?;
        return Ok(1);
    }
    Ok(0)
}

fn record(tx: &Transaction<'_>, version: usize) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO onex_outbox_migrations (version, applied_at) VALUES (?1, ?2)",
        rusqlite::params![version as i64, now_ms()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_version(conn: &Connection) -> u32 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn migrates_once_and_refuses_newer_schemas() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), VERSION);
        assert_eq!(migrate(&mut conn).unwrap(), VERSION, "idempotent");
        conn.execute(
            "INSERT INTO onex_outbox_migrations (version, applied_at) VALUES (?1, 0)",
            [VERSION + 1],
        )
        .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(OutboxError::SchemaTooNew { found, .. }) if found == VERSION + 1
        ));
    }

    /// The application's `user_version` is its own: whatever it is, the
    /// outbox migrates from its own table and leaves it unchanged.
    #[test]
    fn the_applications_user_version_is_neither_read_nor_written() {
        for app_version in [1, 7] {
            let mut conn = Connection::open_in_memory().unwrap();
            conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
                .unwrap();
            conn.pragma_update(None, "user_version", app_version)
                .unwrap();
            assert_eq!(migrate(&mut conn).unwrap(), VERSION);
            assert_eq!(user_version(&conn), app_version);
            conn.execute("INSERT INTO onex_outbox_counters VALUES ('x', 0)", [])
                .unwrap();
            conn.execute("INSERT INTO orders (id) VALUES (1)", [])
                .unwrap();
            assert_eq!(migrate(&mut conn).unwrap(), VERSION);
            assert_eq!(user_version(&conn), app_version);
        }
    }

    /// A file migrated when the version was kept in `user_version` is at
    /// version 1, not migrated again.
    #[test]
    fn a_file_versioned_by_user_version_is_taken_as_version_1() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), VERSION);
        let recorded: u32 = conn
            .query_row("SELECT min(version) FROM onex_outbox_migrations", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(recorded, 1);
        assert_eq!(user_version(&conn), 1);
    }
}
