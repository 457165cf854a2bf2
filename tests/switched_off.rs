//! `ENABLE_EVENT_TRACING=false` and `ENABLE_EVENT_METRICS=false`: no span
//! is made or entered, no metric recorded, and the same events and results
//! as with both on. The switches are read once per process: this binary
//! holds this one test.
#![cfg(feature = "metrics")]

mod metrics_support;

use metrics_support::{readings, wired};

#[tokio::test]
async fn switched_off_there_are_no_spans_no_metrics_and_the_same_events() {
    // Before anything reads them; no other thread runs yet.
    std::env::set_var("ENABLE_EVENT_TRACING", "false");
    std::env::set_var("ENABLE_EVENT_METRICS", " OFF ");
    let metrics = readings();
    let spans = wired::run_logging_spans().await;
    assert_eq!(spans.made(), Vec::<String>::new());
    assert_eq!(spans.entered_any(), 0);
    assert_eq!(metrics.series(), 0, "nothing recorded");
}
