//! The outbox in a SQLite file (feature `outbox`): [`OutboxSink`], WAL,
//! bundled SQLite (no system package).
//!
//! Laid out like `postgres/`: `store.rs` (opening, commits, totals),
//! `relay.rs` (the relay's side), `schema.rs` (tables and migrations),
//! `sink.rs` (the sink and transactional capture).
//!
//! SQLite serves one host. Several processes may publish to one file; one
//! relay at a time delivers, the one holding the file's relay lease
//! (`lease.rs`); the others stand by and take over when it stops or dies.

mod lease;
mod recorder;
mod relay;
pub mod schema;
mod sink;
mod store;

pub use self::sink::OutboxSink;
/// The `rusqlite` crate the SQLite outbox is built on, for transactional
/// use ([`OutboxSink::within`]).
pub use rusqlite;
