use onex_events::{onex_node, NodeContext};

#[onex_node("orchestrator")]
struct Node {
    ctx: NodeContext,
}

fn main() {}
