//! The responder's side, as the code `#[onex_node]` generates for a handler
//! of a request type calls it: the reply event, published by the node like
//! the handler's lifecycle events.

use super::reply::{Reply, ReplyOutcome, REPLY_TO};
use crate::consume::handling::HandlerScope;
use crate::consume::{PayloadError, ReceivedEvent};
use crate::correlation::Correlation;
use crate::event_type::EventType;
use crate::node::NodeContext;
use crate::outcome::Outcome;
use crate::payload::{Captured, ErrorInfo, Payload};
use uuid::Uuid;

/// What a response needs of its request, taken before the handler runs.
#[derive(Debug, Clone, Copy)]
pub struct RequestOrigin {
    correlation: Correlation,
    reply_to: Option<Uuid>,
}

impl RequestOrigin {
    /// The origin of `request`, handled in `scope`: the scope's
    /// correlation id (the request's, or the fresh one its handler runs in),
    /// the request's `event_id` as the response's causation, and the
    /// requester of its `onex_reply_to` header.
    #[inline]
    pub fn of(request: &ReceivedEvent, scope: &HandlerScope) -> Self {
        RequestOrigin {
            correlation: Correlation {
                correlation_id: scope.correlation().correlation_id,
                causation_id: Some(request.event_id()),
            },
            reply_to: request
                .record()
                .headers()
                .get_str(REPLY_TO)
                .and_then(|id| Uuid::try_parse(id).ok()),
        }
    }

    fn publish(self, ctx: &NodeContext, response: EventType, outcome: ReplyOutcome) {
        let payload = Payload::Response(Reply {
            reply_to: self.reply_to,
            outcome,
        });
        ctx.emit(response, Some(self.correlation), payload);
    }
}

/// Publishes the response to a request whose handler ended with `outcome`,
/// its value (the `Ok` of a `Result`) serialized as `reply`.
pub fn respond(
    ctx: &NodeContext,
    origin: RequestOrigin,
    response: EventType,
    outcome: &Outcome,
    reply: Option<Captured>,
) {
    let outcome = match (outcome, reply) {
        (Outcome::Failed(error), _) => ReplyOutcome::Error(error.clone()),
        (Outcome::Completed { .. }, Some(Captured::Value(json))) => ReplyOutcome::Ok(json),
        (Outcome::Completed { ty }, Some(Captured::Error(reason))) => {
            ReplyOutcome::Error(ErrorInfo::from_message(
                "reply_not_serializable",
                format!("the reply, a `{ty}`, cannot be serialized: {reason}"),
            ))
        }
        (Outcome::Completed { ty }, None) => ReplyOutcome::Error(ErrorInfo::from_message(
            "reply_not_serializable",
            format!("no reply value of type `{ty}`"),
        )),
    };
    origin.publish(ctx, response, outcome);
}

/// Publishes an error response to a request whose payload does not decode
/// into the type its handler takes (the request is also dead-lettered).
pub fn respond_undecodable(
    ctx: &NodeContext,
    request: &ReceivedEvent,
    response: EventType,
    error: &PayloadError,
) {
    let error = ErrorInfo::from_message("undecodable_payload", error.to_string());
    let origin = RequestOrigin::of(request, &HandlerScope::of(request));
    origin.publish(ctx, response, ReplyOutcome::Error(error));
}
