//! `onex-events dlq ..`: dead-letter topics.

use clap::{Args, Subcommand};
use onex_events::consume::kafka::{reprocess, ReprocessOptions};
use onex_events::kafka::KafkaConfig;
use std::error::Error;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Move the events of a dead-letter topic back to their original topic
    /// (or another), keeping each one's key, value (its `event_id`) and
    /// headers. A second run does not move the same events again.
    Reprocess(ReprocessArgs),
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
            DlqCommand::Reprocess(args) => args.run(),
        }
    }
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
        let report = reprocess(&config, &options)?;
        let verb = if report.dry_run {
            "would move"
        } else {
            "moved"
        };
        let s = if report.moved == 1 { "" } else { "s" };
        println!("{verb} {} event{s}", report.moved);
        for (topic, n) in &report.per_target {
            println!("  {n} to {topic}");
        }
        for (reason, n) in &report.skipped {
            println!("  {n} skipped: {reason}");
        }
        if report.failed > 0 {
            println!(
                "  {} not acknowledged (a next run retries them)",
                report.failed
            );
            return Err(format!("{} events were not moved", report.failed).into());
        }
        Ok(())
    }
}
