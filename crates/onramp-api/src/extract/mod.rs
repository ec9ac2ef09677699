//! Request extractors that answer malformed input with onramp's error shape, naming the field at fault.

pub mod objects;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
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
    // Without tracking paths first: nearly every body parses, and only an error needs the path, so a body
    // that fails is parsed again, the same way, keeping the path this time.
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    if let Ok(message) = T::deserialize(objects::Objects::body(&mut deserializer))
        && deserializer.end().is_ok()
    {
        return Ok(message);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let message = serde_path_to_error::deserialize(objects::Objects::body(&mut deserializer)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if let Some(field) = duplicate_field(&path, &inner.to_string()) {
            ApiError::invalid_field(&field, DUPLICATE)
        } else if path == "." || inner.is_syntax() || inner.is_eof() {
            ApiError::invalid_field("body", format!("malformed JSON: {inner}"))
        } else {
            ApiError::invalid_field(&path, strip_position(&inner.to_string()))
        }
    })?;
    // Text after the object (`{} {}`) is malformed JSON too.
    deserializer.end().map_err(|error| ApiError::invalid_field("body", format!("malformed JSON: {error}")))?;
    Ok(message)
}

/// Why a field given twice is refused.
const DUPLICATE: &str = "given more than once (a field takes its JSON name or its proto name, not both)";

/// The path of the field that serde's "duplicate field `x`" error (raised by the message holding `x`, whose
/// path is `parent`) names.
fn duplicate_field(parent: &str, message: &str) -> Option<String> {
    let field = message.strip_prefix("duplicate field `")?.split('`').next()?;
    Some(if parent == "." || parent.is_empty() { field.to_string() } else { format!("{parent}.{field}") })
}

/// The query parameters of a request, parsed into `T` (whose fields are the snake_case parameter names).
/// Like [`ApiJson`] it answers a bad parameter with onramp's error naming it, never the framework's
/// text/plain; every parameter is also accepted under its JSON name (`pageSize` for `page_size`), integers
/// read as [`objects`] reads them, and a parameter given twice is refused. Every list takes its parameters
/// through it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Parses query parameters, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    let deserializer = objects::Objects(pairs, objects::Names::JsonNames);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        match duplicate_field(&path, &message) {
            Some(field) => ApiError::invalid_field(&field, "given more than once"),
            None if path == "." || path.is_empty() => ApiError::invalid_field("query", message),
            None => ApiError::invalid_field(&path, message),
        }
    })
}

/// Renames the proto names among the keys of `value`'s objects, at every level, to their JSON names
/// (`accept_terms` → `acceptTerms`), refusing a key given under both names, with `path` the field `value` is.
/// For the few inputs read from a `serde_json::Value` through `#[serde(flatten)]` (a flow's steps), which
/// [`objects`] cannot reach; every key of such an input must be a field name, never free-form data.
pub fn json_names(value: &mut serde_json::Value, path: &str) -> Result<(), ApiError> {
    match value {
        serde_json::Value::Object(map) => {
            let snake: Vec<String> = map.keys().filter(|key| key.contains('_')).cloned().collect();
            for key in snake {
                let json = objects::json_name(&key);
                if map.contains_key(&json) {
                    return Err(ApiError::invalid_field(&format!("{path}.{json}"), DUPLICATE));
                }
                let moved = map.remove(&key).expect("the key is in the map");
                map.insert(json, moved);
            }
            for (key, nested) in map.iter_mut() {
                json_names(nested, &format!("{path}.{key}"))?;
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                json_names(item, &format!("{path}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
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

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Search {
        role_ids: Option<Vec<String>>,
        page_size: Option<i64>,
        expand_mask: Option<Mask>,
    }

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Mask {
        extra_paths: Option<Vec<String>>,
    }

    #[derive(serde::Deserialize, Debug, Default)]
    #[serde(default)]
    struct Snake {
        invitation_id: Option<String>,
    }

    #[test]
    fn proto_names_are_read_as_json_names_at_every_level() {
        let search: Search =
            parse_json(br#"{"role_ids": ["a"], "page_size": "7", "expand_mask": {"extra_paths": ["x"]}}"#).unwrap();
        assert_eq!(search.role_ids.unwrap(), ["a"]);
        assert_eq!(search.page_size, Some(7));
        assert_eq!(search.expand_mask.unwrap().extra_paths.unwrap(), ["x"]);
        let error = parse_json::<Search>(br#"{"roleIds": [], "role_ids": []}"#).unwrap_err();
        assert!(error.message.starts_with("invalid roleIds: given more than once"), "{}", error.message);
        let error = parse_json::<Search>(br#"{"expandMask": {"extraPaths": [], "extra_paths": null}}"#).unwrap_err();
        assert!(error.message.starts_with("invalid expandMask.extraPaths: given more than once"), "{}", error.message);
        // A snake_case message keeps its own names only.
        assert_eq!(parse_json::<Snake>(br#"{"invitation_id": "i"}"#).unwrap().invitation_id.as_deref(), Some("i"));
        assert_eq!(parse_json::<Snake>(br#"{"invitationId": "i"}"#).unwrap().invitation_id, None);
    }

    #[test]
    fn integers_from_numbers_strings_and_integral_floats() {
        for body in [r#"{"pageSize": 7}"#, r#"{"pageSize": "7"}"#, r#"{"pageSize": 7.0}"#, r#"{"pageSize": 0.7e1}"#] {
            assert_eq!(parse_json::<Search>(body.as_bytes()).unwrap().page_size, Some(7), "{body}");
        }
        for body in [r#"{"pageSize": "7.5"}"#, r#"{"pageSize": 7.5}"#, r#"{"pageSize": " 7"}"#, r#"{"pageSize": true}"#]
        {
            let error = parse_json::<Search>(body.as_bytes()).unwrap_err();
            assert!(error.message.starts_with("invalid pageSize:"), "{body}: {}", error.message);
        }
    }

    #[derive(serde::Deserialize, Debug)]
    struct Query {
        page_size: Option<i64>,
        page_token: Option<String>,
    }

    #[test]
    fn query_parameters_by_both_names() {
        for query in ["page_size=7&page_token=t", "pageSize=7&pageToken=t"] {
            let parsed: Query = parse_query(query).unwrap();
            assert_eq!((parsed.page_size, parsed.page_token.as_deref()), (Some(7), Some("t")), "{query}");
        }
        let error = parse_query::<Query>("page_size=abc").unwrap_err();
        assert!(error.message.starts_with("invalid page_size:"), "{}", error.message);
        let error = parse_query::<Query>("page_size=1&pageSize=2").unwrap_err();
        assert_eq!(error.message, "invalid page_size: given more than once");
        assert!(parse_query::<Query>("").is_ok());
    }
}
