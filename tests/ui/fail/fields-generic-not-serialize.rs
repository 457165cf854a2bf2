use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("routing", fields(target))]
    async fn route<T: Send>(&self, target: T) -> T {
        target
    }
}

fn main() {}
