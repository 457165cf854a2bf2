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
//! while an operation runs may lose that operation's `started` only.
//!
//! - **Store** ([`OutboxSink`]): SQLite in WAL mode, bundled (no system
//!   package). A committer thread writes everything queued in one
//!   transaction (batched commits). [`Durability`] picks crash safety
//!   (default: survives `kill -9`) or power-loss safety.
//! - **Schema**: the Debezium outbox convention (`id`, `aggregatetype`,
//!   `aggregateid`, `type`, `payload`) plus the relay's columns, versioned
//!   migrations by `PRAGMA user_version`; see [`schema`].
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
//! - **Switching it on**: per node, give that node's context a
//!   `Publisher::new(OutboxSink::open(config)?)`; globally, set
//!   `USE_OUTBOX_PATTERN=true` (and `ONEX_OUTBOX_PATH`, or
//!   `ONEX_OUTBOX_URL=postgres://…` for the PostgreSQL outbox) for
//!   [`Publisher::from_env`](crate::Publisher::from_env).
//!
//! One relay per outbox file: SQLite serves one host; run the relay in the
//! process that publishes, or in one dedicated process. For several relay
//! processes on one table, use the PostgreSQL outbox (feature
//! `outbox-postgres`, module `postgres`): same table, same relay, keys
//! claimed with advisory locks and rows with `FOR UPDATE SKIP LOCKED`.
//!
//! ```no_run
//! use onex_events::outbox::{OutboxConfig, OutboxSink};
//! use onex_events::sink::kafka::KafkaConfig;
//! use onex_events::Publisher;
//! use std::time::Duration;
//!
//! let sink = OutboxSink::open(
//!     OutboxConfig::new("outbox.db").kafka(KafkaConfig::new("127.0.0.1:9092")),
//! )?;
//! let publisher = Publisher::new(sink.clone());
//! // … run nodes with `publisher` …
//! publisher.flush(Duration::from_secs(30))?; // optional: pending rows survive a restart
//! println!("{}", sink.stats()?); // committed=… delivered=… pending=… dead=…
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backend;
mod config;
mod error;
mod failures;
#[cfg(feature = "outbox-postgres")]
pub mod postgres;
mod relay;
mod row;
pub mod schema;
mod sink;
mod sqlite_relay;
mod stats;
mod store;
mod transaction;

pub use self::config::{enabled_in_env, env, Durability, OutboxConfig};
pub use self::error::OutboxError;
pub(crate) use self::sink::open_from_env;
pub use self::sink::OutboxSink;
pub use self::stats::OutboxStats;
/// The `rusqlite` crate the outbox is built on, for transactional use.
pub use rusqlite;
