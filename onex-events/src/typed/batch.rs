//! A batch of declared events, of any types, published in one call with one
//! flush result (seed 004's `publish_batch`).

use super::event::OnexEvent;
use crate::correlation::Correlation;
use crate::envelope::Event;
use crate::node::NodeContext;
use crate::sink::SinkError;
use crate::trace_parent::TraceParent;
use std::time::Duration;
use uuid::Uuid;

/// Declared events gathered from one node, published together by
/// [`EventBatch::publish`]; start one with [`NodeContext::batch`].
///
/// The events share one correlation (the one in scope when the batch was
/// started, else a fresh one) and each is keyed by its id.
///
/// ```
/// use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode, Publisher, Recorder};
/// use std::time::Duration;
///
/// #[derive(serde::Serialize, OnexEvent)]
/// #[onex_event("user.created", kind = "domain", aggregate_type = "user")]
/// struct UserCreated {
///     #[onex_event(id)]
///     user_id: String,
/// }
///
/// #[derive(serde::Serialize, OnexEvent)]
/// #[onex_event("audit.user_created", kind = "audit", action = "create", resource_type = "user")]
/// struct UserCreatedAudit {
///     #[onex_event(id)]
///     user_id: String,
/// }
///
/// #[derive(OnexNode)]
/// struct Users {
///     ctx: NodeContext,
/// }
///
/// #[onex_node("users", events(UserCreated, UserCreatedAudit))]
/// impl Users {}
///
/// let recorder = Recorder::new();
/// let users = Users { ctx: NodeContext::new::<Users>(Publisher::new(recorder.clone())) };
/// let mut batch = users.ctx.batch();
/// batch
///     .add(&UserCreated { user_id: "u-1".into() })
///     .add(&UserCreatedAudit { user_id: "u-1".into() });
/// let ids = batch.publish(Duration::from_secs(5)).unwrap();
/// assert_eq!(ids.len(), 2);
/// assert_eq!(recorder.event_types(), ["user.created", "audit.user_created"]);
/// ```
#[derive(Debug)]
#[must_use = "a batch publishes nothing until `publish` is called"]
pub struct EventBatch<'a> {
    ctx: &'a NodeContext,
    correlation: Correlation,
    trace_parent: Option<TraceParent>,
    events: Vec<Event>,
    refused: u64,
}

impl NodeContext {
    /// An empty batch of declared events from this node.
    pub fn batch(&self) -> EventBatch<'_> {
        EventBatch {
            ctx: self,
            correlation: Correlation::current().unwrap_or_else(Correlation::fresh),
            trace_parent: TraceParent::current(),
            events: Vec::new(),
            refused: 0,
        }
    }
}

impl EventBatch<'_> {
    /// Adds `event`, keyed by its id. An event the node cannot publish (not
    /// in its catalog, or not serializable to a JSON object) is refused,
    /// logged, and counted in the batch's result.
    pub fn add<E: OnexEvent + ?Sized>(&mut self, event: &E) -> &mut Self {
        let id = event.id();
        match self
            .ctx
            .declared(event, id, self.correlation, self.trace_parent)
        {
            Some(event) => self.events.push(event),
            None => self.refused += 1,
        }
        self
    }

    /// How many events the batch holds (those refused not counted).
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True if the batch holds no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Publishes the events in order, then waits up to `timeout` for the
    /// sink to deliver them: one flush result for the whole batch. Returns
    /// the ids of the events published.
    ///
    /// The result is the sink's [`flush`](crate::Publisher::flush): `Ok`
    /// when every event taken since the previous flush, the batch's
    /// included, was delivered; [`SinkError::Undelivered`] counting those
    /// given up plus the events of the batch refused by [`EventBatch::add`];
    /// [`SinkError::Timeout`] when some are still pending at the timeout.
    pub fn publish(self, timeout: Duration) -> Result<Vec<Uuid>, SinkError> {
        let publisher = self.ctx.publisher();
        let ids = self.events.iter().map(|e| e.event_id).collect();
        for event in self.events {
            publisher.publish(event);
        }
        let refused = self.refused;
        let note = || format!("{refused} refused before publishing (see the warnings logged)");
        match publisher.flush(timeout) {
            Ok(()) if refused == 0 => Ok(ids),
            Ok(()) => Err(SinkError::Undelivered {
                lost: refused,
                detail: note(),
            }),
            Err(SinkError::Undelivered { lost, detail }) if refused > 0 => {
                Err(SinkError::Undelivered {
                    lost: lost + refused,
                    detail: format!("{detail}; {}", note()),
                })
            }
            Err(e) => Err(e),
        }
    }
}
