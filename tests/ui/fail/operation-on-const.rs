use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    const LIMIT: u32 = 1;
}

fn main() {}
