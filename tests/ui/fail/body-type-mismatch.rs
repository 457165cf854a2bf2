use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self, job: u32) -> Result<u32, std::io::Error> {
        Ok(job.to_string())
    }
}

fn main() {}
