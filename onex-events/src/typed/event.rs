//! The trait `#[derive(OnexEvent)]` implements.

use super::descriptor::EventDescriptor;
use serde::Serialize;

/// An event type declared as a Rust type: its name, its kind and its
/// payload (the type itself, serialized with serde). Implement it with
/// `#[derive(OnexEvent)]`:
///
/// ```
/// use onex_events::{EventKind, OnexEvent};
///
/// #[derive(serde::Serialize, serde::Deserialize, OnexEvent)]
/// #[onex_event("user.created", kind = "domain", aggregate_type = "user")]
/// struct UserCreated {
///     #[onex_event(id)]
///     user_id: String,
///     email: String,
/// }
///
/// assert_eq!(UserCreated::EVENT_TYPE, "user.created");
/// assert_eq!(UserCreated::DESCRIPTOR.kind, EventKind::Domain);
/// let event = UserCreated { user_id: "u-1".into(), email: "a@example.com".into() };
/// assert_eq!(event.id().as_deref(), Some("u-1"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a declared ONEX event",
    label = "no `#[derive(OnexEvent)]` on `{Self}`",
    note = "declare it with `#[derive(serde::Serialize, OnexEvent)]` and `#[onex_event(\"aggregate.event\", kind = \"domain\", ..)]`"
)]
pub trait OnexEvent: Serialize {
    /// The event type, e.g. `user.created`.
    const EVENT_TYPE: &'static str;

    /// The event type's declaration: name, kind, fixed attributes.
    const DESCRIPTOR: &'static EventDescriptor;

    /// The event's id, from its `#[onex_event(id)]` field: the aggregate id
    /// of a domain event, the resource id of an audit event, the record key
    /// of any other. `None` without such a field.
    fn id(&self) -> Option<String> {
        None
    }
}
