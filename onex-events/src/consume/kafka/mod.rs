//! The Kafka consumer (feature `kafka`): [`EventConsumer`] runs the
//! handlers of its nodes on the events of the topics it reads, as a member
//! of a consumer group — at least once, concurrently with per-key order,
//! failed events to a dead-letter topic — and [`reprocess`] moves dead
//! letters back.

mod backpressure;
mod builder;
mod consumer;
mod context;
mod dead_letter;
mod error;
mod fetched;
mod job;
mod lanes;
mod offsets;
mod reprocess;
mod run_loop;
mod shutdown;
mod stats;

pub use builder::{EventConsumerBuilder, DEFAULT_MAX_IN_FLIGHT};
pub use consumer::EventConsumer;
pub use dead_letter::DeadLetterTopic;
pub use error::ConsumerError;
pub(crate) use fetched::FetchedMessage;
pub use job::Unhandled;
pub use reprocess::{
    reprocess, reprocess_with_progress, ReprocessError, ReprocessOptions, ReprocessProgress,
    ReprocessReport,
};
pub use shutdown::ShutdownHandle;
pub use stats::{ConsumerStats, PartitionLag};
