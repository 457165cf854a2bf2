use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

trait Orchestrate {
    async fn orchestrate_again(&self) -> u32;
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) -> u32 {
        1
    }
}

#[onex_node(extend)]
impl Orchestrate for Node {
    #[onex_operation("orchestration")]
    async fn orchestrate_again(&self) -> u32 {
        2
    }
}

fn main() {}
