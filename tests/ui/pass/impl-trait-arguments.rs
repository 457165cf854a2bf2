//! `impl Trait` in argument and return position.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};
use std::fmt::Display;

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration", fields(tag))]
    async fn orchestrate(
        &self,
        jobs: impl IntoIterator<Item = u32> + Send,
        tag: impl serde::Serialize + Send,
    ) -> u32 {
        let _ = &tag;
        jobs.into_iter().sum()
    }

    #[onex_operation("routing")]
    async fn route(&self, target: impl AsRef<str> + Send) -> impl Display {
        format!("-> {}", target.as_ref())
    }

    #[onex_operation("intelligence_query")]
    async fn query(
        &self,
        f: impl Fn(u32) -> u32 + Send,
    ) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
        Ok(f(20))
    }
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    block_on(async {
        assert_eq!(node.orchestrate(vec![1, 2, 3], "batch").await, 6);
        assert_eq!(node.route("west").await.to_string(), "-> west");
        assert_eq!(node.query(|x| x * 2).await.unwrap(), 40);
    });
    let json = recorder.json();
    assert_eq!(json.len(), 6);
    let input = &json[0]["payload"]["input"];
    assert_eq!(
        input["jobs"]["type"],
        "impl IntoIterator<Item = u32> + Send"
    );
    assert_eq!(input["tag"]["value"], "batch");
    assert_eq!(
        json[4]["payload"]["input"]["f"]["type"],
        "impl Fn(u32) -> u32 + Send"
    );
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
