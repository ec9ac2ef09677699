//! Who is calling: the extractors that authenticate a request's caller as a [`Principal`] (whose
//! authorization rules are the core's).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use onramp_core::auth::access_token::TokenError;
use onramp_domain::{BuiltinRole, Id};

pub use onramp_core::Principal;

use crate::client_addr::ClientAddr;
use crate::error::{ApiError, BASIC_CHALLENGE, BEARER_CHALLENGE, REALM};
use crate::request_id::RequestId;
use crate::state::AppState;
use onramp_core::limits::too_many;

/// A 401 for a token that was given and is not good: `error="invalid_token"` (RFC 6750 §3.1).
fn bad_token(message: &str) -> ApiError {
    ApiError::unauthenticated(message)
        .with_challenge(format!("Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{message}\""))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthenticated("missing Authorization: Bearer access token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| ApiError::unauthenticated("Authorization must be a Bearer access token"))?;
        let claims = state.core.keys()?.verify(token, state.core.public_url()).await.map_err(|error| match error {
            TokenError::Expired => bad_token("access token expired"),
            _ => bad_token("invalid access token"),
        })?;
        let parse = |value: &str| value.parse::<Id>().map_err(|_| bad_token("invalid access token"));
        Ok(Principal {
            tenant_id: parse(&claims.tid)?,
            user_id: parse(&claims.sub)?,
            credential_id: parse(&claims.cid)?,
            roles: claims.roles.iter().filter_map(|name| BuiltinRole::from_name(name)).collect(),
            request_id: parts.extensions.get::<RequestId>().map(|id| id.0.clone()),
        })
    }
}

/// The caller of the `/onboards` surface: HTTP Basic `API:<key>` with an API key, as LeadConduit clients
/// send, or a bearer access token. An API key acts with the roles it was given that its user still holds,
/// and only while its user is enabled.
pub struct OnboardsCaller(pub Principal);

/// How `/onboards` may be called, in its 401 messages.
const ONBOARDS_FORMS: &str = "/onboards takes HTTP Basic credentials API:<key> (username API, password an API key) or Authorization: Bearer <access token>";

impl FromRequestParts<AppState> for OnboardsCaller {
    type Rejection = ApiError;

    /// Every 401 names both accepted forms and challenges for Basic first (so that a client which sends
    /// credentials only when challenged, as browsers and `curl --anyauth` do, sends its API key), then
    /// Bearer, carrying the Bearer error of a bad token.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Self::authenticate(parts, state).await.map_err(|error| {
            if error.code != crate::error::Code::Unauthenticated {
                return error;
            }
            let bearer = error.challenges.into_iter().next();
            let mut error = ApiError::unauthenticated(format!("{}; {ONBOARDS_FORMS}", error.message))
                .with_challenge(BASIC_CHALLENGE);
            error.challenges.push(bearer.unwrap_or_else(|| BEARER_CHALLENGE.to_string()));
            error
        })
    }
}

impl OnboardsCaller {
    async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok()).unwrap_or_default();
        if !header.get(..6).is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic ")) {
            return Principal::from_request_parts(parts, state).await.map(OnboardsCaller);
        }
        let key = onramp_core::auth::api_key::from_basic_header(header)
            .ok_or_else(|| ApiError::unauthenticated("Basic credentials must be API:<key>"))?;
        // Wrong keys are limited per client address like wrong client secrets: a token is taken before the
        // lookup and given back unless the key is unknown.
        let Ok(ClientAddr(client)) = ClientAddr::from_request_parts(parts, state).await;
        let addresses = &state.core.limits().secrets;
        addresses.take_for(client).map_err(|wait| too_many("too many failed sign-ins from this address", wait))?;
        let request_id = parts.extensions.get::<RequestId>().map(|id| id.0.clone());
        let caller = state.core.api_key_caller(&key, request_id).await;
        if !matches!(caller, Ok(None)) {
            addresses.give_back_for(client);
        }
        match caller? {
            Some(principal) => Ok(OnboardsCaller(principal)),
            None => Err(ApiError::unauthenticated("invalid API key")),
        }
    }
}
