//! What can go wrong writing, reading or checking documents.

/// An AsyncAPI document could not be built, written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AsyncApiError {
    /// The Kafka environment variables are invalid.
    #[error(transparent)]
    Config(#[from] crate::kafka::KafkaConfigError),
    /// Writing YAML failed.
    #[error("writing YAML: {0}")]
    Yaml(String),
    /// A document is neither JSON nor YAML.
    #[error("{source_name}: not a JSON or YAML document: {reason}")]
    Unreadable {
        /// The file (or other source) it came from.
        source_name: String,
        /// The parser's message.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}
