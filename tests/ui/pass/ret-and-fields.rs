//! `ret` records the `Ok` value of a `Result` (or the value itself), and
//! nothing on `Err`; `fields` records the values opted in.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(serde::Serialize, Debug, PartialEq)]
struct Plan {
    route: String,
    hops: u8,
}

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("orchestration", fields(target, hops), ret)]
    async fn plan(&self, target: String, hops: u8, token: String) -> anyhow::Result<Plan> {
        anyhow::ensure!(!token.is_empty(), "no token");
        Ok(Plan {
            route: target,
            hops,
        })
    }

    #[onex_operation("routing", ret)]
    async fn route(&self) {}
}

fn main() {
    let recorder = Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    block_on(async {
        let plan = node.plan("west".into(), 2, "t0k3n".into()).await.unwrap();
        assert_eq!(plan.route, "west");
        assert!(node.plan("east".into(), 1, String::new()).await.is_err());
        node.route().await;
    });
    let json = recorder.json();
    assert_eq!(json[0]["payload"]["input"]["target"]["value"], "west");
    assert_eq!(json[0]["payload"]["input"]["hops"]["value"], 2);
    assert!(json[0]["payload"]["input"]["token"].get("value").is_none());
    assert!(!json[0].to_string().contains("t0k3n"));
    assert_eq!(
        json[1]["payload"]["result"]["value"],
        serde_json::json!({"route": "west", "hops": 2})
    );
    assert_eq!(json[3]["event_type"], "orchestrator.orchestration.failed");
    assert!(json[3]["payload"].get("result").is_none());
    assert_eq!(
        json[5]["payload"]["result"]["value"],
        serde_json::Value::Null
    );
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
