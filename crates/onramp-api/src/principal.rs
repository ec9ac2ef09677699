//! Who is calling: the principal an access token names, and the permission check every endpoint makes.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use onramp_domain::{BuiltinRole, Id, Permission, role::permissions_of};
use onramp_store::Actor;

use crate::auth::access_token::TokenError;
use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

/// The authenticated caller of an `/api/` route.
#[derive(Clone, Debug)]
pub struct Principal {
    pub tenant_id: Id,
    pub user_id: Id,
    /// The credential (or API key) the caller authenticated with.
    pub credential_id: Id,
    pub roles: Vec<BuiltinRole>,
    pub request_id: Option<String>,
}

impl Principal {
    /// Refuses the call with 403 unless one of the caller's roles grants `permission`.
    pub fn require(&self, permission: Permission) -> Result<&Self, ApiError> {
        if self.roles.iter().any(|role| role.allows(permission)) {
            Ok(self)
        } else {
            Err(ApiError::permission_denied(format!("permission denied: this call requires {}", permission.as_str())))
        }
    }

    pub fn permissions(&self) -> Vec<Permission> {
        permissions_of(&self.roles)
    }

    /// The caller as the audit log records it.
    pub fn actor(&self) -> Actor {
        Actor {
            tenant_id: self.tenant_id,
            user_id: Some(self.user_id),
            credential_id: Some(self.credential_id),
            request_id: self.request_id.clone(),
        }
    }
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
        let claims = state.keys.verify(token, &state.issuer).await.map_err(|error| match error {
            TokenError::Expired => ApiError::unauthenticated("access token expired"),
            _ => ApiError::unauthenticated("invalid access token"),
        })?;
        let parse = |value: &str| value.parse::<Id>().map_err(|_| ApiError::unauthenticated("invalid access token"));
        Ok(Principal {
            tenant_id: parse(&claims.tid)?,
            user_id: parse(&claims.sub)?,
            credential_id: parse(&claims.cid)?,
            roles: claims.roles.iter().filter_map(|name| BuiltinRole::from_name(name)).collect(),
            request_id: parts.extensions.get::<RequestId>().map(|id| id.0.clone()),
        })
    }
}
