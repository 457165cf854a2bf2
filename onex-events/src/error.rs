//! Errors of configuration: what a user can get wrong at run time.

/// A node or publisher was configured wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required identity field is empty.
    #[error("{field} must not be empty")]
    Empty {
        /// The field, e.g. `node_id`.
        field: &'static str,
    },
    /// An identity field holds characters that break routing or logs.
    ///
    /// The message shows the value escaped as Rust's `str::escape_debug`
    /// does (`\n`, `\u{1b}`, `\\`, ...), so a control character in it
    /// cannot forge or hide lines of a log; `value` holds it as given.
    #[error("{field} `{}` contains whitespace or control characters", .value.escape_debug())]
    InvalidCharacters {
        /// The field.
        field: &'static str,
        /// The value given, unescaped.
        value: String,
    },
}
