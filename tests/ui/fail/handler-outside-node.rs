use onex_events::consume::Incoming;
use onex_events::{onex_handler, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

impl Node {
    #[onex_handler("orchestrator.orchestration.completed")]
    async fn execute(&self, event: Incoming<u32>) {
        let _ = event;
    }
}

fn main() {}
