//! Request/response without a broker: both event types in both nodes'
//! catalogs, and a responder's reply published between its handler's
//! `started` and `completed` (or `failed`), answering its request.
#![cfg(feature = "kafka")]

mod request_support;

use onex_events::consume::{EventHandlers, Handled, ReceivedEvent, RecordHeaders, RecordParts};
use onex_events::{Event, NodeContext, Publisher, Recorder};
use request_support::{Codegen, Orchestrator};
use serde_json::{json, Value};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use uuid::Uuid;

const REQUEST: &str = "codegen.request.validate";
const RESPONSE: &str = "codegen.response.validate";

#[test]
fn request_and_response_are_in_both_catalogs() {
    let caller = Orchestrator::EVENT_CATALOG.get();
    assert_eq!(caller.requests, [REQUEST]);
    assert_eq!(caller.consumed_events, [RESPONSE]);
    assert!(caller.contains(REQUEST), "a caller publishes its requests");
    let responder = Codegen::EVENT_CATALOG.get();
    assert_eq!(responder.consumed_events, [REQUEST]);
    assert_eq!(responder.responses, [RESPONSE]);
    assert!(responder.contains(RESPONSE));
    assert_eq!(
        responder.to_json()["responses"],
        json!([RESPONSE]),
        "{}",
        responder.to_json()
    );
    assert!(onex_events::all_event_types().contains(&REQUEST));
    assert!(onex_events::all_event_types().contains(&RESPONSE));
    assert!(onex_events::all_consumed_event_types().contains(&RESPONSE));
}

fn codegen(recorder: &Recorder) -> Arc<Codegen> {
    Arc::new(Codegen {
        ctx: NodeContext::builder::<Codegen>()
            .node_id("codegen-1")
            .publisher(Publisher::new(recorder.clone()))
            .build()
            .unwrap(),
        runs: AtomicU64::new(0),
    })
}

/// A request as a responder receives it, from requester `reply_to`.
fn request(payload: Value, reply_to: Uuid) -> (Uuid, Uuid, Arc<ReceivedEvent>) {
    let (event_id, correlation_id) = (Uuid::new_v4(), Uuid::new_v4());
    let envelope = json!({
        "envelope_version": "1.0",
        "event_id": event_id,
        "event_type": REQUEST,
        "event_timestamp": "2026-11-30T12:00:00.000000Z",
        "source_node_id": "orchestrator-1",
        "correlation_id": correlation_id,
        "payload": payload,
        "metadata": {"node_type": "orchestrator"},
    });
    let mut headers = RecordHeaders::default();
    headers.push("onex_reply_to", Some(reply_to.to_string().as_bytes()));
    let parts = RecordParts {
        topic: "onex.codegen.request.validate.v1".into(),
        value: envelope.to_string().into_bytes(),
        headers,
        ..RecordParts::default()
    };
    let received = ReceivedEvent::decode(parts).unwrap();
    (event_id, correlation_id, Arc::new(received))
}

fn index() -> usize {
    Codegen::HANDLERS
        .iter()
        .position(|h| h.event_types == [REQUEST])
        .unwrap()
}

fn response(events: &[Event]) -> Value {
    let found: Vec<Value> = events
        .iter()
        .filter(|e| e.event_type == RESPONSE)
        .map(Event::to_json)
        .collect();
    assert_eq!(found.len(), 1, "one response");
    found[0].clone()
}

#[tokio::test]
async fn a_reply_is_published_between_started_and_completed_answering_its_request() {
    let recorder = Recorder::new();
    let node = codegen(&recorder);
    let reply_to = Uuid::new_v4();
    let (request_id, correlation, event) = request(json!({"source": "a\nb"}), reply_to);
    let handled = node.handle(index(), event).await;
    assert!(matches!(handled, Handled::Acknowledged), "{handled:?}");
    assert_eq!(
        recorder.event_types(),
        [
            "codegen.validate.started",
            RESPONSE,
            "codegen.validate.completed"
        ]
    );
    let response = response(&recorder.events());
    assert_eq!(
        response["payload"],
        json!({"status": "ok", "reply": {"lines": 2, "source": "a\nb"}, "reply_to": reply_to})
    );
    assert_eq!(response["correlation_id"], json!(correlation));
    assert_eq!(response["metadata"]["causation_id"], json!(request_id));
}

#[tokio::test]
async fn an_err_is_an_error_reply_and_the_request_is_acknowledged() {
    let recorder = Recorder::new();
    let node = codegen(&recorder);
    let (request_id, _, event) = request(json!({"source": ""}), Uuid::new_v4());
    let handled = node.handle(index(), event).await;
    assert!(
        matches!(handled, Handled::Acknowledged),
        "answered, so neither retried nor dead-lettered: {handled:?}"
    );
    assert_eq!(
        recorder.event_types(),
        [
            "codegen.validate.started",
            RESPONSE,
            "codegen.validate.failed"
        ]
    );
    let response = response(&recorder.events());
    assert_eq!(response["payload"]["status"], "error");
    assert_eq!(
        response["payload"]["error"]["message"],
        "nothing to validate"
    );
    assert!(response["payload"]["error"]["error_type"]
        .as_str()
        .unwrap()
        .ends_with("EmptySource"));
    assert_eq!(response["metadata"]["causation_id"], json!(request_id));
}

#[tokio::test]
async fn an_undecodable_request_is_answered_with_an_error_and_dead_lettered() {
    let recorder = Recorder::new();
    let node = codegen(&recorder);
    let (request_id, _, event) = request(json!({"src": 1}), Uuid::new_v4());
    let handled = node.handle(index(), event).await;
    assert!(matches!(handled, Handled::Undecodable(_)), "{handled:?}");
    let response = response(&recorder.events());
    assert_eq!(response["payload"]["status"], "error");
    assert_eq!(
        response["payload"]["error"]["error_type"],
        "undecodable_payload"
    );
    assert_eq!(response["metadata"]["causation_id"], json!(request_id));
}
