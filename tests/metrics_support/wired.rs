//! Two nodes wired by an in-process bus: `caller`'s operation `call`
//! publishes `caller.call.completed`, which `listener`'s handler `heard`
//! takes, publishing its own lifecycle events.

use super::spans::SpanLog;
use onex_events::consume::{InProcessBus, Incoming};
use onex_events::{onex_node, NodeContext, OnexNode};
use serde_json::Value;
use std::sync::Arc;
use tracing_subscriber::layer::SubscriberExt;

#[derive(OnexNode)]
struct Caller {
    ctx: NodeContext,
}

#[onex_node("caller")]
impl Caller {
    #[onex_operation("call", fields(n))]
    async fn call(&self, n: u32) -> Result<u32, std::io::Error> {
        Ok(n * 2)
    }
}

#[derive(OnexNode)]
struct Listener {
    ctx: NodeContext,
}

#[onex_node("listener")]
impl Listener {
    #[onex_handler("caller.call.completed")]
    async fn heard(&self, _event: Incoming<Value>) -> Result<(), std::io::Error> {
        Ok(())
    }
}

fn context<N: onex_events::NodeDescriptor>(bus: &InProcessBus) -> NodeContext {
    NodeContext::builder::<N>()
        .node_id("wired-1")
        .publisher(bus.publisher())
        .build()
        .unwrap()
}

/// The event types the run publishes, in order.
pub const EVENT_TYPES: [&str; 4] = [
    "caller.call.started",
    "caller.call.completed",
    "listener.heard.started",
    "listener.heard.completed",
];

/// [`run`] with a [`SpanLog`] as this thread's subscriber; checks that the
/// result and the events are as always, and gives the spans seen.
pub async fn run_logging_spans() -> SpanLog {
    let spans = SpanLog::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let (result, bus) = run().await;
    assert_eq!(result, 42);
    assert_eq!(bus.event_types(), EVENT_TYPES);
    spans
}

/// Calls `caller`'s operation with 21 and lets `listener` handle what it
/// published; the operation's result and the bus with every event.
pub async fn run() -> (u32, InProcessBus) {
    let bus = InProcessBus::new();
    bus.subscribe(Arc::new(Listener {
        ctx: context::<Listener>(&bus),
    }));
    let caller = Caller {
        ctx: context::<Caller>(&bus),
    };
    let result = caller.call(21).await.unwrap();
    bus.settle().await;
    (result, bus)
}
