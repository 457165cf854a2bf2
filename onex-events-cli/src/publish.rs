//! `onex-events publish`: test events, from flags or JSON lines on stdin,
//! each built as an [`Event`] with a [`Payload::Json`] payload and written
//! by the library's record codec ([`RecordEncoder`]: the OnexEnvelopeV1
//! value, the CloudEvents headers, the key and the topic of its routing).

use crate::cluster::Cluster;
use clap::Args;
use onex_events::kafka::rdkafka::client::ClientContext;
use onex_events::kafka::rdkafka::config::RDKafkaLogLevel;
use onex_events::kafka::rdkafka::error::{KafkaError, RDKafkaErrorCode};
use onex_events::kafka::rdkafka::message::{DeliveryResult, Header, Message};
use onex_events::kafka::rdkafka::producer::{BaseProducer, Producer, ProducerContext};
use onex_events::kafka::{forward_librdkafka_log, RecordEncoder, TopicRouting};
use onex_events::{Event, EventType, NodeIdentity, Payload, Timestamp};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::HashMap;
use std::error::Error;
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, Args)]
#[command(after_help = "\
Without --type, reads one event per line of stdin, a JSON object with the \
same fields: {\"type\": \"..\", \"payload\": {..}, \"correlation\": \"..\", \
\"causation\": \"..\", \"key\": \"..\", \"headers\": {\"k\": \"v\"}, \"topic\": \"..\", \
\"source\": \"..\", \"service\": \"..\", \"namespace\": \"..\"}; only `type` is required \
(`event_type`, `correlation_id` and `causation_id` are read too, so envelopes can be \
sent again). The flags give the defaults of every line.")]
pub struct PublishArgs {
    /// The event type, e.g. `orchestrator.orchestration.started`; without
    /// it, events are read from stdin.
    #[arg(long = "type", value_name = "EVENT_TYPE")]
    event_type: Option<String>,
    /// The payload, JSON.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    payload: String,
    /// The correlation id (a UUID); default: a new one per event.
    #[arg(long, value_name = "ID")]
    correlation: Option<Uuid>,
    /// The causation id (a UUID): the event that caused this one.
    #[arg(long, value_name = "ID")]
    causation: Option<Uuid>,
    /// The record key; default: the library's (the correlation id).
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// A header to add, `name=value`. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// The topic; default: the one the library's routing gives the event
    /// (`KAFKA_TOPIC_PREFIX` and `KAFKA_TOPIC` apply).
    #[arg(long, value_name = "TOPIC")]
    topic: Option<String>,
    /// The publishing node's id (`source_node_id`).
    #[arg(long, value_name = "NODE_ID", default_value = "onex-events-cli")]
    source: String,
    /// The publishing node's service (topic routing); default: the event
    /// type's first segment, as for a node.
    #[arg(long, value_name = "SERVICE")]
    service: Option<String>,
    /// The publishing node's namespace (topic routing).
    #[arg(long, value_name = "NAMESPACE", default_value = "onex")]
    namespace: String,
    /// How long to wait for the cluster and for each delivery, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
}

/// One event to publish, before it is built.
#[derive(Debug, Clone, PartialEq)]
struct Draft {
    event_type: String,
    payload: String,
    correlation: Option<Uuid>,
    causation: Option<Uuid>,
    key: Option<String>,
    headers: Vec<(String, String)>,
    topic: Option<String>,
    source: String,
    service: Option<String>,
    namespace: String,
}

impl PublishArgs {
    pub fn run(self) -> Result<(), Box<dyn Error>> {
        let timeout = Duration::from_secs(self.timeout);
        let cluster = Cluster::from_env(timeout)?;
        // Every line is read and checked before any event is sent.
        let drafts = match &self.event_type {
            Some(event_type) => vec![self.draft(event_type.clone())],
            None => self.drafts_from_stdin()?,
        };
        let mut names = Names::default();
        let instance_id = Uuid::new_v4();
        let events = drafts
            .into_iter()
            .map(|draft| draft.build(&mut names, instance_id))
            .collect::<Result<Vec<_>, _>>()?;
        let mut client = cluster.config().producer_client_config();
        client.set("message.timeout.ms", (timeout.as_millis()).to_string());
        let producer: BaseProducer<Deliveries> =
            client.create_with_context(Deliveries::default())?;
        producer
            .client()
            .fetch_metadata(None, timeout)
            .map_err(|e| {
                format!(
                    "the Kafka cluster at {} did not answer within {timeout:?}: {e}",
                    cluster.config().bootstrap_servers()
                )
            })?;
        let mut publisher = EventWriter {
            producer: &producer,
            encoder: RecordEncoder::new(),
            routing: cluster.config().topic_routing().clone(),
            sent: Vec::new(),
        };
        for event in events {
            publisher.send(event)?;
        }
        let sent = std::mem::take(&mut publisher.sent);
        let _ = producer.flush(timeout);
        let outcomes = producer.context().take();
        let mut failed = 0;
        for (index, (event_type, event_id, correlation)) in sent.iter().enumerate() {
            match outcomes.get(&index) {
                Some(Ok(at)) => {
                    outln!("delivered {event_type} {event_id} correlation={correlation} to {at}")?
                }
                Some(Err(error)) => {
                    failed += 1;
                    eprintln!("not delivered: {event_type} {event_id}: {error}");
                }
                None => {
                    failed += 1;
                    eprintln!("not delivered: {event_type} {event_id}: no acknowledgement within {timeout:?}");
                }
            }
        }
        if failed > 0 {
            return Err(format!("{failed} of {} events were not delivered", sent.len()).into());
        }
        Ok(())
    }

    /// An event of type `event_type` as the flags describe it.
    fn draft(&self, event_type: String) -> Draft {
        Draft {
            event_type,
            payload: self.payload.clone(),
            correlation: self.correlation,
            causation: self.causation,
            key: self.key.clone(),
            headers: self.headers.clone(),
            topic: self.topic.clone(),
            source: self.source.clone(),
            service: self.service.clone(),
            namespace: self.namespace.clone(),
        }
    }

    /// The events of stdin, one JSON object per line (blank lines skipped).
    fn drafts_from_stdin(&self) -> Result<Vec<Draft>, Box<dyn Error>> {
        let mut drafts = Vec::new();
        for (n, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let draft = self
                .draft_from_line(&line)
                .map_err(|e| format!("stdin line {}: {e}; nothing was sent", n + 1))?;
            drafts.push(draft);
        }
        Ok(drafts)
    }

    /// An event from a line of stdin, the flags filling what it leaves out.
    fn draft_from_line(&self, line: &str) -> Result<Draft, Box<dyn Error>> {
        let object: Value = serde_json::from_str(line)?;
        let text = |names: &[&str]| -> Option<String> {
            names
                .iter()
                .find_map(|n| object.get(*n).and_then(Value::as_str))
                .map(str::to_owned)
        };
        let uuid = |names: &[&str]| -> Result<Option<Uuid>, Box<dyn Error>> {
            Ok(text(names).map(|t| Uuid::parse_str(&t)).transpose()?)
        };
        let event_type = text(&["type", "event_type"])
            .or_else(|| self.event_type.clone())
            .ok_or("no `type`")?;
        let mut draft = self.draft(event_type);
        if let Some(payload) = object.get("payload") {
            draft.payload = payload.to_string();
        }
        draft.correlation = uuid(&["correlation", "correlation_id"])?.or(draft.correlation);
        draft.causation = uuid(&["causation", "causation_id"])?.or(draft.causation);
        if let Some(headers) = object.get("headers").and_then(Value::as_object) {
            for (name, value) in headers {
                let value = value.as_str().ok_or("a header value is not text")?;
                draft.headers.push((name.clone(), value.to_owned()));
            }
        }
        draft.key = text(&["key"]).or(draft.key);
        draft.topic = text(&["topic"]).or(draft.topic);
        draft.source = text(&["source", "source_node_id"]).unwrap_or(draft.source);
        draft.service = text(&["service"]).or(draft.service);
        draft.namespace = text(&["namespace"]).unwrap_or(draft.namespace);
        Ok(draft)
    }
}

/// `name=value`.
fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

/// Names kept for the process's life: an event's type and node type are
/// `'static`.
#[derive(Default)]
struct Names(HashMap<String, &'static str>);

impl Names {
    fn get(&mut self, text: &str) -> &'static str {
        if let Some(name) = self.0.get(text) {
            return name;
        }
        let name: &'static str = Box::leak(text.to_owned().into_boxed_str());
        self.0.insert(text.to_owned(), name);
        name
    }
}

/// An event built from a [`Draft`], with what its record gets besides.
struct TestEvent {
    event: Event,
    topic: Option<String>,
    key: Option<String>,
    headers: Vec<(String, String)>,
}

impl Draft {
    /// The event: a new id, now, a [`Payload::Json`] payload, published
    /// by node `source` of instance `instance_id`. An unknown event type
    /// shape or a payload that is not JSON is an error.
    fn build(self, names: &mut Names, instance_id: Uuid) -> Result<TestEvent, Box<dyn Error>> {
        let event_type = EventType::parse_external(names.get(&self.event_type))?;
        let payload = RawValue::from_string(self.payload)
            .map_err(|e| format!("the payload is not JSON: {e}"))?;
        let event = Event {
            event_id: Uuid::new_v4(),
            event_type,
            timestamp: Timestamp::now(),
            correlation_id: Some(self.correlation.unwrap_or_else(Uuid::new_v4)),
            causation_id: self.causation,
            node: Arc::new(NodeIdentity {
                node_id: self.source,
                node_type: event_type.node_type(),
                service: self
                    .service
                    .unwrap_or_else(|| event_type.node_type().to_owned()),
                namespace: self.namespace,
                instance_id,
            }),
            payload: Payload::Json(payload),
            trace_parent: None,
        };
        Ok(TestEvent {
            event,
            topic: self.topic,
            key: self.key,
            headers: self.headers,
        })
    }
}

/// Hands events' records to the producer.
struct EventWriter<'p> {
    producer: &'p BaseProducer<Deliveries>,
    encoder: RecordEncoder,
    routing: TopicRouting,
    /// Each event sent, by delivery index: type, id, correlation id.
    sent: Vec<(String, Uuid, Uuid)>,
}

impl EventWriter<'_> {
    /// Sends `test`'s record: the library's, with the key and headers
    /// given added.
    fn send(&mut self, test: TestEvent) -> Result<(), Box<dyn Error>> {
        let TestEvent {
            event,
            topic,
            key,
            headers,
        } = test;
        let routing = match topic {
            Some(topic) => TopicRouting::single(topic),
            None => self.routing.clone(),
        };
        let index = self.sent.len();
        let mut record = self.encoder.encode(&event, &routing)?;
        for (name, value) in &headers {
            record.headers = record.headers.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
        let mut base = record.into_base_record(index);
        if let Some(key) = &key {
            base = base.key(key.as_bytes());
        }
        loop {
            match self.producer.send(base) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    self.producer.poll(Duration::from_millis(100));
                    base = back;
                }
                Err((error, _)) => return Err(format!("{}: {error}", event.event_type).into()),
            }
        }
        self.producer.poll(Duration::ZERO);
        let correlation = event.correlation_id.unwrap_or_default();
        self.sent
            .push((event.event_type.to_string(), event.event_id, correlation));
        Ok(())
    }
}

/// Where each record went (`topic/partition@offset`) or why it did not,
/// by delivery index.
#[derive(Default)]
struct Deliveries(Mutex<HashMap<usize, Result<String, String>>>);

impl Deliveries {
    fn take(&self) -> HashMap<usize, Result<String, String>> {
        self.0
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    }
}

impl ClientContext for Deliveries {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        forward_librdkafka_log(level, fac, message);
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let outcome = match result {
            Ok(m) => Ok(format!("{}/{}@{}", m.topic(), m.partition(), m.offset())),
            Err((error, _)) => Err(error.to_string()),
        };
        if let Ok(mut deliveries) = self.0.lock() {
            deliveries.insert(index, outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: PublishArgs,
    }

    fn args(flags: &[&str]) -> PublishArgs {
        Cli::parse_from(std::iter::once("publish").chain(flags.iter().copied())).args
    }

    #[test]
    fn a_header_is_name_equals_value() {
        assert_eq!(parse_header("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("=v").is_err());
    }

    #[test]
    fn a_stdin_line_takes_the_flags_as_defaults() {
        let flags = args(&["--key", "k", "-H", "a=1", "--namespace", "ns"]);
        let id = Uuid::new_v4();
        let line = format!(
            r#"{{"event_type":"user.created","payload":{{"x":1}},"correlation_id":"{id}","headers":{{"b":"2"}}}}"#
        );
        let draft = flags.draft_from_line(&line).unwrap();
        assert_eq!(draft.event_type, "user.created");
        assert_eq!(draft.payload, r#"{"x":1}"#);
        assert_eq!(draft.correlation, Some(id));
        assert_eq!(draft.key.as_deref(), Some("k"));
        assert_eq!(
            draft.headers,
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(draft.namespace, "ns");
        assert!(flags.draft_from_line(r#"{"payload":{}}"#).is_err());
    }
}
