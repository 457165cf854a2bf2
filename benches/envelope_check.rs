//! Per-record cost of reading a received envelope
//! (`ReceivedEvent::decode`: the consumer's check of the envelope contract
//! and the location of its fields), on the envelope of the consume bench.
//!
//! ```text
//! cargo bench --no-default-features --bench envelope_check
//! BENCH_RECORDS=100000 valgrind --tool=callgrind \
//!     --toggle-collect='*decode_all*' <bench binary> --bench
//! ```
//!
//! No bench framework: one plain loop over records built beforehand, timed
//! as a whole; under callgrind, the instructions of `decode_all` divided by
//! the number of records.

use onex_events::consume::{ReceivedEvent, RecordParts};
use onex_events::{Event, EventType, NodeIdentity, Payload, Timestamp};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// A state change as `benches/consume.rs` publishes it.
fn state_change(node: &Arc<NodeIdentity>, seq: u64) -> Event {
    Event {
        event_id: Uuid::new_v4(),
        event_type: EventType::parse("orchestrator.state.changed").expect("valid type"),
        timestamp: Timestamp::now(),
        correlation_id: Some(Uuid::new_v4()),
        causation_id: Some(Uuid::new_v4()),
        node: Arc::clone(node),
        payload: Payload::StateChanged {
            old_state: "awaiting_validation".to_owned(),
            new_state: "validated".to_owned(),
            transition_reason: format!(
                "{seq} workflow step validate-input finished: schema checked, \
                 3 intents queued for the effect node"
            ),
        },
        trace_parent: None,
    }
}

/// Decodes every record; the number decoded.
#[inline(never)]
fn decode_all(records: Vec<RecordParts>) -> usize {
    records
        .into_iter()
        .map(ReceivedEvent::decode)
        .filter(|event| black_box(event).is_ok())
        .count()
}

fn main() {
    let n: u64 = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let node = Arc::new(NodeIdentity {
        node_id: "bench-orchestrator-1".to_owned(),
        node_type: "orchestrator",
        service: "workflow-orchestrator".to_owned(),
        namespace: "onex".to_owned(),
        instance_id: Uuid::new_v4(),
    });
    let records: Vec<RecordParts> = (0..n)
        .map(|seq| {
            let mut value = Vec::new();
            state_change(&node, seq)
                .write_json(&mut value)
                .expect("serializable");
            RecordParts {
                topic: "onex.evt.orchestrator.state.v1".into(),
                value,
                ..RecordParts::default()
            }
        })
        .collect();
    let bytes = records.first().map_or(0, |r| r.value.len());
    let started = Instant::now();
    let decoded = decode_all(records);
    let elapsed = started.elapsed();
    assert_eq!(decoded as u64, n, "every envelope decodes");
    println!(
        "decode: {n} records of {bytes} bytes, {:.1} ns/record",
        elapsed.as_nanos() as f64 / n as f64
    );
}
