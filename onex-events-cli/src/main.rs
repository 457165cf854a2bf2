//! `onex-events`: command-line tools for ONEX event topics on Kafka. It
//! reads the same environment variables as the library
//! (`KAFKA_BOOTSTRAP_SERVERS`, `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_*`, ..).

mod asyncapi;
mod dlq;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Tools for ONEX event topics on Kafka.
#[derive(Debug, Parser)]
#[command(name = "onex-events", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Dead-letter topics.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
    /// AsyncAPI documents: the check across services.
    #[command(subcommand)]
    Asyncapi(asyncapi::AsyncapiCommand),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dlq(command) => command.run(),
        Command::Asyncapi(command) => command.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("onex-events: {error}");
            ExitCode::FAILURE
        }
    }
}
