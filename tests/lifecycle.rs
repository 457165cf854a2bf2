//! Exact event sequences of annotated operations: success, error, panic and
//! cancellation, with the error chain and execution time.

mod common;

use onex_events::{onex_node, ErrorKind, NodeContext, OnexNode, Payload, Publisher, Recorder};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("route lookup failed")]
struct RouteError {
    #[source]
    source: std::io::Error,
}

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self, job: u32) -> Result<u32, RouteError> {
        Ok(job + 1)
    }

    #[onex_operation("routing")]
    async fn route(&self, _target: String) -> Result<(), RouteError> {
        Err(RouteError {
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no route to target"),
        })
    }

    #[onex_operation("intelligence_query")]
    async fn query(&self, explode: bool) -> u32 {
        if explode {
            panic!("query exploded");
        }
        7
    }

    #[onex_operation("slow")]
    async fn slow(&self) {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

fn node() -> (Node, Recorder) {
    let recorder = Recorder::new();
    let ctx = NodeContext::builder::<Node>()
        .node_id("orchestrator-test")
        .publisher(Publisher::new(recorder.clone()))
        .build()
        .unwrap();
    (Node { ctx }, recorder)
}

#[tokio::test]
async fn success_publishes_started_then_completed() {
    let (node, recorder) = node();
    assert_eq!(node.orchestrate(41).await.unwrap(), 42);
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.orchestration.started",
            "orchestrator.orchestration.completed"
        ]
    );
    let json = recorder.json();
    for e in &json {
        common::assert_contract_valid(e);
    }
    assert_eq!(json[0]["correlation_id"], json[1]["correlation_id"]);
    assert_eq!(json[1]["metadata"]["causation_id"], json[0]["event_id"]);
    assert_eq!(json[1]["payload"]["result"]["type"], "u32");
    assert!(json[1]["payload"]["execution_time_ms"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn failed_event_carries_error_chain() {
    let (node, recorder) = node();
    let err = node.route("mars".into()).await.unwrap_err();
    assert_eq!(err.to_string(), "route lookup failed");
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.routing.started",
            "orchestrator.routing.failed"
        ]
    );
    let events = recorder.events();
    let Payload::Failed { error, .. } = &events[1].payload else {
        panic!("not a failed payload")
    };
    assert_eq!(error.kind, ErrorKind::Error);
    assert!(
        error.error_type.ends_with("RouteError"),
        "{}",
        error.error_type
    );
    assert_eq!(error.message, "route lookup failed");
    assert_eq!(error.chain, ["no route to target"]);
    common::assert_contract_valid(&events[1].to_json());
}

#[tokio::test]
async fn panic_publishes_failed_and_propagates_unchanged() {
    let (node, recorder) = node();
    let handle = tokio::spawn(async move { node.query(true).await });
    let err = handle.await.unwrap_err();
    let payload = err.into_panic();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"query exploded"));
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.intelligence_query.started",
            "orchestrator.intelligence_query.failed"
        ]
    );
    let json = recorder.json();
    assert_eq!(json[1]["payload"]["error"]["kind"], "panic");
    assert_eq!(json[1]["payload"]["error"]["message"], "query exploded");
    common::assert_contract_valid(&json[1]);
}

#[tokio::test]
async fn dropped_future_publishes_cancelled() {
    let (node, recorder) = node();
    let timed_out = tokio::time::timeout(Duration::from_millis(20), node.slow()).await;
    assert!(timed_out.is_err());
    assert_eq!(
        recorder.event_types(),
        ["orchestrator.slow.started", "orchestrator.slow.failed"]
    );
    let json = recorder.json();
    assert_eq!(json[1]["payload"]["error"]["kind"], "cancelled");
    assert!(json[1]["payload"]["execution_time_ms"].as_f64().unwrap() >= 15.0);
    common::assert_contract_valid(&json[1]);
}

#[tokio::test]
async fn future_never_polled_publishes_nothing() {
    let (node, recorder) = node();
    drop(node.orchestrate(1));
    assert!(recorder.events().is_empty());
}

#[tokio::test]
async fn non_result_return_is_always_completed() {
    let (node, recorder) = node();
    assert_eq!(node.query(false).await, 7);
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.intelligence_query.started",
            "orchestrator.intelligence_query.completed"
        ]
    );
}
