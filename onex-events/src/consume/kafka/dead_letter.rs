//! Dead letters: where a record a consumer gives up on goes, the headers
//! that say why, and the producer that delivers it (retrying until the
//! dead-letter topic acknowledges it).

use crate::consume::{Failure, MalformedEvent, ReceivedRecord};
use crate::kafka::headers::{
    DEAD_LETTER_ATTEMPTS, DEAD_LETTER_ERROR, DEAD_LETTER_ERROR_TYPE, DEAD_LETTER_GROUP,
    DEAD_LETTER_HANDLER, DEAD_LETTER_OFFSET, DEAD_LETTER_PARTITION, DEAD_LETTER_PREFIX,
    DEAD_LETTER_TOPIC,
};
use crate::kafka::rdkafka::message::{Header, OwnedHeaders};
use crate::kafka::rdkafka::producer::{FutureProducer, FutureRecord};
use crate::kafka::{check_topic, TracingContext};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The dead-letter topic of each topic a consumer reads.
///
/// ```
/// use onex_events::consume::kafka::DeadLetterTopic;
///
/// assert_eq!(DeadLetterTopic::default().topic_for("orders.v1"), "orders.v1.dlq");
/// assert_eq!(DeadLetterTopic::suffix("-dead").topic_for("orders.v1"), "orders.v1-dead");
/// assert_eq!(DeadLetterTopic::single("all.dlq").topic_for("orders.v1"), "all.dlq");
/// let custom = DeadLetterTopic::custom(|topic: &str| format!("dlq.{topic}"));
/// assert_eq!(custom.topic_for("orders.v1"), "dlq.orders.v1");
/// ```
#[derive(Clone)]
pub struct DeadLetterTopic(Naming);

#[derive(Clone)]
enum Naming {
    Suffix(Arc<str>),
    Single(Arc<str>),
    Custom(Arc<dyn Fn(&str) -> String + Send + Sync>),
}

impl Default for DeadLetterTopic {
    /// `<topic>.dlq`.
    fn default() -> Self {
        DeadLetterTopic::suffix(".dlq")
    }
}

impl DeadLetterTopic {
    /// `<topic><suffix>`.
    pub fn suffix(suffix: impl Into<String>) -> Self {
        DeadLetterTopic(Naming::Suffix(Arc::from(suffix.into())))
    }

    /// One dead-letter topic for every topic.
    pub fn single(topic: impl Into<String>) -> Self {
        DeadLetterTopic(Naming::Single(Arc::from(topic.into())))
    }

    /// The dead-letter topic of each topic, computed.
    pub fn custom(name: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        DeadLetterTopic(Naming::Custom(Arc::new(name)))
    }

    /// The dead-letter topic of records from `topic`.
    pub fn topic_for(&self, topic: &str) -> String {
        match &self.0 {
            Naming::Suffix(suffix) => format!("{topic}{suffix}"),
            Naming::Single(dlq) => dlq.to_string(),
            Naming::Custom(name) => name(topic),
        }
    }

    /// Checks the names it can check before any record: a suffix (on a
    /// one-letter topic) and a single topic must give names Kafka accepts.
    pub(crate) fn check(&self) -> Result<(), (String, &'static str)> {
        let name =
            match &self.0 {
                Naming::Suffix(suffix) if suffix.is_empty() => return Err((
                    String::new(),
                    "a dead-letter suffix cannot be empty: records would go back to their topic",
                )),
                Naming::Suffix(suffix) => format!("x{suffix}"),
                Naming::Single(topic) => topic.to_string(),
                Naming::Custom(_) => return Ok(()),
            };
        check_topic(&name).map_err(|reason| (name, reason))
    }
}

impl fmt::Debug for DeadLetterTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Naming::Suffix(s) => f.debug_tuple("Suffix").field(s).finish(),
            Naming::Single(t) => f.debug_tuple("Single").field(t).finish(),
            Naming::Custom(_) => f.write_str("Custom"),
        }
    }
}

/// Why a record goes to the dead-letter topic.
#[derive(Debug)]
pub(crate) enum Cause<'a> {
    /// A handler gave the event up.
    Handler {
        /// `{node_type}.{handler}`.
        handler: String,
        /// Runs made.
        attempts: u32,
        /// The last failure.
        failure: &'a Failure,
    },
    /// Not an OnexEnvelopeV1.
    Malformed(&'a MalformedEvent),
    /// No handler takes its event type (and unhandled events are
    /// dead-lettered).
    Unhandled(&'a str),
}

impl Cause<'_> {
    /// The `reason` label of the dead-letter metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Cause::Handler { .. } => "handler_failed",
            Cause::Malformed(_) => "malformed",
            Cause::Unhandled(_) => "unhandled",
        }
    }

    fn error_type(&self) -> &str {
        match self {
            Cause::Handler { failure, .. } => failure.error_type(),
            Cause::Malformed(_) => "malformed_event",
            Cause::Unhandled(_) => "unhandled_event",
        }
    }

    fn message(&self) -> String {
        match self {
            Cause::Handler { failure, .. } => failure.message(),
            Cause::Malformed(reason) => reason.to_string(),
            Cause::Unhandled(event_type) => format!("no handler takes event type {event_type:?}"),
        }
    }

    fn attempts(&self) -> u32 {
        match self {
            Cause::Handler { attempts, .. } => *attempts,
            _ => 0,
        }
    }
}

/// The headers of a dead letter: the record's own (without those of an
/// earlier dead letter), then why it is one and where it came from.
pub(crate) fn dead_letter_headers(
    record: &ReceivedRecord,
    cause: &Cause<'_>,
    group: &str,
) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new_with_capacity(record.headers().len() + 8);
    for (key, value) in record.headers().iter() {
        if !key.starts_with(DEAD_LETTER_PREFIX) {
            headers = headers.insert(Header { key, value });
        }
    }
    let text = |key: &'static str, value: &str| -> (&'static str, Vec<u8>) {
        (key, value.as_bytes().to_vec())
    };
    let mut added = vec![
        text(DEAD_LETTER_ERROR_TYPE, cause.error_type()),
        text(DEAD_LETTER_ERROR, &cause.message()),
        text(DEAD_LETTER_ATTEMPTS, &cause.attempts().to_string()),
        text(DEAD_LETTER_TOPIC, record.topic()),
        text(DEAD_LETTER_PARTITION, &record.partition().to_string()),
        text(DEAD_LETTER_OFFSET, &record.offset().to_string()),
        text(DEAD_LETTER_GROUP, group),
    ];
    if let Cause::Handler { handler, .. } = cause {
        added.push(text(DEAD_LETTER_HANDLER, handler));
    }
    for (key, value) in &added {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_slice()),
        });
    }
    headers
}

/// Delivers dead letters, each until its topic acknowledges it.
pub(crate) struct DeadLetters {
    producer: FutureProducer<TracingContext>,
    topics: DeadLetterTopic,
    group: String,
}

/// The first wait after a dead letter was not delivered; it doubles up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two tries of a dead letter.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl DeadLetters {
    pub fn new(
        producer: FutureProducer<TracingContext>,
        topics: DeadLetterTopic,
        group: String,
    ) -> Self {
        DeadLetters {
            producer,
            topics,
            group,
        }
    }

    /// The consumer group named in the dead letters.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Sends `record` to its dead-letter topic and returns once the topic
    /// acknowledged it. A failure is logged at ERROR and the record sent
    /// again after a backoff (100 ms doubling up to 30 s), for as long as it
    /// takes: its offset is not committed before.
    pub async fn send(&self, record: &ReceivedRecord, cause: Cause<'_>) {
        let topic = self.topics.topic_for(record.topic());
        let headers = dead_letter_headers(record, &cause, &self.group);
        let mut backoff = FIRST_BACKOFF;
        let mut tries = 0u32;
        loop {
            tries += 1;
            let mut out = FutureRecord::<[u8], [u8]>::to(&topic)
                .payload(record.value())
                .headers(headers.clone());
            if let Some(key) = record.key() {
                out = out.key(key);
            }
            let error = match self.producer.send_result(out) {
                Ok(delivery) => match delivery.await {
                    Ok(Ok(_)) => {
                        tracing::warn!(
                            topic = record.topic(),
                            partition = record.partition(),
                            offset = record.offset(),
                            dead_letter_topic = %topic,
                            error_type = cause.error_type(),
                            error = %cause.message(),
                            "event dead-lettered"
                        );
                        return;
                    }
                    Ok(Err((error, _))) => error.to_string(),
                    Err(_) => "the producer was dropped".to_owned(),
                },
                Err((error, _)) => error.to_string(),
            };
            tracing::error!(
                topic = record.topic(),
                partition = record.partition(),
                offset = record.offset(),
                dead_letter_topic = %topic,
                tries,
                %error,
                retry_in = ?backoff,
                "dead letter not delivered; its offset is held until it is"
            );
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consume::{RecordHeaders, RecordParts};
    use crate::kafka::rdkafka::message::Headers;

    #[test]
    fn a_dead_letter_keeps_the_record_headers_and_says_why() {
        let mut headers = RecordHeaders::default();
        headers.push("ce_type", Some(b"a.b.completed"));
        headers.push(DEAD_LETTER_ERROR, Some(b"an earlier failure"));
        let record = RecordParts {
            topic: Arc::from("t"),
            partition: 2,
            offset: 41,
            headers,
            ..RecordParts::default()
        };
        let malformed = MalformedEvent::Empty;
        let record = ReceivedRecord::from(record);
        let out = dead_letter_headers(&record, &Cause::Malformed(&malformed), "g");
        let all: Vec<(String, String)> = out
            .iter()
            .map(|h| {
                let value = String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned();
                (h.key.to_owned(), value)
            })
            .collect();
        let get = |k: &str| {
            let found: Vec<_> = all.iter().filter(|(n, _)| n == k).collect();
            assert_eq!(found.len(), 1, "{k} once in {all:?}");
            found[0].1.clone()
        };
        assert_eq!(get("ce_type"), "a.b.completed");
        assert_eq!(get(DEAD_LETTER_ERROR), "the record has no value");
        assert_eq!(get(DEAD_LETTER_ERROR_TYPE), "malformed_event");
        assert_eq!(get(DEAD_LETTER_ATTEMPTS), "0");
        assert_eq!(get(DEAD_LETTER_TOPIC), "t");
        assert_eq!(get(DEAD_LETTER_PARTITION), "2");
        assert_eq!(get(DEAD_LETTER_OFFSET), "41");
        assert_eq!(get(DEAD_LETTER_GROUP), "g");
        assert!(all.iter().all(|(k, _)| k != DEAD_LETTER_HANDLER));
    }

    #[test]
    fn dead_letter_names_are_checked() {
        assert!(DeadLetterTopic::default().check().is_ok());
        assert!(DeadLetterTopic::suffix("").check().is_err());
        assert!(DeadLetterTopic::suffix(" dlq").check().is_err());
        assert!(DeadLetterTopic::single("bad topic").check().is_err());
    }
}
