//! The AsyncAPI 3.0 document of a program, built from its catalogs.

use super::options::DocumentOptions;
use crate::catalog::Catalog;
use crate::event_type::{EventType, Stage};
use crate::kafka::{headers as kafka_headers, TopicSubscription};
use crate::schema::{self, escape, headers, rebase_refs};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The AsyncAPI version of the documents.
pub const ASYNCAPI_VERSION: &str = "3.0.0";

/// The version of the AsyncAPI Kafka bindings used.
const KAFKA_BINDING: &str = "0.5.0";

/// Stand-ins for a namespace and a service the program does not know (the
/// publisher of an event it only handles): legal in topic names, so the
/// routing keeps them, then replaced by the channel parameters.
const NAMESPACE_MARK: &str = "__onex_namespace__";
const SERVICE_MARK: &str = "__onex_service__";

/// The AsyncAPI 3.0 document of this program: every node linked into it
/// ([`catalogs`](crate::catalogs)).
pub fn document(options: &DocumentOptions) -> Value {
    document_of(&crate::catalogs(), options)
}

/// Every node catalog linked into this program, as JSON: one object per
/// node, `{"node_type", "rust_type", "namespace", "service", "catalog"}`,
/// the catalog in the seed's shape.
pub fn catalogs_json() -> Value {
    Value::Array(
        crate::catalogs()
            .into_iter()
            .map(|c| {
                json!({
                    "node_type": c.node_type,
                    "rust_type": c.rust_type,
                    "namespace": c.namespace,
                    "service": c.service,
                    "catalog": c.to_json(),
                })
            })
            .collect(),
    )
}

/// How the nodes of the program use one event type.
#[derive(Default)]
struct Usage<'a> {
    publishers: Vec<&'a Catalog>,
    consumers: Vec<&'a Catalog>,
}

/// The AsyncAPI 3.0 document of the nodes of `catalogs` (see the
/// [module](super)).
///
/// ```
/// use onex_events::asyncapi::{document_of, DocumentOptions};
/// use onex_events::{onex_node, NodeContext, OnexNode};
///
/// #[derive(OnexNode)]
/// struct Billing { ctx: NodeContext }
///
/// #[onex_node("billing", include_metric_events = false)]
/// impl Billing {
///     #[onex_operation("charge")]
///     async fn charge(&self) {}
/// }
///
/// let doc = document_of(&[&Billing::EVENT_CATALOG], &DocumentOptions::new("billing", "1.0.0"));
/// assert_eq!(doc["channels"]["billing.charge.started"]["address"], "onex.billing.billing.charge.v1");
/// assert_eq!(doc["operations"]["send.billing.charge.started"]["action"], "send");
/// ```
pub fn document_of(catalogs: &[&Catalog], options: &DocumentOptions) -> Value {
    let mut usage: BTreeMap<&'static str, Usage<'_>> = BTreeMap::new();
    for &catalog in catalogs {
        for event_type in catalog.event_types() {
            push_once(
                &mut usage.entry(event_type).or_default().publishers,
                catalog,
            );
        }
        for &event_type in catalog.consumed_events {
            push_once(&mut usage.entry(event_type).or_default().consumers, catalog);
        }
    }
    let mut doc = Document {
        options,
        channels: Map::new(),
        operations: Map::new(),
        messages: Map::new(),
    };
    for (&event_type, usage) in &usage {
        doc.event_type(event_type, usage);
    }
    for (&event_type, usage) in &usage {
        doc.replies(event_type, usage);
    }
    doc.finish(catalogs)
}

fn push_once<'a>(list: &mut Vec<&'a Catalog>, catalog: &'a Catalog) {
    if !list.iter().any(|c| std::ptr::eq(*c, catalog)) {
        list.push(catalog);
    }
}

struct Document<'o> {
    options: &'o DocumentOptions,
    channels: Map<String, Value>,
    operations: Map<String, Value>,
    messages: Map<String, Value>,
}

impl Document<'_> {
    /// The channel, message and operations of `event_type`, and its
    /// dead-letter channel if the program handles it.
    fn event_type(&mut self, name: &'static str, usage: &Usage<'_>) {
        let parsed = EventType::parse(name).ok();
        let stage = parsed.map(|t| t.stage());
        let address = self.address(parsed, usage);
        let payload = match (usage.publishers.is_empty(), stage) {
            // What the program publishes, or what its handler expects.
            (false, _) | (true, Some(Stage::Response)) => schema::payload_schema(name),
            (true, _) => schema::handled_schema(name).or_else(|| schema::payload_schema(name)),
        };
        let headers = parsed.map_or_else(|| json!({ "type": "object" }), headers);
        let message = self.message(name, parsed, payload, headers.clone());
        self.messages.insert(name.to_owned(), message);
        self.channel(name, name, address.as_deref(), false);

        if !usage.publishers.is_empty() {
            let mut op = self.operation("send", name, name, &usage.publishers);
            op["summary"] = json!(format!("Publishes {name}"));
            self.operations.insert(format!("send.{name}"), op);
        }
        if !usage.consumers.is_empty() {
            let mut op = self.operation("receive", name, name, &usage.consumers);
            op["summary"] = json!(format!("Handles {name}"));
            if stage == Some(Stage::Response) {
                op["description"] = json!(
                    "A requester reads the response topic without a consumer group and keeps the responses whose onex_reply_to header is its own instance id."
                );
            } else {
                if let Some(group) = &self.options.group {
                    op["bindings"] = json!({ "kafka": {
                        "groupId": { "type": "string", "enum": [group] },
                        "bindingVersion": KAFKA_BINDING,
                    }});
                }
                self.dead_letters(name, address.as_deref(), headers, &usage.consumers);
            }
            self.operations.insert(format!("receive.{name}"), op);
        }
    }

    /// The `reply` of a request's operations: its response's channel.
    fn replies(&mut self, name: &'static str, usage: &Usage<'_>) {
        let Some(response) = EventType::parse(name).ok().and_then(|t| t.response_name()) else {
            return;
        };
        if !self.channels.contains_key(&response) {
            return;
        }
        let reply = json!({
            "channel": { "$ref": format!("#/channels/{}", escape(&response)) },
            "messages": [{ "$ref": format!("#/channels/{}/messages/{}", escape(&response), escape(&response)) }],
        });
        for (action, nodes) in [("send", &usage.publishers), ("receive", &usage.consumers)] {
            if let (false, Some(op)) = (
                nodes.is_empty(),
                self.operations.get_mut(&format!("{action}.{name}")),
            ) {
                op["reply"] = reply.clone();
            }
        }
    }

    /// The topic of `event_type`: where its publisher in the program
    /// writes it, else with the unknown namespace and service as
    /// `{namespace}` and `{service}` (a request's or response's namespace is
    /// its node's). `None` for a custom routing.
    fn address(&self, event_type: Option<EventType>, usage: &Usage<'_>) -> Option<String> {
        let event_type = event_type?;
        let addressed = matches!(event_type.stage(), Stage::Request | Stage::Response);
        let (namespace, service) = match (usage.publishers.first(), usage.consumers.first()) {
            (Some(p), _) => (p.namespace, p.service),
            (None, Some(c)) if addressed => (c.namespace, SERVICE_MARK),
            _ => (NAMESPACE_MARK, SERVICE_MARK),
        };
        match self
            .options
            .routing
            .topics_carrying(event_type, Some(namespace), Some(service))
        {
            TopicSubscription::Topic(topic) => Some(topic),
            _ => None,
        }
    }

    /// A channel `id` at `address` carrying message `message`.
    fn channel(&mut self, id: &str, message: &str, address: Option<&str>, dead_letter: bool) {
        let mut channel = json!({
            "title": id,
            "messages": { message: { "$ref": format!("#/components/messages/{}", escape(message)) } },
        });
        match address {
            Some(address) => {
                let (address, parameters) = with_parameters(address);
                if parameters.is_empty() {
                    channel["bindings"] = json!({ "kafka": {
                        "topic": address,
                        "bindingVersion": KAFKA_BINDING,
                    }});
                } else {
                    channel["parameters"] = Value::Object(parameters);
                }
                channel["address"] = json!(address);
            }
            None => {
                channel["address"] = Value::Null;
                channel["description"] =
                    json!("A custom topic routing: the topic is not known ahead of the event.");
            }
        }
        if dead_letter {
            channel["x-onex-dead-letter"] = json!(true);
        }
        self.channels.insert(id.to_owned(), channel);
    }

    /// An operation of `nodes` on channel `channel` with its message.
    fn operation(&self, action: &str, channel: &str, message: &str, nodes: &[&Catalog]) -> Value {
        json!({
            "action": action,
            "channel": { "$ref": format!("#/channels/{}", escape(channel)) },
            "messages": [{ "$ref": format!("#/channels/{}/messages/{}", escape(channel), escape(message)) }],
            "x-onex-nodes": nodes.iter().map(|c| c.node_type).collect::<Vec<_>>(),
        })
    }

    /// The message of `event_type`: the envelope as the record value.
    fn message(
        &self,
        name: &str,
        event_type: Option<EventType>,
        payload: Option<Value>,
        headers: Value,
    ) -> Value {
        let at = format!(
            "#/components/messages/{}/payload/properties/payload",
            escape(name)
        );
        let payload = payload
            .map(|p| rebase_refs(p, &at))
            .unwrap_or_else(|| json!({ "type": "object" }));
        let key = match event_type
            .and_then(|t| crate::typed::declared_event(t.as_str()))
            .map(|d| d.kind)
        {
            Some(kind) => format!(
                "The event's {} when it has one, else the correlation id (the source node id without one).",
                kind.id_field()
            ),
            None => "The correlation id (the source node id when the event has none): one request's events stay in order on one partition.".to_owned(),
        };
        json!({
            "name": name,
            "title": name,
            "contentType": kafka_headers::JSON,
            "headers": headers,
            "payload": schema::envelope(name, payload),
            "correlationId": { "$ref": "#/components/correlationIds/correlation_id" },
            "bindings": { "kafka": {
                "key": { "type": "string", "description": key },
                "bindingVersion": KAFKA_BINDING,
            }},
            "x-onex-event-type": name,
        })
    }

    /// The dead-letter channel, message and operation of a handled event
    /// type on `address`.
    fn dead_letters(
        &mut self,
        name: &str,
        address: Option<&str>,
        mut headers: Value,
        nodes: &[&Catalog],
    ) {
        let id = format!("{name}.dlq");
        if let Some(properties) = headers["properties"].as_object_mut() {
            let text = |d: &str| json!({ "type": "string", "description": d });
            for (header, description) in [
                (kafka_headers::DEAD_LETTER_ERROR, "the error's message"),
                (kafka_headers::DEAD_LETTER_ERROR_TYPE, "the error's type (the Rust type of an Err, panic, timeout, undecodable_payload, malformed_event or unhandled_event)"),
                (kafka_headers::DEAD_LETTER_ATTEMPTS, "how many runs the handler made"),
                (kafka_headers::DEAD_LETTER_TOPIC, "the topic the record came from"),
                (kafka_headers::DEAD_LETTER_PARTITION, "its partition there"),
                (kafka_headers::DEAD_LETTER_OFFSET, "its offset there"),
                (kafka_headers::DEAD_LETTER_GROUP, "the consumer group that gave up on it"),
                (kafka_headers::DEAD_LETTER_HANDLER, "the handler that failed, {node_type}.{handler}"),
            ] {
                properties.insert(header.to_owned(), text(description));
            }
        }
        let mut message = self.messages.get(name).cloned().unwrap_or_default();
        message["name"] = json!(id);
        message["title"] = json!(format!("{name} (dead letter)"));
        message["summary"] =
            json!("The record as it was received, with the reason it was given up on.");
        message["headers"] = headers;
        message["x-onex-dead-letter"] = json!(true);
        if let Some(payload) = message.get_mut("payload") {
            let from = format!("#/components/messages/{}/", escape(name));
            let to = format!("#/components/messages/{}/", escape(&id));
            schema::move_refs(payload, &from, &to);
        }
        self.messages.insert(id.clone(), message);
        let dlq = address.map(|a| self.options.dead_letters.topic_for(a));
        self.channel(&id, &id, dlq.as_deref(), true);
        let mut op = self.operation("send", &id, &id, nodes);
        op["summary"] = json!(format!(
            "Dead-letters {name} records the handlers gave up on"
        ));
        op["x-onex-dead-letter"] = json!(true);
        self.operations.insert(format!("dead_letter.{name}"), op);
    }

    fn finish(self, catalogs: &[&Catalog]) -> Value {
        let options = self.options;
        let nodes: Vec<String> = catalogs
            .iter()
            .map(|c| format!("{} ({})", c.node_type, c.rust_type))
            .collect();
        let description = options.description.clone().unwrap_or_else(|| {
            format!(
                "The events of {}, generated by onex-events from its compiled catalogs. Each record value is an OnexEnvelopeV1 envelope (JSON) with the CloudEvents binary-mode headers.",
                options.title
            )
        });
        let mut doc = json!({
            "asyncapi": ASYNCAPI_VERSION,
            "info": {
                "title": options.title,
                "version": options.version,
                "description": description,
                "x-onex-nodes": nodes,
            },
            "defaultContentType": kafka_headers::JSON,
            "channels": self.channels,
            "operations": self.operations,
            "components": {
                "messages": self.messages,
                "correlationIds": {
                    "correlation_id": {
                        "description": "The envelope's correlation_id, shared by every event of one request (also in the ce_correlationid header).",
                        "location": "$message.payload#/correlation_id",
                    }
                }
            }
        });
        if !options.servers.is_empty() {
            let servers: Map<String, Value> = options
                .servers
                .iter()
                .enumerate()
                .map(|(i, host)| {
                    (
                        format!("broker-{}", i + 1),
                        json!({ "host": host, "protocol": "kafka" }),
                    )
                })
                .collect();
            doc["servers"] = Value::Object(servers);
        }
        doc
    }
}

/// `address` with the stand-ins replaced by `{namespace}` and `{service}`,
/// and the channel parameters they need.
fn with_parameters(address: &str) -> (String, Map<String, Value>) {
    let mut parameters = Map::new();
    let mut address = address.to_owned();
    for (mark, name, description) in [
        (
            NAMESPACE_MARK,
            "namespace",
            "The publishing node's namespace.",
        ),
        (SERVICE_MARK, "service", "The publishing node's service."),
    ] {
        if address.contains(mark) {
            address = address.replace(mark, &format!("{{{name}}}"));
            parameters.insert(name.to_owned(), json!({ "description": description }));
        }
    }
    (address, parameters)
}
