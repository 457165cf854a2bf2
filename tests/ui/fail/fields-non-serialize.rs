use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration", fields(job, secret))]
    async fn orchestrate(&self, job: u32, secret: Secret) -> u32 {
        let _ = secret;
        job
    }
}

struct Secret;

impl Node {}

fn main() {}
