use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
#[onex(crate = "my events")]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) -> u32 {
        1
    }
}

fn main() {}
