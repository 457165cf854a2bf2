use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_handler("orchestrator.orchestration.completed", name = "write")]
    async fn execute(&self, event: Incoming<u32>) {
        let _ = event;
    }
}

trait Store {
    async fn write(&self);
}

#[onex_node(extend)]
impl Store for Node {
    #[onex_operation("write")]
    async fn write(&self) {}
}

fn main() {}
