//! Wire forms of domain objects on the ConductorOne surface (protojson: lowerCamelCase, enums by full
//! name, RFC 3339 times, 64-bit integers as strings).

pub mod app;
pub mod directory;
pub mod mask;
pub mod settings;
pub mod user;
pub mod user_input;

use crate::error::{ApiError, ApiResult};

/// Free text of at most `max` characters on one line, trimmed: no control characters, because names and
/// purposes go into emails and pages, where a line break could pass for onramp's own text.
pub(crate) fn one_line(field: &str, value: Option<&str>, max: usize) -> ApiResult<String> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.chars().count() > max {
        return Err(ApiError::invalid_field(field, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(field, "must not contain control characters such as line breaks"));
    }
    Ok(value.to_string())
}
