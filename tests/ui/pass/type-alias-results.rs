//! Success and failure told apart by the return type, through aliases.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(Debug)]
struct RouteError;

impl std::fmt::Display for RouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no route")
    }
}

impl std::error::Error for RouteError {}

type RouteResult<T> = Result<T, RouteError>;
type Plain = u32;

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self, raw: &str) -> anyhow::Result<u32> {
        let job: u32 = raw.parse()?;
        Ok(job)
    }

    #[onex_operation("routing")]
    async fn route(&self, ok: bool) -> std::io::Result<u32> {
        if !ok {
            return Err(std::io::Error::other("link down"));
        }
        Ok(1)
    }

    #[onex_operation("intelligence_query")]
    async fn query(&self, ok: bool) -> RouteResult<()> {
        if ok {
            Ok(())
        } else {
            Err(RouteError)
        }
    }

    #[onex_operation("count")]
    async fn count(&self) -> Plain {
        3
    }
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    block_on(async {
        assert_eq!(node.orchestrate("7").await.unwrap(), 7);
        assert!(node.orchestrate("seven").await.is_err());
        assert_eq!(node.route(true).await.unwrap(), 1);
        assert!(node.route(false).await.is_err());
        assert!(node.query(true).await.is_ok());
        assert!(node.query(false).await.is_err());
        assert_eq!(node.count().await, 3);
    });
    let ends: Vec<&str> = recorder
        .event_types()
        .into_iter()
        .filter(|t| !t.ends_with(".started"))
        .collect();
    assert_eq!(
        ends,
        [
            "orchestrator.orchestration.completed",
            "orchestrator.orchestration.failed",
            "orchestrator.routing.completed",
            "orchestrator.routing.failed",
            "orchestrator.intelligence_query.completed",
            "orchestrator.intelligence_query.failed",
            "orchestrator.count.completed",
        ]
    );
    let json = recorder.json();
    assert_eq!(
        json[3]["payload"]["error"]["message"],
        "invalid digit found in string"
    );
    assert_eq!(json[7]["payload"]["error"]["message"], "link down");
    assert_eq!(json[11]["payload"]["error"]["message"], "no route");
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
