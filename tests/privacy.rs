//! Privacy by default: `input` and `result` hold names and types only;
//! values appear where the user opted in with `fields(..)` or `ret`, and a
//! skipped argument does not appear at all.

mod common;

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
struct Request {
    job: u32,
    target: String,
}

#[derive(Debug, Clone, Serialize)]
struct Plan {
    steps: Vec<String>,
}

const SECRET: &str = "hunter2-api-token";

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Node {
    #[onex_operation("default_privacy")]
    async fn default_privacy(
        &self,
        request: Request,
        api_token: String,
    ) -> Result<Plan, std::io::Error> {
        let _ = api_token;
        Ok(Plan {
            steps: vec![request.target],
        })
    }

    #[onex_operation("opted_in", fields(request), skip(api_token), ret)]
    async fn opted_in(
        &self,
        request: Request,
        api_token: String,
        priority: u8,
    ) -> Result<Plan, std::io::Error> {
        let _ = (api_token, priority);
        Ok(Plan {
            steps: vec![request.target],
        })
    }

    #[onex_operation("only_fields", skip_all, fields(priority))]
    async fn only_fields(&self, api_token: String, priority: u8) -> u8 {
        let _ = api_token;
        priority
    }

    #[onex_operation("ret_on_error", ret)]
    async fn ret_on_error(&self, api_token: String) -> Result<u8, std::io::Error> {
        Err(std::io::Error::other(format!(
            "rejected token of {} chars",
            api_token.len()
        )))
    }
}

fn node() -> (Node, Recorder) {
    let recorder = Recorder::new();
    let ctx = NodeContext::builder::<Node>()
        .publisher(Publisher::new(recorder.clone()))
        .build()
        .unwrap();
    (Node { ctx }, recorder)
}

fn request() -> Request {
    Request {
        job: 7,
        target: "mars".into(),
    }
}

#[tokio::test]
async fn values_stay_out_unless_opted_in() {
    let (node, recorder) = node();
    node.default_privacy(request(), SECRET.into())
        .await
        .unwrap();
    let events = recorder.json();
    let input = &events[0]["payload"]["input"];
    assert_eq!(
        *input,
        serde_json::json!({
            "request": {"type": "Request"},
            "api_token": {"type": "String"},
        })
    );
    assert_eq!(
        events[1]["payload"]["result"],
        serde_json::json!({"type": "privacy::Plan"})
    );
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains(SECRET));
    assert!(!text.contains("mars"));
}

#[tokio::test]
async fn opted_in_values_present_and_skipped_arguments_absent() {
    let (node, recorder) = node();
    node.opted_in(request(), SECRET.into(), 3).await.unwrap();
    let events = recorder.json();
    for e in &events {
        common::assert_contract_valid(e);
    }
    assert_eq!(
        events[0]["payload"]["input"],
        serde_json::json!({
            "request": {"type": "Request", "value": {"job": 7, "target": "mars"}},
            "priority": {"type": "u8"},
        })
    );
    assert_eq!(
        events[1]["payload"]["result"]["value"],
        serde_json::json!({"steps": ["mars"]})
    );
    assert!(!serde_json::to_string(&events).unwrap().contains(SECRET));
}

#[tokio::test]
async fn skip_all_with_fields_records_only_the_fields() {
    let (node, recorder) = node();
    node.only_fields(SECRET.into(), 9).await;
    let events = recorder.json();
    assert_eq!(
        events[0]["payload"]["input"],
        serde_json::json!({"priority": {"type": "u8", "value": 9}})
    );
    assert!(events[1]["payload"]["result"].get("value").is_none());
    assert!(!serde_json::to_string(&events).unwrap().contains(SECRET));
}

#[tokio::test]
async fn ret_records_nothing_for_an_error() {
    let (node, recorder) = node();
    node.ret_on_error(SECRET.into()).await.unwrap_err();
    let events = recorder.json();
    assert_eq!(events[1]["event_type"], "orchestrator.ret_on_error.failed");
    assert_eq!(
        events[1]["payload"]["error"]["message"],
        "rejected token of 17 chars"
    );
    assert!(!serde_json::to_string(&events).unwrap().contains(SECRET));
}
