//! The one error type of the ConductorOne-style surfaces: `{"code", "message", "details"}` with the gRPC code
//! as an integer and the usual gRPC-to-HTTP status mapping.
//!
//! Client mistakes carry a message that names the field at fault. Server faults are logged with their cause
//! and answered with a generic message: a database error's text never reaches a client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onramp_store::StoreError;
use serde_json::{Value, json};

pub use onramp_core::{Code, CoreError};

/// The one status map: the HTTP status of each code (the HTML pages use it too).
pub fn status_of(code: Code) -> StatusCode {
    match code {
        Code::InvalidArgument | Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    pub details: Vec<Value>,
    /// The HTTP status, where it is not the one the code maps to (413 for a body over the limit).
    pub http_status: Option<StatusCode>,
    /// Seconds to wait before retrying, sent as `Retry-After` (a refusal by a limit).
    pub retry_after: Option<u64>,
    /// The challenges of a 401, each sent as a `WWW-Authenticate` header (RFC 9110 §11.6.1).
    pub challenges: Vec<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The realm of onramp's authentication challenges.
pub(crate) const REALM: &str = "onramp";

/// The challenge of a 401 that names no other: a Bearer token, as the API takes (RFC 6750 §3).
pub(crate) const BEARER_CHALLENGE: &str = "Bearer realm=\"onramp\"";

/// The challenge for an HTTP Basic user and password (RFC 7617).
pub(crate) const BASIC_CHALLENGE: &str = "Basic realm=\"onramp\", charset=\"UTF-8\"";

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        CoreError::new(code, message).into()
    }

    /// A bad value in one field: the message names it, and a `google.rpc.BadRequest` detail carries it too.
    pub fn invalid_field(field: &str, description: impl std::fmt::Display) -> Self {
        CoreError::invalid_field(field, description).into()
    }

    /// 429 RESOURCE_EXHAUSTED from a limit, with `Retry-After`.
    pub fn too_many(message: impl Into<String>, seconds: u64) -> Self {
        CoreError::too_many(message, seconds).into()
    }

    /// A request body longer than the server reads: INVALID_ARGUMENT naming the body, with HTTP 413.
    pub fn body_too_large(limit: usize) -> Self {
        let error = Self::invalid_field("body", format!("longer than the limit of {limit} bytes"));
        ApiError { http_status: Some(StatusCode::PAYLOAD_TOO_LARGE), ..error }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        CoreError::not_found(what).into()
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        CoreError::unauthenticated(message).into()
    }

    /// The error with `challenge` added to its `WWW-Authenticate` headers.
    pub fn with_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.challenges.push(challenge.into());
        self
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        CoreError::permission_denied(message).into()
    }

    /// A server fault: the cause goes to the log, the client gets a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        CoreError::internal(cause).into()
    }
}

impl From<CoreError> for ApiError {
    fn from(error: CoreError) -> Self {
        let CoreError { code, message, details, retry_after } = error;
        ApiError { code, message, details, http_status: None, retry_after, challenges: Vec::new() }
    }
}

/// A surface's parse error, from a closure that builds a use case's input.
impl From<ApiError> for CoreError {
    fn from(error: ApiError) -> Self {
        let ApiError { code, message, details, retry_after, .. } = error;
        CoreError { code, message, details, retry_after }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        CoreError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    /// Every 401 carries at least one challenge (RFC 9110 §15.5.2): the error's own, else the API's Bearer.
    fn into_response(mut self) -> Response {
        let status = self.http_status.unwrap_or(status_of(self.code));
        if status == StatusCode::UNAUTHORIZED && self.challenges.is_empty() {
            self.challenges.push(BEARER_CHALLENGE.to_string());
        }
        let body = json!({ "code": self.code as i32, "message": self.message, "details": self.details });
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        for challenge in &self.challenges {
            // Challenges are built from constant text; one that is not a header value is dropped, not sent.
            if let Ok(value) = axum::http::HeaderValue::from_str(challenge) {
                response.headers_mut().append(axum::http::header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_statuses() {
        assert_eq!(status_of(Code::InvalidArgument), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(status_of(Code::AlreadyExists), StatusCode::CONFLICT);
        assert_eq!(status_of(Code::Unavailable), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn every_401_challenges() {
        let challenges = |error: ApiError| -> Vec<String> {
            let response = error.into_response();
            let values = response.headers().get_all(axum::http::header::WWW_AUTHENTICATE);
            values.iter().map(|value| value.to_str().unwrap().to_string()).collect()
        };
        assert_eq!(challenges(ApiError::unauthenticated("no")), ["Bearer realm=\"onramp\""]);
        assert_eq!(challenges(ApiError::new(Code::Unauthenticated, "no")), ["Bearer realm=\"onramp\""]);
        assert_eq!(
            challenges(ApiError::unauthenticated("no").with_challenge(BASIC_CHALLENGE)),
            ["Basic realm=\"onramp\", charset=\"UTF-8\""]
        );
        assert_eq!(
            challenges(ApiError::unauthenticated("no").with_challenge("Bearer realm=\"x\"")),
            ["Bearer realm=\"x\""]
        );
        assert!(challenges(ApiError::permission_denied("no")).is_empty());
    }
}
