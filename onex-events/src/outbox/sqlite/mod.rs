//! The outbox in a SQLite file (feature `outbox`): [`OutboxSink`], WAL,
//! bundled SQLite (no system package).
//!
//! Laid out like `postgres/`: `store.rs` (opening, commits, totals),
//! `relay.rs` (the relay's side), `schema.rs` (tables and migrations),
//! `sink.rs` (the sink and transactional capture).
//!
//! One relay per file: SQLite serves one host; run the relay in the
//! process that publishes, or in one dedicated process.

mod recorder;
mod relay;
pub mod schema;
mod sink;
mod store;

pub use self::sink::OutboxSink;
/// The `rusqlite` crate the SQLite outbox is built on, for transactional
/// use ([`OutboxSink::within`]).
pub use rusqlite;
