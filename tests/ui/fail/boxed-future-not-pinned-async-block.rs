use onex_events::{onex_node, NodeContext, OnexNode};
use std::future::Future;
use std::pin::Pin;

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    fn orchestrate(&self) -> Pin<Box<dyn Future<Output = u32> + Send + '_>> {
        let fut = async move { 1 };
        Box::pin(fut)
    }
}

fn main() {}
