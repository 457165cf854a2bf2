use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

trait Orchestrate {
    async fn orchestrate(&self) -> u32;
}

#[onex_node("orchestrator")]
impl Orchestrate for Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) -> u32 {
        1
    }
}

fn main() {}
