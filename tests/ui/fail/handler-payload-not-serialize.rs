use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[derive(serde::Deserialize)]
struct Completed {
    operation: String,
}

#[onex_node("effect")]
impl Node {
    #[onex_handler("orchestrator.orchestration.completed", payload)]
    async fn execute(&self, event: Incoming<Completed>) {
        let _ = event.payload.operation;
    }
}

fn main() {}
