//! The AsyncAPI document of a program: its channels, operations and
//! messages come from the catalogs, its payload schemas from the contracts
//! and from the types that implement `JsonSchema`, and what the nodes
//! publish matches the schemas the document gives.

use onex_events::asyncapi::{document_of, DocumentOptions, Subcommands};
use onex_events::consume::{InProcessBus, Incoming};
use onex_events::schema::{envelope_schema, lifecycle_payload, payload_schema};
use onex_events::{onex_node, NodeContext, OnexEvent, OnexNode, Publisher, Recorder, Stage};
use serde_json::{json, Value};
use std::sync::Arc;

/// A declared event with a schema.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, OnexEvent)]
#[onex_event("order.placed", kind = "domain", aggregate_type = "order")]
struct OrderPlaced {
    #[onex_event(id)]
    order_id: String,
    amount_cents: u64,
}

/// What the shop expects of another service's event.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct ChargeView {
    charge_id: String,
    captured: bool,
}

/// A request body.
#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
struct Quote {
    sku: String,
}

/// A payload type without a schema.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Opaque {
    anything: String,
}

#[derive(OnexNode)]
struct Shop {
    ctx: NodeContext,
}

#[onex_node("shop", requests("pricing.request.quote"), events(OrderPlaced))]
impl Shop {
    #[onex_operation("checkout")]
    async fn checkout(&self) -> Result<u32, std::io::Error> {
        Ok(1)
    }

    #[onex_operation("pricing", fields(order, note), ret)]
    async fn price(&self, order: &OrderPlaced, note: String) -> Result<Quote, std::io::Error> {
        Ok(Quote {
            sku: format!("{}-{note}", order.order_id),
        })
    }

    #[onex_handler("payments.charge.completed", lifecycle = false)]
    async fn on_charge(&self, _event: Incoming<ChargeView>) {}

    #[onex_handler("payments.refund.issued", lifecycle = false)]
    async fn on_refund(&self, _event: Incoming<Opaque>) {}
}

#[derive(OnexNode)]
struct Pricing {
    ctx: NodeContext,
}

#[onex_node("pricing", include_state_events = false, include_metric_events = false)]
impl Pricing {
    #[onex_handler("pricing.request.quote")]
    async fn quote(&self, event: Incoming<Quote>) -> Result<u32, std::io::Error> {
        Ok(event.payload.sku.len() as u32)
    }
}

fn doc() -> Value {
    let options = DocumentOptions::new("shop-service", "2.0.0")
        .consumer_group("shop")
        .servers(["broker-a:9092", "broker-b:9092"]);
    document_of(&[&Shop::EVENT_CATALOG, &Pricing::EVENT_CATALOG], &options)
}

/// The payload schema inside a message's envelope.
fn payload_of(doc: &Value, message: &str) -> Value {
    doc["components"]["messages"][message]["payload"]["properties"]["payload"].clone()
}

#[test]
fn every_published_and_handled_event_type_is_a_channel_at_its_topic() {
    let doc = doc();
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert_eq!(doc["info"]["title"], "shop-service");
    assert_eq!(doc["info"]["version"], "2.0.0");
    let channels = doc["channels"].as_object().unwrap();
    for event_type in Shop::EVENT_CATALOG
        .event_types()
        .chain(Pricing::EVENT_CATALOG.event_types())
        .chain(Shop::EVENT_CATALOG.consumed_events.iter().copied())
    {
        assert!(
            channels.contains_key(event_type),
            "{event_type} has no channel"
        );
    }
    let address = |c: &str| doc["channels"][c]["address"].clone();
    assert_eq!(
        address("shop.checkout.started"),
        "onex.shop.shop.checkout.v1"
    );
    assert_eq!(address("shop.state.changed"), "onex.shop.shop.state.v1");
    assert_eq!(address("order.placed"), "onex.shop.order.v1");
    assert_eq!(
        address("pricing.request.quote"),
        "onex.pricing.request.quote.v1"
    );
    assert_eq!(
        address("pricing.response.quote"),
        "onex.pricing.response.quote.v1"
    );
    assert_eq!(
        doc["channels"]["shop.checkout.started"]["bindings"]["kafka"]["topic"],
        "onex.shop.shop.checkout.v1"
    );
    // The publisher of a handled event is not in the program: its
    // namespace and service are the channel's parameters.
    let charge = &doc["channels"]["payments.charge.completed"];
    assert_eq!(
        charge["address"],
        "{namespace}.{service}.payments.charge.v1"
    );
    assert!(charge["parameters"]["namespace"].is_object());
    assert!(charge["parameters"]["service"].is_object());
    assert_eq!(doc["servers"]["broker-2"]["host"], "broker-b:9092");
    assert_eq!(doc["servers"]["broker-1"]["protocol"], "kafka");
}

#[test]
fn operations_send_what_nodes_publish_and_receive_what_they_handle() {
    let doc = doc();
    let op = |id: &str| doc["operations"][id].clone();
    assert_eq!(op("send.shop.checkout.completed")["action"], "send");
    assert_eq!(
        op("send.shop.checkout.completed")["channel"]["$ref"],
        "#/channels/shop.checkout.completed"
    );
    assert_eq!(op("send.order.placed")["x-onex-nodes"], json!(["shop"]));
    let receive = op("receive.payments.charge.completed");
    assert_eq!(receive["action"], "receive");
    assert_eq!(
        receive["bindings"]["kafka"]["groupId"],
        json!({ "type": "string", "enum": ["shop"] })
    );
    assert!(op("send.shop.checkout.started")["reply"].is_null());
}

#[test]
fn a_request_has_its_response_as_reply_on_both_sides() {
    let doc = doc();
    let reply = json!({
        "channel": { "$ref": "#/channels/pricing.response.quote" },
        "messages": [{ "$ref": "#/channels/pricing.response.quote/messages/pricing.response.quote" }],
    });
    assert_eq!(
        doc["operations"]["send.pricing.request.quote"]["reply"],
        reply
    );
    assert_eq!(
        doc["operations"]["receive.pricing.request.quote"]["reply"],
        reply
    );
    // The requester reads responses without a consumer group.
    let responses = &doc["operations"]["receive.pricing.response.quote"];
    assert_eq!(responses["action"], "receive");
    assert!(responses["bindings"].is_null());
    assert!(doc["channels"]["pricing.response.quote.dlq"].is_null());
    let headers = &doc["components"]["messages"]["pricing.request.quote"]["headers"];
    assert!(headers["properties"]["onex_reply_to"].is_object());
}

#[test]
fn handled_event_types_have_dead_letter_channels() {
    let doc = doc();
    let dlq = &doc["channels"]["payments.charge.completed.dlq"];
    assert_eq!(
        dlq["address"],
        "{namespace}.{service}.payments.charge.v1.dlq"
    );
    assert_eq!(dlq["x-onex-dead-letter"], true);
    assert_eq!(
        doc["channels"]["pricing.request.quote.dlq"]["address"],
        "onex.pricing.request.quote.v1.dlq"
    );
    let op = &doc["operations"]["dead_letter.payments.charge.completed"];
    assert_eq!(op["action"], "send");
    let message = &doc["components"]["messages"]["payments.charge.completed.dlq"];
    assert!(message["headers"]["properties"]["onex_dead_letter_error"].is_object());
    assert_eq!(
        payload_of(&doc, "payments.charge.completed.dlq"),
        payload_of(&doc, "payments.charge.completed")
    );
}

#[test]
fn messages_carry_the_envelope_headers_key_and_correlation_id() {
    let doc = doc();
    let message = &doc["components"]["messages"]["shop.checkout.failed"];
    assert_eq!(message["contentType"], "application/json");
    assert_eq!(message["payload"]["title"], "OnexEnvelopeV1");
    assert_eq!(
        message["payload"]["properties"]["event_type"]["const"],
        "shop.checkout.failed"
    );
    let headers = &message["headers"]["properties"];
    assert_eq!(headers["ce_type"]["const"], "shop.checkout.failed");
    assert_eq!(headers["ce_specversion"]["const"], "1.0");
    for header in [
        "ce_id",
        "ce_source",
        "ce_time",
        "ce_correlationid",
        "ce_causationid",
        "traceparent",
    ] {
        assert!(headers[header].is_object(), "no {header}");
    }
    assert_eq!(
        message["correlationId"]["$ref"],
        "#/components/correlationIds/correlation_id"
    );
    assert_eq!(
        doc["components"]["correlationIds"]["correlation_id"]["location"],
        "$message.payload#/correlation_id"
    );
    assert_eq!(message["bindings"]["kafka"]["key"]["type"], "string");
    let domain_key = &doc["components"]["messages"]["order.placed"]["bindings"]["kafka"]["key"];
    assert!(domain_key["description"]
        .as_str()
        .unwrap()
        .contains("aggregate_id"));
}

#[test]
fn payload_schemas_come_from_the_contracts_and_from_json_schema_types() {
    let doc = doc();
    assert_eq!(
        payload_of(&doc, "shop.checkout.failed"),
        lifecycle_payload(Stage::Failed).unwrap()
    );
    let order = payload_of(&doc, "order.placed");
    assert_eq!(order["title"], "OrderPlaced");
    assert_eq!(order["properties"]["amount_cents"]["type"], "integer");
    assert_eq!(payload_schema("order.placed").unwrap(), order);
    // What the shop expects of an event it only handles.
    assert_eq!(
        payload_of(&doc, "payments.charge.completed")["title"],
        "ChargeView"
    );
    // A type without `JsonSchema`: any object.
    assert_eq!(
        payload_of(&doc, "payments.refund.issued"),
        json!({ "type": "object" })
    );
    assert_eq!(payload_schema("payments.refund.issued"), None);
    // A request: its responder's type.
    assert_eq!(payload_of(&doc, "pricing.request.quote")["title"], "Quote");
    // A response: its reply is the responder's `Ok` type.
    let response = payload_of(&doc, "pricing.response.quote");
    assert_eq!(
        response["properties"]["status"]["enum"],
        json!(["ok", "error"])
    );
    assert_eq!(response["properties"]["reply"]["format"], "uint32");
}

#[test]
fn opted_in_values_have_their_types_schemas() {
    let doc = doc();
    let started = payload_of(&doc, "shop.pricing.started");
    let order = &started["properties"]["input"]["properties"]["order"];
    assert_eq!(order["properties"]["value"]["title"], "OrderPlaced");
    assert_eq!(order["properties"]["type"]["type"], "string");
    // `String` has a schema too; the contract's requirements stay.
    assert_eq!(
        started["properties"]["input"]["properties"]["note"]["properties"]["value"]["type"],
        "string"
    );
    assert_eq!(started["required"], json!(["operation", "input"]));
    let completed = payload_of(&doc, "shop.pricing.completed");
    assert_eq!(
        completed["properties"]["result"]["properties"]["value"]["title"],
        "Quote"
    );
    // An operation without opted-in values keeps the contract's schema.
    assert_eq!(
        payload_of(&doc, "shop.checkout.started"),
        lifecycle_payload(Stage::Started).unwrap()
    );
}

#[test]
fn the_standard_payload_schemas_are_the_contracts() {
    let contract: Value = serde_json::from_str(onex_events_suite::PAYLOAD_SCHEMA).unwrap();
    for (stage, def) in [
        (Stage::Started, "started"),
        (Stage::Completed, "completed"),
        (Stage::Failed, "failed"),
        (Stage::StateChanged, "state_changed"),
        (Stage::MetricRecorded, "metric_recorded"),
    ] {
        assert_eq!(
            lifecycle_payload(stage).unwrap(),
            contract["$defs"][def],
            "{def}"
        );
    }
    let envelope: Value = serde_json::from_str(onex_events_suite::ENVELOPE_SCHEMA).unwrap();
    let ours = envelope_schema("shop.checkout.started");
    assert_eq!(ours["required"], envelope["required"]);
    assert_eq!(
        ours["additionalProperties"],
        envelope["additionalProperties"]
    );
    for (name, property) in envelope["properties"].as_object().unwrap() {
        match name.as_str() {
            "event_type" => assert_eq!(ours["properties"][name]["const"], "shop.checkout.started"),
            "payload" => assert_eq!(
                ours["properties"][name],
                lifecycle_payload(Stage::Started).unwrap()
            ),
            _ => assert_eq!(&ours["properties"][name], property, "{name}"),
        }
    }
}

#[tokio::test]
async fn published_events_match_their_record_schemas() {
    let recorder = Recorder::new();
    let shop = Shop {
        ctx: NodeContext::builder::<Shop>()
            .node_id("shop-1")
            .publisher(Publisher::new(recorder.clone()))
            .build()
            .unwrap(),
    };
    shop.checkout().await.unwrap();
    let order = OrderPlaced {
        order_id: "o-2".into(),
        amount_cents: 5,
    };
    shop.price(&order, "gift".into()).await.unwrap();
    shop.ctx.state_changed("idle", "busy", "checkout");
    shop.ctx.metric_recorded("checkout_ms", 1.5, "ms");
    shop.ctx.publish(&OrderPlaced {
        order_id: "o-1".into(),
        amount_cents: 1200,
    });
    let bus = InProcessBus::new();
    let pricing = Arc::new(Pricing {
        ctx: NodeContext::builder::<Pricing>()
            .node_id("pricing-1")
            .publisher(bus.publisher())
            .build()
            .unwrap(),
    });
    bus.subscribe(pricing);
    let request = onex_events::EventType::parse("pricing.request.quote").unwrap();
    NodeContext::builder::<Shop>()
        .node_id("shop-2")
        .publisher(bus.publisher())
        .build()
        .unwrap()
        .emit(
            request,
            Some(onex_events::Correlation::fresh()),
            onex_events::Payload::Request(
                serde_json::value::to_raw_value(&json!({"sku": "a"})).unwrap(),
            ),
        );
    bus.settle().await;

    let envelopes: Vec<Value> = recorder
        .json()
        .into_iter()
        .chain(bus.recorder().json())
        .collect();
    assert!(envelopes.len() >= 8, "{envelopes:#?}");
    for envelope in &envelopes {
        let event_type = envelope["event_type"].as_str().unwrap();
        let schema = envelope_schema(event_type);
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(envelope)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{event_type}: {errors:?}\n{envelope:#}");
    }
}

#[test]
fn the_subcommands_print_the_document_and_the_catalogs() {
    let run = |args: &[&str]| {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = Subcommands::new("9.9.9")
            .title("shop-service")
            .options(DocumentOptions::new("shop-service", "9.9.9"))
            .run_with(args.iter().copied(), &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    let (code, out, _) = run(&["shop", "asyncapi"]);
    assert_eq!(code, Some(std::process::ExitCode::SUCCESS));
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["info"]["version"], "9.9.9");
    assert!(doc["channels"]["shop.checkout.started"].is_object());

    let (_, yaml, _) = run(&["shop", "asyncapi", "--yaml"]);
    assert!(yaml.starts_with("asyncapi: 3.0.0"), "{yaml}");
    let read = onex_events::asyncapi::read_document(&yaml, "stdout").unwrap();
    assert_eq!(read, doc);

    let (_, catalogs, _) = run(&["shop", "catalog"]);
    let catalogs: Value = serde_json::from_str(&catalogs).unwrap();
    let shop = catalogs
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["node_type"] == "shop")
        .unwrap();
    assert_eq!(shop["catalog"], Shop::EVENT_CATALOG.to_json());

    let dir = std::env::temp_dir().join(format!("onex-asyncapi-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shop.json");
    let (code, out, _) = run(&["shop", "asyncapi", "-o", file.to_str().unwrap()]);
    assert_eq!(
        (code, out.as_str()),
        (Some(std::process::ExitCode::SUCCESS), "")
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, doc);
    std::fs::remove_dir_all(dir).unwrap();

    // Anything else is the program's own.
    assert_eq!(run(&["shop", "--requests", "5"]).0, None);
    assert_eq!(run(&["shop"]).0, None);
    let (code, _, err) = run(&["shop", "asyncapi", "--bogus"]);
    assert_eq!(code, Some(std::process::ExitCode::from(2)));
    assert!(err.contains("--bogus"), "{err}");
}
