//! Helpers shared by the behaviour tests: contract validation and a small
//! runtime builder.
#![allow(dead_code)]

use serde_json::Value;
use std::sync::OnceLock;

struct Validators {
    envelope: jsonschema::Validator,
    started: jsonschema::Validator,
    completed: jsonschema::Validator,
    failed: jsonschema::Validator,
    state_changed: jsonschema::Validator,
    metric_recorded: jsonschema::Validator,
}

fn validators() -> &'static Validators {
    static V: OnceLock<Validators> = OnceLock::new();
    V.get_or_init(|| {
        let envelope: Value = serde_json::from_str(onex_events_suite::ENVELOPE_SCHEMA).unwrap();
        let payloads: Value = serde_json::from_str(onex_events_suite::PAYLOAD_SCHEMA).unwrap();
        let def = |name: &str| jsonschema::validator_for(&payloads["$defs"][name]).unwrap();
        Validators {
            envelope: jsonschema::validator_for(&envelope).unwrap(),
            started: def("started"),
            completed: def("completed"),
            failed: def("failed"),
            state_changed: def("state_changed"),
            metric_recorded: def("metric_recorded"),
        }
    })
}

/// Panics with every violation unless `envelope` is a valid OnexEnvelopeV1
/// whose payload meets the minimum contract of its event kind (a declared
/// event's payload only needs to be an object), and one the consumer's own
/// check of the envelope contract takes.
pub fn assert_contract_valid(envelope: &Value) {
    let record = onex_events::consume::RecordParts {
        value: serde_json::to_vec(envelope).unwrap(),
        ..Default::default()
    };
    if let Err(reason) = onex_events::consume::ReceivedEvent::decode(record) {
        panic!("the consumer refuses the envelope: {reason}\n{envelope:#}");
    }
    let v = validators();
    let errors: Vec<String> = v
        .envelope
        .iter_errors(envelope)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "envelope invalid: {errors:?}\n{envelope:#}"
    );
    // A declared event's payload is its type's (an object, checked above).
    if envelope["metadata"]["event_kind"].is_string() {
        return;
    }
    let event_type = envelope["event_type"].as_str().unwrap();
    // A request's payload is the caller's body (an object, as the envelope
    // says); a response's is its status with the reply or the error.
    if event_type.split('.').nth(1) == Some("request") {
        return;
    }
    if event_type.split('.').nth(1) == Some("response") {
        let payload = &envelope["payload"];
        match payload["status"].as_str() {
            Some("ok") => assert!(payload.get("reply").is_some(), "{envelope:#}"),
            Some("error") => {
                assert!(payload["error"]["error_type"].is_string(), "{envelope:#}");
                assert!(payload["error"]["message"].is_string(), "{envelope:#}");
            }
            _ => panic!("a response's status is ok or error: {envelope:#}"),
        }
        assert!(
            envelope["metadata"]["causation_id"].is_string(),
            "a response is caused by its request: {envelope:#}"
        );
        return;
    }
    let payload_validator = if event_type.ends_with(".state.changed") {
        &v.state_changed
    } else if event_type.ends_with(".metric.recorded") {
        &v.metric_recorded
    } else if event_type.ends_with(".started") {
        &v.started
    } else if event_type.ends_with(".completed") {
        &v.completed
    } else if event_type.ends_with(".failed") {
        &v.failed
    } else {
        panic!("unknown event kind {event_type}")
    };
    let errors: Vec<String> = payload_validator
        .iter_errors(&envelope["payload"])
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "payload invalid: {errors:?}\n{envelope:#}"
    );
}

/// Every `tracing` line this test binary logged, from every thread, since
/// the previous call. The first call installs the process-wide subscriber
/// that captures them.
pub fn take_logs() -> String {
    use std::sync::{Arc, Mutex};
    struct LogWriter(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for LogWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let logs = LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&logs);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        logs
    });
    String::from_utf8(std::mem::take(&mut *logs.lock().unwrap())).unwrap()
}

/// `event` as a consumer would receive it: its envelope JSON as the value
/// of a record of `topic`.
pub fn received(event: &onex_events::Event) -> std::sync::Arc<onex_events::consume::ReceivedEvent> {
    let parts = onex_events::consume::RecordParts {
        topic: "onex.evt.test.v1".into(),
        value: event
            .to_json_string()
            .expect("an event serializes")
            .into_bytes(),
        ..Default::default()
    };
    std::sync::Arc::new(onex_events::consume::ReceivedEvent::decode(parts).expect("an envelope"))
}
