//! The request/response scenarios, on any cluster whose topics of
//! `namespace` exist (see [`super::topics`]): the mock cluster's tests and
//! the real broker's run the same ones.

use super::{requester, warm_up, Code, Responder, Validated};
use futures::future::join_all;
use onex_events::request::kafka::{RequestError, Requester};
use onex_events::Recorder;
use std::sync::Arc;
use std::time::{Duration, Instant};

const REQUEST: &str = "codegen.request.validate";

fn code(source: &str, delay_ms: u64) -> Code {
    Code {
        source: source.to_owned(),
        delay_ms,
    }
}

async fn validate(
    requester: &Requester,
    code: &Code,
    timeout: Duration,
) -> Result<Validated, RequestError> {
    requester.request(REQUEST, code, timeout).await
}

async fn orchestrator(bootstrap: &str, namespace: &str) -> Requester {
    requester(bootstrap, namespace, Recorder::new()).await.1
}

/// A reply comes back typed; an `Err` of the handler comes back as an
/// error reply.
pub async fn typed_reply_and_error_reply(bootstrap: &str, namespace: &str) {
    let responder = Responder::start(bootstrap, namespace);
    let requester = orchestrator(bootstrap, namespace).await;
    warm_up(&requester).await;

    let reply = validate(&requester, &code("a\nb\nc", 0), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        reply,
        Validated {
            lines: 3,
            source: "a\nb\nc".to_owned()
        }
    );

    let error = validate(&requester, &code("", 0), Duration::from_secs(10))
        .await
        .unwrap_err();
    match &error {
        RequestError::ErrorReply {
            error_type,
            message,
            ..
        } => {
            assert!(error_type.ends_with("EmptySource"), "{error_type}");
            assert_eq!(message, "nothing to validate");
        }
        other => panic!("expected an error reply, got {other:?}"),
    }
    assert_eq!(requester.stats().replies, 3);
    assert_eq!(requester.stats().waiting, 0);
    responder.stop().await;
}

/// Nobody answers: the request times out, and stops waiting.
pub async fn no_responder_times_out(bootstrap: &str, namespace: &str) {
    let requester = orchestrator(bootstrap, namespace).await;
    let error = validate(&requester, &code("x", 0), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(error, RequestError::Timeout(_)), "{error:?}");
    assert_eq!(requester.stats().waiting, 0, "the wait is over");
}

/// A reply after its request timed out is counted as late and dropped; the
/// next request gets its own reply.
pub async fn late_reply_is_counted_and_dropped(bootstrap: &str, namespace: &str) {
    let responder = Responder::start(bootstrap, namespace);
    let requester = orchestrator(bootstrap, namespace).await;
    warm_up(&requester).await;
    let error = validate(&requester, &code("slow", 1_000), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(error, RequestError::Timeout(_)), "{error:?}");
    let reply = validate(&requester, &code("next", 0), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(reply.source, "next");
    let deadline = Instant::now() + Duration::from_secs(10);
    while requester.stats().late == 0 {
        let stats = requester.stats();
        assert!(
            Instant::now() < deadline,
            "the late reply never came: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(requester.stats().late, 1);
    assert_eq!(requester.stats().replies, 2, "warm-up and next");
    responder.stop().await;
}

/// Two instances of the requesting service, asking at once: each gets the
/// replies to its own requests, and skips the other's.
pub async fn two_instances_get_their_own_replies(bootstrap: &str, namespace: &str) {
    let responder = Responder::start(bootstrap, namespace);
    let first = Arc::new(orchestrator(bootstrap, namespace).await);
    let second = Arc::new(orchestrator(bootstrap, namespace).await);
    warm_up(&first).await;
    let ask = |requester: Arc<Requester>, who: &'static str| async move {
        let mut sources = Vec::new();
        for i in 0..50 {
            let source = format!("{who} {i}");
            let reply = validate(&requester, &code(&source, 0), Duration::from_secs(10))
                .await
                .unwrap();
            sources.push((source, reply.source));
        }
        sources
    };
    let (a, b) = tokio::join!(
        ask(Arc::clone(&first), "first"),
        ask(Arc::clone(&second), "second")
    );
    for (sent, answered) in a.iter().chain(&b) {
        assert_eq!(sent, answered);
    }
    // Each skips the other's 50 replies (the last may still be on its
    // way); the first also had the warm-up's.
    let deadline = Instant::now() + Duration::from_secs(10);
    for (requester, own) in [(&first, 51), (&second, 50)] {
        while requester.stats().foreign < 50 {
            let stats = requester.stats();
            assert!(Instant::now() < deadline, "the other's replies: {stats:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let stats = requester.stats();
        assert_eq!((stats.replies, stats.late), (own, 0), "{stats:?}");
    }
    responder.stop().await;
}

/// 1,000 requests sent at once, from one requester: every one gets its
/// own reply.
pub async fn a_thousand_outstanding(bootstrap: &str, namespace: &str) {
    let responder = Responder::start(bootstrap, namespace);
    let requester = orchestrator(bootstrap, namespace).await;
    warm_up(&requester).await;
    let codes: Vec<Code> = (0..1_000)
        .map(|i| code(&format!("line {i}\nmore"), 0))
        .collect();
    let replies = join_all(
        codes
            .iter()
            .map(|c| validate(&requester, c, Duration::from_secs(60))),
    )
    .await;
    for (code, reply) in codes.iter().zip(replies) {
        assert_eq!(reply.unwrap().source, code.source);
    }
    let stats = requester.stats();
    assert_eq!((stats.replies, stats.late, stats.waiting), (1_001, 0, 0));
    responder.stop().await;
}

/// The broker went away after the requester was built: a request does not
/// reach it, and says so.
pub async fn broker_down_is_unreachable(requester: &Requester) {
    let error = validate(requester, &code("x", 0), Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(matches!(error, RequestError::Unreachable(_)), "{error:?}");
    assert!(
        error.to_string().contains("did not reach the broker"),
        "{error}"
    );
}
