//! `#[async_trait]`'s boxed-future shape, written out by hand: a plain `fn`
//! returning `Pin<Box<dyn Future<Output = T> + Send + 'async_trait>>` whose
//! last expression is `Box::pin(async move { .. })`. The `async` block is
//! what is instrumented; statements before it run at the call.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};
use std::future::Future;
use std::pin::Pin;

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

trait Effect {
    fn execute_intent<'life0, 'async_trait>(
        &'life0 self,
        intent: u32,
    ) -> Pin<Box<dyn Future<Output = Result<u32, std::io::Error>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait;
}

#[onex_node("effect")]
impl Node {}

#[onex_node(extend)]
impl Effect for Node {
    #[onex_operation("execute_intent", fields(intent), ret)]
    fn execute_intent<'life0, 'async_trait>(
        &'life0 self,
        intent: u32,
    ) -> Pin<Box<dyn Future<Output = Result<u32, std::io::Error>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let doubled = intent * 2;
        Box::pin(async move { Ok(doubled) })
    }
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(node.execute_intent(21)).unwrap(), 42);
    assert_eq!(
        recorder.event_types(),
        ["effect.execute_intent.started", "effect.execute_intent.completed"]
    );
    assert_eq!(recorder.json()[1]["payload"]["result"]["value"], 42);
}
