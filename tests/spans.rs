//! The `tracing` spans of operations and handler runs, on by default
//! (`ENABLE_EVENT_TRACING` unset): each with its node type and name,
//! entered while its body runs.

mod metrics_support;

use metrics_support::spans::SpanLog;
use metrics_support::wired;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn operations_and_handler_runs_enter_their_spans() {
    let spans = SpanLog::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let (result, bus) = wired::run().await;
    assert_eq!(result, 42);
    assert_eq!(bus.event_types(), wired::EVENT_TYPES);

    let made = spans.made();
    assert!(
        made.contains(
            &"onex_events::operation operation node_type=caller operation=call".to_owned()
        ),
        "{made:#?}"
    );
    assert!(
        made.contains(
            &"onex_events::operation operation node_type=listener operation=heard".to_owned()
        ),
        "the handler's lifecycle is an operation: {made:#?}"
    );
    let handler = made
        .iter()
        .find(|s| s.starts_with("onex_events::handler handler "))
        .unwrap_or_else(|| panic!("no handler span: {made:#?}"));
    assert!(
        handler.contains(
            "node_type=listener handler=heard event_type=caller.call.completed event_id="
        ),
        "{handler}"
    );
    assert!(spans.entered("operation") >= 2, "{made:#?}");
    assert!(spans.entered("handler") >= 1, "{made:#?}");
}
