//! Capturing opted-in values: a value whose `Serialize` panics is reported
//! like one whose serialization fails (`value_error`), the body runs and
//! the caller gets exactly what the body returned. The same for an error
//! whose `Display` or `Debug` panics: `failed` says so, the caller gets it.
//! A NaN or an infinity in a captured value is reported as `value_error`
//! too, not written as `null`.

mod common;

use onex_events::{
    onex_node, Captured, ErrorInfo, Input, NodeContext, OnexNode, Publisher, Recorder,
};
use serde::{Serialize, Serializer};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A value whose `Serialize` panics with `"refusing to serialize"`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Explosive {
    id: u32,
}

impl Serialize for Explosive {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("refusing to serialize {}", self.id)
    }
}

/// A value whose `Serialize` panics with a payload that is not a string.
#[derive(Debug)]
struct Opaque;

impl Serialize for Opaque {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        std::panic::panic_any(42_u32)
    }
}

/// An error whose `Display` panics.
#[derive(Debug)]
struct Unprintable;

impl fmt::Display for Unprintable {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("cannot display")
    }
}

impl std::error::Error for Unprintable {}

/// An error known by its `Debug` alone, which panics.
struct DebugOnly;

impl fmt::Debug for DebugOnly {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("cannot debug")
    }
}

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
    body_ran: AtomicUsize,
}

#[onex_node("capturer")]
impl Node {
    #[onex_operation("explosive_ok", ret)]
    async fn explosive_ok(&self, id: u32) -> Result<Explosive, std::io::Error> {
        self.body_ran.fetch_add(1, Ordering::SeqCst);
        Ok(Explosive { id })
    }

    #[onex_operation("explosive_plain", ret)]
    async fn explosive_plain(&self, id: u32) -> Explosive {
        self.body_ran.fetch_add(1, Ordering::SeqCst);
        Explosive { id }
    }

    #[onex_operation("explosive_argument", fields(value, id))]
    async fn explosive_argument(&self, value: Explosive, id: u32) -> u32 {
        self.body_ran.fetch_add(1, Ordering::SeqCst);
        value.id + id
    }

    #[onex_operation("unprintable_error")]
    async fn unprintable_error(&self) -> Result<u8, Unprintable> {
        self.body_ran.fetch_add(1, Ordering::SeqCst);
        Err(Unprintable)
    }

    #[onex_operation("debug_only_error")]
    async fn debug_only_error(&self) -> Result<u8, DebugOnly> {
        self.body_ran.fetch_add(1, Ordering::SeqCst);
        Err(DebugOnly)
    }

    #[onex_operation("ratio", fields(samples, scale))]
    async fn ratio(&self, samples: Vec<f64>, scale: f32) -> usize {
        self.body_ran.fetch_add(1, Ordering::SeqCst);
        samples.len() + scale as usize
    }

    #[onex_operation("mean", ret)]
    async fn mean(&self, samples: Vec<f64>) -> Result<Option<f64>, std::io::Error> {
        self.body_ran.fetch_add(1, Ordering::SeqCst);
        Ok(Some(samples.iter().sum::<f64>() / samples.len() as f64))
    }

    #[onex_operation("opaque_argument", fields(value))]
    async fn opaque_argument(&self, value: Opaque) -> u8 {
        let _ = value;
        self.body_ran.fetch_add(1, Ordering::SeqCst);
        1
    }
}

fn node() -> (Node, Recorder) {
    let recorder = Recorder::new();
    let ctx = NodeContext::builder::<Node>()
        .publisher(Publisher::new(recorder.clone()))
        .build()
        .unwrap();
    let node = Node {
        ctx,
        body_ran: AtomicUsize::new(0),
    };
    (node, recorder)
}

#[tokio::test]
async fn a_return_value_whose_serialize_panics_is_reported_and_the_caller_gets_it() {
    let (node, recorder) = node();
    let value = node.explosive_ok(7).await.unwrap();
    assert_eq!(value, Explosive { id: 7 });
    assert_eq!(node.body_ran.load(Ordering::SeqCst), 1);
    assert_eq!(
        recorder.event_types(),
        [
            "capturer.explosive_ok.started",
            "capturer.explosive_ok.completed"
        ]
    );
    let events = recorder.json();
    for e in &events {
        common::assert_contract_valid(e);
    }
    assert_eq!(
        events[1]["payload"]["result"],
        serde_json::json!({
            "type": "capture::Explosive",
            "value_error": "serialization panicked: refusing to serialize 7",
        })
    );
}

#[tokio::test]
async fn a_plain_return_value_whose_serialize_panics_is_reported_and_the_caller_gets_it() {
    let (node, recorder) = node();
    assert_eq!(node.explosive_plain(3).await, Explosive { id: 3 });
    let events = recorder.json();
    assert_eq!(
        events[1]["event_type"],
        "capturer.explosive_plain.completed"
    );
    assert_eq!(
        events[1]["payload"]["result"]["value_error"],
        "serialization panicked: refusing to serialize 3"
    );
}

#[tokio::test]
async fn an_argument_whose_serialize_panics_is_reported_and_the_body_runs() {
    let (node, recorder) = node();
    assert_eq!(node.explosive_argument(Explosive { id: 5 }, 2).await, 7);
    assert_eq!(node.body_ran.load(Ordering::SeqCst), 1);
    assert_eq!(
        recorder.event_types(),
        [
            "capturer.explosive_argument.started",
            "capturer.explosive_argument.completed"
        ]
    );
    let events = recorder.json();
    for e in &events {
        common::assert_contract_valid(e);
    }
    assert_eq!(
        events[0]["payload"]["input"],
        serde_json::json!({
            "value": {
                "type": "Explosive",
                "value_error": "serialization panicked: refusing to serialize 5",
            },
            "id": {"type": "u32", "value": 2},
        })
    );
}

#[tokio::test]
async fn a_panic_without_a_message_is_reported_as_such() {
    let (node, recorder) = node();
    assert_eq!(node.opaque_argument(Opaque).await, 1);
    let events = recorder.json();
    assert_eq!(
        events[0]["payload"]["input"]["value"]["value_error"],
        "serialization panicked: Box<dyn Any>"
    );
    assert_eq!(
        events[1]["event_type"],
        "capturer.opaque_argument.completed"
    );
}

#[test]
fn a_hand_written_capture_whose_serialize_panics_holds_the_panic_message() {
    let captured = Captured::of(&Explosive { id: 9 });
    assert!(captured.json().is_none());
    match &captured {
        Captured::Error(message) => {
            assert_eq!(message, "serialization panicked: refusing to serialize 9")
        }
        Captured::Value(raw) => panic!("captured a value: {raw}"),
    }
    let input = Input::summary(&[]).value("value", captured);
    assert!(input.get("value").is_some());
}

#[tokio::test]
async fn an_error_whose_display_panics_is_reported_and_the_caller_gets_it() {
    let (node, recorder) = node();
    assert!(matches!(node.unprintable_error().await, Err(Unprintable)));
    assert!(matches!(node.debug_only_error().await, Err(DebugOnly)));
    assert_eq!(node.body_ran.load(Ordering::SeqCst), 2);
    assert_eq!(
        recorder.event_types(),
        [
            "capturer.unprintable_error.started",
            "capturer.unprintable_error.failed",
            "capturer.debug_only_error.started",
            "capturer.debug_only_error.failed",
        ]
    );
    let events = recorder.json();
    for e in &events {
        common::assert_contract_valid(e);
    }
    assert_eq!(
        events[1]["payload"]["error"],
        serde_json::json!({
            "kind": "error",
            "error_type": "capture::Unprintable",
            "message": "describing the error panicked: cannot display",
            "chain": [],
        })
    );
    assert_eq!(
        events[3]["payload"]["error"]["message"],
        "describing the error panicked: cannot debug"
    );
}

#[test]
fn a_hand_written_error_description_whose_display_panics_holds_the_panic_message() {
    let info = ErrorInfo::from_error("capture::Unprintable", &Unprintable);
    assert_eq!(
        info.message,
        "describing the error panicked: cannot display"
    );
    assert_eq!(info.error_type, "capture::Unprintable");
}

#[tokio::test]
async fn a_nan_in_fields_is_reported_not_silently_null() {
    let (node, recorder) = node();
    assert_eq!(node.ratio(vec![1.0, f64::NAN], f32::NEG_INFINITY).await, 2);
    assert_eq!(node.body_ran.load(Ordering::SeqCst), 1);
    let events = recorder.json();
    for e in &events {
        common::assert_contract_valid(e);
    }
    assert_eq!(
        events[0]["payload"]["input"],
        serde_json::json!({
            "samples": {"type": "Vec<f64>", "value_error": "not a finite number: NaN"},
            "scale": {"type": "f32", "value_error": "not a finite number: -inf"},
        })
    );
    assert_eq!(events[1]["event_type"], "capturer.ratio.completed");
}

#[tokio::test]
async fn an_infinite_return_value_is_reported_not_silently_null() {
    let (first, recorder) = node();
    assert_eq!(
        first.mean(Vec::new()).await.unwrap().map(f64::is_nan),
        Some(true)
    );
    let events = recorder.json();
    assert_eq!(
        events[1]["payload"]["result"],
        serde_json::json!({
            "type": "core::option::Option<f64>",
            "value_error": "not a finite number: NaN",
        })
    );
    let (second, recorder) = node();
    let infinite = second.mean(vec![f64::MAX, f64::MAX]).await.unwrap();
    assert_eq!(infinite, Some(f64::INFINITY));
    assert_eq!(
        recorder.json()[1]["payload"]["result"]["value_error"],
        "not a finite number: inf"
    );
    // Finite values are captured as before.
    let (third, recorder) = node();
    assert_eq!(third.mean(vec![1.0, 2.0]).await.unwrap(), Some(1.5));
    assert_eq!(recorder.json()[1]["payload"]["result"]["value"], 1.5);
}
