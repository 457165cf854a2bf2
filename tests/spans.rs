//! The `tracing` spans of operations and handler runs, on by default
//! (`ENABLE_EVENT_TRACING` unset): each with its node type and name,
//! entered while its body runs.

mod metrics_support;

use metrics_support::wired;

#[tokio::test]
async fn operations_and_handler_runs_enter_their_spans() {
    let spans = wired::run_logging_spans().await;
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
