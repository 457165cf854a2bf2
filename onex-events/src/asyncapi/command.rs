//! The subcommands a node binary adds with one line in `main`: `catalog`
//! and `asyncapi [--yaml] [-o FILE]`, which print what is compiled into it.

use super::document::{catalogs_json, document};
use super::format::to_yaml;
use super::options::DocumentOptions;
use super::AsyncApiError;
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The subcommands of a node binary: `catalog` prints the event catalogs
/// compiled into it, as JSON; `asyncapi` its AsyncAPI 3.0 document (JSON,
/// or YAML with `--yaml`) on stdout or into a file (`-o FILE`). The
/// document's title is the binary's name, its settings those of the
/// environment ([`DocumentOptions::from_env`]) unless given.
///
/// Called first thing in `main`, it handles the arguments only when they
/// start with one of its subcommands, and says so by returning the exit
/// code; otherwise `main` goes on:
///
/// ```no_run
/// use std::process::ExitCode;
///
/// fn main() -> ExitCode {
///     if let Some(code) = onex_events::asyncapi::Subcommands::new(env!("CARGO_PKG_VERSION")).run() {
///         return code;
///     }
///     // .. the node's own work
///     ExitCode::SUCCESS
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Subcommands {
    version: String,
    title: Option<String>,
    options: Option<DocumentOptions>,
}

#[derive(Debug, Parser)]
#[command(about = "What this node binary publishes and consumes, from its compiled catalogs")]
enum Command {
    /// Print the event catalogs compiled into this binary, as JSON.
    Catalog,
    /// Print this binary's AsyncAPI 3.0 document.
    Asyncapi {
        /// YAML instead of JSON.
        #[arg(long)]
        yaml: bool,
        /// Write the document to FILE instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// The names of the subcommands.
const NAMES: [&str; 2] = ["catalog", "asyncapi"];

impl Subcommands {
    /// The subcommands of a binary of version `version` (its
    /// `env!("CARGO_PKG_VERSION")`).
    pub fn new(version: impl Into<String>) -> Self {
        Subcommands {
            version: version.into(),
            title: None,
            options: None,
        }
    }

    /// The document's title (default: the binary's file name).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The document's settings, title and version included, instead of
    /// those of the environment.
    pub fn options(mut self, options: DocumentOptions) -> Self {
        self.options = Some(options);
        self
    }

    /// Handles the process's arguments if they start with `catalog` or
    /// `asyncapi` (`--help` included): prints to stdout, errors to
    /// stderr, and returns the exit code. `None`: not a subcommand of
    /// these; `main` goes on.
    pub fn run(self) -> Option<ExitCode> {
        let stdout = std::io::stdout();
        let stderr = std::io::stderr();
        self.run_with(std::env::args_os(), &mut stdout.lock(), &mut stderr.lock())
    }

    /// [`Subcommands::run`] with the arguments `args` (the binary's name
    /// first), writing to `out` and `err`.
    pub fn run_with<I, T>(
        self,
        args: I,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Option<ExitCode>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let first = args.get(1)?.to_str()?;
        if !NAMES.contains(&first) {
            return None;
        }
        let binary = args
            .first()
            .map(Path::new)
            .and_then(Path::file_stem)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "node".to_owned());
        let command = match Command::try_parse_from(&args) {
            Ok(command) => command,
            Err(e) => {
                // `--help` is an "error" printed to stdout, with code 0.
                let text = e.render().to_string();
                let target: &mut dyn Write = if e.use_stderr() { err } else { out };
                let _ = write!(target, "{text}");
                return Some(ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)));
            }
        };
        let title = self.title.clone().unwrap_or(binary);
        match self.execute(command, title, out) {
            Ok(()) => Some(ExitCode::SUCCESS),
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                Some(ExitCode::FAILURE)
            }
        }
    }

    fn execute(
        self,
        command: Command,
        title: String,
        out: &mut dyn Write,
    ) -> Result<(), AsyncApiError> {
        let (text, output) = match command {
            Command::Catalog => (pretty(&catalogs_json()), None),
            Command::Asyncapi { yaml, output } => {
                let options = match self.options {
                    Some(options) => options,
                    None => DocumentOptions::from_env(title, self.version)?,
                };
                let doc = document(&options);
                let text = if yaml { to_yaml(&doc)? } else { pretty(&doc) };
                (text, output)
            }
        };
        match output {
            Some(path) => std::fs::write(&path, text).map_err(|source| AsyncApiError::Io {
                path: path.display().to_string(),
                source,
            }),
            None => out
                .write_all(text.as_bytes())
                .map_err(|source| AsyncApiError::Io {
                    path: "stdout".to_owned(),
                    source,
                }),
        }
    }
}

/// `value` as indented JSON, with a final newline.
fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
