//! `onex-events asyncapi check`: the check across the AsyncAPI documents of
//! several services (see `onex_events::asyncapi::check_services`).

use clap::Subcommand;
use onex_events::asyncapi::{check_services, read_document, ServiceDocument};
use std::error::Error;
use std::path::PathBuf;

/// AsyncAPI documents.
#[derive(Debug, Subcommand)]
pub enum AsyncapiCommand {
    /// Checks the AsyncAPI documents of several services against each
    /// other: lists every event type a service handles that none publishes,
    /// and every payload schema that differs between producer and consumer.
    /// Exits 1 when there is one.
    ///
    /// Each node binary prints its document with `asyncapi -o FILE`.
    Check {
        /// The documents, JSON or YAML, one per service (named by their
        /// `info.title`, else by the file).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

impl AsyncapiCommand {
    /// Runs the command; the report goes to stdout.
    pub fn run(self) -> Result<(), Box<dyn Error>> {
        let AsyncapiCommand::Check { files } = self;
        let mut services = Vec::with_capacity(files.len());
        for file in &files {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(file).map_err(|e| format!("{name}: {e}"))?;
            let document = read_document(&text, &name)?;
            let service = match document["info"]["title"].as_str() {
                Some(_) => ServiceDocument::new(document),
                None => ServiceDocument::named(name, document),
            };
            services.push(service);
        }
        let report = check_services(&services);
        print!("{report}");
        if report.is_clean() {
            return Ok(());
        }
        Err(format!(
            "{} event type(s) published by no service, {} payload mismatch(es)",
            report.unpublished.len(),
            report.mismatches.len()
        )
        .into())
    }
}
