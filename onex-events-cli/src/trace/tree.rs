//! The causation tree of one request, built from its envelopes: each
//! operation's `started` and `completed`/`failed` joined into one
//! [`Span`] (its end event's `causation_id` is its `started`'s
//! `event_id`), every other event a span of its own, each span under the
//! span holding the event its first event names as `metadata.causation_id`.

use chrono::DateTime;
use serde_json::{json, Value};
use std::collections::HashMap;

/// One line of the tree: an operation or a single event.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// `{node_type}.{operation}` for an operation, the event type otherwise.
    pub name: String,
    /// The publishing node (`source_node_id`).
    pub node: String,
    pub outcome: Outcome,
    /// When it started (its first event), in microseconds since the epoch.
    pub start_us: i64,
    /// An operation's execution time (its end event's
    /// `execution_time_ms`); `None` for an event or a running operation.
    pub duration_ms: Option<f64>,
    /// The ids of its events, first first.
    pub event_ids: Vec<String>,
    /// Why one of its events was dead-lettered, if one was.
    pub dead_letter: Option<String>,
    pub children: Vec<Span>,
}

/// What became of a span.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// An operation that completed.
    Completed,
    /// An operation that failed, with its error's message.
    Failed(String),
    /// An operation with no end event (yet).
    Running,
    /// A single event.
    Event,
}

impl Outcome {
    /// `completed`, `failed`, `running` or `event`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Failed(_) => "failed",
            Outcome::Running => "running",
            Outcome::Event => "event",
        }
    }
}

impl Span {
    /// When it ended, in microseconds since the epoch: its start plus its
    /// duration.
    pub fn end_us(&self) -> i64 {
        self.start_us
            + self
                .duration_ms
                .map_or(0, |ms| (ms * 1000.0).round() as i64)
    }

    /// The span and its descendants, depth first, each with its depth.
    pub fn walk(&self, depth: usize, visit: &mut impl FnMut(&Span, usize)) {
        visit(self, depth);
        for child in &self.children {
            child.walk(depth + 1, visit);
        }
    }

    /// The span as JSON, its children included; `offset_ms` from `t0_us`.
    pub fn to_json(&self, t0_us: i64) -> Value {
        let error = match &self.outcome {
            Outcome::Failed(message) => Value::String(message.clone()),
            _ => Value::Null,
        };
        json!({
            "name": self.name,
            "node": self.node,
            "outcome": self.outcome.as_str(),
            "error": error,
            "started_at": DateTime::from_timestamp_micros(self.start_us)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            "offset_ms": (self.start_us - t0_us) as f64 / 1000.0,
            "duration_ms": self.duration_ms,
            "event_ids": self.event_ids,
            "dead_letter": self.dead_letter,
            "children": self.children.iter().map(|c| c.to_json(t0_us)).collect::<Vec<_>>(),
        })
    }
}

/// One envelope's fields the tree needs.
struct Envelope<'a> {
    id: &'a str,
    event_type: &'a str,
    causation: Option<&'a str>,
    node: &'a str,
    time_us: i64,
    payload: &'a Value,
}

impl<'a> Envelope<'a> {
    fn read(envelope: &'a Value) -> Option<Self> {
        let text = |v: &'a Value, k: &str| v.get(k).and_then(Value::as_str);
        let time = text(envelope, "event_timestamp")?;
        Some(Envelope {
            id: text(envelope, "event_id")?,
            event_type: text(envelope, "event_type")?,
            causation: envelope
                .get("metadata")
                .and_then(|m| text(m, "causation_id")),
            node: text(envelope, "source_node_id").unwrap_or("?"),
            time_us: DateTime::parse_from_rfc3339(time).ok()?.timestamp_micros(),
            payload: envelope.get("payload").unwrap_or(&Value::Null),
        })
    }

    /// The operation (`{node_type}.{operation}`) and stage of a lifecycle
    /// event type.
    fn lifecycle(&self) -> Option<(&'a str, &'a str)> {
        let (operation, stage) = self.event_type.rsplit_once('.')?;
        let lifecycle = matches!(stage, "started" | "completed" | "failed")
            && operation.contains('.')
            && !operation.ends_with(".request")
            && !operation.ends_with(".response");
        lifecycle.then_some((operation, stage))
    }

    fn execution_time_ms(&self) -> Option<f64> {
        self.payload.get("execution_time_ms")?.as_f64()
    }

    fn error_message(&self) -> String {
        let error = self.payload.get("error");
        error
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("failed")
            .to_owned()
    }
}

/// The spans of `envelopes` (one request's, each event once, in any
/// order) as a forest, roots and children ordered by start, with the
/// reasons of the `dead_letters` (by event id) on their spans. Envelopes
/// without an id, a type or a timestamp are left out.
pub fn build(envelopes: &[Value], dead_letters: &HashMap<String, String>) -> Vec<Span> {
    let mut events: Vec<Envelope> = envelopes.iter().filter_map(Envelope::read).collect();
    events.sort_by_key(|e| e.time_us);
    let mut spans: Vec<Span> = Vec::new();
    // Per span, the causation of its first event.
    let mut causes: Vec<Option<&str>> = Vec::new();
    let mut span_of: HashMap<&str, usize> = HashMap::new();
    let mut ends = Vec::new();
    for event in &events {
        match event.lifecycle() {
            Some((operation, "started")) => {
                span_of.insert(event.id, spans.len());
                causes.push(event.causation);
                spans.push(Span {
                    name: operation.to_owned(),
                    node: event.node.to_owned(),
                    outcome: Outcome::Running,
                    start_us: event.time_us,
                    duration_ms: None,
                    event_ids: vec![event.id.to_owned()],
                    dead_letter: None,
                    children: Vec::new(),
                });
            }
            Some((operation, _)) => ends.push((operation, event)),
            None => {
                span_of.insert(event.id, spans.len());
                causes.push(event.causation);
                spans.push(Span {
                    name: event.event_type.to_owned(),
                    node: event.node.to_owned(),
                    outcome: Outcome::Event,
                    start_us: event.time_us,
                    duration_ms: None,
                    event_ids: vec![event.id.to_owned()],
                    dead_letter: None,
                    children: Vec::new(),
                });
            }
        }
    }
    for (operation, end) in ends {
        let outcome = match end.event_type.ends_with(".failed") {
            true => Outcome::Failed(end.error_message()),
            false => Outcome::Completed,
        };
        let duration = end.execution_time_ms();
        let started = end
            .causation
            .and_then(|c| span_of.get(c).copied())
            .filter(|&i| spans[i].outcome == Outcome::Running && spans[i].name == operation);
        match started {
            Some(i) => {
                let span = &mut spans[i];
                span.outcome = outcome;
                span.duration_ms = duration.or(Some((end.time_us - span.start_us) as f64 / 1000.0));
                span.event_ids.push(end.id.to_owned());
                span_of.insert(end.id, i);
            }
            // An end without its start: the span starts its duration
            // before the end.
            None => {
                let duration_us = duration.map_or(0, |ms| (ms * 1000.0).round() as i64);
                span_of.insert(end.id, spans.len());
                causes.push(None);
                spans.push(Span {
                    name: operation.to_owned(),
                    node: end.node.to_owned(),
                    outcome,
                    start_us: end.time_us - duration_us,
                    duration_ms: duration,
                    event_ids: vec![end.id.to_owned()],
                    dead_letter: None,
                    children: Vec::new(),
                });
            }
        }
    }
    for (id, reason) in dead_letters {
        if let Some(&i) = span_of.get(id.as_str()) {
            spans[i].dead_letter = Some(reason.clone());
        }
    }
    let parents: Vec<Option<usize>> = causes
        .iter()
        .enumerate()
        .map(|(i, cause)| {
            cause
                .and_then(|c| span_of.get(c).copied())
                .filter(|&p| p != i)
        })
        .collect();
    assemble(spans, &parents)
}

/// The forest of `spans` under `parents`; a span on a cycle of causes is a
/// root.
fn assemble(spans: Vec<Span>, parents: &[Option<usize>]) -> Vec<Span> {
    let n = spans.len();
    // A span's parent, unless following parents from it loops.
    let parent = |i: usize| -> Option<usize> {
        let mut at = parents[i]?;
        for _ in 0..n {
            match parents[at] {
                Some(next) if next == i => return None,
                Some(next) => at = next,
                None => return parents[i],
            }
        }
        None
    };
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut roots = Vec::new();
    for i in 0..n {
        match parent(i) {
            Some(p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    let mut slots: Vec<Option<Span>> = spans.into_iter().map(Some).collect();
    fn take(i: usize, slots: &mut [Option<Span>], children: &[Vec<usize>]) -> Option<Span> {
        let mut span = slots[i].take()?;
        span.children = children[i]
            .iter()
            .filter_map(|&c| take(c, slots, children))
            .collect();
        span.children.sort_by_key(|c| c.start_us);
        Some(span)
    }
    let mut forest: Vec<Span> = roots
        .into_iter()
        .filter_map(|r| take(r, &mut slots, &children))
        .collect();
    forest.sort_by_key(|s| s.start_us);
    forest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(id: &str, event_type: &str, cause: Option<&str>, ms: u32, payload: Value) -> Value {
        let mut metadata = json!({});
        if let Some(cause) = cause {
            metadata["causation_id"] = json!(cause);
        }
        json!({
            "event_id": id,
            "event_type": event_type,
            "event_timestamp": format!("2026-11-30T19:00:00.{:03}000Z", ms),
            "source_node_id": "n-1",
            "payload": payload,
            "metadata": metadata,
        })
    }

    fn build_all(envelopes: &[Value]) -> Vec<Span> {
        build(envelopes, &HashMap::new())
    }

    #[test]
    fn a_dead_lettered_event_s_span_says_why() {
        let dead = HashMap::from([("b".to_owned(), "undecodable_payload".to_owned())]);
        let spans = build(
            &[
                envelope("a", "orch.run.started", None, 0, json!({})),
                envelope("b", "orch.run.completed", Some("a"), 1, json!({})),
            ],
            &dead,
        );
        assert_eq!(spans[0].dead_letter.as_deref(), Some("undecodable_payload"));
    }

    #[test]
    fn an_operation_s_start_and_end_are_one_span_with_its_outcome_and_execution_time() {
        let spans = build_all(&[
            envelope(
                "b",
                "orch.run.completed",
                Some("a"),
                9,
                json!({"execution_time_ms": 8.5}),
            ),
            envelope("a", "orch.run.started", None, 1, json!({})),
        ]);
        assert_eq!(spans.len(), 1);
        let run = &spans[0];
        assert_eq!(
            (run.name.as_str(), &run.outcome),
            ("orch.run", &Outcome::Completed)
        );
        assert_eq!(run.duration_ms, Some(8.5));
        assert_eq!(run.event_ids, ["a", "b"]);
    }

    #[test]
    fn nested_operations_and_events_hang_under_the_event_that_caused_them() {
        let spans = build_all(&[
            envelope("a", "orch.run.started", None, 0, json!({})),
            envelope("s", "orch.state.changed", Some("a"), 1, json!({})),
            envelope("c", "orch.route.started", Some("a"), 2, json!({})),
            envelope(
                "d",
                "orch.route.failed",
                Some("c"),
                5,
                json!({"execution_time_ms": 3.0, "error": {"message": "no route"}}),
            ),
            envelope("h", "effect.handle.started", Some("d"), 6, json!({})),
            envelope(
                "b",
                "orch.run.failed",
                Some("a"),
                7,
                json!({"execution_time_ms": 7.0}),
            ),
        ]);
        assert_eq!(spans.len(), 1);
        let run = &spans[0];
        let names: Vec<&str> = run.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["orch.state.changed", "orch.route"]);
        let route = &run.children[1];
        assert_eq!(route.outcome, Outcome::Failed("no route".to_owned()));
        assert_eq!(route.children[0].name, "effect.handle");
        assert_eq!(route.children[0].outcome, Outcome::Running);
    }

    #[test]
    fn an_end_without_its_start_and_a_cycle_of_causes_still_show() {
        let spans = build_all(&[
            envelope(
                "e",
                "orch.run.completed",
                None,
                10,
                json!({"execution_time_ms": 4.0}),
            ),
            envelope("x", "a.b.changed", Some("y"), 1, json!({})),
            envelope("y", "a.b.changed", Some("x"), 2, json!({})),
        ]);
        let mut seen = Vec::new();
        for span in &spans {
            span.walk(0, &mut |s, _| seen.push(s.name.clone()));
        }
        assert_eq!(seen.len(), 3, "{seen:?}");
        let run = spans.iter().find(|s| s.name == "orch.run").unwrap();
        assert_eq!(run.end_us() - run.start_us, 4000);
    }
}
