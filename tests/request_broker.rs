//! Request/response on a real broker (tansu via `scripts/kafka-dev.sh`):
//! the scenarios of the mock cluster's tests, and a broker stopped under a
//! requester. Ignored without `KAFKA_BOOTSTRAP_SERVERS`.
#![cfg(feature = "kafka")]

mod kafka_support;
mod request_support;

use kafka_support::{bootstrap, broker, create_topic, free_port, OwnBroker};
use onex_events::Recorder;
use request_support::{requester, scenarios, topics, unique_namespace};

/// The broker's bootstrap, and a namespace of its own with its topics.
fn setup(name: &str) -> (String, String) {
    let bootstrap = bootstrap();
    let namespace = unique_namespace(name);
    create_topics(&bootstrap, &namespace, 3);
    (bootstrap, namespace)
}

/// The topics of `namespace`, created from a thread of their own (the
/// helper runs a runtime of its own).
fn create_topics(bootstrap: &str, namespace: &str, partitions: i32) {
    let (bootstrap, namespace) = (bootstrap.to_owned(), namespace.to_owned());
    std::thread::spawn(move || {
        for topic in topics(&namespace) {
            create_topic(&bootstrap, &topic, partitions);
        }
    })
    .join()
    .expect("topics created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
async fn a_request_gets_its_typed_reply_and_an_err_is_an_error_reply() {
    let (bootstrap, namespace) = setup("reply");
    scenarios::typed_reply_and_error_reply(&bootstrap, &namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
async fn without_a_responder_a_request_times_out() {
    let (bootstrap, namespace) = setup("timeout");
    scenarios::no_responder_times_out(&bootstrap, &namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
async fn a_late_reply_is_counted_and_dropped() {
    let (bootstrap, namespace) = setup("late");
    scenarios::late_reply_is_counted_and_dropped(&bootstrap, &namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
async fn two_requesting_instances_each_get_their_own_replies_only() {
    let (bootstrap, namespace) = setup("instances");
    scenarios::two_instances_get_their_own_replies(&bootstrap, &namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
async fn a_thousand_requests_outstanding_at_once_all_get_their_reply() {
    let (bootstrap, namespace) = setup("outstanding");
    scenarios::a_thousand_outstanding(&bootstrap, &namespace).await;
}

/// A broker of the test's own, stopped once the requester is built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Kafka broker: run by scripts/test.sh (the README's test command, and CI), which starts one; or set KAFKA_BOOTSTRAP_SERVERS"]
async fn a_request_to_a_stopped_broker_is_unreachable() {
    let _shared = bootstrap();
    let port = free_port();
    broker("start", port);
    let own = OwnBroker(port);
    let bootstrap = format!("127.0.0.1:{port}");
    let namespace = unique_namespace("down");
    create_topics(&bootstrap, &namespace, 1);
    let (_node, requester) = requester(&bootstrap, &namespace, Recorder::new()).await;
    drop(own);
    scenarios::broker_down_is_unreachable(&requester).await;
}
