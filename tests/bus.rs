//! The in-process bus: nodes wired in one process, events delivered to
//! their handlers through the consumer's own path (record, decode, settle),
//! with exact-sequence assertions, retries, dead letters and correlation.

use onex_events::consume::{InProcessBus, Incoming, RecordParts};
use onex_events::sink::Blocking;
use onex_events::{onex_node, NodeContext, OnexNode};
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn context<N: onex_events::NodeDescriptor>(bus: &InProcessBus, id: &str) -> NodeContext {
    NodeContext::builder::<N>()
        .node_id(id)
        .publisher(bus.publisher())
        .build()
        .unwrap()
}

#[derive(Debug, thiserror::Error)]
#[error("the ledger is unavailable")]
struct LedgerDown;

/// Node A: its operation `x` publishes `a.x.completed`.
#[derive(OnexNode)]
struct A {
    ctx: NodeContext,
}

#[onex_node("a")]
impl A {
    #[onex_operation("x", fields(job))]
    async fn x(&self, job: u32) -> Result<u32, LedgerDown> {
        Ok(job * 2)
    }
}

/// Node B: handles `a.x.completed` as its operation `on_x_completed`,
/// publishing a state change inside.
#[derive(OnexNode)]
struct B {
    ctx: NodeContext,
    seen: Mutex<Vec<Incoming<Value>>>,
}

#[onex_node("b")]
impl B {
    #[onex_handler("a.x.completed")]
    async fn on_x_completed(&self, event: Incoming<Value>) -> Result<(), LedgerDown> {
        self.ctx.state_changed("idle", "recorded", "a.x completed");
        self.seen.lock().unwrap().push(event);
        Ok(())
    }
}

fn b(bus: &InProcessBus) -> Arc<B> {
    Arc::new(B {
        ctx: context::<B>(bus, "b-1"),
        seen: Mutex::default(),
    })
}

/// Node C: handles what B publishes when it is done.
#[derive(OnexNode)]
struct C {
    ctx: NodeContext,
}

#[onex_node("c")]
impl C {
    #[onex_handler("b.on_x_completed.completed")]
    async fn on_b_done(&self, _event: Incoming<Value>) -> Result<(), LedgerDown> {
        Ok(())
    }
}

/// Fails its first `failures` runs (every run with `u32::MAX`), or panics.
#[derive(OnexNode)]
struct Flaky {
    ctx: NodeContext,
    failures: u32,
    panics: bool,
    runs: AtomicU32,
}

#[onex_node("flaky")]
impl Flaky {
    #[onex_handler(
        "a.x.completed",
        lifecycle = false,
        attempts = 3,
        backoff_ms = 1,
        max_backoff_ms = 2
    )]
    async fn on_x(&self, _event: Incoming<Value>) -> Result<(), LedgerDown> {
        let run = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        assert!(!self.panics, "flaky handler exploded on run {run}");
        if run <= self.failures {
            Err(LedgerDown)
        } else {
            Ok(())
        }
    }
}

fn flaky(bus: &InProcessBus, failures: u32, panics: bool) -> Arc<Flaky> {
    Arc::new(Flaky {
        ctx: context::<Flaky>(bus, "flaky-1"),
        failures,
        panics,
        runs: AtomicU32::new(0),
    })
}

async fn run_a(bus: &InProcessBus) {
    let a = A {
        ctx: context::<A>(bus, "a-1"),
    };
    assert_eq!(a.x(21).await.unwrap(), 42);
}

async fn run_a_then_settle(bus: &InProcessBus) {
    run_a(bus).await;
    bus.settle().await;
}

#[tokio::test]
async fn two_wired_nodes_publish_in_exact_sequence() {
    let bus = InProcessBus::new();
    let b = b(&bus);
    bus.subscribe(Arc::clone(&b));

    assert_eq!(bus.publisher().blocking(), Blocking::Never);
    run_a(&bus).await;
    assert_eq!(bus.pending(), 2, "publishing only queues");
    bus.settle().await;

    assert_eq!(
        bus.event_types(),
        [
            "a.x.started",
            "a.x.completed",
            "b.on_x_completed.started",
            "b.state.changed",
            "b.on_x_completed.completed",
        ]
    );
    let seen = b.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let incoming = &seen[0];
    assert_eq!(incoming.event_type(), "a.x.completed");
    assert_eq!(incoming.source_node_id(), "a-1");
    assert_eq!(incoming.payload["operation"], "x");
    assert_eq!(incoming.offset(), 1, "the offset counts records published");
    #[cfg(feature = "kafka")]
    {
        assert_eq!(
            incoming.topic(),
            "onex.a.a.x.v1",
            "the default routing's topic"
        );
        assert_eq!(incoming.headers().get_str("ce_type"), Some("a.x.completed"));
    }
    let stats = bus.stats();
    assert_eq!(
        (
            stats.delivered,
            stats.handled,
            stats.skipped,
            stats.dead_lettered
        ),
        (5, 1, 4, 0)
    );
    assert!(bus.dead_letters().is_empty());
    assert_eq!(bus.pending(), 0);
}

#[tokio::test]
async fn events_handlers_publish_are_delivered_in_turn() {
    let bus = InProcessBus::new();
    bus.subscribe(b(&bus)).subscribe(Arc::new(C {
        ctx: context::<C>(&bus, "c-1"),
    }));

    run_a_then_settle(&bus).await;

    assert_eq!(
        bus.event_types(),
        [
            "a.x.started",
            "a.x.completed",
            "b.on_x_completed.started",
            "b.state.changed",
            "b.on_x_completed.completed",
            "c.on_b_done.started",
            "c.on_b_done.completed",
        ]
    );
    assert_eq!(bus.stats().handled, 2);
}

#[tokio::test]
async fn the_incoming_correlation_is_carried_to_every_event_the_handler_publishes() {
    let bus = InProcessBus::new();
    bus.subscribe(b(&bus));

    run_a_then_settle(&bus).await;

    let events = bus.recorder().json();
    let find = |event_type: &str| {
        events
            .iter()
            .find(|e| e["event_type"] == event_type)
            .unwrap_or_else(|| panic!("no {event_type}"))
    };
    let a_completed = find("a.x.completed");
    let correlation = &a_completed["correlation_id"];
    assert!(correlation.is_string());
    for event in &events {
        assert_eq!(&event["correlation_id"], correlation, "{event}");
    }
    assert_eq!(
        find("b.on_x_completed.started")["metadata"]["causation_id"],
        a_completed["event_id"],
        "the handler's operation is caused by the incoming event"
    );
    assert_eq!(
        find("b.state.changed")["metadata"]["causation_id"],
        find("b.on_x_completed.started")["event_id"]
    );
}

#[tokio::test]
async fn a_failing_handler_is_retried_then_dead_lettered() {
    let bus = InProcessBus::new();
    let flaky = flaky(&bus, u32::MAX, false);
    bus.subscribe(Arc::clone(&flaky));

    run_a_then_settle(&bus).await;

    assert_eq!(flaky.runs.load(Ordering::SeqCst), 3);
    let dead = bus.dead_letters();
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!(letter.event_type(), Some("a.x.completed"));
    assert_eq!(letter.handler.as_deref(), Some("flaky.on_x"));
    assert_eq!(letter.error_type, std::any::type_name::<LedgerDown>());
    assert_eq!(letter.message, "the ledger is unavailable");
    assert_eq!(letter.attempts, 3);
    let envelope: Value = serde_json::from_slice(&letter.record.value).unwrap();
    assert_eq!(
        envelope["event_type"], "a.x.completed",
        "the original value"
    );
    let stats = bus.stats();
    assert_eq!(
        (
            stats.handled,
            stats.failed,
            stats.retried,
            stats.dead_lettered
        ),
        (0, 1, 2, 1)
    );
}

#[tokio::test]
async fn a_handler_that_recovers_within_its_retries_acknowledges() {
    let bus = InProcessBus::new();
    let flaky = flaky(&bus, 2, false);
    bus.subscribe(Arc::clone(&flaky));

    run_a_then_settle(&bus).await;

    assert_eq!(flaky.runs.load(Ordering::SeqCst), 3);
    assert!(bus.dead_letters().is_empty());
    let stats = bus.stats();
    assert_eq!((stats.handled, stats.retried), (1, 2));
}

#[tokio::test]
async fn a_panicking_handler_is_a_failure_like_an_error() {
    let bus = InProcessBus::new();
    let flaky = flaky(&bus, 0, true);
    bus.subscribe(Arc::clone(&flaky));

    run_a_then_settle(&bus).await;

    assert_eq!(flaky.runs.load(Ordering::SeqCst), 3);
    let dead = bus.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].error_type, "panic");
    assert!(
        dead[0].message.contains("flaky handler exploded"),
        "{}",
        dead[0].message
    );
}

/// Asks for a payload `a.x.completed` does not have.
#[derive(OnexNode)]
struct Strict {
    ctx: NodeContext,
    runs: AtomicU32,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Order {
    order_id: u64,
}

#[onex_node("strict")]
impl Strict {
    #[onex_handler("a.x.completed")]
    async fn on_order(&self, _event: Incoming<Order>) -> Result<(), LedgerDown> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn an_undecodable_payload_is_dead_lettered_at_once() {
    let bus = InProcessBus::new();
    let strict = Arc::new(Strict {
        ctx: context::<Strict>(&bus, "strict-1"),
        runs: AtomicU32::new(0),
    });
    bus.subscribe(Arc::clone(&strict));

    run_a_then_settle(&bus).await;

    assert_eq!(strict.runs.load(Ordering::SeqCst), 0, "the body never ran");
    let dead = bus.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].handler.as_deref(), Some("strict.on_order"));
    assert_eq!(dead[0].error_type, "undecodable_payload");
    assert_eq!(dead[0].attempts, 1, "not retried");
    assert!(dead[0].message.contains("order_id"), "{}", dead[0].message);
    assert_eq!(bus.stats().retried, 0);
}

#[tokio::test]
async fn a_record_that_is_not_an_envelope_is_dead_lettered_at_once() {
    let bus = InProcessBus::new();
    let flaky = flaky(&bus, 0, false);
    bus.subscribe(Arc::clone(&flaky));

    bus.publish_record(RecordParts {
        topic: Arc::from("onex.a.a.x.v1"),
        value: b"not json".to_vec(),
        ..RecordParts::default()
    });
    run_a_then_settle(&bus).await;

    let dead = bus.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].handler, None);
    assert_eq!(dead[0].error_type, "malformed_event");
    assert_eq!(dead[0].attempts, 0);
    assert_eq!(dead[0].record.value, b"not json");
    assert!(dead[0].event.is_none());
    assert!(
        dead[0].message.starts_with("not an OnexEnvelopeV1"),
        "{}",
        dead[0].message
    );
    assert_eq!(flaky.runs.load(Ordering::SeqCst), 1, "the rest flows");
    let stats = bus.stats();
    assert_eq!(
        (
            stats.malformed,
            stats.failed,
            stats.dead_lettered,
            stats.handled
        ),
        (1, 0, 1, 1)
    );
    assert!(bus
        .recorder()
        .event_types()
        .iter()
        .all(|t| t.starts_with("a.x.")));
}

/// One handler for `a.x.completed`, a catch-all for everything else.
#[derive(OnexNode)]
struct Audit {
    ctx: NodeContext,
    named: Mutex<Vec<String>>,
    caught: Mutex<Vec<String>>,
}

#[onex_node("audit")]
impl Audit {
    #[onex_handler(any, lifecycle = false)]
    async fn any_event(&self, event: Incoming<Value>) {
        self.caught
            .lock()
            .unwrap()
            .push(event.event_type().to_owned());
    }

    #[onex_handler("a.x.completed", lifecycle = false)]
    async fn on_x_completed(&self, event: Incoming<Value>) {
        self.named
            .lock()
            .unwrap()
            .push(event.event_type().to_owned());
    }
}

#[tokio::test]
async fn a_catch_all_takes_every_event_no_other_handler_of_its_node_takes() {
    let bus = InProcessBus::new();
    let audit = Arc::new(Audit {
        ctx: context::<Audit>(&bus, "audit-1"),
        named: Mutex::default(),
        caught: Mutex::default(),
    });
    bus.subscribe(Arc::clone(&audit)).subscribe(b(&bus));

    run_a_then_settle(&bus).await;

    assert_eq!(*audit.named.lock().unwrap(), ["a.x.completed"]);
    assert_eq!(
        *audit.caught.lock().unwrap(),
        [
            "a.x.started",
            "b.on_x_completed.started",
            "b.state.changed",
            "b.on_x_completed.completed",
        ]
    );
    let stats = bus.stats();
    assert_eq!((stats.handled, stats.skipped), (6, 0));
}

/// Runs longer than its time limit.
#[derive(OnexNode)]
struct Slow {
    ctx: NodeContext,
}

#[onex_node("slow")]
impl Slow {
    #[onex_handler("a.x.completed", attempts = 1, timeout_ms = 10)]
    async fn on_x(&self, _event: Incoming<Value>) {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

#[tokio::test]
async fn a_handler_past_its_time_limit_is_dead_lettered() {
    let bus = InProcessBus::new();
    bus.subscribe(Arc::new(Slow {
        ctx: context::<Slow>(&bus, "slow-1"),
    }));

    run_a_then_settle(&bus).await;

    let dead = bus.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].error_type, "timeout");
    assert_eq!(dead[0].attempts, 1);
}

#[tokio::test]
async fn every_node_that_handles_an_event_type_gets_the_event() {
    let bus = InProcessBus::new();
    let (first, second) = (b(&bus), b(&bus));
    bus.subscribe(Arc::clone(&first))
        .subscribe(Arc::clone(&second));

    run_a_then_settle(&bus).await;

    assert_eq!(first.seen.lock().unwrap().len(), 1);
    assert_eq!(second.seen.lock().unwrap().len(), 1);
    assert_eq!(bus.stats().handled, 2);
}

#[tokio::test]
async fn settling_can_run_on_another_task() {
    let bus = InProcessBus::new();
    let b = b(&bus);
    bus.subscribe(Arc::clone(&b));
    run_a(&bus).await;

    let settling = bus.clone();
    tokio::spawn(async move { settling.settle().await })
        .await
        .unwrap();

    assert_eq!(b.seen.lock().unwrap().len(), 1);
}
