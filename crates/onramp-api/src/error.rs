//! The one error type of the ConductorOne-style surfaces: `{"code", "message", "details"}` with the gRPC code
//! as an integer and the usual gRPC-to-HTTP status mapping.
//!
//! Client mistakes carry a message that names the field at fault. Server faults are logged with their cause
//! and answered with a generic message: a database error's text never reaches a client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onramp_store::{SecretRefusal, StoreError};
use serde_json::{Value, json};

/// gRPC status codes used by onramp, with their numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    Unauthenticated = 16,
}

impl Code {
    fn status(self) -> StatusCode {
        match self {
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
fn default_challenge() -> String {
    format!("Bearer realm=\"{REALM}\"")
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: Vec::new(),
            http_status: None,
            retry_after: None,
            challenges: Vec::new(),
        }
    }

    /// A bad value in one field: the message names it, and a `google.rpc.BadRequest` detail carries it too.
    pub fn invalid_field(field: &str, description: impl std::fmt::Display) -> Self {
        let description = description.to_string();
        ApiError {
            code: Code::InvalidArgument,
            message: format!("invalid {field}: {description}"),
            details: vec![json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{ "field": field, "description": description }],
            })],
            http_status: None,
            retry_after: None,
            challenges: Vec::new(),
        }
    }

    /// 429 RESOURCE_EXHAUSTED from a limit: the client may retry after `seconds`, which the response says in
    /// `Retry-After` and in a `google.rpc.RetryInfo` detail.
    pub fn too_many(message: impl Into<String>, seconds: u64) -> Self {
        ApiError {
            code: Code::ResourceExhausted,
            message: message.into(),
            details: vec![json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{seconds}s"),
            })],
            http_status: None,
            retry_after: Some(seconds),
            challenges: Vec::new(),
        }
    }

    /// A request body longer than the server reads: INVALID_ARGUMENT naming the body, with HTTP 413.
    pub fn body_too_large(limit: usize) -> Self {
        let error = Self::invalid_field("body", format!("longer than the limit of {limit} bytes"));
        ApiError { http_status: Some(StatusCode::PAYLOAD_TOO_LARGE), ..error }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthenticated, message)
    }

    /// A 401 for a wrong HTTP Basic user and password (RFC 7617).
    pub fn unauthenticated_basic(message: impl Into<String>) -> Self {
        Self::unauthenticated(message).with_challenge(format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""))
    }

    /// The error with `challenge` added to its `WWW-Authenticate` headers.
    pub fn with_challenge(mut self, challenge: impl Into<String>) -> Self {
        self.challenges.push(challenge.into());
        self
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(Code::PermissionDenied, message)
    }

    /// Why an invitation link cannot be used: each case has its own message, so that an invitee knows
    /// whether to ask for a new invitation or sign in.
    pub fn refused(refusal: SecretRefusal) -> Self {
        match refusal {
            SecretRefusal::Unknown => Self::new(
                Code::NotFound,
                "this invitation link is not valid: check that it was copied whole, or use the newest invitation email",
            ),
            SecretRefusal::Expired => {
                Self::new(Code::FailedPrecondition, "this invitation has expired; ask the sender for a new one")
            }
            SecretRefusal::Revoked => {
                Self::new(Code::FailedPrecondition, "this invitation was revoked; ask the sender for a new one")
            }
            SecretRefusal::Used => {
                Self::new(Code::AlreadyExists, "this invitation has already been accepted; sign in instead")
            }
        }
    }

    /// A server fault: the cause goes to the log, the client gets a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Code::Internal, "internal error")
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::new(Code::NotFound, "not found"),
            StoreError::Conflict { constraint } => Self::new(Code::AlreadyExists, conflict_message(constraint)),
            StoreError::Invalid { field, message } => Self::invalid_field(field, message),
            StoreError::WrongState(message) => Self::new(Code::FailedPrecondition, message),
            StoreError::Refused(refusal) => Self::refused(refusal),
            error if error.is_contention() => {
                tracing::warn!(%error, "transaction gave way to a concurrent one");
                Self::new(Code::Aborted, "a concurrent request changed the same data; try again")
            }
            error if error.is_unavailable() => {
                tracing::error!(%error, "database unavailable");
                Self::new(Code::Unavailable, "database unavailable, try again")
            }
            other => Self::internal(other),
        }
    }
}

/// What a broken uniqueness rule means to a client.
fn conflict_message(constraint: &str) -> &'static str {
    match constraint {
        "users_email_live" => "a user with this email already exists",
        "credentials_client_id" => "a credential with this client id already exists",
        "invitations_pending_email" => "a pending invitation for this email already exists in this directory",
        "local_directories_pkey" => "this app is a local directory already",
        "local_directories_default" => "another directory became the default at the same time; try again",
        _ => "already exists",
    }
}

impl IntoResponse for ApiError {
    /// Every 401 carries at least one challenge (RFC 9110 §15.5.2): the error's own, else the API's Bearer.
    fn into_response(mut self) -> Response {
        let status = self.http_status.unwrap_or(self.code.status());
        if status == StatusCode::UNAUTHORIZED && self.challenges.is_empty() {
            self.challenges.push(default_challenge());
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
        assert_eq!(Code::InvalidArgument.status(), StatusCode::BAD_REQUEST);
        assert_eq!(Code::Unauthenticated.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Code::AlreadyExists.status(), StatusCode::CONFLICT);
        assert_eq!(Code::Unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
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
        assert_eq!(challenges(ApiError::unauthenticated_basic("no")), ["Basic realm=\"onramp\", charset=\"UTF-8\""]);
        assert_eq!(
            challenges(ApiError::unauthenticated("no").with_challenge("Bearer realm=\"x\"")),
            ["Bearer realm=\"x\""]
        );
        assert!(challenges(ApiError::permission_denied("no")).is_empty());
    }

    #[test]
    fn invalid_references_name_their_field() {
        let error = ApiError::from(StoreError::Invalid { field: "managerIds", message: "no user".into() });
        assert_eq!(error.code, Code::InvalidArgument);
        assert_eq!(error.message, "invalid managerIds: no user");
    }

    #[test]
    fn store_errors_never_leak_their_text() {
        let error = ApiError::from(StoreError::Corrupt("users.email at row 7".into()));
        assert_eq!(error.code, Code::Internal);
        assert_eq!(error.message, "internal error");
    }
}
