use onex_events::{onex_operation, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) -> u32 {
        1
    }
}

fn main() {}
