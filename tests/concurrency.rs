//! 1,000 concurrent operations on a multi-thread runtime: every `started`
//! has exactly one end event, with the same correlation id.

mod common;

use onex_events::{onex_node, NodeContext, OnexNode, Publisher, Recorder};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(OnexNode)]
struct Node {
    ctx: NodeContext,
}

#[onex_node("compute")]
impl Node {
    #[onex_operation("work", fields(i))]
    async fn work(&self, i: u64) -> Result<u64, std::io::Error> {
        for _ in 0..(i % 4) {
            tokio::task::yield_now().await;
        }
        if i % 7 == 0 {
            return Err(std::io::Error::other("divisible by seven"));
        }
        if i % 11 == 0 {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        self.step(i).await
    }

    #[onex_operation("step")]
    async fn step(&self, i: u64) -> Result<u64, std::io::Error> {
        tokio::task::yield_now().await;
        Ok(i * 2)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_started_has_exactly_one_end_with_the_same_correlation() {
    let recorder = Recorder::new();
    let node = Arc::new(Node {
        ctx: NodeContext::builder::<Node>()
            .publisher(Publisher::new(recorder.clone()))
            .build()
            .unwrap(),
    });
    let tasks: Vec<_> = (0..1000u64)
        .map(|i| {
            let node = Arc::clone(&node);
            tokio::spawn(async move {
                // Operations stuck in a long sleep are cancelled by the timeout.
                tokio::time::timeout(Duration::from_millis(200), node.work(i)).await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().ok();
    }

    let events = recorder.json();
    // Each started event id -> (correlation id, number of end events).
    let mut open: HashMap<String, (String, usize)> = HashMap::new();
    let mut ends = Vec::new();
    for e in &events {
        let t = e["event_type"].as_str().unwrap();
        let corr = e["correlation_id"].as_str().unwrap().to_owned();
        if t.ends_with(".started") {
            open.insert(e["event_id"].as_str().unwrap().to_owned(), (corr, 0));
        } else {
            ends.push((
                e["metadata"]["causation_id"].as_str().unwrap().to_owned(),
                corr,
                t,
            ));
        }
    }
    for (started_id, corr, t) in &ends {
        let (started_corr, count) = open.get_mut(started_id).expect("end without a started");
        assert_eq!(started_corr, corr, "{t}");
        *count += 1;
    }
    assert!(
        open.values().all(|(_, n)| *n == 1),
        "a started without exactly one end"
    );
    let count = |suffix: &str| {
        events
            .iter()
            .filter(|e| e["event_type"].as_str().unwrap().ends_with(suffix))
            .count()
    };
    let work_started = events
        .iter()
        .filter(|e| e["event_type"] == "compute.work.started")
        .count();
    assert_eq!(work_started, 1000);
    assert_eq!(count(".started"), count(".completed") + count(".failed"));
    let cancelled = events
        .iter()
        .filter(|e| e["payload"]["error"]["kind"] == "cancelled")
        .count();
    // i % 11 == 0 and not i % 7 == 0: 91 - 13 = 78 (0 and 77.. are multiples of both).
    assert_eq!(
        cancelled,
        (0..1000).filter(|i| i % 11 == 0 && i % 7 != 0).count()
    );
    for e in events.iter().step_by(97) {
        common::assert_contract_valid(e);
    }
}
