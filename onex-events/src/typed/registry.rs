//! The program-wide registry of declared event types: one link-time entry
//! per `#[derive(OnexEvent)]` (a `linkme` distributed slice: no code runs
//! before `main`).

use super::descriptor::EventDescriptor;

/// One entry per `#[derive(OnexEvent)]` in the program.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static DECLARED_EVENTS: [&'static EventDescriptor];

/// Every event type declared with `#[derive(OnexEvent)]` in this program,
/// sorted by name (a name declared twice is listed twice).
///
/// ```
/// for event in onex_events::declared_events() {
///     println!("{} ({})", event.name(), event.kind);
/// }
/// ```
pub fn declared_events() -> Vec<&'static EventDescriptor> {
    let mut all: Vec<&'static EventDescriptor> = DECLARED_EVENTS.iter().copied().collect();
    all.sort_by_key(|d| (d.name(), d.rust_type));
    all
}

/// The declaration of event type `name`, if a `#[derive(OnexEvent)]` of
/// this program declares it.
pub fn declared_event(name: &str) -> Option<&'static EventDescriptor> {
    DECLARED_EVENTS.iter().copied().find(|d| d.name() == name)
}
