//! The use case of the token endpoint: a client proves it holds a credential, with its plain secret or a
//! signed assertion, and gets an access token carrying the credential's roles that its user still holds.
//!
//! Both proofs are checked against the one thing onramp keeps of a credential, its Ed25519 public key: an
//! assertion by its signature, a plain secret (which is the private key) by deriving its public key. An
//! assertion's nonce is remembered until the assertion could no longer be accepted anyway, so a replay is
//! refused. The limits on guessing stay with the surface, which knows the client's address.
//!
//! The `/onboards` surface's other caller, an API key, is authenticated here too ([`Core::api_key_caller`]).

use onramp_domain::user::UserStatus;
use onramp_domain::{BuiltinRole, Id, Timestamp};
use onramp_store::StoreError;

use crate::Core;
use crate::auth::access_token::{ACCESS_TOKEN_TTL_SECS, AccessClaims};
use crate::auth::{api_key, assertion, client_secret};
use crate::error::{CoreError, CoreResult};
use crate::principal::Principal;

/// The `client_assertion_type` of a signed assertion (RFC 7523).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What a client sent to prove it holds the credential of its client id.
pub struct ClientProof<'a> {
    pub client_secret: Option<&'a str>,
    pub client_assertion: Option<&'a str>,
    pub client_assertion_type: Option<&'a str>,
}

/// A token the core issued.
pub struct IssuedToken {
    pub access_token: String,
    /// Seconds the token is good for.
    pub expires_in: i64,
}

/// Why no token was issued, in the terms of OAuth2 (RFC 6749 §5.2), which the surface answers.
#[derive(Debug)]
pub enum TokenRefusal {
    /// The request is malformed (`invalid_request`).
    InvalidRequest(String),
    /// The client is unknown or may not have a token (`invalid_client`).
    InvalidClient(String),
    /// A wrong secret or assertion for the existing credential of the client id (`invalid_client`, and a
    /// guess the surface counts against the client id).
    WrongSecret(String),
    /// The store could not be read or written.
    Unavailable(StoreError),
    /// This process signs no tokens.
    NoKeys,
}

impl From<StoreError> for TokenRefusal {
    fn from(error: StoreError) -> Self {
        TokenRefusal::Unavailable(error)
    }
}

impl Core {
    /// Issues an access token to the holder of the credential of `client_id`, when `proof` shows they hold
    /// it and the credential's user is enabled.
    pub async fn issue_token(&self, client_id: &str, proof: ClientProof<'_>) -> Result<IssuedToken, TokenRefusal> {
        use TokenRefusal::*;
        if client_secret::parse_client_id(client_id).is_none() {
            return Err(InvalidClient("unknown client".into()));
        }
        let grant = match self.store.credential_by_client_id(client_id).await {
            Ok(grant) => grant,
            Err(StoreError::NotFound) => return Err(InvalidClient("unknown client".into())),
            Err(error) => return Err(error.into()),
        };
        if grant.credential.revoked_at.is_some() {
            return Err(InvalidClient("credential revoked".into()));
        }
        let public_key = client_secret::public_key_from_b64(&grant.credential.public_key).map_err(|_| {
            tracing::error!(credential = %grant.credential.id, "stored public key is corrupt");
            InvalidClient("credential unusable".into())
        })?;
        let now = Timestamp::now();

        match (proof.client_secret, proof.client_assertion) {
            (Some(secret), None) => {
                let key = client_secret::parse(secret).map_err(|error| WrongSecret(error.to_string()))?;
                if key.verifying_key() != public_key {
                    return Err(WrongSecret("client secret does not match".into()));
                }
            }
            (None, Some(jws)) => {
                if proof.client_assertion_type != Some(JWT_BEARER) {
                    return Err(InvalidRequest(format!("client_assertion_type must be {JWT_BEARER}")));
                }
                let audiences = assertion::accepted_audiences(&self.public_host, client_id);
                let verified = assertion::verify(jws, client_id, &public_key, &audiences, now.unix_seconds())
                    .map_err(|error| WrongSecret(error.to_string()))?;
                // Remember the nonce until the assertion could no longer be accepted anyway.
                let forget_at = Timestamp::from_unix_seconds(verified.expires_at + assertion::LEEWAY_SECS);
                match self.write(self.store.use_assertion_nonce(&verified.nonce, client_id, forget_at)).await {
                    Ok(()) => {}
                    Err(StoreError::Conflict { .. }) => return Err(WrongSecret("assertion replayed".into())),
                    Err(error) => return Err(error.into()),
                }
            }
            (Some(_), Some(_)) => {
                return Err(InvalidRequest("send either client_secret or client_assertion, not both".into()));
            }
            (None, None) => return Err(InvalidRequest("client_secret or client_assertion is required".into())),
        }

        if grant.user.status != UserStatus::Enabled {
            return Err(InvalidClient("the credential's user is not enabled".into()));
        }
        // The token carries the roles the credential is scoped to that the user still holds.
        let roles: Vec<String> = grant
            .credential
            .role_ids
            .iter()
            .filter(|id| grant.user.role_ids.contains(id))
            .filter_map(BuiltinRole::from_id)
            .map(|role| role.name().to_string())
            .collect();
        let claims = AccessClaims {
            iss: self.public_url.to_string(),
            sub: grant.user.id.to_string(),
            tid: grant.credential.tenant_id.to_string(),
            cid: grant.credential.id.to_string(),
            roles,
            iat: now.unix_seconds(),
            exp: now.unix_seconds() + ACCESS_TOKEN_TTL_SECS,
            jti: Id::new().to_string(),
        };
        tracing::info!(credential = %grant.credential.id, user = %grant.user.id, "access token issued");
        let keys = self.keys.as_ref().ok_or(NoKeys)?;
        Ok(IssuedToken { access_token: keys.issue(&claims), expires_in: ACCESS_TOKEN_TTL_SECS })
    }
}

impl Core {
    /// The caller an API key (`/onboards`' HTTP Basic `API:<key>`) stands for: the key's user, acting with
    /// the roles it was given that its user still holds, only while its user is enabled (UNAUTHENTICATED
    /// otherwise). None when no key has this value: the surface counts that against the client's address.
    pub async fn api_key_caller(&self, key: &str, request_id: Option<String>) -> CoreResult<Option<Principal>> {
        let grant = match self.store.api_key_by_hash(&api_key::hash(key)).await {
            Ok(grant) => grant,
            Err(StoreError::NotFound) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        if grant.user.status != UserStatus::Enabled {
            return Err(CoreError::unauthenticated("the API key's user is not enabled"));
        }
        let roles = grant
            .key
            .role_ids
            .iter()
            .filter(|id| grant.user.role_ids.contains(id))
            .filter_map(BuiltinRole::from_id)
            .collect();
        Ok(Some(Principal {
            tenant_id: grant.key.tenant_id,
            user_id: grant.key.user_id,
            credential_id: grant.key.id,
            roles,
            request_id,
        }))
    }
}
