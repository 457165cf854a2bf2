//! The in-process bus: published events delivered to node handlers in the
//! same process, without Kafka (the seeds' `MockEventBus`, FastStream's
//! `TestKafkaBroker`), so that nodes can be wired together in a unit test.

mod dead_letter;
mod in_process_bus;
mod record;
mod stats;

pub use dead_letter::DeadLetter;
pub use in_process_bus::InProcessBus;
pub use stats::BusStats;
