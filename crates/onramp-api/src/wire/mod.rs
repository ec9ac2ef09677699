//! Wire forms of domain objects on the ConductorOne surface (protojson: lowerCamelCase, enums by full
//! name, RFC 3339 times, 64-bit integers as strings).

pub mod app;
pub mod directory;
pub mod enums;
pub mod mask;
pub mod settings;
pub mod tenant_settings;
pub mod user;
pub mod user_input;

use onramp_domain::text::{TextKind, check_text};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

/// One page of a list response: `{ "list": [...], "nextPageToken": "" }`, the token empty on the last page.
#[derive(Serialize, Debug, Clone, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListBody<T> {
    pub list: Vec<T>,
    pub next_page_token: String,
}

/// The empty response body `{}` of operations that answer only with success.
#[derive(Serialize, Debug, Clone, Copy, Default, JsonSchema)]
pub struct Empty {}

/// A wire body as a JSON value, for the one place that adds to bodies after building them (search's
/// expansion paths and `@type`).
pub(crate) fn to_value(body: &impl Serialize) -> Value {
    serde_json::to_value(body).expect("wire bodies are JSON objects with string keys")
}

/// A wire body as JSON text (what the search view cache keeps).
pub(crate) fn to_text(body: &impl Serialize) -> String {
    serde_json::to_string(body).expect("wire bodies are JSON objects with string keys")
}

/// Checks `value` by onramp's one rule for text (`onramp_domain::text`, which lists the multi-line fields),
/// naming `field` when it is refused.
pub(crate) fn checked_text(field: &str, value: &str, kind: TextKind, max: usize) -> ApiResult<()> {
    check_text(value, kind, max).map_err(|problem| ApiError::invalid_field(field, problem))
}

/// Free text of at most `max` characters on one line, trimmed: no control characters, because names and
/// purposes go into emails and pages, where a line break could pass for onramp's own text.
pub(crate) fn one_line(field: &str, value: Option<&str>, max: usize) -> ApiResult<String> {
    Ok(onramp_core::invitations::one_line(field, value, max)?)
}

/// Free text of at most `max` characters that may run over several lines (descriptions, terms), kept as
/// written: line breaks and tabs are allowed, other control characters are not.
pub(crate) fn multi_line(field: &str, value: Option<&str>, max: usize) -> ApiResult<String> {
    let value = value.unwrap_or_default();
    checked_text(field, value, TextKind::MultiLine, max)?;
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_empty_bodies_have_their_exact_text() {
        let page = ListBody { list: vec!["a", "b"], next_page_token: String::new() };
        assert_eq!(to_text(&page), r#"{"list":["a","b"],"nextPageToken":""}"#);
        assert_eq!(to_text(&Empty {}), "{}");
    }
}
