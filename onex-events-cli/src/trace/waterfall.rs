//! The causation tree as a waterfall in the terminal: one line per span,
//! indented by depth, with its node, outcome, start (from the first one),
//! duration and a bar placed and sized on the request's timeline.

use super::tree::{Outcome, Span};
use std::fmt::Write;

/// The bar's width, in characters.
const BAR_WIDTH: usize = 40;

/// The request's timeline: from the first start to the last end, in
/// microseconds since the epoch.
pub fn timeline(spans: &[Span]) -> (i64, i64) {
    let mut t0 = i64::MAX;
    let mut t1 = i64::MIN;
    for span in spans {
        span.walk(0, &mut |s, _| {
            t0 = t0.min(s.start_us);
            t1 = t1.max(s.end_us());
        });
    }
    if t0 > t1 {
        (0, 0)
    } else {
        (t0, t1)
    }
}

/// The waterfall of `spans`, a heading line first.
pub fn render(correlation_id: &str, spans: &[Span], events: usize) -> String {
    let (t0, t1) = timeline(spans);
    let mut rows: Vec<(String, &Span)> = Vec::new();
    for span in spans {
        collect(span, 0, &mut rows);
    }
    let operations = rows
        .iter()
        .filter(|(_, s)| s.outcome != Outcome::Event)
        .count();
    let label_width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "correlation {correlation_id}: {}, {}, {}\n",
        counted(events, "event"),
        counted(operations, "operation"),
        millis((t1 - t0) as f64 / 1000.0)
    );
    for (label, span) in rows {
        let duration = span.duration_ms.map_or_else(String::new, millis);
        let start = format!("+{}", millis((span.start_us - t0) as f64 / 1000.0));
        let _ = write!(
            out,
            "{label:<label_width$}  {:<9} {start:>12} {duration:>10}  |{}|",
            span.outcome.as_str(),
            bar(span, t0, t1)
        );
        if let Outcome::Failed(message) = &span.outcome {
            let _ = write!(out, " {message}");
        }
        if let Some(reason) = &span.dead_letter {
            let _ = write!(out, " [dead-lettered: {reason}]");
        }
        out.push('\n');
    }
    out
}

/// `span` and its descendants, each with its label: its name and node,
/// indented by depth.
fn collect<'a>(span: &'a Span, depth: usize, rows: &mut Vec<(String, &'a Span)>) {
    let label = format!("{}{} ({})", "  ".repeat(depth), span.name, span.node);
    rows.push((label, span));
    for child in &span.children {
        collect(child, depth + 1, rows);
    }
}

/// `1 event`, `2 events`.
fn counted(n: usize, noun: &str) -> String {
    match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// `12.40 ms`.
fn millis(ms: f64) -> String {
    format!("{ms:.2} ms")
}

/// The span's bar on the timeline `t0..t1`: `█` over its duration, `◆`
/// for an event, `░` from the start of a running operation to the end.
fn bar(span: &Span, t0: i64, t1: i64) -> String {
    let length = (t1 - t0).max(1) as f64;
    let column = |t: i64| ((t - t0) as f64 / length * BAR_WIDTH as f64) as usize;
    let from = column(span.start_us).min(BAR_WIDTH - 1);
    let (to, fill) = match span.outcome {
        Outcome::Event => (from + 1, '◆'),
        Outcome::Running => (BAR_WIDTH, '░'),
        _ => (column(span.end_us()).clamp(from + 1, BAR_WIDTH), '█'),
    };
    (0..BAR_WIDTH)
        .map(|i| if (from..to).contains(&i) { fill } else { ' ' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(name: &str, start_ms: i64, duration_ms: Option<f64>, outcome: Outcome) -> Span {
        Span {
            name: name.to_owned(),
            node: "n-1".to_owned(),
            outcome,
            start_us: start_ms * 1000,
            duration_ms,
            event_ids: Vec::new(),
            dead_letter: None,
            children: Vec::new(),
        }
    }

    #[test]
    fn bars_are_placed_and_scaled_on_the_timeline_and_children_indented() {
        let mut root = span("orch.run", 0, Some(40.0), Outcome::Completed);
        root.children = vec![
            span("orch.state.changed", 10, None, Outcome::Event),
            span(
                "orch.route",
                20,
                Some(10.0),
                Outcome::Failed("no route".into()),
            ),
        ];
        let text = render("c-1", &[root], 5);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "correlation c-1: 5 events, 2 operations, 40.00 ms"
        );
        assert_eq!(
            lines[1],
            format!(
                "orch.run (n-1)              completed     +0.00 ms   40.00 ms  |{}|",
                "█".repeat(40)
            )
        );
        assert_eq!(
            lines[2],
            format!(
                "  orch.state.changed (n-1)  event        +10.00 ms             |{}◆{}|",
                " ".repeat(10),
                " ".repeat(29)
            )
        );
        assert_eq!(
            lines[3],
            format!(
                "  orch.route (n-1)          failed       +20.00 ms   10.00 ms  |{}{}{}| no route",
                " ".repeat(20),
                "█".repeat(10),
                " ".repeat(10)
            )
        );
    }

    #[test]
    fn a_single_event_has_a_bar_of_one_mark() {
        let text = render("c", &[span("a.b.c", 5, None, Outcome::Event)], 1);
        assert!(text.contains(&format!("|◆{}|", " ".repeat(39))), "{text}");
    }
}
