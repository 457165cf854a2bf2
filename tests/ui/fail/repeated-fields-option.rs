use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration", fields(job), fields(target))]
    async fn orchestrate(&self, job: u32, target: String) -> u32 {
        let _ = target;
        job
    }
}

fn main() {}
