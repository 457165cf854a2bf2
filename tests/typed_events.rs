//! Typed events: declared with `#[derive(OnexEvent)]`, published by a node
//! in one call, in a batch, or by an operation's `publish_on_success` and
//! `publish_on_error`; listed in catalogs and the registry; handled by
//! naming their type.

mod common;

use onex_events::consume::InProcessBus;
use onex_events::consume::Incoming;
use onex_events::sink::SinkError;
use onex_events::{
    onex_node, EventKind, EventType, NodeContext, OnexEvent, OnexNode, Publisher, Recorder, Stage,
};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize, OnexEvent)]
#[onex_event("user.created", kind = "domain", aggregate_type = "user")]
struct UserCreated {
    #[onex_event(id)]
    user_id: String,
    email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, OnexEvent)]
#[onex_event("user.renamed", kind = "domain", aggregate_type = "user")]
struct UserRenamed {
    user_id: String,
    name: String,
}

#[derive(Debug, Serialize, Deserialize, OnexEvent)]
#[onex_event(
    "audit.user_creation_failed",
    kind = "audit",
    action = "create_user",
    resource_type = "user"
)]
struct UserCreationFailed {
    reason: String,
}

#[derive(Debug, Serialize, Deserialize, OnexEvent)]
#[onex_event("billing.invoice_sent", kind = "billing")]
struct InvoiceSent {
    #[onex_event(id)]
    invoice: u64,
}

#[derive(Debug, Serialize, OnexEvent)]
#[onex_event("ops.unlisted", kind = "notification")]
struct Unlisted {}

#[derive(Debug, thiserror::Error)]
#[error("email taken: {0}")]
struct EmailTaken(String);

impl From<&UserCreated> for UserCreated {
    fn from(event: &UserCreated) -> Self {
        event.clone()
    }
}

impl From<&EmailTaken> for UserCreationFailed {
    fn from(error: &EmailTaken) -> Self {
        UserCreationFailed {
            reason: error.to_string(),
        }
    }
}

impl From<&String> for UserRenamed {
    fn from(name: &String) -> Self {
        UserRenamed {
            user_id: String::new(),
            name: name.clone(),
        }
    }
}

#[derive(OnexNode)]
struct Users {
    ctx: NodeContext,
}

#[onex_node("users", events(InvoiceSent))]
impl Users {
    #[onex_operation(
        "create_user",
        publish_on_success(UserCreated),
        publish_on_error(UserCreationFailed, id = user_id)
    )]
    async fn create_user(&self, user_id: String, email: String) -> Result<UserCreated, EmailTaken> {
        if email.ends_with("@taken.example") {
            return Err(EmailTaken(email));
        }
        Ok(UserCreated { user_id, email })
    }

    #[onex_operation("rename", domain_event(UserRenamed, id = user_id))]
    async fn rename(&self, user_id: String, name: String) -> String {
        let _ = user_id;
        name
    }
}

fn users() -> (Users, Recorder) {
    let recorder = Recorder::new();
    let ctx = NodeContext::builder::<Users>()
        .node_id("users-1")
        .publisher(Publisher::new(recorder.clone()))
        .build()
        .unwrap();
    (Users { ctx }, recorder)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn a_declared_event_says_its_type_kind_and_attributes() {
    assert_eq!(UserCreated::EVENT_TYPE, "user.created");
    let d = UserCreated::DESCRIPTOR;
    assert_eq!(d.kind, EventKind::Domain);
    assert_eq!(d.attribute("aggregate_type"), Some("user"));
    assert!(d.rust_type.ends_with("::UserCreated"), "{}", d.rust_type);
    assert_eq!(InvoiceSent::DESCRIPTOR.kind, EventKind::Custom("billing"));
    let audit = UserCreationFailed::DESCRIPTOR;
    assert_eq!(audit.attribute("action"), Some("create_user"));
    assert_eq!(audit.attribute("resource_type"), Some("user"));
}

#[test]
fn declared_events_are_in_the_program_wide_registry_and_parse_as_event_types() {
    let names: Vec<&str> = onex_events::declared_events()
        .iter()
        .map(|d| d.name())
        .collect();
    for name in [
        "user.created",
        "user.renamed",
        "audit.user_creation_failed",
        "billing.invoice_sent",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let parsed = EventType::parse("user.created").unwrap();
    assert_eq!(parsed.stage(), Stage::Declared);
    assert_eq!(parsed, UserCreated::DESCRIPTOR.event_type);
    assert!(EventType::parse("user.nobody_declared_this").is_err());
    assert!(onex_events::all_event_types().contains(&"user.created"));
}

#[test]
fn the_node_catalog_lists_declared_events_under_their_kind() {
    let catalog = &*Users::EVENT_CATALOG;
    let names: Vec<&str> = catalog.declared_events.iter().map(|d| d.name()).collect();
    assert_eq!(
        names,
        [
            "billing.invoice_sent",
            "user.created",
            "audit.user_creation_failed",
            "user.renamed"
        ]
    );
    assert!(catalog.contains("user.created"));
    assert_eq!(catalog.len(), 6 + 2 + 4);
    let json = catalog.to_json();
    assert_eq!(
        json["domain_events"],
        serde_json::json!(["user.created", "user.renamed"])
    );
    assert_eq!(
        json["audit_events"],
        serde_json::json!(["audit.user_creation_failed"])
    );
    assert_eq!(
        json["billing_events"],
        serde_json::json!(["billing.invoice_sent"])
    );
}

#[test]
fn a_node_publishes_a_declared_event_in_one_call_keyed_by_its_id() {
    let (node, recorder) = users();
    let id = node.ctx.publish(&InvoiceSent { invoice: 42 }).unwrap();
    let events = recorder.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, id);
    assert_eq!(
        events[0].partition_key(),
        onex_events::PartitionKey::Declared("42")
    );
    let envelope = &recorder.json()[0];
    common::assert_contract_valid(envelope);
    assert_eq!(
        envelope.as_object().unwrap().len(),
        8,
        "OnexEnvelopeV1 keeps eight keys"
    );
    assert_eq!(envelope["event_type"], "billing.invoice_sent");
    assert_eq!(envelope["payload"], serde_json::json!({"invoice": 42}));
    assert_eq!(envelope["metadata"]["event_kind"], "billing");
    assert_eq!(envelope["metadata"]["key"], "42");
    assert!(envelope["correlation_id"].is_string());
}

#[test]
fn an_event_not_in_the_catalog_is_not_published() {
    let (node, recorder) = users();
    assert_eq!(node.ctx.publish(&Unlisted {}), None);
    assert!(recorder.events().is_empty());
}

#[test]
fn an_operation_publishes_its_domain_event_on_success_in_its_correlation() {
    let (node, recorder) = users();
    block_on(node.create_user("u-1".into(), "a@example.com".into())).unwrap();
    assert_eq!(
        recorder.event_types(),
        [
            "users.create_user.started",
            "user.created",
            "users.create_user.completed"
        ]
    );
    let json = recorder.json();
    json.iter().for_each(common::assert_contract_valid);
    let (started, domain) = (&json[0], &json[1]);
    assert_eq!(domain["correlation_id"], started["correlation_id"]);
    assert_eq!(domain["metadata"]["causation_id"], started["event_id"]);
    assert_eq!(domain["metadata"]["event_kind"], "domain");
    assert_eq!(domain["metadata"]["aggregate_type"], "user");
    assert_eq!(domain["metadata"]["aggregate_id"], "u-1");
    assert_eq!(
        domain["payload"],
        serde_json::json!({"user_id": "u-1", "email": "a@example.com"})
    );
    assert_eq!(
        recorder.events()[1].partition_key(),
        onex_events::PartitionKey::Declared("u-1")
    );
}

#[test]
fn an_operation_publishes_its_audit_event_on_error_with_the_id_of_an_argument() {
    let (node, recorder) = users();
    let result = block_on(node.create_user("u-2".into(), "b@taken.example".into()));
    assert!(result.is_err(), "the caller gets its error");
    assert_eq!(
        recorder.event_types(),
        [
            "users.create_user.started",
            "audit.user_creation_failed",
            "users.create_user.failed"
        ]
    );
    let json = recorder.json();
    json.iter().for_each(common::assert_contract_valid);
    let audit = &json[1];
    assert_eq!(audit["metadata"]["action"], "create_user");
    assert_eq!(audit["metadata"]["resource_type"], "user");
    assert_eq!(audit["metadata"]["resource_id"], "u-2");
    assert_eq!(audit["payload"]["reason"], "email taken: b@taken.example");
}

#[test]
fn the_id_of_an_argument_is_taken_even_when_the_body_moves_it() {
    let (node, recorder) = users();
    assert_eq!(block_on(node.rename("u-3".into(), "Ada".into())), "Ada");
    let renamed = &recorder.json()[1];
    assert_eq!(renamed["event_type"], "user.renamed");
    assert_eq!(renamed["metadata"]["aggregate_id"], "u-3");
    assert_eq!(renamed["payload"]["name"], "Ada");
}

#[test]
fn a_batch_is_published_in_order_with_one_flush_result() {
    let (node, recorder) = users();
    let invoices: Vec<InvoiceSent> = (0..5).map(|invoice| InvoiceSent { invoice }).collect();
    let ids = node
        .ctx
        .publish_batch(&invoices, Duration::from_secs(5))
        .unwrap();
    assert_eq!(ids.len(), 5);
    let events = recorder.events();
    let got: Vec<_> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(got, ids);
    let correlation = events[0].correlation_id;
    assert!(events.iter().all(|e| e.correlation_id == correlation));
}

#[test]
fn a_batch_counts_events_it_could_not_publish_in_its_result() {
    let (node, recorder) = users();
    let result = node
        .ctx
        .publish_batch(&[Unlisted {}, Unlisted {}], Duration::from_secs(5));
    match result {
        Err(SinkError::Undelivered { lost, .. }) => assert_eq!(lost, 2),
        other => panic!("expected Undelivered, got {other:?}"),
    }
    assert!(recorder.events().is_empty());
}

#[derive(OnexNode)]
struct Mailer {
    ctx: NodeContext,
    seen: Mutex<Vec<String>>,
}

#[onex_node("mailer")]
impl Mailer {
    #[onex_handler(UserCreated)]
    async fn welcome(&self, event: Incoming<UserCreated>) {
        self.seen.lock().unwrap().push(event.payload.email.clone());
    }
}

#[test]
fn a_handler_names_the_event_type_it_takes_by_its_rust_type() {
    assert_eq!(Mailer::EVENT_CATALOG.consumed_events, ["user.created"]);
    assert!(onex_events::all_consumed_event_types().contains(&"user.created"));
    block_on(async {
        let bus = InProcessBus::new();
        let mailer = std::sync::Arc::new(Mailer {
            ctx: NodeContext::new::<Mailer>(bus.publisher()),
            seen: Mutex::new(Vec::new()),
        });
        bus.subscribe(mailer.clone());
        let users = Users {
            ctx: NodeContext::new::<Users>(bus.publisher()),
        };
        users
            .create_user("u-9".into(), "nine@example.com".into())
            .await
            .unwrap();
        bus.settle().await;
        assert_eq!(*mailer.seen.lock().unwrap(), ["nine@example.com"]);
    });
}

/// A consumer subscribes to a declared event's topic: the event type parses
/// (from the registry) and the default routing reverses it.
#[cfg(feature = "kafka")]
#[test]
fn a_declared_event_type_routes_to_its_family_topic_both_ways() {
    use onex_events::kafka::{TopicRouting, TopicSubscription};
    let routing = TopicRouting::default();
    let created = EventType::parse("user.created").unwrap();
    assert_eq!(
        routing.topics_carrying(created, Some("onex"), Some("users")),
        TopicSubscription::Topic("onex.users.user.v1".to_owned())
    );
    let audit = EventType::parse("audit.user_creation_failed").unwrap();
    assert_eq!(
        routing.topics_carrying(audit, Some("onex"), Some("users")),
        TopicSubscription::Topic("onex.users.audit.v1".to_owned())
    );
    let (node, recorder) = users();
    node.ctx.publish(&InvoiceSent { invoice: 1 });
    assert_eq!(
        routing.topic(&recorder.events()[0]),
        "onex.users.billing.v1"
    );
}
