//! `#[derive(OnexNode)]` on a tuple struct and on a generic struct with a
//! where clause; an operation of one node calling another node's.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Router(NodeContext);

#[onex_node("router")]
impl Router {
    #[onex_operation("routing", fields(job), ret)]
    async fn route(&self, job: u32) -> u32 {
        job % 3
    }
}

#[derive(OnexNode)]
struct Orchestrator<R>
where
    R: AsRef<Router>,
{
    ctx: NodeContext,
    router: R,
}

impl AsRef<Router> for Router {
    fn as_ref(&self) -> &Router {
        self
    }
}

#[onex_node("orchestrator")]
impl<R: AsRef<Router> + Send + Sync> Orchestrator<R> {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self, job: u32) -> u32 {
        self.router.as_ref().route(job).await
    }
}

fn main() {
    let recorder = Recorder::new();
    let publisher = Publisher::new(recorder.clone());
    let node = Orchestrator {
        ctx: NodeContext::new::<Orchestrator<Router>>(publisher.clone()),
        router: Router(NodeContext::new::<Router>(publisher)),
    };
    let out = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(node.orchestrate(7));
    assert_eq!(out, 1);
    assert_eq!(
        recorder.event_types(),
        [
            "orchestrator.orchestration.started",
            "router.routing.started",
            "router.routing.completed",
            "orchestrator.orchestration.completed",
        ]
    );
    let json = recorder.json();
    assert_eq!(json[1]["correlation_id"], json[0]["correlation_id"]);
    assert_eq!(json[1]["source_node_id"], json[2]["source_node_id"]);
    assert_ne!(json[0]["source_node_id"], json[1]["source_node_id"]);
    assert_eq!(json[2]["payload"]["result"]["value"], 1);
}
