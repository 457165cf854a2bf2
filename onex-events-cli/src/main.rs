//! `onex-events`: command-line tools for ONEX event topics on Kafka. It
//! reads the same environment variables as the library
//! (`KAFKA_BOOTSTRAP_SERVERS`, `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_*`, ..).

/// `println!` that returns the write's error instead of panicking: a
/// reader that closed the pipe (`| head`) ends the command quietly.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

/// `print!`, likewise.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)
    }};
}

mod asyncapi;
mod cluster;
mod dlq;
mod publish;
mod record;
mod tail;
mod trace;

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
    /// Print the events of topics as they arrive (or from the beginning).
    Tail(tail::TailArgs),
    /// Publish test events, from flags or JSON lines on stdin.
    Publish(publish::PublishArgs),
    /// Print the causation tree of one request as a waterfall.
    Trace(trace::TraceArgs),
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
                // librdkafka's connection warnings would bury the command's
                // own error; RUST_LOG=warn shows them.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,librdkafka=error")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tail(args) => args.run(),
        Command::Publish(args) => args.run(),
        Command::Trace(args) => args.run(),
        Command::Dlq(command) => command.run(),
        Command::Asyncapi(command) => command.run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_closed_pipe(&*error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("onex-events: {error}");
            ExitCode::FAILURE
        }
    }
}

/// True if `error` is a write to a pipe its reader closed.
fn is_closed_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
