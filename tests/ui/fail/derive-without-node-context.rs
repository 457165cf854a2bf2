use onex_events::{onex_node, OnexNode};

#[derive(OnexNode)]
struct Node {
    name: String,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) -> usize {
        self.name.len()
    }
}

fn main() {}
