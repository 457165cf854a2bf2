//! The relay lease of a SQLite outbox file: several processes may publish
//! to one file (worker processes of one service given the same
//! `ONEX_OUTBOX_PATH`), and one relays at a time.
//!
//! The lease is the one row of `onex_outbox_relay`: who holds it and until
//! when (Unix ms). A relay claims it, or renews its own, in a write
//! transaction ([`Lease::hold`]), so SQLite's write lock decides between
//! two processes trying at once. The holder renews it every
//! [`RENEW_EVERY`]; a relay without it stays idle and tries again at that
//! pace; when the holder dies, the lease expires after [`TERM`] and
//! another relay takes it. A holder that stops cleanly gives it up at once.

use super::super::clock::{millis, now_ms};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a lease lasts unless renewed: how long the relay of a process
/// that died keeps the others waiting; a holder alive but stalled this
/// long (less a renewal) loses it.
pub(crate) const TERM: Duration = Duration::from_secs(5);

/// How often the holder renews it, and a relay without it looks whether
/// it expired.
pub(crate) const RENEW_EVERY: Duration = Duration::from_millis(500);

/// This relay's view of the lease.
pub(super) struct Lease {
    /// Who this relay is, in the lease row and the logs: process id and a
    /// random suffix (a process may open one file twice).
    holder: String,
    held: bool,
    /// When the lease was last claimed, renewed or tried.
    tried: Option<Instant>,
    /// The other holder last logged, so each change is logged once.
    logged_other: Option<String>,
}

impl Lease {
    pub fn new() -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        Lease {
            holder: format!("pid {} ({})", std::process::id(), &suffix[..8]),
            held: false,
            tried: None,
            logged_other: None,
        }
    }

    /// Whether this relay holds the lease, claiming or renewing it on
    /// `conn` when due. Changes are logged with the process that relays.
    pub fn hold(&mut self, conn: &mut Connection, path: &Path) -> rusqlite::Result<bool> {
        if self.tried.is_some_and(|t| t.elapsed() < RENEW_EVERY) {
            return Ok(self.held);
        }
        self.tried = Some(Instant::now());
        let now = now_ms();
        if !self.held {
            // Held by another and not expired: stand by without writing.
            let current: Option<(String, i64)> = conn
                .query_row(
                    "SELECT holder, expires_at FROM onex_outbox_relay WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((other, expires_at)) = current {
                if other != self.holder && expires_at >= now {
                    self.standing_by(other, path.display());
                    return Ok(false);
                }
            }
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken = tx.execute(
            "INSERT INTO onex_outbox_relay (id, holder, expires_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE onex_outbox_relay.holder = excluded.holder OR onex_outbox_relay.expires_at < ?3",
            params![self.holder, now.saturating_add(millis(TERM)), now],
        )? == 1;
        let other: Option<String> = if taken {
            None
        } else {
            tx.query_row(
                "SELECT holder FROM onex_outbox_relay WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?
        };
        tx.commit()?;
        let path = path.display();
        match (self.held, taken) {
            (false, true) => {
                tracing::info!(target: "onex_events::outbox", outbox = %path, relay = self.holder, "this process relays the outbox");
                self.logged_other = None;
            }
            (true, false) => {
                tracing::warn!(target: "onex_events::outbox", outbox = %path, relay = self.holder, other = ?other, "this process lost the outbox's relay lease; standing by")
            }
            _ => {}
        }
        self.held = taken;
        if let Some(other) = other {
            self.standing_by(other, path);
        }
        Ok(taken)
    }

    /// Logs, once per holder, that `other` relays and this relay stands by.
    fn standing_by(&mut self, other: String, path: impl std::fmt::Display) {
        if self.logged_other.as_ref() != Some(&other) {
            tracing::info!(target: "onex_events::outbox", outbox = %path, relay = other, standby = self.holder, "another process relays the outbox; this relay stands by");
            self.logged_other = Some(other);
        }
    }

    /// Gives the lease up, if held, so that another relay takes over now.
    pub fn release(&mut self, conn: &Connection) {
        if std::mem::replace(&mut self.held, false) {
            if let Err(error) = conn.execute(
                "DELETE FROM onex_outbox_relay WHERE holder = ?1",
                [&self.holder],
            ) {
                tracing::debug!(target: "onex_events::outbox", %error, "cannot give up the outbox's relay lease; it expires");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema;
    use super::*;

    /// Two relays of one file: one holds the lease, the other stands by
    /// until it is given up or expires.
    #[test]
    fn one_relay_holds_the_lease_until_it_gives_it_up_or_it_expires() {
        let dir = std::env::temp_dir().join(format!("onex-lease-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("o.db");
        let mut a_conn = Connection::open(&path).unwrap();
        schema::migrate(&mut a_conn).unwrap();
        let mut b_conn = Connection::open(&path).unwrap();
        let (mut a, mut b) = (Lease::new(), Lease::new());
        assert!(a.hold(&mut a_conn, &path).unwrap());
        assert!(!b.hold(&mut b_conn, &path).unwrap());
        // Renewed by its holder, still refused to the other.
        a.tried = None;
        b.tried = None;
        assert!(a.hold(&mut a_conn, &path).unwrap());
        assert!(!b.hold(&mut b_conn, &path).unwrap());
        // Given up: the other takes it.
        a.release(&a_conn);
        b.tried = None;
        assert!(b.hold(&mut b_conn, &path).unwrap());
        // Expired (its holder died): the other takes it.
        b_conn
            .execute("UPDATE onex_outbox_relay SET expires_at = 0", [])
            .unwrap();
        a.tried = None;
        assert!(a.hold(&mut a_conn, &path).unwrap());
        b.tried = None;
        assert!(!b.hold(&mut b_conn, &path).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
