//! The argument may be `mut`, or a pattern destructuring the payload; the
//! method is still callable directly, with its correlation in scope.

use onex_events::consume::{Incoming, ReceivedEvent, RecordParts};
use onex_events::{onex_node, Correlation, NodeContext, OnexNode, Publisher, Recorder};
use std::sync::Arc;

#[derive(OnexNode)]
struct Effect {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Effect {
    #[onex_handler("orchestrator.orchestration.completed", lifecycle = false)]
    async fn first(&self, mut event: Incoming<Vec<u32>>) -> Option<u32> {
        event.payload.sort_unstable();
        event.payload.first().copied()
    }

    #[onex_handler("orchestrator.orchestration.failed")]
    async fn second(&self, Incoming { payload, .. }: Incoming<Vec<u32>>) -> Option<Correlation> {
        let _ = payload;
        Correlation::current()
    }
}

const ENVELOPE: &str = r#"{"envelope_version":"1.0","event_id":"6f1f2c3e-8d7a-4b8e-9a0b-1c2d3e4f5a6b","event_type":"orchestrator.orchestration.failed","event_timestamp":"2026-11-30T12:00:00.000000Z","source_node_id":"orchestrator-1","correlation_id":"0b7d8c9e-1f2a-4b3c-8d4e-5f6a7b8c9d0e","payload":{"values":[3,1,2]},"metadata":{"node_type":"orchestrator"}}"#;

fn main() {
    let received = Arc::new(
        ReceivedEvent::decode(RecordParts {
            value: ENVELOPE.as_bytes().to_vec(),
            ..RecordParts::default()
        })
        .unwrap(),
    );
    let recorder = Recorder::new();
    let node = Effect {
        ctx: NodeContext::new::<Effect>(Publisher::new(recorder.clone())),
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let event = Incoming::new(Arc::clone(&received), vec![3, 1, 2]);
        assert_eq!(node.first(event).await, Some(1));
        let event = Incoming::new(Arc::clone(&received), vec![]);
        let scope = node.second(event).await.unwrap();
        assert_eq!(Some(scope.correlation_id), received.correlation_id());
    });
    assert_eq!(
        recorder.event_types(),
        ["effect.second.started", "effect.second.completed"]
    );
}
