//! Publishing declared events: one at a time from a node
//! ([`NodeContext::publish`]), many with one flush result
//! ([`NodeContext::publish_batch`], built on [`EventBatch`](crate::EventBatch)), and from an
//! operation's `publish_on_success`/`publish_on_error` options.

use super::event::OnexEvent;
use super::payload::DeclaredPayload;
use crate::correlation::Correlation;
use crate::envelope::Event;
use crate::node::NodeContext;
use crate::operation::OperationGuard;
use crate::payload::{Captured, Payload};
use crate::sink::SinkError;
use crate::trace_parent::TraceParent;
use std::time::Duration;
use uuid::Uuid;

/// Why a declared event was not published.
fn refuse(ctx: &NodeContext, event_type: &'static str, reason: &str) {
    tracing::warn!(
        node_type = ctx.catalog().node_type,
        event_type,
        reason,
        "declared event not published"
    );
}

/// `event` as the payload of an envelope, or why it cannot be one.
fn payload<E: OnexEvent + ?Sized>(event: &E, id: Option<String>) -> Result<Payload, String> {
    let data = match Captured::of(event) {
        Captured::Value(raw) => raw,
        Captured::Error(reason) => return Err(reason),
    };
    if !data.get().starts_with('{') {
        return Err("the payload does not serialize to a JSON object".to_owned());
    }
    Ok(Payload::Declared(DeclaredPayload {
        descriptor: E::DESCRIPTOR,
        id,
        data,
    }))
}

impl NodeContext {
    /// Publishes a declared event (see [`OnexEvent`]) from this node, keyed
    /// by its id (its `#[onex_event(id)]` field) if it has one; returns the
    /// event id.
    ///
    /// Inside an operation the event joins the operation's correlation;
    /// outside, it starts a fresh one. Like [`NodeContext::state_changed`],
    /// it is not published, and a warning is logged, when the event type
    /// is not in the node's catalog (list it in `#[onex_node(.., events(..))]`
    /// or an operation's `publish_on_success`/`publish_on_error`), or when
    /// its payload cannot be serialized to a JSON object.
    ///
    /// ```
    /// use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode, Publisher, Recorder};
    ///
    /// #[derive(serde::Serialize, OnexEvent)]
    /// #[onex_event("user.created", kind = "domain", aggregate_type = "user")]
    /// struct UserCreated {
    ///     #[onex_event(id)]
    ///     user_id: String,
    /// }
    ///
    /// #[derive(OnexNode)]
    /// struct Users {
    ///     ctx: NodeContext,
    /// }
    ///
    /// #[onex_node("users", events(UserCreated))]
    /// impl Users {}
    ///
    /// let recorder = Recorder::new();
    /// let users = Users { ctx: NodeContext::new::<Users>(Publisher::new(recorder.clone())) };
    /// users.ctx.publish(&UserCreated { user_id: "u-1".into() });
    /// let envelope = &recorder.json()[0];
    /// assert_eq!(envelope["event_type"], "user.created");
    /// assert_eq!(envelope["payload"]["user_id"], "u-1");
    /// assert_eq!(envelope["metadata"]["aggregate_id"], "u-1");
    /// assert_eq!(Users::EVENT_CATALOG.declared_events[0].name(), "user.created");
    /// ```
    pub fn publish<E: OnexEvent + ?Sized>(&self, event: &E) -> Option<Uuid> {
        self.publish_with_id(event, event.id())
    }

    /// [`NodeContext::publish`] with the id given (`None`: no id, keyed by
    /// the correlation id like any other event).
    pub fn publish_with_id<E: OnexEvent + ?Sized>(
        &self,
        event: &E,
        id: Option<String>,
    ) -> Option<Uuid> {
        let correlation = Correlation::current().unwrap_or_else(Correlation::fresh);
        let event = self.declared(event, id, correlation, TraceParent::current())?;
        let event_id = event.event_id;
        self.publisher().publish(event);
        Some(event_id)
    }

    /// Publishes many declared events of one type in one call, in order,
    /// then waits up to `timeout` for the sink to deliver them: one flush
    /// result for the whole batch (seed 004's `publish_batch`); see
    /// [`EventBatch`](crate::EventBatch) for the result, and for a batch of several types.
    pub fn publish_batch<'a, E, I>(
        &self,
        events: I,
        timeout: Duration,
    ) -> Result<Vec<Uuid>, SinkError>
    where
        E: OnexEvent + 'a,
        I: IntoIterator<Item = &'a E>,
    {
        let mut batch = self.batch();
        for event in events {
            batch.add(event);
        }
        batch.publish(timeout)
    }

    /// `event` as an envelope from this node, or `None` (logged) if the
    /// node cannot publish it.
    pub(super) fn declared<E: OnexEvent + ?Sized>(
        &self,
        event: &E,
        id: Option<String>,
        correlation: Correlation,
        trace_parent: Option<TraceParent>,
    ) -> Option<Event> {
        let descriptor = E::DESCRIPTOR;
        if !self.catalog().publishes_declared(descriptor) {
            refuse(
                self,
                descriptor.name(),
                "not in this node's catalog: list it in `#[onex_node(.., events(..))]`",
            );
            return None;
        }
        match payload(event, id) {
            Ok(payload) => Some(self.event(
                descriptor.event_type,
                Some(correlation),
                trace_parent,
                payload,
            )),
            Err(reason) => {
                refuse(self, descriptor.name(), &reason);
                None
            }
        }
    }
}

/// Where an operation option takes the event's id from.
#[doc(hidden)]
pub enum OutcomeId {
    /// The event's own `#[onex_event(id)]` field.
    Own,
    /// A value captured from an argument or the returned value.
    Given(String),
}

impl OutcomeId {
    /// The id of an argument or returned value.
    pub fn of<T: std::fmt::Display + ?Sized>(value: &T) -> Self {
        OutcomeId::Given(value.to_string())
    }
}

/// An event an operation's `publish_on_success`/`publish_on_error` builds
/// from its returned value (the `Ok` value of a `Result`) or its `Err`,
/// through the event's `From<&T>`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "the event `{Self}` cannot be built from what the operation returns",
    label = "no `From<&T>` for `{Self}`, where `T` is the returned value (the `Ok` value of a `Result`)",
    note = "implement `From<&T>` for `{Self}`: `T` is the returned value (the `Ok` value of a `Result`) for `publish_on_success`, the `Err` value for `publish_on_error`"
)]
pub trait FromOutcome<T: ?Sized> {
    /// The event for `value`.
    fn from_outcome(value: &T) -> Self;
}

impl<E, T: ?Sized> FromOutcome<T> for E
where
    E: for<'a> From<&'a T>,
{
    fn from_outcome(value: &T) -> Self {
        E::from(value)
    }
}

/// `E` built from `value` (see [`FromOutcome`]).
#[doc(hidden)]
pub fn event_from<E: FromOutcome<T>, T: ?Sized>(value: &T) -> E {
    E::from_outcome(value)
}

/// Publishes `event` for an operation's `publish_on_success` or
/// `publish_on_error`, in the operation's correlation (caused by its
/// `started` event).
#[doc(hidden)]
pub fn publish_on_outcome<E: OnexEvent>(guard: &OperationGuard<'_>, event: E, id: OutcomeId) {
    let id = match id {
        OutcomeId::Own => event.id(),
        OutcomeId::Given(id) => Some(id),
    };
    let ctx = guard.context();
    let Some(event) = ctx.declared(&event, id, guard.scope(), guard.trace_parent()) else {
        return;
    };
    ctx.publisher().publish(event);
}
