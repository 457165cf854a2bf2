//! An in-memory sink for tests (the seed's MockEventBus): records every
//! event in order so tests can assert exact sequences.

use super::Sink;
use crate::envelope::Event;
use std::sync::{Arc, Mutex, PoisonError};

/// Records events in memory. Clones share the same record.
///
/// ```
/// use onex_events::{Publisher, Recorder};
///
/// let recorder = Recorder::new();
/// let publisher = Publisher::new(recorder.clone());
/// # let _ = publisher;
/// assert!(recorder.events().is_empty());
/// ```
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    events: Arc<Mutex<Vec<Event>>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Recorder::default()
    }

    /// A copy of every event recorded so far, in publishing order.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Removes and returns every event recorded so far.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The event types recorded so far, in order.
    pub fn event_types(&self) -> Vec<&'static str> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|e| e.event_type.as_str())
            .collect()
    }

    /// Every envelope recorded so far, as JSON.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(Event::to_json)
            .collect()
    }

    /// Forgets everything recorded.
    pub fn clear(&self) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Sink for Recorder {
    fn publish(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event);
    }

    fn name(&self) -> &'static str {
        "recorder"
    }
}
