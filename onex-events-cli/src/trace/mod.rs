//! `onex-events trace CORRELATION_ID`: the events of one request, read
//! from the beginning to the end of the topics (each event once, however
//! many copies dead-letter topics hold), as a causation tree
//! ([`tree`]) drawn as a waterfall ([`waterfall`]) or written as JSON.

mod tree;
mod waterfall;

use crate::cluster::{Cluster, Reader, Start};
use clap::Args;
use onex_events::kafka::headers::DEAD_LETTER_ERROR;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::error::Error;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The request's correlation id.
    correlation_id: String,
    /// A topic to read (repeatable); default: every topic of the cluster.
    #[arg(long = "topic", value_name = "TOPIC")]
    topics: Vec<String>,
    /// The tree as one JSON object.
    #[arg(long)]
    json: bool,
    /// How long to wait for the cluster, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
}

impl TraceArgs {
    pub fn run(self) -> Result<(), Box<dyn Error>> {
        let cluster = Cluster::from_env(Duration::from_secs(self.timeout))?;
        let topics = cluster.topics(&self.topics)?;
        let mut reader = Reader::assigned(&cluster, &topics, Start::Beginning, true)?;
        let mut envelopes = Vec::new();
        let mut seen = HashSet::new();
        let mut dead_letters = HashMap::new();
        while let Some(record) = reader.next_record()? {
            let wanted = record
                .field("correlation_id")
                .is_some_and(|c| c.eq_ignore_ascii_case(&self.correlation_id));
            let (true, Some(envelope), Some(id)) =
                (wanted, record.envelope(), record.field("event_id"))
            else {
                continue;
            };
            // A dead letter, or a reprocessed one, is the same event again.
            if let Some(error) = record.header(DEAD_LETTER_ERROR) {
                dead_letters.insert(id.to_owned(), error.to_owned());
            }
            if seen.insert(id.to_owned()) {
                envelopes.push(envelope.clone());
            }
        }
        if envelopes.is_empty() {
            return Err(format!(
                "no event with correlation id {} in {} topics",
                self.correlation_id,
                topics.len()
            )
            .into());
        }
        let spans = tree::build(&envelopes, &dead_letters);
        if self.json {
            let (t0, t1) = waterfall::timeline(&spans);
            let object = json!({
                "correlation_id": self.correlation_id,
                "events": envelopes.len(),
                "duration_ms": (t1 - t0) as f64 / 1000.0,
                "spans": spans.iter().map(|s| s.to_json(t0)).collect::<Vec<_>>(),
            });
            outln!("{object}")?;
        } else {
            out!(
                "{}",
                waterfall::render(&self.correlation_id, &spans, envelopes.len())
            )?;
        }
        Ok(())
    }
}
