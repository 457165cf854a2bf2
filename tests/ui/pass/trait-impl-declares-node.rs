//! The block that declares a node may be a trait impl with native
//! `async fn`s (Rust 1.75+), and another trait impl may extend it.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

trait Orchestrate {
    async fn orchestrate(&self) -> u32;
}

trait Route {
    async fn route(&self, target: &str) -> Result<usize, std::fmt::Error>;
}

#[onex_node("orchestrator")]
impl Orchestrate for Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) -> u32 {
        1
    }
}

#[onex_node(extend)]
impl Route for Node {
    #[onex_operation("routing", fields(target))]
    async fn route(&self, target: &str) -> Result<usize, std::fmt::Error> {
        Ok(target.len())
    }
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        assert_eq!(node.orchestrate().await, 1);
        assert_eq!(node.route("west").await, Ok(4));
    });
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.orchestration.started",
            "orchestrator.orchestration.completed",
            "orchestrator.routing.started",
            "orchestrator.routing.completed",
        ]
    );
    assert_eq!(Node::EVENT_CATALOG.operations, ["orchestration", "routing"]);
}
