use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_handler("orchestrator.orchestration.completed")]
    async fn execute(&self) {}
}

fn main() {}
