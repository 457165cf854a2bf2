//! The default stdout sink never holds up an operation: a stalled reader
//! makes it drop (and count) events, a broken writer makes it count every
//! lost event, and the losses are reported and logged in a bounded way.
//! Lines stay whole and in publish order.

mod common;

use common::take_logs;
use onex_events::sink::{Sink, SinkError, StdoutStats};
use onex_events::{onex_node, Event, NodeContext, OnexNode, Publisher, StdoutSink};
use serde_json::Value;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A sink the test keeps a handle on after giving it to a publisher.
struct Shared(Arc<StdoutSink>);

impl Sink for Shared {
    fn publish(&self, event: Event) {
        self.0.publish(event);
    }

    fn flush(&self, timeout: Duration) -> Result<(), onex_events::sink::SinkError> {
        self.0.flush(timeout)
    }

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn last_error(&self) -> Option<String> {
        self.0.last_error()
    }
}

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("effect")]
impl Node {
    #[onex_operation("write")]
    async fn write(&self, n: u32) -> Result<u32, std::io::Error> {
        Ok(n)
    }
}

fn node(sink: &Arc<StdoutSink>) -> Node {
    Node {
        ctx: NodeContext::new::<Node>(Publisher::new(Shared(Arc::clone(sink)))),
    }
}

/// Runs an operation whose body never waits.
fn run<F: std::future::Future>(future: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => unreachable!("the operation's body never waits"),
    }
}

fn assert_accounted(stats: StdoutStats) {
    assert_eq!(
        stats.written + stats.dropped + stats.failed + stats.queued,
        stats.published,
        "{stats:?}"
    );
}

/// A pipe nobody reads: a child process that never reads its stdin. Once
/// the pipe's buffer (64 KiB on Linux) and the sink's queue are full, a
/// sink that waited for the reader would never return.
#[cfg(unix)]
#[test]
fn operations_complete_while_the_stdout_reader_stalls() {
    let mut reader = std::process::Command::new("sleep")
        .arg("600")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn `sleep`");
    let pipe = reader.stdin.take().unwrap();
    let sink = Arc::new(StdoutSink::with_writer_and_queue(pipe, 64 << 10));
    let node = node(&sink);
    // 20,000 events of about 700 bytes: 14 MB against 128 KiB of room.
    for n in 0..10_000 {
        assert_eq!(run(node.write(n)).unwrap(), n);
    }
    let stats = sink.stats();
    assert_eq!(stats.published, 20_000);
    assert!(stats.dropped > 0, "{stats:?}");
    assert_accounted(stats);
    let error = node.ctx.publisher().last_error().expect("losses reported");
    assert!(
        error.contains(&format!("{} events dropped", stats.dropped)),
        "{error}"
    );
    // The reader still stalls: a flush with a timeout says what is pending.
    assert!(sink.flush(Duration::ZERO).is_err());

    // The reader goes away: what was queued fails with a broken pipe, is
    // counted, and flush (even unbounded) returns.
    reader.kill().expect("kill the reader");
    reader.wait().expect("reap the reader");
    let flushed = sink.flush(Duration::MAX);
    let stats = sink.stats();
    assert!(
        matches!(&flushed, Err(SinkError::Undelivered { lost, .. }) if *lost == stats.lost()),
        "flush reports every event dropped or lost: {flushed:?} {stats:?}"
    );
    assert_eq!(stats.queued, 0, "{stats:?}");
    assert!(stats.failed > 0, "{stats:?}");
    assert_accounted(stats);
    let error = sink.last_error().unwrap();
    assert!(error.contains("lost to failed writes"), "{error}");
}

/// A writer whose reader is gone (a closed pipe or file descriptor).
struct BrokenPipe;

impl Write for BrokenPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "test reader gone",
        ))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn every_event_lost_to_a_broken_writer_is_counted_reported_and_logged_boundedly() {
    take_logs(); // installs the capture before any event
    let sink = Arc::new(StdoutSink::with_writer(BrokenPipe));
    let node = node(&sink);
    for n in 0..500 {
        assert_eq!(run(node.write(n)).unwrap(), n);
    }
    assert!(matches!(
        sink.flush(Duration::MAX),
        Err(SinkError::Undelivered { lost: 1000, .. })
    ));
    let stats = sink.stats();
    assert_eq!(stats.published, 1000);
    assert_eq!(stats.failed, 1000, "{stats:?}");
    assert_eq!(stats.written + stats.dropped + stats.queued, 0);
    let error = node.ctx.publisher().last_error().expect("losses reported");
    assert!(
        error.contains("1000 events lost to failed writes") && error.contains("test reader gone"),
        "{error}"
    );
    drop(node);
    drop(Arc::into_inner(sink).expect("the only handle"));
    let logged = take_logs();
    let lines: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("test reader gone"))
        .collect();
    assert!(!lines.is_empty(), "losses logged: {logged}");
    assert!(
        lines.len() < 10,
        "summaries, not a line per event: {lines:#?}"
    );
    assert!(
        lines[0].contains("events not written to stdout"),
        "{}",
        lines[0]
    );
}

/// `flush` says how many events the sink could not write since the
/// previous flush, and why; once written again, it says `Ok`.
#[test]
fn flush_reports_events_the_stdout_sink_could_not_write() {
    let sink = Arc::new(StdoutSink::with_writer(BrokenPipe));
    let node = node(&sink);
    for n in 0..10 {
        assert_eq!(run(node.write(n)).unwrap(), n);
    }
    match node.ctx.publisher().flush(Duration::from_secs(30)) {
        Err(SinkError::Undelivered { lost, detail }) => {
            assert_eq!(lost, 20, "{detail}");
            assert!(
                detail.contains("20 lost to failed writes") && detail.contains("test reader gone"),
                "{detail}"
            );
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
    assert!(
        node.ctx.publisher().flush(Duration::from_secs(30)).is_ok(),
        "each loss is reported once"
    );
}

/// Accepts a few bytes per write, as a slow pipe may.
#[derive(Clone, Default)]
struct Trickle(Arc<Mutex<Vec<u8>>>);

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(7);
        self.0.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn lines_stay_whole_and_in_publish_order() {
    let out = Trickle::default();
    let sink = Arc::new(StdoutSink::with_writer(out.clone()));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let node = node(&sink);
            scope.spawn(move || {
                for n in 0..200 {
                    run(node.write(n)).unwrap();
                }
            });
        }
    });
    sink.flush(Duration::MAX).expect("flush");
    let stats = sink.stats();
    assert_eq!((stats.written, stats.published), (1600, 1600), "{stats:?}");
    assert_eq!(sink.last_error(), None);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a whole JSON line"))
        .collect();
    assert_eq!(events.len(), 1600);
    // Per node (one per thread, told apart by instance id): started, then
    // completed, 200 times.
    let mut next: std::collections::HashMap<String, (u64, bool)> = Default::default();
    for e in &events {
        let instance = e["metadata"]["instance_id"].as_str().unwrap().to_owned();
        let state = next.entry(instance).or_insert((0, false));
        let kind = e["event_type"].as_str().unwrap();
        if kind.ends_with(".started") {
            assert!(!state.1, "started twice: {e}");
            state.1 = true;
        } else {
            assert!(state.1, "completed before started: {e}");
            state.1 = false;
            state.0 += 1;
        }
    }
    assert_eq!(next.len(), 4);
    assert!(next.values().all(|(done, open)| *done == 200 && !open));
}
