//! `#[async_trait]` on a node's trait impl, in either order: after it, the
//! operation is in the boxed-future shape; before it, a native `async fn`.

use async_trait::async_trait;
use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[async_trait]
trait Compute {
    async fn process(&self, input: u32) -> Result<u32, std::io::Error>;
}

#[async_trait]
trait Effect {
    async fn execute_intent(&self, intent: String) -> usize;
}

#[onex_node("compute")]
impl Node {}

#[async_trait]
#[onex_node(extend)]
impl Compute for Node {
    #[onex_operation("process", fields(input))]
    async fn process(&self, input: u32) -> Result<u32, std::io::Error> {
        Ok(input + 1)
    }
}

#[onex_node(extend)]
#[async_trait]
impl Effect for Node {
    #[onex_operation("execute_intent", ret)]
    async fn execute_intent(&self, intent: String) -> usize {
        intent.len()
    }
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        assert_eq!(node.process(1).await.unwrap(), 2);
        assert_eq!(node.execute_intent("write".into()).await, 5);
    });
    assert_eq!(
        recorder.event_types(),
        [
            "compute.process.started",
            "compute.process.completed",
            "compute.execute_intent.started",
            "compute.execute_intent.completed",
        ]
    );
    assert_eq!(recorder.json()[0]["payload"]["input"]["input"]["value"], 1);
    assert_eq!(recorder.json()[3]["payload"]["result"]["value"], 5);
}
