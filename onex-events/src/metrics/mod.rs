//! Counters, gauges and a histogram of what onex-events does — events
//! published, delivered, failed and buffered; outbox commits and deliveries;
//! events handled, retried and dead-lettered, handler durations, consumer
//! lag — recorded through the [`metrics`](https://docs.rs/metrics) facade
//! when onex-events is built with the feature `metrics`. The program
//! installs the recorder (a Prometheus exporter, say); without one the
//! facade drops every value.
//!
//! [`ENABLE_EVENT_METRICS`] switches recording off at run time. The names
//! and labels are in [`names`]. Without the feature nothing is recorded and
//! the calls compile to nothing.

pub mod names;
pub(crate) mod record;

/// `false`/`0`/`no`/`off` turns recording off; `true`/`1`/`yes`/`on`, or
/// unset, leaves it on (ASCII case and surrounding blanks ignored; any
/// other value is logged at `WARN` and leaves it on). Read once, the first
/// time a metric would be recorded. On by default because building with
/// the feature `metrics` already asks for metrics, and they cost next to
/// nothing until the program installs a recorder; the variable turns them
/// off without a rebuild. Without the feature it is not read.
pub const ENABLE_EVENT_METRICS: &str = "ENABLE_EVENT_METRICS";
