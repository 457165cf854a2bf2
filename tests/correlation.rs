//! Correlation: top-level operations get a fresh id; nested operations (same
//! task, or a spawned task that opts in) inherit it and record the parent's
//! `started` event as causation; callers can set it explicitly.

mod common;

use onex_events::{onex_node, CorrelationExt, NodeContext, OnexNode, Publisher, Recorder};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) -> u32 {
        self.ctx
            .state_changed("idle", "running", "orchestration started");
        let routed = self.route().await;
        self.ctx.metric_recorded("routing_time", 1.5, "ms");
        routed + 1
    }

    #[onex_operation("routing")]
    async fn route(&self) -> u32 {
        tokio::task::yield_now().await;
        self.query().await
    }

    #[onex_operation("intelligence_query")]
    async fn query(&self) -> u32 {
        1
    }

    #[onex_operation("fan_out")]
    async fn fan_out(self: Arc<Self>, opt_in: bool) -> u32 {
        let node = Arc::clone(&self);
        let child = async move { node.query().await };
        let handle = if opt_in {
            tokio::spawn(child.in_current_correlation())
        } else {
            tokio::spawn(child)
        };
        handle.await.unwrap_or(0)
    }
}

fn node() -> (Node, Recorder) {
    let recorder = Recorder::new();
    let ctx = NodeContext::builder::<Node>()
        .publisher(Publisher::new(recorder.clone()))
        .build()
        .unwrap();
    (Node { ctx }, recorder)
}

fn find<'a>(events: &'a [Value], event_type: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event_type"] == event_type)
        .unwrap_or_else(|| panic!("no {event_type}"))
}

#[tokio::test]
async fn nested_operations_inherit_correlation_and_record_causation() {
    let (node, recorder) = node();
    assert_eq!(node.orchestrate().await, 2);
    let events = recorder.json();
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.orchestration.started",
            "orchestrator.state.changed",
            "orchestrator.routing.started",
            "orchestrator.intelligence_query.started",
            "orchestrator.intelligence_query.completed",
            "orchestrator.routing.completed",
            "orchestrator.metric.recorded",
            "orchestrator.orchestration.completed",
        ]
    );
    for e in &events {
        common::assert_contract_valid(e);
        assert_eq!(e["correlation_id"], events[0]["correlation_id"], "{e:#}");
    }
    let top = find(&events, "orchestrator.orchestration.started");
    let routing = find(&events, "orchestrator.routing.started");
    let query = find(&events, "orchestrator.intelligence_query.started");
    assert!(top["metadata"].get("causation_id").is_none());
    assert_eq!(routing["metadata"]["causation_id"], top["event_id"]);
    assert_eq!(query["metadata"]["causation_id"], routing["event_id"]);
    assert_eq!(
        find(&events, "orchestrator.routing.completed")["metadata"]["causation_id"],
        routing["event_id"]
    );
    assert_eq!(
        find(&events, "orchestrator.state.changed")["metadata"]["causation_id"],
        top["event_id"]
    );
    assert_eq!(
        find(&events, "orchestrator.metric.recorded")["metadata"]["causation_id"],
        top["event_id"]
    );
}

#[tokio::test]
async fn top_level_operations_get_fresh_correlation_ids() {
    let (node, recorder) = node();
    node.query().await;
    node.query().await;
    let events = recorder.json();
    assert_eq!(events[0]["correlation_id"], events[1]["correlation_id"]);
    assert_ne!(events[0]["correlation_id"], events[2]["correlation_id"]);
    assert!(events[0]["correlation_id"].is_string());
}

#[tokio::test]
async fn explicit_correlation_id_is_used() {
    let (node, recorder) = node();
    let incoming = Uuid::new_v4();
    node.orchestrate().with_correlation_id(incoming).await;
    for e in recorder.json() {
        assert_eq!(e["correlation_id"], incoming.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_task_inherits_only_when_it_opts_in() {
    let (node, recorder) = node();
    let node = Arc::new(node);

    Arc::clone(&node).fan_out(true).await;
    let json: Vec<Value> = recorder.take().iter().map(|e| e.to_json()).collect();
    let parent = find(&json, "orchestrator.fan_out.started");
    let child = find(&json, "orchestrator.intelligence_query.started");
    assert_eq!(child["correlation_id"], parent["correlation_id"]);
    assert_eq!(child["metadata"]["causation_id"], parent["event_id"]);

    node.fan_out(false).await;
    let json = recorder.json();
    let parent = find(&json, "orchestrator.fan_out.started");
    let child = find(&json, "orchestrator.intelligence_query.started");
    assert_ne!(child["correlation_id"], parent["correlation_id"]);
    assert!(child["metadata"].get("causation_id").is_none());
}

#[tokio::test]
async fn metric_outside_an_operation_has_no_correlation() {
    let (node, recorder) = node();
    node.ctx.metric_recorded("queue_depth", 3.0, "count");
    node.ctx.state_changed("idle", "ready", "warm-up done");
    let events = recorder.json();
    assert!(events[0]["correlation_id"].is_null());
    assert!(events[1]["correlation_id"].is_string());
    for e in &events {
        common::assert_contract_valid(e);
    }
}
