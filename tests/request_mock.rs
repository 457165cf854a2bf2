//! Request/response over librdkafka's in-process mock cluster: replies,
//! error replies, timeouts, an unreachable broker, two requesting
//! instances each getting only their own replies, a late reply counted
//! and dropped, and 1,000 requests outstanding at once.
#![cfg(feature = "kafka")]

mod request_support;

use onex_events::kafka::rdkafka::mocking::MockCluster;
use onex_events::kafka::rdkafka::producer::DefaultProducerContext;
use onex_events::Recorder;
use request_support::{requester, scenarios, topics, unique_namespace};

/// A mock cluster with the topics of a namespace of its own.
fn cluster(name: &str) -> (MockCluster<'static, DefaultProducerContext>, String, String) {
    let mock = MockCluster::new(1).expect("mock cluster");
    let namespace = unique_namespace(name);
    for topic in topics(&namespace) {
        mock.create_topic(&topic, 3, 1).expect("topic");
    }
    let bootstrap = mock.bootstrap_servers();
    (mock, bootstrap, namespace)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_gets_its_typed_reply_and_an_err_is_an_error_reply() {
    let (_mock, bootstrap, namespace) = cluster("reply");
    scenarios::typed_reply_and_error_reply(&bootstrap, &namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_responder_a_request_times_out() {
    let (_mock, bootstrap, namespace) = cluster("timeout");
    scenarios::no_responder_times_out(&bootstrap, &namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_a_broker_that_is_down_is_unreachable() {
    let (mock, bootstrap, namespace) = cluster("down");
    let (_node, requester) = requester(&bootstrap, &namespace, Recorder::new()).await;
    mock.broker_down(1).expect("broker down");
    scenarios::broker_down_is_unreachable(&requester).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_reply_is_counted_and_dropped() {
    let (_mock, bootstrap, namespace) = cluster("late");
    scenarios::late_reply_is_counted_and_dropped(&bootstrap, &namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_requesting_instances_each_get_their_own_replies_only() {
    let (_mock, bootstrap, namespace) = cluster("instances");
    scenarios::two_instances_get_their_own_replies(&bootstrap, &namespace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_outstanding_at_once_all_get_their_reply() {
    let (_mock, bootstrap, namespace) = cluster("outstanding");
    scenarios::a_thousand_outstanding(&bootstrap, &namespace).await;
}
