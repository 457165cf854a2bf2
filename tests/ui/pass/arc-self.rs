//! `self: Arc<Self>`, `self: Box<Self>` and `self` receivers.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};
use std::sync::Arc;

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
    name: String,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration", fields(job))]
    async fn orchestrate(self: Arc<Self>, job: u32) -> String {
        format!("{}:{job}", self.name)
    }

    #[onex_operation("routing")]
    async fn route(self: Box<Self>) -> String {
        self.name
    }

    #[onex_operation("intelligence_query")]
    async fn into_name(self) -> String {
        self.name
    }
}

fn main() {
    let recorder = Recorder::new();
    let make = || Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
        name: "n1".to_owned(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let shared = Arc::new(make());
        let task = tokio::spawn(Arc::clone(&shared).orchestrate(7));
        assert_eq!(task.await.unwrap(), "n1:7");
        assert_eq!(Box::new(make()).route().await, "n1");
        assert_eq!(make().into_name().await, "n1");
    });
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.orchestration.started",
            "orchestrator.orchestration.completed",
            "orchestrator.routing.started",
            "orchestrator.routing.completed",
            "orchestrator.intelligence_query.started",
            "orchestrator.intelligence_query.completed",
        ]
    );
}
