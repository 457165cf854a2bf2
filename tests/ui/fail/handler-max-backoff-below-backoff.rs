use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_handler("orchestrator.orchestration.completed", backoff_ms = 500, max_backoff_ms = 100)]
    async fn execute(&self, event: Incoming<u32>) {
        let _ = event;
    }
}

fn main() {}
