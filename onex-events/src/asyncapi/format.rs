//! Documents as YAML, and read back from JSON or YAML.

use super::error::AsyncApiError;
use serde_json::Value;

/// `document` as YAML.
pub fn to_yaml(document: &Value) -> Result<String, AsyncApiError> {
    serde_norway::to_string(document).map_err(|e| AsyncApiError::Yaml(e.to_string()))
}

/// A document from JSON or YAML text; `source_name` (a file name) is for
/// the error.
pub fn read_document(text: &str, source_name: &str) -> Result<Value, AsyncApiError> {
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    serde_norway::from_str(text).map_err(|e| AsyncApiError::Unreadable {
        source_name: source_name.to_owned(),
        reason: e.to_string(),
    })
}
