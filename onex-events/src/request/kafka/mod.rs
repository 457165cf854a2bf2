//! Request/response over Kafka (feature `kafka`): [`Requester`] sends a
//! node's requests and waits for their responses with one reader for the
//! whole process.

mod builder;
mod error;
mod replies;
mod requester;

pub use builder::RequesterBuilder;
pub use error::{RequestError, RequesterError};
pub use replies::RequesterStats;
pub use requester::Requester;
