//! Request extractors that answer malformed input with onramp's error shape, naming the field at fault.

pub mod objects;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body holding one request message. Unlike `axum::Json` it does not insist on a content type
/// (clients differ), treats an empty body and `null` as `{}` (the SDKs send none for some POSTs), and reports
/// the path of the field that failed to parse. The body and every message in it must be a JSON object
/// ([`objects`]); a body over [`crate::MAX_BODY_BYTES`] is 413. Unknown fields are ignored, as the protojson
/// decoders of the ConductorOne SDKs' servers do by default in the gateway; `null` is accepted wherever the
/// field type is an `Option` or has a default.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::body_too_large(crate::MAX_BODY_BYTES)
            } else {
                ApiError::invalid_field("body", "could not read the request body")
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses one request message from JSON, naming the failing field by its path (`expandMask.paths[2]`).
/// Empty input and `null` are the empty message; anything else must be an object.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let text = bytes.trim_ascii();
    let bytes: &[u8] = if text.is_empty() || text == b"null" { b"{}" } else { bytes };
    if !text.is_empty() && text[0] != b'{' && text != b"null" {
        // Only a syntax error is worth more than "not an object".
        if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(text) {
            return Err(ApiError::invalid_field("body", format!("malformed JSON: {error}")));
        }
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let message = serde_path_to_error::deserialize(objects::Objects(&mut deserializer)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." || inner.is_syntax() || inner.is_eof() {
            ApiError::invalid_field("body", format!("malformed JSON: {inner}"))
        } else {
            ApiError::invalid_field(&path, strip_position(&inner.to_string()))
        }
    })?;
    // Text after the object (`{} {}`) is malformed JSON too.
    deserializer.end().map_err(|error| ApiError::invalid_field("body", format!("malformed JSON: {error}")))?;
    Ok(message)
}

/// serde_json appends " at line 1 column 42" to messages; the field path says more to a client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        page_size: Option<u32>,
        #[serde(default)]
        nested: Nested,
    }

    #[derive(serde::Deserialize, Debug, Default)]
    #[allow(dead_code)]
    struct Nested {
        paths: Option<Vec<String>>,
    }

    #[test]
    fn names_the_field_at_fault() {
        let error = parse_json::<Body>(br#"{"pageSize": "ten"}"#).unwrap_err();
        assert!(error.message.contains("pageSize"), "{}", error.message);
        let error = parse_json::<Body>(br#"{"nested": {"paths": [1]}}"#).unwrap_err();
        assert!(error.message.contains("nested.paths[0]"), "{}", error.message);
    }

    #[test]
    fn malformed_and_empty_bodies() {
        let error = parse_json::<Body>(b"{not json").unwrap_err();
        assert!(error.message.starts_with("invalid body: malformed JSON"), "{}", error.message);
        assert!(parse_json::<Body>(b"").is_ok());
        assert!(parse_json::<Body>(b" null\n").is_ok());
        assert!(parse_json::<Body>(br#"{"pageSize": null, "unknown": 1}"#).is_ok());
        let error = parse_json::<Body>(b"{} {}").unwrap_err();
        assert!(error.message.starts_with("invalid body: malformed JSON"), "{}", error.message);
    }

    #[test]
    fn the_body_and_its_messages_are_objects() {
        for body in ["[null, null]", "[]", "42", "\"x\"", "true"] {
            let error = parse_json::<Body>(body.as_bytes()).unwrap_err();
            assert_eq!(error.message, "invalid body: must be a JSON object", "{body}");
            let error = parse_json::<serde_json::Value>(body.as_bytes()).unwrap_err();
            assert_eq!(error.message, "invalid body: must be a JSON object", "{body} as any value");
        }
        let error = parse_json::<Body>(br#"{"nested": [null]}"#).unwrap_err();
        assert_eq!(error.message, "invalid nested: invalid type: sequence, expected a JSON object");
    }
}
