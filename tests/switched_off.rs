//! `ENABLE_EVENT_TRACING=false` and `ENABLE_EVENT_METRICS=false`: no span
//! is made or entered, no metric recorded, and the same events and results
//! as with both on. The switches are read once per process: this binary
//! holds this one test.
#![cfg(feature = "metrics")]

mod metrics_support;

use metrics_support::spans::SpanLog;
use metrics_support::{readings, wired};
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn switched_off_there_are_no_spans_no_metrics_and_the_same_events() {
    // Before anything reads them; no other thread runs yet.
    std::env::set_var("ENABLE_EVENT_TRACING", "false");
    std::env::set_var("ENABLE_EVENT_METRICS", " OFF ");
    let metrics = readings();
    let spans = SpanLog::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));

    let (result, bus) = wired::run().await;
    assert_eq!(result, 42);
    assert_eq!(bus.event_types(), wired::EVENT_TYPES);
    assert_eq!(spans.made(), Vec::<String>::new());
    assert_eq!(spans.entered_any(), 0);
    assert_eq!(metrics.series(), 0, "nothing recorded");
}
