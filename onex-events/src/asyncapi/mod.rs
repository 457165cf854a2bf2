//! AsyncAPI 3.0 from the compiled catalogs: the document of a program
//! ([`document`]), the `catalog` and `asyncapi` subcommands a node binary
//! adds with one line ([`Subcommands`]), and the check across the
//! documents of several services ([`check_services`]).
//!
//! The document has one channel per event type the program publishes or
//! handles, at the topic the routing gives it, with a `send` operation for
//! what it publishes and a `receive` for what it handles (`reply` on a
//! request's operations); each message is the OnexEnvelopeV1 record value
//! with its payload's JSON Schema ([`schema::payload_schema`](crate::schema::payload_schema)),
//! the CloudEvents headers, the correlation id's location and the Kafka
//! key; the consumer group is the `receive` operations' Kafka binding; and
//! each handled event type has its dead-letter channel.
//!
//! ```
//! use onex_events::asyncapi::{document, DocumentOptions};
//!
//! let doc = document(&DocumentOptions::new("orders", "1.0.0"));
//! assert_eq!(doc["asyncapi"], "3.0.0");
//! ```

mod check;
mod command;
mod document;
mod error;
mod format;
mod options;

pub use self::check::{check_services, Mismatch, ServiceDocument, ServicesReport, Unpublished};
pub use self::command::Subcommands;
pub use self::document::{catalogs_json, document, document_of, ASYNCAPI_VERSION};
pub use self::error::AsyncApiError;
pub use self::format::{read_document, to_yaml};
pub use self::options::DocumentOptions;
