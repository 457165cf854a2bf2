//! Operations outside the node's declaring block: a trait impl with native
//! `async fn`, and `#[async_trait]`'s boxed-future shape (written by hand as
//! async-trait expands it). They publish the same lifecycle events, in the
//! same correlation, as the declaring block's operations, and the node keeps
//! one catalog and one registry entry.

use onex_events::{onex_node, ErrorKind, NodeContext, OnexNode, Payload, Publisher, Recorder};
use std::future::Future;
use std::pin::Pin;

#[derive(Debug, thiserror::Error)]
#[error("no input")]
struct ComputeError;

/// Seed 002's `NodeComputeService.process`, as a trait.
trait NodeCompute {
    async fn process(&self, input: u32) -> Result<u32, ComputeError>;
}

/// Seed 002's `NodeEffectService.execute_intent`, as `#[async_trait]`
/// writes an `async fn` of a trait.
trait NodeEffect {
    fn execute_intent<'life0, 'async_trait>(
        &'life0 self,
        intent: String,
    ) -> Pin<Box<dyn Future<Output = Result<usize, ComputeError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait;
}

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("compute", service = "compute-svc")]
impl Node {
    #[onex_operation("orchestration", fields(job))]
    async fn orchestrate(&self, job: u32) -> Result<u32, ComputeError> {
        self.process(job).await
    }
}

#[onex_node(extend)]
impl NodeCompute for Node {
    #[onex_operation("process", fields(input), ret)]
    async fn process(&self, input: u32) -> Result<u32, ComputeError> {
        if input == 0 {
            return Err(ComputeError);
        }
        Ok(input * 2)
    }
}

#[onex_node(extend)]
impl NodeEffect for Node {
    #[onex_operation("execute_intent", ret)]
    fn execute_intent<'life0, 'async_trait>(
        &'life0 self,
        intent: String,
    ) -> Pin<Box<dyn Future<Output = Result<usize, ComputeError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            if intent.is_empty() {
                return Err(ComputeError);
            }
            Ok(intent.len())
        })
    }
}

fn node() -> (Node, Recorder) {
    let recorder = Recorder::new();
    let ctx = NodeContext::builder::<Node>()
        .node_id("compute-test")
        .publisher(Publisher::new(recorder.clone()))
        .build()
        .unwrap();
    (Node { ctx }, recorder)
}

#[tokio::test]
async fn trait_impl_operation_publishes_its_lifecycle_events() {
    let (node, recorder) = node();
    assert_eq!(node.process(21).await.unwrap(), 42);
    assert_eq!(
        recorder.event_types(),
        ["compute.process.started", "compute.process.completed"]
    );
    let json = recorder.json();
    assert_eq!(json[0]["payload"]["input"]["input"]["value"], 21);
    assert_eq!(json[1]["payload"]["result"]["value"], 42);
    assert_eq!(json[1]["source_node_id"], "compute-test");
}

#[tokio::test]
async fn trait_impl_operation_error_publishes_failed() {
    let (node, recorder) = node();
    assert!(node.process(0).await.is_err());
    let events = recorder.events();
    assert_eq!(events[1].event_type.as_str(), "compute.process.failed");
    match &events[1].payload {
        Payload::Failed { error, .. } => {
            assert_eq!(error.kind, ErrorKind::Error);
            assert_eq!(error.message, "no input");
        }
        other => panic!("expected failed, got {other:?}"),
    }
}

#[tokio::test]
async fn boxed_future_operation_publishes_its_lifecycle_events() {
    let (node, recorder) = node();
    assert_eq!(node.execute_intent("write".into()).await.unwrap(), 5);
    assert!(node.execute_intent(String::new()).await.is_err());
    assert_eq!(
        recorder.event_types(),
        [
            "compute.execute_intent.started",
            "compute.execute_intent.completed",
            "compute.execute_intent.started",
            "compute.execute_intent.failed",
        ]
    );
    assert_eq!(recorder.json()[1]["payload"]["result"]["value"], 5);
}

#[tokio::test]
async fn boxed_future_operation_publishes_nothing_until_polled() {
    let (node, recorder) = node();
    let pending = node.execute_intent("write".into());
    assert!(recorder.events().is_empty());
    assert_eq!(pending.await.unwrap(), 5);
    assert_eq!(recorder.events().len(), 2);
}

#[tokio::test]
async fn nested_trait_operation_joins_the_callers_correlation() {
    let (node, recorder) = node();
    assert_eq!(node.orchestrate(4).await.unwrap(), 8);
    let events = recorder.events();
    assert_eq!(
        recorder.event_types(),
        [
            "compute.orchestration.started",
            "compute.process.started",
            "compute.process.completed",
            "compute.orchestration.completed",
        ]
    );
    assert!(events
        .iter()
        .all(|e| e.correlation_id == events[0].correlation_id));
    assert_eq!(events[1].causation_id, Some(events[0].event_id));
}

#[test]
fn node_in_three_blocks_has_one_catalog_and_one_registry_entry() {
    assert_eq!(
        Node::EVENT_CATALOG.operations,
        ["orchestration", "process", "execute_intent"]
    );
    assert_eq!(Node::EVENT_CATALOG.len(), 3 * 3 + 2);
    assert_eq!(Node::EVENT_CATALOG.service, "compute-svc");
    let catalogs = onex_events::catalogs();
    assert_eq!(catalogs.len(), 1);
    assert!(std::ptr::eq(catalogs[0], Node::EVENT_CATALOG.get()));
    assert!(onex_events::all_event_types().contains(&"compute.execute_intent.failed"));
}
