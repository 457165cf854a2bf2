use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};
use std::cell::Cell;

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
    seen: Cell<u32>,
}

#[onex_node("effect")]
impl Node {
    #[onex_handler("orchestrator.orchestration.completed")]
    async fn execute(&self, event: Incoming<u32>) {
        self.seen.set(event.payload);
    }
}

fn main() {}
