use onex_events::onex_node;

struct Node;

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) -> u32 {
        1
    }
}

fn main() {}
