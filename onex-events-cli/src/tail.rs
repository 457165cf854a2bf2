//! `onex-events tail`: the events of topics as they arrive (or from the
//! beginning), one line each.

use crate::cluster::{Cluster, Reader, Start};
use crate::record::TopicRecord;
use clap::Args;
use std::error::Error;
use std::io::Write;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct TailArgs {
    /// The topics to read; none: every topic of the cluster (but its
    /// internal ones).
    topics: Vec<String>,
    /// Start at the oldest record rather than after the newest.
    #[arg(long)]
    from_beginning: bool,
    /// Stop at the end of every partition rather than wait for more.
    #[arg(long)]
    exit_at_end: bool,
    /// Stop after this many events (those that pass the filters).
    #[arg(long, value_name = "N")]
    max: Option<u64>,
    /// Read as a member of this consumer group: from its committed
    /// offsets, committing what was read. Default: no group, every
    /// partition, nothing committed.
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
    /// Only events of this type; `*` matches any text (`orchestrator.*`).
    /// Repeatable.
    #[arg(long = "type", value_name = "EVENT_TYPE")]
    event_types: Vec<String>,
    /// Only events of this correlation id.
    #[arg(long, value_name = "ID")]
    correlation: Option<String>,
    /// One JSON object per line: the envelope with the record's topic,
    /// partition, offset, timestamp, key and headers.
    #[arg(long)]
    json: bool,
    /// How long to wait for the cluster, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
}

impl TailArgs {
    pub fn run(self) -> Result<(), Box<dyn Error>> {
        let cluster = Cluster::from_env(Duration::from_secs(self.timeout))?;
        let topics = cluster.topics(&self.topics)?;
        let start = match self.from_beginning {
            true => Start::Beginning,
            false => Start::End,
        };
        let mut reader = match &self.group {
            Some(group) => Reader::in_group(&cluster, group, &topics, start, self.exit_at_end)?,
            None => Reader::assigned(&cluster, &topics, start, self.exit_at_end)?,
        };
        let mut shown = 0;
        let mut out = std::io::stdout().lock();
        while self.max.is_none_or(|max| shown < max) {
            let Some(record) = reader.next_record()? else {
                break;
            };
            if !self.wants(&record) {
                continue;
            }
            let line = match self.json {
                true => record.to_json().to_string(),
                false => record.readable_line(),
            };
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                // The reader of the output is gone (`| head`).
                break;
            }
            shown += 1;
        }
        reader.finish();
        Ok(())
    }

    /// True if `record` passes the filters (a record that is not an event
    /// passes only when there is none).
    fn wants(&self, record: &TopicRecord) -> bool {
        let type_ok = self.event_types.is_empty()
            || record
                .field("event_type")
                .is_some_and(|t| self.event_types.iter().any(|p| matches_pattern(p, t)));
        let correlation_ok = self.correlation.as_deref().is_none_or(|wanted| {
            record
                .field("correlation_id")
                .is_some_and(|c| c.eq_ignore_ascii_case(wanted))
        });
        type_ok && correlation_ok
    }
}

/// True if `text` matches `pattern`, where `*` stands for any text.
pub fn matches_pattern(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::matches_pattern;

    #[test]
    fn a_type_pattern_matches_with_stars_anywhere() {
        let t = "orchestrator.routing.failed";
        assert!(matches_pattern(t, t));
        assert!(matches_pattern("orchestrator.*", t));
        assert!(matches_pattern("*.failed", t));
        assert!(matches_pattern("orch*.rout*.f*d", t));
        assert!(matches_pattern("*", t));
        assert!(!matches_pattern("orchestrator.routing", t));
        assert!(!matches_pattern("*.completed", t));
        assert!(!matches_pattern("effect.*", t));
        assert!(!matches_pattern("*failed.failed", t));
    }
}
