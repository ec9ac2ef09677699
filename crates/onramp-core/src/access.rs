//! The use cases on a tenant's programmatic access, for the console's Access page: client credentials and
//! API keys, listed, created and revoked (`credential:manage`). A new credential or key belongs to the
//! caller's own user, or to another live user of the tenant the caller names; it carries only roles its
//! user holds (a credential never carries a role its user does not) and the caller may grant (nobody hands
//! out more than they hold); its secret is returned once, here, and only a public key or a hash is stored.

use onramp_domain::user::{User, UserStatus};
use onramp_domain::{BuiltinRole, Id, Permission, Secret, TextKind, Timestamp, check_text};
use onramp_store::{ApiKey, Credential, StoreError};

use crate::auth::{api_key, client_secret};
use crate::error::{CoreError, CoreResult};
use crate::{Core, Principal};

/// A credential just made, with its secret (shown once).
pub struct NewCredential {
    pub credential: Credential,
    pub client_secret: Secret<String>,
}

/// An API key just made, with the key itself (shown once).
pub struct NewApiKey {
    pub key: ApiKey,
    pub secret: Secret<String>,
}

/// The roles a new credential or key for `owner` (None: the caller's own user) may carry: named, ones
/// the caller may grant, and held by its user.
fn roles_of(caller: &Principal, owner: Option<&User>, roles: &[BuiltinRole]) -> CoreResult<Vec<Id>> {
    if roles.is_empty() {
        return Err(CoreError::invalid_field("roleIds", "name at least one role"));
    }
    let mut ids = Vec::new();
    for role in roles {
        if !caller.may_grant(*role) {
            return Err(CoreError::permission_denied(format!(
                "permission denied: roleIds names the role {}, which has permissions you do not have",
                role.name()
            )));
        }
        match owner {
            None if !caller.roles.contains(role) => {
                return Err(CoreError::invalid_field(
                    "roleIds",
                    format!(
                        "a credential carries only roles its user holds, and you do not hold {}",
                        role.display_name()
                    ),
                ));
            }
            Some(user) if !user.role_ids.contains(&role.id()) => {
                return Err(CoreError::invalid_field(
                    "roleIds",
                    format!(
                        "a credential carries only roles its user holds, and {} does not hold {}",
                        user.email.as_ref().map_or(user.display_name.as_str(), |email| email.as_str()),
                        role.display_name()
                    ),
                ));
            }
            _ => {}
        }
        if !ids.contains(&role.id()) {
            ids.push(role.id());
        }
    }
    Ok(ids)
}

impl Core {
    /// The user a new credential or key is for: None for the caller's own, else the live user `owner` of
    /// the caller's tenant (`userId` names it when there is none), read within `credential:manage`.
    async fn access_owner(&self, caller: &Principal, owner: Option<&Id>) -> CoreResult<Option<User>> {
        let Some(owner) = owner.filter(|owner| **owner != caller.user_id) else { return Ok(None) };
        match self.store.get_user(&caller.tenant_id, owner).await {
            Ok(user) if user.status != UserStatus::Deleted => Ok(Some(user)),
            Ok(_) | Err(StoreError::NotFound) => Err(CoreError::invalid_field("userId", format!("no user {owner}"))),
            Err(error) => Err(error.into()),
        }
    }

    /// The tenant's credentials and API keys, revoked ones included.
    pub async fn list_access(&self, caller: &Principal) -> CoreResult<(Vec<Credential>, Vec<ApiKey>)> {
        caller.require(Permission::CredentialManage)?;
        let credentials = self.store.list_credentials(&caller.tenant_id).await?;
        let keys = self.store.list_api_keys(&caller.tenant_id).await?;
        Ok((credentials, keys))
    }

    /// A client credential named `name` (lowercase letters, digits and dashes: it is part of the client
    /// id) for the user `owner` (None: the caller's own), carrying `roles`.
    pub async fn create_credential(
        &self,
        caller: &Principal,
        owner: Option<&Id>,
        name: &str,
        roles: &[BuiltinRole],
    ) -> CoreResult<NewCredential> {
        caller.require(Permission::CredentialManage)?;
        let name = name.trim();
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(CoreError::invalid_field(
                "displayName",
                "must be 1 to 64 lowercase letters, digits and dashes",
            ));
        }
        let owner = self.access_owner(caller, owner).await?;
        let role_ids = roles_of(caller, owner.as_ref(), roles)?;
        let (secret, public_key) = client_secret::generate();
        let credential = Credential {
            id: Id::new(),
            tenant_id: caller.tenant_id,
            user_id: owner.map_or(caller.user_id, |owner| owner.id),
            client_id: client_secret::generate_client_id(&self.public_host, name),
            display_name: name.to_string(),
            public_key: client_secret::public_key_b64(&public_key),
            role_ids,
            created_at: Timestamp::now(),
            revoked_at: None,
        };
        self.write(self.store.create_credential(&caller.actor(), &credential)).await?;
        Ok(NewCredential { credential, client_secret: Secret::new(secret) })
    }

    /// An API key (for `/onboards`' Basic auth) named `name` for the user `owner` (None: the caller's
    /// own), carrying `roles`.
    pub async fn create_api_key(
        &self,
        caller: &Principal,
        owner: Option<&Id>,
        name: &str,
        roles: &[BuiltinRole],
    ) -> CoreResult<NewApiKey> {
        caller.require(Permission::CredentialManage)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(CoreError::invalid_field("displayName", "is required"));
        }
        check_text(name, TextKind::OneLine, 256).map_err(|problem| CoreError::invalid_field("displayName", problem))?;
        let owner = self.access_owner(caller, owner).await?;
        let role_ids = roles_of(caller, owner.as_ref(), roles)?;
        let (secret, key_hash) = api_key::generate();
        let key = ApiKey {
            id: Id::new(),
            tenant_id: caller.tenant_id,
            user_id: owner.map_or(caller.user_id, |owner| owner.id),
            display_name: name.to_string(),
            key_hash,
            role_ids,
            created_at: Timestamp::now(),
            revoked_at: None,
        };
        self.write(self.store.create_api_key(&caller.actor(), &key)).await?;
        Ok(NewApiKey { key, secret: Secret::new(secret) })
    }

    /// Revokes the tenant's credential `id`.
    pub async fn revoke_credential(&self, caller: &Principal, id: &Id) -> CoreResult<()> {
        caller.require(Permission::CredentialManage)?;
        let credentials = self.store.list_credentials(&caller.tenant_id).await?;
        if !credentials.iter().any(|credential| credential.id == *id) {
            return Err(CoreError::not_found(format!("credential {id}")));
        }
        self.write(self.store.revoke_credential(&caller.actor(), id)).await?;
        Ok(())
    }

    /// Revokes the tenant's API key `id`.
    pub async fn revoke_api_key(&self, caller: &Principal, id: &Id) -> CoreResult<()> {
        caller.require(Permission::CredentialManage)?;
        let keys = self.store.list_api_keys(&caller.tenant_id).await?;
        if !keys.iter().any(|key| key.id == *id) {
            return Err(CoreError::not_found(format!("API key {id}")));
        }
        self.write(self.store.revoke_api_key(&caller.actor(), id)).await?;
        Ok(())
    }
}
