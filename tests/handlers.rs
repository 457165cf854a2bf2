//! Handlers are node methods: a handled event is an operation of the node
//! (unless turned off), runs in the incoming event's correlation, and tells
//! the consumer through `EventHandlers::handle` how it ended. The events fed
//! to the handlers are ones a `Recorder` captured, received as a consumer
//! would receive them.

mod common;

use common::received;
use onex_events::consume::{
    settle, EventHandlers, Handled, HandlerSet, Incoming, RetryPolicy, Settled,
};
use onex_events::{onex_node, Event, NodeContext, NodeDescriptor, OnexNode, Publisher, Recorder};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The upstream node whose events the effect node handles.
#[derive(OnexNode)]
struct Orchestrator {
    ctx: NodeContext,
}

#[onex_node("orchestrator")]
impl Orchestrator {
    #[onex_operation("orchestration", fields(job))]
    async fn orchestrate(&self, job: u32) -> Result<u32, std::io::Error> {
        match job {
            0 => Err(std::io::Error::other("no job")),
            _ => Ok(job),
        }
    }
}

#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct Completed {
    operation: String,
    execution_time_ms: f64,
}

#[derive(Debug, serde::Deserialize)]
struct StateChanged {
    new_state: String,
}

#[derive(Debug, thiserror::Error)]
#[error("intent rejected")]
struct Rejected(#[source] std::io::Error);

#[derive(OnexNode)]
struct Effect {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Effect {
    #[onex_handler(
        "orchestrator.orchestration.completed",
        "orchestrator.orchestration.failed",
        name = "execute_intent",
        attempts = 5,
        backoff_ms = 10,
        max_backoff_ms = 50,
        timeout_ms = 2000
    )]
    async fn execute(&self, event: Incoming<Value>) -> Result<(), Rejected> {
        self.ctx
            .state_changed("idle", "executing", "intent received");
        self.write().await;
        if event.event_type().ends_with(".failed") {
            return Err(Rejected(std::io::Error::other("upstream failed")));
        }
        Ok(())
    }

    #[onex_operation("write")]
    async fn write(&self) {}

    #[onex_handler("orchestrator.orchestration.started", lifecycle = false)]
    async fn track(&self, event: Incoming<StateChanged>) -> usize {
        self.write().await;
        self.ctx.metric_recorded("tracked", 1.0, "count");
        event.payload.new_state.len()
    }

    #[onex_handler("orchestrator.state.changed", payload)]
    async fn audit(&self, event: Incoming<Completed>) -> u32 {
        event.payload.operation.len() as u32
    }

    #[onex_handler(any)]
    async fn everything_else(&self, _event: Incoming<Value>) {}
}

/// A node that handles nothing: it implements `EventHandlers` all the same.
#[derive(OnexNode)]
struct Silent {
    ctx: NodeContext,
}

#[onex_node("silent")]
impl Silent {}

/// A node whose handler panics.
#[derive(OnexNode)]
struct Fragile {
    ctx: NodeContext,
}

#[onex_node("fragile")]
impl Fragile {
    #[onex_handler("orchestrator.orchestration.completed", attempts = 1)]
    async fn explode(&self, _event: Incoming<Value>) {
        panic!("handler exploded");
    }
}

struct Wired {
    upstream: Orchestrator,
    upstream_events: Recorder,
    effect: Arc<Effect>,
    effect_events: Recorder,
}

fn wired() -> Wired {
    let upstream_events = Recorder::new();
    let effect_events = Recorder::new();
    Wired {
        upstream: Orchestrator {
            ctx: NodeContext::new::<Orchestrator>(Publisher::new(upstream_events.clone())),
        },
        upstream_events,
        effect: Arc::new(Effect {
            ctx: NodeContext::new::<Effect>(Publisher::new(effect_events.clone())),
        }),
        effect_events,
    }
}

impl Wired {
    /// Runs the upstream orchestration and returns its events.
    async fn upstream(&self, job: u32) -> Vec<Event> {
        let _ = self.upstream.orchestrate(job).await;
        self.upstream_events.take()
    }
}

fn handler_index(name: &str) -> usize {
    Effect::HANDLERS
        .iter()
        .position(|h| h.name == name)
        .expect("a handler of that name")
}

fn uuid(v: &Value) -> Uuid {
    v.as_str().expect("a uuid string").parse().expect("a uuid")
}

#[tokio::test]
async fn handled_event_publishes_started_then_completed_and_acknowledges() {
    let w = wired();
    let completed = w.upstream(7).await.pop().unwrap();
    assert_eq!(
        completed.event_type.as_str(),
        "orchestrator.orchestration.completed"
    );

    let handled = Arc::clone(&w.effect)
        .handle(handler_index("execute_intent"), received(&completed))
        .await;
    assert!(matches!(handled, Handled::Acknowledged), "{handled:?}");
    assert_eq!(
        w.effect_events.event_types(),
        [
            "effect.execute_intent.started",
            "effect.state.changed",
            "effect.write.started",
            "effect.write.completed",
            "effect.execute_intent.completed",
        ]
    );
    for event in w.effect_events.json() {
        common::assert_contract_valid(&event);
    }
}

#[tokio::test]
async fn handler_runs_in_the_incoming_correlation_caused_by_the_incoming_event() {
    let w = wired();
    let completed = w.upstream(7).await.pop().unwrap();
    let incoming_correlation = completed.correlation_id.unwrap();

    Arc::clone(&w.effect)
        .handle(handler_index("execute_intent"), received(&completed))
        .await;
    let json = w.effect_events.json();
    for event in &json {
        assert_eq!(
            uuid(&event["correlation_id"]),
            incoming_correlation,
            "{event}"
        );
    }
    let started = &json[0];
    assert_eq!(
        uuid(&started["metadata"]["causation_id"]),
        completed.event_id
    );
    // What the handler publishes is caused by its `started` event, as
    // inside any operation.
    let started_id = uuid(&started["event_id"]);
    assert_eq!(uuid(&json[1]["metadata"]["causation_id"]), started_id);
    assert_eq!(uuid(&json[2]["metadata"]["causation_id"]), started_id);
}

#[tokio::test]
async fn failed_event_carries_error_chain_and_handle_reports_failure() {
    let w = wired();
    let failed = w.upstream(0).await.pop().unwrap();
    assert_eq!(
        failed.event_type.as_str(),
        "orchestrator.orchestration.failed"
    );

    let handled = Arc::clone(&w.effect)
        .handle(handler_index("execute_intent"), received(&failed))
        .await;
    let Handled::Failed(error) = handled else {
        panic!("expected a failure, got {handled:?}");
    };
    assert_eq!(error.message, "intent rejected");
    assert_eq!(error.chain, ["upstream failed"]);

    let types = w.effect_events.event_types();
    assert_eq!(types.first(), Some(&"effect.execute_intent.started"));
    assert_eq!(types.last(), Some(&"effect.execute_intent.failed"));
    let json = w.effect_events.json();
    let failed_event = json.last().unwrap();
    assert_eq!(
        failed_event["payload"]["error"]["message"],
        "intent rejected"
    );
    assert_eq!(
        failed_event["payload"]["error"]["chain"][0],
        "upstream failed"
    );
    common::assert_contract_valid(failed_event);
}

#[tokio::test]
async fn calling_the_method_directly_behaves_as_handle_does() {
    let w = wired();
    let completed = w.upstream(7).await.pop().unwrap();
    let event = Incoming::new(
        received(&completed),
        serde_json::json!({"operation": "orchestration"}),
    );
    w.effect.execute(event).await.unwrap();
    let json = w.effect_events.json();
    assert_eq!(json[0]["event_type"], "effect.execute_intent.started");
    assert_eq!(
        uuid(&json[0]["correlation_id"]),
        completed.correlation_id.unwrap()
    );
    assert_eq!(
        uuid(&json[0]["metadata"]["causation_id"]),
        completed.event_id
    );
    assert_eq!(
        json.last().unwrap()["event_type"],
        "effect.execute_intent.completed"
    );
}

#[tokio::test]
async fn started_names_the_incoming_event_without_its_payload_unless_opted_in() {
    let w = wired();
    let completed = w.upstream(7).await.pop().unwrap();
    Arc::clone(&w.effect)
        .handle(handler_index("execute_intent"), received(&completed))
        .await;
    let started = &w.effect_events.json()[0];
    let input = &started["payload"]["input"]["event"];
    assert_eq!(input["type"], "Incoming<Value>");
    assert_eq!(
        input["value"],
        serde_json::json!({
            "event_type": "orchestrator.orchestration.completed",
            "event_id": completed.event_id.to_string(),
        })
    );
}

#[tokio::test]
async fn payload_option_records_the_decoded_payload_in_started() {
    let w = wired();
    // A state.changed shaped as `Completed` for the audit handler's sake.
    let state = w.upstream.ctx.state_changed("idle", "running", "test");
    assert!(state.is_some());
    let mut event = w.upstream_events.take().pop().unwrap();
    event.payload = onex_events::Payload::Completed {
        operation: "orchestration",
        execution_time_ms: 1.5,
        result: onex_events::ResultSummary {
            ty: "u32",
            value: None,
        },
    };

    let handled = Arc::clone(&w.effect)
        .handle(handler_index("audit"), received(&event))
        .await;
    assert!(matches!(handled, Handled::Acknowledged), "{handled:?}");
    let started = &w.effect_events.json()[0];
    assert_eq!(started["event_type"], "effect.audit.started");
    let value = &started["payload"]["input"]["event"]["value"];
    assert_eq!(value["event_type"], "orchestrator.state.changed");
    assert_eq!(value["payload"]["operation"], "orchestration");
    assert_eq!(value["payload"]["execution_time_ms"], 1.5);
}

#[tokio::test]
async fn without_lifecycle_nothing_of_its_own_is_published_but_correlation_is_carried() {
    let w = wired();
    let started = w.upstream(7).await.remove(0);
    assert_eq!(
        started.event_type.as_str(),
        "orchestrator.orchestration.started"
    );
    let incoming = received(&started);

    // `track` decodes `new_state`, which a started event lacks...
    let handled = Arc::clone(&w.effect)
        .handle(handler_index("track"), Arc::clone(&incoming))
        .await;
    let Handled::Undecodable(error) = handled else {
        panic!("expected an undecodable payload, got {handled:?}");
    };
    assert_eq!(error.event_type, "orchestrator.orchestration.started");
    assert!(w.effect_events.event_types().is_empty());

    // ...so call it directly with a payload it takes.
    let event = Incoming::new(
        incoming,
        StateChanged {
            new_state: "running".into(),
        },
    );
    assert_eq!(w.effect.track(event).await, 7);
    assert_eq!(
        w.effect_events.event_types(),
        [
            "effect.write.started",
            "effect.write.completed",
            "effect.metric.recorded"
        ]
    );
    let json = w.effect_events.json();
    for event in &json {
        assert_eq!(
            uuid(&event["correlation_id"]),
            started.correlation_id.unwrap(),
            "{event}"
        );
    }
    // With no `started` of its own, the handler's events are caused by the
    // incoming event.
    assert_eq!(uuid(&json[0]["metadata"]["causation_id"]), started.event_id);
    assert_eq!(uuid(&json[2]["metadata"]["causation_id"]), started.event_id);
}

#[tokio::test]
async fn any_return_value_that_is_not_an_err_acknowledges() {
    let w = wired();
    let started = w.upstream(7).await.remove(0);
    let handled = Arc::clone(&w.effect)
        .handle(handler_index("everything_else"), received(&started))
        .await;
    assert!(matches!(handled, Handled::Acknowledged), "{handled:?}");
    assert_eq!(
        w.effect_events.event_types(),
        [
            "effect.everything_else.started",
            "effect.everything_else.completed"
        ]
    );
}

#[tokio::test]
async fn an_index_with_no_handler_is_a_failure_not_a_panic() {
    let w = wired();
    let started = w.upstream(7).await.remove(0);
    let handled = Arc::clone(&w.effect).handle(99, received(&started)).await;
    assert!(
        matches!(&handled, Handled::Failed(e) if e.error_type == "no_handler"),
        "{handled:?}"
    );
    let silent = Arc::new(Silent {
        ctx: NodeContext::new::<Silent>(Publisher::new(Recorder::new())),
    });
    assert!(Silent::HANDLERS.is_empty());
    assert!(matches!(
        silent.handle(0, received(&started)).await,
        Handled::Failed(_)
    ));
}

#[tokio::test]
async fn a_served_node_routes_by_event_type_and_retries_as_its_handler_says() {
    let w = wired();
    let mut set = HandlerSet::new();
    set.add(Arc::clone(&w.effect));
    let route = |event_type: &str| {
        let routes: Vec<&str> = set.routes(event_type).map(|r| r.spec().name).collect();
        routes
    };
    assert_eq!(
        route("orchestrator.orchestration.failed"),
        ["execute_intent"]
    );
    assert_eq!(route("orchestrator.state.changed"), ["audit"]);
    assert_eq!(route("reducer.aggregation.completed"), ["everything_else"]);
    assert!(set.has_catch_all());

    let failed = received(&w.upstream(0).await.pop().unwrap());
    let route = set.routes(failed.event_type()).next().unwrap();
    let mut retries = Vec::new();
    let settled = settle(route, &failed, |attempt, _| retries.push(attempt)).await;
    let Settled::Failed { attempts, .. } = settled else {
        panic!("expected a failure, got {settled:?}");
    };
    assert_eq!(attempts, 5);
    assert_eq!(retries, [2, 3, 4, 5]);
    // Each run is an operation of its own.
    let started = w
        .effect_events
        .event_types()
        .into_iter()
        .filter(|t| *t == "effect.execute_intent.started")
        .count();
    assert_eq!(started, 5);
}

#[tokio::test]
async fn a_panicking_handler_publishes_failed_and_settles_as_a_failure() {
    let w = wired();
    let completed = received(&w.upstream(7).await.pop().unwrap());
    let events = Recorder::new();
    let mut set = HandlerSet::new();
    set.add(Arc::new(Fragile {
        ctx: NodeContext::new::<Fragile>(Publisher::new(events.clone())),
    }));
    let route = set.routes(completed.event_type()).next().unwrap();
    let settled = settle(route, &completed, |_, _| {}).await;
    let Settled::Failed {
        attempts: 1,
        failure,
    } = settled
    else {
        panic!("expected one failed run, got {settled:?}");
    };
    assert_eq!(failure.error_type(), "panic");
    assert_eq!(failure.message(), "handler exploded");
    assert_eq!(
        events.event_types(),
        ["fragile.explode.started", "fragile.explode.failed"]
    );
    assert_eq!(events.json()[1]["payload"]["error"]["kind"], "panic");
}

#[test]
fn handlers_hold_their_options_in_declaration_order() {
    let names: Vec<&str> = Effect::HANDLERS.iter().map(|h| h.name).collect();
    assert_eq!(
        names,
        ["execute_intent", "track", "audit", "everything_else"]
    );

    let execute = &Effect::HANDLERS[0];
    assert_eq!(
        execute.event_types,
        [
            "orchestrator.orchestration.completed",
            "orchestrator.orchestration.failed"
        ]
    );
    assert!(execute.lifecycle);
    assert_eq!(
        execute.retry,
        RetryPolicy::new(5, Duration::from_millis(10), Duration::from_millis(50))
    );
    assert_eq!(execute.timeout, Some(Duration::from_secs(2)));

    let track = &Effect::HANDLERS[1];
    assert!(!track.lifecycle);
    assert_eq!(track.retry, RetryPolicy::DEFAULT);
    assert_eq!(track.timeout, None);

    let any = &Effect::HANDLERS[3];
    assert!(any.is_catch_all());
}

#[test]
fn catalog_lists_consumed_events_and_handler_lifecycle() {
    let catalog = <Effect as NodeDescriptor>::catalog();
    assert_eq!(
        catalog.consumed_events,
        [
            "orchestrator.orchestration.completed",
            "orchestrator.orchestration.failed",
            "orchestrator.orchestration.started",
            "orchestrator.state.changed",
        ]
    );
    assert!(catalog.consumes_any);
    assert!(catalog.consumes("orchestrator.state.changed"));
    // Handlers with lifecycle events are operations, in source order; `track`
    // (`lifecycle = false`) is not.
    assert_eq!(
        catalog.operations,
        ["execute_intent", "write", "audit", "everything_else"]
    );
    assert!(catalog.contains("effect.execute_intent.failed"));
    assert!(!catalog.contains("effect.track.started"));
    assert_eq!(catalog.len(), 4 * 3 + 2);

    let json = catalog.to_json();
    assert_eq!(
        json["consumed_events"][0],
        "orchestrator.orchestration.completed"
    );
    assert_eq!(json["consumes_any"], true);
    assert_eq!(serde_json::to_value(catalog).unwrap(), json);
}

#[test]
fn a_node_that_only_publishes_keeps_the_seed_shaped_catalog() {
    let json = Orchestrator::EVENT_CATALOG.to_json();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["metric_events", "operation_lifecycle", "state_events"]
    );
    assert!(Orchestrator::EVENT_CATALOG.consumed_events.is_empty());
    assert!(!Orchestrator::EVENT_CATALOG.consumes_any);
}

#[test]
fn the_registry_knows_every_consumed_event_type() {
    assert_eq!(
        onex_events::all_consumed_event_types(),
        [
            "orchestrator.orchestration.completed",
            "orchestrator.orchestration.failed",
            "orchestrator.orchestration.started",
            "orchestrator.state.changed",
        ]
    );
    assert!(onex_events::all_event_types().contains(&"effect.execute_intent.started"));
}

/// With the feature `opentelemetry`, the incoming record's `traceparent` is
/// the parent of what the handler publishes.
#[cfg(feature = "opentelemetry")]
#[tokio::test]
async fn incoming_traceparent_is_the_parent_of_the_handlers_events() {
    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let w = wired();
    let completed = w.upstream(7).await.pop().unwrap();
    let mut parts = received(&completed).record().to_parts();
    parts
        .headers
        .push("traceparent", Some(TRACEPARENT.as_bytes()));
    let incoming = Arc::new(onex_events::consume::ReceivedEvent::decode(parts).unwrap());

    Arc::clone(&w.effect)
        .handle(handler_index("execute_intent"), incoming)
        .await;
    let events = w.effect_events.events();
    assert!(!events.is_empty());
    for event in &events {
        assert_eq!(
            event.trace_parent.map(|tp| tp.to_string()).as_deref(),
            Some(TRACEPARENT),
            "{}",
            event.event_type
        );
    }
}
