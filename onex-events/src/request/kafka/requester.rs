//! [`Requester`]: sends a node's requests and waits for their responses.

use super::error::RequestError;
use super::replies::{RequesterStats, Waiting};
use crate::consume::ReceivedEvent;
use crate::correlation::Correlation;
use crate::envelope::Event;
use crate::event_type::EventType;
use crate::kafka::headers;
use crate::kafka::rdkafka::producer::FutureProducer;
use crate::kafka::{RecordEncoder, TopicRouting, TracingContext};
use crate::node::NodeContext;
use crate::payload::Payload;
use crate::timestamp::Timestamp;
use crate::trace_parent::TraceParent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use uuid::Uuid;

/// Sends the requests a node declares (`#[onex_node(.., requests(..))]`)
/// and waits for their responses, over Kafka: see [`crate::request`].
///
/// One requester serves any number of concurrent requests with one
/// producer and one reader of responses; share it (`Arc<Requester>`)
/// rather than building one per task. Dropping it stops its reader.
///
/// ```no_run
/// use onex_events::request::kafka::Requester;
/// use onex_events::{onex_node, KafkaConfig, NodeContext, OnexNode};
/// use std::time::Duration;
///
/// #[derive(OnexNode)]
/// struct Orchestrator {
///     ctx: NodeContext,
/// }
///
/// #[onex_node("orchestrator", namespace = "omninode", requests("codegen.request.validate"))]
/// impl Orchestrator {}
///
/// #[derive(serde::Deserialize)]
/// struct Validation {
///     valid: bool,
/// }
///
/// # async fn run(node: Orchestrator) -> Result<(), Box<dyn std::error::Error>> {
/// let requester = Requester::builder(KafkaConfig::new("127.0.0.1:9092"), &node.ctx)
///     .build()
///     .await?;
/// let code = serde_json::json!({"language": "rust", "source": "fn main() {}"});
/// let verdict: Validation = requester
///     .request("codegen.request.validate", &code, Duration::from_secs(10))
///     .await?;
/// println!("valid: {}", verdict.valid);
/// # Ok(())
/// # }
/// ```
pub struct Requester {
    pub(super) node: NodeContext,
    pub(super) requests: Vec<EventType>,
    pub(super) routing: TopicRouting,
    pub(super) producer: FutureProducer<TracingContext>,
    pub(super) waiting: Arc<Waiting>,
    pub(super) reader: tokio::task::JoinHandle<()>,
    pub(super) id: Uuid,
    pub(super) topics: Vec<String>,
}

impl std::fmt::Debug for Requester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requester")
            .field("node", self.node.identity())
            .field("requests", &self.requests)
            .field("id", &self.id)
            .field("response_topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl Drop for Requester {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The part of a response's payload a requester reads.
#[derive(Deserialize)]
struct ResponsePayload<'a> {
    status: &'a str,
    #[serde(borrow, default)]
    reply: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<RemoteError>,
}

#[derive(Deserialize)]
struct RemoteError {
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    chain: Vec<String>,
}

impl Requester {
    /// This requester's id: the `onex_reply_to` of its requests.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The topics its reader of responses is assigned.
    pub fn response_topics(&self) -> &[String] {
        &self.topics
    }

    /// What its reader of responses saw so far.
    pub fn stats(&self) -> RequesterStats {
        self.waiting.stats()
    }

    /// Sends `payload` as a request of type `request_type` (one the node
    /// declares) and waits up to `timeout` for the response: the reply,
    /// decoded into `R`, or why there is none.
    ///
    /// The request joins the correlation in scope (inside an operation or
    /// a handler: its correlation id, caused by its event), or starts a
    /// fresh one. Dropping the future stops the wait; a response that
    /// comes later is counted as late ([`RequesterStats::late`]).
    pub async fn request<Q, R>(
        &self,
        request_type: &str,
        payload: &Q,
        timeout: Duration,
    ) -> Result<R, RequestError>
    where
        Q: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let event_type = self
            .requests
            .iter()
            .find(|t| t.as_str() == request_type)
            .copied()
            .ok_or_else(|| RequestError::Undeclared(request_type.to_owned()))?;
        let body = serde_json::value::to_raw_value(payload).map_err(RequestError::Serialize)?;
        // The envelope's payload is an object.
        if !body.get().starts_with('{') {
            return Err(RequestError::NotAnObject);
        }
        let scope = Correlation::current();
        let event = Event {
            event_id: Uuid::new_v4(),
            event_type,
            timestamp: Timestamp::now(),
            correlation_id: Some(scope.map_or_else(Uuid::new_v4, |c| c.correlation_id)),
            causation_id: scope.and_then(|c| c.causation_id),
            node: Arc::clone(self.node.identity()),
            payload: Payload::Request(body),
            trace_parent: TraceParent::current(),
        };
        // Waiting before sending: the response may come before the
        // delivery report.
        let mut wait = self.waiting.wait(event.event_id);
        let mut encoder = RecordEncoder::new();
        let mut record = encoder
            .encode(&event, &self.routing)
            .map_err(RequestError::Serialize)?;
        record.headers = headers::reply_to(record.headers, self.id);
        let mut delivery = self
            .producer
            .send_result(record.into_future_record())
            .map_err(|(e, _)| RequestError::Send(e))?;
        let mut deadline = std::pin::pin!(tokio::time::sleep(timeout));
        let mut delivered = false;
        let response = poll_fn(|cx| {
            if let Poll::Ready(response) = Pin::new(&mut wait.receiver).poll(cx) {
                return Poll::Ready(response.map_err(|_| RequestError::Stopped));
            }
            if !delivered {
                if let Poll::Ready(report) = Pin::new(&mut delivery).poll(cx) {
                    match report {
                        Ok(Ok(_)) => delivered = true,
                        Ok(Err((e, _))) => return Poll::Ready(Err(RequestError::Send(e))),
                        Err(_) => return Poll::Ready(Err(RequestError::Stopped)),
                    }
                }
            }
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(match delivered {
                    true => RequestError::Timeout(timeout),
                    false => RequestError::Unreachable(timeout),
                }));
            }
            Poll::Pending
        })
        .await?;
        drop(wait);
        reply(&response)
    }
}

/// The reply a response carries, decoded into `R`, or its error.
fn reply<R: DeserializeOwned>(response: &ReceivedEvent) -> Result<R, RequestError> {
    let payload: ResponsePayload<'_> = serde_json::from_str(response.payload_json())
        .map_err(|e| RequestError::UndecodableReply(format!("not a response payload: {e}")))?;
    match (payload.status, payload.reply, payload.error) {
        // A `null` reply (a handler returning `()`) reads as `None`.
        ("ok", reply, _) => {
            serde_json::from_str(reply.map_or("null", RawValue::get)).map_err(|e| {
                RequestError::UndecodableReply(format!(
                    "the reply is not a `{}`: {e}",
                    std::any::type_name::<R>()
                ))
            })
        }
        ("error", _, error) => {
            let error = error.unwrap_or(RemoteError {
                error_type: String::new(),
                message: String::new(),
                chain: Vec::new(),
            });
            Err(RequestError::ErrorReply {
                error_type: error.error_type,
                message: error.message,
                chain: error.chain,
            })
        }
        (status, _, _) => Err(RequestError::UndecodableReply(format!(
            "status {status:?} is neither \"ok\" nor \"error\""
        ))),
    }
}
