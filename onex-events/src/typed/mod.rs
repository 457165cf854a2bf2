//! Typed events: events a user declares as Rust types with
//! `#[derive(OnexEvent)]` (domain, audit, notification or a category of
//! their own), published by a node in one call or by an operation's
//! `publish_on_success`/`publish_on_error`, listed in the node's catalog and
//! in the program-wide registry, and handled by naming their type.

mod batch;
mod descriptor;
mod event;
mod payload;
mod publish;
mod registry;

pub use self::batch::EventBatch;
pub use self::descriptor::{EventDescriptor, EventKind};
pub use self::event::OnexEvent;
pub use self::payload::DeclaredPayload;
pub use self::registry::{declared_event, declared_events};

#[doc(hidden)]
pub use self::publish::{event_from, publish_on_outcome, OutcomeId};
#[doc(hidden)]
pub use self::registry::DECLARED_EVENTS;
