use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};
use std::rc::Rc;

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_handler("orchestrator.orchestration.completed")]
    async fn execute(&self, event: Incoming<u32>) {
        let local = Rc::new(event.payload);
        tokio::task::yield_now().await;
        let _ = local;
    }
}

fn main() {}
