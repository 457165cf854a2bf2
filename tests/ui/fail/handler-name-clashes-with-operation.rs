use onex_events::consume::Incoming;
use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_operation("execute_intent")]
    async fn run(&self) {}

    #[onex_handler("orchestrator.orchestration.completed", name = "execute_intent")]
    async fn execute(&self, event: Incoming<u32>) {
        let _ = event;
    }
}

fn main() {}
