//! Generics on the impl block and on an operation.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node<T> {
    ctx: NodeContext,
    offset: T,
}

#[onex_node("orchestrator")]
impl<T: Send + Sync> Node<T>
where
    T: Copy + Into<u64>,
{
    #[onex_operation("orchestration", fields(job))]
    async fn orchestrate(&self, job: u32) -> Result<u64, std::io::Error> {
        Ok(u64::from(job) + self.offset.into())
    }

    #[onex_operation("routing", fields(target), ret)]
    async fn route<U>(&self, target: U) -> U
    where
        U: serde::Serialize + Send,
    {
        target
    }
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node<u8>>(Publisher::new(recorder.clone())),
        offset: 2u8,
    };
    block_on(async {
        assert_eq!(node.orchestrate(40).await.unwrap(), 42);
        assert_eq!(node.route("west").await, "west");
    });
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.orchestration.started",
            "orchestrator.orchestration.completed",
            "orchestrator.routing.started",
            "orchestrator.routing.completed",
        ]
    );
    let json = recorder.json();
    assert_eq!(json[0]["payload"]["input"]["job"]["value"], 40);
    assert_eq!(json[2]["payload"]["input"]["target"]["type"], "U");
    assert_eq!(json[3]["payload"]["result"]["value"], "west");
    assert_eq!(
        Node::<u8>::EVENT_CATALOG.operations,
        ["orchestration", "routing"]
    );
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
