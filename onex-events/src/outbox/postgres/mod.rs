//! The outbox in PostgreSQL (feature `outbox-postgres`), for services that
//! already run one: [`PgOutboxSink`] commits each event to a shared table
//! before `publish` returns, and **several relays, in as many processes,
//! share that table safely**.
//!
//! - **Schema**: the Debezium-style table of the SQLite outbox with
//!   PostgreSQL types, versioned migrations recorded in
//!   `onex_outbox_migrations`; see [`schema`].
//! - **Commits**: the group committer of the SQLite outbox, with the same
//!   guarantee (an operation's events are committed before it returns);
//!   one `INSERT … SELECT FROM unnest(…)` per batch.
//! - **Relays**: each cycle claims keys with per-key advisory locks and
//!   their rows with `SELECT … FOR UPDATE SKIP LOCKED`, sends them through
//!   the same Kafka relay as the SQLite outbox (idempotent producer, retries
//!   with backoff, dead letters, retention), and commits the outcomes; a
//!   key is sent by one relay at a time, in `seq` order. A relay that dies
//!   releases its claim with its connection. Why keys and not only rows:
//!   see the relay's documentation (`postgres/relay.rs`).
//! - **Transactions**: [`PgOutboxSink::within`] writes the events of the
//!   operations run inside it into the caller's own `postgres`
//!   transaction: the user's rows and their events commit together or not
//!   at all.
//!
//! - **TLS**: `sslmode=require` in the URL, the server's certificate
//!   verified against the system's roots or `sslrootcert=PATH` (or
//!   `PGSSLROOTCERT`); see `postgres/tls.rs`. Without `sslmode=require`,
//!   no TLS.
//!
//! A relay finds events committed by other processes within
//! [`RelayConfig::idle_poll`](super::RelayConfig::idle_poll) (this
//! process's commits wake it at once).
//!
//! ```no_run
//! use onex_events::outbox::postgres::PgOutboxSink;
//! use onex_events::outbox::OutboxConfig;
//! use onex_events::kafka::KafkaConfig;
//! use onex_events::Publisher;
//!
//! let config = OutboxConfig::postgres("postgres://postgres@127.0.0.1:5432/app")
//!     .kafka(KafkaConfig::new("127.0.0.1:9092"));
//! let sink = PgOutboxSink::open(config)?;
//! let publisher = Publisher::new(sink.clone());
//! // … run nodes with `publisher`; run as many such processes as needed …
//! println!("{}", sink.stats()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod relay;
pub mod schema;
mod sink;
mod store;
mod tls;

pub use self::sink::PgOutboxSink;
/// The `postgres` crate the PostgreSQL outbox is built on, for
/// transactional use.
pub use postgres;

/// The first key of every advisory lock the outbox takes (migrations,
/// per-key relay claims), so they never collide with the application's
/// own single-key advisory locks: `'onex'` in ASCII.
pub const LOCK_CLASS: i32 = 0x6f6e_6578;
