//! Publishing never changes the user's operation: a sink that panics or
//! cannot write is logged, and the operation returns what its body returned.

use onex_events::sink::Sink;
use onex_events::{onex_node, Event, NodeContext, OnexNode, Publisher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Default)]
struct PanickingSink {
    calls: Arc<AtomicUsize>,
}

impl Sink for PanickingSink {
    fn publish(&self, _event: Event) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        panic!("sink exploded");
    }

    fn name(&self) -> &'static str {
        "panicking"
    }
}

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_operation("write")]
    async fn write(&self, ok: bool) -> Result<u32, std::io::Error> {
        if ok {
            Ok(7)
        } else {
            Err(std::io::Error::other("disk full"))
        }
    }
}

#[tokio::test]
async fn panicking_sink_never_changes_the_result() {
    let calls = Arc::new(AtomicUsize::new(0));
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(PanickingSink {
            calls: Arc::clone(&calls),
        })),
    };
    assert_eq!(node.write(true).await.unwrap(), 7);
    assert_eq!(
        node.write(false).await.unwrap_err().to_string(),
        "disk full"
    );
    node.ctx.metric_recorded("m", 1.0, "count");
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[test]
fn invalid_identity_is_a_clear_error() {
    let err = NodeContext::builder::<Node>()
        .node_id("")
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "node_id must not be empty");
    let err = NodeContext::builder::<Node>()
        .service("my service")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "service `my service` contains whitespace or control characters"
    );
}

/// Names the default routings would sanitize into another's topics
/// (`name.space/../x` and `name.space_.._x`) are refused when the node is
/// set up, not merged unnoticed.
#[test]
fn a_service_or_namespace_that_would_share_another_ones_topic_is_refused() {
    let err = NodeContext::builder::<Node>()
        .namespace("name.space/../x")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "namespace \"name.space/../x\" may hold only ASCII letters, digits, `.`, `_` and `-` (it names Kafka topics)"
    );
    let err = NodeContext::builder::<Node>()
        .service("billing/eu")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().starts_with("service \"billing/eu\""),
        "{err}"
    );
    assert!(NodeContext::builder::<Node>()
        .namespace("name.space_.._x")
        .service("billing-eu")
        .build()
        .is_ok());
}

#[tokio::test]
async fn non_finite_metric_is_not_published() {
    let recorder = onex_events::Recorder::new();
    let node = Node {
        ctx: NodeContext::new::<Node>(Publisher::new(recorder.clone())),
    };
    assert!(node
        .ctx
        .metric_recorded("latency", f64::NAN, "ms")
        .is_none());
    assert!(recorder.events().is_empty());
}
