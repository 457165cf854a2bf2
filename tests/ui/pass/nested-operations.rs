//! One operation awaiting another: the inner one joins the outer's
//! correlation and records the outer's `started` as its cause.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration", fields(job))]
    async fn orchestrate(&self, job: u32) -> Result<u32, std::io::Error> {
        let route = self.route(job).await?;
        Ok(route + 1)
    }

    #[onex_operation("routing")]
    async fn route(&self, job: u32) -> Result<u32, std::io::Error> {
        Ok(job * 10)
    }
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(node.orchestrate(4)).unwrap(), 41);
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.orchestration.started",
            "orchestrator.routing.started",
            "orchestrator.routing.completed",
            "orchestrator.orchestration.completed",
        ]
    );
    let json = recorder.json();
    assert!(json[0]["correlation_id"].is_string());
    for e in &json[1..] {
        assert_eq!(e["correlation_id"], json[0]["correlation_id"]);
    }
    assert_eq!(json[1]["metadata"]["causation_id"], json[0]["event_id"]);
    assert_eq!(json[2]["metadata"]["causation_id"], json[1]["event_id"]);
    assert_eq!(json[3]["metadata"]["causation_id"], json[0]["event_id"]);
}
