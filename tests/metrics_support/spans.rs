//! A `tracing` layer that logs every span made, with its fields, and
//! counts the times each is entered.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The spans a subscriber saw.
#[derive(Clone, Default)]
pub struct SpanLog(Arc<Mutex<Log>>);

#[derive(Default)]
struct Log {
    made: Vec<String>,
    entered: Vec<&'static str>,
}

/// A span as text: `target name field=value ...`.
struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!(" {}={value}", field.name()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl SpanLog {
    /// Every span made, as `target name field=value ...`.
    pub fn made(&self) -> Vec<String> {
        self.0.lock().unwrap().made.clone()
    }

    /// How many times a span named `name` was entered.
    pub fn entered(&self, name: &str) -> usize {
        let log = self.0.lock().unwrap();
        log.entered.iter().filter(|n| **n == name).count()
    }

    /// How many times any span was entered.
    pub fn entered_any(&self) -> usize {
        self.0.lock().unwrap().entered.len()
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanLog {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let meta = attrs.metadata();
        let mut fields = Fields(format!("{} {}", meta.target(), meta.name()));
        attrs.record(&mut fields);
        self.0.lock().unwrap().made.push(fields.0);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            self.0.lock().unwrap().entered.push(span.metadata().name());
        }
    }
}
