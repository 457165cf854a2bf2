use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(job: u32) -> u32 {
        job
    }
}

fn main() {}
