//! Lifetimes on the node, in arguments and in the result.

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};

#[derive(OnexNode)]
struct Node<'p> {
    ctx: NodeContext,
    prefix: &'p str,
}

#[onex_node("orchestrator")]
impl<'p> Node<'p> {
    #[onex_operation("orchestration", fields(name))]
    async fn orchestrate<'a>(&self, name: &'a str, tags: &[&str]) -> &'a str {
        let _ = tags.len();
        name.trim()
    }

    #[onex_operation("routing", ret)]
    async fn route(&self, target: &str) -> String {
        format!("{}{target}", self.prefix)
    }

    #[onex_operation("intelligence_query")]
    async fn first<'a, 'b: 'a>(&'a self, words: &'b [String]) -> Option<&'a str> {
        words.first().map(String::as_str)
    }
}

fn main() {
    let recorder = Recorder::new();
    let prefix = String::from("route:");
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
        prefix: &prefix,
    };
    let words = vec!["alpha".to_owned()];
    block_on(async {
        let input = String::from("  job-7 ");
        assert_eq!(node.orchestrate(&input, &["a", "b"]).await, "job-7");
        assert_eq!(node.route("west").await, "route:west");
        assert_eq!(node.first(&words).await, Some("alpha"));
    });
    assert_eq!(recorder.event_types().len(), 6);
    let json = recorder.json();
    assert_eq!(json[0]["payload"]["input"]["name"]["value"], "  job-7 ");
    assert_eq!(json[0]["payload"]["input"]["tags"]["type"], "&[&str]");
    assert!(json[0]["payload"]["input"]["tags"].get("value").is_none());
    assert_eq!(json[3]["payload"]["result"]["value"], "route:west");
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
