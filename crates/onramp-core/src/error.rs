//! The one error type of the use cases: a gRPC code, a message for the client and the details that name
//! the field at fault or the time to wait. Every surface maps it to its own form (the API's `{code, message,
//! details}` with an HTTP status, the pages' HTML) through one status map in `onramp-api`.
//!
//! Client mistakes carry a message that names the field at fault. Server faults are logged with their cause
//! and carry a generic message: a database error's text never reaches a client.

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

#[derive(Debug)]
pub struct CoreError {
    pub code: Code,
    pub message: String,
    pub details: Vec<Value>,
    /// Seconds to wait before retrying (a refusal by a limit).
    pub retry_after: Option<u64>,
}

pub type CoreResult<T> = Result<T, CoreError>;

impl CoreError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        CoreError { code, message: message.into(), details: Vec::new(), retry_after: None }
    }

    /// A bad value in one field: the message names it, and a `google.rpc.BadRequest` detail carries it too.
    pub fn invalid_field(field: &str, description: impl std::fmt::Display) -> Self {
        let description = description.to_string();
        CoreError {
            code: Code::InvalidArgument,
            message: format!("invalid {field}: {description}"),
            details: vec![json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{ "field": field, "description": description }],
            })],
            retry_after: None,
        }
    }

    /// RESOURCE_EXHAUSTED from a limit: the client may retry after `seconds`, which a `google.rpc.RetryInfo`
    /// detail says (and the API's `Retry-After`).
    pub fn too_many(message: impl Into<String>, seconds: u64) -> Self {
        CoreError {
            code: Code::ResourceExhausted,
            message: message.into(),
            details: vec![json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{seconds}s"),
            })],
            retry_after: Some(seconds),
        }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthenticated, message)
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

    /// Why an approval link cannot decide: used already, or expired.
    pub fn refused_link(refusal: SecretRefusal) -> Self {
        match refusal {
            SecretRefusal::Used => Self::new(Code::AlreadyExists, "this approval link has been used already"),
            SecretRefusal::Expired => Self::new(Code::FailedPrecondition, "this approval link has expired"),
            SecretRefusal::Unknown | SecretRefusal::Revoked => Self::not_found("this approval link is not valid"),
        }
    }

    /// A server fault: the cause goes to the log, the client gets a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Code::Internal, "internal error")
    }
}

impl std::fmt::Display for CoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CoreError {}

impl From<StoreError> for CoreError {
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
        "users_external_id_live" => "a user with this externalId already exists",
        "users_user_name_live" => "a directory user with this userName already exists",
        "scim_groups_name" => "a group with this displayName already exists",
        "scim_groups_external_id" => "a group with this externalId already exists",
        "credentials_client_id" => "a credential with this client id already exists",
        "invitations_pending_email" => "a pending invitation for this email already exists in this directory",
        "local_directories_pkey" => "this app is a local directory already",
        "local_directories_default" => "another directory became the default at the same time; try again",
        _ => "already exists",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_references_name_their_field() {
        let error = CoreError::from(StoreError::Invalid { field: "managerIds", message: "no user".into() });
        assert_eq!(error.code, Code::InvalidArgument);
        assert_eq!(error.message, "invalid managerIds: no user");
    }

    #[test]
    fn store_errors_never_leak_their_text() {
        let error = CoreError::from(StoreError::Corrupt("users.email at row 7".into()));
        assert_eq!(error.code, Code::Internal);
        assert_eq!(error.message, "internal error");
    }
}
