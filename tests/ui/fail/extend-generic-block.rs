use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node<T> {
    ctx: NodeContext,
    value: T,
}

#[onex_node("orchestrator")]
impl<T: Send + Sync> Node<T> {}

#[onex_node(extend)]
impl<T: Send + Sync + Copy> Node<T> {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) -> T {
        self.value
    }
}

fn main() {}
