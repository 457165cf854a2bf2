//! The PostgreSQL outbox of one process: connecting and migrating, the
//! committer's writes (one `INSERT … SELECT FROM unnest(…)` per batch),
//! and the totals.

use super::super::lock::lock;
use super::super::off_runtime::off_runtime;
use super::super::row::Row;
use super::super::stats::OutboxStats;
use super::super::store::Store;
use super::super::OutboxError;
use super::schema;
pub(crate) use super::tls::connect;
use postgres::{Client, GenericClient};
use std::sync::Mutex;

/// The outbox of one process in a PostgreSQL database.
pub(crate) struct PgStore {
    url: String,
    /// The committer's connection; `None` after it broke (reconnected on
    /// use).
    writer: Mutex<Option<Client>>,
}

impl PgStore {
    /// Connects and migrates the schema (on a thread of its own, see
    /// [`off_runtime`]).
    pub fn open(url: &str) -> Result<PgStore, OutboxError> {
        let client = off_runtime(|| {
            let mut client = connect(url)?;
            schema::migrate(&mut client)?;
            Ok::<_, OutboxError>(client)
        })?;
        tracing::info!(target: "onex_events::outbox", "PostgreSQL outbox open");
        Ok(PgStore {
            url: url.to_owned(),
            writer: Mutex::new(Some(client)),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Store for PgStore {
    /// Inserts `rows` in one transaction, reconnecting a broken connection.
    fn write(&self, rows: &[Row]) -> Result<(), OutboxError> {
        let what = "committing events";
        let mut writer = lock(&self.writer);
        let client = match writer.take() {
            Some(c) if !c.is_closed() => writer.insert(c),
            _ => writer.insert(connect(&self.url)?),
        };
        let mut tx = client.transaction().map_err(OutboxError::postgres(what))?;
        insert_rows(&mut tx, rows).map_err(OutboxError::postgres(what))?;
        tx.commit().map_err(OutboxError::postgres(what))
    }

    /// The totals, read in one snapshot. `committed` is
    /// `delivered + pending + dead` (an identity sequence also counts
    /// rolled-back inserts, so it is not used).
    fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let err = OutboxError::postgres("reading the totals");
        let row = off_runtime(|| {
            connect(&self.url)?
                .query_one(
                    "SELECT (SELECT value FROM onex_outbox_counters WHERE name = 'delivered'),
                        (SELECT value FROM onex_outbox_counters WHERE name = 'dead'),
                        (SELECT count(*) FROM onex_outbox WHERE status = 0)",
                    &[],
                )
                .map_err(err)
        })?;
        let to_u64 = |v: Option<i64>| u64::try_from(v.unwrap_or(0)).unwrap_or(0);
        let delivered = to_u64(row.get(0));
        let dead = to_u64(row.get(1));
        let pending = to_u64(row.get(2));
        Ok(OutboxStats {
            committed: delivered + pending + dead,
            delivered,
            pending,
            dead,
            not_committed: 0,
            sent_unrecorded: 0,
        })
    }
}

/// Inserts `rows` (in order) on `client`, in the caller's transaction.
pub(crate) fn insert_rows(
    client: &mut impl GenericClient,
    rows: &[Row],
) -> Result<(), postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&Row) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
    let ids = col(|r| &r.id);
    let types = col(|r| r.aggregatetype);
    let keys = col(|r| &r.aggregateid);
    let event_types = col(|r| &r.event_type);
    let payloads = col(|r| &r.payload);
    let topics = col(|r| &r.topic);
    let headers = col(|r| &r.headers);
    let created: Vec<i64> = rows.iter().map(|r| r.created_at).collect();
    client.execute(
        "INSERT INTO onex_outbox
             (id, aggregatetype, aggregateid, type, payload, topic, headers, created_at)
         SELECT id::uuid, aggregatetype, aggregateid, type, payload::json, topic, headers::json, created_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::int8[])
              WITH ORDINALITY AS r(id, aggregatetype, aggregateid, type, payload, topic, headers,
                                   created_at, n)
         ORDER BY n",
        &[&ids, &types, &keys, &event_types, &payloads, &topics, &headers, &created],
    )?;
    Ok(())
}
