//! Catalogs: the seed's orchestrator (11 events, its operations in two
//! blocks) and reducer (8 events) reproduced exactly, the include switches,
//! and the registry of every node linked into the program, one entry each.

use onex_events::{onex_node, Catalog, NodeContext, NodeDescriptor, OnexNode};
use serde_json::Value;

#[derive(OnexNode)]
#[allow(dead_code)]
struct Orchestrator {
    ctx: NodeContext,
}

#[onex_node(
    node_type = "orchestrator",
    service = "orchestrator",
    namespace = "omninode"
)]
impl Orchestrator {
    #[onex_operation("orchestration")]
    async fn orchestrate(&self) {}
}

/// Base behaviour shared by orchestrators, implemented as a trait.
#[allow(dead_code)]
trait Routing {
    async fn route(&self);
    async fn query(&self);
}

#[onex_node(extend)]
impl Routing for Orchestrator {
    #[onex_operation("routing")]
    async fn route(&self) {}

    #[onex_operation("intelligence_query")]
    async fn query(&self) {}
}

#[derive(OnexNode)]
#[allow(dead_code)]
struct Reducer {
    ctx: NodeContext,
}

#[onex_node("reducer")]
impl Reducer {
    #[onex_operation("aggregation")]
    async fn aggregate(&self) {}

    #[onex_operation("state_snapshot")]
    async fn snapshot(&self) {}
}

#[derive(OnexNode)]
#[allow(dead_code)]
struct Quiet {
    ctx: NodeContext,
}

#[onex_node("effect", include_state_events = false, include_metric_events = false)]
impl Quiet {
    #[onex_operation("write")]
    async fn write(&self) {}
}

fn contract(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn catalog_of_a_node_in_two_blocks_reproduces_the_seed_exactly() {
    assert_eq!(
        Orchestrator::EVENT_CATALOG.to_json(),
        contract(onex_events_suite::ORCHESTRATOR_CATALOG)
    );
    assert_eq!(
        serde_json::to_value(Orchestrator::EVENT_CATALOG).unwrap(),
        contract(onex_events_suite::ORCHESTRATOR_CATALOG)
    );
    assert_eq!(Orchestrator::EVENT_CATALOG.len(), 11);
    assert_eq!(Orchestrator::EVENT_CATALOG.namespace, "omninode");
    // The declaring block's operations first, then the `extend` blocks'.
    assert_eq!(
        Orchestrator::EVENT_CATALOG.operations,
        ["orchestration", "routing", "intelligence_query"]
    );
    assert!(std::ptr::eq(
        Orchestrator::EVENT_CATALOG.get(),
        <Orchestrator as NodeDescriptor>::catalog()
    ));
}

#[test]
fn reducer_catalog_reproduces_the_seed_exactly() {
    assert_eq!(
        Reducer::EVENT_CATALOG.to_json(),
        contract(onex_events_suite::REDUCER_CATALOG)
    );
    assert_eq!(Reducer::EVENT_CATALOG.len(), 8);
    assert_eq!(Reducer::EVENT_CATALOG.service, "reducer");
    assert_eq!(Reducer::EVENT_CATALOG.namespace, "onex");
}

#[test]
fn include_switches_drop_state_and_metric_events() {
    let c: &Catalog = <Quiet as NodeDescriptor>::catalog();
    assert_eq!(
        c.event_types().collect::<Vec<_>>(),
        [
            "effect.write.started",
            "effect.write.completed",
            "effect.write.failed"
        ]
    );
    assert!(c.state_events.is_empty() && c.metric_events.is_empty());
}

#[test]
fn registry_holds_one_entry_per_node_linked_into_the_program() {
    let registered: Vec<&str> = onex_events::catalogs()
        .iter()
        .map(|c| c.rust_type)
        .collect();
    assert_eq!(
        registered,
        [
            "catalog::Quiet",
            "catalog::Orchestrator",
            "catalog::Reducer"
        ]
    );
    let all = onex_events::all_event_types();
    assert_eq!(all.len(), 11 + 8 + 3);
    assert!(all.contains(&"reducer.state_snapshot.failed"));
    assert!(all.windows(2).all(|w| w[0] < w[1]));
}
