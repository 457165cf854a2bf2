//! Moves the events of a dead-letter topic back to their original topic
//! (or another), keeping each event's key, `event_id` and headers.
//!
//! ```text
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --example dlq_reprocess -- \
//!     onex.orchestrator.orchestrator.orchestration.v1.dlq [--to TOPIC] [--limit N] [--dry-run] [--group GROUP]
//! ```
//!
//! Prints `moved=M failed=F skipped=S` and the count per target topic.
//! Exit status: 0 when every record meant to move moved, 1 on an error,
//! 2 when some records were not acknowledged (a later run moves them).

use onex_events::consume::kafka::{reprocess, ReprocessOptions};
use onex_events::KafkaConfig;
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dlq_reprocess: {error}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let usage = "usage: dlq_reprocess DEAD_LETTER_TOPIC [--to TOPIC] [--limit N] [--dry-run] [--group GROUP]";
    let mut args = std::env::args().skip(1);
    let mut options: Option<ReprocessOptions> = None;
    let (mut to, mut limit, mut dry_run, mut group) = (None, None, false, None);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{usage}"));
        match arg.as_str() {
            "--to" => to = Some(value("--to")?),
            "--limit" => limit = Some(value("--limit")?.parse::<u64>()?),
            "--group" => group = Some(value("--group")?),
            "--dry-run" => dry_run = true,
            "-h" | "--help" => {
                println!("{usage}");
                return Ok(ExitCode::SUCCESS);
            }
            topic if options.is_none() && !topic.starts_with('-') => {
                options = Some(ReprocessOptions::new(topic));
            }
            other => return Err(format!("unexpected argument {other:?}\n{usage}").into()),
        }
    }
    let mut options = options.ok_or(usage)?;
    options.to = to;
    options.limit = limit;
    options.dry_run = dry_run;
    options.group = group;
    let config = KafkaConfig::from_env()?;
    let report = reprocess(&config, &options)?;
    let skipped: u64 = report.skipped.values().sum();
    let verb = if report.dry_run {
        "would_move"
    } else {
        "moved"
    };
    println!(
        "{verb}={} failed={} skipped={skipped}",
        report.moved, report.failed
    );
    for (topic, n) in &report.per_target {
        println!("  to {topic}: {n}");
    }
    for (reason, n) in &report.skipped {
        println!("  skipped ({reason}): {n}");
    }
    Ok(if report.failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
