use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_operation("write")]
    async fn write(&self) {}
}

trait Effect {
    async fn execute(&self, event: Incoming<u32>);
}

#[onex_node(extend)]
impl Effect for Node {
    #[onex_handler("orchestrator.orchestration.completed")]
    async fn execute(&self, event: Incoming<u32>) {
        let _ = event;
    }
}

fn main() {}
