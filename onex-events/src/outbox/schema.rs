//! The outbox tables and their migrations, versioned by SQLite's
//! `PRAGMA user_version`.
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
//! Migrations run in one transaction when the outbox is opened; a file
//! written by a newer version of this crate is refused rather than guessed at.

use rusqlite::{Connection, Transaction};

/// The table of pending and recently delivered events.
pub const TABLE: &str = "onex_outbox";
/// The dead-letter table.
pub const DEAD_TABLE: &str = "onex_outbox_dead";

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
];

/// The schema version this crate writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// The schema version found in a file is newer than this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooNew {
    /// The version in the file.
    pub found: u32,
}

/// Brings the schema of `conn` to [`VERSION`], in one transaction.
/// `Ok(Err(TooNew))` for a file from a newer version of this crate.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<Result<u32, TooNew>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found = version(&tx)?;
    if found > VERSION {
        return Ok(Err(TooNew { found }));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tracing::info!(target: "onex_events::outbox", version = i + 1, "migrating the outbox schema");
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.commit()?;
    Ok(Ok(VERSION))
}

fn version(tx: &Transaction<'_>) -> rusqlite::Result<u32> {
    tx.pragma_query_value(None, "user_version", |row| row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_files() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), Ok(VERSION));
        assert_eq!(migrate(&mut conn).unwrap(), Ok(VERSION), "idempotent");
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert_eq!(
            migrate(&mut conn).unwrap(),
            Err(TooNew { found: VERSION + 1 })
        );
    }
}
