//! The durable outbox (feature `outbox`): no event lost across broker
//! outages and process crashes.
//!
//! In outbox mode **every event of an annotated operation is committed to
//! a local SQLite outbox before the operation returns**, and a relay thread
//! publishes the committed events to Kafka.
//!
//! **The guarantee**, exactly: `publish` of any event other than an
//! operation's `started` (its `completed`/`failed`, `state.changed`,
//! `metric.recorded`) returns only once that event *and every event queued
//! before it by this process* — in particular the operation's `started` —
//! is committed (or could not be: then it is logged and counted, see below).
//! `publish` of `started` only queues it: it is committed with the
//! operation's end event at the latest, and within
//! [`OutboxConfig::commit_linger`] (default 1 ms) of being published
//! otherwise. So when an annotated method returns (or unwinds, or its
//! future is dropped), both its events are committed; a process killed
//! while an operation runs may lose that operation's `started` only. So
//! `publish` waits for a commit, as the sinks say
//! ([`Sink::blocking`](crate::Sink::blocking)).
//!
//! - **Store** ([`OutboxSink`]): SQLite in WAL mode, bundled (no system
//!   package); or a PostgreSQL database (module `postgres`, feature
//!   `outbox-postgres`). One committer thread writes everything queued in
//!   one transaction (group commits, the same for both). [`Durability`]
//!   picks crash safety (default: survives `kill -9`) or power-loss safety.
//! - **Schema**: the Debezium outbox convention (`id`, `aggregatetype`,
//!   `aggregateid`, `type`, `payload`) plus the relay's columns, versioned
//!   migrations recorded in the outbox's own table
//!   `onex_outbox_migrations`; see [`sqlite::schema`].
//! - **Relay**: in commit order per key (the correlation id), through the
//!   idempotent producer; marks delivered rows, retries with exponential
//!   backoff, dead-letters an event that keeps failing (table
//!   `onex_outbox_dead`, optional dead-letter topic), deletes delivered
//!   rows after the retention period, and resumes after a restart with
//!   whatever is still pending. Delivery is at-least-once; the `event_id`
//!   (and the `ce_id` header) never changes, so consumers dedupe by it.
//! - **Transactions**: [`OutboxSink::within`] writes the events of the
//!   operations run inside it into the caller's own SQLite transaction:
//!   the user's rows and their events commit together or not at all.
//! - **Bad conditions** (full or read-only disk, damaged file, missing
//!   directory): a clear [`OutboxError`], logged; events that cannot be
//!   committed are logged in full at `ERROR` and counted
//!   ([`OutboxStats::not_committed`]); the operation's result never changes.
//!   A relay that cannot mark what the cluster acknowledged (full disk)
//!   sends nothing new and retries the marking until it works, never
//!   sending those events again; meanwhile they count as
//!   [`OutboxStats::sent_unrecorded`].
//! - **Switching it on**: per node, give that node's context a
//!   `Publisher::new(OutboxSink::open(config)?)` ([`OutboxConfig`] says
//!   where the outbox lives, [`RelayConfig`] how its relay delivers);
//!   globally, set
//!   `USE_OUTBOX_PATTERN=true` (and `ONEX_OUTBOX_PATH`, or
//!   `ONEX_OUTBOX_URL=postgres://…` for the PostgreSQL outbox) for
//!   [`Publisher::from_env`](crate::Publisher::from_env).
//!
//! **Several processes on one SQLite file** (worker processes of one
//! service on one host, given the same `ONEX_OUTBOX_PATH`): each opens it
//! and commits its own events, waiting its turn for the file's lock (never
//! "database is locked"); one relay at a time delivers, the one holding
//! the file's relay lease (a row of `onex_outbox_relay`, renewed every
//! 0.5 s, expiring 5 s after its holder stops renewing it). The log says
//! which process relays (`this process relays the outbox`, with its pid)
//! and which stand by; when the relaying process stops, another takes
//! over at once, and when it dies, within the lease's 5 s. For relays
//! working in parallel on one table, use the PostgreSQL outbox (feature
//! `outbox-postgres`, module `postgres`): same table, same relay, keys
//! claimed with advisory locks and rows with `FOR UPDATE SKIP LOCKED`.
//!
//! **Layout.** `sqlite/` and `postgres/` hold what differs, with the same
//! files for the same jobs: `store.rs` (opening, commits, totals),
//! `relay.rs` (the relay's side of the database), `schema.rs` (tables and
//! migrations), `sink.rs` (the sink and transactional capture). Beside
//! them, what both share: the group committer, the relay, the row
//! encoding, the configuration, errors and totals.
//!
//! ```no_run
//! use onex_events::outbox::{OutboxConfig, OutboxSink};
//! use onex_events::kafka::KafkaConfig;
//! use onex_events::Publisher;
//! use std::time::Duration;
//!
//! let sink = OutboxSink::open(
//!     OutboxConfig::sqlite("outbox.db").kafka(KafkaConfig::new("127.0.0.1:9092")),
//! )?;
//! let publisher = Publisher::new(sink.clone());
//! // … run nodes with `publisher` …
//! publisher.flush(Duration::from_secs(30))?; // optional: pending rows survive a restart
//! println!("{}", sink.stats()?); // committed=… delivered=… pending=… dead=…
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod capture;
mod clock;
mod committer;
mod config;
pub mod env;
mod error;
mod failures;
mod lock;
mod off_runtime;
#[cfg(feature = "outbox-postgres")]
pub mod postgres;
mod publisher;
mod relay;
mod row;
mod sink;
pub mod sqlite;
mod stats;
mod store;
mod wake;

pub use self::config::{Durability, Location, OutboxConfig};
pub use self::env::{enabled_in, enabled_in_env};
pub use self::error::OutboxError;
pub(crate) use self::publisher::open;
pub use self::relay::RelayConfig;
pub use self::sqlite::OutboxSink;
pub use self::stats::OutboxStats;
