//! The SCIM error response (RFC 7644 §3.12): `{"schemas": [Error URN], "status": "400", "scimType", "detail"}`,
//! sent as `application/scim+json`, and [`ScimError`], the error every SCIM route returns.
//!
//! Like [`crate::error::ApiError`], a server fault is logged with its cause and answered with a generic
//! detail: a database error's text never reaches an identity provider.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{ApiError, Code, status_of};

/// The schema URN of an error body.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The media type of every SCIM body (RFC 7644 §3.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// The `scimType` detail of a 400 (RFC 7644 §3.12, table 9), and `uniqueness` of a 409.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    /// The keyword as the RFC spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// An error of a SCIM route: the HTTP status, the `scimType` where the RFC gives one, and a detail for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into() }
    }

    /// A 400 with its `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    /// 400 `tooMany`: a filter or a bulk request asks more than the server gives in one answer.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }

    /// 409 `uniqueness`: a value that must be unique is taken.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some(ScimType::Uniqueness), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    /// 412: the `If-Match` version is not the resource's (RFC 7644 §3.14).
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, None, detail)
    }

    /// 413: a bulk request over `maxOperations` or `maxPayloadSize` (RFC 7644 §3.7.4).
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, None, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, None, detail)
    }

    /// 501: an operation the service provider does not offer (sorting, changing passwords).
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, None, detail)
    }

    /// A server fault: the cause is logged here, the client reads a generic detail.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "SCIM request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
    }

    /// The JSON body (RFC 7644 §3.12): `status` is a string, `scimType` only where there is one.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_str(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = Value::from(scim_type.as_str());
        }
        body
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.scim_type {
            Some(scim_type) => write!(formatter, "{} {}: {}", self.status.as_str(), scim_type.as_str(), self.detail),
            None => write!(formatter, "{}: {}", self.status.as_str(), self.detail),
        }
    }
}

/// The core's errors in SCIM terms: a taken value is `uniqueness`, a bad one `invalidValue`; 5xx keep their
/// cause out of the body (the message is logged).
impl From<ApiError> for ScimError {
    fn from(error: ApiError) -> Self {
        let status = error.http_status.unwrap_or(status_of(error.code));
        if status.is_server_error() {
            return ScimError::internal(error.message);
        }
        let scim_type = match error.code {
            Code::AlreadyExists => Some(ScimType::Uniqueness),
            Code::InvalidArgument if status == StatusCode::BAD_REQUEST => Some(ScimType::InvalidValue),
            _ => None,
        };
        ScimError::new(status, scim_type, error.message)
    }
}

impl From<onramp_core::CoreError> for ScimError {
    fn from(error: onramp_core::CoreError) -> Self {
        ApiError::from(error).into()
    }
}

/// A SCIM body with its status, as `application/scim+json`.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    response
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut response = scim_json(self.status, &self.body());
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"onramp\""));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_schema_a_string_status_and_the_scim_type() {
        let error = ScimError::invalid_filter("expected an operator after \"userName\"");
        assert_eq!(
            error.body(),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "expected an operator after \"userName\"",
            })
        );
    }

    #[test]
    fn a_404_has_no_scim_type() {
        let body = ScimError::not_found("User 42 not found").body();
        assert_eq!(body["status"], "404");
        assert!(body.get("scimType").is_none());
    }

    #[test]
    fn every_scim_type_is_spelt_as_the_rfc() {
        let all = [
            (ScimType::InvalidFilter, "invalidFilter"),
            (ScimType::TooMany, "tooMany"),
            (ScimType::Uniqueness, "uniqueness"),
            (ScimType::Mutability, "mutability"),
            (ScimType::InvalidSyntax, "invalidSyntax"),
            (ScimType::InvalidPath, "invalidPath"),
            (ScimType::NoTarget, "noTarget"),
            (ScimType::InvalidValue, "invalidValue"),
            (ScimType::InvalidVers, "invalidVers"),
            (ScimType::Sensitive, "sensitive"),
        ];
        for (scim_type, spelling) in all {
            assert_eq!(scim_type.as_str(), spelling);
        }
    }

    #[test]
    fn the_response_is_scim_json_with_the_status() {
        let response = ScimError::uniqueness("userName bjensen is taken").into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/scim+json");
        let unauthorized = ScimError::unauthorized("no bearer token").into_response();
        assert!(unauthorized.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[test]
    fn core_errors_map_to_scim_statuses_and_types() {
        let taken: ScimError = ApiError::new(Code::AlreadyExists, "email taken").into();
        assert_eq!((taken.status, taken.scim_type), (StatusCode::CONFLICT, Some(ScimType::Uniqueness)));
        let bad: ScimError = ApiError::invalid_field("email", "is not an address").into();
        assert_eq!((bad.status, bad.scim_type), (StatusCode::BAD_REQUEST, Some(ScimType::InvalidValue)));
        assert!(bad.detail.contains("email"));
        let missing: ScimError = ApiError::not_found("user 1").into();
        assert_eq!((missing.status, missing.scim_type), (StatusCode::NOT_FOUND, None));
        let fault: ScimError = ApiError::new(Code::Internal, "disk I/O error at page 7").into();
        assert_eq!(fault.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!fault.detail.contains("disk"), "a fault's cause never reaches the client");
    }
}
