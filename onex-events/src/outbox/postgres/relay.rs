//! The relay's side of a PostgreSQL outbox that several relays (in as many
//! processes) share.
//!
//! **Claiming.** A cycle runs in one transaction on the relay's own
//! connection, held while the batch is sent:
//!
//! 1. the keys (`aggregateid`) of the oldest pending rows, oldest first,
//!    keeping those whose per-key advisory lock it gets:
//!    `pg_try_advisory_xact_lock(LOCK_CLASS, hashtext(aggregateid))`: a
//!    key another relay is sending is skipped, without waiting;
//! 2. the pending rows of the keys it locked, in `seq` order:
//!    `SELECT … FOR UPDATE SKIP LOCKED`.
//!
//! Outcomes are recorded, and the locks released, when the transaction
//! commits. Since a relay reads a key's rows only once it holds the key's
//! lock, and the previous holder committed before releasing it, a relay
//! always sees every earlier pending row of its keys: **no event overtakes
//! an earlier one of its key, whichever relay sends it**. Locking keys
//! rather than rows is what keeps that order (with row locks alone, a
//! second relay would skip a key's locked rows and send its later ones).
//! Only relays lock outbox rows, each after locking the row's key, so
//! `SKIP LOCKED` never skips a row of a key the relay holds; it keeps a
//! relay from waiting on anyone's row lock (do not lock outbox rows by hand
//! while relays run).
//!
//! **Crashes.** A relay that dies (process killed, connection lost) ends
//! its transaction by dying: PostgreSQL rolls it back and releases its
//! locks, and another relay sends those rows again: at-least-once, with
//! the same `event_id`.
//!
//! Per-key order is `seq` order; `seq` is assigned at insert, so two
//! *concurrent transactions* inserting events of the same key may commit
//! in the other order. One process's publisher commits in publish order;
//! transactional use should keep one key's events in one transaction.

use super::super::relay::{Outcome, Pending, RelayStore};
use super::super::OutboxError;
use super::store::{connect, PgStore};
use super::LOCK_CLASS;
use postgres::Client;
use std::sync::Arc;

/// How many times the batch size of oldest pending rows is scanned for
/// keys to lock (so a relay finds work past the keys others hold).
const KEY_WINDOW: usize = 2;

/// One relay's view of the shared PostgreSQL outbox.
pub(crate) struct PgRelayStore {
    store: Arc<PgStore>,
    /// The claiming connection; `None` after it broke (reconnected on use).
    client: Option<Client>,
    /// A claim transaction is open on `client`.
    claiming: bool,
    /// Keep delivered rows (marked) for the retention period, or delete them.
    keep: bool,
}

impl PgRelayStore {
    pub fn new(store: Arc<PgStore>, keep: bool) -> Result<Self, OutboxError> {
        Ok(PgRelayStore {
            client: Some(connect(store.url())?),
            store,
            claiming: false,
            keep,
        })
    }

    /// The claiming connection, reconnected when it broke (which ended
    /// any claim: PostgreSQL rolled it back).
    fn client(&mut self) -> Result<&mut Client, OutboxError> {
        let client = match self.client.take() {
            Some(c) if !c.is_closed() => c,
            _ => {
                self.claiming = false;
                connect(self.store.url())?
            }
        };
        Ok(self.client.insert(client))
    }

    /// True when the claim's connection broke: PostgreSQL rolled the claim
    /// back and released its key locks, so another relay may hold them now.
    fn claim_lost(&self) -> bool {
        self.claiming && self.client.as_ref().is_none_or(Client::is_closed)
    }

    /// Runs `f` in the open claim (or, when there is none, a transaction
    /// of its own), then commits; rolls back on error.
    fn finish(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&mut Client) -> Result<usize, postgres::Error>,
    ) -> Result<usize, OutboxError> {
        let lost = self.claim_lost();
        let claiming = std::mem::replace(&mut self.claiming, false) && !lost;
        let client = self.client()?;
        if !claiming {
            client
                .batch_execute("BEGIN")
                .map_err(OutboxError::postgres(what))?;
        }
        let result = f(client).and_then(|n| client.batch_execute("COMMIT").map(|()| n));
        if result.is_err() {
            let _ = client.batch_execute("ROLLBACK");
        }
        result.map_err(OutboxError::postgres(what))
    }
}

impl RelayStore for PgRelayStore {
    fn describe(&self) -> String {
        "PostgreSQL table onex_outbox".to_owned()
    }

    /// One claim at a time: a claim is a transaction on the relay's
    /// connection.
    fn batches_at_once(&self) -> usize {
        1
    }

    fn claim(&mut self, after: i64, limit: usize) -> Result<Vec<Pending>, OutboxError> {
        if self.claiming {
            self.release()?;
        }
        let what = "claiming pending events";
        let client = self.client()?;
        client
            .batch_execute("BEGIN")
            .map_err(OutboxError::postgres(what))?;
        let result = claim(client, after, limit);
        self.claiming = true;
        if result.is_err() {
            let _ = self.release();
        }
        result.map_err(OutboxError::postgres(what))
    }

    fn record(
        &mut self,
        rows: &[&Pending],
        outcomes: &[Outcome],
        now: i64,
    ) -> Result<usize, OutboxError> {
        let keep = self.keep;
        // No claim open: a retry of outcomes whose first recording failed
        // (and rolled the claim back). Broken connection: the claim is lost.
        if !self.claiming || self.claim_lost() {
            // Without the key locks, only deliveries are safe to record
            // (`status = 0` makes marking idempotent); another relay may be
            // sending the other rows now, and retries or dead letters would
            // overwrite its work. Those rows stay pending as they are.
            tracing::warn!(target: "onex_events::outbox", "the outbox claim's locks are gone; recording deliveries only");
            let delivered_only: Vec<Outcome> = outcomes
                .iter()
                .map(|o| match o {
                    Outcome::Delivered => Outcome::Delivered,
                    _ => Outcome::Unsent,
                })
                .collect();
            return self.finish("recording deliveries", |client| {
                record(client, rows, &delivered_only, keep, now)
            });
        }
        self.finish("recording deliveries", |client| {
            record(client, rows, outcomes, keep, now)
        })
    }

    fn release(&mut self) -> Result<(), OutboxError> {
        if !std::mem::replace(&mut self.claiming, false) {
            return Ok(());
        }
        if let Some(client) = self.client.as_mut().filter(|c| !c.is_closed()) {
            client
                .batch_execute("ROLLBACK")
                .map_err(OutboxError::postgres("releasing a claim"))?;
        }
        Ok(())
    }

    /// Not while a claim is open: its batch is in flight, and ending the
    /// claim would hand its keys to another relay.
    fn delete_delivered(&mut self, cutoff: i64) -> Result<Option<usize>, OutboxError> {
        if self.claiming {
            return Ok(None);
        }
        let client = self.client()?;
        let mut total = 0;
        loop {
            let deleted = client
                .execute(
                    "DELETE FROM onex_outbox WHERE seq IN
                       (SELECT seq FROM onex_outbox WHERE status = 1 AND delivered_at < $1
                        LIMIT 10000 FOR UPDATE SKIP LOCKED)",
                    &[&cutoff],
                )
                .map_err(OutboxError::postgres("deleting delivered events"))?;
            if deleted == 0 {
                return Ok(Some(total));
            }
            total += usize::try_from(deleted).unwrap_or(usize::MAX);
        }
    }
}

/// Steps 1 and 2 of the module documentation, in the open transaction.
fn claim(client: &mut Client, after: i64, limit: usize) -> Result<Vec<Pending>, postgres::Error> {
    let window = i64::try_from(limit.saturating_mul(KEY_WINDOW)).unwrap_or(i64::MAX);
    let keys: Vec<String> = client
        .query(
            "SELECT k FROM (
                 SELECT aggregateid AS k, min(seq) AS first
                 FROM (SELECT aggregateid, seq FROM onex_outbox
                       WHERE status = 0 AND seq > $3 ORDER BY seq LIMIT $1) oldest
                 GROUP BY aggregateid
             ) candidates
             WHERE pg_try_advisory_xact_lock($2, hashtext(k))
             ORDER BY first",
            &[&window, &LOCK_CLASS, &after],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client.query(
        "SELECT seq, id::text, aggregateid, payload::text, topic, headers::text, created_at,
                attempts, next_attempt_at
         FROM onex_outbox
         WHERE status = 0 AND aggregateid = ANY($1) AND seq > $3
         ORDER BY seq LIMIT $2
         FOR UPDATE SKIP LOCKED",
        &[&keys, &limit, &after],
    )?;
    Ok(rows
        .iter()
        .map(|r| Pending {
            seq: r.get(0),
            id: r.get(1),
            key: r.get(2),
            payload: r.get(3),
            topic: r.get(4),
            headers: r.get(5),
            created_at: r.get(6),
            attempts: i64::from(r.get::<_, i32>(7)),
            next_attempt_at: r.get(8),
        })
        .collect())
}

/// Marks delivered rows, schedules retries, moves dead letters and bumps
/// the counters; returns how many rows were marked delivered.
fn record(
    client: &mut Client,
    rows: &[&Pending],
    outcomes: &[Outcome],
    keep: bool,
    now: i64,
) -> Result<usize, postgres::Error> {
    let delivered_seqs: Vec<i64> = rows
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| **o == Outcome::Delivered)
        .map(|(r, _)| r.seq)
        .collect();
    let delivered = if delivered_seqs.is_empty() {
        0
    } else if keep {
        client.execute(
            "UPDATE onex_outbox SET status = 1, delivered_at = $2, last_error = NULL
             WHERE seq = ANY($1) AND status = 0",
            &[&delivered_seqs, &now],
        )?
    } else {
        client.execute(
            "DELETE FROM onex_outbox WHERE seq = ANY($1) AND status = 0",
            &[&delivered_seqs],
        )?
    };
    let mut dead = 0i64;
    for (row, outcome) in rows.iter().zip(outcomes) {
        match outcome {
            Outcome::Retry {
                attempts,
                next_attempt_at,
                error,
            } => {
                let attempts = i32::try_from(*attempts).unwrap_or(i32::MAX);
                client.execute(
                    "UPDATE onex_outbox SET attempts = $2, next_attempt_at = $3, last_error = $4
                     WHERE seq = $1",
                    &[&row.seq, &attempts, next_attempt_at, error],
                )?;
            }
            Outcome::Dead { attempts, error } => {
                let attempts = i32::try_from(*attempts).unwrap_or(i32::MAX);
                client.execute(
                    "WITH moved AS (DELETE FROM onex_outbox WHERE seq = $1 RETURNING *)
                     INSERT INTO onex_outbox_dead
                         (seq, id, aggregatetype, aggregateid, type, payload, topic, headers,
                          created_at, attempts, last_error, dead_at)
                     SELECT seq, id, aggregatetype, aggregateid, type, payload, topic, headers,
                            created_at, $2, $3, $4
                     FROM moved
                     ON CONFLICT (seq) DO NOTHING",
                    &[&row.seq, &attempts, error, &now],
                )?;
                dead += 1;
            }
            Outcome::Delivered | Outcome::Unsent => {}
        }
    }
    let delivered_count = i64::try_from(delivered).unwrap_or(i64::MAX);
    client.execute(
        "UPDATE onex_outbox_counters
         SET value = value + CASE name WHEN 'delivered' THEN $1::int8 ELSE $2::int8 END
         WHERE name IN ('delivered', 'dead') AND ($1::int8 > 0 OR $2::int8 > 0)",
        &[&delivered_count, &dead],
    )?;
    Ok(usize::try_from(delivered).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{test_event, TopicRouting};
    use crate::outbox::row::Row;
    use crate::EventType;
    use std::time::{Duration, Instant};

    /// A claim whose connection broke records deliveries only, in a
    /// transaction of its own: its key locks are gone, and another relay
    /// may be sending the other rows.
    #[test]
    #[ignore = "needs PostgreSQL: run by scripts/test.sh (the README's test command, and CI), which starts one; or set ONEX_TEST_POSTGRES_URL"]
    fn a_claim_whose_connection_broke_records_deliveries_only() {
        let url = std::env::var("ONEX_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| {
                panic!(
                    "this test needs PostgreSQL and ONEX_TEST_POSTGRES_URL is not set: run \
                     `scripts/test.sh`, or `url=$(scripts/postgres-dev.sh start PORT) && export \"$url\"`"
                )
            });
        let db = format!(
            "onex_test_lost_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut admin = connect(&url).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .unwrap();
        let url = format!("{}/{db}", url.rsplit_once('/').unwrap().0);

        let store = PgStore::open(&url).unwrap();
        let mut writer = connect(&url).unwrap();
        let event_type = EventType::parse("orchestrator.state.changed").unwrap();
        let rows: Vec<Row> = (0..2)
            .map(|_| Row::encode(&test_event(event_type), &TopicRouting::default()).unwrap())
            .collect();
        let mut tx = writer.transaction().unwrap();
        super::super::store::insert_rows(&mut tx, &rows).unwrap();
        tx.commit().unwrap();

        let mut relay = PgRelayStore::new(Arc::new(store), true).unwrap();
        let claimed = relay.claim(0, 10).unwrap();
        assert_eq!(claimed.len(), 2);
        let pid: i32 = relay
            .client
            .as_mut()
            .unwrap()
            .query_one("SELECT pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        writer
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .unwrap();
        // The client notices when it next talks to the server.
        let deadline = Instant::now() + Duration::from_secs(5);
        let client = relay.client.as_mut().unwrap();
        while !client.is_closed() {
            assert!(Instant::now() < deadline, "the connection was not closed");
            let _ = client.simple_query("SELECT 1");
            std::thread::sleep(Duration::from_millis(10));
        }

        let outcomes = [
            Outcome::Delivered,
            Outcome::Retry {
                attempts: 1,
                next_attempt_at: 0,
                error: "boom".to_owned(),
            },
        ];
        let batch: Vec<&Pending> = claimed.iter().collect();
        assert_eq!(relay.record(&batch, &outcomes, 1).unwrap(), 1);
        let state: Vec<(i16, i32)> = writer
            .query("SELECT status, attempts FROM onex_outbox ORDER BY seq", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(state, [(1, 0), (0, 0)]);
        // Not left inside a transaction: a new claim works.
        assert_eq!(relay.claim(0, 10).unwrap().len(), 1);
        relay.release().unwrap();
    }
}
