//! The responses a requester waits for: one reader for every request of the
//! process, handing each response to the request it answers (by its
//! causation id, the request's `event_id`), and counting the others.

use crate::consume::{ReceivedEvent, RecordHeaders, RecordParts};
use crate::kafka::headers::{CAUSATION_ID, REPLY_TO};
use crate::kafka::rdkafka::consumer::StreamConsumer;
use crate::kafka::rdkafka::message::{BorrowedMessage, Headers, Message};
use crate::kafka::TracingContext;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;
use uuid::Uuid;

/// The requests waiting for a response, by request `event_id`.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    by_request: Mutex<HashMap<Uuid, oneshot::Sender<Box<ReceivedEvent>>>>,
    counts: Counts,
}

#[derive(Debug, Default)]
struct Counts {
    replies: AtomicU64,
    late: AtomicU64,
    foreign: AtomicU64,
    malformed: AtomicU64,
}

/// What a requester's reader of responses saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequesterStats {
    /// Responses handed to the request they answer.
    pub replies: u64,
    /// Responses to this requester that no request waits for any more (it
    /// timed out or was dropped), or came twice: counted and dropped.
    pub late: u64,
    /// Responses to other requesters sharing the topic: skipped.
    pub foreign: u64,
    /// Records of the response topics that are not responses to read.
    pub malformed: u64,
    /// Requests waiting now.
    pub waiting: u64,
}

impl Waiting {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, oneshot::Sender<Box<ReceivedEvent>>>> {
        self.by_request
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for the response to request `request_id`; the wait ends when
    /// the [`Wait`] is dropped.
    pub fn wait(self: &Arc<Self>, request_id: Uuid) -> Wait {
        let (sender, receiver) = oneshot::channel();
        self.lock().insert(request_id, sender);
        Wait {
            waiting: Arc::clone(self),
            request_id,
            receiver,
        }
    }

    pub fn stats(&self) -> RequesterStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RequesterStats {
            replies: get(&self.counts.replies),
            late: get(&self.counts.late),
            foreign: get(&self.counts.foreign),
            malformed: get(&self.counts.malformed),
            waiting: self.lock().len() as u64,
        }
    }

    /// Hands `message` to the request it answers, if it is a response to
    /// `instance` that a request waits for.
    fn deliver(&self, instance: &str, message: &BorrowedMessage<'_>) {
        let headers = message.headers();
        let header = |name: &str| {
            headers
                .and_then(|h| h.iter().find(|h| h.key == name))
                .and_then(|h| h.value)
        };
        // Another instance's response is skipped before it is decoded.
        if header(REPLY_TO).is_some_and(|to| to != instance.as_bytes()) {
            self.counts.foreign.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut record_headers = RecordHeaders::default();
        if let Some(headers) = headers {
            for h in headers.iter() {
                record_headers.push(h.key, h.value);
            }
        }
        let parts = RecordParts {
            topic: Arc::from(message.topic()),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers: record_headers,
        };
        let event = match ReceivedEvent::decode(parts) {
            Ok(event) => event,
            Err(reason) => {
                self.counts.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(topic = message.topic(), offset = message.offset(), %reason, "a record of a response topic is not an envelope; dropped");
                return;
            }
        };
        let Some(request_id) = event.causation_id().or_else(|| {
            header(CAUSATION_ID)
                .and_then(|id| std::str::from_utf8(id).ok())
                .and_then(|id| Uuid::try_parse(id).ok())
        }) else {
            self.counts.malformed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(event_id = %event.event_id(), "a response without causation_id; dropped");
            return;
        };
        let waiter = self.lock().remove(&request_id);
        // Counted before it is handed over, so the caller sees it counted.
        if let Some(waiter) = waiter.filter(|w| !w.is_closed()) {
            self.counts.replies.fetch_add(1, Ordering::Relaxed);
            if waiter.send(Box::new(event)).is_ok() {
                return;
            }
            self.counts.replies.fetch_sub(1, Ordering::Relaxed);
        }
        self.counts.late.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%request_id, "a response no request waits for (late or repeated); dropped");
    }
}

/// One request's wait for its response.
pub(crate) struct Wait {
    waiting: Arc<Waiting>,
    request_id: Uuid,
    pub receiver: oneshot::Receiver<Box<ReceivedEvent>>,
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.waiting.lock().remove(&self.request_id);
    }
}

/// Reads the responses until the consumer ends (the requester is dropped
/// and aborts this task).
pub(crate) async fn read(
    consumer: StreamConsumer<TracingContext>,
    waiting: Arc<Waiting>,
    instance: Uuid,
) {
    let instance = instance.hyphenated().to_string();
    let mut stream = consumer.stream();
    while let Some(received) = stream.next().await {
        match received {
            Ok(message) => waiting.deliver(&instance, &message),
            Err(error) => tracing::warn!(%error, "requester: Kafka consumer error"),
        }
    }
}
