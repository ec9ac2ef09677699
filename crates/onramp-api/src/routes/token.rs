//! `POST /auth/v1/token`: OAuth2 client credentials, with a plain `client_secret` or with the EdDSA
//! `client_assertion` that the ConductorOne Go SDK and `cone` sign.
//!
//! Both forms are checked by the core's use case (`onramp_core::tokens`), against the one thing onramp
//! keeps of a credential, its Ed25519 public key; this module reads the request and answers in OAuth2's terms.
//! The client id and secret come in the form body (`client_secret_post`) or in `Authorization: Basic` with
//! both form-urlencoded (`client_secret_basic`, RFC 6749 §2.3.1), never both. Failures are OAuth2 error bodies
//! (`{"error": "invalid_client", ...}`), not the API's error shape, because OAuth2 clients parse them.
//!
//! Every 401 `invalid_client` carries `WWW-Authenticate: Basic realm="onramp"`. RFC 6749 §5.2 demands that
//! challenge when the client authenticated with the Authorization header, and allows a 401 otherwise "to
//! indicate which HTTP authentication schemes are supported"; since any 401 must carry a challenge (RFC 9110
//! §15.5.2), a form-post refusal stays 401, as clients and onramp always had it, and names Basic, the one
//! HTTP scheme this endpoint takes.
//!
//! Failed sign-ins are limited (`limits.rs`): per client address, a token is taken before anything is read
//! and given back unless the request turns out to be a failed sign-in, so a flood from one address is refused
//! before it costs a database read; per client id, wrong secrets and assertions are counted after they are
//! checked, so the right secret always works, and the wrong ones past the limit are answered 429 instead of
//! 401. A 429 has `Retry-After` and the API's error body (`{"code": 8, "message", "details"}`), as OAuth2
//! defines no error for it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onramp_store::StoreError;
use schemars::JsonSchema;
use serde::Serialize;

use crate::client_addr::ClientAddr;
use crate::state::AppState;
use onramp_core::limits::too_many;
use onramp_core::tokens::{ClientProof, TokenRefusal};

/// The challenge of every 401 of this endpoint.
const CHALLENGE: &str = "Basic realm=\"onramp\"";

/// An OAuth2 error response (RFC 6749 section 5.2).
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// The client id, when the refusal is a wrong secret or assertion for an existing credential.
    wrong_secret_for: Option<String>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status, error, description: description.into(), wrong_secret_for: None }
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// A wrong secret or assertion for the credential of `client_id`.
    fn wrong_secret(client_id: &str, description: impl Into<String>) -> Self {
        OAuthError { wrong_secret_for: Some(client_id.to_string()), ..Self::invalid_client(description) }
    }
}

/// An OAuth 2.0 error body (RFC 6749 section 5.2).
#[derive(Serialize, JsonSchema)]
struct OAuthErrorBody {
    error: &'static str,
    error_description: String,
}

/// An OAuth 2.0 access token response (RFC 6749 section 5.1).
#[derive(Serialize, JsonSchema)]
struct TokenBody {
    access_token: String,
    expires_in: i64,
    token_type: &'static str,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = Json(OAuthErrorBody { error: self.error, error_description: self.description });
        let mut response = (self.status, [(header::CACHE_CONTROL, "no-store")], body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static(CHALLENGE));
        }
        response
    }
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "token endpoint could not read the store");
        OAuthError::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "try again")
    }
}

#[derive(serde::Deserialize, Default, JsonSchema)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

pub async fn token(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let addresses = &state.core.limits().secrets;
    if let Err(wait) = addresses.take_for(client) {
        return crate::error::ApiError::from(too_many("too many failed sign-ins from this address", wait))
            .into_response();
    }
    match issue(&state, &headers, &body).await {
        Ok(response) => {
            addresses.give_back_for(client);
            response
        }
        Err(error) => {
            if error.error != "invalid_client" {
                addresses.give_back_for(client);
            }
            tracing::info!(error = error.error, description = %error.description, "token request refused");
            match error.wrong_secret_for.as_ref().map(|client_id| state.core.limits().clients.take(client_id)) {
                Some(Err(wait)) => {
                    crate::error::ApiError::from(too_many("too many wrong secrets for this client", wait))
                        .into_response()
                }
                _ => error.into_response(),
            }
        }
    }
}

async fn issue(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let mut request: TokenRequest = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"))?;
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let (client_id, secret) = value.to_str().ok().and_then(basic_client).ok_or_else(|| {
            OAuthError::invalid_client("Authorization must be Basic with the form-urlencoded client_id:client_secret")
        })?;
        if request.client_secret.is_some() || request.client_assertion.is_some() {
            return Err(OAuthError::invalid_request(
                "send the client's credentials either in Authorization or in the body, not both",
            ));
        }
        if request.client_id.as_ref().is_some_and(|id| *id != client_id) {
            return Err(OAuthError::invalid_request("client_id differs from the one in Authorization"));
        }
        (request.client_id, request.client_secret) = (Some(client_id), Some(secret));
    }
    match request.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            ));
        }
        None => return Err(OAuthError::invalid_request("grant_type is required")),
    }
    let client_id = request.client_id.as_deref().filter(|id| !id.is_empty());
    let client_id = client_id.ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
    let proof = ClientProof {
        client_secret: request.client_secret.as_deref(),
        client_assertion: request.client_assertion.as_deref(),
        client_assertion_type: request.client_assertion_type.as_deref(),
    };
    let issued = state.core.issue_token(client_id, proof).await.map_err(|refusal| match refusal {
        TokenRefusal::InvalidRequest(description) => OAuthError::invalid_request(description),
        TokenRefusal::InvalidClient(description) => OAuthError::invalid_client(description),
        TokenRefusal::WrongSecret(description) => OAuthError::wrong_secret(client_id, description),
        TokenRefusal::Unavailable(error) => error.into(),
        TokenRefusal::NoKeys => {
            OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "this process signs no tokens")
        }
    })?;
    let body = TokenBody { access_token: issued.access_token, expires_in: issued.expires_in, token_type: "Bearer" };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// The client id and secret of an `Authorization: Basic` value, each form-urlencoded (RFC 6749 §2.3.1).
fn basic_client(value: &str) -> Option<(String, String)> {
    let (client_id, secret) = onramp_core::auth::api_key::basic_credentials(value)?;
    let decoded = |part: &str| -> Option<String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={part}")).ok()?;
        let [(_, value)] = <[(String, String); 1]>::try_from(pairs).ok()?;
        Some(value)
    };
    Some((decoded(&client_id)?, decoded(&secret)?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_client_credentials_are_form_urlencoded() {
        use base64::Engine;
        let basic = |text: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(text));
        let read = |text: &str| super::basic_client(&basic(text));
        assert_eq!(read("a%40h%2Fu:s%3At+x"), Some(("a@h/u".into(), "s:t x".into())));
        assert_eq!(read("a@h/u:s:t"), Some(("a@h/u".into(), "s:t".into())));
        assert_eq!(read("a&b=c:s"), None);
        assert_eq!(read("no colon"), None);
        assert_eq!(super::basic_client("Bearer abc"), None);
    }
}
