//! `skip_all` leaves every argument out of `input` except those opted in.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration", skip_all, fields(job))]
    async fn orchestrate(&self, job: u32, token: String, payload: Vec<u8>) -> u32 {
        job + token.len() as u32 + payload.len() as u32
    }

    #[onex_operation("routing", skip(token))]
    async fn route(&self, target: String, token: String) -> usize {
        target.len() + token.len()
    }
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    block_on(async {
        assert_eq!(node.orchestrate(1, "ab".into(), vec![0; 3]).await, 6);
        assert_eq!(node.route("west".into(), "secret".into()).await, 10);
    });
    let json = recorder.json();
    assert_eq!(
        json[0]["payload"]["input"],
        serde_json::json!({"job": {"type": "u32", "value": 1}})
    );
    assert_eq!(
        json[2]["payload"]["input"],
        serde_json::json!({"target": {"type": "String"}})
    );
    assert!(!json[2].to_string().contains("secret"));
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
