use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration", fields(a))]
    async fn orchestrate(&self, (a, b): (u32, u32)) -> u32 {
        a + b
    }
}

fn main() {}
