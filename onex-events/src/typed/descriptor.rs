//! What `#[derive(OnexEvent)]` declares about an event type: its name, its
//! kind and the kind's fixed attributes.

use crate::event_type::EventType;
use serde::Serialize;
use std::fmt;

/// The category of a declared event, after seed 003: domain events of an
/// aggregate, audit events about a resource, notifications, or a category
/// of the user's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Something that happened to an aggregate (`aggregate_type`,
    /// `aggregate_id`); keyed by the aggregate id so one aggregate's events
    /// stay in order.
    Domain,
    /// Who did what to which resource (`action`, `resource_type`,
    /// `resource_id`).
    Audit,
    /// A message for users or operators.
    Notification,
    /// A category of the user's own, lowercase snake_case.
    Custom(&'static str),
}

impl EventKind {
    /// The kind's name: `domain`, `audit`, `notification` or the custom one.
    pub const fn as_str(&self) -> &'static str {
        match self {
            EventKind::Domain => "domain",
            EventKind::Audit => "audit",
            EventKind::Notification => "notification",
            EventKind::Custom(name) => name,
        }
    }

    /// The `metadata` field that carries an event's id: `aggregate_id`
    /// for a domain event, `resource_id` for an audit event, `key`
    /// otherwise.
    pub const fn id_field(&self) -> &'static str {
        match self {
            EventKind::Domain => "aggregate_id",
            EventKind::Audit => "resource_id",
            _ => "key",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A declared event type, as `#[derive(OnexEvent)]` writes it: one per
/// type, in the program-wide registry ([`declared_events`](crate::declared_events)).
#[derive(Debug, PartialEq, Eq)]
pub struct EventDescriptor {
    /// The event type, e.g. `user.created`.
    pub event_type: EventType,
    /// Its kind.
    pub kind: EventKind,
    /// The Rust type that declared it, e.g. `my_crate::UserCreated`.
    pub rust_type: &'static str,
    /// The kind's fixed attributes, carried in every event's `metadata`:
    /// `aggregate_type` for a domain event, `action` and `resource_type`
    /// for an audit event, `recipient_type` for a notification (if given).
    pub attributes: &'static [(&'static str, &'static str)],
}

impl EventDescriptor {
    /// The event type's name, e.g. `user.created`.
    pub const fn name(&self) -> &'static str {
        self.event_type.as_str()
    }

    /// The value of a fixed attribute, e.g. `aggregate_type`.
    pub fn attribute(&self, name: &str) -> Option<&'static str> {
        self.attributes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

impl Serialize for EventDescriptor {
    /// Its name: catalogs list event types by name.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
