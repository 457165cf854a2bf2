//! `onex-events dlq ..`: dead-letter topics — list them and their dead
//! letters, and move dead letters back.

use crate::cluster::{Cluster, Reader, Start};
use crate::record::TopicRecord;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use onex_events::consume::kafka::{reprocess_with_progress, ReprocessOptions, ReprocessProgress};
use onex_events::kafka::headers::{
    DEAD_LETTER_ATTEMPTS, DEAD_LETTER_ERROR, DEAD_LETTER_ERROR_TYPE, DEAD_LETTER_GROUP,
    DEAD_LETTER_HANDLER, DEAD_LETTER_OFFSET, DEAD_LETTER_PARTITION, DEAD_LETTER_TOPIC,
};
use onex_events::kafka::KafkaConfig;
use std::error::Error;
use std::io::IsTerminal;
use std::time::Duration;

/// The suffix of a dead-letter topic's name.
const DLQ_SUFFIX: &str = ".dlq";

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// The dead-letter topics (`*.dlq`) with their record counts; with a
    /// topic, its dead letters with why each one is there.
    List(ListArgs),
    /// Move the events of a dead-letter topic back to their original topic
    /// (or another), keeping each one's key, value (its `event_id`) and
    /// headers. A second run does not move the same events again.
    Reprocess(ReprocessArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// A dead-letter topic whose dead letters to show.
    topic: Option<String>,
    /// One JSON object per line (with a topic: each dead letter as
    /// `tail --json` writes it).
    #[arg(long)]
    json: bool,
    /// How long to wait for the cluster, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
}

#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// The dead-letter topic, e.g. `onex.orchestrator.orchestrator.orchestration.v1.dlq`.
    dead_letter_topic: String,
    /// Move every event to this topic instead of its original one.
    #[arg(long, value_name = "TOPIC")]
    to: Option<String>,
    /// Move at most this many events.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Count what would move; move nothing.
    #[arg(long)]
    dry_run: bool,
    /// The consumer group that remembers where the last run stopped
    /// (default: `<dead_letter_topic>.reprocess`).
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
    /// How long to wait for the cluster before giving up, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
}

impl DlqCommand {
    pub fn run(self) -> Result<(), Box<dyn Error>> {
        match self {
            DlqCommand::List(args) => args.run(),
            DlqCommand::Reprocess(args) => args.run(),
        }
    }
}

impl ListArgs {
    fn run(self) -> Result<(), Box<dyn Error>> {
        let cluster = Cluster::from_env(Duration::from_secs(self.timeout))?;
        match &self.topic {
            None => self.list_topics(&cluster),
            Some(topic) => self.list_dead_letters(&cluster, topic),
        }
    }

    fn list_topics(&self, cluster: &Cluster) -> Result<(), Box<dyn Error>> {
        let topics = cluster.topics(&[])?;
        let mut rows = Vec::new();
        for topic in topics.iter().filter(|t| t.name.ends_with(DLQ_SUFFIX)) {
            rows.push((topic.name.as_str(), cluster.record_count(topic)?));
        }
        if self.json {
            for (topic, records) in rows {
                outln!(
                    "{}",
                    serde_json::json!({"topic": topic, "records": records})
                )?;
            }
            return Ok(());
        }
        if rows.is_empty() {
            outln!("no dead-letter topic (*{DLQ_SUFFIX})")?;
            return Ok(());
        }
        let width = rows.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
        outln!("{:<width$}  RECORDS", "TOPIC")?;
        for (topic, records) in rows {
            outln!("{topic:<width$}  {records:>7}")?;
        }
        Ok(())
    }

    fn list_dead_letters(&self, cluster: &Cluster, topic: &str) -> Result<(), Box<dyn Error>> {
        let topics = cluster.topics(&[topic.to_owned()])?;
        let mut reader = Reader::assigned(cluster, &topics, Start::Beginning, true)?;
        while let Some(record) = reader.next_record()? {
            match self.json {
                true => outln!("{}", record.to_json())?,
                false => outln!("{}", dead_letter_line(&record))?,
            }
        }
        Ok(())
    }
}

/// A dead letter in one line: where it is, the event, where it came from,
/// who gave up on it, and why.
fn dead_letter_line(record: &TopicRecord) -> String {
    let header = |name| record.header(name).unwrap_or("?");
    let event = match record.envelope() {
        Some(_) => format!(
            "{} {}",
            record.field("event_type").unwrap_or("?"),
            record.field("event_id").unwrap_or("?")
        ),
        None => "(not an event)".to_owned(),
    };
    let mut line = format!(
        "{} {event} from {}/{}@{} group={} attempts={}",
        record.position(),
        header(DEAD_LETTER_TOPIC),
        header(DEAD_LETTER_PARTITION),
        header(DEAD_LETTER_OFFSET),
        header(DEAD_LETTER_GROUP),
        header(DEAD_LETTER_ATTEMPTS),
    );
    if let Some(handler) = record.header(DEAD_LETTER_HANDLER) {
        line.push_str(&format!(" handler={handler}"));
    }
    line.push_str(&format!(
        ": {}: {}",
        header(DEAD_LETTER_ERROR_TYPE),
        header(DEAD_LETTER_ERROR)
    ));
    line
}

impl ReprocessArgs {
    fn run(self) -> Result<(), Box<dyn Error>> {
        let config = KafkaConfig::from_env()?;
        let mut options = ReprocessOptions::new(self.dead_letter_topic);
        options.to = self.to;
        options.limit = self.limit;
        options.dry_run = self.dry_run;
        options.group = self.group;
        options.timeout = Duration::from_secs(self.timeout);
        let bar = progress_bar();
        let result = reprocess_with_progress(&config, &options, |p: ReprocessProgress| {
            if let Some(bar) = &bar {
                bar.set_length(p.total);
                bar.set_position(p.read);
            }
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let report = result?;
        let verb = if report.dry_run {
            "would move"
        } else {
            "moved"
        };
        let s = if report.moved == 1 { "" } else { "s" };
        outln!("{verb} {} event{s}", report.moved)?;
        for (topic, n) in &report.per_target {
            outln!("  {n} to {topic}")?;
        }
        for (reason, n) in &report.skipped {
            outln!("  {n} skipped: {reason}")?;
        }
        if report.failed > 0 {
            outln!(
                "  {} not acknowledged (a next run retries them)",
                report.failed
            )?;
            return Err(format!("{} events were not moved", report.failed).into());
        }
        Ok(())
    }
}

/// A progress bar on stderr when it is a terminal; none otherwise.
fn progress_bar() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} dead letters read ({eta})");
    if let Ok(style) = style {
        bar.set_style(style);
    }
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Content;

    #[test]
    fn a_dead_letter_line_says_where_it_came_from_and_why() {
        let header = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let record = TopicRecord {
            topic: "t.dlq".to_owned(),
            partition: 0,
            offset: 3,
            timestamp_ms: None,
            key: None,
            headers: vec![
                header(DEAD_LETTER_ERROR_TYPE, "anyhow::Error"),
                header(DEAD_LETTER_ERROR, "boom"),
                header(DEAD_LETTER_ATTEMPTS, "3"),
                header(DEAD_LETTER_TOPIC, "t"),
                header(DEAD_LETTER_PARTITION, "1"),
                header(DEAD_LETTER_OFFSET, "9"),
                header(DEAD_LETTER_GROUP, "g"),
                header(DEAD_LETTER_HANDLER, "effect.execute"),
            ],
            content: Content::Other {
                value: String::new(),
                reason: "the record has no headers".to_owned(),
            },
        };
        assert_eq!(
            dead_letter_line(&record),
            "t.dlq/0@3 (not an event) from t/1@9 group=g attempts=3 handler=effect.execute: anyhow::Error: boom"
        );
    }
}
