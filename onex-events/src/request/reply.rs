//! The payload of a response event: the reply, or the error the responder
//! returned, and the requester it is for.

use crate::payload::ErrorInfo;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use uuid::Uuid;

/// The record header of a request naming the instance that waits for its
/// response (its `instance_id`), copied onto the response: a requester
/// keeps the responses with its own id and skips the others before
/// decoding them.
pub const REPLY_TO: &str = "onex_reply_to";

/// The payload of `{node_type}.response.{name}`:
/// `{"status":"ok","reply":<the handler's value>,"reply_to":"<uuid>"}` or
/// `{"status":"error","error":{"kind":..,"error_type":..,"message":..,"chain":[..]},"reply_to":"<uuid>"}`
/// (`reply_to` is left out when the request named no requester).
#[derive(Clone, Debug)]
pub struct Reply {
    /// The requester's instance id, from the request's `onex_reply_to` header.
    pub reply_to: Option<Uuid>,
    /// The reply or the error.
    pub outcome: ReplyOutcome,
}

/// What a responder answered.
#[derive(Clone, Debug)]
pub enum ReplyOutcome {
    /// The handler's value (the `Ok` of a `Result`), as JSON.
    Ok(Box<RawValue>),
    /// The handler's `Err`, or why no handler's value could be sent.
    Error(ErrorInfo),
}

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match &self.outcome {
            ReplyOutcome::Ok(reply) => {
                m.serialize_entry("status", "ok")?;
                m.serialize_entry("reply", reply)?;
            }
            ReplyOutcome::Error(error) => {
                m.serialize_entry("status", "error")?;
                m.serialize_entry("error", error)?;
            }
        }
        if let Some(id) = &self.reply_to {
            m.serialize_entry("reply_to", id)?;
        }
        m.end()
    }
}
