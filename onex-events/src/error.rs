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
    /// A service or namespace holds characters Kafka topic names cannot:
    /// the default routings would replace them by `_`, so two different
    /// names (`a/b`, `a_b`) would share their topics unnoticed.
    #[error(
        "{field} {value:?} may hold only ASCII letters, digits, `.`, `_` and `-` (it names Kafka topics)"
    )]
    NotATopicName {
        /// The field: `service` or `namespace`.
        field: &'static str,
        /// The value given.
        value: String,
    },
}
