use onex_events::{onex_node, NodeContext, OnexNode};

#[derive(OnexNode)]
struct Node<T> {
    ctx: NodeContext,
    inner: T,
}

#[onex_node("orchestrator")]
impl<T> Node<T> {
    #[onex_operation("orchestration", fields(item))]
    async fn orchestrate(&self, item: T) -> T {
        let _ = &self.inner;
        item
    }
}

fn main() {}
