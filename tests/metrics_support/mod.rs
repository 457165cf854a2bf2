//! Helpers of the metrics and spans tests: a recorder installed for the
//! whole test binary that keeps every value (metrics-util's registry), read
//! back by name and labels; and a `tracing` layer that logs the spans
//! made and entered ([`spans`]); two nodes wired by a bus ([`wired`]). Reading takes nothing away (unlike
//! `DebuggingRecorder`'s snapshots, which reset what they read), so tests
//! of one binary can read side by side: each reads the series of its own
//! node types, or the change of a shared series over what it did.
#![allow(dead_code)]

pub mod spans;
pub mod wired;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::registry::{AtomicStorage, Registry};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// Every metric recorded in this process.
pub struct Readings {
    registry: Arc<Registry<Key, AtomicStorage>>,
}

struct KeepAll(Arc<Registry<Key, AtomicStorage>>);

impl Recorder for KeepAll {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.0
            .get_or_create_counter(key, |c| Counter::from_arc(Arc::clone(c)))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.0
            .get_or_create_gauge(key, |g| Gauge::from_arc(Arc::clone(g)))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.0
            .get_or_create_histogram(key, |h| Histogram::from_arc(Arc::clone(h)))
    }
}

/// The readings, the recorder installed on first use.
pub fn readings() -> &'static Readings {
    static READINGS: OnceLock<Readings> = OnceLock::new();
    READINGS.get_or_init(|| {
        let registry = Arc::new(Registry::atomic());
        metrics::set_global_recorder(KeepAll(Arc::clone(&registry)))
            .expect("the only recorder of this test binary");
        Readings { registry }
    })
}

/// Whether `key` is `name` with every label of `labels` (and maybe more).
fn matches(key: &Key, name: &str, labels: &[(&str, &str)]) -> bool {
    key.name() == name
        && labels
            .iter()
            .all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
}

impl Readings {
    /// Counter `name` summed over its series having `labels`.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.registry
            .get_counter_handles()
            .iter()
            .filter(|(key, _)| matches(key, name, labels))
            .map(|(_, c)| c.load(Ordering::SeqCst))
            .sum()
    }

    /// Gauge `name` summed over its series having `labels`; `None` if it
    /// has none.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let values: Vec<f64> = self
            .registry
            .get_gauge_handles()
            .iter()
            .filter(|(key, _)| matches(key, name, labels))
            .map(|(_, g)| f64::from_bits(g.load(Ordering::SeqCst)))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    /// Every value histogram `name` holds in its series having `labels`.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.registry
            .get_histogram_handles()
            .iter()
            .filter(|(key, _)| matches(key, name, labels))
            .flat_map(|(_, h)| h.data())
            .collect()
    }

    /// How many series of any kind were recorded.
    pub fn series(&self) -> usize {
        self.registry.get_counter_handles().len()
            + self.registry.get_gauge_handles().len()
            + self.registry.get_histogram_handles().len()
    }
}
